"""The ``crm`` command.

``crm data build``     writes a simulated world (tables + ground truth) to a folder.
``crm data inspect``   lists the contract tables a data folder holds.
``crm report ...``     runs report batches or one notebook (see :mod:`crm_lib.reporting`).

Exit codes: 0 success; 1 a run failed (the batch still finished); 2 a refused
command line, configuration or parameter (nothing was executed).
"""

from __future__ import annotations

import argparse
import sys
import time

DESCRIPTION = (
    "crm_lib's command line: build or inspect data, and run the study notebooks into reports."
)
EXIT_REFUSED = 2


def _size(text: str) -> str | int:
    """argparse type of --size: a named size or a positive number of customers."""
    from crm_lib.datasets import SIZES

    if text in SIZES:
        return text
    try:
        number = int(text.replace("_", ""))
    except ValueError:
        number = 0
    if number <= 0:
        raise argparse.ArgumentTypeError(
            f"unknown world size {text!r}: use one of {', '.join(SIZES)} or a number of "
            "customers (e.g. 500)"
        )
    return number


def _data_build(args: argparse.Namespace) -> int:
    from crm_lib import datasets

    start = time.perf_counter()
    world = datasets.simulate(args.size, seed=args.seed, dirty=not args.clean)
    out = datasets.save_world(world, args.out)
    n_tx = len(world.transactions)
    print(
        f"crm data build: {args.size} world (seed {args.seed}, {len(world.customers):,} customers, "
        f"{n_tx:,} transaction lines) written to {out} in {time.perf_counter() - start:.1f}s"
    )
    return 0


def _data_inspect(args: argparse.Namespace) -> int:
    from crm_lib.datasets import describe_folder

    try:
        table = describe_folder(args.folder)
    except FileNotFoundError as exc:
        print(f"crm data inspect: {exc}; pass a folder of contract tables", file=sys.stderr)
        return EXIT_REFUSED
    truth = "yes (simulated data)" if table.attrs["truth"] else "no"
    print(f"{args.folder}: {table.attrs['kind']}; ground truth: {truth}")
    width = max(len(t) for t in table["table"])
    for rec in table.itertuples(index=False):
        if rec.file:
            print(
                f"  {rec.table:<{width}}  {rec.rows:>12,} rows  {rec.columns:>3} columns  {rec.file}"
            )
        else:
            print(f"  {rec.table:<{width}}  missing")
    found = int((table["file"] != "").sum())
    print(f"{found} of {len(table)} contract tables found")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crm", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser(
        "data",
        help="build a simulated world, or inspect a data folder",
        description="Build a simulated world with its ground truth, or list what a data "
        "folder holds.",
    )
    data_sub = data.add_subparsers(dest="data_command", required=True)
    build = data_sub.add_parser("build", help="write a simulated world to a folder")
    build.add_argument(
        "--size", type=_size, default="small", help="small | default | <number of customers>"
    )
    build.add_argument("--seed", type=int, default=1)
    build.add_argument("--out", required=True, help="folder to write (replaced if it exists)")
    build.add_argument(
        "--clean",
        action="store_true",
        help="leave out the dirty raw exports for the cleaning study",
    )
    build.set_defaults(func=_data_build)
    inspect = data_sub.add_parser(
        "inspect",
        help="list the contract tables of a data folder",
        description="List the contract tables a folder holds (rows, columns, file), whether "
        "it has a ground truth, and which tables are missing. Reads file metadata only.",
    )
    inspect.add_argument("folder", help="a folder written by `crm data build`, or of your tables")
    inspect.set_defaults(func=_data_inspect)

    from crm_lib.reporting.cli import add_report_parser

    add_report_parser(sub)
    return parser


def _version() -> str:
    from crm_lib import __version__

    return f"crm_lib {__version__}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
