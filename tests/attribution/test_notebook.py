"""Notebook 08 on a user's dataset: without truth, and without a touchpoints table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm_lib.datasets import simulate
from crm_lib.reporting import run_batch

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "08_attribution.ipynb"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Two user datasets (no manifest, no truth): one with touchpoints, one without."""
    tables = simulate("small", seed=7, dirty=False).tables
    root = tmp_path_factory.mktemp("datasets")
    out = {}
    for name, keep in [
        ("shop", tables),
        ("no_touches", {k: v for k, v in tables.items() if k != "touchpoints"}),
    ]:
        folder = root / name
        (folder / "tables").mkdir(parents=True)
        for table, df in keep.items():
            df.to_parquet(folder / "tables" / f"{table}.parquet", index=False)
        (folder / "dataset.yml").write_text(f"name: {name}\ncurrency: CNY\n", encoding="utf-8")
        out[name] = folder
    return out


def test_runs_without_truth_and_says_what_is_missing(folders, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    batch = {
        "runs": [
            {
                "notebook": str(NOTEBOOK),
                "name": "shop",
                "parameters": {"data_dir": str(folders["shop"]), "n_boot": 50},
            },
            {
                "notebook": str(NOTEBOOK),
                "name": "bare",
                "parameters": {"data_dir": str(folders["no_touches"])},
            },
        ]
    }
    result = run_batch(batch, run_id="own", reports_dir=tmp_path, quiet=True)
    shop, bare = result.runs
    assert shop.error is None
    metrics = json.loads((tmp_path / "own" / "shop" / "metrics.json").read_text())["metrics"]
    assert metrics["attribution_available"] is True and "same_order_as_truth" not in metrics
    assert metrics["world"].startswith("Dataset('shop'")
    assert set(metrics["shares"]) == {
        "first_touch", "last_touch", "last_non_direct", "linear", "time_decay",
        "position_based", "w_shaped", "markov", "shapley_path", "shapley_incremental",
    }  # fmt: skip
    html = (tmp_path / "own" / "shop" / "shop.html").read_text(encoding="utf-8")
    assert "no ground truth of channel effects" in html
    # the batch names the missing table (crm.requires) instead of running the notebook
    assert bare.error is not None and "touchpoints" in str(bare.error)


def test_the_notebook_itself_says_the_table_is_missing(folders, tmp_path):
    import papermill as pm

    out = tmp_path / "out.ipynb"
    pm.execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters={"data_dir": str(folders["no_touches"])},
        progress_bar=False,
        kernel_name="python3",
    )
    text = out.read_text(encoding="utf-8")
    assert "This dataset has no `touchpoints` table" in text
