"""World and GroundTruth hold the tables and truth of later studies without new fields."""

import pandas as pd
import pandera.pandas as pa
import pytest

from crm_lib.contract import schemas
from crm_lib.datasets import load_world, save_world, simulate
from crm_lib.datasets.container import World


@pytest.fixture
def extra_schema(monkeypatch):
    schema = pa.DataFrameSchema({"k": pa.Column(str)}, name="widgets")
    monkeypatch.setitem(schemas.SCHEMAS, "widgets", schema)
    return schema


def test_extra_table_is_an_attribute_and_listed(extra_schema):
    df = pd.DataFrame({"k": pd.Series(["a"], dtype="str")})
    world = World.from_tables({"widgets": df}, truth=None)
    assert world.widgets is df
    assert world.customers is None
    assert list(world.tables) == ["widgets"]
    with pytest.raises(AttributeError, match="nothing_here"):
        _ = world.nothing_here


def test_unknown_table_is_refused():
    with pytest.raises(KeyError, match="unknown contract tables"):
        World.from_tables({"gadgets": pd.DataFrame({"x": [1]})}, truth=None)


def test_study_truth_and_extra_tables_round_trip(tmp_path, extra_schema):
    world = simulate(60, seed=3, dirty=False)
    world.extra["widgets"] = pd.DataFrame({"k": pd.Series(["a", "b"], dtype="str")})
    world.truth.studies["widget_study"] = {"rate": 0.25}
    world.truth.frames["widget_truth"] = pd.DataFrame({"k": ["a"], "p": [0.5]})
    back = load_world(save_world(world, tmp_path / "w"))
    pd.testing.assert_frame_equal(back.widgets, world.extra["widgets"])
    assert back.truth.studies == world.truth.studies  # every study's truth, as JSON
    assert back.truth.studies["widget_study"] == {"rate": 0.25}
    pd.testing.assert_frame_equal(
        back.truth.frames["widget_truth"], world.truth.frames["widget_truth"]
    )


def test_folder_without_a_later_table_still_loads(tmp_path, extra_schema, monkeypatch):
    # A world folder built before "widgets" existed has no tables/widgets.parquet.
    monkeypatch.delitem(schemas.SCHEMAS, "widgets")
    folder = save_world(simulate(60, seed=3, dirty=False), tmp_path / "w")
    monkeypatch.setitem(schemas.SCHEMAS, "widgets", extra_schema)
    assert load_world(folder).widgets is None
