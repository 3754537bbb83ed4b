"""``crm report run | params | prune``: the command-line face of :mod:`crm_lib.reporting`.

Exit codes of ``crm report run``:

- 0: every run succeeded;
- 1: at least one run failed (the batch still finished and was published);
- 2: refused before executing anything (bad YAML, unknown notebook, bad parameter);
- 130 / 143: interrupted by Ctrl-C / SIGTERM (nothing published).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["add_report_parser"]

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143

_EPILOG = """\
exit codes: 0 all runs succeeded; 1 at least one run failed (the batch still finished);
2 refused before executing anything (bad YAML, unknown notebook, bad parameter);
130/143 interrupted by Ctrl-C/SIGTERM (nothing published)."""


def add_report_parser(subparsers: Any) -> None:
    """Add the ``report`` command and its subcommands to the ``crm`` parser.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The subparsers object of the ``crm`` command.
    """
    report = subparsers.add_parser(
        "report",
        help="run report batches, list notebook parameters, prune old batches",
        description="Run parameterised notebooks into reports/<run-id>/ (see README, Reports).",
    )
    sub = report.add_subparsers(dest="report_command", required=True)

    run = sub.add_parser(
        "run",
        help="execute a batch of notebooks into reports/<run-id>/",
        description="Execute every run of a batch file; write the executed notebooks, HTML "
        "reports, metrics.json, index.html and batch.json into reports/<run-id>/.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "batch",
        nargs="?",
        default="reports.yml",
        help="batch YAML (default: reports.yml), or one notebook (.ipynb) to run on its own",
    )
    run.add_argument(
        "--run-id", help="folder name of the batch (default: UTC time, e.g. 20261123T101500Z)"
    )
    run.add_argument(
        "-p",
        "--parameter",
        dest="parameters",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        default=[],
        help="override a parameter in every run that declares it (repeatable; wins over -f)",
    )
    run.add_argument(
        "-f",
        "--parameters-file",
        dest="parameter_files",
        action="append",
        default=[],
        metavar="PARAMS_YAML",
        help="YAML mapping of parameter overrides for every run (repeatable)",
    )
    run.add_argument(
        "--only",
        nargs="+",
        action="extend",
        metavar="NAME",
        help="run only the runs with these names",
    )
    run.add_argument(
        "--reports-dir", help="where batches go (default: $CRM_REPORTS_DIR or ./reports)"
    )
    run.add_argument(
        "-q", "--quiet", action="store_true", help="print only errors and the summary line"
    )
    run.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=None,
        metavar="N",
        help="runs executed at the same time, each with its own kernel (default: $CRM_JOBS, "
        "else the number of cores; runs sharing a warehouse run one after another)",
    )
    run.set_defaults(func=_cmd_run)

    params = sub.add_parser(
        "params",
        help="list a notebook's parameters",
        description="Print the parameters of a notebook: name, type, default and help comment.",
    )
    params.add_argument("notebook", help="path of the .ipynb file")
    params.set_defaults(func=_cmd_params)

    prune = sub.add_parser(
        "prune",
        help="delete all but the newest N batches",
        description="Delete all but the newest N published batches (newest = most recently "
        "finished); the batch 'latest' points to is always kept; other files are left alone.",
    )
    prune.add_argument(
        "--keep", type=int, required=True, metavar="N", help="number of batches to keep"
    )
    prune.add_argument(
        "--reports-dir", help="reports folder (default: $CRM_REPORTS_DIR or ./reports)"
    )
    prune.set_defaults(func=_cmd_prune)


def _cmd_run(args: argparse.Namespace) -> int:
    from crm_lib.reporting.batch import BatchError, read_overrides_file
    from crm_lib.reporting.environment import relpath_or_abs
    from crm_lib.reporting.runner import run_batch

    with _logging(args.quiet) as tty:
        try:
            overrides: dict[str, Any] = {}
            for path in args.parameter_files:
                overrides.update(read_overrides_file(path))
            overrides.update(dict(args.parameters))
            with _sigterm_as_interrupt(), _tqdm_logging(tty and not args.quiet):
                result = run_batch(
                    args.batch,
                    run_id=args.run_id,
                    overrides=overrides,
                    reports_dir=args.reports_dir,
                    quiet=args.quiet,
                    only=args.only,
                    jobs=args.jobs,
                )
        except BatchError as exc:
            print(f"crm report: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM here or in a worker process
            if getattr(exc, "reason", None) == _Terminated.reason:
                print("crm report: terminated (SIGTERM); nothing was published", file=sys.stderr)
                return EXIT_TERMINATED
            print("crm report: interrupted; nothing was published", file=sys.stderr)
            return EXIT_INTERRUPTED
        except OSError as exc:
            print(f"crm report: {type(exc).__name__}: {exc}", file=sys.stderr)
            return EXIT_FAILED
    print(result.summary_line(relpath_or_abs(result.index)), flush=True)
    return EXIT_OK if result.ok else EXIT_FAILED


def _cmd_params(args: argparse.Namespace) -> int:
    from crm_lib.reporting.params import notebook_parameters

    try:
        table = notebook_parameters(args.notebook)
    except FileNotFoundError as exc:
        print(f"crm report params: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except Exception as exc:  # not a notebook
        print(f"crm report params: cannot read {args.notebook}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    if table.empty:
        print(f"{args.notebook}: no parameters (no code cell tagged 'parameters')")
        return EXIT_OK
    rows = [("name", "type", "default", "help")]
    for rec in table.itertuples(index=False):
        rows.append((rec.name, rec.type or "-", repr(rec.default), rec.help or ""))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    print(f"Parameters of {args.notebook}:")
    for row in rows:
        cells = [cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)]
        print(("  " + "  ".join([*cells, row[3]])).rstrip())
    return EXIT_OK


def _cmd_prune(args: argparse.Namespace) -> int:
    from crm_lib.contract import config
    from crm_lib.reporting.environment import relpath_or_abs
    from crm_lib.reporting.store import latest_target, list_batches, prune

    root = Path(args.reports_dir) if args.reports_dir else config.reports_dir()
    if args.keep < 0:
        print(f"crm report prune: --keep must be >= 0, got {args.keep}", file=sys.stderr)
        return EXIT_REFUSED
    removed = prune(root, keep=args.keep)
    for folder in removed:
        print(f"removed {relpath_or_abs(folder)}")
    if removed:
        from crm_lib.reporting.history import write_history_html

        write_history_html(root)  # the page across batches lists only what is left
    left = len(list_batches(root))
    latest = latest_target(root)
    shown = f", latest -> {latest.name}" if latest is not None else ""
    print(
        f"crm report prune: removed {len(removed)}, kept {left} batches in {relpath_or_abs(root)}{shown}"
    )
    return EXIT_OK


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value


class _Terminated(KeyboardInterrupt):
    """SIGTERM (cron/Airflow timeout), raised like Ctrl-C so kernels are shut down."""

    reason = "terminated by SIGTERM"


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise _Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _logging(quiet: bool) -> Iterator[bool]:
    """Timestamped log lines on stderr; in a terminal only warnings (the bars show progress)."""
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):
        tty = False
    level = logging.ERROR if quiet else logging.WARNING if tty else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    if tty:
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%SZ")
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
    handler.setLevel(level)
    ours = logging.getLogger("crm_lib")
    others = logging.getLogger("papermill")
    saved = (ours.level, ours.propagate, others.level)
    ours.addHandler(handler)
    ours.setLevel(level)
    ours.propagate = False
    others.setLevel(max(level, logging.WARNING))  # papermill's INFO lines repeat ours
    others.addHandler(handler)
    try:
        yield tty
    finally:
        ours.removeHandler(handler)
        others.removeHandler(handler)
        ours.setLevel(saved[0])
        ours.propagate = saved[1]
        others.setLevel(saved[2])


@contextlib.contextmanager
def _tqdm_logging(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    from tqdm.contrib.logging import logging_redirect_tqdm

    with logging_redirect_tqdm([logging.getLogger("crm_lib"), logging.getLogger("papermill")]):
        yield
