"""Engines: connect to DuckDB, Spark or any ibis backend, and read a log as a table."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["ENGINES", "connect", "default_engine", "is_engine", "stop_spark", "table"]

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

        backend = ibis.duckdb.connect(**config)
        # DuckDB draws a progress bar on stdout for queries over 2 s: noise in reports and
        # cron logs. In a Jupyter kernel it refuses to change the setting without ipywidgets
        # (which it needs to draw one there, so none is drawn): leave it then.
        import duckdb

        with contextlib.suppress(duckdb.Error):
            backend.raw_sql("SET enable_progress_bar = false")
        return backend
    if name in ("spark", "pyspark"):
        return _spark_backend(_spark_session("local[*]", config))
    if name.startswith(_SPARK_MASTER_PREFIXES):
        return _spark_backend(_spark_session(name, config))
    if name == "pandas":
        raise ValueError(
            "engine='pandas' is the in-memory fallback of the analysis functions (e.g. "
            "crm_lib.value.customer_summary(..., engine='pandas')), not a backend to connect to; "
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
