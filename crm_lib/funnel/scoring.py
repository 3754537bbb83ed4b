"""Lead scoring (calibrated, time-validated) and the pipeline forecast of open deals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_lib.funnel.pipeline import is_closed_stage

__all__ = ["LeadScorer", "PipelineForecaster", "lead_features", "open_deals", "pipeline_backtest"]

_DAY = pd.Timedelta(days=1)


def lead_features(leads: pd.DataFrame, *, sources=None) -> pd.DataFrame:
    """Model features of each lead, known within hours of its arrival.

    ``log_response_h`` (log hours to the first response; never contacted: 0 with
    ``not_contacted = 1``), ``log_size`` (log employees; unknown: the median with
    ``size_unknown = 1``), one indicator per source.
    """
    h = (leads["first_response_at"] - leads["created_at"]) / pd.Timedelta(hours=1)
    size = leads["company_size"].astype("Float64")
    log_size = np.log1p(size.astype(float))
    med = np.nanmedian(log_size) if np.isfinite(log_size).any() else 0.0
    out = pd.DataFrame(
        {
            "log_response_h": np.log1p(h.fillna(0).to_numpy(dtype=float)),
            "not_contacted": h.isna().to_numpy(dtype=float),
            "log_size": np.where(np.isnan(log_size), med, log_size),
            "size_unknown": np.isnan(log_size).astype(float),
        },
        index=leads.index,
    )
    sources = sorted(leads["source"].dropna().unique()) if sources is None else sources
    for s in sources:
        out[f"source_{s}"] = (leads["source"] == s).to_numpy(dtype=float)
    return out


class LeadScorer:
    """Probability that a lead becomes an opportunity within ``window_days``.

    Parameters
    ----------
    window_days : int
        Outcome window after the lead's arrival.
    method : {"sigmoid", "isotonic"}
        Calibration of scikit-learn's ``CalibratedClassifierCV`` (time-series folds).
    random_state : int

    Notes
    -----
    A logistic regression (standardised features) calibrated on three forward-chaining
    folds (``TimeSeriesSplit``). Validation is by time: the model is fitted on leads
    that arrived before ``cutoff - window_days`` (their outcome is known at the cutoff)
    and evaluated on leads that arrived after the cutoff, as it would be used. AUC:
    :func:`sklearn.metrics.roc_auc_score`; calibration: Brier score and the
    reliability curve (``calibration_curve``, quantile bins).
    """

    def __init__(self, window_days: int = 30, method: str = "sigmoid", random_state: int = 0):
        self.window_days = window_days
        self.method = method
        self.random_state = random_state

    def _target(self, leads: pd.DataFrame) -> np.ndarray:
        delay = (leads["converted_at"] - leads["created_at"]) / _DAY
        return (delay <= self.window_days).fillna(False).to_numpy(dtype=int)

    def fit(self, leads: pd.DataFrame, *, cutoff: pd.Timestamp) -> LeadScorer:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import TimeSeriesSplit
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        train = leads[leads["created_at"] < cutoff - pd.Timedelta(days=self.window_days)]
        train = train.sort_values("created_at", kind="stable")
        y = self._target(train)
        if len(np.unique(y)) < 2:
            raise ValueError("the training leads all have the same outcome; move the cutoff")
        self.sources_ = sorted(leads["source"].dropna().unique())
        x = lead_features(train, sources=self.sources_)
        self.features_ = list(x.columns)
        base = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        self.model_ = CalibratedClassifierCV(
            base, method=self.method, cv=TimeSeriesSplit(n_splits=3)
        ).fit(x.to_numpy(), y)
        self.coef_ = pd.Series(
            base.fit(x.to_numpy(), y)[-1].coef_[0], index=self.features_, name="coef"
        )
        self.cutoff_ = cutoff
        self.n_train_ = len(train)
        return self

    def predict_proba(self, leads: pd.DataFrame) -> np.ndarray:
        x = lead_features(leads, sources=self.sources_)
        return self.model_.predict_proba(x[self.features_].to_numpy())[:, 1]

    def evaluate(self, leads: pd.DataFrame, *, end: pd.Timestamp | None = None) -> dict:
        """Holdout: leads from the cutoff to ``end - window_days`` (outcome known).

        Returns ``{"metrics": DataFrame(n, base_rate, auc, brier, brier_baseline),
        "calibration": DataFrame(bin, predicted, observed, n), "lift": DataFrame(decile,
        leads, converted, rate, lift, cum_share_of_conversions)}``.
        """
        from sklearn.calibration import calibration_curve
        from sklearn.metrics import brier_score_loss, roc_auc_score

        end = end if end is not None else leads["created_at"].max()
        hold = leads[
            (leads["created_at"] >= self.cutoff_)
            & (leads["created_at"] < end - pd.Timedelta(days=self.window_days))
        ]
        y = self._target(hold)
        p = self.predict_proba(hold)
        base = y.mean()
        metrics = pd.DataFrame(
            {
                "n_train": [self.n_train_],
                "n_holdout": [len(hold)],
                "base_rate": [base],
                "auc": [roc_auc_score(y, p) if 0 < y.sum() < len(y) else np.nan],
                "brier": [brier_score_loss(y, p)],
                "brier_baseline": [base * (1 - base)],
            }
        )
        obs, pred = calibration_curve(y, p, n_bins=5, strategy="quantile")
        calib = pd.DataFrame({"predicted": pred, "observed": obs})
        order = np.argsort(-p, kind="stable")
        dec = np.empty(len(p), dtype=int)
        dec[order] = np.arange(len(p)) * 10 // max(len(p), 1) + 1
        lift = (
            pd.DataFrame({"decile": dec, "y": y})
            .groupby("decile")["y"]
            .agg(leads="size", converted="sum")
            .reset_index()
        )
        lift["rate"] = lift["converted"] / lift["leads"]
        lift["lift"] = lift["rate"] / base if base > 0 else np.nan
        lift["cum_share_of_conversions"] = lift["converted"].cumsum() / max(y.sum(), 1)
        return {"metrics": metrics, "calibration": calib, "lift": lift, "scores": p, "y": y}

    def score_open(self, leads: pd.DataFrame, *, as_of: pd.Timestamp | None = None, top: int = 20):
        """Leads not yet converted and younger than ``window_days``, best first.

        Returns ``lead_id, source, owner_id, created_at, score``.
        """
        as_of = as_of if as_of is not None else leads["created_at"].max()
        young = leads["created_at"] >= as_of - pd.Timedelta(days=self.window_days)
        open_ = leads[young & leads["converted_at"].isna()].copy()
        open_["score"] = self.predict_proba(open_)
        cols = ["lead_id", "source", "owner_id", "created_at", "score"]
        return open_.sort_values("score", ascending=False)[cols].head(top).reset_index(drop=True)


# ------------------------------------------------------------------ pipeline forecast


def open_deals(
    opportunities: pd.DataFrame, stages: pd.DataFrame, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Deals open at ``as_of`` with their stage then and their age (days since creation).

    A deal is open at ``as_of`` when created before and not closed by then (closed deals
    have ``close_at``). Returns ``opportunity_id, amount, stage, age_days``.
    """
    o = opportunities
    is_open = (o["created_at"] <= as_of) & ~(o["is_closed"] & (o["close_at"] <= as_of))
    keep = [c for c in ("source", "owner_id") if c in o.columns]
    o = o.loc[is_open, ["opportunity_id", "amount", "created_at", *keep]]
    h = stages[(stages["entered_at"] <= as_of) & stages["opportunity_id"].isin(o["opportunity_id"])]
    cur = h.sort_values("entered_at", kind="stable").groupby("opportunity_id")["stage"].last()
    o = o.assign(stage=o["opportunity_id"].map(cur), age_days=(as_of - o["created_at"]) / _DAY)
    return o.dropna(subset=["stage"])[["opportunity_id", "amount", "stage", "age_days", *keep]]


def _ridge_logit(x: np.ndarray, y: np.ndarray, groups: np.ndarray, lam: float):
    r"""Ridge logistic regression by Newton-Raphson; covariance clustered by ``groups``.

    Returns ``(beta, cov)``, intercept first. The covariance is the sandwich
    :math:`H^{-1} (\sum_c s_c s_c^\top) H^{-1}` with :math:`s_c` the score summed over
    the rows of cluster :math:`c` (one deal's snapshots are not independent).
    """
    from scipy import special

    x1 = np.column_stack([np.ones(len(x)), x])
    pen = lam * np.eye(x1.shape[1])
    pen[0, 0] = 0.0
    beta = np.zeros(x1.shape[1])
    for _ in range(100):
        p = special.expit(x1 @ beta)
        grad = x1.T @ (y - p) - pen @ beta
        hess = x1.T @ (x1 * (p * (1 - p))[:, None]) + pen
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.max(np.abs(step)) < 1e-9:
            break
    p = special.expit(x1 @ beta)
    rows = x1 * (y - p)[:, None]
    _, g = np.unique(groups, return_inverse=True)
    scores = np.zeros((g.max() + 1, x1.shape[1]))
    np.add.at(scores, g, rows)
    h_inv = np.linalg.inv(hess)
    return beta, h_inv @ (scores.T @ scores) @ h_inv


class PipelineForecaster:
    r"""P(win | stage, age, source, owner) of open deals; expected won revenue with an interval.

    Parameters
    ----------
    alpha : float
        1 - level of the interval.
    n_sims : int
        Monte Carlo draws of the interval.
    ridge : float
        L2 penalty of the logistic regression (on the standardised scale of 0/1
        indicators; keeps reps with few deals finite).
    random_state : int

    Notes
    -----
    Trained on weekly snapshots of deals that were closed by the training date: at each
    snapshot a deal has a stage and an age; the target is whether it was won. Model: a
    logistic regression on stage, source and owner indicators and
    :math:`\log(1 + \text{age})`. Expected won revenue of open deals
    :math:`E = \sum_i p_i A_i`. The interval is that of :math:`\sum_i B_i A_i` with
    :math:`B_i \sim \text{Bernoulli}(p_i)` and the coefficients drawn from their
    approximate sampling distribution :math:`N(\hat\beta, \hat V)` (sandwich covariance
    clustered by deal), so both the luck of the open deals and the estimation error of
    the win probabilities widen it.
    """

    def __init__(
        self, alpha: float = 0.1, n_sims: int = 4000, ridge: float = 1.0, random_state: int = 0
    ):
        self.alpha = alpha
        self.n_sims = n_sims
        self.ridge = ridge
        self.random_state = random_state

    def _x(self, snap: pd.DataFrame) -> np.ndarray:
        cols = [(snap["stage"] == s).to_numpy(dtype=float) for s in self.stages_[1:]]
        for col, levels in self.levels_.items():
            cols += [(snap[col] == v).to_numpy(dtype=float) for v in levels[1:]]
        return np.column_stack([*cols, np.log1p(snap["age_days"].to_numpy(dtype=float))])

    def fit(
        self, opportunities: pd.DataFrame, stages: pd.DataFrame, *, as_of: pd.Timestamp
    ) -> PipelineForecaster:
        o = opportunities[opportunities["is_closed"] & (opportunities["close_at"] <= as_of)]
        h = stages[stages["opportunity_id"].isin(o["opportunity_id"])]
        h = h[~is_closed_stage(h["stage"])]
        # weekly snapshots of each closed deal's open life
        life = ((o["close_at"] - o["created_at"]) / _DAY).to_numpy()
        k = np.floor(life / 7).astype(int) + 1
        idx = np.repeat(np.arange(len(o)), k)
        age = (np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)) * 7.0
        snap_t = pd.DatetimeIndex(o["created_at"])[idx] + pd.to_timedelta(age, unit="D")
        snap = pd.DataFrame(
            {
                "opportunity_id": o["opportunity_id"].to_numpy()[idx],
                "t": snap_t.as_unit("us"),
                "age_days": age,
            }
        )
        h = h.sort_values("entered_at").rename(columns={"entered_at": "t"})
        h = h.assign(
            t=pd.DatetimeIndex(h["t"]).as_unit("us"),
            opportunity_id=h["opportunity_id"].astype(object),  # one key dtype for the merge
        )
        snap["opportunity_id"] = snap["opportunity_id"].astype(object)
        snap = pd.merge_asof(
            snap.sort_values("t"), h[["opportunity_id", "t", "stage"]], on="t", by="opportunity_id"
        ).dropna(subset=["stage"])
        if snap.empty:
            raise ValueError(f"no deal closed by {as_of} has a stage history to learn from")
        by_id = o.set_index("opportunity_id")
        y = snap["opportunity_id"].map(by_id["is_won"]).to_numpy(dtype=float)
        self.stages_ = sorted(snap["stage"].unique())
        self.levels_ = {}
        for col in ("source", "owner_id"):
            if col in o.columns:
                snap[col] = snap["opportunity_id"].map(by_id[col]).to_numpy()
                self.levels_[col] = sorted(o[col].dropna().unique())
        self.coef_, self.cov_ = _ridge_logit(
            self._x(snap), y, snap["opportunity_id"].to_numpy(), self.ridge
        )
        self.n_snapshots_ = len(snap)
        self.n_deals_ = len(o)
        return self

    def _design(self, deals: pd.DataFrame) -> np.ndarray:
        return np.column_stack([np.ones(len(deals)), self._x(deals)])

    def predict(self, deals: pd.DataFrame) -> np.ndarray:
        """P(win) of each open deal (``stage, age_days`` and the source/owner columns)."""
        from scipy import special

        return special.expit(self._design(deals) @ self.coef_)

    def forecast(self, deals: pd.DataFrame) -> dict[str, float]:
        """``expected, lower, upper, n_deals`` of the won revenue of ``deals``."""
        from scipy import special

        x = self._design(deals)
        a = deals["amount"].to_numpy(dtype=float)
        rng = np.random.default_rng(self.random_state)
        coefs = rng.multivariate_normal(self.coef_, self.cov_, size=self.n_sims, method="eigh")
        p_sims = special.expit(coefs @ x.T)  # n_sims x n_deals
        sims = (rng.random(p_sims.shape) < p_sims) @ a
        lo, hi = np.quantile(sims, [self.alpha / 2, 1 - self.alpha / 2])
        expected = float(self.predict(deals) @ a)
        return {"expected": expected, "lower": float(lo), "upper": float(hi), "n_deals": len(a)}


def pipeline_backtest(
    opportunities: pd.DataFrame,
    stages: pd.DataFrame,
    *,
    origins,
    alpha: float = 0.1,
    train_weeks: float | None = None,
    maturity_weeks: float = 13,
    n_sims: int = 2000,
) -> pd.DataFrame:
    """At each origin: forecast the eventual won revenue of the deals open then.

    The model is fitted on the deals created at least ``maturity_weeks`` before the
    origin (and within ``train_weeks`` before that, if given) and closed by the origin;
    the actual is what those open deals later won.
    Origins whose open deals are not all closed by the end of the data are skipped.

    Returns
    -------
    pandas.DataFrame
        ``origin, n_deals, expected, lower, upper, actual, inside``.
    """
    rows = []
    for origin in origins:
        origin = pd.Timestamp(origin)
        deals = open_deals(opportunities, stages, origin)
        outcome = opportunities.set_index("opportunity_id").loc[deals["opportunity_id"]]
        if len(deals) == 0 or not outcome["is_closed"].all():
            continue
        # deals old enough to have closed, so the quick (mostly lost) ones are not
        # over-represented among the training deals
        mature = origin - pd.Timedelta(weeks=maturity_weeks)
        train = opportunities[opportunities["created_at"] < mature]
        if train_weeks is not None:
            train = train[train["created_at"] >= mature - pd.Timedelta(weeks=train_weeks)]
        f = PipelineForecaster(alpha=alpha, n_sims=n_sims).fit(train, stages, as_of=origin)
        fc = f.forecast(deals)
        actual = float((outcome["amount"] * outcome["is_won"]).sum())
        rows.append({"origin": origin, **fc, "actual": actual})
    out = pd.DataFrame(rows)
    if len(out):
        out["inside"] = (out["actual"] >= out["lower"]) & (out["actual"] <= out["upper"])
    return out
