"""Key-driver analysis: which experience areas move the overall score, and where to act."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
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
    indexed by bit mask (bit j set = driver j in the subset); ``corr`` may be a stack
    ``(..., k + 1, k + 1)``, solved batch-wise (one loop over the 2^k subsets)."""
    k = corr.shape[-1] - 1
    r2 = np.zeros((*corr.shape[:-2], 2**k))
    for mask in range(1, 2**k):
        idx = [j for j in range(k) if mask >> j & 1]
        rxx = corr[..., idx, :][..., :, idx]
        rxy = corr[..., idx, k]
        r2[..., mask] = np.sum(rxy * np.linalg.solve(rxx, rxy[..., None])[..., 0], axis=-1)
    return r2


def shapley_r2(corr) -> np.ndarray:
    """Shapley decomposition of R^2 (exact, over all subsets) from a correlation matrix
    whose last row/column is the outcome.

    Notes
    -----
    .. math:: \\phi_j = \\sum_{S \\subseteq D \\setminus \\{j\\}}
              \\frac{|S|!\\,(k - |S| - 1)!}{k!} \\left(R^2_{S \\cup \\{j\\}} - R^2_S\\right)

    The :math:`\\phi_j` sum to the :math:`R^2` of all :math:`k` drivers (efficiency).
    Also known as LMG or dominance analysis' general dominance weights. ``corr`` may be
    a stack of matrices, shape ``(..., k + 1, k + 1)``; the result is then
    ``(..., k)``.

    References
    ----------
    Lindeman, R. H., Merenda, P. F., & Gold, R. Z. (1980). Introduction to bivariate and
    multivariate analysis. Scott, Foresman.
    Grömping, U. (2007). Estimators of relative importance in linear regression based on
    variance decomposition. The American Statistician, 61(2), 139-147.
    """
    corr = np.asarray(corr, dtype="float64")
    k = corr.shape[-1] - 1
    if k > MAX_SHAPLEY_DRIVERS:
        raise ValueError(
            f"exact Shapley needs 2^k regressions; use at most {MAX_SHAPLEY_DRIVERS} drivers "
            f"(got {k}) or group drivers into constructs first"
        )
    r2 = _r2_all_subsets(corr)
    masks = np.arange(2**k)
    sizes = np.array([bin(m).count("1") for m in masks])
    weight = np.array([factorial(s) * factorial(k - s - 1) / factorial(k) for s in range(k)])
    phi = np.zeros((*corr.shape[:-2], k))
    for j in range(k):
        without = masks[(masks >> j & 1) == 0]
        gain = r2[..., without | (1 << j)] - r2[..., without]
        phi[..., j] = np.sum(weight[sizes[without]] * gain, axis=-1)
    return phi


def relative_weights(corr) -> np.ndarray:
    """Johnson's relative weights from a correlation matrix (outcome last); they sum to R^2.

    ``corr`` may be a stack of matrices, shape ``(..., k + 1, k + 1)``.

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
    k = corr.shape[-1] - 1
    rxx, rxy = corr[..., :k, :k], corr[..., :k, k]
    lam, vec = np.linalg.eigh(rxx)
    if lam.min() <= 1e-12:
        raise ValueError("the drivers are linearly dependent; drop or combine redundant ones")
    half = (vec * np.sqrt(lam)[..., None, :]) @ np.swapaxes(vec, -1, -2)
    beta = np.linalg.solve(half, rxy[..., None])[..., 0]
    return ((half**2) @ (beta**2)[..., None])[..., 0]


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
    :func:`relative_weights`. Both sum to ``r2`` and are usually close. The shares and
    the ``rank`` here are point estimates: drivers with close shares often swap places
    between samples, so read them with :func:`bootstrap_key_drivers` (intervals,
    probability of each rank, which differences are resolved).

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


IMPORTANCES = ("shapley_share", "relative_weight_share")


def _importance_shares(corr: np.ndarray, importance: str) -> np.ndarray:
    """Shares of R^2 (Shapley or relative weights) of a stack of correlation matrices."""
    vals = shapley_r2(corr) if importance == "shapley_share" else relative_weights(corr)
    return vals / vals.sum(axis=-1, keepdims=True)


def _bootstrap_corr(x: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Correlation matrices of ``n_boot`` bootstrap resamples of the rows of ``x``
    (n x p), shape ``(n_boot, p, p)``.

    Each resample is a vector of counts (how often each row is drawn); its moments are
    ``counts @ [x, x_i x_j]`` for all resamples at once, in chunks of about 10 million
    counts.
    """
    n, p = x.shape
    x = x - x.mean(axis=0)  # centred first: the moments below then lose no precision
    iu = np.triu_indices(p)
    q = np.concatenate([x, x[:, iu[0]] * x[:, iu[1]]], axis=1)
    chunk = max(1, 10_000_000 // n)
    out = np.empty((n_boot, p, p))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        rows = rng.integers(0, n, size=(b, n))
        counts = np.bincount((rows + n * np.arange(b)[:, None]).ravel(), minlength=b * n)
        mom = counts.reshape(b, n).astype("float64") @ q / n
        mean = mom[:, :p]
        second = np.empty((b, p, p))
        second[:, iu[0], iu[1]] = mom[:, p:]
        second[:, iu[1], iu[0]] = mom[:, p:]
        cov = second - mean[:, :, None] * mean[:, None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
            out[start : start + b] = cov / (sd[:, :, None] * sd[:, None, :])
    return out


@dataclass
class DriverBootstrap:
    """Result of :func:`bootstrap_key_drivers`.

    Attributes
    ----------
    shares : pandas.DataFrame
        One row per driver in the order of the point estimates: ``driver, estimate, se,
        ci_low, ci_high, rank, p_rank``; ``se`` is the bootstrap standard deviation,
        ``p_rank`` the share of resamples in which the driver holds its ``rank``.
    ranks : pandas.DataFrame
        ``driver, rank, probability``: P(driver has this rank) over the resamples; the
        probabilities sum to 1 for every driver and for every rank.
    pairs : pandas.DataFrame
        Every pair, the higher-ranked driver first: ``driver_a, driver_b, diff``
        (``estimate_a - estimate_b``), ``ci_low, ci_high`` (percentile interval of the
        difference), ``p_order`` (share of resamples with ``a`` ahead of ``b``) and
        ``resolved`` (the interval excludes 0).
    importance : str
    n_boot : int
        Resamples used (those whose correlation matrix could not be decomposed are left
        out; ``n_boot_requested`` says how many were drawn).
    n_boot_requested : int
    ci : float
    """

    shares: pd.DataFrame
    ranks: pd.DataFrame
    pairs: pd.DataFrame
    importance: str
    n_boot: int
    n_boot_requested: int
    ci: float

    def summary(self) -> pd.DataFrame:
        """The shares with their intervals and rank probabilities."""
        return self.shares

    def unresolved(self) -> list[tuple[str, str]]:
        """Pairs ``(driver_a, driver_b)`` whose order the data do not resolve."""
        rows = self.pairs[~self.pairs["resolved"]]
        return list(zip(rows["driver_a"], rows["driver_b"], strict=True))

    def describe(
        self, language: str = "en", labels: dict[str, dict[str, str] | str] | None = None
    ) -> str:
        """One paragraph saying which differences between drivers are not resolved.

        Parameters
        ----------
        language : {"en", "zh"}
        labels : dict, optional
            Display name of each driver, a string or a mapping language -> string (e.g.
            ``Instrument.construct_labels``); default :func:`crm_lib.i18n.label`.
        """
        from crm_lib.i18n import check_language, label, t

        check_language(language)

        def name(driver: str) -> str:
            shown = (labels or {}).get(driver)
            if isinstance(shown, dict):
                shown = shown.get(language)
            return str(shown) if shown else label(driver, language)

        level = f"{self.ci:.0%}"
        n_boot = f"{self.n_boot:,}"
        todo = self.pairs[~self.pairs["resolved"]]
        if todo.empty:
            return t("drivers_all_resolved", language).format(level=level, n_boot=n_boot)
        sep = "；" if language == "zh" else "; "
        items = sep.join(
            t("drivers_unresolved_pair", language).format(
                a=name(r.driver_a),
                b=name(r.driver_b),
                diff=r.diff,
                low=r.ci_low,
                high=r.ci_high,
                p=r.p_order,
                n_boot=n_boot,
            )
            for r in todo.itertuples(index=False)
        )
        return t("drivers_unresolved", language).format(level=level, pairs=items)


def bootstrap_key_drivers(
    data: pd.DataFrame,
    outcome_col: str,
    driver_cols: list[str],
    *,
    reliabilities: dict[str, float] | None = None,
    importance: str = "shapley_share",
    n_boot: int = 1000,
    ci: float = 0.95,
    random_state: int | None = 0,
) -> DriverBootstrap:
    """Bootstrap intervals for the key-driver shares, the probability of each rank and
    which differences between drivers the data resolve.

    Parameters
    ----------
    data, outcome_col, driver_cols, reliabilities
        As :func:`key_drivers` (rows with a missing value are left out).
    importance : {"shapley_share", "relative_weight_share"}
        The share of R^2 to bootstrap.
    n_boot : int
        Bootstrap resamples (at least 100; 1,000 or more for 95% percentile limits).
    ci : float
        Confidence level of the intervals, and of "resolved".
    random_state : int or None
        Seed of the resampling.

    Returns
    -------
    DriverBootstrap
        ``.shares``, ``.ranks``, ``.pairs``, ``.describe(language)``.

    Notes
    -----
    Nonparametric bootstrap of respondents (Efron & Tibshirani 1993): each resample
    draws ``n`` rows with replacement; its correlation matrix (corrected by
    :func:`disattenuate` with the same, fixed ``reliabilities`` when given) is
    decomposed as in :func:`key_drivers`. All resamples are computed as one array
    operation (resampling counts times the rows' moments; batched decompositions).
    Intervals are percentile intervals; the rank of a driver in a resample is its
    position by share, so P(rank) is the share of resamples in which it holds that
    rank. A pair is *resolved* when the percentile interval of the difference of the
    two shares excludes 0 (about: one driver ahead in more than
    :math:`1 - (1 - ci)/2` of the resamples); otherwise the data cannot order the two,
    whatever the point estimates say.

    The reliabilities are held fixed, so their own sampling error is not propagated
    (the corrected intervals are somewhat too narrow). Percentile intervals of shares
    are first-order accurate; at a few hundred respondents they may cover a little
    less than ``ci``. Resamples whose drivers are linearly dependent (or whose corrected
    matrix is not positive definite) are left out and counted (``n_boot``).

    References
    ----------
    Efron, B., & Tibshirani, R. J. (1993). An introduction to the bootstrap. Chapman &
    Hall. Chapter 13 (percentile intervals).
    Azen, R., & Budescu, D. V. (2003). The dominance analysis approach for comparing
    predictors in multiple regression. Psychological Methods, 8(2), 129-148 (bootstrap
    of importance and of the reproducibility of the ranking).
    Grömping, U. (2007). The American Statistician, 61(2), 139-147.
    """
    if importance not in IMPORTANCES:
        raise ValueError(
            f"importance must be 'shapley_share' or 'relative_weight_share', got {importance!r}"
        )
    if int(n_boot) != n_boot or n_boot < 100:
        raise ValueError(f"n_boot must be at least 100 resamples, got {n_boot}")
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci}")
    driver_cols = list(driver_cols)
    point = key_drivers(data, outcome_col, driver_cols, reliabilities=reliabilities)
    point = point.sort_values(importance, ascending=False, ignore_index=True)
    df = data[[*driver_cols, outcome_col]].apply(pd.to_numeric).astype("float64").dropna()
    k = len(driver_cols)
    rng = np.random.default_rng(random_state)
    corr = _bootstrap_corr(df.to_numpy(), int(n_boot), rng)
    ok = np.isfinite(corr).all(axis=(1, 2))
    if reliabilities is not None:
        d = np.sqrt(np.r_[[float(reliabilities[c]) for c in driver_cols], 1.0])
        corr = corr / np.outer(d, d)
        corr[:, np.arange(k + 1), np.arange(k + 1)] = 1.0
        ok &= (np.abs(np.where(np.isfinite(corr), corr, 2.0)) <= 1 + 1e-12).all(axis=(1, 2))
        full = corr
    else:
        full = corr[:, :k, :k]
    ok[ok] = np.linalg.eigvalsh(full[ok]).min(axis=1) > 1e-10
    if ok.sum() < 100:
        raise ValueError(
            f"only {int(ok.sum())} of {n_boot} bootstrap resamples could be decomposed "
            "(drivers linearly dependent or corrected correlations impossible); use more "
            "respondents or fewer drivers"
        )
    if not ok.all():
        warnings.warn(
            f"{int((~ok).sum())} of {n_boot} bootstrap resamples left out: drivers "
            "linearly dependent or corrected matrix not positive definite",
            RuntimeWarning,
            stacklevel=2,
        )
    order = [driver_cols.index(c) for c in point["driver"]]
    draws = _importance_shares(corr[ok], importance)[:, order]  # B x k, point order
    est = point[importance].to_numpy()
    tail = (1 - ci) / 2
    lo, hi = np.quantile(draws, [tail, 1 - tail], axis=0)
    rank_draws = np.argsort(np.argsort(-draws, axis=1), axis=1) + 1
    p_rank = (rank_draws[:, :, None] == np.arange(1, k + 1)).mean(axis=0)  # driver x rank
    names = point["driver"].tolist()
    shares = pd.DataFrame(
        {
            "driver": names,
            "estimate": est,
            "se": draws.std(axis=0, ddof=1),
            "ci_low": lo,
            "ci_high": hi,
            "rank": np.arange(1, k + 1),
            "p_rank": np.diag(p_rank),
        }
    )
    ranks = pd.DataFrame(
        {
            "driver": np.repeat(names, k),
            "rank": np.tile(np.arange(1, k + 1), k),
            "probability": p_rank.ravel(),
        }
    )
    ia, ib = np.triu_indices(k, 1)
    diff_draws = draws[:, ia] - draws[:, ib]
    dlo, dhi = np.quantile(diff_draws, [tail, 1 - tail], axis=0)
    pairs = pd.DataFrame(
        {
            "driver_a": [names[i] for i in ia],
            "driver_b": [names[j] for j in ib],
            "diff": est[ia] - est[ib],
            "ci_low": dlo,
            "ci_high": dhi,
            "p_order": (diff_draws > 0).mean(axis=0),
            "resolved": ~((dlo <= 0) & (0 <= dhi)),
        }
    )
    return DriverBootstrap(
        shares=shares,
        ranks=ranks,
        pairs=pairs,
        importance=importance,
        n_boot=int(ok.sum()),
        n_boot_requested=int(n_boot),
        ci=float(ci),
    )


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
