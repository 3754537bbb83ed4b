"""Tests of crm_lib.contract.quarantine: records, raw rows, reconciliation."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from crm_lib.contract.quarantine import (
    QUARANTINE_COLUMNS,
    ReconciliationError,
    empty_quarantine,
    quarantine_records,
    reconcile,
)
from crm_lib.intake import io


@pytest.fixture
def raw():
    return pd.DataFrame(
        {"Order No": ["O1", "O2", "O3"], "Amount": ["1", "x", "=1+1"]},
        index=pd.Index([2, 3, 4], name="row"),
        dtype=object,
    )


def test_records_carry_raw_row(raw):
    problems = [
        {"row": 4, "column": "Amount", "value": "=1+1", "rule": "formula", "reason": "r1"},
        {"row": 3, "column": "Amount", "value": "x", "rule": "number", "reason": "r2"},
    ]
    q = quarantine_records(raw, problems, source="orders.csv")
    assert list(q.columns) == QUARANTINE_COLUMNS
    assert q["row"].tolist() == [3, 4]  # sorted by file line
    assert json.loads(q.loc[0, "raw"]) == {"Order No": "O2", "Amount": "x"}
    assert (q["source"] == "orders.csv").all()


def test_empty_quarantine_columns():
    q = empty_quarantine()
    assert list(q.columns) == QUARANTINE_COLUMNS and q.empty and q["row"].dtype == "int64"


def test_reconcile_balanced(raw):
    q = quarantine_records(
        raw, [{"row": 3, "column": "Amount", "value": "x", "rule": "n", "reason": "r"}], source="s"
    )
    rec = reconcile("s", 3, raw.loc[[2, 4]], q)
    assert (rec.rows_in, rec.rows_accepted, rec.rows_quarantined) == (3, 2, 1)
    assert rec.summary()["balanced"].item()


def test_reconcile_lost_row(raw):
    with pytest.raises(ReconciliationError, match=r"s: rows do not reconcile: 3 in != 2 accepted"):
        reconcile("s", 3, raw.loc[[2, 4]], empty_quarantine())


def test_reconcile_row_both_accepted_and_quarantined(raw):
    q = quarantine_records(
        raw, [{"row": 2, "column": None, "value": None, "rule": "n", "reason": "r"}], source="s"
    )
    with pytest.raises(ReconciliationError, match=r"both accepted and quarantined: \[2\]"):
        reconcile("s", 3, raw.loc[[2, 3]], q)


def test_several_problems_on_one_row_count_once(tmp_path):
    text = (
        "Order No,Line,Customer ID,Order Date,Amount,Currency,Qty,SKU,Category,Channel,"
        "Original Order\nO1,1,C1,2024-13-45,abc,CNY,x,P1,home,web,\n"
    )
    (tmp_path / "o.csv").write_text(text, encoding="utf-8")
    mt = io.apply_mapping(io.read_table(tmp_path / "o.csv"), "simulated_world_orders", source="o")
    assert sorted(mt.quarantine["rule"]) == ["date", "integer", "number"]
    assert mt.reconciliation.rows_quarantined == 1 and mt.data.empty
    assert mt.summary()["rules"].item() == "date=1, integer=1, number=1"


def test_failed_ingest_is_logged(tmp_path):
    from crm_lib.intake.warehouse import connect

    (tmp_path / "o.csv").write_text("Order No,Amount\nO1,1\n", encoding="utf-8")
    db = tmp_path / "crm.duckdb"
    with pytest.raises(io.MappingError, match=r"o\.csv: missing required column"):
        io.ingest(tmp_path / "o.csv", "simulated_world_orders", warehouse=db)
    with connect(db) as con:
        status = con.execute("select status from lineage").fetchone()[0]
    assert status.startswith("failed: o.csv: missing required column")


def test_quarantine_rows_of_a_typed_table():
    from crm_lib.contract.quarantine import quarantine_rows

    data = pd.DataFrame(
        {"order_id": ["O1", "O2", "O3"], "amount": [1.5, -2.0, None]}, index=[5, 6, 7]
    )
    mask = pd.Series([False, True, True], index=data.index)
    reason = pd.Series(["a", "why 6", "why 7"], index=data.index)
    q = quarantine_rows(data, mask, source="t", rule="r", reason=reason, column="amount")
    assert list(q.columns) == QUARANTINE_COLUMNS
    assert q["row"].tolist() == [6, 7] and q["reason"].tolist() == ["why 6", "why 7"]
    assert q["value"].tolist()[0] == "-2.0"
    assert json.loads(q.loc[1, "raw"]) == {"order_id": "O3", "amount": None}
    assert quarantine_rows(data, ~mask & False, source="t", rule="r", reason="x").empty
    with pytest.raises(ValueError, match="duplicate labels"):
        quarantine_rows(pd.concat([data, data]), mask, source="t", rule="r", reason="x")
