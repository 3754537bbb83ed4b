"""The ``crm`` command.

``crm data build``   writes a simulated world (tables + ground truth) to a folder.
``crm report ...``   runs report batches (see :mod:`crm_lib.reporting`).

Exit codes: 0 success; 1 a run failed (the batch still finished); 2 a refused
command line, configuration or parameter (nothing was executed).
"""

from __future__ import annotations

import argparse
import sys
import time


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crm", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="build and inspect data")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    build = data_sub.add_parser("build", help="write a simulated world to a folder")
    build.add_argument("--size", default="small", help="small | default | <number of customers>")
    build.add_argument("--seed", type=int, default=1)
    build.add_argument("--out", required=True, help="folder to write (replaced if it exists)")
    build.add_argument(
        "--clean",
        action="store_true",
        help="leave out the dirty raw exports for the cleaning study",
    )
    build.set_defaults(func=_data_build)

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
