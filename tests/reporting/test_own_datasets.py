"""The studies on a dataset that is not the simulated world: no truth, its own vocabularies.

The tables are drawn by the simulator (so they are realistic and sized for a test), then
written as a user's dataset folder: no manifest, no ``truth/``, an Australian record shop's
regions and categories, survey waves named by season (whose names do not sort in time
order), and its own ``dataset.yml``. Notebooks 03, 04 and 05 must run on it as they are.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
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
    tables["customers"]["gender"] = "unknown"  # a shop that does not record gender
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
    assert "Gender" not in html  # and not by a column that holds only 'unknown'
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


def _cdnow_master(folder: Path) -> Path:
    import zipfile

    from crm_lib.contract import config
    from crm_lib.datasets.cdnow import CDNOW_WHEEL

    path = folder / "CDNOW_master.txt"
    with zipfile.ZipFile(config.data_dir() / "external" / CDNOW_WHEEL) as z:
        path.write_bytes(z.read("lifetimes/datasets/CDNOW_master.txt"))
    return path


def _metrics(folder: Path, name: str) -> dict:
    return json.loads((folder / name / "metrics.json").read_text(encoding="utf-8"))["metrics"]


INTAKE = ["01_data_collection", "02_data_cleaning"]


def _run_intake(params: dict, reports: Path, run_id: str) -> tuple[dict, dict]:
    """Run notebooks 01 then 02 with ``params``; return their recorded metrics."""
    runs = [
        {"notebook": str(NOTEBOOKS / f"{n}.ipynb"), "name": n, "parameters": params} for n in INTAKE
    ]
    result = run_batch({"runs": runs}, run_id=run_id, reports_dir=reports, quiet=True)
    assert [r.error for r in result.runs] == [None, None]
    m01, m02 = (_metrics(reports / run_id, n) for n in INTAKE)
    return m01, m02


def test_collection_and_cleaning_on_a_real_purchase_log(tmp_path, monkeypatch):
    """Notebooks 01 and 02 on CDNOW's own log: a file with only orders, its own category
    ("music"), no customers export, no truth; a configured pseudonymisation key."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("CRM_PSEUDONYM_KEY", "cdnow-test-key-0123456789abcdef")
    params = {
        "orders_file": str(_cdnow_master(tmp_path)),
        "orders_mapping": "cdnow_transactions",
        "warehouse_db": str(tmp_path / "wh" / "crm.duckdb"),
    }
    m01, m02 = _run_intake(params, tmp_path / "r", "cdnow")
    names = INTAKE
    # the published log: 69,659 purchase records (Fader, Hardie & Lee 2005), all accepted
    assert (m01["transactions_rows_in"], m01["transactions_rows_accepted"]) == (69_659, 69_659)
    assert m01["world"] == "your exports (transactions: CDNOW_master.txt)"
    assert m02["input_tables_from"] == "warehouse"  # what 01 loaded, not a second ingest
    assert m02["pseudonym_key_source"] == "$CRM_PSEUDONYM_KEY"
    assert "outliers_planted_loaded" not in m02 and "test_account_planted" not in m02
    html = (tmp_path / "r" / "cdnow" / names[1] / f"{names[1]}.html").read_text(encoding="utf-8")
    assert "needs the customers export" in html and "no planted problems" in html
    # nothing lost: the cleaned lines plus the lines set aside are the lines loaded
    with duckdb.connect(params["warehouse_db"], read_only=True) as con:
        kept = con.execute("select count(*) from transactions_clean").fetchone()[0]
    assert kept + m02["cleaning_set_aside_rows"] == 69_659


def test_collection_and_cleaning_from_a_sql_database(tmp_path, monkeypatch):
    """Both exports come from a SQLite database by query (the shop's own tables and column
    names, as the simulated exports have them); the run has no truth to score against."""
    import sqlite3

    from crm_lib.datasets.dirt import write_raw_exports
    from crm_lib.intake import io

    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("CRM_PSEUDONYM_KEY", "sql-test-key-0123456789abcdef")
    world = simulate(300, seed=11, dirty=True)
    paths = write_raw_exports(world.raw, tmp_path / "exports")
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as con:
        for table, path in [
            ("crm_customers", "customers_export"),
            ("shop_orders", "orders_export"),
        ]:
            io.read_table(paths[path]).to_sql(table, con, index=False)
    rows_in = {t: len(io.read_table(p)) for t, p in paths.items()}
    params = {
        "sql_url": f"sqlite:///{db}",
        "customers_query": "select * from crm_customers",
        "orders_query": "select * from shop_orders",
        "warehouse_db": str(tmp_path / "wh" / "crm.duckdb"),
    }
    m01, m02 = _run_intake(params, tmp_path / "r", "sql")
    assert m01["world"].startswith("your exports (customers: a query on sqlite:")
    for table, export in [("customers", "customers_export"), ("transactions", "orders_export")]:
        accepted, quarantined = m01[f"{table}_rows_accepted"], m01[f"{table}_rows_quarantined"]
        assert m01[f"{table}_rows_in"] == rows_in[export] == accepted + quarantined
    assert m02["input_tables_from"] == "warehouse"
    assert m02["dedup_customers_after"] < m02["dedup_customers_before"]  # duplicates merged
    assert "dedup_precision" not in m02  # no planted duplicates to score against
    assert (
        m02["customers_may_contact"] + m02["customers_without_consent"]
        == (m02["dedup_customers_after"])
    )


def test_the_satisfaction_study_on_a_real_questionnaire(tmp_path, monkeypatch):
    """Notebook 05 on psych's bfi data (2,800 people, 25 items, 7 reverse-keyed): a dataset
    with only survey responses, its own questionnaire named in dataset.yml, no NPS, CSAT,
    waves or customers. Cronbach's alpha per construct equals pingouin's on the same rows."""
    import shutil

    import pingouin as pg

    from crm_lib import survey
    from crm_lib.datasets import load_bfi
    from crm_lib.datasets.bfi import BFI_ITEMS

    monkeypatch.setenv("MPLBACKEND", "Agg")
    folder = tmp_path / "bfi"
    (folder / "tables").mkdir(parents=True)
    responses = load_bfi()[["response_id", *BFI_ITEMS]]
    responses.to_parquet(folder / "tables" / "survey_responses.parquet", index=False)
    shutil.copy(Path(survey.__file__).parent / "instruments" / "bfi.yml", folder / "bfi.yml")
    (folder / "dataset.yml").write_text("name: bfi\ninstrument: bfi.yml\n", encoding="utf-8")
    name = "05_satisfaction_study"
    batch = {
        "runs": [
            {"notebook": str(NOTEBOOKS / f"{name}.ipynb"), "name": name,
             "parameters": {"data_dir": str(folder)}}
        ]
    }  # fmt: skip
    result = run_batch(batch, run_id="bfi", reports_dir=tmp_path / "r", quiet=True)
    assert [r.error for r in result.runs] == [None]
    metrics = _metrics(tmp_path / "r" / "bfi", name)
    assert metrics["instrument"] == "bfi" and metrics["responses"] == 2800
    assert "nps" not in metrics and "csat_top2" not in metrics
    inst = survey.shipped_instrument("bfi")
    kept, _ = survey.screen_responses(responses, inst, speeder_fraction=0.333)
    assert len(kept) == metrics["responses_kept"]
    recoded = inst.reverse_code(kept)
    for construct, items in inst.constructs.items():
        expected, _ = pg.cronbach_alpha(recoded[items].astype(float), nan_policy="listwise")
        assert metrics["alpha_by_construct"][construct] == pytest.approx(expected, abs=1e-6)
    assert metrics["kmo"] > 0.8  # the items share factors (exploratory factor analysis ran)
    html = (tmp_path / "r" / "bfi" / name / f"{name}.html").read_text(encoding="utf-8")
    assert "no recommendation (NPS) question" in html


def test_survey_items_are_validated_against_the_questionnaire(tmp_path):
    from crm_lib.contract.schemas import ContractError, validate

    items = {"Q1": (1, 5), "Q2": (1, 5)}
    ok = pd.DataFrame(
        {"response_id": ["r1", "r2"], "Q1": pd.array([1, 5], dtype="Int64"),
         "Q2": pd.array([None, 3], dtype="Int64")}
    ).astype({"response_id": "string"})  # fmt: skip
    validate(ok, "survey_responses", items=items)
    with pytest.raises(ContractError, match="Q2"):  # 6 is outside the 1-5 scale
        validate(ok.assign(Q2=pd.array([6, 3], dtype="Int64")), "survey_responses", items=items)
    with pytest.raises(ContractError, match="Q3"):  # not an item of the questionnaire
        validate(ok.assign(Q3=pd.array([1, 1], dtype="Int64")), "survey_responses", items=items)
    with pytest.raises(ContractError):  # the simulated questionnaire's items are not these
        validate(ok, "survey_responses")
