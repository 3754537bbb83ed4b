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


def key_drivers(
    data: pd.DataFrame,
    outcome_col: str,
    driver_cols: list[str],
) -> pd.DataFrame:
    """Key-driver analysis: correlations, standardised OLS coefficients and relative
    importance that is robust to correlated drivers.

    Parameters
    ----------
    data : pandas.DataFrame
    outcome_col : str
        Overall score (NPS answer, CSAT, ...).
    driver_cols : list of str
        Driver scores, e.g. construct scores from ``Instrument.construct_scores``
        (at most 12 for the exact Shapley decomposition). Rows with a missing value are
        left out (listwise); ``n`` says how many were used.

    Returns
    -------
    pandas.DataFrame
        One row per driver, sorted by ``shapley_r2``: ``driver, n, r, r_p_value, beta,
        beta_p_value, shapley_r2, shapley_share, relative_weight, relative_weight_share,
        rank, r2``; ``r2`` is the model R^2 (the same on every row), ``*_share`` the
        importance as a share of it.

    Notes
    -----
    ``beta``: OLS on z-scores (statsmodels); its ranking is unstable when drivers
    correlate. ``shapley_r2``: :func:`shapley_r2`; ``relative_weight``:
    :func:`relative_weights`. Both sum to ``r2`` and are usually close.

    References
    ----------
    Grömping, U. (2007). The American Statistician, 61(2), 139-147.
    Johnson, J. W. (2000). Multivariate Behavioral Research, 35(1), 1-19.

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
    phi = shapley_r2(corr)
    rw = relative_weights(corr)
    r = corr[:-1, -1]
    t_r = r * np.sqrt((n - 2) / (1 - r**2))
    out = pd.DataFrame(
        {
            "driver": driver_cols,
            "n": n,
            "r": r,
            "r_p_value": 2 * stats.t.sf(np.abs(t_r), n - 2),
            "beta": ols.params[driver_cols].to_numpy(),
            "beta_p_value": ols.pvalues[driver_cols].to_numpy(),
            "shapley_r2": phi,
            "shapley_share": phi / ols.rsquared,
            "relative_weight": rw,
            "relative_weight_share": rw / ols.rsquared,
        }
    )
    out = out.sort_values("shapley_r2", ascending=False, ignore_index=True)
    out["rank"] = np.arange(1, len(out) + 1)
    out["r2"] = float(ols.rsquared)
    return out


def importance_performance(
    data: pd.DataFrame,
    outcome_col: str,
    driver_cols: list[str],
    *,
    importance: str = "shapley_share",
    importance_cut: float | None = None,
    performance_cut: float | None = None,
) -> pd.DataFrame:
    """Importance-performance table: where improvement pays most.

    Parameters
    ----------
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
    kd = key_drivers(data, outcome_col, driver_cols)
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
