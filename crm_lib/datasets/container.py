"""The containers a simulation fills: :class:`World` (the tables) and :class:`GroundTruth`.

Kept apart from the simulator (:mod:`crm_lib.datasets.world`) and the dirt it plants
(:mod:`crm_lib.datasets.dirt`) so that both can name them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crm_lib.contract import schemas
from crm_lib.contract.dataset import DatasetConfig

__all__ = ["GroundTruth", "MissingTableError", "World", "currency_of"]


@dataclass
class GroundTruth:
    """What generated the world.

    Attributes
    ----------
    params : dict
        All generating parameters (:class:`WorldParams` as a dict) plus the period.
    customers : pandas.DataFrame
        One row per customer: ``customer_id, is_buyer, first_purchase_at, T_weeks,
        lam, p_drop, alive_at_end, dropout_at, mean_order_value, satisfaction`` (latent,
        standardised), ``construct_<name>`` (latent driver scores).
    funnel : dict
        True stage conversion probabilities (``visit_to_signup`` by channel and overall,
        ``signup_to_cart``, ``cart_to_purchase``).
    experiment : dict
        True effects of the campaign on the assigned customers: ``ate_conversion``
        (absolute, in probability), ``control_conversion``, ``relative_lift``,
        ``ate_revenue``, ``nps_effect_latent``, ``ate_nps_score`` and ``ate_nps_points``.
    experiment_customers : pandas.DataFrame
        Per assigned customer: ``customer_id, variant, alive_at_start, tau, p_control,
        p_treatment, cate`` (true conditional effect on conversion).
    survey : dict
        Driver weights, the latent correlation matrix, the true relative importance of
        each construct (Shapley share of R^2 in the population), R^2, item loadings.
    dirty_records : pandas.DataFrame
        Every planted dirty record of the raw exports: ``table, key, kind, detail``.
    survey_quality : pandas.DataFrame
        Planted survey quality problems: ``response_id, issue``.
    studies : dict
        Further truth by study name (JSON-serialisable dicts), e.g. ``studies["churn"]``;
        saved in ``truth/truth.json`` under ``"studies"``.
    frames : dict of pandas.DataFrame
        Further truth tables by name, saved as ``truth/<name>.parquet``.
    """

    params: dict[str, Any]
    customers: pd.DataFrame
    funnel: dict[str, Any]
    experiment: dict[str, Any]
    experiment_customers: pd.DataFrame
    survey: dict[str, Any]
    dirty_records: pd.DataFrame
    survey_quality: pd.DataFrame
    studies: dict[str, Any] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)


CORE_TABLES = (
    "customers",
    "transactions",
    "events",
    "experiment_assignments",
    "experiment_outcomes",
    "survey_responses",
)
"""The six tables the first studies were built on: fields of :class:`World`. Any further
contract table (``schemas.SCHEMAS``) is kept in ``World.extra`` and read as an attribute."""


class MissingTableError(LookupError):
    """A study needs a contract table the dataset does not have."""


def currency_of(transactions: pd.DataFrame | None) -> str | None:
    """The one ISO 4217 code of the ``currency`` column of order lines, else None.

    None when there is no such column, no code, or more than one.
    """
    if transactions is None or "currency" not in transactions.columns:
        return None
    codes = transactions["currency"].dropna().unique()
    return str(codes[0]) if len(codes) == 1 else None


@dataclass
class World:
    """A dataset: the contract tables it has, its description, and its truth if simulated.

    A simulated world (``crm data build``) has every table and a :class:`GroundTruth`; a
    user's dataset (``crm data import``, :func:`crm_lib.datasets.load_dataset`) has the
    tables it has (``None`` for the others) and ``truth=None``.
    """

    customers: pd.DataFrame | None
    transactions: pd.DataFrame | None
    events: pd.DataFrame | None
    experiment_assignments: pd.DataFrame | None
    experiment_outcomes: pd.DataFrame | None
    survey_responses: pd.DataFrame | None
    truth: GroundTruth | None
    raw: dict[str, pd.DataFrame] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    config: DatasetConfig | None = None
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __getattr__(self, name: str):
        # Only reached when normal lookup fails: a contract table beyond the six fields
        # above (registered in schemas.SCHEMAS) lives in ``extra``; ``None`` if absent.
        if name != "extra" and name in schemas.SCHEMAS:
            return self.__dict__.get("extra", {}).get(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @classmethod
    def from_tables(cls, tables: dict[str, pd.DataFrame | None], **kwargs: Any) -> World:
        """Build a World from ``{table: frame}``; tables beyond the six fields go to ``extra``."""
        core = {name: tables.get(name) for name in CORE_TABLES}
        extra = {
            name: df for name, df in tables.items() if name not in CORE_TABLES and df is not None
        }
        unknown = sorted(set(extra) - set(schemas.SCHEMAS))
        if unknown:
            raise KeyError(
                f"unknown contract tables {unknown}; known: {', '.join(schemas.SCHEMAS)}"
            )
        extra = {**kwargs.pop("extra", {}), **extra}
        return cls(**core, **kwargs, extra=extra)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The contract tables the dataset has, by name."""
        out = {name: getattr(self, name) for name in schemas.SCHEMAS}
        return {name: df for name, df in out.items() if df is not None}

    @property
    def currency(self) -> str | None:
        """ISO 4217 code of the amounts: ``dataset.yml``'s, else the one code of the data.

        None when the dataset declares none and its transactions carry no code, or several.
        """
        if self.config is not None and self.config.currency:
            return self.config.currency
        return currency_of(self.transactions)

    @property
    def name(self) -> str:
        """The dataset's name (from ``dataset.yml``), or the simulated world's size and seed."""
        if self.config is not None and not self.config.simulated:
            return self.config.name
        return f"simulated world {self.meta.get('size')!r}, seed {self.meta.get('seed')}"

    def require(self, *tables: str, study: str = "this study") -> None:
        """Raise :class:`MissingTableError` naming the first missing table and how to add it."""
        for table in tables:
            if table not in schemas.SCHEMAS:
                raise KeyError(
                    f"unknown contract table {table!r}; known: {', '.join(schemas.SCHEMAS)}"
                )
            if getattr(self, table) is None:
                where = self.meta.get("folder", "the dataset folder")
                raise MissingTableError(
                    f"{study} needs the table {table!r}, which {self.name} does not have: "
                    f"import it into {where} with `crm data import FILE --mapping MAPPING "
                    f"--out {where}` (a mapping whose table is {table}), or write it as "
                    f"{where}/tables/{table}.parquet with the contract's columns "
                    f"(crm_lib.contract.schemas.contract_table({table!r}))"
                )

    def validate(self) -> World:
        """Validate every table against the data contract (and the dataset's vocabularies)."""
        items = None
        if self.config is not None and self.config.instrument and "folder" in self.meta:
            from pathlib import Path

            from crm_lib.contract.dataset import read_item_ranges

            items = read_item_ranges(Path(self.meta["folder"]) / self.config.instrument)
        for name, df in self.tables.items():
            vocabulary = None if self.config is None else self.config.vocabulary(name)
            if self.config is not None and self.config.simulated:
                vocabulary = None  # the contract's reference lists are the simulated world's
            own_items = items if name == "survey_responses" else None
            schemas.validate(df, name, vocabulary=vocabulary, items=own_items)
        return self

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v):,}" for k, v in self.tables.items())
        if self.config is not None and not self.config.simulated:
            return f"Dataset({self.config.name!r}, {sizes})"
        return f"World({self.meta.get('size')!r}, seed={self.meta.get('seed')}, {sizes})"
