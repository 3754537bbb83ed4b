"""Contract tables of the churn and retention study (notebook ``06_churn_retention``).

``subscriptions``: one row per subscription (a *contractual* relationship: the customer
pays each month until she cancels), optional for any dataset. The study reads the churn
flag and the tenure as given; when a dataset has no such table the contractual part of the
study is skipped and only the transaction log (non-contractual churn) is used.

Registered in :data:`crm_lib.contract.schemas.SCHEMAS` by importing this module (done by
:mod:`crm_lib.contract`).
"""

from __future__ import annotations

import pandas as pd

from crm_lib.contract import schemas
from crm_lib.contract.schemas import _col, _descriptive, _id, _ts, pa

__all__ = ["MONTH_DAYS", "PLANS", "SUBSCRIPTIONS"]

PLANS = ["basic", "standard", "premium"]
"""Plans of the simulated retailer's membership (a dataset declares its own in dataset.yml)."""

MONTH_DAYS = 30.4375
"""Days in a billing month (365.25 / 12): the unit of ``tenure_months``."""


def _cancelled_after_start(df: pd.DataFrame) -> pd.Series:
    return df["cancelled_at"].isna() | (df["cancelled_at"] >= df["started_at"])


def _churned_iff_cancelled(df: pd.DataFrame) -> pd.Series:
    return df["churned"] == df["cancelled_at"].notna()


SUBSCRIPTIONS = pa.DataFrameSchema(
    {
        "subscription_id": _id("Subscription key.", unique=True),
        "customer_id": _id("Subscriber (references customers.customer_id)."),
        "plan": _descriptive("Plan subscribed to.", PLANS),
        "started_at": _ts("Start of the first paid month."),
        "cancelled_at": _ts(
            "When the customer cancelled; missing while the subscription runs (censored).",
            nullable=True,
        ),
        "churned": _col("bool", "Cancelled by the end of the data (the churn flag)."),
        "tenure_months": _col(
            "int64",
            "Billing months started (1 = cancelled in the first month), up to the "
            "cancellation or the end of the data.",
            unit="months",
            checks=pa.Check.ge(1),
        ),
        "monthly_fee": _col(
            "float64",
            "Fee per month.",
            unit="currency (see currency column)",
            checks=pa.Check.ge(0),
        ),
        "currency": _col(
            "string", "ISO-4217 currency code.", checks=pa.Check.str_matches(r"^[A-Z]{3}$")
        ),
        "auto_renew": _col("bool", "Pays by automatic renewal (card on file)."),
        "promo": _col("bool", "Joined at a promotional first-month price."),
    },
    checks=[
        pa.Check(_cancelled_after_start, error="cancelled_at must not precede started_at"),
        pa.Check(
            _churned_iff_cancelled, error="churned must be True exactly when cancelled_at is set"
        ),
    ],
    name="subscriptions",
    strict=True,
)

schemas.SCHEMAS[SUBSCRIPTIONS.name] = SUBSCRIPTIONS
