"""Basket pair counts: the same on DuckDB and Spark (the personalization study's engine step)."""

from __future__ import annotations

import os
import shutil

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
