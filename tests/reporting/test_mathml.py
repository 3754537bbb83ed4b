"""Formulas as MathML in the stakeholder HTML: offline, no MathJax, no CDN."""

from __future__ import annotations

import re

import nbformat

from crm_lib.reporting.mathml import markdown_to_mathml, protect_math, restore_math
from crm_lib.reporting.recorder import METRIC_MIME
from crm_lib.reporting.runner import render_html


def test_prices_escaped_dollars_and_code_stay_text():
    for text in ["costs $5 and $10", r"a \$ sign and another \$", "`$x$` in code", "US$ 5"]:
        assert "<math" not in markdown_to_mathml(text), text


def test_inline_and_display_formulas_become_mathml():
    # The MathML elements are those the MathML Core spec defines for these constructs.
    inline = markdown_to_mathml("with $x_1$ here")
    assert re.search(r"<msub>\s*<mi>x</mi>\s*<mn>1</mn>\s*</msub>", inline)
    display = markdown_to_mathml("$$\\frac{a}{b}$$")
    assert 'display="block"' in display and "<mfrac>" in display


def test_a_formula_that_cannot_be_converted_is_shown_as_code():
    assert markdown_to_mathml(r"$\left( x$").startswith("<code>")  # no \right


def test_placeholders_survive_rendering_and_come_back():
    store: dict[str, str] = {}
    text = protect_math("a $x^2$ b", store)
    assert "<" not in text and len(store) == 1
    assert restore_math(f"<p>{text}</p>", store).count("<msup>") == 1


def test_the_report_page_is_offline_and_has_no_record_echo(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("Rate $\\hat{p} = \\frac{x}{n}$, see $$\\sum_i x_i$$"),
        nbformat.v4.new_code_cell("record('n', 5)"),
    ]
    nb.cells[1].outputs = [
        nbformat.v4.new_output(
            "display_data", data={METRIC_MIME: {"metrics": {"n": 5}}, "text/plain": "n = 5"}
        ),
        nbformat.v4.new_output("stream", name="stdout", text="shown\n"),
    ]
    html = render_html(nb, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<mfrac>" in html and "<munder>" in html  # nested MathML intact
    assert "$" not in re.sub(r"<[^>]+>", "", html.split("<body")[1])  # no raw TeX left
    assert not re.search(r"<script[^>]+src=", html)  # nothing loaded from the network
    assert "n = 5" not in html and "shown" in html  # records are in metrics.json only


def test_inline_math_may_run_over_a_line_break_but_not_a_paragraph():
    assert "<math" in markdown_to_mathml("churn $= 1 -\nP(\\text{alive})$ here")
    assert "<math" not in markdown_to_mathml("costs $5\n\nand 10$ later")


def test_formulas_in_displayed_markdown_outputs_are_typeset(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("display(Markdown(...))")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/markdown": "$P(\\text{conv}) = 0.70$"})
    ]
    nb.cells = [cell]
    html = render_html(nb, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<math" in html and "\\text{conv}" not in html


def test_every_formula_of_every_notebook_becomes_mathml():
    """Each formula of each narrative cell, English and Chinese, converts (no code fallback):
    the rendered-batch browser test sees the Chinese reports, this covers the English text."""
    from pathlib import Path

    notebooks = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("0*.ipynb"))
    assert len(notebooks) == 9
    converted, failed = 0, []
    for path in notebooks:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "markdown" or "$" not in cell.source:
                continue
            html = markdown_to_mathml(cell.source)
            converted += html.count("<math")
            # a formula that fails is shown as code with its dollars: find them
            failed += [f"{path.name}: {m}" for m in re.findall(r"<code>\$[^<]*\$</code>", html)]
    assert not failed
    assert converted > 400  # the nine notebooks hold several hundred formulas
