"""Is a Chinese report written in Chinese? Find the English words a reader would see.

:func:`foreign_words` reads a rendered report (the HTML of :func:`~crm_lib.reporting.render_html`)
the way a reader sees it and returns every Latin-script word that is neither a proper
name, an abbreviation nor a unit of :data:`ALLOWED`. A Chinese report passes when it
returns nothing (``tests/reporting/test_zh_reports.py`` checks every zh run of
``reports.yml``).

What is read: the text of the page body, tables and headings included. What is skipped:

- code: ``<code>``, ``<pre>``, ``<kbd>``, ``<samp>`` (a column name written as code,
  ``customer_id``, is an identifier, not a word; reports show no input code at all);
- formulas: ``<math>`` (MathML), ``<svg>``; scripts and styles;
- attributes, so an image's ``alt`` text and a link's address;
- URLs written in the text (``https://...``, ``www....``);
- a reference list: the rest of a section whose heading is ``参考文献`` or ``References``
  (authors, paper titles and journals stay as published); the authors' surnames it lists
  (``Fader, P. S.``) are allowed anywhere on the page, where the narrative cites them;
- verbatim text: any element of class ``crm-verbatim``, which marks what is shown exactly
  as the data gave it (a dataset's own name, see :func:`crm_lib.reporting.dataset_line`).

A word is a run of letters (with inner hyphens or apostrophes: ``scikit-learn``); a run of
one letter is a symbol (``p``, ``n``, ``k``), not a word; a run mixing letters and digits
(``Q1``, ``2025Q3``, ``P0001``, a hash) is an identifier of the data, not a word; a run
with an underscore and a word among its parts (``eight_class_sizes``, ``clv_12m``) is a raw
identifier that leaked out of the code and is reported (a pseudonym ``p_3233a1`` is not). Matching is case-sensitive: ``RFM`` is allowed, ``Recency`` is not.

>>> [f.word for f in foreign_words("<p>RFM 模型的 recency 得分，见 <code>customer_id</code></p>")]
['recency']
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

__all__ = [
    "ALLOWED",
    "ALLOWED_PHRASES",
    "REFERENCE_HEADINGS",
    "VERBATIM_CLASS",
    "Finding",
    "cited_authors",
    "foreign_words",
]

#: Words a Chinese report may show in Latin script, as they are written (case-sensitive).
#: Reviewed by a human: add a word only when it is a name, an abbreviation or a unit a
#: Chinese reader expects in Latin script, never an ordinary English word.
ALLOWED: frozenset[str] = frozenset(
    # software, file formats, standards and vendors
    "pandas DuckDB scikit-learn statsmodels Python Jupyter JupyterLab papermill Spark ibis "
    "splink jieba git crm_lib SQL CSV Excel Parquet JSON YAML HTML UTF GBK BOM ISO HMAC SHA "
    "SMS GDPR OWASP Salesforce Zoho SPSS Tableau BI CRM App"
    # abbreviations of the field: models, metrics, methods
    " RFM CLV CAC KPI NPS CSAT CES BTYD BG NBD sBG ABC VIP AUC ROC PR ECE MSE MAPE MASE BIC "
    "ARI CART KMO EM SE CUPED SRM MDE mSPRT SARIMAX ARIMA ETS AR Qini Logit"
    # models, distributions and methods named after people, and authors the narrative cites
    " Pareto Gamma Gamma-Gamma Beta Bernoulli Poisson Weibull Markov Shapley Cox Kaplan Meier "
    "Wald Welch Wilson Brier Efron Holm Benjamini Hochberg Cochran Cronbach McDonald Spearman Kish "
    "Kruskal Wallis Games Howell Bartlett Mann Whitney Miettinen Nurminen Schoenfeld Tukey "
    "Fellegi Sunter Fleiss Fabijan Fagerland Deng Strassburger Bretz Stucchio Johari Gelman "
    "Loken Radcliffe Rocks"
    # public datasets and where they come from
    " CDNOW Telco IBM bfi psych modeldata"
    # units, the time zone of timestamps and the currency codes a dataset may declare
    " UTC ms kg km CNY RMB USD EUR GBP JPY HKD".split()  # fmt: skip
)
#: Names of several words, allowed as a whole (their words alone are not).
ALLOWED_PHRASES: frozenset[str] = frozenset({"JSON Lines", "Power BI"})
#: Headings whose section is a reference list (skipped: titles stay as published).
REFERENCE_HEADINGS = frozenset({"参考文献", "References"})
#: Class of an element whose text is shown exactly as the data gave it (skipped).
VERBATIM_CLASS = "crm-verbatim"

_SKIPPED_TAGS = frozenset(
    {"head", "script", "style", "code", "pre", "kbd", "samp", "math", "svg", "textarea"}
)
_VOID_TAGS = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }  # fmt: skip
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_URL = re.compile(r"(?:https?://|www\.)\S+")
# a run of letters, digits and underscores, with inner hyphens or apostrophes
_TOKEN = re.compile(r"[A-Za-z0-9_]+(?:['’-][A-Za-z0-9_]+)*")
_DIGIT = re.compile(r"[0-9]")
# "Surname, I." or "Surname, I. J." as a reference list writes an author
_AUTHOR = re.compile(r"\b([A-Z][A-Za-z'’]+(?:-[A-Z][A-Za-z'’]+)?), (?:[A-Z]\.)")


@dataclass(frozen=True)
class Finding:
    """An English word of a report and the text around it."""

    word: str
    context: str

    def __str__(self) -> str:
        return f"{self.word!r} in “{self.context}”"


def foreign_words(
    html: str | Path,
    *,
    allowed: Iterable[str] = ALLOWED,
    phrases: Iterable[str] = ALLOWED_PHRASES,
) -> list[Finding]:
    """The Latin-script words of a report that are not allowed, in page order.

    Parameters
    ----------
    html : str or Path
        The report's HTML, or the path of the file.
    allowed : iterable of str
        Words allowed as written (default :data:`ALLOWED`).
    phrases : iterable of str
        Names of several words allowed as a whole (default :data:`ALLOWED_PHRASES`),
        removed before the words are read.

    Returns
    -------
    list of Finding
        One per occurrence; empty when the report reads as Chinese.
    """
    if isinstance(html, Path):
        html = html.read_text(encoding="utf-8")
    reader = _VisibleText()
    reader.feed(html)
    reader.close()
    allowed = frozenset(allowed) | cited_authors(reader.references)
    phrases = sorted(set(phrases), key=len, reverse=True)
    found = []
    for text in reader.texts:
        text = _URL.sub(" ", text)
        for phrase in phrases:
            text = text.replace(phrase, " ")
        for match in _TOKEN.finditer(text):
            word = match.group(0)
            if not _is_word(word) or word in allowed:
                continue
            if all(part in allowed for part in re.split(r"['’-]", word)):
                continue  # Gamma-Gamma, Kaplan-Meier, BG-NBD
            start, end = max(0, match.start() - 30), match.end() + 30
            found.append(Finding(word, " ".join(text[start:end].split())))
    return found


def cited_authors(references: Iterable[str]) -> frozenset[str]:
    """The surnames of the authors in reference-list text (``Hardie, B. G. S.`` -> ``Hardie``).

    >>> sorted(cited_authors(["Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). Counting."]))
    ['Fader', 'Hardie', 'Lee']
    """
    return frozenset(m.group(1) for text in references for m in _AUTHOR.finditer(text))


def _is_word(token: str) -> bool:
    """A word or a leaked identifier; not a symbol (``p``), a number or a data id (``Q1``).

    A token with underscores is an identifier that leaked out of the code when one of its
    parts is a word (``eight_class_sizes``, ``clv_12m``); a pseudonym such as
    ``p_3233a1dabf44`` has none and is data.
    """
    if "_" in token:
        return any(_is_word(part) for part in token.split("_"))
    if _DIGIT.search(token):
        return False
    return len(token) > 1


class _VisibleText(HTMLParser):
    """The text a reader sees, as a list of strings (one per element's run of text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.references: list[str] = []  # the text of reference lists (skipped)
        self._stack: list[tuple[str, bool]] = []  # (tag, skipped)
        self._heading: tuple[int, list[str]] | None = None  # (level, its text so far)
        self._references: tuple[int, int] | None = None  # (heading level, stack depth)

    def _skipping(self) -> bool:
        return bool(self._stack and self._stack[-1][1]) or self._references is not None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        level = _HEADINGS.get(tag)
        if self._references is not None and level is not None and level <= self._references[0]:
            self._references = None  # the next section starts
        if tag in _VOID_TAGS:
            return
        classes = (dict(attrs).get("class") or "").split()
        skipped = (
            bool(self._stack and self._stack[-1][1])
            or tag in _SKIPPED_TAGS
            or VERBATIM_CLASS in classes
        )
        self._stack.append((tag, skipped))
        if level is not None:
            self._heading = (level, [])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _VOID_TAGS:  # <span/> in XHTML style: opened and closed
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if not any(t == tag for t, _ in self._stack):
            return  # a stray end tag
        while self._stack:
            top, _ = self._stack.pop()
            if top == tag:
                break
        if self._references is not None and len(self._stack) < self._references[1]:
            self._references = None  # the element holding the reference list ended
        if tag in _HEADINGS and self._heading is not None:
            level, parts = self._heading
            self._heading = None
            if "".join(parts).strip().rstrip("¶").strip() in REFERENCE_HEADINGS:
                self._references = (level, len(self._stack))

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading[1].append(data)
        if self._references is not None:
            self.references.append(data)
        elif not self._skipping() and data.strip():
            self.texts.append(data)
