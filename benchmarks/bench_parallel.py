"""The five studies on the default world: runs at the same time against one after another.

Issue 19's target: the batch of notebooks 01-05 on the default simulated world (50,000
customers) finishes in at most 70 s with the default number of workers (the cores), on a
2-core machine where it takes about 107 s one run after another. Both variants run in
this benchmark, alternately (so background load hits both alike), on the same world and
warehouse; their recorded metrics must be identical.

Run ``python benchmarks/bench_parallel.py [--repeat N] [--size default]``. Prints the
medians and spreads, the ratio, the target; writes ``benchmarks/results/bench_parallel.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
STUDIES = [
    "01_data_collection",
    "02_data_cleaning",
    "03_segmentation",
    "04_ab_testing",
    "05_satisfaction_study",
]
TARGET_S = 70.0


def _metrics(folder: Path) -> dict:
    out = {}
    for name in STUDIES:
        record = json.loads((folder / name / "metrics.json").read_text(encoding="utf-8"))
        out[name] = record["metrics"]
    return out


def _differences(a: dict, b: dict) -> dict[str, tuple]:
    """``{"study.metric": (value in a, value in b)}`` for every metric that differs."""
    out = {}
    for study in sorted(set(a) | set(b)):
        ma, mb = a.get(study, {}), b.get(study, {})
        for key in sorted(set(ma) | set(mb)):
            if ma.get(key, "<missing>") != mb.get(key, "<missing>"):
                out[f"{study}.{key}"] = (ma.get(key, "<missing>"), mb.get(key, "<missing>"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2, help="timed batches per variant")
    parser.add_argument("--size", default="default", help="world size (default: default)")
    args = parser.parse_args(argv)

    from crm_lib.datasets import save_world, simulate
    from crm_lib.reporting import run_batch
    from crm_lib.reporting.runner import default_jobs

    jobs = default_jobs()
    os.environ.setdefault("MPLBACKEND", "Agg")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        world = save_world(simulate(args.size, seed=1), root / "world")
        print(f"world {args.size!r} built in {time.perf_counter() - t0:.0f} s", flush=True)
        batch = {
            "defaults": {"data_dir": str(world), "language": "en"},
            "runs": [
                {
                    "notebook": str(ROOT / "notebooks" / f"{name}.ipynb"),
                    "name": name,
                    **(
                        {"parameters": {"warehouse_db": str(root / "wh" / "crm.duckdb")}}
                        if name.startswith(("01", "02"))
                        else {}
                    ),
                }
                for name in STUDIES
            ],
        }
        variants = {"--jobs 1": 1, f"--jobs {jobs} (default)": jobs}
        times: dict[str, list[float]] = {name: [] for name in variants}
        metrics: dict[str, dict] = {}  # "variant, repeat" -> the run's recorded metrics
        for rep in range(args.repeat):
            for name, n in variants.items():
                run_id = f"r{rep}-j{n}"
                start = time.perf_counter()
                result = run_batch(
                    batch, run_id=run_id, reports_dir=root / "reports", quiet=True, jobs=n
                )
                times[name].append(time.perf_counter() - start)
                assert result.ok, [(r.name, r.error) for r in result.runs if not r.ok]
                metrics[f"{name}, repeat {rep + 1}"] = _metrics(root / "reports" / run_id)
                print(f"  {name:<22} {times[name][-1]:6.1f} s", flush=True)
    sequential, parallel = variants
    # Every batch against the first one: a metric that moves between two runs of the same
    # variant is as much a failure as one that moves between the variants.
    first, *others = metrics
    differences = {other: _differences(metrics[first], metrics[other]) for other in others}
    identical = not any(differences.values())
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"\n{'variant':<24}{'median s':>10}{'min':>8}{'max':>8}")
    for name, t in times.items():
        print(f"{name:<24}{med[name]:>10.1f}{min(t):>8.1f}{max(t):>8.1f}")
    ratio = med[parallel] / med[sequential]
    ok = med[parallel] <= TARGET_S
    print(f"ratio parallel / sequential: {ratio:.2f}")
    print(f"target: the default-worker batch in <= {TARGET_S:.0f} s: {'met' if ok else 'MISSED'}")
    n_metrics = sum(len(m) for m in metrics[first].values())
    print(f"metrics identical across all {len(metrics)} batches ({n_metrics} each): {identical}")
    for other, diff in differences.items():
        for key, (a, b) in diff.items():
            print(f"  differs, {first!r} vs {other!r}: {key}: {a!r} != {b!r}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "bench_parallel",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "size": args.size,
        "jobs_default": jobs,
        "seconds": times,
        "median_s": med,
        "ratio": ratio,
        "target_s": TARGET_S,
        "target_met": ok,
        "metrics_identical": identical,
        "metric_differences": {
            other: {key: list(pair) for key, pair in diff.items()}
            for other, diff in differences.items()
        },
    }
    (RESULTS / "bench_parallel.json").write_text(json.dumps(payload, indent=2) + "\n")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
