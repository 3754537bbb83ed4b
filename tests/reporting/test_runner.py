"""crm_lib.reporting.runner: executing batches of tiny notebooks end to end.

One batch (three runs: a study, a failing notebook and the study again in Chinese) is run
once through ``crm report run`` and inspected by several tests; a few more tests run
one-notebook batches. Each notebook cell is trivial, so a run costs about a second
(mostly the kernel start).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from crm_lib.cli import main
from crm_lib.intake.warehouse import connect
from crm_lib.reporting import run_batch, runner

PARAMS = """\
data_dir: str = ""  # folder of the world; "" simulates it in memory
size: str = "small"  # world size
seed: int = 1  # random seed
language: str = "en"  # report language, one of: en, zh
output_dir: str = ""  # set by the runner
"""

STUDY = [
    "# Segmentation study\nThe narrative of the study.",
    ("English narrative only", ["lang-en"]),
    ("\u53ea\u6709\u4e2d\u6587\u53d9\u8ff0", ["lang-zh"]),
    "SECRET_CODE_MARKER = 40\nfrom crm_lib.reporting import record, record_many\n"
    "import numpy as np\nrecord('answer', np.int64(SECRET_CODE_MARKER + seed))\n"
    "record_many({'language': language, 'data_files': len(__import__('os').listdir(data_dir))})",
    "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()",
    "open(output_dir + '/artefact.txt', 'w').write(language)",
]
FAILING = ["x = 1", "raise ValueError('the data is inconsistent')", "never = 'reached'"]


def make_notebook(path: Path, cells: list, params: str = PARAMS) -> Path:
    nb = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell(params)
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters]
    for cell in cells:
        if isinstance(cell, tuple):  # (markdown, tags)
            nb.cells.append(nbformat.v4.new_markdown_cell(cell[0], metadata={"tags": cell[1]}))
        elif cell.startswith("#"):
            nb.cells.append(nbformat.v4.new_markdown_cell(cell))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(cell))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def make_project(root: Path) -> Path:
    make_notebook(root / "notebooks" / "study.ipynb", STUDY)
    make_notebook(root / "notebooks" / "failing.ipynb", FAILING)
    (root / "data" / "world").mkdir(parents=True)
    (root / "data" / "world" / "customers.csv").write_text("customer_id\n1\n2\n")
    (root / "reports.yml").write_text(
        "defaults:\n"
        "  data_dir: data/world\n"
        "runs:\n"
        "  - notebook: notebooks/study.ipynb\n"
        "    name: study\n"
        "  - notebook: notebooks/failing.ipynb\n"
        "  - notebook: notebooks/study.ipynb\n"
        "    name: study_zh\n"
        "    parameters: {language: zh}\n"
    )
    return root


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Run the three-run batch once via the CLI, with MPLBACKEND=Agg as `make` exports it."""
    root = make_project(tmp_path_factory.mktemp("project"))
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("MPLBACKEND", "Agg")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["report", "run", "--run-id", "nightly", "-p", "seed", "2"])
    folder = root / "reports" / "nightly"
    return {
        "root": root,
        "code": code,
        "out": out.getvalue(),
        "err": err.getvalue(),
        "folder": folder,
    }


def load_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_batch_exit_code_and_summary_line(batch):
    assert batch["code"] == 1  # one run failed, the batch finished
    assert batch["out"].strip() == (
        "crm report: 3 runs, 2 succeeded, 1 failed -> reports/nightly/index.html"
    )


def test_success_path_writes_every_file(batch):
    folder = batch["folder"]
    for name in ("study", "study_zh"):
        for file in (f"{name}.ipynb", f"{name}.html", "metrics.json", "artefact.txt"):
            assert (folder / name / file).is_file(), file
    assert (folder / "index.html").is_file() and (folder / "batch.json").is_file()
    latest = batch["root"] / "reports" / "latest"
    assert latest.is_symlink() and os.readlink(latest) == "nightly"
    assert not [p.name for p in (batch["root"] / "reports").iterdir() if p.name.startswith(".")]


def test_html_hides_code_and_parameters_and_embeds_images(batch):
    html = (batch["folder"] / "study" / "study.html").read_text(encoding="utf-8")
    assert "SECRET_CODE_MARKER" not in html  # code is hidden
    assert "Segmentation study" in html  # markdown narrative kept
    assert "answer = 42" not in html  # recorded values go to metrics.json, not the page
    assert "injected-parameters" not in html and "output_dir" not in html
    assert "data:image/png;base64" in html  # figure embedded despite MPLBACKEND=Agg
    assert '<img src="http' not in html


def test_html_keeps_only_the_cells_of_its_language(batch):
    english = (batch["folder"] / "study" / "study.html").read_text(encoding="utf-8")
    chinese = (batch["folder"] / "study_zh" / "study_zh.html").read_text(encoding="utf-8")
    assert "English narrative only" in english and "\u53ea\u6709\u4e2d\u6587" not in english
    assert "English narrative only" not in chinese and "\u53ea\u6709\u4e2d\u6587" in chinese
    assert "Segmentation study" in chinese  # untagged cells are shared
    nb = nbformat.read(batch["folder"] / "study_zh" / "study_zh.ipynb", as_version=4)
    assert any("English narrative only" in c.source for c in nb.cells)  # notebook complete


def test_metrics_json_holds_what_reproduces_the_run(batch):
    metrics = load_json(batch["folder"] / "study" / "metrics.json")
    assert metrics["status"] == "succeeded" and metrics["error"] is None
    assert metrics["metrics"] == {"answer": 42, "language": "en", "data_files": 1}
    params = metrics["parameters"]
    assert params["seed"] == 2 and params["language"] == "en" and params["size"] == "small"
    assert params["data_dir"] == str(batch["root"] / "data" / "world")
    assert params["output_dir"] == str(batch["folder"] / "study")
    assert metrics["parameter_sources"]["seed"] == "override"
    assert metrics["parameter_sources"]["data_dir"] == "batch defaults"
    fingerprint = metrics["data_fingerprint"]
    assert fingerprint["inputs"]["data_dir"]["files"] == 1 and len(fingerprint["sha256"]) == 64
    packages = metrics["environment"]["packages"]
    for name in ("crm_lib", "pandas", "numpy", "scipy", "papermill", "duckdb", "pyarrow"):
        assert name in packages
    assert metrics["environment"]["python"].count(".") == 2
    assert metrics["started_at"].endswith("Z") and metrics["duration_s"] > 0
    nb = nbformat.read(batch["folder"] / "study" / "study.ipynb", as_version=4)
    assert nb.metadata["crm_lib"]["metrics"] == metrics["metrics"]
    zh = load_json(batch["folder"] / "study_zh" / "metrics.json")
    assert (
        zh["metrics"]["language"] == "zh"
        and zh["parameter_sources"]["language"] == "run parameters"
    )
    assert (batch["folder"] / "study_zh" / "artefact.txt").read_text() == "zh"


def test_failing_run_is_marked_and_the_batch_goes_on(batch):
    folder = batch["folder"]
    failed = load_json(folder / "failing" / "metrics.json")
    assert failed["status"] == "failed"
    assert failed["error"] == "ValueError: the data is inconsistent"
    nb = nbformat.read(folder / "failing" / "failing.ipynb", as_version=4)
    assert nb.cells[failed["failed_cell"]].outputs[0]["ename"] == "ValueError"
    assert (folder / "failing" / "failing.html").is_file()  # rendered anyway
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert "1 of 3 runs failed" in index
    assert "ValueError: the data is inconsistent" in index
    assert 'href="failing/failing.ipynb"' in index
    assert 'href="failing/failing.html#papermill-error-cell"' in index
    summary = load_json(folder / "batch.json")
    assert (summary["status"], summary["n_succeeded"], summary["n_failed"]) == ("failed", 2, 1)
    assert [r["status"] for r in summary["runs"]] == ["succeeded", "failed", "succeeded"]
    assert summary["runs"][0]["html"] == "study/study.html"
    assert summary["overrides"] == {"seed": "2"}


def test_logs_are_timestamped_lines_when_not_a_terminal(batch):
    err = batch["err"]
    assert "INFO [1/3] study: executing notebooks/study.ipynb" in err
    assert "ERROR [2/3] failing failed after" in err
    first = err.splitlines()[0]
    assert first[:4].isdigit() and first[10] == "T" and first[19] == "Z"


def test_same_run_id_replaces_the_batch_and_quiet_prints_summary_only(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(make_project(tmp_path))
    args = ["report", "run", "--run-id", "again", "--only", "study", "--quiet"]
    assert main(args) == 0
    first = capsys.readouterr()
    assert first.out == "crm report: 1 run, 1 succeeded, 0 failed -> reports/again/index.html\n"
    assert first.err == ""
    stale = Path("reports/again/stale.txt")
    stale.write_text("from the first batch")
    assert main([*args, "-p", "seed", "5"]) == 0
    assert not stale.exists()  # replaced as a whole
    assert load_json(Path("reports/again/study/metrics.json"))["metrics"]["answer"] == 45
    assert sorted(p.name for p in Path("reports").iterdir()) == ["again", "index.html", "latest"]


def test_interrupted_batch_leaves_no_complete_looking_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(make_project(tmp_path))
    monkeypatch.setenv("CRM_JOBS", "1")  # the patch below reaches runs in this process only
    real = runner._execute
    calls = []

    def interrupt_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "_execute", interrupt_second)
    assert main(["report", "run", "--run-id", "cut"]) == 130
    assert "interrupted; nothing was published" in capsys.readouterr().err
    reports = Path("reports")
    assert not (reports / "cut").exists() and not (reports / "latest").exists()
    assert (reports / ".cut.partial" / "study" / "study.ipynb").is_file()  # kept for inspection

    monkeypatch.setattr(runner, "_execute", lambda *a, **k: None)  # no kernel needed below
    result = run_batch({"runs": [{"notebook": "notebooks/failing.ipynb"}]}, run_id="next")
    assert not (reports / ".cut.partial").exists()  # stale leftover cleaned up
    assert result.folder == (reports / "next").resolve()
    assert not result.ok and result.runs[0].error == "papermill wrote no executed notebook"


def test_python_api_returns_results(tmp_path, monkeypatch):
    monkeypatch.chdir(make_project(tmp_path))
    result = run_batch("reports.yml", only=["study"], overrides={"seed": 0}, quiet=True)
    assert result.ok and result.run_id.endswith("Z") and len(result.run_id) == 16
    (run,) = result.runs
    assert run.ok and run.metrics["answer"] == 40 and run.html.is_file() and run.ipynb.is_file()
    table = result.summary()
    assert list(table["status"]) == ["succeeded"]
    monkeypatch.setattr(runner, "default_run_id", lambda: result.run_id)  # same second
    again = run_batch("reports.yml", only=["study"], quiet=True)
    assert again.run_id == f"{result.run_id}-2" and result.folder.is_dir()


def test_run_with_a_missing_data_file_is_refused_alone(tmp_path, monkeypatch, capsys):
    """Issue 3: one run pointing at a missing file fails; the others still report."""
    root = make_project(tmp_path)
    (root / "missing.yml").write_text(
        "defaults:\n"
        "  data_dir: data/world\n"
        "runs:\n"
        "  - notebook: notebooks/study.ipynb\n"
        "    name: good\n"
        "  - notebook: notebooks/study.ipynb\n"
        "    name: no_data\n"
        "    parameters: {data_dir: data/not-delivered}\n"
    )
    monkeypatch.chdir(root)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    assert main(["report", "run", "missing.yml", "--run-id", "partial-data", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "2 runs, 1 succeeded, 1 failed" in out
    folder = root / "reports" / "partial-data"
    assert (folder / "good" / "good.html").is_file()
    assert not (folder / "no_data" / "no_data.ipynb").exists()  # never executed
    failed = load_json(folder / "no_data" / "metrics.json")
    assert failed["status"] == "failed"
    assert "refused before execution" in failed["error"] and "missing folder" in failed["error"]
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert "not-delivered" in index and "missing folder" in index


def test_batch_where_every_run_is_refused_executes_nothing(tmp_path, monkeypatch, capsys):
    root = make_project(tmp_path)
    monkeypatch.chdir(root)
    assert main(["report", "run", "-p", "data_dir", "data/nowhere", "--quiet"]) == 2
    assert "missing folder" in capsys.readouterr().err
    assert not (root / "reports").exists() or not any((root / "reports").iterdir())


# ------------------------------------------------------------------- PII scan

LEAKY = [
    "# Leaky study\nQuestions? Write to `help@example.com` (a made-up example).",
    "customer = 'zhang.wei' + '@' + 'example.cn'\nprint('top customer:', customer)",
    "print('call', '138 1234 ' + '5678')",
]
EXAMPLES_ONLY = ["# Careful study\nAn e-mail such as `ANN@EXAMPLE.COM ` is normalised.", "x = 1"]


def test_a_run_that_prints_pii_fails_and_names_file_and_kind(tmp_path, monkeypatch):
    make_notebook(tmp_path / "leaky.ipynb", LEAKY)
    make_notebook(tmp_path / "careful.ipynb", EXAMPLES_ONLY)
    (tmp_path / "reports.yml").write_text(
        "runs:\n  - notebook: leaky.ipynb\n  - notebook: careful.ipynb\n"
    )
    monkeypatch.chdir(tmp_path)
    result = run_batch("reports.yml", run_id="pii", quiet=True)
    leaky, careful = result.runs
    assert careful.ok  # an example address in the narrative is not data
    assert not leaky.ok and not result.ok
    error = leaky.error
    assert error.startswith("PII check failed, the report is not published as succeeded")
    assert "leaky.ipynb: 1 e-mail address(s) (z***@example.cn)" in error
    assert "leaky.html: 1 e-mail address(s)" in error
    assert "phone number(s) (138****78)" in error
    assert "help@" not in error  # the allowed example is not reported
    folder = result.folder / "leaky"
    record = load_json(folder / "metrics.json")
    assert record["status"] == "failed" and record["error"] == error
    for path in (folder / "metrics.json", result.folder / "batch.json"):
        assert "zhang.wei@example.cn" not in path.read_text(encoding="utf-8")


# A customer's e-mail and mobile, built in the cells so that no cell source holds them: only
# the run's outputs and its error can carry them into the reports folder.
THROWS = [
    "# Lookup study",
    "x = 1",
    "raise LookupError('no order for ' + 'li.na' + '@example.com' + ', mobile ' + '139 8765 '"
    " + '4321')",
]
PRINTS = ["print('top buyer:', 'li.na' + '@example.com', 'mobile', '139 8765 ' + '4321')"]
SECRETS = ["li.na@example.com", "139 8765 4321", "13987654321"]


def test_personal_data_in_an_error_or_an_output_never_reaches_the_reports_folder(tmp_path):
    """Item 13: a failed run is scanned too, its error text included; a run with a hit
    publishes no HTML or notebook, and the index says what was withheld (never the value)."""
    make_notebook(tmp_path / "throws.ipynb", THROWS)
    make_notebook(tmp_path / "prints.ipynb", PRINTS)
    make_notebook(tmp_path / "clean.ipynb", EXAMPLES_ONLY)
    (tmp_path / "reports.yml").write_text(
        "runs:\n  - notebook: throws.ipynb\n  - notebook: prints.ipynb\n  - notebook: clean.ipynb\n"
    )
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)
        mp.setenv("MPLBACKEND", "Agg")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["report", "run", "--run-id", "leak"])
    assert code == 1
    folder = tmp_path / "reports" / "leak"
    files = [f for f in (tmp_path / "reports").rglob("*") if f.is_file()]
    assert {f.name for f in files} >= {"index.html", "batch.json", "metrics.json", "clean.html"}
    for f in files:
        text = f.read_bytes().decode("utf-8", errors="replace")
        shown = [s for s in SECRETS if s in text]
        assert not shown, f"{f.relative_to(tmp_path)} shows {shown}"
    log = out.getvalue() + err.getvalue()
    assert "throws" in log and not [s for s in SECRETS if s in log]
    for name in ("throws", "prints"):  # withheld: no HTML, no executed notebook
        assert not (folder / name / f"{name}.html").exists()
        assert not (folder / name / f"{name}.ipynb").exists()
    assert (folder / "clean" / "clean.ipynb").is_file()  # a clean run is published in full
    summary = load_json(folder / "batch.json")
    withheld = "withheld: personal data found (1 e-mail address, 1 phone number)"
    runs = {r["name"]: r for r in summary["runs"]}
    assert runs["throws"]["withheld"] == runs["prints"]["withheld"] == withheld
    assert runs["clean"]["withheld"] is None and runs["clean"]["status"] == "succeeded"
    assert runs["throws"]["status"] == runs["prints"]["status"] == "failed"
    assert runs["throws"]["error"].startswith("LookupError: no order for ")
    assert runs["throws"]["html"] is None and runs["prints"]["ipynb"] is None
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert index.count(withheld) == 2
    assert load_json(folder / "throws" / "metrics.json")["withheld"] == withheld


def test_a_runner_error_with_personal_data_is_redacted_everywhere(tmp_path, monkeypatch, caplog):
    """A crash of the runner itself (no executed notebook): its message and traceback are
    redacted in the result, metrics.json and the log."""
    make_notebook(tmp_path / "careful.ipynb", EXAMPLES_ONLY)
    monkeypatch.chdir(tmp_path)

    def crash(*args, **kwargs):
        raise OSError("cannot write the file of " + "li.na" + "@example.com")

    monkeypatch.setattr(runner, "_run_one", crash)
    with caplog.at_level("ERROR", logger="crm_lib"):
        result = run_batch({"runs": [{"notebook": "careful.ipynb"}]}, run_id="crash")
    (run,) = result.runs
    assert run.error == "runner error: OSError: cannot write the file of [e-mail removed]"
    assert run.withheld == "withheld: personal data found (1 e-mail address)"
    assert "Traceback" in caplog.text and "[e-mail removed]" in caplog.text
    for text in (caplog.text, *(f.read_text() for f in result.folder.rglob("*") if f.is_file())):
        assert "li.na@example.com" not in text


def test_pii_check_scans_metrics(tmp_path):
    assert runner.pii_check([], {"metrics": {"n": 3}}) is None
    error = runner.pii_check([], {"metrics": {"top": "+8613912345678"}})
    assert "metrics.json: 1 phone number(s) (861****78)" in error
    assert "8613912345678" not in error


def _raw_identifiers(world) -> set[str]:
    """E-mails and phones of the input exports, raw and normalised."""
    from crm_lib.intake import cleaning

    c = world.raw["customers_export"]
    values = set()
    for col, norm in (("Email", cleaning.normalize_email), ("Mobile", cleaning.normalize_phone)):
        raw = c[col].fillna("")
        values |= {v.strip() for v in raw if v.strip()}
        values |= {v for v in norm(raw[raw.str.strip() != ""]).dropna()}
    values |= {v.removeprefix("+86") for v in values if v.startswith("+86")}  # 11-digit local
    return values


@pytest.mark.slow
def test_cleaning_notebooks_publish_no_raw_identifier(tmp_path, monkeypatch):
    """`make report`-style runs of notebooks 01 and 02 on the dirty small world, twice.

    The warehouse and every file with raw rows go beside the warehouse; the report folders
    hold no data file and no raw e-mail or phone in any file. A second batch into the same
    warehouse gives the same numbers (notebook 01 rebuilds it, notebook 02 overwrites).
    """
    from crm_lib.datasets import simulate

    notebooks = Path(__file__).resolve().parents[2] / "notebooks"
    db = tmp_path / "data" / "warehouse" / "crm.duckdb"
    spec = {
        "defaults": {
            "data_dir": "",
            "size": "small",
            "seed": 1,
            "language": "en",
            "warehouse_db": str(db),
        },
        "runs": [
            {"notebook": str(notebooks / "01_data_collection.ipynb"), "name": "01"},
            {"notebook": str(notebooks / "02_data_cleaning.ipynb"), "name": "02"},
        ],
    }
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRM_PSEUDONYM_KEY", raising=False)  # no key configured, as in a
    monkeypatch.delenv("CRM_DATA_DIR", raising=False)  # plain `make report`
    result = run_batch(spec, run_id="cleaning", reports_dir=tmp_path / "reports", quiet=True)
    assert [r.error for r in result.runs] == [None, None]  # the PII scan passed
    assert result.runs[1].metrics["input_tables_from"] == "warehouse"  # 02 read 01's load
    identifiers = _raw_identifiers(simulate("small", seed=1))
    assert len(identifiers) > 3000
    files = [f for f in result.folder.rglob("*") if f.is_file()]
    data_files = [f.name for f in files if f.suffix in {".duckdb", ".parquet", ".csv", ".xlsx"}]
    assert not data_files, f"data files in the report folder: {data_files}"
    assert {f.name for f in files} >= {"01.ipynb", "01.html", "02.ipynb", "02.html"}
    for f in files:
        text = f.read_bytes().decode("utf-8", errors="replace")
        leaked = [v for v in identifiers if v in text]
        assert not leaked, f"{f.relative_to(result.folder)} shows {len(leaked)} raw identifiers"
    beside = {f.relative_to(db.parent).as_posix() for f in db.parent.rglob("*") if f.is_file()}
    assert beside >= {
        "crm.duckdb",
        "quarantine/customers_quarantine.csv",
        "quarantine/transactions_quarantine.csv",
        "quarantine/cleaning_set_aside.csv",
        "parquet/customers_clean.parquet",
        "parquet/customer_merge_log.parquet",
    }
    with connect(db) as con:
        tables = {r[0] for r in con.execute("show tables").fetchall()}
        n_clean = con.execute("select count(*) from customers_clean").fetchone()[0]
    assert {"world", "customers", "transactions", "customer_merge_log"} <= tables
    assert n_clean == result.runs[1].metrics["dedup_customers_after"]
    metrics = result.runs[1].metrics
    assert metrics["dedup_precision"] >= 0.95 and metrics["dedup_recall"] >= 0.95

    pseudo_tables = ["customers_clean", "transactions_clean", "orders_net", "customer_merge_log"]

    def pseudonyms() -> dict[str, list]:
        with connect(db) as con:
            return {
                t: sorted(
                    r[0] for r in con.execute(f"select distinct customer_id from {t}").fetchall()
                )
                for t in pseudo_tables
            }

    first_pseudonyms = pseudonyms()
    again = run_batch(spec, run_id="again", reports_dir=tmp_path / "reports", quiet=True)
    assert again.ok
    for first, second in zip(result.runs, again.runs, strict=True):
        assert first.metrics == second.metrics
    # Item 14: the same (simulated world's) key in both runs gives the same pseudonyms ...
    assert pseudonyms() == first_pseudonyms

    # ... so a customer erased after the run leaves every pseudonymised table, every Parquet
    # copy and every quarantine file beside the warehouse, with no key passed.
    from crm_lib.intake import privacy

    with connect(db) as con:
        raw_ids = (
            con.sql("select customer_id from customers order by 1").to_arrow_table().to_pandas()
        )
        merged = (
            con.sql("select customer_id, master_id from customer_merge_log")
            .to_arrow_table()
            .to_pandas()
        )
        recorded = con.sql("select * from pseudonym_key").to_arrow_table().to_pandas()
    assert list(recorded["source"]) == ["simulated world"]
    key = privacy.configured_key(simulated_world=result.runs[0].metrics["world_fingerprint"])
    ids = privacy.pseudonymize(raw_ids, "customer_id", key=key.secret)["customer_id"]
    # a buyer with one account: in the clean tables, in no merge
    with_lines = set(first_pseudonyms["transactions_clean"]) - set(merged.stack())
    person, pseudonym = next(
        (r, p) for r, p in zip(raw_ids["customer_id"], ids, strict=True) if p in with_lines
    )

    def person_rows() -> dict[str, int]:
        out = {}
        with connect(db) as con:
            for t in pseudo_tables:
                out[t] = con.execute(
                    f"select count(*) from {t} where customer_id = ?", [pseudonym]
                ).fetchone()[0]
        for f in sorted((db.parent / "parquet").glob("*.parquet")):
            df = pd.read_parquet(f)
            out[f.name] = int((df.get("customer_id") == pseudonym).sum()) if len(df) else 0
        for f in sorted((db.parent / "quarantine").glob("*.csv")):
            df = pd.read_csv(f, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            out[f.name] = int(df["raw"].str.contains(f'"{person}"', regex=False).sum())
        return out

    before = person_rows()
    assert before["customers_clean"] == before["customers_clean.parquet"] == 1
    assert before["transactions_clean"] > 0 and before["transactions_clean.parquet"] > 0
    removed = privacy.erase_customer(person, warehouse=db)
    assert set(person_rows().values()) == {0}
    counts = dict(zip(removed["table"], removed["rows_removed"], strict=True))
    for t in pseudo_tables:
        assert counts.get(t, 0) == before[t], t
    assert counts["parquet/transactions_clean.parquet"] == before["transactions_clean.parquet"]
