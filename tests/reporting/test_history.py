"""``reports/index.html``: the published batches and each study's numbers over time."""

from __future__ import annotations

import json
import re
from pathlib import Path

from crm_lib.reporting.history import collect_history, write_history_html


def _batch(root: Path, run_id: str, started: str, runs: list[dict]) -> None:
    folder = root / run_id
    folder.mkdir(parents=True)
    status = "succeeded" if all(r["status"] == "succeeded" for r in runs) else "failed"
    data = {"run_id": run_id, "started_at": started, "status": status, "runs": runs}
    (folder / "batch.json").write_text(json.dumps(data), encoding="utf-8")


def test_two_batches_give_a_line_per_metric_and_mark_the_failure(tmp_path):
    ok = "succeeded"
    _batch(tmp_path, "b1", "2026-12-01T00:00:00Z", [
        {"name": "03_segmentation", "status": ok, "metrics": {"customers": 100, "share": 0.2,
                                                              "label": "x", "flag": True}},
        {"name": "04_ab_testing", "status": ok, "metrics": {"lift": 0.01}},
    ])  # fmt: skip
    _batch(tmp_path, "b2", "2026-12-02T00:00:00Z", [
        {"name": "03_segmentation", "status": ok, "metrics": {"customers": 120, "share": 0.25}},
        {"name": "04_ab_testing", "status": "failed", "metrics": {}},
    ])  # fmt: skip
    (tmp_path / ".b3.partial").mkdir()  # an unpublished batch is not history
    page = write_history_html(tmp_path).read_text(encoding="utf-8")
    assert [b.run_id for b in collect_history(tmp_path)] == ["b1", "b2"]
    assert page.index('href="b2/index.html"') < page.index('href="b1/index.html"')  # newest first
    # numeric metrics only (not text, not booleans): customers, share, lift
    assert page.count("<svg") == 3
    assert "<code>label</code>" not in page and "<code>flag</code>" not in page
    seg = page[page.index("<summary>03_segmentation") : page.index("<summary>04_ab_testing")]
    assert seg.count("<polyline") == 2  # two points each: a line
    ab = page[page.index("<summary>04_ab_testing") :]
    assert "(1 failed)" in ab and 'stroke="#a50e0e"' in ab  # the failed batch is marked
    assert "customers</code> = 120" in page  # the latest value beside the chart


def test_the_batch_runner_writes_the_history_page(tmp_path, monkeypatch):
    from crm_lib.reporting import run_batch, runner
    from tests.reporting.test_runner import STUDY, make_notebook

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    make_notebook(tmp_path / "nb.ipynb", STUDY)
    batch = {"defaults": {"data_dir": str(tmp_path)}, "runs": [{"notebook": "nb.ipynb"}]}
    for run_id in ("one", "two"):
        assert run_batch(batch, run_id=run_id, reports_dir=tmp_path / "reports", quiet=True).ok
    page = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert re.findall(r'<a href="(\w+)/index.html"><code>', page) == ["two", "one"]
    assert "<code>answer</code>" in page
    assert runner.write_history_html is not None
