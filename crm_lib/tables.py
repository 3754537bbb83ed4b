"""How a table reads in a report: one style for every table of every notebook.

:func:`style_table` turns a DataFrame into the HTML a reader sees: no 0..n row index,
shares as percentages (and the bounds of their intervals; differences of shares in
percentage points), money with thousands separators and the dataset's currency,
p-values with three significant digits, other numbers with four significant digits and
thousands separators (never ``1.2e+04``), booleans as Yes/No (是/否), missing values as
a dash, identifiers (column names, file names, data types: kind ``code``, given by
``translate_frame(..., code=[...])``) in code font, as the narrative writes them. What a column holds is read from its name before translation
(:func:`crm_lib.i18n.translate_frame` keeps it in ``df.attrs["column_kinds"]``) or from its
own name, and a "share" column is shown as a percentage only when its values lie in
[-1, 1]. :func:`use_in_notebook` makes it the HTML of every DataFrame a notebook shows
(called by :func:`crm_lib.plotting.setup`); the DataFrames themselves are unchanged.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["column_kind", "column_kinds", "format_value", "style_table", "use_in_notebook"]

_PERCENT = re.compile(
    r"(^|_)(share|shares|rate|pct|percent|proportion|conversion|probability|coverage|"
    r"recall|precision|hit_rate|churn|retention|top2|top_box|p_alive|lift_pct)($|_)"
)
_MONEY = re.compile(r"(^|_)(amount|revenue|clv|spend|price|aov|cac|sales|gross|net|monetary)($|_)")
_PVALUE = re.compile(r"(^|_)(p|p_value|p_adj|p_adjusted|pvalue|p_order|p_rank)$")
_MAX_ROWS = 500  # larger frames keep pandas' own HTML (a report shows heads, not logs)

_YES_NO = {"en": ("Yes", "No"), "zh": ("是", "否")}
_POINTS = {"en": "pp", "zh": "个百分点"}  # percentage points


def _key(name: Any) -> str:
    """A column name as the patterns read it: lower case, ``_`` for blanks and dashes."""
    return str(name).lower().replace(" ", "_").replace("-", "_")


def column_kind(name: Any) -> str | None:
    """``percent``, ``money``, ``p_value`` or None, from a column's (untranslated) name.

    (The kind ``code`` is never read from a name: a table says which columns hold
    identifiers, see :func:`crm_lib.i18n.translate_frame`.)
    """
    key = _key(name)
    if _PVALUE.search(key):
        return "p_value"
    if _PERCENT.search(key):
        return "percent"
    if _MONEY.search(key):
        return "money"
    return None


# the bounds of an interval: shown like the estimate they follow (a share's interval in %)
_BOUND = re.compile(r"(^|_)(ci_low|ci_high|ci_lower|ci_upper|lower|upper|low|high)$")


# a difference: of two shares when it follows a share (then in percentage points)
_DIFF = re.compile(r"(^|_)(diff|difference|abs_diff|abs_lift)$")


def column_kinds(columns: Any) -> dict[Any, str | None]:
    """:func:`column_kind` of each column; differences and interval bounds read in context.

    A difference (``diff``, ``difference``, ``abs_lift``) right after a share is a
    difference of shares, shown in percentage points (kind ``points``: ``-2.8 pp``). A
    bound (``ci_low``, ``ci_high``, ``lower``, ``upper``, ``shrunk_ci_low``...) that
    its name gives no kind takes the kind of the nearest column to its left that is not a
    bound, when that is a share, money or a difference of shares: ``share, ci_low,
    ci_high`` reads 67.5%, 63.4%, 71.3%, not 67.5%, 0.6342, 0.7127. A bound after a
    plain number stays plain.
    """
    out: dict[Any, str | None] = {}
    estimate: str | None = None
    for col in columns:
        kind, key = column_kind(col), _key(col)
        if _BOUND.search(key):
            if kind is None and estimate in ("percent", "money", "points"):
                kind = estimate
        else:
            if kind is None and estimate == "percent" and _DIFF.search(key):
                kind = "points"
            estimate = kind
        out[col] = kind
    return out


def _plain(value: float, digits: int = 4) -> str:
    if value == 0:
        return "0"
    if abs(value) < 1e-4:
        return f"{value:.2e}"
    text = np.format_float_positional(
        value, precision=digits, unique=False, fractional=False, trim="-"
    )
    if abs(value) >= 1000:
        whole, _, frac = text.partition(".")
        text = f"{int(whole):,}" + (f".{frac}" if frac and abs(value) < 1e5 else "")
    return text


def format_value(value: Any, kind: str | None = None, *, currency: str | None = None,
                 language: str = "en") -> str:  # fmt: skip
    """One cell as the report shows it (see the module docstring)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if kind == "code":
        return f"<code>{html.escape(str(value))}</code>"
    if isinstance(value, bool | np.bool_):
        yes, no = _YES_NO.get(language, _YES_NO["en"])
        return yes if value else no
    if isinstance(value, int | np.integer):
        if kind == "money":
            return f"{int(value):,}" + (f" {currency}" if currency else "")
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        v = float(value)
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        if kind == "percent":
            return f"{v:.1%}" if abs(v) >= 0.001 or v == 0 else f"{v:.2%}"
        if kind == "points":  # a difference of two shares
            unit = _POINTS.get(language, _POINTS["en"])
            digits = 1 if abs(v) >= 0.001 or v == 0 else 2
            return f"{100 * v:+.{digits}f} {unit}"
        if kind == "money":
            return f"{v:,.2f}" + (f" {currency}" if currency else "")
        if kind == "p_value":
            return "<0.001" if 0 <= v < 0.001 else f"{v:.3g}"
        return _plain(v)
    return str(value)


def _kinds(df: pd.DataFrame) -> dict[Any, str | None]:
    given = df.attrs.get("column_kinds") or {}
    by_name = column_kinds(df.columns)
    out = {}
    for col in df.columns:
        kind = given.get(col, by_name[col])
        if kind in ("percent", "points"):
            values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            finite = values[np.isfinite(values)]
            if finite.size and np.abs(finite).max() > 1.0 + 1e-9:
                kind = None  # a rate per week, not a share
        out[col] = kind
    return out


def _positional(index: pd.Index) -> bool:
    """A row index that only numbers the rows: 0..n-1, or what filtering left of it."""
    if isinstance(index, pd.RangeIndex):
        return True
    return index.nlevels == 1 and index.name is None and pd.api.types.is_integer_dtype(index)


def style_table(
    df: pd.DataFrame, *, language: str = "en", currency: str | None = None
) -> pd.io.formats.style.Styler:
    """The report style of ``df`` as a pandas Styler (``.to_html()`` gives the table)."""
    kinds = _kinds(df)
    styler = df.style.format(
        {
            col: (lambda v, k=kinds[col]: format_value(v, k, currency=currency, language=language))
            for col in df.columns
        }  # fmt: skip
    )
    if _positional(df.index):
        styler = styler.hide(axis="index")
    else:
        styler = styler.format_index(lambda v: format_value(v, language=language), axis="index")
    return styler.set_table_attributes('class="dataframe crm-table"')


def use_in_notebook(language: str = "en", currency: str | None = None) -> bool:
    """Show every DataFrame of this IPython session in the report style; False outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    shell = get_ipython()
    if shell is None:
        return False

    def html(df: pd.DataFrame) -> str | None:
        if len(df) > _MAX_ROWS or df.columns.nlevels > 1 or not df.columns.is_unique:
            return None  # pandas' own HTML
        return style_table(df, language=language, currency=currency).to_html()

    shell.display_formatter.formatters["text/html"].for_type(pd.DataFrame, html)
    return True
