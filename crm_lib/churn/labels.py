"""Churn labels without leakage: cut-offs, the customer snapshot and the BTYD baseline.

Non-contractual data (a purchase log) never say when a customer left. The study fixes a
**cut-off** ``c`` and a **window** ``w``: a customer who bought before ``c`` *churned* if
she does not buy in ``[c, c + w)``; every feature is computed from what happened before
``c`` (:func:`crm_lib.engine.churn_features`, on DuckDB or Spark). Time-based validation
trains on an earlier cut-off ``c - w`` (whose label window ends at ``c``) and tests on
``c``, so the model never sees the test period.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crm_lib import engine as _engine

__all__ = [
    "CutOffs",
    "btyd_churn_probability",
    "churn_snapshot",
    "cut_offs",
    "gap_churn_probability",
    "repurchase_gaps",
    "snapshot_columns",
]


@dataclass(frozen=True)
class CutOffs:
    """Train and test cut-offs (UTC) and the label window in days."""

    train: pd.Timestamp
    test: pd.Timestamp
    window_days: float
    data_end: pd.Timestamp

    def table(self) -> pd.DataFrame:
        """``split, cutoff, label_window_end`` (UTC)."""
        w = pd.Timedelta(days=self.window_days)
        return pd.DataFrame(
            {
                "split": ["train", "test"],
                "cutoff": [self.train, self.test],
                "label_window_end": [self.train + w, self.test + w],
            }
        )


def cut_offs(
    transactions: pd.DataFrame,
    *,
    window_days: float = 90,
    test_cutoff: Any = None,
    date_col: str = "ordered_at",
) -> CutOffs:
    """Cut-offs derived from the data: the test cut-off is one window before the last line
    (or ``test_cutoff``), the training cut-off one window before that."""
    if window_days <= 0:
        raise ValueError(f"window_days must be > 0, got {window_days}")
    ts = pd.to_datetime(transactions[date_col], utc=True)
    if ts.isna().all():
        raise ValueError(f"{date_col} has no times: cannot place a cut-off")
    end = ts.max()
    w = pd.Timedelta(days=window_days)
    test = end - w if test_cutoff in (None, "") else pd.Timestamp(test_cutoff)
    test = test.tz_localize("UTC") if test.tzinfo is None else test.tz_convert("UTC")
    train = test - w
    if train <= ts.min():
        raise ValueError(
            f"the data ({ts.min():%Y-%m-%d} to {end:%Y-%m-%d}) are too short for two windows "
            f"of {window_days:g} days: use a shorter window_days"
        )
    if test + w > end + pd.Timedelta(days=1):
        raise ValueError(
            f"the test label window ends after the data ({end:%Y-%m-%d}): move test_cutoff "
            "earlier or shorten window_days"
        )
    return CutOffs(train=train, test=test, window_days=float(window_days), data_end=end)


def _age_years(birth_year: pd.Series, cutoff: pd.Timestamp) -> pd.Series:
    return (cutoff.year - pd.to_numeric(birth_year, errors="coerce")).astype("float64")


def churn_snapshot(
    transactions: Any,
    *,
    cutoff: Any,
    window_days: float,
    customers: pd.DataFrame | None = None,
    survey_responses: pd.DataFrame | None = None,
    engine: Any = None,
) -> pd.DataFrame:
    """One row per customer who bought before ``cutoff``: features and the ``churned`` label.

    Parameters
    ----------
    transactions : DataFrame, Parquet path or table name
        The order log (contract table ``transactions``).
    cutoff, window_days
        See :func:`crm_lib.engine.churn_features`.
    customers : DataFrame, optional
        Adds ``region``, ``acquisition_channel`` (text) and ``age`` at the cut-off and
        ``signup_days`` (sign-ups after the cut-off are not known then: left missing).
    survey_responses : DataFrame, optional
        Adds ``last_nps`` and ``last_csat``: the latest answers submitted **before** the
        cut-off (missing when none; a missing-value flag ``has_survey`` is added).
    engine : str or backend, optional
        Aggregation engine (default DuckDB or ``$CRM_ENGINE``).

    Notes
    -----
    The engine's :data:`~crm_lib.engine.CHURN_FEATURES` get one derived column,
    ``overdue``: days since the last order over the customer's mean days between orders
    (missing for one-time buyers), the "is she late?" signal the BTYD models use.
    """
    cut = pd.Timestamp(cutoff)
    cut = cut.tz_localize("UTC") if cut.tzinfo is None else cut.tz_convert("UTC")
    feats = _engine.churn_features(
        transactions, cutoff=cut, window_days=window_days, engine=engine or _engine.default_engine()
    )
    # how overdue the next order is: time since the last order over the mean gap so far
    gap = (feats["tenure_days"] - feats["recency_days"]) / (feats["orders"] - 1).where(
        feats["orders"] > 1
    )
    feats["overdue"] = (feats["recency_days"] / gap).where(gap > 0)
    if customers is not None:
        c = customers[["customer_id"]].copy()
        for col in ("region", "acquisition_channel"):
            if col in customers.columns:
                c[col] = customers[col].astype("string").fillna("unknown").astype(str)
        if "birth_year" in customers.columns:
            c["age"] = _age_years(customers["birth_year"], cut)
        if "signup_at" in customers.columns:
            signup = pd.to_datetime(customers["signup_at"], utc=True)
            c["signup_days"] = ((cut - signup).dt.total_seconds() / 86_400).where(signup < cut)
        c["customer_id"] = c["customer_id"].astype("string")
        feats = feats.merge(c, on="customer_id", how="left")
    if survey_responses is not None and len(survey_responses):
        s = survey_responses.loc[
            survey_responses["customer_id"].notna()
            & survey_responses["submitted_at"].notna()
            & (pd.to_datetime(survey_responses["submitted_at"], utc=True) < cut),
            ["customer_id", "submitted_at", "nps", "csat"],
        ].sort_values("submitted_at", kind="stable")
        last = s.groupby("customer_id", sort=False).last()
        last = last.rename(columns={"nps": "last_nps", "csat": "last_csat"})
        last.index = last.index.astype("string")
        feats = feats.merge(
            last[["last_nps", "last_csat"]].astype("float64"),
            left_on="customer_id", right_index=True, how="left",
        )  # fmt: skip
        feats["has_survey"] = feats["last_nps"].notna().astype(float)
    return feats


def snapshot_columns(snapshot: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The numeric and the text feature columns of a :func:`churn_snapshot`."""
    skip = {"customer_id", "churned"}
    numeric = [
        c for c in snapshot.columns
        if c not in skip and pd.api.types.is_numeric_dtype(snapshot[c])
        and not pd.api.types.is_bool_dtype(snapshot[c])
    ]  # fmt: skip
    text = [
        c for c in snapshot.columns
        if c not in skip and c not in numeric and not pd.api.types.is_bool_dtype(snapshot[c])
    ]  # fmt: skip
    return numeric, text


def btyd_churn_probability(model: Any, summary: pd.DataFrame, *, horizon: float) -> pd.DataFrame:
    """Churn as the BG/NBD sees it: no purchase in the next ``horizon`` (model time units).

    Parameters
    ----------
    model : fitted BG/NBD model
        E.g. :class:`crm_lib.value.BetaGeoModel`: ``params_`` with ``r`` and ``alpha`` and a
        ``prob_alive(summary)`` method.
    summary : pandas.DataFrame
        ``customer_id, frequency, recency, T`` at the cut-off.
    horizon : float
        Window length in the unit of ``T``.

    Returns
    -------
    pandas.DataFrame
        ``customer_id, prob_alive, churn_probability``.

    Notes
    -----
    An alive customer with purchase rate ``lambda`` makes no purchase in ``horizon`` with
    probability ``exp(-lambda * horizon)``; given her history, ``lambda ~ Gamma(r + x,
    alpha + T)``, so

    .. math::

        P(\\text{churn}) = 1 - P(\\text{alive}) + P(\\text{alive})
        \\left(\\frac{\\alpha + T}{\\alpha + T + h}\\right)^{r + x}.
    """
    r, a = model.params_["r"], model.params_["alpha"]
    alive = np.asarray(model.prob_alive(summary), dtype=float)
    x = summary["frequency"].to_numpy(dtype=float)
    T = summary["T"].to_numpy(dtype=float)
    quiet = ((a + T) / (a + T + horizon)) ** (r + x)
    return pd.DataFrame(
        {
            "customer_id": summary["customer_id"].astype("string").to_numpy(),
            "prob_alive": alive,
            "churn_probability": 1.0 - alive + alive * quiet,
        }
    )


def repurchase_gaps(
    transactions: Any, snapshot: pd.DataFrame, *, cutoff: Any, engine: Any = None
) -> pd.DataFrame:
    """Survival data of the time to the next purchase, as known at ``cutoff``.

    Every repeat order before the cut-off closes a gap (``event`` True, ``days`` since the
    previous order); every customer's last gap is still open at the cut-off (``event``
    False, ``days`` = her ``recency_days`` in ``snapshot``, a :func:`churn_snapshot` at the
    same cut-off). ``log_orders`` = log(orders before the gap began) is the covariate.

    Returns
    -------
    pandas.DataFrame
        ``customer_id, days, event, log_orders``.
    """
    closed = _engine.inter_purchase_days(
        transactions, cutoff=cutoff, engine=engine or _engine.default_engine()
    )
    a = pd.DataFrame(
        {
            "customer_id": closed["customer_id"],
            "days": closed["days"].to_numpy(),
            "event": True,
            "log_orders": np.log(closed["order_number"].to_numpy() - 1.0),
        }
    )
    b = pd.DataFrame(
        {
            "customer_id": snapshot["customer_id"],
            "days": snapshot["recency_days"].to_numpy(),
            "event": False,
            "log_orders": np.log(snapshot["orders"].to_numpy(dtype=float)),
        }
    )
    return pd.concat([a, b], ignore_index=True)


def gap_churn_probability(cox: Any, snapshot: pd.DataFrame, *, window_days: float) -> pd.Series:
    """P(no purchase in the next ``window_days``) from a Cox model of the repurchase gap.

    For a customer whose gap has lasted ``g = recency_days``:
    ``1 - P(churn) = P(next purchase within w | no purchase for g)``, i.e.
    ``P(churn) = (S_0(g + w) / S_0(g))^{exp(x^T beta)}`` with the covariate ``log_orders``.
    """
    rows = snapshot.assign(log_orders=np.log(snapshot["orders"].to_numpy(dtype=float)))
    buy = cox.churn_probability(rows, horizon=window_days, tenure_col="recency_days")
    return (1.0 - buy).rename("churn_probability")
