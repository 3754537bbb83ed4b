"""Weekly revenue and orders: ETS and SARIMAX forecasts with a rolling-origin backtest.

The models are statsmodels' ``ETSModel`` (additive errors) and ``SARIMAX`` (ARMA errors
around a constant, or ARIMA errors with differencing, yearly Fourier terms and any
regressors the dataset has, e.g. holiday or promotion weeks from its ``calendar_events``
table), against the seasonal-naive baseline.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from crm_lib.contract.config import one_thread

__all__ = [
    "Backtest",
    "backtest",
    "calendar_regressors",
    "compare_models",
    "forecast_ahead",
    "fourier_terms",
    "regressor_effects",
    "weekly_series",
]

MODELS = ("ets", "sarimax", "snaive")


def weekly_series(
    transactions, *, tz: str = "UTC", engine=None, complete_only: bool = True
) -> pd.DataFrame:
    """Net revenue and orders per local calendar week (Monday start), gaps filled with 0.

    Uses :func:`crm_lib.engine.kpi_aggregates` (``period="W"``). With ``complete_only``
    the first and last weeks (usually partial) are dropped.

    Returns
    -------
    pandas.DataFrame
        ``week_start`` (local, naive), ``revenue``, ``orders``, ``customers``.
    """
    from crm_lib.engine import kpi_aggregates

    k = kpi_aggregates(transactions, period="W", tz=tz, engine=engine or "duckdb")
    weeks = pd.date_range(k["period"].min(), k["period"].max(), freq="7D")
    k = k.set_index("period").reindex(weeks)
    out = pd.DataFrame(
        {
            "week_start": weeks,
            "revenue": k["revenue"].fillna(0.0).to_numpy(),
            "orders": k["orders"].fillna(0).astype(np.int64).to_numpy(),
            "customers": k["customers"].fillna(0).astype(np.int64).to_numpy(),
        }
    )
    if complete_only and len(out) > 2:
        out = out.iloc[1:-1]
    return out.reset_index(drop=True)


def forecast_regressors(
    week_start, *, calendar_events=None, holiday_dates=(), tz: str = "UTC", initial: int
) -> pd.DataFrame | None:
    """The weekly regressors of a revenue forecast: from the calendar, else from dates.

    Parameters
    ----------
    week_start : sequence of Timestamp
        The weeks of the data followed by the weeks ahead.
    calendar_events : pandas.DataFrame, optional
        The contract table; one 0/1 column per event (:func:`calendar_regressors`).
    holiday_dates : sequence of date-like
        Used only without ``calendar_events``: one column ``holiday_dates``, 1 in each
        (local, Monday-start) week holding one of the dates.
    initial : int
        Length of the first training window: a column with no 1 in it is dropped (its
        coefficient could not be estimated).

    Returns
    -------
    pandas.DataFrame or None
        None when there is no regressor left.
    """
    weeks = pd.Series(pd.to_datetime(week_start))
    if calendar_events is not None:
        out = calendar_regressors(calendar_events, weeks, tz=tz)
    else:
        holidays = pd.to_datetime(list(holiday_dates))
        if not len(holidays):
            return None
        week_of = holidays.to_period("W-SUN").start_time
        out = pd.DataFrame({"holiday_dates": weeks.isin(week_of).astype(float)})
    out = out.loc[:, out.iloc[:initial].sum() > 0]
    return out if out.shape[1] else None


def calendar_regressors(
    calendar_events: pd.DataFrame, week_start, *, tz: str = "UTC"
) -> pd.DataFrame:
    """Weekly 0/1 regressors from a ``calendar_events`` table, one column per event name.

    The column of an event is 1 in every local Monday-start week (as in
    :func:`weekly_series`) that holds one of its dates, 0 elsewhere; columns are sorted by
    name. ``week_start`` may run past the data (future weeks: the calendar is known ahead).

    Parameters
    ----------
    calendar_events : pandas.DataFrame
        The contract table: ``date`` (local midnight, UTC), ``name``, ``kind``.
    week_start : array-like of datetime
        Local, naive Mondays (``weekly_series(...)["week_start"]``).
    tz : str
        The dataset's time zone.
    """
    weeks = pd.DatetimeIndex(week_start)
    local = pd.to_datetime(calendar_events["date"], utc=True).dt.tz_convert(tz)
    day = local.dt.tz_localize(None).dt.normalize()
    monday = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    names = sorted(calendar_events["name"].astype(str).unique())
    out = {
        name: weeks.isin(monday[calendar_events["name"].astype(str) == name]).astype(float)
        for name in names
    }
    return pd.DataFrame(out, index=pd.RangeIndex(len(weeks)), columns=names)


def fourier_terms(n: int, period: float, k: int, offset: int = 0) -> np.ndarray:
    """Columns :math:`\\sin(2\\pi j t/m), \\cos(2\\pi j t/m)`, :math:`j = 1..k`, t from offset."""
    t = np.arange(offset, offset + n)[:, None]
    j = np.arange(1, k + 1)[None, :]
    arg = 2 * np.pi * j * t / period
    return np.concatenate([np.sin(arg), np.cos(arg)], axis=1)


@dataclass
class Backtest:
    """Rolling-origin forecasts of one model.

    Attributes
    ----------
    model : str
    forecasts : pandas.DataFrame
        ``origin`` (index of the last observation used), ``h``, ``target`` (index
        forecast), ``actual, forecast, lower, upper``.
    alpha : float
    scale : float
        MASE scale: mean absolute seasonal-naive (lag ``m``; lag 1 when the first window is
        shorter than ``m + 1``) error on the first training window.
    method : str
        What the model became on this series, for the reader: ``seasonal_naive`` or
        ``naive_last_week`` (the first window is not longer than a season, so "the same
        week one season ago" does not exist), ``ets_seasonal`` or ``ets_no_season`` (the
        first window holds fewer than two seasons), ``sarimax``.
    """

    model: str
    forecasts: pd.DataFrame
    alpha: float
    scale: float
    method: str = ""

    def summary(self) -> pd.DataFrame:
        """One row per horizon: ``model, method, h, origins, mape, mase, coverage,
        nominal_coverage, width``.

        Notes
        -----
        MAPE :math:`= 100\\,\\overline{|y - \\hat y| / |y|}` (weeks with
        :math:`y = 0` left out); MASE :math:`= \\overline{|y - \\hat y|} / s` with ``s``
        the scale (Hyndman & Koehler, 2006); coverage: share of actuals inside the
        interval, to compare with ``nominal_coverage`` :math:`= 1 - \\alpha`.
        """
        f = self.forecasts
        err = (f["actual"] - f["forecast"]).abs()
        with np.errstate(divide="ignore", invalid="ignore"):
            ape = (err / f["actual"].abs()).where(f["actual"] != 0)
        inside = (f["actual"] >= f["lower"]) & (f["actual"] <= f["upper"])
        g = pd.DataFrame(
            {"h": f["h"], "ape": ape, "err": err, "inside": inside, "w": f["upper"] - f["lower"]}
        ).groupby("h")
        out = pd.DataFrame(
            {
                "origins": g.size(),
                "mape": 100 * g["ape"].mean(),
                "mase": g["err"].mean() / self.scale,
                "coverage": g["inside"].mean(),
                "nominal_coverage": 1 - self.alpha,
                "width": g["w"].mean(),
            }
        ).reset_index()
        out.insert(0, "model", self.model)
        out.insert(1, "method", self.method or self.model)
        return out


def _scale(y: np.ndarray, m: int) -> float:
    lag = m if len(y) > m else 1
    return float(np.mean(np.abs(y[lag:] - y[:-lag])))


def _exog(n: int, season_length: float, fourier: int, exog) -> np.ndarray | None:
    parts = []
    if fourier:
        parts.append(fourier_terms(n, season_length, fourier))
    if exog is not None:
        x = np.asarray(exog, dtype=float)
        parts.append(x.reshape(n, -1))
    return np.concatenate(parts, axis=1) if parts else None


def backtest(
    y,
    *,
    model: str = "ets",
    season_length: int = 52,
    horizon: int = 1,
    initial: int | None = None,
    step: int = 1,
    alpha: float = 0.1,
    exog=None,
    fourier: int = 2,
    order: tuple = (1, 0, 0),
    trend: str | None = None,
    log: bool = False,
) -> Backtest:
    """Rolling-origin backtest: at each origin, forecast the next ``horizon`` weeks.

    Parameters
    ----------
    y : array-like
        The weekly series, oldest first.
    model : {"ets", "sarimax", "snaive"}
        ``ets``: ETS with additive errors, additive seasonality (when the first window
        has two full seasons) and ``trend``; ``sarimax``: ARIMA ``order`` errors around a
        constant (no constant when ``order`` differences: ``(0, 1, 1)`` is a local level),
        ``fourier`` yearly harmonics and ``exog``; ``snaive``: the value one season
        earlier.
    season_length : int
        Weeks per season (52).
    horizon : int
        Weeks ahead forecast at each origin.
    initial : int, optional
        Length of the first training window (default: two seasons, at least half the
        series).
    step : int
        Weeks between origins.
    alpha : float
        1 - nominal coverage of the intervals.
    exog : array-like, optional
        Regressors of SARIMAX, one row per week (holidays, promotions), known ahead.
    log : bool
        Model :math:`\\log y` (the series must be positive): noise that grows with the
        level (a growing business) becomes constant; forecasts and interval ends are
        transformed back with :math:`\\exp`, so the point forecast is the median.

    Returns
    -------
    Backtest

    Notes
    -----
    The parameters are estimated once, on the first window, and held fixed; at each
    origin the model's state is updated with the data up to the origin (Kalman filter or
    exponential smoothing) and forecasts are made from there, so no forecast uses data
    after its origin. With ``horizon=1`` one filtering pass gives every origin's forecast
    at once; the one-step ETS interval is :math:`\\hat y \\pm z\\,\\hat\\sigma` with
    :math:`\\hat\\sigma^2` the first window's residual mean square. Seasonal naive:
    :math:`\\hat y_{t+h} = y_{t+h-m(k+1)}`, :math:`k = \\lfloor (h-1)/m \\rfloor`, with
    interval :math:`\\pm z\\,\\hat\\sigma\\sqrt{k + 1}`, :math:`\\hat\\sigma` the RMS of the
    first window's seasonal differences (Hyndman & Athanasopoulos, *Forecasting:
    Principles and Practice*, 3rd ed., 5.5).
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, not {model!r}")
    y_orig = np.asarray(y, dtype=float)
    if log and not (y_orig > 0).all():
        raise ValueError("log=True needs a positive series (no week with zero or negative value)")
    y = np.log(y_orig) if log else y_orig
    n = len(y)
    m = int(season_length)
    if initial is None:
        initial = max(min(2 * m, n - 10), n // 2)
    if not 3 <= initial < n:
        raise ValueError(f"initial={initial} must leave data to forecast ({n} weeks)")
    z = stats.norm.ppf(1 - alpha / 2)
    origins = np.arange(initial - 1, n - 1, step)
    x_all = _exog(n, m, fourier if model == "sarimax" else 0, exog) if model == "sarimax" else None
    rows = []
    with warnings.catch_warnings(), one_thread():
        warnings.simplefilter("ignore")
        if model == "snaive":
            lag = m if initial > m else 1
            method = "seasonal_naive" if lag == m else "naive_last_week"
            d = y[lag:initial] - y[: initial - lag]
            sigma = float(np.sqrt(np.mean(d**2)))
            for h in range(1, horizon + 1):
                k = (h - 1) // lag
                o = origins[origins + h < n]
                fc = y[o + h - lag * (k + 1)]
                half = z * sigma * np.sqrt(k + 1)
                rows.append(_rows(o, h, y[o + h], fc, fc - half, fc + half))
        else:
            # fit on a unit scale (the first window's mean absolute value): the optimisers
            # are unreliable for series in the hundred thousands
            unit = float(np.mean(np.abs(y[:initial]))) or 1.0
            if model == "ets":
                rows = _ets(y / unit, origins, initial, m, horizon, alpha, z, trend)
                method = "ets_seasonal" if _ets_seasonal(initial, m) else "ets_no_season"
            else:
                method = "sarimax"
                rows = _sarimax(y / unit, x_all, origins, initial, horizon, alpha, order)
            for r in rows:
                r[["actual", "forecast", "lower", "upper"]] *= unit
    fc = pd.concat(rows, ignore_index=True).sort_values(["origin", "h"], kind="stable")
    if log:
        fc[["forecast", "lower", "upper"]] = np.exp(fc[["forecast", "lower", "upper"]])
        fc["actual"] = y_orig[fc["target"].to_numpy()]
    return Backtest(
        model, fc.reset_index(drop=True), alpha, _scale(y_orig[:initial], m), method=method
    )


def _rows(origin, h, actual, forecast, lower, upper) -> pd.DataFrame:
    origin = np.asarray(origin)
    return pd.DataFrame(
        {
            "origin": origin,
            "h": h,
            "target": origin + h,
            "actual": actual,
            "forecast": forecast,
            "lower": lower,
            "upper": upper,
        }
    )


def _ets_model(y: np.ndarray, m: int, seasonal: bool, trend):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    return ETSModel(
        pd.Series(y),
        error="add",
        trend=trend,
        seasonal="add" if seasonal else None,
        seasonal_periods=m if seasonal else None,
    )


def _ets_seasonal(initial: int, m: int) -> bool:
    """ETS gets a seasonal term when its first window holds two full seasons."""
    return initial >= 2 * m


def _ets(y, origins, initial, m, horizon, alpha, z, trend):
    seasonal = _ets_seasonal(initial, m)
    fit = _ets_model(y[:initial], m, seasonal, trend).fit(disp=False)
    sigma = float(np.sqrt(fit.mse))
    if horizon == 1:
        full = _ets_model(y, m, seasonal, trend).smooth(fit.params)
        pred = np.asarray(full.fittedvalues)  # one-step-ahead predictions
        o = origins[origins + 1 < len(y)]
        fc = pred[o + 1]
        return [_rows(o, 1, y[o + 1], fc, fc - z * sigma, fc + z * sigma)]
    rows = []
    for o in origins:
        steps = int(min(horizon, len(y) - 1 - o))
        if steps < 1:
            continue
        res = _ets_model(y[: o + 1], m, seasonal, trend).smooth(fit.params)
        f = res.get_prediction(start=o + 1, end=o + steps).summary_frame(alpha=alpha)
        hs = np.arange(1, steps + 1)
        rows.append(
            _rows(np.full(steps, o), hs, y[o + hs], f["mean"], f["pi_lower"], f["pi_upper"])
        )
    return rows


def _trend(order) -> str:
    """A constant without differencing; none with it (it would be a steady drift)."""
    return "c" if order[1] == 0 else "n"


def _sarimax(y, x, origins, initial, horizon, alpha, order):
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    def sx(end):
        return SARIMAX(
            y[:end], exog=None if x is None else x[:end], order=order, trend=_trend(order)
        )

    fit = sx(initial).fit(disp=False)
    if horizon == 1:
        full = fit.apply(y, exog=x)
        pred = full.get_prediction(start=initial)  # one-step-ahead from each origin
        mean = np.asarray(pred.predicted_mean)
        ci = np.asarray(pred.conf_int(alpha=alpha))
        o = origins[origins + 1 < len(y)]
        i = o + 1 - initial
        return [_rows(o, 1, y[o + 1], mean[i], ci[i, 0], ci[i, 1])]
    rows = []
    for o in origins:
        steps = int(min(horizon, len(y) - 1 - o))
        if steps < 1:
            continue
        res = fit.apply(y[: o + 1], exog=None if x is None else x[: o + 1])
        f = res.get_forecast(steps, exog=None if x is None else x[o + 1 : o + 1 + steps])
        ci = np.asarray(f.conf_int(alpha=alpha))
        hs = np.arange(1, steps + 1)
        rows.append(
            _rows(
                np.full(steps, o), hs, y[o + hs], np.asarray(f.predicted_mean), ci[:, 0], ci[:, 1]
            )
        )
    return rows


def compare_models(y, *, models=MODELS, **kwargs) -> pd.DataFrame:
    """:meth:`Backtest.summary` of each model on the same origins, stacked."""
    return pd.concat(
        [backtest(y, model=mo, **kwargs).summary() for mo in models], ignore_index=True
    )


def forecast_ahead(
    y,
    *,
    steps: int = 13,
    model: str = "ets",
    season_length: int = 52,
    alpha: float = 0.1,
    exog=None,
    exog_future=None,
    fourier: int = 2,
    order: tuple = (1, 0, 0),
    log: bool = False,
) -> pd.DataFrame:
    """Forecast ``steps`` weeks after the end of ``y`` (model fitted on all of it).

    ``log`` as in :func:`backtest`. Returns ``step, forecast, lower, upper``.
    """
    y = np.asarray(y, dtype=float)
    if log:
        out = forecast_ahead(
            np.log(y),
            steps=steps,
            model=model,
            season_length=season_length,
            alpha=alpha,
            exog=exog,
            exog_future=exog_future,
            fourier=fourier,
            order=order,
        )
        out[["forecast", "lower", "upper"]] = np.exp(out[["forecast", "lower", "upper"]])
        return out
    n, m = len(y), int(season_length)
    with warnings.catch_warnings(), one_thread():
        warnings.simplefilter("ignore")
        if model == "ets":
            res = _ets_model(y, m, n >= 2 * m, None).fit(disp=False)
            f = res.get_prediction(start=n, end=n + steps - 1).summary_frame(alpha=alpha)
            mean, lo, hi = f["mean"], f["pi_lower"], f["pi_upper"]
        elif model == "sarimax":
            from statsmodels.tsa.statespace.sarimax import SARIMAX

            x = _exog(n + steps, m, fourier, _stack(exog, exog_future))
            res = SARIMAX(
                y, exog=None if x is None else x[:n], order=order, trend=_trend(order)
            ).fit(disp=False)
            f = res.get_forecast(steps, exog=None if x is None else x[n:])
            ci = np.asarray(f.conf_int(alpha=alpha))
            mean, lo, hi = np.asarray(f.predicted_mean), ci[:, 0], ci[:, 1]
        else:
            raise ValueError(f"model must be 'ets' or 'sarimax', not {model!r}")
    return pd.DataFrame(
        {
            "step": np.arange(1, steps + 1),
            "forecast": np.asarray(mean),
            "lower": np.asarray(lo),
            "upper": np.asarray(hi),
        }
    )


def _stack(exog, exog_future):
    if exog is None:
        return None
    return np.concatenate([np.asarray(exog, float), np.asarray(exog_future, float)], axis=0)


def regressor_effects(
    y,
    exog,
    *,
    season_length: int = 52,
    fourier: int = 2,
    order: tuple = (0, 1, 1),
    alpha: float = 0.05,
    log: bool = True,
) -> pd.DataFrame:
    """Effect of each regressor (holiday or promotion week) in SARIMAX fitted to all of ``y``.

    Parameters
    ----------
    y : array-like
        The weekly series (positive with ``log``).
    exog : pandas.DataFrame
        One column per regressor (e.g. :func:`calendar_regressors`), one row per week.
    season_length, fourier, order
        As in :func:`backtest`.
    alpha : float
        1 - level of the intervals.
    log : bool
        Fit :math:`\\log y`: a coefficient :math:`\\beta` is then the relative change
        :math:`e^{\\beta} - 1` of the week (its uplift), interval transformed likewise.

    Returns
    -------
    pandas.DataFrame
        ``regressor, weeks`` (weeks with the regressor on), ``coef, std_error``, and
        ``effect, ci_low, ci_high`` (relative with ``log``, else in the units of ``y``).
    """
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    y = np.asarray(y, dtype=float)
    if log:
        if not (y > 0).all():
            raise ValueError("log=True needs a positive series")
        y = np.log(y)
    x = pd.DataFrame(exog).reset_index(drop=True)
    if len(x) != len(y):
        raise ValueError(f"exog has {len(x)} rows for {len(y)} weeks")
    n = len(y)
    unit = float(np.mean(np.abs(y))) or 1.0
    design = _exog(n, season_length, fourier, x.to_numpy(dtype=float))
    with warnings.catch_warnings(), one_thread():
        warnings.simplefilter("ignore")
        res = SARIMAX(y / unit, exog=design, order=order, trend=_trend(order)).fit(disp=False)
    k = x.shape[1]
    first = int(_trend(order) == "c") + design.shape[1] - k
    coef = np.asarray(res.params)[first : first + k] * unit
    se = np.asarray(res.bse)[first : first + k] * unit
    z = stats.norm.ppf(1 - alpha / 2)
    lo, hi = coef - z * se, coef + z * se
    out = pd.DataFrame(
        {
            "regressor": list(x.columns),
            "weeks": x.to_numpy(dtype=float).sum(axis=0).astype(int),
            "coef": coef,
            "std_error": se,
            "effect": np.expm1(coef) if log else coef,
            "ci_low": np.expm1(lo) if log else lo,
            "ci_high": np.expm1(hi) if log else hi,
        }
    )
    return out
