"""Property tests (hypothesis) of the cleaning steps and the safe CSV/Excel writers."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_lib.intake import cleaning, io

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20
)
_ATTACKS = st.sampled_from(["=1+1", "+cmd|'/C calc'!A0", "@SUM(A1)", "-5", "\t=", "\r=1"])
_CELL = st.one_of(_TEXT, _ATTACKS)
_AMOUNT = st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 2))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_CELL, _AMOUNT), max_size=15))
def test_neutralised_text_never_starts_a_formula(rows):
    df = pd.DataFrame(rows, columns=["text", "amount"]).astype({"amount": "float64"})
    out = io.neutralize_formulas(df)
    for before, after in zip(df["text"], out["text"], strict=True):
        assert not after.startswith(TRIGGERS)
        assert after == ("'" + before if before.startswith(TRIGGERS) else before)
    assert out["amount"].equals(df["amount"])  # numbers are never touched
    assert io.neutralize_formulas(out).equals(out)  # idempotent


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_CELL, _AMOUNT), min_size=1, max_size=10))
def test_write_csv_round_trips_neutralised_text_and_numbers(rows):
    df = pd.DataFrame(rows, columns=["text", "amount"]).astype({"amount": "float64"})
    with tempfile.TemporaryDirectory() as folder:
        back = io.read_table(io.write_csv(df, Path(folder) / "t.csv"), sep=",")
    assert back["text"].tolist() == io.neutralize_formulas(df)["text"].tolist()
    assert pd.to_numeric(back["amount"]).tolist() == df["amount"].tolist()


_EXCEL_TEXT = st.text(
    st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="".join(chr(c) for c in range(32) if c not in (9, 10, 13)),
    ),
    max_size=20,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.one_of(_EXCEL_TEXT, _ATTACKS), _AMOUNT), min_size=1, max_size=6))
def test_write_excel_round_trips_without_formulas(rows):
    import openpyxl

    df = pd.DataFrame(rows, columns=["text", "amount"]).astype({"amount": "float64"})
    with tempfile.TemporaryDirectory() as folder:
        path = io.write_excel(df, Path(folder) / "t.xlsx")
        sheet = openpyxl.load_workbook(path).active
        assert all(row[0].data_type != "f" for row in sheet.iter_rows(min_row=2))
        amounts = [row[1].value for row in sheet.iter_rows(min_row=2)]
    assert amounts == df["amount"].tolist()


@st.composite
def order_lines(draw):
    """Sale orders of 1-3 lines, returns of present or absent orders, loose credits."""
    n_orders = draw(st.integers(1, 6))
    rows = []
    for o in range(n_orders):
        for _ in range(draw(st.integers(1, 3))):
            rows.append((f"O{o}", f"C{o % 3}", draw(st.floats(0.01, 500)), None))
    for r in range(draw(st.integers(0, 5))):
        target = draw(st.sampled_from([f"O{o}" for o in range(n_orders)] + ["O99", None]))
        rows.append((f"R{r}", f"C{r % 3}", -draw(st.floats(0.01, 800)), target))
    order = draw(st.permutations(range(len(rows))))
    df = pd.DataFrame(
        [rows[i] for i in order], columns=["order_id", "customer_id", "amount", "original"]
    )
    df["ordered_at"] = pd.Timestamp("2024-01-01", tz="UTC")
    df.index = pd.RangeIndex(2, 2 + len(df), name="row")
    return df


@settings(max_examples=80, deadline=None)
@given(order_lines(), st.sampled_from(cleaning.CREDIT_POLICIES))
def test_netting_reconciles_and_balances(tx, policy):
    res = cleaning.net_returns(tx, original_col="original", credit_policy=policy)
    assert len(res.data) + res.quarantine["row"].nunique() == len(tx)
    assert not set(res.data.index) & set(res.quarantine["row"])
    returns = res.data[res.data["amount"] < 0]
    assert returns["original"].isin(res.orders["order_id"]).all()  # no orphan netted
    o = res.orders
    assert np.allclose(o["net_amount"], o["gross_amount"] - o["returned_amount"])
    assert np.isclose(o["gross_amount"].sum(), tx.loc[tx["amount"] > 0, "amount"].sum())
    assert np.isclose(
        o["returned_amount"].sum() + o["credit_capped"].sum(), -returns["amount"].sum()
    )
    if policy != "keep":
        assert (o["net_amount"] >= -0.005).all()
    shuffled = cleaning.net_returns(tx.iloc[::-1], original_col="original", credit_policy=policy)
    key = ["order_id"]
    pd.testing.assert_frame_equal(
        o.sort_values(key).reset_index(drop=True),
        shuffled.orders.sort_values(key).reset_index(drop=True),
        check_exact=False,
    )
    assert set(shuffled.quarantine["row"]) == set(res.quarantine["row"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("ABCD"), st.floats(0.01, 1e5)), min_size=1, max_size=40),
    st.sampled_from(["ratio", "iqr", "robust_z"]),
    st.sampled_from(cleaning.OUTLIER_POLICIES),
)
def test_outlier_policies_reconcile_and_ignore_row_order(rows, rule, policy):
    tx = pd.DataFrame(rows, columns=["customer_id", "amount"])
    tx.index = pd.RangeIndex(2, 2 + len(tx))
    res = cleaning.handle_outliers(tx, rule=rule, policy=policy)
    assert len(res.data) + len(res.quarantine) == len(tx)
    flagged = (
        set(res.quarantine["row"])
        if policy == "quarantine"
        else set(res.data.index[res.data["outlier"]])
    )
    again = cleaning.handle_outliers(tx.iloc[::-1], rule=rule, policy=policy)
    flagged_again = (
        set(again.quarantine["row"])
        if policy == "quarantine"
        else set(again.data.index[again.data["outlier"]])
    )
    assert flagged == flagged_again
    if policy != "quarantine":  # only flagged values may change (cap), never others
        kept = ~res.data["outlier"]
        assert res.data.loc[kept, "amount"].equals(tx.loc[kept[kept].index, "amount"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(_TEXT, _TEXT), min_size=1, max_size=8),
    st.lists(st.tuples(st.integers(0, 7), st.floats(0.01, 100)), max_size=20),
)
def test_no_order_of_a_test_account_survives(people, lines):
    customers = pd.DataFrame(people, columns=["name", "email"])
    customers["customer_id"] = [f"C{i}" for i in range(len(customers))]
    tx = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(len(lines))],
            "customer_id": [f"C{c % len(customers)}" for c, _ in lines],
            "amount": [a for _, a in lines],
        }
    )
    res = cleaning.exclude_test_data(customers, tx)
    assert not res.transactions["customer_id"].isin(res.test_customer_ids).any()
    assert not res.customers["customer_id"].isin(res.test_customer_ids).any()
    assert res.summary()["balanced"].all()
