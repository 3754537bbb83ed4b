"""The churn benchmark runs end to end at a tiny size and both tools agree (no timing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_churn_smoke(tmp_path):
    out = tmp_path / "churn.json"
    env = {**os.environ, "BENCH_CACHE": str(tmp_path / "cache")}
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_churn.py"), "--rows", "20000",
           "--repeat", "1", "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["same_table"] is True and result["target_met"] is None  # not the 10M size
    assert result["customers"] > 0 and result["duckdb_median_s"] > 0
