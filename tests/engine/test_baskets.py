"""Basket pair counts: the same on DuckDB and Spark (the personalization study's engine step)."""

from __future__ import annotations

import itertools
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from crm_lib import engine

HAS_JAVA = bool(shutil.which("java") or os.environ.get("JAVA_HOME"))


@pytest.mark.skipif(not HAS_JAVA, reason="Spark needs Java")
def test_pair_counts_agree_on_duckdb_and_spark(small_world):
    pytest.importorskip("pyspark")
    spark = engine.connect(
        "local[2]", **{"spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1"}
    )
    try:
        on_spark = engine.basket_pair_counts(
            small_world.basket_lines, min_support=0.005, engine=spark
        )
    finally:
        engine.stop_spark()
    on_duckdb = engine.basket_pair_counts(small_world.basket_lines, min_support=0.005)
    assert on_spark[0] == on_duckdb[0] == small_world.basket_lines["basket_id"].nunique()
    pd.testing.assert_frame_equal(on_spark[1], on_duckdb[1])
    pd.testing.assert_frame_equal(on_spark[2], on_duckdb[2])
    assert len(on_duckdb[2]) > 6  # the planted pairs and more


def _pairs_by_hand(baskets: dict, min_count: int):
    """Baskets, item counts and pair counts by a loop over the baskets (each basket's
    items as a set: an item listed twice counts once)."""
    items, pairs = {}, {}
    for held in baskets.values():
        held = sorted(set(held))
        for i in held:
            items[i] = items.get(i, 0) + 1
        for a, b in itertools.combinations(held, 2):
            pairs[a, b] = pairs.get((a, b), 0) + 1
    items = {i: n for i, n in items.items() if n >= min_count}
    pairs = {p: n for p, n in pairs.items() if n >= min_count}
    return len(baskets), items, pairs


def _as_dicts(counts):
    n, items, pairs = counts
    return (
        n,
        dict(zip(items["item"], items["n"], strict=True)),
        {(a, b): n for a, b, n in pairs.itertuples(index=False)},
    )


@pytest.mark.parametrize("min_count", [1, 3, 8])
def test_pair_counts_equal_a_loop_over_the_baskets(min_count):
    rng = np.random.default_rng(4)
    catalogue = [f"p{i:02d}" for i in range(25)] + ["Zed", "été", "apple"]  # byte order
    weights = rng.dirichlet(np.ones(len(catalogue)) * 0.5)
    baskets = {
        f"B{b}": list(rng.choice(catalogue, size=rng.integers(1, 7), p=weights)) for b in range(400)
    }
    lines = pd.DataFrame(
        [(b, i) for b, held in baskets.items() for i in held], columns=["basket_id", "item"]
    )
    lines = lines.sample(frac=1.0, random_state=0)  # the log in no particular order
    got = engine.basket_pair_counts(lines, item_col="item", min_count=min_count)
    assert _as_dicts(got) == _pairs_by_hand(baskets, min_count)
    assert got[1]["item"].is_monotonic_increasing
    assert (got[2]["item_a"] < got[2]["item_b"]).all()


def test_pair_counts_drop_missing_keys_and_name_items_as_text():
    lines = pd.DataFrame(
        {
            "basket_id": pd.array([1, 1, 1, 2, 2, 3, None, 4], dtype="Int64"),
            "product_id": pd.array([10, 20, 10, 10, 20, 30, 20, None], dtype="Int64"),
        }
    )
    # by hand: baskets 1 {10, 20}, 2 {10, 20}, 3 {30}, 4 has no item; 10 in 2, 20 in 2
    n, items, pairs = engine.basket_pair_counts(lines)
    assert n == 3
    assert dict(zip(items["item"], items["n"], strict=True)) == {"10": 2, "20": 2, "30": 1}
    assert pairs.to_dict("records") == [{"item_a": "10", "item_b": "20", "n_ab": 2}]
    with pytest.raises(ValueError, match="min_support must be in"):
        engine.basket_pair_counts(lines, min_support=1.5)
    empty = engine.basket_pair_counts(lines.iloc[:0])
    assert empty[0] == 0 and empty[1].empty and empty[2].empty


def test_sparse_product_equals_the_sql_self_join_on_duckdb(small_world):
    # the two ways of counting (the sparse product on DuckDB's Arrow output, the SQL
    # self-join kept for cluster engines) give the same tables on the small world
    from crm_lib.engine import baskets
    from crm_lib.engine.backends import connect, table

    backend = connect("duckdb")
    t = table(small_world.basket_lines, backend)
    base = t.select(b=t["basket_id"], i=t["product_id"].cast("string"))
    by_sql = baskets._pair_counts_sql(base, backend, 1, 0.005)
    sparse = baskets._pair_counts_sparse(backend.to_pyarrow(base), 1, 0.005)
    assert by_sql[0] == sparse[0] == small_world.basket_lines["basket_id"].nunique()
    for a, b, keys in [
        (by_sql[1], sparse[1], ["item"]),
        (by_sql[2], sparse[2], ["item_a", "item_b"]),
    ]:
        pd.testing.assert_frame_equal(
            a.sort_values(keys).reset_index(drop=True), b.sort_values(keys).reset_index(drop=True)
        )
    assert len(sparse[2]) > 6
