"""The funnel benchmark runs end to end at tiny sizes (no timing is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_funnel.py"


def test_bench_funnel_smoke(tmp_path):
    out = tmp_path / "funnel.json"
    cmd = [sys.executable, str(SCRIPT), "--weeks", "60", "--events", "5000", "--repeat", "1"]
    proc = subprocess.run(
        [*cmd, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads(out.read_text())["rows"]
    assert rows[0]["max_abs_diff"] < 1e-6 and rows[1]["same_counts"]
