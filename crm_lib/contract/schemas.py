"""The data contract: the canonical tables every analysis consumes.

Each table is a pandera ``DataFrameSchema``. Every column carries a description and
metadata (``unit``, ``pii``) so that the contract documents itself
(:func:`contract_table`) and so that report code knows which columns are personal
identifiers (:func:`pii_columns`) and must never be printed.

Conventions of contract version ``CONTRACT_VERSION``:

- identifiers are strings (exports use strings: ``"C0000042"``, Salesforce ids, ...);
- timestamps are timezone-aware and stored in **UTC**; the retailer's local time zone
  is ``Asia/Shanghai`` (convert for display, never for storage);
- money is in the ISO-4217 currency named in the ``currency`` column (``CNY`` in the
  simulated world); amounts are net of tax;
- returns are negative lines (negative ``amount`` and ``quantity``) whose
  ``original_order_id`` names the order they return.

Missing values follow a **stated policy per column** (column metadata ``missing``, listed by
:func:`contract_table` and :func:`missing_policy`; a mapping may state its own, see
:mod:`crm_lib.intake.io`):

- ``unknown``: an optional descriptive column (region, acquisition channel, gender,
  product category, sales channel) keeps the row and gets the explicit value
  :data:`UNKNOWN`, which its check allows. One blank descriptive field must not drop a
  customer (and orphan their orders) or an order line (and lose its revenue);
- ``impute``: fill a value stated in the mapping (``impute: <value>``);
- ``quarantine``: keys, times, amounts, quantities, currency and consent: the row goes to
  quarantine with rule ``required`` (a guessed key or amount would be worse than none);
- ``keep``: nullable columns stay missing.

Use :func:`validate` rather than ``schema.validate``: it collects every violation and
raises :class:`ContractError` whose message names the table, column, row and value.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd


def _import_pandera():
    """Import pandera without letting it import ``pyspark.pandas``.

    When PySpark is installed (the ``spark`` extra), ``import pandera`` imports
    ``pyspark.pandas`` to patch pandas type hints: 0.3 s more on every kernel start, a
    FutureWarning about pandas 3 in every notebook, and nothing crm_lib uses. A ``None``
    entry in ``sys.modules`` makes that one optional import fail as if PySpark were
    absent; it is removed again so Spark itself stays importable.
    """
    blocked = "pyspark.pandas" not in sys.modules
    if blocked:
        sys.modules["pyspark.pandas"] = None  # type: ignore[assignment]
    try:
        import pandera.pandas as pandera_pandas
    finally:
        if blocked:
            sys.modules.pop("pyspark.pandas", None)
    return pandera_pandas


pa = _import_pandera()

CONTRACT_VERSION = "1.1"
"""Version of the data contract. Bump the minor version for added optional columns,
the major version for renamed/removed columns or changed types. 1.1: the descriptive
columns accept ``"unknown"`` (missing-value policy ``unknown``)."""

LOCAL_TIMEZONE = "Asia/Shanghai"
UTC = "UTC"

REGIONS = ["north", "east", "south", "west", "central"]
SALES_CHANNELS = ["web", "app", "store", "mini_program"]
MARKETING_CHANNELS = ["direct", "search", "social", "email", "referral"]
GENDERS = ["female", "male", "other", "unknown"]
CATEGORIES = ["apparel", "beauty", "electronics", "grocery", "home", "sports"]
EVENT_TYPES = ["visit", "signup", "cart", "purchase"]
SURVEY_STATUSES = ["complete", "partial"]
LANGUAGES = ["en", "zh"]

UNKNOWN = "unknown"
"""The explicit value of a blank descriptive field (missing-value policy ``unknown``)."""

MISSING_POLICIES = ("unknown", "impute", "quarantine")
"""What happens to a row with a blank value in a required column (see the module notes);
nullable columns ``keep`` the missing value."""

# Survey instrument of the simulated world: four constructs, three 1-7 Likert items each.
# Items ending in "_r" are reverse-coded (7 = worst).
SURVEY_CONSTRUCTS = {
    "product": ["q_product_1", "q_product_2", "q_product_3"],
    "price": ["q_price_1", "q_price_2", "q_price_3_r"],
    "service": ["q_service_1", "q_service_2", "q_service_3"],
    "delivery": ["q_delivery_1", "q_delivery_2", "q_delivery_3_r"],
}
LIKERT_ITEMS = [item for items in SURVEY_CONSTRUCTS.values() for item in items]

_TS = pd.DatetimeTZDtype(unit="us", tz=UTC)
_THIS_YEAR = pd.Timestamp.now(tz=UTC).year  # a birth year cannot be in the future


def _col(
    dtype,
    description: str,
    *,
    unit: str = "",
    pii: bool = False,
    missing: str | None = None,
    **kwargs,
) -> pa.Column:
    """A contract column: dtype, checks, and documentation metadata (``missing``: policy)."""
    metadata = {"unit": unit, "pii": pii}
    if missing is not None:
        if missing not in MISSING_POLICIES:
            raise ValueError(f"unknown missing-value policy {missing!r}")
        metadata["missing"] = missing
    return pa.Column(dtype, description=description, metadata=metadata, **kwargs)


def _descriptive(description: str, values: list[str]) -> pa.Column:
    """An optional descriptive label: one of ``values``, or ``unknown`` when not given."""
    allowed = values if UNKNOWN in values else [*values, UNKNOWN]
    return _col(
        "string",
        description + " 'unknown' when not given.",
        missing="unknown",
        checks=pa.Check.isin(allowed),
    )


def _ts(description: str, *, nullable: bool = False) -> pa.Column:
    return _col(_TS, description, unit="timestamp, UTC", nullable=nullable)


def _id(description: str, *, nullable: bool = False, unique: bool = False) -> pa.Column:
    return _col(
        "string", description, nullable=nullable, unique=unique, checks=pa.Check.str_length(1, 64)
    )


def _returns_reference_orders(df: pd.DataFrame) -> pd.Series:
    """A line is a return (negative amount) exactly when it names its original order."""
    is_return = df["amount"] < 0
    has_ref = df["original_order_id"].notna()
    return is_return == has_ref


def _submitted_after_start(df: pd.DataFrame) -> pd.Series | bool:
    if not {"started_at", "submitted_at"} <= set(df.columns):
        return True  # a questionnaire without times (optional with its own items)
    return df["submitted_at"].isna() | (df["submitted_at"] >= df["started_at"])


def _complete_has_submit_time(df: pd.DataFrame) -> pd.Series | bool:
    if not {"status", "submitted_at"} <= set(df.columns):
        return True
    return (df["status"] != "complete") | df["submitted_at"].notna()


CUSTOMERS = pa.DataFrameSchema(
    {
        "customer_id": _id("Customer key (pseudonymous).", unique=True),
        "name": _col("string", "Full name as entered by the customer.", pii=True, nullable=True),
        "email": _col("string", "E-mail address.", pii=True, nullable=True),
        "phone": _col("string", "Mobile phone number, E.164 (+86...).", pii=True, nullable=True),
        "signup_at": _ts("Account creation time."),
        "region": _descriptive("Sales region.", REGIONS),
        "acquisition_channel": _descriptive(
            "Marketing channel that brought the customer.", MARKETING_CHANNELS
        ),
        "gender": _descriptive("Self-reported gender.", GENDERS),
        "birth_year": _col(
            "Int64",
            "Self-reported birth year (missing when not given).",
            unit="year",
            nullable=True,
            checks=pa.Check.in_range(1900, _THIS_YEAR),
        ),
        "marketing_consent": _col(
            "bool", "Customer agreed to receive marketing (e-mail, SMS, app push)."
        ),
    },
    name="customers",
    strict=True,
    coerce=False,
)

TRANSACTIONS = pa.DataFrameSchema(
    {
        "order_id": _id("Order key; with line_no the key of a line."),
        "line_no": _col("int64", "Line number within the order.", checks=pa.Check.ge(1)),
        "customer_id": _id("Buyer (references customers.customer_id)."),
        "ordered_at": _ts("Order time."),
        "amount": _col(
            "float64",
            "Net line amount; negative for a return line.",
            unit="currency (see currency column)",
            checks=pa.Check(lambda s: s.abs() < 1e7, error="abs(amount) < 1e7"),
        ),
        "currency": _col(
            "string", "ISO-4217 currency code.", checks=pa.Check.str_matches(r"^[A-Z]{3}$")
        ),
        "quantity": _col("int64", "Units; negative for a return line.", unit="units"),
        "product_id": _id("Product key."),
        "category": _descriptive("Product category.", CATEGORIES),
        "channel": _descriptive("Sales channel.", SALES_CHANNELS),
        "original_order_id": _id(
            "For a return line: the order it returns; missing otherwise.", nullable=True
        ),
    },
    checks=[
        pa.Check(
            _returns_reference_orders,
            error="a negative amount must reference original_order_id, and only then",
        )
    ],
    unique=["order_id", "line_no"],
    name="transactions",
    strict=True,
)

EVENTS = pa.DataFrameSchema(
    {
        "event_id": _id("Event key.", unique=True),
        "visitor_id": _id("Anonymous visitor (cookie/device) key."),
        "customer_id": _id(
            "Customer, once the visitor has signed up; missing before.", nullable=True
        ),
        "occurred_at": _ts("Event time."),
        "event_type": _col("string", "Funnel stage reached.", checks=pa.Check.isin(EVENT_TYPES)),
        "channel": _col(
            "string", "Marketing channel of the session.", checks=pa.Check.isin(MARKETING_CHANNELS)
        ),
    },
    name="events",
    strict=True,
)

EXPERIMENT_ASSIGNMENTS = pa.DataFrameSchema(
    {
        "experiment_id": _id("Experiment key."),
        "customer_id": _id("Assigned customer."),
        "variant": _col(
            "string", "Arm ('control' or a treatment name).", checks=pa.Check.str_length(1, 32)
        ),
        "assigned_at": _ts("Assignment time."),
        "pre_period_revenue": _col(
            "float64",
            "Revenue in the 8 weeks before assignment (covariate for CUPED).",
            unit="currency",
            checks=pa.Check.ge(0),
        ),
    },
    unique=["experiment_id", "customer_id"],
    name="experiment_assignments",
    strict=True,
)

EXPERIMENT_OUTCOMES = pa.DataFrameSchema(
    {
        "experiment_id": _id("Experiment key."),
        "customer_id": _id("Assigned customer."),
        "converted": _col("bool", "Bought at least once in the measurement window."),
        "revenue": _col("float64", "Net revenue in the window.", unit="currency"),
        "orders": _col("int64", "Orders in the window.", unit="orders", checks=pa.Check.ge(0)),
        "nps": _col(
            "Int64",
            "Answer to the post-campaign NPS question (0-10), missing if not answered.",
            unit="0-10",
            nullable=True,
            checks=pa.Check.in_range(0, 10),
        ),
    },
    unique=["experiment_id", "customer_id"],
    name="experiment_outcomes",
    strict=True,
)

_likert = {
    item: _col(
        "Int64",
        f"Likert item {item} (1 = strongly disagree ... 7 = strongly agree"
        + ("; reverse-coded" if item.endswith("_r") else "")
        + ").",
        unit="1-7",
        nullable=True,
        checks=pa.Check.in_range(1, 7),
    )
    for item in LIKERT_ITEMS
}

SURVEY_RESPONSES = pa.DataFrameSchema(
    {
        "response_id": _id("Response key.", unique=True),
        "customer_id": _id("Respondent, when known.", nullable=True),
        "wave": _col(
            "string",
            "Survey wave, any name ('2025Q3', '2024-spring'); studies order waves by the "
            "start times of their responses, not by name.",
            checks=pa.Check.str_length(1, 64),
        ),
        "started_at": _ts("When the respondent opened the survey."),
        "submitted_at": _ts("When the respondent submitted; missing for partials.", nullable=True),
        "status": _col("string", "Completion status.", checks=pa.Check.isin(SURVEY_STATUSES)),
        "nps": _col(
            "Int64",
            "How likely to recommend us (0-10).",
            unit="0-10",
            nullable=True,
            checks=pa.Check.in_range(0, 10),
        ),
        "csat": _col(
            "Int64",
            "Overall satisfaction (1-5).",
            unit="1-5",
            nullable=True,
            checks=pa.Check.in_range(1, 5),
        ),
        "ces": _col(
            "Int64",
            "Customer effort: 'easy to get what I needed' (1-7, 7 = very easy).",
            unit="1-7",
            nullable=True,
            checks=pa.Check.in_range(1, 7),
        ),
        **_likert,
        "comment": _col("string", "Free-text comment.", pii=True, nullable=True),
        "comment_language": _col(
            "string", "Language of the comment.", nullable=True, checks=pa.Check.isin(LANGUAGES)
        ),
    },
    checks=[
        pa.Check(_submitted_after_start, error="submitted_at must not precede started_at"),
        pa.Check(_complete_has_submit_time, error="a complete response needs submitted_at"),
    ],
    name="survey_responses",
    strict=True,
)

SCHEMAS: dict[str, pa.DataFrameSchema] = {
    s.name: s
    for s in [
        CUSTOMERS,
        TRANSACTIONS,
        EVENTS,
        EXPERIMENT_ASSIGNMENTS,
        EXPERIMENT_OUTCOMES,
        SURVEY_RESPONSES,
    ]
}
"""Every table of the contract, by name."""


class ContractError(ValueError):
    """A table breaks the data contract.

    Attributes
    ----------
    table : str
        Contract table name.
    failures : pandas.DataFrame
        One row per violation: ``table, column, row, value, check``.
    """

    def __init__(self, table: str, failures: pd.DataFrame, source: str | None = None):
        self.table = table
        self.failures = failures
        self.source = source
        super().__init__(self._message())

    def _message(self, limit: int = 10) -> str:
        where = f"{self.source}: " if self.source else ""
        n = len(self.failures)
        lines = [f"{where}table '{self.table}' breaks the data contract ({n} violation(s)):"]
        for rec in self.failures.head(limit).itertuples(index=False):
            row = "table-level" if pd.isna(rec.row) else f"row {rec.row}"
            col = "" if pd.isna(rec.column) else f", column {rec.column}"
            lines.append(f"  - {row}{col}: value {rec.value!r} fails {rec.check}")
        if n > limit:
            lines.append(f"  ... and {n - limit} more (see ContractError.failures)")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Failure:
    table: str
    column: object
    row: object
    value: object
    check: str


def _failures_frame(table: str, df: pd.DataFrame, err: pa.errors.SchemaErrors) -> pd.DataFrame:
    """One row per violation; a row-level (multi-column) check gives one row per data row."""
    fc = err.failure_cases
    records = []
    seen_rows: set = set()
    for rec in fc.itertuples(index=False):
        row = rec.index
        row = None if row is None or (isinstance(row, float) and pd.isna(row)) else row
        check = str(rec.check)
        column = rec.column if isinstance(rec.column, str) and rec.column in df.columns else None
        value = rec.failure_case
        if rec.schema_context == "DataFrameSchema" and row is not None:
            # A data-frame-level check lists every column of a failing row: report the row once.
            if (row, check) in seen_rows:
                continue
            seen_rows.add((row, check))
            column = None
            value = {k: v for k, v in df.loc[row].to_dict().items() if not _is_missing(v)}
        elif column is None and check == "column_in_dataframe":
            column = value
        records.append(_Failure(table, column, row, value, check).__dict__)
    out = pd.DataFrame.from_records(records, columns=["table", "column", "row", "value", "check"])
    return out.reset_index(drop=True)


def _is_missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def validate(
    df: pd.DataFrame,
    table: str,
    *,
    source: str | None = None,
    vocabulary: Mapping[str, Sequence[str]] | None = None,
    items: Mapping[str, tuple[int, int]] | None = None,
) -> pd.DataFrame:
    """Validate ``df`` against the contract table ``table``; return it unchanged.

    Parameters
    ----------
    df : pandas.DataFrame
        The table to check.
    table : str
        Name of a contract table (a key of :data:`SCHEMAS`).
    source : str, optional
        File or query the table came from; it heads the error message.
    vocabulary : mapping, optional
        The dataset's own allowed values of its categorical columns, e.g.
        ``{"category": ["music"]}`` (a dataset's ``dataset.yml``, see
        :mod:`crm_lib.contract.dataset`); a configurable column not named accepts any
        value. ``None`` keeps the reference lists of the contract (the simulated
        retailer's :data:`CATEGORIES`, :data:`REGIONS` ...).
    items : mapping of str to (int, int), optional
        For ``survey_responses``: the items of the dataset's own questionnaire with their
        scale ranges (:func:`crm_lib.contract.dataset.read_item_ranges`). The table then
        has these item columns (whole numbers in range, missing allowed) instead of the
        simulated questionnaire's twelve, any other column is refused, and the columns a
        questionnaire may lack (``customer_id``, ``wave``, times, ``status``, ``nps``,
        ``csat``, ``ces``, comments) are optional. ``None``: the simulated questionnaire.

    Returns
    -------
    pandas.DataFrame
        ``df`` itself, when it holds to the contract.

    Raises
    ------
    ContractError
        Listing every violation: table, column, row (index label) and value.
    KeyError
        When ``table`` is not a contract table.

    Examples
    --------
    >>> import pandas as pd
    >>> from crm_lib.contract.schemas import validate, ContractError
    >>> bad = pd.DataFrame({"event_id": ["e1"], "visitor_id": ["v1"],
    ...     "customer_id": pd.array([None], dtype="string"),
    ...     "occurred_at": pd.to_datetime(["2025-01-01"], utc=True),
    ...     "event_type": ["teleport"], "channel": ["email"]}).astype(
    ...     {"event_id": "string", "visitor_id": "string", "event_type": "string",
    ...      "channel": "string"})
    >>> try:
    ...     validate(bad, "events")
    ... except ContractError as e:
    ...     print(e.failures[["column", "row", "value"]].to_string(index=False))
        column  row    value
    event_type    0 teleport
    """
    if table not in SCHEMAS:
        raise KeyError(f"unknown contract table {table!r}; known: {', '.join(SCHEMAS)}")
    schema = SCHEMAS[table] if vocabulary is None else _with_vocabulary(table, vocabulary)
    if items is not None:
        if table != "survey_responses":
            raise KeyError(f"items= applies to survey_responses, not {table}")
        schema = _with_items(schema, items)
    try:
        schema.validate(_utc_labelled(df), lazy=True)
    except pa.errors.SchemaErrors as err:
        raise ContractError(table, _failures_frame(table, df, err), source) from None
    return df


#: Zone names that mean UTC (DuckDB and Arrow write ``Etc/UTC``; the contract says ``UTC``).
_UTC_ALIASES = frozenset({"UTC", "Etc/UTC", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu"})


def _utc_labelled(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every timestamp column whose zone is another name of UTC labelled ``UTC``.

    The instants are the same; only the label differs, so the contract's dtype check
    passes for tables read back from a warehouse. Other zones are left as they are (and
    fail the check).
    """
    relabel = {
        c: _TS
        for c, dtype in df.dtypes.items()
        if isinstance(dtype, pd.DatetimeTZDtype)
        and str(dtype.tz) in _UTC_ALIASES
        and str(dtype.tz) != "UTC"
        and dtype.unit == "us"
    }
    return df.astype(relabel) if relabel else df


def _with_vocabulary(table: str, vocabulary: Mapping[str, Sequence[str]]) -> pa.DataFrameSchema:
    """The schema of ``table`` with a dataset's own allowed values for its categorical columns.

    Columns of :data:`crm_lib.contract.dataset.CONFIGURABLE_COLUMNS` named in
    ``vocabulary`` accept those values (and ``unknown`` where the missing-value policy
    keeps a blank field as ``unknown``); the others accept any value.
    """
    from crm_lib.contract.dataset import CONFIGURABLE_COLUMNS

    allowed = CONFIGURABLE_COLUMNS.get(table, ())
    unknown = [c for c in vocabulary if c not in allowed]
    if unknown:
        raise KeyError(
            f"no configurable vocabulary for {table}.{unknown[0]}; configurable columns of "
            f"{table}: {', '.join(allowed) or 'none'}"
        )
    schema = SCHEMAS[table]
    changes = {}
    for column in allowed:
        keep = [c for c in schema.columns[column].checks if not _is_isin(c)]
        if column in vocabulary:
            allowed_values = list(vocabulary[column])
            if missing_policy(table, column) == UNKNOWN and UNKNOWN not in allowed_values:
                allowed_values.append(UNKNOWN)  # a blank field kept as 'unknown' stays valid
            keep.append(pa.Check.isin(allowed_values))
        changes[column] = {"checks": keep}
    return schema.update_columns(changes)


#: Columns of ``survey_responses`` a questionnaire of its own may lack.
SURVEY_OPTIONAL = (
    "customer_id",
    "wave",
    "started_at",
    "submitted_at",
    "status",
    "nps",
    "csat",
    "ces",
    "comment",
    "comment_language",
)


def _with_items(
    schema: pa.DataFrameSchema, items: Mapping[str, tuple[int, int]]
) -> pa.DataFrameSchema:
    """The survey schema with a questionnaire's own items instead of the simulated ones."""
    clash = sorted(set(items) & (set(schema.columns) - set(LIKERT_ITEMS)))
    if clash:
        raise KeyError(f"questionnaire items {clash} clash with survey_responses columns")
    schema = schema.remove_columns([c for c in LIKERT_ITEMS if c in schema.columns])
    schema = schema.update_columns({c: {"required": False} for c in SURVEY_OPTIONAL})
    added = {
        item: pa.Column(
            "Int64",
            checks=pa.Check.in_range(int(lo), int(hi)),
            nullable=True,
            description=f"Questionnaire item {item} ({lo}-{hi}).",
        )
        for item, (lo, hi) in items.items()
    }
    return schema.add_columns(added)


def _is_isin(check: Any) -> bool:
    return getattr(check, "name", None) == "isin"


def pii_columns(table: str) -> list[str]:
    """Columns of ``table`` that hold personal identifiers (never shown in a report)."""
    return [name for name, col in SCHEMAS[table].columns.items() if (col.metadata or {}).get("pii")]


def missing_policy(table: str, column: str) -> str:
    """What happens to a blank value of ``column`` (see the module notes).

    Returns
    -------
    str
        ``keep`` (nullable column), else the column's policy: ``unknown``, ``impute`` or
        ``quarantine`` (the default for a required column).
    """
    col = SCHEMAS[table].columns[column]
    if col.nullable:
        return "keep"
    return (col.metadata or {}).get("missing", "quarantine")


def contract_table(table: str | None = None) -> pd.DataFrame:
    """The contract documented column by column.

    Returns
    -------
    pandas.DataFrame
        Columns ``table, column, dtype, nullable, unique, unit, pii, missing, checks,
        description`` (``missing``: the missing-value policy, :func:`missing_policy`).
    """
    rows = []
    for name, schema in SCHEMAS.items():
        if table is not None and name != table:
            continue
        for col_name, col in schema.columns.items():
            meta = col.metadata or {}
            rows.append(
                {
                    "table": name,
                    "column": col_name,
                    "dtype": str(col.dtype),
                    "nullable": col.nullable,
                    "unique": bool(col.unique),
                    "unit": meta.get("unit", ""),
                    "pii": bool(meta.get("pii", False)),
                    "missing": missing_policy(name, col_name),
                    "checks": "; ".join(str(c) for c in col.checks),
                    "description": col.description,
                }
            )
    return pd.DataFrame(rows)


def empty(table: str) -> pd.DataFrame:
    """An empty DataFrame with the contract's columns and dtypes for ``table``."""
    schema = SCHEMAS[table]
    return pd.DataFrame(
        {name: pd.Series(dtype=str(col.dtype)) for name, col in schema.columns.items()}
    )
