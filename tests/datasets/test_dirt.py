"""Raw exports with planted dirt: every planted record is in the export, nothing else moved."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_lib.contract import schemas
from crm_lib.datasets import simulate
from crm_lib.datasets.dirt import (
    CUSTOMER_COLUMNS,
    DATE_FORMATS,
    EXPORT_ENCODINGS,
    LABEL_VARIANTS,
    ORDER_COLUMNS,
    TEST_ACCOUNTS,
    line_keys,
    make_raw_exports,
    score_found,
    write_raw_exports,
)

KINDS = {
    "customers": {
        "duplicate_customer",
        "date_format",
        "label_variant",
        "missing_value",
        "test_account",
    },
    "orders": {
        "date_format",
        "amount_format",
        "outlier",
        "negative_without_order",
        "test_order",
        "duplicate_customer_order",
        "duplicate_line",
        "missing_value",
    },
}
# Resolution of each date format: what survives of the local timestamp.
RESOLUTION = {"iso": "s", "day_first": "D", "chinese": "D", "slash": "min"}


@pytest.fixture(scope="module")
def world():
    return simulate("small", seed=1)


@pytest.fixture(scope="module")
def customers(world):
    return world.raw["customers_export"]


@pytest.fixture(scope="module")
def orders(world):
    return world.raw["orders_export"]


@pytest.fixture(scope="module")
def dirty(world):
    return world.truth.dirty_records


def planted(dirty: pd.DataFrame, table: str, kind: str) -> pd.DataFrame:
    return dirty[(dirty["table"] == table) & (dirty["kind"] == kind)]


def order_keys(df: pd.DataFrame) -> pd.Series:
    return df["Order No"] + "/" + df["Line"]


def clean_keys(tx: pd.DataFrame) -> pd.Series:
    return tx["order_id"] + "/" + tx["line_no"].astype("str")


def parse_amount(text: pd.Series) -> pd.Series:
    return text.str.replace(r"[¥,]", "", regex=True).astype(float)


def parse_dates(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Local timestamps and the name of the one format that parses each value."""
    parsed = {
        name: pd.to_datetime(text, format=fmt, errors="coerce")
        for name, (fmt, _) in DATE_FORMATS.items()
    }
    hits = pd.DataFrame({name: s.notna() for name, s in parsed.items()})
    assert (hits.sum(axis=1) == 1).all(), "every date must match exactly one documented format"
    which = hits.idxmax(axis=1)
    when = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    for name, s in parsed.items():
        when[which == name] = s[which == name]
    return when, which


def assert_dates_match(text: pd.Series, truth_utc: pd.Series) -> pd.Series:
    """Each date parses back to the clean timestamp (local time) at its format's resolution."""
    when, which = parse_dates(text.reset_index(drop=True))
    local = truth_utc.dt.tz_convert(schemas.LOCAL_TIMEZONE).dt.tz_localize(None)
    local = local.reset_index(drop=True)
    for name, unit in RESOLUTION.items():
        m = which == name
        assert m.any(), f"no {name} dates"
        pd.testing.assert_series_equal(
            when[m].dt.floor(unit), local[m].dt.floor(unit), check_names=False, obj=name
        )
    return which


# --------------------------------------------------------------------------- shape


def test_exports_are_text_with_the_documented_columns(customers, orders):
    assert list(customers.columns) == list(CUSTOMER_COLUMNS)
    assert list(orders.columns) == list(ORDER_COLUMNS)
    for df in (customers, orders):
        for col in df.columns:
            assert df[col].dtype == object or pd.api.types.is_string_dtype(df[col]), col
            assert df[col].notna().all(), f"{col}: a missing value must be the empty string"


def test_dirty_records_table(dirty):
    assert list(dirty.columns) == ["table", "key", "kind", "detail"]
    assert all(pd.api.types.is_string_dtype(dirty[c]) for c in dirty.columns)
    assert dirty.notna().all().all()
    for table, kinds in KINDS.items():
        assert set(dirty.loc[dirty["table"] == table, "kind"]) == kinds, table
    summary = dirty[dirty["key"] == "*"]
    assert set(summary["kind"]) == {"date_format", "label_variant", "amount_format"}
    assert not dirty.duplicated(["table", "key", "kind", "detail"]).any()


def test_customer_values_are_gbk_encodable(customers):
    for col in customers.columns:
        for value in customers[col].unique():
            value.encode("gbk")  # raises UnicodeEncodeError otherwise


def test_row_counts_reconcile(world, customers, orders, dirty):
    extra_customers = len(planted(dirty, "customers", "duplicate_customer")) + len(TEST_ACCOUNTS)
    assert len(customers) == len(world.customers) + extra_customers
    extra_lines = sum(
        len(planted(dirty, "orders", kind))
        for kind in ("negative_without_order", "test_order", "duplicate_line")
    )
    assert len(orders) == len(world.transactions) + extra_lines


# ----------------------------------------------------------------------- customers


def test_every_clean_customer_is_exported_unchanged(world, customers):
    clean = world.customers.reset_index(drop=True)
    exported = customers.set_index("Customer ID").loc[clean["customer_id"]].reset_index()
    for col in ["Name", "Email", "Mobile"]:
        expected = clean[CUSTOMER_COLUMNS[col]].fillna("")
        assert (exported[col] == expected).all(), col
    birth = clean["birth_year"].astype("str").fillna("")
    assert (exported["Birth Year"] == birth).all()


def test_duplicate_customers_are_the_same_person_with_typos(world, customers, dirty):
    dups = planted(dirty, "customers", "duplicate_customer")
    assert 0.02 < len(dups) / len(world.customers) < 0.04  # ~3% planted
    clean = world.customers.set_index("customer_id")
    export = customers.set_index("Customer ID")
    assert dups["detail"].isin(clean.index).all()
    numbers = dups["key"].str.slice(1).astype(int)
    assert (dups["key"].str.len() == 9).all() and (numbers >= len(world.customers)).all()
    orig, dup = clean.loc[dups["detail"]], export.loc[dups["key"]]
    # E-mail: the same address up to case and surrounding spaces.
    email = orig["email"].fillna("").to_numpy()
    assert (dup["Email"].str.strip().str.lower().to_numpy() == email).all()
    # Mobile: the same 11 digits, re-formatted.
    digits = dup["Mobile"].str.replace(r"\D", "", regex=True).str.removeprefix("86")
    phone = orig["phone"].fillna("").str.removeprefix("+86").to_numpy()
    assert (digits.to_numpy() == phone).all()
    assert (dup["Mobile"] != orig["phone"].fillna("").to_numpy())[phone != ""].all()
    # Name: one look-alike character, one dropped character, a swap or a case change.
    for a, b in zip(orig["name"], dup["Name"], strict=True):
        if a.isascii():
            assert sorted(a.lower()) == sorted(b.lower()) and len(a) == len(b)
        else:
            same = sum(x == y for x, y in zip(a, b, strict=False))
            assert (len(b) == len(a) and same >= len(a) - 1) or (
                len(b) == len(a) - 1 and any(a[:i] + a[i + 1 :] == b for i in range(len(a)))
            )
    # Sign-up a few days after the original.
    dup_at, _ = parse_dates(dup["Signup Date"].reset_index(drop=True))
    orig_at = orig["signup_at"].dt.tz_convert(schemas.LOCAL_TIMEZONE).dt.tz_localize(None)
    gap = dup_at.to_numpy() - orig_at.dt.floor("D").to_numpy()
    assert (gap >= np.timedelta64(0, "D")).all() and (gap < np.timedelta64(8, "D")).all()


def test_test_accounts(customers, dirty):
    tests = planted(dirty, "customers", "test_account")
    export = customers.set_index("Customer ID").loc[tests["key"]]
    assert sorted(export["Name"]) == sorted(a[0] for a in TEST_ACCOUNTS)
    assert export["Email"].str.match(r"^test\+\d@example\.com$").all()


def test_missing_values_are_exactly_the_planted_ones(world, customers, dirty):
    missing = planted(dirty, "customers", "missing_value")
    for col, share in [("Region", 0.04), ("Source", 0.03)]:
        keys = set(missing.loc[missing["detail"] == col, "key"])
        assert keys == set(customers.loc[customers[col] == "", "Customer ID"]), col
        assert 0.5 * share < len(keys) / len(customers) < 1.5 * share, col


@pytest.mark.parametrize("column", list(LABEL_VARIANTS))
def test_label_variants_map_back_to_the_clean_values(world, customers, column):
    to_canonical = {v: c for c, variants in LABEL_VARIANTS[column].items() for v in variants}
    clean_col = world.customers[CUSTOMER_COLUMNS[column]].astype("str").to_numpy()
    labels = customers[column].iloc[: len(world.customers)]
    shown = labels != ""
    assert labels[shown].isin(to_canonical).all()
    assert (labels[shown].map(to_canonical).to_numpy() == clean_col[shown.to_numpy()]).all()
    assert labels.nunique() > len(LABEL_VARIANTS[column])  # really mixed


def test_signup_dates_parse_back(world, customers, dirty):
    n = len(world.customers)
    assert_dates_match(customers["Signup Date"].iloc[:n], world.customers["signup_at"])
    _, which = parse_dates(customers["Signup Date"])
    summary = planted(dirty, "customers", "date_format")
    expected = {f"{fmt} ({(which == name).sum()} rows)" for name, (fmt, _) in DATE_FORMATS.items()}
    assert set(summary["detail"]) == expected
    assert (which == "iso").mean() == pytest.approx(0.6, abs=0.05)


# -------------------------------------------------------------------------- orders


def test_every_clean_line_is_exported(world, orders, dirty):
    tx = world.transactions
    first = orders.drop_duplicates().assign(key=order_keys)
    assert not first["key"].duplicated().any()
    merged = pd.DataFrame({"key": clean_keys(tx)}).merge(first, on="key", how="left")
    assert merged["Order No"].notna().all(), "clean lines lost"
    outliers = set(planted(dirty, "orders", "outlier")["key"])
    keep = ~merged["key"].isin(outliers).to_numpy()
    amount = parse_amount(merged["Amount"]).to_numpy()
    np.testing.assert_allclose(amount[keep], tx["amount"].to_numpy()[keep], atol=0.005)
    assert (merged["Qty"].astype(int).to_numpy() == tx["quantity"].to_numpy()).all()
    assert (merged["Original Order"].to_numpy() == tx["original_order_id"].fillna("")).all()
    assert_dates_match(merged["Order Date"], tx["ordered_at"])


def test_outliers_are_100_times_the_truth(world, orders, dirty):
    outliers = planted(dirty, "orders", "outlier")
    assert len(outliers) > 0
    exported = orders.assign(key=order_keys).drop_duplicates("key").set_index("key")
    amount = parse_amount(exported.loc[outliers["key"], "Amount"]).to_numpy()
    truth = pd.Series(world.transactions["amount"].to_numpy(), index=clean_keys(world.transactions))
    np.testing.assert_allclose(outliers["detail"].astype(float), truth.loc[outliers["key"]])
    np.testing.assert_allclose(amount, 100 * truth.loc[outliers["key"]].to_numpy(), atol=0.005)


def test_negative_lines_without_order(orders, dirty):
    neg = planted(dirty, "orders", "negative_without_order")
    amount = parse_amount(orders["Amount"])
    found = order_keys(orders)[(amount < 0) & (orders["Original Order"] == "")]
    assert set(found) == set(neg["key"]) and len(found) == len(neg)
    mirrored = orders.assign(key=order_keys).drop_duplicates("key").set_index("key")
    assert mirrored.index.isin(neg["detail"]).sum() == len(neg)


def test_test_orders_belong_to_test_accounts(orders, dirty):
    test_ids = set(planted(dirty, "customers", "test_account")["key"])
    found = order_keys(orders)[orders["Customer ID"].isin(test_ids)]
    tests = planted(dirty, "orders", "test_order")
    assert set(found) == set(tests["key"]) and 0 < len(tests) <= 12
    assert set(tests["detail"]) <= test_ids


def test_duplicate_customer_orders(world, orders, dirty):
    moved = planted(dirty, "orders", "duplicate_customer_order")
    assert len(moved) > 0
    dup_of = planted(dirty, "customers", "duplicate_customer").set_index("key")["detail"]
    exported = orders.assign(key=order_keys).drop_duplicates("key").set_index("key")
    now = exported.loc[moved["key"], "Customer ID"]
    assert now.isin(dup_of.index).all()
    assert (dup_of.loc[now].to_numpy() == moved["detail"].to_numpy()).all()
    truth = pd.Series(
        world.transactions["customer_id"].to_numpy(), index=clean_keys(world.transactions)
    )
    assert (truth.loc[moved["key"]].to_numpy() == moved["detail"].to_numpy()).all()
    # Every other clean line keeps its customer.
    others = truth.index.difference(pd.Index(moved["key"]))
    assert (exported.loc[others, "Customer ID"] == truth.loc[others]).all()


def test_duplicate_lines_are_exact_copies(orders, dirty):
    dups = planted(dirty, "orders", "duplicate_line")
    counts = order_keys(orders).value_counts()
    assert set(counts[counts > 1].index) == set(dups["key"]) and (counts <= 2).all()
    assert orders.duplicated().sum() == len(dups)


def test_missing_category(orders, dirty):
    missing = planted(dirty, "orders", "missing_value")
    assert set(missing["detail"]) == {"Category"}
    assert set(order_keys(orders)[orders["Category"] == ""]) == set(missing["key"])
    assert orders["Category"][orders["Category"] != ""].isin(schemas.CATEGORIES).all()


def test_amount_formats_summary(orders, dirty):
    summary = planted(dirty, "orders", "amount_format")
    yen = orders["Amount"].str.contains("¥", regex=False).sum()
    thousands = orders["Amount"].str.contains(",", regex=False).sum()
    assert set(summary["detail"]) == {
        f"thousands separator 1,234.50 ({thousands} rows)",
        f"yen sign ¥1234.50 ({yen} rows)",
    }
    assert 0.01 < (yen + thousands) / len(orders) < 0.03
    _, which = parse_dates(orders["Order Date"])
    details = set(planted(dirty, "orders", "date_format")["detail"])
    assert details == {f"{fmt} ({(which == n).sum()} rows)" for n, (fmt, _) in DATE_FORMATS.items()}


# ------------------------------------------------------------------- files, seeds


def test_files_round_trip_in_their_encodings(world, tmp_path):
    paths = write_raw_exports(world.raw, tmp_path / "raw")
    assert set(paths) == set(EXPORT_ENCODINGS)
    for name, path in paths.items():
        back = pd.read_csv(path, encoding=EXPORT_ENCODINGS[name], dtype=str, keep_default_na=False)
        pd.testing.assert_frame_equal(back, world.raw[name], check_dtype=False, obj=name)
    customers_bytes = paths["customers_export"].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        customers_bytes.decode("utf-8")
    with pytest.raises(UnicodeDecodeError):
        pd.read_csv(paths["customers_export"], encoding="utf-8")
    assert not customers_bytes.startswith(b"\xef\xbb\xbf")
    assert paths["orders_export"].read_bytes().startswith(b"\xef\xbb\xbfOrder No,Line,")


def test_unknown_export_has_no_encoding(world, tmp_path):
    with pytest.raises(ValueError, match="no file encoding known.*EXPORT_ENCODINGS"):
        write_raw_exports({"survey_export": world.raw["orders_export"]}, tmp_path)


def test_same_seed_same_exports_and_world_untouched(world, dirty):
    before = {name: df.copy() for name, df in world.tables.items()}
    raw, again = make_raw_exports(world, np.random.default_rng([1, 1]))
    for name, df in raw.items():
        pd.testing.assert_frame_equal(df, world.raw[name], obj=name)
    pd.testing.assert_frame_equal(again, dirty)
    for name, df in before.items():
        pd.testing.assert_frame_equal(world.tables[name], df, obj=name)
    other, _ = make_raw_exports(world, np.random.default_rng([2, 1]))
    assert not other["orders_export"].equals(world.raw["orders_export"])


def test_score_found_counts_hits_misses_and_false_alarms():
    dirty = pd.DataFrame(
        {
            "table": ["orders"] * 4 + ["customers"],
            "key": ["O1/1", "O2/1", "O3/2", "O9/1", "C1"],
            "kind": ["outlier"] * 4 + ["test_account"],
            "detail": [""] * 5,
        }
    )
    lines = pd.DataFrame({"order_id": ["O1", "O2", "O3", "O4"], "line_no": [1, 1, 2, 1]})
    assert line_keys(lines) == {"O1/1", "O2/1", "O3/2", "O4/1"}
    assert line_keys(lines.iloc[:0]) == set()
    flagged = line_keys(lines.iloc[[0, 3]])  # one planted slip found, one false alarm
    # O9/1 never reached the step: with among=..., it is not counted as missed
    got = score_found(dirty, "outlier", flagged, among=line_keys(lines))
    assert got == {
        "planted": 3,
        "found": 2,
        "found_planted": 1,
        "found_not_planted": 1,
        "recall": 1 / 3,
        "precision": 0.5,
    }
    assert score_found(dirty, "outlier", flagged)["planted"] == 4
    nothing = score_found(dirty, "duplicate_line", set())
    assert (nothing["recall"], nothing["precision"]) == (0.0, 0.0)
    assert score_found(dirty, "test_account", {"C1"})["recall"] == 1.0


def test_format_problems_are_counted_by_hand():
    from crm_lib.datasets.dirt import format_problems_found

    customers = pd.DataFrame(
        {
            "Signup Date": ["2024-03-05 14:22:01", "05/03/2024", None],  # iso, day_first
            "Region": ["north", "north", None],  # clean
            "Gender": ["F", "male", "female"],  # upper case: a variant
            "Marketing Opt-in": [" yes", "no", "no"],  # padded: a variant
        }
    )
    orders = pd.DataFrame(
        {
            "Order Date": ["2024年3月5日", "2024/3/5 14:22", "2024/3/6 09:00"],  # chinese, slash
            "Amount": ["12.50", "1,234.50", "-3.00"],  # a thousands separator, no ¥
        }
    )
    assert format_problems_found(customers, orders) == {
        ("customers", "date_format"): 2,
        ("orders", "date_format"): 2,
        ("customers", "label_variant"): 2,
        ("orders", "amount_format"): 1,
    }


def test_planted_vs_found_by_hand():
    from crm_lib.datasets.dirt import planted_vs_found

    records = pd.DataFrame(
        {
            "table": ["customers", "customers", "orders", "orders", "orders"],
            "key": ["C1", "C2", "O1/1", "O2/1", "*"],
            "kind": ["test_account", "test_account", "outlier", "outlier", "date_format"],
            "detail": [""] * 5,
        }
    )
    table = planted_vs_found(records, {("orders", "outlier"): (1, "ratio rule")})
    assert table["kind"].tolist() == ["test_account", "date_format", "outlier"]
    assert table["planted"].tolist() == [2, 1, 2]
    assert table["found"].isna().tolist() == [True, True, False]
    assert table.loc[2, "found"] == 1 and table.loc[2, "method"] == "ratio rule"
    assert table["method"].tolist()[:2] == ["", ""]
