"""The attribution benchmark works end to end at a tiny size (no timing is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "bench_attribution.py"
BENCH_PYTHON = Path(
    os.environ.get("BENCH_ATTRIBUTION_PYTHON") or ROOT / ".bench-venv" / "bin" / "python"
)


def test_smoke_run_writes_json_and_compares_with_the_incumbent_when_present(tmp_path):
    out = tmp_path / "attribution.json"
    cmd = [sys.executable, str(SCRIPT), "--customers", "3000", "--repeat", "1"]
    cmd += ["--n-boot", "5", "--seeds", "1,2", "--precise-nsim", "0", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_ATTRIBUTION_PYTHON": str(BENCH_PYTHON)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["journeys"] == 3000 and result["touches"] > 10_000
    assert set(result["crm_lib_markov_conversions"]) == {
        "search", "social", "email", "display", "affiliate", "direct"
    }  # fmt: skip
    inc = result["incumbent"]
    if "median_s" in inc:  # ChannelAttribution estimates what crm_lib solves exactly
        for run in inc["conversions"]:
            for channel, exact in result["crm_lib_markov_conversions"].items():
                assert abs(run[channel] - exact) / exact < 0.2, (channel, run, exact)
    else:
        assert "error" in inc
