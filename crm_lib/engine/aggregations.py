"""Where the heavy aggregation runs: one ibis expression, on DuckDB or Apache Spark.

The steps that reduce an event or transaction log (millions to billions of rows) to one
row per customer, per arm or per period are written once as `ibis
<https://ibis-project.org>`_ expressions and compiled to the engine the user picks:

- ``"duckdb"`` (default): embedded DuckDB, out-of-core on one machine;
- ``"spark"`` / ``"local[4]"`` / ``"spark://host:7077"`` / ``"yarn"``: Apache Spark
  (PySpark) for logs that outgrow one machine;
- any URL ibis understands (``"duckdb:///data/warehouse/crm.duckdb"``,
  ``"postgres://user@host/db"``, ...), an ibis backend or a ``SparkSession``.

Only the per-customer (per-arm, per-period) results come back as pandas DataFrames; the
log itself is read by the engine (Parquet path or glob, or a table) and never has to fit
in pandas. The analysis functions take the engine as one parameter, e.g.
``crm_lib.clv.customer_summary(path, engine="spark")``.

>>> backend = connect("duckdb")
>>> backend.name
'duckdb'
>>> import pandas as pd
>>> data = pd.DataFrame({"variant": ["a", "b"] * 50, "converted": [0, 1, 1, 0] * 25})
>>> s = arm_sufficient_stats(data, group_col="variant", control="a", columns=["converted"])
>>> s.n.tolist()
[50.0, 50.0]

ibis and pyspark are imported on first use, so ``import crm_lib`` stays cheap.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from crm_lib.experiments.armstats import ArmStats

__all__ = [
    "ENGINES",
    "arm_sufficient_stats",
    "cohort_counts",
    "connect",
    "customer_aggregates",
    "default_engine",
    "funnel_counts",
    "is_engine",
    "kpi_aggregates",
    "rfm_scores",
    "stop_spark",
    "table",
]

ENGINES = ("duckdb", "spark", "pandas")
"""Engine names; a Spark master (``local[2]``, ``spark://host:7077``, ``yarn``) or any
URL ibis understands (``duckdb:///path.duckdb``, ``postgres://...``) works too."""

_US_PER_DAY = 86_400_000_000
_SPARK_MASTER_PREFIXES = ("local", "spark://", "yarn", "k8s://", "mesos://")
_lock = threading.Lock()
_spark_backends: dict[int, Any] = {}
_spark_tmp: list[tempfile.TemporaryDirectory] = []


# ------------------------------------------------------------------------- connect


def _is_backend(obj: Any) -> bool:
    mod = type(obj).__module__
    return mod.startswith("ibis.backends") and hasattr(obj, "compile")


def _is_spark_session(obj: Any) -> bool:
    return type(obj).__module__.startswith("pyspark.sql") and type(obj).__name__ == "SparkSession"


def is_engine(engine: Any, name: str) -> bool:
    """Whether ``engine`` (a name or a backend) is ``name`` (``"duckdb"``, ``"pyspark"``)."""
    if isinstance(engine, str):
        return engine == name
    return getattr(engine, "name", None) == name


_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
"""


def _quiet_log4j(folder: str) -> str:
    path = Path(folder) / "log4j2.properties"
    if not path.exists():
        path.write_text(_LOG4J2)
    return path.as_uri()


def _spark_session(master: str, config: dict[str, Any]):
    """A SparkSession for ``master`` with quiet logs, no UI and a temporary warehouse dir."""
    from pyspark.sql import SparkSession

    if not _spark_tmp:
        _spark_tmp.append(tempfile.TemporaryDirectory(prefix="crm-spark-"))
    tmp = _spark_tmp[0].name
    settings = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.warehouse.dir": str(Path(tmp) / "warehouse"),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.adaptive.enabled": "true",
        "spark.driver.extraJavaOptions": (
            f"-Dderby.system.home={tmp} -Dlog4j2.configurationFile={_quiet_log4j(tmp)}"
        ),
    }
    if master.startswith("local"):
        # one machine: a few shuffle partitions per core instead of Spark's 200
        cores = master.removeprefix("local").strip("[]").split(",")[0]
        n = int(cores) if cores.isdigit() else os.cpu_count() or 2
        settings["spark.sql.shuffle.partitions"] = str(2 * n)
    for key, value in config.items():
        if key == "spark.driver.extraJavaOptions":  # keep the quiet logs and derby home
            value = f"{settings[key]} {value}"
        settings[key] = str(value)
    builder = SparkSession.builder.master(master).appName("crm_lib")
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _spark_backend(session):
    import ibis

    with _lock:
        backend = _spark_backends.get(id(session))
        if backend is None:
            backend = ibis.pyspark.connect(session)
            _spark_backends[id(session)] = backend
        return backend


def connect(engine: Any = "duckdb", **config: Any):
    """An ibis backend for ``engine``.

    Parameters
    ----------
    engine : str, ibis backend, SparkSession or duckdb connection
        ``"duckdb"`` (an in-memory DuckDB), ``"spark"`` (a local Spark session on all
        cores, ``local[*]``), a Spark master (``"local[2]"``, ``"spark://host:7077"``,
        ``"yarn"``, ``"k8s://..."``), any connection URL ibis understands
        (``"duckdb:///path/crm.duckdb"``, ``"postgres://user:pass@host/db"``, ...), an
        existing ibis backend (returned as is), a ``pyspark.sql.SparkSession`` or a
        ``duckdb.DuckDBPyConnection`` (wrapped).
    **config
        Spark settings (``spark.executor.memory="8g"``) for a Spark engine; keyword
        arguments of ``ibis.connect`` for a URL.

    Returns
    -------
    ibis.backends.BaseBackend
        ``.name`` is ``"duckdb"`` or ``"pyspark"`` (or the URL's backend).

    Notes
    -----
    A Spark session started here has its UI disabled, ``spark.sql.warehouse.dir`` (and
    Derby's home) in a temporary folder, so nothing is written to the working directory,
    session time zone UTC, Arrow transfers, log level ``ERROR`` and, for a ``local``
    master, two shuffle partitions per core instead of 200. Sources are registered as
    temporary views, never as managed tables. If a session already runs in the process,
    Spark reuses it (``getOrCreate``; settings that only apply at start-up are then
    ignored). Stop it with :func:`stop_spark`.
    """
    if _is_backend(engine):
        return engine
    if _is_spark_session(engine):
        return _spark_backend(engine)
    duckdb = sys.modules.get("duckdb")
    if duckdb is not None and isinstance(engine, duckdb.DuckDBPyConnection):
        import ibis

        return ibis.duckdb.from_connection(engine)
    if not isinstance(engine, str):
        raise TypeError(
            "engine must be a name ('duckdb', 'spark'), a Spark master or connection URL, an "
            f"ibis backend or a SparkSession, not {type(engine).__name__}"
        )
    name = engine.strip()
    if name == "duckdb":
        import ibis

        return ibis.duckdb.connect(**config)
    if name in ("spark", "pyspark"):
        return _spark_backend(_spark_session("local[*]", config))
    if name.startswith(_SPARK_MASTER_PREFIXES):
        return _spark_backend(_spark_session(name, config))
    if name == "pandas":
        raise ValueError(
            "engine='pandas' is the in-memory fallback of the analysis functions (e.g. "
            "crm_lib.clv.customer_summary(..., engine='pandas')), not a backend to connect to; "
            "use 'duckdb' or 'spark' here"
        )
    if "://" in name:
        import ibis

        return ibis.connect(name, **config)
    raise ValueError(
        f"unknown engine {engine!r}: use 'duckdb' (default), 'spark', 'pandas' (in-memory "
        "fallback), a Spark master such as 'local[2]' or 'spark://host:7077', or a connection "
        "URL such as 'duckdb:///path.duckdb' or 'postgres://user@host/db'"
    )


def default_engine() -> str:
    """The engine of functions called without one: ``$CRM_ENGINE`` or ``"duckdb"``.

    ``CRM_ENGINE=spark://host:7077 crm report run reports.yml`` runs every notebook's
    heavy aggregation on that cluster without changing the notebooks.
    """
    return os.environ.get("CRM_ENGINE", "").strip() or "duckdb"


def stop_spark() -> None:
    """Stop the active Spark session (if any) and forget its backend."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:  # pragma: no cover
        return
    session = SparkSession.getActiveSession()
    with _lock:
        _spark_backends.clear()
    if session is not None:
        session.stop()


# --------------------------------------------------------------------------- table


def _is_parquet(source: Any) -> bool:
    if isinstance(source, Path):
        return True
    return isinstance(source, str) and (
        source.endswith(".parquet") or any(ch in source for ch in "*?[")
    )


def table(source: Any, backend: Any):
    """An ibis table over ``source`` in ``backend``, without copying it into a managed table.

    Parameters
    ----------
    source : DataFrame, pyarrow Table, Parquet path/glob, table name or ibis table
        A ``str``/``Path`` ending in ``.parquet`` or containing a glob character is read
        as Parquet (a temporary view); any other ``str`` is a table or view name
        (``"schema.table"`` allowed). DataFrames and Arrow tables become temporary views.
    backend : ibis backend
        From :func:`connect`.

    Returns
    -------
    ibis.expr.types.Table
    """
    import ibis

    if isinstance(source, ibis.expr.types.Table):
        return source
    if isinstance(source, pd.DataFrame) or type(source).__module__.startswith("pyarrow"):
        if backend.name == "pyspark":
            import pyarrow as pa

            arrow = source if isinstance(source, pa.Table) else _to_arrow(source)
            name = ibis.util.gen_name("crm_frame")
            backend._session.createDataFrame(arrow).createOrReplaceTempView(name)
            return backend.table(name)
        return ibis.memtable(source)
    if _is_parquet(source):
        return backend.read_parquet(str(source))  # Spark expands globs itself
    if isinstance(source, str):
        *db, name = source.split(".")
        return backend.table(name, database=".".join(db) or None)
    raise TypeError(
        "source must be a pandas DataFrame, a pyarrow Table, a Parquet path/glob, a table name "
        f"or an ibis table, not {type(source).__name__}"
    )


def _to_arrow(df: pd.DataFrame):
    import pyarrow as pa

    out = pa.Table.from_pandas(df, preserve_index=False)
    # Spark has no large_string; plain strings are enough for ids and labels
    fields = [
        pa.field(f.name, pa.string()) if pa.types.is_large_string(f.type) else f for f in out.schema
    ]
    return out.cast(pa.schema(fields))


def _to_pandas(expr, backend) -> pd.DataFrame:
    return backend.to_pyarrow(expr).to_pandas()


# ------------------------------------------------------ dialect: epoch microseconds


def _functions(backend):
    """Exact epoch-microsecond conversions, named per dialect (ibis builtin UDFs)."""
    import ibis
    import ibis.expr.datatypes as dt

    name = backend.name
    if name == "duckdb":
        names = ("epoch_us", "make_timestamptz", "timezone")
    elif name == "pyspark":
        names = ("unix_micros", "timestamp_micros", "from_utc_timestamp")
    else:
        raise NotImplementedError(
            f"exact microsecond times are implemented for DuckDB and Spark, not {name!r}; "
            "use engine='duckdb' or 'spark'"
        )

    ts_any, ts_utc = dt.Timestamp(), dt.Timestamp(timezone="UTC")
    builtin = ibis.udf.scalar.builtin
    epoch_us = builtin(name=names[0], signature=((ts_any,), dt.int64))(lambda ts: None)
    from_us = builtin(name=names[1], signature=((dt.int64,), ts_utc))(lambda us: None)
    if name == "duckdb":
        shift = builtin(name=names[2], signature=((dt.string, ts_utc), dt.timestamp))(
            lambda tz, ts: None
        )

        def local_us(us, tz: str):
            return epoch_us(shift(tz, from_us(us)))

    else:
        shift = builtin(name=names[2], signature=((ts_utc, dt.string), dt.timestamp))(
            lambda ts, tz: None
        )

        def local_us(us, tz: str):
            return epoch_us(shift(from_us(us), tz))

    # the value at the smallest key (ties impossible: the key ends with a unique field);
    # ibis' argmin compiles to an ordered FIRST() on DuckDB, slower than arg_min
    def arg_min(value, key):
        udf = ibis.udf.agg.builtin(
            name="arg_min" if name == "duckdb" else "min_by",
            signature=((value.type(), key.type()), value.type()),
        )(lambda value, key: None)
        return udf(value, key)

    return epoch_us, local_us, arg_min


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
    """Per-customer raw aggregates (as ``crm_lib.clv._duckdb_aggregates``) as ibis.

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
        from crm_lib.clv import _missing_order_ids

        bad = t.filter(*where, key.isnull()).aggregate(n=lambda x: x.count(), first=us.min())
        bad = _to_pandas(bad, backend)
        if len(bad) and int(bad["n"].iloc[0]):
            raise _missing_order_ids(int(bad["n"].iloc[0]), bad["first"].iloc[0], cols.order, label)
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


def _require(t, columns: Sequence[str], label: str) -> None:
    names = list(t.schema().names)
    missing = [c for c in columns if c not in names]
    if missing:
        raise ValueError(
            f"{label} has no column {missing[0]!r}; available columns: {', '.join(names)}"
        )


def arm_sufficient_stats(
    data: Any,
    *,
    group_col: str,
    control: object,
    columns: Sequence[str],
    pairs: Sequence[tuple[str, str]] = (),
    engine: Any = "duckdb",
) -> ArmStats:
    """Per-arm sufficient statistics computed by the engine, as an :class:`ArmStats`.

    The engine version of :func:`crm_lib.experiments.arm_stats`: the unit-level table
    (a DataFrame, Parquet path or table with one row per randomised unit) stays in the
    engine; only one row per arm comes back. ``srm()``, ``proportions()``, ``means()``
    and ``cuped()`` of the result work unchanged.

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
    ArmStats

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
    from crm_lib.experiments.armstats import ArmStats

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
    return ArmStats(
        group_col=group_col,
        labels=labels,
        control=labels.index(control),
        n=n,
        total=total,
        mean=mean,
        var=var,
        cov=cov,
        binary=binary,
    )


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

    The scores of :func:`crm_lib.segmentation.rfm_scores` (use that function with
    ``engine=...`` for codes and named segments): each score is
    :math:`\\lfloor \\text{rank}_0 \\cdot \\text{bins} / n \\rfloor + 1` with
    ``rank_0 = row_number()`` over the value and then the customer id, so ties go to the
    smaller id exactly as ``rank(method="first")`` after sorting by id. No approximate
    quantiles are involved, so every engine gives the same integers.

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
        rank0 = ibis.row_number().over(order_by=[order, base.cid])
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
    tz: str = "Asia/Shanghai",
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
        Time zone of the calendar months.
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
    tz: str = "Asia/Shanghai",
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
