"""Batch file and parameter checks: everything is refused before anything executes."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from crm_lib.cli import main
from crm_lib.reporting import BatchError, notebook_parameters, read_parameters, run_batch
from crm_lib.reporting.batch import load_batch
from crm_lib.reporting.params import coerce, resolve_runs

PARAMS = """\
data_dir: str = ""  # folder of the simulated world; "" simulates in memory
size: str = "small"  # small | default | <number of customers>
seed: int = 1  # random seed
language: str = "en"  # report language, one of: en, zh
alpha: float = 0.05  # significance level
verbose: bool = False  # print more
output_dir: str = ""  # set by the runner
"""


def make_notebook(path: Path, params: str | None = PARAMS, body: str = "x = 1") -> Path:
    nb = nbformat.v4.new_notebook()
    cells = []
    if params is not None:
        cell = nbformat.v4.new_code_cell(params)
        cell.metadata["tags"] = ["parameters"]
        cells.append(cell)
    cells.append(nbformat.v4.new_code_cell(body))
    nb.cells = cells
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder with one study notebook and a data folder; execution forbidden."""
    monkeypatch.chdir(tmp_path)
    make_notebook(tmp_path / "notebooks" / "study.ipynb")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "customers.csv").write_text("customer_id\n1\n")

    def forbidden(*args, **kwargs):
        raise AssertionError("a notebook was executed although the batch should be refused")

    monkeypatch.setattr("papermill.execute_notebook", forbidden)
    return tmp_path


def batch(**run) -> dict:
    return {"runs": [{"notebook": "notebooks/study.ipynb", **run}]}


def refused(spec, overrides=None, **kwargs) -> str:
    with pytest.raises(BatchError) as info:
        run_batch(spec, overrides=overrides, **kwargs)
    assert not Path("reports").exists()  # nothing was created, let alone executed
    return str(info.value)


# --- reading parameters ------------------------------------------------------------------


def test_read_parameters_types_defaults_choices_and_input_paths(project):
    params = read_parameters("notebooks/study.ipynb")
    assert list(params) == [
        "data_dir",
        "size",
        "seed",
        "language",
        "alpha",
        "verbose",
        "output_dir",
    ]
    assert params["seed"].type == "int" and params["seed"].default == 1
    assert params["language"].choices == ("en", "zh")
    assert params["language"].help == "report language, one of: en, zh"
    assert params["data_dir"].is_input_path and not params["output_dir"].is_input_path
    assert params["verbose"].default is False


def test_read_parameters_recovers_lines_papermill_skips(tmp_path):
    # papermill skips a line with two '=' (here inside the help comment)
    nb = make_notebook(
        tmp_path / "n.ipynb", "threshold: float = 0.5  # flag when p >= 0.5\nk: int = 2"
    )
    params = read_parameters(nb)
    assert params["threshold"].type == "float" and params["threshold"].default == 0.5
    assert params["k"].default == 2


def test_notebook_parameters_table(project):
    table = notebook_parameters("notebooks/study.ipynb")
    assert list(table.columns) == ["name", "type", "default", "help", "choices", "input_path"]
    row = table.set_index("name").loc["language"]
    assert (row["type"], row["default"], row["choices"]) == ("str", "en", ["en", "zh"])
    with pytest.raises(FileNotFoundError, match="not found"):
        notebook_parameters("notebooks/missing.ipynb")


def test_cli_params_prints_names_types_defaults_help(project, capsys):
    assert main(["report", "params", "notebooks/study.ipynb"]) == 0
    out = capsys.readouterr().out
    assert "Parameters of notebooks/study.ipynb" in out
    line = next(line for line in out.splitlines() if line.strip().startswith("language"))
    assert line.split()[:3] == ["language", "str", "'en'"]
    assert line.endswith("report language, one of: en, zh")
    assert main(["report", "params", "notebooks/none.ipynb"]) == 2


# --- coercion ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "type_name", "expected"),
    [
        ("3", "int", 3),
        (3.0, "int", 3),
        ("0.1", "float", 0.1),
        (2, "float", 2.0),
        ("yes", "bool", True),
        ("0", "bool", False),
        ("False", "bool", False),
        (1000, "str", "1000"),
        ("zh", "str", "zh"),
        ([1, 2], None, [1, 2]),
    ],
)
def test_coerce(value, type_name, expected):
    out = coerce(value, type_name)
    assert out == expected and type(out) is type(expected)


@pytest.mark.parametrize(
    ("value", "type_name", "message"),
    [
        ("abc", "int", "is not an int"),
        (1.5, "int", "is not an int"),
        (True, "int", "is a bool"),
        ("maybe", "bool", "true/false"),
        ("x", "float", "is not a float"),
        (None, "str", "is empty"),
        (True, "str", "is a bool"),
    ],
)
def test_coerce_refuses(value, type_name, message):
    with pytest.raises(ValueError, match=message):
        coerce(value, type_name)


def test_p_strings_are_coerced_to_declared_types(project):
    spec = load_batch(batch())
    (run,) = resolve_runs(spec, {"seed": "3", "alpha": "0.01", "verbose": "yes", "size": "500"})
    assert run.injected == {"seed": 3, "alpha": 0.01, "verbose": True, "size": "500"}
    assert run.sources["seed"] == "override" and run.sources["language"] == "default"
    assert run.takes_output_dir


def test_precedence_defaults_run_override(project):
    spec = load_batch({"defaults": {"seed": 2, "language": "zh"}, **batch(parameters={"seed": 5})})
    (run,) = resolve_runs(spec, {"language": "en"})
    assert run.parameters["seed"] == 5 and run.sources["seed"] == "run parameters"
    assert run.parameters["language"] == "en" and run.sources["language"] == "override"


def test_relative_input_paths_are_injected_absolute(project):
    (run,) = resolve_runs(load_batch(batch(parameters={"data_dir": "data"})))
    assert run.injected["data_dir"] == str(project / "data")
    assert run.input_paths == {"data_dir": project / "data"}


def test_db_parameters_are_absolute_from_the_batch_folder_and_need_not_exist(project):
    """``*_db`` (a warehouse the notebook creates): resolved from where crm runs, not from
    the notebook's folder, and not refused when missing."""
    make_notebook(
        project / "notebooks" / "wh.ipynb", PARAMS + 'warehouse_db: str = ""  # warehouse\n'
    )
    spec = load_batch(
        {
            "runs": [
                {"notebook": "notebooks/wh.ipynb", "parameters": {"warehouse_db": "w/crm.duckdb"}}
            ]
        }
    )
    (run,) = resolve_runs(spec)
    assert run.injected["warehouse_db"] == str(project / "w" / "crm.duckdb")
    assert not (project / "w").exists() and run.input_paths == {}


# --- refusals (exit 2, nothing executed) -------------------------------------------------


def test_misspelt_parameter_refused_with_suggestion(project):
    message = refused(batch(parameters={"langauge": "zh"}))
    assert "<dict>, run 1 (study): parameter 'langauge'" in message
    assert "did you mean 'language'?" in message


def test_unknown_override_refused_with_suggestion(project):
    with pytest.raises(BatchError, match=r"'sed' \(from override\) .* did you mean 'seed'\?"):
        run_batch(batch(), overrides={"sed": "2"})


def test_wrong_type_refused(project):
    with pytest.raises(
        BatchError, match=r"parameter 'seed' = 'abc' \(from run parameters\) is not an int"
    ):
        run_batch(batch(parameters={"seed": "abc"}))


def test_value_outside_one_of_refused(project):
    with pytest.raises(BatchError, match=r"'language' = 'fr' .* must be one of: en, zh"):
        run_batch(batch(parameters={"language": "fr"}))


def test_missing_input_path_refused(project):
    with pytest.raises(BatchError, match=r"'data_dir' = 'data/raw/nope' .* missing folder"):
        run_batch(batch(parameters={"data_dir": "data/raw/nope"}))


def test_missing_input_path_default_refused(project):
    make_notebook(project / "notebooks" / "other.ipynb", 'survey_file: str = "survey.csv"')
    spec = {"runs": [{"notebook": "notebooks/other.ipynb"}]}
    with pytest.raises(BatchError, match=r"missing data file: default of parameter 'survey_file'"):
        run_batch(spec)
    (project / "notebooks" / "survey.csv").write_text("a\n")  # relative to the notebook
    (run,) = resolve_runs(load_batch(spec))
    assert run.input_paths["survey_file"] == project / "notebooks" / "survey.csv"


def test_output_dir_is_reserved_for_the_runner(project):
    with pytest.raises(BatchError, match="'output_dir' .* set by the runner"):
        run_batch(batch(parameters={"output_dir": "somewhere"}))


def test_every_problem_of_the_batch_is_reported_at_once(project):
    spec = {
        "defaults": {"langauge": "en"},
        "runs": [
            {"notebook": "notebooks/study.ipynb", "parameters": {"seed": "x"}},
            {
                "notebook": "notebooks/study.ipynb",
                "name": "again",
                "parameters": {"language": "de"},
            },
            {"notebook": "notebooks/missing.ipynb"},
        ],
    }
    with pytest.raises(BatchError) as info:
        run_batch(spec)
    problems = info.value.problems
    assert len(problems) == 4, problems
    assert "4 problems" in str(info.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("runs: [", "not valid YAML"),
        ("- a\n- b\n", "expected a mapping with a `runs:` list"),
        (
            "run:\n  - notebook: notebooks/study.ipynb\n",
            "unknown top-level key 'run'; did you mean 'runs'",
        ),
        (
            "runs:\n  - notebok: notebooks/study.ipynb\n",
            "run 1: unknown key 'notebok'; did you mean 'notebook'",
        ),
        (
            "runs:\n  - notebook: notebooks/nope.ipynb\n",
            "run 1: notebook 'notebooks/nope.ipynb' not found",
        ),
        ("runs:\n  - notebook: notebooks/study.ipynb\n    name: a/b\n", "not a safe folder name"),
        (
            "runs:\n  - notebook: notebooks/study.ipynb\n  - notebook: notebooks/study.ipynb\n",
            "run 2 .*name 'study' is already used by run 1",
        ),
        ("cell_timeout: -1\nruns:\n  - notebook: notebooks/study.ipynb\n", "cell_timeout"),
    ],
)
def test_batch_file_problems_name_file_run_and_key(project, content, message):
    Path("reports.yml").write_text(content)
    with pytest.raises(BatchError, match=message) as info:
        run_batch("reports.yml")
    assert "reports.yml" in str(info.value)


def test_cli_refusal_exit_code_2_lists_problems(project, capsys):
    Path("reports.yml").write_text("runs:\n  - notebook: notebooks/study.ipynb\n")
    assert main(["report", "run", "-p", "languge", "zh", "-p", "seed", "x"]) == 2
    err = capsys.readouterr().err
    assert "nothing was executed (2 problems)" in err
    assert "did you mean 'language'?" in err and "is not an int" in err
    assert not Path("reports").exists()


def test_cli_only_unknown_name_and_bad_run_id_refused(project, capsys):
    Path("reports.yml").write_text("runs:\n  - notebook: notebooks/study.ipynb\n")
    assert main(["report", "run", "--only", "studdy"]) == 2
    assert "did you mean 'study'?" in capsys.readouterr().err
    assert main(["report", "run", "--run-id", "../escape"]) == 2
    assert "not a safe folder name" in capsys.readouterr().err
    assert main(["report", "run", "missing.yml"]) == 2
    assert "batch file not found" in capsys.readouterr().err


def test_cli_parameters_file(project, capsys):
    Path("reports.yml").write_text("runs:\n  - notebook: notebooks/study.ipynb\n")
    Path("params.yaml").write_text("seed: 4\nlanguage: fr\n")
    assert main(["report", "run", "-f", "params.yaml"]) == 2
    assert "'language' = 'fr' (from override)" in capsys.readouterr().err
    Path("params.yaml").write_text("- 1\n")
    assert main(["report", "run", "-f", "params.yaml"]) == 2
    assert "params.yaml: expected a mapping" in capsys.readouterr().err


@pytest.mark.parametrize(
    "notebook",
    sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("[0-9]*.ipynb")),
    ids=lambda p: p.stem,
)
def test_papermill_parses_every_parameter_of_the_study_notebooks(notebook):
    """A help text papermill cannot parse (e.g. one holding '=') would make papermill
    skip the line: crm_lib recovers it, but papermill's own tools would not see it."""
    import papermill

    parsed = papermill.inspect_notebook(str(notebook))
    assert set(parsed) == set(read_parameters(notebook))
    for name, param in read_parameters(notebook).items():
        assert param.type in {"int", "float", "str", "bool"}, name
