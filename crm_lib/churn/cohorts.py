"""Cohorts of a contractual base: who is still subscribed, month by month, and sBG per cohort.

A subscription table (``subscriptions``: start, tenure, churn flag) becomes the counts the
sBG model needs: per start-month cohort, the subscribers still active after 0, 1, 2, ...
billing months, as far as the data reach (the last complete month before the data end).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crm_lib.churn.sbg import SBGModel

__all__ = ["fit_sbg_by_cohort", "retention_pivot", "subscription_cohorts"]


def subscription_cohorts(
    subscriptions: pd.DataFrame,
    *,
    data_end: Any = None,
    start_col: str = "started_at",
    tenure_col: str = "tenure_months",
    churn_col: str = "churned",
    cohort_freq: str = "Q",
    tz: str = "UTC",
) -> pd.DataFrame:
    """Active subscribers per start cohort and billing month.

    Parameters
    ----------
    subscriptions : pandas.DataFrame
        One row per subscription with a start time, the tenure in billing months
        (months started) and the churn flag.
    data_end : timestamp-like, optional
        End of the data (default: the latest start or cancellation).
    cohort_freq : {"M", "Q", "Y"}
        Cohorts by start month, quarter or year (in ``tz``).

    Returns
    -------
    pandas.DataFrame
        ``cohort`` (period start), ``period`` (billing months completed, 0 = start),
        ``alive`` (subscribers who renewed ``period`` times) and ``cohort_size``.
        A cohort's row for ``period`` is there only when every member's start is at
        least ``period`` months before ``data_end``.

    Notes
    -----
    A subscriber churned with ``tenure_months = k`` paid ``k`` months and renewed ``k - 1``
    times; one still active with tenure ``k`` is known to have renewed ``k - 1`` times.
    """
    from crm_lib.contract.tables_churn import MONTH_DAYS

    start = pd.to_datetime(subscriptions[start_col], utc=True)
    end = pd.Timestamp(data_end) if data_end is not None else start.max()
    end = end.tz_localize("UTC") if end.tzinfo is None else end.tz_convert("UTC")
    tenure = subscriptions[tenure_col].to_numpy(dtype=np.int64)
    if subscriptions[churn_col].isna().any():
        raise ValueError(f"{churn_col} has missing values: every subscription needs its flag")
    freq = {"M": "M", "Q": "Q", "Y": "Y"}[cohort_freq]
    cohort = start.dt.tz_convert(tz).dt.tz_localize(None).dt.to_period(freq).dt.start_time
    months_seen = ((end - start).dt.total_seconds() / 86_400 / MONTH_DAYS).to_numpy()
    rows = []
    for c, idx in pd.Series(np.arange(len(start))).groupby(cohort.to_numpy()):
        i = idx.to_numpy()
        horizon = int(np.floor(months_seen[i].min()))
        # renewals known: churned -> tenure - 1 exactly; active -> at least tenure - 1
        renewals = tenure[i] - 1
        for period in range(horizon + 1):
            alive = int(np.sum(renewals >= period))
            rows.append({"cohort": c, "period": period, "alive": alive, "cohort_size": len(i)})
    return pd.DataFrame(rows, columns=["cohort", "period", "alive", "cohort_size"])


def fit_sbg_by_cohort(
    cohorts: pd.DataFrame, *, min_periods: int = 3, projection: int = 24
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One sBG fit per cohort (observed for at least ``min_periods`` periods).

    Returns
    -------
    (parameters, projections) : tuple of pandas.DataFrame
        ``cohort, parameter, estimate, std_error, ci_low, ci_high, periods_observed`` and
        ``cohort, period, survival, ci_low, ci_high, observed`` (observed share where known,
        for ``period`` up to ``projection``).
    """
    params, curves = [], []
    for c, g in cohorts.groupby("cohort", sort=True):
        if g["period"].max() < min_periods:
            continue
        model = SBGModel().fit(g[["period", "alive"]])
        s = model.summary().assign(cohort=c, periods_observed=int(g["period"].max()))
        params.append(s)
        proj = model.project(projection).assign(cohort=c)
        obs = g.set_index("period")["alive"] / g["alive"].iloc[0]
        proj["observed"] = proj["period"].map(obs)
        curves.append(proj)
    if not params:
        raise ValueError(f"no cohort is observed for {min_periods} periods or more")
    p = pd.concat(params, ignore_index=True)
    order = ["cohort", "parameter", "estimate", "std_error", "ci_low", "ci_high"]
    return p[[*order, "periods_observed"]], pd.concat(curves, ignore_index=True)


def retention_pivot(matrix: pd.DataFrame, value: str = "retention", max_months: int = 24):
    """Cohort x months-since table (rows: cohorts as ``YYYY-MM``) for a heat map."""
    m = matrix[matrix["months_since"] <= max_months]
    out = m.pivot(index="cohort", columns="months_since", values=value)
    out.index = [f"{c:%Y-%m}" for c in out.index]
    return out
