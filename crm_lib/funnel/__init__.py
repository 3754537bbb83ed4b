"""Funnel, sales pipeline and KPIs (notebook ``07_funnel_pipeline_kpis``).

- :mod:`~crm_lib.funnel.web`: the web funnel on ``events``: conversion with Wilson
  intervals, drop-off, time between stages, differences between channels with a
  multiple-testing correction;
- :mod:`~crm_lib.funnel.pipeline`: the sales pipeline (``opportunities``,
  ``opportunity_stages``, ``leads``): stage conversion, velocity, win rates with
  empirical-Bayes shrinkage, the sales cycle as a survival problem, loss reasons,
  response time against conversion;
- :mod:`~crm_lib.funnel.scoring`: calibrated lead scoring with time-based validation, and
  the forecast of open deals' won revenue with its backtest;
- :mod:`~crm_lib.funnel.kpis`: the KPI dashboard with definitions and period-over-period
  tests;
- :mod:`~crm_lib.funnel.forecast`: weekly revenue with ETS and SARIMAX (holiday and
  promotion regressors from ``calendar_events``), rolling-origin backtests against
  seasonal naive;
- :mod:`~crm_lib.funnel.plots`: the study's charts.
"""

from crm_lib.funnel.forecast import (
    Backtest,
    backtest,
    calendar_regressors,
    compare_models,
    forecast_ahead,
    forecast_regressors,
    fourier_terms,
    regressor_effects,
    weekly_series,
)
from crm_lib.funnel.kpis import (
    KPI_DEFINITIONS,
    historical_clv,
    kpi_by_group,
    kpi_changes,
    kpi_definitions,
    kpi_table,
    local_period,
)
from crm_lib.funnel.pipeline import (
    BetaBinomialShrinkage,
    cycle_survival,
    loss_reasons,
    pipeline_velocity,
    response_time_win_rates,
    shrunk_win_rates,
    stage_conversion,
    stage_durations,
    stage_order,
    wilson,
    win_rates,
)
from crm_lib.funnel.plots import (
    plot_calibration,
    plot_cycle_survival,
    plot_funnel,
    plot_revenue_forecast,
    plot_stage_times,
    plot_win_rates,
)
from crm_lib.funnel.scoring import (
    LeadScorer,
    PipelineForecaster,
    lead_features,
    open_deals,
    pipeline_backtest,
)
from crm_lib.funnel.web import funnel_by_group, funnel_table, stage_times, stages_for

__all__ = [
    "KPI_DEFINITIONS",
    "Backtest",
    "BetaBinomialShrinkage",
    "LeadScorer",
    "PipelineForecaster",
    "backtest",
    "calendar_regressors",
    "forecast_regressors",
    "compare_models",
    "cycle_survival",
    "forecast_ahead",
    "fourier_terms",
    "funnel_by_group",
    "funnel_table",
    "historical_clv",
    "kpi_by_group",
    "kpi_changes",
    "kpi_definitions",
    "kpi_table",
    "lead_features",
    "local_period",
    "loss_reasons",
    "open_deals",
    "pipeline_backtest",
    "pipeline_velocity",
    "plot_calibration",
    "plot_cycle_survival",
    "plot_funnel",
    "plot_revenue_forecast",
    "plot_stage_times",
    "plot_win_rates",
    "regressor_effects",
    "response_time_win_rates",
    "shrunk_win_rates",
    "stage_conversion",
    "stage_durations",
    "stage_order",
    "stage_times",
    "stages_for",
    "weekly_series",
    "wilson",
    "win_rates",
]
