"""Result objects of a report batch: one :class:`RunResult` per run, one :class:`BatchResult`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BatchResult", "RunResult"]

SUCCEEDED = "succeeded"
FAILED = "failed"


@dataclass
class RunResult:
    """Outcome of one run (paths point into the published batch folder)."""

    name: str
    notebook: str  #: the notebook path as written in the batch file
    status: str  #: ``"succeeded"`` or ``"failed"``
    folder: Path  #: ``reports/<run-id>/<name>``
    started_at: str
    finished_at: str
    duration_s: float
    error: str | None = None  #: ``"ValueError: boom"`` for a failed run
    failed_cell: int | None = None  #: index of the failing cell in the executed notebook
    parameters: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)  #: headline numbers recorded
    ipynb: Path | None = None  #: executed notebook, None if execution never started
    html: Path | None = None  #: stakeholder HTML, None if rendering failed or withheld
    #: ``"withheld: personal data found (1 e-mail address)"`` when the run's outputs held
    #: personal data: its notebook and HTML are not published, its texts are redacted
    withheld: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == SUCCEEDED

    @property
    def metrics_file(self) -> Path:
        return self.folder / "metrics.json"

    def to_dict(self, relative_to: Path) -> dict[str, Any]:
        """JSON-ready summary with paths relative to the batch folder."""
        return {
            "name": self.name,
            "notebook": self.notebook,
            "status": self.status,
            "error": self.error,
            "failed_cell": self.failed_cell,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": round(self.duration_s, 3),
            "html": _rel(self.html, relative_to),
            "ipynb": _rel(self.ipynb, relative_to),
            "metrics_file": _rel(self.metrics_file, relative_to),
            "metrics": self.metrics,
            "withheld": self.withheld,
        }


@dataclass
class BatchResult:
    """Outcome of a batch; ``ok`` is True when every run succeeded."""

    run_id: str
    folder: Path  #: ``reports/<run-id>``
    source: str  #: the batch file as given
    started_at: str
    finished_at: str
    duration_s: float
    runs: list[RunResult] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    git: dict[str, Any] | None = None  #: ``commit`` and ``dirty`` of the project checkout

    @property
    def ok(self) -> bool:
        return all(run.ok for run in self.runs)

    @property
    def n_succeeded(self) -> int:
        return sum(run.ok for run in self.runs)

    @property
    def n_failed(self) -> int:
        return len(self.runs) - self.n_succeeded

    @property
    def index(self) -> Path:
        return self.folder / "index.html"

    @property
    def status(self) -> str:
        return SUCCEEDED if self.ok else FAILED

    def summary(self) -> pd.DataFrame:
        """One row per run: ``name, notebook, status, duration_s, error, html``."""
        import pandas as pd

        columns = ["name", "notebook", "status", "duration_s", "error", "html"]
        rows = [{c: getattr(run, c) for c in columns} for run in self.runs]
        return pd.DataFrame(rows, columns=columns)

    def summary_line(self, shown_path: str | None = None) -> str:
        """``crm report: 6 runs, 5 succeeded, 1 failed -> reports/<run-id>/index.html``."""
        n = len(self.runs)
        runs = "1 run" if n == 1 else f"{n} runs"
        target = shown_path or str(self.index)
        return (
            f"crm report: {runs}, {self.n_succeeded} succeeded, {self.n_failed} failed -> {target}"
        )

    def to_dict(self) -> dict[str, Any]:
        """The content of ``batch.json``."""
        from crm_lib.reporting.environment import environment

        return {
            "schema": "crm_lib.report-batch/1",
            "run_id": self.run_id,
            "status": self.status,
            "batch_file": self.source,
            "overrides": self.overrides,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": round(self.duration_s, 3),
            "n_runs": len(self.runs),
            "n_succeeded": self.n_succeeded,
            "n_failed": self.n_failed,
            "environment": {**environment(), "git": self.git},
            "runs": [run.to_dict(self.folder) for run in self.runs],
        }


def _rel(path: Path | None, base: Path) -> str | None:
    if path is None:
        return None
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return str(path)
