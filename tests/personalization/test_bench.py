"""The basket benchmark runs end to end at a tiny size (no timing is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_baskets_smoke_run(tmp_path):
    out = tmp_path / "baskets.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_baskets.py"), "--baskets", "3000"]
    cmd += ["--repeat", "1", "--catalogues", "small", "--no-incumbents", "--out", str(out)]
    env = {**os.environ, "BENCH_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads(out.read_text())["rows"]
    assert [r["catalogue"] for r in rows] == ["small"]
    assert all(r["rules"] > 0 and r["crm_lib_median_s"] > 0 for r in rows)
    assert "incumbent not run" in proc.stdout
