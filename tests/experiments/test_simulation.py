"""Operating characteristics of the experiment estimators, by vectorised simulation.

Each test simulates thousands of experiments as one array computation (sufficient
statistics per arm) and feeds them to the array-level estimators in
``crm_lib.experiments.stats`` -- the same code the DataFrame functions call.
Bands are binomial: with R repetitions the Monte Carlo standard error of a rate q is
sqrt(q (1 - q) / R) (e.g. 0.0034 for coverage 0.95 at R = 4,000).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from crm_lib.experiments import (
    msprt_from_stats,
    obrien_fleming_boundary,
    sample_size_means,
    sample_size_proportions,
)
from crm_lib.experiments.stats import (
    cuped_from_stats,
    srm_from_counts,
    two_proportions_from_counts,
    welch_from_stats,
)


def _arm_moments(y: np.ndarray):
    """n, mean, unbiased variance along the last axis."""
    return y.shape[-1], y.mean(axis=-1), y.var(axis=-1, ddof=1)


# ------------------------------------------------------------------------------ coverage


def test_proportions_interval_covers_true_lift():
    rng = np.random.default_rng(20260101)
    reps, n, p0, p1 = 6000, 2000, 0.10, 0.12
    x0 = rng.binomial(n, p0, reps)
    x1 = rng.binomial(n, p1, reps)
    res = two_proportions_from_counts(n, x0, n, x1, alpha=0.05)
    cover_abs = np.mean((res["ci_low"] <= p1 - p0) & (p1 - p0 <= res["ci_high"]))
    cover_rel = np.mean((res["rel_ci_low"] <= p1 / p0 - 1) & (p1 / p0 - 1 <= res["rel_ci_high"]))
    assert 0.935 <= cover_abs <= 0.965, cover_abs
    assert 0.935 <= cover_rel <= 0.965, cover_rel


def test_proportions_interval_covers_at_low_rates():
    # The score interval keeps coverage near 0 where the Wald interval under-covers.
    rng = np.random.default_rng(7)
    reps, n, p0, p1 = 6000, 800, 0.01, 0.015
    res = two_proportions_from_counts(n, rng.binomial(n, p0, reps), n, rng.binomial(n, p1, reps))
    cover = np.mean((res["ci_low"] <= p1 - p0) & (p1 - p0 <= res["ci_high"]))
    assert 0.935 <= cover <= 0.965, cover


def test_welch_interval_covers_on_skewed_revenue():
    rng = np.random.default_rng(11)
    reps, n = 4000, 300
    y0 = rng.exponential(50.0, (reps, n))  # mean 50
    y1 = rng.exponential(55.0, (reps, n))  # mean 55
    res = welch_from_stats(*_arm_moments(y0), *_arm_moments(y1))
    cover = np.mean((res["ci_low"] <= 5.0) & (5.0 <= res["ci_high"]))
    cover_rel = np.mean((res["rel_ci_low"] <= 0.1) & (0.1 <= res["rel_ci_high"]))
    assert 0.935 <= cover <= 0.965, cover
    assert 0.935 <= cover_rel <= 0.965, cover_rel


# ------------------------------------------------------------------------------- CUPED


def _cuped_sim(rng, reps, n, rho, effect):
    cov = [[1.0, rho], [rho, 1.0]]
    xy = rng.multivariate_normal([0.0, 0.0], cov, size=(reps, 2, n))  # reps, arm, unit, (x, y)
    x, y = xy[..., 0] + 3.0, xy[..., 1] + 10.0
    y[:, 1, :] += effect
    mx, my = x.mean(-1), y.mean(-1)
    dx, dy = x - mx[..., None], y - my[..., None]
    vx = (dx * dx).sum(-1) / (n - 1)
    vy = (dy * dy).sum(-1) / (n - 1)
    cxy = (dx * dy).sum(-1) / (n - 1)
    nn = np.full((reps, 2), float(n))
    return my, cuped_from_stats(nn, my, mx, vy, vx, cxy)


def test_cuped_variance_shrinks_by_one_minus_rho_squared():
    rng = np.random.default_rng(3)
    rho = 0.6
    my, res = _cuped_sim(rng, reps=4000, n=200, rho=rho, effect=0.25)
    plain = my[:, 1] - my[:, 0]
    ratio = res["diff"].var(ddof=1) / plain.var(ddof=1)
    assert abs(ratio / (1 - rho**2) - 1) < 0.10, ratio
    # the achieved reduction reported per experiment is about rho^2, theta about rho
    assert abs(res["variance_reduction"].mean() - rho**2) < 0.02
    assert abs(res["theta"].mean() - rho) < 0.02
    # unbiased and its interval keeps coverage
    assert abs(res["diff"].mean() - 0.25) < 4 * res["diff"].std() / np.sqrt(4000)
    cover = np.mean((res["ci_low"] <= 0.25) & (0.25 <= res["ci_high"]))
    assert 0.935 <= cover <= 0.965, cover


def _cuped_lift_sim(rng, reps, n, rho, lift, effect):
    """Per-arm moments of ``reps`` experiments: y has mean 10, sd 4 and correlation ``rho``
    with the pre-period x; the treatment adds ``lift`` x 10 (``effect='add'``) or multiplies
    y by ``1 + lift`` (``'mul'``). Either way the true relative lift is ``lift``."""
    z = rng.standard_normal((2, reps, 2, n))
    x = 5.0 + 2.0 * z[0]
    y = 10.0 + 4.0 * (rho * z[0] + np.sqrt(1 - rho**2) * z[1])
    if effect == "add":
        y[:, 1] += 10.0 * lift
    else:
        y[:, 1] *= 1 + lift
    mx, my = x.mean(-1), y.mean(-1)
    dx, dy = x - mx[..., None], y - my[..., None]
    vx = (dx * dx).sum(-1) / (n - 1)
    vy = (dy * dy).sum(-1) / (n - 1)
    cxy = (dx * dy).sum(-1) / (n - 1)
    return cuped_from_stats(np.full((reps, 2), float(n)), my, mx, vy, vx, cxy)


@pytest.mark.parametrize("effect", ["add", "mul"])
@pytest.mark.parametrize("lift", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("rho", [0.5, 0.9, 0.95])
def test_cuped_relative_lift_interval_covers(rho, lift, effect):
    # R = 4,000 experiments of 200 + 200 units: nominal 0.95 +/- 3 sqrt(0.95 0.05 / R)
    reps = 4000
    rng = np.random.default_rng([15, int(100 * rho), int(10 * lift), effect == "add"])
    res = _cuped_lift_sim(rng, reps, 200, rho, lift, effect)
    cover = np.mean((res["rel_ci_low"] <= lift) & (lift <= res["rel_ci_high"]))
    band = 3 * np.sqrt(0.95 * 0.05 / reps)
    assert abs(cover - 0.95) <= band, cover
    # the point estimate is the ratio of the adjusted means: centred on the truth
    assert abs(np.median(res["rel_diff"]) - lift) < 0.01 * (1 + lift)


# ----------------------------------------------------------------- A/A false positives


def test_aa_false_positive_rate_proportions_and_welch():
    rng = np.random.default_rng(5)
    reps = 20_000
    x0, x1 = rng.binomial(1500, 0.08, reps), rng.binomial(1500, 0.08, reps)
    fpr_z = np.mean(two_proportions_from_counts(1500, x0, 1500, x1)["p_value"] < 0.05)
    assert 0.035 <= fpr_z <= 0.065, fpr_z
    reps = 4000
    y0, y1 = rng.lognormal(3, 1, (reps, 250)), rng.lognormal(3, 1, (reps, 250))
    fpr_t = np.mean(welch_from_stats(*_arm_moments(y0), *_arm_moments(y1))["p_value"] < 0.05)
    assert 0.035 <= fpr_t <= 0.065, fpr_t
    # rank test (scipy, vectorised over axis) on the same A/A data
    fpr_u = np.mean(sps.mannwhitneyu(y1, y0, axis=1).pvalue < 0.05)
    assert 0.035 <= fpr_u <= 0.065, fpr_u


def test_msprt_peeking_daily_for_28_days_keeps_false_positives_below_alpha():
    rng = np.random.default_rng(9)
    reps, days, per_day, p = 10_000, 28, 150, 0.1
    conv = rng.binomial(per_day, p, (reps, days, 2)).cumsum(axis=1)
    n = per_day * np.arange(1, days + 1)
    p0, p1 = conv[..., 0] / n, conv[..., 1] / n
    var = p0 * (1 - p0) / n + p1 * (1 - p1) / n
    res = msprt_from_stats(p1 - p0, var, tau=0.02, alpha=0.05)
    fpr = np.mean(res["reject"][:, -1])  # rejected at any of the 28 looks (p is cumulative)
    assert fpr <= 0.055, fpr
    # while a fixed-horizon z test read every day rejects far more often
    naive = np.mean((np.abs(p1 - p0) / np.sqrt(var) > 1.96).any(axis=1))
    assert naive > 0.12, naive
    # confidence sequence: covers the true 0 at every look in >= 95% of experiments
    covers = ((res["ci_low"] <= 0) & (res["ci_high"] >= 0)).all(axis=1)
    assert covers.mean() >= 0.945


def test_msprt_means_peeking_and_power():
    rng = np.random.default_rng(12)
    reps, days, per_day = 5000, 28, 40
    # Per day and arm: mean and within-day sum of squares of normal data (sufficient stats).
    effect = np.array([0.0, 0.0])
    s = rng.normal(per_day * effect, np.sqrt(per_day), (reps, days, 2)).cumsum(axis=1)
    ss_within = rng.chisquare(per_day - 1, (reps, days, 2))
    day_mean = np.diff(s, axis=1, prepend=0) / per_day
    sumsq = (ss_within + per_day * day_mean**2).cumsum(axis=1)
    n = per_day * np.arange(1, days + 1)[None, :, None]
    mean = s / n
    var = (sumsq - n * mean**2) / (n - 1)
    vd = (var / n).sum(-1)
    res = msprt_from_stats(mean[..., 1] - mean[..., 0], vd, tau=0.1)
    fpr = np.mean(res["reject"][:, -1])
    assert fpr <= 0.055, fpr


def test_group_sequential_obf_keeps_alpha():
    b = obrien_fleming_boundary([0.25, 0.5, 0.75, 1.0], alpha=0.05)["z_boundary"].to_numpy()
    rng = np.random.default_rng(2)
    s = (rng.standard_normal((200_000, 4)) * np.sqrt(0.25)).cumsum(axis=1)
    z = s / np.sqrt([0.25, 0.5, 0.75, 1.0])
    fpr = np.mean((np.abs(z) >= b).any(axis=1))
    assert 0.047 <= fpr <= 0.053, fpr


# --------------------------------------------------------------------------------- power


def test_power_of_80_percent_design_proportions():
    design = sample_size_proportions(0.10, 0.02, alpha=0.05, power=0.8)
    n = int(design["n_control"].iloc[0])
    rng = np.random.default_rng(21)
    reps = 20_000
    res = two_proportions_from_counts(
        n, rng.binomial(n, 0.10, reps), n, rng.binomial(n, 0.12, reps)
    )
    power = np.mean(res["p_value"] < 0.05)
    assert abs(power - 0.80) <= 0.03, power


def test_power_of_80_percent_design_means_unequal_allocation():
    design = sample_size_means(sd=1.0, mde=0.25, power=0.8, ratio=2.0)
    n0, n1 = int(design["n_control"].iloc[0]), int(design["n_treatment"].iloc[0])
    rng = np.random.default_rng(22)
    reps = 4000
    y0 = rng.standard_normal((reps, n0))
    y1 = rng.standard_normal((reps, n1)) + 0.25
    power = np.mean(welch_from_stats(*_arm_moments(y0), *_arm_moments(y1))["p_value"] < 0.05)
    assert abs(power - 0.80) <= 0.03, power


# ----------------------------------------------------------------------------------- SRM


def test_srm_detects_51_49_split_of_100k():
    _, p = srm_from_counts(np.array([51_000, 49_000]), np.array([0.5, 0.5]))
    assert p < 0.001
    # and, drawn at random with true shares 51/49, it is detected nearly always
    rng = np.random.default_rng(4)
    c = rng.binomial(100_000, 0.51, 20_000)
    _, p = srm_from_counts(np.stack([c, 100_000 - c], axis=-1), np.array([0.5, 0.5]))
    assert np.mean(p < 0.001) > 0.99


def test_srm_true_even_split_rarely_alarms():
    rng = np.random.default_rng(6)
    c = rng.binomial(100_000, 0.5, 20_000)
    _, p = srm_from_counts(np.stack([c, 100_000 - c], axis=-1), np.array([0.5, 0.5]))
    assert np.mean(p < 0.001) <= 0.003


@pytest.mark.parametrize("shares", [(0.5, 0.3, 0.2)])
def test_srm_three_arms_uniform_p_values(shares):
    rng = np.random.default_rng(8)
    counts = rng.multinomial(30_000, shares, 20_000)
    _, p = srm_from_counts(counts, np.array(shares))
    assert 0.035 <= np.mean(p < 0.05) <= 0.065


def test_nps_interval_covers_true_difference():
    from crm_lib.experiments.stats import nps_from_counts

    rng = np.random.default_rng(13)
    reps, n = 6000, 700
    q0, q1 = (
        np.array([0.30, 0.40, 0.30]),
        np.array([0.38, 0.37, 0.25]),
    )  # promoter, passive, detractor
    c0, c1 = rng.multinomial(n, q0, reps), rng.multinomial(n, q1, reps)
    res = nps_from_counts(n, c0[:, 0], c0[:, 2], n, c1[:, 0], c1[:, 2])
    truth = 100 * ((q1[0] - q1[2]) - (q0[0] - q0[2]))
    cover = np.mean((res["ci_low"] <= truth) & (truth <= res["ci_high"]))
    assert 0.935 <= cover <= 0.965, cover


def test_ratio_metric_interval_covers_true_difference():
    from crm_lib.experiments.stats import ratio_from_stats

    rng = np.random.default_rng(14)
    reps, n = 4000, 400

    def arm(value_per_order):
        orders = rng.poisson(1.2, (reps, n)).astype(float)
        revenue = rng.gamma(2.0 * orders, value_per_order / 2.0)  # sum of gamma order values
        md, my = orders.mean(1), revenue.mean(1)
        dd, dy = orders - md[:, None], revenue - my[:, None]
        return (
            n,
            my,
            md,
            (dy * dy).sum(1) / (n - 1),
            (dd * dd).sum(1) / (n - 1),
            (dd * dy).sum(1) / (n - 1),
        )

    res = ratio_from_stats(*arm(50.0), *arm(55.0))
    cover = np.mean((res["ci_low"] <= 5.0) & (5.0 <= res["ci_high"]))
    cover_rel = np.mean((res["rel_ci_low"] <= 0.1) & (0.1 <= res["rel_ci_high"]))
    assert 0.935 <= cover <= 0.965, cover
    assert 0.935 <= cover_rel <= 0.965, cover_rel
