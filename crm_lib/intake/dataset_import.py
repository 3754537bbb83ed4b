"""``crm data import``: build a dataset folder from a user's own exports.

One call reads one export (CSV, text aligned with blanks, fixed-width, Excel, Parquet or
JSON Lines) with a column mapping, and adds the contract table it maps to to the dataset
folder::

    <out>/dataset.yml               name, time zone, currency, vocabularies
    <out>/tables/<table>.parquet     the accepted rows, contract columns only
    <out>/raw/<name>.parquet         a query's result as read (SQL imports), with
    <out>/raw/<name>.json            the query and the database (password masked)
    <out>/intake.duckdb              what the import did: every load with its lineage
                                     (file checksum, mapping, rows in / accepted /
                                     quarantined) and the quarantined rows with the reason

The studies read the folder with :func:`crm_lib.datasets.load_dataset`. Raw rows stay in
``intake.duckdb`` beside the data, never in a report. A SQL import first saves the
query's result under ``raw/`` (the immutable input of that import, so the load can be
traced and repeated) and then imports that file like any export. Loading the same file twice adds
nothing (:func:`crm_lib.intake.io.ingest` is idempotent); loading a second file into the
same table appends it.

Defaults come from the data, not from the simulated world:

- ``dataset.yml`` is written on the first import when the folder has none: the name is
  the folder's, the time zone the one the mapping reads dates in, the currency the
  mapping's constant ``currency`` (else the single value of the column);
- the vocabulary of a categorical column is what ``dataset.yml`` declares; where it
  declares nothing, the values the mapping can produce (its ``labels`` or its constant)
  are the vocabulary, and a free-text column is open.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from crm_lib.contract import schemas
from crm_lib.contract.dataset import (
    CONFIGURABLE_COLUMNS,
    DATASET_FILE,
    DatasetConfig,
    read_config,
    write_config,
)
from crm_lib.intake import io

__all__ = ["INTAKE_DB", "ImportResult", "import_file", "import_sql", "mapping_vocabulary"]

INTAKE_DB = "intake.duckdb"


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_file` did.

    Attributes
    ----------
    status : str
        As :attr:`crm_lib.intake.io.IngestResult.status` (``loaded``, ``skipped: already
        loaded``, ``mostly quarantined``, ``all quarantined``).
    table : str
        The contract table the file was mapped to.
    rows_in, rows_accepted, rows_quarantined : int
        Of this file (``rows_in = rows_accepted + rows_quarantined``).
    rows_in_table : int
        Rows of ``tables/<table>.parquet`` after the import (all loads).
    folder : pathlib.Path
        The dataset folder.
    config : DatasetConfig
        Its ``dataset.yml``.
    """

    status: str
    table: str
    rows_in: int
    rows_accepted: int
    rows_quarantined: int
    rows_in_table: int
    folder: Path
    config: DatasetConfig

    def summary_line(self) -> str:
        """One line for a terminal or a log."""
        return (
            f"{self.table}: {self.rows_in:,} rows in, {self.rows_accepted:,} accepted, "
            f"{self.rows_quarantined:,} quarantined ({self.status}); the table now has "
            f"{self.rows_in_table:,} rows in {self.folder / 'tables' / (self.table + '.parquet')}"
        )


def mapping_vocabulary(mapping: io.Mapping) -> dict[str, tuple[str, ...]]:
    """The values a mapping can write into the configurable columns of its table.

    A ``label`` rule can write its labels' targets, a constant its value; a column the
    mapping copies as free text is left out (its vocabulary is open).
    """
    out: dict[str, tuple[str, ...]] = {}
    for column in CONFIGURABLE_COLUMNS.get(mapping.table, ()):
        rule = mapping.columns.get(column)
        if rule is not None and rule.get("type") == "label" and rule.get("labels"):
            out[column] = tuple(dict.fromkeys(str(v) for v in rule["labels"].values()))
        elif column in mapping.constants and mapping.constants[column] is not None:
            out[column] = (str(mapping.constants[column]),)
    return out


def _first_config(
    folder: Path, mapping: io.Mapping, data: pd.DataFrame | None, **given
) -> DatasetConfig:
    zones = {
        r["timezone"]
        for r in mapping.columns.values()
        if r.get("type") == "datetime" and r.get("timezone")
    }
    currency = mapping.constants.get("currency")
    if (
        currency is None
        and data is not None
        and "currency" in data
        and data["currency"].nunique() == 1
    ):
        currency = str(data["currency"].iloc[0])
    return DatasetConfig(
        name=given.get("name") or folder.resolve().name,
        timezone=given.get("timezone") or (zones.pop() if len(zones) == 1 else "UTC"),
        currency=given.get("currency") or currency,
    )


def import_file(
    path: str | Path,
    mapping: str | Path | dict | io.Mapping,
    out: str | Path,
    *,
    name: str | None = None,
    timezone: str | None = None,
    currency: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    sheet: str | int | None = None,
    widths: Sequence[int] | None = None,
    max_quarantined_share: float = 0.5,
) -> ImportResult:
    """Read one export with a mapping and add its contract table to a dataset folder.

    Parameters
    ----------
    path : str or pathlib.Path
        The export.
    mapping : str, path, dict or Mapping
        A shipped mapping's name (:func:`crm_lib.intake.io.available_mappings`), a YAML
        file or a dict (see :mod:`crm_lib.intake.io`).
    out : str or pathlib.Path
        The dataset folder (created if needed).
    name, timezone, currency : str, optional
        For a new ``dataset.yml`` only (see the module docstring for the defaults); an
        existing file is never changed.
    encoding, sep, sheet, widths
        How to read the file (:func:`crm_lib.intake.io.read_table`).
    max_quarantined_share : float
        Above this share of quarantined rows the status says so and a warning names the
        reasons (:func:`crm_lib.intake.io.ingest`).

    Returns
    -------
    ImportResult
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    m = io.load_mapping(mapping)
    has_config = (folder / DATASET_FILE).is_file()
    config = read_config(folder) if has_config else _first_config(
        folder, m, None, name=name, timezone=timezone, currency=currency
    )  # fmt: skip
    vocabulary = {**mapping_vocabulary(m), **config.vocabulary(m.table)}
    db = folder / INTAKE_DB
    result = io.ingest(
        path,
        m,
        warehouse=db,
        encoding=encoding,
        sep=sep,
        sheet=sheet,
        widths=widths,
        vocabulary=vocabulary,
        max_quarantined_share=max_quarantined_share,
    )
    table = _export(db, m.table, folder)
    changed = not has_config
    if not has_config:  # now with the data: a single currency in it counts too
        config = _first_config(folder, m, table, name=name, timezone=timezone, currency=currency)
    if vocabulary and not config.vocabulary(m.table):  # record what the import enforced
        config, changed = _declare(config, m.table, vocabulary), True
    if changed:
        write_config(config, folder)
    rec = result.lineage
    return ImportResult(
        status=result.status,
        table=m.table,
        rows_in=int(rec.get("rows_in") or 0),
        rows_accepted=int(rec.get("rows_accepted") or 0),
        rows_quarantined=int(rec.get("rows_quarantined") or 0),
        rows_in_table=len(table),
        folder=folder,
        config=config,
    )


def _declare(config: DatasetConfig, table: str, vocabulary: dict[str, Any]) -> DatasetConfig:
    vocabularies = {t: dict(c) for t, c in config.vocabularies.items()}
    vocabularies[table] = {c: tuple(v) for c, v in vocabulary.items()}
    return dataclasses.replace(config, vocabularies=vocabularies)


def _export(db: Path, table: str, folder: Path) -> pd.DataFrame:
    """Write the accepted rows of ``table`` (every load) to ``tables/<table>.parquet``."""
    from crm_lib.intake import warehouse as wh

    columns = list(schemas.SCHEMAS[table].columns)
    with wh.connect(db) as con:
        names = {r[0] for r in con.execute("show tables").fetchall()}
        if table not in names:
            data = schemas.empty(table)
        else:
            cols = ", ".join(f'"{c}"' for c in columns)
            data = con.sql(f'select {cols} from "{table}"').to_arrow_table().to_pandas()
    for col, dtype in schemas.empty(table).dtypes.items():
        if isinstance(dtype, pd.DatetimeTZDtype):
            data[col] = pd.to_datetime(data[col], utc=True).astype(dtype)
        else:
            data[col] = data[col].astype(dtype)
    (folder / "tables").mkdir(exist_ok=True)
    tmp = folder / "tables" / f".{table}.parquet.partial"
    data.to_parquet(tmp, index=False)
    tmp.replace(folder / "tables" / f"{table}.parquet")
    return data


def snapshot_query(url: str, query: str, folder: str | Path, stem: str | None = None) -> Path:
    """Run a query and save its result as ``<folder>/<stem>.parquet``; return that path.

    Every value is kept as text (:func:`crm_lib.intake.io.read_sql`); ``<stem>.json``
    beside it records the query, the database URL without its password, the time and the
    row count. ``stem`` defaults to ``query-<UTC time>``.
    """
    import json
    from datetime import UTC, datetime

    folder = Path(folder)
    raw = io.read_sql(query, url)
    now = datetime.now(UTC)
    stem = stem or f"query-{now:%Y%m%dT%H%M%SZ}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.parquet"
    raw.reset_index(drop=True).to_parquet(path, index=False)
    meta = {"database": io.safe_url(url), "query": query, "read_at": f"{now:%Y-%m-%dT%H:%M:%SZ}"}
    meta["rows"] = len(raw)
    (folder / f"{stem}.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return path


def import_sql(
    url: str,
    query: str,
    mapping: str | Path | dict | io.Mapping,
    out: str | Path,
    *,
    name: str | None = None,
    snapshot: str | None = None,
    timezone: str | None = None,
    currency: str | None = None,
    max_quarantined_share: float = 0.5,
) -> ImportResult:
    """Run a query on a CRM's database (SQLAlchemy URL) and import its rows like a file.

    The result is saved as ``<out>/raw/<snapshot>.parquet`` (every value as text, as
    :func:`crm_lib.intake.io.read_sql` returns it) with ``<snapshot>.json`` holding the
    query, the database URL without its password and the time; that file then goes through
    :func:`import_file`, so the lineage records its checksum and the same result loaded
    twice adds nothing.

    Parameters
    ----------
    url : str
        SQLAlchemy URL, e.g. ``sqlite:///crm.db`` or
        ``postgresql+psycopg://user@host/db`` (the ``postgres`` extra installs the driver).
    query : str
        A SELECT statement.
    mapping, out, name, timezone, currency, max_quarantined_share
        As in :func:`import_file`.
    snapshot : str, optional
        File name of the snapshot (default: the mapping's table and the UTC time).

    Returns
    -------
    ImportResult
    """
    folder = Path(out)
    m = io.load_mapping(mapping)
    if snapshot is None:
        from datetime import UTC, datetime

        snapshot = f"{m.table}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    path = snapshot_query(url, query, folder / "raw", snapshot)
    return import_file(
        path,
        m,
        folder,
        name=name,
        timezone=timezone,
        currency=currency,
        max_quarantined_share=max_quarantined_share,
    )
