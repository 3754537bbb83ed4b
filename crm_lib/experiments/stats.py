"""Estimators on sufficient statistics (arrays), shared by the DataFrame API and simulations.

Every function here takes per-arm summaries -- counts, means, variances -- as numpy arrays
that broadcast against each other, so that one call analyses one experiment or a million
simulated ones. The DataFrame functions in :mod:`crm_lib.experiments.analysis` reduce the
raw rows to these summaries (one pass with ``numpy.bincount``) and call into this module.

Conventions: index 0 is the control arm, 1 the treatment arm; ``diff = treatment -
control``; ``rel_diff = treatment / control - 1``; variances are unbiased (``ddof=1``).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import special, stats

__all__ = [
    "cuped_from_stats",
    "nps_from_counts",
    "ratio_from_stats",
    "srm_from_counts",
    "two_proportions_from_counts",
    "welch_from_stats",
]

ArrayLike = np.ndarray | float | int


def _z(alpha: float) -> float:
    return float(stats.norm.isf(alpha / 2))


def _two_sided_p(z: np.ndarray) -> np.ndarray:
    return 2.0 * stats.norm.sf(np.abs(z))


def _log_ratio_ci(m0, m1, var_log, alpha):
    """Relative difference m1/m0 - 1 and its CI from the delta method on log(m1/m0)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_r = np.log(m1) - np.log(m0)
        half = _z(alpha) * np.sqrt(var_log)
        rel = np.expm1(log_r)
        lo, hi = np.expm1(log_r - half), np.expm1(log_r + half)
    bad = ~((np.asarray(m0) > 0) & (np.asarray(m1) > 0))
    if np.any(bad):
        rel, lo, hi = (np.where(bad, np.nan, a) for a in (rel, lo, hi))
    return rel, lo, hi


def _bisect(f, lo, hi, guesses=(), tol: float = 1e-13, max_iter: int = 200):
    """Vectorised root bracketing for a decreasing ``f`` with ``f(lo) >= 0 > f(hi)``.

    Regula falsi with the Illinois modification (Dowell & Jarratt 1971), falling back to a
    bisection step where the secant step is undefined (an infinite ``f`` at an end point);
    every step keeps the root bracketed. ``guesses`` (arrays of points near the root, e.g.
    the ends of a Wald interval) narrow the bracket first when they fall inside it. Stops when
    every bracket is narrower than ``tol (1 + |end point|)``. Returns the last ``lo`` (a point where ``f >= 0``), so that the end point
    of an interval found by inverting a test always lies inside the acceptance region.
    """
    lo, hi = np.broadcast_arrays(np.asarray(lo, dtype=float), np.asarray(hi, dtype=float))
    lo, hi = lo.copy(), hi.copy()
    f_lo, f_hi = f(lo), np.full_like(hi, -np.inf)
    for g in guesses:
        g = np.broadcast_to(np.asarray(g, dtype=float), lo.shape)
        inside = (g > lo) & (g < hi)
        fg = f(np.where(inside, g, lo))
        up, down = inside & (fg >= 0), inside & (fg < 0)
        lo, f_lo = np.where(up, g, lo), np.where(up, fg, f_lo)
        hi, f_hi = np.where(down, g, hi), np.where(down, fg, f_hi)
    last = np.zeros(lo.shape, dtype=np.int8)  # +1: lo moved last step, -1: hi moved
    for _ in range(max_iter):
        if np.all(hi - lo <= tol * (1 + np.maximum(np.abs(lo), np.abs(hi)))):
            break
        mid = 0.5 * (lo + hi)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            secant = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        ok = np.isfinite(secant) & (secant > lo) & (secant < hi)
        x = np.where(ok, secant, mid)
        fx = f(x)
        up = fx >= 0
        # Illinois: halve the f value of the end point that stayed put twice in a row
        f_hi = np.where(up & (last == 1), 0.5 * f_hi, f_hi)
        f_lo = np.where(~up & (last == -1), 0.5 * f_lo, f_lo)
        lo, f_lo = np.where(up, x, lo), np.where(up, fx, f_lo)
        hi, f_hi = np.where(up, hi, x), np.where(up, f_hi, fx)
        last = np.where(up, 1, -1).astype(np.int8)
    return lo


def _mn_correction(n0, n1):
    """Miettinen-Nurminen small-sample variance factor ``N / (N - 1)``."""
    total = n0 + n1
    return total / (total - 1)


def _loglik(n0, x0, n1, x1, q0, q1):
    """Binomial log-likelihood of both arms at ``(q0, q1)`` (``0 log 0 = 0``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = [
            special.xlogy(x0, q0),
            special.xlog1py(n0 - x0, -q0),
            special.xlogy(x1, q1),
            special.xlog1py(n1 - x1, -q1),
        ]
    return sum(terms)


def _score_z_diff(n0, x0, n1, x1, delta):
    """Miettinen-Nurminen score statistic for ``H0: p1 - p0 = delta`` (vectorised).

    ``z = (p1 - p0 - delta) / sqrt((q1 (1 - q1)/n1 + q0 (1 - q0)/n0) N/(N - 1))`` with
    ``(q0, q1 = q0 + delta)`` the maximum-likelihood proportions under ``H0`` (the closed-form
    root of a cubic, Miettinen & Nurminen 1985, appendix; an end point of the feasible range
    when that root falls outside it). A zero variance gives ``z = 0`` when the observed
    difference equals ``delta`` and an infinite ``z`` otherwise.
    """
    total = n0 + n1
    x = x0 + x1
    d = delta
    b = (n1 + 2 * n0) * d - total - x
    c = (n0 * d - total - 2 * x0) * d + x
    e = x0 * d * (1 - d)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = b / (3 * total)
        w = v**3 - b * c / (6 * total**2) + e / (2 * total)
        u = np.sign(w) * np.sqrt(np.maximum(v**2 - c / (3 * total), 0.0))
        cos_arg = np.clip(np.where(u != 0, w / u**3, 0.0), -1.0, 1.0)
        q0 = 2 * u * np.cos((np.pi + np.arccos(cos_arg)) / 3) - v
    q0 = np.where(d == 0, x / total, q0)
    # The log-likelihood is concave in q0 on the feasible interval [max(0, -d), min(1, 1 - d)];
    # when the cubic's root falls outside it (it can, next to x = 0 or x = n), the maximum is
    # at the end point with the larger likelihood.
    low, high = np.maximum(0.0, -d), np.minimum(1.0, 1.0 - d)
    inside = (q0 >= low) & (q0 <= high)
    if not np.all(inside):
        at_low = _loglik(n0, x0, n1, x1, low, low + d)
        at_high = _loglik(n0, x0, n1, x1, high, high + d)
        q0 = np.where(inside, q0, np.where(at_low >= at_high, low, high))
    q1 = q0 + d
    var = (q1 * (1 - q1) / n1 + q0 * (1 - q0) / n0) * _mn_correction(n0, n1)
    num = x1 / n1 - x0 / n0 - d
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 0, num / np.sqrt(var), np.where(num == 0, 0.0, np.sign(num) * np.inf))


def _score_z_ratio(n0, x0, n1, x1, log_ratio):
    """Miettinen-Nurminen score statistic for ``H0: p1 / p0 = R`` with ``R = exp(log_ratio)``.

    ``z = (p1 - R p0) / sqrt((q1 (1 - q1)/n1 + R^2 q0 (1 - q0)/n0) N/(N - 1))``, where
    ``q0`` is the smaller root of ``N R q^2 - (n1 R + x1 + n0 + x0 R) q + x = 0`` (written in
    the cancellation-free form ``2x / (-b + sqrt(b^2 - 4ac))``) and ``q1 = R q0``.
    """
    total = n0 + n1
    x = x0 + x1
    r = np.exp(log_ratio)
    a = total * r
    b = -(n1 * r + x1 + n0 + x0 * r)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        root = np.sqrt(np.maximum(b * b - 4 * a * x, 0.0))
        q0 = np.where(x > 0, 2 * x / (-b + root), 0.0)
        q0 = np.clip(q0, 0.0, np.minimum(1.0, 1.0 / r))
        q1 = np.minimum(r * q0, 1.0)
        var = (q1 * (1 - q1) / n1 + r * r * q0 * (1 - q0) / n0) * _mn_correction(n0, n1)
        num = x1 / n1 - r * x0 / n0
        return np.where(var > 0, num / np.sqrt(var), np.where(num == 0, 0.0, np.sign(num) * np.inf))


def two_proportions_from_counts(
    n0: ArrayLike, x0: ArrayLike, n1: ArrayLike, x1: ArrayLike, *, alpha: float = 0.05
) -> dict[str, np.ndarray]:
    """Score test and the score intervals that invert it, for the difference and the ratio.

    Parameters
    ----------
    n0, x0, n1, x1 : array_like
        Units and conversions of control (0) and treatment (1); broadcastable.
    alpha : float
        Two-sided level of the intervals.

    Returns
    -------
    dict of arrays
        ``estimate_control, estimate_treatment, diff, ci_low, ci_high, rel_diff, rel_ci_low,
        rel_ci_high, statistic, p_value``.

    Notes
    -----
    One statistic drives the test and both intervals, so they cannot disagree: the
    Miettinen-Nurminen score statistic for ``H0: p1 - p0 = delta``,
    ``z(delta) = (p1 - p0 - delta) / sqrt((q1 (1 - q1)/n1 + q0 (1 - q0)/n0) N/(N - 1))``,
    with ``(q0, q1)`` the maximum-likelihood proportions under ``H0`` and ``N = n0 + n1``.

    Test of no difference: ``z(0)`` -- the pooled z test
    (``statsmodels.stats.proportion.proportions_ztest``) times ``sqrt((N - 1)/N)``, as
    ``test_proportions_2indep(method='score')``. When no arm has any conversion (or every
    unit converts) the variance is zero: there is no evidence of a difference and the
    result is ``z = 0, p = 1``.

    CI for ``p1 - p0``: every ``delta`` with ``|z(delta)| <= z_{1-alpha/2}`` (end points by
    bisection), as ``confint_proportions_2indep(method='score')``. It excludes 0 exactly
    when ``p < alpha``, and keeps its coverage near rates of 0 or 1, where the Wald
    interval does not (Newcombe 1998; Fagerland et al. 2015).

    Relative lift ``p1/p0 - 1``: the score interval for the ratio, every ``R`` with
    ``|(p1 - R p0) / sd_R| <= z_{1-alpha/2}`` (the same construction, Miettinen & Nurminen
    1985). At ``R = 1`` its statistic is ``z(0)``, so it excludes 0 exactly when the
    difference interval does. Undefined (NaN) when the control has no conversions.

    References
    ----------
    Miettinen, O., & Nurminen, M. (1985). Comparative analysis of two rates. Statistics in
    Medicine, 4(2), 213-226.
    Newcombe, R. G. (1998). Interval estimation for the difference between independent
    proportions: comparison of eleven methods. Statistics in Medicine, 17(8), 873-890.
    Fagerland, M. W., Lydersen, S., & Laake, P. (2015). Recommended confidence intervals for
    two independent binomial proportions. Statistical Methods in Medical Research, 24(2),
    224-254.
    """
    n0, x0, n1, x1 = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (n0, x0, n1, x1)))
    p0, p1 = x0 / n0, x1 / n1
    diff = p1 - p0
    z = _score_z_diff(n0, x0, n1, x1, np.zeros_like(diff))
    p_value = np.where(z == 0, 1.0, _two_sided_p(z))
    crit = _z(alpha)

    def z_at(delta):
        return _score_z_diff(n0, x0, n1, x1, delta)

    # Starting points near the ends: a Wald interval with one success and one failure added
    # per arm (Agresti & Caffo 2000), so that it is never degenerate.
    pa0, pa1 = (x0 + 1) / (n0 + 2), (x1 + 1) / (n1 + 2)
    w = crit * np.sqrt(pa0 * (1 - pa0) / (n0 + 2) + pa1 * (1 - pa1) / (n1 + 2))
    one = np.ones_like(diff)
    hi = _bisect(lambda d: z_at(d) + crit, diff, one, guesses=(diff + 0.8 * w, diff + 1.25 * w))
    lo = -_bisect(
        lambda d: crit - z_at(-d), -diff, one, guesses=(-diff + 0.8 * w, -diff + 1.25 * w)
    )
    ci_high = np.where(diff >= 1, 1.0, hi)
    ci_low = np.where(diff <= -1, -1.0, lo)

    # Ratio, on the log scale. Brackets reach 60 (a factor e^60) beyond the estimate; with no
    # treatment conversions (x1 = 0) the estimate is R = 0, the lower bound 0 (rel -1) and
    # the upper one is searched from R = e^-60 up. Starting points: the log interval with
    # half a unit added to each count.
    span = 60.0
    with np.errstate(divide="ignore", invalid="ignore"):
        log_r = np.log(p1) - np.log(p0)
    finite = np.isfinite(log_r)
    start = np.where(finite, log_r, 0.0)
    t_adj = np.log((x1 + 0.5) / (n1 + 0.5)) - np.log((x0 + 0.5) / (n0 + 0.5))
    w_log = crit * np.sqrt(1 / (x1 + 0.5) - 1 / (n1 + 0.5) + 1 / (x0 + 0.5) - 1 / (n0 + 0.5))

    def zr(t):
        return _score_z_ratio(n0, x0, n1, x1, t)

    t_hi = _bisect(
        lambda t: zr(t) + crit,
        np.where(finite, start, -span),
        start + span,
        guesses=(t_adj + 0.8 * w_log, t_adj + 1.25 * w_log),
    )
    t_lo = -_bisect(
        lambda t: crit - zr(-t),
        -start,
        -start + span,
        guesses=(-t_adj + 0.8 * w_log, -t_adj + 1.25 * w_log),
    )
    defined = x0 > 0
    rel = np.where(defined, p1 / np.where(defined, p0, 1.0) - 1, np.nan)
    rel_hi = np.where(defined, np.expm1(t_hi), np.nan)
    rel_lo = np.where(defined, np.where(x1 > 0, np.expm1(t_lo), -1.0), np.nan)
    return {
        "estimate_control": p0,
        "estimate_treatment": p1,
        "diff": diff,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "rel_diff": rel,
        "rel_ci_low": rel_lo,
        "rel_ci_high": rel_hi,
        "statistic": z,
        "p_value": p_value,
    }


def welch_from_stats(
    n0: ArrayLike,
    mean0: ArrayLike,
    var0: ArrayLike,
    n1: ArrayLike,
    mean1: ArrayLike,
    var1: ArrayLike,
    *,
    alpha: float = 0.05,
) -> dict[str, np.ndarray]:
    """Welch's unequal-variance t test and CIs for the difference and ratio of means.

    Notes
    -----
    ``t = (m1 - m0) / se`` with ``se^2 = s1^2/n1 + s0^2/n0`` and Welch-Satterthwaite
    degrees of freedom ``df = se^4 / ((s1^2/n1)^2/(n1 - 1) + (s0^2/n0)^2/(n0 - 1))``; the
    CI for the difference is ``diff +/- t_{df, 1-alpha/2} se`` (as ``scipy.stats.ttest_ind``
    with ``equal_var=False``). When both variances are zero (``se = 0``) the test is
    undefined: ``statistic``, ``p_value``, ``df`` and the CIs are NaN (the DataFrame
    functions raise instead). The relative difference ``m1/m0 - 1`` uses the delta method
    on the log ratio, ``Var = s1^2/(n1 m1^2) + s0^2/(n0 m0^2)`` (normal quantile), defined
    only when both means are positive.

    References
    ----------
    Welch, B. L. (1947). The generalization of "Student's" problem when several different
    population variances are involved. Biometrika, 34(1/2), 28-35.
    """
    n0, m0, v0, n1, m1, v1 = (
        np.asarray(a, dtype=float) for a in (n0, mean0, var0, n1, mean1, var1)
    )
    a0, a1 = v0 / n0, v1 / n1
    se2 = a0 + a1
    se = np.sqrt(se2)
    diff = m1 - m0
    with np.errstate(divide="ignore", invalid="ignore"):
        df = se2**2 / (a0**2 / (n0 - 1) + a1**2 / (n1 - 1))
        t = np.where(se > 0, diff / se, np.nan)
    df = np.where(se > 0, df, np.nan)
    p_value = 2.0 * stats.t.sf(np.abs(t), df)
    half = stats.t.isf(alpha / 2, df) * se
    with np.errstate(divide="ignore", invalid="ignore"):
        var_log = a1 / m1**2 + a0 / m0**2
    rel, rel_lo, rel_hi = _log_ratio_ci(m0, m1, var_log, alpha)
    return {
        "estimate_control": m0,
        "estimate_treatment": m1,
        "diff": diff,
        "ci_low": diff - half,
        "ci_high": diff + half,
        "rel_diff": rel,
        "rel_ci_low": rel_lo,
        "rel_ci_high": rel_hi,
        "statistic": t,
        "p_value": p_value,
        "df": df,
        "std_error": se,
    }


def cuped_from_stats(
    n: np.ndarray,
    mean_y: np.ndarray,
    mean_x: np.ndarray,
    var_y: np.ndarray,
    var_x: np.ndarray,
    cov_xy: np.ndarray,
    *,
    alpha: float = 0.05,
) -> dict[str, np.ndarray]:
    """CUPED-adjusted Welch test from per-arm moments of metric ``y`` and covariate ``x``.

    Parameters
    ----------
    n, mean_y, mean_x, var_y, var_x, cov_xy : ndarray
        Per-arm moments; the last axis has length 2 (control, treatment). Variances and
        covariances are unbiased within each arm.

    Returns
    -------
    dict of arrays
        The keys of :func:`welch_from_stats` plus ``theta`` and ``variance_reduction``
        (``1 - Var(y_adj) / Var(y)``, pooled within arms). ``estimate_*`` are the unadjusted
        arm means; ``diff`` and ``rel_diff`` compare the adjusted means.

    Notes
    -----
    ``theta = Cov(y, x) / Var(x)`` over the pooled data of both arms (total moments, from the
    per-arm ones by the law of total covariance). The adjusted metric is
    ``y_adj = y - theta (x - mean(x))``; per arm its mean is ``m_y - theta (m_x - mean(x))`` and
    its variance ``s_y^2 - 2 theta s_xy + theta^2 s_x^2``. The variance of the difference
    shrinks by the factor ``1 - rho^2`` (``rho`` the within-arm correlation of y and x).
    Because ``theta`` does not depend on the assignment, the adjusted estimator stays unbiased.

    Relative lift: the ratio of the adjusted means, ``a_1 / a_0 - 1``, with
    ``a_0 = m_y0 - theta w_1 (m_x0 - m_x1)`` and ``a_1 = m_y1 - theta w_0 (m_x1 - m_x0)``
    (``w_k = n_k / N``). Its CI is the delta method on ``log(a_1 / a_0)`` with the full
    covariance of the two adjusted means (theta held fixed):
    ``Var = V_11 / a_1^2 + V_00 / a_0^2 - 2 V_01 / (a_0 a_1)``, where
    ``V_00 = (s_y0^2 - 2 theta w_1 s_xy0 + theta^2 w_1^2 s_x0^2)/n_0 + theta^2 w_1^2 s_x1^2/n_1``,
    ``V_11`` likewise with the arms swapped, and
    ``V_01 = theta w_0 (s_xy0 - theta w_1 s_x0^2)/n_0 + theta w_1 (s_xy1 - theta w_0 s_x1^2)/n_1``
    (the covariance comes from the grand mean of x that both adjusted means share).
    Estimating theta changes the adjusted means only by ``(theta_hat - theta) (m_xk - m_x)``,
    a product of two ``O(n^-1/2)`` terms, so its contribution to the variance is of smaller
    order and is left out. Defined (not NaN) when both adjusted means are positive.

    References
    ----------
    Deng, A., Xu, Y., Kohavi, R., & Walker, T. (2013). Improving the sensitivity of online
    controlled experiments by utilizing pre-experiment data. WSDM '13, 123-132.
    """
    n, my, mx, vy, vx, cxy = (
        np.asarray(a, dtype=float) for a in (n, mean_y, mean_x, var_y, var_x, cov_xy)
    )
    total = n.sum(axis=-1, keepdims=True)
    gx = (n * mx).sum(axis=-1, keepdims=True) / total
    gy = (n * my).sum(axis=-1, keepdims=True) / total
    cov_tot = ((n - 1) * cxy + n * (mx - gx) * (my - gy)).sum(axis=-1, keepdims=True)
    var_tot = ((n - 1) * vx + n * (mx - gx) ** 2).sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = np.where(var_tot > 0, cov_tot / var_tot, 0.0)
    adj_mean = my - theta * (mx - gx)
    adj_var = np.maximum(vy - 2 * theta * cxy + theta**2 * vx, 0.0)
    res = welch_from_stats(
        n[..., 0],
        adj_mean[..., 0],
        adj_var[..., 0],
        n[..., 1],
        adj_mean[..., 1],
        adj_var[..., 1],
        alpha=alpha,
    )
    # Relative lift: ratio of the two adjusted means, delta method on its log with their full
    # covariance. With w_k = n_k / N the shares of the arms, a_0 = my_0 - theta w_1 mx_0 +
    # theta w_1 mx_1 and a_1 = my_1 - theta w_0 mx_1 + theta w_0 mx_0 (both centre x at the
    # grand mean, so they share it and covary).
    a0, a1 = adj_mean[..., 0], adj_mean[..., 1]
    n0, n1 = n[..., 0], n[..., 1]
    th = theta[..., 0]
    w0, w1 = n0 / total[..., 0], n1 / total[..., 0]
    vy0, vy1, vx0, vx1, c0, c1 = (
        vy[..., 0],
        vy[..., 1],
        vx[..., 0],
        vx[..., 1],
        cxy[..., 0],
        cxy[..., 1],
    )
    v00 = (vy0 - 2 * th * w1 * c0 + (th * w1) ** 2 * vx0) / n0 + (th * w1) ** 2 * vx1 / n1
    v11 = (vy1 - 2 * th * w0 * c1 + (th * w0) ** 2 * vx1) / n1 + (th * w0) ** 2 * vx0 / n0
    v01 = th * w0 * (c0 - th * w1 * vx0) / n0 + th * w1 * (c1 - th * w0 * vx1) / n1
    with np.errstate(divide="ignore", invalid="ignore"):
        var_log = np.maximum(v11 / a1**2 + v00 / a0**2 - 2 * v01 / (a0 * a1), 0.0)
    res["rel_diff"], res["rel_ci_low"], res["rel_ci_high"] = _log_ratio_ci(a0, a1, var_log, alpha)
    res["estimate_control"], res["estimate_treatment"] = my[..., 0], my[..., 1]
    within = ((n - 1) * vy).sum(axis=-1) / (total[..., 0] - 2)
    within_adj = ((n - 1) * adj_var).sum(axis=-1) / (total[..., 0] - 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        res["variance_reduction"] = np.where(within > 0, 1 - within_adj / within, 0.0)
    res["theta"] = theta[..., 0]
    return res


def ratio_from_stats(
    n0: ArrayLike,
    mean_num0: ArrayLike,
    mean_den0: ArrayLike,
    var_num0: ArrayLike,
    var_den0: ArrayLike,
    cov0: ArrayLike,
    n1: ArrayLike,
    mean_num1: ArrayLike,
    mean_den1: ArrayLike,
    var_num1: ArrayLike,
    var_den1: ArrayLike,
    cov1: ArrayLike,
    *,
    alpha: float = 0.05,
) -> dict[str, np.ndarray]:
    """Delta-method z test for a ratio metric ``R = sum(num) / sum(den)`` per arm.

    Notes
    -----
    With per-unit numerator ``y`` and denominator ``d`` (e.g. revenue and orders per
    customer), ``R = mean(y)/mean(d)`` and, by the delta method,
    ``Var(R) = (s_y^2 - 2 R s_yd + R^2 s_d^2) / (n mean(d)^2)``. The difference
    ``R1 - R0`` has a normal CI; the relative lift uses ``Var(log R) = Var(R)/R^2``.
    The unit of randomisation (the customer) is the unit of the sums, so the correlation of
    orders within a customer is accounted for.

    References
    ----------
    Deng, A., Knoblich, U., & Lu, J. (2018). Applying the delta method in metric analytics:
    a practical guide with novel ideas. KDD '18, 233-242.
    """
    arrs = [
        np.asarray(a, dtype=float) for a in (n0, mean_num0, mean_den0, var_num0, var_den0, cov0)
    ]
    arrs1 = [
        np.asarray(a, dtype=float) for a in (n1, mean_num1, mean_den1, var_num1, var_den1, cov1)
    ]

    def arm(n, my, md, vy, vd, c):
        with np.errstate(divide="ignore", invalid="ignore"):
            r = my / md
            v = (vy - 2 * r * c + r**2 * vd) / (n * md**2)
        return r, np.maximum(v, 0.0)

    r0, v0 = arm(*arrs)
    r1, v1 = arm(*arrs1)
    diff = r1 - r0
    se = np.sqrt(v0 + v1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = diff / se
        var_log = v1 / r1**2 + v0 / r0**2
    half = _z(alpha) * se
    rel, lo, hi = _log_ratio_ci(r0, r1, var_log, alpha)
    return {
        "estimate_control": r0,
        "estimate_treatment": r1,
        "diff": diff,
        "ci_low": diff - half,
        "ci_high": diff + half,
        "rel_diff": rel,
        "rel_ci_low": lo,
        "rel_ci_high": hi,
        "statistic": z,
        "p_value": _two_sided_p(z),
        "std_error": se,
    }


def nps_from_counts(
    n0: ArrayLike,
    promoters0: ArrayLike,
    detractors0: ArrayLike,
    n1: ArrayLike,
    promoters1: ArrayLike,
    detractors1: ArrayLike,
    *,
    alpha: float = 0.05,
) -> dict[str, np.ndarray]:
    """Difference in Net Promoter Score (points, -100..100) with a Wald CI and z test.

    Notes
    -----
    Per arm ``NPS = 100 (p+ - p-)``; the answer is multinomial (promoter, passive,
    detractor), so ``Var(p+ - p-) = (p+ + p- - (p+ - p-)^2) / n``. The difference of two
    independent arms has the sum of the variances; ``z = diff / se``.

    References
    ----------
    Rocks, B. (2016). Interval estimation for the "net promoter score". The American
    Statistician, 70(4), 365-372.
    """
    n0, a0, d0, n1, a1, d1 = (
        np.asarray(v, dtype=float)
        for v in (n0, promoters0, detractors0, n1, promoters1, detractors1)
    )
    s0, s1 = (a0 - d0) / n0, (a1 - d1) / n1
    v0 = ((a0 + d0) / n0 - s0**2) / n0
    v1 = ((a1 + d1) / n1 - s1**2) / n1
    diff = s1 - s0
    se = np.sqrt(v0 + v1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, diff / se, 0.0)
    p = np.where(se > 0, _two_sided_p(z), 1.0)
    half = _z(alpha) * se
    nan = np.full_like(diff, np.nan)  # a relative change of a score that can be 0 or < 0
    return {
        "estimate_control": 100 * s0,
        "estimate_treatment": 100 * s1,
        "diff": 100 * diff,
        "ci_low": 100 * (diff - half),
        "ci_high": 100 * (diff + half),
        "rel_diff": nan,
        "rel_ci_low": nan,
        "rel_ci_high": nan,
        "statistic": z,
        "p_value": p,
    }


def srm_from_counts(
    counts: np.ndarray, expected_shares: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Chi-square goodness-of-fit statistic and p-value for sample ratio mismatch.

    ``counts`` has the arms on its last axis; ``expected_shares`` sums to one.
    ``chi2 = sum_k (n_k - N q_k)^2 / (N q_k)`` on ``k - 1`` degrees of freedom (as
    ``scipy.stats.chisquare``).
    """
    counts = np.asarray(counts, dtype=float)
    q = np.asarray(expected_shares, dtype=float)
    total = counts.sum(axis=-1, keepdims=True)
    exp = total * q
    chi2 = ((counts - exp) ** 2 / exp).sum(axis=-1)
    return chi2, special.chdtrc(counts.shape[-1] - 1, chi2)


def warn_relative_undefined(name: str) -> None:
    warnings.warn(
        f"{name}: the control estimate is zero or negative, so the relative difference is "
        "undefined and reported as NaN; use the absolute difference.",
        RuntimeWarning,
        stacklevel=3,
    )
