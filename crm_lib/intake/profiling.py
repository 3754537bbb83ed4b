"""First looks at tables: overview, column profiles, simple counts over time.

Profiles never show values of personal-identifier columns (names, e-mails, phones,
free text): only counts. Which columns are personal comes from the data contract
(:func:`crm_lib.contract.schemas.pii_columns`) plus a name-based guard for raw exports.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from crm_lib.contract import schemas
from crm_lib.i18n import label, t

_PII_NAME = re.compile(r"(name|e-?mail|phone|mobile|address|comment|姓名|电话|手机|邮箱)", re.I)


def is_pii(column: str, table: str | None = None) -> bool:
    """Whether ``column`` holds personal identifiers (contract flag or name pattern)."""
    if table in schemas.SCHEMAS and column in schemas.pii_columns(table):
        return True
    return bool(_PII_NAME.search(column))


def _blank(s: pd.Series) -> pd.Series:
    """Missing values, counting empty strings of text exports as missing."""
    miss = s.isna()
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        miss |= s.astype("str").str.strip().eq("")
    return miss


def profile_table(df: pd.DataFrame, table: str | None = None, language: str = "en") -> pd.DataFrame:
    """One row per column: type, missing, distinct values, min and max.

    Parameters
    ----------
    df : pandas.DataFrame
        Any table.
    table : str, optional
        Contract table name, to know its personal-identifier columns.
    language : {"en", "zh"}
        Language of the column headings.

    Returns
    -------
    pandas.DataFrame
        Columns ``column, dtype, rows, missing, missing_share, distinct, min, max``
        (headings translated); ``min``/``max`` of personal columns are hidden.
    """
    rows = []
    for col in df.columns:
        s = df[col]
        miss = _blank(s)
        present = s[~miss]
        lo = hi = ""
        if is_pii(col, table):
            lo = hi = t("pii_hidden", language)
        elif (
            len(present)
            and (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s))
            and not pd.api.types.is_bool_dtype(s)
        ):
            lo, hi = str(present.min()), str(present.max())
        rows.append(
            {
                "column": col,
                "dtype": str(s.dtype),
                "rows": len(s),
                "missing": int(miss.sum()),
                "missing_share": float(miss.mean()) if len(s) else np.nan,
                "distinct": int(present.nunique()),
                "min": lo,
                "max": hi,
            }
        )
    out = pd.DataFrame(rows)
    return out.rename(columns={c: t(c, language) for c in out.columns})


def overview(tables: dict[str, pd.DataFrame], language: str = "en") -> pd.DataFrame:
    """One row per table: rows, columns, and the span of its main timestamp."""
    rows = []
    for name, df in tables.items():
        ts_cols = [c for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])]
        first = last = pd.NaT
        if ts_cols:
            first, last = df[ts_cols[0]].min(), df[ts_cols[0]].max()
        rows.append(
            {
                "table": label(name, language),
                "rows": len(df),
                "columns": df.shape[1],
                "first": first,
                "last": last,
            }
        )
    out = pd.DataFrame(rows)
    return out.rename(columns={c: t(c, language) for c in out.columns})


def monthly(
    df: pd.DataFrame,
    *,
    date_col: str,
    value_col: str | None = None,
    distinct_col: str | None = None,
    timezone: str = schemas.LOCAL_TIMEZONE,
) -> pd.DataFrame:
    """Counts (or sums of ``value_col``, or distinct ``distinct_col``) per local month.

    Returns
    -------
    pandas.DataFrame
        Columns ``month`` (first day, local time zone, naive) and ``value``.
    """
    local = df[date_col].dt.tz_convert(timezone).dt.tz_localize(None)
    month = local.dt.to_period("M").dt.to_timestamp()
    grouped = df.groupby(month)
    if value_col is not None:
        value = grouped[value_col].sum()
    elif distinct_col is not None:
        value = grouped[distinct_col].nunique()
    else:
        value = grouped.size()
    out = value.rename("value").reset_index()
    return out.rename(columns={out.columns[0]: "month"})


def counts(df: pd.DataFrame, column: str, *, normalize: bool = True) -> pd.DataFrame:
    """Counts of each value of ``column`` (missing values as their own row).

    Returns
    -------
    pandas.DataFrame
        Columns ``column`` (the value), ``count`` and ``share``.
    """
    vc = df[column].value_counts(dropna=False).sort_index()
    out = pd.DataFrame({column: vc.index, "count": vc.to_numpy()})
    if normalize:
        out["share"] = out["count"] / out["count"].sum()
    return out.reset_index(drop=True)
