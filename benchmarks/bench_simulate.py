"""Benchmark: simulate N transaction lines (with their customers) to Parquet.

Target (issue 2): 10M lines in <= 10 s on a 2-core machine. The baseline, measured in
the same run, is the I/O floor: writing a table of the same shape (same row count and
column types, uniform random values, no model) to Parquet. The ratio says what the
purchase model, ids and returns cost on top of writing the bytes.

Usage: python benchmarks/bench_simulate.py [--rows 10000000] [--repeat 3]
Writes benchmarks/results/simulate.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from crm_lib.datasets.large import simulate_to_parquet


def baseline_write(folder: Path, n_rows: int, seed: int) -> None:
    """Write n_rows random rows with the transactions' column types (the I/O floor)."""
    rng = np.random.default_rng(seed)
    chunk = 1_000_000
    writer = None
    for start in range(0, n_rows, chunk):
        m = min(chunk, n_rows - start)
        ids = pa.array(rng.integers(0, 10**8, m)).cast(pa.string())
        t = pa.table(
            {
                "order_id": ids,
                "line_no": rng.integers(1, 4, m),
                "customer_id": ids,
                "ordered_at": pa.array(rng.integers(0, 10**15, m), pa.timestamp("us", tz="UTC")),
                "amount": rng.random(m) * 500,
                "quantity": rng.integers(1, 3, m),
                "category": pa.array(rng.integers(0, 6, m)).cast(pa.string()),
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(folder / "baseline.parquet", t.schema)
        writer.write_table(t)
    writer.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default="benchmarks/results/simulate.json")
    args = ap.parse_args()
    sim, base = [], []
    n_real = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            t0 = time.perf_counter()
            res = simulate_to_parquet(Path(tmp) / "world", args.rows, seed=i + 1)
            sim.append(time.perf_counter() - t0)
            n_real = res.n_transactions
            t0 = time.perf_counter()
            baseline_write(Path(tmp), res.n_transactions, seed=i)
            base.append(time.perf_counter() - t0)
    result = {
        "rows_target": args.rows,
        "rows_written": n_real,
        "simulate_median_s": statistics.median(sim),
        "baseline_write_median_s": statistics.median(base),
        "ratio_to_baseline": statistics.median(sim) / statistics.median(base),
        "target_s": 10.0,
        "runs_s": sim,
    }
    print(f"{'step':<36}{'median s':>10}{'ratio':>8}")
    print(f"{'baseline: write random rows':<36}{result['baseline_write_median_s']:>10.2f}{1:>8.2f}")
    print(
        f"{'crm_lib simulate_to_parquet':<36}{result['simulate_median_s']:>10.2f}"
        f"{result['ratio_to_baseline']:>8.2f}"
    )
    verdict = "meets" if result["simulate_median_s"] <= result["target_s"] else "MISSES"
    print(f"{n_real:,} lines: {verdict} the 10 s target")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
