"""The data contract: valid tables pass, broken ones fail naming table/column/row/value."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_lib.contract import schemas
from crm_lib.contract.schemas import ContractError, validate


def test_every_simulated_table_validates(small_world):
    for name, df in small_world.tables.items():
        assert validate(df, name) is df


def test_broken_value_names_table_column_row_and_value(small_world):
    bad = small_world.customers.copy()
    bad.loc[7, "region"] = "atlantis"
    with pytest.raises(
        ContractError, match=r"(?s)customers.*row 7, column region: value 'atlantis'"
    ):
        validate(bad, "customers")


def test_out_of_range_survey_answer(small_world):
    bad = small_world.survey_responses.copy()
    bad["nps"] = bad["nps"].astype("Int64")
    bad.loc[3, "nps"] = 11
    with pytest.raises(ContractError, match=r"(?s)survey_responses.*row 3, column nps: value 11"):
        validate(bad, "survey_responses")


def test_negative_amount_without_order_reference_is_reported(small_world):
    bad = small_world.transactions.copy()
    sale = bad.index[bad["amount"] > 0][0]
    bad.loc[sale, "amount"] = -5.0
    with pytest.raises(ContractError, match=rf"(?s)row {sale}: value .*original_order_id") as info:
        validate(bad, "transactions", source="orders.parquet")
    assert str(info.value).startswith("orders.parquet: table 'transactions'")
    assert info.value.failures["row"].tolist() == [sale]


def test_missing_column_and_wrong_dtype_are_reported(small_world):
    bad = small_world.events.drop(columns=["channel"])
    with pytest.raises(ContractError, match="channel"):
        validate(bad, "events")
    bad = small_world.experiment_outcomes.assign(orders=lambda d: d["orders"].astype(float))
    with pytest.raises(ContractError, match="column orders"):
        validate(bad, "experiment_outcomes")


def test_all_violations_are_collected(small_world):
    bad = small_world.customers.copy()
    bad.loc[[1, 2, 3], "gender"] = "x"
    with pytest.raises(ContractError) as info:
        validate(bad, "customers")
    assert info.value.failures["row"].tolist() == [1, 2, 3]


def test_unknown_table_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown contract table 'orders'"):
        validate(pd.DataFrame(), "orders")


def test_contract_is_documented_and_flags_personal_data():
    doc = schemas.contract_table()
    assert set(doc["table"]) == set(schemas.SCHEMAS)
    assert doc["description"].str.len().gt(5).all()
    assert set(schemas.pii_columns("customers")) == {"name", "email", "phone"}
    assert "comment" in schemas.pii_columns("survey_responses")


def test_empty_tables_have_contract_columns():
    for name, schema in schemas.SCHEMAS.items():
        assert list(schemas.empty(name).columns) == list(schema.columns)


def test_importing_the_contract_does_not_import_pyspark_pandas():
    """pandera would import pyspark.pandas (0.3 s, a pandas-3 warning) when PySpark is
    installed; crm_lib.contract.schemas blocks that one import and leaves Spark importable."""
    import subprocess
    import sys

    code = (
        "import sys, crm_lib.contract.schemas; "
        "assert 'pyspark.pandas' not in sys.modules, 'pyspark.pandas imported'; "
        "import importlib.util as u; "
        "assert u.find_spec('pyspark') is None or u.find_spec('pyspark.sql') is not None"
    )
    subprocess.run([sys.executable, "-W", "error::FutureWarning", "-c", code], check=True)


# ------------------------------------------------------------ a dataset's own vocabulary


def test_a_dataset_vocabulary_replaces_the_reference_lists(small_world):
    tx = small_world.transactions.assign(category="music")
    tx["category"] = tx["category"].astype("string")
    with pytest.raises(ContractError, match=r"column category: value 'music' fails isin"):
        validate(tx, "transactions")  # the simulated retailer's six categories
    validate(tx, "transactions", vocabulary={"category": ["music"]})
    validate(tx, "transactions", vocabulary={})  # not declared: any category
    with pytest.raises(ContractError, match=r"value 'music' fails isin\(\['books', 'unknown'\]\)"):
        validate(tx, "transactions", vocabulary={"category": ["books"]})
    # a region of another country, in a customers table
    cu = small_world.customers.copy()
    cu["region"] = pd.array(["NSW"] * len(cu), dtype="string")
    validate(cu, "customers", vocabulary={"region": ["NSW", "VIC"]})
    cu.loc[cu.index[0], "region"] = "unknown"  # a blank region kept as 'unknown' (policy)
    validate(cu, "customers", vocabulary={"region": ["NSW", "VIC"]})
    with pytest.raises(KeyError, match=r"no configurable vocabulary for transactions\.product_id"):
        validate(tx, "transactions", vocabulary={"product_id": ["x"]})


def test_tables_read_back_from_the_warehouse_pass_the_contract(small_world, tmp_path):
    """DuckDB labels UTC timestamps 'Etc/UTC'; the contract's 'UTC' check must accept them."""
    from crm_lib.intake import warehouse

    db = warehouse.write_tables({"transactions": small_world.transactions}, tmp_path / "w.duckdb")
    with warehouse.connect(db) as con:
        back = con.sql("SELECT * FROM transactions ORDER BY order_id, line_no").arrow()
    back = back.read_all().to_pandas() if hasattr(back, "read_all") else back.to_pandas()
    assert str(back["ordered_at"].dtype.tz) != "UTC"  # the label this test is about
    back = back.astype({c: "string" for c in back.columns if pd.api.types.is_string_dtype(back[c])})
    validate(back, "transactions")
    other = back.assign(ordered_at=back["ordered_at"].dt.tz_convert("Asia/Shanghai"))
    with pytest.raises(ContractError, match=r"column ordered_at"):
        validate(other, "transactions")  # a real other zone still fails


def test_every_required_column_states_its_missing_value_policy():
    doc = schemas.contract_table().set_index(["table", "column"])["missing"]
    assert doc[("customers", "region")] == "unknown"
    assert doc[("customers", "acquisition_channel")] == "unknown"
    assert doc[("transactions", "category")] == "unknown"
    for key in ["customer_id", "signup_at", "marketing_consent"]:
        assert doc[("customers", key)] == "quarantine", key
    for key in ["order_id", "customer_id", "ordered_at", "amount", "quantity"]:
        assert doc[("transactions", key)] == "quarantine", key
    assert doc[("customers", "email")] == "keep"  # nullable: stays missing
    assert set(doc) <= {"unknown", "quarantine", "keep"}
    # "unknown" is an allowed value exactly where the policy can write it
    for (table, column), policy in doc.items():
        assert schemas.missing_policy(table, column) == policy
        if policy == "unknown":
            col = schemas.SCHEMAS[table].columns[column]
            assert all(c(pd.Series([schemas.UNKNOWN])).check_output.all() for c in col.checks)
