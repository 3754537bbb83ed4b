"""Buy-till-you-die models on a customer summary: BG/NBD, Pareto/NBD and gamma-gamma.

The models work on the per-customer table that :func:`crm_lib.value.customer_summary`
builds from a transaction log:

>>> import crm_lib
>>> from crm_lib.value import customer_summary
>>> world = crm_lib.datasets.simulate("small", seed=1, dirty=False)
>>> rfm = customer_summary(world.transactions, time_unit="W")
>>> bgnbd = BetaGeoModel().fit(rfm)
>>> sorted(bgnbd.params_)
['a', 'alpha', 'b', 'r']
>>> spend = GammaGammaModel().fit(rfm[rfm["monetary_value"] > 0])
>>> sorted(spend.params_)
['gamma', 'p', 'q']

Vocabulary (as in lifetimes and pymc-marketing): ``frequency`` is the number of repeat
purchases, ``recency`` the time from the first to the last purchase, ``T`` the time from
the first purchase to the end of observation, ``monetary_value`` the mean value of the
repeat purchases.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

__all__ = [
    "BetaGeoModel",
    "GammaGammaModel",
    "ParetoNBDModel",
    "bgnbd_log_likelihood",
    "gamma_gamma_log_likelihood",
    "paretonbd_log_likelihood",
]


def _as_float(summary: pd.DataFrame, col: str, arg: str) -> np.ndarray:
    if col not in summary.columns:
        raise ValueError(
            f"summary has no column {col!r} given as {arg}; available columns: "
            f"{', '.join(map(str, summary.columns))} (build it with customer_summary)"
        )
    values = pd.to_numeric(summary[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"column {col!r} has {int(bad.sum())} missing or non-numeric values "
            f"(first at row {int(np.flatnonzero(bad)[0])}): drop or fill them before fitting"
        )
    return values


def _rfm_arrays(
    summary: pd.DataFrame, frequency_col: str, recency_col: str, T_col: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated frequency, recency and T arrays."""
    if not isinstance(summary, pd.DataFrame):
        raise TypeError(f"summary must be a pandas DataFrame, not {type(summary).__name__}")
    x = _as_float(summary, frequency_col, "frequency_col")
    tx = _as_float(summary, recency_col, "recency_col")
    T = _as_float(summary, T_col, "T_col")
    checks = [
        (T < 0, f"{T_col} must be >= 0 (a first purchase after the observation end?)"),
        ((x < 0) | (x != np.round(x)), f"{frequency_col} must be a whole number >= 0"),
        (tx < 0, f"{recency_col} must be >= 0"),
        (tx > T * (1 + 1e-12), f"{recency_col} must be <= {T_col}"),
        ((x == 0) & (tx != 0), f"{recency_col} must be 0 where {frequency_col} is 0"),
    ]
    for bad, msg in checks:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{msg}: {int(bad.sum())} rows violate this (first at row {i}: "
                f"{frequency_col}={x[i]:g}, {recency_col}={tx[i]:g}, {T_col}={T[i]:g})"
            )
    return x, np.minimum(tx, T), T


def _collapse(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique rows of the given columns and their counts (weights).

    Rows can only repeat where the last column repeats, so only those rows go through the
    (slower) multi-column grouping: cheap for continuous times, effective for discrete ones.
    """
    dup = pd.Series(columns[-1]).duplicated(keep=False).to_numpy()
    if not dup.any():
        return [np.asarray(c, dtype=float) for c in columns], np.ones(columns[0].shape[0])
    frame = pd.DataFrame({f"c{i}": c[dup] for i, c in enumerate(columns)})
    counts = frame.groupby(list(frame.columns), sort=False).size()
    uniq = counts.index.to_frame(index=False)
    out = [
        np.concatenate([c[~dup], uniq[f"c{i}"].to_numpy()]).astype(float)
        for i, c in enumerate(columns)
    ]
    return out, np.concatenate([np.ones(int((~dup).sum())), counts.to_numpy(dtype=float)])


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    """Inner product without BLAS (whose threads are slow for one vector on a busy machine)."""
    return float(np.einsum("i,i->", u, v))


_LOG_BOUND = 15.0  # search range of every log-parameter: exp(-15) ~ 3e-7 to exp(15) ~ 3e6
_START_SHIFTS = (1.0, -1.0)  # the other starting points: the first one shifted in log space
_RUNAWAY = 1e4  # a shape and its rate both above this: the mixing law has collapsed


class _MLE:
    """Maximum likelihood in log-parameter space with inverse-Hessian standard errors.

    A fit is *converged* only at a proper optimum: the optimiser stopped with a vanishing
    gradient, no log-parameter is at the edge of the search range ``[-15, 15]``, the
    Hessian of the negative log-likelihood is positive definite (finite standard errors),
    and every 95% Wald interval of a log-parameter stays within the search range (else the
    data do not pin the parameter down: the likelihood is flat in that direction). When
    the first start does not end at a proper optimum, five other deterministic starts are
    tried (the first shifted by +1 and -1 in every log-parameter, by +1 / -1 with
    alternating signs, and every parameter equal to 1) and the proper optimum with the
    highest likelihood is kept; if none
    is proper, the highest likelihood is kept, ``converged_`` is False, the reasons are in
    ``fit_problems_`` and a ``RuntimeWarning`` says what is wrong and what to do.
    """

    _param_names: tuple[str, ...] = ()
    _gtol = 1e-9  # L-BFGS-B: stop when no gradient component (mean NLL) exceeds this
    # Newton steps after L-BFGS-B (with an analytic gradient; see _newton_polish)
    _polish = True
    _polish_steps = 4
    _data_note = ""  # what the data hold, for the warning (set by fit)
    # (shape, rate, what their ratio is): both running off together means no heterogeneity
    _mixing_pairs: tuple[tuple[str, str, str], ...] = ()

    def _neg_ll_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        raise NotImplementedError

    def _starts(self, theta0: np.ndarray) -> list[np.ndarray]:
        k = theta0.shape[0]
        alternating = np.where(np.arange(k) % 2 == 0, 1.0, -1.0)
        shifts = [c * np.ones(k) for c in _START_SHIFTS]
        shifts += [c * alternating for c in _START_SHIFTS]
        starts = [np.clip(theta0 + d, -_LOG_BOUND + 1, _LOG_BOUND - 1) for d in shifts]
        return [theta0, *starts, np.zeros(k)]

    def _minimise(self, theta0: np.ndarray, n: float) -> dict[str, Any]:
        """One L-BFGS-B run from ``theta0`` and the checks of a proper optimum."""
        with np.errstate(all="ignore"):  # extreme trial points may overflow: not an error
            res = optimize.minimize(
                self._safe_neg_ll_and_grad,
                theta0,
                jac=True,
                method="L-BFGS-B",
                bounds=[(-_LOG_BOUND, _LOG_BOUND)] * len(theta0),
                options={"maxiter": 1000, "ftol": 1e-14, "gtol": self._gtol},
            )
            theta = res.x
            hess = self._mean_hessian(theta)
            if self._polish:
                theta, hess = self._newton_polish(res, hess)
            hess = hess * n
        k = theta.shape[0]
        names = self._param_names
        est = np.exp(theta)
        problems: list[str] = []
        # L-BFGS-B may stop "abnormally" in the line search when it is already at the
        # optimum to rounding error; a vanishing gradient is convergence all the same.
        if not (bool(res.success) or bool(np.max(np.abs(res.jac)) < 1e-6)):
            problems.append(f"the optimiser stopped before converging ({res.message})")
        at_edge = np.abs(theta) >= _LOG_BOUND - 1e-6
        if at_edge.any():
            which = " and ".join(f"{names[i]} = {est[i]:.3g}" for i in np.flatnonzero(at_edge))
            problems.append(f"the estimate ran to the edge of the search range ({which})")
        cov_log = np.full((k, k), np.nan)
        unreliable = at_edge.copy()
        finite = bool(np.isfinite(hess).all())
        if finite and np.linalg.eigvalsh(hess).min() > 0:
            cov_log = np.linalg.inv(hess)
            se_log = np.sqrt(np.maximum(np.diag(cov_log), 0.0))
            loose = (np.abs(theta) + stats.norm.ppf(0.975) * se_log > _LOG_BOUND) & ~at_edge
            unreliable |= loose
            if loose.any():
                idx = np.flatnonzero(loose)
                which = " and ".join(names[i] for i in idx)
                its = "its 95% interval reaches" if len(idx) == 1 else "their 95% intervals reach"
                problems.append(
                    f"the data do not pin down {which}: {its} beyond the search range "
                    "(the likelihood is flat in that direction)"
                )
        else:
            unreliable[:] = True
            problems.append(
                "the likelihood is not curved at the estimate (its Hessian is not positive "
                "definite), so there are no standard errors"
            )
        return {
            "res": res,
            "hess": hess,
            "cov_log": cov_log,
            "problems": problems,
            "unreliable": unreliable,
        }

    def _newton_polish(self, res: Any, hess: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Newton steps from L-BFGS-B's end point ``res`` (updated in place) to the optimum.

        L-BFGS-B stops where the gradient falls below ``gtol``; along a ridge of the
        likelihood (gamma-gamma's p and gamma) that point can lie 1e-7 (relative) from the
        optimum, and where it lies depends on the last bits of the data: the same
        customers in another row order gave estimates differing in the 7th digit. Newton
        steps ``theta - H^{-1} g`` (the Hessian from :meth:`_mean_hessian`) are taken while
        the Hessian is positive definite and each step shrinks the largest gradient
        component tenfold, at most :attr:`_polish_steps` of them: the estimate ends at the
        optimum to rounding error, whatever the row order. Returns ``theta`` and the mean
        Hessian (at ``theta``, or at the point before the last, tiny, step).
        """
        theta, g = np.asarray(res.x, dtype=float), np.asarray(res.jac, dtype=float)
        for _ in range(self._polish_steps):
            size = float(np.max(np.abs(g)))
            if not (np.isfinite(hess).all() and size > 0):
                break
            try:
                if np.linalg.eigvalsh(hess).min() <= 0:
                    break
                step = np.linalg.solve(hess, g)
            except np.linalg.LinAlgError:
                break
            new = np.clip(theta - step, -_LOG_BOUND, _LOG_BOUND)
            f_new, g_new = self._neg_ll_and_grad(new)
            if not (np.isfinite(f_new) and np.isfinite(g_new).all()):
                break
            if float(np.max(np.abs(g_new))) >= size:
                break
            theta, g = new, g_new
            res.x, res.fun, res.jac = theta, float(f_new), g
            if float(np.max(np.abs(g))) > size / 10:
                break  # at the rounding floor; the Hessian 1e-9 away serves the errors
            hess = self._mean_hessian(theta)
        return theta, hess

    def _safe_neg_ll_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """The objective, with NaN (at extreme trial points) mapped to +inf."""
        f, g = self._neg_ll_and_grad(theta)
        if not np.isfinite(f) or not np.isfinite(g).all():
            return np.inf, np.zeros_like(theta)
        return f, g

    def _optimise(self, theta0: np.ndarray, n: float) -> None:
        """Minimise the mean negative log-likelihood; set params_, cov_, etc."""
        tried = []
        for start in self._starts(np.asarray(theta0, dtype=float)):
            tried.append(self._minimise(start, n))
            if not tried[0]["problems"]:
                break  # a proper optimum from the first start: done
        proper = [t for t in tried if not t["problems"]]
        best = min(proper or tried, key=lambda t: t["res"].fun)
        res = best["res"]
        theta = res.x
        est = np.exp(theta)
        self.params_ = dict(zip(self._param_names, est.tolist(), strict=True))
        self.log_likelihood_ = float(-res.fun * n)
        self.fit_problems_ = list(best["problems"])
        self.converged_ = not self.fit_problems_
        self.n_iter_ = int(res.nit)
        self.n_starts_ = len(tried)
        self.cov_log_params_ = best["cov_log"]
        self._unreliable = best["unreliable"]
        # delta method: Var(exp(theta)) ~ exp(theta)^2 Var(theta)
        self.cov_params_ = best["cov_log"] * np.outer(est, est)
        self.hessian_ = best["hess"]
        if not self.converged_:
            import warnings

            note = f" The data: {self._data_note}." if self._data_note else ""
            for shape, rate, what in self._mixing_pairs:
                a, b = self.params_[shape], self.params_[rate]
                if min(a, b) > _RUNAWAY:
                    common = a / (a + b) if what.startswith("dropout probability") else a / b
                    note += (
                        f" {shape} and {rate} grew together: the data look like one common "
                        f"{what} = {common:.3g} for every customer, a limit the model only "
                        "approaches, so these two values are arbitrary."
                    )
            warnings.warn(
                f"{type(self).__name__}: the fit is not a proper optimum of the likelihood, "
                "so its estimates and standard errors cannot be trusted: "
                + "; ".join(self.fit_problems_)
                + f" (best of {len(tried)} starting points).{note} This usually means the "
                "data are too thin for the model: fit on more customers or a longer "
                "calibration period (a few hundred repeat buyers or more), or use simple "
                "rules (RFM scores, lifecycle stages) instead of the model.",
                RuntimeWarning,
                stacklevel=3,
            )

    def _mean_hessian(self, theta: np.ndarray) -> np.ndarray:
        """Hessian of the mean negative log-likelihood in log space at ``theta``.

        Forward differences of the analytic gradient (step 1e-5 in log-parameters).
        """
        k = theta.shape[0]
        h = 1e-5
        g0 = self._neg_ll_and_grad(theta)[1]
        hess = np.empty((k, k))
        for j in range(k):
            e = np.zeros(k)
            e[j] = h
            hess[:, j] = (self._neg_ll_and_grad(theta + e)[1] - g0) / h
        return 0.5 * (hess + hess.T)

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise ValueError(
                f"this {type(self).__name__} is not fitted yet: call fit(summary) first"
            )

    def summary(self, alpha: float = 0.05) -> pd.DataFrame:
        """Estimates with standard errors and confidence intervals.

        Parameters
        ----------
        alpha : float
            1 - confidence level of the intervals.

        Returns
        -------
        pandas.DataFrame
            Index: parameter names; columns ``estimate, std_error, ci_low, ci_high``.
            ``std_error`` is the delta-method standard error (inverse Hessian of the
            negative log-likelihood at the optimum, in log space, times the estimate);
            the interval is Wald on the log scale, ``exp(log(estimate) +- z * se_log)``,
            so it is positive and asymmetric. They are missing for a parameter at the edge
            of the search range or not pinned down by the data, and for all parameters
            when the Hessian is not positive definite (see ``fit_problems_``).
        """
        self._check_fitted()
        est = np.array(list(self.params_.values()))
        var_log = np.diag(self.cov_log_params_)
        # no interval for a parameter at the edge of the search range or not pinned down
        # by the data (see fit_problems_): its curvature says nothing
        ok = (var_log >= 0) & ~getattr(self, "_unreliable", np.zeros(est.shape[0], bool))
        se_log = np.sqrt(np.where(ok, var_log, np.nan))
        z = stats.norm.ppf(1 - alpha / 2)
        return pd.DataFrame(
            {
                "estimate": est,
                "std_error": est * se_log,
                "ci_low": est * np.exp(-z * se_log),
                "ci_high": est * np.exp(z * se_log),
            },
            index=pd.Index(list(self.params_), name="parameter"),
        )


def bgnbd_log_likelihood(
    params: dict[str, float] | tuple, frequency: Any, recency: Any, T: Any
) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood.

    Parameters
    ----------
    params : dict or tuple
        ``r, alpha, a, b``.
    frequency, recency, T : array-like
        Repeat purchases ``x``, time of the last purchase ``t_x`` and observation time
        ``T`` (from the first purchase).

    Returns
    -------
    numpy.ndarray
        :math:`\\log L_i` for each customer.

    Notes
    -----
    (Fader, Hardie & Lee 2005, eq. 6)

    .. math::

        L(r, \\alpha, a, b \\mid x, t_x, T) =
        \\frac{B(a, b + x)}{B(a, b)} \\frac{\\Gamma(r + x)\\,\\alpha^r}
        {\\Gamma(r)\\,(\\alpha + T)^{r + x}}
        + \\delta_{x > 0} \\frac{B(a + 1, b + x - 1)}{B(a, b)}
        \\frac{\\Gamma(r + x)\\,\\alpha^r}{\\Gamma(r)\\,(\\alpha + t_x)^{r + x}}

    evaluated in logs with ``gammaln``, ``betaln`` and log-sum-exp.
    """
    r, alpha, a, b = (
        (params["r"], params["alpha"], params["a"], params["b"])
        if isinstance(params, dict)
        else params
    )
    x = np.asarray(frequency, dtype=float)
    tx = np.asarray(recency, dtype=float)
    T = np.asarray(T, dtype=float)
    common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) - special.betaln(a, b)
    t1 = special.betaln(a, b + x) - (r + x) * np.log(alpha + T)
    with np.errstate(invalid="ignore", divide="ignore"):
        t2 = np.where(
            x > 0,
            special.betaln(a + 1, np.where(x > 0, b + x - 1, b)) - (r + x) * np.log(alpha + tx),
            -np.inf,
        )
    return common + np.logaddexp(t1, t2)


class _RFMModel(_MLE):
    """Shared input handling of the models fitted on (frequency, recency, T)."""

    def __init__(
        self, *, frequency_col: str = "frequency", recency_col: str = "recency", T_col: str = "T"
    ):
        self.frequency_col = frequency_col
        self.recency_col = recency_col
        self.T_col = T_col

    def _arrays(self, summary: pd.DataFrame | None):
        if summary is None:
            self._check_fitted()
            return self._x_full, self._tx_full, self._T_full
        return _rfm_arrays(summary, self.frequency_col, self.recency_col, self.T_col)

    _model_name = ""
    _data_class: Any = None

    def _initial(self, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fit(self, summary: pd.DataFrame):
        """Fit by maximum likelihood.

        Parameters
        ----------
        summary : pandas.DataFrame
            One row per customer with the frequency, recency and T columns.

        Returns
        -------
        self
            Fitted: ``params_``, ``summary()``, ``log_likelihood_``, ``converged_``.
        """
        # collapse the data, maximise the likelihood, keep the arrays for predictions
        x, tx, T = _rfm_arrays(summary, self.frequency_col, self.recency_col, self.T_col)
        if x.shape[0] == 0 or not (x > 0).any():
            raise ValueError(
                f"{self._model_name} needs customers with repeat purchases: no row has "
                "frequency > 0"
            )
        (ux, utx, uT), w = _collapse(x, tx, T)
        self._data = self._data_class(ux, utx, uT, w)
        n = float(w.sum())
        buyers = int((x > 0).sum())
        self._data_note = (
            f"{buyers:,} of {x.shape[0]:,} customers made a repeat purchase "
            f"({buyers / x.shape[0]:.1%}; {int(x.sum()):,} repeat purchases in all)"
        )
        self._optimise(self._initial(x, T), n)
        self.n_customers_ = int(n)
        self._x_full, self._tx_full, self._T_full = x, tx, T
        del self._data
        return self


class BetaGeoModel(_RFMModel):
    """BG/NBD model of repeat purchases (Fader, Hardie & Lee, 2005).

    While alive, a customer buys as a Poisson process with rate
    :math:`\\lambda \\sim \\text{Gamma}(r, \\text{rate}=\\alpha)`; after each repeat purchase
    she drops out with probability :math:`p \\sim \\text{Beta}(a, b)`. Fitted by maximum
    likelihood on ``frequency, recency, T`` (:func:`customer_summary`); the time unit of
    ``alpha`` is that of ``recency`` and ``T``.

    Parameters
    ----------
    frequency_col, recency_col, T_col : str
        Columns of the summary table.

    Attributes
    ----------
    params_ : dict
        ``r, alpha, a, b``.
    cov_params_ : numpy.ndarray
        Delta-method covariance of the estimates (order of ``params_``).
    cov_log_params_ : numpy.ndarray
        Covariance of the log-parameters (inverse Hessian of the negative log-likelihood).
    log_likelihood_ : float
        Maximised log-likelihood.
    n_customers_ : int
        Customers used.
    converged_ : bool
        Whether the fit is a proper optimum: the optimiser converged, no log-parameter is
        at the edge of the search range ``[-15, 15]``, the Hessian is positive definite
        and every 95% interval of a log-parameter stays within the search range.
    fit_problems_ : list of str
        Why the fit is not a proper optimum (empty when ``converged_``); the same text is
        given as a ``RuntimeWarning``.
    n_starts_ : int
        Starting points tried (1 unless the first did not give a proper optimum).

    Notes
    -----
    The log-likelihood (:func:`bgnbd_log_likelihood`) is summed over identical
    ``(x, t_x, T)`` rows with weights and maximised over ``log(r, alpha, a, b)`` with
    L-BFGS-B and its analytic gradient, from the deterministic start ``r = a = 1``,
    ``b = 3``, ``alpha = r * sum(T) / sum(x)``. Standard errors come from the inverse of the
    Hessian of the negative log-likelihood (forward differences of the analytic gradient)
    at the optimum.

    With few repeat buyers the likelihood is often flat as ``a, b -> infinity`` with
    ``a / (a + b)`` fixed (every customer has the same dropout probability): no proper
    optimum exists. Then five more deterministic starts are tried, and if none gives a
    proper optimum the fit warns, ``converged_`` is False and :meth:`summary` gives no
    standard error for the parameters concerned.

    References
    ----------
    Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). "Counting your customers" the
    easy way: An alternative to the Pareto/NBD model. Marketing Science, 24(2), 275-284.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from crm_lib.datasets._btyd import BGNBDParams, simulate_bgnbd
    >>> rng = np.random.default_rng(0)
    >>> T = rng.uniform(10, 100, 5_000)
    >>> d = simulate_bgnbd(rng, BGNBDParams(), T)
    >>> last = np.zeros(5_000)
    >>> last[d.n_repeat > 0] = d.times[d.offsets[1:][d.n_repeat > 0] - 1]
    >>> rfm = pd.DataFrame({"frequency": d.n_repeat, "recency": last, "T": T})
    >>> model = BetaGeoModel().fit(rfm)
    >>> list(model.summary().columns)
    ['estimate', 'std_error', 'ci_low', 'ci_high']
    """

    _param_names = ("r", "alpha", "a", "b")
    _mixing_pairs = (
        ("r", "alpha", "purchase rate r / alpha"),
        ("a", "b", "dropout probability a / (a + b)"),
    )

    _model_name = "BG/NBD"

    @property
    def _data_class(self):
        return _BGNBDData

    def _initial(self, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r0 = 1.0
        return np.log([r0, r0 * T.sum() / max(x.sum(), 1.0), 1.0, 3.0])

    def _neg_ll_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = self._data.loglik(np.exp(theta))
        n = self._data.n
        return -ll / n, -grad * np.exp(theta) / n

    def predict_purchases(self, t: float, summary: pd.DataFrame | None = None) -> pd.Series:
        """Expected repeat purchases in ``(T, T + t]`` given each customer's history.

        Parameters
        ----------
        t : float
            Length of the future period (in the time unit of the summary).
        summary : pandas.DataFrame, optional
            Customers to predict for (default: the training data).

        Returns
        -------
        pandas.Series
            ``expected_purchases``, indexed like ``summary``.

        Notes
        -----
        Fader, Hardie & Lee (2005), eq. 10:

        .. math::

            E[Y(t) \\mid x, t_x, T] = \\frac{\\frac{a + b + x - 1}{a - 1}
            \\left[1 - \\left(\\frac{\\alpha + T}{\\alpha + T + t}\\right)^{r + x}
            {}_2F_1\\!\\left(r + x, b + x; a + b + x - 1; \\frac{t}{\\alpha + T + t}\\right)\\right]}
            {1 + \\delta_{x > 0} \\frac{a}{b + x - 1}
            \\left(\\frac{\\alpha + T}{\\alpha + t_x}\\right)^{r + x}}
        """
        self._check_fitted()
        if not np.isfinite(t) or t < 0:
            raise ValueError(f"t must be a finite number >= 0, not {t!r}")
        x, tx, T = self._arrays(summary)
        r, alpha, a, b = (self.params_[k] for k in self._param_names)
        z = t / (alpha + T + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        num = (a + b + x - 1) / (a - 1) * (1 - np.exp((r + x) * np.log1p(-z)) * hyp)
        out = num * self._prob_alive(x, tx, T)
        index = summary.index if summary is not None else None
        return pd.Series(out, index=index, name="expected_purchases")

    def _prob_alive(self, x, tx, T) -> np.ndarray:
        r, alpha, a, b = (self.params_[k] for k in self._param_names)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_odds = (
                np.log(a)
                - np.log(np.where(x > 0, b + x - 1, 1.0))
                + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
            )
        return np.where(x > 0, special.expit(-log_odds), 1.0)

    def prob_alive(self, summary: pd.DataFrame | None = None) -> pd.Series:
        """Probability that each customer is still alive at ``T``.

        Notes
        -----
        Fader, Hardie & Lee (2005), eq. 11 (with the later correction for ``x = 0``):

        .. math::

            P(\\text{alive} \\mid x, t_x, T) = \\left[1 + \\delta_{x > 0}
            \\frac{a}{b + x - 1}
            \\left(\\frac{\\alpha + T}{\\alpha + t_x}\\right)^{r + x}\\right]^{-1}

        Returns
        -------
        pandas.Series
            ``prob_alive``, indexed like ``summary``.
        """
        self._check_fitted()
        x, tx, T = self._arrays(summary)
        index = summary.index if summary is not None else None
        return pd.Series(self._prob_alive(x, tx, T), index=index, name="prob_alive")

    def log_likelihood(self, summary: pd.DataFrame | None = None) -> pd.Series:
        """Per-customer log-likelihood at the fitted parameters (:func:`bgnbd_log_likelihood`)."""
        self._check_fitted()
        x, tx, T = self._arrays(summary)
        index = summary.index if summary is not None else None
        return pd.Series(
            bgnbd_log_likelihood(self.params_, x, tx, T), index=index, name="log_likelihood"
        )


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values and the index of each element into them (hash-based, unsorted)."""
    codes, uniques = pd.factorize(values, sort=False)
    return np.asarray(uniques, dtype=float), codes.astype(np.intp)


class _BGNBDData:
    """Collapsed BG/NBD data with the log-likelihood and its analytic gradient.

    Customers with ``x = 0`` only need ``T``; for ``x > 0`` the terms that depend on ``x``
    alone (``gammaln``, ``betaln``, ``digamma``) are evaluated once per distinct ``x``, and
    the per-customer terms are computed in preallocated buffers.
    """

    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray):
        self.n = float(w.sum())
        zero = x == 0
        self.T0, self.w0 = T[zero], w[zero]
        self.W0 = float(self.w0.sum())
        pos = ~zero
        self.x1, self.tx1, self.T1, self.w1 = x[pos], tx[pos], T[pos], w[pos]
        self.xu, self.inv = _factorize(self.x1)
        self.wxu = np.bincount(self.inv, weights=self.w1, minlength=self.xu.shape[0])
        self.wx1 = self.w1 * self.x1
        self._buf = np.empty((6, self.x1.shape[0]))

    def loglik(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = params
        dg, gl, bl = special.digamma, special.gammaln, special.betaln
        xu, inv, w, wx1, n, W0 = self.xu, self.inv, self.w1, self.wx1, self.n, self.W0
        # x = 0: log L = r log(alpha) - r log(alpha + T)
        lT0 = np.log(alpha + self.T0)
        # x > 0, per distinct x
        lb1 = bl(a, b + xu)
        lb2 = bl(a + 1, b + xu - 1)
        dab = dg(a + b + xu)
        # x > 0, per customer: t1 - t2 = (lb1 - lb2) - (r + x) log((alpha + T) / (alpha + t_x))
        a_T, a_tx, dl, ltx, u, v = self._buf
        np.add(self.T1, alpha, out=a_T)
        np.add(self.tx1, alpha, out=a_tx)
        np.log(a_tx, out=ltx)
        np.log(a_T, out=dl)
        np.subtract(dl, ltx, out=dl)
        np.add(self.x1, r, out=u)
        np.multiply(u, dl, out=u)
        np.take(lb1 - lb2, inv, out=v)
        np.subtract(v, u, out=v)
        # clipped: exp(-200) is already negligible, and subnormals are slow
        np.maximum(v, -200.0, out=v)
        np.exp(v, out=v)  # e = exp(t1 - t2)
        np.add(v, 1.0, out=u)  # 1 + e
        s_log1p = _dot(w, np.log(u))
        np.divide(v, u, out=v)  # p1 = e / (1 + e): weight of "alive at T"
        np.multiply(w, v, out=u)  # w p1
        s_wp1_dl = _dot(u, dl)
        s1 = np.bincount(inv, weights=u, minlength=xu.shape[0])
        s_ltx, s_xltx = _dot(w, ltx), _dot(wx1, ltx)
        # d/d alpha: (r + x) [p1 / (alpha + T) + (1 - p1) / (alpha + t_x)]
        np.divide(1.0, a_T, out=a_T)
        np.divide(1.0, a_tx, out=a_tx)
        np.subtract(a_T, a_tx, out=a_T)
        np.multiply(v, a_T, out=a_T)
        np.add(a_T, a_tx, out=a_T)
        s_mix, s_xmix = _dot(w, a_T), _dot(wx1, a_T)
        ll = (
            n * r * np.log(alpha)
            - (n - W0) * gl(r)
            - r * _dot(self.w0, lT0)
            + _dot(self.wxu, gl(r + xu) + lb2)
            - (n - W0) * bl(a, b)
            - r * s_ltx
            - s_xltx
            + s_log1p
        )
        g_r = (
            n * np.log(alpha)
            - (n - W0) * dg(r)
            - _dot(self.w0, lT0)
            + _dot(self.wxu, dg(r + xu))
            - s_ltx
            - s_wp1_dl
        )
        g_alpha = n * r / alpha - r * np.sum(self.w0 / (alpha + self.T0)) - r * s_mix - s_xmix
        s2 = self.wxu - s1
        dab0 = dg(a + b)
        g_a = (n - W0) * (dab0 - dg(a)) + _dot(s1, dg(a) - dab) + _dot(s2, dg(a + 1) - dab)
        g_b = (
            (n - W0) * (dab0 - dg(b)) + _dot(s1, dg(b + xu) - dab) + _dot(s2, dg(b + xu - 1) - dab)
        )
        return float(ll), np.array([g_r, g_alpha, g_a, g_b], dtype=float)


_SERIES_MAX_Z = 0.25  # beyond this, scipy's hyp2f1 is cheaper than the series
_SERIES_MIN_SIZE = 5_000  # below this, so is it


def _log_hyp2f1_c_a1(a: Any, b: Any, z: np.ndarray) -> np.ndarray:
    """``log 2F1(a, b; a + 1; z)`` for ``a, b > 0`` and ``0 <= z < 1`` (series if ``b < a + 1``).

    By Euler's transformation ``2F1(a, b; a + 1; z) = (1 - z)^(1 - b) 2F1(1, a + 1 - b;
    a + 1; z)``, whose series has positive terms with ratio
    ``z (a + 1 - b + n) / (a + 1 + n) < z``: for ``z <= 0.25`` it is summed to double
    precision with at most 29 terms (cheaper than ``scipy.special.hyp2f1``, which is used
    for larger ``z``).
    """
    same = np.size(a) == 1 and np.size(b) == 1  # one (a, b) for all z: scalar ratios
    a, b, z = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float), z)
    if z.size < _SERIES_MIN_SIZE:  # the loop's per-call overhead would dominate
        return np.log(special.hyp2f1(a, b, a + 1.0, z))
    out = np.empty(z.shape)
    small = (z <= _SERIES_MAX_Z) & (b < a + 1.0)  # positive terms only
    if small.all():
        small = slice(None)  # no masked copies
    if z[small].size:
        zs = z[small]
        c = float(a.flat[0]) + 1.0 if same else a[small] + 1.0
        d = c - (float(b.flat[0]) if same else b[small])
        z_max = float(zs.max())
        n_terms = 1 if z_max == 0 else int(np.ceil(np.log(1e-17) / np.log(z_max)))
        term = np.ones(zs.shape)
        total = np.ones(zs.shape)
        for j in range(n_terms):
            term *= zs * ((d + j) / (c + j))
            total += term
        out[small] = (1.0 - b[small]) * np.log1p(-zs) + np.log(total)
    if not isinstance(small, slice) and not small.all():
        large = ~small
        out[large] = np.log(special.hyp2f1(a[large], b[large], a[large] + 1.0, z[large]))
    return out


def _pnbd_parts(
    params: Any, x: np.ndarray, tx: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``log C``, ``log`` of the alive-at-T term and of the died-in-(t_x, T] term.

    ``L = exp(log C) * (exp(l_alive) + exp(l_dead))`` (Fader & Hardie 2005, note 009).
    """
    r, alpha, s, beta = (
        (params["r"], params["alpha"], params["s"], params["beta"])
        if isinstance(params, dict)
        else params
    )
    m = r + s + x
    log_c = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    l_alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    # the larger scale plays the role of alpha, so that the 2F1 argument lies in [0, 1)
    if alpha >= beta:
        big, small, b2 = alpha, beta, s + 1.0
    else:
        big, small, b2 = beta, alpha, r + x
    big_tx, big_T = big + tx, big + T
    with np.errstate(divide="ignore"):
        la1 = _log_hyp2f1_c_a1(m, b2, (big - small) / big_tx) - m * np.log(big_tx)
        la2 = _log_hyp2f1_c_a1(m, b2, (big - small) / big_T) - m * np.log(big_T)
        # A0 = exp(la1) - exp(la2) >= 0 (zero when t_x = T)
        l_a0 = la1 + np.log(-np.expm1(np.minimum(la2 - la1, 0.0)))
    l_dead = np.log(s) - np.log(m) + l_a0
    return log_c, l_alive, l_dead


def paretonbd_log_likelihood(
    params: dict[str, float] | tuple, frequency: Any, recency: Any, T: Any
) -> np.ndarray:
    """Per-customer Pareto/NBD log-likelihood.

    Parameters
    ----------
    params : dict or tuple
        ``r, alpha, s, beta``.
    frequency, recency, T : array-like
        Repeat purchases ``x``, time of the last purchase ``t_x`` and observation time
        ``T`` (from the first purchase).

    Returns
    -------
    numpy.ndarray
        :math:`\\log L_i` for each customer.

    Notes
    -----
    Fader & Hardie (2005), note 009: with :math:`m = r + s + x`,

    .. math::

        L = \\frac{\\Gamma(r + x)\\,\\alpha^r \\beta^s}{\\Gamma(r)}
        \\left[\\frac{1}{(\\alpha + T)^{r + x} (\\beta + T)^s}
        + \\frac{s}{m} A_0\\right],

    and, for :math:`\\alpha \\ge \\beta`,

    .. math::

        A_0 = \\frac{{}_2F_1\\!\\left(m, s + 1; m + 1; \\frac{\\alpha - \\beta}{\\alpha + t_x}\\right)}
        {(\\alpha + t_x)^m}
        - \\frac{{}_2F_1\\!\\left(m, s + 1; m + 1; \\frac{\\alpha - \\beta}{\\alpha + T}\\right)}
        {(\\alpha + T)^m},

    for :math:`\\alpha < \\beta` the same with :math:`\\alpha \\leftrightarrow \\beta` and
    :math:`s + 1 \\to r + x`, so that the argument of the Gaussian hypergeometric function
    (``scipy.special.hyp2f1``) is in :math:`[0, 1)`. Both brackets are combined in logs
    (:math:`\\log A_0 = \\ell_1 + \\log(1 - e^{\\ell_2 - \\ell_1})`, then log-sum-exp).
    :math:`s A_0 / m = \\int_{t_x}^{T} (\\alpha + \\tau)^{-(r + x)}\\, s\\,
    (\\beta + \\tau)^{-(s + 1)}\\, d\\tau` is the mixed likelihood of dying in
    :math:`(t_x, T]`.

    References
    ----------
    Schmittlein, D. C., Morrison, D. G., & Colombo, R. (1987). Counting your customers:
    Who are they and what will they do next? Management Science, 33(1), 1-24.
    Fader, P. S., & Hardie, B. G. S. (2005). A note on deriving the Pareto/NBD model and
    related expressions. http://brucehardie.com/notes/009/
    """
    x = np.asarray(frequency, dtype=float)
    tx = np.asarray(recency, dtype=float)
    T = np.asarray(T, dtype=float)
    log_c, l_alive, l_dead = _pnbd_parts(params, x, tx, T)
    return log_c + np.logaddexp(l_alive, l_dead)


class ParetoNBDModel(_RFMModel):
    """Pareto/NBD model of repeat purchases (Schmittlein, Morrison & Colombo, 1987).

    While alive, a customer buys as a Poisson process with rate
    :math:`\\lambda \\sim \\text{Gamma}(r, \\text{rate}=\\alpha)`; her lifetime is
    exponential with rate :math:`\\mu \\sim \\text{Gamma}(s, \\text{rate}=\\beta)`,
    independent of :math:`\\lambda` (she can drop out at any time, not only after a
    purchase as in BG/NBD). Fitted by maximum likelihood on ``frequency, recency, T``
    (:func:`customer_summary`); ``alpha`` and ``beta`` are in the time unit of ``T``.

    Parameters
    ----------
    frequency_col, recency_col, T_col : str
        Columns of the summary table.

    Attributes
    ----------
    params_ : dict
        ``r, alpha, s, beta``.
    cov_params_, cov_log_params_, log_likelihood_, n_customers_, converged_
        As in :class:`BetaGeoModel`.
    fit_problems_, n_starts_
        As in :class:`BetaGeoModel` (with thin data, ``s, beta -> infinity`` with
        ``s / beta`` fixed is the usual flat direction).

    Notes
    -----
    The log-likelihood (:func:`paretonbd_log_likelihood`, the 2F1 form of Fader & Hardie
    2005) is summed over identical ``(x, t_x, T)`` rows with weights (for ``x = 0`` the
    first hypergeometric term is one number) and maximised over
    ``log(r, alpha, s, beta)`` with L-BFGS-B and a forward finite-difference gradient
    (step ``1e-7`` in log-parameters), from the deterministic start ``r = s = 1``,
    ``alpha = sum(T) / sum(x)``, ``beta = mean(T)``. Standard errors come from the inverse
    of the Hessian of the negative log-likelihood at the optimum (central second
    differences of the log-likelihood, step ``1e-3`` in log-parameters).

    References
    ----------
    Schmittlein, D. C., Morrison, D. G., & Colombo, R. (1987). Counting your customers:
    Who are they and what will they do next? Management Science, 33(1), 1-24.
    Fader, P. S., & Hardie, B. G. S. (2005). A note on deriving the Pareto/NBD model and
    related expressions. http://brucehardie.com/notes/009/

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> n = 2_000
    >>> T = rng.uniform(10, 78, n)
    >>> lam, mu = rng.gamma(0.55, 1 / 10.58, n), rng.gamma(0.61, 1 / 11.67, n)
    >>> end = np.minimum(rng.exponential(1 / mu), T)  # death or end of observation
    >>> x = rng.poisson(lam * end)
    >>> last = np.where(x > 0, end * rng.random(n) ** (1 / np.maximum(x, 1)), 0.0)
    >>> model = ParetoNBDModel().fit(pd.DataFrame({"frequency": x, "recency": last, "T": T}))
    >>> sorted(model.params_)
    ['alpha', 'beta', 'r', 's']
    >>> list(model.summary().columns)
    ['estimate', 'std_error', 'ci_low', 'ci_high']
    >>> bool(model.prob_alive().between(0, 1).all())
    True
    """

    _param_names = ("r", "alpha", "s", "beta")
    _mixing_pairs = (
        ("r", "alpha", "purchase rate r / alpha"),
        ("s", "beta", "dropout rate s / beta"),
    )
    # the finite-difference gradient is only good to ~1e-8; 1e-6 moves the estimates by
    # ~1e-6 / curvature, well under 1% of a standard error at any realistic sample size
    _gtol = 1e-6
    _polish = False  # Newton steps need a gradient good to rounding error

    _model_name = "Pareto/NBD"

    @property
    def _data_class(self):
        return _ParetoNBDData

    def _initial(self, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        return np.log([1.0, T.sum() / x.sum(), 1.0, max(float(T.mean()), 1e-3)])

    def _neg_ll(self, theta: np.ndarray) -> float:
        return -self._data.loglik(np.exp(theta)) / self._data.n

    def _neg_ll_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        # forward differences: 5 evaluations per step instead of 9 (central); the bias,
        # about h/2 times the curvature, moves the optimum by ~1e-7 in log-parameters
        h = 1e-7
        f0 = self._neg_ll(theta)
        grad = np.array([(self._neg_ll(theta + h * e) - f0) / h for e in np.eye(len(theta))])
        return f0, grad

    def _mean_hessian(self, theta: np.ndarray) -> np.ndarray:
        """Central second differences of the log-likelihood (step 1e-3 in log-parameters).

        ``H_ii = (f(+e_i) - 2 f_0 + f(-e_i)) / h^2`` and ``H_ij = (f(+e_i+e_j) - f(+e_i)
        - f(+e_j) + 2 f_0 - f(-e_i) - f(-e_j) + f(-e_i-e_j)) / (2 h^2)``: the off-diagonal
        terms reuse the diagonal evaluations, so 1 + 2k + k(k-1) = 21 evaluations for k = 4
        instead of 33. Truncation error ~h^2 (1e-6 relative), rounding error
        ~1e-16 |LL| / h^2: both far below the curvature, unlike differences of a
        finite-difference gradient.
        """
        k = theta.shape[0]
        h = 1e-3
        f0 = self._neg_ll(theta)
        e = np.eye(k) * h
        up = np.array([self._neg_ll(theta + e[i]) for i in range(k)])
        down = np.array([self._neg_ll(theta - e[i]) for i in range(k)])
        hess = np.empty((k, k))
        for i in range(k):
            hess[i, i] = (up[i] - 2 * f0 + down[i]) / h**2
            for j in range(i):
                both_up = self._neg_ll(theta + e[i] + e[j])
                both_down = self._neg_ll(theta - e[i] - e[j])
                hess[i, j] = hess[j, i] = (
                    both_up - up[i] - up[j] + 2 * f0 - down[i] - down[j] + both_down
                ) / (2 * h**2)
        return hess

    def _parts(self, summary):
        self._check_fitted()
        x, tx, T = self._arrays(summary)
        return (x, tx, T), _pnbd_parts(self.params_, x, tx, T)

    def prob_alive(self, summary: pd.DataFrame | None = None) -> pd.Series:
        """Probability that each customer is still alive at ``T``.

        Notes
        -----
        Fader & Hardie (2005), note 009:

        .. math::

            P(\\text{alive} \\mid x, t_x, T) = \\left[1 + \\frac{s}{r + s + x}
            (\\alpha + T)^{r + x} (\\beta + T)^s A_0\\right]^{-1}

        with :math:`A_0` as in :func:`paretonbd_log_likelihood` (computed in logs).

        Returns
        -------
        pandas.Series
            ``prob_alive``, indexed like ``summary``.
        """
        _, (_, l_alive, l_dead) = self._parts(summary)
        index = summary.index if summary is not None else None
        return pd.Series(special.expit(l_alive - l_dead), index=index, name="prob_alive")

    def predict_purchases(self, t: float, summary: pd.DataFrame | None = None) -> pd.Series:
        """Expected repeat purchases in ``(T, T + t]`` given each customer's history.

        Parameters
        ----------
        t : float
            Length of the future period (in the time unit of the summary).
        summary : pandas.DataFrame, optional
            Customers to predict for (default: the training data).

        Returns
        -------
        pandas.Series
            ``expected_purchases``, indexed like ``summary``.

        Notes
        -----
        Fader & Hardie (2005), note 009 (Schmittlein et al. 1987):

        .. math::

            E[Y(t) \\mid x, t_x, T] = \\frac{(r + x)(\\beta + T)}{(\\alpha + T)(s - 1)}
            \\left[1 - \\left(\\frac{\\beta + T}{\\beta + T + t}\\right)^{s - 1}\\right]
            P(\\text{alive} \\mid x, t_x, T)

        (for :math:`s = 1` the bracket over :math:`s - 1` is its limit
        :math:`\\log\\frac{\\beta + T + t}{\\beta + T}`).
        """
        if not np.isfinite(t) or t < 0:
            raise ValueError(f"t must be a finite number >= 0, not {t!r}")
        (x, _, T), (_, l_alive, l_dead) = self._parts(summary)
        r, alpha, s, beta = (self.params_[k] for k in self._param_names)
        log_ratio = np.log1p(t / (beta + T))  # log((beta + T + t) / (beta + T))
        if abs(s - 1) < 1e-10:
            bracket = log_ratio
        else:
            bracket = -np.expm1(-(s - 1) * log_ratio) / (s - 1)
        out = (r + x) * (beta + T) / (alpha + T) * bracket * special.expit(l_alive - l_dead)
        index = summary.index if summary is not None else None
        return pd.Series(out, index=index, name="expected_purchases")

    def log_likelihood(self, summary: pd.DataFrame | None = None) -> pd.Series:
        """Per-customer log-likelihood at the fitted parameters.

        Returns
        -------
        pandas.Series
            ``log_likelihood`` (:func:`paretonbd_log_likelihood`), indexed like ``summary``.
        """
        self._check_fitted()
        x, tx, T = self._arrays(summary)
        index = summary.index if summary is not None else None
        return pd.Series(
            paretonbd_log_likelihood(self.params_, x, tx, T), index=index, name="log_likelihood"
        )


class _ParetoNBDData:
    """Collapsed Pareto/NBD data: the weighted log-likelihood, vectorised.

    For ``x = 0`` (so ``t_x = 0``) the first 2F1 term of :math:`A_0` is the same for every
    customer and evaluated once; the ``gammaln`` terms once per distinct ``x``.
    """

    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray):
        self.n = float(w.sum())
        zero = x == 0
        self.T0, self.w0 = T[zero], w[zero]
        self.W0 = float(self.w0.sum())
        pos = ~zero
        self.x1, self.tx1, self.T1, self.w1 = x[pos], tx[pos], T[pos], w[pos]
        self.xu, self.inv = _factorize(self.x1)
        self.wxu = np.bincount(self.inv, weights=self.w1, minlength=self.xu.shape[0])

    def loglik(self, params: np.ndarray) -> float:
        r, alpha, s, beta = params
        gl = special.gammaln
        # constant terms: gammaln(r + x) per distinct x
        ll = (
            self.n * (r * np.log(alpha) + s * np.log(beta) - gl(r))
            + self.W0 * gl(r)
            + _dot(self.wxu, gl(r + self.xu))
        )
        if self.T0.shape[0]:
            x0 = np.zeros(1)
            # first 2F1 term at t_x = 0, once; the rest per customer
            _, la, ld = _pnbd_parts(params, x0, x0, self.T0)
            ll += _dot(self.w0, np.logaddexp(la, ld))
        if self.T1.shape[0]:
            _, la, ld = _pnbd_parts(params, self.x1, self.tx1, self.T1)
            ll += _dot(self.w1, np.logaddexp(la, ld))
        return float(ll)


def gamma_gamma_log_likelihood(
    params: dict[str, float] | tuple, frequency: Any, monetary_value: Any
) -> np.ndarray:
    """Per-customer gamma-gamma log-likelihood of the mean repeat order value.

    Notes
    -----
    With ``x`` repeat orders of mean value :math:`\\bar z` (Fader, Hardie & Lee 2005b;
    Fader & Hardie 2013, "The gamma-gamma model of monetary value"):

    .. math::

        L(p, q, \\gamma \\mid \\bar z, x) = \\frac{\\Gamma(px + q)}{\\Gamma(px)\\Gamma(q)}
        \\frac{\\gamma^q\\, \\bar z^{px - 1}\\, x^{px}}{(\\gamma + x \\bar z)^{px + q}}
    """
    p, q, g = (params["p"], params["q"], params["gamma"]) if isinstance(params, dict) else params
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    px = p * x
    return (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(g)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(g + m * x)
    )


class GammaGammaModel(_MLE):
    """Gamma-gamma model of the value of repeat orders (Fader, Hardie & Lee, 2005b).

    Each order's value is :math:`z \\sim \\text{Gamma}(p, \\text{rate}=\\nu)`, with
    :math:`\\nu \\sim \\text{Gamma}(q, \\text{rate}=\\gamma)` across customers, independent of
    the purchase process; a customer's mean order value is :math:`p / \\nu` and the
    population mean :math:`p\\gamma / (q - 1)`. Fitted by maximum likelihood on customers
    with ``frequency > 0`` (others are ignored) and their ``monetary_value``.

    Parameters
    ----------
    frequency_col, monetary_value_col : str
        Columns of the summary table.

    Attributes
    ----------
    params_ : dict
        ``p, q, gamma``.
    population_mean_ : float
        Mean order value of the population, :math:`p\\gamma / (q - 1)`; ``inf`` when
        ``q <= 1`` (heavy-tailed spend has no finite mean; ``fit`` then warns).
    cov_params_, cov_log_params_, log_likelihood_, n_customers_, converged_
        As in :class:`BetaGeoModel`.

    Notes
    -----
    Likelihood: :func:`gamma_gamma_log_likelihood`, maximised over ``log(p, q, gamma)``
    with L-BFGS-B and its analytic gradient from ``p = 1, q = 2, gamma = mean value``;
    standard errors from the inverse Hessian as for :class:`BetaGeoModel`.

    References
    ----------
    Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005b). RFM and CLV: Using iso-value
    curves for customer base analysis. Journal of Marketing Research, 42(4), 415-430.
    Colombo, R., & Jiang, W. (1999). A stochastic RFM model. Journal of Interactive
    Marketing, 13(3), 2-12.
    """

    _param_names = ("p", "q", "gamma")

    def __init__(
        self, *, frequency_col: str = "frequency", monetary_value_col: str = "monetary_value"
    ):
        self.frequency_col = frequency_col
        self.monetary_value_col = monetary_value_col

    def _arrays(self, summary: pd.DataFrame):
        if not isinstance(summary, pd.DataFrame):
            raise TypeError(f"summary must be a pandas DataFrame, not {type(summary).__name__}")
        x = _as_float(summary, self.frequency_col, "frequency_col")
        m = _as_float(summary, self.monetary_value_col, "monetary_value_col")
        if ((x < 0) | (x != np.round(x))).any():
            raise ValueError(f"{self.frequency_col} must be a whole number >= 0")
        bad = (x > 0) & (m <= 0)
        if bad.any():
            raise ValueError(
                f"{int(bad.sum())} customers with {self.frequency_col} > 0 have "
                f"{self.monetary_value_col} <= 0 (e.g. all repeat orders returned); the "
                "gamma-gamma model needs positive values: drop them "
                f"(summary[summary['{self.monetary_value_col}'] > 0]) or summarise gross "
                "values with customer_summary(..., returns='ignore')"
            )
        return x, m

    def fit(self, summary: pd.DataFrame) -> GammaGammaModel:
        """Fit by maximum likelihood on the rows with ``frequency > 0``.

        Returns
        -------
        GammaGammaModel
            self.
        """
        x, m = self._arrays(summary)
        keep = x > 0
        if keep.sum() < 2:
            raise ValueError("gamma-gamma needs at least 2 customers with frequency > 0")
        (ux, um), w = _collapse(x[keep], m[keep])
        xu, inv = _factorize(ux)
        log_m = np.log(um)
        n = float(w.sum())
        self._fit_data = {
            "n": n,
            "w": w,
            "wx": w * ux,
            "mx": um * ux,
            "xu": xu,
            "wxu": np.bincount(inv, weights=w, minlength=xu.shape[0]),
            "s_w_log_m": _dot(w, log_m),
            "s_wx_log_m": _dot(w * ux, log_m),
        }
        theta0 = np.log([1.0, 2.0, float(np.average(um, weights=w))])
        self._data_note = (
            f"{int(n):,} repeat buyers with mean repeat order values from {um.min():.4g} "
            f"to {um.max():.4g}"
        )
        self._optimise(theta0, n)
        self.n_customers_ = int(n)
        del self._fit_data
        p, q, g = (self.params_[k] for k in self._param_names)
        self.population_mean_ = p * g / (q - 1) if q > 1 else np.inf
        if q <= 1:
            import warnings

            warnings.warn(
                f"GammaGammaModel: q = {q:.3g} <= 1: the fitted spread of customers' mean "
                "order values is so heavy-tailed that it has no finite mean (the population "
                "mean is infinite; the formula p * gamma / (q - 1) only holds for q > 1). "
                "expected_average_value is missing (NaN) for customers without repeat "
                "orders and wherever p * x + q <= 1. Look at the largest order values "
                f"(up to {um.max():.4g} here): outliers, wrong units or business orders "
                "mixed with consumer ones; cap or remove them, or value customers by their "
                "own mean order value instead of this model.",
                RuntimeWarning,
                stacklevel=2,
            )
        return self

    def _neg_ll_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, g = np.exp(theta)
        d = self._fit_data
        n = d["n"]
        dg, gl = special.digamma, special.gammaln
        # terms in x only, once per distinct x (weighted by the customers with that x)
        xu, wxu = d["xu"], d["wxu"]
        pxu = p * xu
        d_pq, d_px = dg(pxu + q), dg(pxu)
        # per customer: only log(gamma + m x) and 1 / (gamma + m x) change with the parameters
        gm = g + d["mx"]
        log_gm = np.log(gm)
        inv_gm = 1.0 / gm
        wx_log_gm, w_log_gm = _dot(d["wx"], log_gm), _dot(d["w"], log_gm)
        ll = (
            _dot(wxu, gl(pxu + q) - gl(pxu) + pxu * np.log(xu))
            + n * (q * np.log(g) - gl(q))
            + p * d["s_wx_log_m"]
            - d["s_w_log_m"]
            - p * wx_log_gm
            - q * w_log_gm
        )
        g_p = _dot(wxu * xu, d_pq - d_px + np.log(xu)) + d["s_wx_log_m"] - wx_log_gm
        g_q = _dot(wxu, d_pq) + n * (np.log(g) - dg(q)) - w_log_gm
        g_g = n * q / g - p * _dot(d["wx"], inv_gm) - q * _dot(d["w"], inv_gm)
        grad = np.array([g_p, g_q, g_g])
        return -ll / n, -grad * np.exp(theta) / n

    def expected_average_value(self, summary: pd.DataFrame) -> pd.Series:
        """Expected mean order value of each customer given her history.

        Notes
        -----
        Fader, Hardie & Lee (2005b), eq. A3:

        .. math::

            E[Z \\mid p, q, \\gamma, \\bar z, x] =
            \\frac{(\\gamma + x\\bar z)\\, p}{p x + q - 1}

        a weighted average of the population mean :math:`p\\gamma/(q-1)` and the
        customer's own mean :math:`\\bar z`; customers with ``x = 0`` get the population
        mean. It is the mean of :math:`p/\\nu` under the posterior
        :math:`\\nu \\sim \\text{Gamma}(px + q, \\text{rate}=\\gamma + x\\bar z)`, which
        exists only when :math:`px + q > 1`: with ``q <= 1`` (heavy-tailed spend) the
        population mean is infinite. Where the expectation does not exist the value is
        NaN (never negative or infinite) and a ``RuntimeWarning`` says how many customers
        are concerned.

        Returns
        -------
        pandas.Series
            ``expected_average_value``, indexed like ``summary``.
        """
        self._check_fitted()
        x, m = self._arrays(summary)
        p, q, g = (self.params_[k] for k in self._param_names)
        m = np.where(x > 0, m, 0.0)
        shape = p * x + q - 1
        defined = shape > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(defined, (g + m * x) * p / shape, np.nan)
        if not defined.all():
            import warnings

            warnings.warn(
                f"GammaGammaModel: {int((~defined).sum()):,} of {x.shape[0]:,} customers "
                f"have no finite expected order value (NaN): q = {q:.3g} <= 1 and "
                f"p * x + q <= 1 for them (p = {p:.3g}), so the mean of their order values "
                "is infinite under the model"
                + (" (among them every customer without repeat orders)" if (x == 0).any() else "")
                + ". See the warning of fit for what to do.",
                RuntimeWarning,
                stacklevel=2,
            )
        return pd.Series(out, index=summary.index, name="expected_average_value")
