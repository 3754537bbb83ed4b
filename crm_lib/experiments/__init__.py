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
from crm_lib.experiments.armstats import ArmStats, arm_stats
from crm_lib.experiments.bayes import bayes_proportions, prob_to_beat
from crm_lib.experiments.decision import (
    METHODS,
    decide,
    decide_bayesian,
    decide_sequential,
    verdict,
)
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
from crm_lib.experiments.plots import (
    plot_lift_ci,
    plot_peeking,
    plot_power_curve,
    plot_qini,
    plot_sequential,
)
from crm_lib.experiments.segments import (
    CAUTION_EXPLORATORY,
    CAUTION_PREREGISTERED,
    birth_cohort,
    effect_by_segment,
)
from crm_lib.experiments.sequential import (
    msprt_boundary,
    msprt_from_stats,
    obrien_fleming_boundary,
    peeking_simulation,
    sequential_test,
)
from crm_lib.experiments.uplift import (
    PII_COLUMNS,
    ClassTransformationUplift,
    TwoModelUplift,
    UpliftEvaluation,
    evaluate_uplift,
    qini_coefficient,
    qini_curve,
    target_list,
    uplift_curve,
    uplift_features,
)

__all__ = [
    "ArmStats",
    "CAUTION_EXPLORATORY",
    "CAUTION_PREREGISTERED",
    "COLUMNS",
    "METHODS",
    "PII_COLUMNS",
    "ClassTransformationUplift",
    "TwoModelUplift",
    "UpliftEvaluation",
    "evaluate_uplift",
    "qini_coefficient",
    "qini_curve",
    "target_list",
    "uplift_curve",
    "uplift_features",
    "verdict",
    "Metric",
    "adjust_pvalues",
    "analyze",
    "arm_stats",
    "assign_variants",
    "balance_check",
    "bayes_proportions",
    "birth_cohort",
    "bootstrap_test",
    "cuped",
    "decide",
    "decide_bayesian",
    "decide_sequential",
    "effect_by_segment",
    "expected_duration",
    "experiment_frame",
    "means_test",
    "minimum_detectable_effect",
    "msprt_boundary",
    "msprt_from_stats",
    "nps_test",
    "obrien_fleming_boundary",
    "peeking_simulation",
    "plot_lift_ci",
    "plot_peeking",
    "plot_power_curve",
    "plot_qini",
    "plot_sequential",
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
