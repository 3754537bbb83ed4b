"""Headline survey metrics with their uncertainty: NPS, top-box shares, mean scores,
trends over waves and comparisons between groups."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from crm_lib.survey.instrument import _require

NPS_GROUPS = ["detractor", "passive", "promoter"]


def nps_group(scores) -> pd.Series:
    """Promoter (9-10), passive (7-8) or detractor (0-6); missing stays missing."""
    s = pd.Series(scores).astype("Float64")
    out = pd.Series(pd.NA, index=s.index, dtype="string")
    out[s <= 6] = "detractor"
    out[(s >= 7) & (s <= 8)] = "passive"
    out[s >= 9] = "promoter"
    return out


def _z(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return float(stats.norm.ppf(1 - alpha / 2))


def _values(
    data: pd.DataFrame, col: str, weight_col: str | None, lo: float | None, hi: float | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Non-missing values of ``col`` (float), their weights, and the number missing."""
    cols = [col] + ([weight_col] if weight_col else [])
    _require(data, cols, "data")
    x = pd.to_numeric(data[col], errors="raise").astype("float64")
    w = (
        pd.Series(1.0, index=data.index)
        if weight_col is None
        else pd.to_numeric(data[weight_col]).astype("float64")
    )
    if weight_col is not None and (w.isna() | (w < 0)).any():
        raise ValueError(f"weights in {weight_col!r} must be non-negative and not missing")
    ok = x.notna().to_numpy()
    xv = x.to_numpy()[ok]
    if lo is not None and ((xv < lo) | (xv > hi)).any():
        bad = xv[(xv < lo) | (xv > hi)][0]
        raise ValueError(
            f"{col!r} holds {bad:g}, outside the scale {lo:g}-{hi:g}; "
            "screen the responses first (screen_responses) or pass the right column"
        )
    return xv, w.to_numpy()[ok], int((~ok).sum())


def _kish_n(w: np.ndarray) -> float:
    s2 = float(np.sum(w**2))
    return float(np.sum(w) ** 2 / s2) if s2 > 0 else 0.0


def _by_group(data, group_col, fn) -> pd.DataFrame:
    if group_col is None:
        return fn(data)
    _require(data, [group_col], "data")
    parts = []
    for g, sub in data.groupby(group_col, sort=True, observed=True):
        part = fn(sub)
        part.insert(0, group_col, g)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- NPS

NPS_PSEUDO_COUNTS = (0.75, 1.5, 0.75)
"""Pseudo-counts (promoter, passive, detractor) of the adjusted Wald interval of the NPS
(Rocks 2016): 3 answers in all."""


def _adjusted_wald(p_pro, p_det, n, z: float, scale: float = 1.0):
    """Adjusted Wald interval of ``p_pro - p_det`` from shares at (effective) size ``n``,
    with the pseudo-counts :data:`NPS_PSEUDO_COUNTS` times ``scale``.

    Returns the adjusted centre and its standard error (NPS on the -1..1 scale).
    """
    add_pro, add_pas, add_det = (scale * a for a in NPS_PSEUDO_COUNTS)
    n = np.asarray(n, dtype="float64")
    nn = n + add_pro + add_pas + add_det
    a = (np.asarray(p_pro, dtype="float64") * n + add_pro) / nn
    b = (np.asarray(p_det, dtype="float64") * n + add_det) / nn
    d = a - b
    return d, np.sqrt(np.maximum(a + b - d**2, 0.0) / nn)


def _check_counts(*counts) -> list[np.ndarray]:
    arrays = [np.asarray(c, dtype="float64") for c in counts]
    for a in arrays:
        if not np.all(np.isfinite(a)) or np.any(a < 0):
            raise ValueError(f"counts must be non-negative and finite, got {a.tolist()}")
    return arrays


def nps_from_counts(promoters, passives, detractors, alpha: float = 0.05) -> pd.DataFrame:
    """NPS, its standard error and the adjusted Wald interval from counts; vectorised over
    arrays of counts.

    Parameters
    ----------
    promoters, passives, detractors : int or array-like of int
        Non-negative counts; every position needs at least one answer.
    alpha : float
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        ``n, promoters, passives, detractors`` (shares), ``nps, se, ci_low, ci_high`` in
        NPS points (-100 to 100).

    Raises
    ------
    ValueError
        For a negative count, or a position without answers (``n = 0``: no NPS exists).

    Notes
    -----
    With shares :math:`p_+` and :math:`p_-` of promoters and detractors,
    :math:`\\mathrm{NPS} = 100 (p_+ - p_-)` and, from the multinomial distribution,

    .. math:: \\mathrm{Var}(\\widehat{\\mathrm{NPS}}/100) = (p_+ + p_- - (p_+ - p_-)^2) / n;

    ``se`` is its square root (in points). The interval is not ``nps +/- z se``: that
    Wald interval collapses to a point when every answer falls in one group (se = 0) and
    covers too rarely near +/-100 at small n (0.86 instead of 0.95 at NPS = 80, n = 20).
    It is the *adjusted Wald* interval of Rocks (2016): add 3/4 of a promoter, 3/4 of a
    detractor and 3 answers in all (3/2 of a passive),

    .. math:: \\tilde p_\\pm = \\frac{x_\\pm + 3/4}{n + 3}, \\quad
              \\tilde d = \\tilde p_+ - \\tilde p_-, \\quad
              \\tilde d \\pm z \\sqrt{(\\tilde p_+ + \\tilde p_- - \\tilde d^2)/(n + 3)},

    limits clipped to [-100, 100]. Its coverage is close to nominal from n = 20 on at
    NPS -80, 0 and +80 (``tests/survey/test_nps_interval.py``; a little conservative,
    0.96, near +/-100 at n = 20). Its centre is pulled towards 0, so for a single answer
    the interval need not contain ``nps`` (one promoter: [-48.5, 98.5]); from two
    answers on it does.

    References
    ----------
    Rocks, B. (2016). Interval estimation for the "net promoter score". The American
    Statistician, 70(4), 365-372.
    Sauro, J., & Lewis, J. R. (2021). Evaluating NPS confidence intervals with real-world
    data. MeasuringU (the adjusted Wald recipe above).
    """
    z = _z(alpha)
    pro, pas, det = _check_counts(promoters, passives, detractors)
    n = pro + pas + det
    if np.any(n == 0):
        where = np.flatnonzero(np.atleast_1d(n) == 0).tolist()
        raise ValueError(
            f"no answers (n = 0) at position(s) {where}: the NPS of no answers does not "
            "exist; leave such groups out"
        )
    pp, pm = pro / n, det / n
    d = pp - pm
    se = np.sqrt(np.maximum(pp + pm - d**2, 0.0) / n)
    centre, se_adj = _adjusted_wald(pp, pm, n, z)
    return pd.DataFrame(
        {
            "n": np.atleast_1d(n).astype("int64"),
            "promoters": np.atleast_1d(pp),
            "passives": np.atleast_1d(pas / n),
            "detractors": np.atleast_1d(pm),
            "nps": np.atleast_1d(100 * d),
            "se": np.atleast_1d(100 * se),
            "ci_low": np.atleast_1d(100 * np.maximum(centre - z * se_adj, -1.0)),
            "ci_high": np.atleast_1d(100 * np.minimum(centre + z * se_adj, 1.0)),
        }
    )


def nps_diff_from_counts(
    promoters_a,
    passives_a,
    detractors_a,
    promoters_b,
    passives_b,
    detractors_b,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Change of NPS from sample ``a`` to independent sample ``b``, from counts;
    vectorised over arrays of counts.

    Returns
    -------
    pandas.DataFrame
        ``n_a, n_b, nps_a, nps_b, diff, se, ci_low, ci_high, statistic, p_value``;
        ``diff = nps_b - nps_a`` in points.

    Notes
    -----
    Test: :math:`z = (\\mathrm{NPS}_b - \\mathrm{NPS}_a) / \\sqrt{se_a^2 + se_b^2}` with
    the multinomial standard errors of :func:`nps_from_counts` (``se``), two-sided
    p-value from the standard normal. Interval: adjusted Wald with half of Rocks'
    pseudo-counts in each sample (3/8 promoter, 3/8 detractor, :math:`n + 3/2`), as
    Agresti & Caffo (2000) add to each of two proportions half of what Agresti & Coull
    (1998) add to one; limits clipped to [-200, 200]. The plain Wald interval of the
    change collapses to a point when both samples answer alike (all promoters) and covers
    0.90 instead of 0.95 for a change from -80 to +80 at n = 20; this one covers 0.95-0.98
    at n = 20 and is close to nominal from n = 100 on
    (``tests/survey/test_nps_interval.py``).

    References
    ----------
    Rocks, B. (2016). The American Statistician, 70(4), 365-372.
    Agresti, A., & Caffo, B. (2000). Simple and effective confidence intervals for
    proportions and differences of proportions result from adding two successes and two
    failures. The American Statistician, 54(4), 280-288.
    """
    z = _z(alpha)
    a = nps_from_counts(promoters_a, passives_a, detractors_a, alpha)
    b = nps_from_counts(promoters_b, passives_b, detractors_b, alpha)
    return _nps_diff(a, b, a["n"].to_numpy(), b["n"].to_numpy(), z)


def _nps_diff(a: pd.DataFrame, b: pd.DataFrame, n_a, n_b, z: float) -> pd.DataFrame:
    """Change from the rows of ``a`` to those of ``b`` (outputs of :func:`nps`), with the
    adjusted interval at effective sizes ``n_a``, ``n_b``."""
    diff = (b["nps"].to_numpy() - a["nps"].to_numpy()).astype("float64")
    se = np.hypot(a["se"].to_numpy(), b["se"].to_numpy())
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = np.where(se > 0, diff / se, np.nan)
    ca, sa = _adjusted_wald(a["promoters"], a["detractors"], n_a, z, scale=0.5)
    cb, sb = _adjusted_wald(b["promoters"], b["detractors"], n_b, z, scale=0.5)
    centre, half = cb - ca, z * np.hypot(sa, sb)
    return pd.DataFrame(
        {
            "n_a": a["n"].to_numpy(),
            "n_b": b["n"].to_numpy(),
            "nps_a": a["nps"].to_numpy(),
            "nps_b": b["nps"].to_numpy(),
            "diff": diff,
            "se": se,
            "ci_low": 100 * np.maximum(centre - half, -2.0),
            "ci_high": 100 * np.minimum(centre + half, 2.0),
            "statistic": stat,
            "p_value": 2 * stats.norm.sf(np.abs(stat)),
        }
    )


def _nps_one(x: np.ndarray, w: np.ndarray, weighted: bool, alpha: float, what: str):
    """NPS row of one group (see :func:`nps`) and the effective sample size of its
    interval."""
    if len(x) == 0:
        raise ValueError(
            f"no answers in {what}: the NPS of no answers does not exist; drop the group "
            "or check the column"
        )
    d = np.where(x >= 9, 1.0, np.where(x <= 6, -1.0, 0.0))
    if not weighted:
        out = nps_from_counts((d == 1).sum(), (d == 0).sum(), (d == -1).sum(), alpha)
        return out, float(len(x)), "adjusted wald"
    z = _z(alpha)
    sw = w.sum()
    if sw <= 0:
        raise ValueError(f"the weights of the answers in {what} sum to zero")
    est = float(w @ d / sw)
    se = float(np.sqrt(np.sum(w**2 * (d - est) ** 2)) / sw)
    pp, pm = float(w[d == 1].sum() / sw), float(w[d == -1].sum() / sw)
    srs_var = pp + pm - est**2
    # effective size of the interval: the n at which the multinomial variance equals the
    # linearised one (Korn & Graubard 1998); Kish's n_eff when every answer is alike
    n_star = srs_var / se**2 if se > 0 else _kish_n(w)
    centre, se_adj = _adjusted_wald(pp, pm, n_star, z)
    out = pd.DataFrame(
        {
            "n": [len(x)],
            "promoters": [pp],
            "passives": [float(w[d == 0].sum() / sw)],
            "detractors": [pm],
            "nps": [100 * est],
            "se": [100 * se],
            "ci_low": [100 * max(float(centre - z * se_adj), -1.0)],
            "ci_high": [100 * min(float(centre + z * se_adj), 1.0)],
        }
    )
    return out, float(n_star), "adjusted wald (linearisation)"


def nps(
    data: pd.DataFrame,
    score_col: str = "nps",
    *,
    weight_col: str | None = None,
    group_col: str | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Net Promoter Score with a confidence interval (optionally weighted, by group).

    Parameters
    ----------
    data : pandas.DataFrame
    score_col : str
        Answers 0-10 to the recommendation question; missing answers are left out and
        counted in ``n_missing``.
    weight_col : str, optional
        Survey weights (e.g. from :func:`rake`).
    group_col : str, optional
        One row per group when given.
    alpha : float
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        ``[group_col,] n, n_missing, n_eff, promoters, passives, detractors, nps, se,
        ci_low, ci_high, method``; shares in 0-1, ``nps`` and its interval in points.

    Raises
    ------
    ValueError
        When a group (or the whole data) has no answer: its NPS does not exist.

    Notes
    -----
    ``se`` is the standard error of ``nps``. Unweighted: the multinomial variance and
    the adjusted Wald interval of :func:`nps_from_counts` (Rocks 2016), which does not
    collapse when every answer falls in one group. Weighted: ``se`` from a Taylor
    linearisation of the ratio estimator :math:`\\sum w_i d_i / \\sum w_i` with
    :math:`d_i = 1` (promoter), :math:`-1` (detractor), 0 (passive):

    .. math:: \\widehat{\\mathrm{Var}} = \\sum_i w_i^2 (d_i - \\widehat{\\mathrm{NPS}})^2
              / (\\sum_i w_i)^2,

    which equals the multinomial formula when all weights are equal (with-replacement
    design, no finite-population correction); the interval is the adjusted Wald one at
    the weighted shares and the effective size
    :math:`n^* = (p_+ + p_- - \\widehat{\\mathrm{NPS}}^2)/\\widehat{\\mathrm{Var}}`
    (Korn & Graubard 1998), or Kish's effective sample size when every answer is in one
    group (variance 0). With equal weights it is the unweighted interval. ``n_eff`` is
    Kish's effective sample size.

    References
    ----------
    Reichheld, F. F. (2003). The one number you need to grow. Harvard Business Review.
    Rocks, B. (2016). The American Statistician, 70(4), 365-372.
    Korn, E. L., & Graubard, B. I. (1998). Confidence intervals for proportions with
    small expected number of positive counts estimated from survey data. Survey
    Methodology, 24(2), 193-201.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"nps": [10, 9, 8, 7, 6, 0, 10, 9, 9, 3]})
    >>> nps(df)[["n", "nps"]].to_dict("records")
    [{'n': 10, 'nps': 20.0}]
    """

    def one(sub: pd.DataFrame, what: str) -> pd.DataFrame:
        x, w, n_missing = _values(sub, score_col, weight_col, 0, 10)
        out, _, method = _nps_one(x, w, weight_col is not None, alpha, what)
        out.insert(1, "n_missing", n_missing)
        out.insert(2, "n_eff", _kish_n(w))
        out["method"] = method
        return out

    if group_col is None:
        return one(data, repr(score_col))
    _require(data, [group_col], "data")
    parts = []
    for g, sub in data.groupby(group_col, sort=True, observed=True):
        part = one(sub, f"{score_col!r} for {group_col} {g!r}")
        part.insert(0, group_col, g)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def nps_change(
    data: pd.DataFrame,
    *,
    wave_a: str,
    wave_b: str,
    score_col: str = "nps",
    wave_col: str = "wave",
    weight_col: str | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Change of NPS from ``wave_a`` to ``wave_b`` (independent samples), with a z-test.

    Returns
    -------
    pandas.DataFrame
        One row: ``wave_a, wave_b, n_a, n_b, nps_a, nps_b, diff, se, ci_low, ci_high,
        statistic, p_value, method``; ``diff = nps_b - nps_a`` in points.

    Notes
    -----
    :math:`z = (\\mathrm{NPS}_b - \\mathrm{NPS}_a) / \\sqrt{se_a^2 + se_b^2}`, each
    :math:`se` from :func:`nps`; two-sided p-value from the standard normal. The
    interval is the adjusted one of :func:`nps_diff_from_counts` (half of Rocks'
    pseudo-counts in each wave; weighted: at each wave's effective size, see
    :func:`nps`), so it does not collapse when both waves answer alike.
    A customer answering both waves makes the samples dependent; then use a paired
    analysis instead.

    References
    ----------
    Rocks, B. (2016). The American Statistician, 70(4), 365-372.
    Agresti, A., & Caffo, B. (2000). The American Statistician, 54(4), 280-288.
    """
    _require(data, [wave_col], "data")
    waves = set(data[wave_col].dropna().unique())
    for w in (wave_a, wave_b):
        if w not in waves:
            raise ValueError(f"wave {w!r} not in column {wave_col!r}; waves: {sorted(waves)}")
    parts, sizes, methods = [], [], []
    for wave in (wave_a, wave_b):
        x, w, _ = _values(data[data[wave_col] == wave], score_col, weight_col, 0, 10)
        what = f"{score_col!r} for {wave_col} {wave!r}"
        out, n_star, method = _nps_one(x, w, weight_col is not None, alpha, what)
        parts.append(out)
        sizes.append(n_star)
        methods.append(method)
    res = _nps_diff(parts[0], parts[1], sizes[0], sizes[1], _z(alpha))
    res.insert(0, "wave_a", [wave_a])
    res.insert(1, "wave_b", [wave_b])
    res["method"] = f"z-test, {methods[0]}"
    return res


# ----------------------------------------------------------------- CSAT and CES


def wilson_interval(successes, n, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion (vectorised; ``n`` may be non-integer).

    Notes
    -----
    .. math:: \\frac{\\hat p + z^2/2n \\pm z\\sqrt{\\hat p(1-\\hat p)/n + z^2/4n^2}}
              {1 + z^2/n}

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. JASA, 22(158), 209-212.
    """
    z = _z(alpha)
    n = np.asarray(n, dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.asarray(successes, dtype="float64") / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


def top_box(
    data: pd.DataFrame,
    score_col: str = "csat",
    *,
    scale_min: int = 1,
    scale_max: int = 5,
    top: int = 2,
    weight_col: str | None = None,
    group_col: str | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Top-``top``-box share (e.g. CSAT 4-5 of 5) with a Wilson interval.

    Returns
    -------
    pandas.DataFrame
        ``[group_col,] n, n_missing, n_eff, n_top, share, se, ci_low, ci_high, method``.

    Notes
    -----
    Weighted: the weighted share with the Wilson interval at Kish's effective sample
    size :math:`n_{eff} = (\\sum w)^2 / \\sum w^2`; ``se`` is
    :math:`\\sqrt{\\hat p(1-\\hat p)/n_{eff}}`.

    References
    ----------
    Wilson, E. B. (1927). JASA, 22(158), 209-212.
    """
    if not 1 <= top < scale_max - scale_min + 1:
        raise ValueError(f"top must be between 1 and {scale_max - scale_min}, got {top}")

    def one(sub):
        x, w, n_missing = _values(sub, score_col, weight_col, scale_min, scale_max)
        hit = x >= scale_max - top + 1
        n_eff = _kish_n(w) if weight_col else float(len(x))
        share = float(w[hit].sum() / w.sum()) if len(x) else np.nan
        lo, hi = wilson_interval(share * n_eff, n_eff, alpha)
        return pd.DataFrame(
            {
                "n": [len(x)],
                "n_missing": [n_missing],
                "n_eff": [n_eff],
                "n_top": [int(hit.sum())],
                "share": [share],
                "se": [np.sqrt(share * (1 - share) / n_eff) if n_eff else np.nan],
                "ci_low": [float(lo)],
                "ci_high": [float(hi)],
                "method": ["wilson" + (" (Kish n_eff)" if weight_col else "")],
            }
        )

    return _by_group(data, group_col, one)


def mean_score(
    data: pd.DataFrame,
    score_col: str = "ces",
    *,
    weight_col: str | None = None,
    group_col: str | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Mean score (e.g. CES) with a t interval.

    Returns
    -------
    pandas.DataFrame
        ``[group_col,] n, n_missing, n_eff, mean, sd, se, ci_low, ci_high, method``.

    Notes
    -----
    Unweighted: :math:`\\bar x \\pm t_{n-1} s/\\sqrt n`. Weighted: linearised
    :math:`se = \\sqrt{\\sum w_i^2 (x_i - \\bar x_w)^2}/\\sum w_i` with
    :math:`t_{n_{eff}-1}`.
    """

    def one(sub):
        x, w, n_missing = _values(sub, score_col, weight_col, None, None)
        n = len(x)
        if weight_col is None:
            mean = float(x.mean()) if n else np.nan
            sd = float(x.std(ddof=1)) if n > 1 else np.nan
            se = sd / np.sqrt(n) if n > 1 else np.nan
            df_ = n - 1
        else:
            sw = w.sum()
            mean = float(w @ x / sw)
            sd = float(np.sqrt(w @ (x - mean) ** 2 / sw))
            se = float(np.sqrt(np.sum(w**2 * (x - mean) ** 2)) / sw)
            df_ = _kish_n(w) - 1
        t = stats.t.ppf(1 - alpha / 2, df_) if df_ > 0 else np.nan
        return pd.DataFrame(
            {
                "n": [n],
                "n_missing": [n_missing],
                "n_eff": [_kish_n(w)],
                "mean": [mean],
                "sd": [sd],
                "se": [se],
                "ci_low": [mean - t * se],
                "ci_high": [mean + t * se],
                "method": ["t" if weight_col is None else "t (linearisation)"],
            }
        )

    return _by_group(data, group_col, one)


_METRICS = {"nps": ("nps", nps), "top_box": ("share", top_box), "mean": ("mean", mean_score)}


def trend(
    data: pd.DataFrame,
    *,
    wave_col: str = "wave",
    score_col: str = "nps",
    metric: str = "nps",
    weight_col: str | None = None,
    alpha: float = 0.05,
    order: list | None = None,
    **metric_kwargs,
) -> pd.DataFrame:
    """A metric per wave, with the change from the previous wave and its p-value.

    Parameters
    ----------
    metric : {"nps", "top_box", "mean"}
        :func:`nps`, :func:`top_box` or :func:`mean_score`; ``metric_kwargs`` go to it.
    order : list, optional
        The waves in time order (e.g. :func:`wave_order`); default: sorted by name, which
        is time order only for names like ``2025Q1`` (not for ``2024-spring``).

    Returns
    -------
    pandas.DataFrame
        One row per wave in sorted order: ``wave, n, estimate, se, ci_low, ci_high,
        diff_prev, se_diff_prev, p_value_prev``. Changes use independent-samples z-tests
        (:math:`se = \\sqrt{se_t^2 + se_{t-1}^2}`); p-values are not adjusted for the
        number of waves.
    """
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {list(_METRICS)}, got {metric!r}")
    est_col, fn = _METRICS[metric]
    per = fn(
        data,
        score_col,
        weight_col=weight_col,
        group_col=wave_col,
        alpha=alpha,
        **metric_kwargs,
    )
    out = pd.DataFrame(
        {
            "wave": per[wave_col],
            "n": per["n"],
            "estimate": per[est_col],
            "se": per["se"],
            "ci_low": per["ci_low"],
            "ci_high": per["ci_high"],
        }
    )
    if order is not None:
        missing = sorted(set(out["wave"]) - set(order), key=str)
        if missing:
            raise ValueError(f"order does not list the wave(s) {missing}")
        rank = {w: i for i, w in enumerate(order)}
        out = out.sort_values("wave", key=lambda w: w.map(rank)).reset_index(drop=True)
    out["diff_prev"] = out["estimate"].diff()
    out["se_diff_prev"] = np.sqrt(out["se"] ** 2 + out["se"].shift() ** 2)
    out["p_value_prev"] = 2 * stats.norm.sf(np.abs(out["diff_prev"] / out["se_diff_prev"]))
    out["metric"] = metric
    return out


# ------------------------------------------------------------- group comparison


@dataclass
class GroupComparison:
    """Result of :func:`compare_groups`.

    Attributes
    ----------
    groups : pandas.DataFrame
        ``group, n, mean, sd, median, ci_low, ci_high`` (t interval of the mean).
    omnibus : pandas.DataFrame
        ``test, statistic, df1, df2, p_value, effect_size, effect_size_name`` for the
        one-way ANOVA, Welch's ANOVA and the Kruskal-Wallis test.
    posthoc : pandas.DataFrame
        ``group_a, group_b, mean_a, mean_b, diff, se, statistic, df, p_adj, hedges_g,
        method``; ``diff = mean_a - mean_b``, p-values adjusted for all pairs.
    """

    groups: pd.DataFrame
    omnibus: pd.DataFrame
    posthoc: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """The omnibus tests."""
        return self.omnibus


def compare_groups(
    data: pd.DataFrame,
    value_col: str,
    group_col: str,
    *,
    posthoc: str = "games-howell",
    alpha: float = 0.05,
) -> GroupComparison:
    """Compare a score across groups: ANOVA, Welch ANOVA, Kruskal-Wallis, post-hoc pairs.

    Parameters
    ----------
    data : pandas.DataFrame
    value_col : str
        The score (missing values are left out).
    group_col : str
        Group labels (at least two groups with two or more values each).
    posthoc : {"games-howell", "tukey"}
        Games-Howell does not assume equal variances (default); Tukey's HSD does.
    alpha : float
        For the per-group intervals.

    Returns
    -------
    GroupComparison

    Notes
    -----
    Effect sizes: :math:`\\eta^2 = SS_{between}/SS_{total}` (ANOVA, Welch) and
    :math:`\\epsilon^2 = H / (n - 1)` (Kruskal-Wallis; Tomczak & Tomczak 2014).
    Computed with pingouin (``anova``, ``welch_anova``, ``kruskal``,
    ``pairwise_gameshowell``/``pairwise_tukey``).

    References
    ----------
    Games, P. A., & Howell, J. F. (1976). Journal of Educational Statistics, 1(2), 113-125.
    Kruskal, W. H., & Wallis, W. A. (1952). JASA, 47(260), 583-621.
    Welch, B. L. (1951). Biometrika, 38(3/4), 330-336.
    """
    import pingouin as pg

    _require(data, [value_col, group_col], "data")
    if posthoc not in ("games-howell", "tukey"):
        raise ValueError(f"posthoc must be 'games-howell' or 'tukey', got {posthoc!r}")
    df = pd.DataFrame(
        {
            "y": pd.to_numeric(data[value_col]).astype("float64"),
            "g": data[group_col].astype("object"),
        }
    ).dropna()
    sizes = df.groupby("g")["y"].size()
    if (sizes >= 2).sum() < 2:
        raise ValueError(
            f"compare_groups needs two or more groups of {group_col!r} with at least two "
            f"non-missing {value_col!r} values; got sizes {sizes.to_dict()}"
        )
    df = df[df["g"].isin(sizes[sizes >= 2].index)]
    t = df.groupby("g")["y"]
    groups = pd.DataFrame(
        {
            "group": sizes[sizes >= 2].index,
            "n": t.size().to_numpy(),
            "mean": t.mean().to_numpy(),
            "sd": t.std().to_numpy(),
            "median": t.median().to_numpy(),
        }
    )
    half = stats.t.ppf(1 - alpha / 2, groups["n"] - 1) * groups["sd"] / np.sqrt(groups["n"])
    groups["ci_low"], groups["ci_high"] = groups["mean"] - half, groups["mean"] + half

    with warnings.catch_warnings():
        # pingouin 0.7 calls DataFrame.dropna(inplace=True), deprecated in pandas 3.1
        warnings.filterwarnings("ignore", message="The inplace keyword", category=Warning)
        aov = pg.anova(data=df, dv="y", between="g", detailed=False)
        welch = pg.welch_anova(data=df, dv="y", between="g")
        kw = pg.kruskal(data=df, dv="y", between="g")
    n = len(df)
    omnibus = pd.DataFrame(
        {
            "test": ["anova", "welch_anova", "kruskal"],
            "statistic": [aov["F"].iloc[0], welch["F"].iloc[0], kw["H"].iloc[0]],
            "df1": [aov["ddof1"].iloc[0], welch["ddof1"].iloc[0], kw["ddof1"].iloc[0]],
            "df2": [aov["ddof2"].iloc[0], welch["ddof2"].iloc[0], np.nan],
            "p_value": [aov["p_unc"].iloc[0], welch["p_unc"].iloc[0], kw["p_unc"].iloc[0]],
            "effect_size": [aov["np2"].iloc[0], welch["np2"].iloc[0], kw["H"].iloc[0] / (n - 1)],
            "effect_size_name": ["eta_squared", "eta_squared", "epsilon_squared"],
        }
    )
    omnibus[["df1", "df2"]] = omnibus[["df1", "df2"]].astype("float64")

    if posthoc == "games-howell":
        ph = pg.pairwise_gameshowell(data=df, dv="y", between="g")
        p_col, df_col = "pval", ph["df"]
    else:
        ph = pg.pairwise_tukey(data=df, dv="y", between="g")
        p_col, df_col = "p_tukey", pd.Series(float(n - len(groups)), index=ph.index)
    post = pd.DataFrame(
        {
            "group_a": ph["A"],
            "group_b": ph["B"],
            "mean_a": ph["mean_A"],
            "mean_b": ph["mean_B"],
            "diff": ph["diff"],
            "se": ph["se"],
            "statistic": ph["T"],
            "df": df_col.astype("float64"),
            "p_adj": ph[p_col].astype("float64"),
            "hedges_g": ph["hedges"],
            "method": posthoc,
        }
    )
    return GroupComparison(groups=groups, omnibus=omnibus, posthoc=post)


def wave_order(
    data: pd.DataFrame, *, wave_col: str = "wave", time_col: str | None = "started_at"
) -> list:
    """The survey waves of ``data`` in time order: by the median start of their responses.

    A wave's name need not sort in time (``2024-spring``, ``2024-autumn``); its responses'
    times do. Without ``time_col`` (or when the column is absent) the names are sorted.

    Raises
    ------
    ValueError
        When ``data`` has no ``wave_col`` or no wave at all.
    """
    if wave_col not in data:
        raise ValueError(f"the responses have no column {wave_col!r} naming the wave")
    waves = data[wave_col].dropna()
    if waves.empty:
        raise ValueError(f"the responses name no wave in {wave_col!r}")
    if time_col is None or time_col not in data:
        return sorted(waves.unique(), key=str)
    start = pd.to_datetime(data[time_col], utc=True).groupby(data[wave_col]).median()
    return list(start.sort_values(kind="stable").index)
