"""Survey weights: raking to known margins, Kish's design effect, weighted estimates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_lib.survey.instrument import _require


def effective_sample_size(weights) -> float:
    """Kish's effective sample size :math:`n_{eff} = (\\sum w)^2 / \\sum w^2`."""
    w = _check_weights(weights)
    return float(w.sum() ** 2 / np.sum(w**2))


def design_effect(weights) -> float:
    """Kish's design effect of unequal weighting.

    Notes
    -----
    .. math:: \\mathrm{deff} = \\frac{n \\sum w_i^2}{(\\sum w_i)^2} = 1 + \\mathrm{CV}^2(w)

    (CV with the population standard deviation); :math:`n_{eff} = n / \\mathrm{deff}`.

    References
    ----------
    Kish, L. (1965). Survey Sampling. Wiley. Section 11.7.

    Examples
    --------
    >>> design_effect([1, 1, 2, 4])
    1.375
    """
    w = _check_weights(weights)
    return float(len(w) * np.sum(w**2) / w.sum() ** 2)


def _check_weights(weights) -> np.ndarray:
    w = np.asarray(weights, dtype="float64")
    if w.ndim != 1 or len(w) == 0:
        raise ValueError("weights must be a non-empty 1-d array")
    if np.isnan(w).any() or (w < 0).any() or w.sum() <= 0:
        raise ValueError("weights must be non-negative, not missing, and not all zero")
    return w


def _check_margins(data: pd.DataFrame, margins: dict) -> dict[str, pd.Series]:
    if not margins:
        raise ValueError("margins is empty; pass {column: {value: population share}}")
    _require(data, list(margins), "data")
    out = {}
    for col, shares in margins.items():
        target = pd.Series(shares, dtype="float64")
        if (target <= 0).any() or target.isna().any():
            raise ValueError(f"target shares of {col!r} must be positive; got {dict(target)}")
        if abs(target.sum() - 1) > 1e-6:
            raise ValueError(
                f"target shares of {col!r} sum to {target.sum():.6g}; they must sum to 1"
            )
        if data[col].isna().any():
            raise ValueError(
                f"{col!r} has missing values; impute them or add a 'missing' category "
                "with its own target share"
            )
        seen = set(data[col].unique())
        no_target = sorted(map(str, seen - set(target.index)))
        if no_target:
            raise ValueError(
                f"value(s) {no_target} of {col!r} have no target share; add them to margins "
                "or collapse categories"
            )
        empty = sorted(map(str, set(target.index) - seen))
        if empty:
            raise ValueError(
                f"no respondent has {col!r} in {empty}; collapse these categories with a "
                "neighbour before raking"
            )
        out[col] = target
    return out


def _ipf(w, codes, targets, max_iter, tol, bounds=None):
    """IPF sweeps; with ``bounds`` (absolute lower, upper) weights are clipped after every
    margin step (bounded raking), so the result meets margins and bounds together."""
    total = w.sum()
    err = np.inf
    for it in range(1, max_iter + 1):
        for c, t in zip(codes, targets, strict=True):
            sums = np.bincount(c, weights=w, minlength=len(t))
            w = w * (t * total / sums)[c]
            if bounds is not None:
                w = np.clip(w, *bounds)
        err = max(
            np.abs(np.bincount(c, weights=w, minlength=len(t)) / w.sum() - t).max()
            for c, t in zip(codes, targets, strict=True)
        )
        if err < tol:
            return w, it, err
    return w, max_iter, err


def rake(
    data: pd.DataFrame,
    margins: dict[str, dict],
    *,
    weight_col: str | None = None,
    max_iter: int = 200,
    tol: float = 1e-10,
    trim: tuple[float, float] | None = None,
) -> pd.Series:
    """Rake (iterative proportional fitting) weights so that weighted shares match
    population margins.

    Parameters
    ----------
    data : pandas.DataFrame
        Respondents.
    margins : dict
        ``{column: {value: population share}}``; shares of a column sum to 1 and every
        value present in the column needs a share.
    weight_col : str, optional
        Base (design) weights; default 1.
    max_iter : int
        Most IPF sweeps over all margins.
    tol : float
        Convergence: the largest absolute difference between a weighted share and its
        target.
    trim : (float, float), optional
        Bounds on the weights as multiples of the mean base weight, e.g. ``(0.3, 3.0)``.
        Weights are clipped after every IPF step (bounded raking), so the result meets
        the margins and the bounds together; too tight bounds make it fail to converge.

    Returns
    -------
    pandas.Series
        ``weight`` on the index of ``data``, summing to the sum of the base weights (n
        by default). ``attrs``: ``iterations``, ``max_margin_error``, ``design_effect``,
        ``n_eff``.

    Raises
    ------
    ValueError
        On inconsistent margins (message says which column and value).
    RuntimeError
        When IPF does not converge within ``max_iter`` sweeps (often: a margin
        combination with no respondent; collapse categories).

    Notes
    -----
    Each sweep scales, for every margin :math:`m` and category :math:`c`,
    :math:`w_i \\leftarrow w_i \\, T_{mc} \\sum_j w_j / \\sum_{j: x_{im} = c} w_j`.
    IPF converges to the weights closest to the base weights in the raking
    (Kullback-Leibler) distance among those that meet the margins.

    References
    ----------
    Deming, W. E., & Stephan, F. F. (1940). On a least squares adjustment of a sampled
    frequency table when the expected marginal totals are known. Annals of Mathematical
    Statistics, 11(4), 427-444.
    Deville, J.-C., & Särndal, C.-E. (1992). Calibration estimators in survey sampling.
    JASA, 87(418), 376-382.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sex": ["f", "f", "f", "m"]})
    >>> rake(df, {"sex": {"f": 0.5, "m": 0.5}}).tolist()
    [0.6666666666666666, 0.6666666666666666, 0.6666666666666666, 2.0]
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    targets = _check_margins(data, margins)
    if weight_col is None:
        w0 = np.ones(len(data))
    else:
        _require(data, [weight_col], "data")
        w0 = _check_weights(data[weight_col])
    if trim is not None and not (0 < trim[0] < 1 < trim[1]):
        raise ValueError(f"trim must be (lower, upper) with 0 < lower < 1 < upper, got {trim}")
    codes, tvals = [], []
    for col, target in targets.items():
        cat = pd.Categorical(data[col], categories=target.index)
        codes.append(np.asarray(cat.codes))
        tvals.append(target.to_numpy())
    bounds = None if trim is None else (trim[0] * w0.mean(), trim[1] * w0.mean())
    w, iterations, err = _ipf(w0.copy(), codes, tvals, max_iter, tol, bounds)
    if err >= tol:
        hint = "widen trim, " if trim is not None else ""
        raise RuntimeError(
            f"raking did not converge in {max_iter} sweeps (largest margin error {err:.2e}); "
            f"{hint}collapse sparse categories or raise max_iter"
        )
    w = w * w0.sum() / w.sum()
    out = pd.Series(w, index=data.index, name="weight")
    out.attrs.update(
        iterations=int(iterations),
        max_margin_error=float(err),
        design_effect=design_effect(w),
        n_eff=effective_sample_size(w),
    )
    return out


def weighted_estimates(data: pd.DataFrame, value_cols: list[str], weight_col: str) -> pd.DataFrame:
    """Unweighted and weighted means side by side.

    Returns
    -------
    pandas.DataFrame
        One row per column: ``variable, n, n_eff, design_effect, unweighted, weighted,
        difference`` (weighted - unweighted); missing values are left out per column.
    """
    _require(data, [*value_cols, weight_col], "data")
    rows = []
    for col in value_cols:
        x = pd.to_numeric(data[col]).astype("float64")
        ok = x.notna()
        w = _check_weights(data.loc[ok, weight_col])
        xv = x[ok].to_numpy()
        weighted = float(w @ xv / w.sum())
        rows.append(
            {
                "variable": col,
                "n": int(ok.sum()),
                "n_eff": effective_sample_size(w),
                "design_effect": design_effect(w),
                "unweighted": float(xv.mean()),
                "weighted": weighted,
                "difference": weighted - float(xv.mean()),
            }
        )
    return pd.DataFrame(rows)
