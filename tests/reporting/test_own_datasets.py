"""The studies on a dataset that is not the simulated world: no truth, its own vocabularies.

The tables are drawn by the simulator (so they are realistic and sized for a test), then
written as a user's dataset folder: no manifest, no ``truth/``, an Australian record shop's
regions and categories, survey waves named by season (whose names do not sort in time
order), and its own ``dataset.yml``. Notebooks 03, 04 and 05 must run on it as they are.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm_lib.datasets import load_dataset, simulate
from crm_lib.reporting import run_batch

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
REGIONS = {"north": "NSW", "east": "VIC", "south": "QLD", "west": "WA", "central": "SA"}
CATEGORIES = {"apparel": "vinyl", "beauty": "cassettes", "electronics": "turntables",
              "grocery": "books", "home": "posters", "sports": "music"}  # fmt: skip
WAVES = {"2025Q1": "2024-spring", "2025Q2": "2024-summer", "2025Q3": "2024-autumn",
         "2025Q4": "2024-winter"}  # fmt: skip
CONFIG = """\
name: Record shop
timezone: Australia/Sydney
currency: AUD
vocabularies:
  customers: {region: [NSW, VIC, QLD, WA, SA, TAS, ACT, NT]}
  transactions: {category: [vinyl, cassettes, turntables, books, posters, music]}
"""


@pytest.fixture(scope="module")
def record_shop(tmp_path_factory):
    tables = simulate("small", seed=7, dirty=False).tables
    tables["customers"]["region"] = tables["customers"]["region"].map(REGIONS).astype("string")
    tx = tables["transactions"]
    tx["category"] = tx["category"].map(CATEGORIES).astype("string")
    sr = tables["survey_responses"]
    sr["wave"] = sr["wave"].map(WAVES).astype("string")
    folder = tmp_path_factory.mktemp("shop") / "record_shop"
    (folder / "tables").mkdir(parents=True)
    for name, df in tables.items():
        df.to_parquet(folder / "tables" / f"{name}.parquet", index=False)
    (folder / "dataset.yml").write_text(CONFIG, encoding="utf-8")
    return folder


def test_the_dataset_validates_with_its_own_vocabularies(record_shop):
    ds = load_dataset(record_shop)
    assert ds.truth is None and repr(ds).startswith("Dataset('Record shop'")
    assert set(ds.customers["region"]) <= set(REGIONS.values())
    assert set(ds.survey_responses["wave"]) == set(WAVES.values())


def test_studies_run_on_a_dataset_without_truth(record_shop, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    names = ["03_segmentation", "04_ab_testing", "05_satisfaction_study"]
    batch = {
        "defaults": {"data_dir": str(record_shop)},
        "runs": [{"notebook": str(NOTEBOOKS / f"{n}.ipynb"), "name": n} for n in names],
    }
    result = run_batch(batch, run_id="own", reports_dir=tmp_path, quiet=True)
    assert [r.error for r in result.runs] == [None, None, None]
    for name in names:
        html = (tmp_path / "own" / name / f"{name}.html").read_text(encoding="utf-8")
        assert "True value (simulation)" not in html and "Record shop" in html
        metrics = json.loads((tmp_path / "own" / name / "metrics.json").read_text())["metrics"]
        assert metrics["world"].startswith("Dataset('Record shop'")
    html = (tmp_path / "own" / "03_segmentation" / "03_segmentation.html").read_text()
    assert "NSW" in html  # clusters profiled by the shop's own regions
    metrics = json.loads((tmp_path / "own" / "05_satisfaction_study" / "metrics.json").read_text())
    # the first and last wave in time order, not in name order (autumn < spring < winter)
    assert metrics["metrics"]["nps_change_waves"] == ["2024-spring", "2024-winter"]


def test_each_study_runs_on_only_the_tables_it_requires(record_shop, tmp_path, monkeypatch):
    """A dataset holding just the tables a notebook declares it needs (crm.requires): the
    sections that need another table say so instead of failing."""
    from crm_lib.reporting.params import read_requirements

    monkeypatch.setenv("MPLBACKEND", "Agg")
    runs = []
    for name in ["03_segmentation", "04_ab_testing", "05_satisfaction_study"]:
        notebook = NOTEBOOKS / f"{name}.ipynb"
        folder = tmp_path / "data" / name
        (folder / "tables").mkdir(parents=True)
        for table in read_requirements(notebook):
            src = record_shop / "tables" / f"{table}.parquet"
            (folder / "tables" / src.name).write_bytes(src.read_bytes())
        (folder / "dataset.yml").write_text(CONFIG, encoding="utf-8")
        runs.append(
            {"notebook": str(notebook), "name": name, "parameters": {"data_dir": str(folder)}}
        )
    result = run_batch({"runs": runs}, run_id="minimal", reports_dir=tmp_path / "r", quiet=True)
    assert [r.error for r in result.runs] == [None, None, None]
    for name, needs in [("04_ab_testing", "customers"), ("05_satisfaction_study", "customers")]:
        html = (tmp_path / "r" / "minimal" / name / f"{name}.html").read_text(encoding="utf-8")
        assert f"This section needs the {needs} table" in html
    html = tmp_path / "r" / "minimal" / "05_satisfaction_study" / "05_satisfaction_study.html"
    assert "needs the transactions table" in html.read_text(encoding="utf-8")
