"""The web funnel on the ``events`` log: conversion with intervals, drop-off, time in stage.

Counting runs on the engine (:func:`crm_lib.engine.funnel_counts`); the stages are any
ordered list of event types the dataset has.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import pandas as pd
from scipy import stats

from crm_lib.funnel.pipeline import wilson

__all__ = ["funnel_by_group", "funnel_table", "stage_times", "stages_for"]

DEFAULT_STAGES = ("visit", "signup", "cart", "purchase")


def stages_for(dataset, stages: str | Sequence[str] = "") -> list[str]:
    """The ordered funnel stages of a study: given, else the dataset's own, else the contract's.

    Parameters
    ----------
    dataset : Dataset or World
        Its ``dataset.yml`` may declare the event types of ``events`` in funnel order
        (``vocabularies: {events: {event_type: [view, basket, checkout, order]}}``).
    stages : str or sequence of str
        The stages asked for (a comma-separated string, as a notebook parameter gives
        them); empty: the dataset's declared order, else :data:`DEFAULT_STAGES`
        (the contract's ``visit, signup, cart, purchase``).

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        When a stage asked for is not an event type the dataset declares (the message
        names the stage and the declared ones), or a stage is repeated.
    """
    asked = [s.strip() for s in stages.split(",")] if isinstance(stages, str) else list(stages)
    asked = [s for s in asked if s]
    config = getattr(dataset, "config", None)
    declared = None
    if config is not None:
        declared = (config.vocabularies.get("events") or {}).get("event_type")
    declared = list(declared) if declared else None
    if not asked:
        return declared or list(DEFAULT_STAGES)
    repeated = sorted({s for s in asked if asked.count(s) > 1})
    if repeated:
        raise ValueError(f"funnel stage {repeated[0]!r} is listed twice in {','.join(asked)!r}")
    known = declared or list(DEFAULT_STAGES)
    unknown = [s for s in asked if s not in known]
    if unknown:
        raise ValueError(
            f"funnel stage {unknown[0]!r} is not an event type of this dataset "
            f"(event types: {', '.join(known)}); declare yours in dataset.yml under "
            "vocabularies: events: event_type"
        )
    return asked


def funnel_table(
    events,
    *,
    stages: Sequence[str] = DEFAULT_STAGES,
    group_col: str | None = None,
    unit_col: str = "visitor_id",
    stage_col: str = "event_type",
    alpha: float = 0.05,
    engine=None,
) -> pd.DataFrame:
    """Units reaching each stage, stage-to-stage conversion with Wilson intervals, drop-off.

    Returns
    -------
    pandas.DataFrame
        ``[group_col,] stage, step, units, rate_from_previous, ci_low, ci_high,
        drop_off`` (1 - rate from the previous stage), ``rate_from_first``.

    Notes
    -----
    The rate of stage :math:`k` is :math:`n_k / n_{k-1}`, the distinct units with an event
    of stage :math:`k` over those of stage :math:`k-1`; the Wilson interval treats the
    :math:`n_{k-1}` units as independent trials (Wilson, 1927). A unit may reach a stage
    without the previous one (e.g. a purchase without a logged cart); then the rate can
    exceed one and has no interval.
    """
    from crm_lib.engine import funnel_counts

    out = funnel_counts(
        events,
        stages=stages,
        unit_col=unit_col,
        stage_col=stage_col,
        group_col=group_col,
        engine=engine or "duckdb",
    )
    keys = [group_col] if group_col else []
    prev = out.groupby(keys)["units"].shift(1) if keys else out["units"].shift(1)
    ok = prev.notna() & (out["units"] <= prev.fillna(0))
    lo, hi = wilson(out["units"].where(ok, 0), prev.where(ok, 0).fillna(0), alpha)
    out["ci_low"], out["ci_high"] = lo, hi
    out["drop_off"] = 1 - out["rate_from_previous"]
    cols = [*keys, "stage", "step", "units", "rate_from_previous", "ci_low", "ci_high"]
    return out[[*cols, "drop_off", "rate_from_first"]]


def funnel_by_group(
    events,
    *,
    group_col: str = "channel",
    stages: Sequence[str] = DEFAULT_STAGES,
    correction: str = "holm",
    alpha: float = 0.05,
    engine=None,
) -> dict[str, pd.DataFrame]:
    """Stage conversion by group, a test of the differences and multiple-testing correction.

    Returns
    -------
    dict
        ``table``: :func:`funnel_table` by group; ``tests``: one row per step (``step,
        stage, chi2, df, p_value, p_adjusted, reject``): the chi-square test that the
        step's conversion is the same in every group; ``pairs``: each group against all
        other groups pooled, per step (``stage, group, rate, rate_rest, diff, z, p_value,
        p_adjusted, reject``), with the ``correction`` (statsmodels ``multipletests``:
        holm, fdr_bh, bonferroni ...) over all the pairs.
    """
    from statsmodels.stats.multitest import multipletests

    table = funnel_table(events, stages=stages, group_col=group_col, alpha=alpha, engine=engine)
    tests, pairs = [], []
    for s_prev, s_next in pairwise(stages):
        cur = table[table["stage"] == s_next].set_index(group_col)["units"]
        prev = table[table["stage"] == s_prev].set_index(group_col)["units"].reindex(cur.index)
        ok = (prev > 0) & (cur <= prev)
        cur, prev = cur[ok], prev[ok]
        if len(cur) < 2:
            continue
        obs = np.column_stack([cur, prev - cur])
        chi2, p, dof, _ = stats.chi2_contingency(obs, correction=False)
        tests.append((table.loc[table["stage"] == s_next, "step"].iloc[0], s_next, chi2, dof, p))
        tot_c, tot_n = cur.sum(), prev.sum()
        for g in cur.index:
            c1, n1 = cur[g], prev[g]
            c2, n2 = tot_c - c1, tot_n - n1
            p_pool = tot_c / tot_n
            se = np.sqrt(p_pool * (1 - p_pool) * (1 / n1 + 1 / n2)) if n2 > 0 else np.nan
            diff = c1 / n1 - (c2 / n2 if n2 > 0 else np.nan)
            zz = diff / se if se and se > 0 else np.nan
            pv = 2 * stats.norm.sf(abs(zz)) if np.isfinite(zz) else np.nan
            pairs.append((s_next, g, c1 / n1, c2 / n2 if n2 else np.nan, diff, zz, pv))
    tests = pd.DataFrame(tests, columns=["step", "stage", "chi2", "df", "p_value"])
    pairs = pd.DataFrame(
        pairs, columns=["stage", group_col, "rate", "rate_rest", "diff", "z", "p_value"]
    )
    for frame in (tests, pairs):
        ok = frame["p_value"].notna()
        frame["p_adjusted"] = np.nan
        frame["reject"] = False
        if ok.any():
            rej, padj, _, _ = multipletests(
                frame.loc[ok, "p_value"], alpha=alpha, method=correction
            )
            frame.loc[ok, "p_adjusted"] = padj
            frame.loc[ok, "reject"] = rej
    return {"table": table, "tests": tests, "pairs": pairs}


def stage_times(
    events,
    *,
    stages: Sequence[str] = DEFAULT_STAGES,
    unit_col: str = "visitor_id",
    stage_col: str = "event_type",
    time_col: str = "occurred_at",
    unit: str = "h",
) -> dict[str, pd.DataFrame]:
    """Time from the first event of one stage to the first of the next, per unit.

    Returns
    -------
    dict
        ``times``: ``step`` ("visit -> signup" ...), ``duration`` (in ``unit``: "min",
        "h" or "D") of every unit that reached both stages in order; ``summary``: per step
        ``n, median, p25, p75, p90, mean``.
    """
    if isinstance(events, pd.DataFrame):
        e = events.loc[events[stage_col].isin(list(stages)), [unit_col, stage_col, time_col]]
    else:  # a Parquet path or table: reduce on the engine first
        from crm_lib.engine import connect
        from crm_lib.engine import table as engine_table

        t = engine_table(events, connect("duckdb"))
        e = t.filter(t[stage_col].isin(list(stages))).select(unit_col, stage_col, time_col)
        e = e.to_pandas()
    first = e.groupby([unit_col, stage_col], observed=True)[time_col].min().unstack(stage_col)
    scale = pd.Timedelta(1, unit=unit)
    rows = []
    for a, b in pairwise(stages):
        if a not in first or b not in first:
            continue
        d = (first[b] - first[a]) / scale
        d = d[d.notna() & (d >= 0)]
        rows.append(pd.DataFrame({"step": f"{a} -> {b}", "duration": d.to_numpy()}))
    times = (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame({"step": pd.Series(dtype=str), "duration": pd.Series(dtype=float)})
    )
    g = times.groupby("step", sort=False)["duration"]
    summary = pd.DataFrame(
        {
            "n": g.size(),
            "median": g.median(),
            "p25": g.quantile(0.25),
            "p75": g.quantile(0.75),
            "p90": g.quantile(0.9),
            "mean": g.mean(),
        }
    ).reset_index()
    return {"times": times, "summary": summary}
