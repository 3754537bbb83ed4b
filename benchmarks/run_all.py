"""Run every benchmarks/bench_*.py script in turn (``make bench``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

here = Path(__file__).parent
failed = []
for script in sorted(here.glob("bench_*.py")):
    print(f"\n== {script.name} ==", flush=True)
    if subprocess.run([sys.executable, str(script)]).returncode:
        failed.append(script.name)
if failed:
    sys.exit(f"benchmarks failed: {', '.join(failed)}")
