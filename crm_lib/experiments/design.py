"""Designing an experiment: sample size, detectable effect, duration, assignment, balance."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.stats.power import tt_ind_solve_power

from crm_lib.experiments._validate import check_alpha, require_columns

__all__ = [
    "assign_variants",
    "balance_check",
    "expected_duration",
    "minimum_detectable_effect",
    "power_curve",
    "power_proportions",
    "sample_size_means",
    "sample_size_proportions",
]

Alternative = Literal["two-sided", "larger", "smaller"]


def _check_design(alpha: float, power: float, ratio: float, alternative: str) -> None:
    check_alpha(alpha)
    if not 0 < power < 1:
        raise ValueError(f"power must be in (0, 1), got {power!r}")
    if ratio <= 0:
        raise ValueError(f"ratio (treatment units per control unit) must be > 0, got {ratio!r}")
    if alternative not in ("two-sided", "larger", "smaller"):
        raise ValueError(
            f"alternative must be 'two-sided', 'larger' or 'smaller', got {alternative!r}"
        )


def _z_alpha(alpha: float, alternative: str) -> float:
    return float(stats.norm.isf(alpha / 2 if alternative == "two-sided" else alpha))


def _p1(p0: float, mde: float, relative: bool) -> float:
    if not 0 < p0 < 1:
        raise ValueError(f"p0 (control conversion rate) must be in (0, 1), got {p0!r}")
    p1 = p0 * (1 + mde) if relative else p0 + mde
    if mde == 0:
        raise ValueError("mde must be non-zero")
    if not 0 < p1 < 1:
        raise ValueError(f"p0 + effect = {p1!r} is not a probability; use a smaller mde")
    return p1


def power_proportions(
    p0: float | np.ndarray,
    p1: float | np.ndarray,
    n_control: float | np.ndarray,
    *,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
) -> np.ndarray:
    """Power of the pooled two-proportion z test (normal approximation, vectorised).

    Notes
    -----
    With ``n1 = ratio n0``, ``d = p1 - p0``, pooled ``pbar = (p0 + ratio p1)/(1 + ratio)``,
    ``s0 = sqrt(pbar (1-pbar) (1/n0 + 1/n1))`` (null) and ``s1 = sqrt(p0 q0/n0 + p1 q1/n1)``:
    ``power = Phi((|d| - z s0)/s1) [+ Phi((-|d| - z s0)/s1) two-sided]``.

    References
    ----------
    Fleiss, J. L., Levin, B., & Paik, M. C. (2003). Statistical Methods for Rates and
    Proportions (3rd ed.), section 4.2. Wiley.
    """
    p0, p1, n0 = (np.asarray(a, dtype=float) for a in (p0, p1, n_control))
    n1 = ratio * n0
    pbar = (p0 + ratio * p1) / (1 + ratio)
    s0 = np.sqrt(pbar * (1 - pbar) * (1 / n0 + 1 / n1))
    s1 = np.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)
    z = _z_alpha(alpha, alternative)
    d = p1 - p0
    if alternative == "larger":
        return stats.norm.cdf((d - z * s0) / s1)
    if alternative == "smaller":
        return stats.norm.cdf((-d - z * s0) / s1)
    return stats.norm.cdf((np.abs(d) - z * s0) / s1) + stats.norm.cdf((-np.abs(d) - z * s0) / s1)


def sample_size_proportions(
    p0: float,
    mde: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
    relative: bool = False,
) -> pd.DataFrame:
    """Units per arm to detect a change ``mde`` in a conversion rate ``p0``.

    Parameters
    ----------
    p0 : float
        Control conversion rate.
    mde : float
        Minimum detectable effect: absolute (``p1 - p0``) or, with ``relative=True``,
        relative (``p1/p0 - 1``).
    alpha, power : float
        Type I error and power.
    ratio : float
        Treatment units per control unit (``n_treatment = ratio * n_control``).
    alternative : {'two-sided', 'larger', 'smaller'}

    Returns
    -------
    pandas.DataFrame
        One row: ``p0, p1, mde, n_control, n_treatment, n_total, power`` (the power actually
        reached with the rounded-up sizes).

    Notes
    -----
    ``n0 = (z_a sqrt(pbar qbar (1 + 1/r)) + z_b sqrt(p0 q0 + p1 q1 / r))^2 / (p1 - p0)^2``
    (Fleiss et al. 2003, without continuity correction), matched to the pooled z test of
    :func:`~crm_lib.experiments.proportions_test`; ``z_a`` is ``z_{1-alpha/2}`` two-sided.

    References
    ----------
    Fleiss, J. L., Levin, B., & Paik, M. C. (2003). Statistical Methods for Rates and
    Proportions (3rd ed.). Wiley.

    Examples
    --------
    >>> int(sample_size_proportions(0.10, 0.02)["n_control"].iloc[0])
    3841
    """
    _check_design(alpha, power, ratio, alternative)
    p1 = _p1(p0, mde, relative)
    if alternative == "larger" and p1 < p0 or alternative == "smaller" and p1 > p0:
        raise ValueError(f"alternative={alternative!r} contradicts the sign of mde={mde!r}")
    za, zb = _z_alpha(alpha, alternative), float(stats.norm.isf(1 - power))
    pbar = (p0 + ratio * p1) / (1 + ratio)
    num = za * math.sqrt(pbar * (1 - pbar) * (1 + 1 / ratio)) + zb * math.sqrt(
        p0 * (1 - p0) + p1 * (1 - p1) / ratio
    )
    n0 = math.ceil((num / (p1 - p0)) ** 2 - 1e-9)
    n1 = math.ceil(ratio * n0 - 1e-9)
    achieved = float(
        power_proportions(p0, p1, n0, alpha=alpha, ratio=n1 / n0, alternative=alternative)
    )
    return pd.DataFrame(
        {
            "p0": [p0],
            "p1": [p1],
            "mde": [p1 - p0],
            "n_control": [n0],
            "n_treatment": [n1],
            "n_total": [n0 + n1],
            "power": [achieved],
        }
    )


def sample_size_means(
    sd: float,
    mde: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
) -> pd.DataFrame:
    """Units per arm to detect a difference ``mde`` in means of a metric with std ``sd``.

    Returns
    -------
    pandas.DataFrame
        One row: ``sd, mde, effect_size, n_control, n_treatment, n_total, power``.

    Notes
    -----
    Solves the noncentral-t power of the two-sample t test for ``n0`` with effect size
    ``d = mde / sd`` (``statsmodels.stats.power.tt_ind_solve_power``); for large samples this
    is ``n0 = (z_a + z_b)^2 sd^2 (1 + 1/r) / mde^2``. Use the CUPED-adjusted ``sd``
    (``sd sqrt(1 - rho^2)``) when the analysis will use CUPED.

    References
    ----------
    Cohen, J. (1988). Statistical Power Analysis for the Behavioral Sciences (2nd ed.).
    """
    _check_design(alpha, power, ratio, alternative)
    if sd <= 0 or mde == 0:
        raise ValueError(f"sd must be > 0 and mde non-zero, got sd={sd!r}, mde={mde!r}")
    es = mde / sd
    alt = {"two-sided": "two-sided", "larger": "larger", "smaller": "smaller"}[alternative]
    n0 = float(
        tt_ind_solve_power(effect_size=es, alpha=alpha, power=power, ratio=ratio, alternative=alt)
    )
    n0i = math.ceil(n0 - 1e-9)
    n1i = math.ceil(ratio * n0i - 1e-9)
    achieved = float(
        tt_ind_solve_power(effect_size=es, nobs1=n0i, alpha=alpha, ratio=n1i / n0i, alternative=alt)
    )
    return pd.DataFrame(
        {
            "sd": [sd],
            "mde": [mde],
            "effect_size": [es],
            "n_control": [n0i],
            "n_treatment": [n1i],
            "n_total": [n0i + n1i],
            "power": [achieved],
        }
    )


def minimum_detectable_effect(
    n_control: int,
    *,
    p0: float | None = None,
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
) -> float:
    """Smallest positive absolute effect detectable with ``n_control`` units in the control.

    Give ``p0`` (conversion metric: the effect is ``p1 - p0``, solved from
    :func:`power_proportions`) or ``sd`` (mean metric: ``d * sd`` with ``d`` from
    ``tt_ind_solve_power``).
    """
    _check_design(alpha, power, ratio, alternative)
    if (p0 is None) == (sd is None):
        raise ValueError("give exactly one of p0 (conversion rate) or sd (standard deviation)")
    if n_control < 2:
        raise ValueError(f"n_control must be at least 2, got {n_control!r}")
    alt = "smaller" if alternative == "smaller" else alternative
    if sd is not None:
        if sd <= 0:
            raise ValueError(f"sd must be > 0, got {sd!r}")
        es = tt_ind_solve_power(
            nobs1=n_control, alpha=alpha, power=power, ratio=ratio, alternative=alt
        )
        return float(abs(es) * sd)
    if not 0 < p0 < 1:
        raise ValueError(f"p0 must be in (0, 1), got {p0!r}")
    sign = -1.0 if alternative == "smaller" else 1.0
    hi = (1 - p0 if sign > 0 else p0) - 1e-12

    def f(d):
        return (
            float(
                power_proportions(
                    p0, p0 + sign * d, n_control, alpha=alpha, ratio=ratio, alternative=alternative
                )
            )
            - power
        )

    if f(hi) < 0:
        raise ValueError(f"no effect is detectable with power {power} at n_control={n_control}")
    return float(optimize.brentq(f, 1e-12, hi, xtol=1e-12))


def expected_duration(
    n_required: int,
    daily_traffic: float,
    *,
    share_in_experiment: float = 1.0,
    whole_weeks: bool = True,
) -> int:
    """Days needed to enrol ``n_required`` units (all arms) at ``daily_traffic`` per day.

    ``days = ceil(n_required / (daily_traffic * share_in_experiment))``, rounded up to whole
    weeks by default so every weekday is equally represented (weekly seasonality).
    """
    if n_required <= 0 or daily_traffic <= 0 or not 0 < share_in_experiment <= 1:
        raise ValueError(
            "n_required and daily_traffic must be > 0 and share_in_experiment in (0, 1]"
        )
    days = math.ceil(n_required / (daily_traffic * share_in_experiment) - 1e-9)
    return int(7 * math.ceil(days / 7)) if whole_weeks else int(days)


def power_curve(
    *,
    n_control: Sequence[int] | np.ndarray,
    mde: Sequence[float] | np.ndarray,
    p0: float | None = None,
    sd: float | None = None,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
) -> pd.DataFrame:
    """Power over a grid of sample sizes and effects, for plotting.

    Returns
    -------
    pandas.DataFrame
        One row per (``n_control``, ``mde``): ``n_control, n_treatment, mde, power``.
        Conversion metric with ``p0`` (absolute ``mde``), otherwise mean metric with ``sd``
        (noncentral t, statsmodels).
    """
    _check_design(alpha, 0.5, ratio, alternative)
    if (p0 is None) == (sd is None):
        raise ValueError("give exactly one of p0 (conversion rate) or sd (standard deviation)")
    nn, dd = np.meshgrid(
        np.asarray(n_control, dtype=float), np.asarray(mde, dtype=float), indexing="ij"
    )
    nn, dd = nn.ravel(), dd.ravel()
    if p0 is not None:
        pw = power_proportions(p0, p0 + dd, nn, alpha=alpha, ratio=ratio, alternative=alternative)
    else:
        from statsmodels.stats.power import TTestIndPower

        pw = TTestIndPower().power(
            effect_size=dd / sd, nobs1=nn, alpha=alpha, ratio=ratio, alternative=alternative
        )
    return pd.DataFrame(
        {
            "n_control": nn.astype(np.int64),
            "n_treatment": np.ceil(ratio * nn).astype(np.int64),
            "mde": dd,
            "power": pw,
        }
    )


def _hash_unit(keys: np.ndarray, experiment_id: str, salt: str) -> np.ndarray:
    """Uniform [0, 1) number per key from blake2b(salt:experiment_id:key), 64 bits."""
    prefix = f"{salt}:{experiment_id}:".encode()
    out = np.empty(len(keys), dtype=np.uint64)
    for i, k in enumerate(keys):
        h = hashlib.blake2b(prefix + str(k).encode(), digest_size=8).digest()
        out[i] = int.from_bytes(h, "big")
    return (out >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def assign_variants(
    customer_ids: Sequence | pd.Series | np.ndarray,
    *,
    experiment_id: str,
    salt: str,
    variants: Sequence[str] = ("control", "treatment"),
    weights: Sequence[float] | None = None,
    strata: Sequence | pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """Deterministic, salted hash assignment of customers to variants.

    Parameters
    ----------
    customer_ids : sequence
        Unit ids (converted with ``str``); must be unique.
    experiment_id, salt : str
        Together with the id they seed the hash, so assignments are independent across
        experiments and reproducible across runs and machines (no RNG state involved).
    variants : sequence of str
        Variant names, control first by convention.
    weights : sequence of float, optional
        Allocation shares (normalised); equal by default.
    strata : sequence, optional
        Stratum of each unit (e.g. region). Within a stratum the units are ordered by their
        hash and dealt out in permuted blocks, so each stratum is split as close to the
        weights as integers allow.

    Returns
    -------
    pandas.DataFrame
        ``customer_id, experiment_id, variant, bucket`` (``bucket`` is the hash as a number in
        [0, 1)) and ``stratum`` when given.

    Notes
    -----
    ``u = blake2b(f"{salt}:{experiment_id}:{id}")[:8] / 2^64``; without strata the variant is
    the weight interval containing ``u``, so a customer's variant never changes when other
    customers are added. With strata, a unit's variant depends on its rank within its
    stratum (balance is bought with this dependence); re-run on the same population to
    reproduce it.

    References
    ----------
    Kohavi, R., Tang, D., & Xu, Y. (2020). Trustworthy Online Controlled Experiments,
    chapter 14. Cambridge University Press.

    Hashing is a Python loop over the ids (about a second per million).

    Examples
    --------
    >>> res = assign_variants(["C1", "C2", "C3"], experiment_id="EXP-1", salt="2025-q4",
    ...                       variants=["control", "coupon"])
    >>> res["variant"].tolist()
    ['control', 'control', 'control']
    """
    ids = pd.Series(customer_ids).to_numpy(dtype=object)
    if len(ids) == 0:
        raise ValueError("customer_ids is empty")
    if pd.isna(ids).any():
        raise ValueError("customer_ids has missing values")
    if pd.Series(ids).duplicated().any():
        raise ValueError("customer_ids has duplicates; each unit must be assigned once")
    variants = list(variants)
    if len(variants) < 2 or len(set(variants)) != len(variants):
        raise ValueError(f"variants must be at least two distinct names, got {variants!r}")
    w = np.ones(len(variants)) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (len(variants),) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights must be {len(variants)} non-negative numbers, got {weights!r}")
    w = w / w.sum()
    u = _hash_unit(ids, experiment_id, salt)
    out = pd.DataFrame({"customer_id": ids, "experiment_id": experiment_id})
    if strata is None:
        idx = np.searchsorted(np.cumsum(w)[:-1], u, side="right")
    else:
        s = pd.Series(strata).to_numpy(dtype=object)
        if len(s) != len(ids):
            raise ValueError(f"strata has {len(s)} values for {len(ids)} customers")
        fr = [Fraction(float(x)).limit_denominator(100) for x in w]
        den = math.lcm(*[f.denominator for f in fr])
        block = np.repeat(np.arange(len(variants)), [int(f * den) for f in fr])
        codes = pd.factorize(pd.Series(s, dtype=object).fillna("<missing>"))[0]
        order = np.lexsort((u, codes))
        rank = np.empty(len(ids), dtype=np.int64)
        sorted_codes = codes[order]
        starts = np.r_[0, np.flatnonzero(np.diff(sorted_codes)) + 1]
        first = np.repeat(starts, np.diff(np.r_[starts, len(ids)]))
        rank[order] = np.arange(len(ids)) - first
        # Permute the block per (stratum, block number) with a hash-driven offset.
        nblock = rank // len(block)
        pair = codes.astype(np.int64) * (int(nblock.max()) + 1) + nblock
        uniq, inv = np.unique(pair, return_inverse=True)
        key = _hash_unit(uniq, experiment_id, salt + "/block")
        shift = (key[inv] * len(block)).astype(np.int64)
        idx = block[(rank + shift) % len(block)]
        out["stratum"] = s
    out["variant"] = np.asarray(variants, dtype=object)[idx]
    out["bucket"] = u
    cols = ["customer_id", "experiment_id", "variant", "bucket"] + (
        ["stratum"] if strata is not None else []
    )
    return out[cols]


def balance_check(
    data: pd.DataFrame,
    *,
    group_col: str,
    covariate_cols: Sequence[str],
    control: object | None = None,
    threshold: float = 0.1,
) -> pd.DataFrame:
    """Standardised mean differences of pre-treatment covariates between arms.

    Returns
    -------
    pandas.DataFrame
        One row per (treatment arm, covariate): ``covariate, control, treatment,
        mean_control, mean_treatment, smd, balanced`` (``|smd| < threshold``).

    Notes
    -----
    ``SMD = (mean_t - mean_c) / sqrt((s_t^2 + s_c^2) / 2)``; ``|SMD| < 0.1`` is the usual
    rule of thumb for negligible imbalance. Booleans count as 0/1; encode categorical
    covariates as indicator columns first. Missing values are ignored per covariate.

    References
    ----------
    Austin, P. C. (2009). Balance diagnostics for comparing the distribution of baseline
    covariates between treatment groups in propensity-score matched samples. Statistics in
    Medicine, 28(25), 3083-3107.
    """
    require_columns(data, [group_col, *covariate_cols])
    if not covariate_cols:
        raise ValueError("covariate_cols is empty")
    levels = sorted(data[group_col].dropna().unique().tolist(), key=str)
    if len(levels) < 2:
        raise ValueError(f"only one variant ({levels!r}) in {group_col!r}; nothing to compare")
    control = levels[0] if control is None else control
    if control not in levels:
        raise ValueError(f"control={control!r} is not a value of {group_col!r}; values: {levels!r}")
    rows = []
    for col in covariate_cols:
        s = data[col]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            raise TypeError(
                f"covariate {col!r} is not numeric ({s.dtype}); one-hot encode it, e.g. "
                "pd.get_dummies(data[col], prefix=col)"
            )
        x = s.astype(float)
        g = x.groupby(data[group_col], observed=True)
        m, v = g.mean(), g.var(ddof=1)
        for t in levels:
            if t == control:
                continue
            pooled = math.sqrt((v[t] + v[control]) / 2)
            smd = (m[t] - m[control]) / pooled if pooled > 0 else 0.0
            rows.append(
                {
                    "covariate": col,
                    "control": control,
                    "treatment": t,
                    "mean_control": float(m[control]),
                    "mean_treatment": float(m[t]),
                    "smd": float(smd),
                    "balanced": bool(abs(smd) < threshold),
                }
            )
    return pd.DataFrame(rows)
