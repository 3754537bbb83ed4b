"""The ``crm`` command.

``crm data build``     writes a simulated world (tables + ground truth) to a folder.
``crm data import``    adds a table to a dataset folder from a user's export and a mapping.
``crm data inspect``   lists the contract tables a data folder holds.
``crm report ...``     runs report batches or one notebook (see :mod:`crm_lib.reporting`).

Exit codes: 0 success; 1 a run failed (the batch still finished); 2 a refused
command line, configuration or parameter (nothing was executed).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

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


def _data_import(args: argparse.Namespace) -> int:
    import warnings

    from crm_lib.contract.dataset import DatasetConfigError
    from crm_lib.intake.dataset_import import import_file, import_sql
    from crm_lib.intake.io import IngestError, QuarantineWarning

    if (args.file is None) == (args.sql is None) or (args.sql is None) != (args.query is None):
        print(
            "crm data import: give either a FILE or --sql URL with --query SELECT...",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    widths = None
    if args.widths:
        try:
            widths = [int(w) for w in args.widths.split(",")]
        except ValueError:
            print(f"crm data import: --widths must be numbers like 5,8,7, got {args.widths!r}",
                  file=sys.stderr)  # fmt: skip
            return EXIT_REFUSED
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", QuarantineWarning)
        common = {
            "name": args.name,
            "timezone": args.timezone,
            "currency": args.currency,
            "max_quarantined_share": args.max_quarantined,
        }
        try:
            if args.sql is not None:
                result = import_sql(args.sql, args.query, args.mapping, args.out, **common)
            else:
                result = import_file(
                    args.file,
                    args.mapping,
                    args.out,
                    encoding=args.encoding,
                    sep=args.sep,
                    sheet=args.sheet,
                    widths=widths,
                    **common,
                )
        except (IngestError, DatasetConfigError, FileNotFoundError, ValueError) as exc:
            print(f"crm data import: {exc}", file=sys.stderr)
            return EXIT_REFUSED
    for w in caught:
        if issubclass(w.category, QuarantineWarning):
            print(f"crm data import: warning: {w.message}", file=sys.stderr)
    print(f"crm data import: {result.summary_line()}")
    return 1 if result.status in {"mostly quarantined", "all quarantined"} else 0


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
        help="build a simulated world, import your own data, or inspect a data folder",
        description="Build a simulated world with its ground truth, import your own exports "
        "into a dataset folder, or list what a data folder holds.",
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
    imp = data_sub.add_parser(
        "import",
        help="add a table to a dataset folder from your export and a mapping",
        description="Read an export (CSV, text aligned with blanks, fixed-width, Excel, "
        "Parquet, JSON Lines) or a SQL query's result with a column mapping, quarantine the rows that break it, and "
        "write the contract table to OUT/tables/ with OUT/dataset.yml and the lineage in "
        "OUT/intake.duckdb. Exit code 1 when most rows were quarantined.",
    )
    imp.add_argument("file", nargs="?", help="the export (or use --sql and --query)")
    imp.add_argument("--sql", metavar="URL", help="read from a database (SQLAlchemy URL) instead")
    imp.add_argument("--query", help="the SELECT statement to run with --sql")
    imp.add_argument(
        "--mapping",
        required=True,
        help="a shipped mapping's name (e.g. cdnow_transactions) or a YAML file",
    )
    imp.add_argument("--out", required=True, help="the dataset folder (created if needed)")
    imp.add_argument("--name", help="dataset name for a new dataset.yml (default: the folder's)")
    imp.add_argument(
        "--timezone", help="IANA time zone for a new dataset.yml (default: the mapping's)"
    )
    imp.add_argument(
        "--currency", help="ISO 4217 code for a new dataset.yml (default: the mapping's)"
    )
    imp.add_argument("--encoding", help="text encoding (default: detected)")
    imp.add_argument("--sep", help="delimiter; 'whitespace' for columns aligned with blanks")
    imp.add_argument("--widths", help="fixed-width fields, e.g. 5,8,7")
    imp.add_argument("--sheet", help="Excel sheet (default: the first)")
    imp.add_argument(
        "--max-quarantined", type=float, default=0.5, metavar="SHARE",
        help="warn and exit 1 above this share of quarantined rows (default 0.5)",
    )  # fmt: skip
    imp.set_defaults(func=_data_import)
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
    _add_export_parser(sub)
    return parser


def _add_export_parser(sub) -> None:
    export = sub.add_parser(
        "export",
        help="write lists and tables for Excel, Tableau / Power BI or SPSS",
        description="Export to the tools people already use: a formatted Excel workbook of "
        "lists, tidy CSV/Parquet extracts with a data dictionary, SPSS .sav survey data.",
    )
    ex_sub = export.add_subparsers(dest="export_command", required=True)
    excel = ex_sub.add_parser(
        "excel",
        help="lists (CSV or Parquet files) as one formatted workbook, a sheet per file",
        description="Write each list file (a study's segment, target or trigger list) as a "
        "sheet of one workbook: bold frozen header, filters, number formats, formulas "
        "neutralised.",
    )
    excel.add_argument("files", nargs="+", help="CSV or Parquet files, one sheet each")
    excel.add_argument("--out", required=True, help="the .xlsx file to write")
    excel.add_argument("--currency", help="currency code shown with money columns")
    excel.set_defaults(func=_export_excel)
    extract = ex_sub.add_parser(
        "extract",
        help="a dataset's tables as CSV or Parquet with a data dictionary (Tableau, Power BI)",
        description="Write the contract tables of a dataset folder as tidy files with "
        "data_dictionary.csv. Columns holding personal data are left out.",
    )
    extract.add_argument("data_dir", help="a dataset folder (crm data import / crm data build)")
    extract.add_argument("--out", required=True, help="folder to write")
    extract.add_argument("--format", choices=["csv", "parquet"], default="csv")
    extract.add_argument("--tables", help="comma-separated tables (default: all the dataset has)")
    extract.set_defaults(func=_export_extract)
    spss = ex_sub.add_parser(
        "spss",
        help="a dataset's survey responses as SPSS .sav with variable and value labels",
    )
    spss.add_argument("data_dir", help="a dataset folder with survey_responses")
    spss.add_argument("--out", required=True, help="the .sav file to write")
    spss.add_argument(
        "--instrument", default="", help="shipped instrument or YAML (default: the dataset's)"
    )
    spss.add_argument("--language", choices=["en", "zh"], default="en")
    spss.set_defaults(func=_export_spss)


def _read_list(path: str):
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p} does not exist")
    if p.suffix.lower() == ".parquet":
        return pd.read_parquet(p)
    if p.suffix.lower() == ".csv":
        return pd.read_csv(p, encoding="utf-8-sig")
    raise ValueError(f"{p}: a list must be a .csv or .parquet file")


def _export_excel(args: argparse.Namespace) -> int:
    from crm_lib.reporting.exports import write_workbook

    try:
        sheets = {Path(f).stem: _read_list(f) for f in args.files}
        path = write_workbook(sheets, args.out, currency=args.currency)
    except (OSError, ValueError) as exc:
        print(f"crm export excel: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"crm export excel: {len(sheets)} sheets -> {path}")
    return 0


def _export_extract(args: argparse.Namespace) -> int:
    from crm_lib.datasets import load_dataset
    from crm_lib.reporting.exports import write_extract

    try:
        ds = load_dataset(args.data_dir)
        tables = ds.tables
        if args.tables:
            wanted = [t.strip() for t in args.tables.split(",") if t.strip()]
            absent = [t for t in wanted if t not in tables]
            if absent:
                raise ValueError(f"{args.data_dir} has no tables {absent}; it has {list(tables)}")
            tables = {t: tables[t] for t in wanted}
        files = write_extract(tables, args.out, format=args.format, pii="drop")
    except (OSError, ValueError) as exc:
        print(f"crm export extract: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"crm export extract: {len(files) - 1} tables and data_dictionary.csv -> {args.out}")
    return 0


def _export_spss(args: argparse.Namespace) -> int:
    from crm_lib import survey
    from crm_lib.datasets import load_dataset
    from crm_lib.reporting.exports import write_spss

    try:
        ds = load_dataset(args.data_dir)
        ds.require("survey_responses", study="the SPSS export")
        inst = survey.instrument_for(ds, args.instrument)
        path = write_spss(ds.survey_responses, args.out, inst, language=args.language)
    except (OSError, ValueError, LookupError) as exc:
        print(f"crm export spss: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"crm export spss: {len(ds.survey_responses):,} responses -> {path}")
    return 0


def _version() -> str:
    from crm_lib import __version__

    return f"crm_lib {__version__}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
