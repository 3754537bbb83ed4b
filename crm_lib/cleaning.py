"""Cleaning: standardise values, flag outliers, and score data quality before and after.

- Standardisation: :func:`normalize_email` (trim, lower-case), :func:`normalize_phone`
  (Chinese mobiles to E.164 ``+86...``), :func:`normalize_text` (trim, Unicode NFKC:
  full-width letters, digits and spaces to half-width). Each accepts a scalar or a
  Series and is idempotent (normalising twice changes nothing).
- :func:`flag_outliers`: IQR (Tukey fences) or robust z (median and MAD), with a
  ``flag`` or ``cap`` policy; the rule and its bounds are returned with the flags.
- :func:`quality_scorecard`: completeness, validity, uniqueness, consistency and
  timeliness per table and column; :func:`compare_scorecards` sets two side by side and
  :func:`plot_scorecard` draws them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from crm_lib import schemas
from crm_lib.i18n import check_language, label, t

__all__ = [
    "DIMENSIONS",
    "PHONE_E164_CN",
    "compare_scorecards",
    "flag_outliers",
    "normalize_email",
    "normalize_phone",
    "normalize_text",
    "plot_scorecard",
    "quality_scorecard",
]

DIMENSIONS = ["completeness", "validity", "uniqueness", "consistency", "timeliness"]
"""Quality dimensions of :func:`quality_scorecard`, in display order."""

PHONE_E164_CN = re.compile(r"^\+861[3-9]\d{9}$")
"""A Chinese mobile number in E.164."""

EMAIL_FORMAT = re.compile(r"^[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}$")
"""A normalised (lower-case, trimmed) e-mail address."""

_PHONE_SEPARATORS = re.compile(r"[\s\-().]")


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _elementwise(func: Callable[[str], str]) -> Callable[[Any], Any]:
    def wrapper(values: Any) -> Any:
        if isinstance(values, pd.Series):
            out = [pd.NA if _missing(v) else func(str(v)) for v in values.tolist()]
            return pd.Series(out, index=values.index, name=values.name, dtype="string")
        if _missing(values):
            return values
        return func(str(values))

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


@_elementwise
def normalize_text(value: str) -> str:
    """Trim and apply Unicode NFKC (full-width ``ＡＢＣ１２３`` -> ``ABC123``).

    Parameters
    ----------
    value : str or pandas.Series
        Text (missing values are returned unchanged).

    Returns
    -------
    str or pandas.Series (``string`` dtype)

    Examples
    --------
    >>> normalize_text("　ＡＢＣ　１２３ ")
    'ABC 123'
    """
    return unicodedata.normalize("NFKC", value).strip()


@_elementwise
def normalize_email(value: str) -> str:
    """Trim, NFKC and lower-case an e-mail address.

    Examples
    --------
    >>> normalize_email("  Ann.Lee@Example.COM ")
    'ann.lee@example.com'
    """
    return unicodedata.normalize("NFKC", value).strip().lower()


@_elementwise
def normalize_phone(value: str) -> str:
    """A Chinese mobile number in E.164 (``+86`` and 11 digits).

    Accepts spaces, dashes, dots and brackets, and the prefixes ``+86``, ``0086`` and
    ``86``: ``138 1234 5678``, ``+86-138-1234-5678`` and ``13812345678`` all give
    ``+8613812345678``. Other numbers written with ``+`` keep ``+`` and their digits; a
    value that is not a phone number is returned trimmed (NFKC) and fails the validity
    check of :func:`quality_scorecard`.

    Examples
    --------
    >>> normalize_phone("+86-138-1234-5678")
    '+8613812345678'
    >>> normalize_phone("138 1234 5678")
    '+8613812345678'
    """
    text = unicodedata.normalize("NFKC", value).strip()
    compact = _PHONE_SEPARATORS.sub("", text)
    plus = compact.startswith("+")
    digits = compact[1:] if plus else compact
    if not digits.isdigit():
        return text
    if digits.startswith("0086"):
        digits = digits[2:]
    if len(digits) == 13 and digits.startswith("86") and digits[2] == "1":
        digits = digits[2:]
    if len(digits) == 11 and re.fullmatch(r"1[3-9]\d{9}", digits):
        return "+86" + digits
    if plus and 8 <= len(digits) <= 15:
        return "+" + digits
    return text


# -------------------------------------------------------------------- outliers


def flag_outliers(
    data: pd.DataFrame,
    *,
    value_col: str,
    rule: str = "iqr",
    policy: str = "flag",
    k: float | None = None,
    log: bool = False,
    where: pd.Series | None = None,
) -> pd.DataFrame:
    """Flag (or cap) outliers of one numeric column.

    Parameters
    ----------
    data : pandas.DataFrame
        Any table; it is not modified.
    value_col : str
        Numeric column to check.
    rule : {"iqr", "robust_z"}
        ``iqr``: outside ``[Q1 - k IQR, Q3 + k IQR]`` (Tukey; default ``k = 1.5``).
        ``robust_z``: ``|x - median| / (1.4826 MAD) > k`` (Iglewicz-Hoaglin; default
        ``k = 3.5``).
    policy : {"flag", "cap"}
        ``flag``: values unchanged; ``cap``: flagged values clipped to the bounds
        (winsorised).
    k : float, optional
        Fence multiplier or z threshold (defaults above).
    log : bool
        Apply the rule to ``log(x)`` (for skewed positive amounts); non-positive values
        are never flagged.
    where : pandas.Series of bool, optional
        Rows the bounds are computed from and applied to (e.g. sale lines only,
        ``data["amount"] > 0``); other rows are never flagged.

    Returns
    -------
    pandas.DataFrame
        ``data`` with ``value_col`` (capped under ``policy="cap"``) and the columns
        ``outlier`` (bool), ``outlier_rule`` (str, e.g. ``"iqr k=1.5 on amount: [0.5, 210]"``),
        ``outlier_low`` and ``outlier_high`` (the bounds, on the original scale).

    Notes
    -----
    The MAD is scaled by 1.4826 so that it estimates the standard deviation of normal
    data; the robust z ignores the outliers it looks for, unlike the ordinary z score.

    References
    ----------
    Tukey, J. W. (1977). *Exploratory Data Analysis*. Iglewicz, B. and Hoaglin, D. (1993).
    *How to Detect and Handle Outliers*. ASQC.
    """
    if rule not in {"iqr", "robust_z"}:
        raise ValueError(f"rule must be 'iqr' or 'robust_z', got {rule!r}")
    if policy not in {"flag", "cap"}:
        raise ValueError(f"policy must be 'flag' or 'cap', got {policy!r}")
    if value_col not in data.columns:
        raise KeyError(f"column {value_col!r} not in the table; pass value_col=")
    x = pd.to_numeric(data[value_col], errors="coerce").astype("float64")
    use = x.notna() if where is None else (x.notna() & where.reindex(x.index).fillna(False))
    if log:
        use &= x > 0
        z = np.log(x.where(use))
    else:
        z = x.where(use)
    base = z[use]
    if rule == "iqr":
        k = 1.5 if k is None else k
        q1, q3 = base.quantile([0.25, 0.75]) if len(base) else (np.nan, np.nan)
        lo, hi = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
    else:
        k = 3.5 if k is None else k
        med = base.median()
        mad = 1.4826 * (base - med).abs().median()
        lo, hi = med - k * mad, med + k * mad
    if log:
        lo, hi = float(np.exp(lo)), float(np.exp(hi))
    flag = use & ((x < lo) | (x > hi))
    out = data.copy()
    if policy == "cap":
        out[value_col] = x.where(~flag, x.clip(lo, hi))
    out["outlier"] = flag.to_numpy(dtype=bool)
    scale = "log " if log else ""
    out["outlier_rule"] = f"{rule} k={k:g} on {scale}{value_col}: [{lo:.4g}, {hi:.4g}]"
    out["outlier_low"] = float(lo)
    out["outlier_high"] = float(hi)
    return out


# ------------------------------------------------------------------- scorecard


def _blank(s: pd.Series) -> pd.Series:
    miss = s.isna()
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        miss |= s.astype("string").str.strip().eq("").fillna(True)
    return miss.astype(bool)


def _typed_ok(s: pd.Series, dtype: str) -> pd.Series:
    """Whether each value already has the contract type (text in a typed column fails)."""
    if dtype.startswith("datetime64"):
        if pd.api.types.is_datetime64_any_dtype(s):
            return pd.Series(True, index=s.index)
        return pd.Series(False, index=s.index)
    if dtype in {"int64", "Int64", "float64"}:
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            return pd.Series(True, index=s.index)
        return pd.Series(False, index=s.index)
    if dtype == "bool":
        return s.map(lambda v: isinstance(v, bool | np.bool_)).astype(bool)
    return pd.Series(True, index=s.index)


def _checks_ok(s: pd.Series, column: Any) -> pd.Series:
    ok = pd.Series(True, index=s.index)
    for check in column.checks:
        try:
            result = check(s).check_output
            ok &= pd.Series(result, index=s.index).fillna(False).astype(bool)
        except Exception:  # a check that cannot run on raw text fails the value
            ok &= False
    return ok


def _validity(s: pd.Series, table: str | None, col: str, validators: Mapping) -> pd.Series | None:
    present = s[~_blank(s)]
    rule = None
    ok = None
    if col in validators:
        ok = present.map(validators[col]).astype(bool)
        rule = "custom validator"
    elif table in schemas.SCHEMAS and col in schemas.SCHEMAS[table].columns:
        column = schemas.SCHEMAS[table].columns[col]
        ok = _typed_ok(present, str(column.dtype)) & _checks_ok(present, column)
        rule = "contract: type " + str(column.dtype)
        if column.checks:
            rule += "; " + "; ".join(str(c) for c in column.checks)
    if ok is None:
        return None
    ok.attrs["rule"] = rule
    return ok


def _default_validators(table: str | None) -> dict[str, Callable[[Any], bool]]:
    if table != "customers":
        return {}
    return {
        "email": lambda v: bool(EMAIL_FORMAT.match(str(v))),
        "phone": lambda v: bool(PHONE_E164_CN.match(str(v))),
    }


def _row(table, column, dimension, n_checked, n_failed, rule) -> dict:
    score = (n_checked - n_failed) / n_checked if n_checked else np.nan
    return {
        "table": table,
        "column": column,
        "dimension": dimension,
        "score": score,
        "n_checked": int(n_checked),
        "n_failed": int(n_failed),
        "rule": rule,
    }


def quality_scorecard(
    df: pd.DataFrame,
    table: str,
    *,
    key_cols: str | Iterable[str],
    date_col: str | None = None,
    period: tuple[Any, Any] | None = None,
    references: Mapping[str, Iterable] | None = None,
    validators: Mapping[str, Callable[[Any], bool]] | None = None,
) -> pd.DataFrame:
    """Data-quality scores of one table, per dimension and column (1 = perfect).

    Parameters
    ----------
    df : pandas.DataFrame
        The table, with contract column names (raw text or typed).
    table : str
        Contract table name (for validity against the contract); any other name scores
        completeness, uniqueness, consistency and timeliness only.
    key_cols : str or list of str
        Columns that should identify a row (uniqueness).
    date_col : str, optional
        Timestamp column for timeliness (a text column is parsed as ISO; unparseable
        values are out of period).
    period : (start, end), optional
        Expected period (inclusive); timeliness = share of rows with ``date_col`` in it.
        Naive bounds are taken as UTC.
    references : mapping of column to values, optional
        Consistency: the share of non-missing values of each column found among the
        given values (e.g. ``{"customer_id": customers["customer_id"]}``). For
        ``transactions`` the default checks that ``original_order_id`` names an order
        of the table and that negative amounts, and only they, name an order.
    validators : mapping of column to function, optional
        Validity rules that override the contract's (value -> bool). For ``customers``
        ``email`` must be a lower-case address and ``phone`` an E.164 Chinese mobile.

    Returns
    -------
    pandas.DataFrame
        Columns ``table, column, dimension, score, n_checked, n_failed, rule``; one row
        per column for completeness and validity, one per key, reference and date
        check for the others. Scores are shares in [0, 1].

    Notes
    -----
    completeness = non-missing / rows (empty text counts as missing);
    validity = values that have the contract type and pass its checks / non-missing
    values; uniqueness = rows whose key occurs once / rows; consistency = values found
    in their reference / non-missing values; timeliness = rows in period / rows.
    """
    keys = [key_cols] if isinstance(key_cols, str) else list(key_cols)
    absent = [c for c in keys + ([date_col] if date_col else []) if c not in df.columns]
    if absent:
        raise KeyError(f"columns {absent} not in the table (columns: {list(df.columns)})")
    n = len(df)
    rows = []
    checks = {**_default_validators(table), **(validators or {})}
    for col in df.columns:
        miss = _blank(df[col])
        rows.append(_row(table, col, "completeness", n, int(miss.sum()), "not missing"))
        ok = _validity(df[col], table, col, checks)
        if ok is not None:
            rows.append(_row(table, col, "validity", len(ok), int((~ok).sum()), ok.attrs["rule"]))
    dup = df.duplicated(subset=keys, keep=False)
    rows.append(_row(table, "+".join(keys), "uniqueness", n, int(dup.sum()), "key occurs once"))
    refs = dict(references or {})
    if references is None and table == "transactions" and "original_order_id" in df.columns:
        refs["original_order_id"] = df["order_id"]
    for col, values in refs.items():
        present = df.loc[~_blank(df[col]), col].astype("string").str.strip()
        known = set(pd.Series(list(values), dtype="string").str.strip().dropna())
        found = present.isin(known)
        rows.append(
            _row(table, col, "consistency", len(found), int((~found).sum()), "reference exists")
        )
    if table == "transactions" and {"amount", "original_order_id"} <= set(df.columns):
        amount = pd.to_numeric(df["amount"], errors="coerce")
        ref = ~_blank(df["original_order_id"])
        neg = (amount < 0).fillna(False)
        bad = neg != ref
        rows.append(
            _row(
                table,
                "amount+original_order_id",
                "consistency",
                n,
                int(bad.sum()),
                "negative amount iff it names an original order",
            )
        )
    if date_col and period is not None:
        ts = df[date_col]
        if not pd.api.types.is_datetime64_any_dtype(ts):
            ts = pd.to_datetime(ts, errors="coerce", utc=True, format="ISO8601")
        lo, hi = (pd.Timestamp(p) for p in period)
        if ts.dt.tz is not None:
            lo = lo.tz_localize("UTC") if lo.tz is None else lo
            hi = hi.tz_localize("UTC") if hi.tz is None else hi
        inside = ((ts >= lo) & (ts <= hi)).fillna(False)
        rows.append(
            _row(
                table,
                date_col,
                "timeliness",
                n,
                int((~inside).sum()),
                f"within {lo:%Y-%m-%d} .. {hi:%Y-%m-%d}",
            )
        )
    return pd.DataFrame(rows, columns=list(_row("", "", "", 0, 0, "")))


def compare_scorecards(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Two scorecards side by side.

    Returns
    -------
    pandas.DataFrame
        Columns ``table, column, dimension, score_before, score_after, change``; a check
        present in only one scorecard has NaN on the other side.
    """
    on = ["table", "column", "dimension"]
    out = before[on + ["score"]].merge(
        after[on + ["score"]], on=on, how="outer", suffixes=("_before", "_after"), sort=False
    )
    out["change"] = out["score_after"] - out["score_before"]
    order = {d: i for i, d in enumerate(DIMENSIONS)}
    out["_o"] = out["dimension"].map(order)
    return out.sort_values(["table", "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)


def plot_scorecard(
    scorecard: pd.DataFrame,
    *,
    ax=None,
    language: str = "en",
    title: str | None = "title_scorecard",
):
    """Mean score per quality dimension (before and after, for a comparison).

    Parameters
    ----------
    scorecard : pandas.DataFrame
        From :func:`quality_scorecard` (column ``score``) or :func:`compare_scorecards`
        (``score_before``, ``score_after``).
    ax : matplotlib Axes, optional
    language : {"en", "zh"}
    title : str, optional
        i18n message key of the title.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    check_language(language)
    if ax is None:
        _, ax = plt.subplots()
    series = [c for c in ("score_before", "score_after") if c in scorecard.columns] or ["score"]
    means = scorecard.groupby("dimension")[series].mean()
    means = means.reindex([d for d in DIMENSIONS if d in means.index])
    x = np.arange(len(means))
    width = 0.8 / len(series)
    for i, col in enumerate(series):
        ax.bar(
            x + (i - (len(series) - 1) / 2) * width,
            means[col].to_numpy(),
            width,
            label=t(col, language),
            color=mpl.colormaps["tab10"](i),
        )
    ax.set_xticks(x, [label(d, language) for d in means.index])
    ax.set_ylim(0, 1.05)
    ax.yaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
    ax.set_xlabel(t("dimension", language))
    ax.set_ylabel(t("score", language))
    if len(series) > 1:
        ax.legend(loc="lower right")
    if title:
        ax.set_title(t(title, language))
    return ax
