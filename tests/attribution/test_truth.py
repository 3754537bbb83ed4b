"""The simulated touchpoints: their generating model, and the models against its truth."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from crm_lib import attribution
from crm_lib.datasets import sim_attribution
from crm_lib.datasets.sim_attribution import AttributionParams, add_attribution

START = pd.Timestamp("2024-01-01", tz="UTC")


@pytest.fixture(scope="module")
def big_world():
    """A bare world of 60,000 customers (68% buy), with touchpoints from the generator."""
    rng = np.random.default_rng(2024)
    n = 60_000
    ids = pd.Series([f"C{i:06d}" for i in range(n)], dtype="str")
    signup = START + pd.to_timedelta(rng.uniform(0, 300, n), unit="D")
    buyer = rng.random(n) < 0.68
    bought = signup[buyer] + pd.to_timedelta(rng.uniform(1, 60, buyer.sum()), unit="D")
    world = SimpleNamespace(
        customers=pd.DataFrame({"customer_id": ids, "signup_at": signup.as_unit("us")}),
        transactions=pd.DataFrame(
            {
                "customer_id": ids[buyer].to_numpy(),
                "ordered_at": bought.as_unit("us"),
                "amount": 10.0,
            }
        ),
        extra={},
        truth=SimpleNamespace(studies={}, frames={}),
    )
    add_attribution(world, np.random.default_rng([1, 18]))
    return world


@pytest.fixture(scope="module")
def big_journeys(big_world):
    w = big_world
    return attribution.build_journeys(w.extra["touchpoints"], w.transactions, customers=w.customers)


def test_conversion_is_additive_in_the_exposures(big_world):
    """OLS of the conversion flag on the exposure indicators recovers baseline and effects."""
    w, p = big_world, AttributionParams()
    tp = w.extra["touchpoints"]
    x = (
        pd.crosstab(tp["customer_id"], tp["channel"])
        .reindex(w.customers["customer_id"], fill_value=0)
        .reindex(columns=list(p.channels))
        .gt(0)
        .astype(float)
    )
    y = w.customers["customer_id"].isin(w.transactions["customer_id"]).astype(float).to_numpy()
    design = np.column_stack([np.ones(len(y)), x.to_numpy()])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ beta
    cov = np.linalg.inv(design.T @ design) * (resid @ resid) / (len(y) - design.shape[1])
    se = np.sqrt(np.diag(cov))
    truth = w.truth.studies["attribution"]
    want = np.array([truth["baseline"], *p.effect])
    assert np.all(np.abs(beta - want) < 4 * se), (beta, want, se)
    # exposure shares as stated
    np.testing.assert_allclose(x.mean(), p.exposure, atol=0.01)


def test_markov_and_shapley_rank_channels_in_the_true_order(big_world, big_journeys):
    truth = big_world.truth.studies["attribution"]
    assert truth["true_order"] == ["search", "social", "email", "direct", "referral"]
    shares = attribution.attribute(big_journeys, ["markov", "shapley_path", "shapley_incremental"])
    check = attribution.compare_truth(shares, truth).set_index("model")
    assert check["same_order"].all(), check


def test_incremental_shapley_recovers_the_true_shares(big_world, big_journeys):
    """Under the additive model the incremental Shapley credit of a channel is its effect
    times its exposed customers in expectation: the truth lies in the 95% intervals."""
    truth = big_world.truth.studies["attribution"]
    b = attribution.bootstrap_shares(
        big_journeys, ["shapley_incremental", "markov"], n_boot=200, random_state=1
    )
    inc = b[b["model"] == "shapley_incremental"].set_index("channel")
    true = pd.Series(truth["true_shares"]).reindex(inc.index)
    assert ((inc["ci_low"] <= true) & (true <= inc["ci_high"])).all(), inc.assign(true=true)
    # the Markov model does not: it credits exposure, and misses the truth of search
    mk = b[b["model"] == "markov"].set_index("channel").reindex(inc.index)
    assert mk.loc["search", "ci_high"] < true["search"]


def test_the_six_first_tables_are_unchanged(small_world, monkeypatch):
    """The touchpoints have their own random stream: without them the world is the same."""
    from crm_lib.datasets import simulate

    monkeypatch.setattr(sim_attribution, "add_attribution", lambda world, rng: world)
    bare = simulate("small", seed=1)
    for name in ("customers", "transactions", "events", "survey_responses"):
        pd.testing.assert_frame_equal(getattr(bare, name), getattr(small_world, name))
    assert bare.touchpoints is None and "attribution" not in bare.truth.studies
    assert len(small_world.touchpoints) > 0


def test_a_buyer_share_too_small_for_the_effects_scales_them_down(big_world):
    """With few buyers the planted effects would need a negative baseline: they are scaled
    down alike (order and ratios kept) and the truth records what was used."""
    w = SimpleNamespace(**vars(big_world))
    w.transactions = big_world.transactions.head(100)
    w.extra, w.truth = {}, SimpleNamespace(studies={}, frames={})
    add_attribution(w, np.random.default_rng(0))
    truth = w.truth.studies["attribution"]
    planted = np.asarray(AttributionParams().effect)
    used = np.asarray(truth["effect"])
    assert truth["effect_scale"] < 1 and truth["baseline"] >= 0
    np.testing.assert_allclose(used / used[0], planted / planted[0], rtol=1e-12)


def test_the_small_world_too(small_world):
    """The report's world (2,000 customers, seed 1): the data-driven models keep the order."""
    w = small_world
    j = attribution.build_journeys(w.touchpoints, w.transactions, customers=w.customers)
    shares = attribution.attribute(j, ["markov", "shapley_path", "shapley_incremental"])
    check = attribution.compare_truth(shares, w.truth.studies["attribution"]).set_index("model")
    assert check["same_order"].all(), check
