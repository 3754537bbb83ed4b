"""``crm data import``: a user's export into a dataset folder the studies read.

The real case is CDNOW's own purchase log (``CDNOW_master.txt`` in the lifetimes wheel
that ``make external`` fetches): 69,659 lines of 23,570 customers, text aligned with
blanks, a CD shop whose one category, "music", the simulated retailer does not have.
"""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest

from crm_lib import cli
from crm_lib.contract import config
from crm_lib.contract.dataset import read_config
from crm_lib.datasets import load_dataset, save_world, simulate
from crm_lib.datasets.cdnow import CDNOW_WHEEL
from crm_lib.intake import io
from crm_lib.intake.dataset_import import import_file


@pytest.fixture(scope="module")
def cdnow_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("raw") / "CDNOW_master.txt"
    with zipfile.ZipFile(config.data_dir() / "external" / CDNOW_WHEEL) as z:
        path.write_bytes(z.read("lifetimes/datasets/CDNOW_master.txt"))
    return path


def test_cdnow_through_the_command_line(cdnow_file, tmp_path, capsys):
    out = tmp_path / "cdnow"
    argv = ["data", "import", str(cdnow_file), "--mapping", "cdnow_transactions", "--out", str(out)]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "69,659 rows in, 69,659 accepted, 0 quarantined (loaded)" in printed
    cfg = read_config(out)  # written from the mapping: its time zone, currency and values
    assert (cfg.name, cfg.timezone, cfg.currency) == ("cdnow", "America/New_York", "USD")
    assert cfg.vocabulary("transactions") == {"category": ("music",), "channel": ("web",)}
    ds = load_dataset(out)
    assert ds.truth is None and list(ds.tables) == ["transactions"]
    tx = ds.transactions
    assert len(tx) == 69_659 and tx["customer_id"].nunique() == 23_570
    # one order per customer and day, as the BTYD literature counts purchases
    days = tx.assign(day=tx["ordered_at"].dt.tz_convert("America/New_York").dt.date)
    assert tx["order_id"].nunique() == len(days[["customer_id", "day"]].drop_duplicates())
    first = tx.iloc[0]
    assert (first["customer_id"], first["amount"], first["quantity"]) == ("00001", 11.77, 1)
    assert first["ordered_at"] == pd.Timestamp("1997-01-01 05:00", tz="UTC")  # NY midnight
    assert int((tx["amount"] == 0).sum()) == 80  # zero-value lines are data, kept
    # the same file again adds nothing
    assert cli.main(argv) == 0
    assert "skipped: already loaded" in capsys.readouterr().out
    assert len(load_dataset(out).transactions) == 69_659


def test_without_the_datasets_vocabulary_everything_is_quarantined_loudly(cdnow_file, tmp_path):
    """The issue's reproduction: 69,659 of 69,659 rows quarantined, reported as 'loaded'."""
    with pytest.warns(io.QuarantineWarning, match=r"69,659 of 69,659 rows were quarantined"):
        result = io.ingest(cdnow_file, "cdnow_transactions", warehouse=tmp_path / "w.duckdb")
    assert result.status == "all quarantined"
    assert result.lineage["rows_quarantined"] == 69_659


def test_a_mostly_quarantined_import_exits_1_and_says_why(tmp_path, capsys):
    world = save_world(simulate(80, seed=4), tmp_path / "world")
    out = tmp_path / "ds"
    out.mkdir()
    (out / "dataset.yml").write_text(
        "name: shop\nvocabularies:\n  customers:\n    region: [NSW, VIC]\n", encoding="utf-8"
    )
    export = world / "exports" / "customers_export.csv"
    code = cli.main(
        ["data", "import", str(export), "--mapping", "simulated_world_customers", "--out", str(out)]
    )
    assert code == 1
    captured = capsys.readouterr()
    # only customers whose region was blank (kept as 'unknown', the missing-value policy)
    assert "(mostly quarantined)" in captured.out and "85 rows in" in captured.out
    assert "warning:" in captured.err and "declare the dataset's own" in captured.err
    assert read_config(out).vocabulary("customers") == {"region": ("NSW", "VIC")}  # unchanged


def test_import_refuses_clearly(tmp_path, capsys):
    code = cli.main(["data", "import", str(tmp_path / "nope.csv"), "--mapping", "cdnow_transactions",
                     "--out", str(tmp_path / "ds")])  # fmt: skip
    assert code == 2 and "file not found" in capsys.readouterr().err
    with pytest.raises(io.MappingError, match="no_such_mapping"):
        import_file(tmp_path / "x.csv", "no_such_mapping", tmp_path / "ds")
