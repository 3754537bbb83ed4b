"""The optional touchpoints table: contract, vocabulary, storage and World.require."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_lib.contract import schemas
from crm_lib.contract.dataset import DatasetConfig
from crm_lib.datasets import load_dataset, load_world, save_world
from crm_lib.datasets.container import MissingTableError, World


def test_touchpoints_validate_and_round_trip(small_world, tmp_path):
    tp = small_world.touchpoints
    schemas.validate(tp, "touchpoints")
    back = load_world(save_world(small_world, tmp_path / "w"))
    pd.testing.assert_frame_equal(back.touchpoints, tp)
    assert back.truth.studies["attribution"] == small_world.truth.studies["attribution"]
    pd.testing.assert_frame_equal(
        back.truth.frames["attribution_channels"],
        small_world.truth.frames["attribution_channels"],
    )


def test_a_dataset_vocabulary_of_channels(tmp_path, small_world):
    tp = small_world.touchpoints.head(20).copy()
    tp["channel"] = tp["channel"].map({"search": "sem"}).fillna("other").astype("str")
    config = DatasetConfig.from_dict(
        {"name": "shop", "vocabularies": {"touchpoints": {"channel": ["sem", "other"]}}}
    )
    schemas.validate(tp, "touchpoints", vocabulary=config.vocabulary("touchpoints"))
    with pytest.raises(schemas.ContractError, match="channel"):
        schemas.validate(tp, "touchpoints")  # the contract's own channels
    bad = tp.assign(channel=pd.Series(["a > b"] * len(tp), dtype="str"))
    with pytest.raises(schemas.ContractError, match="no '>' in channel"):
        schemas.validate(bad, "touchpoints", vocabulary={"channel": ["a > b"]})
    folder = tmp_path / "shop"
    (folder / "tables").mkdir(parents=True)
    tp.to_parquet(folder / "tables" / "touchpoints.parquet", index=False)
    (folder / "dataset.yml").write_text(
        "name: shop\nvocabularies:\n  touchpoints: {channel: [sem, other]}\n", encoding="utf-8"
    )
    ds = load_dataset(folder)
    assert len(ds.touchpoints) == 20 and ds.truth is None


def test_require_names_the_missing_table():
    world = World.from_tables({"transactions": pd.DataFrame({"x": [1]})}, truth=None)
    assert world.touchpoints is None
    with pytest.raises(MissingTableError, match="needs the table 'touchpoints'"):
        world.require("transactions", "touchpoints", study="08_attribution")
