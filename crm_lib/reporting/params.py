"""Notebook parameters: read the ``parameters`` cell, check and coerce supplied values.

Conventions (see the README section "Reports"):

- one code cell tagged ``parameters``; one line per parameter,
  ``name: type = default  # help text``, with ``type`` among ``int, float, str, bool``;
- ``one of: a, b, c`` in the help text lists the allowed values;
- a parameter whose name ends in ``_dir``, ``_path`` or ``_file`` and does not start
  with ``output`` is an *input path*: a non-empty value must exist;
- a parameter whose name ends in ``_db`` is a *database path* that the notebook may
  create (e.g. ``warehouse_db``): a relative value is made absolute like an input path
  (relative to the folder ``crm`` runs in, not to the notebook's), but it need not exist;
- ``output_dir`` is set by the runner to the run's own folder.

Papermill only *logs* a parameter that the notebook does not declare; here every
supplied value is checked before anything executes, and all problems are reported
together in one :class:`~crm_lib.reporting.batch.BatchError`.
"""

from __future__ import annotations

import ast
import io
import json
import logging
import re
import tokenize
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from crm_lib.reporting.batch import BatchError, BatchSpec, RunSpec, suggest

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "NotebookParameter",
    "ResolvedRun",
    "coerce",
    "notebook_parameters",
    "read_parameters",
    "resolve_runs",
]

log = logging.getLogger(__name__)

TYPES = ("int", "float", "str", "bool")
OUTPUT_DIR = "output_dir"
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}
_ONE_OF = re.compile(r"one of:\s*([^;()]+)", re.IGNORECASE)


@dataclass(frozen=True)
class NotebookParameter:
    """One line of a notebook's ``parameters`` cell."""

    name: str
    type: str | None  #: ``"int"``, ``"float"``, ``"str"``, ``"bool"``, another annotation, or None
    default: Any  #: the default as a Python value (the source text if not a literal)
    help: str = ""
    choices: tuple[Any, ...] | None = None  #: from ``one of: ...`` in the help text

    @property
    def is_input_path(self) -> bool:
        """True for ``*_dir``, ``*_path``, ``*_file`` parameters not starting with ``output``."""
        return is_input_path(self.name)


@dataclass
class ResolvedRun:
    """A run whose parameters passed every check, ready to execute."""

    spec: RunSpec
    declared: dict[str, NotebookParameter]
    #: values handed to papermill (supplied and coerced; input paths made absolute)
    injected: dict[str, Any] = field(default_factory=dict)
    #: every declared parameter's final value (defaults included)
    parameters: dict[str, Any] = field(default_factory=dict)
    #: where each final value came from: default, batch defaults, run parameters, override
    sources: dict[str, str] = field(default_factory=dict)
    #: non-empty input paths (absolute), for the data fingerprint
    input_paths: dict[str, Path] = field(default_factory=dict)
    #: problems of this run's own parameters: the run is refused, the others still run
    problems: list[str] = field(default_factory=list)

    @property
    def takes_output_dir(self) -> bool:
        return OUTPUT_DIR in self.declared


def is_input_path(name: str) -> bool:
    """Whether a parameter name follows the input-path convention."""
    return name.endswith(("_dir", "_path", "_file")) and not name.startswith("output")


def _what(name: str) -> str:
    """What an input-path parameter names, for messages: a folder (``*_dir``) or a file."""
    return "folder" if name.endswith("_dir") else "data file"


def is_db_path(name: str) -> bool:
    """Whether a parameter names a database file the notebook may create (``*_db``)."""
    return name.endswith("_db")


def read_parameters(notebook: str | Path) -> dict[str, NotebookParameter]:
    """Parse the ``parameters`` cell of a notebook.

    Uses :func:`papermill.inspect_notebook`; lines papermill cannot parse (e.g. a help
    comment containing ``=``) are recovered from the cell's Python syntax tree.

    Parameters
    ----------
    notebook : path
        The ``.ipynb`` file.

    Returns
    -------
    dict
        Parameter name to :class:`NotebookParameter`, in cell order; empty if the
        notebook has no cell tagged ``parameters``.
    """
    import nbformat
    import papermill

    path = Path(notebook)
    nb = nbformat.read(path, as_version=4)
    cell = next(
        (c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])), None
    )
    if cell is None:
        return {}
    try:
        inspected = papermill.inspect_notebook(str(path))
    except ValueError:  # no kernelspec in the notebook metadata: use the Python translator
        from papermill.translators import PythonTranslator

        inspected = {p.name: p._asdict() for p in PythonTranslator.inspect(cell)}
    recovered = _parse_cell(cell.source)
    out: dict[str, NotebookParameter] = {}
    for name in dict.fromkeys([*recovered, *inspected]):
        if name in inspected:
            info = inspected[name]
            type_name = None if info["inferred_type_name"] == "None" else info["inferred_type_name"]
            default_text, help_text = info["default"], info["help"]
        else:
            log.warning(
                "%s: papermill could not parse parameter %r; read it from the code", path, name
            )
            type_name, default_text, help_text = recovered[name]
        out[name] = NotebookParameter(
            name=name,
            type=type_name,
            default=_literal(default_text),
            help=help_text,
            choices=_choices(help_text, type_name),
        )
    return out


def notebook_parameters(notebook: str | Path) -> pd.DataFrame:
    """The parameters of a notebook as a table.

    Parameters
    ----------
    notebook : path
        The ``.ipynb`` file.

    Returns
    -------
    pandas.DataFrame
        One row per parameter with columns ``name, type, default, help, choices,
        input_path``.

    Raises
    ------
    FileNotFoundError
        If the notebook does not exist.
    """
    import pandas as pd

    path = Path(notebook)
    if not path.is_file():
        raise FileNotFoundError(
            f"notebook {str(notebook)!r} not found (looked at {path.resolve()})"
        )
    rows = [
        {
            "name": p.name,
            "type": p.type,
            "default": p.default,
            "help": p.help,
            "choices": list(p.choices) if p.choices else None,
            "input_path": p.is_input_path,
        }
        for p in read_parameters(path).values()
    ]
    columns = ["name", "type", "default", "help", "choices", "input_path"]
    return pd.DataFrame(rows, columns=columns)


def coerce(value: Any, type_name: str | None) -> Any:
    """Convert ``value`` to the declared parameter type, or raise ``ValueError``.

    Strings (as given with ``-p``) are parsed: ``"3"`` for ``int``, ``"0.5"`` for
    ``float``, ``true/false/1/0/yes/no`` for ``bool``. Numbers are accepted for
    ``str`` (YAML reads ``size: 1000`` as a number). An undeclared or other type keeps
    the value unchanged.

    Examples
    --------
    >>> coerce("3", "int"), coerce("yes", "bool"), coerce(1000, "str")
    (3, True, '1000')
    """
    if type_name not in TYPES:
        return value
    if value is None:
        raise ValueError(f"is empty; expected a {type_name}")
    if type_name == "bool":
        return _to_bool(value)
    if isinstance(value, bool):
        raise ValueError(f"is a bool, expected a {type_name}")
    if type_name == "str":
        if isinstance(value, str):
            return value
        if isinstance(value, int | float):
            return str(value)
        raise ValueError(f"is a {type(value).__name__}, expected a str")
    if type_name == "int":
        return _to_int(value)
    return _to_float(value)


def resolve_runs(
    spec: BatchSpec,
    overrides: Mapping[str, Any] | None = None,
    *,
    only: Sequence[str] | None = None,
    cwd: Path | None = None,
    earlier_problems: Sequence[str] | None = None,
) -> list[ResolvedRun]:
    """Check every selected run's parameters against its notebook, before executing.

    Precedence (later wins): notebook default < batch ``defaults`` < run
    ``parameters`` < ``overrides`` (``-f`` file, then ``-p``). Batch defaults and
    overrides apply to the runs whose notebook declares the name; a name that no
    selected notebook declares is refused. Run parameters must be declared by the run's
    notebook.

    ``earlier_problems`` (from :func:`~crm_lib.reporting.batch.check_batch`) are
    reported together with the parameter problems.

    Problems of one run's own parameters (a missing data file, a wrong type, a name its
    notebook does not declare) refuse that run only: it is returned with ``problems``
    set and is never executed, while the other runs go ahead (a nightly batch still
    delivers the reports it can). Problems of the batch itself (file, selection, names
    that no notebook declares) refuse the whole batch, and so does a batch in which every
    run is refused.

    Returns
    -------
    list of ResolvedRun

    Raises
    ------
    BatchError
        With every problem found in the whole batch.
    """
    cwd = Path.cwd() if cwd is None else Path(cwd)
    overrides = dict(overrides or {})
    problems: list[str] = list(earlier_problems or [])
    runs = _select(spec, only, problems)
    declared_by_run: list[tuple[RunSpec, dict[str, NotebookParameter]]] = []
    cache: dict[Path, dict[str, NotebookParameter]] = {}
    for run in runs:
        if run.notebook not in cache:
            try:
                cache[run.notebook] = read_parameters(run.notebook)
            except Exception as exc:  # unreadable notebook: report, keep checking the rest
                problems.append(
                    f"{spec.source}, {run.label}: cannot read {run.notebook_text}: {exc}"
                )
                continue
        declared_by_run.append((run, cache[run.notebook]))
    known = {name for _, declared in declared_by_run for name in declared}
    layers = [("batch defaults", spec.defaults), ("override", overrides)]
    for layer, values in layers:
        for name in values:
            if name not in known and declared_by_run:
                problems.append(
                    f"{spec.source}: parameter {name!r} (from {layer}) is not declared by any "
                    f"notebook of the batch{suggest(name, known)}"
                )
    resolved = []
    for run, declared in declared_by_run:
        run_problems: list[str] = []
        resolved.append(_resolve_run(spec, run, declared, overrides, cwd, run_problems))
        resolved[-1].problems = run_problems
    if problems or not resolved or all(r.problems for r in resolved):
        raise BatchError(problems + [p for r in resolved for p in r.problems])
    return resolved


def read_requirements(notebook: str | Path) -> list[str]:
    """The contract tables a notebook needs (notebook metadata ``crm.requires``)."""
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    return list((nb.get("metadata", {}).get("crm") or {}).get("requires") or [])


def _missing_tables(run: RunSpec, data_dir: Path, where: str) -> list[str]:
    """A problem per table the notebook needs and the dataset folder ``data_dir`` lacks."""
    from crm_lib.datasets import describe_folder

    required = read_requirements(run.notebook)
    if not required or not data_dir.is_dir():
        return []
    found = describe_folder(data_dir).set_index("table")["file"]
    return [
        f"{where}: {run.notebook_text} needs the table {table!r}, which the dataset "
        f"{data_dir} does not have: add it with `crm data import FILE --mapping MAPPING "
        f"--out {data_dir}` (a mapping whose table is {table}), or write "
        f"{data_dir}/tables/{table}.parquet"
        for table in required
        if not found.get(table)
    ]


def _resolve_run(
    spec: BatchSpec,
    run: RunSpec,
    declared: dict[str, NotebookParameter],
    overrides: dict[str, Any],
    cwd: Path,
    problems: list[str],
) -> ResolvedRun:
    where = f"{spec.source}, {run.label}"
    result = ResolvedRun(spec=run, declared=declared)
    for name, param in declared.items():
        result.parameters[name] = param.default
        result.sources[name] = "default"
    supplied: dict[str, tuple[Any, str]] = {}
    for name, value in spec.defaults.items():
        if name in declared:
            supplied[name] = (value, "batch defaults")
    for name, value in run.parameters.items():
        if name not in declared:
            problems.append(
                f"{where}: parameter {name!r} = {value!r} is not a parameter of "
                f"{run.notebook_text}{suggest(name, declared)}"
                + ("" if declared else " (the notebook has no cell tagged 'parameters')")
            )
            continue
        supplied[name] = (value, "run parameters")
    for name, value in overrides.items():
        if name in declared:
            supplied[name] = (value, "override")
    for name, (value, layer) in supplied.items():
        if name == OUTPUT_DIR:
            problems.append(
                f"{where}: parameter 'output_dir' (from {layer}) is set by the runner to the "
                "run's own folder; remove it"
            )
            continue
        param = declared[name]
        problem = _check_value(param, value, cwd, result)
        if problem:
            problems.append(f"{where}: parameter {name!r} = {value!r} (from {layer}) {problem}")
            continue
        result.sources[name] = layer
    if "data_dir" in result.input_paths:
        problems.extend(_missing_tables(run, result.input_paths["data_dir"], where))
    for name, param in declared.items():  # non-empty input-path defaults, seen from the notebook
        if name in result.injected or not param.is_input_path:
            continue
        default = param.default
        if isinstance(default, str) and default:
            path = (run.notebook.parent / Path(default).expanduser()).resolve()
            if not path.exists():
                problems.append(
                    f"{where}: missing {_what(name)}: default of parameter {name!r} = {default!r} "
                    f"in {run.notebook_text} does not exist (looked at {path}); "
                    f"pass an existing path, e.g. -p {name} PATH"
                )
            else:
                result.input_paths[name] = path
    return result


def _check_value(
    param: NotebookParameter, value: Any, cwd: Path, result: ResolvedRun
) -> str | None:
    """Coerce and check one supplied value; store it in ``result``; return a problem or None."""
    try:
        coerced = coerce(value, param.type)
    except ValueError as exc:
        return str(exc)
    if param.choices is not None and coerced not in param.choices:
        allowed = ", ".join(str(c) for c in param.choices)
        return f"is not allowed; {param.name} must be one of: {allowed}{suggest(coerced, param.choices)}"
    if param.is_input_path and isinstance(coerced, str) and coerced:
        path = (cwd / Path(coerced).expanduser()).resolve()
        if not path.exists():
            return (
                f"is a missing {_what(param.name)}: {path} does not exist (relative paths "
                f"start in {cwd}, where crm runs); create it first or fix the path"
            )
        result.input_paths[param.name] = path
        coerced = str(path)
    elif is_db_path(param.name) and isinstance(coerced, str) and coerced:
        coerced = str((cwd / Path(coerced).expanduser()).resolve())
    result.injected[param.name] = coerced
    result.parameters[param.name] = coerced
    return None


def _select(spec: BatchSpec, only: Sequence[str] | None, problems: list[str]) -> list[RunSpec]:
    if not only:
        return list(spec.runs)
    names = [run.name for run in spec.runs]
    for name in only:
        if name not in names:
            problems.append(
                f"{spec.source}: --only {name!r} matches no run name{suggest(name, names)} "
                f"(names: {', '.join(names)})"
            )
    return [run for run in spec.runs if run.name in set(only)]


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("is not a bool; use true/false, 1/0 or yes/no")


def _to_int(value: Any) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError("is not an int")


def _to_float(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise ValueError("is not a float")


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def _choices(help_text: str, type_name: str | None) -> tuple[Any, ...] | None:
    match = _ONE_OF.search(help_text or "")
    if not match:
        return None
    items = [item.strip().strip("'\"").rstrip(".") for item in match.group(1).split(",")]
    items = [item for item in items if item]
    out = []
    for item in items:
        try:
            out.append(coerce(yaml.safe_load(item) if type_name != "str" else item, type_name))
        except (ValueError, yaml.YAMLError):
            out.append(item)
    return tuple(out) or None


def _parse_cell(source: str) -> dict[str, tuple[str | None, str, str]]:
    """Top-level assignments of a parameters cell: name -> (type, default text, help)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    comments = _comments(source)
    out: dict[str, tuple[str | None, str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            targets: Iterable[ast.expr] = [node.target]
            type_name: str | None = ast.unparse(node.annotation)
        elif isinstance(node, ast.Assign):
            targets, type_name = node.targets, None
        else:
            continue
        default = ast.get_source_segment(source, node.value) or ""
        help_text = comments.get(node.end_lineno or node.lineno, "")
        for target in targets:
            if isinstance(target, ast.Name):
                out[target.id] = (type_name, default, help_text)
    return out


def _comments(source: str) -> dict[int, str]:
    out: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                out[tok.start[0]] = tok.string.lstrip("#").strip()
    except (tokenize.TokenError, SyntaxError):
        pass
    return out
