"""World folders round-trip; large logs are written in chunks, deterministic and valid."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from crm_lib import cli
from crm_lib.contract import schemas
from crm_lib.datasets import load_world, save_world, simulate_to_parquet, world_fingerprint


def test_save_and_load_round_trip(small_world, tmp_path):
    folder = save_world(small_world, tmp_path / "world")
    back = load_world(folder)
    for name, df in small_world.tables.items():
        pd.testing.assert_frame_equal(df, back.tables[name], obj=name)
    assert back.truth.experiment["ate_conversion"] == small_world.truth.experiment["ate_conversion"]
    pd.testing.assert_frame_equal(back.truth.dirty_records, small_world.truth.dirty_records)
    assert set(back.raw) == set(small_world.raw)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["rows"]["transactions"] == len(small_world.transactions)
    assert not list(tmp_path.glob(".*partial"))
    assert world_fingerprint(back) == world_fingerprint(load_world(folder))


def test_load_refuses_a_folder_that_is_not_a_world(tmp_path):
    with pytest.raises(FileNotFoundError, match="crm data build"):
        load_world(tmp_path)


def test_load_names_the_file_of_a_broken_table(small_world, tmp_path):
    folder = save_world(small_world, tmp_path / "world")
    path = folder / "tables" / "events.parquet"
    events = pd.read_parquet(path)
    events.loc[4, "event_type"] = "teleport"
    events.to_parquet(path, index=False)
    with pytest.raises(schemas.ContractError, match=r"(?s)events\.parquet.*row 4.*teleport"):
        load_world(folder)


def test_large_log_is_deterministic_chunked_and_valid(tmp_path):
    a = simulate_to_parquet(tmp_path / "a", 300_000, seed=3, chunk_customers=5_000, threads=2)
    b = simulate_to_parquet(tmp_path / "b", 300_000, seed=3, chunk_customers=5_000, threads=1)
    assert a.n_chunks > 1
    assert abs(a.n_transactions - 300_000) / 300_000 < 0.05
    ta = pd.read_parquet(a.transactions_path)
    tb = pd.read_parquet(b.transactions_path)
    pd.testing.assert_frame_equal(ta, tb)
    schemas.validate(ta, "transactions")
    schemas.validate(pd.read_parquet(a.customers_path), "customers")
    dupes = duckdb.sql(
        f"select count(*) from (select order_id, line_no from '{a.transactions_path}' "
        "group by all having count(*) > 1)"
    ).fetchall()[0][0]
    assert dupes == 0


def test_cli_data_build(tmp_path, capsys):
    assert (
        cli.main(["data", "build", "--size", "60", "--seed", "2", "--out", str(tmp_path / "w")])
        == 0
    )
    assert "written to" in capsys.readouterr().out
    assert load_world(tmp_path / "w").meta["seed"] == 2
