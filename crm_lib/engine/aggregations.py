"""Aggregations over logs, written once in ibis: per customer, per arm, per period.

Each function takes the log (a DataFrame, Parquet path or glob, or a table name) and the
engine (see :func:`crm_lib.engine.connect`) and returns only the small result as pandas.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from crm_lib.engine.backends import (
    _US_PER_DAY,
    _functions,
    _is_parquet,
    _to_pandas,
    connect,
    table,
)

__all__ = [
    "arm_moments",
    "cohort_counts",
    "customer_aggregates",
    "funnel_counts",
    "kpi_aggregates",
    "missing_order_ids_error",
    "rfm_scores",
]

# ------------------------------------------------------------- customer aggregates


def customer_aggregates(
    transactions: Any,
    cols: Any,
    *,
    lo_us: int | None,
    hi_us: int | None,
    by_day: bool,
    tz: str,
    backend: Any,
) -> tuple[pd.DataFrame, int | None]:
    """Per-customer raw aggregates (as ``crm_lib.value.summary._duckdb_aggregates``) as ibis.

    Returns ``cid, n_units, p0, p1, t_first, t_last, total, first_value`` (times in epoch
    or local wall-clock microseconds) and the latest line time (us) when ``hi_us`` is None.
    """
    import ibis

    t = table(transactions, backend)
    label = (
        f"Parquet source {str(transactions)!r}"
        if _is_parquet(transactions)
        else f"table {transactions!r}"
        if isinstance(transactions, str)
        else "transactions"
    )
    schema = t.schema()
    cols.check(list(schema.names), label)
    date_type = schema[cols.date]
    if not (date_type.is_timestamp() or date_type.is_date()):
        raise ValueError(
            f"date_col {cols.date!r} has type {date_type}; expected a timestamp "
            "(parse it first, e.g. pandas.to_datetime)"
        )
    epoch_us, local_us, arg_min = _functions(backend)
    ts = t[cols.date]
    if date_type.is_date():
        ts = ts.cast("timestamp")
    us = epoch_us(ts)  # naive times are taken as UTC (both engines run in UTC)
    amount = t[cols.amount].cast("float64")
    # lines without a customer belong to no summary row (as pandas' groupby drops them)
    where = [ts.notnull(), t[cols.amount].notnull(), t[cols.customer].notnull()]
    if lo_us is not None:
        where.append(us > int(lo_us))
    if hi_us is not None:
        where.append(us <= int(hi_us))
    if cols.ret is not None and not cols.net:
        where.append(t[cols.ret].isnull())  # returns ignored: sale lines only
    if cols.order is None:
        key, is_sale = us, None
    elif cols.ret is None or not cols.net:
        key, is_sale = t[cols.order], None
    else:
        key = t[cols.ret].coalesce(t[cols.order])
        is_sale = t[cols.ret].isnull()
    if cols.order is not None:
        bad = t.filter(*where, key.isnull()).aggregate(n=lambda x: x.count(), first=us.min())
        bad = _to_pandas(bad, backend)
        if len(bad) and int(bad["n"].iloc[0]):
            raise missing_order_ids_error(
                int(bad["n"].iloc[0]), bad["first"].iloc[0], cols.order, label
            )
    sale = is_sale if is_sale is not None else ibis.literal(True)
    lines = t.filter(*where).select(cid=t[cols.customer], k=key, us=us, value=amount, sale=sale)
    units = lines.group_by(["cid", "k"]).aggregate(
        pos=lines.us.min(where=lines.sale) if is_sale is not None else lines.us.min(),
        value=lines.value.sum(),
    )
    units = units.filter(units.pos.notnull())  # else an orphan return
    if by_day:
        local = local_us(units.pos, tz)
        day = local - ((local % _US_PER_DAY) + _US_PER_DAY) % _US_PER_DAY
        units = units.mutate(day=day)
        units = units.group_by(["cid", "day"]).aggregate(
            t_min=units.pos.min(), t_max=units.pos.max(), value=units.value.sum()
        )
        units = units.select("cid", "t_min", "t_max", "value", k=units.day, pos=units.day)
    else:
        units = units.mutate(t_min=units.pos, t_max=units.pos)
    agg = units.group_by("cid").aggregate(
        n_units=units.count(),
        p0=units.pos.min(),
        p1=units.pos.max(),
        t_first=units.t_min.min(),
        t_last=units.t_max.max(),
        total=units.value.sum(),
        first_value=arg_min(units.value, ibis.struct({"p": units.pos, "k": units.k})),
    )
    out = _to_pandas(agg, backend)
    latest = None
    if hi_us is None:
        m = t.filter(ts.notnull()).aggregate(latest=us.max())
        value = _to_pandas(m, backend)["latest"].iloc[0]
        latest = None if pd.isna(value) else int(value)
    return out, latest


# ----------------------------------------------------------- experiment statistics


def missing_order_ids_error(n: int, first_us: int, order_col: str, label: str) -> ValueError:
    """The error for sale lines without an order id (they cannot be told apart as purchases)."""
    first = pd.Timestamp(int(first_us), unit="us", tz="UTC")
    return ValueError(
        f"{label}: {n:,} sale line(s) have no order id (column {order_col!r} is empty; the "
        f"first at {first}), so their purchases cannot be told apart. Clean the log first "
        "(crm_lib.intake.cleaning sets such lines aside), or pass order_col=None to count one "
        "purchase per distinct time."
    )


def _require(t, columns: Sequence[str], label: str) -> None:
    names = list(t.schema().names)
    missing = [c for c in columns if c not in names]
    if missing:
        raise ValueError(
            f"{label} has no column {missing[0]!r}; available columns: {', '.join(names)}"
        )


def arm_moments(
    data: Any,
    *,
    group_col: str,
    control: object,
    columns: Sequence[str],
    pairs: Sequence[tuple[str, str]] = (),
    engine: Any = "duckdb",
) -> dict[str, Any]:
    """Per-arm sufficient statistics computed by the engine.

    What :func:`crm_lib.experiments.arm_stats` with ``engine=`` reduces: the unit-level
    table (a DataFrame, Parquet path or table with one row per randomised unit) stays in
    the engine; only one row per arm comes back. Call it through ``arm_stats``, which wraps
    the result in an ``ArmStats`` whose ``srm()``, ``proportions()``, ``means()`` and
    ``cuped()`` work as on the in-memory reduction.

    Parameters
    ----------
    data : DataFrame, pyarrow Table, Parquet path/glob or table name
        One row per randomised unit.
    group_col, control, columns, pairs
        As in :func:`crm_lib.experiments.arm_stats`.
    engine : str or backend
        See :func:`connect`.

    Returns
    -------
    dict
        The fields of ``ArmStats``: ``group_col, labels, control`` (index of the control
        in the sorted ``labels``), ``n`` and per column ``total, mean, var, binary``, per
        pair ``cov``.

    Notes
    -----
    Two passes, as in ``arm_stats``: per arm :math:`n_k`, :math:`S_k = \\sum x` (so
    :math:`\\bar x_k = S_k / n_k`), then the centred sums of squares
    :math:`\\sum (x - \\bar x_k)^2` and cross-products
    :math:`\\sum (x - \\bar x_k)(y - \\bar y_k)` over a join with the arm means, which do
    not cancel catastrophically for large offsets (a one-pass :math:`\\sum x^2 - S^2/n`
    does). Sums are reduced in parallel, so they agree with ``arm_stats`` to rounding
    (about 1e-15 relative), not bit for bit.
    """
    missing_pair = [p for p in pairs for c in p if c not in columns]
    if missing_pair:
        raise ValueError(f"every column of pairs must be in columns; missing for {missing_pair}")
    backend = connect(engine)
    t = table(data, backend)
    cols = list(dict.fromkeys(columns))
    _require(t, [group_col, *cols], "data")
    schema = t.schema()
    for c in cols:
        if not (schema[c].is_numeric() or schema[c].is_boolean()):
            raise TypeError(f"column {c!r} must be numeric or boolean, got type {schema[c]}")
    names = {c: f"c{i}" for i, c in enumerate(cols)}
    x = {c: t[c].cast("float64") for c in cols}
    first = t.group_by(arm=t[group_col]).aggregate(
        n=t.count(),
        **{f"s_{names[c]}": x[c].sum() for c in cols},
        **{f"na_{names[c]}": x[c].isnull().sum() for c in cols},
        **{f"nb_{names[c]}": ((x[c] != 0) & (x[c] != 1)).sum() for c in cols},
    )
    first = first.mutate(**{f"m_{names[c]}": first[f"s_{names[c]}"] / first.n for c in cols})
    one = _to_pandas(first, backend)
    if one["arm"].isna().any():
        n_na = int(one.loc[one["arm"].isna(), "n"].iloc[0])
        raise ValueError(
            f"{group_col!r} has {n_na} missing values; every unit needs a variant (drop "
            "unassigned rows first)."
        )
    for c in cols:
        n_na = int(one[f"na_{names[c]}"].sum())
        if n_na:
            raise ValueError(
                f"column {c!r} has {n_na} missing values; fill them (e.g. 0 revenue for "
                "customers without orders) or drop those rows explicitly before testing."
            )
    labels = sorted(one["arm"].tolist())
    if len(labels) < 2:
        raise ValueError(
            f"only one variant ({labels!r}) in {group_col!r}; a comparison needs the control "
            "and at least one treatment arm."
        )
    if control not in labels:
        raise ValueError(f"control={control!r} is not a value of {group_col!r}; values: {labels!r}")
    means = first.select("arm", *[f"m_{names[c]}" for c in cols])
    j = t.inner_join(means, t[group_col] == means.arm)
    d = {c: j[c].cast("float64") - j[f"m_{names[c]}"] for c in cols}
    second = j.group_by("arm").aggregate(
        **{f"ss_{names[c]}": (d[c] * d[c]).sum() for c in cols},
        **{f"cp_{i}": (d[y] * d[xc]).sum() for i, (y, xc) in enumerate(pairs)},
    )
    two = _to_pandas(second, backend)
    one = one.set_index("arm").loc[labels]
    two = two.set_index("arm").loc[labels]
    n = one["n"].to_numpy(dtype=float)
    total, mean, var, binary, cov = {}, {}, {}, {}, {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for c in cols:
            total[c] = one[f"s_{names[c]}"].to_numpy(dtype=float)
            mean[c] = one[f"m_{names[c]}"].to_numpy(dtype=float)
            var[c] = two[f"ss_{names[c]}"].to_numpy(dtype=float) / (n - 1)
            binary[c] = bool(schema[c].is_boolean() or one[f"nb_{names[c]}"].sum() == 0)
        for i, (y, xc) in enumerate(pairs):
            cov[(y, xc)] = two[f"cp_{i}"].to_numpy(dtype=float) / (n - 1)
    return {
        "group_col": group_col,
        "labels": labels,
        "control": labels.index(control),
        "n": n,
        "total": total,
        "mean": mean,
        "var": var,
        "cov": cov,
        "binary": binary,
    }


# ---------------------------------------------------------------------- RFM scores


def rfm_scores(
    summary: Any,
    bins: int = 5,
    *,
    customer_col: str = "customer_id",
    frequency_col: str = "frequency",
    recency_col: str = "recency",
    T_col: str = "T",
    monetary_col: str = "monetary_total",
    engine: Any = "duckdb",
) -> pd.DataFrame:
    """Exact quantile R, F, M scores computed by the engine (window functions).

    The scores of :func:`crm_lib.value.rfm_scores` (use that function with
    ``engine=...`` for codes and named segments): each score is
    :math:`\\lfloor \\text{rank}_0 \\cdot \\text{bins} / n \\rfloor + 1` with
    ``rank_0 = rank()`` over the value (SQL ``RANK() - 1``: the number of customers with a
    strictly smaller value), so tied values share a score exactly as pandas'
    ``rank(method="min")``. No approximate quantiles are involved, so every engine gives
    the same integers.

    Returns
    -------
    pandas.DataFrame
        Sorted by customer id: ``customer_id`` (named ``customer_col``),
        ``time_since_last, frequency, monetary, r_score, f_score, m_score``.
    """
    import ibis

    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 2:
        raise ValueError(f"bins must be an integer >= 2 (5 gives quintiles), not {bins!r}")
    backend = connect(engine)
    t = table(summary, backend)
    _require(t, [customer_col, frequency_col, recency_col, T_col, monetary_col], "summary")
    cid = t[customer_col]
    base = t.select(
        cid=cid,
        time_since_last=t[T_col].cast("float64") - t[recency_col].cast("float64"),
        frequency=t[frequency_col].cast("float64"),
        monetary=t[monetary_col].cast("float64"),
    )
    check = base.aggregate(
        n=base.count(),
        n_ids=base.cid.nunique(),
        n_bad=(
            base.cid.isnull()
            | base.time_since_last.isnull()
            | base.frequency.isnull()
            | base.monetary.isnull()
            | base.time_since_last.isnan()
            | base.frequency.isnan()
            | base.monetary.isnan()
        ).sum(),
    )
    n, n_ids, n_bad = _to_pandas(check, backend).iloc[0].tolist()
    if n == 0:
        raise ValueError("summary is empty: there are no customers to score")
    if n_bad:
        raise ValueError(
            f"{int(n_bad)} customers have missing ids or missing/non-numeric {recency_col}, "
            f"{T_col}, {frequency_col} or {monetary_col}; drop or fill them first"
        )
    if n_ids != n:
        raise ValueError(f"{customer_col} must be unique (one row per customer)")

    def score(order):
        rank0 = ibis.rank().over(order_by=order)  # ties: the lowest rank of the group
        return (rank0 * bins) // int(n) + 1

    out = base.mutate(
        r_score=score(base.time_since_last.desc()),
        f_score=score(base.frequency),
        m_score=score(base.monetary),
    )
    res = _to_pandas(out, backend)
    for c in ("r_score", "f_score", "m_score"):
        res[c] = res[c].astype(np.int64)
    res = res.rename(columns={"cid": customer_col})
    return res.sort_values(customer_col, kind="stable").reset_index(drop=True)


# ------------------------------------------------------- cohorts, funnel and KPIs


def _local_ts(ts, tz: str, backend):
    """Local wall-clock time in ``tz`` (a naive timestamp) of a UTC timestamp column."""
    import ibis
    import ibis.expr.datatypes as dt

    builtin = ibis.udf.scalar.builtin
    if backend.name == "duckdb":
        f = builtin(name="timezone", signature=((dt.string, ts.type()), dt.timestamp))(
            lambda tz, ts: None
        )
        return f(tz, ts)
    if backend.name == "pyspark":
        f = builtin(name="from_utc_timestamp", signature=((ts.type(), dt.string), dt.timestamp))(
            lambda ts, tz: None
        )
        return f(ts, tz)
    raise NotImplementedError(
        f"local calendar time is implemented for DuckDB and Spark, not {backend.name!r}"
    )


def _timestamp(t, col: str):
    dtype = t.schema()[col]
    if not (dtype.is_timestamp() or dtype.is_date()):
        raise ValueError(
            f"{col!r} has type {dtype}; expected a timestamp (parse it first, e.g. "
            "pandas.to_datetime)"
        )
    ts = t[col]
    if dtype.is_date() or dtype.timezone is None:  # naive times are UTC
        import ibis.expr.datatypes as dt

        ts = ts.cast(dt.Timestamp(timezone="UTC"))
    return ts


def _sales(t, return_col: str | None):
    if return_col is None or return_col not in t.schema().names:
        return t
    return t.filter(t[return_col].isnull())


def cohort_counts(
    transactions: Any,
    *,
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    return_col: str | None = "original_order_id",
    tz: str = "UTC",
    engine: Any = "duckdb",
) -> pd.DataFrame:
    """Active customers by first-purchase month and months since (the retention triangle).

    Parameters
    ----------
    transactions : DataFrame, pyarrow Table, Parquet path/glob or table name
        Order lines; return lines (``return_col`` not null) are left out.
    customer_col, date_col, return_col : str
        Columns of the log.
    tz : str
        Time zone of the calendar months: the dataset's own (``dataset.yml``; default
        UTC).
    engine : str or backend
        See :func:`connect`.

    Returns
    -------
    pandas.DataFrame
        ``cohort`` (first-purchase month, a Timestamp at the month start, local time),
        ``months_since`` (0 = the first month), ``customers`` (distinct customers with a
        purchase in that month), ``cohort_size`` and ``retention`` (customers /
        cohort_size); sorted by cohort and months_since.
    """
    backend = connect(engine)
    t = table(transactions, backend)
    _require(t, [customer_col, date_col], "transactions")
    t = _sales(t, return_col)
    local = _local_ts(_timestamp(t, date_col), tz, backend)
    lines = t.filter(local.notnull(), t[customer_col].notnull()).select(
        cid=t[customer_col], month=local.year() * 12 + local.month() - 1
    )
    active = lines.distinct()
    first = active.group_by("cid").aggregate(cohort=active.month.min())
    j = active.inner_join(first, "cid")
    counts = j.group_by(["cohort", j.month]).aggregate(customers=j.count())
    out = _to_pandas(counts, backend)
    out["months_since"] = (out["month"] - out["cohort"]).astype(np.int64)
    out["customers"] = out["customers"].astype(np.int64)
    size = out.loc[out["months_since"] == 0].set_index("cohort")["customers"]
    out["cohort_size"] = out["cohort"].map(size).astype(np.int64)
    out["retention"] = out["customers"] / out["cohort_size"]
    out["cohort"] = pd.to_datetime(
        {"year": out["cohort"] // 12, "month": out["cohort"] % 12 + 1, "day": 1}
    )
    out = out.sort_values(["cohort", "months_since"], kind="stable").reset_index(drop=True)
    return out[["cohort", "months_since", "customers", "cohort_size", "retention"]]


def funnel_counts(
    events: Any,
    *,
    stages: Sequence[str] = ("visit", "signup", "cart", "purchase"),
    unit_col: str = "visitor_id",
    stage_col: str = "event_type",
    group_col: str | None = None,
    engine: Any = "duckdb",
) -> pd.DataFrame:
    """Distinct units reaching each funnel stage (optionally per group).

    Parameters
    ----------
    events : DataFrame, pyarrow Table, Parquet path/glob or table name
        One row per event.
    stages : sequence of str
        Stage values of ``stage_col``, in funnel order.
    unit_col, stage_col : str
        Who moves through the funnel (visitor) and the event type.
    group_col : str, optional
        Split the counts (e.g. ``"channel"``).
    engine : str or backend
        See :func:`connect`.

    Returns
    -------
    pandas.DataFrame
        ``[group_col,] stage, step`` (1-based), ``units`` (distinct units with an event of
        that stage), ``rate_from_previous`` and ``rate_from_first``.
    """
    stages = list(stages)
    if len(stages) < 2 or len(set(stages)) != len(stages):
        raise ValueError(f"stages must be at least two distinct values, got {stages!r}")
    backend = connect(engine)
    t = table(events, backend)
    keys = [group_col] if group_col else []
    _require(t, [unit_col, stage_col, *keys], "events")
    e = t.filter(t[stage_col].isin(stages), t[unit_col].notnull())
    counts = e.group_by([*keys, e[stage_col].name("stage")]).aggregate(units=e[unit_col].nunique())
    out = _to_pandas(counts, backend)
    groups = out[keys].drop_duplicates() if keys else pd.DataFrame(index=[0])
    steps = pd.DataFrame({"stage": stages, "step": range(1, len(stages) + 1)})
    full = groups.merge(steps, how="cross")
    out = full.merge(out, on=[*keys, "stage"], how="left")
    out["units"] = out["units"].fillna(0).astype(np.int64)
    out = out.sort_values([*keys, "step"], kind="stable").reset_index(drop=True)
    g = out.groupby(keys, sort=False)["units"] if keys else out["units"]
    prev = g.shift(1)
    first = g.transform("first") if keys else pd.Series(out["units"].iloc[0], index=out.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rate_from_previous"] = out["units"] / prev
        out["rate_from_first"] = out["units"] / first
    return out[[*keys, "stage", "step", "units", "rate_from_previous", "rate_from_first"]]


def kpi_aggregates(
    transactions: Any,
    *,
    period: str = "M",
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str = "amount",
    order_col: str = "order_id",
    return_col: str | None = "original_order_id",
    tz: str = "UTC",
    engine: Any = "duckdb",
) -> pd.DataFrame:
    """Revenue, orders, active customers and average order value per calendar period.

    Parameters
    ----------
    transactions : DataFrame, pyarrow Table, Parquet path/glob or table name
        Order lines; return lines count in ``revenue`` (net, in the period of the return)
        but not in ``orders`` or ``customers``.
    period : {"D", "W", "M", "Q", "Y"}
        Calendar period in ``tz`` (weeks start on Monday).
    engine : str or backend
        See :func:`connect`.

    Returns
    -------
    pandas.DataFrame
        ``period`` (start, local time), ``revenue`` (net), ``gross_revenue``, ``orders``
        (distinct orders with a sale line), ``customers`` (distinct buyers) and ``aov``
        (gross revenue / orders).
    """
    units = {"D": "D", "W": "W", "M": "M", "Q": "Q", "Y": "Y"}
    if period not in units:
        raise ValueError(f"period={period!r} is not supported: use one of 'D', 'W', 'M', 'Q', 'Y'")
    backend = connect(engine)
    t = table(transactions, backend)
    has_ret = return_col is not None and return_col in t.schema().names
    _require(t, [customer_col, date_col, amount_col, order_col], "transactions")
    local = _local_ts(_timestamp(t, date_col), tz, backend)
    sale = t[return_col].isnull() if has_ret else None
    lines = t.filter(local.notnull(), t[amount_col].notnull()).select(
        period=local.truncate(units[period]),
        cid=t[customer_col],
        order=t[order_col],
        amount=t[amount_col].cast("float64"),
        sale=sale if sale is not None else local.notnull(),
    )
    agg = lines.group_by("period").aggregate(
        revenue=lines.amount.sum(),
        gross_revenue=lines.amount.sum(where=lines.sale),
        orders=lines.order.nunique(where=lines.sale),
        customers=lines.cid.nunique(where=lines.sale),
    )
    out = _to_pandas(agg, backend)
    for c in ("orders", "customers"):
        out[c] = out[c].fillna(0).astype(np.int64)
    out["gross_revenue"] = out["gross_revenue"].fillna(0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["aov"] = out["gross_revenue"] / out["orders"].where(out["orders"] > 0)
    out["period"] = pd.to_datetime(out["period"]).dt.tz_localize(None)
    return out.sort_values("period").reset_index(drop=True)
