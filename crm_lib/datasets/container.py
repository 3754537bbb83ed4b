"""The containers a simulation fills: :class:`World` (the tables) and :class:`GroundTruth`.

Kept apart from the simulator (:mod:`crm_lib.datasets.world`) and the dirt it plants
(:mod:`crm_lib.datasets.dirt`) so that both can name them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crm_lib.contract import schemas

__all__ = ["GroundTruth", "World"]


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
    """

    params: dict[str, Any]
    customers: pd.DataFrame
    funnel: dict[str, Any]
    experiment: dict[str, Any]
    experiment_customers: pd.DataFrame
    survey: dict[str, Any]
    dirty_records: pd.DataFrame
    survey_quality: pd.DataFrame


@dataclass
class World:
    """A simulated world: the contract tables, raw exports and the ground truth."""

    customers: pd.DataFrame
    transactions: pd.DataFrame
    events: pd.DataFrame
    experiment_assignments: pd.DataFrame
    experiment_outcomes: pd.DataFrame
    survey_responses: pd.DataFrame
    truth: GroundTruth
    raw: dict[str, pd.DataFrame] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The contract tables by name."""
        return {name: getattr(self, name) for name in schemas.SCHEMAS}

    def validate(self) -> World:
        """Validate every table against the data contract; return self."""
        for name, df in self.tables.items():
            schemas.validate(df, name)
        return self

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v):,}" for k, v in self.tables.items())
        return f"World({self.meta.get('size')!r}, seed={self.meta.get('seed')}, {sizes})"
