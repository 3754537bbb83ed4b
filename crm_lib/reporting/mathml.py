"""Formulas of a report as MathML, so the HTML needs no network to show them.

Jupyter typesets ``$...$`` and ``$$...$$`` in markdown cells with MathJax, which the
exported HTML would load from a CDN when opened: offline, or as a mail attachment, the
reader sees raw TeX. :func:`markdown_to_mathml` replaces each formula by MathML (via the
``latex2mathml`` package), which browsers render natively (MathML Core).

The delimiters follow Jupyter's: ``$$...$$`` is a display formula; ``$...$`` is inline
when the first ``$`` is not preceded by a letter, digit or backslash and the text inside
neither starts nor ends with a blank (it may run over a line break, not over a blank line),
so prices such as ``$5 and $10`` stay text; an escaped ``\\$`` is a dollar sign. Code
spans and fenced code are left alone.
"""

from __future__ import annotations

import html
import re

__all__ = ["markdown_to_mathml", "protect_math", "restore_math", "tex_to_mathml"]

_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)
_MATH = re.compile(
    r"\$\$(?P<display>.+?)\$\$"
    r"|(?<![\\$\w])\$(?!\s)(?P<inline>(?:[^$\n]|\n(?![ \t]*\n))+?)(?<![\s\\])\$(?!\w)",
    re.S,
)


def tex_to_mathml(tex: str, *, display: bool = False) -> str:
    """One TeX formula as a ``<math>`` element (``display="block"`` for display math).

    Raises
    ------
    ValueError
        When the formula cannot be converted; the message quotes it.
    """
    from latex2mathml.converter import convert

    try:
        return convert(tex.strip(), display="block" if display else "inline")
    except Exception as exc:  # latex2mathml raises its own exception types
        raise ValueError(f"cannot convert the formula ${tex}$ to MathML: {exc}") from exc


def markdown_to_mathml(text: str) -> str:
    """``text`` (markdown) with every formula replaced by MathML, code spans untouched.

    A formula that cannot be converted is kept as TeX inside ``<code>`` with its source,
    so the page shows what was written instead of failing the report.

    Examples
    --------
    >>> markdown_to_mathml("costs $5 and $10")
    'costs $5 and $10'
    >>> markdown_to_mathml("`$x$` and $x^2$").startswith("`$x$` and <math")
    True
    """
    return _split_code(text, _convert)


def protect_math(text: str, store: dict[str, str]) -> str:
    """``text`` with each formula replaced by a placeholder word; ``store`` maps it to MathML.

    A markdown renderer may rewrite raw HTML it meets inline (nbconvert re-parses each
    inline tag to embed images, which breaks MathML apart); a placeholder passes through
    untouched and :func:`restore_math` puts the MathML into the rendered HTML.
    """

    def keep(mathml: str, display: bool) -> str:
        key = f"CRMMATH{len(store):06d}X"
        store[key] = mathml
        return f"\n\n{key}\n\n" if display else key

    return _split_code(text, lambda part: _convert(part, keep))


def restore_math(rendered: str, store: dict[str, str]) -> str:
    """Rendered HTML with the placeholders of :func:`protect_math` replaced by MathML."""
    if not store:
        return rendered
    return re.sub(r"CRMMATH\d{6}X", lambda m: store.get(m.group(0), m.group(0)), rendered)


def _split_code(text: str, convert) -> str:
    out, last = [], 0
    for code in _CODE.finditer(text):
        out.append(convert(text[last : code.start()]))
        out.append(code.group(0))
        last = code.end()
    out.append(convert(text[last:]))
    return "".join(out)


def _inline(mathml: str, display: bool) -> str:
    return f"\n\n{mathml}\n\n" if display else mathml


def _convert(text: str, emit=_inline) -> str:
    def one(match: re.Match) -> str:
        display = match.group("display") is not None
        tex = match.group("display") if display else match.group("inline")
        try:
            mathml = tex_to_mathml(tex, display=display)
        except ValueError:
            return f"<code>{html.escape(match.group(0))}</code>"
        return emit(mathml, display)

    return _MATH.sub(one, text)
