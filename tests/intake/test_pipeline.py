"""Tests of crm_lib.intake.pipeline: the sources of a run and the cleaning steps in one call."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from crm_lib.intake import cleaning, dedup, io, pipeline, privacy


def _lines() -> pd.DataFrame:
    # Customer A: 10, 12, 11 and a slip of 1100 (> 20 x the median 11 of A's other lines);
    # customer B: an order of 50 and its full return.
    return pd.DataFrame(
        {
            "order_id": ["A1", "A2", "A3", "A4", "B1", "BR"],
            "line_no": [1, 1, 1, 1, 1, 1],
            "customer_id": ["A", "A", "A", "A", "B", "B"],
            "ordered_at": pd.to_datetime([f"2024-01-0{d}" for d in range(1, 7)], utc=True),
            "amount": [10.0, 12.0, 11.0, 1100.0, 50.0, -50.0],
            "original_order_id": [None, None, None, None, None, "B1"],
        },
        index=pd.Index(range(2, 8), name="row"),
    )


def test_orders_only_by_hand():
    res = pipeline.clean_exports({"transactions": _lines()})
    assert res.customers is None and res.consent is None and res.linkage is None
    assert set(res.skipped) == {
        "standardise",
        "test_accounts",
        "references",
        "deduplication",
        "consent",
    }
    assert res.outliers.quarantine["row"].tolist() == [5]  # the 1100 slip, source row 5
    assert res.transactions.index.tolist() == [2, 3, 4, 6, 7]
    b1 = res.orders.set_index("order_id").loc["B1"]
    assert (b1["gross_amount"], b1["returned_amount"], b1["net_amount"]) == (50.0, 50.0, 0.0)
    assert bool(b1["fully_returned"])
    steps = res.steps().set_index("step")
    assert steps.loc["outliers", "rows_set_aside"] == 1
    assert res.set_aside()["row"].tolist() == [5]


def test_the_steps_in_one_call_equal_the_steps_one_by_one(small_dirty_mapped):
    """The pipeline is the notebook's former sequence of calls, with the same results."""
    mapped, raw = small_dirty_mapped
    res = pipeline.clean_exports(mapped, raw=raw)
    c = mapped["customers"].data.assign(
        name=lambda d: cleaning.normalize_text(d["name"]),
        email=lambda d: cleaning.normalize_email(d["email"]),
        phone=lambda d: cleaning.normalize_phone(d["phone"]),
    )
    ex = cleaning.exclude_test_data(c, mapped["transactions"].data, raw=raw)
    ref = cleaning.check_references(ex.transactions, ex.customers, raw=raw["transactions"])
    out = cleaning.handle_outliers(ref.data, raw=raw["transactions"])
    lines = out.data.drop(columns=["outlier_rule"])
    link = dedup.deduplicate_customers(ex.customers, threshold=0.95, seed=0)
    lines = dedup.reattribute(lines, link)
    net = cleaning.net_returns(lines, raw=raw["transactions"])
    customers = link.apply(ex.customers)
    customers = customers.assign(
        may_contact=privacy.consent_flags(customers)["may_contact"].to_numpy()
    )
    pd.testing.assert_frame_equal(res.transactions, net.data)
    pd.testing.assert_frame_equal(res.orders, net.orders)
    pd.testing.assert_frame_equal(res.customers, customers)
    assert res.skipped == {}
    # nothing lost: every mapped line is kept or set aside by exactly one step
    n_in = len(mapped["transactions"].data)
    set_aside = res.set_aside()
    n_out = len(res.transactions) + int((set_aside["table"] == "transactions").sum())
    assert n_out == n_in


@pytest.fixture(scope="module")
def small_dirty_mapped(tmp_path_factory):
    from tests.intake._exports import mapped_exports

    _, raw, mapped = mapped_exports(400, 5, tmp_path_factory.mktemp("dirty"))
    return mapped, raw


def test_no_source_named_means_the_simulated_world():
    assert pipeline.export_sources() is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"orders_query": "select 1"}, "needs sql_url"),
        ({"sql_url": "sqlite://"}, "no query is"),
        ({"customers_file": "c.csv"}, "does not exist"),
        ({"orders_file": __file__, "orders_query": "q", "sql_url": "sqlite://"}, "not both"),
    ],
)
def test_source_parameters_are_checked(kwargs, match):
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        pipeline.export_sources(**kwargs)


def test_a_customers_export_alone_is_refused(tmp_path):
    f = tmp_path / "c.csv"
    f.write_text("id\n1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="name the orders export"):
        pipeline.export_sources(customers_file=f)


def test_sql_sources_are_saved_and_fingerprinted(tmp_path):
    db = tmp_path / "crm.db"
    with sqlite3.connect(db) as con:
        con.execute("create table orders (id text, amount real)")
        con.executemany("insert into orders values (?, ?)", [("o1", 1.5), ("o2", 2.0)])
    kw = {"sql_url": f"sqlite:///{db}", "orders_query": "select * from orders order by id"}
    first = pipeline.export_sources(**kw, snapshot_dir=tmp_path / "raw")
    again = pipeline.export_sources(**kw, snapshot_dir=tmp_path / "raw2")
    assert first.files["transactions"] == tmp_path / "raw" / "transactions.parquet"
    assert pd.read_parquet(first.files["transactions"])["id"].tolist() == ["o1", "o2"]
    assert (tmp_path / "raw" / "transactions.json").is_file()
    assert first.fingerprint == again.fingerprint  # the same rows: the same data
    assert "sqlite" in first.description and first.own


def test_own_exports_accept_their_own_vocabulary(tmp_path):
    # Two lines in CDNOW's own layout (id, yyyymmdd, CDs, dollars); its mapping writes the
    # category "music", which is not one of the simulated retailer's six categories.
    f = tmp_path / "cd.txt"
    f.write_text(
        " customer_id  date number_of_cds  dollar_value\r\n"
        " 00001 19970101  1   11.77\r\n 00002 19970112  2   24.00\r\n",
        encoding="utf-8",
    )
    files, mappings = {"transactions": f}, {"transactions": "cdnow_transactions"}
    own = pipeline.ingest_exports(files, mappings, warehouse=tmp_path / "a.duckdb", own=True)
    assert (own["transactions"].lineage["rows_accepted"], own["transactions"].status) == (
        2,
        "loaded",
    )
    with pytest.warns(io.QuarantineWarning):
        sim = pipeline.ingest_exports(files, mappings, warehouse=tmp_path / "b.duckdb", own=False)
    assert sim["transactions"].status == "all quarantined"


def test_a_scorecard_without_key_columns_has_no_uniqueness_row():
    card = cleaning.quality_scorecard(
        _lines().drop(columns=["order_id", "line_no"]), "transactions", key_cols=[]
    )
    assert "uniqueness" not in set(card["dimension"])
    assert "completeness" in set(card["dimension"])
