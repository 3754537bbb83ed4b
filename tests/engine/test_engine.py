"""Tests of crm_lib.engine: one ibis expression, DuckDB and Spark give the same results.

The heavy comparison runs on one simulated ~1M-line log (``simulate_to_parquet``, seed 3)
written once per module; Spark runs as ``local[2]`` in one session per module. Reference
values: the hand-tuned DuckDB SQL of ``clv.customer_summary`` (whose pandas twin is tested
in test_clv.py), ``segmentation.rfm_scores`` in pandas and ``experiments.arm_stats``
(numpy) on the same rows. Counts, times and integer scores must agree exactly, sums and
means to 1e-9 relative.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from crm_lib import engine
from crm_lib import value as clv
from crm_lib.datasets import simulate_to_parquet
from crm_lib.datasets.world import START
from crm_lib.experiments import arm_stats
from crm_lib.value import rfm as segmentation

ibis = pytest.importorskip("ibis")

END = START + pd.Timedelta(weeks=156)
HAS_JAVA = bool(shutil.which("java") or os.environ.get("JAVA_HOME"))
needs_spark = pytest.mark.skipif(
    not HAS_JAVA or pytest.importorskip("pyspark") is None, reason="Spark needs Java"
)


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Same columns and rows; integers, ids and times exactly, floats to 1e-9 relative."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for col in a.columns:
        if a[col].dtype.kind == "f":
            np.testing.assert_allclose(a[col], b[col], rtol=1e-9, atol=1e-12, err_msg=col)
        else:
            assert (a[col].to_numpy() == b[col].to_numpy()).all(), col


@pytest.fixture(scope="module")
def spark():
    if not HAS_JAVA:
        pytest.skip("Spark needs Java")
    pytest.importorskip("pyspark")
    # C1-only JIT: these queries are short, so a quick JVM warm-up matters more
    backend = engine.connect(
        "local[2]", **{"spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1"}
    )
    yield backend
    engine.stop_spark()


@pytest.fixture(scope="module")
def log_1m(tmp_path_factory) -> str:
    # several row groups, so that Spark reads the file with both cores
    folder = tmp_path_factory.mktemp("engine") / "log"
    result = simulate_to_parquet(folder, 1_000_000, seed=3, chunk_customers=15_000)
    assert 950_000 < result.n_transactions < 1_050_000
    return str(result.transactions_path)


@pytest.fixture(scope="module")
def summary_1m(log_1m) -> pd.DataFrame:
    return clv.customer_summary(log_1m, observation_end=END)  # hand-tuned DuckDB SQL


@pytest.fixture(scope="module")
def small_log(small_world) -> pd.DataFrame:
    return small_world.transactions


# ------------------------------------------------------------------ connect / table


def test_connect_names_the_unknown_engine():
    with pytest.raises(ValueError, match="unknown engine 'sparkk': use 'duckdb'"):
        engine.connect("sparkk")
    with pytest.raises(ValueError, match="unknown engine 'postgress'"):
        clv.customer_summary(pd.DataFrame(), engine="postgress")
    with pytest.raises(ValueError, match="engine='pandas' is the in-memory fallback"):
        engine.connect("pandas")
    with pytest.raises(TypeError, match="engine must be a name"):
        engine.connect(42)


def test_connect_duckdb_variants(tmp_path):
    import duckdb

    assert engine.connect("duckdb").name == "duckdb"
    backend = engine.connect(f"duckdb:///{tmp_path / 'w.duckdb'}")
    assert backend.name == "duckdb"
    assert engine.connect(backend) is backend
    assert engine.connect(duckdb.connect()).name == "duckdb"


def test_duckdb_create_table_overwrite():
    """Catches the next sqlglot release that breaks ibis 12 (as sqlglot >= 30.18 did)."""
    backend = engine.connect("duckdb")
    df = pd.DataFrame({"customer_id": ["a", "b"], "amount": [1.5, 2.5]})
    backend.create_table("t", df)
    backend.create_table("t", df.assign(amount=[3.0, 4.0]), overwrite=True)
    assert backend.table("t").amount.sum().to_pyarrow().as_py() == 7.0
    assert backend.table("t").count().to_pyarrow().as_py() == 2


def test_import_stays_cheap():
    code = "import sys, crm_lib.engine; print('ibis' in sys.modules, 'pyspark' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_table_sources(tmp_path, small_log):
    backend = engine.connect("duckdb")
    path = tmp_path / "tx.parquet"
    small_log.to_parquet(path)
    n = len(small_log)
    for source in (small_log, str(path), path, str(tmp_path / "*.parquet")):
        assert engine.table(source, backend).count().execute() == n
    backend.create_table("tx", small_log)
    assert engine.table("tx", backend).count().execute() == n
    with pytest.raises(TypeError, match="source must be a pandas DataFrame"):
        engine.table(42, backend)


# --------------------------------------------------- heavy comparison on ~1M lines


@needs_spark
def test_customer_summary_agrees_on_1m_lines(log_1m, summary_1m, spark):
    ibis_duckdb = clv.customer_summary(log_1m, observation_end=END, engine=engine.connect("duckdb"))
    on_spark = clv.customer_summary(log_1m, observation_end=END, engine=spark)
    assert len(summary_1m) > 30_000
    assert_same(summary_1m, ibis_duckdb)
    assert_same(summary_1m, on_spark)
    assert (on_spark["frequency"] > 0).mean() > 0.3  # repeat buyers and returns are in it


@needs_spark
def test_rfm_scores_agree(summary_1m, spark):
    ref = segmentation.rfm_scores(summary_1m)  # pandas: rank(method="min"), ties share
    assert_same(ref, segmentation.rfm_scores(summary_1m, engine="duckdb"))
    assert_same(ref, segmentation.rfm_scores(summary_1m, engine=spark))
    # many ties in frequency: tied customers share a score, so the bins are uneven, and
    # the reported sizes are the actual ones
    assert (ref.groupby("frequency")["f_score"].nunique() == 1).all()
    sizes = ref.attrs["score_bins"].set_index(["dimension", "score"])["customers"]
    counts = ref["f_score"].value_counts().reindex(range(1, 6), fill_value=0)
    assert counts.tolist() == sizes["F"].tolist()


@needs_spark
def test_arm_statistics_agree_on_1m_lines(log_1m, spark):
    """Lines as units, the sales channel as arm: n, sums, variances and covariances."""
    kwargs = {
        "group_col": "channel",
        "control": "store",
        "columns": ["amount", "quantity"],
        "pairs": [("amount", "quantity")],
    }
    rows = pq.read_table(log_1m, columns=["channel", "amount", "quantity"]).to_pandas()
    ref = arm_stats(rows, **kwargs)
    for backend in ("duckdb", spark):
        got = arm_stats(log_1m, engine=backend, **kwargs)
        assert got.labels == ref.labels and got.control == ref.control
        np.testing.assert_array_equal(got.n, ref.n)
        for col in kwargs["columns"]:
            for stat in ("total", "mean", "var"):
                np.testing.assert_allclose(
                    getattr(got, stat)[col], getattr(ref, stat)[col], rtol=1e-9, err_msg=stat
                )
        np.testing.assert_allclose(
            got.cov[("amount", "quantity")], ref.cov[("amount", "quantity")], rtol=1e-9
        )
        assert got.binary == ref.binary == {"amount": False, "quantity": False}
        # the read-outs built on the statistics work unchanged
        assert_same(ref.srm(), got.srm())
        assert_same(ref.means("amount"), got.means("amount"))
        assert_same(ref.cuped("amount", "quantity"), got.cuped("amount", "quantity"))


# --------------------------------------------------------- small frames, both engines


@needs_spark
def test_day_summary_and_holdout_on_spark(small_log, spark):
    ref = clv.customer_summary(small_log, freq_by="day", time_unit="D")
    assert_same(ref, clv.customer_summary(small_log, freq_by="day", time_unit="D", engine=spark))
    # naive times are UTC on every engine (Spark: TIMESTAMP_NTZ)
    naive = small_log.head(500).assign(ordered_at=lambda d: d["ordered_at"].dt.tz_localize(None))
    assert_same(clv.customer_summary(naive), clv.customer_summary(naive, engine=spark))
    kwargs = {"calibration_end": START + pd.Timedelta(weeks=120), "observation_end": END}
    ref = clv.calibration_holdout_split(small_log, **kwargs)
    assert_same(ref, clv.calibration_holdout_split(small_log, engine=spark, **kwargs))


def test_arm_statistics_small_and_validation(small_world):
    data = small_world.experiment_assignments.merge(small_world.experiment_outcomes)
    kwargs = {"group_col": "variant", "control": "control"}
    cols = {"columns": ["converted", "revenue", "pre_period_revenue"]}
    pairs = {"pairs": [("revenue", "pre_period_revenue")]}
    ref = arm_stats(data, **kwargs, **cols, **pairs)
    got = arm_stats(data, engine="duckdb", **kwargs, **cols, **pairs)
    assert got.binary == ref.binary and got.binary["converted"]
    assert_same(ref.proportions("converted"), got.proportions("converted"))
    assert_same(
        ref.cuped("revenue", "pre_period_revenue"), got.cuped("revenue", "pre_period_revenue")
    )
    with pytest.raises(ValueError, match="control='ctrl' is not a value of 'variant'"):
        arm_stats(data, engine="duckdb", group_col="variant", control="ctrl", **cols)
    with pytest.raises(ValueError, match="column 'nps' has .* missing values"):
        arm_stats(data, engine="duckdb", **kwargs, columns=["nps"])
    with pytest.raises(ValueError, match="has no column 'spend'"):
        arm_stats(data, engine="duckdb", **kwargs, columns=["spend"])


def _pandas_cohorts(tx: pd.DataFrame, tz: str) -> pd.DataFrame:
    sales = tx[tx["original_order_id"].isna()]
    local = sales["ordered_at"].dt.tz_convert(tz)
    month = local.dt.year * 12 + local.dt.month - 1
    active = pd.DataFrame({"cid": sales["customer_id"], "month": month}).drop_duplicates()
    active["cohort"] = active.groupby("cid")["month"].transform("min")
    counts = active.groupby(["cohort", "month"]).size().rename("customers").reset_index()
    return counts


def test_cohorts_funnel_kpis_duckdb(small_world):
    tx, events = small_world.transactions, small_world.events
    cohorts = engine.cohort_counts(tx, tz=SHANGHAI)  # the simulated retailer's zone
    ref = _pandas_cohorts(tx, SHANGHAI)
    assert cohorts["customers"].sum() == ref["customers"].sum()
    first = cohorts[cohorts["months_since"] == 0]
    assert (
        first["customers"].sum() == tx.loc[tx["original_order_id"].isna(), "customer_id"].nunique()
    )
    assert (cohorts["retention"] <= 1).all()

    funnel = engine.funnel_counts(events)
    expected = events.groupby("event_type")["visitor_id"].nunique()
    assert funnel["units"].tolist() == [
        expected[s] for s in ("visit", "signup", "cart", "purchase")
    ]
    by_channel = engine.funnel_counts(events, group_col="channel")
    assert set(by_channel["channel"]) == set(events["channel"])

    kpi = engine.kpi_aggregates(tx, period="M", tz=SHANGHAI)
    assert kpi["revenue"].sum() == pytest.approx(tx["amount"].sum(), rel=1e-12)
    sales = tx[tx["original_order_id"].isna()]
    assert kpi["orders"].sum() == sales["order_id"].nunique()  # an order falls in one month
    np.testing.assert_allclose(kpi["aov"], kpi["gross_revenue"] / kpi["orders"])
    with pytest.raises(ValueError, match="period='H' is not supported"):
        engine.kpi_aggregates(tx, period="H")


@needs_spark
def test_cohorts_funnel_kpis_agree_on_spark(small_world, spark):
    tx, events = small_world.transactions, small_world.events
    assert_same(engine.cohort_counts(tx), engine.cohort_counts(tx, engine=spark))
    assert_same(
        engine.funnel_counts(events, group_col="channel"),
        engine.funnel_counts(events, group_col="channel", engine=spark),
    )
    assert_same(
        engine.kpi_aggregates(tx, period="W"), engine.kpi_aggregates(tx, period="W", engine=spark)
    )


@needs_spark
def test_spark_leaves_no_files_in_the_working_directory(spark):
    conf = spark._session.conf
    assert conf.get("spark.ui.enabled") == "false"
    warehouse = conf.get("spark.sql.warehouse.dir")
    assert not Path(warehouse.removeprefix("file:")).is_relative_to(Path.cwd())
    assert not (Path.cwd() / "spark-warehouse").exists()
    assert not (Path.cwd() / "metastore_db").exists()


def test_crm_engine_environment_variable_is_the_default(monkeypatch, small_log):
    """``CRM_ENGINE`` points every call without engine=... elsewhere (no notebook change)."""
    ref = clv.customer_summary(small_log)
    monkeypatch.setenv("CRM_ENGINE", "duckdb://")  # ibis on an in-memory DuckDB
    assert engine.default_engine() == "duckdb://"
    assert_same(ref, clv.customer_summary(small_log))
    monkeypatch.setenv("CRM_ENGINE", "sparkk")
    with pytest.raises(ValueError, match="unknown engine 'sparkk'"):
        clv.customer_summary(small_log)
    assert_same(ref, clv.customer_summary(small_log, engine="duckdb"))  # a parameter wins


def test_rfm_scores_ties_and_row_order_duckdb():
    """Heavy ties, ids out of order: the window-function cut equals rank(method='min')."""
    rng = np.random.default_rng(7)
    n = 997
    summary = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in rng.permutation(n)],
            "frequency": rng.integers(0, 4, n),
            "recency": rng.integers(0, 3, n).astype(float),
            "T": 3.0 + rng.integers(0, 2, n),
            "monetary_total": rng.choice([0.0, 10.0, 25.5], n),
        }
    )
    ref = segmentation.rfm_scores(summary, bins=4)
    on_duckdb = segmentation.rfm_scores(summary, bins=4, engine="duckdb")
    assert_same(ref, on_duckdb)
    for value, score in (("time_since_last", "r_score"), ("frequency", "f_score"),
                         ("monetary", "m_score")):  # fmt: skip
        # tied customers share one score on both engines
        assert (on_duckdb.groupby(value)[score].nunique() == 1).all(), value
        assert (ref.groupby(value)[score].nunique() == 1).all(), value
    with pytest.raises(ValueError, match="must be unique"):
        engine.rfm_scores(pd.concat([summary, summary.head(1)]))
    with pytest.raises(ValueError, match="bins must be an integer >= 2"):
        engine.rfm_scores(summary, bins=1)


# ---------------------------------------------- cohorts, funnel, KPIs: worked by hand

UTC = "UTC"


def _hand_log() -> pd.DataFrame:
    """Six orders and a return; local time is Asia/Shanghai (UTC+8)."""
    rows = [
        # order, line, customer, UTC time, amount, original order
        ("O1", 1, "A", "2024-01-05 10:00", 100.0, None),  # January
        ("O1", 2, "A", "2024-01-05 10:00", 50.0, None),
        ("O2", 1, "A", "2024-02-10 09:00", 80.0, None),  # February
        ("R1", 1, "A", "2024-03-02 03:00", -50.0, "O1"),  # March: a return, not a purchase
        ("O3", 1, "B", "2024-01-31 17:00", 40.0, None),  # 1 February 01:00 in Shanghai
        ("O4", 1, "B", "2024-03-15 12:00", 60.0, None),  # March
        ("O5", 1, "C", "2024-01-20 08:00", 30.0, None),  # January
        ("O6", 1, "C", "2024-03-31 20:00", 70.0, None),  # 1 April 04:00 in Shanghai
    ]
    log = pd.DataFrame(
        rows,
        columns=["order_id", "line_no", "customer_id", "ordered_at", "amount", "original_order_id"],
    )
    log["ordered_at"] = pd.to_datetime(log["ordered_at"]).dt.tz_localize(UTC)
    return log


def _hand_events() -> pd.DataFrame:
    rows = [
        ("V1", "visit", "web"), ("V1", "signup", "web"), ("V1", "cart", "web"),
        ("V1", "purchase", "web"),
        ("V2", "visit", "web"), ("V2", "visit", "web"), ("V2", "signup", "web"),
        ("V3", "visit", "app"), ("V3", "cart", "app"),  # skipped the sign-up page
        ("V4", "signup", "app"),  # its visit was not logged
        ("V5", "email_open", "app"),  # not a funnel stage
        (None, "purchase", "app"),  # no visitor: not counted
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["visitor_id", "event_type", "channel"])


SHANGHAI = "Asia/Shanghai"  # the zone the hand-worked tables below are in


def _engines() -> list:
    return ["duckdb", pytest.param("spark", marks=needs_spark)]


@pytest.fixture(params=_engines())
def any_engine(request):
    if request.param == "spark":
        return request.getfixturevalue("spark")
    return request.param


def test_cohort_triangle_by_hand(any_engine):
    got = engine.cohort_counts(_hand_log(), tz=SHANGHAI, engine=any_engine)
    # A: Jan, Feb (its March return is no purchase); C: Jan, Apr; B: Feb, Mar (local months)
    expected = pd.DataFrame(
        {
            "cohort": pd.to_datetime(["2024-01-01"] * 3 + ["2024-02-01"] * 2),
            "months_since": [0, 1, 3, 0, 1],
            "customers": [2, 1, 1, 1, 1],
            "cohort_size": [2, 2, 2, 1, 1],
            "retention": [1.0, 0.5, 0.5, 1.0, 1.0],
        }
    )
    assert_same(got, expected)
    utc = engine.cohort_counts(_hand_log(), engine=any_engine)  # the default zone is UTC
    # in UTC, B's first order is in January and C's last in March
    assert utc.loc[utc["months_since"] == 0, "customers"].tolist() == [3]
    assert utc["months_since"].tolist() == [0, 1, 2]
    assert utc["customers"].tolist() == [3, 1, 2]


def test_kpis_by_hand(any_engine):
    got = engine.kpi_aggregates(_hand_log(), period="M", tz=SHANGHAI, engine=any_engine)
    expected = pd.DataFrame(
        {
            "period": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]),
            # March: B's 60 less A's returned 50, in the month of the return
            "revenue": [180.0, 120.0, 10.0, 70.0],
            "gross_revenue": [180.0, 120.0, 60.0, 70.0],
            "orders": [2, 2, 1, 1],
            "customers": [2, 2, 1, 1],
            "aov": [90.0, 60.0, 60.0, 70.0],
        }
    )
    assert_same(got, expected)
    days = engine.kpi_aggregates(_hand_log(), period="D", tz=SHANGHAI, engine=any_engine)
    feb1 = days[days["period"] == pd.Timestamp("2024-02-01")]
    assert feb1[["revenue", "orders", "customers"]].values.tolist() == [[40.0, 1, 1]]
    weeks = engine.kpi_aggregates(_hand_log(), period="W", tz=SHANGHAI, engine=any_engine)
    # weeks start on Monday: 2024-01-29 holds B's O3 (Thu 1 Feb local) only
    week = weeks[weeks["period"] == pd.Timestamp("2024-01-29")]
    assert week[["revenue", "orders"]].values.tolist() == [[40.0, 1]]
    assert weeks["revenue"].sum() == pytest.approx(380.0)


def test_funnel_by_hand(any_engine):
    got = engine.funnel_counts(_hand_events(), engine=any_engine)
    expected = pd.DataFrame(
        {
            "stage": ["visit", "signup", "cart", "purchase"],
            "step": [1, 2, 3, 4],
            "units": [3, 3, 2, 1],  # V1-V3 visited, V1, V2, V4 signed up, V1 and V3 ...
            "rate_from_previous": [np.nan, 1.0, 2 / 3, 0.5],
            "rate_from_first": [1.0, 1.0, 2 / 3, 1 / 3],
        }
    )
    assert_same(got, expected)
    by = engine.funnel_counts(_hand_events(), group_col="channel", engine=any_engine)
    app, web = by[by["channel"] == "app"], by[by["channel"] == "web"]
    assert by["channel"].tolist() == ["app"] * 4 + ["web"] * 4
    assert app["units"].tolist() == [1, 1, 1, 0]  # nobody bought in the app
    assert app["rate_from_previous"].tolist()[1:] == [1.0, 1.0, 0.0]
    assert web["units"].tolist() == [2, 2, 1, 1]
    np.testing.assert_allclose(web["rate_from_first"], [1.0, 1.0, 0.5, 0.5])


# ------------------------------------------------------------- notebooks on an engine


def test_ab_notebook_gives_the_same_numbers_on_an_engine(tmp_path, monkeypatch):
    """Notebook 04 with ``engine="duckdb"``: SRM, conversion, Welch and CUPED come from
    per-arm statistics computed by DuckDB; every recorded number equals the in-memory run."""
    from crm_lib.reporting import run_batch

    notebook = Path(__file__).resolve().parents[2] / "notebooks" / "04_ab_testing.ipynb"
    spec = {
        "defaults": {"data_dir": "", "size": "small", "seed": 1, "language": "en"},
        "runs": [
            {"notebook": str(notebook), "name": "memory"},
            {"notebook": str(notebook), "name": "duckdb", "parameters": {"engine": "duckdb"}},
        ],
    }
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRM_ENGINE", raising=False)
    result = run_batch(spec, run_id="engines", reports_dir=tmp_path / "reports", quiet=True)
    assert [r.error for r in result.runs] == [None, None]
    memory, duck = (r.metrics for r in result.runs)
    assert (memory.pop("engine"), duck.pop("engine")) == ("memory", "duckdb")
    assert memory.keys() == duck.keys()
    assert {"srm_p_value", "abs_lift_ci_low", "revenue_p_value", "cuped_ci_width_ratio"} <= set(
        memory
    )
    for key, value in memory.items():
        if isinstance(value, float):
            assert duck[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
        else:
            assert duck[key] == value, key


def test_duckdb_draws_no_progress_bar():
    from crm_lib.engine.backends import connect

    con = connect("duckdb")
    assert con.raw_sql("select current_setting('enable_progress_bar')").fetchall() == [(False,)]


def test_duckdb_connects_inside_a_jupyter_kernel(tmp_path):
    """In a kernel DuckDB refuses to change its progress bar without ipywidgets; connecting
    must still work there (every notebook using the engine broke once on this)."""
    import nbformat
    import papermill

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from crm_lib.engine.backends import connect\n"
            "print(connect('duckdb').raw_sql('select 42').fetchall())"
        )
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, tmp_path / "in.ipynb")
    out = papermill.execute_notebook(
        str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"), kernel_name="python3",
        progress_bar=False,
    )  # fmt: skip
    assert out.cells[0].outputs[0]["text"] == "[(42,)]\n"
