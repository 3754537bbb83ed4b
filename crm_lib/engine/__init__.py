"""Where the heavy aggregation runs: one ibis expression, on DuckDB or Apache Spark.

The steps that reduce an event or transaction log (millions to billions of rows) to one
row per customer, per arm or per period are written once as `ibis
<https://ibis-project.org>`_ expressions and compiled to the engine the user picks:

- ``"duckdb"`` (default): embedded DuckDB, out-of-core on one machine;
- ``"spark"`` / ``"local[4]"`` / ``"spark://host:7077"`` / ``"yarn"``: Apache Spark
  (PySpark) for logs that outgrow one machine;
- any URL ibis understands (``"duckdb:///data/warehouse/crm.duckdb"``,
  ``"postgres://user@host/db"``, ...), an ibis backend or a ``SparkSession``.

Only the per-customer (per-arm, per-period) results come back as pandas DataFrames; the
log itself is read by the engine (Parquet path or glob, or a table) and never has to fit
in pandas. The analysis functions take the engine as one parameter, e.g.
``crm_lib.value.customer_summary(path, engine="spark")``.

>>> backend = connect("duckdb")
>>> backend.name
'duckdb'
>>> import pandas as pd
>>> data = pd.DataFrame({"variant": ["a", "b"] * 50, "converted": [0, 1, 1, 0] * 25})
>>> arm_moments(data, group_col="variant", control="a", columns=["converted"])["n"].tolist()
[50.0, 50.0]

Layer: the engine sits on the contract and imports nothing else of crm_lib; the study
packages call it. ``backends`` connects and reads, ``aggregations`` holds the reductions.

ibis and pyspark are imported on first use, so ``import crm_lib`` stays cheap.
"""

from __future__ import annotations

from crm_lib.engine.aggregations import (
    arm_moments,
    cohort_counts,
    customer_aggregates,
    funnel_counts,
    kpi_aggregates,
    missing_order_ids_error,
    rfm_scores,
)
from crm_lib.engine.backends import (
    ENGINES,
    connect,
    default_engine,
    is_engine,
    stop_spark,
    table,
)
from crm_lib.engine.baskets import basket_pair_counts
from crm_lib.engine.churn import (
    CHURN_FEATURES,
    churn_features,
    cohort_matrix,
    inter_purchase_days,
)
from crm_lib.engine.journeys import PATH_SEPARATOR, journey_touches

__all__ = [
    "CHURN_FEATURES",
    "ENGINES",
    "PATH_SEPARATOR",
    "arm_moments",
    "basket_pair_counts",
    "cohort_counts",
    "connect",
    "customer_aggregates",
    "default_engine",
    "funnel_counts",
    "is_engine",
    "journey_touches",
    "kpi_aggregates",
    "missing_order_ids_error",
    "rfm_scores",
    "stop_spark",
    "table",
    "churn_features",
    "cohort_matrix",
    "inter_purchase_days",
]


def __getattr__(name: str):
    if name == "arm_sufficient_stats":
        # Not forwarded: the engine may not import a study package. Said in the README.
        raise AttributeError(
            "crm_lib.engine.arm_sufficient_stats was removed in 0.1.1: call "
            "crm_lib.experiments.arm_stats(data, ..., engine=ENGINE), which returns the same "
            "ArmStats"
        )
    raise AttributeError(f"module 'crm_lib.engine' has no attribute {name!r}")
