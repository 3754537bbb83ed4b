"""Reading a CRM's own database: SQLite in every run, and a real PostgreSQL server.

The PostgreSQL server is a throw-away cluster that this module starts on a free local port
when the server binaries are installed (Debian's ``postgresql`` package; ``.ci/run``
installs it) and stops afterwards. Both databases get the same customers table; reading
it with :func:`crm_lib.intake.io.read_sql` and mapping it must account for every row
(rows in = accepted + quarantined) and keep every value, Chinese names and NULLs included.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from crm_lib.intake import io

ROWS = [  # id, name, email, signup (local date), region, source, consent
    ("C001", "张伟", "zhang.wei@example.cn", "2024-01-05", "华东", "search", "Y"),
    ("C002", "Anna Müller", None, "2024-02-11", "north", "direct", "N"),
    ("C003", "李娜", "li.na@example.cn", "2024-13-40", "south", "social", "Y"),  # bad date
    ("C004", "O'Brien", "ob@example.com", "2024-03-01", "mars", "email", "N"),  # no such region
    ("C004", "Zhou Dup", "dup@example.com", "2024-03-02", "west", "email", "N"),  # dup key
    ("C005", None, None, "2024-04-30", "central", "referral", "yes"),
]
MAPPING = {
    "name": "crm_database_customers",
    "version": 1,
    "table": "customers",
    "columns": {
        "customer_id": {"source": "id"},
        "name": {"source": "full_name"},
        "email": {"source": "email"},
        "signup_at": {
            "source": "signup_date",
            "type": "datetime",
            "timezone": "Asia/Shanghai",
            "formats": ["%Y-%m-%d"],
        },
        "region": {
            "source": "region",
            "type": "label",
            "labels": {"north": "north", "south": "south", "west": "west", "central": "central",
                       "华东": "east"},
        },
        "acquisition_channel": {"source": "source"},
        "marketing_consent": {
            "source": "consent", "type": "boolean", "true": ["Y", "yes"], "false": ["N", "no"]
        },
    },
    "constants": {"phone": None, "gender": "unknown", "birth_year": None},
}  # fmt: skip


def _fill(url: str) -> None:
    engine = sa.create_engine(url)
    frame = pd.DataFrame(
        ROWS, columns=["id", "full_name", "email", "signup_date", "region", "source", "consent"]
    )
    with engine.begin() as con:
        frame.to_sql("crm_customers", con, index=False, if_exists="replace")
    engine.dispose()


def _initdb() -> str | None:
    found = shutil.which("initdb")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory):
    """A throw-away PostgreSQL cluster on a free port; skipped without server binaries."""
    initdb = _initdb()
    if initdb is None:
        pytest.skip("PostgreSQL server binaries are not installed (Debian: postgresql)")
    pytest.importorskip("psycopg")
    bindir = Path(initdb).resolve().parent
    root = tmp_path_factory.mktemp("pg")
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    run_as: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as its own user
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
        root.chmod(0o755)
        run_as = ["runuser", "-u", "postgres", "--"]
        for parent in root.parents:  # the cluster's user must reach its folder
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o011)
    subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
         "--no-sync", "-E", "UTF8", "--locale=C"],
        check=True, capture_output=True,
    )  # fmt: skip
    port = _free_port()
    opts = f"-p {port} -k {sock} -h 127.0.0.1 -c fsync=off"
    subprocess.run(
        [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-w", "-t", "60",
         "-l", str(root / "log"), "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    try:
        yield url
    finally:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'crm.db'}"


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_a_database_table_is_read_mapped_and_reconciled(database, request):
    url = request.getfixturevalue(f"{database}_url")
    _fill(url)
    started = time.perf_counter()
    raw = io.read_sql("SELECT * FROM crm_customers ORDER BY id, full_name", url)
    assert time.perf_counter() - started < 60
    assert len(raw) == len(ROWS) and list(raw.index) == [1, 2, 3, 4, 5, 6]
    mapped = io.apply_mapping(raw, MAPPING, source=f"{database}: crm_customers")
    # rows in = accepted + quarantined, each quarantined row with its reason
    assert len(mapped.data) + mapped.quarantine["row"].nunique() == len(ROWS)
    rules = dict(zip(mapped.quarantine["row"], mapped.quarantine["rule"], strict=False))
    assert set(mapped.data["customer_id"]) == {"C001", "C002", "C005"}
    assert rules[3] == "date" and rules[5] == "duplicate_key"  # impossible date, 2nd C004
    assert rules[4].startswith("contract:isin(")  # the region 'mars' is not in the contract
    got = mapped.data.set_index("customer_id")
    assert got.loc["C001", "name"] == "张伟" and got.loc["C001", "region"] == "east"
    assert got.loc["C002", "name"] == "Anna Müller" and pd.isna(got.loc["C002", "email"])
    assert pd.isna(got.loc["C005", "name"]) and bool(got.loc["C005", "marketing_consent"])


def test_a_password_never_reaches_an_error_message():
    with pytest.raises(io.ReadError) as err:
        io.read_sql("SELECT 1", "postgresql+psycopg://crm:s3cret@127.0.0.1:1/none")
    assert "s3cret" not in str(err.value)


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_crm_data_import_from_a_database(database, request, tmp_path, capsys):
    """`crm data import --sql URL --query ...`: a snapshot under raw/, then a normal import."""
    from crm_lib import cli
    from crm_lib.datasets import load_dataset

    url = request.getfixturevalue(f"{database}_url")
    _fill(url)
    mapping = tmp_path / "crm_customers.yml"
    mapping.write_text(yaml.safe_dump(MAPPING, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "dataset"
    argv = ["data", "import", "--sql", url, "--query", "SELECT * FROM crm_customers ORDER BY id, full_name",
            "--mapping", str(mapping), "--out", str(out), "--max-quarantined", "0.6"]  # fmt: skip
    assert cli.main(argv) == 0, capsys.readouterr()
    assert "6 rows in, 3 accepted, 3 quarantined (loaded)" in capsys.readouterr().out
    snapshots = sorted((out / "raw").glob("customers-*"))
    assert [p.suffix for p in snapshots] == [".json", ".parquet"]
    meta = json.loads(snapshots[0].read_text(encoding="utf-8"))
    assert meta["rows"] == 6 and meta["query"].startswith("SELECT")
    ds = load_dataset(out)
    assert sorted(ds.customers["customer_id"]) == ["C001", "C002", "C005"]
    assert ds.config.timezone == "Asia/Shanghai"  # the zone the mapping reads dates in
