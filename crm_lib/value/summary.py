"""Customer summaries of a transaction log: frequency, recency, T and value per customer.

The heavy step, turning millions of order lines into one row per customer, is SQL on
DuckDB (over a DataFrame, a warehouse table or Parquet files, without loading the log into
pandas); a pandas implementation gives identical results for small data and for checking.
The models of :mod:`crm_lib.value.btyd` then work on the per-customer table:

>>> import crm_lib
>>> world = crm_lib.datasets.simulate("small", seed=1, dirty=False)
>>> rfm = customer_summary(world.transactions, time_unit="W")
>>> list(rfm.columns)[:5]
['customer_id', 'frequency', 'recency', 'T', 'monetary_value']

Vocabulary (as in lifetimes and pymc-marketing): ``frequency`` is the number of repeat
purchases, ``recency`` the time from the first to the last purchase, ``T`` the time from
the first purchase to the end of observation, ``monetary_value`` the mean value of the
repeat purchases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from crm_lib.engine import missing_order_ids_error

__all__ = [
    "HoldoutWindow",
    "calibration_holdout_split",
    "customer_summary",
    "holdout_window",
]

_US_PER_DAY = 86_400_000_000
_UNIT_US = {"D": _US_PER_DAY, "W": 7 * _US_PER_DAY}
_SUMMARY_COLUMNS = [
    "customer_id",
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "monetary_total",
    "first_purchase",
    "last_purchase",
]

# --------------------------------------------------------------------------- summary


def _check_choice(name: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise ValueError(
            f"{name}={value!r} is not supported: use one of {', '.join(map(repr, allowed))}"
        )


def _to_utc_timestamp(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name}={value!r} is not a date or timestamp (e.g. '2025-11-01' or a pandas.Timestamp)"
        ) from None
    if ts is pd.NaT:
        raise ValueError(f"{name} is missing (NaT): pass a date or timestamp")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _ts_to_us(ts: pd.Timestamp) -> int:
    return int(ts.as_unit("us").asm8.astype(np.int64))


def _offsets_us(us: np.ndarray, tz: str) -> np.ndarray:
    """UTC offsets of ``tz`` (microseconds) at the UTC instants ``us``."""
    idx = pd.DatetimeIndex(pd.to_datetime(us, unit="us", utc=True))
    return idx.tz_convert(tz).tz_localize(None).as_unit("us").asi8 - us


def _day_start_us(us: np.ndarray | int, tz: str) -> np.ndarray:
    """Start of the local calendar day (in ``tz``) as local wall-clock microseconds."""
    us = np.atleast_1d(np.asarray(us, dtype=np.int64))
    local = us + _offsets_us(us, tz)
    return (local // _US_PER_DAY) * _US_PER_DAY


_US_PER_HOUR = 3_600_000_000


def _offset_spans(tz: str, lo_us: int, hi_us: int) -> list[tuple[int | None, int]]:
    """The UTC offsets of ``tz`` between two instants, as ``[(start_us, offset_us), ...]``.

    The first span has ``start_us = None`` (it covers everything before the second); a
    zone without a change between ``lo_us`` and ``hi_us`` gives one span. Offsets are read
    on an hourly grid (the tz database has no two changes within an hour) and each change
    is then located on a grid of seconds (its changes fall on whole seconds), so local
    times computed as ``us + offset`` equal pandas' ``tz_convert`` exactly.
    """
    lo_h, hi_h = lo_us // _US_PER_HOUR, hi_us // _US_PER_HOUR + 1
    grid = np.arange(lo_h, hi_h + 1, dtype=np.int64) * _US_PER_HOUR
    off = _offsets_us(grid, tz)
    spans: list[tuple[int | None, int]] = [(None, int(off[0]))]
    change = np.flatnonzero(np.diff(off))
    if change.size:
        seconds = grid[change, None] + np.arange(1, 3601, dtype=np.int64) * 1_000_000
        moved = _offsets_us(seconds.ravel(), tz).reshape(seconds.shape) != off[change, None]
        starts = seconds[np.arange(change.size), moved.argmax(axis=1)]
        spans += [(int(t), int(o)) for t, o in zip(starts, off[change + 1], strict=True)]
    return spans


def _local_day_sql(us: str, spans: list[tuple[int | None, int]]) -> str:
    """SQL for the start of the local day (local wall-clock us) of the UTC instant ``us``.

    The same as ``epoch_us(timezone(tz, ts))`` floored to the day, without a time-zone
    lookup per row (which costs DuckDB ~80 ns a line): the offset comes from ``spans``
    (:func:`_offset_spans` over the data's time range), and the floor is a true floor for
    times before 1970 too.
    """
    if len(spans) == 1:
        offset = str(spans[0][1])
    else:
        cases = " ".join(f"WHEN {us} >= {start} THEN {off}" for start, off in reversed(spans[1:]))
        offset = f"(CASE {cases} ELSE {spans[0][1]} END)"
    local = f"({us} + {offset})"
    return f"({local} - ((({local} % {_US_PER_DAY}) + {_US_PER_DAY}) % {_US_PER_DAY}))"


class _Columns:
    """Column names of the transaction log (validated against the source)."""

    def __init__(
        self,
        customer: str,
        date: str,
        amount: str,
        order: str | None,
        ret: str | None,
        net: bool = True,
    ):
        self.customer, self.date, self.amount = customer, date, amount
        self.order, self.ret, self.net = order, ret, net

    def needed(self) -> list[str]:
        return [c for c in (self.customer, self.date, self.amount, self.order, self.ret) if c]

    def check(self, available: list[str], source: str) -> None:
        args = {
            "customer_col": self.customer,
            "date_col": self.date,
            "amount_col": self.amount,
            "order_col": self.order,
            "return_col": self.ret,
        }
        for arg, col in args.items():
            if col is not None and col not in available:
                hint = (
                    " (pass return_col=None if the log has no returns, or returns='ignore')"
                    if arg == "return_col"
                    else " (pass order_col=None to treat each timestamp as one order)"
                    if arg == "order_col"
                    else ""
                )
                raise ValueError(
                    f"{source} has no column {col!r} given as {arg}{hint}; "
                    f"available columns: {', '.join(map(str, available))}"
                )


def _is_parquet(source: Any) -> bool:
    if isinstance(source, Path):
        return True
    return isinstance(source, str) and (
        source.endswith(".parquet") or any(ch in source for ch in "*?[")
    )


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_TIMESTAMP_TYPES = re.compile(r"^(TIMESTAMP(_NS|_MS|_S)?|DATE|TIMESTAMP WITH TIME ZONE)$")


def _duckdb_aggregates(
    transactions: Any,
    cols: _Columns,
    *,
    lo_us: int | None,
    hi_us: int | None,
    by_day: bool,
    tz: str,
    con: Any,
) -> tuple[pd.DataFrame, int | None]:
    """Per-customer raw aggregates computed by DuckDB; also the latest line time (us)."""
    import duckdb

    own = con is None
    con = duckdb.connect() if own else con
    view = None
    try:
        if isinstance(transactions, pd.DataFrame) or type(transactions).__module__.startswith(
            "pyarrow"
        ):
            from crm_lib.contract.frames import register_frame

            view = "__crm_clv_transactions"
            register_frame(con, view, transactions)
            src = _quote_ident(view)
            label = "transactions"
        elif _is_parquet(transactions):
            src = f"read_parquet({_quote_literal(str(transactions))})"
            label = f"Parquet source {str(transactions)!r}"
        elif isinstance(transactions, str):
            if own:
                raise ValueError(
                    f"transactions={transactions!r} looks like a table name: pass the DuckDB "
                    "connection as con=... (e.g. crm_lib.intake.warehouse.connect()), or a Parquet path "
                    "ending in .parquet"
                )
            src = ".".join(_quote_ident(p) for p in transactions.split("."))
            label = f"table {transactions!r}"
        else:
            raise TypeError(
                "transactions must be a pandas DataFrame, a pyarrow Table, a Parquet path/glob "
                f"or a table name with con=..., not {type(transactions).__name__}"
            )
        desc = con.sql(f"DESCRIBE SELECT * FROM {src}").fetchall()
        types = {row[0]: str(row[1]) for row in desc}
        cols.check(list(types), label)
        date_type = types[cols.date]
        if not _TIMESTAMP_TYPES.match(date_type):
            raise ValueError(
                f"date_col {cols.date!r} has type {date_type}; expected a timestamp "
                "(parse it first, e.g. pandas.to_datetime)"
            )
        q = _quote_ident
        amount = _exact_amount(q(cols.amount), types[cols.amount])
        ts = q(cols.date)
        if date_type != "TIMESTAMP WITH TIME ZONE":  # naive times are taken as UTC
            ts = f"timezone('UTC', {ts}::TIMESTAMP)"
        us = f"epoch_us({ts})"
        # lines without a customer belong to no summary row (as pandas' groupby drops them)
        where = [f"{ts} IS NOT NULL", f"{q(cols.amount)} IS NOT NULL"]
        where.append(f"{q(cols.customer)} IS NOT NULL")
        if lo_us is not None:
            where.append(f"{us} > {int(lo_us)}")
        if hi_us is not None:
            where.append(f"{us} <= {int(hi_us)}")
        cid = q(cols.customer)
        if cols.ret is not None and not cols.net:
            where.append(f"{q(cols.ret)} IS NULL")  # returns ignored: sale lines only
        if cols.order is None:
            key, is_sale = us, "TRUE"
        elif cols.ret is None or not cols.net:
            key, is_sale = q(cols.order), "TRUE"
        else:
            key = f"coalesce({q(cols.ret)}, {q(cols.order)})"
            is_sale = f"{q(cols.ret)} IS NULL"
        if cols.order is not None:
            missing = [*where, f"{q(cols.order)} IS NULL"]
            if cols.ret is not None and cols.net:
                missing.append(f"{q(cols.ret)} IS NULL")  # a return is keyed by its order
            n_missing, first_us = con.sql(
                f"SELECT count(*), min({us}) FROM {src} WHERE {' AND '.join(missing)}"
            ).fetchall()[0]
            if n_missing:
                raise missing_order_ids_error(n_missing, first_us, cols.order, label)
        sale_us = us if is_sale == "TRUE" else f"CASE WHEN {is_sale} THEN {us} END"
        units = f"""
            SELECT {cid} AS cid, {key} AS k, min({sale_us}) AS pos,
                   sum({amount}) AS value
            FROM {src} WHERE {" AND ".join(where)}
            GROUP BY ALL"""  # pos is null for an orphan return: dropped below
        # The first purchase's value: ties in time (two orders of one customer in the same
        # microsecond) go to the smallest key. arg_min over a (time, key) struct costs ~10%
        # of the whole query, so it is only computed for the customers with such a tie.
        # Days and order-less times are unique per customer: there time alone decides.
        first_value = "arg_min(value, pos)"
        tie = ", coalesce(min(pos, 2)[2] = min(pos), false) AS tie"
        if by_day:
            spans = [(None, 0)]
            lo_hi = con.sql(f"SELECT min({us}), max({us}) FROM {src} WHERE {' AND '.join(where)}")
            lo, hi = lo_hi.fetchall()[0]
            if lo is not None:
                spans = _offset_spans(tz, int(lo), int(hi))
            first_value, tie = "arg_min(value, k)", ""
        pos = "k" if by_day else "pos"
        if by_day and cols.order is None:
            # Without order ids a purchase is a distinct (customer, time), and the day is a
            # function of the time: lines go to (customer, day) in one aggregation.
            units = f"""
                SELECT {cid} AS cid, {_local_day_sql(us, spans)} AS k,
                       min({us}) AS t_min, max({us}) AS t_max, sum({amount}) AS value
                FROM {src} WHERE {" AND ".join(where)}
                GROUP BY ALL"""
        elif by_day:
            units = f"""
                SELECT cid, {_local_day_sql("pos", spans)} AS k, min(pos) AS t_min,
                       max(pos) AS t_max, sum(value) AS value
                FROM ({units}) WHERE pos IS NOT NULL GROUP BY ALL"""
        else:
            units = f"SELECT *, pos AS t_min, pos AS t_max FROM ({units}) WHERE pos IS NOT NULL"
            if cols.order is None:
                tie = ""  # the key is the time
        sql = f"""
            SELECT cid, count(*) AS n_units, min({pos}) AS p0, max({pos}) AS p1,
                   min(t_min) AS t_first, max(t_max) AS t_last, sum(value)::DOUBLE AS total,
                   ({first_value})::DOUBLE AS first_value{tie}
            FROM ({units}) GROUP BY cid ORDER BY cid"""
        try:
            out = con.sql(sql).to_arrow_table().to_pandas()
        except (duckdb.ConversionException, duckdb.OutOfRangeException) as exc:
            raise _amount_error(con, src, cols, where, us, label) from exc
        if tie:
            ties = out["tie"].to_numpy(dtype=bool)
            if ties.any():
                out.loc[ties, "first_value"] = _first_values_at_ties(
                    con, units, out.loc[ties, "cid"]
                )
            out = out.drop(columns="tie")
        latest = None
        if hi_us is None:
            latest = con.sql(f"SELECT max({us}) FROM {src} WHERE {ts} IS NOT NULL").fetchall()[0][0]
        return out, latest
    finally:
        if view is not None:
            con.unregister(view)
        if own:
            con.close()


# Amounts are summed exactly, as decimals with 9 places (a double amount holds ~16
# significant digits, money 2-4 places): a sum of doubles depends on the order of its terms,
# and DuckDB's threads hand each one rows in an order that changes from run to run, so the
# same log gave totals differing in the last bit (and a gamma-gamma fit differing in the
# 4th significant digit). An order fully returned also nets to exactly 0, not 1e-14.
_EXACT_SCALE = 9
_EXACT_MAX = 10 ** (38 - _EXACT_SCALE)  # DECIMAL(38, 9) holds magnitudes below 1e29


def _exact_amount(amount: str, sql_type: str) -> str:
    """The amount column as an exact DuckDB type: doubles become ``DECIMAL(38, 9)``.

    Integers and decimals are exact already and stay as they are.
    """
    if sql_type in ("DOUBLE", "FLOAT", "REAL"):
        return f"{amount}::DECIMAL(38, {_EXACT_SCALE})"
    return amount


def _amount_error(con: Any, src: str, cols: _Columns, where: list[str], us: str, label: str):
    """The ValueError for amounts the exact sum cannot take: NaN, infinite or >= 1e29."""
    a = _quote_ident(cols.amount)
    bad = f"(isnan({a}) OR isinf({a}) OR abs({a}) >= {_EXACT_MAX})"
    n, first_us, example = con.sql(
        f"SELECT count(*), min({us}), arg_min({a}, {us}) FROM {src} "
        f"WHERE {' AND '.join(where)} AND {bad}"
    ).fetchall()[0]
    if not n:  # the lines are fine: the totals themselves overflow
        return ValueError(
            f"{label}: the sum of {cols.amount!r} of one customer reaches 1e29 or more; "
            "are the amounts in the right unit?"
        )
    when = pd.Timestamp(int(first_us), unit="us", tz="UTC")
    return ValueError(
        f"{label}: {n} lines have an amount ({cols.amount!r}) that is not a finite number "
        f"below 1e29 in size; the first, at {when}, has {example!r}. Remove or correct "
        "them (amounts are summed exactly, as decimals)"
    )


def _first_values_at_ties(con: Any, units: str, cids: pd.Series) -> np.ndarray:
    """Value of the first purchase of customers whose first purchases tie in time.

    ``units`` is the SQL of one row per purchase (``cid, k, pos, value``); the tie goes to
    the smallest key ``k``. Returns the values in the order of ``cids``.
    """
    name = "__crm_clv_tied_customers"
    con.register(name, pd.DataFrame({"cid": cids.to_numpy()}))
    try:
        got = (
            con.sql(
                f"""SELECT cid, arg_min(value, {{'p': pos, 'k': k}})::DOUBLE AS first_value
                FROM ({units}) WHERE cid IN (SELECT cid FROM {name}) GROUP BY cid"""
            )
            .to_arrow_table()
            .to_pandas()
        )
    finally:
        con.unregister(name)
    return cids.map(dict(zip(got["cid"], got["first_value"], strict=True))).to_numpy(float)


def _pandas_frame(transactions: Any, cols: _Columns, con: Any) -> pd.DataFrame:
    if isinstance(transactions, pd.DataFrame):
        cols.check(list(transactions.columns), "transactions")
        return transactions
    if type(transactions).__module__.startswith("pyarrow"):
        cols.check(transactions.column_names, "transactions")
        return transactions.select(cols.needed()).to_pandas()
    if _is_parquet(transactions):
        import pyarrow.dataset as ds

        dataset = ds.dataset(str(transactions), format="parquet")
        cols.check(dataset.schema.names, f"Parquet source {str(transactions)!r}")
        return dataset.to_table(columns=cols.needed()).to_pandas()
    if isinstance(transactions, str) and con is not None:
        src = ".".join(_quote_ident(p) for p in transactions.split("."))
        names = [row[0] for row in con.sql(f"DESCRIBE SELECT * FROM {src}").fetchall()]
        cols.check(names, f"table {transactions!r}")
        sel = ", ".join(_quote_ident(c) for c in cols.needed())
        return con.sql(f"SELECT {sel} FROM {src}").to_arrow_table().to_pandas()
    raise TypeError(
        "transactions must be a pandas DataFrame, a pyarrow Table, a Parquet path/glob "
        f"or a table name with con=..., not {type(transactions).__name__}"
    )


def _pandas_aggregates(
    transactions: Any,
    cols: _Columns,
    *,
    lo_us: int | None,
    hi_us: int | None,
    by_day: bool,
    tz: str,
    con: Any,
) -> tuple[pd.DataFrame, int | None]:
    """The same raw aggregates as :func:`_duckdb_aggregates`, in pandas."""
    df = _pandas_frame(transactions, cols, con)
    dates = df[cols.date]
    if not pd.api.types.is_datetime64_any_dtype(dates):
        raise ValueError(
            f"date_col {cols.date!r} has dtype {dates.dtype}; expected a timestamp "
            "(parse it first, e.g. pandas.to_datetime)"
        )
    dates = pd.DatetimeIndex(dates)
    dates = dates.tz_localize("UTC") if dates.tz is None else dates.tz_convert("UTC")
    valid = ~np.asarray(dates.isna())
    us = np.where(valid, dates.as_unit("us").asi8, 0)
    latest = int(us[valid].max()) if hi_us is None and valid.any() else None
    amount = df[cols.amount].to_numpy(dtype=float, na_value=np.nan)
    keep = valid & ~np.isnan(amount)
    if lo_us is not None:
        keep &= us > lo_us
    if hi_us is not None:
        keep &= us <= hi_us
    if cols.ret is not None and not cols.net:
        keep &= df[cols.ret].isna().to_numpy()  # returns ignored: sale lines only
    cid = df[cols.customer].to_numpy()[keep]
    us, amount = us[keep], amount[keep]
    if cols.order is None:
        key = us
        is_sale = np.ones(us.shape[0], dtype=bool)
    else:
        order = df[cols.order].to_numpy(dtype=object)[keep]
        if cols.ret is None or not cols.net:
            key, is_sale = order, np.ones(us.shape[0], dtype=bool)
        else:
            ret = df[cols.ret]
            is_sale = ret.isna().to_numpy()[keep]
            key = np.where(is_sale, order, ret.to_numpy(dtype=object)[keep])
        missing = pd.isna(key) & ~pd.isna(cid)
        if missing.any():
            raise missing_order_ids_error(
                int(missing.sum()), int(us[missing].min()), cols.order, "transactions"
            )
    lines = pd.DataFrame(
        {
            "cid": cid,
            "k": key,
            "pos": np.where(is_sale, us, np.iinfo(np.int64).max),
            "value": amount,
            "sale": is_sale,
        }
    )
    units = lines.groupby(["cid", "k"], sort=False).agg(
        pos=("pos", "min"), value=("value", "sum"), sale=("sale", "any")
    )
    units = units[units["sale"]].reset_index()
    if by_day:
        units["day"] = _day_start_us(units["pos"].to_numpy(), tz) if len(units) else 0
        units = (
            units.groupby(["cid", "day"], sort=False)
            .agg(t_min=("pos", "min"), t_max=("pos", "max"), value=("value", "sum"))
            .reset_index()
            .rename(columns={"day": "k"})
        )
        units["pos"] = units["k"]
    else:
        units["t_min"] = units["pos"]
        units["t_max"] = units["pos"]
    units = units.sort_values(["cid", "pos", "k"], kind="stable")
    g = units.groupby("cid", sort=False)
    out = pd.DataFrame(
        {
            "n_units": g.size(),
            "p0": g["pos"].min(),
            "p1": g["pos"].max(),
            "t_first": g["t_min"].min(),
            "t_last": g["t_max"].max(),
            "total": g["value"].sum(),
            "first_value": g["value"].first(),
        }
    ).reset_index()
    return out, latest


def _aggregates(engine: Any, transactions: Any, cols: _Columns, **kwargs) -> tuple:
    if engine == "duckdb":
        return _duckdb_aggregates(transactions, cols, **kwargs)
    if engine == "pandas":
        return _pandas_aggregates(transactions, cols, **kwargs)
    from crm_lib import engine as eng

    con = kwargs.pop("con")
    backend = eng.connect(engine)
    if con is not None and isinstance(transactions, str) and not _is_parquet(transactions):
        if not eng.is_engine(backend, "duckdb"):
            raise ValueError("con=... (a DuckDB connection) only goes with a DuckDB engine")
        backend = eng.connect(con)
    return eng.customer_aggregates(transactions, cols, backend=backend, **kwargs)


def _resolve_args(
    customer_col, date_col, amount_col, order_col, return_col, returns, time_unit, freq_by, engine
) -> tuple[_Columns, Any]:
    _check_choice("time_unit", time_unit, ("W", "D"))
    _check_choice("freq_by", freq_by, ("order", "day"))
    if engine is None or (isinstance(engine, str) and engine not in ("duckdb", "pandas")):
        from crm_lib import engine as eng

        engine = eng.default_engine() if engine is None else engine
        if engine not in ("duckdb", "pandas"):
            engine = eng.connect(engine)  # a Spark master or URL; unknown names raise here
    _check_choice("returns", returns, ("net", "ignore"))
    if order_col is None and return_col is not None and returns == "net":
        raise ValueError(
            "returns can only be netted against their orders when order_col is given: pass "
            "order_col=..., or return_col=None / returns='ignore'"
        )
    cols = _Columns(customer_col, date_col, amount_col, order_col, return_col, returns == "net")
    return cols, engine


def _finish_summary(
    agg: pd.DataFrame, end_pos: int, unit_us: int, customer_col: str, presorted: bool = False
) -> pd.DataFrame:
    n = agg["n_units"].to_numpy(dtype=np.int64)
    p0 = agg["p0"].to_numpy(dtype=np.int64)
    p1 = agg["p1"].to_numpy(dtype=np.int64)
    total = agg["total"].to_numpy(dtype=float)
    first = agg["first_value"].to_numpy(dtype=float)
    freq = n - 1
    repeat = total - first
    # a repeat total that is zero up to rounding (e.g. a fully returned order) is zero
    repeat[np.abs(repeat) <= 1e-12 * (np.abs(total) + np.abs(first))] = 0.0
    monetary = np.where(freq > 0, repeat / np.maximum(freq, 1), 0.0)
    cid = agg["cid"].reset_index(drop=True)
    if not isinstance(cid.dtype, pd.StringDtype):
        cid = pd.Series(cid.to_numpy())  # object ids: let pandas infer (str for strings)
    out = pd.DataFrame(
        {
            customer_col: cid,
            "frequency": freq,
            "recency": (p1 - p0) / unit_us,
            "T": (end_pos - p0) / unit_us,
            "monetary_value": monetary,
            "monetary_total": total,
            "first_purchase": pd.to_datetime(
                agg["t_first"].to_numpy(np.int64), unit="us", utc=True
            ),
            "last_purchase": pd.to_datetime(agg["t_last"].to_numpy(np.int64), unit="us", utc=True),
        }
    )
    if not presorted:  # DuckDB's result comes sorted by customer already
        out = out.sort_values(customer_col, kind="stable").reset_index(drop=True)
    return out


def customer_summary(
    transactions: Any,
    *,
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str = "amount",
    order_col: str | None = "order_id",
    return_col: str | None = "original_order_id",
    observation_end: Any = None,
    time_unit: Literal["W", "D"] = "W",
    freq_by: Literal["order", "day"] = "order",
    returns: Literal["net", "ignore"] = "net",
    tz: str = "UTC",
    engine: Any = None,
    con: Any = None,
) -> pd.DataFrame:
    """One row per customer: frequency, recency, T and monetary value (the RFM summary).

    Parameters
    ----------
    transactions : DataFrame, pyarrow Table, Parquet path/glob, or table name
        The order-line log (``transactions`` of the data contract). A ``str``/``Path``
        ending in ``.parquet`` or containing a glob (``*``) is read by DuckDB directly; any
        other ``str`` is a table (or view) name in the DuckDB connection ``con``.
    customer_col, date_col, amount_col : str
        Customer id, line timestamp (timezone-aware, or naive = UTC) and line amount
        (negative on return lines).
    order_col : str or None
        Order id; the lines of one order form one purchase. ``None``: every distinct
        (customer, timestamp) is one purchase (a log without order ids).
    return_col : str or None
        On return lines, the id of the original order (``original_order_id``); ``None``
        when the log has no returns.
    observation_end : date or timestamp, optional
        End of observation; lines after it are ignored. Default: the latest timestamp in
        the log. Naive values are taken as UTC.
    time_unit : {"W", "D"}
        Unit of ``recency`` and ``T``: weeks (the unit of the simulated world) or days.
    freq_by : {"order", "day"}
        What one purchase is. ``"order"`` (default): each distinct order, at the time of
        its first sale line, so ``frequency`` = distinct orders after the first one and
        ``recency``/``T`` are exact times. ``"day"``: each local calendar day with at least
        one order (as lifetimes' ``summary_data_from_transaction_data`` with
        ``freq="D"``): ``frequency`` = purchase days after the first, ``recency`` = days
        between the first and last purchase day, ``T`` = days from the first purchase day
        to the day of ``observation_end`` (both in ``time_unit``).
    returns : {"net", "ignore"}
        ``"net"`` (default): a return line (``return_col`` not null) is added to the order
        it references, so an order's value is its net value; a return whose original
        order is not in the log (or not in the window) is dropped, and an order counts as
        a purchase even if fully returned (net value 0). ``"ignore"``: return lines are
        dropped (gross order values). Net values are what a customer is worth; but a
        return takes back single lines, so net order values are no longer gamma
        distributed: fit :class:`GammaGammaModel` on gross values when returns are
        frequent.
    tz : str
        Time zone of calendar days for ``freq_by="day"``: the dataset's own (its
        ``dataset.yml`` ``timezone``; default UTC, which is no one's business day). With
        ``engine="duckdb"`` or ``"pandas"`` days follow Python's time-zone database (as
        pandas' ``tz_convert``); through ibis (Spark, URLs) the engine's own (ICU, the
        JVM's), which differ only where the databases disagree (e.g. some of
        Africa/Casablanca's changes).
    engine : {"duckdb", "spark", "pandas"}, Spark master, connection URL or ibis backend
        Where the log is reduced; default ``$CRM_ENGINE`` if set (so a report batch can
        be pointed at a cluster without changing a notebook), else ``"duckdb"``.
        ``"duckdb"``: hand-tuned DuckDB SQL, never loads the log into pandas.
        ``"spark"``, a Spark master (``"local[4]"``,
        ``"spark://host:7077"``), a URL (``"duckdb:///crm.duckdb"``), an ibis backend or a
        ``SparkSession``: the same aggregation as one ibis expression
        (:func:`crm_lib.engine.customer_aggregates`, see :func:`crm_lib.engine.connect`);
        a ``str`` source is then a Parquet path or a table of that backend. ``"pandas"``:
        the in-memory fallback. All give identical counts and times, and sums equal to
        rounding error.
    con : duckdb.DuckDBPyConnection, optional
        DuckDB connection to run in (needed for a table name with ``engine="duckdb"``);
        default a private in-memory one.

    Returns
    -------
    pandas.DataFrame
        Sorted by customer id, one row per customer with a purchase up to
        ``observation_end``: ``customer_id`` (named ``customer_col``), ``frequency``
        (int), ``recency``, ``T`` (in ``time_unit``), ``monetary_value`` (mean net value
        of the repeat purchases, 0 when ``frequency == 0``), ``monetary_total`` (net value
        of all purchases, the first included), ``first_purchase``, ``last_purchase`` (UTC).

    Notes
    -----
    With purchases at times :math:`t_0 < t_1 < \\dots < t_x \\le \\tau` (``tau`` the
    observation end): ``frequency`` :math:`= x`, ``recency`` :math:`= t_x - t_0`,
    ``T`` :math:`= \\tau - t_0`, ``monetary_value`` :math:`= \\frac1x\\sum_{j=1}^x v_j`
    (the first purchase is left out, as the gamma-gamma model expects). Ties at the first
    purchase time are broken by the smallest order id.

    References
    ----------
    Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV: Using iso-value
    curves for customer base analysis. Journal of Marketing Research, 42(4), 415-430.
    """
    cols, engine = _resolve_args(
        customer_col, date_col, amount_col, order_col, return_col, returns, time_unit, freq_by,
        engine,
    )  # fmt: skip
    hi_us = None
    if observation_end is not None:
        hi_us = _ts_to_us(_to_utc_timestamp(observation_end, "observation_end"))
    by_day = freq_by == "day"
    agg, latest = _aggregates(
        engine, transactions, cols, lo_us=None, hi_us=hi_us, by_day=by_day, tz=tz, con=con
    )
    end_us = hi_us if hi_us is not None else latest
    # the SQL of a private DuckDB connection sorts by customer already (binary string order,
    # nulls last: as pandas); a caller's connection may have another collation
    sort_done = isinstance(engine, str) and engine == "duckdb" and con is None
    if end_us is None:
        return _finish_summary(agg, 0, _UNIT_US[time_unit], customer_col, sort_done)
    end_pos = int(_day_start_us(end_us, tz)[0]) if by_day else int(end_us)
    return _finish_summary(agg, end_pos, _UNIT_US[time_unit], customer_col, sort_done)


def calibration_holdout_split(
    transactions: Any,
    *,
    calibration_end: Any,
    observation_end: Any,
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str = "amount",
    order_col: str | None = "order_id",
    return_col: str | None = "original_order_id",
    time_unit: Literal["W", "D"] = "W",
    freq_by: Literal["order", "day"] = "order",
    returns: Literal["net", "ignore"] = "net",
    tz: str = "UTC",
    engine: Any = None,
    con: Any = None,
) -> pd.DataFrame:
    """RFM summary of a calibration period and the purchases of the following holdout period.

    Parameters
    ----------
    transactions, customer_col, date_col, amount_col, order_col, return_col, time_unit, \
freq_by, returns, tz, engine, con
        As in :func:`customer_summary`.
    calibration_end : date or timestamp
        End of the calibration period (inclusive); the holdout is
        ``(calibration_end, observation_end]``.
    observation_end : date or timestamp
        End of the holdout period.

    Returns
    -------
    pandas.DataFrame
        The :func:`customer_summary` columns for the calibration period (customers with
        a purchase up to ``calibration_end``) plus ``frequency_holdout`` (purchases in the
        holdout: all of them count, there is no "first" one), ``monetary_value_holdout``
        (their mean net value, 0 if none) and ``duration_holdout`` (holdout length in
        ``time_unit``).

    Notes
    -----
    Netting of returns is done within each period: a holdout return of a calibration
    order affects neither period (the calibration does not see it, the holdout has no
    sale line of that order).
    """
    cols, engine = _resolve_args(
        customer_col, date_col, amount_col, order_col, return_col, returns, time_unit, freq_by,
        engine,
    )  # fmt: skip
    cal = _to_utc_timestamp(calibration_end, "calibration_end")
    end = _to_utc_timestamp(observation_end, "observation_end")
    if end <= cal:
        raise ValueError(
            f"observation_end ({end}) must be after calibration_end ({cal}): the holdout "
            "period is (calibration_end, observation_end]"
        )
    if not isinstance(engine, str) and (
        isinstance(transactions, pd.DataFrame)
        or type(transactions).__module__.startswith("pyarrow")
    ):
        from crm_lib import engine as eng

        transactions = eng.table(transactions, eng.connect(engine))  # one upload, two queries
    kwargs = {"cols": cols, "by_day": freq_by == "day", "tz": tz, "con": con}
    cal_us, end_us = _ts_to_us(cal), _ts_to_us(end)
    summary = customer_summary(
        transactions,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        order_col=order_col,
        return_col=return_col,
        observation_end=cal,
        time_unit=time_unit,
        freq_by=freq_by,
        returns=returns,
        tz=tz,
        engine=engine,
        con=con,
    )
    hold, _ = _aggregates(engine, transactions, lo_us=cal_us, hi_us=end_us, **kwargs)
    hold = hold.set_index("cid")
    ids = summary[customer_col].to_numpy()
    n = hold["n_units"].reindex(ids, fill_value=0).to_numpy(dtype=np.int64)
    total = hold["total"].reindex(ids, fill_value=0.0).to_numpy(dtype=float)
    summary["frequency_holdout"] = n
    summary["monetary_value_holdout"] = np.where(n > 0, total / np.maximum(n, 1), 0.0)
    if freq_by == "day":
        span = int(_day_start_us(end_us, tz)[0] - _day_start_us(cal_us, tz)[0])
    else:
        span = end_us - cal_us
    summary["duration_holdout"] = span / _UNIT_US[time_unit]
    return summary


_WINDOW_REASONS = {
    ("first campaign", "en"): "the day the first experiment began, so that no campaign "
    "changes the holdout",
    ("end of data", "en"): "the day after the last purchase in the data",
    ("first campaign", "zh"): "第一个实验开始的那天，以免营销活动影响验证期",
    ("end of data", "zh"): "数据中最后一次购买的次日",
}


@dataclass(frozen=True)
class HoldoutWindow:
    """Calibration and holdout periods derived from a dataset (see :func:`holdout_window`)."""

    calibration_end: pd.Timestamp
    observation_end: pd.Timestamp
    reason: str  #: ``"first campaign"`` or ``"end of data"``: what ``observation_end`` is
    timezone: str = "UTC"  #: the dataset's zone; both ends are its midnights

    def local(self, which: str) -> str:
        """``"calibration_end"`` or ``"observation_end"`` as a local date, ``YYYY-MM-DD``."""
        return f"{getattr(self, which).tz_convert(self.timezone):%Y-%m-%d}"

    def describe(self, language: str = "en") -> str:
        """One sentence for a report: the two periods and why the holdout ends there."""
        cal, obs = self.local("calibration_end"), self.local("observation_end")
        why = _WINDOW_REASONS[(self.reason, language)]
        if language == "zh":
            return f"校准期截至 {cal}，验证期为 {cal} 至 {obs}（结束于{why}）。"
        return f"Calibration up to {cal}, holdout from {cal} to {obs} (which is {why})."


def holdout_window(
    transactions: pd.DataFrame,
    *,
    holdout_weeks: float,
    timezone: str = "UTC",
    campaigns: pd.DataFrame | None = None,
    date_col: str = "ordered_at",
    campaign_col: str = "assigned_at",
) -> HoldoutWindow:
    """The calibration/holdout split of a dataset, from its own dates.

    Parameters
    ----------
    transactions : pandas.DataFrame
        The order-line log (``date_col`` timezone-aware).
    holdout_weeks : float
        Length of the holdout, ending at the observation end.
    timezone : str
        The dataset's time zone (``dataset.yml``): periods start at its midnight.
    campaigns : pandas.DataFrame, optional
        Experiment assignments (``campaign_col``): when there are any, observation ends at
        the start of the local day the first one began, so that no campaign changes the
        behaviour the holdout checks the model against.
    date_col, campaign_col : str

    Returns
    -------
    HoldoutWindow
        ``calibration_end = observation_end - holdout_weeks`` and the reason for the end.

    Raises
    ------
    ValueError
        When the log is empty or the holdout would start at or before the first purchase
        (the message gives the span of the data).
    """
    times = pd.to_datetime(transactions[date_col], utc=True)
    if times.empty or times.isna().all():
        raise ValueError(f"the transactions have no {date_col!r} values to derive the holdout from")
    if campaigns is not None and len(campaigns) and campaign_col in campaigns:
        first = pd.to_datetime(campaigns[campaign_col], utc=True).min()
        end = first.tz_convert(timezone).normalize().tz_convert("UTC")
        reason = "first campaign"
    else:
        last = times.max().tz_convert(timezone)
        end = (last.normalize() + pd.Timedelta(days=1)).tz_convert("UTC")
        reason = "end of data"
    if not holdout_weeks > 0:
        raise ValueError(f"holdout_weeks must be positive, got {holdout_weeks}")
    calibration_end = end - pd.Timedelta(weeks=holdout_weeks)
    if calibration_end <= times.min():
        span = (end - times.min()) / pd.Timedelta(weeks=1)
        raise ValueError(
            f"a holdout of {holdout_weeks} weeks leaves no calibration period: the data span "
            f"{span:.1f} weeks up to {end:%Y-%m-%d}; choose holdout_weeks below that"
        )
    return HoldoutWindow(calibration_end, end, reason, timezone)
