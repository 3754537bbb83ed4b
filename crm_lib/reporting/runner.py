"""Execute a report batch: papermill per run, stakeholder HTML, metrics, index.

Each run executes with papermill (kernel ``python3``) in **the notebook's own folder**
(the same working directory Jupyter gives it, so a notebook behaves alike when opened
interactively and when run here). Relative input paths given as parameters are resolved
against the folder ``crm`` runs in and injected as absolute paths, so they do not depend
on that choice. Everything a run writes goes into its folder of the batch being built;
see :mod:`crm_lib.reporting.store` for how the batch is published atomically.

After every run, failed or not, everything it wrote (executed notebook, HTML, artefacts),
its metrics, parameters and error message are scanned for raw e-mail addresses and phone
numbers (:func:`crm_lib.intake.privacy.count_pii`). A finding fails the run and **withholds**
its executed notebook, its HTML and every other file with a finding: they are deleted before
the batch is published. The error message, metrics and parameters are published with each
finding replaced by a placeholder (:func:`crm_lib.intake.privacy.redact_pii`), log lines too,
and the index says what was withheld ("withheld: personal data found (1 e-mail address,
1 phone number)"), never the values. Example identifiers written in the notebook's own
markdown cells (teaching text) are allowed.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import functools
import hashlib
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import nbformat

from crm_lib.reporting.batch import check_batch
from crm_lib.reporting.environment import data_fingerprint, environment, relpath_or_abs
from crm_lib.reporting.history import write_history_html
from crm_lib.reporting.index import write_batch_json, write_index_html
from crm_lib.reporting.mathml import protect_math, restore_math
from crm_lib.reporting.params import OUTPUT_DIR, ResolvedRun, resolve_runs
from crm_lib.reporting.recorder import METRIC_MIME, collect_records
from crm_lib.reporting.results import FAILED, SUCCEEDED, BatchResult, RunResult
from crm_lib.reporting.store import BatchFolder, default_run_id, unique_run_id, validate_run_id

__all__ = ["KERNEL_NAME", "default_jobs", "pii_check", "render_html", "run_batch", "run_chains"]

log = logging.getLogger("crm_lib.reporting")

KERNEL_NAME = "python3"
#: Cells removed from the stakeholder HTML (papermill's parameter cells).
HIDDEN_CELL_TAGS = ("parameters", "injected-parameters")
#: Prefix of the tags marking cells written in one language (``lang-en``, ``lang-zh``).
LANGUAGE_TAG = "lang-"
_INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def run_batch(
    batch: str | Path | Mapping[str, Any],
    run_id: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    reports_dir: str | Path | None = None,
    quiet: bool = False,
    *,
    only: Sequence[str] | None = None,
    jobs: int | None = None,
) -> BatchResult:
    """Run every notebook of a batch and publish ``reports/<run-id>/``.

    Parameters
    ----------
    batch : path or mapping
        Batch file (YAML, see :mod:`crm_lib.reporting.batch`) or the same content as a dict.
    run_id : str, optional
        Folder name of the batch; default a UTC timestamp such as ``20261123T101500Z``
        (suffixed ``-2``, ``-3``... if taken). An existing batch of the same id is
        replaced as a whole.
    overrides : mapping, optional
        Parameters applied to every run whose notebook declares them, after the batch
        file (papermill's ``-p``); strings are coerced to the declared type.
    reports_dir : path, optional
        Where batches go (default :func:`crm_lib.contract.config.reports_dir`, ``./reports``).
    quiet : bool
        No progress bars.
    only : sequence of str, optional
        Run only the runs with these names.
    jobs : int, optional
        Runs executed at the same time, each in its own process with its own kernel
        (default :func:`default_jobs`: ``$CRM_JOBS``, else the number of cores). Runs that
        share a ``*_db`` parameter value (the warehouse notebook 01 builds and 02 reads)
        form a chain and run one after another, in batch order; chains run in parallel.
        ``1`` runs everything in this process, one run after another. The workers come
        from a fork server, which imports the calling script: a script must keep its
        top-level code under ``if __name__ == "__main__":``.

    Returns
    -------
    BatchResult
        ``.ok`` is False when a run failed; the batch is complete and published anyway.

    Raises
    ------
    BatchError
        Before anything executes: a malformed batch file, a missing notebook, an unknown
        or misspelt parameter, a value of the wrong type or outside ``one of:``, a
        missing input path. The message lists every problem of the batch.
    KeyboardInterrupt
        When interrupted; nothing is published and the partial batch stays in the hidden
        ``.<run-id>.partial`` folder until the next batch removes it.
    """
    from crm_lib.contract import config

    cwd = Path.cwd()
    spec, problems = check_batch(batch, cwd=cwd)
    resolved = resolve_runs(spec, overrides, only=only, cwd=cwd, earlier_problems=problems)
    root = Path(config.reports_dir() if reports_dir is None else reports_dir).resolve()
    run_id = unique_run_id(root, default_run_id()) if run_id is None else validate_run_id(run_id)
    progress = not quiet and _stderr_is_tty()

    with BatchFolder(root, run_id) as folder:
        log.info("batch %s: %d runs from %s", run_id, len(resolved), spec.source)
        started, t0 = _utcnow(), time.perf_counter()
        context = _BatchContext(
            run_id=run_id,
            work=folder.partial,
            final=folder.final,
            cell_timeout=spec.cell_timeout,
            progress=progress,
            git=_git_state(cwd),
        )
        runs: list[RunResult] = []
        chains = run_chains(resolved)
        workers = min(default_jobs() if jobs is None else _check_jobs(jobs), len(chains))
        try:
            with _progress(len(resolved), run_id, progress) as bar:
                if workers <= 1:
                    for i, run in enumerate(resolved, start=1):
                        bar.set_postfix_str(run.spec.name, refresh=True)
                        runs.append(_run_safely(run, context, f"[{i}/{len(resolved)}]"))
                        bar.update()
                else:
                    log.info(
                        "batch %s: %d chains of runs on %d workers", run_id, len(chains), workers
                    )
                    runs = _run_parallel(resolved, chains, context, workers, bar)
            result = BatchResult(
                run_id=run_id,
                folder=folder.final,
                source=spec.source,
                started_at=started,
                finished_at=_utcnow(),
                duration_s=time.perf_counter() - t0,
                runs=runs,
                overrides=_redacted({k: _jsonable(v) for k, v in dict(overrides or {}).items()}),
                git=context.git,
            )
            write_batch_json(result, folder.partial)
            write_index_html(result, folder.partial)
            folder.publish()
            try:  # the page across batches; a problem with it never fails the batch
                write_history_html(root)
            except OSError as exc:
                log.warning("could not write %s: %s", root / "index.html", exc)
        except BaseException as exc:
            log.error(
                "batch %s stopped after %d of %d runs (%s); nothing was published, partial "
                "output is kept in %s until the next batch",
                run_id,
                len(runs),
                len(resolved),
                _why_stopped(exc),
                folder.partial,
            )
            raise
    level = logging.INFO if result.ok else logging.WARNING  # each failure was logged as an error
    log.log(
        level,
        "batch %s finished: %d succeeded, %d failed",
        run_id,
        result.n_succeeded,
        result.n_failed,
    )
    return result


def default_jobs() -> int:
    """Runs executed at the same time by default: ``$CRM_JOBS``, else the number of cores."""
    value = os.environ.get("CRM_JOBS", "").strip()
    if value:
        return _check_jobs(value, where="$CRM_JOBS")
    return max(
        1,
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1),
    )


def _check_jobs(value: Any, where: str = "jobs") -> int:
    try:
        jobs = int(value)
    except (TypeError, ValueError):
        jobs = 0
    if jobs < 1 or str(value).strip() != str(jobs):
        raise ValueError(f"{where} must be a whole number of at least 1, got {value!r}")
    return jobs


def run_chains(runs: Sequence[ResolvedRun]) -> list[list[int]]:
    """Group runs that must not run at the same time; return lists of run indices.

    Two runs belong to one chain when they share the value of a parameter whose name ends
    in ``_db`` (a warehouse file: notebook 01 builds it, notebook 02 reads it), directly
    or through a third run. Within a chain, runs keep their batch order; chains are in the
    order of their first run.
    """
    parent = list(range(len(runs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, run in enumerate(runs):
        for name, value in run.parameters.items():
            if name.endswith("_db") and isinstance(value, str) and value:
                key = str(Path(value).expanduser().resolve())
                if key in owner:
                    parent[root(i)] = root(owner[key])
                else:
                    owner[key] = i
    chains: dict[int, list[int]] = {}
    for i in range(len(runs)):
        chains.setdefault(root(i), []).append(i)
    return sorted(chains.values(), key=lambda chain: chain[0])


class _Interrupted(KeyboardInterrupt):
    """A worker was interrupted; the batch stops as on Ctrl-C (with the worker's reason)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _run_chain(
    runs: Sequence[ResolvedRun], indices: Sequence[int], ctx: _BatchContext, total: int
) -> tuple[str, Any]:
    """Worker: execute one chain; ``("done", [(index, RunResult), ...])`` or an interruption."""
    global _WORKER_BUSY
    out = []
    try:
        for i in indices:
            _WORKER_BUSY = True
            try:
                out.append((i, _run_safely(runs[i], ctx, f"[{i + 1}/{total}]")))
            finally:
                _WORKER_BUSY = False
    except SystemExit as exc:  # terminated by the batch process; the kernel was shut down
        os._exit(exc.code if isinstance(exc.code, int) else 143)
    except BaseException as exc:  # Ctrl-C reached this worker
        return "interrupted", _why_stopped(exc)
    return "done", out


#: True while a worker executes a notebook: a SIGTERM then shuts its kernel down first.
_WORKER_BUSY = False


def _worker_init(records: Any, env: dict[str, str], cwd: str, levels: dict[str, int]) -> None:
    """Set up a worker process.

    A worker starts from the fork server, a clean process, not from the batch process:
    it takes the batch process's environment ``env`` (with the kernels' ``MPLBACKEND``),
    working folder ``cwd`` and logger levels ``levels`` (``""``: the root logger). Its
    log records go to the batch process through ``records`` (a queue), which hands
    them to its own loggers: the lines of every worker reach the same place, configured
    once, as if the runs were executed there. A SIGTERM (sent when the batch is
    interrupted) raises SystemExit while a notebook runs, so its kernel is shut down on the
    way out, and then ends the worker at once (``os._exit``).
    """
    import logging.handlers
    import signal

    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    for name, level in levels.items():
        logging.getLogger(name or None).setLevel(level)

    def stop(signum: int, frame: object) -> None:
        if _WORKER_BUSY:  # unwind through papermill, which shuts the kernel down
            raise SystemExit(128 + signum)
        # idle: leave at once, without running the finalizers of the queues.
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    manager = logging.Logger.manager
    for logger in [logging.getLogger(), *manager.loggerDict.values()]:
        if isinstance(logger, logging.Logger):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            logger.propagate = True
    logging.getLogger().addHandler(logging.handlers.QueueHandler(records))


def _terminate(pool: Any, grace: float = 20.0) -> None:
    """Stop the workers: SIGTERM (each shuts its kernel down), SIGKILL after ``grace`` s.

    ``Pool.terminate`` waits for every worker to exit; a worker stuck on a lock it
    inherited when it was forked would make it wait forever, so a watchdog kills what is
    left after the grace period.
    """
    import signal
    import threading

    workers = [p for p in getattr(pool, "_pool", []) if p.pid is not None]

    def kill_stragglers() -> None:
        for proc in workers:
            if proc.exitcode is None:
                with contextlib.suppress(OSError):
                    os.kill(proc.pid, signal.SIGKILL)

    watchdog = threading.Timer(grace, kill_stragglers)
    watchdog.daemon = True
    watchdog.start()
    try:
        pool.terminate()
        pool.join()
    finally:
        watchdog.cancel()


def _forward_records(records: Any) -> None:
    """Batch process: hand the workers' log records to the loggers they were made for."""
    while True:
        record = records.get()
        if record is None:
            return
        logging.getLogger(record.name).handle(record)


def _run_parallel(
    resolved: Sequence[ResolvedRun],
    chains: Sequence[Sequence[int]],
    ctx: _BatchContext,
    workers: int,
    bar: Any,
) -> list[RunResult]:
    """Execute the chains on ``workers`` processes; results in batch order.

    Each worker is a process that runs its chain's notebooks one after another, each in
    its own kernel and folder, exactly as :func:`_run_safely` does in one process.
    An interruption of this process (Ctrl-C, SIGTERM) terminates the workers (their
    kernels exit with them) and is raised again, so nothing is published.

    The workers come from a fork server (``multiprocessing``'s ``forkserver``), not from
    a fork of this process: a process with other threads alive (Spark's py4j threads, a
    notebook's) can hold a lock at the moment of a fork, and the child then waits for it
    forever. The fork server is single-threaded and has only this module imported.
    """
    import logging
    import multiprocessing
    import threading

    worker_ctx = copy.copy(ctx)
    worker_ctx.progress = False  # per-cell bars of several workers would interleave
    results: dict[int, RunResult] = {}
    server = multiprocessing.get_context("forkserver")
    server.set_forkserver_preload([__name__])  # not __main__: a script may lack its guard
    records = server.Queue()
    forwarder = threading.Thread(target=_forward_records, args=(records,), daemon=True)
    forwarder.start()
    levels = {
        name: logger.level
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET
    }
    levels[""] = logging.getLogger().level
    with _kernel_environment():  # given to the workers and their kernels
        initargs = (records, dict(os.environ), os.getcwd(), levels)
        pool = server.Pool(processes=workers, initializer=_worker_init, initargs=initargs)
        try:
            pending = [
                pool.apply_async(
                    _run_chain, (list(resolved), list(chain), worker_ctx, len(resolved))
                )
                for chain in chains
            ]
            while pending:
                done = [job for job in pending if job.ready()]
                for job in done:
                    pending.remove(job)
                    kind, value = job.get()
                    if kind == "interrupted":
                        raise _Interrupted(value)
                    for i, result in value:
                        results[i] = result
                        bar.update()
                if pending:
                    time.sleep(0.05)
            pool.close()
            pool.join()
        except BaseException:
            _terminate(pool)
            raise
        finally:
            records.put(None)
            forwarder.join(timeout=10)
    return [results[i] for i in range(len(resolved))]


def render_html(
    nb: nbformat.NotebookNode,
    path: Path,
    *,
    source_dir: Path | None = None,
    language: str | None = None,
) -> Path:
    """Write the stakeholder HTML of an executed notebook.

    Code and prompts are hidden (``--no-input``), images are embedded, the
    ``parameters`` and ``injected-parameters`` cells are removed, formulas are MathML
    (:mod:`crm_lib.reporting.mathml`) and the page loads nothing from the network: one
    self-contained file that reads the same offline. The ``name = value`` lines that
    :func:`~crm_lib.reporting.record` prints in a notebook are left out (the values are
    in ``metrics.json``).
    With ``language``, cells tagged for another language (``lang-zh`` when ``language``
    is ``"en"``) are left out, so a report shows the narrative in its own language.

    Parameters
    ----------
    nb : NotebookNode
        The executed notebook.
    path : Path
        The ``.html`` file to write.
    source_dir : Path, optional
        Folder that relative image paths in markdown cells are read from (the
        notebook's own folder).
    language : str, optional
        Keep only cells tagged ``lang-<language>`` among the ``lang-*`` tagged cells.
    """
    exporter = _exporter()
    nb = copy.deepcopy(nb)
    if language:
        nb.cells = [cell for cell in nb.cells if _keeps_language(cell, language)]
    formulas: dict[str, str] = {}
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown":  # formulas as MathML: no MathJax, no network
            cell.source = protect_math(cell.source, formulas)
        elif cell.get("cell_type") == "code":  # records go to metrics.json, not on the page
            cell.outputs = [
                o for o in cell.get("outputs", []) if METRIC_MIME not in o.get("data", {})
            ]
            for output in cell.outputs:  # Markdown a notebook displays: its formulas too
                text = output.get("data", {}).get("text/markdown")
                if isinstance(text, list):
                    text = "".join(text)
                if isinstance(text, str):
                    output["data"]["text/markdown"] = protect_math(text, formulas)
    resources = {
        "metadata": {"name": Path(path).stem, "path": str(source_dir or Path(path).parent)}
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    Path(path).write_text(restore_math(body, formulas), encoding="utf-8")
    return Path(path)


def _keeps_language(cell: nbformat.NotebookNode, language: str) -> bool:
    tags = [t for t in cell.get("metadata", {}).get("tags", []) if t.startswith(LANGUAGE_TAG)]
    return not tags or f"{LANGUAGE_TAG}{language}" in tags


class _BatchContext:
    def __init__(self, *, run_id, work, final, cell_timeout, progress, git):
        self.run_id = run_id
        self.work: Path = work
        self.final: Path = final
        self.cell_timeout: float | None = cell_timeout
        self.progress: bool = progress
        self.git: dict[str, Any] | None = git
        self.fingerprints: dict[Path, dict[str, Any]] = {}


def _run_safely(run: ResolvedRun, ctx: _BatchContext, tag: str) -> RunResult:
    """Execute one run; only interruptions (KeyboardInterrupt, SystemExit) escape.

    A run refused by the parameter checks is not executed: it is recorded as failed with
    the reasons, and the batch goes on.
    """
    t0 = time.perf_counter()
    if run.problems:
        error = "refused before execution: " + "; ".join(run.problems)
        log.error("%s %s: %s", tag, run.spec.name, _redact(error))
        return _failed_without_notebook(run, ctx, error, t0)
    try:
        return _run_one(run, ctx, tag)
    except Exception as exc:  # a bug or a full disk: mark the run failed, keep the batch going
        _log_exception("%s %s: the runner failed", tag, run.spec.name)
        return _failed_without_notebook(run, ctx, f"runner error: {type(exc).__name__}: {exc}", t0)


def _why_stopped(exc: BaseException) -> str:
    """Why a batch stopped, in words (no internal class names): SIGTERM, Ctrl-C or an error."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str):
        return reason
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    if isinstance(exc, SystemExit):
        return f"exit with code {exc.code}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _failed_without_notebook(
    run: ResolvedRun, ctx: _BatchContext, error: str, t0: float
) -> RunResult:
    """The result (and metrics.json) of a run that produced no executed notebook.

    Personal data in the error or the parameters is replaced by placeholders.
    """
    now = _utcnow()
    found = _count_personal_data([error, _json_text(dict(run.parameters))], allow=())
    result = RunResult(
        name=run.spec.name,
        notebook=run.spec.notebook_text,
        status=FAILED,
        folder=ctx.final / run.spec.name,
        started_at=now,
        finished_at=now,
        duration_s=time.perf_counter() - t0,
        error=_redact(error),
        parameters=_redacted(dict(run.parameters)),
        withheld=_withheld_note(found),
    )
    with contextlib.suppress(OSError):
        work = ctx.work / run.spec.name
        work.mkdir(exist_ok=True)
        (work / "metrics.json").write_text(
            json.dumps(result.to_dict(ctx.final), indent=2, default=repr) + "\n",
            encoding="utf-8",
        )
    return result


def _run_one(run: ResolvedRun, ctx: _BatchContext, tag: str) -> RunResult:
    """Execute one run and write its folder: ipynb, html, metrics.json."""
    name = run.spec.name
    work, final = ctx.work / name, ctx.final / name
    work.mkdir()
    injected, parameters, sources = dict(run.injected), dict(run.parameters), dict(run.sources)
    if run.takes_output_dir:
        injected[OUTPUT_DIR] = str(work)
        parameters[OUTPUT_DIR] = str(final)  # where the files are once the batch is published
        sources[OUTPUT_DIR] = "runner"
    log.info("%s %s: executing %s", tag, name, run.spec.notebook_text)
    started, t0 = _utcnow(), time.perf_counter()
    ipynb, html = work / f"{name}.ipynb", work / f"{name}.html"
    error, failed_cell = None, None
    try:
        fingerprint = data_fingerprint(run.input_paths, parameters, ctx.fingerprints)
    except OSError as exc:
        fingerprint = {"sha256": None, "error": f"{type(exc).__name__}: {exc}"}
    try:
        _execute(run, ipynb, injected, ctx)
    except Exception as exc:  # the run failed; the batch goes on
        error, failed_cell = _describe(exc)
    nb, metrics, html_done = None, {}, False
    if error is None and not ipynb.is_file():
        error = "papermill wrote no executed notebook"
    if ipynb.is_file():
        try:
            nb = nbformat.read(ipynb, as_version=4)
            metrics = collect_records(nb)
            failed_cell = _error_cell(nb, failed_cell)
        except Exception as exc:
            nb = None
            error = error or f"cannot read the executed notebook: {type(exc).__name__}: {exc}"
    if nb is not None:
        try:
            language = parameters.get("language")
            language = language if isinstance(language, str) else None
            render_html(nb, html, source_dir=run.spec.notebook.parent, language=language)
            html_done = True
        except Exception as exc:  # a report that cannot be rendered is a failed run
            _log_exception("%s %s: could not render the HTML report", tag, name)
            error = error or f"HTML rendering failed: {type(exc).__name__}: {exc}"
    # Every run is scanned, failed or not: its files, metrics, parameters and error text.
    allow = _template_examples(run.spec.notebook)
    files = _written_files(work)
    meta = {"metrics": metrics, "parameters": parameters}
    found = _count_personal_data([*files, error or "", _json_text(meta)], allow=allow)
    withheld = _withheld_note(found)
    if withheld is not None:
        error = error or pii_check(files, meta, template=run.spec.notebook)
        error = _redact(error or "", allow=allow)
        metrics, parameters = _redacted(metrics, allow), _redacted(parameters, allow)
        _withhold(files, [ipynb, html], allow)
        html_done, published_nb = False, None
        log.error(
            "%s %s: %s; its executed notebook, HTML and every file with personal data are "
            "not published",
            tag,
            name,
            withheld,
        )
    else:
        published_nb = nb
    status = SUCCEEDED if error is None else FAILED
    duration = time.perf_counter() - t0
    result = RunResult(
        name=name,
        notebook=run.spec.notebook_text,
        status=status,
        folder=final,
        started_at=started,
        finished_at=_utcnow(),
        duration_s=duration,
        error=error,
        failed_cell=failed_cell,
        parameters=parameters,
        metrics=metrics,
        ipynb=final / ipynb.name if published_nb is not None else None,
        html=final / html.name if html_done else None,
        withheld=withheld,
    )
    record = _metrics_record(result, run, ctx, sources, fingerprint, nb)
    if published_nb is not None:
        published_nb.metadata["crm_lib"] = record
        nbformat.write(published_nb, ipynb)
    (work / "metrics.json").write_text(
        json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    if result.ok:
        log.info("%s %s succeeded in %.1fs", tag, name, duration)
    else:
        if result.ipynb:
            shown = f"see {relpath_or_abs(result.ipynb)}"
        else:
            shown = "notebook withheld" if result.withheld else "no executed notebook"
        log.error("%s %s failed after %.1fs: %s (%s)", tag, name, duration, error, shown)
    return result


_KIND_NAMES = {"email": "e-mail address", "phone": "phone number"}


def pii_check(
    files: Sequence[Path], metrics: Mapping[str, Any], *, template: Path | None = None
) -> str | None:
    """Scan a run's outputs for raw e-mail addresses and phone numbers.

    Parameters
    ----------
    files : sequence of Path
        The executed notebook and its HTML.
    metrics : mapping
        What goes into ``metrics.json`` (scanned as JSON text).
    template : Path, optional
        The notebook as committed: identifiers written in its markdown cells (made-up
        examples in the teaching text) are allowed; one in a code cell is not.

    Returns
    -------
    str or None
        None when nothing was found, else the error of the run, naming each file and the
        kind and number of identifiers with up to three masked examples (never the raw
        values).
    """
    import pandas as pd

    from crm_lib.intake import privacy

    allow = _template_examples(template)
    found = privacy.scan_for_pii([Path(f) for f in files], allow=allow)
    found["file"] = found["source"].str.split(":").str[0]
    meta = privacy.scan_for_pii(json.dumps(metrics, ensure_ascii=False, default=str), allow=allow)
    found = pd.concat([found, meta.assign(file="metrics.json")], ignore_index=True)
    if found.empty:
        return None
    parts = []
    for (file, kind), g in found.groupby(["file", "kind"], sort=True):
        examples = ", ".join(list(dict.fromkeys(g["masked"]))[:3])
        parts.append(f"{file}: {len(g)} {_KIND_NAMES.get(kind, kind)}(s) ({examples})")
    return (
        "PII check failed, the report is not published as succeeded: raw personal "
        "identifiers in the output: " + "; ".join(parts) + ". Pseudonymise or aggregate "
        "them in the notebook (crm_lib.intake.privacy)."
    )


def _template_examples(template: Path | None) -> set[str]:
    """Identifiers written in the markdown cells of the committed notebook (made-up examples)."""
    if template is None or not Path(template).is_file():
        return set()
    from crm_lib.intake import privacy

    nb = nbformat.read(template, as_version=4)
    text = "\n".join(c.get("source", "") for c in nb.cells if c.cell_type == "markdown")
    return {m.group(0) for r in (privacy.EMAIL_RE, privacy.PHONE_RE) for m in r.finditer(text)}


def _written_files(folder: Path) -> list[Path]:
    """Every text file a run wrote that the scan reads (notebook, HTML, artefacts)."""
    from crm_lib.intake import privacy

    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix in privacy.SCANNED_SUFFIXES
    )


def _count_personal_data(items: Sequence[str | Path], allow: set[str]) -> dict[str, int]:
    from crm_lib.intake import privacy

    return privacy.count_pii(list(items), allow=allow)


_COUNT_NAMES = {
    "email": ("e-mail address", "e-mail addresses"),
    "phone": ("phone number", "phone numbers"),
}


def _withheld_note(found: Mapping[str, int]) -> str | None:
    """``"withheld: personal data found (2 e-mail addresses, 1 phone number)"`` or None."""
    if not found:
        return None
    parts = [
        f"{n} {_COUNT_NAMES[kind][n != 1]}" for kind, n in found.items() if kind in _COUNT_NAMES
    ]
    return f"withheld: personal data found ({', '.join(parts)})"


def _withhold(files: Sequence[Path], always: Sequence[Path], allow: set[str]) -> None:
    """Delete the run's notebook and HTML (``always``) and every file with personal data."""
    from crm_lib.intake import privacy

    for path in {*always, *files}:
        if path in always or privacy.count_pii(path, allow=allow):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _redact(text: str, allow: set[str] | frozenset[str] = frozenset()) -> str:
    from crm_lib.intake import privacy

    return privacy.redact_pii(text, allow=allow)


def _redacted(value: Any, allow: set[str] | frozenset[str] = frozenset()) -> Any:
    """``value`` (str, number, or nested dict/list of them) with personal data redacted."""
    if isinstance(value, str):
        return _redact(value, allow)
    if isinstance(value, Mapping):
        return {k: _redacted(v, allow) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v, allow) for v in value]
    return value


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _log_exception(message: str, *args: Any) -> None:
    """Log the current exception with its traceback, personal data redacted."""
    import traceback

    log.error(message + "\n%s", *args, _redact(traceback.format_exc()).rstrip())


def _execute(run: ResolvedRun, ipynb: Path, parameters: dict[str, Any], ctx: _BatchContext) -> None:
    import papermill

    progress: bool | dict[str, Any] = False
    if ctx.progress:
        progress = {"desc": f"  {run.spec.name}", "leave": False}
    with _kernel_environment():
        papermill.execute_notebook(
            str(run.spec.notebook),
            str(ipynb),
            parameters=parameters,
            kernel_name=KERNEL_NAME,
            progress_bar=progress,
            log_output=False,
            cwd=str(run.spec.notebook.parent),
            execution_timeout=ctx.cell_timeout,
            **_run_kernel_options(),
        )


def _describe(exc: Exception) -> tuple[str, int | None]:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return f"{exc.ename}: {exc.evalue}", exc.cell_index
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return (f"{type(exc).__name__}: {text}" if text else type(exc).__name__), None


def _error_cell(nb: nbformat.NotebookNode, fallback: int | None) -> int | None:
    """Index (in the executed notebook) of the first cell with an error output."""
    for index, cell in enumerate(nb.cells):
        if any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
            return index
    return fallback


def _metrics_record(
    result: RunResult,
    run: ResolvedRun,
    ctx: _BatchContext,
    sources: dict[str, str],
    fingerprint: dict[str, Any],
    nb: nbformat.NotebookNode | None,
) -> dict[str, Any]:
    env = dict(environment())
    if nb is not None:
        env["kernel_python"] = nb.metadata.get("language_info", {}).get("version")
    env["git"] = ctx.git
    return {
        "schema": "crm_lib.report-run/1",
        "run_id": ctx.run_id,
        "name": result.name,
        "notebook": result.notebook,
        "notebook_sha256": _sha256(run.spec.notebook),
        "status": result.status,
        "error": result.error,
        "failed_cell": result.failed_cell,
        "withheld": result.withheld,
        "metrics": result.metrics,
        "parameters": {k: _jsonable(v) for k, v in result.parameters.items()},
        "parameter_sources": sources,
        "data_fingerprint": fingerprint,
        "environment": env,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "duration_s": round(result.duration_s, 3),
        "files": {
            "ipynb": result.ipynb.name if result.ipynb else None,
            "html": result.html.name if result.html else None,
        },
    }


@contextlib.contextmanager
def _kernel_environment() -> Iterator[None]:
    """Give kernels the inline matplotlib backend even if ``MPLBACKEND=Agg`` is exported.

    ipykernel only chooses its inline backend when ``MPLBACKEND`` is unset; with a
    non-interactive backend inherited from the shell (``make`` exports ``Agg``) the
    reports would silently lose every figure.
    """
    before = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = _INLINE_BACKEND
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = before


@functools.cache
def _kernel_options() -> dict[str, Any]:
    """Quiet kernels on Unix sockets; encrypted traffic when possible (ipykernel warns otherwise)."""
    import zmq
    from jupyter_client.manager import KernelManager
    from traitlets.config import Config

    # the kernel's own log lines (shutdown chatter) would only clutter cron logs; errors
    # of the notebook are in the executed notebook
    options: dict[str, Any] = {"extra_arguments": ["--IPKernelApp.log_level=CRITICAL"]}
    # Kernels talk over Unix sockets named after their own id: runs started at the same
    # moment by parallel workers cannot pick the same TCP port ("Address already in use",
    # the kernel dies before replying), and no traffic goes over the network at all.
    manager: dict[str, Any] = {"transport": "ipc" if os.name == "posix" else "tcp"}
    if "transport_encryption" in KernelManager.class_trait_names() and zmq.has("curve"):
        manager["transport_encryption"] = "auto"
    options["config"] = Config({"KernelManager": manager})
    return options


def _run_kernel_options() -> dict[str, Any]:
    """:func:`_kernel_options` with sockets of this run's own: a fresh path prefix, so two
    kernels started at the same moment (parallel workers, same folder) never share one."""
    import tempfile
    import uuid

    options = dict(_kernel_options())
    config = copy.deepcopy(options["config"])
    if config.KernelManager.get("transport") == "ipc":
        # short: a Unix socket path is limited to about 100 bytes
        config.KernelManager.ip = str(Path(tempfile.gettempdir()) / f"crmk-{uuid.uuid4().hex[:12]}")
    options["config"] = config
    return options


@functools.cache
def _exporter():
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.TemplateExporter.exclude_input = True
    config.TemplateExporter.exclude_input_prompt = True
    config.TemplateExporter.exclude_output_prompt = True
    config.HTMLExporter.embed_images = True
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = set(HIDDEN_CELL_TAGS)
    config.HTMLExporter.template_name = "crm"  # lab's page without CDN scripts (templates/crm)
    config.HTMLExporter.extra_template_basedirs = [str(Path(__file__).parent / "templates")]
    return HTMLExporter(config=config)


@contextlib.contextmanager
def _progress(total: int, run_id: str, enabled: bool):
    from tqdm import tqdm

    bar = tqdm(
        total=total, desc=f"crm report {run_id}", unit="run", disable=not enabled, file=sys.stderr
    )
    try:
        yield bar
    finally:
        bar.close()


def _git_state(cwd: Path) -> dict[str, Any] | None:
    """Commit and dirtiness of the project checkout, or None outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10
        )
        if commit.returncode != 0:
            return None
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def _utcnow() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
