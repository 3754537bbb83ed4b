"""The batch file: which notebooks to run, under which names, with which parameters.

Format (YAML; every relative path is resolved against the folder ``crm`` runs in)::

    defaults:                 # optional: parameters for every run whose notebook declares them
      data_dir: data/raw/simulated/small-seed1
      language: en
    cell_timeout: 1800        # optional: seconds one cell may run before the run fails
    runs:                     # required: executed in this order
      - notebook: notebooks/03_segmentation.ipynb
        name: 03_segmentation          # optional: output folder name (default: notebook stem)
        parameters: {seed: 2}          # optional: this run only; overrides `defaults`
      - notebook: notebooks/03_segmentation.ipynb
        name: 03_segmentation_zh
        parameters: {language: zh}

Problems are collected, not raised one at a time, so a user sees every mistake of a
batch file in one go; :class:`BatchError` carries them all.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["BatchError", "BatchSpec", "RunSpec", "check_batch", "load_batch", "suggest"]

TOP_KEYS = ("defaults", "runs", "cell_timeout")
RUN_KEYS = ("notebook", "name", "parameters")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


class BatchError(ValueError):
    """A batch was refused before anything executed.

    Attributes
    ----------
    problems : list of str
        One message per problem, each naming the file, run, key or parameter to fix.
    """

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        count = len(self.problems)
        head = "1 problem" if count == 1 else f"{count} problems"
        super().__init__(
            f"batch refused, nothing was executed ({head}):\n  - " + "\n  - ".join(self.problems)
        )


@dataclass(frozen=True)
class RunSpec:
    """One run of a batch, as written in the batch file (paths not yet checked)."""

    index: int  #: 1-based position in ``runs``
    notebook: Path  #: absolute path of the notebook
    notebook_text: str  #: the path as written, for messages and metrics
    name: str  #: output folder name
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``run 3 (03_segmentation)``, used in messages."""
        return f"run {self.index} ({self.name})"


@dataclass(frozen=True)
class BatchSpec:
    """A validated batch file."""

    source: str  #: the batch file as given, or ``"<dict>"``
    runs: list[RunSpec]
    defaults: dict[str, Any] = field(default_factory=dict)
    cell_timeout: float | None = None


def load_batch(batch: str | Path | Mapping[str, Any], *, cwd: Path | None = None) -> BatchSpec:
    """Read and check the structure of a batch file (or an equivalent dict).

    Parameters
    ----------
    batch : path or mapping
        A YAML batch file, or the same content as a dict, or one notebook (``.ipynb``),
        which is read as a batch of that one run.
    cwd : Path, optional
        Folder that relative notebook paths are resolved against (default: the current
        working directory).

    Returns
    -------
    BatchSpec

    Raises
    ------
    BatchError
        Listing every structural problem (unknown keys, missing notebooks, duplicate
        names, wrong types); the parameters themselves are checked later against each
        notebook's ``parameters`` cell.
    """
    spec, problems = check_batch(batch, cwd=cwd)
    if problems:
        raise BatchError(problems)
    return spec


def check_batch(
    batch: str | Path | Mapping[str, Any], *, cwd: Path | None = None
) -> tuple[BatchSpec, list[str]]:
    """Like :func:`load_batch`, but return the well-formed runs and the problems found.

    Lets the caller go on checking the parameters of the well-formed runs, so that one
    refusal lists every problem of the batch. A batch file that cannot be read at all
    still raises :class:`BatchError`.
    """
    cwd = Path.cwd() if cwd is None else Path(cwd)
    if isinstance(batch, Mapping):
        source, content = "<dict>", batch
    elif Path(batch).suffix == ".ipynb":  # one notebook: a batch of one run, named after it
        source, content = str(batch), {"runs": [{"notebook": str(batch)}]}
    else:
        source = str(batch)
        content = _read_yaml(Path(batch), what="batch file")
    problems: list[str] = []
    if not isinstance(content, Mapping):
        raise BatchError(
            f"{source}: expected a mapping with a `runs:` list at the top, got {_kind(content)}"
        )
    for key in content:
        if key not in TOP_KEYS:
            problems.append(f"{source}: unknown top-level key {key!r}{suggest(key, TOP_KEYS)}")
    defaults = content.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        problems.append(f"{source}: `defaults` must be a mapping of parameter: value")
        defaults = {}
    cell_timeout = _check_timeout(content.get("cell_timeout"), source, problems)
    raw_runs = content.get("runs")
    if not isinstance(raw_runs, list) or not raw_runs:
        problems.append(f"{source}: `runs` must be a non-empty list of runs (- notebook: ...)")
        raw_runs = []
    runs: list[RunSpec] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_runs, start=1):
        run = _check_run(raw, index, source, cwd, problems)
        if run is None:
            continue
        if run.name in seen:
            problems.append(
                f"{source}, {run.label}: name {run.name!r} is already used by run "
                f"{seen[run.name]}; give this run a distinct `name:`"
            )
        seen.setdefault(run.name, index)
        runs.append(run)
    spec = BatchSpec(source=source, runs=runs, defaults=dict(defaults), cell_timeout=cell_timeout)
    return spec, problems


def read_overrides_file(path: str | Path) -> dict[str, Any]:
    """Read a ``-f params.yaml`` file: a mapping of parameter name to value."""
    content = _read_yaml(Path(path), what="parameters file")
    if content is None:
        return {}
    if not isinstance(content, Mapping):
        raise BatchError(f"{path}: expected a mapping of parameter: value, got {_kind(content)}")
    return dict(content)


def suggest(word: str, candidates: Any) -> str:
    """``"; did you mean 'language'?"`` for the closest candidate, or ``""``."""
    close = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_name(name: str, what: str = "name") -> str | None:
    """Return a problem message if ``name`` is not a safe folder name, else None."""
    if isinstance(name, str) and _NAME_RE.match(name):
        return None
    return (
        f"{what} {name!r} is not a safe folder name: use 1-100 letters, digits, '_' or '-', "
        "starting with a letter or digit"
    )


def _read_yaml(path: Path, *, what: str) -> Any:
    if not path.is_file():
        raise BatchError(f"{path}: {what} not found (relative paths start in {Path.cwd()})")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BatchError(f"{path}: not valid YAML: {exc}") from exc


def _check_run(raw: Any, index: int, source: str, cwd: Path, problems: list[str]) -> RunSpec | None:
    where = f"{source}, run {index}"
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: expected a mapping with `notebook:`, got {_kind(raw)}")
        return None
    for key in raw:
        if key not in RUN_KEYS:
            problems.append(f"{where}: unknown key {key!r}{suggest(key, RUN_KEYS)}")
    notebook_text = raw.get("notebook")
    if not isinstance(notebook_text, str) or not notebook_text:
        problems.append(f"{where}: `notebook:` is required (path of an .ipynb file)")
        return None
    notebook = (cwd / Path(notebook_text).expanduser()).resolve()
    if notebook.suffix != ".ipynb":
        problems.append(f"{where}: notebook {notebook_text!r} is not an .ipynb file")
        return None
    if not notebook.is_file():
        problems.append(f"{where}: notebook {notebook_text!r} not found (looked at {notebook})")
        return None
    name = raw.get("name", Path(notebook_text).stem)
    name_problem = check_name(name, "name")
    if name_problem:
        problems.append(f"{where}: {name_problem}")
        return None
    parameters = raw.get("parameters") or {}
    if not isinstance(parameters, Mapping):
        problems.append(f"{where}: `parameters` must be a mapping of parameter: value")
        parameters = {}
    return RunSpec(index, notebook, notebook_text, name, dict(parameters))


def _check_timeout(value: Any, source: str, problems: list[str]) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        problems.append(
            f"{source}: `cell_timeout` must be a positive number of seconds, got {value!r}"
        )
        return None
    return float(value)


def _kind(value: Any) -> str:
    return "nothing (empty file)" if value is None else type(value).__name__
