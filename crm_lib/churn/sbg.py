"""The shifted-beta-geometric (sBG) model of contractual retention (Fader & Hardie 2007).

Each customer renews at the end of every period with her own probability ``1 - theta``;
``theta`` varies across customers as ``Beta(alpha, beta)``. The share of a cohort still
active after ``t`` periods and the churn in period ``t`` are

.. math::

    S(t) = \\frac{B(\\alpha, \\beta + t)}{B(\\alpha, \\beta)}, \\qquad
    P(T = t) = \\frac{B(\\alpha + 1, \\beta + t - 1)}{B(\\alpha, \\beta)}, \\qquad
    r(t) = \\frac{S(t)}{S(t-1)} = \\frac{\\beta + t - 1}{\\alpha + \\beta + t - 1},

so retention *rises* with tenure although nobody's own renewal probability changes: the
customers likely to cancel leave first. Fitted by maximum likelihood on cohort counts;
standard errors from the inverse Hessian of the log-likelihood.

>>> import pandas as pd
>>> regular = [1000, 631, 468, 382, 326, 289, 262, 241]   # Fader & Hardie (2007), years 0-7
>>> model = SBGModel().fit(pd.DataFrame({"period": range(8), "alive": regular}))
>>> {k: round(v, 3) for k, v in model.params_.items()}
{'alpha': 0.704, 'beta': 1.182}

References
----------
Fader, P. S., & Hardie, B. G. S. (2007). How to project customer retention. *Journal of
Interactive Marketing*, 21(1), 76-90.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

__all__ = ["SBGModel", "sbg_log_likelihood", "sbg_survival"]


def sbg_survival(alpha: float, beta: float, t: Any) -> np.ndarray:
    """``S(t) = B(alpha, beta + t) / B(alpha, beta)``: share still active after ``t`` periods."""
    t = np.asarray(t, dtype=float)
    return np.exp(special.betaln(alpha, beta + t) - special.betaln(alpha, beta))


def _counts(
    data: pd.DataFrame, period_col: str, alive_col: str, cohort_col: str | None
) -> list[np.ndarray]:
    """Per cohort: active customers at periods 0, 1, ..., (consecutive, non-increasing)."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    cols = [period_col, alive_col] + ([cohort_col] if cohort_col else [])
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise ValueError(
            f"data has no column {missing[0]!r}; columns: {', '.join(map(str, data.columns))} "
            "(pass period_col=, alive_col=, cohort_col=)"
        )
    groups = data.groupby(cohort_col, sort=True) if cohort_col else [(None, data)]
    out = []
    for name, g in groups:
        g = g.sort_values(period_col)
        periods = g[period_col].to_numpy()
        where = "" if name is None else f" (cohort {name})"
        if periods[0] != 0 or np.any(np.diff(periods) != 1):
            raise ValueError(
                f"periods must run 0, 1, 2, ... without gaps{where}; got {list(periods)[:8]}"
            )
        alive = g[alive_col].to_numpy(dtype=float)
        if np.any(alive < 0) or np.any(np.diff(alive) > 0):
            raise ValueError(
                f"{alive_col} must be counts that never increase over the periods{where}; got "
                f"{list(alive)[:8]} (give customers, not shares or retention rates)"
            )
        if alive[0] > 0 and len(alive) > 1:
            out.append(alive)
    if not out:
        raise ValueError("no cohort with customers and at least two periods to fit on")
    return out


def sbg_log_likelihood(alpha: float, beta: float, alive: np.ndarray) -> float:
    """Log-likelihood of one cohort's active counts ``n_0, n_1, ..., n_T`` under sBG.

    ``LL = sum_{t=1}^T (n_{t-1} - n_t) log P(T = t) + n_T log S(T)``.
    """
    alive = np.asarray(alive, dtype=float)
    t = np.arange(1, alive.shape[0])
    lost = alive[:-1] - alive[1:]
    base = special.betaln(alpha, beta)
    log_p = special.betaln(alpha + 1.0, beta + t - 1.0) - base
    log_s = special.betaln(alpha, beta + t[-1]) - base
    return float(np.sum(lost * log_p) + alive[-1] * log_s)


class SBGModel:
    """Shifted-beta-geometric retention model fitted on cohort counts.

    Parameters
    ----------
    period_col, alive_col : str
        Columns of the data: period (0 = the start, 1 = after one renewal, ...) and the
        customers still active then.
    cohort_col : str, optional
        One likelihood term per cohort (each may be observed for a different number of
        periods: the rows of a retention matrix); the parameters are shared.

    Attributes
    ----------
    params_ : dict
        ``{"alpha": ..., "beta": ...}``.
    cov_ : numpy.ndarray
        Covariance matrix of (alpha, beta): the inverse of the negative Hessian.
    log_likelihood_ : float
    converged_ : bool
    n_customers_ : int
        Customers at period 0, summed over the cohorts.
    """

    def __init__(
        self, *, period_col: str = "period", alive_col: str = "alive", cohort_col: str | None = None
    ):
        self.period_col = period_col
        self.alive_col = alive_col
        self.cohort_col = cohort_col

    def _ll(self, alpha: float, beta: float) -> float:
        return sum(sbg_log_likelihood(alpha, beta, a) for a in self._data)

    def fit(self, data: pd.DataFrame) -> SBGModel:
        """Maximise the likelihood; return ``self``."""
        self._data = _counts(data, self.period_col, self.alive_col, self.cohort_col)

        def neg(theta: np.ndarray) -> float:
            return -self._ll(*np.exp(theta))

        best = None
        for start in ([0.0, 0.0], [np.log(0.5), np.log(2.0)], [np.log(3.0), np.log(10.0)]):
            res = optimize.minimize(
                neg,
                np.array(start),
                method="Nelder-Mead",
                options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000},
            )
            res = optimize.minimize(neg, res.x, method="BFGS", options={"gtol": 1e-9})
            if best is None or res.fun < best.fun:
                best = res
        alpha, beta = np.exp(best.x)
        self.params_ = {"alpha": float(alpha), "beta": float(beta)}
        self.log_likelihood_ = float(-best.fun)
        hess = _hessian(lambda v: self._ll(v[0], v[1]), np.array([alpha, beta]))
        self.cov_ = np.linalg.inv(-hess)
        self.converged_ = bool(np.all(np.linalg.eigvalsh(-hess) > 0) and np.isfinite(best.fun))
        self.n_customers_ = int(sum(a[0] for a in self._data))
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise RuntimeError("this SBGModel is not fitted yet: call fit(data) first")

    def summary(self, alpha: float = 0.05) -> pd.DataFrame:
        """``parameter, estimate, std_error, ci_low, ci_high`` (Wald intervals on the log
        scale, so both ends stay positive)."""
        self._check_fitted()
        z = stats.norm.ppf(1 - alpha / 2)
        est = np.array(list(self.params_.values()))
        se = np.sqrt(np.diag(self.cov_))
        half = z * se / est
        return pd.DataFrame(
            {
                "parameter": list(self.params_),
                "estimate": est,
                "std_error": se,
                "ci_low": est * np.exp(-half),
                "ci_high": est * np.exp(half),
            }
        )

    def survival(self, t: Any) -> np.ndarray:
        """Expected share of a cohort active after ``t`` periods."""
        self._check_fitted()
        return sbg_survival(self.params_["alpha"], self.params_["beta"], t)

    def retention_rate(self, t: Any) -> np.ndarray:
        """Expected share of those active at ``t - 1`` who renew at ``t`` (``t >= 1``)."""
        self._check_fitted()
        a, b = self.params_["alpha"], self.params_["beta"]
        t = np.asarray(t, dtype=float)
        return (b + t - 1) / (a + b + t - 1)

    def project(self, periods: int, alpha: float = 0.05, n_draws: int = 2000, random_state=0):
        """Projected survival for periods ``0 .. periods`` with a parameter-uncertainty band.

        Returns
        -------
        pandas.DataFrame
            ``period, survival, ci_low, ci_high`` (band: quantiles of the survival under
            draws of log(alpha, beta) from their asymptotic normal distribution).
        """
        self._check_fitted()
        t = np.arange(periods + 1)
        est = np.array(list(self.params_.values()))
        cov_log = self.cov_ / np.outer(est, est)
        rng = np.random.default_rng(random_state)
        draws = np.exp(rng.multivariate_normal(np.log(est), cov_log, size=n_draws))
        curves = sbg_survival(draws[:, :1], draws[:, 1:], t[None, :])
        return pd.DataFrame(
            {
                "period": t,
                "survival": self.survival(t),
                "ci_low": np.quantile(curves, alpha / 2, axis=0),
                "ci_high": np.quantile(curves, 1 - alpha / 2, axis=0),
            }
        )


def _hessian(f, x: np.ndarray, rel: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``x``."""
    k = x.shape[0]
    h = rel * np.maximum(np.abs(x), 1e-3)
    out = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ei = np.zeros(k)
            ej = np.zeros(k)
            ei[i] = h[i]
            ej[j] = h[j]
            out[i, j] = out[j, i] = (
                f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)
            ) / (4 * h[i] * h[j])
    return out
