"""Journeys: the distinct paths of a touchpoint log, with their counts (notebook 08)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from crm_lib import engine as _engine

__all__ = ["Journeys", "build_journeys", "journeys_from_paths"]

SEP = _engine.PATH_SEPARATOR


class _Touches(Mapping):
    """The touches of the distinct paths, path after path, each path's in order.

    Stored: ``lengths`` (touches of each path) and, per touch, ``token`` (a number of its
    channel) with ``lut`` (the channel code of each number; None when the numbers are
    the codes). The per-touch arrays ``channel``, ``path`` (its path), ``pos`` (its
    position, 0 first) and ``length`` (its path's length) are derived on first use, so a
    model that reads the sequence of channel numbers (the first-order Markov chain)
    builds none of them.
    """

    KEYS = ("path", "channel", "pos", "length")

    def __init__(self, token: np.ndarray, lengths: np.ndarray, lut: np.ndarray | None = None):
        self.token = token
        self.lengths = lengths
        self.lut = lut

    @cached_property
    def channel(self) -> np.ndarray:
        """Channel code of each touch."""
        if self.lut is None:
            return self.token.astype(np.int64, copy=False)
        return self.lut[self.token]

    @cached_property
    def ends(self) -> np.ndarray:
        """Index of the touch after each path's last touch."""
        return np.cumsum(self.lengths)

    @cached_property
    def starts(self) -> np.ndarray:
        """Index of each path's first touch."""
        return self.ends - self.lengths

    @cached_property
    def _derived(self) -> dict[str, np.ndarray]:
        pidx = np.repeat(np.arange(len(self.lengths)), self.lengths)
        return {"path": pidx, "pos": _positions(self.lengths), "length": self.lengths[pidx]}

    def __getitem__(self, key: str) -> np.ndarray:
        if key == "channel":
            return self.channel
        if key not in self.KEYS:
            raise KeyError(key)
        return self._derived[key]

    def __iter__(self):
        return iter(self.KEYS)

    def __len__(self) -> int:
        return len(self.KEYS)


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
    _touch: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)
    _decay_matrix: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        if not self._touch:
            self.channels, self._touch = _parse_paths(self.paths["path"], self.channels)

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
        return self._touch.lengths


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
    conv = paths["conversions"].astype("int64").to_numpy()
    nulls = paths["nulls"].astype("int64").to_numpy()
    if (conv < 0).any() or (nulls < 0).any():
        raise ValueError("conversions and nulls must be counts (>= 0)")
    p = pd.DataFrame(
        {
            "path": paths["path"].reset_index(drop=True),
            "journeys": conv + nulls,
            "conversions": conv,
            "nulls": nulls,
        }
    )
    channels, touch = _parse_paths(p["path"], channels)
    return Journeys(
        p,
        channels,
        _touch=touch,
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
    touches, n_conversions = _engine.journey_touches(
        touchpoints,
        conversions,
        customer_col=customer_col,
        time_col=time_col,
        channel_col=channel_col,
        conversion_time_col=conversion_time_col,
        amount_col=amount_col,
        lookback_days=lookback_days,
        engine=engine,
    )
    paths, channels, touch, decay_matrix = _distinct_paths(touches, half_life_days)
    decay = _decay_frame(paths["path"], channels, decay_matrix)
    counts = {"conversions": n_conversions, "journeys": int(paths["journeys"].sum())}
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
        _touch=touch,
        _decay_matrix=decay_matrix,
    )


_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: hashing by powers of it mod 2^64


def _path_keys(codes: np.ndarray, pos: np.ndarray, starts: np.ndarray, lengths: np.ndarray):
    """A 64-bit polynomial hash of each journey's channel sequence, and its length."""
    powers = np.cumprod(np.full(int(lengths.max()), _MULTIPLIER, dtype=np.uint64))
    with np.errstate(over="ignore"):
        terms = (codes.astype(np.uint64) + np.uint64(1)) * powers[pos]
        return np.add.reduceat(terms, starts) ^ (lengths.astype(np.uint64) * _MULTIPLIER)


def _distinct_paths(touches, half_life_days: float):
    """Group the sorted touches into journeys and the journeys into distinct paths.

    A path is identified by a hash of its sequence; every journey is then compared touch
    by touch with its path's first journey, so that a hash collision cannot merge two
    different paths (it raises instead). All steps are vectorised.
    """
    import pyarrow.compute as pc

    n = touches.num_rows
    if n == 0:
        raise ValueError("no touch falls in any journey: check the lookback window and the dates")
    cid = touches["cid"].combine_chunks()
    new = np.ones(n, dtype=bool)
    new[1:] = np.asarray(pc.not_equal(cid.slice(1), cid.slice(0, n - 1)))
    enc = pc.dictionary_encode(touches["ch"].combine_chunks())
    names = enc.dictionary.to_pylist()
    channels = sorted(names)
    remap = np.array([channels.index(c) for c in names], dtype=np.int64)
    codes = remap[np.asarray(enc.indices)]
    starts = np.flatnonzero(new)
    lengths = np.diff(np.append(starts, n))
    jid = np.cumsum(new) - 1
    pos = np.arange(n) - starts[jid]
    pid, rep = pd.factorize(_path_keys(codes, pos, starts, lengths))
    first = pd.Series(np.arange(len(starts))).groupby(pid).first().to_numpy()  # by path id
    rep_start = starts[first][pid]  # per journey: start of its path's first journey
    same = lengths[first][pid] == lengths
    if not (same.all() and (codes[rep_start[jid] + pos] == codes).all()):
        raise RuntimeError("two different paths share a hash; please report this data set")
    converted = np.asarray(touches["converted"].combine_chunks(), dtype=bool)[starts]
    P, k = len(first), len(channels)
    journeys = np.bincount(pid, minlength=P)
    conversions = np.bincount(pid, weights=converted, minlength=P).astype(np.int64)
    # time decay: w = 2^(-age / h), normalised within each converting journey
    age_days = np.asarray(touches["age_us"].combine_chunks(), dtype=float) / 86_400e6
    w = np.exp2(-age_days / half_life_days)
    share = w / np.add.reduceat(w, starts)[jid] * converted[jid]
    decay = np.bincount(pid[jid] * k + codes, weights=share, minlength=P * k).reshape(P, k)
    # the distinct paths, most frequent first (ties by path text)
    rep_len = lengths[first]
    rep_codes = codes[np.repeat(starts[first], rep_len) + _positions(rep_len)]
    label = np.asarray(channels, dtype=object)[rep_codes].tolist()
    ends = np.cumsum(rep_len).tolist()
    text = [SEP.join(label[a:b]) for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    order = np.lexsort((np.asarray(text, dtype=object), -journeys))
    paths = pd.DataFrame(
        {
            "path": pd.Series(np.asarray(text, dtype=object)[order], dtype="str"),
            "journeys": journeys[order].astype(np.int64),
            "conversions": conversions[order],
            "nulls": (journeys - conversions)[order].astype(np.int64),
        }
    )
    new_index = np.empty(P, dtype=np.int64)
    new_index[order] = np.arange(P)
    plen = rep_len[order]
    touch = _Touches(codes[np.repeat(starts[first][order], plen) + _positions(plen)], plen)
    return paths, channels, touch, decay[order]


def _positions(lengths: np.ndarray) -> np.ndarray:
    """0, 1, ..., n_i - 1 for each length n_i, concatenated."""
    total = int(lengths.sum())
    return np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)


def _decay_frame(path: pd.Series, channels: list[str], matrix: np.ndarray) -> pd.DataFrame:
    """The time-decay credit matrix (paths x channels) as ``path, channel, credit`` rows."""
    rows, cols = np.nonzero(matrix)
    out = pd.DataFrame(
        {
            "path": path.to_numpy()[rows],
            "channel": np.asarray(channels, dtype=object)[cols],
            "credit": matrix[rows, cols],
        }
    )
    out["path"] = out["path"].astype("str")
    out["channel"] = out["channel"].astype("str")
    return out.sort_values(["path", "channel"], kind="stable").reset_index(drop=True)


def _parse_paths(path: pd.Series, channels: list[str] | None):
    """Channels (sorted when not given) and the touches of paths joined by ``" > "``
    (split and encoded by Arrow compute kernels, no loop over the touches)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(path.astype("str"))  # Arrow-backed: no copy
    if isinstance(arr, pa.ChunkedArray):  # e.g. read from a Parquet file of row groups
        arr = arr.combine_chunks()
    if arr.type == pa.large_string() and arr.nbytes < 2**31:
        arr = arr.cast(pa.string())  # 32-bit offsets: less to write when splitting
    lists = pc.split_pattern(arr, SEP)
    lengths = np.asarray(pc.list_value_length(lists), dtype=np.int64)
    enc = pc.dictionary_encode(pc.list_flatten(lists))
    names = enc.dictionary.to_pylist()
    if channels is None:
        channels = sorted(names)
    index = {ch: i for i, ch in enumerate(channels)}
    unknown = [n for n in names if n not in index]
    if unknown:
        raise ValueError(f"a path holds the channel {unknown[0]!r}, not in `channels`")
    lut = np.array([index[n] for n in names], dtype=np.int64)
    return list(channels), _Touches(np.asarray(enc.indices), lengths, lut)
