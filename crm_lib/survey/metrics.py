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


def nps_from_counts(promoters, passives, detractors, alpha: float = 0.05) -> pd.DataFrame:
    """NPS and its Wald interval from counts; vectorised over arrays of counts.

    Parameters
    ----------
    promoters, passives, detractors : int or array-like of int
    alpha : float
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        ``n, promoters, passives, detractors`` (shares), ``nps, se, ci_low, ci_high`` in
        NPS points (-100 to 100).

    Notes
    -----
    With shares :math:`p_+` and :math:`p_-` of promoters and detractors,
    :math:`\\mathrm{NPS} = 100 (p_+ - p_-)` and, from the multinomial distribution,

    .. math:: \\mathrm{Var}(\\widehat{\\mathrm{NPS}}/100) = (p_+ + p_- - (p_+ - p_-)^2) / n.

    The interval is ``nps +/- z se``.

    References
    ----------
    Rocks, B. (2016). Interval estimation for the "net promoter score". The American
    Statistician, 70(4), 365-372.
    """
    z = _z(alpha)
    pro, pas, det = (np.asarray(a, dtype="float64") for a in (promoters, passives, detractors))
    n = pro + pas + det
    with np.errstate(invalid="ignore", divide="ignore"):
        pp, pm = pro / n, det / n
        d = pp - pm
        se = np.sqrt((pp + pm - d**2) / n)
    return pd.DataFrame(
        {
            "n": np.atleast_1d(n).astype("int64"),
            "promoters": np.atleast_1d(pp),
            "passives": np.atleast_1d(pas / n),
            "detractors": np.atleast_1d(pm),
            "nps": np.atleast_1d(100 * d),
            "se": np.atleast_1d(100 * se),
            "ci_low": np.atleast_1d(100 * (d - z * se)),
            "ci_high": np.atleast_1d(100 * (d + z * se)),
        }
    )


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

    Notes
    -----
    Unweighted: the multinomial variance (:func:`nps_from_counts`). Weighted: a Taylor
    linearisation of the ratio estimator :math:`\\sum w_i d_i / \\sum w_i` with
    :math:`d_i = 1` (promoter), :math:`-1` (detractor), 0 (passive):

    .. math:: \\widehat{\\mathrm{Var}} = \\sum_i w_i^2 (d_i - \\widehat{\\mathrm{NPS}})^2
              / (\\sum_i w_i)^2,

    which equals the multinomial formula when all weights are equal (with-replacement
    design, no finite-population correction). ``n_eff`` is Kish's effective sample size.

    References
    ----------
    Reichheld, F. F. (2003). The one number you need to grow. Harvard Business Review.
    Rocks, B. (2016). The American Statistician, 70(4), 365-372.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"nps": [10, 9, 8, 7, 6, 0, 10, 9, 9, 3]})
    >>> nps(df)[["n", "nps"]].to_dict("records")
    [{'n': 10, 'nps': 20.0}]
    """

    def one(sub: pd.DataFrame) -> pd.DataFrame:
        x, w, n_missing = _values(sub, score_col, weight_col, 0, 10)
        d = np.where(x >= 9, 1.0, np.where(x <= 6, -1.0, 0.0))
        if weight_col is None:
            out = nps_from_counts((d == 1).sum(), (d == 0).sum(), (d == -1).sum(), alpha)
            method = "multinomial"
        else:
            sw = w.sum()
            est = float(w @ d / sw) if sw > 0 else np.nan
            se = float(np.sqrt(np.sum(w**2 * (d - est) ** 2)) / sw) if sw > 0 else np.nan
            z = _z(alpha)
            out = pd.DataFrame(
                {
                    "n": [len(x)],
                    "promoters": [w[d == 1].sum() / sw],
                    "passives": [w[d == 0].sum() / sw],
                    "detractors": [w[d == -1].sum() / sw],
                    "nps": [100 * est],
                    "se": [100 * se],
                    "ci_low": [100 * (est - z * se)],
                    "ci_high": [100 * (est + z * se)],
                }
            )
            method = "linearisation"
        out.insert(1, "n_missing", n_missing)
        out.insert(2, "n_eff", _kish_n(w))
        out["method"] = method
        return out

    return _by_group(data, group_col, one)


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
    :math:`se` from :func:`nps`; two-sided p-value from the standard normal.
    A customer answering both waves makes the samples dependent; then use a paired
    analysis instead.

    References
    ----------
    Rocks, B. (2016). The American Statistician, 70(4), 365-372.
    """
    _require(data, [wave_col], "data")
    waves = set(data[wave_col].dropna().unique())
    for w in (wave_a, wave_b):
        if w not in waves:
            raise ValueError(f"wave {w!r} not in column {wave_col!r}; waves: {sorted(waves)}")
    a = nps(data[data[wave_col] == wave_a], score_col, weight_col=weight_col, alpha=alpha)
    b = nps(data[data[wave_col] == wave_b], score_col, weight_col=weight_col, alpha=alpha)
    diff = float(b["nps"].iloc[0] - a["nps"].iloc[0])
    se = float(np.hypot(a["se"].iloc[0], b["se"].iloc[0]))
    z = diff / se if se > 0 else np.nan
    zc = _z(alpha)
    return pd.DataFrame(
        {
            "wave_a": [wave_a],
            "wave_b": [wave_b],
            "n_a": a["n"].to_numpy(),
            "n_b": b["n"].to_numpy(),
            "nps_a": a["nps"].to_numpy(),
            "nps_b": b["nps"].to_numpy(),
            "diff": [diff],
            "se": [se],
            "ci_low": [diff - zc * se],
            "ci_high": [diff + zc * se],
            "statistic": [z],
            "p_value": [float(2 * stats.norm.sf(abs(z)))],
            "method": [f"z-test ({a['method'].iloc[0]})"],
        }
    )


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
    **metric_kwargs,
) -> pd.DataFrame:
    """A metric per wave, with the change from the previous wave and its p-value.

    Parameters
    ----------
    metric : {"nps", "top_box", "mean"}
        :func:`nps`, :func:`top_box` or :func:`mean_score`; ``metric_kwargs`` go to it.

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
