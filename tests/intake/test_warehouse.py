"""crm_lib.intake.warehouse: read-only connections, publish-by-swap, clear lock errors.

The lock tests hold a DuckDB write connection in a second process, as a notebook kernel
left open would.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from crm_lib.intake import warehouse
from crm_lib.intake.warehouse import WarehouseLockedError, connect, write_tables


def count(con, table: str) -> int:
    return con.execute(f"select count(*) from {table}").fetchone()[0]


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "warehouse" / "crm.duckdb"
    write_tables({"customers": pd.DataFrame({"customer_id": [1, 2, 3]})}, path)
    return path


class Holder:
    """A second Python process holding a DuckDB connection until closed."""

    def __init__(self, code: str):
        script = textwrap.dedent(code) + "\nprint('ready', flush=True)\nsys.stdin.read()\n"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import sys\n" + script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout.readline().strip() == "ready"

    def close(self) -> str:
        out, _ = self.proc.communicate("", timeout=30)
        return out


@pytest.fixture
def writer(db):
    holder = Holder(f"import duckdb\ncon = duckdb.connect({str(db)!r})")
    yield holder
    holder.close()


def test_default_path_comes_from_config(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path / "data"))
    write_tables({"t": pd.DataFrame({"x": [1]})})
    assert (tmp_path / "data" / "warehouse" / "crm.duckdb").is_file()
    with connect() as con:
        assert count(con, "t") == 1


def test_connect_is_read_only(db):
    with connect(db) as con:
        assert count(con, "customers") == 3
        with pytest.raises(Exception, match="read-only|read only"):
            con.execute("create table x as select 1")


def test_connect_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="no warehouse at .*write_tables"):
        connect(tmp_path / "nope.duckdb")


def test_lock_error_names_file_and_holder(db, writer):
    pid = writer.proc.pid
    with pytest.raises(WarehouseLockedError, match=rf"{db}.*process {pid}.*con.close\(\)") as info:
        connect(db)
    assert info.value.pid == pid and info.value.path == db
    with pytest.raises(WarehouseLockedError, match="one writing process per file"):
        connect(db, read_only=False)


def test_publish_refused_while_a_writer_holds_the_file(db, writer):
    with pytest.raises(WarehouseLockedError, match=f"process {writer.proc.pid}"):
        write_tables({"customers": pd.DataFrame({"customer_id": [9]})}, db)
    writer.close()
    with connect(db) as con:
        assert count(con, "customers") == 3  # untouched
    assert sorted(p.name for p in db.parent.iterdir()) == ["crm.duckdb", "crm.duckdb.write-lock"]


def test_swap_keeps_readers_on_a_consistent_snapshot(db):
    with connect(db) as old:  # e.g. a notebook that connected before the nightly batch
        orders = pd.DataFrame({"order_id": range(5)})
        write_tables({"customers": pd.DataFrame({"customer_id": range(10)}), "orders": orders}, db)
        assert count(old, "customers") == 3  # still the snapshot it opened
        with connect(db) as new:  # same process: not handed the cached old database
            assert count(new, "customers") == 10 and count(new, "orders") == 5


def test_second_process_reader_is_not_blocked_and_sees_old_snapshot(db):
    code = f"""
        from crm_lib.intake.warehouse import connect
        con = connect({str(db)!r})
    """
    script = textwrap.dedent(code) + textwrap.dedent(
        """
        print('ready', flush=True)
        sys.stdin.read()
        print(con.execute('select count(*) from customers').fetchone()[0])
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys\n" + script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    write_tables({"customers": pd.DataFrame({"customer_id": range(7)})}, db)  # not blocked
    out, _ = proc.communicate("", timeout=30)
    assert out.strip() == "3"
    with connect(db) as con:
        assert count(con, "customers") == 7


def test_keep_existing_false_replaces_everything(db):
    write_tables({"orders": pd.DataFrame({"order_id": [1]})}, db)
    with connect(db) as con:
        assert {r[0] for r in con.execute("show tables").fetchall()} == {"customers", "orders"}
    write_tables({"orders": pd.DataFrame({"order_id": [1]})}, db, keep_existing=False)
    with connect(db) as con:
        assert {r[0] for r in con.execute("show tables").fetchall()} == {"orders"}


def test_crashed_writer_wal_is_merged_not_lost(db):
    code = f"""
        import duckdb, os
        con = duckdb.connect({str(db)!r})
        con.execute("create table crashed as select 42 as v")
        print('ready', flush=True)
        os._exit(0)  # die without closing: the write-ahead log stays behind
    """
    subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=True, capture_output=True)
    assert db.with_name("crm.duckdb.wal").exists()
    write_tables({"orders": pd.DataFrame({"order_id": [1]})}, db)
    assert not db.with_name("crm.duckdb.wal").exists()
    with connect(db) as con:
        assert con.execute("select v from crashed").fetchone()[0] == 42


def test_concurrent_writer_times_out_with_clear_message(db):
    lock = db.with_name("crm.duckdb.write-lock")
    holder = Holder(
        f"import fcntl\nh = open({str(lock)!r}, 'a+')\nfcntl.flock(h.fileno(), fcntl.LOCK_EX)"
    )
    try:
        with pytest.raises(WarehouseLockedError, match="another write_tables.*still publishing"):
            write_tables({"t": pd.DataFrame({"x": [1]})}, db, timeout=0.3)
    finally:
        holder.close()


def test_writer_lock_is_reentrant_and_excludes_other_writers(db):
    import threading

    outcome = []

    def other_writer():
        try:
            write_tables({"other": pd.DataFrame({"x": [1]})}, db, timeout=0.3)
            outcome.append("wrote")
        except WarehouseLockedError:
            outcome.append("refused")

    with warehouse.writer_lock(db):
        with connect(db) as con:  # read ...
            n = count(con, "customers")
        thread = threading.Thread(target=other_writer)
        thread.start()
        thread.join()
        # ... modify and write under the same lock: write_tables does not wait for itself
        write_tables({"customers": pd.DataFrame({"customer_id": list(range(n + 1))})}, db)
    assert outcome == ["refused"]  # the other thread could not publish in between
    write_tables({"other": pd.DataFrame({"x": [1]})}, db, timeout=0.3)  # released
    with connect(db) as con:
        assert count(con, "customers") == 4 and count(con, "other") == 1


def test_bad_input_refused(db):
    with pytest.raises(ValueError, match="non-empty mapping"):
        write_tables({}, db)
    with pytest.raises(ValueError, match="table names"):
        write_tables({"": pd.DataFrame({"x": [1]})}, db)
    assert warehouse._quote_ident('we"ird') == '"we""ird"'


def test_register_frame_takes_a_frame_that_runs_backwards():
    """DuckDB 2.0 raises std::bad_cast on a NumPy column with a negative step."""
    import duckdb

    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "n": [1, 2, 3]}).iloc[::-1]
    con = duckdb.connect()
    with pytest.raises(duckdb.Error, match="bad_cast"):  # the bug the helper works around
        con.register("plain", frame)
    warehouse.register_frame(con, "v", frame)
    assert con.sql("SELECT x, n FROM v").fetchall() == [(3.0, 3), (2.0, 2), (1.0, 1)]
