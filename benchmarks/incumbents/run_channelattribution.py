"""Time the Markov model of ChannelAttribution 2.2.5 (run in the benchmark-only .bench-venv/).

ChannelAttribution is GPL-licensed: it is installed only in the benchmark environment
(``benchmarks/requirements-attribution.txt``), never imported by crm_lib. This script reads
a table of distinct paths (``path, conversions, nulls``; channels joined by ``" > "``) from
Parquet, runs ``markov_model`` once per seed in this process and prints one JSON line:
``seconds`` (per seed, the call alone; the table is read before the clock starts),
``median_s``, ``conversions`` (channel -> credited conversions, per seed) and
``peak_rss_mb``.

``max_step`` bounds the length of each simulated path; its default (None) is the longest
observed path, which cuts longer simulated walks and biases the removal effects, so the
caller passes a bound far above any plausible walk.

Usage: python run_channelattribution.py --path PATHS.parquet [--seeds 1,2,3]
       [--max-step 1000] [--order 1] [--nsim-start 1e5]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import statistics
import time

import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--path", required=True)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--max-step", type=int, default=1000)
    ap.add_argument("--order", type=int, default=1)
    ap.add_argument("--nsim-start", type=float, default=1e5)
    args = ap.parse_args()
    import ChannelAttribution as ca

    data = pd.read_parquet(args.path)
    seconds, conversions = [], []
    for seed in (int(s) for s in args.seeds.split(",")):
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # its banner and progress
            res = ca.markov_model(
                data,
                var_path="path",
                var_conv="conversions",
                var_null="nulls",
                order=args.order,
                max_step=args.max_step,
                nsim_start=args.nsim_start,
                sep=">",
                seed=seed,
                verbose=False,
                flg_pro=False,
            )
        seconds.append(time.perf_counter() - t0)
        table = res["result"] if isinstance(res, dict) else res
        conversions.append(
            dict(
                zip(
                    table["channel_name"].str.strip(),
                    table["total_conversions"].astype(float),
                    strict=True,
                )
            )
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "tool": f"ChannelAttribution {ca.__version__}"
                if hasattr(ca, "__version__")
                else "ChannelAttribution",
                "seconds": seconds,
                "median_s": statistics.median(seconds),
                "conversions": conversions,
                "max_step": args.max_step,
                "nsim_start": args.nsim_start,
                "peak_rss_mb": peak,
            }
        )
    )


if __name__ == "__main__":
    main()
