"""DuckDB warehouse access that lets a scheduled batch and open notebooks coexist.

DuckDB allows **one writing process per database file**, and while it writes no other
process may even read the file. A notebook left open with a write connection would block
the nightly batch, and the batch would block every notebook. Two rules avoid that:

- **read** with :func:`connect` (read-only by default): any number of processes can
  read the file at the same time;
- **write** with :func:`write_tables` (publish-by-swap): the new tables are written into
  a fresh database file next to the live one, which is then atomically renamed over it
  (``os.replace``). Nobody ever writes to the live file, so nobody is blocked; a reader
  that is already connected keeps a consistent snapshot (the old file stays readable
  until it disconnects) and the next :func:`connect` sees the new tables.

When DuckDB does refuse a connection because of a lock (someone opened the live file
with ``read_only=False``), :class:`WarehouseLockedError` names the file, the process
holding it and what to do.

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "crm.duckdb"
>>> _ = write_tables({"customers": pd.DataFrame({"customer_id": [1, 2]})}, path)
>>> with connect(path) as con:
...     con.execute("select count(*) from customers").fetchone()
(2,)
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

from crm_lib.contract.frames import register_frame

if TYPE_CHECKING:
    import duckdb

__all__ = ["WarehouseLockedError", "connect", "register_frame", "write_tables", "writer_lock"]

_LOCK_RE = re.compile(r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")
_ALIAS = "warehouse"


class WarehouseLockedError(RuntimeError):
    """The warehouse file is locked by another process (or another writer is publishing).

    Attributes
    ----------
    path : Path
        The database file.
    pid : int or None
        Process holding the lock, when DuckDB reports it.
    """

    def __init__(self, message: str, *, path: Path, pid: int | None = None):
        super().__init__(message)
        self.path = path
        self.pid = pid


def connect(path: str | Path | None = None, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the warehouse.

    Parameters
    ----------
    path : path, optional
        Database file (default :func:`crm_lib.contract.config.warehouse_path`,
        ``$CRM_DATA_DIR/warehouse/crm.duckdb``).
    read_only : bool
        True (default): a read-only connection that never blocks other readers or
        :func:`write_tables`; each call opens the file afresh, so it sees the tables
        published last. False: an ordinary read-write connection on the live file,
        which blocks every other process until closed; prefer :func:`write_tables`.

    Returns
    -------
    duckdb.DuckDBPyConnection
        Use it as a context manager, or close it, to release the file.

    Raises
    ------
    FileNotFoundError
        ``read_only=True`` and the file does not exist.
    WarehouseLockedError
        Another process holds a conflicting lock.

    Notes
    -----
    The read-only connection attaches the file to a private in-memory database and
    makes it the default catalog, bypassing DuckDB's per-process cache of open
    databases (which would otherwise hand out the snapshot an older connection holds).
    """
    import duckdb

    path = _resolve(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as exc:
            raise _locked(path, exc, writing=True) from exc
    if not path.is_file():
        raise FileNotFoundError(
            f"no warehouse at {path}; build it first (crm_lib.intake.warehouse.write_tables), "
            "or point CRM_DATA_DIR at the data folder that holds warehouse/crm.duckdb"
        )
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH {_quote_literal(path)} AS {_ALIAS} (READ_ONLY)")
        con.execute(f"USE {_ALIAS}")
    except duckdb.IOException as exc:
        con.close()
        raise _locked(path, exc, writing=False) from exc
    return con


def write_tables(
    tables: Mapping[str, Any],
    path: str | Path | None = None,
    *,
    keep_existing: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Publish tables by building a new database file and swapping it in atomically.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Table name to data (pandas DataFrames, or anything DuckDB can scan, such as
        pyarrow Tables). Each table is created or replaced.
    path : path, optional
        Database file (default :func:`crm_lib.contract.config.warehouse_path`).
    keep_existing : bool
        True (default): everything else in the current file (other tables, views,
        macros) is copied into the new file. False: the new file holds only ``tables``.
    timeout : float
        Seconds to wait for another :func:`write_tables` on the same file to finish.

    Returns
    -------
    Path
        The database file.

    Raises
    ------
    WarehouseLockedError
        If a process holds a read-write connection on the live file (its writes would
        be lost by the swap), or another writer is still publishing after ``timeout``.

    Notes
    -----
    Steps: take the writers' lock ``<file>.write-lock`` (see :func:`writer_lock`; a
    caller that already holds it does not wait); if ``keep_existing``, copy the
    live file into ``.<file>.<id>.tmp`` (``COPY FROM DATABASE``); write ``tables``;
    checkpoint and close; ``fsync``; ``os.replace`` the temporary file over the live
    one; ``fsync`` the folder. A crash at any point leaves the live file untouched (a
    stale temporary file is removed by the next writer).
    """
    import duckdb

    path = _resolve(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = _check_table_names(tables)
    with writer_lock(path, timeout=timeout):
        _remove_stale_temporaries(path)
        if path.exists():
            _merge_wal(path)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
        try:
            con = duckdb.connect(":memory:")
            try:
                con.execute(f"ATTACH {_quote_literal(tmp)} AS new")
                if path.exists():
                    try:
                        con.execute(f"ATTACH {_quote_literal(path)} AS old (READ_ONLY)")
                    except duckdb.IOException as exc:
                        raise _locked(path, exc, writing=True) from exc
                    if keep_existing:
                        con.execute("COPY FROM DATABASE old TO new")
                    con.execute("DETACH old")
                con.execute("USE new")
                for name in names:
                    register_frame(con, "_crm_incoming", tables[name])
                    con.execute(
                        f"CREATE OR REPLACE TABLE {_quote_ident(name)} AS SELECT * FROM _crm_incoming"
                    )
                    con.unregister("_crm_incoming")
                con.execute("CHECKPOINT new")
                con.execute("USE memory")
                con.execute("DETACH new")
            finally:
                con.close()
            _fsync(tmp)
            os.replace(tmp, path)
            _fsync_dir(path.parent)
        finally:
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
    return path


def _resolve(path: str | Path | None) -> Path:
    if path is None:
        from crm_lib.contract import config

        path = config.warehouse_path()
    return Path(path).expanduser().resolve()


def _locked(path: Path, exc: Exception, *, writing: bool) -> Exception:
    """Turn DuckDB's lock error into a message that says what to do; pass others through."""
    match = _LOCK_RE.search(str(exc))
    if match is None:
        return exc
    pid = int(match["pid"])
    holder = f"process {pid} ({match['exe']})"
    if writing:
        what = (
            f"cannot write to the warehouse {path}: {holder} has it open. DuckDB allows one "
            "writing process per file and no other process may have it open meanwhile."
        )
    else:
        what = (
            f"cannot read the warehouse {path}: {holder} has it open for writing. While a "
            "process writes, DuckDB lets no other process open the file."
        )
    advice = (
        " Close that connection (in a notebook: con.close(), or restart its kernel), or wait "
        f"for process {pid} to finish. To avoid this, read with crm_lib.intake.warehouse.connect() "
        "(read-only) and publish with crm_lib.intake.warehouse.write_tables(), which never opens "
        "the live file for writing."
    )
    return WarehouseLockedError(what + advice, path=path, pid=pid)


def _merge_wal(path: Path) -> None:
    """Checkpoint a write-ahead log left by a crashed writer into the live file.

    Otherwise the swap would pair the stale ``.wal`` with the new file.
    """
    import duckdb

    if not path.with_name(path.name + ".wal").exists():
        return
    try:
        duckdb.connect(str(path)).close()  # opening replays the WAL, closing checkpoints it
    except duckdb.IOException as exc:
        raise _locked(path, exc, writing=True) from exc


_HELD = threading.local()  # per thread: warehouse file -> depth of writer_lock held


@contextlib.contextmanager
def writer_lock(path: str | Path | None = None, *, timeout: float = 60.0) -> Iterator[Path]:
    """Hold the writers' lock of a warehouse file across a read-modify-write.

    :func:`write_tables` takes this lock for its own swap. A caller that reads tables,
    changes them and writes them back (:func:`crm_lib.intake.io.ingest`) holds it from
    the read to the write, so that no other writer (thread or process) publishes in
    between and has its tables overwritten. The lock is re-entrant within a thread:
    :func:`write_tables` called inside it does not wait for itself.

    Parameters
    ----------
    path : path, optional
        Database file (default :func:`crm_lib.contract.config.warehouse_path`).
    timeout : float
        Seconds to wait for another writer.

    Yields
    ------
    Path
        The resolved database file.

    Raises
    ------
    WarehouseLockedError
        Another writer still holds the lock after ``timeout``.
    """
    path = _resolve(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    held = getattr(_HELD, "paths", None)
    if held is None:
        held = _HELD.paths = {}
    if held.get(path):
        held[path] += 1
        try:
            yield path
        finally:
            held[path] -= 1
        return
    with _writer_lock(path, timeout):
        held[path] = 1
        try:
            yield path
        finally:
            del held[path]


@contextlib.contextmanager
def _writer_lock(path: Path, timeout: float) -> Iterator[None]:
    lock_path = path.with_name(path.name + ".write-lock")
    handle: IO[str] = open(lock_path, "a+", encoding="utf-8")
    try:
        if fcntl is not None:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError:
                    if time.monotonic() >= deadline:
                        raise WarehouseLockedError(
                            f"another write_tables() is still publishing to {path} after "
                            f"{timeout:g}s (lock file {lock_path}); wait for it or raise timeout",
                            path=path,
                        ) from None
                    time.sleep(0.1)
        yield
    finally:
        handle.close()


def _remove_stale_temporaries(path: Path) -> None:
    """Remove temporaries of crashed writers (safe: we hold the writers' lock)."""
    for stale in path.parent.glob(f".{path.name}.*.tmp*"):
        with contextlib.suppress(OSError):
            stale.unlink()


def _check_table_names(tables: Mapping[str, Any]) -> list[str]:
    if not isinstance(tables, Mapping) or not tables:
        raise ValueError("tables must be a non-empty mapping of table name to DataFrame")
    bad = [name for name in tables if not isinstance(name, str) or not name.strip()]
    if bad:
        raise ValueError(f"table names must be non-empty strings, got {bad!r}")
    return list(tables)


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":  # pragma: no cover
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
