"""The segmentation and value study on a real purchase log, with documented commands only.

CDNOW's own log (``CDNOW_master.txt`` in the lifetimes wheel that ``make external``
fetches) goes through ``crm data import`` and ``crm report run``: no simulated world, no
truth. Expected values come from the data as published (Fader, Hardie & Lee 2005: 23,570
customers, purchases from 1997-01-01 to 1998-06-30) and from the parameters given.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from crm_lib import cli
from crm_lib.contract import config
from crm_lib.datasets.cdnow import CDNOW_WHEEL

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "03_segmentation.ipynb"


@pytest.fixture(scope="module")
def cdnow_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("cdnow")
    raw = root / "CDNOW_master.txt"
    with zipfile.ZipFile(config.data_dir() / "external" / CDNOW_WHEEL) as z:
        raw.write_bytes(z.read("lifetimes/datasets/CDNOW_master.txt"))
    out = root / "dataset"
    code = cli.main(
        ["data", "import", str(raw), "--mapping", "cdnow_transactions", "--out", str(out)]
    )
    assert code == 0
    return out


def test_the_value_report_runs_on_cdnow(cdnow_dataset, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    reports = tmp_path / "reports"
    code = cli.main(
        ["report", "run", str(NOTEBOOK), "-p", "data_dir", str(cdnow_dataset),
         "-p", "zero_value_lines", "drop", "--reports-dir", str(reports), "--run-id", "cdnow",
         "--quiet"]
    )  # fmt: skip
    assert code == 0, capsys.readouterr()
    run = reports / "cdnow" / "03_segmentation"
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))["metrics"]
    assert metrics["world"].startswith("Dataset('dataset', transactions=69,659")
    assert metrics["zero_value_lines_dropped"] == 80  # the log's 80 lines worth $0
    assert 23_000 < metrics["customers"] <= 23_570  # fewer: customers with only free lines
    # the holdout comes from the data's own end (last purchase 1998-06-30, New York days)
    assert metrics["observation_end"] == "1998-07-01"
    assert metrics["calibration_end"] == "1998-04-22"  # 10 weeks (the default) before it
    assert set(metrics["bgnbd_params"]) == {"r", "alpha", "a", "b"}
    assert metrics["gamma_gamma_params"]["q"] > 1  # a finite mean spend
    # customer lifetime value over the next 12 months at 1% a month, from the data's end
    assert (metrics["clv_horizon_months"], metrics["clv_discount_rate"]) == (12, 0.01)
    assert metrics["clv_models_converged"] is True
    assert 0 < metrics["clv_customers"] <= metrics["customers"]
    assert 0 < metrics["clv_median"] < metrics["clv_mean"]  # skewed, as spend is
    assert metrics["clv_total"] == pytest.approx(
        metrics["clv_mean"] * metrics["clv_customers"], rel=1e-4
    )
    html = (run / "03_segmentation.html").read_text(encoding="utf-8")
    assert "True value (simulation)" not in html and "simulated" not in metrics["world"]
    assert "no customers table" in html  # profiles by behaviour only, and it says so
