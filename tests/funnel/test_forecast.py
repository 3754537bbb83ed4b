"""Revenue forecasts: interval coverage on series simulated from known processes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_lib.datasets.sim_funnel import simulate_weekly_revenue
from crm_lib.funnel import forecast as fc


def test_sarimax_coverage_on_seasonal_series_with_holidays():
    # 10 independent 4-year series: yearly sine, two holiday weeks, AR(1) noise; each
    # backtested one week ahead from week 156 on (52 origins each, 520 in all).
    frame, truth = simulate_weekly_revenue(np.random.default_rng(7), 208, n_series=10)
    inside, n = 0, 0
    for _, g in frame.groupby("series"):
        bt = fc.backtest(
            g["revenue"].to_numpy(),
            model="sarimax",
            exog=g["holiday"].to_numpy(dtype=float)[:, None],
            fourier=1,
            initial=156,
            alpha=0.1,
        )
        s = bt.summary()
        inside += s["coverage"].iloc[0] * s["origins"].iloc[0]
        n += s["origins"].iloc[0]
    assert n >= 30
    assert abs(inside / n - 0.9) <= 0.05  # measured: 0.873 over 520 origins


def test_ets_coverage_on_a_local_level_process():
    # ETS(A,N,N): y_t = l_{t-1} + e_t, l_t = l_{t-1} + alpha e_t (Hyndman et al. 2008).
    rng = np.random.default_rng(11)
    e = rng.normal(0, 1.0, (10, 200))
    level = 50 + 0.3 * np.concatenate([np.zeros((10, 1)), np.cumsum(e, axis=1)[:, :-1]], axis=1)
    y = level + e
    cov = []
    for row in y:
        s = fc.backtest(row, model="ets", initial=100, alpha=0.1).summary()
        cov.append(s["coverage"].iloc[0])
    assert len(cov) * 99 >= 30
    assert abs(np.mean(cov) - 0.9) <= 0.05  # measured: 0.888 over 990 origins


def test_one_pass_forecasts_equal_per_origin_forecasts():
    frame, _ = simulate_weekly_revenue(np.random.default_rng(3), 70, n_series=1)
    y = frame["revenue"].to_numpy()
    for model in ("ets", "sarimax"):
        one = fc.backtest(y, model=model, initial=60, fourier=1).forecasts
        per = fc.backtest(y, model=model, initial=60, horizon=2, fourier=1).forecasts
        per = per[per["h"] == 1].reset_index(drop=True)
        np.testing.assert_allclose(one["forecast"], per["forecast"], rtol=1e-6)
        if model == "sarimax":  # ETS: one-pass uses the first window's sigma (documented)
            np.testing.assert_allclose(one["lower"], per["lower"], rtol=1e-6)


def test_seasonal_naive_and_metrics_by_hand():
    y = np.array([10.0, 20, 30, 12, 18, 33, 9])
    bt = fc.backtest(y, model="snaive", season_length=3, initial=4, alpha=0.1)
    f = bt.forecasts
    # origins 3..5: forecast y[t+1-3]
    assert f["forecast"].tolist() == [20.0, 30.0, 12.0]
    assert f["actual"].tolist() == [18.0, 33.0, 9.0]
    s = bt.summary().iloc[0]
    assert s["mape"] == pytest.approx(100 * np.mean([2 / 18, 3 / 33, 3 / 9]))
    # MASE scale: in-sample seasonal-naive MAE of the first window, |12 - 10| = 2
    assert s["mase"] == pytest.approx(np.mean([2, 3, 3]) / 2)


def test_weekly_series_uses_local_weeks():
    tx = pd.DataFrame(
        {
            "order_id": pd.Series(["a", "b", "c", "d"], dtype="str"),
            "customer_id": pd.Series(["x", "x", "y", "y"], dtype="str"),
            # 2024-01-07 20:00 UTC is Monday 2024-01-08 04:00 in Shanghai
            "ordered_at": pd.to_datetime(
                ["2024-01-02 01:00", "2024-01-07 20:00", "2024-01-16 03:00", "2024-01-23 03:00"],
                utc=True,
            ).as_unit("us"),
            "amount": [1.0, 2.0, 4.0, 8.0],
            "original_order_id": pd.Series([None] * 4, dtype="str"),
        }
    )
    w = fc.weekly_series(tx, tz="Asia/Shanghai", complete_only=False)
    assert w["week_start"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-01",
        "2024-01-08",
        "2024-01-15",
        "2024-01-22",
    ]
    assert w["revenue"].tolist() == [1.0, 2.0, 4.0, 8.0]


def test_unknown_model_is_an_error():
    with pytest.raises(ValueError, match="model must be one of"):
        fc.backtest(np.arange(20.0), model="prophet")


def test_log_scale_backtest_transforms_back():
    frame, _ = simulate_weekly_revenue(np.random.default_rng(5), 80, n_series=1)
    y = frame["revenue"].to_numpy()
    on_log = fc.backtest(np.log(y), model="sarimax", initial=60, fourier=1).forecasts
    back = fc.backtest(y, model="sarimax", initial=60, fourier=1, log=True).forecasts
    np.testing.assert_allclose(back["forecast"], np.exp(on_log["forecast"]))
    np.testing.assert_allclose(back["upper"], np.exp(on_log["upper"]))
    np.testing.assert_allclose(back["actual"], y[back["target"]])
    with pytest.raises(ValueError, match="positive series"):
        fc.backtest(np.r_[y, 0.0], log=True)
