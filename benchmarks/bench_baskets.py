"""Benchmark: pair association rules over 1M baskets, crm_lib against mlxtend (issue 18).

Target: rules between pairs of items of 1M baskets in <= 5 s, and >= 5x faster than
mlxtend's ``fpgrowth`` (itemsets of size <= 2) + ``association_rules``, with identical
rules. Both sides start from the same Parquet file of basket lines and end with the same
rules (every pair of support >= ``--min-support``, both directions):

- crm_lib: ``crm_lib.personalization.association_rules(path)``, timed in this process:
  DuckDB reads and filters the file and hands over the (basket, item) columns as Arrow;
  baskets and items are numbered (Arrow ``dictionary_encode``), all pair counts come
  from one sparse product of the basket x item matrix (scipy), the measures are
  computed on the frequent pairs;
- mlxtend 0.25.0: in the benchmark-only ``.bench-venv/`` (``make bench`` builds it from
  ``benchmarks/requirements-mlxtend.txt``) through ``incumbents/run_mlxtend.py``: reading,
  one-hot encoding (dense for the small catalogue, sparse for the large one: each the
  faster of the two there) and ``fpgrowth`` + ``association_rules``. The table reports its
  total and its ``fpgrowth`` step alone.

Two catalogues, both from the simulated world's basket model
(:func:`crm_lib.datasets.sim_personalization.simulate_baskets`, ~2.2 items a basket):
``small`` (the world's 132 items) and ``retail`` (2,012 items, 40 themes of 50). The
rules of both sides are compared (same pairs; support, confidence, lift, leverage,
conviction within 1e-9 relative). Reading the file is inside both clocks. Each side runs
``--repeat`` times; the table prints medians, the JSON keeps every run and the 1-minute
load average before and after each catalogue (the machine may be shared).

Usage: python benchmarks/bench_baskets.py [--baskets 1000000] [--repeat 3]
       [--catalogues small,retail] [--no-incumbents]
Writes benchmarks/results/baskets.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from crm_lib.datasets.sim_personalization import BasketParams, simulate_baskets
from crm_lib.personalization import association_rules

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = Path(os.environ.get("BENCH_CACHE") or HERE / ".cache")
RUNNER = HERE / "incumbents" / "run_mlxtend.py"
DEFAULT_PYTHON = Path(
    os.environ.get("BENCH_MLXTEND_PYTHON") or ROOT / ".bench-venv" / "bin" / "python"
)
CATALOGUES = {
    "small": (BasketParams(), "dense"),
    "retail": (BasketParams(n_themes=40, theme_size=50), "sparse"),
}
TARGET_S, TARGET_RATIO = 5.0, 5.0
MEASURES = ["support", "confidence", "lift", "leverage", "conviction"]


def basket_file(catalogue: str, n: int) -> Path:
    """The cached Parquet basket log (generated on first use)."""
    path = CACHE / f"baskets-{catalogue}-{n}.parquet"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        lines, _ = simulate_baskets(n, seed=0, params=CATALOGUES[catalogue][0])
        lines.to_parquet(path, index=False)
    return path


def rules_agreement(ours: pd.DataFrame, theirs: pd.DataFrame) -> dict:
    """Same rules (pairs and directions) and the largest relative difference per measure."""
    key = ["antecedent", "consequent"]
    a = ours.astype({k: str for k in key}).set_index(key)
    b = theirs.astype({k: str for k in key}).set_index(key)
    same = set(a.index) == set(b.index)
    diff = {}
    if same and len(a):
        b = b.loc[a.index]
        for m in MEASURES:
            x, y = a[m].to_numpy(float), b[m].to_numpy(float)
            both_inf = np.isinf(x) & np.isinf(y)
            rel = np.abs(x - y) / np.maximum(np.abs(y), 1e-300)
            diff[m] = float(np.max(np.where(both_inf, 0.0, rel)))
    return {"same_rules": same, "rules": len(a), "max_relative_difference": diff}


def run_crm_lib(path: Path, min_support: float, repeat: int) -> tuple[dict, pd.DataFrame]:
    times, rules = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        rules = association_rules(str(path), min_support=min_support)
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "runs_s": times}, rules


def run_mlxtend(python: Path, path: Path, min_support: float, repeat: int, encoding: str):
    out = CACHE / f"mlxtend-rules-{path.stem}.parquet"
    cmd = [str(python), str(RUNNER), "--path", str(path), "--min-support", str(min_support)]
    cmd += ["--repeat", str(repeat), "--encoding", encoding, "--save", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"mlxtend runner failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), pd.read_parquet(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baskets", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--min-support", type=float, default=0.005)
    ap.add_argument("--catalogues", default="small,retail")
    ap.add_argument("--mlxtend-python", default=str(DEFAULT_PYTHON))
    ap.add_argument("--no-incumbents", action="store_true")
    ap.add_argument("--out", default=str(HERE / "results" / "baskets.json"))
    args = ap.parse_args()
    python = Path(args.mlxtend_python)
    incumbents = not args.no_incumbents
    if incumbents and not python.exists():
        sys.exit(f"no {python}: run `make bench` (it builds .bench-venv) or pass --no-incumbents")
    rows = []
    for catalogue in [c.strip() for c in args.catalogues.split(",") if c.strip()]:
        path = basket_file(catalogue, args.baskets)
        load = [os.getloadavg()[0]]
        ours, rules = run_crm_lib(path, args.min_support, args.repeat)
        row = {
            "catalogue": catalogue,
            "baskets": args.baskets,
            "items": int(pd.read_parquet(path, columns=["product_id"])["product_id"].nunique()),
            "crm_lib_median_s": ours["median_s"],
            "crm_lib_runs_s": ours["runs_s"],
            "rules": len(rules),
            "meets_time_target": ours["median_s"] <= TARGET_S,
        }
        if incumbents:
            theirs, their_rules = run_mlxtend(
                python, path, args.min_support, args.repeat, CATALOGUES[catalogue][1]
            )
            row.update(
                {
                    "mlxtend": theirs,
                    "ratio_total": theirs["total_s"] / ours["median_s"],
                    "ratio_fpgrowth_only": theirs["fpgrowth_s"] / ours["median_s"],
                    "agreement": rules_agreement(rules, their_rules),
                }
            )
            row["meets_ratio_target"] = row["ratio_total"] >= TARGET_RATIO
        row["load_average_1min"] = [*load, os.getloadavg()[0]]
        rows.append(row)
    print(f"{'catalogue':<10}{'items':>7}{'rules':>7}{'crm_lib s':>11}{'mlxtend s':>11}"
          f"{'fpgrowth s':>12}{'x total':>9}{'x fpgrowth':>12}  same rules")  # fmt: skip
    for r in rows:
        m = r.get("mlxtend", {})
        print(
            f"{r['catalogue']:<10}{r['items']:>7}{r['rules']:>7}{r['crm_lib_median_s']:>11.2f}"
            + (
                f"{m['total_s']:>11.2f}{m['fpgrowth_s']:>12.2f}{r['ratio_total']:>9.1f}"
                f"{r['ratio_fpgrowth_only']:>12.1f}  {r['agreement']['same_rules']}"
                if m
                else "  (incumbent not run)"
            )
        )
    for r in rows:
        m = r.get("mlxtend", {})
        spread = f"{r['catalogue']}: crm_lib {min(r['crm_lib_runs_s']):.2f}-"
        spread += f"{max(r['crm_lib_runs_s']):.2f} s over {len(r['crm_lib_runs_s'])} runs"
        if "total_runs_s" in m:
            spread += f", mlxtend {min(m['total_runs_s']):.2f}-{max(m['total_runs_s']):.2f} s"
        load = r["load_average_1min"]
        print(f"{spread}; load average {load[0]:.1f} before, {load[1]:.1f} after")
    print(
        f"targets: <= {TARGET_S:g} s for {args.baskets:,} baskets; >= {TARGET_RATIO:g}x mlxtend "
        "(read + encode + fpgrowth + rules), identical rules"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"min_support": args.min_support, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
