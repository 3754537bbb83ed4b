"""The touches of customer journeys from a touchpoint log, in ibis (attribution, notebook 08).

A journey is a customer's touches, in time order, up to her conversion (converting path) or,
for a customer who did not convert, up to her last touch (null path), limited to the
``lookback_days`` before that end. The engine joins the log to the conversions, finds each
journey's end, keeps the touches in its window and returns them sorted by customer and
time as four narrow Arrow columns; the study package groups them into distinct paths with
vectorised array code. A log of 10M touches never goes through a Python loop.
"""

from __future__ import annotations

from typing import Any

from crm_lib.engine.backends import (
    _US_PER_DAY,
    _functions,
    _to_pandas,
    connect,
    default_engine,
    table,
)

__all__ = ["PATH_SEPARATOR", "journey_touches"]

PATH_SEPARATOR = " > "


def journey_touches(
    touchpoints: Any,
    conversions: Any,
    *,
    customer_col: str = "customer_id",
    time_col: str = "touched_at",
    channel_col: str = "channel",
    conversion_time_col: str = "converted_at",
    amount_col: str | None = None,
    lookback_days: float = 30.0,
    engine: Any = None,
):
    """The touches of every journey, sorted by customer, time and channel.

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
    engine : str or backend, optional
        See :func:`crm_lib.engine.connect`.

    Returns
    -------
    touches : pyarrow.Table
        ``cid, ch, age_us`` (microseconds before the journey's end), ``converted``
        (bool, the journey's outcome), sorted by customer, time, channel.
    n_conversions : int
        Customers with a conversion (with or without a touch).
    """
    backend = connect(engine or default_engine())
    epoch_us, _, _ = _functions(backend)
    t = table(touchpoints, backend)
    c = table(conversions, backend)
    t = t.select(cid=t[customer_col], us=epoch_us(t[time_col]), ch=t[channel_col].cast("string"))
    t = t.filter(t.cid.notnull(), t.us.notnull(), t.ch.notnull())
    when = c[conversion_time_col]
    where = [c[customer_col].notnull(), when.notnull()]
    if amount_col is not None:
        where.append(c[amount_col] > 0)
    c = c.filter(*where)
    conv = c.group_by(cid=c[customer_col]).aggregate(conv_us=epoch_us(when).min())
    last = t.group_by("cid").aggregate(last_us=t.us.max())
    j = t.inner_join(last, "cid").left_join(conv, "cid")
    j = j.select(
        "cid", "us", "ch", end=j.conv_us.coalesce(j.last_us), converted=j.conv_us.notnull()
    )
    lookback = int(round(lookback_days * _US_PER_DAY))
    f = j.filter(j.us <= j.end, j.us >= j.end - lookback)
    out = f.order_by(["cid", "us", "ch"]).select(
        "cid", "ch", age_us=f.end - f.us, converted=f.converted
    )
    touches = backend.to_pyarrow(out)
    n_conv = _to_pandas(conv.aggregate(n=conv.count()), backend)["n"].iloc[0]
    return touches, int(n_conv)
