"""Journeys: the distinct paths of a touchpoint log, with their counts (notebook 08)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crm_lib import engine as _engine

__all__ = ["Journeys", "build_journeys", "journeys_from_paths"]

SEP = _engine.PATH_SEPARATOR


@dataclass
class Journeys:
    """Distinct journey paths and what attribution needs of them.

    Attributes
    ----------
    paths : DataFrame
        ``path, journeys, conversions, nulls`` (one row per distinct path).
    channels : list of str
        Channels in the paths, sorted.
    decay : DataFrame
        ``path, channel, credit``: time-decay credit (see :func:`build_journeys`).
    empty_journeys, empty_conversions : int
        Customers with no touch in the window (known only when the customers are given)
        and how many of them converted; used as the no-touch baseline of the
        incremental Shapley model.
    conversions_total : int
        All conversions, with or without a journey.
    lookback_days, half_life_days : float
    """

    paths: pd.DataFrame
    channels: list[str]
    decay: pd.DataFrame | None = None
    empty_journeys: int = 0
    empty_conversions: int = 0
    conversions_total: int | None = None
    lookback_days: float | None = None
    half_life_days: float | None = None
    _touch: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        split = self.paths["path"].astype(str).str.split(SEP, regex=False)
        lengths = split.str.len().to_numpy(dtype=np.int64)
        flat = split.explode().to_numpy(dtype=object)
        codes = pd.Categorical(flat, categories=self.channels).codes.astype(np.int64)
        if (codes < 0).any():
            raise ValueError("a path holds a channel not in `channels`")
        pidx = np.repeat(np.arange(len(lengths)), lengths)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        pos = np.arange(codes.shape[0]) - np.repeat(starts, lengths)
        self._touch = {"path": pidx, "channel": codes, "pos": pos, "length": lengths[pidx]}

    @property
    def k(self) -> int:
        return len(self.channels)

    @property
    def n_journeys(self) -> int:
        return int(self.paths["journeys"].sum())

    @property
    def n_conversions(self) -> int:
        """Conversions with a journey (the conversions the models share out)."""
        return int(self.paths["conversions"].sum())

    @property
    def baseline_rate(self) -> float:
        """Conversion rate of customers without a touch (0 when not known)."""
        return self.empty_conversions / self.empty_journeys if self.empty_journeys else 0.0

    def counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The observed counts as a batch of one: conversions and nulls per distinct path
        (1 x paths), conversions and customers without a touch (1,)."""
        return (
            self.paths["conversions"].to_numpy(float)[None, :],
            self.paths["nulls"].to_numpy(float)[None, :],
            np.array([self.empty_conversions], float),
            np.array([self.empty_journeys], float),
        )

    def summary(self) -> pd.DataFrame:
        """One row of counts: journeys, converting, null, distinct paths, touches, ..."""
        touches = int((self.paths["journeys"] * self._lengths()).sum())
        return pd.DataFrame(
            [
                {
                    "journeys": self.n_journeys,
                    "converting_journeys": self.n_conversions,
                    "null_journeys": int(self.paths["nulls"].sum()),
                    "distinct_paths": len(self.paths),
                    "touches": touches,
                    "mean_touches": touches / max(self.n_journeys, 1),
                    "channels": self.k,
                    "conversions_without_journey": (
                        None
                        if self.conversions_total is None
                        else self.conversions_total - self.n_conversions
                    ),
                    "customers_without_touch": self.empty_journeys,
                }
            ]
        )

    def _lengths(self) -> np.ndarray:
        return np.bincount(self._touch["path"], minlength=len(self.paths))


def journeys_from_paths(
    paths: pd.DataFrame,
    *,
    channels: list[str] | None = None,
    decay: pd.DataFrame | None = None,
    empty_journeys: int = 0,
    empty_conversions: int = 0,
) -> Journeys:
    """:class:`Journeys` from a table ``path, conversions, nulls`` (paths joined by ``" > "``).

    >>> j = journeys_from_paths(pd.DataFrame({"path": ["a > b", "b"], "conversions": [1, 0],
    ...                                       "nulls": [0, 2]}))
    >>> j.channels, j.n_journeys
    (['a', 'b'], 3)
    """
    missing = {"path", "conversions", "nulls"} - set(paths.columns)
    if missing:
        raise ValueError(
            f"paths needs the columns path, conversions, nulls; missing {sorted(missing)}"
        )
    p = paths[["path", "conversions", "nulls"]].copy()
    p["conversions"] = p["conversions"].astype("int64")
    p["nulls"] = p["nulls"].astype("int64")
    if (p[["conversions", "nulls"]] < 0).any().any():
        raise ValueError("conversions and nulls must be counts (>= 0)")
    p.insert(1, "journeys", p["conversions"] + p["nulls"])
    if channels is None:
        channels = sorted(set(p["path"].str.split(SEP, regex=False).explode()))
    return Journeys(
        p.reset_index(drop=True),
        list(channels),
        decay=decay,
        empty_journeys=empty_journeys,
        empty_conversions=empty_conversions,
    )


def build_journeys(
    touchpoints: Any,
    conversions: Any,
    *,
    customers: pd.DataFrame | None = None,
    customer_col: str = "customer_id",
    time_col: str = "touched_at",
    channel_col: str = "channel",
    conversion_time_col: str = "ordered_at",
    amount_col: str | None = "amount",
    lookback_days: float = 30.0,
    half_life_days: float = 7.0,
    engine: Any = None,
) -> Journeys:
    """Build the journeys on the engine (SQL; DuckDB by default, Spark alike).

    A customer's journey is her touches in time order (ties by channel) up to and
    including the time of her first conversion, or, if she never converted, up to her
    last touch (a **null path**, kept); touches more than ``lookback_days`` before that end
    are left out, and touches after the conversion belong to no journey.

    Parameters
    ----------
    touchpoints : DataFrame, Parquet path or table name
        ``customer_id, touched_at, channel`` (the ``touchpoints`` contract table).
    conversions : DataFrame, Parquet path or table name
        By default the transaction log: the conversion is the **first purchase** (first
        line with a positive ``amount``). A table of conversion times works with
        ``conversion_time_col="converted_at", amount_col=None``.
    customers : DataFrame, optional
        All customers (``customer_col``): those without a touch in the window are counted
        (and their conversions), giving the no-touch baseline of the incremental
        Shapley model.
    lookback_days : float
        Window before the end of a journey (parameter of the study).
    half_life_days : float
        Half-life of the time-decay model: a touch :math:`\\Delta t` days before the end
        weighs :math:`2^{-\\Delta t / h}`.
    engine : str or backend, optional
        ``"duckdb"`` (default, or ``$CRM_ENGINE``), ``"spark"``, ...

    Returns
    -------
    Journeys
    """
    if lookback_days <= 0 or half_life_days <= 0:
        raise ValueError("lookback_days and half_life_days must be positive numbers of days")
    paths, decay, counts = _engine.journey_paths(
        touchpoints,
        conversions,
        customer_col=customer_col,
        time_col=time_col,
        channel_col=channel_col,
        conversion_time_col=conversion_time_col,
        amount_col=amount_col,
        lookback_days=lookback_days,
        half_life_days=half_life_days,
        engine=engine,
    )
    channels = sorted(set(paths["path"].str.split(SEP, regex=False).explode()))
    empty = empty_conv = 0
    if customers is not None:
        empty = int(customers[customer_col].nunique()) - counts["journeys"]
        empty_conv = counts["conversions"] - int(paths["conversions"].sum())
        if empty < 0 or empty_conv < 0 or empty_conv > empty:
            raise ValueError(
                "the touchpoints or conversions name customers missing from `customers`"
            )
    return Journeys(
        paths,
        channels,
        decay=decay,
        empty_journeys=empty,
        empty_conversions=empty_conv,
        conversions_total=counts["conversions"],
        lookback_days=lookback_days,
        half_life_days=half_life_days,
    )
