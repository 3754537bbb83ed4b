"""A/B testing for CRM campaigns: design, analysis, Bayesian and sequential tests, decisions.

Every analysis function takes a tidy DataFrame (one row per randomised unit) with named
column arguments and returns a DataFrame with one row per treatment arm and the fixed
columns of :data:`COLUMNS`. The array-level estimators behind them (sufficient statistics in,
arrays out) live in :mod:`crm_lib.experiments.stats` and are what the simulation tests use.
"""

from crm_lib.experiments.analysis import (
    COLUMNS,
    Metric,
    adjust_pvalues,
    analyze,
    bootstrap_test,
    cuped,
    experiment_frame,
    means_test,
    nps_test,
    proportions_test,
    rank_test,
    ratio_test,
    srm_check,
)
from crm_lib.experiments.bayes import bayes_proportions, prob_to_beat
from crm_lib.experiments.decision import decide
from crm_lib.experiments.design import (
    assign_variants,
    balance_check,
    expected_duration,
    minimum_detectable_effect,
    power_curve,
    power_proportions,
    sample_size_means,
    sample_size_proportions,
)
from crm_lib.experiments.sequential import (
    msprt_boundary,
    msprt_from_stats,
    obrien_fleming_boundary,
    sequential_test,
)

__all__ = [
    "COLUMNS",
    "Metric",
    "adjust_pvalues",
    "analyze",
    "assign_variants",
    "balance_check",
    "bayes_proportions",
    "bootstrap_test",
    "cuped",
    "decide",
    "expected_duration",
    "experiment_frame",
    "means_test",
    "minimum_detectable_effect",
    "msprt_boundary",
    "msprt_from_stats",
    "nps_test",
    "obrien_fleming_boundary",
    "power_curve",
    "power_proportions",
    "prob_to_beat",
    "proportions_test",
    "rank_test",
    "ratio_test",
    "sample_size_means",
    "sample_size_proportions",
    "sequential_test",
    "srm_check",
]
