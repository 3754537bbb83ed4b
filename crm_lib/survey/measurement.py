"""Measurement quality of multi-item scales: reliability, KMO, Bartlett, factor analysis."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from crm_lib.survey.instrument import Instrument, _require


def _items_frame(
    data: pd.DataFrame,
    items: list[str],
    instrument: Instrument | None,
    min_items: int = 2,
    *,
    complete: bool = True,
) -> pd.DataFrame:
    """The items as float columns, reverse-coded per ``instrument``, listwise complete
    (``complete=False``: every respondent with at least one answer)."""
    if len(items) < min_items:
        raise ValueError(f"need at least {min_items} items, got {len(items)}: {items}")
    if len(set(items)) != len(items):
        raise ValueError(f"items must be distinct, got {items}")
    _require(data, items, "data")
    df = data[items]
    if instrument is not None:
        df = instrument.reverse_code(df)
    return df.apply(pd.to_numeric).astype("float64").dropna(how="any" if complete else "all")


# ------------------------------------------------------------------ reliability

NAN_POLICIES = ("listwise", "pairwise")


@dataclass
class Reliability:
    """Result of :func:`reliability`.

    Attributes
    ----------
    scale : pandas.DataFrame
        One row: ``n, n_ci, k, alpha, ci_low, ci_high, omega, nan_policy``.
    items : pandas.DataFrame
        One row per item: ``item, mean, sd, item_total_r`` (corrected: item against the
        sum of the other items), ``alpha_if_deleted``.
    """

    scale: pd.DataFrame
    items: pd.DataFrame

    @property
    def alpha(self) -> float:
        return float(self.scale["alpha"].iloc[0])

    def summary(self) -> pd.DataFrame:
        return self.scale


def _alpha_from_cov(c: np.ndarray) -> float:
    """Cronbach's alpha from an item covariance matrix: k/(k-1) (1 - tr C / 1'C1)."""
    k = c.shape[0]
    return float(k / (k - 1) * (1 - np.trace(c) / c.sum()))


def _check_not_constant(df: pd.DataFrame) -> None:
    """A constant item has no variance: its item-total correlation is undefined and it
    still counts in alpha's k, biasing alpha; refuse it, naming the item."""
    for item in df.columns:
        values = df[item].dropna().unique()
        if len(values) <= 1:
            shown = f"every answer is {values[0]:g}" if len(values) else "no answers"
            raise ValueError(
                f"item {item!r} is constant ({shown}): it carries no information about "
                "the scale, leaves its item-total correlation undefined and biases alpha "
                "(it still counts in k); drop it from the items"
            )


def _feldt_interval(alpha: float, n: int, k: int, ci: float) -> tuple[float, float]:
    """Feldt, Woodruff & Salih (1987): (1 - alpha) / (1 - alpha_hat) ~ F(n - 1, (n - 1)(k - 1))."""
    df1 = n - 1
    df2 = df1 * (k - 1)
    tail = (1 - ci) / 2
    lower = 1 - (1 - alpha) * stats.f.isf(tail, df1, df2)
    upper = 1 - (1 - alpha) * stats.f.isf(1 - tail, df1, df2)
    return float(lower), float(upper)


def _omega(x: np.ndarray) -> float:
    """McDonald's omega of the sum score from a one-factor model fitted to the
    covariance matrix by maximum likelihood (scikit-learn's FactorAnalysis)."""
    from sklearn.decomposition import FactorAnalysis

    if x.shape[1] < 3 or x.shape[0] < 3:
        return np.nan  # a one-factor model of two items is not identified
    fa = FactorAnalysis(n_components=1, tol=1e-10, max_iter=10_000, svd_method="lapack")
    fa.fit(x - x.mean(axis=0))
    lam = fa.components_[0]
    common = lam.sum() ** 2
    return float(common / (common + fa.noise_variance_.sum()))


def reliability(
    data: pd.DataFrame,
    items: list[str],
    *,
    instrument: Instrument | None = None,
    ci: float = 0.95,
    nan_policy: str = "listwise",
) -> Reliability:
    """Cronbach's alpha with its interval, McDonald's omega, corrected item-total
    correlations and alpha-if-item-deleted.

    Parameters
    ----------
    data : pandas.DataFrame
    items : list of str
        Item columns of one scale (two or more).
    instrument : Instrument, optional
        When given, its reverse-coded items are recoded first (``min + max - x``);
        without it the items must already point the same way.
    ci : float
        Confidence level of the interval.
    nan_policy : {"listwise", "pairwise"}
        Missing answers: ``"listwise"`` (default) uses only the respondents who answered
        every item; ``"pairwise"`` estimates each item covariance from the respondents
        who answered both items, as ``pingouin.cronbach_alpha(..., nan_policy=
        "pairwise")`` and R's ``psych::alpha(use = "pairwise")``. The policy used is
        the ``nan_policy`` column of ``.scale``.

    Returns
    -------
    Reliability
        ``.scale`` (``n, n_ci, k, alpha, ci_low, ci_high, omega, nan_policy``) and
        ``.items``. ``n``: respondents used (listwise: complete; pairwise: with at
        least one answer); ``n_ci``: the sample size of the interval (listwise ``n``;
        pairwise the fewest respondents who answered a pair of items, a conservative
        choice: pingouin takes every row, answered or not).

    Raises
    ------
    ValueError
        When an item is constant among the respondents used (no variance: its
        item-total correlation is undefined and it biases alpha); the message names it.
        When fewer than 3 respondents are left (listwise) or answer some pair of items
        (pairwise).

    Notes
    -----
    With the item covariance matrix :math:`C` (item variances :math:`s_j^2` on its
    diagonal; the variance of the sum score is :math:`s_X^2 = 1'C1`),

    .. math:: \\alpha = \\frac{k}{k-1}\\left(1 - \\frac{\\sum_j s_j^2}{s_X^2}\\right)
              = \\frac{k}{k-1}\\left(1 - \\frac{\\operatorname{tr} C}{1'C1}\\right).

    Listwise, :math:`C` is the covariance of the complete respondents; pairwise, each
    :math:`C_{jl}` uses the respondents who answered items :math:`j` and :math:`l`
    (and each :math:`s_j^2` everyone who answered :math:`j`). Pairwise keeps more
    information when answers are missing at random, but :math:`C` need not be positive
    semi-definite. Item statistics come from the same :math:`C`: the corrected
    item-total correlation is
    :math:`\\sum_{l \\ne j} C_{jl} / \\sqrt{C_{jj} \\sum_{l, m \\ne j} C_{lm}}` (the
    correlation of item :math:`j` with the sum of the others) and alpha-if-deleted is
    alpha of :math:`C` without row and column :math:`j`.

    The interval is the F-based one of Feldt et al. (1987), limits
    :math:`1 - (1 - \\hat\\alpha) F_{1 - \\gamma/2}` and
    :math:`1 - (1 - \\hat\\alpha) F_{\\gamma/2}` (quantiles of
    :math:`F(n - 1, (n - 1)(k - 1))` with :math:`n` = ``n_ci``, :math:`\\gamma` = 1 -
    ``ci``); the same as ``pingouin.cronbach_alpha``, which rounds the limits to three
    decimals (not here).

    Omega (McDonald 1999) is the reliability of the sum score under a one-factor model
    :math:`x_j = \\mu_j + \\lambda_j f + \\epsilon_j` fitted by maximum likelihood to
    the item covariances,

    .. math:: \\omega = \\frac{(\\sum_j \\lambda_j)^2}
              {(\\sum_j \\lambda_j)^2 + \\sum_j \\psi_j};

    alpha equals it for tau-equivalent items (equal loadings) and is a lower bound
    otherwise. Missing (NaN) for fewer than three items. It is always fitted to the
    respondents who answered every item (the maximum-likelihood fit needs complete
    rows), whatever ``nan_policy``.

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    Psychometrika, 16(3), 297-334.
    Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference for
    coefficient alpha. Applied Psychological Measurement, 11(1), 93-103.
    McDonald, R. P. (1999). Test theory: A unified treatment. Erlbaum. Chapter 6.
    """
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci}")
    if nan_policy not in NAN_POLICIES:
        raise ValueError(f"nan_policy must be 'listwise' or 'pairwise', got {nan_policy!r}")
    pairwise = nan_policy == "pairwise"
    df = _items_frame(data, list(items), instrument, complete=not pairwise)
    answered = df.notna().to_numpy().astype("int64")
    pair_n = answered.T @ answered
    n_ci = int(pair_n.min())
    if n_ci < 3:
        raise ValueError(
            f"need at least 3 respondents answering each pair of items, got {n_ci}"
            if pairwise
            else f"need at least 3 complete respondents, got {n_ci}"
        )
    _check_not_constant(df)
    c = df.cov().to_numpy()  # pairwise complete; the plain covariance without gaps
    k = c.shape[0]
    alpha = _alpha_from_cov(c)
    interval = _feldt_interval(alpha, n_ci, k, ci)
    rows = []
    for j, item in enumerate(df.columns):
        rest = np.delete(np.arange(k), j)
        c_rest = c[np.ix_(rest, rest)]
        rows.append(
            {
                "item": item,
                "mean": float(df[item].mean()),
                "sd": float(np.sqrt(c[j, j])),
                "item_total_r": float(c[j, rest].sum() / np.sqrt(c[j, j] * c_rest.sum())),
                "alpha_if_deleted": _alpha_from_cov(c_rest) if len(rest) >= 2 else np.nan,
            }
        )
    scale = pd.DataFrame(
        {
            "n": [len(df)],
            "n_ci": [n_ci],
            "k": [k],
            "alpha": [alpha],
            "ci_low": [float(interval[0])],
            "ci_high": [float(interval[1])],
            "omega": [_omega(df.dropna().to_numpy())],
            "nan_policy": [nan_policy],
        }
    )
    return Reliability(scale=scale, items=pd.DataFrame(rows))


def reliability_table(
    data: pd.DataFrame, instrument: Instrument, *, ci: float = 0.95, nan_policy: str = "listwise"
) -> pd.DataFrame:
    """:func:`reliability` of every construct of ``instrument`` (reverse-coded first).

    Returns
    -------
    pandas.DataFrame
        One row per construct: ``construct, n, n_ci, k, alpha, ci_low, ci_high, omega,
        nan_policy, min_item_total_r``.
    """
    rows = []
    for name, items in instrument.constructs.items():
        if len(items) < 2:
            continue
        try:
            rel = reliability(data, items, instrument=instrument, ci=ci, nan_policy=nan_policy)
        except ValueError as err:
            raise ValueError(f"construct {name!r}: {err}") from err
        row = rel.scale.iloc[0].to_dict()
        rows.append({"construct": name, **row, "min_item_total_r": rel.items["item_total_r"].min()})
    out = pd.DataFrame(rows)
    out[["n", "n_ci", "k"]] = out[["n", "n_ci", "k"]].astype("int64")
    return out


# ------------------------------------------------------------- KMO and Bartlett


def _check_corr(corr) -> np.ndarray:
    r = np.asarray(corr, dtype="float64")
    if r.ndim != 2 or r.shape[0] != r.shape[1] or r.shape[0] < 2:
        raise ValueError(f"corr must be a square matrix of at least 2 x 2, got shape {r.shape}")
    if not np.allclose(r, r.T) or not np.allclose(np.diag(r), 1):
        raise ValueError("corr must be a symmetric correlation matrix with ones on the diagonal")
    return r


def kmo_from_corr(corr) -> tuple[float, np.ndarray]:
    """Kaiser-Meyer-Olkin measure of sampling adequacy from a correlation matrix.

    Returns
    -------
    (float, numpy.ndarray)
        Overall KMO and the per-variable MSA.

    Notes
    -----
    With the partial correlations :math:`p_{ij} = -q_{ij}/\\sqrt{q_{ii} q_{jj}}`,
    :math:`Q = R^{-1}`,

    .. math:: \\mathrm{KMO} = \\frac{\\sum_{i \\ne j} r_{ij}^2}
              {\\sum_{i \\ne j} r_{ij}^2 + \\sum_{i \\ne j} p_{ij}^2},

    and :math:`\\mathrm{MSA}_i` the same with the sums over :math:`j \\ne i` only.

    References
    ----------
    Kaiser, H. F. (1970). A second generation little jiffy. Psychometrika, 35(4), 401-415.
    Kaiser, H. F. (1974). An index of factorial simplicity. Psychometrika, 39(1), 31-36.
    """
    r = _check_corr(corr)
    q = np.linalg.inv(r)
    d = np.sqrt(np.diag(q))
    p = -q / np.outer(d, d)
    off = ~np.eye(r.shape[0], dtype=bool)
    r2, p2 = np.where(off, r**2, 0), np.where(off, p**2, 0)
    overall = float(r2.sum() / (r2.sum() + p2.sum()))
    per = r2.sum(axis=1) / (r2.sum(axis=1) + p2.sum(axis=1))
    return overall, per


def bartlett_from_corr(corr, n: int) -> tuple[float, int, float]:
    """Bartlett's test of sphericity (H0: the correlation matrix is the identity).

    Returns
    -------
    (statistic, df, p_value)

    Notes
    -----
    .. math:: \\chi^2 = -\\left(n - 1 - \\frac{2p + 5}{6}\\right) \\ln |R|,
              \\quad df = p(p-1)/2.

    References
    ----------
    Bartlett, M. S. (1951). The effect of standardization on a chi square approximation
    in factor analysis. Biometrika, 38(3/4), 337-344.
    """
    r = _check_corr(corr)
    p = r.shape[0]
    if n <= p:
        raise ValueError(f"Bartlett's test needs more respondents than items (n={n}, p={p})")
    sign, logdet = np.linalg.slogdet(r)
    if sign <= 0:
        raise ValueError("corr is singular or not positive definite; drop redundant items")
    stat = float(-(n - 1 - (2 * p + 5) / 6) * logdet)
    df = p * (p - 1) // 2
    return stat, df, float(stats.chi2.sf(stat, df))


def kmo(data: pd.DataFrame, items: list[str]) -> pd.DataFrame:
    """KMO per item and overall (last row, ``item = 'overall'``): columns ``item, kmo``.

    See :func:`kmo_from_corr` for the formula; missing answers are dropped listwise.
    Kaiser (1974): >= 0.9 marvelous, 0.8 meritorious, 0.7 middling, 0.6 mediocre,
    0.5 miserable, below unacceptable.
    """
    df = _items_frame(data, list(items), None)
    overall, per = kmo_from_corr(np.corrcoef(df.to_numpy(), rowvar=False))
    return pd.DataFrame({"item": [*df.columns, "overall"], "kmo": [*per, overall]})


def bartlett_sphericity(data: pd.DataFrame, items: list[str]) -> pd.DataFrame:
    """Bartlett's sphericity test on the item correlations (:func:`bartlett_from_corr`).

    Returns
    -------
    pandas.DataFrame
        One row: ``n, p, statistic, df, p_value``.
    """
    df = _items_frame(data, list(items), None)
    stat, dof, pval = bartlett_from_corr(np.corrcoef(df.to_numpy(), rowvar=False), len(df))
    return pd.DataFrame(
        {"n": [len(df)], "p": [df.shape[1]], "statistic": [stat], "df": [dof], "p_value": [pval]}
    )


# --------------------------------------------------------------- factor analysis


@dataclass
class FactorResult:
    """Result of :func:`factor_analysis`.

    Attributes
    ----------
    loadings : pandas.DataFrame
        Items x factors (``factor_1`` ...), in correlation units (items standardised).
    communalities : pandas.DataFrame
        ``item, communality, uniqueness``.
    variance : pandas.DataFrame
        ``factor, ss_loadings, share_of_variance``.
    kmo : pandas.DataFrame
        See :func:`kmo`.
    bartlett : pandas.DataFrame
        See :func:`bartlett_sphericity`.
    """

    loadings: pd.DataFrame
    communalities: pd.DataFrame
    variance: pd.DataFrame
    kmo: pd.DataFrame
    bartlett: pd.DataFrame

    def primary_factor(self) -> pd.Series:
        """The factor each item loads highest on (by absolute loading)."""
        return self.loadings.abs().idxmax(axis=1).rename("factor")

    def summary(self) -> pd.DataFrame:
        return self.variance


def factor_analysis(
    data: pd.DataFrame,
    items: list[str],
    n_factors: int,
    *,
    rotation: str | None = "varimax",
    instrument: Instrument | None = None,
    random_state: int = 0,
) -> FactorResult:
    """Exploratory (maximum-likelihood) factor analysis with KMO and Bartlett's test.

    Parameters
    ----------
    data : pandas.DataFrame
    items : list of str
    n_factors : int
        Number of factors (1 to number of items - 1).
    rotation : {"varimax", "quartimax", None}
        Passed to :class:`sklearn.decomposition.FactorAnalysis`.
    instrument : Instrument, optional
        Reverse-code its reverse items first (then all loadings of one construct share a
        sign).
    random_state : int
        Seed of the randomised SVD of scikit-learn.

    Returns
    -------
    FactorResult

    Notes
    -----
    Items are standardised, so the model :math:`z = \\Lambda f + \\epsilon` has loadings
    :math:`\\Lambda` on the correlation scale and communality
    :math:`h_i^2 = \\sum_k \\lambda_{ik}^2`. Factor signs are set so that each factor's
    largest loading is positive. Missing answers are dropped listwise.

    References
    ----------
    Kaiser, H. F. (1958). The varimax criterion for analytic rotation in factor analysis.
    Psychometrika, 23(3), 187-200.
    """
    from sklearn.decomposition import FactorAnalysis

    items = list(items)
    if not 1 <= n_factors < len(items):
        raise ValueError(f"n_factors must be between 1 and {len(items) - 1}, got {n_factors}")
    df = _items_frame(data, items, instrument, min_items=3)
    z = (df - df.mean()) / df.std(ddof=0)
    fa = FactorAnalysis(n_components=n_factors, rotation=rotation, random_state=random_state)
    fa.fit(z.to_numpy())
    lam = fa.components_.T
    flip = np.sign(lam[np.abs(lam).argmax(axis=0), np.arange(n_factors)])
    lam = lam * flip
    names = [f"factor_{k + 1}" for k in range(n_factors)]
    loadings = pd.DataFrame(lam, index=pd.Index(items, name="item"), columns=names)
    comm = (lam**2).sum(axis=1)
    ss = (lam**2).sum(axis=0)
    return FactorResult(
        loadings=loadings,
        communalities=pd.DataFrame(
            {"item": items, "communality": comm, "uniqueness": fa.noise_variance_}
        ),
        variance=pd.DataFrame(
            {"factor": names, "ss_loadings": ss, "share_of_variance": ss / len(items)}
        ),
        kmo=kmo(df, items),
        bartlett=bartlett_sphericity(df, items),
    )
