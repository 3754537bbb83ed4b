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


# ---------------------------------------------------------------- a user's own dataset


def _music_log(world):
    tx = world.transactions.copy()
    tx["category"] = pd.array(["music"] * len(tx), dtype="string")
    return tx


def test_a_folder_of_own_tables_is_a_dataset_without_truth(tmp_path):
    from crm_lib.contract.schemas import ContractError
    from crm_lib.datasets import MissingTableError, load_dataset, simulate, world_fingerprint

    world = simulate(60, seed=3, dirty=False)
    folder = tmp_path / "cd_shop"
    (folder / "tables").mkdir(parents=True)
    _music_log(world).to_parquet(folder / "tables" / "transactions.parquet", index=False)
    (folder / "dataset.yml").write_text(
        "name: CD shop\ntimezone: America/New_York\ncurrency: USD\n"
        "vocabularies:\n  transactions:\n    category: [music]\n",
        encoding="utf-8",
    )
    ds = load_dataset(folder)
    assert ds.truth is None and ds.customers is None and ds.survey_responses is None
    assert list(ds.tables) == ["transactions"] and len(ds.transactions) == len(world.transactions)
    assert repr(ds).startswith("Dataset('CD shop', transactions=")
    assert ds.config.timezone == "America/New_York" and ds.name == "CD shop"
    assert len(world_fingerprint(ds)) == 16
    with pytest.raises(MissingTableError, match=r"needs the table 'customers', which CD shop"):
        ds.require("transactions", "customers", study="segmentation")
    # the dataset's own vocabulary is enforced, naming the file
    (folder / "dataset.yml").write_text(
        "name: CD shop\nvocabularies:\n  transactions:\n    category: [books]\n", encoding="utf-8"
    )
    with pytest.raises(ContractError, match=r"(?s)transactions\.parquet.*'music' fails isin"):
        load_dataset(folder)


def test_a_world_folder_describes_itself_like_any_dataset(tmp_path):
    from crm_lib.contract.dataset import read_config
    from crm_lib.datasets import SIMULATED_CONFIG, load_dataset, save_world, simulate

    folder = save_world(simulate(60, seed=2, dirty=False), tmp_path / "w")
    assert read_config(folder) == SIMULATED_CONFIG
    world = load_dataset(folder)
    assert world.truth is not None and world.config.simulated
    assert repr(world).startswith("World(60, seed=2, customers=60")


def test_a_folder_without_tables_says_what_it_looked_for(tmp_path):
    from crm_lib.datasets import load_dataset

    with pytest.raises(FileNotFoundError, match=r"does not exist: pass a dataset folder"):
        load_dataset(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"holds no contract table: expected tables/"):
        load_dataset(tmp_path)
