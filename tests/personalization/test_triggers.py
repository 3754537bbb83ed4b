"""Trigger lists: each rule against a hand-built list, the consent gate, priority,
the hold-out draw, the dry run and the export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_lib.personalization import (
    TRIGGERS,
    abandoned_carts,
    birthdays,
    contact_lists,
    dry_run,
    export_contact_list,
    lapsing,
    nurture,
    order_times,
    win_back,
)

AS_OF = pd.Timestamp("2025-06-15 12:00", tz="UTC")
KEY = "a test key of 16+ bytes"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


CUSTOMERS = pd.DataFrame(
    {
        "customer_id": [f"C{i}" for i in range(1, 9)],
        "marketing_consent": pd.array([True, True, False, True, None, True, True, True]),
    }
)
# order lines: a return (negative) is no purchase; two lines of one order are one purchase
TX = pd.DataFrame(
    [
        ("O1", "C1", ts("2024-10-01 10:00"), 50.0),
        ("O2", "C2", ts("2025-05-10 09:00"), 20.0),
        ("O2", "C2", ts("2025-05-10 09:00"), 5.0),
        ("R1", "C2", ts("2025-05-20 09:00"), -5.0),  # a return, not a second purchase
        ("O3", "C3", ts("2024-09-01 10:00"), 30.0),
        ("O4", "C4", ts("2025-05-12 10:00"), 40.0),
        ("O5", "C4", ts("2025-06-01 10:00"), 40.0),
        ("O6", "C6", ts("2025-06-14 09:00"), 10.0),
        ("O7", "C7", ts("2023-01-01 10:00"), 10.0),
        ("O8", "C8", ts("2025-06-10 10:00"), 10.0),
        ("O9", "C8", ts("2025-06-20 10:00"), 10.0),  # after as_of: unknown on the day
    ],
    columns=["order_id", "customer_id", "ordered_at", "amount"],
)
CARTS = pd.DataFrame(
    [
        ("K1", "C4", ts("2025-06-13 10:00")),  # no order after: abandoned
        ("K2", "C6", ts("2025-06-14 08:00")),  # bought an hour later
        ("K3", "C7", ts("2025-06-14 20:00")),  # under 24 hours old: wait
        ("K4", "C1", ts("2025-06-01 10:00")),  # older than the 3-day lookback
        ("K5", "C4", ts("2025-06-12 18:00")),  # an earlier abandoned cart of C4
    ],
    columns=["cart_id", "customer_id", "carted_at"],
)
PROFILES = pd.DataFrame(
    {
        "customer_id": ["C1", "C2", "C5", "C6", "C8"],
        "birth_month": pd.array([6, 2, 6, 6, 6], dtype="Int64"),
        "birth_day": pd.array([22, 29, 16, 15, 18], dtype="Int64"),
    }
)
P_ALIVE = pd.DataFrame({"customer_id": ["C1", "C3", "C4", "C6"], "p_alive": [0.1, 0.05, 0.2, 0.9]})


def ids(frame: pd.DataFrame) -> list[str]:
    return list(frame["customer_id"])


@pytest.fixture
def orders():
    return order_times(TX)


def test_order_times_count_purchases_not_lines_or_returns(orders):
    assert len(orders) == 9  # 11 lines, one order of two lines, one return
    assert (orders.groupby("customer_id").size()["C2"]) == 1


def test_win_back(orders):
    # days since the last purchase known on 2025-06-15: C1 257, C3 287, C7 896
    assert ids(win_back(orders, as_of=AS_OF, lapsed_days=180)) == ["C1", "C3", "C7"]
    assert ids(win_back(orders, as_of=AS_OF, lapsed_days=180, max_days=730)) == ["C1", "C3"]
    assert ids(win_back(orders, as_of=AS_OF, lapsed_days=258)) == ["C3", "C7"]
    first = win_back(orders, as_of=AS_OF, lapsed_days=180).iloc[0]
    assert (first["trigger"], first["detail"]) == ("win_back", "days_since_last=257")


def test_lapsing():
    assert ids(lapsing(P_ALIVE, threshold=0.3)) == ["C1", "C3", "C4"]
    assert ids(lapsing(P_ALIVE, threshold=0.1)) == ["C3"]
    # only those still active by the win-back clock (last purchase < 180 days): C4 (14 days)
    recent = lapsing(P_ALIVE, threshold=0.3, orders=order_times(TX), as_of=AS_OF, within_days=180)
    assert ids(recent) == ["C4"]
    with pytest.raises(ValueError, match="within_days needs orders"):
        lapsing(P_ALIVE, threshold=0.3, within_days=180)
    with pytest.raises(ValueError, match="threshold must be in"):
        lapsing(P_ALIVE, threshold=1.0)


def test_birthdays():
    # 15-21 June: C6 (15th), C5 (16th), C8 (18th); C1's 22nd is outside
    assert ids(birthdays(PROFILES, as_of=AS_OF, days_ahead=7)) == ["C5", "C6", "C8"]
    assert ids(birthdays(PROFILES, as_of=AS_OF, days_ahead=1)) == ["C6"]
    # 18:00 UTC on the 14th is already the 15th in Shanghai
    late = ts("2025-06-14 18:00")
    assert ids(birthdays(PROFILES, as_of=late, days_ahead=1)) == []
    assert ids(birthdays(PROFILES, as_of=late, days_ahead=1, timezone="Asia/Shanghai")) == ["C6"]
    # 29 February: on the 28th in a common year, on the 29th in a leap year
    assert ids(birthdays(PROFILES, as_of=ts("2025-02-28 12:00"), days_ahead=1)) == ["C2"]
    assert ids(birthdays(PROFILES, as_of=ts("2024-02-28 12:00"), days_ahead=1)) == []
    assert ids(birthdays(PROFILES, as_of=ts("2024-02-28 12:00"), days_ahead=2)) == ["C2"]


def test_abandoned_carts(orders):
    got = abandoned_carts(CARTS, orders, as_of=AS_OF, lookback_days=3, wait_hours=24)
    assert ids(got) == ["C4"]
    assert got["detail"].iloc[0] == "hours_ago=50"  # the latest of C4's two carts
    # with no waiting time C7's fresh cart counts too; a week back C1's cart of 1 June
    # (no order since) does as well
    assert ids(abandoned_carts(CARTS, orders, as_of=AS_OF, wait_hours=0)) == ["C4", "C7"]
    wide = abandoned_carts(CARTS, orders, as_of=AS_OF, lookback_days=15, wait_hours=24)
    assert ids(wide) == ["C1", "C4"]
    # events of type cart work the same way
    events = CARTS.rename(columns={"carted_at": "occurred_at"})
    assert ids(abandoned_carts(events, orders, as_of=AS_OF, time_col="occurred_at")) == ["C4"]


def test_nurture(orders):
    # first purchase in (as_of - 37 d, as_of - 30 d] and no second: C2 (10 May; its
    # return is no purchase). C4 bought again; C8's second order is after as_of but
    # its first (10 June) is too recent anyway.
    assert ids(nurture(orders, as_of=AS_OF, days=30, window_days=7)) == ["C2"]
    assert ids(nurture(orders, as_of=AS_OF, days=3, window_days=3)) == ["C8"]
    assert ids(nurture(orders, as_of=AS_OF, days=30, window_days=1)) == []


def _all_candidates(orders):
    return [
        abandoned_carts(CARTS, orders, as_of=AS_OF),
        lapsing(P_ALIVE, threshold=0.3),
        win_back(orders, as_of=AS_OF, lapsed_days=180),
        birthdays(PROFILES, as_of=AS_OF, days_ahead=7),
        nurture(orders, as_of=AS_OF, days=30),
    ]


def test_contact_list_is_consenting_deduplicated_by_priority(orders):
    lists = contact_lists(_all_candidates(orders), CUSTOMERS, holdout_share=0)
    # by hand: C4 abandoned cart (also lapsing); C1 lapsing (also win-back); C3 refused
    # consent; C7 win-back; C5 consent unknown (= refused); C6, C8 birthday; C2 nurture
    expected = [
        ("C4", "abandoned_cart"),
        ("C1", "lapsing"),
        ("C7", "win_back"),
        ("C6", "birthday"),
        ("C8", "birthday"),
        ("C2", "nurture"),
    ]
    assert list(zip(lists["customer_id"], lists["trigger"], strict=True)) == expected
    assert (lists["group"] == "contact").all()
    # another priority: win-back before lapsing moves C1
    other = ["abandoned_cart", "win_back", "lapsing", "birthday", "nurture"]
    moved = contact_lists(_all_candidates(orders), CUSTOMERS, priority=other, holdout_share=0)
    assert moved.set_index("customer_id").loc["C1", "trigger"] == "win_back"
    with pytest.raises(ValueError, match="not in priority"):
        contact_lists(_all_candidates(orders), CUSTOMERS, priority=TRIGGERS[:2])


def test_dry_run_counts_every_step(orders):
    report = dry_run(_all_candidates(orders), CUSTOMERS, holdout_share=0).set_index("trigger")
    assert report.loc["lapsing"].tolist() == [3, 1, 1, 1, 1, 0]  # C1 C3 C4: C3 no, C4 earlier
    assert report.loc["win_back"].tolist() == [3, 1, 1, 1, 1, 0]  # C1 C3 C7
    assert report.loc["birthday"].tolist() == [3, 1, 0, 2, 2, 0]  # C5 C6 C8
    assert report.loc["total"].tolist() == [8, 2, 2, 6, 6, 0]  # C3 and C5 refused
    listed = report.drop("total")
    assert (listed["matched"] - listed["no_consent"] - listed["higher_priority"]).equals(
        listed["listed"]
    )


def test_holdout_is_a_random_share_of_each_trigger():
    n = 1000
    cands = [
        pd.DataFrame({"customer_id": [f"A{i:04d}" for i in range(n)], "trigger": "win_back",
                      "detail": ""}),
        pd.DataFrame({"customer_id": [f"B{i:04d}" for i in range(n // 2)], "trigger": "nurture",
                      "detail": ""}),
    ]  # fmt: skip
    customers = pd.DataFrame(
        {"customer_id": [*cands[0]["customer_id"], *cands[1]["customer_id"]],
         "marketing_consent": True}
    )  # fmt: skip
    lists = contact_lists(cands, customers, holdout_share=0.2, random_state=3)
    share = lists.groupby("trigger")["group"].apply(lambda g: (g == "holdout").sum())
    assert share.to_dict() == {"nurture": 100, "win_back": 200}  # round(0.2 n), exactly
    again = contact_lists(cands, customers, holdout_share=0.2, random_state=3)
    assert again.equals(lists)  # the same seed, the same draw
    # not the first customers: the hold-out is spread over the id range
    hold = lists[(lists["trigger"] == "win_back") & (lists["group"] == "holdout")]
    numbers = hold["customer_id"].str[1:].astype(int)
    assert 350 < numbers.mean() < 650


@settings(max_examples=30, deadline=None)
@given(
    consent=st.lists(st.sampled_from([True, False, None]), min_size=1, max_size=40),
    seed=st.integers(0, 2**16),
)
def test_no_customer_without_consent_ever_appears(consent, seed):
    rng = np.random.default_rng(seed)
    n = len(consent)
    customers = pd.DataFrame(
        {"customer_id": [f"C{i}" for i in range(n)],
         "marketing_consent": pd.array(consent, dtype="boolean")}
    )  # fmt: skip
    cands = [
        pd.DataFrame(
            {
                "customer_id": rng.choice([*customers["customer_id"], "stranger"], size=m),
                "trigger": trigger,
                "detail": "",
            }
        )
        for trigger, m in zip(TRIGGERS, rng.integers(0, 2 * n + 1, len(TRIGGERS)), strict=True)
    ]
    lists = contact_lists(cands, customers, holdout_share=0.3, random_state=seed)
    allowed = set(customers.loc[customers["marketing_consent"].fillna(False), "customer_id"])
    assert set(lists["customer_id"]) <= allowed  # nobody without consent, no stranger
    assert lists["customer_id"].is_unique


def test_export_writes_pseudonyms_only(orders, tmp_path):
    lists = contact_lists(_all_candidates(orders), CUSTOMERS, holdout_share=0.5)
    csv = export_contact_list(lists, tmp_path / "today.csv", as_of=AS_OF, key=KEY)
    back = pd.read_csv(csv)
    assert list(back.columns) == ["customer", "trigger", "detail", "group", "as_of"]
    assert back["customer"].str.startswith("p_").all()
    text = csv.read_text()
    assert not any(c in text for c in CUSTOMERS["customer_id"])
    xlsx = export_contact_list(lists, tmp_path / "today.xlsx", key=KEY)
    assert pd.read_excel(xlsx)["customer"].tolist() == back["customer"].tolist()
    with pytest.raises(ValueError, match="write a .csv or .xlsx"):
        export_contact_list(lists, tmp_path / "today.json", key=KEY)
