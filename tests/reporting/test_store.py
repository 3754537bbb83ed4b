"""crm_lib.reporting.store: run ids, atomic publication, latest, prune (no notebooks run)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from crm_lib.cli import main
from crm_lib.reporting import BatchError, list_batches, prune, store


def fake_batch(root: Path, run_id: str, finished_at: str) -> Path:
    folder = root / run_id
    folder.mkdir(parents=True)
    (folder / "batch.json").write_text(json.dumps({"run_id": run_id, "finished_at": finished_at}))
    (folder / "index.html").write_text("<html></html>")
    return folder


@pytest.fixture
def reports(tmp_path):
    root = tmp_path / "reports"
    for day in range(1, 6):
        fake_batch(root, f"202611{day:02d}T020000Z", f"2026-11-{day:02d}T02:10:00Z")
    # a custom run id finished between the 2nd and 3rd nightly batches
    fake_batch(root, "manual-check", "2026-11-02T12:00:00Z")
    (root / ".gitkeep").write_text("")
    (root / "notes.txt").write_text("not a batch")
    (root / "scratch").mkdir()  # a folder without batch.json is not a batch
    return root


def test_default_run_id_is_a_utc_timestamp():
    moment = dt.datetime(2026, 11, 23, 11, 15, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert store.default_run_id(moment) == "20261123T101500Z"


@pytest.mark.parametrize("bad", ["", "../x", "a/b", ".hidden", "latest", "a b", "x" * 101])
def test_validate_run_id_refuses_unsafe_names(bad):
    with pytest.raises(BatchError, match="run id"):
        store.validate_run_id(bad)


def test_unique_run_id_suffixes_taken_ids(reports):
    assert store.unique_run_id(reports, "20261101T020000Z") == "20261101T020000Z-2"
    assert store.unique_run_id(reports, "20261130T020000Z") == "20261130T020000Z"


def test_list_batches_orders_by_finish_time_and_ignores_other_files(reports):
    names = [p.name for p in list_batches(reports)]
    assert names == [
        "20261101T020000Z",
        "20261102T020000Z",
        "manual-check",
        "20261103T020000Z",
        "20261104T020000Z",
        "20261105T020000Z",
    ]


def test_prune_keeps_newest_and_latest_target(reports):
    store.update_latest(reports, "20261101T020000Z")  # latest points to an old batch
    removed = prune(reports, keep=2)
    assert sorted(p.name for p in removed) == [
        "20261102T020000Z",
        "20261103T020000Z",
        "manual-check",
    ]
    left = sorted(p.name for p in reports.iterdir())
    assert left == [
        ".gitkeep",
        "20261101T020000Z",
        "20261104T020000Z",
        "20261105T020000Z",
        "latest",
        "notes.txt",
        "scratch",
    ]
    assert os.readlink(reports / "latest") == "20261101T020000Z"


def test_prune_refuses_negative_keep(reports):
    with pytest.raises(ValueError, match="keep must be"):
        prune(reports, keep=-1)


def test_cli_prune(reports, capsys):
    store.update_latest(reports, "20261105T020000Z")
    assert main(["report", "prune", "--keep", "1", "--reports-dir", str(reports)]) == 0
    out = capsys.readouterr().out
    assert out.count("removed ") == 6  # five lines plus the summary
    assert "removed 5, kept 1 batches" in out and "latest -> 20261105T020000Z" in out
    assert main(["report", "prune", "--keep", "-2", "--reports-dir", str(reports)]) == 2


def test_latest_is_replaced_atomically(tmp_path):
    store.update_latest(tmp_path, "a")
    store.update_latest(tmp_path, "b")
    assert os.readlink(tmp_path / "latest") == "b"
    assert [p.name for p in tmp_path.iterdir()] == ["latest"]  # no temporary link left


def test_batch_folder_publishes_only_on_success(tmp_path):
    with store.BatchFolder(tmp_path, "r1") as folder:
        (folder.partial / "index.html").write_text("new")
        assert not (tmp_path / "r1").exists()
        folder.publish()
    assert (tmp_path / "r1" / "index.html").read_text() == "new"
    with pytest.raises(RuntimeError), store.BatchFolder(tmp_path, "r1") as folder:
        (folder.partial / "index.html").write_text("half")
        raise RuntimeError("crash mid-batch")
    assert (tmp_path / "r1" / "index.html").read_text() == "new"  # old batch intact
    assert (tmp_path / ".r1.partial").is_dir()
    store.cleanup_stale(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "r1"]


def test_live_batch_is_neither_cleaned_up_nor_doubled(tmp_path):
    held = store._acquire(tmp_path / ".busy.lock")  # another batch is building "busy"
    try:
        (tmp_path / ".busy.partial").mkdir()
        store.cleanup_stale(tmp_path)
        prune(tmp_path, keep=0)
        assert (tmp_path / ".busy.partial").is_dir()
        with pytest.raises(BatchError, match="another batch with run id 'busy' is running"):
            store.BatchFolder(tmp_path, "busy").__enter__()
    finally:
        held.close()
    store.cleanup_stale(tmp_path)
    assert list(tmp_path.iterdir()) == []
