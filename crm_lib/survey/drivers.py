"""Key-driver analysis: which experience areas move the overall score, and where to act."""

from __future__ import annotations

from math import factorial

import numpy as np
import pandas as pd
from scipy import stats

from crm_lib.survey.instrument import _require

MAX_SHAPLEY_DRIVERS = 12

QUADRANTS = {
    (True, False): "concentrate_here",
    (True, True): "keep_up_the_good_work",
    (False, False): "low_priority",
    (False, True): "possible_overkill",
}
"""Importance-performance quadrants (Martilla & James 1977), keyed by
``(importance high, performance high)``."""

_TEXT = {
    "importance": {"en": "Importance (share of R²)", "zh": "重要性（R² 占比）"},
    "performance": {"en": "Performance (mean score)", "zh": "表现（平均得分）"},
    "title": {"en": "Importance-performance map", "zh": "重要性-表现矩阵"},
    "concentrate_here": {"en": "Concentrate here", "zh": "重点改进"},
    "keep_up_the_good_work": {"en": "Keep up the good work", "zh": "继续保持"},
    "low_priority": {"en": "Low priority", "zh": "次要改进"},
    "possible_overkill": {"en": "Possible overkill", "zh": "过度投入"},
}


def _r2_all_subsets(corr: np.ndarray) -> np.ndarray:
    """R^2 of the outcome (last row/column of ``corr``) on every subset of the drivers,
    indexed by bit mask (bit j set = driver j in the subset)."""
    k = corr.shape[0] - 1
    rxx, rxy = corr[:k, :k], corr[:k, k]
    r2 = np.zeros(2**k)
    for mask in range(1, 2**k):
        idx = [j for j in range(k) if mask >> j & 1]
        r2[mask] = rxy[idx] @ np.linalg.solve(rxx[np.ix_(idx, idx)], rxy[idx])
    return r2


def shapley_r2(corr) -> np.ndarray:
    """Shapley decomposition of R^2 (exact, over all subsets) from a correlation matrix
    whose last row/column is the outcome.

    Notes
    -----
    .. math:: \\phi_j = \\sum_{S \\subseteq D \\setminus \\{j\\}}
              \\frac{|S|!\\,(k - |S| - 1)!}{k!} \\left(R^2_{S \\cup \\{j\\}} - R^2_S\\right)

    The :math:`\\phi_j` sum to the :math:`R^2` of all :math:`k` drivers (efficiency).
    Also known as LMG or dominance analysis' general dominance weights.

    References
    ----------
    Lindeman, R. H., Merenda, P. F., & Gold, R. Z. (1980). Introduction to bivariate and
    multivariate analysis. Scott, Foresman.
    Grömping, U. (2007). Estimators of relative importance in linear regression based on
    variance decomposition. The American Statistician, 61(2), 139-147.
    """
    corr = np.asarray(corr, dtype="float64")
    k = corr.shape[0] - 1
    if k > MAX_SHAPLEY_DRIVERS:
        raise ValueError(
            f"exact Shapley needs 2^k regressions; use at most {MAX_SHAPLEY_DRIVERS} drivers "
            f"(got {k}) or group drivers into constructs first"
        )
    r2 = _r2_all_subsets(corr)
    masks = np.arange(2**k)
    sizes = np.array([bin(m).count("1") for m in masks])
    weight = np.array([factorial(s) * factorial(k - s - 1) / factorial(k) for s in range(k)])
    phi = np.zeros(k)
    for j in range(k):
        without = masks[(masks >> j & 1) == 0]
        phi[j] = np.sum(weight[sizes[without]] * (r2[without | (1 << j)] - r2[without]))
    return phi


def relative_weights(corr) -> np.ndarray:
    """Johnson's relative weights from a correlation matrix (outcome last); they sum to R^2.

    Notes
    -----
    With :math:`R_{xx} = V \\mathrm{diag}(\\lambda) V'` and
    :math:`\\Lambda = V \\mathrm{diag}(\\sqrt\\lambda) V'` (the correlations of the drivers
    with their closest orthogonal counterparts), :math:`\\beta = \\Lambda^{-1} r_{xy}` and
    :math:`\\epsilon_j = \\sum_k \\Lambda_{jk}^2 \\beta_k^2`.

    References
    ----------
    Johnson, J. W. (2000). A heuristic method for estimating the relative weight of
    predictor variables in multiple regression. Multivariate Behavioral Research, 35(1),
    1-19.
    """
    corr = np.asarray(corr, dtype="float64")
    k = corr.shape[0] - 1
    rxx, rxy = corr[:k, :k], corr[:k, k]
    lam, vec = np.linalg.eigh(rxx)
    if lam.min() <= 1e-12:
        raise ValueError("the drivers are linearly dependent; drop or combine redundant ones")
    half = vec @ np.diag(np.sqrt(lam)) @ vec.T
    beta = np.linalg.solve(half, rxy)
    return (half**2) @ (beta**2)


def disattenuate(corr, reliabilities, *, outcome_reliability: float = 1.0) -> np.ndarray:
    """Correct a correlation matrix (outcome last) for measurement error in the scores.

    Parameters
    ----------
    corr : array-like, (k + 1) x (k + 1)
        Correlations of the ``k`` driver scores and the outcome (last row/column).
    reliabilities : array-like of length k
        Reliability of each driver score (share of true-score variance), in (0, 1],
        e.g. Cronbach's alpha or McDonald's omega of the construct's items.
    outcome_reliability : float
        Reliability of the outcome; the default 1 leaves the outcome column unscaled
        (see Notes: it does not change relative importance).

    Returns
    -------
    numpy.ndarray
        The correlations of the true scores.

    Raises
    ------
    ValueError
        When a reliability is outside (0, 1], a corrected correlation exceeds 1 in
        absolute value, or the corrected matrix is not positive definite (reliabilities
        too low for the observed correlations: use a better estimate such as omega, or
        merge constructs that are not empirically distinct).

    Notes
    -----
    Spearman's correction for attenuation, with :math:`\\rho_i` the reliabilities:

    .. math:: r^*_{ij} = \\frac{r_{ij}}{\\sqrt{\\rho_i \\rho_j}}, \\quad i \\ne j.

    Dividing the outcome's column by :math:`\\sqrt{\\rho_y}` scales the R^2 of every
    subset of drivers by :math:`1/\\rho_y`, so Shapley values scale by it too and their
    shares do not change.

    References
    ----------
    Spearman, C. (1904). The proof and measurement of association between two things.
    American Journal of Psychology, 15(1), 72-101.
    Schmidt, F. L., & Hunter, J. E. (1996). Measurement error in psychological research:
    Lessons from 26 research scenarios. Psychological Methods, 1(2), 199-223.
    """
    corr = np.asarray(corr, dtype="float64")
    rel = np.r_[np.asarray(reliabilities, dtype="float64").ravel(), outcome_reliability]
    if corr.ndim != 2 or corr.shape != (len(rel), len(rel)):
        raise ValueError(
            f"corr must be (k + 1) x (k + 1) for k = {len(rel) - 1} reliabilities, "
            f"got shape {corr.shape}"
        )
    if not np.all((rel > 0) & (rel <= 1)):
        raise ValueError(f"reliabilities must be in (0, 1], got {rel.tolist()}")
    d = np.sqrt(rel)
    out = corr / np.outer(d, d)
    np.fill_diagonal(out, 1.0)
    if np.abs(out).max() > 1 + 1e-12:
        raise ValueError(
            "a disattenuated correlation exceeds 1: the reliabilities are too low for the "
            "observed correlations (use omega, or merge constructs that are not distinct)"
        )
    if np.linalg.eigvalsh(out).min() <= 1e-10:
        raise ValueError(
            "the disattenuated correlation matrix is not positive definite: the "
            "reliabilities are too low for the observed correlations (use omega, or merge "
            "constructs that are not distinct)"
        )
    return out


def key_drivers(
    data: pd.DataFrame,
    outcome_col: str,
    driver_cols: list[str],
    *,
    reliabilities: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Key-driver analysis: correlations, standardised OLS coefficients and relative
    importance that is robust to correlated drivers, optionally corrected for
    measurement error in the driver scores.

    Parameters
    ----------
    data : pandas.DataFrame
    outcome_col : str
        Overall score (NPS answer, CSAT, ...).
    driver_cols : list of str
        Driver scores, e.g. construct scores from ``Instrument.construct_scores``
        (at most 12 for the exact Shapley decomposition). Rows with a missing value are
        left out (listwise); ``n`` says how many were used.
    reliabilities : dict, optional
        ``{driver: reliability}`` of every driver score, e.g.
        ``reliability_table(kept, inst).set_index("construct")["omega"].to_dict()``.
        When given, the importance is that of the constructs measured without error
        (see Notes); default: of the observed scores.

    Returns
    -------
    pandas.DataFrame
        One row per driver, sorted by ``shapley_r2``: ``driver, n, reliability, r,
        r_p_value, beta, beta_p_value, shapley_r2, shapley_share, relative_weight,
        relative_weight_share, rank, r2``; ``r2`` is the model R^2 (the same on every
        row), ``*_share`` the importance as a share of it. ``reliability`` is 1 without
        correction. With ``reliabilities``, ``r, beta, shapley_r2, relative_weight, r2``
        come from the corrected matrix, ``beta_p_value`` is missing (the OLS test does
        not apply to corrected coefficients) and ``r_p_value`` stays the test of the
        observed correlation (a true-score correlation is zero exactly when the
        observed one is). ``attrs``: ``corrected`` and ``observed_r2``.

    Notes
    -----
    ``beta``: OLS on z-scores (statsmodels); its ranking is unstable when drivers
    correlate. ``shapley_r2``: :func:`shapley_r2`; ``relative_weight``:
    :func:`relative_weights`. Both sum to ``r2`` and are usually close.

    *Measurement error.* A construct score (mean of a few Likert items) is the
    construct plus item noise; with reliability :math:`\\rho_j` its correlations are
    attenuated, :math:`r_{jy} = \\sqrt{\\rho_j}\\, r^*_{jy}` and
    :math:`r_{jl} = \\sqrt{\\rho_j \\rho_l}\\, r^*_{jl}`. The observed-score analysis
    answers "how much does this *score* explain"; the question of a driver study is
    how much the *experience area* (the latent construct) matters. Noisy scores
    explain less and share less of their common variance, so the uncorrected shares
    are pulled towards :math:`1/k`, and a less reliable construct looks less important
    than it is. With ``reliabilities`` the correlation matrix is corrected by
    :func:`disattenuate` (Spearman 1904),
    :math:`r^*_{ij} = r_{ij} / \\sqrt{\\rho_i \\rho_j}`, before the Shapley and
    relative-weight decompositions. The outcome's own reliability :math:`\\rho_y` is
    not needed: it multiplies the R^2 of every subset of drivers by the same
    :math:`\\rho_y`, hence every Shapley value, so it cancels in the shares (``r2``
    is then the R^2 of the error-free drivers for the observed outcome, a lower bound
    for that of the error-free outcome).
    Alpha is a lower bound of a sum score's reliability (exact for tau-equivalent
    items); omega from one-factor loadings is the better estimate when loadings
    differ. Corrected estimates have larger sampling error than uncorrected ones and
    need a positive definite corrected matrix (checked; low reliabilities can break
    it).

    References
    ----------
    Grömping, U. (2007). The American Statistician, 61(2), 139-147.
    Johnson, J. W. (2000). Multivariate Behavioral Research, 35(1), 1-19.
    Spearman, C. (1904). American Journal of Psychology, 15(1), 72-101.
    Schmidt, F. L., & Hunter, J. E. (1996). Psychological Methods, 1(2), 199-223.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame(rng.normal(size=(500, 2)), columns=["a", "b"])
    >>> df["y"] = 2 * df["a"] + df["b"] + rng.normal(size=500)
    >>> key_drivers(df, "y", ["a", "b"])["driver"].tolist()
    ['a', 'b']
    """
    import statsmodels.api as sm

    driver_cols = list(driver_cols)
    if not driver_cols:
        raise ValueError("driver_cols is empty; pass the driver score columns")
    if outcome_col in driver_cols:
        raise ValueError(f"outcome_col {outcome_col!r} is also listed as a driver")
    _require(data, [outcome_col, *driver_cols], "data")
    df = data[[*driver_cols, outcome_col]].apply(pd.to_numeric).astype("float64").dropna()
    n = len(df)
    if n <= len(driver_cols) + 2:
        raise ValueError(f"too few complete rows ({n}) for {len(driver_cols)} drivers")
    sd = df.std(ddof=1)
    const = sd[sd == 0].index.tolist()
    if const:
        raise ValueError(f"column(s) {const} do not vary; drop them")
    corr = np.corrcoef(df.to_numpy(), rowvar=False)
    z = (df - df.mean()) / sd
    ols = sm.OLS(z[outcome_col], sm.add_constant(z[driver_cols])).fit()
    r_obs = corr[:-1, -1]
    t_r = r_obs * np.sqrt((n - 2) / (1 - r_obs**2))
    if reliabilities is None:
        rel = np.ones(len(driver_cols))
        beta, beta_p, r2 = ols.params[driver_cols].to_numpy(), ols.pvalues[driver_cols], None
    else:
        unknown = sorted(set(reliabilities) - set(driver_cols))
        missing = [c for c in driver_cols if c not in reliabilities]
        if missing or unknown:
            what = [f"missing {missing}"] * bool(missing) + [f"not a driver {unknown}"] * bool(
                unknown
            )
            raise ValueError(f"reliabilities must give one value per driver: {'; '.join(what)}")
        rel = np.array([float(reliabilities[c]) for c in driver_cols])
        corr = disattenuate(corr, rel)
        k = len(driver_cols)
        beta = np.linalg.solve(corr[:k, :k], corr[:k, k])
        beta_p, r2 = np.full(k, np.nan), float(corr[:k, k] @ beta)
    phi = shapley_r2(corr)
    rw = relative_weights(corr)
    r2 = float(ols.rsquared) if r2 is None else r2
    out = pd.DataFrame(
        {
            "driver": driver_cols,
            "n": n,
            "reliability": rel,
            "r": corr[:-1, -1],
            "r_p_value": 2 * stats.t.sf(np.abs(t_r), n - 2),
            "beta": np.asarray(beta),
            "beta_p_value": np.asarray(beta_p),
            "shapley_r2": phi,
            "shapley_share": phi / r2,
            "relative_weight": rw,
            "relative_weight_share": rw / r2,
        }
    )
    out = out.sort_values("shapley_r2", ascending=False, ignore_index=True)
    out["rank"] = np.arange(1, len(out) + 1)
    out["r2"] = r2
    out.attrs.update(corrected=reliabilities is not None, observed_r2=float(ols.rsquared))
    return out


def importance_performance(
    data: pd.DataFrame,
    outcome_col: str,
    driver_cols: list[str],
    *,
    importance: str = "shapley_share",
    importance_cut: float | None = None,
    performance_cut: float | None = None,
    reliabilities: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Importance-performance table: where improvement pays most.

    Parameters
    ----------
    reliabilities : dict, optional
        Passed to :func:`key_drivers` (importance of the constructs corrected for
        measurement error).
    importance : {"shapley_share", "relative_weight_share", "beta", "r"}
        Column of :func:`key_drivers` used as importance.
    importance_cut, performance_cut : float, optional
        Quadrant boundaries; default the means over the drivers.

    Returns
    -------
    pandas.DataFrame
        ``driver, importance, performance, performance_ci_low, performance_ci_high,
        quadrant``; performance is the mean driver score with a 95% t interval;
        quadrants as in :data:`QUADRANTS`.

    References
    ----------
    Martilla, J. A., & James, J. C. (1977). Importance-performance analysis. Journal of
    Marketing, 41(1), 77-79.
    """
    kd = key_drivers(data, outcome_col, driver_cols, reliabilities=reliabilities)
    if importance not in ("shapley_share", "relative_weight_share", "beta", "r"):
        raise ValueError(
            "importance must be one of 'shapley_share', 'relative_weight_share', 'beta', "
            f"'r'; got {importance!r}"
        )
    df = data[[*driver_cols, outcome_col]].apply(pd.to_numeric).astype("float64").dropna()
    perf = df[driver_cols].mean()
    sem = df[driver_cols].std(ddof=1) / np.sqrt(len(df))
    t = stats.t.ppf(0.975, len(df) - 1)
    out = pd.DataFrame(
        {
            "driver": kd["driver"],
            "importance": kd[importance].to_numpy(),
            "performance": perf[kd["driver"]].to_numpy(),
            "performance_ci_low": (perf - t * sem)[kd["driver"]].to_numpy(),
            "performance_ci_high": (perf + t * sem)[kd["driver"]].to_numpy(),
        }
    )
    ic = out["importance"].mean() if importance_cut is None else importance_cut
    pc = out["performance"].mean() if performance_cut is None else performance_cut
    out["quadrant"] = [
        QUADRANTS[(bool(i >= ic), bool(p >= pc))]
        for i, p in zip(out["importance"], out["performance"], strict=True)
    ]
    out.attrs.update(importance_cut=float(ic), performance_cut=float(pc))
    return out


def plot_importance_performance(
    table: pd.DataFrame,
    *,
    ax=None,
    language: str = "en",
    labels: dict[str, dict[str, str] | str] | None = None,
):
    """Quadrant chart of an :func:`importance_performance` table.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`importance_performance`.
    ax : matplotlib.axes.Axes, optional
    language : {"en", "zh"}
    labels : dict, optional
        Display name of each driver, a string or a mapping language -> string (e.g.
        ``Instrument.construct_labels``); default the driver name.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    from crm_lib.i18n import check_language

    check_language(language)
    _require(table, ["driver", "importance", "performance", "quadrant"], "table")
    if ax is None:
        _, ax = plt.subplots()
    ic = table.attrs.get("importance_cut", float(table["importance"].mean()))
    pc = table.attrs.get("performance_cut", float(table["performance"].mean()))
    colours = dict(zip(QUADRANTS.values(), ["C3", "C2", "C7", "C1"], strict=True))
    ax.scatter(table["performance"], table["importance"], c=[colours[q] for q in table["quadrant"]])
    for rec in table.itertuples(index=False):
        name = (labels or {}).get(rec.driver, rec.driver)
        if isinstance(name, dict):
            name = name.get(language, rec.driver)
        ax.annotate(str(name), (rec.performance, rec.importance), xytext=(5, 5),
                    textcoords="offset points")  # fmt: skip
    ax.axvline(pc, color="grey", lw=0.8, ls="--")
    ax.axhline(ic, color="grey", lw=0.8, ls="--")
    corners = {
        "concentrate_here": (0.02, 0.98, "left", "top"),
        "keep_up_the_good_work": (0.98, 0.98, "right", "top"),
        "low_priority": (0.02, 0.02, "left", "bottom"),
        "possible_overkill": (0.98, 0.02, "right", "bottom"),
    }
    for key, (x, y, ha, va) in corners.items():
        ax.text(x, y, _TEXT[key][language], transform=ax.transAxes, ha=ha, va=va,
                fontsize="small", color="grey")  # fmt: skip
    ax.set_xlabel(_TEXT["performance"][language])
    ax.set_ylabel(_TEXT["importance"][language])
    ax.set_title(_TEXT["title"][language])
    return ax
