"""Reports opened in a real browser (headless Chromium), checked from the rendered DOM."""

from __future__ import annotations

import base64
import io

import matplotlib
import nbformat
import pytest

from crm_lib.reporting.browser import check_report, find_chromium
from crm_lib.reporting.runner import render_html

CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium on this machine (.ci/run installs Debian's chromium package)",
)
if CHROMIUM is None:  # say so in the test log, not only in the skip summary
    print("tests/reporting/test_browser.py: skipped, no Chromium found")


def _png() -> str:
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([1, 2])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


@needs_chromium
def test_a_page_with_every_problem_is_caught(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><head><script src='https://cdn.example.com/x.js'></script></head>"
        "<body><p>The rate $\\hat{p} = x/n$ in TeX.</p><img src='missing.png'>"
        "<table><tr><td>Reward them; early access, referral programme;...</td></tr></table>"
        "<div class='jp-OutputArea-output'><pre>baseline_conversion = 0.19525</pre></div>"
        "<script>console.error('boom')</script></body></html>",
        encoding="utf-8",
    )
    result = check_report(page, screenshot=False)
    assert not result.ok
    assert result.raw_tex and result.broken_images == ["missing.png"]
    assert any("boom" in e for e in result.errors)
    assert any("cdn.example.com" in e for e in result.errors)  # offline: the CDN fails
    assert result.truncated and result.record_echo


@needs_chromium
def test_a_rendered_report_is_offline_typeset_and_clean(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "# Study\nThe score $s = \\lfloor r / n \\rfloor$ and\n"
            "$$\\bar{x} = \\frac{1}{n}\\sum_i x_i$$"
        ),  # fmt: skip
        nbformat.v4.new_code_cell("plot"),
    ]
    nb.cells[1].outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": _png(), "text/plain": "fig"})
    ]
    report = render_html(nb, tmp_path / "study.html")
    result = check_report(report)
    assert result.ok, result.problems
    assert result.math == 2 and result.images == 1
    assert result.screenshot is not None and result.screenshot.stat().st_size > 1000


@needs_chromium
@pytest.mark.slow
def test_every_published_report_reads_offline_and_clean(rendered_batch):
    """Every study notebook's zh report of reports.yml (conftest.py), two browsers at a time."""
    from concurrent.futures import ThreadPoolExecutor

    pages = [r.html for r in rendered_batch.runs if r.html is not None]
    assert len(pages) == len(rendered_batch.runs)
    with ThreadPoolExecutor(max_workers=2) as pool:
        checks = list(pool.map(lambda page: check_report(page, screenshot=False), pages))
    problems = {page.name: c.problems for page, c in zip(pages, checks, strict=True) if not c.ok}
    assert not problems
