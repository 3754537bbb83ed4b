"""All models together: the tidy table, the bootstrap, the budget what-if and the chart."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from crm_lib import attribution


@pytest.fixture(scope="module")
def small_journeys(small_world):
    w = small_world
    return attribution.build_journeys(w.touchpoints, w.transactions, customers=w.customers)


def test_attribute_gives_every_model_summing_to_one(small_journeys):
    shares = attribution.attribute(small_journeys)
    assert list(dict.fromkeys(shares["model"])) == list(attribution.MODELS)
    sums = shares.groupby("model")["share"].sum()
    np.testing.assert_allclose(sums, 1.0)
    conv = shares.groupby("model")["conversions"].sum().drop("shapley_incremental")
    np.testing.assert_allclose(conv, small_journeys.n_conversions)
    with pytest.raises(ValueError, match="unknown model"):
        attribution.attribute(small_journeys, ["markov", "magic"])


def test_bootstrap_is_reproducible_and_brackets_the_estimate(small_journeys):
    a = attribution.bootstrap_shares(small_journeys, n_boot=50, random_state=3)
    b = attribution.bootstrap_shares(small_journeys, n_boot=50, random_state=3)
    pd.testing.assert_frame_equal(a, b)
    assert (a["ci_low"] <= a["ci_high"]).all() and (a["se"] > 0).all()
    # the full-data share lies inside its percentile interval for almost every row
    inside = (a["ci_low"] <= a["share"]) & (a["share"] <= a["ci_high"])
    assert inside.mean() > 0.9
    with pytest.raises(ValueError, match="at least 2"):
        attribution.bootstrap_shares(small_journeys, n_boot=1)


def test_bootstrap_shares_of_the_last_touch_are_binomial_by_hand():
    """Last touch on one-touch paths: the share of 'a' is a binomial proportion among
    converters; its bootstrap s.e. is close to sqrt(p (1 - p) / n)."""
    paths = pd.DataFrame({"path": ["a", "b"], "conversions": [300, 700], "nulls": [500, 500]})
    j = attribution.journeys_from_paths(paths)
    b = attribution.bootstrap_shares(j, ["last_touch"], n_boot=2000, random_state=0)
    se = b.set_index("channel").loc["a", "se"]
    assert se == pytest.approx(np.sqrt(0.3 * 0.7 / 1000), rel=0.1)


def test_budget_what_if_by_hand():
    shares = pd.DataFrame(
        {
            "model": "markov",
            "channel": ["a", "b", "c"],
            "conversions": [100.0, 50.0, 10.0],
            "share": [0.625, 0.3125, 0.0625],
        }
    )
    costs = pd.Series({"a": 1000.0, "b": 1000.0, "c": 0.0})
    out = attribution.budget_what_if(shares, costs, shift=0.1).set_index("channel")
    # cost per conversion: a 10, b 20 (c costs nothing): 100 moves from b to a
    assert out["cost_per_conversion"].tolist()[:2] == [10.0, 20.0]
    assert out["new_cost"].tolist() == [1100.0, 900.0, 0.0]
    np.testing.assert_allclose(out["new_conversions"], [110.0, 45.0, 10.0])


def test_channel_costs_and_plot(small_world, small_journeys):
    costs = attribution.channel_costs(small_world.touchpoints)
    assert costs["direct"] == 0 and costs["search"] > 0
    b = attribution.bootstrap_shares(small_journeys, n_boot=20)
    ax = attribution.plot_shares(b, truth=small_world.truth.studies["attribution"], language="zh")
    assert len(ax.patches) == len(b)
    plt.close("all")
