"""Each plot takes ax= and language=, returns its axes and labels through i18n."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from crm_lib import i18n
from crm_lib.funnel import pipeline, plots


@pytest.mark.parametrize("language", ["en", "zh"])
def test_plots_return_their_axes(language):
    fig, axes = plt.subplots(2, 3)
    funnel = pd.DataFrame(
        {
            "stage": ["visit", "signup"],
            "rate_from_previous": [np.nan, 0.3],
            "ci_low": [np.nan, 0.25],
            "ci_high": [np.nan, 0.35],
        }
    )
    assert plots.plot_funnel(funnel, ax=axes[0, 0], language=language) is axes[0, 0]
    assert axes[0, 0].get_title() == i18n.t("title_funnel", language)
    opps = pd.DataFrame(
        {
            "owner_id": list("aabbb"),
            "is_closed": [True] * 5,
            "is_won": [True, False, True, True, False],
            "created_at": pd.to_datetime(["2024-01-01"] * 5, utc=True),
            "close_at": pd.to_datetime(
                ["2024-01-05", "2024-01-09", "2024-01-03", "2024-01-20", "2024-01-11"], utc=True
            ),
        }
    )
    rates = pipeline.shrunk_win_rates(opps)
    plots.plot_win_rates(rates, truth={"a": 0.5, "b": 0.6}, ax=axes[0, 1], language=language)
    plots.plot_cycle_survival(pipeline.cycle_survival(opps), ax=axes[0, 2], language=language)
    calib = pd.DataFrame({"predicted": [0.1, 0.5], "observed": [0.12, 0.45]})
    plots.plot_calibration(calib, ax=axes[1, 0], language=language)
    series = pd.DataFrame(
        {
            "week_start": pd.date_range("2024-01-01", periods=10, freq="7D"),
            "revenue": np.arange(10.0),
        }
    )
    ahead = pd.DataFrame(
        {"step": [1, 2], "forecast": [10.0, 11], "lower": [8.0, 8], "upper": [12.0, 14]}
    )
    plots.plot_revenue_forecast(series, ahead, ax=axes[1, 1], language=language)
    times = pd.DataFrame({"step": ["visit -> signup"] * 3, "duration": [0.1, 0.2, 3.0]})
    plots.plot_stage_times(times, ax=axes[1, 2], language=language)
    assert axes[1, 2].get_title() == i18n.t("title_stage_times", language)
    plt.close(fig)
