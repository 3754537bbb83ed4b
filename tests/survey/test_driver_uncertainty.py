"""Uncertainty of key-driver shares and ranks (bootstrap)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_lib import survey
from crm_lib.datasets import simulate

DRIVERS = ["product", "price", "service", "delivery"]


@pytest.fixture(scope="module")
def truth():
    # the simulated world's latent driver model: correlations, weights, noise, and the
    # population Shapley shares computed by crm_lib.datasets.world with its own loop
    return simulate("small", seed=1).truth.survey


def _linear_model_sample(truth, n: int, seed: int) -> pd.DataFrame:
    """n respondents drawn directly from the world's latent model: drivers
    N(0, Sigma), y = beta' eta + e (no items, no measurement error)."""
    rng = np.random.default_rng(seed)
    sigma = np.asarray(truth["driver_correlation"])
    beta = np.array([truth["driver_weights"][c] for c in DRIVERS])
    eta = rng.multivariate_normal(np.zeros(4), sigma, size=n)
    y = eta @ beta + rng.normal(0, truth["noise_sd"], n)
    return pd.DataFrame(eta, columns=DRIVERS).assign(y=y)


def test_bootstrap_intervals_and_rank_probabilities_are_consistent(truth):
    df = _linear_model_sample(truth, 500, seed=1)
    res = survey.bootstrap_key_drivers(df, "y", DRIVERS, n_boot=400, random_state=3)
    point = survey.key_drivers(df, "y", DRIVERS).set_index("driver")
    shares = res.shares.set_index("driver")
    # the point estimates are key_drivers' and lie inside their intervals
    assert shares["estimate"].to_numpy() == pytest.approx(
        point.loc[shares.index, "shapley_share"].to_numpy()
    )
    assert (shares["ci_low"] <= shares["estimate"]).all()
    assert (shares["estimate"] <= shares["ci_high"]).all()
    assert (shares["se"] > 0).all()
    # P(rank): every driver holds some rank and every rank some driver in each draw
    m = res.ranks.pivot(index="driver", columns="rank", values="probability")
    assert m.shape == (4, 4)
    assert m.sum(axis=1).to_numpy() == pytest.approx(np.ones(4))
    assert m.sum(axis=0).to_numpy() == pytest.approx(np.ones(4))
    # one row per pair, the higher-ranked driver first, and a difference interval
    assert len(res.pairs) == 6
    assert (res.pairs["diff"] >= 0).all()
    assert (res.pairs["ci_low"] <= res.pairs["diff"]).all()
    assert res.pairs["p_order"].between(0, 1).all()
    # resolved = the interval of the difference excludes 0
    assert (res.pairs["resolved"] == (res.pairs["ci_low"] > 0)).all()
    assert res.n_boot == 400
    # seeded: the same random_state gives the same result, another one a different one
    again = survey.bootstrap_key_drivers(df, "y", DRIVERS, n_boot=400, random_state=3)
    pd.testing.assert_frame_equal(res.shares, again.shares)
    other = survey.bootstrap_key_drivers(df, "y", DRIVERS, n_boot=400, random_state=4)
    assert not np.allclose(other.shares["ci_low"], res.shares["ci_low"])


def test_a_clear_cut_order_is_resolved():
    # y = 3 a + 1.5 b + 0.5 c + noise with independent drivers: shares .818, .205, .023
    # (r^2 of each: 9, 2.25, .25 over 11.5 + 1); n = 2,000 separates them completely
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(2_000, 3)), columns=["a", "b", "c"])
    df["y"] = 3 * df["a"] + 1.5 * df["b"] + 0.5 * df["c"] + rng.normal(size=2_000)
    res = survey.bootstrap_key_drivers(df, "y", ["a", "b", "c"], n_boot=300)
    m = res.ranks.pivot(index="driver", columns="rank", values="probability")
    assert [m.loc["a", 1], m.loc["b", 2], m.loc["c", 3]] == pytest.approx([1.0, 1.0, 1.0])
    assert res.pairs["resolved"].all()
    assert res.unresolved() == []
    assert "All differences" in res.describe("en")
    assert "均" in res.describe("zh")


def test_bootstrap_se_matches_the_sampling_sd(truth):
    # Sampling sd of the Shapley shares at n = 500 from 2,000 samples of the world's
    # linear model (one array computation: batched correlations -> shapley_r2), against
    # the mean bootstrap se of 10 samples (1,000 draws each). Expected ratio 1. The
    # bootstrap se of one sample varies by about 10% between samples (n = 500; sd/mean
    # 0.085-0.113 over 30 samples), the mean of 10 by 0.10 / sqrt(10) = 0.032, and the
    # sd from 2,000 samples by 1 / sqrt(2 x 2,000) = 0.016: 3 x sqrt(.032^2 + .016^2) =
    # 0.11. Observed ratios 0.96-1.03.
    rng = np.random.default_rng(2)
    sigma = np.asarray(truth["driver_correlation"])
    beta = np.array([truth["driver_weights"][c] for c in DRIVERS])
    reps, n = 2_000, 500
    eta = rng.multivariate_normal(np.zeros(4), sigma, size=(reps, n))
    y = eta @ beta + rng.normal(0, truth["noise_sd"], (reps, n))
    x = np.concatenate([eta, y[..., None]], axis=-1)
    xc = x - x.mean(axis=1, keepdims=True)
    cov = np.swapaxes(xc, 1, 2) @ xc
    sd = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
    corr = cov / (sd[:, :, None] * sd[:, None, :])
    phi = survey.shapley_r2(corr)
    assert phi[7] == pytest.approx(survey.shapley_r2(corr[7]))  # batched = one at a time
    true_sd = (phi / phi.sum(axis=1, keepdims=True)).std(axis=0, ddof=1)
    boot_se = np.mean(
        [
            survey.bootstrap_key_drivers(
                _linear_model_sample(truth, n, seed=100 + i), "y", DRIVERS, random_state=i
            )
            .shares.set_index("driver")
            .loc[DRIVERS, "se"]
            .to_numpy()
            for i in range(10)
        ],
        axis=0,
    )
    assert boot_se / true_sd == pytest.approx(np.ones(4), abs=0.11)


def test_bootstrap_with_reliabilities_and_relative_weights(truth):
    df = _linear_model_sample(truth, 400, seed=5)
    rel = dict.fromkeys(DRIVERS, 0.9)
    res = survey.bootstrap_key_drivers(
        df, "y", DRIVERS, reliabilities=rel, importance="relative_weight_share", n_boot=200
    )
    point = survey.key_drivers(df, "y", DRIVERS, reliabilities=rel).set_index("driver")
    shares = res.shares.set_index("driver")
    assert shares["estimate"].to_numpy() == pytest.approx(
        point.loc[shares.index, "relative_weight_share"].to_numpy()
    )
    assert res.importance == "relative_weight_share"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_boot": 10}, "n_boot must be at least 100"),
        ({"ci": 95}, r"ci must be in \(0, 1\)"),
        ({"importance": "beta"}, "importance must be 'shapley_share' or"),
    ],
)
def test_bootstrap_key_drivers_errors(truth, kwargs, match):
    df = _linear_model_sample(truth, 100, seed=0)
    with pytest.raises(ValueError, match=match):
        survey.bootstrap_key_drivers(df, "y", DRIVERS, **kwargs)
