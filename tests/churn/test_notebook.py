"""Notebook 06 on datasets that are not the simulated world: no truth, a user's folder.

The tables are drawn by the simulator (realistic and small), then written as a user's
dataset folder (no manifest, no ``truth/``, its own ``dataset.yml``): once with every table
(the membership included), once with the transaction log alone. The contractual and
target-list sections say what is missing instead of failing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm_lib.datasets import simulate
from crm_lib.reporting import run_batch

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "06_churn_retention.ipynb"
CONFIG = "name: Record shop\ntimezone: Australia/Sydney\ncurrency: AUD\n"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    tables = simulate("small", seed=7, dirty=False).tables
    root = tmp_path_factory.mktemp("own")
    out = {}
    for name, keep in [("full", list(tables)), ("log_only", ["transactions"])]:
        folder = root / name
        (folder / "tables").mkdir(parents=True)
        for table in keep:
            tables[table].to_parquet(folder / "tables" / f"{table}.parquet", index=False)
        (folder / "dataset.yml").write_text(CONFIG, encoding="utf-8")
        out[name] = folder
    return out


def test_the_churn_study_runs_without_truth(folders, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("CRM_PSEUDONYM_KEY", "a test key of sixteen+ bytes")
    fast = {"n_boot": 50, "n_repeats": 2}
    runs = [
        {"notebook": str(NOTEBOOK), "name": name,
         "parameters": {"data_dir": str(folder), **fast}}
        for name, folder in folders.items()
    ]  # fmt: skip
    result = run_batch({"runs": runs}, run_id="own", reports_dir=tmp_path, quiet=True)
    assert [r.error for r in result.runs] == [None, None]
    metrics = {
        name: json.loads((tmp_path / "own" / name / "metrics.json").read_text())["metrics"]
        for name in folders
    }
    html = {
        name: (tmp_path / "own" / name / f"{name}.html").read_text(encoding="utf-8")
        for name in folders
    }
    for name in folders:
        assert metrics[name]["world"].startswith("Dataset('Record shop'")
        assert "True value (simulation)" not in html[name]
        assert "Truth (simulation)" not in html[name]
        views = metrics[name]["three_views"]
        assert set(views) >= {"btyd_p_alive", "survival_gap"}
        assert all(0.7 < v["roc_auc"] < 1 for v in views.values())
    full = metrics["full"]
    assert set(full["cox_hazard_ratios"]) == {"plan_standard", "plan_premium", "auto_renew",
                                              "promo"}  # fmt: skip
    assert full["targets"] == 200 and full["targets_holdout"] == 40
    assert "sbg_pooled" in full
    log_only = metrics["log_only"]
    assert "subscriptions" not in log_only and "targets" not in log_only
    assert "the contractual part (Cox model, sBG cohorts) is skipped" in html["log_only"]
    assert "no consent flags, so no retention target list" in html["log_only"]
