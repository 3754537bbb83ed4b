"""Notebook 07 on users' datasets without truth: transactions only, and with a CRM export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm_lib.contract.dataset import DatasetConfig, write_config
from crm_lib.intake.dataset_import import import_file
from tests.funnel.test_salesforce_import import HISTORY, OPPORTUNITIES

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "07_funnel_pipeline_kpis.ipynb"
METRIC = "application/vnd.crm-lib.metric+json"


@pytest.fixture(scope="module")
def transactions_folder(tmp_path_factory):
    from crm_lib.datasets import simulate

    folder = tmp_path_factory.mktemp("shop")
    (folder / "tables").mkdir()
    simulate("small", seed=2, dirty=False).transactions.to_parquet(
        folder / "tables" / "transactions.parquet", index=False
    )
    write_config(DatasetConfig(name="a shop", timezone="Asia/Shanghai", currency="CNY"), folder)
    return folder


def _run(folder: Path, out: Path, **params) -> tuple[dict, str]:
    import nbformat
    import papermill

    papermill.execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters={"data_dir": str(folder), **params},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(NOTEBOOK.parents[1]),
    )
    nb = nbformat.read(out, as_version=4)
    metrics, text = {}, []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if METRIC in data:
                metrics.update(data[METRIC]["metrics"])
            text.append(json.dumps(data, ensure_ascii=False))
    return metrics, "\n".join(text)


def test_runs_on_transactions_only_and_says_what_is_missing(transactions_folder, tmp_path):
    metrics, text = _run(transactions_folder, tmp_path / "out.ipynb", backtest_weeks=20)
    assert metrics["tables"] == ["transactions"]
    for table in ("events", "opportunities", "leads", "marketing_spend"):
        assert f"this dataset has no `{table}` table" in text
    assert "kpis" in metrics and "revenue_backtest" in metrics
    # no calendar table: the forecast says so and has no holiday regressors
    assert "No `calendar_events` table" in text
    assert metrics["calendar_regressors"] == [] and "calendar_uplift" not in metrics
    assert "cac" not in metrics["kpis"] and "lead_auc" not in metrics


def test_runs_on_a_salesforce_export_in_chinese(transactions_folder, tmp_path):
    import shutil

    folder = tmp_path / "crm"
    shutil.copytree(transactions_folder, folder)
    (tmp_path / "Opportunity.csv").write_text(OPPORTUNITIES, encoding="utf-8")
    (tmp_path / "OpportunityHistory.csv").write_text(HISTORY, encoding="utf-8")
    import_file(tmp_path / "Opportunity.csv", "salesforce_opportunities", folder)
    import_file(tmp_path / "OpportunityHistory.csv", "salesforce_opportunity_history", folder)
    metrics, text = _run(folder, tmp_path / "out.ipynb", language="zh", backtest_weeks=20)
    assert metrics["pipeline_stages"] == ["Prospecting", "Proposal/Price Quote"]
    assert metrics["cycle_median_days"]["kaplan_meier"] > 0
    assert "该数据集没有 `leads` 表" in text
