"""Benchmark: churn features and labels from a transaction log at a cut-off (issue 16).

Target: the per-customer churn table of a 10M-line log (every feature of
``crm_lib.engine.CHURN_FEATURES`` from the lines before the cut-off, and the label from the
90 days after it) built on the engine (DuckDB, from Parquet) in <= 3 s on this 2-core
machine. The baseline, measured in the same run on the same file, is the plain pandas job:
read the columns, filter by the cut-off, ``groupby`` aggregates (distinct orders, min/max
times, sums, windowed counts, distinct categories and channels) and the label by a second
filter. The script checks that both give the same table. Spark's parity with DuckDB is
tested in ``tests/churn/test_labels.py`` (a cluster, not this machine, is where Spark pays).

Usage: python benchmarks/bench_churn.py [--rows 10000000] [--repeat 3]
Writes benchmarks/results/churn.json (churn-<rows>.json at other sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_clv  # noqa: E402  (the cached simulated logs)

TARGET_ROWS = 10_000_000
TARGET_S = 3.0
WINDOW_DAYS = 90.0
_DAY_US = 86_400_000_000


def cutoff() -> pd.Timestamp:
    """One window before the end of the simulated period."""
    return bench_clv._end() - pd.Timedelta(days=WINDOW_DAYS)


def run_engine(path: str) -> pd.DataFrame:
    from crm_lib.engine import churn_features

    return churn_features(path, cutoff=cutoff(), window_days=WINDOW_DAYS, engine="duckdb")


def run_pandas(path: str) -> pd.DataFrame:
    """The same table with pandas alone."""
    cols = ["order_id", "customer_id", "ordered_at", "amount", "category", "channel",
            "original_order_id"]  # fmt: skip
    df = pd.read_parquet(path, columns=cols)
    cut = cutoff()
    cut_us = cut.value // 1000
    us = df["ordered_at"].astype("datetime64[us, UTC]").astype("int64").to_numpy()
    sale = df["original_order_id"].isna().to_numpy()
    before = df[us < cut_us].assign(_us=us[us < cut_us], _sale=sale[us < cut_us])
    s = before[before["_sale"]]
    g = s.groupby("customer_id", sort=True)
    out = pd.DataFrame(
        {
            "orders": g["order_id"].nunique(),
            "first_us": g["_us"].min(),
            "last_us": g["_us"].max(),
            "sold": g["amount"].sum(),
            "categories": g["category"].nunique(),
            "channels": g["channel"].nunique(),
        }
    )
    order_us = s.groupby(["customer_id", "order_id"], sort=False)["_us"].min()  # order time
    order_age = cut_us - order_us
    for days in (30, 90, 365):
        recent = order_age[order_age.to_numpy() <= days * _DAY_US]
        out[f"orders_{days}d"] = recent.groupby(level="customer_id").size()
    all_before = before.groupby("customer_id")["amount"]
    out["spend"] = all_before.sum()
    out["returned"] = -before[~before["_sale"]].groupby("customer_id")["amount"].sum()
    recent_all = before[(cut_us - before["_us"]) <= 90 * _DAY_US]
    out["spend_90d"] = recent_all.groupby("customer_id")["amount"].sum()
    end_us = cut_us + int(WINDOW_DAYS * _DAY_US)
    later = df[sale & (us >= cut_us) & (us < end_us)]
    out["churned"] = ~out.index.isin(later["customer_id"].unique())
    out = out.fillna({"orders_30d": 0, "orders_90d": 0, "orders_365d": 0, "spend_90d": 0.0,
                      "returned": 0.0})  # fmt: skip
    res = pd.DataFrame(
        {
            "customer_id": out.index.astype("string"),
            "orders": out["orders"].astype(np.int64).to_numpy(),
            "recency_days": (cut_us - out["last_us"].to_numpy()) / _DAY_US,
            "tenure_days": (cut_us - out["first_us"].to_numpy()) / _DAY_US,
            "spend": out["spend"].to_numpy(),
            "avg_order_value": (out["sold"] / out["orders"]).to_numpy(),
            "orders_30d": out["orders_30d"].astype(np.int64).to_numpy(),
            "orders_90d": out["orders_90d"].astype(np.int64).to_numpy(),
            "orders_365d": out["orders_365d"].astype(np.int64).to_numpy(),
            "spend_90d": out["spend_90d"].to_numpy(),
            "return_share": (out["returned"] / out["sold"].where(out["sold"] > 0))
            .fillna(0.0)
            .to_numpy(),
            "categories": out["categories"].astype(np.int64).to_numpy(),
            "channels": out["channels"].astype(np.int64).to_numpy(),
            "churned": out["churned"].to_numpy(),
        }
    )
    return res.sort_values("customer_id", kind="stable").reset_index(drop=True)


def same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    for col in a.columns:
        if a[col].dtype.kind == "f":
            if not np.allclose(a[col], b[col], rtol=1e-9, atol=1e-9):
                return False
        elif not (a[col].to_numpy() == b[col].to_numpy()).all():
            return False
    return True


def timed(fn, path: str, repeat: int) -> tuple[float, list[float], list[float], pd.DataFrame]:
    """Median wall seconds, every run's wall and CPU seconds (all threads), the result."""
    times, cpus, out = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn(path)
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(times), times, cpus, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=TARGET_ROWS, help="log lines (about)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per tool (median)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="result JSON")
    args = ap.parse_args(argv)
    path = str(bench_clv.ensure_log(args.rows, args.seed))
    from crm_lib.engine import connect

    connect("duckdb")  # imports (ibis, duckdb) outside the timed runs
    engine_s, engine_runs, engine_cpu, ours = timed(run_engine, path, args.repeat)
    pandas_s, pandas_runs, pandas_cpu, theirs = timed(run_pandas, path, max(1, min(args.repeat, 2)))
    load = os.getloadavg()[0]
    agree = same(ours, theirs)
    lines = len(pd.read_parquet(path, columns=["amount"]))
    judged = abs(lines - TARGET_ROWS) <= 0.05 * TARGET_ROWS
    result = {
        "rows": lines,
        "customers": len(ours),
        "cutoff": str(cutoff()),
        "window_days": WINDOW_DAYS,
        "duckdb_median_s": round(engine_s, 3),
        "duckdb_runs_s": [round(x, 3) for x in engine_runs],
        "pandas_median_s": round(pandas_s, 3),
        "pandas_runs_s": [round(x, 3) for x in pandas_runs],
        "duckdb_cpu_s": [round(x, 3) for x in engine_cpu],
        "pandas_cpu_s": [round(x, 3) for x in pandas_cpu],
        "load_average_1min": round(load, 2),
        "speed_up_vs_pandas": round(pandas_s / engine_s, 2),
        "same_table": agree,
        "target_s": TARGET_S if judged else None,
        "target_met": (engine_s <= TARGET_S) if judged else None,
    }
    print(f"churn features of {lines:,} lines ({len(ours):,} customers at {cutoff():%Y-%m-%d}):")
    runs = ", ".join(f"{x:.2f}" for x in engine_runs)
    cpu = ", ".join(f"{x:.2f}" for x in engine_cpu)
    print(f"  crm_lib engine (DuckDB, Parquet) {engine_s:8.2f} s   (runs: {runs}; CPU s: {cpu})")
    print(f"  pandas groupby baseline          {pandas_s:8.2f} s   (x{pandas_s / engine_s:.1f})")
    print(f"  same table: {agree}; load average {load:.1f} on {os.cpu_count()} cores")
    if judged:
        print(f"  target <= {TARGET_S:g} s: {'pass' if engine_s <= TARGET_S else 'FAIL'}")
    out = args.out or HERE / "results" / ("churn.json" if judged else f"churn-{args.rows}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if agree and result["target_met"] is not False else 1


if __name__ == "__main__":
    sys.exit(main())
