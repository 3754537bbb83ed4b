"""Exports to the tools people already use: Excel, Tableau / Power BI, SPSS.

- :func:`write_workbook`: lists (segments, targets, triggers) as one formatted Excel
  workbook, one sheet per list: bold frozen header, filters, column widths, number formats
  by column (percentages, money with the dataset's currency, whole numbers, dates), and
  formula injection neutralised (a cell starting with ``=`` is stored as text).
- :func:`write_extract`: tidy tables as CSV or Parquet for Tableau or Power BI, with
  ``data_dictionary.csv`` (table, column, type, unit, meaning; from the data contract
  where the column is a contract column).
- :func:`write_spss`: survey responses as an SPSS ``.sav`` file (via ``pyreadstat``), each
  item with its question as the variable label and its scale's labels as value labels.

Personal identifiers never leave through these functions unless the caller passes them:
:func:`write_extract` refuses a contract column marked as personal data
(``schemas.pii_columns``) unless ``allow_pii=True``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from crm_lib.contract import schemas
from crm_lib.intake import io

__all__ = ["ExportError", "data_dictionary", "write_extract", "write_spss", "write_workbook"]

_PERCENT = re.compile(r"(^|_)(share|rate|pct|percent|probability|p_alive|conversion)($|_)")
_MONEY = re.compile(r"(^|_)(amount|revenue|value|clv|spend|price|aov|cac|net|gross)($|_)")


class ExportError(ValueError):
    """An export cannot be written as asked (the message says which table or column)."""


def _sheet_name(name: str, taken: set[str]) -> str:
    clean = re.sub(r"[\[\]:*?/\\]", "_", str(name))[:31] or "sheet"
    out, i = clean, 2
    while out.lower() in taken:
        suffix = f"_{i}"
        out, i = clean[: 31 - len(suffix)] + suffix, i + 1
    taken.add(out.lower())
    return out


def _number_format(column: str, series: pd.Series, currency: str | None) -> str | None:
    if pd.api.types.is_bool_dtype(series):
        return None
    if pd.api.types.is_datetime64_any_dtype(series):
        return (
            "yyyy-mm-dd hh:mm"
            if (series.dropna().dt.floor("D") != series.dropna()).any()
            else "yyyy-mm-dd"
        )
    if not pd.api.types.is_numeric_dtype(series):
        return None
    name = column.lower()
    if _PERCENT.search(name):
        return "0.0%"
    if _MONEY.search(name):
        return f'#,##0.00 "{currency}"' if currency else "#,##0.00"
    if pd.api.types.is_integer_dtype(series):
        return "#,##0"
    return "#,##0.00##"


def write_workbook(
    sheets: Mapping[str, pd.DataFrame],
    path: str | Path,
    *,
    currency: str | None = None,
    number_formats: Mapping[str, str] | None = None,
) -> Path:
    """Write lists as one Excel workbook, one formatted sheet per list.

    Parameters
    ----------
    sheets : mapping of str to pandas.DataFrame
        Sheet name -> table (names are shortened to Excel's 31 characters and made unique).
    path : str or pathlib.Path
        The ``.xlsx`` file (its folder is created).
    currency : str, optional
        Currency code shown with money columns (e.g. the dataset's ``CNY``).
    number_formats : mapping of str to str, optional
        Column -> Excel number format, overriding the formats chosen from the column's name
        and type: ``0.0%`` for shares and rates (values 0-1), ``#,##0.00 "CNY"`` for money,
        ``#,##0`` for whole numbers, ``yyyy-mm-dd`` for dates.

    Returns
    -------
    pathlib.Path

    Notes
    -----
    Text cells go through :func:`crm_lib.intake.io.neutralize_formulas` first, so a value
    such as ``=HYPERLINK(...)`` is stored as the text ``'=HYPERLINK(...)``; numbers stay
    numbers. Time zones are dropped from timestamps (Excel has none); the values are
    shown in the zone they carry.
    """
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    formats = dict(number_formats or {})
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, df in sheets.items():
            sheet = _sheet_name(name, taken)
            data = io.neutralize_formulas(df.reset_index(drop=True))
            for col in data.columns:
                if isinstance(data[col].dtype, pd.DatetimeTZDtype):
                    data[col] = data[col].dt.tz_localize(None)
            data.to_excel(writer, sheet_name=sheet, index=False)
            ws = writer.sheets[sheet]
            ws.freeze_panes = "A2"
            if len(data.columns):
                ws.auto_filter.ref = ws.dimensions
            for j, col in enumerate(data.columns, start=1):
                ws.cell(row=1, column=j).font = Font(bold=True)
                fmt = formats.get(col) or _number_format(str(col), data[col], currency)
                if fmt:
                    for row in range(2, len(data) + 2):
                        ws.cell(row=row, column=j).number_format = fmt
                texts = [str(col), *data[col].head(200).map(lambda v: "" if pd.isna(v) else str(v))]
                width = min(60, max(8, max(len(t) for t in texts) + 2))
                ws.column_dimensions[get_column_letter(j)].width = width
    return path


def data_dictionary(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per column of each table: ``table, column, dtype, unit, pii, description``.

    A contract table's columns carry the contract's unit, personal-data flag and meaning;
    other columns (a study's derived list) have their type only.
    """
    contract = schemas.contract_table()
    known = contract.set_index(["table", "column"])
    rows = []
    for table, df in tables.items():
        for col in df.columns:
            key = (table, col)
            meta = known.loc[key] if key in known.index else None
            rows.append(
                {
                    "table": table,
                    "column": col,
                    "dtype": str(df[col].dtype),
                    "unit": "" if meta is None else str(meta.get("unit") or ""),
                    "pii": bool(meta is not None and meta.get("pii")),
                    "description": "" if meta is None else str(meta.get("description") or ""),
                }
            )
    return pd.DataFrame(rows, columns=["table", "column", "dtype", "unit", "pii", "description"])


def write_extract(
    tables: Mapping[str, pd.DataFrame],
    folder: str | Path,
    *,
    format: str = "csv",
    pii: str = "refuse",
) -> dict[str, Path]:
    """Write tidy tables for Tableau or Power BI, with ``data_dictionary.csv`` beside them.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Table name -> table (one file each, ``<name>.csv`` or ``<name>.parquet``).
    folder : str or pathlib.Path
    format : {"csv", "parquet"}
        CSV is UTF-8 with a byte-order mark (Excel and Power BI read Chinese text right)
        and neutralised formulas; Parquet keeps the types.
    pii : {"refuse", "drop", "keep"}
        What to do with contract columns marked as personal data (``schemas.pii_columns``):
        refuse the export (default), leave them out (the dictionary says so), or keep them
        (an export that is allowed to carry them).

    Returns
    -------
    dict of str to pathlib.Path
        Table -> file, plus ``data_dictionary``.

    Raises
    ------
    ExportError
        An unknown format or ``pii`` policy, or a personal-data column with ``pii="refuse"``.
    """
    if format not in ("csv", "parquet"):
        raise ExportError(f"format must be 'csv' or 'parquet', got {format!r}")
    if pii not in ("refuse", "drop", "keep"):
        raise ExportError(f"pii must be 'refuse', 'drop' or 'keep', got {pii!r}")
    folder = Path(folder)
    tables = dict(tables)
    for table, df in list(tables.items()):
        personal = schemas.pii_columns(table) if table in schemas.SCHEMAS else []
        found = [c for c in personal if c in df.columns]
        if found and pii == "refuse":
            raise ExportError(
                f"{table}: columns {found} hold personal data; leave them out of the extract "
                "(pii='drop') or pass pii='keep' for an export that is allowed to carry them"
            )
        if found and pii == "drop":
            tables[table] = df.drop(columns=found)
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for table, df in tables.items():
        if format == "csv":
            out[table] = io.write_csv(df, folder / f"{table}.csv")
        else:
            out[table] = folder / f"{table}.parquet"
            df.to_parquet(out[table], index=False)
    out["data_dictionary"] = io.write_csv(data_dictionary(tables), folder / "data_dictionary.csv")
    return out


def write_spss(
    responses: pd.DataFrame,
    path: str | Path,
    instrument: Any,
    *,
    columns: Sequence[str] | None = None,
    language: str = "en",
) -> Path:
    """Write survey responses as an SPSS ``.sav`` file with variable and value labels.

    Parameters
    ----------
    responses : pandas.DataFrame
        One row per response, item columns named as in the instrument.
    path : str or pathlib.Path
    instrument : crm_lib.survey.Instrument
        Gives each item's question (variable label) and its scale's labels (value labels).
    columns : sequence of str, optional
        Columns to write (default: ``response_id`` and ``wave`` where present, then every
        instrument item present). Free-text comments are not written (they may hold
        personal data).
    language : {"en", "zh"}
        Language of the labels.

    Returns
    -------
    pathlib.Path
    """
    import pyreadstat

    items = [i for i in instrument.items if i in responses.columns]
    if columns is None:
        columns = [c for c in ("response_id", "wave") if c in responses.columns] + items
    missing = [c for c in columns if c not in responses.columns]
    if missing:
        raise ExportError(f"responses have no columns {missing}")
    data = responses[list(columns)].copy()
    labels: dict[str, str] = {}
    value_labels: dict[str, dict[float, str]] = {}
    for col in data.columns:
        if pd.api.types.is_extension_array_dtype(data[col]) and pd.api.types.is_numeric_dtype(
            data[col]
        ):
            data[col] = data[col].astype("float64")  # SPSS numbers; missing answers stay missing
        elif not pd.api.types.is_numeric_dtype(data[col]):
            data[col] = data[col].astype("object").where(data[col].notna(), None)
        item = instrument.items.get(col)
        if item is None:
            continue
        text = item.text.get(language) or next(iter(item.text.values()), "")
        labels[col] = text
        scale_labels = getattr(item.scale, "labels", None) or {}
        value_labels[col] = {
            float(k): (v.get(language) if isinstance(v, Mapping) else str(v))
            for k, v in scale_labels.items()
        }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pyreadstat.write_sav(
        data,
        str(path),
        column_labels=labels,
        variable_value_labels={k: v for k, v in value_labels.items() if v},
    )
    return path
