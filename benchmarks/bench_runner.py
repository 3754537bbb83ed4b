"""Overhead of the report runner beyond a notebook's own work.

The same small notebook (parameters cell, markdown, a recorded metric, a small figure)
is executed, several times each (variants interleaved), in one benchmark run:

- ``nbclient``        nbclient's ``NotebookClient.execute`` (baseline 1);
- ``papermill``       ``papermill.execute_notebook`` with parameters (baseline 2, the
                      bare execution the runner builds on);
- ``run_batch x1``    ``crm_lib.reporting.run_batch`` with one run: validation,
                      execution, HTML render, metrics.json, index, atomic publish;
- ``run_batch x5``    a batch of five runs of that notebook, time per run;
- ``papermill CLI`` / ``crm report run``: the same one-notebook job as a fresh process
  each time (what cron pays: interpreter start and imports included).

Run ``python benchmarks/bench_runner.py [--repeat N]``. Prints medians, the ratio to
the papermill baseline and the overhead in seconds; writes
``benchmarks/results/bench_runner.json`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nbformat

RESULTS = Path(__file__).resolve().parent / "results"

CELLS = [
    ("markdown", "# Benchmark notebook\nA narrative cell."),
    ("code", "from crm_lib.reporting import record\nimport numpy as np"),
    (
        "code",
        "values = np.random.default_rng(seed).normal(size=1_000)\nrecord('mean', values.mean())",
    ),
    (
        "code",
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(4, 3))\n"
        "ax.hist(values, bins=20)\nplt.show()",
    ),
]


def make_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        'seed: int = 1  # random seed\nlanguage: str = "en"  # one of: en, zh\noutput_dir: str = ""'
    )
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params] + [
        nbformat.v4.new_markdown_cell(src) if kind == "markdown" else nbformat.v4.new_code_cell(src)
        for kind, src in CELLS
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def _time_inside_papermill() -> list[float]:
    """Record the seconds each run of the next batch spends inside papermill's execution."""
    from crm_lib.reporting import runner

    spent: list[float] = []
    execute = getattr(runner._execute, "__wrapped__", runner._execute)

    def timed_execute(*args, **kwargs):
        start = time.perf_counter()
        try:
            return execute(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)

    timed_execute.__wrapped__ = execute
    runner._execute = timed_execute
    return spent


def interleaved(variants: dict[str, Callable[[], object]], repeat: int) -> dict[str, list[float]]:
    """Time each variant ``repeat`` times, round-robin, so background load hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeat):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions per variant")
    args = parser.parse_args(argv)

    import papermill
    from nbclient import NotebookClient

    from crm_lib.reporting import run_batch

    # the runner gives kernels the inline backend; do the same for the baselines
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        notebook = make_notebook(root / "bench.ipynb")
        out = root / "out.ipynb"
        reports = root / "reports"
        one = {"runs": [{"notebook": str(notebook), "name": "bench"}]}
        five = {"runs": [{"notebook": str(notebook), "name": f"bench{i}"} for i in range(5)]}

        def bare_nbclient() -> None:
            nb = nbformat.read(notebook, as_version=4)
            NotebookClient(
                nb, kernel_name="python3", resources={"metadata": {"path": tmp}}
            ).execute()

        def bare_papermill() -> None:
            papermill.execute_notebook(
                str(notebook),
                str(out),
                parameters={"seed": 2},
                kernel_name="python3",
                progress_bar=False,
            )

        own: dict[str, list[float]] = {"run_batch x1": [], "run_batch x5 (per run)": []}

        def runner(batch: dict, key: str) -> None:
            inside = _time_inside_papermill()
            start = time.perf_counter()
            result = run_batch(
                batch, overrides={"seed": 2}, reports_dir=reports, quiet=True, jobs=1
            )
            assert result.ok  # jobs=1: the runner's own overhead, one run after another
            total = time.perf_counter() - start
            own[key].append((total - sum(inside)) / len(batch["runs"]))

        def runner_one() -> None:
            runner(one, "run_batch x1")

        def runner_five() -> None:
            runner(five, "run_batch x5 (per run)")

        batch_file = root / "batch.yml"
        batch_file.write_text(f"runs:\n  - notebook: {notebook}\n    name: bench\n")
        cli_papermill = [str(bin_dir / "papermill"), str(notebook), str(out), "-p", "seed", "2"]
        cli_crm = [str(bin_dir / "crm"), "report", "run", str(batch_file), "-p", "seed", "2"]
        cli_crm += ["--reports-dir", str(reports), "--quiet"]

        def run_cli(cmd: list[str]) -> Callable[[], None]:
            return lambda: subprocess.run(cmd, check=True, capture_output=True, cwd=tmp)

        in_process = {
            "nbclient": bare_nbclient,
            "papermill": bare_papermill,
            "run_batch x1": runner_one,
            "run_batch x5 (per run)": runner_five,
        }
        for fn in in_process.values():  # warm-up: imports, HTML exporter, first kernel
            fn()
        for times in own.values():
            times.clear()
        print(f"bench_runner: {args.repeat} timed repetitions per variant, interleaved")
        results = interleaved(in_process, args.repeat)
        results["run_batch x5 (per run)"] = [t / 5 for t in results["run_batch x5 (per run)"]]
        results.update(
            interleaved(
                {"papermill CLI": run_cli(cli_papermill), "crm report run": run_cli(cli_crm)},
                args.repeat,
            )
        )

    medians = {name: statistics.median(times) for name, times in results.items()}
    base = medians["papermill"]
    cli_base = medians["papermill CLI"]
    print(f"\n{'variant':<24}{'median s':>10}{'ratio':>8}{'overhead s':>12}")
    for name, median in medians.items():
        ref = cli_base if "CLI" in name or name.startswith("crm") else base
        print(f"{name:<24}{median:>10.2f}{median / ref:>8.2f}{median - ref:>+12.2f}")
    print("(ratio/overhead against papermill in-process; the two CLI rows against papermill CLI)")
    own_medians = {name: statistics.median(times) for name, times in own.items()}
    print("\nrunner's own time per run (run_batch minus the time inside papermill's execution):")
    for name, median in own_medians.items():
        print(f"  {name:<24}{median:>8.3f} s")

    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "bench_runner",
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "repeat": args.repeat,
        "seconds": results,
        "median_s": medians,
        "runner_own_time_per_run_s": own_medians,
        "overhead_s": {
            "run_batch x1 vs papermill": medians["run_batch x1"] - base,
            "run_batch per run (x5) vs papermill": medians["run_batch x5 (per run)"] - base,
            "crm report run vs papermill CLI": medians["crm report run"] - cli_base,
        },
    }
    target = RESULTS / "bench_runner.json"
    target.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(
        f"wrote {target.relative_to(Path.cwd()) if target.is_relative_to(Path.cwd()) else target}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
