"""Benchmark: the funnel study's two heavy steps against the straightforward way.

1. Rolling-origin backtest, one week ahead, of SARIMAX on a weekly series: crm_lib filters
   the series once with the parameters of the first window (``backtest(horizon=1)``); the
   baseline, measured in the same run, re-filters the data up to every origin with
   statsmodels (``results.apply`` then ``get_forecast(1)``). Both give the same forecasts
   (checked).
2. Web funnel counts over an event log: crm_lib's ``funnel_table`` (distinct visitors per
   stage on DuckDB, with Wilson intervals) against pandas ``groupby().nunique()``.

Usage: python benchmarks/bench_funnel.py [--weeks 520] [--events 2000000] [--repeat 3]
Writes benchmarks/results/funnel.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from crm_lib.datasets.sim_funnel import simulate_weekly_revenue
from crm_lib.funnel import backtest, funnel_table
from crm_lib.funnel.forecast import fourier_terms


def _time(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def per_origin_baseline(y: np.ndarray, initial: int) -> np.ndarray:
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    unit = float(np.mean(np.abs(y[:initial])))
    z = y / unit
    x = fourier_terms(len(z), 52, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = SARIMAX(z[:initial], exog=x[:initial], order=(1, 0, 0), trend="c").fit(disp=False)
        out = []
        for o in range(initial - 1, len(z) - 1):
            res = fit.apply(z[: o + 1], exog=x[: o + 1])
            out.append(float(res.get_forecast(1, exog=x[o + 1 : o + 2]).predicted_mean[0]))
    return np.asarray(out) * unit


def make_events(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    visitors = rng.integers(0, n // 2, n)
    stage = rng.choice(["visit", "signup", "cart", "purchase"], n, p=[0.6, 0.2, 0.12, 0.08])
    return pd.DataFrame(
        {
            "visitor_id": pd.array(visitors.astype(str), dtype="str"),
            "event_type": pd.array(stage, dtype="str"),
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weeks", type=int, default=520)
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default="benchmarks/results/funnel.json")
    args = ap.parse_args()

    frame, _ = simulate_weekly_revenue(np.random.default_rng(0), args.weeks)
    y = frame["revenue"].to_numpy()
    initial = args.weeks // 2
    t_crm, bt = _time(
        lambda: backtest(y, model="sarimax", initial=initial, fourier=1, horizon=1), args.repeat
    )
    t_base, base = _time(lambda: per_origin_baseline(y, initial), args.repeat)
    diff = float(np.max(np.abs(bt.forecasts["forecast"].to_numpy() - base)))

    events = make_events(args.events)
    stages = ["visit", "signup", "cart", "purchase"]
    t_funnel, table = _time(lambda: funnel_table(events, stages=stages), args.repeat)
    t_pandas, counts = _time(
        lambda: events.groupby("event_type")["visitor_id"].nunique().reindex(stages),
        args.repeat,
    )
    same = table["units"].tolist() == counts.astype(int).tolist()

    rows = [
        {
            "step": f"backtest, {len(base)} origins",
            "crm_lib_s": t_crm,
            "baseline_s": t_base,
            "baseline": "statsmodels apply per origin",
            "ratio": t_base / t_crm,
            "max_abs_diff": diff,
        },
        {
            "step": f"funnel counts, {args.events:,} events",
            "crm_lib_s": t_funnel,
            "baseline_s": t_pandas,
            "baseline": "pandas groupby nunique",
            "ratio": t_pandas / t_funnel,
            "same_counts": same,
        },
    ]
    print(f"{'step':<40}{'crm_lib s':>10}{'baseline s':>12}{'ratio':>8}")
    for r in rows:
        print(f"{r['step']:<40}{r['crm_lib_s']:>10.3f}{r['baseline_s']:>12.3f}{r['ratio']:>8.1f}")
    print(f"backtest forecasts agree to {diff:.2e}; funnel counts equal: {same}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows}, indent=2))


if __name__ == "__main__":
    main()
