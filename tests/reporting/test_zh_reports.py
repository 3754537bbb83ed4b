"""The Chinese reports of reports.yml read as Chinese (issue 19).

Every study notebook has a zh run in the batch, and no zh report shows an English word
outside code, formulas, reference lists and the reviewed allow-list of names
(:mod:`crm_lib.reporting.language`). The reports come from the session's
:func:`rendered_batch` (tests/reporting/conftest.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crm_lib.reporting import foreign_words

NOTEBOOKS = sorted(p.name for p in (Path(__file__).resolve().parents[2] / "notebooks").glob("0*"))

pytestmark = pytest.mark.slow


def _zh_runs(batch):
    return [r for r in batch.runs if r.parameters.get("language") == "zh"]


def test_every_study_notebook_has_a_chinese_report(rendered_batch):
    assert sorted(Path(r.notebook).name for r in _zh_runs(rendered_batch)) == NOTEBOOKS
    failed = {r.name: r.error for r in rendered_batch.runs if not r.ok}
    assert not failed


def test_no_chinese_report_shows_english_words(rendered_batch):
    found = {
        r.name: [str(f) for f in foreign_words(r.html)]
        for r in _zh_runs(rendered_batch)
        if r.html is not None
    }
    assert len(found) == len(NOTEBOOKS)
    assert not {name: words for name, words in found.items() if words}


def test_money_is_shown_in_the_currency_of_the_dataset(rendered_batch):
    # the simulated retailer's dataset.yml says CNY; CLV is money in notebook 03
    (seg,) = [r for r in _zh_runs(rendered_batch) if r.name == "03_segmentation_zh"]
    html = seg.html.read_text(encoding="utf-8")
    assert "客户终身价值合计" in html
    assert re.search(r">\d[\d,]*\.\d\d CNY</td>", html)
