"""Runs of a batch executed at the same time (``--jobs``), each in its own process and kernel.

Expected behaviour is today's sequential runner: the same reports and metrics, the same
failure handling, nothing published when the batch is interrupted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from crm_lib.reporting import run_batch
from crm_lib.reporting.runner import default_jobs, run_chains
from tests.reporting.test_runner import FAILING, STUDY, make_notebook, make_project


def _runs(*parameter_sets):
    return [SimpleNamespace(parameters=p) for p in parameter_sets]


def test_runs_sharing_a_warehouse_form_one_chain(tmp_path):
    db, other = str(tmp_path / "a.duckdb"), str(tmp_path / "b.duckdb")
    runs = _runs(
        {"warehouse_db": db},  # 0: builds the warehouse
        {"language": "en"},  # 1: independent
        {"warehouse_db": db, "language": "zh"},  # 2: reads what 0 built
        {"warehouse_db": other},  # 3: another warehouse
        {"warehouse_db": ""},  # 4: a temporary warehouse of its own
    )
    assert run_chains(runs) == [[0, 2], [1], [3], [4]]


def test_chains_are_joined_through_a_third_run(tmp_path):
    a, b = str(tmp_path / "a.duckdb"), str(tmp_path / "b.duckdb")
    runs = _runs({"x_db": a}, {"y_db": b}, {"x_db": a, "y_db": b})
    assert run_chains(runs) == [[0, 1, 2]]


def test_default_jobs_from_the_environment(monkeypatch):
    monkeypatch.setenv("CRM_JOBS", "3")
    assert default_jobs() == 3
    monkeypatch.setenv("CRM_JOBS", "two")
    with pytest.raises(ValueError, match=r"\$CRM_JOBS must be a whole number"):
        default_jobs()
    monkeypatch.delenv("CRM_JOBS")
    assert default_jobs() >= 1


def _metrics(folder: Path) -> dict:
    out = {}
    for path in sorted(folder.glob("*/metrics.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        out[path.parent.name] = (record["status"], record["metrics"], record.get("error"))
    return out


def test_parallel_batch_gives_the_sequential_batch(tmp_path, monkeypatch):
    monkeypatch.chdir(make_project(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    one = run_batch("reports.yml", run_id="one", quiet=True, jobs=1)
    two = run_batch("reports.yml", run_id="two", quiet=True, jobs=2)
    assert [r.name for r in two.runs] == [r.name for r in one.runs]  # batch order
    assert [r.status for r in two.runs] == ["succeeded", "failed", "succeeded"]
    assert _metrics(Path("reports/two")) == _metrics(Path("reports/one"))
    for name in ("study", "study_zh"):  # the artefacts and the report of each run
        assert (Path("reports/two") / name / "artefact.txt").is_file()
        assert (Path("reports/two") / name / f"{name}.html").is_file()
    index = json.loads(Path("reports/two/batch.json").read_text(encoding="utf-8"))
    assert [r["name"] for r in index["runs"]] == ["study", "failing", "study_zh"]


@pytest.mark.parametrize(
    ("sig", "code", "said"),
    [
        (signal.SIGTERM, 143, "terminated (SIGTERM); nothing was published"),
        (signal.SIGINT, 130, "interrupted; nothing was published"),
    ],
)
def test_a_signal_stops_every_worker_and_publishes_nothing(tmp_path, sig, code, said):
    """A scheduler's timeout (SIGTERM to `crm report run`) or Ctrl-C (SIGINT) while two
    notebooks run at once: exit 143 or 130, no batch published, no kernel left behind."""
    root = tmp_path / "p"
    slow = ["import time, os\nopen(output_dir + '/pid', 'w').write(str(os.getpid()))",
            "time.sleep(120)"]  # fmt: skip
    make_notebook(root / "notebooks" / "slow.ipynb", slow)
    (root / "reports.yml").write_text(
        "runs:\n  - notebook: notebooks/slow.ipynb\n    name: a\n"
        "  - notebook: notebooks/slow.ipynb\n    name: b\n",
        encoding="utf-8",
    )
    env = {**os.environ, "MPLBACKEND": "Agg", "CRM_JOBS": "2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "crm_lib.cli", "report", "run", "--run-id", "cut"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    partial = root / "reports" / ".cut.partial"
    pids = [partial / name / "pid" for name in ("a", "b")]
    deadline = time.monotonic() + 120
    while not all(p.is_file() and p.read_text() for p in pids):  # both kernels are running
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    kernels = [int(p.read_text()) for p in pids]
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert said in err
    assert not (root / "reports" / "cut").exists()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in kernels) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in kernels), "a kernel outlived the batch"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) is not running
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_failing_runs_keep_their_own_error_in_parallel(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    make_notebook(tmp_path / "notebooks" / "failing.ipynb", FAILING)
    make_notebook(tmp_path / "notebooks" / "study.ipynb", STUDY)
    batch = {
        "defaults": {"data_dir": str(tmp_path / "notebooks")},
        "runs": [{"notebook": "notebooks/failing.ipynb"}, {"notebook": "notebooks/study.ipynb"}],
    }
    result = run_batch(batch, run_id="p", quiet=True, jobs=2)
    failing, study = result.runs
    assert "the data is inconsistent" in failing.error and study.ok


def test_kernels_of_parallel_runs_get_their_own_sockets():
    """Two runs starting at once once picked the same TCP port ("Address already in use",
    the kernel died): each run now has its own Unix-socket prefix."""
    from crm_lib.reporting.runner import _run_kernel_options

    a, b = (_run_kernel_options()["config"].KernelManager for _ in range(2))
    assert a.transport == b.transport == "ipc"
    assert a.ip != b.ip and len(a.ip) < 100


def test_workers_are_not_forks_of_the_batch_process(tmp_path, monkeypatch):
    """A fork of a process with other threads alive (Spark's py4j threads) can inherit a
    lock held by a thread that does not exist in the child, and wait for it forever (a
    session-wide Spark fixture hung a parallel batch this way). The workers come from a
    fork server: the process that starts a run's kernel (the starter) is a worker whose
    parent is not the batch process. With --jobs 1 the starter is the batch process
    itself, which shows the check sees the processes it means."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    who = (
        "import os\n"
        "starter = os.getppid()\n"  # the kernel's parent
        "stat = open(f'/proc/{starter}/stat').read()\n"
        "parent = stat.rsplit(')', 1)[1].split()[1]\n"
        "open(output_dir + '/starter', 'w').write(f'{starter} {parent}')"
    )
    make_notebook(tmp_path / "notebooks" / "who.ipynb", [who])
    batch = {"runs": [{"notebook": "notebooks/who.ipynb", "name": n} for n in ("a", "b")]}

    def starters(run_id: str) -> list[tuple[int, int]]:
        folder = tmp_path / "reports" / run_id
        return [tuple(map(int, (folder / n / "starter").read_text().split())) for n in "ab"]

    me = os.getpid()
    assert run_batch(batch, run_id="one", quiet=True, jobs=1).ok
    assert [starter for starter, _ in starters("one")] == [me, me]
    assert run_batch(batch, run_id="two", quiet=True, jobs=2).ok
    for starter, parent in starters("two"):
        assert starter != me and parent != me
