"""crm_lib.reporting.recorder: record() in notebooks, collected from executed notebooks."""

from __future__ import annotations

import datetime as dt
import json
import math

import nbformat
import numpy as np
import pandas as pd
import pytest

from crm_lib.reporting import recorder
from crm_lib.reporting.recorder import (
    METRIC_MIME,
    collect_records,
    record,
    record_many,
    to_jsonable,
)


def test_to_jsonable_converts_numpy_and_containers():
    value = {
        "n": np.int64(3),
        "rate": np.float32(0.5),
        "flag": np.bool_(True),
        "arr": np.array([1, 2]),
        "pair": (1, "a"),
        "day": dt.date(2026, 1, 2),
    }
    out = to_jsonable(value)
    assert out == {
        "n": 3,
        "rate": 0.5,
        "flag": True,
        "arr": [1, 2],
        "pair": [1, "a"],
        "day": "2026-01-02",
    }
    assert type(out["n"]) is int and type(out["flag"]) is bool
    json.dumps(out, allow_nan=False)  # strictly valid JSON


def test_to_jsonable_nan_becomes_null_with_warning():
    with pytest.warns(RuntimeWarning, match="recorded as null"):
        assert to_jsonable([1.0, math.nan], where="m") == [1.0, None]
    with pytest.warns(RuntimeWarning, match="missing value"):
        assert to_jsonable(pd.NA) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (pd.DataFrame({"a": [1]}), "cannot record a pandas DataFrame.*to_dict"),
        (object(), "cannot record a value of type object"),
        ({1: "a"}, "dict keys must be strings"),
    ],
)
def test_to_jsonable_refuses_what_json_cannot_hold(value, message):
    with pytest.raises(TypeError, match=message):
        to_jsonable(value, where="metric")


def test_record_outside_ipython_prints_the_value(capsys):
    record("n_customers", np.int64(5000))
    record_many({"rate": 0.25, "segment": "gold"})
    assert capsys.readouterr().out == "n_customers = 5000\nrate = 0.25\nsegment = 'gold'\n"


def test_record_many_checks_everything_before_showing(capsys):
    with pytest.raises(TypeError, match="bad"):
        record_many({"good": 1, "bad": object()})
    assert capsys.readouterr().out == ""
    with pytest.raises(TypeError, match="metric names"):
        record("", 1)


def test_record_in_ipython_displays_metric_bundle(monkeypatch):
    shown = []
    monkeypatch.setattr(recorder, "_show", shown.append)
    record("uplift", {"estimate": np.float64(0.03)})
    (bundle,) = shown
    assert bundle[METRIC_MIME] == {"metrics": {"uplift": {"estimate": 0.03}}}
    assert bundle["text/plain"] == 'uplift = {"estimate": 0.03}'


def test_record_uses_ipython_display_when_a_shell_is_running(monkeypatch):
    import IPython
    import IPython.display

    calls = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw: calls.append((obj, raw)))
    record("n", 1)
    assert calls == [({METRIC_MIME: {"metrics": {"n": 1}}, "text/plain": "n = 1"}, True)]


def test_collect_records_merges_in_order_last_wins():
    def output(metrics):
        return nbformat.v4.new_output(
            "display_data", data={METRIC_MIME: {"metrics": metrics}, "text/plain": "x"}
        )

    nb = nbformat.v4.new_notebook()
    first, second = nbformat.v4.new_code_cell("a"), nbformat.v4.new_code_cell("b")
    first.outputs = [output({"n": 1, "m": 2}), nbformat.v4.new_output("stream", text="hi")]
    second.outputs = [output({"n": 3})]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), first, second]
    assert collect_records(nb) == {"n": 3, "m": 2}
