"""Notebook 09: market basket, next-best product and marketing-automation trigger lists.

- :mod:`~crm_lib.personalization.rules`: pair association rules (support, confidence,
  lift, leverage, conviction) over a basket log, counted on the engine;
- :mod:`~crm_lib.personalization.recommend`: item-to-item next-best-product
  recommendations against the popularity and personal-frequency baselines, evaluated on
  a time-based holdout with bootstrap intervals;
- :mod:`~crm_lib.personalization.triggers`: today's contact lists (win-back, lapsing,
  birthday, abandoned cart, new-customer nurture), consent-aware, de-duplicated by
  priority, with a random hold-out group, exported with pseudonymised ids.
"""

from crm_lib.personalization.plots import plot_recommenders, plot_rules
from crm_lib.personalization.recommend import (
    METHODS,
    ItemToItemRecommender,
    best_method,
    evaluate_recommenders,
    holdout_split,
    recommendation_list,
)
from crm_lib.personalization.rules import RULE_COLUMNS, association_rules, rules_from_counts
from crm_lib.personalization.triggers import (
    TRIGGERS,
    abandoned_carts,
    birthdays,
    contact_lists,
    dry_run,
    export_contact_list,
    lapsing,
    nurture,
    order_times,
    trigger_summary,
    win_back,
)

__all__ = [
    "METHODS",
    "RULE_COLUMNS",
    "TRIGGERS",
    "ItemToItemRecommender",
    "abandoned_carts",
    "association_rules",
    "best_method",
    "birthdays",
    "contact_lists",
    "dry_run",
    "evaluate_recommenders",
    "export_contact_list",
    "holdout_split",
    "lapsing",
    "nurture",
    "order_times",
    "plot_recommenders",
    "plot_rules",
    "recommendation_list",
    "rules_from_counts",
    "trigger_summary",
    "win_back",
]
