"""Survival models of churn: Kaplan-Meier curves and Cox proportional hazards.

Both are thin, tidy wrappers around statsmodels (``SurvfuncRight`` and ``PHReg`` with
Efron's handling of ties), which reproduce R's ``survival`` and lifelines on their Rossi
example (``tests/churn/test_survival.py``). lifelines is not used: its releases after 0.30.0
exclude pandas 3; scikit-survival is GPL.

The Cox model
-------------
.. math:: h_i(t) = h_0(t) \\exp(x_i^\\top \\beta)

with an unspecified baseline hazard ``h_0``; ``exp(beta_j)`` is the hazard ratio of one
unit of covariate ``j``. The probability that a customer active at tenure ``tau`` churns
within the next ``h`` is ``1 - (S_0(tau + h) / S_0(tau))^{exp(x^T beta)}`` with the
Breslow baseline ``S_0``.

Proportional-hazards check
--------------------------
Under the model, the Schoenfeld residual of each covariate has no trend in time
(Grambsch & Therneau 1994). :meth:`CoxModel.ph_test` correlates each covariate's residuals
with the rank of the event times; a small p-value says that covariate's effect changes with
tenure (stratify on it, or let the effect vary with time).

References
----------
Cox, D. R. (1972). Regression models and life-tables. *JRSS B*, 34(2), 187-220.
Efron, B. (1977). The efficiency of Cox's likelihood function for censored data. *JASA*,
72, 557-565.
Grambsch, P. M., & Therneau, T. M. (1994). Proportional hazards tests and diagnostics based
on weighted residuals. *Biometrika*, 81(3), 515-526.
Kaplan, E. L., & Meier, P. (1958). Nonparametric estimation from incomplete observations.
*JASA*, 53, 457-481.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["CoxModel", "design_matrix", "kaplan_meier"]


def _check_columns(data: pd.DataFrame, cols: Sequence[str]) -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise ValueError(
            f"data has no column {missing[0]!r}; columns: {', '.join(map(str, data.columns))}"
        )


def _duration_event(data: pd.DataFrame, duration_col: str, event_col: str):
    t = pd.to_numeric(data[duration_col], errors="coerce").to_numpy(dtype=float)
    e = data[event_col].astype("boolean")
    bad = ~np.isfinite(t) | (t < 0) | e.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{int(bad.sum())} rows have a missing or negative {duration_col} or a missing "
            f"{event_col} (first at row {i}); drop or fix them first"
        )
    return t, e.to_numpy(dtype=bool)


def kaplan_meier(
    data: pd.DataFrame,
    *,
    duration_col: str,
    event_col: str,
    group_col: str | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Kaplan-Meier survival curves, overall or per group.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per customer.
    duration_col : str
        Time observed (until churn, or until the end of the data).
    event_col : str
        True where the customer churned (False: censored, still active).
    group_col : str, optional
        One curve per value.
    alpha : float
        Pointwise intervals at level ``1 - alpha`` (statsmodels' log-log transform).

    Returns
    -------
    pandas.DataFrame
        ``group, time, survival, ci_low, ci_high, at_risk, events``; each curve starts at
        ``time = 0, survival = 1``.

    Notes
    -----
    :math:`\\hat S(t) = \\prod_{t_j \\le t} (1 - d_j / n_j)` with ``d_j`` churns and
    ``n_j`` customers at risk at ``t_j``.
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    cols = [duration_col, event_col] + ([group_col] if group_col else [])
    _check_columns(data, cols)
    groups = data.groupby(group_col, sort=True, observed=True) if group_col else [("all", data)]
    frames = []
    for name, g in groups:
        t, e = _duration_event(g, duration_col, event_col)
        sf = SurvfuncRight(t, e.astype(float))
        z = stats.norm.ppf(1 - alpha / 2)
        s = sf.surv_prob
        with np.errstate(divide="ignore", invalid="ignore"):
            # log-log interval (as R's survfit conf.type="log-log")
            theta = np.log(-np.log(s))
            se_ll = sf.surv_prob_se / (s * np.abs(np.log(s)))
            lo = np.exp(-np.exp(theta + z * se_ll))
            hi = np.exp(-np.exp(theta - z * se_ll))
        lo = np.where(np.isfinite(lo), lo, s)
        hi = np.where(np.isfinite(hi), hi, s)
        frames.append(
            pd.DataFrame(
                {
                    "group": [name] * (len(s) + 1),
                    "time": np.r_[0.0, sf.surv_times],
                    "survival": np.r_[1.0, s],
                    "ci_low": np.r_[1.0, lo],
                    "ci_high": np.r_[1.0, hi],
                    "at_risk": np.r_[len(t), sf.n_risk].astype(np.int64),
                    "events": np.r_[0, sf.n_events].astype(np.int64),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def design_matrix(
    data: pd.DataFrame,
    covariates: Sequence[str],
    *,
    reference: dict[str, str] | None = None,
    levels: dict[str, list] | None = None,
) -> pd.DataFrame:
    """Numeric design: numbers and booleans as they are, categories as 0/1 dummies.

    A text/category column ``c`` gives one column ``c_<level>`` per level except its
    reference (``reference[c]``, default the first level in sorted order). ``levels``
    (from an earlier call, ``design.attrs["levels"]``) fixes the levels so that a test set
    gets the training set's columns.
    """
    _check_columns(data, covariates)
    reference = dict(reference or {})
    known = dict(levels or {})
    parts = []
    used_levels: dict[str, list] = {}
    for c in covariates:
        s = data[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            parts.append(pd.to_numeric(s.astype("float64")).rename(c).reset_index(drop=True))
            continue
        lv = known.get(c) or sorted(s.dropna().astype(str).unique())
        ref = reference.get(c, lv[0])
        if ref not in lv:
            raise ValueError(f"reference level {ref!r} of {c!r} is not one of {lv}")
        lv = [ref] + [x for x in lv if x != ref]
        used_levels[c] = lv
        text = s.astype(str).reset_index(drop=True)
        for level in lv[1:]:
            parts.append((text == level).astype("float64").rename(f"{c}_{level}"))
    out = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=range(len(data)))
    out.attrs["levels"] = used_levels
    return out


def _drop_collinear(x: pd.DataFrame, tol: float = 1e-8) -> pd.DataFrame:
    """Keep columns in order while each adds rank (e.g. a "no internet service" dummy that
    repeats across several service columns is kept once); constant columns are dropped.

    One QR decomposition of the centred design: column ``j`` lies in the span of the
    columns before it exactly when ``|R_jj|`` is (numerically) zero.
    """
    from scipy import linalg

    centred = (x - x.mean()).to_numpy(dtype=float)
    if centred.shape[1] == 0:
        out = x.copy()
        out.attrs["dropped"] = []
        return out
    r = linalg.qr(centred, mode="r")[0]
    diag = np.abs(np.diag(r))
    scale = np.linalg.norm(centred, axis=0)
    keep_mask = diag > tol * np.maximum(scale, 1.0) * max(1, centred.shape[0]) ** 0.5
    keep = [c for c, k in zip(x.columns, keep_mask, strict=True) if k]
    out = x[keep].copy()
    out.attrs["dropped"] = [c for c in x.columns if c not in keep]
    return out


class CoxModel:
    """Cox proportional-hazards model (statsmodels ``PHReg``, Efron ties) on a tidy table.

    Parameters
    ----------
    duration_col, event_col : str
        Tenure and churn flag.
    covariates : list of str
        Columns used; text columns become dummies (see :func:`design_matrix`).
    reference : dict, optional
        Reference level per text column.

    Attributes
    ----------
    params_ : dict
        Log hazard ratio per design column.
    result_ : statsmodels PHRegResults
    dropped_ : list of str
        Design columns left out because they were constant or a linear combination of
        the columns before them.
    """

    def __init__(
        self,
        *,
        duration_col: str,
        event_col: str,
        covariates: Sequence[str],
        reference: dict[str, str] | None = None,
    ):
        self.duration_col = duration_col
        self.event_col = event_col
        self.covariates = covariates
        self.reference = reference

    def fit(self, data: pd.DataFrame) -> CoxModel:
        """Fit on ``data``; return ``self``."""
        from statsmodels.duration.hazard_regression import PHReg

        _check_columns(data, [self.duration_col, self.event_col, *self.covariates])
        t, e = _duration_event(data, self.duration_col, self.event_col)
        x = design_matrix(data, list(self.covariates), reference=self.reference)
        self.levels_ = x.attrs["levels"]
        x = _drop_collinear(x)
        self.dropped_ = sorted(set(x.attrs.get("dropped", [])))
        self.columns_ = list(x.columns)
        self.result_ = PHReg(t, x.to_numpy(), status=e.astype(float), ties="efron").fit(disp=False)
        self.params_ = dict(zip(self.columns_, map(float, self.result_.params), strict=True))
        self._t, self._e, self._x = t, e, x.to_numpy()
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise RuntimeError("this CoxModel is not fitted yet: call fit(data) first")

    def summary(self, alpha: float = 0.05) -> pd.DataFrame:
        """``term, coef, std_error, hazard_ratio, ci_low, ci_high, p_value`` (intervals of
        the hazard ratio)."""
        self._check_fitted()
        z = stats.norm.ppf(1 - alpha / 2)
        b = np.asarray(self.result_.params)
        se = np.asarray(self.result_.bse)
        return pd.DataFrame(
            {
                "term": self.columns_,
                "coef": b,
                "std_error": se,
                "hazard_ratio": np.exp(b),
                "ci_low": np.exp(b - z * se),
                "ci_high": np.exp(b + z * se),
                "p_value": 2 * stats.norm.sf(np.abs(b / se)),
            }
        )

    def ph_test(self) -> pd.DataFrame:
        """Schoenfeld-residual check of proportional hazards, one row per term.

        Returns
        -------
        pandas.DataFrame
            ``term, rho, statistic, p_value, proportional`` where ``rho`` is the correlation
            of the term's Schoenfeld residuals with the rank of the event time,
            ``statistic = rho^2 (d - 2) / (1 - rho^2)`` (chi-square, 1 df, ``d`` events)
            and ``proportional`` is ``p_value >= 0.05``.
        """
        self._check_fitted()
        res = np.asarray(self.result_.schoenfeld_residuals)
        ev = self._e
        r = res[ev]
        rank = stats.rankdata(self._t[ev])
        d = int(ev.sum())
        rows = []
        for j, term in enumerate(self.columns_):
            rho = float(np.corrcoef(r[:, j], rank)[0, 1]) if np.std(r[:, j]) > 0 else 0.0
            stat = rho**2 * (d - 2) / max(1 - rho**2, 1e-12)
            p = float(stats.chi2.sf(stat, 1))
            rows.append(
                {
                    "term": term,
                    "rho": rho,
                    "statistic": stat,
                    "p_value": p,
                    "proportional": p >= 0.05,
                }
            )
        return pd.DataFrame(rows)

    def _x_of(self, data: pd.DataFrame) -> np.ndarray:
        x = design_matrix(
            data, list(self.covariates), reference=self.reference, levels=self.levels_
        )
        return x.reindex(columns=self.columns_, fill_value=0.0).to_numpy()

    def risk_score(self, data: pd.DataFrame) -> pd.Series:
        """Linear predictor ``x^T beta`` (higher: churns sooner)."""
        self._check_fitted()
        return pd.Series(self._x_of(data) @ self.result_.params, index=data.index, name="risk")

    def baseline_survival(self, times) -> np.ndarray:
        """Breslow baseline survival ``S_0(t)`` at ``times`` (a step function)."""
        self._check_fitted()
        bt, _, surv = self.result_.baseline_cumulative_hazard[0]
        idx = np.searchsorted(bt, np.asarray(times, dtype=float), side="right") - 1
        return np.where(idx >= 0, surv[np.clip(idx, 0, None)], 1.0)

    def churn_probability(
        self, data: pd.DataFrame, *, horizon: float, tenure_col: str | None = None
    ) -> pd.Series:
        """P(churn within ``horizon``) for customers active at their tenure (``tenure_col``,
        default the duration column; 0 for new customers)."""
        self._check_fitted()
        tau = (
            pd.to_numeric(data[tenure_col or self.duration_col]).to_numpy(dtype=float)
            if (tenure_col or self.duration_col) in data.columns
            else np.zeros(len(data))
        )
        s0 = self.baseline_survival(tau)
        s1 = self.baseline_survival(tau + horizon)
        ratio = np.where(s0 > 0, s1 / np.where(s0 > 0, s0, 1.0), 0.0)
        hr = np.exp(self._x_of(data) @ self.result_.params)
        return pd.Series(1.0 - ratio**hr, index=data.index, name="churn_probability")
