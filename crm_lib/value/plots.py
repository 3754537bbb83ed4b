"""Checks and charts for the BG/NBD and gamma-gamma models of :mod:`crm_lib.value`.

- :func:`parameter_table` - estimates with intervals, next to the true values when known;
- :func:`holdout_table` - predicted vs actual repeat purchases in a holdout period, by
  number of calibration purchases (Fader, Hardie & Lee, 2005, Figure 3);
- :func:`plot_holdout`, :func:`plot_prob_alive` - the charts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from crm_lib.i18n import check_language, t

__all__ = [
    "bgnbd_truth",
    "holdout_error",
    "holdout_table",
    "parameter_table",
    "plot_holdout",
    "plot_prob_alive",
]


def parameter_table(
    model: Any, truth: Mapping[str, float] | None = None, *, alpha: float = 0.05
) -> pd.DataFrame:
    """``model.summary()`` as a tidy table, with the true parameters when known.

    Parameters
    ----------
    model : BetaGeoModel or GammaGammaModel
        Fitted.
    truth : mapping, optional
        True parameter values (e.g. ``world.truth.params["bgnbd"]``); ``None`` for real
        data, where there is no truth.
    alpha : float
        1 - confidence level of the intervals.

    Returns
    -------
    pandas.DataFrame
        ``parameter, estimate, std_error, ci_low, ci_high`` and, with ``truth``,
        ``true_value`` and ``covered`` (the interval contains the true value).
    """
    out = model.summary(alpha=alpha).reset_index()
    if truth is not None:
        missing = [p for p in out["parameter"] if p not in truth]
        if missing:
            raise ValueError(f"truth has no value for the parameters {missing}")
        out["true_value"] = out["parameter"].map(lambda p: float(truth[p]))
        out["covered"] = (out["ci_low"] <= out["true_value"]) & (
            out["true_value"] <= out["ci_high"]
        )
    return out


_DAYS = {"W": 7.0, "D": 1.0, "weeks": 7.0, "days": 1.0}


def bgnbd_truth(world_params: Mapping[str, Any], time_unit: str = "W") -> dict[str, float]:
    """True BG/NBD parameters of a simulated world in the time unit of the analysis.

    Parameters
    ----------
    world_params : mapping
        ``world.truth.params`` (with ``bgnbd`` and ``time_unit``, weeks in the simulation).
    time_unit : {"W", "D"}
        Unit of the summary the model was fitted on.

    Returns
    -------
    dict
        ``r, alpha, a, b``; only ``alpha`` depends on the unit.

    Notes
    -----
    While alive a customer buys at rate :math:`\\lambda \\sim \\text{Gamma}(r, \\alpha)`
    (rate parametrisation) per unit of time. A rate per week is 7 times the rate per day,
    :math:`\\lambda_D = \\lambda_W / 7 \\sim \\text{Gamma}(r, 7\\alpha_W)`, so
    :math:`\\alpha_D = 7\\alpha_W`; ``r, a, b`` have no unit.
    """
    if time_unit not in ("W", "D"):
        raise ValueError(f"time_unit={time_unit!r} is not supported: use 'W' or 'D'")
    base = str(world_params.get("time_unit", "W"))
    if base not in _DAYS:
        raise ValueError(f"unknown time unit {base!r} in the world parameters")
    out = {k: float(v) for k, v in world_params["bgnbd"].items()}
    out["alpha"] *= _DAYS[base] / _DAYS[time_unit]
    return out


def holdout_table(
    model: Any,
    split: pd.DataFrame,
    *,
    max_frequency: int = 7,
    duration_col: str = "duration_holdout",
    holdout_col: str = "frequency_holdout",
    frequency_col: str = "frequency",
) -> pd.DataFrame:
    """Mean actual and predicted holdout purchases by calibration frequency.

    Parameters
    ----------
    model : BetaGeoModel
        Fitted on the calibration columns of ``split``.
    split : pandas.DataFrame
        Output of :func:`crm_lib.value.calibration_holdout_split`.
    max_frequency : int
        Customers with this many or more calibration repeat purchases form one group.

    Returns
    -------
    pandas.DataFrame
        One row per group: ``frequency_calibration`` (``"0"`` ... ``"7+"``),
        ``customers``, ``actual_purchases``, ``predicted_purchases`` (means per customer).

    Notes
    -----
    The prediction for a customer is :math:`E[Y(t) \\mid x, t_x, T]` with *t* the holdout
    length (:meth:`crm_lib.value.BetaGeoModel.predict_purchases`).
    """
    for col in (duration_col, holdout_col, frequency_col):
        if col not in split.columns:
            raise ValueError(
                f"split has no column {col!r}: build it with crm_lib.value.calibration_holdout_split"
            )
    durations = split[duration_col].unique()
    if len(durations) != 1:
        raise ValueError("the holdout must have one length for all customers")
    predicted = model.predict_purchases(float(durations[0]), split).to_numpy()
    x = split[frequency_col].to_numpy()
    group = np.minimum(x, max_frequency)
    df = pd.DataFrame(
        {"group": group, "actual": split[holdout_col].to_numpy(), "predicted": predicted}
    )
    g = df.groupby("group", sort=True)
    out = pd.DataFrame(
        {
            "frequency_calibration": [
                f"{k}+" if k == max_frequency else str(k) for k in g.size().index
            ],
            "customers": g.size().to_numpy(),
            "actual_purchases": g["actual"].mean().to_numpy(),
            "predicted_purchases": g["predicted"].mean().to_numpy(),
        }
    )
    return out


def holdout_error(table: pd.DataFrame) -> float:
    """Relative error of the total predicted holdout purchases: predicted / actual - 1."""
    actual = (table["actual_purchases"] * table["customers"]).sum()
    predicted = (table["predicted_purchases"] * table["customers"]).sum()
    return float(predicted / actual - 1) if actual > 0 else np.nan


def plot_holdout(table: pd.DataFrame, *, ax=None, language: str = "en"):
    """Actual vs predicted mean holdout purchases by calibration frequency; returns the axes."""
    check_language(language)
    if ax is None:
        _, ax = plt.subplots()
    xs = np.arange(len(table))
    ax.plot(xs, table["actual_purchases"], marker="o", label=t("actual_purchases", language))
    ax.plot(
        xs,
        table["predicted_purchases"],
        marker="s",
        linestyle="--",
        label=t("predicted_purchases", language),
    )
    ax.set_xticks(xs, table["frequency_calibration"])
    ax.set_xlabel(t("frequency_calibration", language))
    ax.set_ylabel(t("mean_purchases_holdout", language))
    ax.set_title(t("title_holdout", language))
    ax.legend()
    return ax


def plot_prob_alive(
    model: Any,
    summary: pd.DataFrame,
    *,
    ax=None,
    language: str = "en",
    groups: tuple[int, ...] = (1, 4, 10),
    bins: int = 12,
    time_unit: str = "W",
):
    """Mean probability alive by time since the last purchase, for frequency groups.

    Frequent buyers who have gone quiet are more likely to have left than occasional
    buyers who have been quiet as long: the lines show how much recency matters at each
    frequency. Returns the axes.

    Parameters
    ----------
    model : BetaGeoModel
        Fitted.
    summary : pandas.DataFrame
        ``frequency, recency, T`` per customer (as fitted).
    groups : tuple of int
        Lower edges of the frequency groups (customers with frequency 0 are always
        alive in the BG/NBD and left out).
    bins : int
        Number of bins of time since the last purchase.
    time_unit : {"W", "D"}
        Time unit of the summary (axis label).
    """
    check_language(language)
    if ax is None:
        _, ax = plt.subplots()
    x = summary[model.frequency_col].to_numpy()
    since = (summary[model.T_col] - summary[model.recency_col]).to_numpy(dtype=float)
    alive = model.prob_alive(summary).to_numpy()
    edges = np.linspace(0, np.nanmax(since) if len(since) else 1, bins + 1)
    mid = (edges[:-1] + edges[1:]) / 2
    bounds = [*groups, np.inf]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        keep = (x >= lo) & (x < hi)
        if not keep.any():
            continue
        b = np.clip(np.digitize(since[keep], edges) - 1, 0, bins - 1)
        mean = pd.Series(alive[keep]).groupby(b).mean().reindex(range(bins))
        name = f"{lo}+" if not np.isfinite(hi) else f"{lo}-{int(hi) - 1}"
        ax.plot(mid, mean.to_numpy(), marker=".", label=name)
    ax.set_ylim(0, 1.02)
    unit = {"W": "weeks", "D": "days"}[time_unit]
    ax.set_xlabel(f"{t('time_since_last', language)} ({t(unit, language)})")
    ax.set_ylabel(t("prob_alive", language))
    ax.set_title(t("title_prob_alive", language))
    ax.legend(title=t("frequency", language), fontsize="small")
    return ax
