"""Journeys built by SQL on the engine, against the hand-worked log of conftest.py."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest

from crm_lib import attribution, engine

HAS_JAVA = bool(shutil.which("java") or os.environ.get("JAVA_HOME"))

# By hand: A-D convert, E's path is null, F's touch is outside the 30-day window (so F's
# purchase has no journey), G's social touch came after its first purchase (day 10).
EXPECTED = pd.DataFrame(
    {
        "path": [
            "direct",
            "email",
            "email > direct",
            "search > email",
            "search > social > email",
            "social > search > direct > social",
        ],
        "journeys": [1, 1, 1, 1, 1, 1],
        "conversions": [1, 1, 1, 0, 1, 1],
        "nulls": [0, 0, 0, 1, 0, 0],
    }
)


def _engines():
    return [
        "duckdb",
        pytest.param("spark", marks=pytest.mark.skipif(not HAS_JAVA, reason="Spark needs Java")),
    ]


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark")
    backend = engine.connect(
        "local[2]", **{"spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1"}
    )
    yield backend
    engine.stop_spark()


@pytest.fixture(params=_engines())
def any_engine(request):
    return request.getfixturevalue("spark") if request.param == "spark" else request.param


def test_paths_window_and_null_paths_by_hand(hand_touchpoints, hand_transactions, any_engine):
    j = attribution.build_journeys(
        hand_touchpoints, hand_transactions, lookback_days=30, engine=any_engine
    )
    got = j.paths.sort_values("path").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, EXPECTED, check_dtype=False)
    # A, B, C, D, F, G, H converted (E's only line is a return); 5 of them with a journey
    assert j.conversions_total == 7
    s = j.summary().iloc[0]
    assert (s["journeys"], s["null_journeys"], s["conversions_without_journey"]) == (6, 1, 2)
    # time decay, half-life 7 days: D's touches 28, 21, 14, 7 days before -> 1, 2, 4, 8 / 15
    d = j.decay[j.decay["path"] == "social > search > direct > social"].set_index("channel")
    np.testing.assert_allclose(
        d.loc[["direct", "search", "social"], "credit"], [4 / 15, 2 / 15, 9 / 15]
    )


def test_a_longer_window_keeps_f(hand_touchpoints, hand_transactions):
    j = attribution.build_journeys(hand_touchpoints, hand_transactions, lookback_days=60)
    assert "referral" in j.channels
    assert j.paths.set_index("path").loc["referral", "conversions"] == 1


def test_customers_give_the_no_touch_baseline(hand_touchpoints, hand_transactions):
    customers = pd.DataFrame({"customer_id": list("ABCDEFGHIJ")})
    j = attribution.build_journeys(hand_touchpoints, hand_transactions, customers=customers)
    # F, H, I, J have no touch in the window; F and H bought
    assert (j.empty_journeys, j.empty_conversions) == (4, 2)
    assert j.baseline_rate == 0.5
    with pytest.raises(ValueError, match="missing from `customers`"):
        attribution.build_journeys(hand_touchpoints, hand_transactions, customers=customers.head(3))


def test_a_conversions_table_and_parameter_checks(hand_touchpoints):
    conv = pd.DataFrame(
        {"customer_id": ["A"], "converted_at": [pd.Timestamp("2024-03-22 09:00", tz="UTC")]}
    )
    j = attribution.build_journeys(
        hand_touchpoints, conv, conversion_time_col="converted_at", amount_col=None
    )
    assert j.paths.set_index("path").loc["search > social > email", "conversions"] == 1
    assert j.n_conversions == 1
    with pytest.raises(ValueError, match="must be positive"):
        attribution.build_journeys(hand_touchpoints, conv, lookback_days=0)


def test_simulated_world_journeys(small_world):
    tp = small_world.touchpoints
    assert len(tp) > 0
    small_world.validate()
    j = attribution.build_journeys(tp, small_world.transactions, customers=small_world.customers)
    assert set(j.channels) == set(small_world.truth.studies["attribution"]["channels"])
    # every customer is a journey or a customer without a touch
    assert j.n_journeys + j.empty_journeys == len(small_world.customers)
    buyers = small_world.transactions.loc[small_world.transactions["amount"] > 0, "customer_id"]
    assert j.n_conversions + j.empty_conversions == buyers.nunique()


@pytest.mark.skipif(not HAS_JAVA, reason="Spark needs Java")
def test_spark_gives_the_same_journeys_on_the_small_world(small_world, spark):
    args = (small_world.touchpoints, small_world.transactions)
    duck = attribution.build_journeys(*args, engine="duckdb")
    on_spark = attribution.build_journeys(*args, engine=spark)
    pd.testing.assert_frame_equal(duck.paths, on_spark.paths, check_dtype=False)
    a, b = duck.decay, on_spark.decay
    assert (a[["path", "channel"]].to_numpy() == b[["path", "channel"]].to_numpy()).all()
    np.testing.assert_allclose(a["credit"], b["credit"], rtol=1e-9)


def test_paths_from_text_touch_arrays_by_hand():
    # A > B, A > C, B, C > B: channels A 0, B 1, C 2
    paths = pd.DataFrame(
        {
            "path": ["A > B", "A > C", "B", "C > B"],
            "conversions": [1, 0, 1, 1],
            "nulls": [0, 1, 0, 0],
        }
    )
    j = attribution.journeys_from_paths(paths)
    t = j._touch
    np.testing.assert_array_equal(t["channel"], [0, 1, 0, 2, 1, 2, 1])
    np.testing.assert_array_equal(t["path"], [0, 0, 1, 1, 2, 3, 3])
    np.testing.assert_array_equal(t["pos"], [0, 1, 0, 1, 0, 0, 1])
    np.testing.assert_array_equal(t["length"], [2, 2, 2, 2, 1, 2, 2])
    assert j.summary()["touches"].iloc[0] == 7


def test_paths_from_a_chunked_arrow_column():
    # an Arrow-backed text column in several chunks (as read from a Parquet file of row
    # groups) gives the journeys of the same column in one piece
    import pyarrow as pa

    texts = [["search > email", "email"], ["direct > email > email"]]
    counts = {"conversions": [3, 1, 2], "nulls": [0, 4, 1]}
    chunked = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(texts)))
    one = pd.Series(sum(texts, []), dtype=object)
    a = attribution.journeys_from_paths(pd.DataFrame({"path": chunked, **counts}))
    b = attribution.journeys_from_paths(pd.DataFrame({"path": one, **counts}))
    assert a.channels == b.channels == ["direct", "email", "search"]
    for key in ("channel", "path", "pos", "length"):
        np.testing.assert_array_equal(a._touch[key], b._touch[key])
    pd.testing.assert_frame_equal(
        attribution.markov_attribution(a).summary(), attribution.markov_attribution(b).summary()
    )
