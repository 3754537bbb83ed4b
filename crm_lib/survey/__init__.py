"""Survey analytics (issue #7), one module per stage:

==============  =====================================================================
instrument      questionnaire YAML: :func:`load_instrument`,
                :func:`simulated_world_instrument`, reverse coding, construct scores
screening       :func:`screen_responses` (out of range, partial, duplicate, speeder,
                straight-lining) -> kept, excluded, ``.summary()``
metrics         :func:`nps`, :func:`nps_change`, :func:`nps_diff_from_counts`,
                :func:`top_box`, :func:`mean_score`,
                :func:`trend`, :func:`compare_groups`
measurement     :func:`reliability` (alpha, omega), :func:`reliability_table`, :func:`kmo`,
                :func:`bartlett_sphericity`, :func:`factor_analysis`
drivers         :func:`key_drivers` (Shapley R^2, relative weights, correction for
                measurement error: :func:`disattenuate`), :func:`bootstrap_key_drivers`
                (intervals, rank probabilities, unresolved pairs),
                :func:`importance_performance`, :func:`plot_importance_performance`
weighting       :func:`rake`, :func:`design_effect`, :func:`effective_sample_size`,
                :func:`weighted_estimates`
behaviour       :func:`repurchase_by_nps_group`
==============  =====================================================================

Open-ended comments (redaction, tokens, sentiment) are in :mod:`crm_lib.survey.text`.

>>> from crm_lib import survey
>>> inst = survey.simulated_world_instrument()
>>> list(inst.constructs)
['product', 'price', 'service', 'delivery']
"""

from __future__ import annotations

from crm_lib.survey.behaviour import repurchase_by_nps_group
from crm_lib.survey.drivers import (
    QUADRANTS,
    DriverBootstrap,
    bootstrap_key_drivers,
    disattenuate,
    importance_performance,
    key_drivers,
    plot_importance_performance,
    relative_weights,
    shapley_r2,
)
from crm_lib.survey.instrument import (
    SHIPPED_INSTRUMENTS,
    FreeText,
    Instrument,
    InstrumentError,
    Item,
    Scale,
    instrument_for,
    load_instrument,
    parse_instrument,
    shipped_instrument,
    simulated_world_instrument,
)
from crm_lib.survey.measurement import (
    FactorResult,
    Reliability,
    bartlett_from_corr,
    bartlett_sphericity,
    factor_analysis,
    kmo,
    kmo_from_corr,
    reliability,
    reliability_table,
)
from crm_lib.survey.metrics import (
    NPS_GROUPS,
    GroupComparison,
    compare_groups,
    mean_score,
    nps,
    nps_change,
    nps_diff_from_counts,
    nps_from_counts,
    nps_group,
    top_box,
    trend,
    wave_order,
    wilson_interval,
)
from crm_lib.survey.screening import REASONS, Screening, screen_responses
from crm_lib.survey.weighting import (
    design_effect,
    effective_sample_size,
    rake,
    weighted_estimates,
)

__all__ = [
    "bartlett_from_corr",
    "bartlett_sphericity",
    "bootstrap_key_drivers",
    "compare_groups",
    "design_effect",
    "disattenuate",
    "DriverBootstrap",
    "effective_sample_size",
    "factor_analysis",
    "FactorResult",
    "FreeText",
    "GroupComparison",
    "importance_performance",
    "Instrument",
    "InstrumentError",
    "Item",
    "key_drivers",
    "kmo",
    "kmo_from_corr",
    "load_instrument",
    "mean_score",
    "nps",
    "nps_change",
    "nps_diff_from_counts",
    "nps_from_counts",
    "nps_group",
    "NPS_GROUPS",
    "parse_instrument",
    "plot_importance_performance",
    "QUADRANTS",
    "rake",
    "REASONS",
    "relative_weights",
    "Reliability",
    "reliability",
    "reliability_table",
    "repurchase_by_nps_group",
    "Scale",
    "screen_responses",
    "Screening",
    "shapley_r2",
    "shipped_instrument",
    "instrument_for",
    "SHIPPED_INSTRUMENTS",
    "simulated_world_instrument",
    "top_box",
    "trend",
    "weighted_estimates",
    "wave_order",
    "wilson_interval",
]
