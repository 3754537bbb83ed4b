"""Uplift modelling for precision marketing: who should get the coupon?

An A/B test estimates the *average* effect; an uplift model estimates the conditional effect
``tau(x) = P(Y = 1 | T = 1, x) - P(Y = 1 | T = 0, x)`` of each customer from the randomised
data, so a campaign can target the customers it moves rather than those who would buy
anyway. Models follow the scikit-learn contract (``fit`` returns ``self``, fitted attributes
end in ``_``, every random step takes ``random_state``); the evaluation curves take arrays
and return tidy DataFrames; :func:`target_list` only ever returns consenting customers and
never a personal-data column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from crm_lib.experiments._validate import require_columns

__all__ = [
    "PII_COLUMNS",
    "ClassTransformationUplift",
    "TwoModelUplift",
    "UpliftEvaluation",
    "evaluate_uplift",
    "qini_coefficient",
    "qini_curve",
    "target_list",
    "uplift_curve",
    "uplift_features",
]

PII_COLUMNS = ("name", "email", "phone")
"""Personal-data columns of the customer table: never features, never in a target list."""


# ------------------------------------------------------------------------------ features


def uplift_features(
    customers: pd.DataFrame,
    covariates: pd.DataFrame | None = None,
    *,
    customer_col: str = "customer_id",
    categorical: Sequence[str] = ("region", "acquisition_channel", "gender"),
    numeric: Sequence[str] = ("birth_year",),
    covariate_cols: Sequence[str] = ("pre_period_revenue",),
    log_covariates: bool = True,
) -> pd.DataFrame:
    """Model matrix of customer attributes (+ pre-period covariates), one row per customer.

    Parameters
    ----------
    customers : DataFrame
        Customer table (``customer_col`` plus the listed attribute columns).
    covariates : DataFrame, optional
        Per-customer covariates measured before assignment (e.g. the experiment assignments
        with ``pre_period_revenue``); joined on ``customer_col``. Only the customers of this
        table are kept (the experiment population); without it every customer is kept.
    categorical : sequence of str
        One-hot encoded (all levels kept, missing values get their own ``<col>_missing``
        indicator column).
    numeric : sequence of str
        Kept as numbers; missing values are replaced by the median and flagged in
        ``<col>_missing``.
    covariate_cols : sequence of str
        Columns of ``covariates``; ``log1p`` transformed when ``log_covariates`` (revenue is
        heavy-tailed).

    Returns
    -------
    pandas.DataFrame
        Float columns, indexed by ``customer_col`` (in the order of ``covariates`` if given).

    Raises
    ------
    ValueError
        If a personal-data column (:data:`PII_COLUMNS`) is requested as a feature.
    """
    pii = [c for c in [*categorical, *numeric, *covariate_cols] if c in PII_COLUMNS]
    if pii:
        raise ValueError(
            f"personal data {pii} must not be used as model features; drop them from the lists"
        )
    require_columns(customers, [customer_col, *categorical, *numeric], "customers")
    base = customers[[customer_col, *categorical, *numeric]]
    if base[customer_col].duplicated().any():
        raise ValueError(f"customers has duplicated {customer_col!r}; one row per customer")
    if covariates is not None:
        require_columns(covariates, [customer_col, *covariate_cols], "covariates")
        cov = covariates[[customer_col, *covariate_cols]].drop_duplicates(customer_col)
        base = cov.merge(base, on=customer_col, how="left", validate="one_to_one")
    out = pd.DataFrame(index=pd.Index(base[customer_col].to_numpy(), name=customer_col))
    for col in covariate_cols if covariates is not None else ():
        x = base[col].to_numpy(dtype=float, na_value=np.nan)
        if np.isnan(x).any():
            raise ValueError(f"covariate {col!r} has missing values; fill them (e.g. 0 revenue)")
        out[col] = np.log1p(np.clip(x, 0, None)) if log_covariates else x
    for col in numeric:
        x = base[col].to_numpy(dtype=float, na_value=np.nan)
        miss = np.isnan(x)
        fill = float(np.nanmedian(x)) if (~miss).any() else 0.0
        out[col] = np.where(miss, fill, x)
        out[f"{col}_missing"] = miss.astype(float)
    for col in categorical:
        s = base[col].astype("object").where(base[col].notna(), "missing")
        dummies = pd.get_dummies(s.to_numpy(), prefix=col, dtype=float)
        dummies.index = out.index
        out = pd.concat([out, dummies.sort_index(axis=1)], axis=1)
    return out


# -------------------------------------------------------------------------------- models


def _check_fit_input(X, treatment, y):
    Xa = X.to_numpy(dtype=float) if isinstance(X, pd.DataFrame) else np.asarray(X, dtype=float)
    t = np.asarray(treatment)
    yv = np.asarray(y)
    if Xa.ndim != 2:
        raise ValueError(f"X must be 2-dimensional (rows = customers), got shape {Xa.shape}")
    if not (len(Xa) == len(t) == len(yv)):
        raise ValueError(
            f"X, treatment and y must have the same length, got {len(Xa)}, {len(t)}, {len(yv)}"
        )
    if np.isnan(Xa).any():
        raise ValueError("X has missing values; build it with uplift_features (which imputes)")
    if not np.isin(t, [0, 1]).all():
        raise ValueError("treatment must be 0/1 or boolean (1 = treated, 0 = control)")
    if not np.isin(yv, [0, 1]).all():
        raise ValueError("y must be a 0/1 or boolean outcome (e.g. converted)")
    t = t.astype(int)
    if t.min() == t.max():
        raise ValueError("treatment has only one arm; uplift needs treated and control units")
    return Xa, t, yv.astype(int)


def _default_learner(random_state):
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(
        n_estimators=100,
        max_depth=2,
        learning_rate=0.05,
        subsample=0.8,
        min_samples_leaf=50,
        random_state=random_state,
    )


def _proba(model, X) -> np.ndarray:
    return model.predict_proba(X)[:, 1]


class TwoModelUplift(BaseEstimator):
    """T-learner: one outcome classifier per arm, uplift = difference of the predictions.

    Parameters
    ----------
    learner : classifier, optional
        scikit-learn classifier with ``predict_proba``; cloned once per arm. Default: a
        shallow :class:`~sklearn.ensemble.GradientBoostingClassifier`.
    random_state : int, optional
        Seed of the default learner (and of ``learner`` if it has a ``random_state``).

    Attributes
    ----------
    model_control_, model_treatment_ : fitted classifiers
    n_features_in_ : int

    Notes
    -----
    ``tau(x) = mu_1(x) - mu_0(x)`` with ``mu_t(x) = P(Y = 1 | T = t, x)`` fitted separately
    on each arm. Simple and valid for any treatment share, but each model fits the
    outcome level, not the (usually much smaller) difference, so the estimate is noisy.

    References
    ----------
    Kunzel, S. R., Sekhon, J. S., Bickel, P. J., & Yu, B. (2019). Metalearners for
    estimating heterogeneous treatment effects using machine learning. PNAS, 116(10),
    4156-4165.
    """

    def __init__(self, learner=None, random_state: int | None = 0):
        self.learner = learner
        self.random_state = random_state

    def _learner(self):
        if self.learner is None:
            return _default_learner(self.random_state)
        est = clone(self.learner)
        if "random_state" in est.get_params():
            est.set_params(random_state=self.random_state)
        return est

    def fit(self, X, treatment, y):
        """Fit the control and the treatment outcome model; returns ``self``."""
        Xa, t, yv = _check_fit_input(X, treatment, y)
        self.model_control_ = self._learner().fit(Xa[t == 0], yv[t == 0])
        self.model_treatment_ = self._learner().fit(Xa[t == 1], yv[t == 1])
        self.n_features_in_ = Xa.shape[1]
        return self

    def predict_uplift(self, X) -> np.ndarray:
        """Predicted uplift ``mu_1(x) - mu_0(x)`` (probability points) per row of ``X``."""
        Xa = np.asarray(X, dtype=float)
        return _proba(self.model_treatment_, Xa) - _proba(self.model_control_, Xa)


class ClassTransformationUplift(BaseEstimator):
    """Class-transformation uplift model: one classifier on ``Z = Y T + (1 - Y)(1 - T)``.

    Parameters
    ----------
    learner : classifier, optional
        scikit-learn classifier with ``predict_proba`` and ``sample_weight`` in ``fit``.
        Default: :class:`~sklearn.linear_model.LogisticRegression` (``C=1``); a logistic
        regression is preceded by standardisation of the features (its penalty is not
        scale-free).
    treatment_share : float, optional
        Planned probability ``p`` of treatment; by default the observed share of treated
        rows in ``fit``.
    random_state : int, optional
        Seed passed to the learner if it has a ``random_state``.

    Attributes
    ----------
    model_ : fitted classifier
    treatment_share_ : float
        The ``p`` used.
    n_features_in_ : int

    Notes
    -----
    Jaskowski & Jaroszewicz (2012): with ``p = 1/2``, ``P(Z = 1 | x) = (mu_1(x) + 1 -
    mu_0(x)) / 2``, so ``tau(x) = 2 P(Z = 1 | x) - 1``. For ``p != 1/2`` the identity fails
    (the class prior of ``Z`` then depends on ``p``); the generalisation used here weights
    treated rows by ``1 / (2p)`` and control rows by ``1 / (2(1 - p))``, which makes the
    weighted treatment share exactly 1/2 in every cell of ``x`` and restores
    ``tau(x) = 2 P_w(Z = 1 | x) - 1``. It is the classification form of the transformed
    outcome ``Y* = Y (T - p) / (p (1 - p))``, ``E[Y* | x] = tau(x)`` (Athey & Imbens 2015).

    References
    ----------
    Jaskowski, M., & Jaroszewicz, S. (2012). Uplift modeling for clinical trial data. ICML
    2012 Workshop on Clinical Data Analysis.
    Athey, S., & Imbens, G. W. (2015). Machine learning methods for estimating heterogeneous
    causal effects. arXiv:1504.01132.
    """

    def __init__(
        self, learner=None, treatment_share: float | None = None, random_state: int | None = 0
    ):
        self.learner = learner
        self.treatment_share = treatment_share
        self.random_state = random_state

    def fit(self, X, treatment, y):
        """Fit the classifier on the transformed class; returns ``self``."""
        Xa, t, yv = _check_fit_input(X, treatment, y)
        p = float(t.mean()) if self.treatment_share is None else float(self.treatment_share)
        if not 0 < p < 1:
            raise ValueError(f"treatment_share must be in (0, 1), got {p!r}")
        if self.learner is None:
            from sklearn.linear_model import LogisticRegression

            est = LogisticRegression(C=1.0, max_iter=2000)
        else:
            est = clone(self.learner)
            if "random_state" in est.get_params():
                est.set_params(random_state=self.random_state)
        if est.__class__.__name__ == "LogisticRegression":
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            est = make_pipeline(StandardScaler(), est)
            weight_key = f"{est.steps[-1][0]}__sample_weight"
        else:
            weight_key = "sample_weight"
        z = yv * t + (1 - yv) * (1 - t)
        w = np.where(t == 1, 0.5 / p, 0.5 / (1 - p))
        self.model_ = est.fit(Xa, z, **{weight_key: w})
        self.treatment_share_ = p
        self.n_features_in_ = Xa.shape[1]
        return self

    def predict_uplift(self, X) -> np.ndarray:
        """Predicted uplift ``2 P(Z = 1 | x) - 1`` per row of ``X``."""
        return 2 * _proba(self.model_, np.asarray(X, dtype=float)) - 1


# --------------------------------------------------------------------------- evaluation


def _curve_input(y, treatment, uplift_score):
    yv = np.asarray(y, dtype=float)
    t = np.asarray(treatment, dtype=float)
    s = np.asarray(uplift_score, dtype=float)
    if not (yv.shape == t.shape == s.shape) or yv.ndim != 1:
        raise ValueError(
            f"y, treatment and uplift_score must be 1-d of the same length, got shapes "
            f"{yv.shape}, {t.shape}, {s.shape}"
        )
    if np.isnan(yv).any() or np.isnan(s).any():
        raise ValueError("y and uplift_score must not contain missing values")
    if not np.isin(t, [0, 1]).all():
        raise ValueError("treatment must be 0/1 or boolean")
    if t.sum() == 0 or t.sum() == len(t):
        raise ValueError("the curves need treated and control units")
    order = np.argsort(-s, kind="mergesort")
    yv, t, s = yv[order], t[order], s[order]
    # one point per distinct score: tied customers are targeted together
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]
    n_t = np.cumsum(t)[last]
    n_c = (last + 1) - n_t
    y_t = np.cumsum(yv * t)[last]
    y_c = np.cumsum(yv * (1 - t))[last]
    zero = np.zeros(1)
    return (
        np.r_[zero, last + 1],
        np.r_[zero, n_t],
        np.r_[zero, n_c],
        np.r_[zero, y_t],
        np.r_[zero, y_c],
    )


def qini_curve(y, treatment, uplift_score) -> pd.DataFrame:
    """Qini curve: incremental responders among the customers with the highest scores.

    Parameters
    ----------
    y : array_like
        Outcome (0/1 or numeric, e.g. converted or revenue).
    treatment : array_like
        1 = treated, 0 = control.
    uplift_score : array_like
        Predicted uplift; higher is targeted first. Tied scores are targeted together.

    Returns
    -------
    pandas.DataFrame
        From ``n = 0`` to ``n = N``, one row per distinct score: ``n, share, n_treatment,
        n_control, y_treatment, y_control, qini, random``. ``random`` is the straight line
        of random targeting, from 0 to the overall incremental responders.

    Notes
    -----
    With ``n_t(k), n_c(k)`` treated and control units and ``y_t(k), y_c(k)`` their responders
    among the top ``k``: ``Q(k) = y_t(k) - y_c(k) n_t(k) / n_c(k)`` (``Q = y_t`` while
    ``n_c = 0``), the treated responders minus the control responders scaled to the size of
    the treated group. ``Q(N) = Y_T - Y_C N_T / N_C``; random targeting gets ``k/N Q(N)``.

    References
    ----------
    Radcliffe, N. J. (2007). Using control groups to target on predicted lift: building and
    assessing uplift models. Direct Marketing Analytics Journal, 1, 14-21.

    Examples
    --------
    >>> qini_curve([1, 0, 1, 0], [1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1])["qini"].tolist()
    [0.0, 1.0, 1.0, -1.0, 0.0]
    """
    n, n_t, n_c, y_t, y_c = _curve_input(y, treatment, uplift_score)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = y_t - np.where(n_c > 0, y_c * n_t / n_c, 0.0)
    total = n[-1]
    return pd.DataFrame(
        {
            "n": n.astype(np.int64),
            "share": n / total,
            "n_treatment": n_t.astype(np.int64),
            "n_control": n_c.astype(np.int64),
            "y_treatment": y_t,
            "y_control": y_c,
            "qini": q,
            "random": n / total * q[-1],
        }
    )


def uplift_curve(y, treatment, uplift_score) -> pd.DataFrame:
    """Uplift (gain) curve: estimated lift among the top ``k`` times ``k``.

    Returns
    -------
    pandas.DataFrame
        ``n, share, n_treatment, n_control, y_treatment, y_control, uplift, random``;
        ``uplift = (y_t(k)/n_t(k) - y_c(k)/n_c(k)) k`` (0 while an arm is empty) and
        ``random = k/N uplift(N)``.

    Notes
    -----
    Unlike the Qini curve, the lift is estimated from the response *rates* of the two arms
    among the targeted, so it does not depend on the treated share of the top ``k``.

    References
    ----------
    Rzepakowski, P., & Jaroszewicz, S. (2012). Decision trees for uplift modeling with single
    and multiple treatments. Knowledge and Information Systems, 32(2), 303-327.
    """
    n, n_t, n_c, y_t, y_c = _curve_input(y, treatment, uplift_score)
    ok = (n_t > 0) & (n_c > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(ok, (y_t / n_t - y_c / n_c) * n, 0.0)
    return pd.DataFrame(
        {
            "n": n.astype(np.int64),
            "share": n / n[-1],
            "n_treatment": n_t.astype(np.int64),
            "n_control": n_c.astype(np.int64),
            "y_treatment": y_t,
            "y_control": y_c,
            "uplift": u,
            "random": n / n[-1] * u[-1],
        }
    )


def _area(curve: pd.DataFrame, col: str) -> float:
    """Area between ``col`` and the random line over ``share`` in [0, 1] (trapezoids)."""
    gap = (curve[col] - curve["random"]).to_numpy()
    x = curve["share"].to_numpy()
    return float(np.sum(np.diff(x) * (gap[1:] + gap[:-1]) / 2))


def qini_coefficient(y, treatment, uplift_score, *, normalize: bool = True) -> float:
    """Qini coefficient: area between the Qini curve and random targeting.

    Parameters
    ----------
    normalize : bool
        Divide by the same area of the best possible ranking (Radcliffe's ``Q``: 1 for a
        perfect model, 0 for random targeting, negative when worse than random). Without
        it, the area in units of incremental responders (per unit of targeted share).

    Notes
    -----
    ``q = integral_0^1 (Q(x) - x Q(1)) dx`` over the targeted share ``x`` (trapezoid rule on
    the Qini curve). The best ranking for a 0/1 outcome puts treated responders first and
    control responders last (higher ``y`` first in treatment, higher ``y`` last in control).

    References
    ----------
    Radcliffe, N. J. (2007). Direct Marketing Analytics Journal, 1, 14-21.
    """
    curve = qini_curve(y, treatment, uplift_score)
    area = _area(curve, "qini")
    if not normalize:
        return area
    yv = np.asarray(y, dtype=float)
    t = np.asarray(treatment, dtype=float)
    perfect = yv * t - yv * (1 - t)
    best = _area(qini_curve(yv, t, perfect), "qini")
    if best <= 0:
        return float("nan")
    return area / best


@dataclass
class UpliftEvaluation:
    """A model fitted on a training split and scored on the held-out split.

    Attributes
    ----------
    model : fitted uplift model
    test_index : ndarray
        Positions of the held-out rows.
    scores : ndarray
        Predicted uplift of the held-out rows.
    qini : pandas.DataFrame
        :func:`qini_curve` on the held-out rows.
    qini_coefficient : float
        Normalised :func:`qini_coefficient` on the held-out rows.
    """

    model: object
    test_index: np.ndarray
    scores: np.ndarray
    qini: pd.DataFrame
    qini_coefficient: float

    def summary(self) -> pd.DataFrame:
        """One row: ``model, n_test, qini_coefficient, incremental_total, top_30_share``."""
        q = self.qini
        k = int(np.searchsorted(q["share"].to_numpy(), 0.3))
        return pd.DataFrame(
            {
                "model": [type(self.model).__name__],
                "n_test": [int(q["n"].iloc[-1])],
                "qini_coefficient": [self.qini_coefficient],
                "incremental_total": [float(q["qini"].iloc[-1])],
                "incremental_top_30": [float(q["qini"].iloc[min(k, len(q) - 1)])],
            }
        )


def evaluate_uplift(
    model, X, treatment, y, *, test_size: float = 0.3, random_state: int | None = 0
) -> UpliftEvaluation:
    """Fit ``model`` on a stratified training split and evaluate it on the held-out rest.

    The split is stratified on treatment x outcome, so both arms keep their response rates.
    Evaluating on the rows the model was fitted on would reward overfitting noise.
    """
    from sklearn.model_selection import train_test_split

    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be a share in (0, 1), got {test_size!r}")
    Xa, t, yv = _check_fit_input(X, treatment, y)
    idx = np.arange(len(Xa))
    train, test = train_test_split(
        idx, test_size=test_size, random_state=random_state, stratify=t * 2 + yv
    )
    fitted = clone(model).fit(Xa[train], t[train], yv[train])
    scores = fitted.predict_uplift(Xa[test])
    return UpliftEvaluation(
        model=fitted,
        test_index=test,
        scores=scores,
        qini=qini_curve(yv[test], t[test], scores),
        qini_coefficient=qini_coefficient(yv[test], t[test], scores),
    )


# ---------------------------------------------------------------------------- targeting


def target_list(
    customers: pd.DataFrame,
    scores: pd.Series | pd.DataFrame,
    *,
    top_share: float | None = None,
    n: int | None = None,
    consent_col: str = "marketing_consent",
    customer_col: str = "customer_id",
    score_col: str = "score",
    min_score: float | None = None,
) -> pd.DataFrame:
    """Customers to contact, ranked by predicted uplift -- consenting customers only.

    Parameters
    ----------
    customers : DataFrame
        Customer table with ``customer_col`` and ``consent_col`` (bool). Customers whose
        consent is missing or false, and scored ids missing from this table, are never
        listed.
    scores : Series or DataFrame
        Predicted uplift: a Series indexed by customer id, or a DataFrame with
        ``customer_col`` and ``score_col``.
    top_share, n : float or int
        Size of the list: a share of the eligible (consenting, scored) customers, or a count.
        Give exactly one.
    min_score : float, optional
        Leave out customers with a predicted uplift at or below it (e.g. 0: do not contact
        customers the coupon is predicted not to move).

    Returns
    -------
    pandas.DataFrame
        ``customer_id, score, rank`` (rank 1 = highest uplift) -- nothing else, in
        particular no personal data.
    """
    if (top_share is None) == (n is None):
        raise ValueError("give exactly one of top_share (e.g. 0.2) or n (e.g. 500)")
    if top_share is not None and not 0 < top_share <= 1:
        raise ValueError(f"top_share must be in (0, 1], got {top_share!r}")
    if n is not None and n < 0:
        raise ValueError(f"n must be >= 0, got {n!r}")
    require_columns(customers, [customer_col, consent_col], "customers")
    if isinstance(scores, pd.Series):
        sc = pd.DataFrame({customer_col: scores.index.to_numpy(), "score": scores.to_numpy()})
    else:
        require_columns(scores, [customer_col, score_col], "scores")
        sc = pd.DataFrame(
            {customer_col: scores[customer_col].to_numpy(), "score": scores[score_col].to_numpy()}
        )
    sc["score"] = pd.to_numeric(sc["score"]).astype(float)
    if sc[customer_col].duplicated().any():
        raise ValueError("scores has more than one score for a customer")
    ok = customers[consent_col].eq(True).fillna(False).to_numpy(dtype=bool)
    allowed = set(customers.loc[ok, customer_col])
    sc = sc[sc[customer_col].isin(allowed) & sc["score"].notna()]
    k = int(np.ceil(top_share * len(sc) - 1e-9)) if top_share is not None else int(n)
    if min_score is not None:
        sc = sc[sc["score"] > min_score]
    sc = sc.sort_values(["score", customer_col], ascending=[False, True], kind="mergesort")
    out = sc.head(k).reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1, dtype=np.int64)
    return out.rename(columns={customer_col: "customer_id"})[["customer_id", "score", "rank"]]
