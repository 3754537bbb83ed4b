"""Quarantine: rows that break a parse rule or the data contract, kept with the reason.

A row that cannot be trusted is never dropped silently: it goes to a quarantine table with
one record per problem,

``source, row, column, value, rule, reason, raw``

where ``row`` is the 1-based line in the source file including the header line (for CSV
and Excel; the line for JSON Lines; the 1-based record number for Parquet and SQL),
``rule`` a short machine-readable name (``date``, ``number``, ``required``, ``contract:...``)
and ``raw`` the whole raw row as JSON text. Every load reconciles
``rows_in == rows_accepted + rows_quarantined`` (:func:`reconcile`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

__all__ = [
    "QUARANTINE_COLUMNS",
    "ReconciliationError",
    "Reconciliation",
    "empty_quarantine",
    "quarantine_records",
    "quarantine_rows",
    "reconcile",
]

QUARANTINE_COLUMNS = ["source", "row", "column", "value", "rule", "reason", "raw"]
"""Columns of a quarantine table (all text except ``row``, an int)."""


class ReconciliationError(AssertionError):
    """Rows in != rows accepted + rows quarantined: a row was lost or counted twice."""


@dataclass(frozen=True)
class Reconciliation:
    """Row counts of one load.

    Attributes
    ----------
    source : str
        File or query.
    rows_in, rows_accepted, rows_quarantined : int
        Rows read, rows kept, distinct rows sent to quarantine.
    """

    source: str
    rows_in: int
    rows_accepted: int
    rows_quarantined: int

    def summary(self) -> pd.DataFrame:
        """One row: ``source, rows_in, rows_accepted, rows_quarantined, balanced``."""
        return pd.DataFrame(
            [
                {
                    "source": self.source,
                    "rows_in": self.rows_in,
                    "rows_accepted": self.rows_accepted,
                    "rows_quarantined": self.rows_quarantined,
                    "balanced": self.rows_in == self.rows_accepted + self.rows_quarantined,
                }
            ]
        )


def empty_quarantine() -> pd.DataFrame:
    """An empty quarantine table with the columns of :data:`QUARANTINE_COLUMNS`."""
    out = pd.DataFrame({c: pd.Series(dtype="str") for c in QUARANTINE_COLUMNS})
    return out.astype({"row": "int64"})


def _raw_json(raw: pd.DataFrame, rows) -> dict:
    sub = raw.loc[list(dict.fromkeys(rows))]
    return {
        label: json.dumps(
            {k: (None if not isinstance(v, str) else v) for k, v in rec.items()},
            ensure_ascii=False,
        )
        for label, rec in zip(sub.index, sub.to_dict("records"), strict=True)
    }


def quarantine_records(
    raw: pd.DataFrame,
    problems: list[dict],
    *,
    source: str,
) -> pd.DataFrame:
    """Build quarantine records for ``problems`` found in ``raw``.

    Parameters
    ----------
    raw : pandas.DataFrame
        The raw table as read (text cells), indexed by row number.
    problems : list of dict
        Each with ``row`` (an index label of ``raw``), ``column``, ``value``, ``rule``,
        ``reason``.
    source : str
        File or query name.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`QUARANTINE_COLUMNS`, sorted by row.
    """
    if not problems:
        return empty_quarantine()
    out = pd.DataFrame.from_records(problems, columns=["row", "column", "value", "rule", "reason"])
    raws = _raw_json(raw, out["row"].tolist())
    out["raw"] = out["row"].map(raws)
    out["source"] = source
    out["value"] = out["value"].map(lambda v: None if v is None else str(v))
    out["column"] = out["column"].map(lambda v: None if v is None else str(v))
    out = out[QUARANTINE_COLUMNS].astype({"row": "int64"})
    return out.sort_values(["row", "column"], kind="stable", na_position="first").reset_index(
        drop=True
    )


def _as_raw_text(data: pd.DataFrame) -> pd.DataFrame:
    """Every cell of a typed table as text (missing -> ``None``), for the ``raw`` column."""
    out = {}
    for c in data.columns:
        out[str(c)] = [
            None
            if (v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v))
            else str(v)
            for v in data[c].tolist()
        ]
    return pd.DataFrame(out, index=data.index, dtype=object)


def quarantine_rows(
    data: pd.DataFrame,
    mask: pd.Series,
    *,
    source: str,
    rule: str,
    reason: str | pd.Series,
    column: str | None = None,
    raw: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Quarantine records for the rows of ``data`` where ``mask`` is True (one per row).

    Parameters
    ----------
    data : pandas.DataFrame
        A table indexed by source row (as :func:`crm_lib.intake.io.apply_mapping` returns it).
    mask : pandas.Series of bool
        Rows to quarantine (aligned on ``data.index``).
    source : str
        File or table name.
    rule : str
        Short machine-readable rule name (``return_without_order``, ``test_order``, ...).
    reason : str or pandas.Series of str
        Why, per row (a Series is aligned on ``data.index``).
    column : str, optional
        The column the rule looked at; its value goes to ``value``.
    raw : pandas.DataFrame, optional
        The raw text table the rows came from (same index); default: ``data`` as text.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`QUARANTINE_COLUMNS`, sorted by row.
    """
    if not data.index.is_unique:
        raise ValueError(
            f"{source}: the table index must identify rows (source row numbers) to quarantine "
            "them; it has duplicate labels"
        )
    mask = mask.reindex(data.index).fillna(False).astype(bool)
    rows = data.index[mask.to_numpy()]
    if len(rows) == 0:
        return empty_quarantine()
    reasons = (
        reason.reindex(rows).astype(str).tolist()
        if isinstance(reason, pd.Series)
        else [reason] * len(rows)
    )
    values = data.loc[rows, column].tolist() if column is not None else [None] * len(rows)
    problems = [
        {"row": r, "column": column, "value": v, "rule": rule, "reason": why}
        for r, v, why in zip(rows, values, reasons, strict=True)
    ]
    base = raw if raw is not None else _as_raw_text(data.loc[rows])
    return quarantine_records(base, problems, source=source)


def reconcile(
    source: str, rows_in: int, accepted: pd.DataFrame, quarantine: pd.DataFrame
) -> Reconciliation:
    """Check ``rows_in == rows_accepted + rows_quarantined`` and return the counts.

    Raises
    ------
    ReconciliationError
        When the counts do not add up, or a row is both accepted and quarantined.
    """
    q_rows = set(quarantine["row"].tolist())
    both = q_rows & set(accepted.index.tolist())
    rec = Reconciliation(source, int(rows_in), len(accepted), len(q_rows))
    if both or rec.rows_in != rec.rows_accepted + rec.rows_quarantined:
        raise ReconciliationError(
            f"{source}: rows do not reconcile: {rec.rows_in} in != {rec.rows_accepted} accepted "
            f"+ {rec.rows_quarantined} quarantined"
            + (f" (rows both accepted and quarantined: {sorted(both)[:10]})" if both else "")
        )
    return rec
