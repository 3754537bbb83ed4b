"""Benchmark: analyse an A/B test of N assigned units (SRM, proportions, Welch, CUPED).

Target (issue 6): 10M assignment rows with outcomes analysed in <= 3 s on a 2-core
machine. The baseline, measured in the same run on the same DataFrame, is the
straightforward approach: pandas ``value_counts``/``groupby`` plus scipy and statsmodels
on the per-arm arrays (``chisquare``, ``proportions_ztest`` + ``confint_proportions_2indep``,
``ttest_ind(equal_var=False)``, CUPED by ``np.cov`` and a second Welch test). crm_lib
reduces the rows to per-arm sufficient statistics with ``numpy.bincount`` (two passes for
numerically stable sums of squares) and tests on those, either function by function (each
codes the variant column again) or through ``arm_stats``, which codes it and reduces every
column once and reuses the statistics for SRM, proportions, Welch and CUPED. The script
also checks that all three give the same statistics.

Usage: python benchmarks/bench_experiments.py [--rows 10000000] [--repeat 3]
Writes benchmarks/results/experiments.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from crm_lib.experiments import arm_stats, cuped, means_test, proportions_test, srm_check


def make_data(n: int, seed: int = 0) -> pd.DataFrame:
    """Assignments joined to outcomes: variant (str), converted, revenue, pre-period revenue."""
    rng = np.random.default_rng(seed)
    treated = rng.random(n) < 0.5
    pre = rng.gamma(1.5, 60.0, n)
    converted = rng.random(n) < np.where(treated, 0.21, 0.20)
    revenue = np.where(converted, 0.5 * pre + rng.gamma(2.0, 40.0, n), 0.0)
    return pd.DataFrame(
        {
            "variant": pd.array(np.where(treated, "coupon", "control"), dtype="str"),
            "converted": converted,
            "revenue": revenue,
            "pre_period_revenue": pre,
        }
    )


def run_crm_lib(df: pd.DataFrame) -> dict[str, float]:
    kw = {"group_col": "variant", "control": "control"}
    srm = srm_check(df, group_col="variant")
    prop = proportions_test(df, converted_col="converted", **kw)
    welch = means_test(df, value_col="revenue", **kw)
    cu = cuped(df, metric_col="revenue", covariate_col="pre_period_revenue", **kw)
    return {
        "srm_chi2": float(srm["statistic"].iloc[0]),
        "z": float(prop["statistic"].iloc[0]),
        "newcombe_low": float(prop["ci_low"].iloc[0]),
        "welch_t": float(welch["statistic"].iloc[0]),
        "cuped_t": float(cu["statistic"].iloc[0]),
    }


def run_arm_stats(df: pd.DataFrame) -> dict[str, float]:
    s = arm_stats(
        df,
        group_col="variant",
        control="control",
        columns=["converted", "revenue", "pre_period_revenue"],
        pairs=[("revenue", "pre_period_revenue")],
    )
    prop = s.proportions("converted")
    return {
        "srm_chi2": float(s.srm()["statistic"].iloc[0]),
        "z": float(prop["statistic"].iloc[0]),
        "newcombe_low": float(prop["ci_low"].iloc[0]),
        "welch_t": float(s.means("revenue")["statistic"].iloc[0]),
        "cuped_t": float(s.cuped("revenue", "pre_period_revenue")["statistic"].iloc[0]),
    }


def run_baseline(df: pd.DataFrame) -> dict[str, float]:
    counts = df["variant"].value_counts().sort_index()
    chi2 = stats.chisquare(counts.to_numpy()).statistic
    g = df.groupby("variant")["converted"].agg(["sum", "count"])
    x = g["sum"].to_numpy()
    n = g["count"].to_numpy()
    z, _ = proportions_ztest([x[1], x[0]], [n[1], n[0]])
    lo, _ = confint_proportions_2indep(x[1], n[1], x[0], n[0], method="newcomb")
    treated = (df["variant"] == "coupon").to_numpy()
    y = df["revenue"].to_numpy()
    t = stats.ttest_ind(y[treated], y[~treated], equal_var=False).statistic
    cov = df[["pre_period_revenue", "revenue"]]
    theta = np.cov(cov["pre_period_revenue"], cov["revenue"])
    theta = theta[0, 1] / theta[0, 0]
    xp = df["pre_period_revenue"].to_numpy()
    adj = y - theta * (xp - xp.mean())
    tc = stats.ttest_ind(adj[treated], adj[~treated], equal_var=False).statistic
    return {"srm_chi2": chi2, "z": z, "newcombe_low": lo, "welch_t": t, "cuped_t": tc}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default="benchmarks/results/experiments.json")
    args = ap.parse_args()
    t0 = time.perf_counter()
    df = make_data(args.rows)
    gen_s = time.perf_counter() - t0
    ours, once, base = [], [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        r_ours = run_crm_lib(df)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        r_once = run_arm_stats(df)
        once.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        r_base = run_baseline(df)
        base.append(time.perf_counter() - t0)
    agree = {k: abs(r_ours[k] - r_base[k]) / max(abs(r_base[k]), 1e-300) for k in r_ours}
    agree_once = {k: abs(r_once[k] - r_ours[k]) / max(abs(r_ours[k]), 1e-300) for k in r_ours}
    result = {
        "rows": args.rows,
        "data_generation_s": gen_s,
        "crm_lib_median_s": statistics.median(ours),
        "baseline_median_s": statistics.median(base),
        "ratio_to_baseline": statistics.median(ours) / statistics.median(base),
        "arm_stats_median_s": statistics.median(once),
        "arm_stats_ratio_to_baseline": statistics.median(once) / statistics.median(base),
        "arm_stats_max_relative_difference": max(agree_once.values()),
        "target_s": 3.0,
        "meets_target": statistics.median(ours) <= 3.0,
        "max_relative_difference": max(agree.values()),
        "runs_crm_lib_s": ours,
        "runs_arm_stats_s": once,
        "runs_baseline_s": base,
    }
    print(f"{'step (' + format(args.rows, ',') + ' rows)':<52}{'median s':>10}{'ratio':>8}")
    print(
        f"{'baseline: pandas groupby + scipy/statsmodels':<52}{result['baseline_median_s']:>10.2f}{1:>8.2f}"
    )
    print(
        f"{'crm_lib: srm_check, proportions, Welch, CUPED':<52}"
        f"{result['crm_lib_median_s']:>10.2f}{result['ratio_to_baseline']:>8.2f}"
    )
    print(
        f"{'crm_lib: arm_stats once, then the four tests':<52}"
        f"{result['arm_stats_median_s']:>10.2f}{result['arm_stats_ratio_to_baseline']:>8.2f}"
    )
    print(
        f"target <= 3 s: {'met' if result['meets_target'] else 'NOT met'}; "
        f"max relative difference of the statistics: {result['max_relative_difference']:.1e} "
        f"(arm_stats vs per function: {result['arm_stats_max_relative_difference']:.1e})"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
