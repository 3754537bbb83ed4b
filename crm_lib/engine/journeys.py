"""Customer journeys from a touchpoint log, written once in ibis (attribution, notebook 08).

A journey is a customer's touches, in time order, up to her conversion (converting path) or,
for a customer who did not convert, up to her last touch (null path), limited to the
``lookback_days`` before that end. Only distinct paths with their counts come back to
pandas, so a log of 10M touches is reduced by the engine.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from crm_lib.engine.backends import (
    _US_PER_DAY,
    _functions,
    _to_pandas,
    connect,
    default_engine,
    table,
)

__all__ = ["PATH_SEPARATOR", "journey_paths"]

PATH_SEPARATOR = " > "


def journey_paths(
    touchpoints: Any,
    conversions: Any,
    *,
    customer_col: str = "customer_id",
    time_col: str = "touched_at",
    channel_col: str = "channel",
    conversion_time_col: str = "converted_at",
    amount_col: str | None = None,
    lookback_days: float = 30.0,
    half_life_days: float = 7.0,
    engine: Any = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Distinct journey paths with their counts, and the time-decay credit per path.

    Parameters
    ----------
    touchpoints : DataFrame, Parquet path or table name
        One row per touch: ``customer_col, time_col, channel_col``.
    conversions : DataFrame, Parquet path or table name
        Conversion times per customer (``customer_col, conversion_time_col``); the first
        one per customer is the conversion. With ``amount_col``, a transaction log: only
        lines with a positive amount count (the first purchase).
    lookback_days : float
        Touches more than this many days before the journey's end are left out.
    half_life_days : float
        Half-life of the time-decay weights :math:`2^{-\\Delta t / h}`.
    engine : str or backend, optional
        See :func:`crm_lib.engine.connect`.

    Returns
    -------
    paths : DataFrame
        ``path, journeys, conversions, nulls`` (path: channels joined by ``" > "``).
    decay : DataFrame
        ``path, channel, credit``: summed over the path's converting journeys, each
        journey's weights normalised to 1.
    counts : dict
        ``conversions`` (all customers with a conversion) and ``journeys``.
    """
    import ibis

    backend = connect(engine or default_engine())
    epoch_us, _, _ = _functions(backend)
    t = table(touchpoints, backend)
    c = table(conversions, backend)
    t = t.select(cid=t[customer_col], us=epoch_us(t[time_col]), ch=t[channel_col])
    t = t.filter(t.cid.notnull(), t.us.notnull(), t.ch.notnull())
    when = c[conversion_time_col]
    where = [c[customer_col].notnull(), when.notnull()]
    if amount_col is not None:
        where.append(c[amount_col] > 0)
    c = c.filter(*where)
    conv = c.group_by(cid=c[customer_col]).aggregate(conv_us=epoch_us(when).min())
    j = t.left_join(conv, "cid").select("cid", "us", "ch", "conv_us")
    j = j.mutate(last_us=j.us.max().over(ibis.window(group_by=j.cid)))
    converted = j.conv_us.notnull()
    end = ibis.ifelse(converted, j.conv_us, j.last_us)
    lookback = int(round(lookback_days * _US_PER_DAY))
    f = j.filter(j.us <= end, j.us >= end - lookback)
    f = f.mutate(
        converted=f.conv_us.notnull().cast("int64"),
        w=(
            -0.6931471805599453 * (end - f.us).cast("float64") / (half_life_days * _US_PER_DAY)
        ).exp(),
    )
    if backend.name == "duckdb":
        path = f.ch.group_concat(PATH_SEPARATOR, order_by=[f.us, f.ch])
    else:  # Spark has no ordered string aggregate in ibis: sort "000001<ch>" keys instead
        rank = ibis.row_number().over(ibis.window(group_by=f.cid, order_by=[f.us, f.ch]))
        f = f.mutate(key=rank.cast("string").lpad(9, "0") + f.ch)
        path = f.key.collect().sort().map(lambda x: x.substr(9)).join(PATH_SEPARATOR)
    per = f.group_by("cid").aggregate(path=path, converted=f.converted.max(), wsum=f.w.sum())
    paths = per.group_by("path").aggregate(journeys=per.count(), conversions=per.converted.sum())
    paths = paths.mutate(nulls=paths.journeys - paths.conversions)
    chan = f.filter(f.converted == 1).group_by(["cid", "ch"]).aggregate(w=f.w.sum())
    chan = chan.inner_join(per, "cid")
    decay = chan.group_by(["path", "ch"]).aggregate(credit=(chan.w / chan.wsum).sum())
    paths_df = _to_pandas(paths, backend)
    paths_df = paths_df.sort_values(["journeys", "path"], ascending=[False, True], kind="stable")
    paths_df = paths_df.reset_index(drop=True).astype(
        {"journeys": "int64", "conversions": "int64", "nulls": "int64"}
    )
    decay_df = _to_pandas(decay.rename(channel="ch"), backend)
    decay_df = decay_df.sort_values(["path", "channel"], kind="stable").reset_index(drop=True)
    n_conv = _to_pandas(conv.aggregate(n=conv.count()), backend)["n"].iloc[0]
    counts = {"conversions": int(n_conv), "journeys": int(paths_df["journeys"].sum())}
    return paths_df[["path", "journeys", "conversions", "nulls"]], decay_df, counts
