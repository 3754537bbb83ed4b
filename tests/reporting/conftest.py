"""The report batch of ``reports.yml``, rendered once per test session on the small world.

:func:`rendered_batch` runs every run of the project's own batch file (the English and the
Chinese reports of the nine study notebooks) exactly as ``make report`` does, but on the
small simulated world written to a temporary folder, with warehouses there too, two runs at
a time. Tests of what the published reports say (their language, what a browser shows) read
its HTML instead of running notebooks again. Under pytest-xdist a session fixture is built
once per worker, so every test using it carries ``@pytest.mark.xdist_group("rendered_batch")``
(``make test`` runs with ``--dist loadgroup``): one worker renders it, once.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[2]


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
def rendered_batch(tmp_path_factory, small_world):
    """The published batch (:class:`crm_lib.reporting.BatchResult`) of every run of reports.yml.

    Takes a few minutes (every study notebook twice, on two workers); ``.duration_s`` says
    how long.
    """
    from crm_lib.datasets import save_world
    from crm_lib.reporting import run_batch

    work = tmp_path_factory.mktemp("rendered_batch")
    world_dir = save_world(small_world, work / "small-seed1")
    t0 = time.perf_counter()
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("CRM_PSEUDONYM_KEY", raising=False)  # as a plain `make report`
        mp.delenv("CRM_DATA_DIR", raising=False)
        result = run_batch(
            _batch_spec(world_dir, work), run_id="batch", reports_dir=work / "reports",
            quiet=True, jobs=2,
        )  # fmt: skip
    slowest = sorted(result.runs, key=lambda r: -r.duration_s)[:3]
    print(
        f"\nrendered_batch: {len(result.runs)} runs in {time.perf_counter() - t0:.0f} s "
        f"(slowest: {', '.join(f'{r.name} {r.duration_s:.0f} s' for r in slowest)})"
    )
    return result
