"""Churn labels and features at a cut-off: by hand, without leakage, DuckDB = Spark."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest

from crm_lib import churn, engine

HAS_JAVA = bool(shutil.which("java") or os.environ.get("JAVA_HOME"))
CUT = pd.Timestamp("2024-07-01", tz="UTC")


def _line(order, cust, when, amount, ret=None, category="home", channel="web", line_no=1):
    return {
        "order_id": order, "line_no": line_no, "customer_id": cust,
        "ordered_at": pd.Timestamp(when, tz="UTC"), "amount": amount, "currency": "CNY",
        "quantity": 1 if amount > 0 else -1, "product_id": "P1", "category": category,
        "channel": channel, "original_order_id": ret,
    }  # fmt: skip


@pytest.fixture
def log() -> pd.DataFrame:
    rows = [
        _line("O1", "A", "2024-01-05", 100.0),
        _line("O2", "A", "2024-06-20", 50.0, category="sports", channel="app"),
        _line("R1", "A", "2024-06-25", -20.0, ret="O2"),
        _line("O3", "B", "2024-03-01", 80.0),
        _line("O4", "B", "2024-07-10", 30.0),  # B buys after the cut-off: not churned
        _line("O5", "C", "2024-07-15", 60.0),  # C is new after the cut-off: not in the table
    ]
    df = pd.DataFrame(rows)
    df["ordered_at"] = df["ordered_at"].astype("datetime64[us, UTC]")
    return df


def test_features_by_hand(log):
    f = engine.churn_features(log, cutoff=CUT, window_days=30).set_index("customer_id")
    assert list(f.index) == ["A", "B"]
    a = f.loc["A"]
    assert a["orders"] == 2 and a["churned"]
    assert a["recency_days"] == pytest.approx(11.0)  # 2024-06-20 -> 07-01
    assert a["tenure_days"] == pytest.approx(178.0)
    assert a["spend"] == pytest.approx(130.0)  # net of the return before the cut-off
    assert a["avg_order_value"] == pytest.approx(75.0)
    assert a["return_share"] == pytest.approx(20 / 150)
    assert (a["orders_30d"], a["orders_90d"], a["orders_365d"]) == (1, 1, 2)
    assert a["spend_90d"] == pytest.approx(30.0)
    assert (a["categories"], a["channels"]) == (2, 2)
    assert not f.loc["B", "churned"]
    # the window is half-open: a purchase exactly at cut-off + window does not count
    g = engine.churn_features(log, cutoff=CUT, window_days=9, engine="duckdb")
    assert g.set_index("customer_id").loc["B", "churned"]


def test_no_feature_uses_data_after_the_cutoff(log):
    """Plant a strong post-cut-off signal: huge orders, returns of old orders, new
    categories and channels after the cut-off. Features must not move; labels may."""
    base = engine.churn_features(log, cutoff=CUT, window_days=30)
    planted = pd.concat(
        [
            log,
            pd.DataFrame(
                [
                    _line(
                        "X1", "A", "2024-07-01 00:00:00", 1e6, category="beauty", channel="store"
                    ),  # exactly at the cut-off: after  # fmt: skip
                    _line("X2", "A", "2024-12-01", 5e5, channel="mini_program"),
                    _line("X3", "A", "2024-07-02", -100.0, ret="O1"),
                    _line("X4", "B", "2025-01-01", 9e5),
                ]
            ).astype({"ordered_at": "datetime64[us, UTC]"}),
        ],
        ignore_index=True,
    )
    after = engine.churn_features(planted, cutoff=CUT, window_days=30)
    features = list(engine.CHURN_FEATURES)
    pd.testing.assert_frame_equal(base[["customer_id", *features]],
                                  after[["customer_id", *features]])  # fmt: skip
    # nor the repurchase gaps of the survival view
    pd.testing.assert_frame_equal(
        engine.inter_purchase_days(log, cutoff=CUT), engine.inter_purchase_days(planted, cutoff=CUT)
    )
    snap = churn.churn_snapshot(planted, cutoff=CUT, window_days=30)
    gaps = churn.repurchase_gaps(planted, snap, cutoff=CUT)
    assert gaps["days"].max() < (CUT - pd.Timestamp("2024-01-01", tz="UTC")).days
    # the label does see the window: A now bought in it
    assert base["churned"].tolist() == [True, False]
    assert after["churned"].tolist() == [False, False]


def test_snapshot_on_the_world_has_no_future(small_world):
    tx = small_world.transactions
    co = churn.cut_offs(tx, window_days=90)
    snap = churn.churn_snapshot(tx, cutoff=co.test, window_days=90,
                                customers=small_world.customers,
                                survey_responses=small_world.survey_responses)  # fmt: skip
    before = tx[tx["ordered_at"] < co.test]
    assert set(snap["customer_id"]) == set(before.loc[before["original_order_id"].isna(),
                                                      "customer_id"])  # fmt: skip
    # survey answers submitted after the cut-off are not used
    late = small_world.survey_responses
    late = late[late["submitted_at"] >= co.test]
    cut_tx = tx[tx["ordered_at"] < co.test]
    trunc = churn.churn_snapshot(cut_tx, cutoff=co.test, window_days=90,
                                 customers=small_world.customers,
                                 survey_responses=small_world.survey_responses.drop(late.index))  # fmt: skip
    cols = [c for c in snap.columns if c != "churned"]
    pd.testing.assert_frame_equal(snap[cols], trunc[cols])
    assert co.train == co.test - pd.Timedelta(days=90)


def test_cut_offs_validate():
    tx = pd.DataFrame({"ordered_at": pd.to_datetime(["2024-01-01", "2024-03-01"], utc=True)})
    with pytest.raises(ValueError, match="too short"):
        churn.cut_offs(tx, window_days=60)
    with pytest.raises(ValueError, match="window_days must be > 0"):
        churn.cut_offs(tx, window_days=0)


@pytest.mark.skipif(not HAS_JAVA, reason="Spark needs Java")
def test_spark_gives_the_same_features(small_world):
    pytest.importorskip("pyspark")
    spark = engine.connect(
        "local[2]", **{"spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1"}
    )
    try:
        tx = small_world.transactions
        cut = pd.Timestamp("2025-06-01", tz="UTC")
        ref = engine.churn_features(tx, cutoff=cut, window_days=90)
        got = engine.churn_features(tx, cutoff=cut, window_days=90, engine=spark)
        for col in ref.columns:
            if ref[col].dtype.kind == "f":
                np.testing.assert_allclose(ref[col], got[col], rtol=1e-9, err_msg=col)
            else:
                assert (ref[col].to_numpy() == got[col].to_numpy()).all(), col
        a = engine.inter_purchase_days(tx, cutoff=cut)
        b = engine.inter_purchase_days(tx, cutoff=cut, engine=spark)
        np.testing.assert_allclose(a["days"], b["days"], rtol=1e-12)
        m1 = engine.cohort_matrix(tx, tz="Asia/Shanghai")
        m2 = engine.cohort_matrix(tx, tz="Asia/Shanghai", engine=spark)
        np.testing.assert_allclose(m1["revenue"], m2["revenue"], rtol=1e-9)
        assert (m1["customers"].to_numpy() == m2["customers"].to_numpy()).all()
    finally:
        engine.stop_spark()


def test_cohort_matrix_agrees_with_cohort_counts(small_world):
    tx = small_world.transactions
    m = engine.cohort_matrix(tx, tz="Asia/Shanghai")
    ref = engine.cohort_counts(tx, tz="Asia/Shanghai")
    keep = m["customers"] > 0
    pd.testing.assert_frame_equal(
        m.loc[keep, ["cohort", "months_since", "customers", "cohort_size"]].reset_index(drop=True),
        ref[["cohort", "months_since", "customers", "cohort_size"]],
    )
    assert m["revenue"].sum() == pytest.approx(tx["amount"].sum(), rel=1e-9)


def test_inter_purchase_days_by_hand(log):
    g = engine.inter_purchase_days(log)
    assert g["customer_id"].tolist() == ["A", "B"]
    np.testing.assert_allclose(g["days"], [167.0, 131.0])
    assert g["order_number"].tolist() == [2, 2]
