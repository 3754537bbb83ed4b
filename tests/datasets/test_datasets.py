"""The simulated world: deterministic, coherent, and true to its stated ground truth.

Statistical checks compare a simulated quantity with its closed form or stated value
within 4 standard errors estimated from the same sample (a false alarm about once in
16,000 runs); the seeds are fixed, so the tests are deterministic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import crm_lib
from crm_lib.datasets import BGNBDParams, GammaGammaParams, simulate
from crm_lib.datasets._btyd import fixed_width_ids, simulate_bgnbd


def _within(estimate: float, truth: float, se: float, k: float = 4.0) -> None:
    assert abs(estimate - truth) < k * se, f"{estimate} vs truth {truth} (se {se})"


def test_simulate_small_returns_every_table_and_truth():
    world = crm_lib.datasets.simulate("small", seed=1)
    assert set(world.tables) == set(crm_lib.contract.schemas.SCHEMAS)
    assert all(len(df) > 0 for df in world.tables.values())
    truth = world.truth
    assert truth.params["bgnbd"] == BGNBDParams().to_dict()
    assert {"ate_conversion", "relative_lift", "ate_nps_points"} <= set(truth.experiment)
    assert set(truth.survey["relative_importance"]) == {"product", "price", "service", "delivery"}
    assert len(truth.customers) == len(world.customers)


def test_same_seed_same_world_other_seed_other_world(small_world):
    again = simulate("small", seed=1)
    for name, df in small_world.tables.items():
        pd.testing.assert_frame_equal(df, again.tables[name], obj=name)
    pd.testing.assert_frame_equal(small_world.truth.customers, again.truth.customers)
    for name, df in small_world.raw.items():
        pd.testing.assert_frame_equal(df, again.raw[name], obj=name)
    other = simulate("small", seed=2)
    assert not other.transactions["amount"].equals(small_world.transactions["amount"])


def test_tables_are_coherent(small_world):
    w = small_world
    ids = set(w.customers["customer_id"])
    assert set(w.transactions["customer_id"]) <= ids
    assert set(w.events["customer_id"].dropna()) <= ids
    assert set(w.experiment_assignments["customer_id"]) <= ids
    assert set(w.survey_responses["customer_id"].dropna()) <= ids
    # returns reference real sale orders of the same customer, after them
    tx = w.transactions
    ret = tx[tx["amount"] < 0]
    sales = tx[tx["amount"] > 0].drop_duplicates("order_id").set_index("order_id")
    assert ret["original_order_id"].isin(sales.index).all()
    orig = sales.loc[ret["original_order_id"]]
    assert (orig["customer_id"].to_numpy() == ret["customer_id"].to_numpy()).all()
    assert (orig["ordered_at"].to_numpy() < ret["ordered_at"].to_numpy()).all()
    # the first order of every buyer is the funnel's purchase event
    first = tx[tx["amount"] > 0].groupby("customer_id")["ordered_at"].min()
    purchase = w.events[w.events["event_type"] == "purchase"].set_index("customer_id")[
        "occurred_at"
    ]
    pd.testing.assert_series_equal(
        first.sort_index(), purchase.sort_index(), check_names=False, check_index_type=False
    )
    # outcomes are computed from the log: converted iff an order in the window
    out = w.experiment_outcomes
    assert (out["converted"] == (out["orders"] > 0)).all()
    # the experiment's assignment table and outcome table describe the same customers
    assert out["customer_id"].tolist() == w.experiment_assignments["customer_id"].tolist()


def test_bgnbd_repeat_purchases_match_closed_form():
    # E[X(t)] and P(X(t) = 0) of BG/NBD (Fader, Hardie & Lee 2005, eq. 9 and p. 278).
    p = BGNBDParams()
    rng = np.random.default_rng(11)
    t = 52.0
    draws = simulate_bgnbd(rng, p, np.full(200_000, t))
    x = draws.n_repeat
    h = special.hyp2f1(p.r, p.b, p.a + p.b - 1, t / (p.alpha + t))
    ex = (p.a + p.b - 1) / (p.a - 1) * (1 - (p.alpha / (p.alpha + t)) ** p.r * h)
    _within(x.mean(), ex, x.std() / np.sqrt(x.size))
    p0 = (p.alpha / (p.alpha + t)) ** p.r
    _within((x == 0).mean(), p0, np.sqrt(p0 * (1 - p0) / x.size))
    # repeat times lie in (0, T] and increase within each customer
    owner = draws.owner
    assert (draws.times > 0).all() and (draws.times <= t).all()
    assert (np.diff(draws.times)[owner[1:] == owner[:-1]] >= 0).all()


def test_bgnbd_interpurchase_times_are_exponential_given_lambda():
    # With no dropout (p -> 0) and one rate, counts in (0, T] are Poisson(lambda T).
    rng = np.random.default_rng(5)
    p = BGNBDParams(r=1e6, alpha=1e6 / 0.5, a=1.0, b=1.0)
    draws = simulate_bgnbd(rng, p, np.full(100_000, 10.0), p_drop=np.full(100_000, 1e-12))
    x = draws.n_repeat
    _within(x.mean(), 5.0, np.sqrt(5.0 / x.size))
    _within(x.var(), 5.0, np.sqrt(2 * 25 / x.size) * 2)


def test_order_values_follow_gamma_gamma(small_world):
    truth = small_world.truth.customers.dropna(subset=["mean_order_value"])
    gg = GammaGammaParams()
    mov = truth["mean_order_value"]
    # E[p / nu] = p * gamma / (q - 1); its variance is finite for q > 2.
    _within(mov.mean(), gg.population_mean, mov.std() / np.sqrt(len(mov)))


def test_dropout_is_beta_and_tied_to_satisfaction(small_world):
    truth = small_world.truth.customers.dropna(subset=["p_drop"])
    p = BGNBDParams()
    assert stats.kstest(truth["p_drop"], stats.beta(p.a, p.b).cdf).pvalue > 1e-4
    rho = stats.spearmanr(truth["satisfaction"], truth["p_drop"]).statistic
    assert rho < -0.3


def test_funnel_stage_rates_match_truth(small_world):
    ev = small_world.events
    truth = small_world.truth.funnel
    reached = ev.groupby("event_type")["visitor_id"].nunique()
    n_signup, n_cart = reached["signup"], reached["cart"]
    rate = n_cart / n_signup
    _within(rate, truth["signup_to_cart"], np.sqrt(rate * (1 - rate) / n_signup))
    visits = ev[ev["event_type"] == "visit"]
    signed = visits["customer_id"].notna()
    by_channel = signed.groupby(visits["channel"]).agg(["mean", "size"])
    for channel, row in by_channel.iterrows():
        true = truth["visit_to_signup_by_channel"][channel]
        _within(row["mean"], true, np.sqrt(true * (1 - true) / row["size"]))


@pytest.fixture(scope="module")
def mid_world():
    return simulate(12_000, seed=7, dirty=False)


def test_experiment_difference_in_means_recovers_true_lift(mid_world):
    out = mid_world.experiment_outcomes.merge(
        mid_world.experiment_assignments[["customer_id", "variant"]], on="customer_id"
    )
    rates = out.groupby("variant")["converted"].agg(["mean", "size"])
    diff = rates.loc["coupon", "mean"] - rates.loc["control", "mean"]
    se = np.sqrt((rates["mean"] * (1 - rates["mean"]) / rates["size"]).sum())
    _within(diff, mid_world.truth.experiment["ate_conversion"], se)
    _within(
        rates.loc["control", "mean"],
        mid_world.truth.experiment["control_conversion"],
        np.sqrt(rates.loc["control", "mean"] / rates.loc["control", "size"]),
    )
    # the truth's per-customer effect is larger for the young, as stated
    tc = mid_world.truth.experiment_customers
    assert tc["tau"].min() >= 0.01 and tc["tau"].max() <= 0.13 + 1e-12


def test_cuped_covariate_is_predictive(mid_world):
    merged = mid_world.experiment_assignments.merge(mid_world.experiment_outcomes, on="customer_id")
    assert merged["pre_period_revenue"].corr(merged["revenue"]) > 0.1


def test_survey_truth_importance_is_a_shapley_split(small_world):
    survey = small_world.truth.survey
    imp = survey["relative_importance"]
    assert sum(imp.values()) == pytest.approx(1.0)
    assert sum(survey["shapley_r2"].values()) == pytest.approx(survey["r2"])
    # the heaviest weight has the largest importance
    weights = survey["driver_weights"]
    assert max(imp, key=imp.get) == max(weights, key=weights.get)


def test_detractors_churn_more(mid_world):
    resp = mid_world.survey_responses.dropna(subset=["nps"])
    truth = mid_world.truth.customers.set_index("customer_id")
    alive = truth.loc[resp["customer_id"], "alive_at_end"].astype(bool).to_numpy()
    detractor = (resp["nps"] <= 6).to_numpy()
    assert alive[detractor].mean() < alive[~detractor].mean()


def test_survey_quality_problems_are_planted_and_listed(small_world):
    q = small_world.truth.survey_quality
    assert {"speeder", "straight_lining", "partial", "duplicate_submission"} <= set(q["issue"])
    resp = small_world.survey_responses.set_index("response_id")
    partial = resp.loc[q.loc[q["issue"] == "partial", "response_id"]]
    assert (partial["status"] == "partial").all() and partial["submitted_at"].isna().all()
    straight = resp.loc[q.loc[q["issue"] == "straight_lining", "response_id"]]
    items = crm_lib.contract.schemas.LIKERT_ITEMS
    assert (straight[items].nunique(axis=1) == 1).all()


def test_comments_come_in_both_languages(small_world):
    langs = small_world.survey_responses["comment_language"].value_counts()
    assert langs.get("zh", 0) > 0 and langs.get("en", 0) > 0


def test_fixed_width_ids():
    ids = fixed_width_ids("C", np.array([0, 42, 99_999_999]), 8)
    assert ids.to_pylist() == ["C00000000", "C00000042", "C99999999"]
    with pytest.raises(ValueError, match="do not fit"):
        fixed_width_ids("C", np.array([10**8]), 8)


def test_unknown_size_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown world size 'huge'"):
        simulate("huge")


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_tiny_worlds_simulate_whatever_their_buyer_share(seed):
    """A 60-customer world's buyer share is far from the usual one; every study's tables
    must still be drawn (the attribution effects are scaled to fit, their order kept)."""
    world = simulate(60, seed=seed, dirty=False)
    truth = world.truth.studies["attribution"]
    effects = truth["effect"]
    assert effects == sorted(effects, reverse=True) and truth["effect_scale"] <= 1
    assert 0 <= truth["baseline"] and truth["baseline"] + sum(effects) <= 1
