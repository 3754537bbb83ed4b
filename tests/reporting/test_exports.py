"""Exports: an Excel workbook of lists, tidy extracts with a dictionary, SPSS with labels.

Expected values are the inputs themselves read back by other libraries (openpyxl for the
workbook, pandas for the extracts, pyreadstat for SPSS) and Excel's documented number
format codes.
"""

from __future__ import annotations

import openpyxl
import pandas as pd
import pyreadstat
import pytest

from crm_lib.cli import main
from crm_lib.reporting.exports import (
    ExportError,
    data_dictionary,
    write_extract,
    write_spss,
    write_workbook,
)
from crm_lib.survey import parse_instrument


def _targets() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3"],
            "churn_probability": [0.25, 0.5, 0.125],
            "expected_value": [1234.5, 99.0, 1_000_000.0],
            "orders": pd.array([3, 1, 12], dtype="Int64"),
            "note": ['=HYPERLINK("http://x","y")', "+cmd", "fine"],
            "contacted_at": pd.to_datetime(["2026-01-02", "2026-01-03", None], utc=True),
        }
    )


def test_workbook_numbers_formats_and_formulas(tmp_path):
    targets = _targets()
    path = write_workbook(
        {"targets": targets, "segments": pd.DataFrame({"segment": ["A"], "share": [0.4]})},
        tmp_path / "lists.xlsx",
        currency="CNY",
    )
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["targets", "segments"]
    ws = wb["targets"]
    assert ws.freeze_panes == "A2" and ws["A1"].font.bold
    header = [c.value for c in ws[1]]
    assert header == list(targets.columns)
    col = {name: i + 1 for i, name in enumerate(header)}
    for r, row in enumerate(targets.itertuples(index=False), start=2):
        assert ws.cell(r, col["churn_probability"]).value == row.churn_probability
        assert ws.cell(r, col["expected_value"]).value == row.expected_value
        assert ws.cell(r, col["orders"]).value == row.orders
    assert ws.cell(2, col["churn_probability"]).number_format == "0.0%"
    assert ws.cell(2, col["expected_value"]).number_format == '#,##0.00 "CNY"'
    assert ws.cell(2, col["orders"]).number_format == "#,##0"
    assert ws.cell(2, col["contacted_at"]).number_format == "yyyy-mm-dd"
    cell = ws.cell(2, col["note"])  # a formula in the data is stored as text, not run
    assert cell.data_type == "s" and cell.value == '\'=HYPERLINK("http://x","y")'
    assert wb["segments"]["B2"].number_format == "0.0%"


def test_extract_with_dictionary_and_personal_data(tmp_path):
    customers = pd.DataFrame({"customer_id": ["c1"], "email": ["a@b.cn"], "region": ["north"]})
    with pytest.raises(ExportError, match=r"\['email'\] hold personal data"):
        write_extract({"customers": customers}, tmp_path / "x")
    files = write_extract(
        {"customers": customers, "targets": _targets()},
        tmp_path / "x",
        format="parquet",
        pii="drop",
    )
    back = pd.read_parquet(files["customers"])
    assert list(back.columns) == ["customer_id", "region"]
    pd.testing.assert_frame_equal(pd.read_parquet(files["targets"]), _targets())
    dictionary = pd.read_csv(files["data_dictionary"], encoding="utf-8-sig")
    region = dictionary[(dictionary["table"] == "customers") & (dictionary["column"] == "region")]
    assert len(region) == 1 and region["description"].iloc[0]  # the contract's meaning
    assert "email" not in set(dictionary["column"])
    csv = write_extract({"targets": _targets()}, tmp_path / "c")["targets"]
    assert pd.read_csv(csv, encoding="utf-8-sig")["note"].iloc[0].startswith("'=")


def test_data_dictionary_of_a_derived_table_has_types_only():
    d = data_dictionary({"t": pd.DataFrame({"x": [1], "y": ["a"]})})
    assert d["column"].tolist() == ["x", "y"] and d["dtype"].iloc[0] == "int64"
    assert not d["pii"].any() and (d["description"] == "").all()


INSTRUMENT = {
    "schema_version": 1,
    "id": "tiny",
    "scales": {"agree5": {"min": 1, "max": 5, "labels": {1: "disagree", 5: "agree"}}},
    "items": [
        {"id": "q1", "scale": "agree5", "construct": "service", "text": {"en": "Staff helped me."}},
        {"id": "q2", "scale": "agree5", "construct": "service", "text": {"en": "Fast answers."}},
    ],
}


def test_spss_round_trip_with_value_labels(tmp_path):
    inst = parse_instrument(INSTRUMENT)
    responses = pd.DataFrame(
        {
            "response_id": ["r1", "r2", "r3"],
            "q1": pd.array([1, 5, None], dtype="Int64"),
            "q2": pd.array([3, 4, 2], dtype="Int64"),
            "comment": ["call me on 13812345678", None, None],  # not exported
        }
    )
    path = write_spss(responses, tmp_path / "s.sav", inst)
    data, meta = pyreadstat.read_sav(str(path))
    assert list(data.columns) == ["response_id", "q1", "q2"]
    assert data["q1"].tolist()[:2] == [1.0, 5.0] and pd.isna(data["q1"].iloc[2])
    assert data["q2"].tolist() == [3.0, 4.0, 2.0]
    assert meta.column_names_to_labels["q1"] == "Staff helped me."
    assert meta.variable_value_labels["q1"] == {1.0: "disagree", 5.0: "agree"}


def test_the_export_commands(tmp_path, capsys):
    from crm_lib.datasets import save_world, simulate

    folder = save_world(simulate(60, seed=4, dirty=False), tmp_path / "w")
    assert main(["export", "extract", str(folder), "--out", str(tmp_path / "x"),
                 "--tables", "customers,transactions"]) == 0  # fmt: skip
    customers = pd.read_csv(tmp_path / "x" / "customers.csv", encoding="utf-8-sig")
    assert not {"name", "email", "phone"} & set(customers.columns)  # personal data left out
    assert main(["export", "spss", str(folder), "--out", str(tmp_path / "s.sav")]) == 0
    data, meta = pyreadstat.read_sav(str(tmp_path / "s.sav"))
    assert len(data) == len(simulate(60, seed=4, dirty=False).survey_responses)
    _targets().to_csv(tmp_path / "targets.csv", index=False)
    assert main(["export", "excel", str(tmp_path / "targets.csv"), "--out",
                 str(tmp_path / "l.xlsx")]) == 0  # fmt: skip
    assert openpyxl.load_workbook(tmp_path / "l.xlsx").sheetnames == ["targets"]
    assert main(["export", "extract", str(folder), "--out", str(tmp_path / "y"),
                 "--tables", "nothing"]) == 2  # fmt: skip
    assert "has no tables ['nothing']" in capsys.readouterr().err
