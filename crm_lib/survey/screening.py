"""Response screening: drop answers that should not enter the analysis, and say why."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crm_lib.survey.instrument import Instrument

REASONS = ["out_of_range", "partial", "duplicate", "speeder", "straight_lining"]
"""Exclusion reasons, in priority order (``reason`` is the first that applies)."""


@dataclass
class Screening:
    """Result of :func:`screen_responses`; unpacks as ``kept, excluded``.

    Attributes
    ----------
    kept : pandas.DataFrame
        Responses that passed every check (original columns).
    excluded : pandas.DataFrame
        Excluded responses: original columns plus ``reason`` (first reason in the order
        of :data:`REASONS`) and ``reasons`` (every reason that applies, ``;``-separated).
    flags : pandas.DataFrame
        One boolean column per reason for every response (index of the input).
    params : dict
        Thresholds used (``min_seconds`` as computed from the data when not given).
    """

    kept: pd.DataFrame
    excluded: pd.DataFrame
    flags: pd.DataFrame
    params: dict = field(default_factory=dict)

    def __iter__(self):
        return iter((self.kept, self.excluded))

    def summary(self) -> pd.DataFrame:
        """One row per reason: ``reason, n_excluded`` (as the first reason), ``n_flagged``
        (any reason), ``share`` (n_excluded / all responses); last row ``total``."""
        n = len(self.flags)
        primary = self.excluded["reason"].value_counts()
        rows = [
            {
                "reason": r,
                "n_excluded": int(primary.get(r, 0)),
                "n_flagged": int(self.flags[r].sum()),
            }
            for r in REASONS
        ]
        rows.append(
            {
                "reason": "total",
                "n_excluded": len(self.excluded),
                "n_flagged": int(self.flags.any(axis=1).sum()),
            }
        )
        out = pd.DataFrame(rows)
        out["share"] = out["n_excluded"] / n if n else np.nan
        return out


def _out_of_range(data: pd.DataFrame, instrument: Instrument) -> pd.Series:
    bad = pd.Series(False, index=data.index)
    for item in instrument.items.values():
        if item.id not in data.columns:
            continue
        raw = data[item.id]
        x = pd.to_numeric(raw, errors="coerce").astype("float64")
        non_numeric = raw.notna() & x.isna()
        wrong = (x < item.scale.min) | (x > item.scale.max) | (x.notna() & (x % 1 != 0))
        bad |= non_numeric | wrong.fillna(False)
    return bad


def _durations(data: pd.DataFrame, meta: dict) -> pd.Series:
    started, submitted = meta["started_col"], meta["submitted_col"]
    if started not in data.columns or submitted not in data.columns:
        return pd.Series(np.nan, index=data.index)
    return (data[submitted] - data[started]).dt.total_seconds()


def _straight_lining(data: pd.DataFrame, batteries: dict, min_items: int) -> pd.Series:
    flag = pd.Series(False, index=data.index)
    for items in batteries.values():
        present = [i for i in items if i in data.columns]
        if len(present) < min_items:
            continue
        block = data[present].apply(pd.to_numeric, errors="coerce").astype("float64")
        answered = block.notna().sum(axis=1)
        flat = block.max(axis=1) == block.min(axis=1)
        flag |= flat & (answered >= min_items)
    return flag


def _duplicates(
    data: pd.DataFrame, items: list[str], meta: dict, complete: pd.Series, similarity: float
) -> pd.Series:
    cust, wave = meta["customer_col"], meta["wave_col"]
    flag = pd.Series(False, index=data.index)
    if cust not in data.columns or wave not in data.columns or not items:
        return flag
    known = data[cust].notna()
    keys = data.loc[known, [cust, wave]]
    multi = keys.duplicated(keep=False)
    if not multi.any():
        return flag
    sub = data.loc[multi[multi].index]
    order_cols = [c for c in (meta["started_col"],) if c in sub.columns]
    sub = sub.assign(_complete=complete.loc[sub.index])
    sub = sub.sort_values(["_complete", *order_cols], ascending=[False] + [True] * len(order_cols))
    answers = sub[items].astype("float64").to_numpy()
    pos = {label: k for k, label in enumerate(sub.index)}
    for _, group in sub.groupby([cust, wave], sort=False):
        kept_rows: list[int] = []
        for label in group.index:
            a = answers[pos[label]]
            is_dup = False
            for k in kept_rows:
                b = answers[k]
                same = (a == b) | (np.isnan(a) & np.isnan(b))
                if same.mean() >= similarity:
                    is_dup = True
                    break
            if is_dup:
                flag.loc[label] = True
            else:
                kept_rows.append(pos[label])
    return flag


def screen_responses(
    responses: pd.DataFrame,
    instrument: Instrument,
    *,
    min_seconds: float | None = None,
    speeder_fraction: float = 1 / 3,
    straight_lining_min_items: int = 6,
    duplicate_similarity: float = 0.9,
) -> Screening:
    """Screen survey responses for answers that should not enter the analysis.

    Checks, each a column of ``Screening.flags``:

    - ``out_of_range``: an answer outside its item's scale, not an integer, or not a number;
    - ``partial``: status is not the instrument's ``complete_value``;
    - ``duplicate``: same customer and wave as an earlier response with near-identical
      answers (share of equal answers over the instrument's items, both-missing counting
      as equal, ``>= duplicate_similarity``); the first complete submission is kept;
    - ``speeder``: duration ``submitted - started`` below ``min_seconds`` (default
      ``speeder_fraction`` x the median duration of complete responses);
    - ``straight_lining``: zero variance over one of the instrument's batteries (items
      shown in one grid) with at least ``straight_lining_min_items`` answers. A battery
      mixing normal and reverse-coded items makes identical answers self-contradictory.

    Parameters
    ----------
    responses : pandas.DataFrame
        One row per response; column names as in the instrument (items, metadata).
    instrument : Instrument
        From :func:`load_instrument`.
    min_seconds : float, optional
        Speeder threshold in seconds; default ``speeder_fraction * median``.
    speeder_fraction : float
        Fraction of the median duration used when ``min_seconds`` is not given.
    straight_lining_min_items : int
        Fewest answered battery items for the straight-lining check.
    duplicate_similarity : float
        Share of identical answers (0-1) from which two submissions count as one.

    Returns
    -------
    Screening
        ``kept, excluded = screen_responses(...)``; ``excluded`` has ``reason`` and
        ``reasons``; ``.summary()`` counts the reasons.

    References
    ----------
    Meade, A. W., & Craig, S. B. (2012). Identifying careless responses in survey data.
    Psychological Methods, 17(3), 437-455.
    """
    if not isinstance(responses, pd.DataFrame):
        raise TypeError(f"responses must be a pandas DataFrame, got {type(responses).__name__}")
    if not 0 < speeder_fraction < 1:
        raise ValueError(f"speeder_fraction must be in (0, 1), got {speeder_fraction}")
    if not 0 < duplicate_similarity <= 1:
        raise ValueError(f"duplicate_similarity must be in (0, 1], got {duplicate_similarity}")
    meta = instrument.metadata
    items = [i for i in instrument.items if i in responses.columns]
    if not items:
        raise KeyError(
            "none of the instrument's items is a column of responses; "
            f"expected e.g. {list(instrument.items)[:3]}"
        )
    status = meta["status_col"]
    if status in responses.columns:
        complete = responses[status].eq(meta["complete_value"]).fillna(False).astype(bool)
    else:
        complete = pd.Series(True, index=responses.index)
    duration = _durations(responses, meta)
    if min_seconds is None:
        median = duration[complete].median()
        min_seconds = float(speeder_fraction * median) if pd.notna(median) else np.nan
    flags = pd.DataFrame(
        {
            "out_of_range": _out_of_range(responses, instrument),
            "partial": ~complete,
            "duplicate": _duplicates(responses, items, meta, complete, duplicate_similarity),
            "speeder": (duration < min_seconds).fillna(False).astype(bool),
            "straight_lining": _straight_lining(
                responses, instrument.batteries, straight_lining_min_items
            ),
        },
        index=responses.index,
    )[REASONS]
    any_flag = flags.any(axis=1)
    excluded = responses.loc[any_flag].copy()
    fl = flags.loc[any_flag]
    excluded["reason"] = fl.idxmax(axis=1).astype("string")
    joined = pd.Series("", index=fl.index, dtype="object")
    for r in REASONS:
        joined = joined + np.where(fl[r], r + ";", "")
    excluded["reasons"] = joined.str.rstrip(";").astype("string")
    return Screening(
        kept=responses.loc[~any_flag].copy(),
        excluded=excluded,
        flags=flags,
        params={
            "min_seconds": min_seconds,
            "straight_lining_min_items": straight_lining_min_items,
            "duplicate_similarity": duplicate_similarity,
        },
    )
