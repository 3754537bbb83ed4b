"""The Chinese half of the report batch, rendered once per test session on the small world.

:func:`rendered_batch` runs the ``zh`` runs of the project's own batch file (one per study
notebook) as ``make report`` does, but on the small simulated world written to a temporary
folder, with warehouses there too, two runs at a time, and with the resampling counts cut
(:data:`FAST`: the numbers differ, every code path and every line of narrative is the
same). Tests of what published reports show (their language, what a browser shows) read
its HTML instead of running notebooks again. The English runs execute the same code and
are covered by nbval; their formulas by ``test_mathml.py``.

Under pytest-xdist a session fixture is built once per worker; this one is rendered once
per test session all the same: the first worker to need it renders it into the session's
shared temporary folder under a file lock, the others wait for it and read it from there.
"""

from __future__ import annotations

import fcntl
import pickle
import time
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[2]
#: Resampling counts of the rendered batch, per notebook: the fewest each notebook accepts
#: instead of hundreds, which would only change numbers.
FAST = {
    "05_satisfaction_study": {"n_boot": 100},
    "06_churn_retention": {"n_boot": 100, "n_repeats": 2},
    "08_attribution": {"n_boot": 100},
    "09_personalization": {"n_boot": 100},
}


def _batch_spec(world_dir: Path, work: Path) -> dict:
    """reports.yml with its paths made absolute, the world and warehouses in ``work``."""
    spec = yaml.safe_load((PROJECT / "reports.yml").read_text(encoding="utf-8"))
    spec["defaults"]["data_dir"] = str(world_dir)
    for run in spec["runs"]:
        run["notebook"] = str(PROJECT / run["notebook"])
        params = dict(run.get("parameters") or {})
        for name, value in list(params.items()):
            if name.endswith("_db"):  # 01 builds it, 02 reads it: one chain per file
                params[name] = str(work / "warehouse" / Path(value).name)
            elif name.endswith("_file"):  # fetched by `make external`; the study says if absent
                path = PROJECT / value
                if path.is_file():
                    params[name] = str(path)
                else:
                    del params[name]
        run["parameters"] = params
    return spec


@pytest.fixture(scope="session")
def rendered_batch(request, tmp_path_factory, worker_id):
    """The published batch (:class:`crm_lib.reporting.BatchResult`) of reports.yml's zh runs.

    Takes a minute or two (every study notebook once, on two workers).
    """
    root = tmp_path_factory.getbasetemp()
    if worker_id != "master":  # pytest-xdist: the folder all workers of this session share
        root = root.parent
    with (root / "rendered_batch.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        saved = root / "rendered_batch.pickle"
        if saved.exists():  # rendered by another worker
            return pickle.loads(saved.read_bytes())
        result = _render(root / "rendered_batch", request.getfixturevalue("small_world"))
        saved.write_bytes(pickle.dumps(result))
    return result


def _render(work: Path, world):
    from crm_lib.datasets import save_world
    from crm_lib.reporting import run_batch

    world_dir = save_world(world, work / "small-seed1")
    spec = _batch_spec(world_dir, work)
    spec["runs"] = [r for r in spec["runs"] if r["parameters"].get("language") == "zh"]
    for run in spec["runs"]:
        run["parameters"].update(FAST.get(Path(run["notebook"]).stem, {}))
    t0 = time.perf_counter()
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("CRM_PSEUDONYM_KEY", raising=False)  # as a plain `make report`
        mp.delenv("CRM_DATA_DIR", raising=False)
        result = run_batch(spec, run_id="batch", reports_dir=work / "reports", quiet=True, jobs=2)
    slowest = sorted(result.runs, key=lambda r: -r.duration_s)[:3]
    print(
        f"\nrendered_batch: {len(result.runs)} runs in {time.perf_counter() - t0:.0f} s "
        f"(slowest: {', '.join(f'{r.name} {r.duration_s:.0f} s' for r in slowest)})"
    )
    return result
