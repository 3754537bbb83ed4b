"""Time one incumbent step of lifetimes 0.11.3 (run in the benchmark-only .bench-venv/).

This script imports only lifetimes and its stack (numpy, scipy, pandas, autograd) plus
pyarrow to read the cached Parquet; it never imports crm_lib. It runs one step up to
``--repeat`` times in this (fresh) process and prints one JSON line on stdout:
``seconds`` (every run), ``median_s``, ``peak_rss_mb`` (VmHWM of this process: the
interpreter, imports, the data and the step's own peak), the parameters reached and, for
fits, lifetimes' own objective at its optimum. Log-likelihoods to compare with crm_lib
are computed by the caller with crm_lib's formulas at these parameters, so both sides
are scored by the same code.

Repetitions are bounded: when the first run takes more than ``--single-above`` seconds,
the step is run once and the output says so (``note``).

Steps:

- ``summary``: read the log's columns from Parquet, drop return lines, then
  ``summary_data_from_transaction_data(freq="D")`` with monetary value; ``--save`` writes
  the summary of the last run to Parquet (not timed), for the caller's agreement check;
- ``bgnbd_gg``: ``BetaGeoFitter().fit`` on frequency/recency/T, then
  ``GammaGammaFitter().fit`` on the repeat buyers (timed together; the table is read
  before the clock starts);
- ``pnbd``: ``ParetoNBDFitter().fit`` (default Nelder-Mead; its random start is seeded).

Usage: python run_lifetimes.py STEP --path FILE [--repeat 3] [--single-above 60]
       [--end ISO-TIMESTAMP] [--save OUT.parquet]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path


def peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM; ru_maxrss where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def step_summary(args):
    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

    cols = ["customer_id", "ordered_at", "amount", "original_order_id"]
    t0 = time.perf_counter()
    df = pd.read_parquet(args.path, columns=cols)
    sales = df[df["original_order_id"].isna()]
    t_read = time.perf_counter() - t0
    out = summary_data_from_transaction_data(
        sales,
        "customer_id",
        "ordered_at",
        monetary_value_col="amount",
        observation_period_end=pd.Timestamp(args.end),
        freq="D",
    )
    return out, {"customers": int(out.shape[0]), "seconds_read_and_filter": t_read}


def step_bgnbd_gg(args, data):
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    t0 = time.perf_counter()
    bg = BetaGeoFitter().fit(data["frequency"], data["recency"], data["T"])
    t_bg = time.perf_counter() - t0
    rep = data[data["frequency"] > 0]
    gg = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    t_gg = time.perf_counter() - t0 - t_bg
    n_bg, n_gg = data.shape[0], rep.shape[0]
    return None, {
        "params_bgnbd": {k: float(v) for k, v in bg.params_.items()},
        "params_gamma_gamma": {k: float(v) for k, v in gg.params_.items()},
        # lifetimes' own objective (mean negative LL; BG/NBD in its rescaled time unit)
        "own_neg_ll_mean_bgnbd": float(bg._negative_log_likelihood_),
        "own_neg_ll_mean_gamma_gamma": float(gg._negative_log_likelihood_),
        "customers": int(n_bg),
        "repeat_customers": int(n_gg),
        "seconds_bgnbd": t_bg,
        "seconds_gamma_gamma": t_gg,
    }


def step_pnbd(args, data):
    import numpy as np
    from lifetimes import ParetoNBDFitter

    np.random.seed(0)  # noqa: NPY002  (lifetimes draws its Nelder-Mead start from it)
    pn = ParetoNBDFitter().fit(data["frequency"], data["recency"], data["T"])
    return None, {
        "params_pnbd": {k: float(v) for k, v in pn.params_.items()},
        "own_neg_ll_pnbd": float(pn._negative_log_likelihood_),
        "customers": int(data.shape[0]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("step", choices=["summary", "bgnbd_gg", "pnbd"])
    ap.add_argument("--path", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--single-above", type=float, default=60.0)
    ap.add_argument("--end", help="observation end (summary)")
    ap.add_argument("--save", help="write the summary of the last run here (summary)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # lifetimes' tz-dropping and deprecation warnings

    import lifetimes
    import pandas as pd

    data = None
    if args.step != "summary":
        data = pd.read_parquet(args.path)  # fits are timed without reading their table
    seconds: list[float] = []
    cpu: list[float] = []  # CPU seconds of this process (all threads) per run
    note = ""
    out = extra = None
    for i in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        if args.step == "summary":
            out, extra = step_summary(args)
        elif args.step == "bgnbd_gg":
            out, extra = step_bgnbd_gg(args, data)
        else:
            out, extra = step_pnbd(args, data)
        seconds.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        if i == 0 and args.repeat > 1 and seconds[0] > args.single_above:
            note = (
                f"run once: the first run took {seconds[0]:.0f} s > {args.single_above:g} s, "
                "so further repetitions were skipped"
            )
            break
    if args.save and out is not None:
        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        out.reset_index().to_parquet(args.save)
    import numpy
    import scipy

    result = {
        "tool": "lifetimes",
        "step": args.step,
        "seconds": seconds,
        "median_s": statistics.median(seconds),
        "cpu_seconds": cpu,
        "median_cpu_s": statistics.median(cpu),
        "runs": len(seconds),
        "peak_rss_mb": peak_rss_mb(),
        "note": note,
        "versions": {
            "lifetimes": lifetimes.__version__,
            "numpy": numpy.__version__,
            "scipy": scipy.__version__,
            "pandas": pd.__version__,
            "python": sys.version.split()[0],
        },
        **(extra or {}),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
