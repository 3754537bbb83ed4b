"""Contractual churn: the churn flag as given, snapshots, and out-of-fold comparisons.

In a contractual business the customer *tells* you she leaves (a cancellation, a churn
flag), so the label is taken as given. Two shapes of data are handled:

- a **subscription table** with start and cancellation times (``subscriptions``): the
  history up to a cut-off gives durations for the Cox model
  (:func:`subscription_history`), and the subscribers active at a cut-off with whether they
  cancel in the next months give a snapshot for classifiers (:func:`subscription_snapshot`;
  time-based validation: train on an earlier cut-off);
- a **snapshot table** (one row per customer, tenure and a churn flag, e.g. the Telco
  table): classifiers and the Cox model are compared out of fold (stratified k-fold,
  :func:`snapshot_scores`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from crm_lib.churn.models import churn_pipeline, one_thread
from crm_lib.churn.survival import CoxModel
from crm_lib.contract.tables_churn import MONTH_DAYS

__all__ = ["snapshot_scores", "subscription_history", "subscription_snapshot"]


def _utc(ts: Any) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def subscription_history(subscriptions: pd.DataFrame, *, cutoff: Any) -> pd.DataFrame:
    """Durations as known at ``cutoff``: the rows started before it, in months.

    Returns
    -------
    pandas.DataFrame
        The table's rows started before ``cutoff`` with ``duration`` (months from the start
        to the cancellation or the cut-off, whichever is first) and ``event`` (cancelled
        before the cut-off).
    """
    cut = _utc(cutoff)
    s = subscriptions[pd.to_datetime(subscriptions["started_at"], utc=True) < cut].copy()
    start = pd.to_datetime(s["started_at"], utc=True)
    cancel = pd.to_datetime(s["cancelled_at"], utc=True)
    event = cancel.notna() & (cancel <= cut)
    stop = cancel.where(event, cut)
    s["duration"] = (stop - start).dt.total_seconds() / 86_400 / MONTH_DAYS
    s["event"] = event.to_numpy()
    return s.reset_index(drop=True)


def subscription_snapshot(
    subscriptions: pd.DataFrame, *, cutoff: Any, horizon_months: float
) -> pd.DataFrame:
    """Subscribers active at ``cutoff``: ``tenure`` then (months) and ``churned`` (they
    cancel within ``horizon_months`` after it); other columns as in the table."""
    cut = _utc(cutoff)
    h = pd.Timedelta(days=horizon_months * MONTH_DAYS)
    start = pd.to_datetime(subscriptions["started_at"], utc=True)
    cancel = pd.to_datetime(subscriptions["cancelled_at"], utc=True)
    active = (start < cut) & (cancel.isna() | (cancel > cut))
    s = subscriptions[active].copy()
    s["tenure"] = (cut - start[active]).dt.total_seconds() / 86_400 / MONTH_DAYS
    s["churned"] = (cancel[active].notna() & (cancel[active] <= cut + h)).to_numpy()
    return s.reset_index(drop=True)


def snapshot_scores(
    data: pd.DataFrame,
    *,
    duration_col: str,
    event_col: str,
    numeric: Sequence[str],
    categorical: Sequence[str] = (),
    n_splits: int = 5,
    cox_window: float = 12.0,
    random_state: Any = 0,
) -> pd.DataFrame:
    """Out-of-fold churn scores of the two classifiers and the Cox model on a snapshot.

    The classifiers use ``numeric`` (the tenure may be one of them) and ``categorical``;
    the Cox model uses the same covariates except the duration, on ``(duration, event)``,
    and scores each held-out customer by the probability of churning within ``cox_window``
    from ``tau_0 = max(tau - window, 0)`` (``tau``: her tenure),
    ``1 - (S_0(tau_0 + window) / S_0(tau_0))^{exp(x^T beta)}``: a window of fixed length
    that ends at her tenure, or starts at her start if she is newer. (The probability of
    churning in the last month alone ranks poorly: the Breslow baseline jumps from month to
    month; one ending exactly at a short tenure penalises the newest customers, who leave
    most.)

    Returns
    -------
    pandas.DataFrame
        ``churned`` and one column per model (``logistic, gradient_boosting, cox``),
        indexed like ``data``.
    """
    from sklearn.model_selection import StratifiedKFold

    y = data[event_col].astype(bool).to_numpy()
    cols = list(numeric) + list(categorical)
    cox_cov = [c for c in cols if c != duration_col]
    out = pd.DataFrame({"churned": y}, index=data.index)
    for name in ("logistic", "gradient_boosting", "cox"):
        out[name] = np.nan
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    with one_thread():
        return _out_of_fold(data, y, folds, out, duration_col, event_col, numeric,
                            categorical, cols, cox_cov, cox_window, random_state)  # fmt: skip


def _out_of_fold(data, y, folds, out, duration_col, event_col, numeric, categorical, cols,
                 cox_cov, cox_window, random_state):  # fmt: skip
    for train, test in folds.split(data, y):
        tr, te = data.iloc[train], data.iloc[test]
        for kind in ("logistic", "gradient_boosting"):
            pipe = churn_pipeline(kind, numeric=numeric, categorical=categorical,
                                  random_state=random_state)  # fmt: skip
            pipe.fit(tr[cols], y[train])
            out.iloc[test, out.columns.get_loc(kind)] = pipe.predict_proba(te[cols])[:, 1]
        cox = CoxModel(duration_col=duration_col, event_col=event_col, covariates=cox_cov)
        cox.fit(tr)
        start = (te[duration_col].astype(float) - cox_window).clip(lower=0.0)
        p = cox.churn_probability(te.assign(_start=start), horizon=cox_window, tenure_col="_start")
        out.iloc[test, out.columns.get_loc("cox")] = p.to_numpy()
    return out
