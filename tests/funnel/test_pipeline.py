"""Pipeline statistics against the simulated truth and against scipy/statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crm_lib.datasets.sim_funnel import PipelineParams, simulate_pipeline
from crm_lib.funnel import pipeline as pl

START = pd.Timestamp("2024-01-01", tz="UTC")


def test_shrunk_rep_win_rates_are_closer_to_the_truth_than_raw_rates():
    # 40 reps with very unequal deal counts; 20 independent pipelines (seeds 0-19).
    p = PipelineParams(n_reps=40, rep_share_concentration=0.8)
    mse_raw, mse_eb = [], []
    for seed in range(20):
        sim = simulate_pipeline(
            np.random.default_rng(seed), n_leads=2500, start=START, weeks=104, params=p
        )
        truth = pd.Series(sim["truth"]["win_rate_by_rep"])
        t = pl.shrunk_win_rates(sim["opportunities"])
        true = truth.reindex(t["owner_id"]).to_numpy()
        mse_raw.append(np.mean((t["win_rate"] - true) ** 2))
        mse_eb.append(np.mean((t["shrunk"] - true) ** 2))
    mse_raw, mse_eb = np.array(mse_raw), np.array(mse_eb)
    assert mse_eb.mean() < 0.6 * mse_raw.mean()  # measured: 0.18 of the raw MSE, lower in 20 of 20
    assert (mse_eb < mse_raw).mean() >= 0.9


def test_beta_binomial_ml_matches_scipy_marginal_likelihood():
    k = np.array([3, 10, 0, 25, 7, 12])
    n = np.array([10, 30, 4, 60, 20, 25])
    eb = pl.BetaBinomialShrinkage().fit(k, n)
    best = stats.betabinom.logpmf(k, n, eb.a_, eb.b_).sum()
    for da, db in [(1.05, 1), (0.95, 1), (1, 1.05), (1, 0.95)]:
        assert stats.betabinom.logpmf(k, n, eb.a_ * da, eb.b_ * db).sum() <= best + 1e-6
    post = eb.transform(k, n)
    np.testing.assert_allclose(post["shrunk"], (eb.a_ + k) / (eb.a_ + eb.b_ + n))
    # the posterior mean lies between the raw rate and the prior mean
    lo = np.minimum(k / n, eb.prior_mean_)
    hi = np.maximum(k / n, eb.prior_mean_)
    assert ((post["shrunk"] >= lo - 1e-12) & (post["shrunk"] <= hi + 1e-12)).all()


def test_beta_binomial_needs_two_groups():
    with pytest.raises(ValueError, match="at least two groups"):
        pl.BetaBinomialShrinkage().fit([1], [4])


def test_censored_cycle_median_recovers_truth_while_closed_only_is_biased():
    # A young pipeline (20 weeks): many deals are still open at the end.
    sims = [
        simulate_pipeline(np.random.default_rng(100 + s), n_leads=4000, start=START, weeks=20)
        for s in range(5)
    ]
    z_km, bias_closed = [], []
    for sim in sims:
        truth = sim["truth"]["cycle_median_days"]  # each pipeline draws its own reps
        table = pl.cycle_survival(sim["opportunities"])["table"].set_index("method")
        assert table.loc["kaplan_meier", "n_censored"] > 0.15 * table.loc["kaplan_meier", "n"]
        km = table.loc["kaplan_meier"]
        z_km.append((km["median_days"] - truth) / km["se"])
        closed = table.loc["closed_only"]
        bias_closed.append((closed["median_days"] - truth) / closed["se"])
    assert np.all(np.abs(z_km) < 2)  # measured z: 0.23, -0.10, 0.09, 0.10, -1.57
    # closed-only: below the truth in every replicate, by more than 2 of its SEs on average
    assert np.all(np.array(bias_closed) < 0)
    assert np.mean(bias_closed) < -2  # measured z: -3.6, -3.8, -4.8, -3.9, -7.0


def test_cycle_survival_matches_statsmodels_km():
    from statsmodels.duration.survfunc import SurvfuncRight

    o = pd.DataFrame(
        {
            "created_at": pd.to_datetime(["2024-01-01"] * 5, utc=True),
            "close_at": pd.to_datetime(
                ["2024-01-11", "2024-01-21", "2024-02-01", "2024-01-31", "2024-01-06"], utc=True
            ),
            "is_closed": [True, True, False, True, True],
        }
    )
    as_of = pd.Timestamp("2024-01-16", tz="UTC")
    t = pl.cycle_survival(o, as_of=as_of)["table"].set_index("method")
    sf = SurvfuncRight(np.array([10, 20, 15, 30, 5.0]), np.array([1, 1, 0, 1, 1.0]))
    assert t.loc["kaplan_meier", "median_days"] == pytest.approx(sf.quantile(0.5))
    assert t.loc["closed_only", "median_days"] == pytest.approx(15.0)  # median of 5, 10, 20, 30


def test_stage_conversion_counts_by_hand():
    stages = pd.DataFrame(
        {
            "opportunity_id": ["a", "a", "a", "b", "b", "c", "d", "d"],
            "stage": ["s1", "s2", "closed_won", "s1", "closed_lost", "s1", "s1", "s2"],
            "entered_at": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-05",
                    "2024-01-09",
                    "2024-01-02",
                    "2024-01-03",
                    "2024-01-04",
                    "2024-01-01",
                    "2024-01-02",
                ],
                utc=True,
            ),
        }
    )
    opp = pd.DataFrame(
        {
            "opportunity_id": list("abcd"),
            "is_closed": [True, True, False, False],
            "is_won": [True, False, False, False],
        }
    )
    t = pl.stage_conversion(stages, opp).set_index("stage")
    # s1: reached a, b, c, d; left: a (moved), b (lost), d (moved); c still open
    assert t.loc["s1", ["reached", "left", "moved_on"]].tolist() == [4, 3, 2]
    # s2 (last): reached a, d; left: a (won); d still open
    assert t.loc["s2", ["reached", "left", "moved_on"]].tolist() == [2, 1, 1]


def test_win_rates_wilson_matches_statsmodels():
    from statsmodels.stats.proportion import proportion_confint

    o = pd.DataFrame(
        {
            "owner_id": ["x"] * 7 + ["y"] * 3,
            "is_closed": [True] * 10,
            "is_won": [1, 1, 0, 0, 0, 1, 0, 1, 1, 1],
        }
    )
    o["is_won"] = o["is_won"].astype(bool)
    t = pl.win_rates(o).set_index("owner_id")
    lo, hi = proportion_confint(3, 7, method="wilson")
    assert t.loc["x", ["won", "closed"]].tolist() == [3, 7]
    assert t.loc["x", "ci_low"] == pytest.approx(lo)
    assert t.loc["x", "ci_high"] == pytest.approx(hi)


def test_world_pipeline_truth_and_tables():
    from crm_lib.datasets import simulate

    w = simulate("small", seed=1, dirty=False)
    truth = w.truth.studies["funnel"]["pipeline"]
    o = w.opportunities
    assert set(o["owner_id"]) <= set(truth["win_rate_by_rep"])
    # open deals at the end are kept (not dropped)
    assert (~o["is_closed"]).sum() == truth["open_deals_at_end"]
    # recovery of the overall win rate of closed deals (binomial 3 SE band)
    c = o[o["is_closed"]]
    se = np.sqrt(truth["win_rate"] * (1 - truth["win_rate"]) / len(c))
    assert abs(c["is_won"].mean() - truth["win_rate"]) < 3 * se
    reasons = pl.loss_reasons(o)
    assert set(reasons["loss_reason"]) <= set(truth["loss_reason_shares"])
    assert w.marketing_spend["amount"].ge(0).all()


def test_time_in_stage_recovers_the_simulated_stage_durations():
    for seed in (0, 1):
        sim = simulate_pipeline(
            np.random.default_rng(seed), n_leads=4000, start=START, weeks=40, truth_draws=1000
        )
        t = pl.stage_durations(sim["opportunity_stages"], sim["opportunities"]).set_index("stage")
        truth = pd.Series(sim["truth"]["stage_median_days"])  # gamma(2, mean / 2) medians
        se = (t["ci_high"] - t["ci_low"]) / (2 * stats.norm.ppf(0.975))
        z = (t["median_days"] - truth.reindex(t.index)) / se
        assert (z.abs() < 3).all(), z  # measured |z| at most 1.9
        assert (t["left"] < t["entered"]).all()  # deals still in a stage are censored
