"""Sequential testing: always-valid inference (mSPRT) and group-sequential boundaries.

Looking at a fixed-horizon p-value every day and stopping at the first ``p < 0.05`` inflates
the false-positive rate far above 5%. Two remedies:

* the mixture sequential probability ratio test (mSPRT) of Johari et al., whose p-values and
  confidence sequences stay valid however often one looks (:func:`msprt_from_stats`,
  :func:`sequential_test`, :func:`msprt_boundary`);
* a group-sequential design with a few planned looks and O'Brien-Fleming-type alpha spending
  (Lan & DeMets) (:func:`obrien_fleming_boundary`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as sps

from crm_lib.experiments._validate import arms, check_alpha, numeric, require_columns

__all__ = [
    "msprt_boundary",
    "msprt_from_stats",
    "obrien_fleming_boundary",
    "peeking_simulation",
    "sequential_test",
]


def msprt_from_stats(
    diff: np.ndarray,
    var_diff: np.ndarray,
    *,
    tau: float,
    alpha: float = 0.05,
    theta0: float = 0.0,
) -> dict[str, np.ndarray]:
    """Always-valid p-values and confidence sequences from a running estimate.

    Parameters
    ----------
    diff, var_diff : ndarray
        Estimated difference (treatment - control) and its variance at each look; looks on
        the last axis, in time order (other axes: independent experiments or arms).
    tau : float
        Standard deviation of the normal mixing distribution over the effect, on the scale
        of ``diff``. Choose it near the effect sizes you care about (e.g. the MDE): power is
        best for effects of that size, validity holds for any choice.
    alpha : float
        Level of the confidence sequence.
    theta0 : float
        Null value of the difference.

    Returns
    -------
    dict of arrays
        ``lr`` (mixture likelihood ratio at each look), ``p_value`` (always-valid: running
        minimum of ``min(1, 1/lr)``), ``ci_low, ci_high`` (running intersection of the
        confidence sequence), ``reject`` (``p_value <= alpha``).

    Notes
    -----
    With ``v = Var(diff)`` and mixture ``theta ~ N(theta0, tau^2)``, the normal mixture
    likelihood ratio is
    ``Lambda = sqrt(v / (v + tau^2)) exp(tau^2 (diff - theta0)^2 / (2 v (v + tau^2)))``;
    for ``n`` units per arm and ``v = V/n`` this is Johari et al.'s
    ``sqrt(V/(V + n tau^2)) exp(n^2 tau^2 (diff - theta0)^2 / (2 V (V + n tau^2)))``.
    Inverting ``Lambda < 1/alpha`` gives the confidence sequence
    ``diff +/- sqrt(v (v + tau^2)/tau^2 (2 log(1/alpha) + log((v + tau^2)/v)))``.
    The variance is estimated (plug-in), as in the paper; looks with ``v = 0`` give ``p = 1``.

    References
    ----------
    Johari, R., Koomen, P., Pekelis, L., & Walsh, D. (2017). Peeking at A/B tests: why it
    matters, and what to do about it. KDD '17, 1517-1525.
    Howard, S. R., Ramdas, A., McAuliffe, J., & Sekhon, J. (2021). Time-uniform, nonparametric,
    nonasymptotic confidence sequences. Annals of Statistics, 49(2), 1055-1080.
    """
    check_alpha(alpha)
    if not tau > 0:
        raise ValueError(f"tau (mixing standard deviation of the effect) must be > 0, got {tau!r}")
    d = np.asarray(diff, dtype=float)
    v = np.asarray(var_diff, dtype=float)
    t2 = tau**2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_lr = 0.5 * np.log(v / (v + t2)) + t2 * (d - theta0) ** 2 / (2 * v * (v + t2))
        radius = np.sqrt(v * (v + t2) / t2 * (2 * np.log(1 / alpha) + np.log((v + t2) / v)))
    ok = v > 0
    log_lr = np.where(ok, log_lr, 0.0)
    p_look = np.minimum(1.0, np.exp(-log_lr))
    p = np.minimum.accumulate(p_look, axis=-1)
    lo = np.maximum.accumulate(np.where(ok, d - radius, -np.inf), axis=-1)
    hi = np.minimum.accumulate(np.where(ok, d + radius, np.inf), axis=-1)
    return {"lr": np.exp(log_lr), "p_value": p, "ci_low": lo, "ci_high": hi, "reject": p <= alpha}


def sequential_test(
    data: pd.DataFrame,
    *,
    group_col: str,
    value_col: str,
    time_col: str,
    control: object,
    tau: float,
    alpha: float = 0.05,
    freq: str = "1D",
) -> pd.DataFrame:
    """mSPRT for the difference in means (or proportions, for a 0/1 column) at every look.

    The data are cut into looks by ``time_col`` (``freq``, daily by default); at each look
    the cumulative arm means and variances give the difference and its variance, fed to
    :func:`msprt_from_stats`.

    Returns
    -------
    pandas.DataFrame
        One row per (look, treatment arm): ``look, time, control, treatment, n_control,
        n_treatment, diff, ci_low, ci_high, p_value, reject``; ``ci_*`` is the confidence
        sequence and ``p_value`` the always-valid p-value up to that look -- one may stop at
        the first look with ``reject``.
    """
    check_alpha(alpha)
    require_columns(data, [time_col])
    a = arms(data, group_col, control)
    x = numeric(data, value_col)
    t = data[time_col]
    if not pd.api.types.is_datetime64_any_dtype(t):
        raise TypeError(f"{time_col!r} must be a datetime column, got {t.dtype}")
    if t.isna().any():
        raise ValueError(f"{time_col!r} has missing timestamps")
    per_codes, periods = pd.factorize(t.dt.floor(freq), sort=True)
    k_arms, n_per = len(a.labels), len(periods)
    x = x - x.mean()  # shift for numerically stable sums of squares
    idx = per_codes * k_arms + a.codes
    size = n_per * k_arms

    def cum(w):
        return np.cumsum(np.bincount(idx, weights=w, minlength=size).reshape(n_per, k_arms), axis=0)

    n = cum(None)
    s = cum(x)
    ss = cum(x * x)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s / n
        var = np.maximum(ss - s * mean, 0) / (n - 1)
    rows = []
    c = a.control
    for k in a.treatments:
        with np.errstate(divide="ignore", invalid="ignore"):
            vd = var[:, k] / n[:, k] + var[:, c] / n[:, c]
        vd = np.where((n[:, k] > 1) & (n[:, c] > 1), vd, 0.0)
        d = np.where(vd > 0, mean[:, k] - mean[:, c], 0.0)
        res = msprt_from_stats(d, vd, tau=tau, alpha=alpha)
        rows.append(
            pd.DataFrame(
                {
                    "look": np.arange(1, n_per + 1),
                    "time": periods,
                    "control": a.labels[c],
                    "treatment": a.labels[k],
                    "n_control": n[:, c].astype(np.int64),
                    "n_treatment": n[:, k].astype(np.int64),
                    "diff": d,
                    "ci_low": res["ci_low"],
                    "ci_high": res["ci_high"],
                    "p_value": res["p_value"],
                    "reject": res["reject"],
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def msprt_boundary(
    n_control: Sequence[int] | np.ndarray,
    *,
    sd: float,
    tau: float,
    alpha: float = 0.05,
    ratio: float = 1.0,
) -> pd.DataFrame:
    """Rejection boundary of the mSPRT against sample size, for plotting.

    Returns
    -------
    pandas.DataFrame
        ``n_control, n_treatment, std_error, radius, z_boundary``: the test rejects when
        ``|diff| > radius`` (the confidence-sequence half-width), i.e. when
        ``|z| > z_boundary``; compare ``z_boundary`` with the fixed-horizon 1.96.
    """
    check_alpha(alpha)
    if sd <= 0 or tau <= 0 or ratio <= 0:
        raise ValueError("sd, tau and ratio must be > 0")
    n0 = np.asarray(n_control, dtype=float)
    if (n0 < 1).any():
        raise ValueError("n_control values must be >= 1")
    n1 = ratio * n0
    v = sd**2 * (1 / n0 + 1 / n1)
    t2 = tau**2
    radius = np.sqrt(v * (v + t2) / t2 * (2 * np.log(1 / alpha) + np.log((v + t2) / v)))
    se = np.sqrt(v)
    return pd.DataFrame(
        {
            "n_control": n0.astype(np.int64),
            "n_treatment": np.ceil(n1).astype(np.int64),
            "std_error": se,
            "radius": radius,
            "z_boundary": radius / se,
        }
    )


def _crossing(c, tk, sd, grid, mass, inc) -> float:
    """P(continue so far, then |Z_k| >= c) minus the alpha to spend at this look."""
    b = c * np.sqrt(tk)
    pr = sps.norm.sf((b - grid) / sd) + sps.norm.cdf((-b - grid) / sd)
    return float(mass @ pr) - inc


def obrien_fleming_boundary(
    information_fractions: Sequence[float] | np.ndarray,
    *,
    alpha: float = 0.05,
    grid_points: int = 1201,
) -> pd.DataFrame:
    """Two-sided group-sequential boundary with Lan-DeMets O'Brien-Fleming alpha spending.

    Parameters
    ----------
    information_fractions : sequence of float
        Increasing information times of the looks in (0, 1], the last normally 1 (share of
        the planned sample analysed at each look).
    alpha : float
        Overall two-sided type I error.
    grid_points : int
        Points of the numerical-integration grid (accuracy about 1e-4 in z at the default).

    Returns
    -------
    pandas.DataFrame
        One row per look: ``look, information_fraction, alpha_spent`` (cumulative),
        ``z_boundary`` (reject when ``|z| >= z_boundary``), ``nominal_p`` (two-sided p-value
        equivalent of the boundary).

    Notes
    -----
    Each side spends ``alpha/2`` with the O'Brien-Fleming-type function
    ``alpha_1(t) = 2 - 2 Phi(z_{1-alpha/4} / sqrt(t))`` (the convention of the R packages
    ldbounds and gsDesign; total two-sided spending ``2 alpha_1(t)``). The boundary ``c_k``
    solves ``P(|Z_j| < c_j, j < k; |Z_k| >= c_k) = alpha(t_k) - alpha(t_{k-1})`` under the null,
    with ``Z_k = S(t_k)/sqrt(t_k)`` for a Brownian motion ``S``; the sub-densities of ``S``
    in the continuation region are propagated on a grid (Armitage, McPherson & Rowe 1969).

    References
    ----------
    Lan, K. K. G., & DeMets, D. L. (1983). Discrete sequential boundaries for clinical
    trials. Biometrika, 70(3), 659-663.
    Jennison, C., & Turnbull, B. W. (2000). Group Sequential Methods with Applications to
    Clinical Trials, chapter 19. Chapman & Hall.

    Examples
    --------
    >>> obrien_fleming_boundary([0.5, 1.0])["z_boundary"].round(3).tolist()
    [2.963, 1.969]
    """
    check_alpha(alpha)
    t = np.asarray(information_fractions, dtype=float)
    if t.ndim != 1 or len(t) == 0 or (t <= 0).any() or (t > 1).any() or (np.diff(t) <= 0).any():
        raise ValueError("information_fractions must be increasing values in (0, 1]")
    za = sps.norm.isf(alpha / 4)
    spent = 4 * sps.norm.sf(za / np.sqrt(t))  # alpha/2 per side, symmetric
    bounds = []
    grid = mass = np.zeros(0)  # grid of S(t_{k-1}) in the continuation region, and its mass
    prev_t, prev_spent = 0.0, 0.0
    for k, tk in enumerate(t):
        inc = spent[k] - prev_spent
        sd = np.sqrt(tk - prev_t)
        if k == 0:
            c = float(sps.norm.isf(inc / 2))
        else:
            c = optimize.brentq(_crossing, 1e-6, 40.0, args=(tk, sd, grid, mass, inc), xtol=1e-10)
        bounds.append(c)
        # sub-density of S(t_k) on the continuation region |S| < c sqrt(t_k), trapezoid weights
        b = c * np.sqrt(tk)
        new_grid = np.linspace(-b, b, grid_points)
        if k == 0:
            dens = sps.norm.pdf(new_grid, scale=sd)
        else:
            dens = sps.norm.pdf((new_grid[:, None] - grid[None, :]) / sd) / sd @ mass
        step = np.full(grid_points, new_grid[1] - new_grid[0])
        step[[0, -1]] /= 2
        grid, mass = new_grid, dens * step
        prev_t, prev_spent = tk, spent[k]
    z = np.asarray(bounds)
    return pd.DataFrame(
        {
            "look": np.arange(1, len(t) + 1),
            "information_fraction": t,
            "alpha_spent": spent,
            "z_boundary": z,
            "nominal_p": 2 * sps.norm.sf(z),
        }
    )


def peeking_simulation(
    p0: float,
    n_per_look: int,
    n_looks: int,
    *,
    tau: float,
    alpha: float = 0.05,
    n_sims: int = 2000,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Why peeking misleads: A/A experiments checked after every look, naive vs mSPRT.

    Simulates ``n_sims`` A/A tests (both arms convert at ``p0``; ``n_per_look`` new units
    per arm between looks) and, at every look, applies the fixed-horizon two-proportion z
    test and the always-valid mSPRT (:func:`msprt_from_stats`).

    Returns
    -------
    pandas.DataFrame
        One row per look: ``look, n_per_arm, naive_false_positive`` (share of A/A tests that
        a "stop at the first p < alpha" rule has declared significant by this look) and
        ``msprt_false_positive`` (the same with the always-valid p-value; stays below
        ``alpha``).

    Notes
    -----
    Under the null each naive look has level ``alpha``, but the chance that *some* look
    rejects grows with the number of looks (about 0.14 after 5 looks and 0.2 after 10 at
    ``alpha = 0.05``; Armitage, McPherson & Rowe 1969). The mSPRT p-value is a running
    minimum with ``P(ever <= alpha) <= alpha`` (Johari et al. 2017).
    """
    from crm_lib.experiments.stats import two_proportions_from_counts

    check_alpha(alpha)
    if not 0 < p0 < 1 or n_per_look < 2 or n_looks < 1 or n_sims < 100:
        raise ValueError(
            "need 0 < p0 < 1, n_per_look >= 2, n_looks >= 1 and n_sims >= 100, got "
            f"p0={p0!r}, n_per_look={n_per_look!r}, n_looks={n_looks!r}, n_sims={n_sims!r}"
        )
    rng = np.random.default_rng(seed)
    x = rng.binomial(n_per_look, p0, size=(2, n_sims, n_looks)).cumsum(axis=-1).astype(float)
    n = n_per_look * np.arange(1, n_looks + 1, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        naive = two_proportions_from_counts(n, x[0], n, x[1], alpha=alpha)["p_value"]
        p_c, p_t = x[0] / n, x[1] / n
        v = (p_c * (1 - p_c) + p_t * (1 - p_t)) / n
    seq = msprt_from_stats(p_t - p_c, v, tau=tau, alpha=alpha)["p_value"]
    naive_any = np.maximum.accumulate(naive < alpha, axis=-1).mean(axis=0)
    return pd.DataFrame(
        {
            "look": np.arange(1, n_looks + 1),
            "n_per_arm": n.astype(np.int64),
            "naive_false_positive": naive_any,
            "msprt_false_positive": (seq <= alpha).mean(axis=0),
        }
    )
