"""The cleaning study's steps as one call: from mapped exports to analysis-ready tables.

:func:`clean_exports` runs, in order, the steps notebook 02 narrates, each one a function
of :mod:`crm_lib.intake.cleaning`, :mod:`crm_lib.intake.dedup` or
:mod:`crm_lib.intake.privacy`:

1. standardise text, e-mail and phone of the customers (:func:`cleaning.normalize_text`, ...);
2. exclude test accounts and their orders by stated rules (:func:`cleaning.exclude_test_data`);
3. check that every order line names a known customer (:func:`cleaning.check_references`);
4. flag, cap or quarantine outlying amounts (:func:`cleaning.handle_outliers`);
5. merge duplicate customers by record linkage and re-attribute their lines
   (:func:`dedup.deduplicate_customers`, :func:`dedup.reattribute`);
6. net returns against their orders (:func:`cleaning.net_returns`);
7. turn the opt-in column into ``may_contact`` (:func:`privacy.consent_flags`).

Every step reconciles (rows in = rows kept + rows set aside) and the call raises when one
does not. Steps that need the customers table (2's account rules, 3, 5, 7) are skipped,
with the reason in :attr:`Cleaned.skipped`, when only orders were exported — as in a
public purchase log such as CDNOW's. Pseudonymisation and writing stay with the caller,
which decides the key and the destination.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from crm_lib.intake import cleaning, dedup, privacy

__all__ = [
    "Cleaned",
    "CleaningOptions",
    "ExportSources",
    "clean_exports",
    "export_sources",
    "ingest_exports",
    "split_ids",
]


@dataclass(frozen=True)
class CleaningOptions:
    """The decisions of a cleaning run (notebook 02's parameters of the same names).

    Attributes
    ----------
    test_email_pattern, test_name_pattern : str or None
        Regular expressions for test accounts (None or ``""`` switches a rule off).
    test_customer_ids : tuple of str
        Known test accounts.
    orphan_policy : {"keep", "quarantine"}
        Order lines whose customer is missing.
    outlier_rule : {"ratio", "iqr", "robust_z"}
    outlier_policy : {"flag", "cap", "quarantine"}
    outlier_k : float or None
        Threshold of the rule; None: its default.
    dedup_threshold : float
        Match probability from which two customer records are merged.
    dedup_seed : int
        Seed of the pair sample that estimates the u probabilities.
    credit_policy : {"quarantine", "cap", "keep"}
        Orders credited more than they were sold for.
    """

    test_email_pattern: str | None = cleaning.TEST_EMAIL_PATTERN
    test_name_pattern: str | None = cleaning.TEST_NAME_PATTERN
    test_customer_ids: tuple[str, ...] = ()
    orphan_policy: str = "keep"
    outlier_rule: str = "ratio"
    outlier_policy: str = "quarantine"
    outlier_k: float | None = None
    dedup_threshold: float = 0.95
    dedup_seed: int = 0
    credit_policy: str = "quarantine"


@dataclass
class Cleaned:
    """What :func:`clean_exports` did, step by step.

    Attributes
    ----------
    customers : pandas.DataFrame or None
        Standardised, without test accounts, one row per person (merged), with
        ``may_contact``; None when no customers export was given.
    transactions : pandas.DataFrame
        Order lines after every step (``outlier`` flag; returns kept as lines).
    orders : pandas.DataFrame
        One row per sale order with gross, returned and net amounts
        (:class:`cleaning.NettedReturns`).
    standardised : dict of str to pandas.DataFrame
        The mapped tables after step 1, before anything was set aside (for a scorecard).
    exclusion : cleaning.TestDataExclusion
    references : cleaning.ReferenceCheck or None
    outliers : cleaning.CleaningResult
        Its ``data`` keeps the column ``outlier_rule`` (the rule in words).
    lines_before_outliers : pandas.DataFrame
        The lines step 4 was given.
    linkage : dedup.DedupResult or None
    reattributed : pandas.Series of bool
        Per line given to step 5 (same index), whether it was moved to a master id.
    lines_before_reattribution : pandas.DataFrame
    netted : cleaning.NettedReturns
    consent : pandas.DataFrame or None
        :func:`privacy.consent_flags` of the merged customers.
    skipped : dict of str to str
        Step -> why it did not run.
    options : CleaningOptions
    """

    customers: pd.DataFrame | None
    transactions: pd.DataFrame
    orders: pd.DataFrame
    standardised: dict[str, pd.DataFrame]
    exclusion: cleaning.TestDataExclusion
    references: cleaning.ReferenceCheck | None
    outliers: cleaning.CleaningResult
    lines_before_outliers: pd.DataFrame
    linkage: dedup.DedupResult | None
    reattributed: pd.Series
    lines_before_reattribution: pd.DataFrame
    netted: cleaning.NettedReturns
    consent: pd.DataFrame | None
    customers_before_dedup: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    options: CleaningOptions = field(default_factory=CleaningOptions)

    @property
    def outlier_rows(self) -> pd.Index:
        """Source rows of the lines the outlier rule flagged (quarantined or kept)."""
        if self.options.outlier_policy == "quarantine":
            return pd.Index(self.outliers.quarantine["row"])
        data = self.outliers.data
        return data.index[data["outlier"].astype(bool)]

    def set_aside(self) -> pd.DataFrame:
        """Every row a cleaning step moved out, with its table, rule and reason."""
        parts = [self.exclusion.excluded]
        for step in (self.outliers, self.netted, self.references):
            if step is not None:
                parts.append(step.quarantine.assign(table="transactions"))
        return pd.concat(parts, ignore_index=True)

    def steps(self) -> pd.DataFrame:
        """One row per step: ``step, table, rows_in, rows_out, rows_set_aside, note``."""
        rows = []

        def add(step: str, table: str, rows_in: int, rows_out: int, note: str = "") -> None:
            rows.append(
                {
                    "step": step,
                    "table": table,
                    "rows_in": int(rows_in),
                    "rows_out": int(rows_out),
                    "rows_set_aside": int(rows_in - rows_out),
                    "note": note,
                }
            )

        for table, rec in self.exclusion.reconciliation.items():
            add("test_data", table, rec.rows_in, rec.rows_accepted)
        if self.references is not None:
            rec = self.references.reconciliation
            add("references", "transactions", rec.rows_in, rec.rows_accepted)
        rec = self.outliers.reconciliation
        add("outliers", "transactions", rec.rows_in, rec.rows_accepted)
        if self.linkage is not None:
            add(
                "deduplication",
                "customers",
                self.customers_before_dedup,
                len(self.customers),
                "merged into a master record, listed in the merge log",
            )
        rec = self.netted.reconciliation
        add("returns", "transactions", rec.rows_in, rec.rows_accepted)
        for step, why in self.skipped.items():
            rows.append({"step": step, "table": "", "note": why})
        return pd.DataFrame(rows)


def _no_customers(step: str) -> str:
    return f"{step} needs the customers export, which was not given"


def clean_exports(
    mapped: Mapping[str, Any],
    *,
    raw: Mapping[str, pd.DataFrame] | None = None,
    sources: Mapping[str, str] | None = None,
    options: CleaningOptions | None = None,
) -> Cleaned:
    """Run the cleaning steps on mapped exports (see the module docstring for the order).

    Parameters
    ----------
    mapped : mapping of str to MappedTable or pandas.DataFrame
        ``transactions`` (required) and ``customers`` (optional): what
        :func:`crm_lib.intake.io.apply_mapping` / :func:`crm_lib.intake.io.read_loads`
        returned (its ``data`` is used), or contract tables indexed by source row.
    raw : mapping of str to pandas.DataFrame, optional
        The exports as read (text), by the same names: set-aside records then carry their
        raw row for review.
    sources : mapping of str to str, optional
        File names for the quarantine records (default: the table names).
    options : CleaningOptions, optional

    Returns
    -------
    Cleaned

    Raises
    ------
    KeyError
        Without ``transactions``.
    cleaning.CleaningError
        When a step does not reconcile (a row lost or counted twice).
    """
    opts = options or CleaningOptions()
    raw = dict(raw or {})
    sources = {"customers": "customers", "transactions": "transactions", **(sources or {})}
    frames = {t: getattr(m, "data", m) for t, m in mapped.items() if m is not None}
    if "transactions" not in frames:
        raise KeyError("clean_exports needs the transactions (orders) export")
    has_customers = frames.get("customers") is not None
    skipped: dict[str, str] = {}

    # 1. standardise
    std: dict[str, pd.DataFrame] = {"transactions": frames["transactions"]}
    if has_customers:
        c = frames["customers"]
        std["customers"] = c.assign(
            **{
                col: fn(c[col])
                for col, fn in (
                    ("name", cleaning.normalize_text),
                    ("email", cleaning.normalize_email),
                    ("phone", cleaning.normalize_phone),
                )
                if col in c
            }
        )
    else:
        skipped["standardise"] = _no_customers("standardising names, e-mails and phones")

    # 2. test accounts and test orders
    customers = std.get("customers")
    if customers is None:
        customers = pd.DataFrame({"customer_id": pd.Series(dtype="string")})
        skipped["test_accounts"] = _no_customers("recognising test accounts by e-mail or name")
    excluded = cleaning.exclude_test_data(
        customers,
        std["transactions"],
        email_pattern=(opts.test_email_pattern or None) if has_customers else None,
        name_pattern=(opts.test_name_pattern or None) if has_customers else None,
        customer_ids=list(opts.test_customer_ids),
        raw={k: v for k, v in raw.items() if k in ("customers", "transactions")} or None,
    )
    _check(excluded.summary(), "rows_excluded", "test-data exclusion")
    customers, lines = (excluded.customers if has_customers else None), excluded.transactions

    # 3. references
    references = None
    if has_customers:
        references = cleaning.check_references(
            lines,
            customers,
            policy=opts.orphan_policy,
            source=sources["transactions"],
            raw=raw.get("transactions"),
        )
        _check(references.summary(), "rows_quarantined", "reference check")
        lines = references.data
    else:
        skipped["references"] = _no_customers("checking that every line names a customer")

    # 4. outliers
    before_outliers = lines
    outliers = cleaning.handle_outliers(
        lines,
        rule=opts.outlier_rule,
        policy=opts.outlier_policy,
        k=opts.outlier_k,
        source=sources["transactions"],
        raw=raw.get("transactions"),
    )
    _check(outliers.summary(), "rows_quarantined", "outlier step")
    lines = outliers.data.drop(columns=["outlier_rule"])

    # 5. duplicates
    linkage = None
    n_before_dedup = 0 if customers is None else len(customers)
    before_reattribution = lines
    moved = pd.Series(False, index=lines.index)
    if has_customers and len(customers) >= 2:
        linkage = dedup.deduplicate_customers(
            customers, threshold=opts.dedup_threshold, seed=opts.dedup_seed
        )
        lines = dedup.reattribute(before_reattribution, linkage)
        moved = before_reattribution["customer_id"].ne(lines["customer_id"])
        customers = linkage.apply(customers)
        if len(lines) != len(before_reattribution):
            raise cleaning.CleaningError("re-attribution must keep every order line")
    elif has_customers:
        skipped["deduplication"] = "record linkage needs at least two customers"
    else:
        skipped["deduplication"] = _no_customers("merging duplicate customers")

    # 6. returns
    netted = cleaning.net_returns(
        lines,
        credit_policy=opts.credit_policy,
        source=sources["transactions"],
        raw=raw.get("transactions"),
    )
    _check(netted.summary(), "rows_quarantined", "netting of returns")

    # 7. consent
    consent = None
    if has_customers:
        consent = privacy.consent_flags(customers)
        customers = customers.assign(may_contact=consent["may_contact"].to_numpy())
    else:
        skipped["consent"] = _no_customers("marketing consent")

    return Cleaned(
        customers=customers,
        transactions=netted.data,
        orders=netted.orders,
        standardised=std,
        exclusion=excluded,
        references=references,
        outliers=outliers,
        lines_before_outliers=before_outliers,
        linkage=linkage,
        reattributed=moved.astype(bool),
        lines_before_reattribution=before_reattribution,
        netted=netted,
        consent=consent,
        customers_before_dedup=n_before_dedup,
        skipped=skipped,
        options=opts,
    )


def _check(summary: pd.DataFrame, out_col: str, step: str) -> None:
    if not summary["balanced"].all():
        raise cleaning.CleaningError(f"the {step} does not reconcile:\n{summary.to_string()}")


def split_ids(text: str | Iterable[str]) -> tuple[str, ...]:
    """``"a, b,,c"`` -> ``("a", "b", "c")``: a comma-separated parameter as ids."""
    items = text.split(",") if isinstance(text, str) else text
    return tuple(i.strip() for i in items if i and i.strip())


@dataclass(frozen=True)
class ExportSources:
    """The exports a collection or cleaning run reads, by contract table.

    Attributes
    ----------
    files : dict of str to pathlib.Path
        ``customers`` (optional) and ``transactions``: a file each (a SQL query's result is
        saved to a file first, so the load has a checksum and can be repeated).
    fingerprint : str
        A short SHA-256 of the files' contents: identifies the data in the warehouse.
    description : str
        Where the data came from, in words (no password, no personal data).
    own : bool
        True for a user's files or database, False for the simulated world's exports.
    """

    files: dict[str, Path]
    fingerprint: str
    description: str
    own: bool


def export_sources(
    *,
    customers_file: str | Path = "",
    orders_file: str | Path = "",
    sql_url: str = "",
    customers_query: str = "",
    orders_query: str = "",
    snapshot_dir: str | Path | None = None,
) -> ExportSources | None:
    """The user's exports named by a notebook's parameters, or None when none is named.

    Files are used as they are; with ``sql_url`` each query's result is saved as
    ``<snapshot_dir>/<table>.parquet`` with ``<table>.json`` (the query and the database
    without its password), as :func:`crm_lib.intake.dataset_import.import_sql` does.

    Raises
    ------
    ValueError
        A query without ``sql_url``, ``sql_url`` without a query, a file and a query for the
        same table, or no orders at all.
    FileNotFoundError
        A named file does not exist.
    """
    from crm_lib.intake import io
    from crm_lib.intake.dataset_import import snapshot_query

    given = {
        "customers": (customers_file, customers_query),
        "transactions": (orders_file, orders_query),
    }
    if not sql_url and not any(f or q for f, q in given.values()):
        return None
    files: dict[str, Path] = {}
    origin = []
    for table, (file, query) in given.items():
        if file and query:
            raise ValueError(f"give either a file or a query for {table}, not both")
        if query and not sql_url:
            raise ValueError(f"a query for {table} needs sql_url (a SQLAlchemy URL)")
        if file:
            path = Path(file).expanduser()
            if not path.is_file():
                raise FileNotFoundError(f"the {table} export {path} does not exist")
            files[table] = path
            origin.append(f"{table}: {path.name}")
        elif query:
            if snapshot_dir is None:
                raise ValueError("a SQL source needs snapshot_dir, the folder for its result")
            files[table] = snapshot_query(sql_url, query, Path(snapshot_dir), table)
            origin.append(f"{table}: a query on {io.safe_url(sql_url)}")
    if sql_url and not (customers_query or orders_query):
        raise ValueError("sql_url is set but no query is: set orders_query (and customers_query)")
    if "transactions" not in files:
        raise ValueError(
            "name the orders export: orders_file (a file) or orders_query (with sql_url); "
            "the customers export is optional"
        )
    digest = hashlib.sha256()
    for table, path in sorted(files.items()):
        digest.update(f"{table}={io.file_sha256(path)}\n".encode())
    return ExportSources(
        files=files,
        fingerprint=digest.hexdigest()[:16],
        description="your exports (" + "; ".join(origin) + ")",
        own=True,
    )


def ingest_exports(
    files: Mapping[str, str | Path],
    mappings: Mapping[str, Any],
    *,
    warehouse: str | Path,
    own: bool,
    only: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Ingest each export with its mapping into the warehouse; return the ingest results.

    Parameters
    ----------
    files, mappings : mapping of table name to path / mapping
    warehouse : path
        The DuckDB file (started with :func:`crm_lib.intake.io.start_warehouse`).
    own : bool
        True for a user's exports: each categorical column accepts what its mapping can
        write (:func:`crm_lib.intake.dataset_import.mapping_vocabulary`; a column copied as
        free text is open), since a user's shop has its own categories, regions and
        channels. False for the simulated world's exports, checked against the contract's
        reference lists.
    only : iterable of str, optional
        Ingest these tables only.

    Returns
    -------
    dict of str to IngestResult
    """
    from crm_lib.intake import io
    from crm_lib.intake.dataset_import import mapping_vocabulary

    out = {}
    for table, path in files.items():
        if only is not None and table not in set(only):
            continue
        m = io.load_mapping(mappings[table])
        vocabulary = mapping_vocabulary(m) if own else None
        out[table] = io.ingest(path, m, warehouse=warehouse, vocabulary=vocabulary)
    return out
