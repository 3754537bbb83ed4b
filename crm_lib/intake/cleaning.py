"""Cleaning: standardise values, flag outliers, and score data quality before and after.

- Standardisation: :func:`normalize_email` (trim, lower-case), :func:`normalize_phone`
  (Chinese mobiles to E.164 ``+86...``), :func:`normalize_text` (trim, Unicode NFKC:
  full-width letters, digits and spaces to half-width). Each accepts a scalar or a
  Series and is idempotent (normalising twice changes nothing).
- :func:`flag_outliers`: IQR (Tukey fences) or robust z (median and MAD), with a
  ``flag`` or ``cap`` policy; the rule and its bounds are returned with the flags.
- :func:`handle_outliers`: a stated outlier policy for order lines (flag, cap or
  quarantine), by default the ``ratio`` rule against the customer's own spending.
- :func:`net_returns`: nets return lines against the orders they return; credits without
  an order are quarantined, over-credits follow a stated ``credit_policy``.
- :func:`check_references`: referential integrity, e.g. order lines whose customer is not
  in the customers table (*orphaned lines*): counted and reported, and kept with a flag or
  quarantined by a stated policy.
- :func:`exclude_test_data`: moves internal test accounts and test orders out by
  parameterised rules (e-mail and name patterns, id lists, a flag, test amounts), with a log.
- :func:`quality_scorecard`: completeness, validity, uniqueness, consistency and
  timeliness per table and column; :func:`compare_scorecards` sets two side by side and
  :func:`plot_scorecard` draws them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crm_lib.contract import schemas
from crm_lib.contract.quarantine import (
    Reconciliation,
    empty_quarantine,
    quarantine_rows,
    reconcile,
)
from crm_lib.i18n import check_language, label, t

__all__ = [
    "CREDIT_POLICIES",
    "DIMENSIONS",
    "OUTLIER_POLICIES",
    "PHONE_E164_CN",
    "TEST_EMAIL_PATTERN",
    "TEST_NAME_PATTERN",
    "CleaningError",
    "CleaningResult",
    "NettedReturns",
    "CurrencyConversion",
    "REFERENCE_POLICIES",
    "ReferenceCheck",
    "TestDataExclusion",
    "check_references",
    "compare_scorecards",
    "convert_currency",
    "exclude_test_data",
    "flag_outliers",
    "handle_outliers",
    "net_returns",
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
    group_col: str | None = None,
    min_group: int = 3,
) -> pd.DataFrame:
    """Flag (or cap) outliers of one numeric column.

    Parameters
    ----------
    data : pandas.DataFrame
        Any table; it is not modified.
    value_col : str
        Numeric column to check.
    rule : {"iqr", "robust_z", "ratio"}
        ``iqr``: outside ``[Q1 - k IQR, Q3 + k IQR]`` (Tukey; default ``k = 1.5``).
        ``robust_z``: ``|x - median| / (1.4826 MAD) > k`` (Iglewicz-Hoaglin; default
        ``k = 3.5``). ``ratio``: ``x > k * median(other values of the same group_col)``
        (default ``k = 20``): a value many times its peers', such as an amount typed
        with the decimal point in the wrong place; high side only.
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
    group_col : str, optional
        Group of the ``ratio`` rule (e.g. ``customer_id``); required by it.
    min_group : int
        ``ratio``: rows of groups with fewer rows (in ``where``) are never flagged.

    Returns
    -------
    pandas.DataFrame
        ``data`` with ``value_col`` (capped under ``policy="cap"``) and the columns
        ``outlier`` (bool), ``outlier_rule`` (str, e.g. ``"iqr k=1.5 on amount: [0.5, 210]"``),
        ``outlier_low`` and ``outlier_high`` (the bounds, on the original scale; per row
        for ``ratio``, whose lower bound is NaN).

    Notes
    -----
    The MAD is scaled by 1.4826 so that it estimates the standard deviation of normal
    data; the robust z ignores the outliers it looks for, unlike the ordinary z score.
    The ``ratio`` rule uses the leave-one-out median of the group, so the value under
    test never moves its own reference.

    References
    ----------
    Tukey, J. W. (1977). *Exploratory Data Analysis*. Iglewicz, B. and Hoaglin, D. (1993).
    *How to Detect and Handle Outliers*. ASQC.
    """
    if rule not in {"iqr", "robust_z", "ratio"}:
        raise ValueError(f"rule must be 'iqr', 'robust_z' or 'ratio', got {rule!r}")
    if policy not in {"flag", "cap"}:
        raise ValueError(f"policy must be 'flag' or 'cap', got {policy!r}")
    if value_col not in data.columns:
        raise KeyError(f"column {value_col!r} not in the table; pass value_col=")
    x = pd.to_numeric(data[value_col], errors="coerce").astype("float64")
    use = x.notna() if where is None else (x.notna() & where.reindex(x.index).fillna(False))
    if rule == "ratio":
        return _flag_ratio(data, x, use, value_col, policy, k, group_col, min_group)
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


def _median_of_others(x: pd.Series, groups: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Leave-one-out median of each value's group, and the group size (vectorised)."""
    df = pd.DataFrame({"g": groups.to_numpy(), "x": x.to_numpy()}, index=x.index)
    df = df.sort_values(["g", "x"], kind="stable")
    v = df["x"].to_numpy(dtype=float)
    codes, _ = pd.factorize(df["g"], sort=False)
    size = np.bincount(codes)
    start = np.r_[0, np.cumsum(size)[:-1]]
    n, s = size[codes], start[codes]
    pos = np.arange(len(v)) - s
    rest = n - 1

    def at(j: np.ndarray) -> np.ndarray:
        idx = s + np.where(j < pos, j, j + 1)
        return v[np.clip(idx, 0, max(len(v) - 1, 0))]

    med = (at((rest - 1) // 2) + at(rest // 2)) / 2 if len(v) else v
    med = np.where(rest >= 1, med, np.nan)
    return (
        pd.Series(med, index=df.index).reindex(x.index),
        pd.Series(n, index=df.index).reindex(x.index),
    )


def _flag_ratio(data, x, use, value_col, policy, k, group_col, min_group) -> pd.DataFrame:
    if group_col is None or group_col not in data.columns:
        raise KeyError(
            f"rule 'ratio' compares values within groups: pass group_col= (a column of the "
            f"table, e.g. 'customer_id'); got {group_col!r}"
        )
    k = 20.0 if k is None else float(k)
    groups = data[group_col]
    use = use & groups.notna()
    med, n = _median_of_others(x[use], groups[use])
    high = (k * med).reindex(x.index)
    flag = (use & (n.reindex(x.index) >= min_group) & (x > high)).fillna(False)
    out = data.copy()
    if policy == "cap":
        out[value_col] = x.where(~flag, high)
    out["outlier"] = flag.to_numpy(dtype=bool)
    out["outlier_rule"] = (
        f"ratio k={k:g} on {value_col}: > {k:g} x median of the other values of the same "
        f"{group_col} (groups of >= {min_group})"
    )
    out["outlier_low"] = np.nan
    out["outlier_high"] = high.to_numpy(dtype=float)
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
        Columns that should identify a row (uniqueness); empty: no uniqueness row.
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
    if keys:  # an export without its key columns (a mapping builds them) has no uniqueness
        dup = df.duplicated(subset=keys, keep=False)
        rows.append(_row(table, "+".join(keys), "uniqueness", n, int(dup.sum()), "key occurs once"))
    refs = dict(references or {})
    if (
        references is None
        and table == "transactions"
        and {"order_id", "original_order_id"} <= set(df.columns)
    ):
        refs["original_order_id"] = df["order_id"]
    for col, values in refs.items():
        present = df.loc[~_blank(df[col]), col].astype("string").str.strip()
        values = values if isinstance(values, pd.Series) else pd.Series(list(values))
        known = np.asarray(values.astype("string").str.strip().dropna().unique(), dtype=object)
        found = present.astype(object).isin(known)  # a hash lookup, not a loop over `known`
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


# ------------------------------------------------------------- cleaning steps


class CleaningError(ValueError):
    """A cleaning step cannot run on the table it was given (the message names table and column)."""


@dataclass
class CleaningResult:
    """Result of a cleaning step that moves rows to quarantine.

    Attributes
    ----------
    data : pandas.DataFrame
        Accepted rows (index = source row, as given).
    quarantine : pandas.DataFrame
        One record per quarantined row, columns :data:`crm_lib.contract.quarantine.QUARANTINE_COLUMNS`.
    reconciliation : crm_lib.contract.quarantine.Reconciliation
        ``rows_in == rows_accepted + rows_quarantined``.
    """

    data: pd.DataFrame
    quarantine: pd.DataFrame
    reconciliation: Reconciliation

    def __iter__(self):  # allows ``data, quarantine = step(...)``
        return iter((self.data, self.quarantine))

    def summary(self) -> pd.DataFrame:
        """Row counts plus the quarantined rows per rule (``rules``, e.g. ``outlier=20``)."""
        out = self.reconciliation.summary()
        out["rules"] = ", ".join(
            f"{k}={v}" for k, v in self.quarantine.groupby("rule")["row"].nunique().items()
        )
        return out


@dataclass
class NettedReturns(CleaningResult):
    """Result of :func:`net_returns`: accepted lines, quarantine and the netted orders.

    Attributes
    ----------
    orders : pandas.DataFrame
        One row per sale order: ``order_id, customer_id, ordered_at, gross_amount,
        returned_amount, net_amount, return_lines, fully_returned, credit_capped`` (order,
        customer and date columns keep the names passed to :func:`net_returns`).
    credit_policy : str
        The policy applied to over-credited orders.
    """

    orders: pd.DataFrame = field(default_factory=pd.DataFrame)
    credit_policy: str = "quarantine"


@dataclass
class TestDataExclusion:
    """Result of :func:`exclude_test_data`.

    Attributes
    ----------
    customers, transactions : pandas.DataFrame
        The tables without test accounts and test orders.
    excluded : pandas.DataFrame
        The exclusion log: :data:`crm_lib.contract.quarantine.QUARANTINE_COLUMNS` plus ``table``;
        rule ``test_account`` or ``test_order``, the reason names the rule that matched.
    reconciliation : dict of str to Reconciliation
        Per table, ``rows_in == rows_accepted + rows_excluded``.
    test_customer_ids : list of str
        Customers recognised as test accounts.
    """

    __test__ = False  # not a pytest test class despite the name

    customers: pd.DataFrame
    transactions: pd.DataFrame
    excluded: pd.DataFrame
    reconciliation: dict[str, Reconciliation]
    test_customer_ids: list[str]

    def summary(self) -> pd.DataFrame:
        """Per table: ``source, rows_in, rows_accepted, rows_quarantined, balanced, table``."""
        out = pd.concat(
            [r.summary().assign(table=t) for t, r in self.reconciliation.items()],
            ignore_index=True,
        )
        return out.rename(columns={"rows_quarantined": "rows_excluded"})


@dataclass
class ReferenceCheck(CleaningResult):
    """Result of :func:`check_references`.

    Attributes
    ----------
    orphans : pandas.DataFrame
        One row per missing parent key: the key (named like the line column), ``lines``,
        ``orders`` and ``amount`` of its lines, most lines first.
    counts : dict
        ``orphan_lines``, ``orphan_orders``, ``orphan_customers`` (distinct missing keys),
        ``orphan_amount`` and ``orphan_share_of_amount`` (of the table's net amount).
    policy : str
        ``keep`` or ``quarantine``.
    """

    orphans: pd.DataFrame = field(default_factory=pd.DataFrame)
    counts: dict[str, Any] = field(default_factory=dict)
    policy: str = "keep"


REFERENCE_POLICIES = ("keep", "quarantine")
"""Policies of :func:`check_references` for lines whose parent is missing."""


def check_references(
    lines: pd.DataFrame,
    parents: pd.DataFrame,
    *,
    column: str = "customer_id",
    parent_col: str | None = None,
    policy: str = "keep",
    order_col: str = "order_id",
    amount_col: str = "amount",
    source: str = "transactions",
    parent_source: str = "customers",
    raw: pd.DataFrame | None = None,
) -> ReferenceCheck:
    """Referential integrity: lines whose parent (customer) is not in the parent table.

    Parameters
    ----------
    lines : pandas.DataFrame
        Order lines indexed by source row (as :func:`crm_lib.intake.io.apply_mapping`
        gives them).
    parents : pandas.DataFrame
        The table the lines refer to (customers).
    column : str
        Column of ``lines`` holding the reference (``customer_id``).
    parent_col : str, optional
        Key column of ``parents`` (default: ``column``).
    policy : str
        ``"keep"`` (default): orphaned lines stay, flagged ``orphan = True`` (their revenue
        is real; the customers table needs repair). ``"quarantine"``: they go to the
        quarantine with rule ``orphan_line``.
    order_col, amount_col : str
        Order and amount columns of ``lines`` (for the counts).
    source, parent_source : str
        Names of the two tables (messages and quarantine records).
    raw : pandas.DataFrame, optional
        Raw text rows of ``lines`` (same index) for the quarantine's ``raw`` column.

    Returns
    -------
    ReferenceCheck
        ``data`` (with the column ``orphan``), ``quarantine``, ``reconciliation``
        (*rows in = accepted + quarantined*), ``orphans`` (per missing key) and
        ``counts``.

    Notes
    -----
    A line is orphaned when its (stripped) reference is missing or not among the
    (stripped) keys of ``parents``. ``orphan_share_of_amount`` = sum of the orphaned lines'
    amounts / sum of all amounts (net of returns; 0 for an empty or zero-sum table).

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"order_id": ["O1", "O2"], "customer_id": ["C1", "C9"],
    ...     "amount": [30.0, 10.0]})
    >>> check = check_references(tx, pd.DataFrame({"customer_id": ["C1"]}))
    >>> check.counts["orphan_lines"], check.counts["orphan_share_of_amount"]
    (1, 0.25)
    """
    parent_col = parent_col or column
    if policy not in REFERENCE_POLICIES:
        raise CleaningError(
            f"{source}: unknown reference policy {policy!r}; use one of: "
            + ", ".join(REFERENCE_POLICIES)
        )
    _require(lines, source, [column, order_col, amount_col])
    _require(parents, parent_source, [parent_col])
    _check_index(lines, source)
    key = lines[column].astype("string").str.strip()
    known = np.asarray(
        parents[parent_col].astype("string").str.strip().dropna().unique(), dtype=object
    )
    listed = key.astype(object).isin(known).to_numpy(dtype=bool)  # a hash lookup
    orphan = pd.Series(~listed | key.isna().to_numpy(dtype=bool), index=lines.index)
    amount = pd.to_numeric(lines[amount_col], errors="coerce").astype("float64")
    total = float(amount.sum())
    lost = float(amount[orphan].sum())
    orphans = (
        pd.DataFrame({column: key[orphan], "order": lines.loc[orphan, order_col]})
        .assign(amount=amount[orphan])
        .groupby(column, sort=False, dropna=False)
        .agg(lines=("order", "size"), orders=("order", "nunique"), amount=("amount", "sum"))
        .reset_index()
        .sort_values(["lines", column], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )
    orphans[column] = orphans[column].astype(object)
    counts = {
        "orphan_lines": int(orphan.sum()),
        "orphan_orders": int(lines.loc[orphan, order_col].nunique()),
        "orphan_customers": len(orphans),
        "orphan_amount": round(lost, 2),
        "orphan_share_of_amount": round(lost / total, 4) if total else 0.0,
    }
    flagged = lines.assign(orphan=orphan.to_numpy())
    quarantine = empty_quarantine()
    if policy == "quarantine":
        reason = (
            f"{column} '"
            + key[orphan].fillna("").astype(str)
            + f"' is not in the {parent_source} table (not exported, or quarantined): the "
            "line cannot be attributed to a customer"
        )
        quarantine = quarantine_rows(
            lines,
            orphan,
            source=source,
            rule="orphan_line",
            reason=reason,
            column=column,
            raw=raw,
        )
        flagged = flagged.loc[~orphan]
    rec = reconcile(source, len(lines), flagged, quarantine)
    return ReferenceCheck(flagged, quarantine, rec, orphans=orphans, counts=counts, policy=policy)


def _require(df: pd.DataFrame, table: str, columns: Iterable[str | None]) -> None:
    missing = [c for c in columns if c is not None and c not in df.columns]
    if missing:
        raise CleaningError(
            f"{table}: column(s) {missing} not in the table (columns: {list(df.columns)}); "
            "pass the right *_col= argument"
        )


def _check_index(df: pd.DataFrame, table: str) -> None:
    if not df.index.is_unique:
        raise CleaningError(
            f"{table}: the index must identify rows (the source row numbers of "
            "io.apply_mapping); it has duplicate labels"
        )


def _blank_id(s: pd.Series) -> pd.Series:
    return s.isna() | s.astype("string").str.strip().eq("").fillna(True)


CREDIT_POLICIES = ("quarantine", "cap", "keep")
"""Policies of :func:`net_returns` for return lines that credit more than their order."""


def net_returns(
    transactions: pd.DataFrame,
    *,
    order_col: str = "order_id",
    original_col: str = "original_order_id",
    amount_col: str = "amount",
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    credit_policy: str = "quarantine",
    tolerance: float = 0.005,
    source: str = "transactions",
    raw: pd.DataFrame | None = None,
) -> NettedReturns:
    """Net return lines against the orders they return; quarantine credits without an order.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Order lines (the ``transactions`` contract table), indexed by source row. A return
        is a line with a negative amount whose ``original_col`` names the order it returns.
    order_col, original_col, amount_col, customer_col, date_col : str
        Column names.
    credit_policy : {"quarantine", "cap", "keep"}
        What to do when the returns of an order credit more than the order's gross amount
        (e.g. because some of its sale lines were quarantined):
        ``quarantine`` (default) moves those return lines to quarantine (rule
        ``over_credit``) and the order keeps its gross amount; ``cap`` keeps the lines
        and caps the order's returned amount at its gross amount (net 0, the excess in
        ``credit_capped``); ``keep`` keeps them and allows a negative net amount.
    tolerance : float
        Rounding tolerance (currency units) of the over-credit check.
    source : str
        File or table name for the quarantine records.
    raw : pandas.DataFrame, optional
        Raw text table of the same rows, for the ``raw`` column of quarantine records.

    Returns
    -------
    NettedReturns
        ``data`` (accepted lines, returns included), ``quarantine``, ``reconciliation``,
        ``orders`` (one row per sale order with ``gross_amount`` = sum of its
        non-negative lines, ``returned_amount`` = credits of its accepted returns as a
        positive number, ``net_amount``, ``return_lines``, ``fully_returned``,
        ``credit_capped``) and ``credit_policy``.

    Raises
    ------
    CleaningError
        A column is missing, the policy is unknown, or the index does not identify rows.

    Notes
    -----
    ``net_amount = gross_amount - returned_amount`` per order, where
    ``returned_amount = -sum(amount)`` over the return lines whose ``original_col``
    names the order. Two kinds of negative line are *not* returns and go to quarantine
    (neither dropped nor netted): ``credit_without_order`` (no original order named; the
    data contract already quarantines these in :func:`crm_lib.intake.io.apply_mapping`, so in
    the pipeline this rule finds nothing) and ``return_without_order`` (the named order
    is not in the table: never exported, or its lines were quarantined). Every row ends
    up accepted or quarantined: ``rows_in == rows_accepted + rows_quarantined``.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"order_id": ["O1", "O1", "R1", "R2"],
    ...     "customer_id": ["C1", "C1", "C1", "C2"],
    ...     "ordered_at": pd.to_datetime(["2024-01-01"] * 4),
    ...     "amount": [100.0, 50.0, -50.0, -20.0],
    ...     "original_order_id": [None, None, "O1", "O9"]}, index=[2, 3, 4, 5])
    >>> res = net_returns(tx)
    >>> res.orders[["order_id", "gross_amount", "returned_amount", "net_amount"]]
      order_id  gross_amount  returned_amount  net_amount
    0       O1         150.0             50.0       100.0
    >>> res.quarantine[["row", "rule"]]
       row                  rule
    0    5  return_without_order
    """
    if credit_policy not in CREDIT_POLICIES:
        raise CleaningError(
            f"credit_policy must be one of {', '.join(CREDIT_POLICIES)}; got {credit_policy!r}"
        )
    _require(transactions, source, [order_col, original_col, amount_col, customer_col, date_col])
    _check_index(transactions, source)
    tx = transactions
    amount = pd.to_numeric(tx[amount_col], errors="coerce").astype("float64")
    credit = (amount < 0).fillna(False)
    no_ref = _blank_id(tx[original_col])
    original = tx[original_col].astype("string").str.strip()
    sale_orders = np.asarray(
        tx.loc[~credit, order_col].astype("string").str.strip().dropna().unique(), dtype=object
    )
    without_order = credit & no_ref
    # object dtype: a hash lookup (Arrow-backed isin loops over the values in Python)
    listed = original.astype(object).isin(sale_orders).to_numpy(dtype=bool)
    orphan = credit & ~no_ref & ~pd.Series(listed, index=tx.index)
    parts = [
        quarantine_rows(
            tx,
            without_order,
            source=source,
            rule="credit_without_order",
            reason=f"{amount_col} is negative but {original_col} is empty: a credit that "
            "names no order is not a return",
            column=amount_col,
            raw=raw,
        ),
        quarantine_rows(
            tx,
            orphan,
            source=source,
            rule="return_without_order",
            reason=(
                f"{original_col}: return of order '" + original.fillna("") + "', which is not "
                "in the table (not exported, or its lines were quarantined); not netted"
            ),
            column=original_col,
            raw=raw,
        ),
    ]
    matched = credit & ~without_order & ~orphan
    sales = tx.loc[~credit]
    key = sales[order_col].astype("string").str.strip()
    gross = amount[~credit].groupby(key.to_numpy()).sum()
    ret_key = original[matched]
    returned = (-amount[matched]).groupby(ret_key.to_numpy()).sum()
    n_ret = amount[matched].groupby(ret_key.to_numpy()).size()
    over = returned[returned > gross.reindex(returned.index) + tolerance]
    if credit_policy == "quarantine" and len(over):
        bad = matched & original.isin(over.index).fillna(False)
        why = original[bad].map(
            lambda o: (
                (
                    f"returns of order {o!r} credit {over.get(o, 0):.2f}, more than its gross "
                    f"amount {gross.get(o, 0):.2f} (credit_policy='quarantine')"
                )
                if isinstance(o, str)
                else ""
            )
        )
        parts.append(
            quarantine_rows(
                tx, bad, source=source, rule="over_credit", reason=why, column=amount_col, raw=raw
            )
        )
        matched &= ~bad
        returned = returned.drop(over.index)
        n_ret = n_ret.drop(over.index)
    orders = (
        sales.assign(_key=key.to_numpy())
        .groupby("_key", sort=False)
        .agg(**{customer_col: (customer_col, "first"), date_col: (date_col, "min")})
    )
    orders.index.name = order_col
    orders["gross_amount"] = gross.reindex(orders.index).to_numpy()
    orders["returned_amount"] = returned.reindex(orders.index).fillna(0.0).to_numpy()
    orders["credit_capped"] = 0.0
    if credit_policy == "cap":
        excess = (orders["returned_amount"] - orders["gross_amount"]).clip(lower=0)
        excess = excess.where(excess > tolerance, 0.0)
        orders["credit_capped"] = excess
        orders["returned_amount"] -= excess
    orders["net_amount"] = orders["gross_amount"] - orders["returned_amount"]
    orders["return_lines"] = n_ret.reindex(orders.index).fillna(0).astype("int64").to_numpy()
    orders["fully_returned"] = (orders["returned_amount"] > 0) & (orders["net_amount"] <= tolerance)
    orders = orders.reset_index()[
        [
            order_col,
            customer_col,
            date_col,
            "gross_amount",
            "returned_amount",
            "net_amount",
            "return_lines",
            "fully_returned",
            "credit_capped",
        ]
    ]
    quarantine = _concat_quarantine(parts)
    data = tx.loc[~tx.index.isin(quarantine["row"])]
    rec = reconcile(source, len(tx), data, quarantine)
    return NettedReturns(data, quarantine, rec, orders=orders, credit_policy=credit_policy)


def _concat_quarantine(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_quarantine()
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["row", "rule"], kind="stable").reset_index(drop=True)


TEST_EMAIL_PATTERN = r"^test(?:\+[^@]*)?@"
"""Default test-account e-mail rule: local part ``test`` or ``test+anything``."""

TEST_NAME_PATTERN = r"测试|\btest\b"
"""Default test-account name rule (case-insensitive): ``测试`` (test) or the word *test*."""


def exclude_test_data(
    customers: pd.DataFrame,
    transactions: pd.DataFrame,
    *,
    email_pattern: str | None = TEST_EMAIL_PATTERN,
    name_pattern: str | None = TEST_NAME_PATTERN,
    customer_ids: Iterable[str] = (),
    order_ids: Iterable[str] = (),
    test_flag_col: str | None = None,
    test_amounts: Iterable[float] = (),
    customer_col: str = "customer_id",
    email_col: str = "email",
    name_col: str = "name",
    order_col: str = "order_id",
    amount_col: str = "amount",
    sources: tuple[str, str] = ("customers", "transactions"),
    raw: Mapping[str, pd.DataFrame] | None = None,
) -> TestDataExclusion:
    """Move internal test accounts and test orders out of the analysis tables, by rule.

    Parameters
    ----------
    customers, transactions : pandas.DataFrame
        Contract tables indexed by source row.
    email_pattern : str, optional
        Regular expression (searched, case-insensitive) on the normalised e-mail
        (:func:`normalize_email`); None switches the rule off.
    name_pattern : str, optional
        Regular expression (searched, case-insensitive) on the NFKC-normalised name.
    customer_ids, order_ids : iterable of str
        Known test customers and orders (e.g. a list kept by the shop's IT team).
    test_flag_col : str, optional
        A boolean column of ``transactions`` that marks test orders (e.g. ``is_test``).
    test_amounts : iterable of float
        Amounts typical of test orders (``0.01``); an order is a test order when *every*
        line has one of them. Off by default: real orders have such amounts too.
    customer_col, email_col, name_col, order_col, amount_col : str
        Column names (``email_col``/``name_col`` may be absent when their rule is off).
    sources : (str, str)
        Names of the two tables in the exclusion log.
    raw : mapping of table name to pandas.DataFrame, optional
        Raw text tables (keys ``sources``) for the ``raw`` column of the log.

    Returns
    -------
    TestDataExclusion
        ``customers``, ``transactions``, ``excluded`` (the log), ``reconciliation``,
        ``test_customer_ids``; ``.summary()`` gives the counts per table.

    Notes
    -----
    A customer is a test account when any customer rule matches; an order is a test
    order when its buyer is a test account or any order rule matches, and then all of
    its lines are excluded (return lines included). Every excluded row is logged with the
    rule that matched, so the exclusion can be reviewed and reversed.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["Ann Lee", "测试账号"],
    ...     "email": ["ann@example.com", "TEST+1@example.com"]})
    >>> tx = pd.DataFrame({"order_id": ["O1", "O2"], "customer_id": ["C1", "C2"],
    ...     "amount": [99.0, 0.01]})
    >>> res = exclude_test_data(customers, tx)
    >>> res.test_customer_ids, res.transactions["order_id"].tolist()
    (['C2'], ['O1'])
    """
    c_src, t_src = sources
    _require(customers, c_src, [customer_col])
    _require(transactions, t_src, [customer_col, order_col, test_flag_col])
    if email_pattern:
        _require(customers, c_src, [email_col])
    if name_pattern:
        _require(customers, c_src, [name_col])
    if tuple(test_amounts):
        _require(transactions, t_src, [amount_col])
    _check_index(customers, c_src)
    _check_index(transactions, t_src)
    raw = dict(raw or {})

    why_c = pd.Series("", index=customers.index, dtype=object)

    def add(why: pd.Series, hit: pd.Series, text: str) -> None:
        hit = hit.fillna(False).astype(bool)
        why[hit] = why[hit].map(lambda w: f"{w}; {text}" if w else text)

    cid = customers[customer_col].astype("string").str.strip()
    if email_pattern:
        email = normalize_email(customers[email_col].astype(object))
        add(
            why_c,
            email.str.contains(email_pattern, case=False, regex=True),
            f"{email_col} matches {email_pattern!r}",
        )
    if name_pattern:
        name = normalize_text(customers[name_col].astype(object))
        add(
            why_c,
            name.str.contains(name_pattern, case=False, regex=True),
            f"{name_col} matches {name_pattern!r}",
        )
    ids = {str(i).strip() for i in customer_ids}
    if ids:
        add(why_c, cid.isin(ids), f"{customer_col} in the list of test accounts")
    is_test_c = why_c != ""
    test_ids = sorted(set(cid[is_test_c].dropna()))

    tx = transactions
    oid = tx[order_col].astype("string").str.strip()
    why_t = pd.Series("", index=tx.index, dtype=object)
    buyer = tx[customer_col].astype("string").str.strip()
    add(why_t, buyer.isin(test_ids), "buyer is a test account")
    orders = {str(o).strip() for o in order_ids}
    if orders:
        add(why_t, oid.isin(orders), f"{order_col} in the list of test orders")
    if test_flag_col:
        flagged = oid.isin(set(oid[tx[test_flag_col].astype("boolean").fillna(False)]))
        add(why_t, flagged, f"{test_flag_col} is true")
    amounts = [float(a) for a in test_amounts]
    if amounts:
        amt = pd.to_numeric(tx[amount_col], errors="coerce")
        typical = np.isclose(amt.to_numpy(dtype=float)[:, None], amounts, atol=1e-9).any(axis=1)
        all_typical = pd.Series(typical, index=tx.index).groupby(oid.to_numpy()).transform("all")
        add(why_t, all_typical, f"every line of the order has a test amount {amounts}")
    is_test_t = why_t != ""

    log = [
        quarantine_rows(
            customers,
            is_test_c,
            source=c_src,
            rule="test_account",
            reason=why_c,
            column=customer_col,
            raw=raw.get(c_src),
        ).assign(table=c_src),
        quarantine_rows(
            tx,
            is_test_t,
            source=t_src,
            rule="test_order",
            reason=why_t,
            column=order_col,
            raw=raw.get(t_src),
        ).assign(table=t_src),
    ]
    excluded = pd.concat(log, ignore_index=True)
    kept_c = customers.loc[~is_test_c.to_numpy()]
    kept_t = tx.loc[~is_test_t.to_numpy()]
    rec = {
        c_src: reconcile(c_src, len(customers), kept_c, log[0]),
        t_src: reconcile(t_src, len(tx), kept_t, log[1]),
    }
    return TestDataExclusion(kept_c, kept_t, excluded, rec, test_ids)


OUTLIER_POLICIES = ("flag", "cap", "quarantine")
"""Policies of :func:`handle_outliers`."""


def handle_outliers(
    transactions: pd.DataFrame,
    *,
    value_col: str = "amount",
    rule: str = "ratio",
    policy: str = "quarantine",
    k: float | None = None,
    group_col: str | None = "customer_id",
    log: bool = True,
    where: pd.Series | None = None,
    source: str = "transactions",
    raw: pd.DataFrame | None = None,
) -> CleaningResult:
    """Detect outliers with :func:`flag_outliers` and apply a stated policy.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Order lines indexed by source row.
    value_col : str
        Amount column.
    rule : {"ratio", "iqr", "robust_z"}
        See :func:`flag_outliers`. ``ratio`` (default) compares each line with the median
        of the same customer's other lines (``group_col``).
    policy : {"flag", "cap", "quarantine"}
        ``flag`` keeps every line with an ``outlier`` column; ``cap`` clips flagged values
        to the bound (winsorising); ``quarantine`` (default) moves flagged lines to the
        quarantine (rule ``outlier``) for the data owner to confirm or correct.
    k : float, optional
        Threshold of the rule (its default when None).
    group_col : str, optional
        Group of the ``ratio`` rule (ignored by the others).
    log : bool
        Apply ``iqr``/``robust_z`` to ``log(amount)`` (amounts are skewed).
    where : pandas.Series of bool, optional
        Lines the rule is computed from and applied to; default: sale lines (amount > 0),
        so returns are never flagged.
    source : str
        Name for quarantine records.
    raw : pandas.DataFrame, optional
        Raw text rows for the ``raw`` column of quarantine records.

    Returns
    -------
    CleaningResult
        ``data`` with columns ``outlier`` (bool) and ``outlier_rule`` added (the rule and
        its threshold); ``quarantine``; ``reconciliation``.

    Notes
    -----
    The planted slips of the simulated world (an amount typed ×100) are best seen
    against the customer's own spending: a line more than ``k = 20`` times the median of
    the customer's other lines is implausible, while a global fence on all amounts mixes
    small and large spenders (see :func:`flag_outliers`). A flag is a question for the
    data owner, hence quarantine rather than deletion or silent capping by default.
    """
    if policy not in OUTLIER_POLICIES:
        raise CleaningError(f"policy must be one of {', '.join(OUTLIER_POLICIES)}; got {policy!r}")
    _require(transactions, source, [value_col])
    _check_index(transactions, source)
    if where is None:
        where = pd.to_numeric(transactions[value_col], errors="coerce") > 0
    flagged = flag_outliers(
        transactions,
        value_col=value_col,
        rule=rule,
        policy="cap" if policy == "cap" else "flag",
        k=k,
        log=log,
        where=where,
        group_col=group_col,
    )
    flagged = flagged.drop(columns=["outlier_low", "outlier_high"])
    if policy != "quarantine":
        q = empty_quarantine()
    else:
        reason = (
            value_col
            + " "
            + flagged[value_col].map(lambda v: f"{v:.2f}")
            + " is outside the rule "
            + flagged["outlier_rule"]
            + " (policy 'quarantine')"
        )
        q = quarantine_rows(
            transactions,
            flagged["outlier"],
            source=source,
            rule="outlier",
            reason=reason,
            column=value_col,
            raw=raw,
        )
    data = flagged.loc[~flagged.index.isin(q["row"])]
    rec = reconcile(source, len(transactions), data, q)
    return CleaningResult(data, q, rec)


# ------------------------------------------------------------------ currency conversion

_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")


@dataclass
class CurrencyConversion(CleaningResult):
    """Result of :func:`convert_currency`: lines in one currency, quarantine, conversion log.

    Attributes
    ----------
    conversions : pandas.DataFrame
        One row per converted line (currency other than ``to``): ``row`` (source row),
        ``currency``, ``amount_original``, ``rate_date`` and ``rate``.
    to : str
        The currency every accepted line is now in.
    """

    conversions: pd.DataFrame = field(default_factory=pd.DataFrame)
    to: str = ""


def _check_rates(rates: pd.DataFrame, date_col: str, currency_col: str, rate_col: str) -> None:
    _require(rates, "rates", [date_col, currency_col, rate_col])
    rate = pd.to_numeric(rates[rate_col], errors="coerce")
    bad = rates.index[~(np.isfinite(rate) & (rate > 0))]
    if len(bad):
        first = bad[0]
        raise CleaningError(
            f"rates: column {rate_col!r} must be a positive number on every row; row {first} "
            f"has {rates.loc[first, rate_col]!r} ({len(bad)} such row(s))"
        )
    codes = rates[currency_col].astype("string")
    bad = rates.index[~codes.fillna("").str.fullmatch(_CURRENCY_CODE.pattern)]
    if len(bad):
        raise CleaningError(
            f"rates: column {currency_col!r} must hold ISO-4217 codes (e.g. 'USD'); row "
            f"{bad[0]} has {rates.loc[bad[0], currency_col]!r}"
        )
    days = pd.to_datetime(rates[date_col], errors="coerce")
    if days.isna().any():
        first = rates.index[days.isna()][0]
        raise CleaningError(
            f"rates: column {date_col!r} must be a date on every row; row {first} has "
            f"{rates.loc[first, date_col]!r}"
        )
    dup = pd.DataFrame({"d": days.dt.normalize(), "c": codes}).duplicated(keep=False)
    if dup.any():
        rows = rates.index[dup.to_numpy()][:4].tolist()
        raise CleaningError(
            f"rates: more than one rate for the same currency and day (rows {rows}); keep one "
            "per day, e.g. the closing rate"
        )


def convert_currency(
    transactions: pd.DataFrame,
    rates: pd.DataFrame,
    *,
    to: str,
    amount_col: str = "amount",
    currency_col: str = "currency",
    date_col: str = "ordered_at",
    tz: str = "UTC",
    max_age_days: int = 7,
    rate_date_col: str = "date",
    rate_currency_col: str = "currency",
    rate_col: str = "rate",
    source: str = "transactions",
    raw: pd.DataFrame | None = None,
) -> CurrencyConversion:
    """Express every order line in one reporting currency, at the rate of its own day.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Order lines indexed by source row, with an amount, an ISO-4217 currency and a
        timezone-aware (or UTC) timestamp.
    rates : pandas.DataFrame
        One row per day and currency: ``rate`` = units of ``to`` for one unit of
        ``currency`` on that day (e.g. ``2024-03-04, USD, 7.19`` to convert to CNY).
        Rates must be positive, one per currency and day.
    to : str
        The reporting currency (ISO-4217), e.g. ``"CNY"``; its lines keep their amount.
    amount_col, currency_col, date_col : str
        Columns of ``transactions``.
    tz : str
        Time zone whose calendar day picks the rate: the business's (``dataset.yml``
        ``timezone``; default UTC).
    max_age_days : int
        A rate up to this many days older than the line's day is used (weekends and
        holidays have none); older ones are not: the line goes to quarantine.
    rate_date_col, rate_currency_col, rate_col : str
        Columns of ``rates``.
    source : str
        Name for quarantine records.
    raw : pandas.DataFrame, optional
        Raw text rows for the ``raw`` column of quarantine records.

    Returns
    -------
    CurrencyConversion
        ``data``: accepted lines with ``amount`` in ``to`` and ``currency = to`` (same
        columns, so the table still fits the data contract); ``quarantine``: lines
        without a currency (rule ``currency_missing``) or without a usable rate (rule
        ``no_rate``, the reason names currency, day and the latest rate there is);
        ``conversions``: the log of converted lines; ``reconciliation``.

    Notes
    -----
    ``amount_to = amount x rate(currency, d*)`` with ``d*`` the latest rate day on or
    before the line's local day, at most ``max_age_days`` before it. A return line is
    converted at the rate of its own day, like any line: what the refund was worth when it
    was paid. Amounts are not rounded (round for display only), so the conversion log
    reproduces every converted amount exactly.
    """
    if not isinstance(to, str) or not _CURRENCY_CODE.match(to):
        raise CleaningError(f"to must be an ISO-4217 currency code such as 'CNY', got {to!r}")
    if not isinstance(max_age_days, int | np.integer) or max_age_days < 0:
        raise CleaningError(f"max_age_days must be a whole number >= 0, got {max_age_days!r}")
    _require(transactions, source, [amount_col, currency_col, date_col])
    _check_index(transactions, source)
    _check_rates(rates, rate_date_col, rate_currency_col, rate_col)
    amount = pd.to_numeric(transactions[amount_col], errors="coerce")
    text = amount.isna() & transactions[amount_col].notna()
    if text.any():
        first = transactions.index[text][0]
        raise CleaningError(
            f"{source}: column {amount_col!r} must be numeric (map the export first); row "
            f"{first} has {transactions.loc[first, amount_col]!r}"
        )
    when = pd.to_datetime(transactions[date_col], utc=True)
    day = when.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    currency = transactions[currency_col].astype("string").str.strip().str.upper()
    missing = currency.isna() | (currency == "")
    foreign = ~missing & (currency != to)

    table = pd.DataFrame(
        {
            "day": pd.to_datetime(rates[rate_date_col]).dt.normalize().to_numpy(),
            "currency": rates[rate_currency_col].astype("string").to_numpy(),
            "rate": pd.to_numeric(rates[rate_col]).to_numpy(dtype=float),
        }
    )
    table["rate_date"] = table["day"]
    lines = pd.DataFrame(
        {
            "row": transactions.index[foreign],
            "day": day[foreign].to_numpy(),
            "currency": currency[foreign].to_numpy(),
        }
    )
    lines = lines.sort_values("day", kind="stable")
    # one key type on both sides (pandas infers "str" only from a non-empty column)
    lines["currency"] = lines["currency"].astype(object)
    table["currency"] = table["currency"].astype(object)
    found = pd.merge_asof(
        lines,
        table.sort_values("day"),
        on="day",
        by="currency",
        direction="backward",
        tolerance=pd.Timedelta(days=max_age_days),
    ).set_index("row")
    rate = pd.Series(1.0, index=transactions.index)
    rate[found.index] = found["rate"]
    no_rate = pd.Series(False, index=transactions.index)
    no_rate[found.index] = found["rate"].isna()

    latest = table.groupby("currency")["day"].max()
    reason = pd.Series("", index=transactions.index, dtype=object)
    for row in no_rate.index[no_rate]:
        cur, d = currency[row], day[row]
        last = latest.get(cur)
        had = (
            f"the latest {cur} rate is of {last:%Y-%m-%d}"
            if last is not None
            else f"no {cur} rate at all"
        )
        reason[row] = (
            f"no {to} rate for {cur} on {d:%Y-%m-%d} or up to {max_age_days} day(s) before ({had})"
        )
    q = pd.concat(
        [
            quarantine_rows(
                transactions, missing, source=source, rule="currency_missing",
                reason="the line has no currency", column=currency_col, raw=raw,
            ),
            quarantine_rows(
                transactions, no_rate, source=source, rule="no_rate", reason=reason,
                column=currency_col, raw=raw,
            ),
        ],
        ignore_index=True,
    )  # fmt: skip
    keep = ~(missing | no_rate)
    data = transactions.loc[keep].copy()
    data[amount_col] = (amount * rate)[keep].to_numpy()
    dtype = transactions[currency_col].dtype
    data[currency_col] = to
    if not isinstance(dtype, pd.CategoricalDtype):  # keep the contract's string dtype
        data[currency_col] = data[currency_col].astype(dtype)
    done = foreign & keep
    conversions = pd.DataFrame(
        {
            "row": transactions.index[done],
            "currency": currency[done].to_numpy(),
            "amount_original": amount[done].to_numpy(),
            "rate_date": found.loc[transactions.index[done], "rate_date"].to_numpy(),
            "rate": rate[done].to_numpy(),
        }
    )
    rec = reconcile(source, len(transactions), data, q)
    return CurrencyConversion(data, q, rec, conversions=conversions, to=to)
