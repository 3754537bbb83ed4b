"""The reports folder: run ids, atomic publication of a batch, ``latest``, pruning.

Layout::

    reports/
      20261123T101500Z/          one published batch (complete by construction)
        index.html  batch.json
        03_segmentation/  03_segmentation.ipynb  03_segmentation.html  metrics.json  ...
      latest -> 20261123T101500Z  symlink to the most recently published batch
      .20261124T101500Z.partial/  a batch being built (or left by a killed process)
      .20261124T101500Z.lock      held by the process building that batch

A batch is built in its hidden ``.partial`` folder and renamed into place only when
every run has finished, so a folder named like a run id is always complete. Re-using a
run id moves the old batch aside, renames the new one in and then deletes the old one.
Hidden leftovers whose lock is not held by a live process are removed by the next
batch or prune.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import IO

from crm_lib.reporting.batch import BatchError, check_name

try:  # POSIX; elsewhere batches are not protected against a concurrent twin
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = ["default_run_id", "list_batches", "prune", "validate_run_id"]

log = logging.getLogger(__name__)

LATEST = "latest"
_PARTIAL = ".partial"
_OLD = ".old-"
_LOCK = ".lock"


def default_run_id(now: dt.datetime | None = None) -> str:
    """UTC timestamp run id, e.g. ``20261123T101500Z``."""
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def validate_run_id(run_id: str) -> str:
    """Return ``run_id`` if it is a safe folder name, else raise :class:`BatchError`."""
    problem = check_name(run_id, "run id")
    if problem is None and run_id == LATEST:
        problem = "run id 'latest' is reserved for the symlink to the newest batch"
    if problem:
        raise BatchError(problem)
    return run_id


def unique_run_id(reports_dir: Path, run_id: str) -> str:
    """``run_id``, or ``run_id-2``, ``-3``... if a batch of that id already exists."""
    candidate, n = run_id, 1
    while (reports_dir / candidate).exists() or (reports_dir / f".{candidate}{_PARTIAL}").exists():
        n += 1
        candidate = f"{run_id}-{n}"
    return candidate


class BatchFolder:
    """Build a batch in ``.<run-id>.partial`` and publish it atomically.

    Use as a context manager; call :meth:`publish` after the last file is written.
    Leaving the block without publishing (an exception, Ctrl-C) keeps the partial
    folder for inspection; the next batch or prune removes it.
    """

    def __init__(self, reports_dir: Path, run_id: str):
        self.reports_dir = Path(reports_dir).resolve()
        self.run_id = run_id
        self.partial = self.reports_dir / f".{run_id}{_PARTIAL}"
        self.final = self.reports_dir / run_id
        self._lock: IO[str] | None = None

    def __enter__(self) -> BatchFolder:
        self.reports_dir.mkdir(parents=True, exist_ok=True)
        self._lock = _acquire(self.reports_dir / f".{self.run_id}{_LOCK}")
        if self._lock is None:
            raise BatchError(
                f"another batch with run id {self.run_id!r} is running in {self.reports_dir}; "
                "wait for it or choose another --run-id"
            )
        cleanup_stale(self.reports_dir)
        if self.partial.exists():  # left by an earlier, killed batch of the same id
            _remove(self.partial)
        self.partial.mkdir()
        return self

    def publish(self) -> Path:
        """Rename the finished batch into place and point ``latest`` at it."""
        old = None
        if self.final.exists() or self.final.is_symlink():
            old = self.reports_dir / f".{self.run_id}{_OLD}{uuid.uuid4().hex[:8]}"
            os.replace(self.final, old)
        os.replace(self.partial, self.final)
        if old is not None:
            _remove(old)
        update_latest(self.reports_dir, self.run_id)
        return self.final

    def __exit__(self, *exc_info: object) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                (self.reports_dir / f".{self.run_id}{_LOCK}").unlink()
            self._lock.close()  # releases the flock
            self._lock = None


def update_latest(reports_dir: Path, run_id: str) -> None:
    """Point ``reports/latest`` at ``run_id`` (relative symlink, replaced atomically)."""
    tmp = reports_dir / f".{LATEST}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    try:
        os.symlink(run_id, tmp, target_is_directory=True)
        os.replace(tmp, reports_dir / LATEST)
    except OSError as exc:  # e.g. no symlink permission on Windows
        with contextlib.suppress(OSError):
            tmp.unlink()
        log.warning("could not update %s: %s", reports_dir / LATEST, exc)


def latest_target(reports_dir: Path) -> Path | None:
    """The batch folder ``latest`` points to, or None."""
    link = Path(reports_dir) / LATEST
    if not link.is_symlink():
        return None
    return (link.parent / os.readlink(link)).resolve()


def list_batches(reports_dir: str | Path) -> list[Path]:
    """Published batch folders, oldest first.

    A batch is a visible folder (not a symlink) holding ``batch.json``; anything else in
    the reports folder is ignored. Order: the ``finished_at`` time stored in
    ``batch.json`` (the folder's modification time if unreadable), then the name.
    """
    root = Path(reports_dir)
    if not root.is_dir():
        return []
    batches = [
        p
        for p in root.iterdir()
        if not p.name.startswith(".")
        and p.is_dir()
        and not p.is_symlink()
        and (p / "batch.json").is_file()
    ]
    return sorted(batches, key=lambda p: (_finished_at(p), p.name))


def prune(reports_dir: str | Path | None = None, keep: int = 10) -> list[Path]:
    """Delete all but the newest ``keep`` batches; never the one ``latest`` points to.

    Parameters
    ----------
    reports_dir : path, optional
        Reports folder (default :func:`crm_lib.contract.config.reports_dir`).
    keep : int
        Number of newest batches to keep (see :func:`list_batches` for the order).
        ``keep=0`` still keeps the ``latest`` batch.

    Returns
    -------
    list of Path
        The removed batch folders. Stale hidden leftovers of interrupted batches are
        removed as well (not listed).
    """
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
        raise ValueError(f"keep must be a whole number >= 0, got {keep!r}")
    if reports_dir is None:
        from crm_lib.contract import config

        reports_dir = config.reports_dir()
    root = Path(reports_dir).resolve()
    if not root.is_dir():
        return []
    cleanup_stale(root)
    batches = list_batches(root)
    latest = latest_target(root)
    doomed = batches[: max(len(batches) - keep, 0)]
    removed = []
    for folder in doomed:
        if latest is not None and folder.resolve() == latest:
            continue
        _remove(folder)
        removed.append(folder)
    return removed


def cleanup_stale(reports_dir: Path) -> None:
    """Remove hidden leftovers of batches whose process is gone (lock not held)."""
    if not reports_dir.is_dir():
        return
    for entry in reports_dir.iterdir():
        run_id = _leftover_run_id(entry.name)
        if run_id is None:
            continue
        lock_path = reports_dir / f".{run_id}{_LOCK}"
        lock = _acquire(lock_path)
        if lock is None:  # a live batch owns it
            continue
        try:
            if entry != lock_path:
                log.info("removing leftover of an interrupted batch: %s", entry)
                _remove(entry)
            with contextlib.suppress(OSError):
                lock_path.unlink()
        finally:
            lock.close()


def _leftover_run_id(name: str) -> str | None:
    if not name.startswith(".") or name.startswith(f".{LATEST}."):
        return None
    if name.endswith(_PARTIAL):
        return name[1 : -len(_PARTIAL)]
    if _OLD in name:
        return name[1:].rsplit(_OLD, 1)[0]
    if name.endswith(_LOCK):
        return name[1 : -len(_LOCK)]
    return None


def _acquire(path: Path) -> IO[str] | None:
    """Open and exclusively lock ``path`` without waiting; None if another process holds it."""
    handle = open(path, "a+", encoding="utf-8")
    if fcntl is None:  # pragma: no cover
        return handle
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _finished_at(folder: Path) -> str:
    try:
        value = json.loads((folder / "batch.json").read_text(encoding="utf-8"))["finished_at"]
        return str(value)
    except (OSError, ValueError, KeyError, TypeError):
        mtime = folder.stat().st_mtime
        return dt.datetime.fromtimestamp(mtime, dt.UTC).isoformat(timespec="seconds")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()
