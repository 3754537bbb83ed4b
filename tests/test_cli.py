"""The ``crm`` command as a newcomer meets it: help, mistakes, one notebook, SIGTERM."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_lib import cli
from crm_lib.contract import schemas
from crm_lib.reporting import runner
from crm_lib.reporting.cli import _Terminated
from tests.reporting.test_runner import make_notebook, make_project


def _refused(argv, capsys) -> str:
    """Run argv, expect exit code 2 and return stderr; no traceback may reach the user."""
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_help_is_plain_text_and_data_offers_build_and_inspect(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "``" not in out and ":mod:" not in out
    assert "build or inspect data" in out
    with pytest.raises(SystemExit):
        cli.main(["data", "--help"])
    out = capsys.readouterr().out
    assert "build" in out and "inspect" in out


def test_an_unknown_world_size_is_one_line(capsys):
    err = _refused(["data", "build", "--size", "tiny", "--out", "x"], capsys)
    assert "unknown world size 'tiny': use one of small, default or a number" in err


def test_inspect_lists_tables_and_says_what_is_missing(tmp_path, capsys):
    out = tmp_path / "w"
    assert cli.main(["data", "build", "--size", "60", "--seed", "2", "--out", str(out)]) == 0
    (out / "tables" / "events.parquet").unlink()
    capsys.readouterr()
    assert cli.main(["data", "inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ground truth: yes" in text and "60 rows" in text
    n = len(schemas.SCHEMAS)  # later studies add contract tables
    assert (
        "events" in text and "missing" in text and f"{n - 1} of {n} contract tables found" in text
    )
    assert cli.main(["data", "inspect", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("does not exist; pass a folder of contract tables") and "\n" not in err


def test_report_run_takes_one_notebook_with_parameters(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(make_project(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    code = cli.main(
        ["report", "run", "notebooks/study.ipynb", "-p", "data_dir", "data/world", "-p", "seed",
         "3", "--run-id", "one", "--quiet"]
    )  # fmt: skip
    assert code == 0, capsys.readouterr()
    assert "1 run, 1 succeeded" in capsys.readouterr().out
    metrics = (tmp_path / "reports" / "one" / "study" / "metrics.json").read_text()
    assert '"answer": 43' in metrics  # 40 + seed 3: the parameter reached the notebook


def test_a_missing_notebook_or_folder_is_named_as_such(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(make_project(tmp_path))
    assert cli.main(["report", "run", "notebooks/nope.ipynb"]) == 2
    assert "notebook 'notebooks/nope.ipynb' not found" in capsys.readouterr().err
    make_notebook(
        tmp_path / "nb" / "f.ipynb", ["x = 1"], params='lookup_file: str = ""  # a file\n'
    )
    assert cli.main(["report", "run", "nb/f.ipynb", "-p", "lookup_file", "nope.csv"]) == 2
    err = capsys.readouterr().err
    assert "is a missing data file" in err
    assert cli.main(["report", "run", "-p", "data_dir", "data/nowhere"]) == 2
    err = capsys.readouterr().err
    assert "is a missing folder" in err and "missing data file" not in err


def test_sigterm_is_reported_in_words(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(make_project(tmp_path))
    monkeypatch.setenv("CRM_JOBS", "1")  # the patch below reaches runs in this process only

    def terminated(*args, **kwargs):
        raise _Terminated()

    monkeypatch.setattr(runner, "_execute", terminated)
    assert cli.main(["report", "run", "--run-id", "cut"]) == 143
    err = capsys.readouterr().err
    assert "terminated by SIGTERM" in err and "_Terminated" not in err
    assert "nothing was published" in err


def test_a_study_whose_table_the_dataset_lacks_is_refused_before_it_runs(tmp_path, capsys):
    from crm_lib.datasets import simulate

    folder = tmp_path / "shop"
    (folder / "tables").mkdir(parents=True)
    simulate(60, seed=5, dirty=False).transactions.to_parquet(
        folder / "tables" / "transactions.parquet", index=False
    )
    root = Path(__file__).resolve().parents[1] / "notebooks"
    argv = ["report", "run", str(root / "05_satisfaction_study.ipynb"), "-p", "data_dir",
            str(folder), "--reports-dir", str(tmp_path / "reports")]  # fmt: skip
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "needs the table 'survey_responses', which the dataset" in err
    assert "crm data import FILE --mapping MAPPING --out" in err
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())
