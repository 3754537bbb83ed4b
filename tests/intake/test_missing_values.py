"""Missing values by a stated policy per column, and order lines without a customer.

A blank optional descriptive field (region, acquisition source, gender, category, channel)
keeps its row with the explicit value ``unknown``; a blank key, time or amount sends the row
to quarantine. Order lines whose customer is not in the customers table are counted and
reported, and kept (flagged) or quarantined by a stated policy. Every step reconciles
*rows in = rows accepted + rows quarantined*.
"""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from crm_lib.contract import schemas
from crm_lib.datasets import simulate
from crm_lib.datasets.dirt import line_keys, write_raw_exports
from crm_lib.intake import cleaning, io


@pytest.fixture(scope="module")
def dirty(tmp_path_factory):
    """The dirty small world and its raw exports as read from disk (text cells)."""
    world = simulate("small", seed=1)
    files = write_raw_exports(world.raw, tmp_path_factory.mktemp("exports"))
    raw = {name: io.read_table(path) for name, path in files.items()}
    return world, raw


def _planted(world, table: str, kind: str) -> pd.DataFrame:
    d = world.truth.dirty_records
    return d[(d["table"] == table) & (d["kind"] == kind)]


def test_no_customer_of_the_dirty_world_is_quarantined_for_a_blank_optional_field(dirty):
    world, raw = dirty
    customers = raw["customers_export"]
    mapped = io.apply_mapping(customers, "simulated_world_customers", source="customers.csv")
    rec = mapped.reconciliation
    assert rec.rows_in == len(customers) == rec.rows_accepted + rec.rows_quarantined
    # the truth plants no customer problem that the mapping should quarantine: missing
    # values, label variants, date formats, duplicates (found later) and test accounts
    # (excluded later) all stay
    assert set(_planted(world, "customers", "missing_value")["detail"]) == {"Region", "Source"}
    assert rec.rows_quarantined == 0 and mapped.quarantine.empty
    data = mapped.data.set_index("customer_id")
    blanks = _planted(world, "customers", "missing_value")
    for source, column in (("Region", "region"), ("Source", "acquisition_channel")):
        ids = blanks.loc[blanks["detail"] == source, "key"]
        assert len(ids) > 50
        assert (data.loc[ids, column] == schemas.UNKNOWN).all(), column
        assert int((data[column] == schemas.UNKNOWN).sum()) == len(ids), column


def test_every_order_line_of_the_dirty_world_keeps_its_customer(dirty):
    world, raw = dirty
    customers = io.apply_mapping(
        raw["customers_export"], "simulated_world_customers", source="customers.csv"
    )
    orders = io.apply_mapping(raw["orders_export"], "simulated_world_orders", source="orders.csv")
    exported = raw["customers_export"]["Customer ID"].str.strip()
    assert orders.data["customer_id"].isin(exported).all()  # every buyer was exported
    orphaned = ~orders.data["customer_id"].isin(customers.data["customer_id"])
    assert int(orphaned.sum()) == 0
    # orders: only the planted duplicate lines and credits without an order are quarantined;
    # the lines with a blank category stay, with category 'unknown'
    rec = orders.reconciliation
    expected = len(_planted(world, "orders", "duplicate_line")) + len(
        _planted(world, "orders", "negative_without_order")
    )
    assert rec.rows_quarantined == expected
    assert rec.rows_in == len(raw["orders_export"]) == rec.rows_accepted + rec.rows_quarantined
    blank = set(_planted(world, "orders", "missing_value")["key"])
    unknown = orders.data[orders.data["category"] == schemas.UNKNOWN]
    assert line_keys(unknown) == blank and len(blank) > 100


# ------------------------------------------------------------ hand-made tables

HEADER = [
    "Customer ID",
    "Name",
    "Email",
    "Mobile",
    "Signup Date",
    "Region",
    "Source",
    "Gender",
    "Birth Year",
    "Marketing Opt-in",
]
ROWS = [  # file line 2.. ; what the policy should do
    ["C1", "Ann", "a@example.com", "", "2024-01-02 10:00:00", "north", "search", "f", "1990", "Y"],
    ["C2", "Bo", "", "", "2024-01-03 10:00:00", "", "email", "m", "", "N"],  # region blank
    ["C3", "Cy", "", "", "2024-01-04 10:00:00", "east", " ", "", "", "Y"],  # source, gender
    ["", "Di", "", "", "2024-01-05 10:00:00", "west", "direct", "f", "", "N"],  # no id
    ["C5", "Ed", "", "", "", "south", "direct", "m", "", "N"],  # no sign-up time
    ["C6", "Fa", "", "", "2024-01-07 10:00:00", "atlantis", "direct", "m", "", "N"],  # invalid
]


@pytest.fixture
def hand_made() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=HEADER, index=pd.Index(range(2, 8), name="row"))


def test_blank_optional_fields_become_unknown_and_blank_keys_are_quarantined(hand_made):
    mapped = io.apply_mapping(hand_made, "simulated_world_customers", source="hand.csv")
    data = mapped.data.set_index("customer_id")
    assert list(data.index) == ["C1", "C2", "C3"]
    assert data.loc["C2", "region"] == "unknown"
    assert data.loc["C3", ["acquisition_channel", "gender"]].tolist() == ["unknown", "unknown"]
    assert data.loc["C1", ["region", "acquisition_channel", "gender"]].tolist() == [
        "north",
        "search",
        "female",
    ]
    q = mapped.quarantine.set_index("row")
    assert q.loc[5, "rule"] == "required" and q.loc[5, "column"] == "Customer ID"
    assert q.loc[6, "rule"] == "required" and q.loc[6, "column"] == "Signup Date"
    assert q.loc[7, "rule"].startswith("contract:")  # an unknown label is not a missing one
    rec = mapped.reconciliation
    assert (rec.rows_in, rec.rows_accepted, rec.rows_quarantined) == (6, 3, 3)
    filled = mapped.filled.set_index(["row", "column"])["value"].to_dict()
    assert filled == {
        (3, "region"): "unknown",
        (4, "acquisition_channel"): "unknown",
        (4, "gender"): "unknown",
    }


def _customers_columns() -> dict:
    """The rules of the shipped customers mapping, to change one of them."""
    spec = copy.deepcopy(io.load_mapping("simulated_world_customers").columns)
    return {c: {k: v for k, v in r.items() if k != "_origin"} for c, r in spec.items()}


def test_a_mapping_states_its_own_policy_per_column(hand_made):
    spec = _customers_columns()
    spec["region"]["missing"] = "quarantine"
    spec["acquisition_channel"].update(missing="impute", impute="direct")
    mapping = {"name": "strict", "table": "customers", "columns": spec}
    mapped = io.apply_mapping(hand_made, mapping, source="hand.csv")
    data = mapped.data.set_index("customer_id")
    assert list(data.index) == ["C1", "C3"]
    assert data.loc["C3", "acquisition_channel"] == "direct"  # imputed, as stated
    q = mapped.quarantine
    assert q.loc[q["row"] == 3, ["column", "rule"]].values.tolist() == [["Region", "required"]]
    assert mapped.reconciliation.rows_quarantined == 4


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"missing": "guess"}, r"region: unknown missing-value policy 'guess'.*quarantine"),
        ({"missing": "impute"}, r"region: policy 'impute' needs the value.*impute:"),
        ({"impute": "north"}, r"region: 'impute' given but the policy is"),
    ],
)
def test_a_bad_missing_value_policy_is_a_clear_mapping_error(rule, message):
    columns = _customers_columns()
    columns["region"].update(rule)
    spec = {"name": "bad", "table": "customers", "columns": columns}
    with pytest.raises(io.MappingError, match=message):
        io.Mapping.from_dict(spec)


# ------------------------------------------------------------------ orphans


@pytest.fixture
def lines() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": ["O1", "O1", "O2", "O2", "O3"],
            "line_no": [1, 2, 1, 2, 1],
            "customer_id": ["C1", "C1", "C9", "C9", "C2"],
            "amount": [100.0, 50.0, 30.0, 20.0, 0.0],
        },
        index=pd.Index([2, 3, 4, 5, 6], name="row"),
    )


CUSTOMERS = pd.DataFrame({"customer_id": ["C1", "C2", "C3"]})


def test_orphaned_lines_are_counted_and_kept_with_a_flag(lines):
    check = cleaning.check_references(lines, CUSTOMERS, source="orders.csv")
    # C9 is not a customer: 2 lines, 1 order, 50 of the 200 of the table
    assert check.counts == {
        "orphan_lines": 2,
        "orphan_orders": 1,
        "orphan_customers": 1,
        "orphan_amount": 50.0,
        "orphan_share_of_amount": 0.25,
    }
    assert check.data["orphan"].tolist() == [False, False, True, True, False]
    assert check.quarantine.empty and check.policy == "keep"
    rec = check.reconciliation
    assert (rec.rows_in, rec.rows_accepted, rec.rows_quarantined) == (5, 5, 0)
    assert check.orphans.to_dict("records") == [
        {"customer_id": "C9", "lines": 2, "orders": 1, "amount": 50.0}
    ]


def test_orphaned_lines_can_be_quarantined_by_policy(lines):
    check = cleaning.check_references(lines, CUSTOMERS, policy="quarantine", source="orders.csv")
    assert check.data.index.tolist() == [2, 3, 6]
    assert check.quarantine["row"].tolist() == [4, 5]
    assert set(check.quarantine["rule"]) == {"orphan_line"}
    assert "C9" in check.quarantine["reason"].iloc[0]
    rec = check.reconciliation
    assert rec.rows_in == rec.rows_accepted + rec.rows_quarantined == 5


def test_no_orphans_and_bad_arguments(lines):
    ok = cleaning.check_references(lines[lines["customer_id"] != "C9"], CUSTOMERS)
    assert ok.counts["orphan_lines"] == 0 and ok.counts["orphan_share_of_amount"] == 0.0
    with pytest.raises(cleaning.CleaningError, match="policy 'drop'.*keep, quarantine"):
        cleaning.check_references(lines, CUSTOMERS, policy="drop")
    with pytest.raises(cleaning.CleaningError, match=r"customers: column\(s\) \['buyer'\]"):
        cleaning.check_references(lines, CUSTOMERS, parent_col="buyer")


def test_the_missing_value_log_of_the_accepted_rows(hand_made):
    log = io.missing_value_log(hand_made, "simulated_world_customers", rows=[3, 4, 5, 6, 7])
    cells = log[["row", "column", "policy", "value"]].values.tolist()
    assert cells == [
        [3, "region", "unknown", "unknown"],
        [4, "acquisition_channel", "unknown", "unknown"],
        [4, "gender", "unknown", "unknown"],
        [5, "customer_id", "quarantine", None],
        [6, "signup_at", "quarantine", None],
    ]
    assert set(log["table"]) == {"customers"}
    assert log.loc[log["column"] == "signup_at", "source"].tolist() == ["Signup Date"]
