"""Hand-worked fixtures of the attribution tests."""

from __future__ import annotations

import pandas as pd
import pytest

D0 = pd.Timestamp("2024-03-01 09:00", tz="UTC")


def day(d: float) -> pd.Timestamp:
    return D0 + pd.Timedelta(days=d)


# Five customers A-E (A-D convert, E does not), plus F (its only touch lies 50 days before
# its purchase, outside a 30-day window) and G (a touch after its purchase, left out).
TOUCHES = [
    ("A", 0, "search"), ("A", 7, "social"), ("A", 14, "email"),
    ("B", 0, "direct"),
    ("C", 0, "email"), ("C", 7, "direct"),
    ("D", 0, "social"), ("D", 7, "search"), ("D", 14, "direct"), ("D", 21, "social"),
    ("E", 0, "search"), ("E", 3, "email"),
    ("F", 0, "referral"),
    ("G", 5, "email"), ("G", 12, "social"),
]  # fmt: skip
PURCHASES = [("A", 21), ("B", 7), ("C", 14), ("D", 28), ("F", 50), ("G", 10), ("G", 40)]


@pytest.fixture
def hand_touchpoints() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series([c for c, _, _ in TOUCHES], dtype="str"),
            "touched_at": pd.DatetimeIndex([day(d) for _, d, _ in TOUCHES]).as_unit("us"),
            "channel": pd.Series([ch for _, _, ch in TOUCHES], dtype="str"),
            "campaign": pd.Series([None] * len(TOUCHES), dtype="str"),
            "cost": [1.0] * len(TOUCHES),
        }
    )


@pytest.fixture
def hand_transactions() -> pd.DataFrame:
    # H bought without any touch; a return line (negative amount) is no conversion
    rows = [*PURCHASES, ("H", 3)]
    df = pd.DataFrame(
        {
            "customer_id": [c for c, _ in rows] + ["E"],
            "ordered_at": pd.DatetimeIndex([day(d) for _, d in rows] + [day(2)]).as_unit("us"),
            "amount": [10.0] * len(rows) + [-5.0],
        }
    )
    return df
