"""Probabilistic customer lifetime value: a purchase model times a spend model.

:func:`customer_lifetime_value` combines a fitted :class:`~crm_lib.value.BetaGeoModel` or
:class:`~crm_lib.value.ParetoNBDModel` (how many purchases) with a fitted
:class:`~crm_lib.value.GammaGammaModel` (how much per purchase) into the discounted value
of each customer's future purchases over a horizon (Fader, Hardie & Lee 2005, "RFM and
CLV"). :func:`frequency_recency_matrix` and :func:`plot_frequency_recency` show the
expected purchases and the probability alive over a grid of frequency and recency
(the "iso-value" view of the same paper); :func:`clv_by_frequency` is an aggregate table
for reports (no customer ids).
"""

from __future__ import annotations

import warnings
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from crm_lib.i18n import check_language, translate_frame
from crm_lib.i18n import t as msg
from crm_lib.value.btyd import BetaGeoModel, GammaGammaModel, ParetoNBDModel, _as_float

__all__ = [
    "clv_by_frequency",
    "clv_by_frequency_display",
    "customer_lifetime_value",
    "frequency_recency_matrix",
    "month_length",
    "plot_frequency_recency",
]

_MONTH_DAYS = 365.25 / 12
_UNIT_DAYS = {"W": 7.0, "D": 1.0}
_KINDS = ("expected_purchases", "prob_alive")


def month_length(time_unit: str = "W") -> float:
    """One month (365.25 / 12 days) in ``time_unit``: 4.348 weeks or 30.44 days."""
    if time_unit not in _UNIT_DAYS:
        raise ValueError(
            f"time_unit={time_unit!r} is not supported: use 'W' or 'D' (the unit of "
            "recency and T in the summary)"
        )
    return _MONTH_DAYS / _UNIT_DAYS[time_unit]


def _check_transaction_model(model: Any) -> None:
    if not isinstance(model, BetaGeoModel | ParetoNBDModel):
        raise TypeError(
            "transaction_model must be a fitted BetaGeoModel or ParetoNBDModel, not "
            f"{type(model).__name__}"
        )
    model._check_fitted()


def _warn_unconverged(model: Any) -> None:
    if getattr(model, "converged_", True) is False:
        problems = "; ".join(getattr(model, "fit_problems_", []))
        warnings.warn(
            f"{type(model).__name__} did not converge ({problems or 'see its fit'}): the "
            "customer lifetime values built on it cannot be trusted",
            RuntimeWarning,
            stacklevel=3,
        )


def customer_lifetime_value(
    transaction_model: Any,
    spend_model: GammaGammaModel,
    summary: pd.DataFrame,
    *,
    horizon: int = 12,
    discount_rate: float = 0.01,
    time_unit: str = "W",
    period: float | None = None,
    customer_col: str = "customer_id",
) -> pd.DataFrame:
    """Expected discounted value of each customer's purchases over the next ``horizon`` periods.

    Parameters
    ----------
    transaction_model : BetaGeoModel or ParetoNBDModel
        Fitted purchase model (its ``predict_purchases`` and ``prob_alive`` are used).
    spend_model : GammaGammaModel
        Fitted spend model (its ``expected_average_value``).
    summary : pandas.DataFrame
        One row per customer with the columns both models were fitted on
        (:func:`crm_lib.value.customer_summary`: ``frequency, recency, T,
        monetary_value``), at the moment from which the value is predicted.
    horizon : int
        Number of periods (months by default) to value; 12 is a year.
    discount_rate : float
        Discount rate *per period*, ``0 <= d < 1``: 0.01 a month is about 12.7% a year
        (:math:`1.01^{12} - 1`). 0 gives the undiscounted expected revenue.
    time_unit : {"W", "D"}
        Unit of ``recency`` and ``T`` in ``summary`` (as in ``customer_summary``).
    period : float, optional
        Length of one period in ``time_unit``. Default: one month, 365.25 / 12 days
        (:func:`month_length`: 4.348 weeks or 30.44 days).
    customer_col : str
        Customer id column of ``summary``, copied to the output when present.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``summary``: ``customer_id`` (named ``customer_col``, when present),
        ``prob_alive`` (at the end of the summary), ``expected_purchases`` (undiscounted,
        over the whole horizon), ``expected_order_value`` and ``clv``. ``attrs`` hold
        ``horizon, discount_rate, period, time_unit, horizon_length`` (``horizon *
        period`` in ``time_unit``). ``clv`` is missing (NaN, with a ``RuntimeWarning``)
        for customers the spend model cannot value: repeat buyers whose repeat orders
        are worth 0 or less on average, and, when the fitted ``q <= 1``, customers
        whose expected order value does not exist (see
        :meth:`GammaGammaModel.expected_average_value`).

    Notes
    -----
    With :math:`t_i = i \\cdot \\text{period}`, :math:`E[X(t)]` the expected repeat
    purchases in :math:`(T, T + t]` given the customer's :math:`(x, t_x, T)` (the
    transaction model's conditional expectation) and :math:`E[M]` the gamma-gamma
    expected order value given :math:`(x, \\bar z)`,

    .. math::

        \\text{CLV} = \\sum_{i=1}^{H} \\frac{\\big(E[X(t_i)] - E[X(t_{i-1})]\\big)\\,
        E[M]}{(1 + d)^{i}}

    (purchases of period :math:`i` are discounted as if made at its end). This is the
    discrete form of the discounted expected transactions of Fader, Hardie & Lee (2005),
    the same sum as lifetimes' ``customer_lifetime_value`` (whose ``freq`` gives the
    period as 30 days, 4.345 weeks or 1 month). Spend and purchases are independent in
    the gamma-gamma model, so the expectation of the product is the product of the
    expectations. With :math:`d = 0` the sum is :math:`E[X(t_H)]\\,E[M]`. CLV is
    revenue as the order values were summarised (gross of returns if the summary was
    built with ``returns="ignore"``), not margin: multiply by a margin for profit.

    References
    ----------
    Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV: Using iso-value
    curves for customer base analysis. Journal of Marketing Research, 42(4), 415-430.
    Fader, P. S., & Hardie, B. G. S. (2013). The gamma-gamma model of monetary value.
    http://brucehardie.com/notes/025/
    """
    _check_transaction_model(transaction_model)
    if not isinstance(spend_model, GammaGammaModel):
        raise TypeError(
            f"spend_model must be a fitted GammaGammaModel, not {type(spend_model).__name__}"
        )
    spend_model._check_fitted()
    if isinstance(horizon, float) and horizon.is_integer():
        horizon = int(horizon)
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ValueError(
            f"horizon must be a whole number of periods >= 1 (months by default), not {horizon!r}"
        )
    if (
        isinstance(discount_rate, bool)
        or not isinstance(discount_rate, int | float | np.number)
        or not np.isfinite(discount_rate)
    ):
        raise ValueError(f"discount_rate must be a number >= 0, not {discount_rate!r}")
    if discount_rate < 0:
        raise ValueError(f"discount_rate must be >= 0, not {discount_rate!r}")
    if discount_rate >= 1:
        raise ValueError(
            f"discount_rate is per period (a month by default) and must be below 1: 0.01 "
            f"is 1% a month, about 12.7% a year; {discount_rate!r} looks like a percentage "
            "or a yearly rate (use e.g. 0.01, or (1 + yearly) ** (1 / 12) - 1)"
        )
    month = month_length(time_unit)
    if period is None:
        period = month
    elif isinstance(period, bool) or not np.isfinite(period) or period <= 0:
        raise ValueError(
            "period must be a number > 0 (the length of one discounting period in the "
            f"summary's time unit), not {period!r}"
        )
    if not isinstance(summary, pd.DataFrame):
        raise TypeError(f"summary must be a pandas DataFrame, not {type(summary).__name__}")
    if summary.empty:
        raise ValueError("summary is empty: there are no customers to value")
    _warn_unconverged(transaction_model)
    _warn_unconverged(spend_model)

    # spend: gamma-gamma cannot value repeat buyers whose repeat orders are worth <= 0
    x = _as_float(summary, spend_model.frequency_col, "frequency_col")
    m = _as_float(summary, spend_model.monetary_value_col, "monetary_value_col")
    free = (x > 0) & (m <= 0)
    money = np.full(x.shape[0], np.nan)
    if free.any():
        warnings.warn(
            f"{int(free.sum()):,} customers have repeat purchases but repeat orders worth 0 "
            "or less on average (free items, or everything returned): the gamma-gamma "
            "model cannot value them, so their clv is missing (NaN). Leave free lines out "
            "of the summary (e.g. zero_value_lines='drop' in notebook 03) or value these "
            "customers separately.",
            RuntimeWarning,
            stacklevel=2,
        )
    if (~free).any():
        money[~free] = spend_model.expected_average_value(summary.loc[~free]).to_numpy()

    # purchases: cumulative expectations at the end of each period, then increments
    ends = period * np.arange(horizon + 1)
    cumulative = np.zeros((horizon + 1, x.shape[0]))
    for i in range(1, horizon + 1):
        cumulative[i] = transaction_model.predict_purchases(float(ends[i]), summary).to_numpy()
    increments = np.diff(cumulative, axis=0)
    discount = (1.0 + discount_rate) ** -np.arange(1, horizon + 1, dtype=float)
    discounted = discount @ increments

    out = pd.DataFrame(index=summary.index)
    if customer_col in summary.columns:
        out[customer_col] = summary[customer_col].to_numpy()
    out["prob_alive"] = transaction_model.prob_alive(summary).to_numpy()
    out["expected_purchases"] = cumulative[-1]
    out["expected_order_value"] = money
    out["clv"] = discounted * money
    out.attrs.update(
        {
            "horizon": int(horizon),
            "discount_rate": float(discount_rate),
            "period": float(period),
            "time_unit": time_unit,
            "horizon_length": float(horizon * period),
            "transaction_model": type(transaction_model).__name__,
        }
    )
    return out


def frequency_recency_matrix(
    model: Any,
    *,
    T: float,
    max_frequency: int = 20,
    n_recency: int = 40,
    t: float = 1.0,
) -> pd.DataFrame:
    """Expected purchases and probability alive over a grid of frequency and recency.

    Parameters
    ----------
    model : BetaGeoModel or ParetoNBDModel
        Fitted.
    T : float
        Age of the hypothetical customers (first purchase to now), in the model's time
        unit; usually the largest ``T`` of the data.
    max_frequency : int
        Frequencies ``0 .. max_frequency`` (repeat purchases).
    n_recency : int
        Recencies (time of the last purchase after the first), evenly from 0 to ``T``.
    t : float
        Length of the future period of ``expected_purchases``.

    Returns
    -------
    pandas.DataFrame
        One row per cell: ``frequency, recency, T, expected_purchases, prob_alive``
        (the model's conditional expectations for a customer with that history). A
        customer with frequency 0 has no purchase after the first, so her values do not
        depend on recency: the ``frequency = 0`` row repeats them.
    """
    _check_transaction_model(model)
    if isinstance(T, bool) or not np.isfinite(T) or T <= 0:
        raise ValueError(f"T must be a number > 0 (the customers' age), not {T!r}")
    if isinstance(max_frequency, bool) or not isinstance(max_frequency, int | np.integer):
        raise ValueError(f"max_frequency must be a whole number >= 1, not {max_frequency!r}")
    if max_frequency < 1 or n_recency < 2:
        raise ValueError("max_frequency must be >= 1 and n_recency >= 2")
    freq = np.arange(int(max_frequency) + 1, dtype=float)
    rec = np.linspace(0.0, float(T), int(n_recency))
    ff, rr = np.meshgrid(freq, rec, indexing="ij")
    ff, rr = ff.ravel(), rr.ravel()
    cells = pd.DataFrame(
        {
            model.frequency_col: ff,
            model.recency_col: np.where(ff == 0, 0.0, rr),
            model.T_col: float(T),
        }
    )
    return pd.DataFrame(
        {
            "frequency": ff.astype(np.int64),
            "recency": rr,
            "T": float(T),
            "expected_purchases": model.predict_purchases(float(t), cells).to_numpy(),
            "prob_alive": model.prob_alive(cells).to_numpy(),
        }
    )


def plot_frequency_recency(
    model: Any,
    summary: pd.DataFrame,
    *,
    kind: str = "expected_purchases",
    t: float | None = None,
    T: float | None = None,
    max_frequency: int | None = None,
    n_recency: int = 40,
    ax=None,
    language: str = "en",
    time_unit: str = "W",
):
    """Heat map of expected purchases or P(alive) by frequency and recency; returns the axes.

    The customers are of age ``T`` (default: the largest ``T`` of ``summary``); rows are
    the number of repeat purchases (up to the 99th percentile of ``summary``, at least
    1, at most 50 by default, increasing upwards), columns the time of the last purchase
    after the first. A customer top right bought often and recently: the best; top left
    bought often but long ago: probably gone (Fader, Hardie & Lee 2005).

    Parameters
    ----------
    model : BetaGeoModel or ParetoNBDModel
        Fitted.
    summary : pandas.DataFrame
        The customers (for the default ``T`` and frequency range).
    kind : {"expected_purchases", "prob_alive"}
    t : float, optional
        Future period of the expected purchases, in ``time_unit`` (default one month).
    T, max_frequency, n_recency
        The grid (see :func:`frequency_recency_matrix`).
    ax : matplotlib axes, optional
    language : {"en", "zh"}
    time_unit : {"W", "D"}
        Unit of the summary (axis labels and the default ``t``).
    """
    if kind not in _KINDS:
        raise ValueError(
            f"kind={kind!r} is not supported: use 'expected_purchases' or 'prob_alive'"
        )
    check_language(language)
    month = month_length(time_unit)
    if T is None:
        T = float(pd.to_numeric(summary[model.T_col]).max())
    if max_frequency is None:
        q = float(pd.to_numeric(summary[model.frequency_col]).quantile(0.99))
        max_frequency = int(min(max(np.ceil(q), 1), 50))
    t = month if t is None else float(t)
    grid = frequency_recency_matrix(
        model, T=T, max_frequency=max_frequency, n_recency=n_recency, t=t
    )
    values = grid[kind].to_numpy().reshape(max_frequency + 1, n_recency)
    if ax is None:
        _, ax = plt.subplots()
    step = T / (n_recency - 1)
    image = ax.imshow(
        values,
        origin="lower",
        aspect="auto",
        cmap="viridis",
        extent=(-step / 2, T + step / 2, -0.5, max_frequency + 0.5),
        vmin=0.0,
        vmax=1.0 if kind == "prob_alive" else None,
    )
    unit = msg({"W": "weeks", "D": "days"}[time_unit], language)
    label = msg(kind, language)
    if kind == "expected_purchases":
        label = f"{label} ({t:.3g} {unit})"
    ax.figure.colorbar(image, ax=ax, label=label)
    ax.grid(False)
    ax.set_xlabel(f"{msg('recency', language)} ({unit})")
    ax.set_ylabel(msg("frequency", language))
    ax.set_title(msg(f"title_fr_{kind}", language))
    return ax


def _group_labels(groups: tuple[int, ...]) -> list[str]:
    bounds = [*groups, None]
    labels = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        if hi is None:
            labels.append(f"{lo}+")
        elif hi - lo == 1:
            labels.append(str(lo))
        else:
            labels.append(f"{lo}-{hi - 1}")
    return labels


def clv_by_frequency(
    clv: pd.DataFrame,
    summary: pd.DataFrame,
    *,
    frequency_col: str = "frequency",
    groups: tuple[int, ...] = (0, 1, 2, 4, 8),
) -> pd.DataFrame:
    """Customer lifetime value by number of repeat purchases: an aggregate for reports.

    Parameters
    ----------
    clv : pandas.DataFrame
        Output of :func:`customer_lifetime_value` (indexed like ``summary``).
    summary : pandas.DataFrame
        The summary the values were computed from.
    frequency_col : str
        Repeat purchases column of ``summary``.
    groups : tuple of int
        Lower edges of the frequency groups (increasing, starting at 0).

    Returns
    -------
    pandas.DataFrame
        One row per group (``0``, ``1``, ``2-3``, ``4-7``, ``8+`` by default):
        ``frequency_group, customers, mean_prob_alive, mean_expected_purchases,
        mean_expected_order_value, mean_clv, total_clv, clv_share``. Means and totals
        leave out customers without a value (NaN ``clv``); ``clv_share`` sums to one.
    """
    needed = ["prob_alive", "expected_purchases", "expected_order_value", "clv"]
    missing = [c for c in needed if c not in clv.columns]
    if missing:
        raise ValueError(
            f"clv has no columns {missing}: pass the output of customer_lifetime_value"
        )
    if list(groups) != sorted(set(groups)) or groups[0] != 0:
        raise ValueError(f"groups must be increasing lower edges starting at 0, not {groups!r}")
    freq = _as_float(summary, frequency_col, "frequency_col")
    freq = pd.Series(freq, index=summary.index).reindex(clv.index)
    if freq.isna().any():
        raise ValueError(
            "clv and summary do not have the same rows (index): pass the summary "
            "the values were computed from"
        )
    code = np.searchsorted(np.asarray(groups, dtype=float), freq.to_numpy(), side="right") - 1
    labels = _group_labels(tuple(int(g) for g in groups))
    by = clv[needed].groupby(code)
    levels = range(len(labels))
    total = by["clv"].sum().reindex(levels, fill_value=0.0)
    out = pd.DataFrame(
        {
            "frequency_group": labels,
            "customers": by.size().reindex(levels, fill_value=0).to_numpy(dtype=np.int64),
            "mean_prob_alive": by["prob_alive"].mean().reindex(levels).to_numpy(),
            "mean_expected_purchases": by["expected_purchases"].mean().reindex(levels).to_numpy(),
            "mean_expected_order_value": (
                by["expected_order_value"].mean().reindex(levels).to_numpy()
            ),
            "mean_clv": by["clv"].mean().reindex(levels).to_numpy(),
            "total_clv": total.to_numpy(),
        }
    )
    grand = out["total_clv"].sum()
    out["clv_share"] = out["total_clv"] / grand if grand > 0 else np.nan
    return out


def clv_by_frequency_display(table: pd.DataFrame, language: str = "en") -> pd.DataFrame:
    """:func:`clv_by_frequency` with its column names in ``language``."""
    check_language(language)
    if "frequency_group" not in table.columns or "mean_clv" not in table.columns:
        raise ValueError("table is not the output of clv_by_frequency")
    return translate_frame(table, language)
