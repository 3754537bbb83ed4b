"""Churn and retention (notebook ``06_churn_retention``).

- :mod:`~crm_lib.churn.labels`: cut-offs, churn labels and features without leakage
  (non-contractual logs, on an engine), and the BG/NBD's churn probability;
- :mod:`~crm_lib.churn.contractual`: the churn flag as given: subscription histories and
  snapshots, out-of-fold scores of a snapshot table;
- :mod:`~crm_lib.churn.models`: churn classifiers (scikit-learn pipelines) and their
  judgement: ROC/PR AUC, Brier score, calibration error, lift and gain, drivers;
- :mod:`~crm_lib.churn.survival`: Kaplan-Meier curves and the Cox model with its
  proportional-hazards check (statsmodels);
- :mod:`~crm_lib.churn.sbg`: the shifted-beta-geometric model of contractual retention;
- :mod:`~crm_lib.churn.cohorts`: subscription cohorts and sBG per cohort;
- :mod:`~crm_lib.churn.targets`: the retention target list with its hold-out;
- :mod:`~crm_lib.churn.plots`: the charts.

Every public name of these modules is importable from ``crm_lib.churn`` itself.
"""

from crm_lib.churn.cohorts import fit_sbg_by_cohort, retention_pivot, subscription_cohorts
from crm_lib.churn.contractual import (
    snapshot_scores,
    subscription_history,
    subscription_snapshot,
)
from crm_lib.churn.labels import (
    CutOffs,
    btyd_churn_probability,
    churn_snapshot,
    cut_offs,
    gap_churn_probability,
    repurchase_gaps,
    snapshot_columns,
)
from crm_lib.churn.models import (
    MODEL_KINDS,
    auc_difference,
    churn_pipeline,
    compare_scores,
    cross_validated_scores,
    expected_calibration_error,
    lift_table,
    metric_intervals,
    one_thread,
    permutation_drivers,
    reliability_table,
)
from crm_lib.churn.plots import (
    plot_drivers,
    plot_gain,
    plot_inter_purchase,
    plot_kaplan_meier,
    plot_reliability,
    plot_retention_heatmap,
    plot_roc_pr,
    plot_sbg_projection,
)
from crm_lib.churn.sbg import SBGModel, sbg_log_likelihood, sbg_survival
from crm_lib.churn.survival import CoxModel, design_matrix, kaplan_meier
from crm_lib.churn.targets import retention_targets

__all__ = [
    "MODEL_KINDS",
    "CoxModel",
    "CutOffs",
    "SBGModel",
    "auc_difference",
    "btyd_churn_probability",
    "churn_pipeline",
    "churn_snapshot",
    "compare_scores",
    "cross_validated_scores",
    "cut_offs",
    "design_matrix",
    "expected_calibration_error",
    "fit_sbg_by_cohort",
    "gap_churn_probability",
    "kaplan_meier",
    "lift_table",
    "metric_intervals",
    "one_thread",
    "permutation_drivers",
    "plot_drivers",
    "plot_gain",
    "plot_inter_purchase",
    "plot_kaplan_meier",
    "plot_reliability",
    "plot_retention_heatmap",
    "plot_roc_pr",
    "plot_sbg_projection",
    "reliability_table",
    "retention_pivot",
    "repurchase_gaps",
    "retention_targets",
    "sbg_log_likelihood",
    "sbg_survival",
    "snapshot_columns",
    "snapshot_scores",
    "subscription_history",
    "subscription_snapshot",
    "subscription_cohorts",
]
