"""Run the benchmarks (``make bench``): the suite against the incumbents, then the rest.

``bench_suite.py`` (crm_lib against lifetimes and pandas, issue 8) runs first, then every
other ``benchmarks/bench_*.py`` in turn. Environment:

- ``BENCH_FULL=1``: the suite adds the 100M-line log (crm_lib only);
- ``BENCH_QUICK=1``: a smoke run, the suite alone at small sizes;
- ``BENCH_SCRIPTS=suite,clv``: run only these scripts (names without ``bench_``/``.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

here = Path(__file__).parent
scripts = sorted(here.glob("bench_*.py"), key=lambda p: (p.name != "bench_suite.py", p.name))
if os.environ.get("BENCH_QUICK", "") not in ("", "0"):
    scripts = [here / "bench_suite.py"]
only = [s.strip() for s in os.environ.get("BENCH_SCRIPTS", "").split(",") if s.strip()]
if only:
    scripts = [p for p in scripts if p.stem.removeprefix("bench_") in only]
failed = []
for script in scripts:
    print(f"\n== {script.name} ==", flush=True)
    if subprocess.run([sys.executable, str(script)]).returncode:
        failed.append(script.name)
if failed:
    sys.exit(f"benchmarks failed: {', '.join(failed)}")
