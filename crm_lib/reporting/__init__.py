"""Report batches: run parameterised notebooks into ``reports/<run-id>/``.

In a notebook, record the headline numbers::

    from crm_lib.reporting import record
    record("n_customers", 5_000)

From Python or a scheduler, run a batch (see the README section "Reports" for the
batch file, the output layout and the exit codes of ``crm report run``)::

    from crm_lib.reporting import run_batch
    result = run_batch("reports.yml")
    result.ok, result.summary()

Modules: :mod:`~crm_lib.reporting.recorder` (record), :mod:`~crm_lib.reporting.batch`
(the batch file), :mod:`~crm_lib.reporting.params` (notebook parameters),
:mod:`~crm_lib.reporting.runner` (execution), :mod:`~crm_lib.reporting.store`
(run ids, atomic publication, ``latest``, prune), :mod:`~crm_lib.reporting.index`
(``index.html``, ``batch.json``), :mod:`~crm_lib.reporting.cli` (``crm report``),
:mod:`~crm_lib.reporting.source` (the line naming a report's data),
:mod:`~crm_lib.reporting.language` (English words left in a Chinese report).
Heavy libraries (papermill, nbconvert, pandas) are imported only when used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: public name -> submodule defining it (imported on first use: ``crm`` starts fast)
_EXPORTS = {
    "METRIC_MIME": "recorder",
    "record": "recorder",
    "record_many": "recorder",
    "collect_records": "recorder",
    "dataset_line": "source",
    "dataset_name": "source",
    "foreign_words": "language",
    "BatchError": "batch",
    "BatchSpec": "batch",
    "RunSpec": "batch",
    "load_batch": "batch",
    "NotebookParameter": "params",
    "notebook_parameters": "params",
    "read_parameters": "params",
    "BatchResult": "results",
    "RunResult": "results",
    "render_html": "runner",
    "run_batch": "runner",
    "list_batches": "store",
    "prune": "store",
}

__all__ = [
    "METRIC_MIME",
    "BatchError",
    "BatchResult",
    "BatchSpec",
    "NotebookParameter",
    "RunResult",
    "RunSpec",
    "collect_records",
    "dataset_line",
    "dataset_name",
    "foreign_words",
    "list_batches",
    "load_batch",
    "notebook_parameters",
    "prune",
    "read_parameters",
    "record",
    "record_many",
    "render_html",
    "run_batch",
]

if TYPE_CHECKING:  # pragma: no cover
    from crm_lib.reporting.batch import BatchError, BatchSpec, RunSpec, load_batch
    from crm_lib.reporting.language import foreign_words
    from crm_lib.reporting.params import NotebookParameter, notebook_parameters, read_parameters
    from crm_lib.reporting.recorder import METRIC_MIME, collect_records, record, record_many
    from crm_lib.reporting.results import BatchResult, RunResult
    from crm_lib.reporting.runner import render_html, run_batch
    from crm_lib.reporting.source import dataset_line, dataset_name
    from crm_lib.reporting.store import list_batches, prune


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = importlib.import_module(f"crm_lib.reporting.{_EXPORTS[name]}")
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'crm_lib.reporting' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
