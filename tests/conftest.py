"""Shared fixtures: the small simulated world and a local Spark, each built once per test
session (per pytest-xdist worker)."""

from __future__ import annotations

import os
import shutil

import matplotlib
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
matplotlib.use("Agg")


@pytest.fixture(scope="session")
def small_world():
    from crm_lib.datasets import simulate

    return simulate("small", seed=1)


HAS_JAVA = bool(shutil.which("java") or os.environ.get("JAVA_HOME"))


@pytest.fixture(scope="session")
def spark():
    """A local Spark engine (two cores, C1-only JIT: the test queries are short, so a quick
    JVM warm-up matters more), started once and stopped at the end of the session."""
    if not HAS_JAVA:
        pytest.skip("Spark needs Java")
    pytest.importorskip("pyspark")
    from crm_lib import engine

    backend = engine.connect(
        "local[2]", **{"spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1"}
    )
    yield backend
    engine.stop_spark()
