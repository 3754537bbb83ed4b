"""Customer value and segmentation (notebook ``03_segmentation``).

From a transaction log to who the customers are and what they are worth:

- :mod:`~crm_lib.value.summary`: one row per customer (frequency, recency, T, value), on
  an engine, and the calibration/holdout split;
- :mod:`~crm_lib.value.rfm`: RFM scores and the eight classes;
- :mod:`~crm_lib.value.clustering`: k-means segments, their choice of k, stability and
  profiles;
- :mod:`~crm_lib.value.tiers`: value tiers, Pareto curves, lifecycle stages, migrations;
- :mod:`~crm_lib.value.btyd`: BG/NBD, Pareto/NBD and gamma-gamma models;
- :mod:`~crm_lib.value.lifetime_value`: probabilistic customer lifetime value and the
  frequency-recency heat maps;
- :mod:`~crm_lib.value.plots`: holdout checks and parameter tables of the models.

Every public name of these modules is importable from ``crm_lib.value`` itself.
"""

from crm_lib.value.btyd import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    bgnbd_log_likelihood,
    gamma_gamma_log_likelihood,
    paretonbd_log_likelihood,
)
from crm_lib.value.clustering import (
    DEFAULT_FEATURES,
    ClusterRules,
    CustomerClusterer,
    best_k,
    bootstrap_stability,
    categorical_display,
    categorical_profiles,
    choose_k,
    cluster_label,
    cluster_profiles,
    explain_clusters,
    plot_choose_k,
    plot_profiles,
    profiles_display,
    transform_features,
)
from crm_lib.value.lifetime_value import (
    clv_by_frequency,
    clv_by_frequency_display,
    customer_lifetime_value,
    frequency_recency_matrix,
    month_length,
    plot_frequency_recency,
)
from crm_lib.value.plots import (
    bgnbd_truth,
    holdout_error,
    holdout_table,
    parameter_table,
    plot_holdout,
    plot_prob_alive,
)
from crm_lib.value.rfm import (
    EIGHT_CLASSES,
    RFM_SEGMENTS,
    rfm_classes,
    rfm_scores,
    score_bins,
    score_bins_display,
    segment_table,
    segment_table_display,
)
from crm_lib.value.summary import (
    HoldoutWindow,
    calibration_holdout_split,
    customer_summary,
    holdout_window,
)
from crm_lib.value.tiers import (
    LIFECYCLE_STAGES,
    TierMigration,
    historical_clv,
    lifecycle_stages,
    pareto_curve,
    period_value,
    plot_migration,
    plot_pareto,
    stage_table,
    tier_migration,
    tier_table,
    top_share,
    value_tiers,
)

__all__ = [
    "BetaGeoModel",
    "ClusterRules",
    "CustomerClusterer",
    "DEFAULT_FEATURES",
    "EIGHT_CLASSES",
    "GammaGammaModel",
    "HoldoutWindow",
    "LIFECYCLE_STAGES",
    "ParetoNBDModel",
    "RFM_SEGMENTS",
    "TierMigration",
    "best_k",
    "bgnbd_log_likelihood",
    "bgnbd_truth",
    "bootstrap_stability",
    "calibration_holdout_split",
    "categorical_display",
    "categorical_profiles",
    "choose_k",
    "cluster_label",
    "cluster_profiles",
    "clv_by_frequency",
    "clv_by_frequency_display",
    "customer_lifetime_value",
    "customer_summary",
    "explain_clusters",
    "frequency_recency_matrix",
    "gamma_gamma_log_likelihood",
    "historical_clv",
    "holdout_window",
    "holdout_error",
    "holdout_table",
    "lifecycle_stages",
    "month_length",
    "parameter_table",
    "pareto_curve",
    "paretonbd_log_likelihood",
    "period_value",
    "plot_choose_k",
    "plot_frequency_recency",
    "plot_holdout",
    "plot_migration",
    "plot_pareto",
    "plot_prob_alive",
    "plot_profiles",
    "profiles_display",
    "rfm_classes",
    "rfm_scores",
    "score_bins",
    "score_bins_display",
    "segment_table",
    "segment_table_display",
    "stage_table",
    "tier_migration",
    "tier_table",
    "top_share",
    "transform_features",
    "value_tiers",
]
