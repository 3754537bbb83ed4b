"""The benchmark harness works end to end at tiny sizes (no timing is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "benchmarks" / "bench_suite.py"
RUNNER = ROOT / "benchmarks" / "incumbents" / "run_lifetimes.py"
LIFETIMES_PYTHON = Path(
    os.environ.get("BENCH_LIFETIMES_PYTHON") or ROOT / ".bench-venv" / "bin" / "python"
)


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "BENCH_CACHE": str(tmp_path / "cache"), "MPLBACKEND": "Agg"}


def test_suite_smoke_run_writes_table_json_and_plot(tmp_path):
    out = tmp_path / "results" / "suite.json"
    cmd = [sys.executable, str(SUITE), "--groups", "summary,fit", "--sizes", "5000"]
    cmd += ["--customers", "2000", "--repeat", "1", "--no-incumbents", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(tmp_path), timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "median s" in proc.stdout and "scaling of the customer summary" in proc.stdout
    result = json.loads(out.read_text())
    tools = {(r["step"], r["tool"]) for r in result["rows"]}
    assert tools == {
        ("customer summary", "crm_lib (orders, DuckDB)"),
        ("customer summary", "crm_lib (days, as lifetimes)"),
        ("customer summary", "pandas groupby (orders)"),
        ("BG/NBD + gamma-gamma", "crm_lib"),
    }
    for row in result["rows"]:
        assert row["runs"] == 1 and row["median_s"] > 0 and row["peak_rss_mb"] > 0
    assert result["targets"] == []  # targets are judged only at the target sizes
    assert result["config"]["incumbents"] is False
    assert (out.parent / result["plot"]).stat().st_size > 0


@pytest.mark.skipif(not LIFETIMES_PYTHON.exists(), reason="no .bench-venv (make bench builds it)")
def test_lifetimes_runner_reports_json_and_matches_crm_lib_summary(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_suite
    finally:
        sys.path.pop(0)
    from crm_lib.datasets import simulate_to_parquet
    from crm_lib.value import customer_summary

    log = simulate_to_parquet(tmp_path / "log", 5_000, seed=3).transactions_path
    end = bench_suite._day_end()
    theirs = tmp_path / "lifetimes.parquet"
    res = bench_suite.run_lifetimes_step(LIFETIMES_PYTHON, "summary", log, 1, end=end, save=theirs)
    assert res["tool"] == "lifetimes" and res["versions"]["lifetimes"] == "0.11.3"
    assert res["runs"] == 1 and res["peak_rss_mb"] > 0
    ours = tmp_path / "ours.parquet"
    customer_summary(
        log, observation_end=end, freq_by="day", time_unit="D", returns="ignore", tz="UTC"
    ).to_parquet(ours)
    agreement = bench_suite.summary_agreement(ours, theirs)
    assert agreement["same_customers"]
    assert max(agreement["max_abs_difference"].values()) < 1e-9

    # a fit: the log-likelihoods of both sides are scored by crm_lib's formula
    rng = np.random.default_rng(0)
    n = 2_000
    T = rng.uniform(10, 78, n)
    lam, mu = rng.gamma(0.55, 1 / 10.58, n), rng.gamma(0.61, 1 / 11.67, n)
    death = np.minimum(rng.exponential(1 / mu), T)
    x = rng.poisson(lam * death)
    tx = np.where(x > 0, death * rng.random(n) ** (1 / np.maximum(x, 1)), 0.0)
    table = tmp_path / "pnbd.parquet"
    pd.DataFrame({"frequency": x, "recency": tx, "T": T}).to_parquet(table)
    lt = bench_suite.run_lifetimes_step(LIFETIMES_PYTHON, "pnbd", table, 1)
    assert set(lt["params_pnbd"]) == {"r", "alpha", "s", "beta"}
    ours = {"params_pnbd": lt["params_pnbd"]}
    ll = bench_suite.log_likelihoods("pnbd", table, ours, lt)["pnbd"]
    assert ll["relative_gap"] == 0.0 and np.isfinite(ll["lifetimes"])
