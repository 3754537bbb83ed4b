"""Notebook 09 in the report batch: in Chinese on the simulated world (with its truth), and
in English on a dataset of a user's own kind (no truth, no basket log, no birthdays, no carts
table), where it says plainly that the recommender does not beat the baselines."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "09_personalization.ipynb"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, small_world):
    from crm_lib.reporting import run_batch

    tmp = tmp_path_factory.mktemp("nb09")
    own = tmp / "shop" / "tables"
    own.mkdir(parents=True)
    for name in ("customers", "transactions", "events"):  # what a shop's exports give
        getattr(small_world, name).to_parquet(own / f"{name}.parquet", index=False)
    (tmp / "shop" / "dataset.yml").write_text("name: shop\ntimezone: Asia/Shanghai\n")
    spec = {
        "defaults": {"data_dir": "", "size": "small", "seed": 1, "language": "en", "n_boot": 200},
        "runs": [
            {"notebook": str(NOTEBOOK), "name": "sim_zh", "parameters": {"language": "zh"}},
            {"notebook": str(NOTEBOOK), "name": "own", "parameters": {"data_dir": str(own.parent)}},
        ],
    }
    mp = pytest.MonkeyPatch()
    mp.setenv("CRM_PSEUDONYM_KEY", "a key for the shop of 16+ bytes")  # own data needs a key
    try:
        result = run_batch(spec, run_id="nb09", reports_dir=tmp / "reports", quiet=True)
    finally:
        mp.undo()
    for run in result.runs:
        assert run.error is None, run.error
    return {run.name: run for run in result.runs}, tmp / "reports" / "nb09"


def test_simulated_world_recovers_the_planted_pairs_and_the_recommender_wins(runs, small_world):
    metrics = runs[0]["sim_zh"].metrics
    assert metrics["basket_source"] == "basket_lines"
    assert metrics["planted_pairs_in_top_rules"] == metrics["planted_pairs"] == 6
    assert metrics["recommender_beats_baselines"] is True
    assert metrics["chosen_method"] == "blend"
    assert metrics["hit_rate_blend"] > max(
        metrics["hit_rate_personal"], metrics["hit_rate_popularity"]
    )
    assert metrics["triggers_not_run"] == []
    # the lists hold consenting customers only, pseudonymised
    folder = runs[1] / "sim_zh"
    contacts = pd.read_csv(folder / "contact_list.csv")
    recs = pd.read_csv(folder / "recommendations.csv")
    consenting = small_world.customers["marketing_consent"].sum()
    assert recs["customer"].nunique() <= consenting
    assert contacts["customer"].str.startswith("p_").all()
    assert not set(contacts["customer"]) & set(small_world.customers["customer_id"])
    html = (folder / "sim_zh.html").read_text(encoding="utf-8")
    assert "真实提升度（模拟）" in html


def test_own_data_without_truth_says_when_the_recommender_does_not_win(runs):
    run = runs[0]["own"]
    metrics = run.metrics
    assert metrics["basket_source"] == "transactions"  # the order lines as baskets
    assert "planted_pairs" not in metrics  # no truth, no comparison
    # product_id of the simulated order lines is drawn independently of everything: nothing
    # to learn, and the notebook says so
    assert metrics["recommender_beats_baselines"] is False
    html = (runs[1] / "own" / "own.html").read_text(encoding="utf-8")
    assert "does not beat both baselines" in html
    assert "True lift (simulation)" not in html
    assert set(metrics["triggers_not_run"]) == {"birthday"}  # carts come from the events
