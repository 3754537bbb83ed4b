"""Tests of crm_lib.intake.privacy: pseudonyms, key handling, consent, erasure, PII scan."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from crm_lib.intake import privacy, warehouse

KEY = "test-key-0123456789abcdef"
OTHER_KEY = "rotated-key-fedcba9876543210"


@pytest.fixture
def people() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["C001", "C002", "C003", None],
            "name": ["Ann Lee", "李雷", "Bo Chen", "x"],
            "email": ["Ann@Example.com", "  ann@example.com ", "bo@example.org", ""],
            "phone": ["138 1234 5678", "+86-138-1234-5678", "13912345678", None],
        }
    )


def test_same_input_and_key_give_the_same_pseudonym(people):
    a = privacy.pseudonymize(people, ["customer_id", "email", "phone"], key=KEY)
    b = privacy.pseudonymize(people, ["customer_id", "email", "phone"], key=KEY)
    pd.testing.assert_frame_equal(a, b)
    assert a["customer_id"].iloc[0].startswith("p_")
    assert len(a["customer_id"].iloc[0]) == len("p_") + 16


def test_the_same_person_written_differently_gets_one_pseudonym(people):
    out = privacy.pseudonymize(people, ["email", "phone"], key=KEY)
    # rows 0 and 1: same e-mail up to case and spaces, same phone in two formats
    assert out.loc[0, "email"] == out.loc[1, "email"]
    assert out.loc[0, "phone"] == out.loc[1, "phone"]
    assert out.loc[0, "phone"] != out.loc[2, "phone"]


def test_missing_values_stay_missing(people):
    out = privacy.pseudonymize(people, ["customer_id", "email", "phone"], key=KEY)
    assert out.loc[3, ["customer_id", "email", "phone"]].isna().all()


def test_key_rotation_changes_every_pseudonym(people):
    a = privacy.pseudonymize(people, ["customer_id", "email"], key=KEY)
    b = privacy.pseudonymize(people, ["customer_id", "email"], key=OTHER_KEY)
    for col in ["customer_id", "email"]:
        both = a[col].notna()
        assert (a.loc[both, col] != b.loc[both, col]).all()


def test_no_raw_identifier_is_left(people):
    cols = ["customer_id", "name", "email", "phone"]
    out = privacy.pseudonymize(people, cols, key=KEY)
    text = out.to_csv(index=False)
    for value in people[cols].stack().dropna().astype(str).str.strip():
        if len(value) > 1:
            assert value not in text
    assert privacy.scan_for_pii(text).empty
    assert not privacy.scan_for_pii(people.to_csv(index=False)).empty


def test_pseudonymize_does_not_modify_the_input(people):
    before = people.copy()
    privacy.pseudonymize(people, "email", key=KEY)
    pd.testing.assert_frame_equal(people, before)


def test_pseudonymize_names_a_missing_column(people):
    with pytest.raises(KeyError, match="not columns of the table"):
        privacy.pseudonymize(people, ["e_mail"], key=KEY)


def test_short_key_is_refused():
    with pytest.raises(ValueError, match="at least 16"):
        privacy.load_key("short")


def test_key_from_environment_wins(monkeypatch, tmp_path, people):
    monkeypatch.setenv(privacy.KEY_ENV, KEY)
    a = privacy.pseudonymize(people, "email", key_file=tmp_path / "k")
    b = privacy.pseudonymize(people, "email", key=KEY)
    pd.testing.assert_series_equal(a["email"], b["email"])
    assert not (tmp_path / "k").exists()


def test_key_file_is_created_once_and_reused(monkeypatch, tmp_path, people):
    monkeypatch.delenv(privacy.KEY_ENV, raising=False)
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path))
    with pytest.warns(privacy.PseudonymKeyWarning, match="created a new pseudonymisation key"):
        a = privacy.pseudonymize(people, "email")
    path = tmp_path / privacy.KEY_FILE
    assert path.is_file()
    assert path.stat().st_mode & 0o077 == 0  # readable by the owner only
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b = privacy.pseudonymize(people, "email")
    pd.testing.assert_frame_equal(a, b)


def test_key_file_is_git_ignored():
    gitignore = Path(__file__).resolve().parents[2] / ".gitignore"
    assert privacy.KEY_FILE in gitignore.read_text(encoding="utf-8").split()


# ------------------------------------------------------------------- consent


def test_consent_flags_treat_missing_consent_as_refused():
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "marketing_consent": pd.array([True, False, None], dtype="boolean"),
        }
    )
    out = privacy.consent_flags(customers)
    assert out["may_contact"].tolist() == [True, False, False]
    assert out["reason"].tolist() == ["consent_given", "consent_refused", "consent_unknown"]


# ------------------------------------------------------------------- erasure


@pytest.fixture
def wh_path(tmp_path) -> Path:
    path = tmp_path / "crm.duckdb"
    customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "region": ["n", "e", "s"]})
    tx = pd.DataFrame(
        {"order_id": ["O1", "O2", "O3", "O4"], "customer_id": ["C1", "C2", "C1", "C3"]}
    )
    quarantine = pd.DataFrame(
        {
            "source": ["f.csv"] * 3,
            "row": [2, 3, 4],
            "column": ["Amount", "Region", "Amount"],
            "value": ["abc", "??", "x"],
            "rule": ["number", "label", "number"],
            "reason": ["r"] * 3,
            "raw": [
                json.dumps({"Customer ID": " C1 ", "Amount": "abc"}),
                json.dumps({"Customer ID": "C2", "Region": "??"}),
                json.dumps({"Customer ID": "C11", "Amount": "x"}),  # C11 is not C1
            ],
        }
    )
    lineage = pd.DataFrame({"load_id": ["L1"], "source": ["f.csv"]})
    warehouse.write_tables(
        {"customers": customers, "transactions": tx, "quarantine": quarantine, "lineage": lineage},
        path,
    )
    return path


def _read(path, table):
    with warehouse.connect(path) as con:
        return con.sql(f"select * from {table}").df()


def test_erasure_removes_every_row_of_the_customer_and_nothing_else(wh_path):
    before = {t: _read(wh_path, t) for t in ["customers", "transactions", "quarantine", "lineage"]}
    removed = privacy.erase_customer("C1", warehouse=wh_path)
    counts = dict(zip(removed["table"], removed["rows_removed"], strict=True))
    assert counts == {"customers": 1, "transactions": 2, "quarantine": 1}
    after = {t: _read(wh_path, t) for t in before}
    assert "C1" not in after["customers"]["customer_id"].tolist()
    assert "C1" not in after["transactions"]["customer_id"].tolist()
    assert not after["quarantine"]["raw"].str.contains(r'"\s*C1\s*"').any()
    # nothing else changed
    assert len(after["customers"]) == 2 and len(after["transactions"]) == 2
    assert after["quarantine"]["row"].tolist() == [3, 4]
    pd.testing.assert_frame_equal(after["lineage"], before["lineage"])


def test_erasure_of_an_unknown_customer_changes_nothing(wh_path):
    removed = privacy.erase_customer(["C9"], warehouse=wh_path)
    assert removed["rows_removed"].sum() == 0
    assert len(_read(wh_path, "transactions")) == 4


def test_erasure_needs_an_id(wh_path):
    with pytest.raises(ValueError, match="non-empty customer id"):
        privacy.erase_customer("  ", warehouse=wh_path)


# ----------------------------------------------------------------------- scan


@pytest.mark.parametrize(
    "text",
    [
        "mail ann.lee@example.com now",
        "TEST+2@EXAMPLE.COM",
        "call 138 1234 5678",
        "call +86-138-1234-5678",
        "13812345678",
        "+8613900000000",
        "intl +4915123456789",
    ],
)
def test_scan_finds_planted_pii(text):
    found = privacy.scan_for_pii(text)
    assert len(found) == 1
    assert "@" not in found["masked"].iloc[0] or "***" in found["masked"].iloc[0]


@pytest.mark.parametrize(
    "text",
    [
        "2,000 customers; 13.5% churn; revenue 1,381,234.50",
        "load 20261123T121127123456Z-ab12cd34, sha 3f13812345678abc",
        "p_9f86d081884c7d65 and 2024-03-05 14:22:01",
        "order O00012345/1, customer C00001234, amount 13812345678.5",
        "",
    ],
)
def test_scan_finds_nothing_in_clean_text(text):
    assert privacy.scan_for_pii(text).empty


def test_scan_reads_notebook_outputs_and_skips_images(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = 1")
    example = nbformat.v4.new_markdown_cell("e.g. `ANN@EXAMPLE.COM`")
    cell.outputs = [
        nbformat.v4.new_output("stream", text="contact: bo@example.org\n"),
        nbformat.v4.new_output(
            "display_data", data={"image/png": "iVBOR13812345678w0", "text/plain": "<Figure>"}
        ),
    ]
    nb.cells = [cell, example]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    found = privacy.scan_for_pii([path], sources=False)
    assert found["kind"].tolist() == ["email"]
    assert found["source"].iloc[0] == "n.ipynb:cell0:output"
    assert privacy.scan_for_pii(tmp_path)["source"].tolist() == [
        "n.ipynb:cell0:output",
        "n.ipynb:cell1:source",
    ]


def test_scan_allows_listed_examples_and_skips_html_images(tmp_path):
    page = tmp_path / "report.html"
    page.write_text(
        "<p>e.g. <code>ANN@EXAMPLE.COM</code> or 138 1234 5678</p>"
        '<img src="data:image/png;base64,iVBOR/13812345678/w0+bo@example.org=">'
        "<p>leak: bo@example.org</p>",
        encoding="utf-8",
    )
    found = privacy.scan_for_pii(page, allow=["ANN@EXAMPLE.COM", "138 1234 5678"])
    assert found["kind"].tolist() == ["email"]  # the leak only; the image is not text
    assert found["masked"].tolist() == ["b***@example.org"]
    assert len(privacy.scan_for_pii(page)) == 3


def test_erasure_follows_duplicate_links_and_pseudonymised_tables(tmp_path):
    """One call erases the person: linked duplicate accounts (dedup merge log) and the
    derived tables keyed by pseudonyms, not only the raw rows."""
    path = tmp_path / "wh.duckdb"
    key = "k" * 32
    customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "name": ["a", "b", "c"]})
    tx = pd.DataFrame({"customer_id": ["C1", "C2", "C2", "C3"], "amount": [1.0, 2.0, 3.0, 4.0]})
    merge_log = pd.DataFrame({"customer_id": ["C2"], "master_id": ["C1"], "rule": ["exact"]})
    clean = privacy.pseudonymize(customers, "customer_id", key=key)
    clean_tx = privacy.pseudonymize(tx.replace({"C2": "C1"}), "customer_id", key=key)
    warehouse.write_tables(
        {
            "customers": customers,
            "transactions": tx,
            "merge_log": merge_log,
            "customers_clean": clean,
            "transactions_clean": clean_tx,
        },
        path,
    )
    # asked for the duplicate account: the master and its pseudonymised rows go too
    removed = privacy.erase_customer("C2", warehouse=path, key=key)
    counts = dict(zip(removed["table"], removed["rows_removed"], strict=True))
    assert counts == {
        "customers": 2,
        "transactions": 3,
        "merge_log": 1,
        "customers_clean": 2,
        "transactions_clean": 3,
    }
    assert removed.attrs["ids"] == {"raw_ids": 2, "pseudonyms": 2}
    assert _read(path, "customers")["customer_id"].tolist() == ["C3"]
    c3 = privacy.pseudonymize(customers.iloc[[2]], "customer_id", key=key)["customer_id"]
    assert _read(path, "transactions_clean")["customer_id"].tolist() == c3.tolist()
    # without the key the pseudonymised rows cannot be found: say so by the count
    removed = privacy.erase_customer("C3", warehouse=path, pseudonyms=False)
    assert dict(zip(removed["table"], removed["rows_removed"], strict=True))["customers_clean"] == 0


def test_erasure_follows_a_pseudonymised_merge_log_back_to_raw_ids(tmp_path):
    """Notebook 02 stores the merge log with pseudonyms; the raw tables of notebook 01
    must still lose every account of the person."""
    path = tmp_path / "wh.duckdb"
    key = "k" * 32
    customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "name": ["a", "b", "c"]})
    merge_log = privacy.pseudonymize(
        pd.DataFrame({"customer_id": ["C2"], "master_id": ["C1"]}),
        ["customer_id", "master_id"],
        key=key,
    )
    clean = privacy.pseudonymize(customers, "customer_id", key=key)
    warehouse.write_tables(
        {"customers": customers, "customer_merge_log": merge_log, "customers_clean": clean},
        path,
    )
    removed = privacy.erase_customer("C2", warehouse=path, key=key)
    counts = dict(zip(removed["table"], removed["rows_removed"], strict=True))
    assert counts == {"customers": 2, "customer_merge_log": 1, "customers_clean": 2}
    assert _read(path, "customers")["customer_id"].tolist() == ["C3"]


def test_count_pii_counts_distinct_values_after_normalisation(tmp_path):
    page = tmp_path / "r.html"
    page.write_text("<p>Ann@Example.com, +86 138-1234-5678</p>", encoding="utf-8")
    texts = ["ann@example.com and 138 1234 5678", "bo@example.org", page]
    assert privacy.count_pii(texts) == {"email": 2, "phone": 1}
    assert privacy.count_pii(texts, allow=["bo@example.org"]) == {"email": 1, "phone": 1}
    assert privacy.count_pii("2,000 customers, order O00012345/1") == {}


def test_redact_pii_keeps_nothing_of_the_value():
    text = "LookupError: no order for Li.Na@example.com (mobile +86-139-8765-4321), retry"
    out = privacy.redact_pii(text)
    assert out == (
        "LookupError: no order for [e-mail removed] (mobile [phone number removed]), retry"
    )
    assert privacy.scan_for_pii(out).empty
    assert privacy.redact_pii("e.g. ANN@EXAMPLE.COM", allow=["ANN@EXAMPLE.COM"]) == (
        "e.g. ANN@EXAMPLE.COM"
    )
    assert privacy.redact_pii("") == ""


# ------------------------------------------- erasure: the key and the copies beside


def _no_configured_key(monkeypatch, tmp_path) -> None:
    """No $CRM_PSEUDONYM_KEY and an empty data folder (so no key file)."""
    monkeypatch.delenv(privacy.KEY_ENV, raising=False)
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path / "no-key-here"))


def _rows(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".xlsx":
        return pd.read_excel(path, dtype=str)
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


@pytest.fixture
def cleaned_warehouse(tmp_path) -> tuple[Path, str]:
    """A warehouse as notebooks 01/02 leave it, built by hand.

    C2 is a duplicate account of C1 (merge log); C3 is someone else. Raw tables hold raw
    ids, the clean tables pseudonyms (key KEY); beside the warehouse: Parquet copies of the
    clean tables and quarantine files whose raw rows name the customers.
    """
    from crm_lib.intake import io

    folder = tmp_path / "warehouse"
    db = folder / "crm.duckdb"
    customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "region": ["n", "e", "s"]})
    tx = pd.DataFrame(
        {"order_id": ["O1", "O2", "O3", "O4"], "customer_id": ["C1", "C2", "C1", "C3"]}
    )
    merge_log = pd.DataFrame({"customer_id": ["C2"], "master_id": ["C1"]})

    def raw(cid: str, extra: str) -> str:
        return json.dumps({"Customer ID": cid, "Note": extra}, ensure_ascii=False)

    def qrows(cids: list[str], table: str) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "source": [f"{table}.csv"] * len(cids),
                "row": list(range(2, 2 + len(cids))),
                "column": ["Region"] * len(cids),
                "value": [""] * len(cids),
                "rule": ["required"] * len(cids),
                "reason": ["region is empty"] * len(cids),
                "raw": [raw(c, "=HYPERLINK(1)") for c in cids],
                "table": [table] * len(cids),
            }
        )

    clean = {
        "customers_clean": privacy.pseudonymize(customers.iloc[[0, 2]], "customer_id", key=KEY),
        "transactions_clean": privacy.pseudonymize(
            tx.replace({"C2": "C1"}), "customer_id", key=KEY
        ),
        "customer_merge_log": privacy.pseudonymize(
            merge_log, ["customer_id", "master_id"], key=KEY
        ),
    }
    warehouse.write_tables(
        {
            "customers": customers,
            "transactions": tx,
            "quarantine": qrows(["C2", "C3"], "customers"),
            **clean,
        },
        db,
    )
    for name, df in clean.items():
        (folder / "parquet").mkdir(exist_ok=True)
        df.to_parquet(folder / "parquet" / f"{name}.parquet", index=False)
    io.write_csv(
        qrows(["C2", "C3", "C11"], "customers"), folder / "quarantine" / "customers_quarantine.csv"
    )
    io.write_excel(
        qrows(["C1", "C3"], "transactions"), folder / "quarantine" / "transactions_quarantine.xlsx"
    )
    io.write_csv(
        qrows(["C1", "C3"], "transactions"), folder / "quarantine" / "cleaning_set_aside.csv"
    )
    return db, folder


BESIDE = {  # file -> (rows before, rows of the person C1/C2)
    "parquet/customers_clean.parquet": (2, 1),
    "parquet/transactions_clean.parquet": (4, 3),
    "parquet/customer_merge_log.parquet": (1, 1),
    "quarantine/customers_quarantine.csv": (3, 1),  # C11 is not C1
    "quarantine/transactions_quarantine.xlsx": (2, 1),
    "quarantine/cleaning_set_aside.csv": (2, 1),
}


def test_erasure_covers_the_parquet_copies_and_quarantine_files_beside_the_warehouse(
    cleaned_warehouse,
):
    db, folder = cleaned_warehouse
    for name, (before, _) in BESIDE.items():
        assert len(_rows(folder / name)) == before, name
    removed = privacy.erase_customer("C2", warehouse=db, key=KEY)
    counts = dict(zip(removed["table"], removed["rows_removed"], strict=True))
    assert counts == {
        "customers": 2,
        "transactions": 3,
        "quarantine": 1,
        "customers_clean": 1,
        "transactions_clean": 3,
        "customer_merge_log": 1,
        **{name: person for name, (_, person) in BESIDE.items()},
    }
    for name, (before, person) in BESIDE.items():
        after = _rows(folder / name)
        assert len(after) == before - person, name
        text = after.to_csv(index=False)
        assert '"C1"' not in text and '"C2"' not in text
    kept = _rows(folder / "quarantine" / "customers_quarantine.csv")
    assert kept["raw"].str.startswith('{"Customer ID": "C').all()  # rows kept as written
    assert _rows(folder / "parquet" / "customers_clean.parquet")["customer_id"].tolist() == (
        privacy.pseudonymize(pd.DataFrame({"c": ["C3"]}), "c", key=KEY)["c"].tolist()
    )


def test_erasure_refuses_pseudonymised_tables_when_no_key_is_found(
    cleaned_warehouse, monkeypatch, tmp_path
):
    """Without the key the person's pseudonymised rows cannot be found: say so, loudly."""
    db, folder = cleaned_warehouse
    _no_configured_key(monkeypatch, tmp_path)
    with pytest.raises(ValueError, match=r"pseudonymised.*customers_clean.*CRM_PSEUDONYM_KEY"):
        privacy.erase_customer("C1", warehouse=db)
    assert len(_read(db, "customers")) == 3  # nothing was erased half-way
    assert len(_rows(folder / "parquet" / "transactions_clean.parquet")) == 4


def test_configured_key_never_makes_one_up(monkeypatch, tmp_path):
    _no_configured_key(monkeypatch, tmp_path)
    with pytest.raises(privacy.PseudonymKeyError, match="no pseudonymisation key is configured"):
        privacy.configured_key()
    with pytest.raises(ValueError, match=r"CRM_PSEUDONYM_KEY.*\.crm_pseudonym_key"):
        privacy.configured_key(key_file=tmp_path / "missing" / privacy.KEY_FILE)
    assert not (tmp_path / "missing").exists() and not (tmp_path / "no-key-here").exists()


def test_a_simulated_world_keeps_one_key_and_a_configured_key_wins(monkeypatch, tmp_path, people):
    _no_configured_key(monkeypatch, tmp_path)
    a = privacy.configured_key(simulated_world="f6efeda2ad2f8bba")
    b = privacy.configured_key(simulated_world="f6efeda2ad2f8bba")
    other = privacy.configured_key(simulated_world="0000000000000000")
    assert (a.source, a.world) == ("simulated world", "f6efeda2ad2f8bba")
    assert a.secret == b.secret != other.secret and a.check == b.check != other.check
    run1 = privacy.pseudonymize(people, "email", key=a.secret)
    run2 = privacy.pseudonymize(people, "email", key=b.secret)
    pd.testing.assert_frame_equal(run1, run2)  # same pseudonyms in every run
    assert "secret" not in repr(a) and a.secret.decode() not in repr(a)
    monkeypatch.setenv(privacy.KEY_ENV, KEY)
    env = privacy.configured_key(simulated_world="f6efeda2ad2f8bba")
    assert env.source == "$CRM_PSEUDONYM_KEY" and env.secret == KEY.encode()


def test_erasure_finds_a_recorded_simulated_key_and_refuses_a_wrong_key(
    cleaned_warehouse, monkeypatch, tmp_path
):
    db, _ = cleaned_warehouse
    _no_configured_key(monkeypatch, tmp_path)
    world = privacy.simulated_world_key("f6efeda2ad2f8bba")
    customers = pd.DataFrame({"customer_id": ["C1", "C3"]})
    warehouse.write_tables(
        {
            "customers_clean": privacy.pseudonymize(customers, "customer_id", key=world.secret),
            privacy.KEY_TABLE: world.record(),
        },
        db,
    )
    with pytest.raises(privacy.PseudonymKeyError, match="not the key the pseudonymised tables"):
        privacy.erase_customer("C1", warehouse=db, key=KEY)
    removed = privacy.erase_customer("C1", warehouse=db, beside=False)  # no key passed
    counts = dict(zip(removed["table"], removed["rows_removed"], strict=True))
    assert counts["customers_clean"] == 1 and counts["customers"] == 1


def test_digits_of_a_decimal_number_are_not_a_phone_number():
    # a probability written with many digits: '18312345678' after '0.' is no mobile number
    from crm_lib.intake.privacy import scan_for_pii

    assert len(scan_for_pii("churn_probability,0.18312345678\n")) == 0
    assert len(scan_for_pii("p=-0.18312345678 and 2.18312345678")) == 0
    assert len(scan_for_pii("call 13812345678.")) == 1  # a number at the end of a sentence
    assert len(scan_for_pii("Tel.13812345678")) == 1
