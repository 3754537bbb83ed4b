"""Plots of the funnel study: each takes ``ax=None`` and ``language`` and returns the axes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_lib import i18n

__all__ = [
    "plot_calibration",
    "plot_cycle_survival",
    "plot_funnel",
    "plot_revenue_forecast",
    "plot_win_rates",
]


def _ax(ax, figsize=(6, 3.6)):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def plot_funnel(table: pd.DataFrame, *, ax=None, language: str = "en"):
    """Stage-to-stage conversion with its interval (:func:`funnel_table`, no groups)."""
    ax = _ax(ax)
    t = table.dropna(subset=["rate_from_previous"])
    labels = [i18n.label(s, language) for s in t["stage"]]
    rate = t["rate_from_previous"].to_numpy()
    err = np.vstack([rate - t["ci_low"], t["ci_high"] - rate])
    ax.bar(labels, rate, yerr=err, capsize=4, color="#4C72B0")
    ax.set_ylim(0, 1)
    ax.set_ylabel(i18n.t("rate_from_previous", language))
    ax.set_title(i18n.t("title_funnel", language))
    return ax


def plot_win_rates(
    shrunk: pd.DataFrame,
    *,
    group_col: str = "owner_id",
    truth: dict | None = None,
    ax=None,
    language: str = "en",
):
    """Raw (with Wilson interval) and shrunk win rate per group (:func:`shrunk_win_rates`)."""
    ax = _ax(ax, (7, 3.8))
    t = shrunk.reset_index(drop=True)
    y = np.arange(len(t))
    raw = t["win_rate"].to_numpy()
    ax.errorbar(
        raw,
        y,
        xerr=np.vstack([raw - t["ci_low"], t["ci_high"] - raw]),
        fmt="o",
        color="grey",
        label=i18n.t("win_rate", language),
    )
    ax.plot(t["shrunk"], y, "D", color="#C44E52", label=i18n.t("shrunk", language))
    if truth:
        ax.plot(
            [truth.get(g, np.nan) for g in t[group_col]],
            y,
            "x",
            color="k",
            label=i18n.t("truth", language),
        )
    ax.set_yticks(y, [f"{g} (n={n})" for g, n in zip(t[group_col], t["closed"], strict=True)])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.legend(loc="lower right", fontsize="small")
    ax.set_title(i18n.t("title_win_rates", language))
    return ax


def plot_cycle_survival(result: dict, *, ax=None, language: str = "en"):
    """Kaplan-Meier curve of deals still open (:func:`cycle_survival`)."""
    ax = _ax(ax)
    sf = result["survival"]
    ax.step(sf.surv_times, sf.surv_prob, where="post", color="#4C72B0")
    ax.axhline(0.5, ls=":", color="grey")
    ax.set_xlabel(i18n.t("days", language))
    ax.set_ylabel(i18n.t("share_open", language))
    ax.set_ylim(0, 1)
    ax.set_title(i18n.t("title_cycle", language))
    return ax


def plot_calibration(calibration: pd.DataFrame, *, ax=None, language: str = "en"):
    """Reliability curve: observed against predicted conversion per bin."""
    ax = _ax(ax, (4, 4))
    ax.plot([0, 1], [0, 1], ls=":", color="grey")
    ax.plot(calibration["predicted"], calibration["observed"], "o-", color="#4C72B0")
    ax.set_xlabel(i18n.t("predicted", language))
    ax.set_ylabel(i18n.t("observed", language))
    ax.set_title(i18n.t("title_calibration", language))
    return ax


def plot_revenue_forecast(
    series: pd.DataFrame,
    forecast: pd.DataFrame,
    *,
    ax=None,
    language: str = "en",
    last: int = 104,
    events=None,
):
    """The last ``last`` weeks of revenue and the forecast with its interval.

    ``events``: one flag per row of ``series`` (e.g. ``calendar_regressors(...).any(axis=1)``),
    weeks with a holiday or promotion, marked with dots.
    """
    ax = _ax(ax, (8, 3.6))
    s = series.tail(last)
    ax.plot(s["week_start"], s["revenue"], color="k", lw=1, label=i18n.t("actual", language))
    if events is not None:
        flag = pd.Series(np.asarray(events, dtype=bool), index=series.index).loc[s.index]
        ax.plot(
            s.loc[flag, "week_start"],
            s.loc[flag, "revenue"],
            "o",
            color="#DD8452",
            ms=5,
            label=i18n.t("calendar_event", language),
        )
    start = series["week_start"].iloc[-1]
    weeks = start + pd.to_timedelta(7 * forecast["step"], unit="D")
    ax.plot(weeks, forecast["forecast"], color="#C44E52", label=i18n.t("predicted", language))
    ax.fill_between(weeks, forecast["lower"], forecast["upper"], color="#C44E52", alpha=0.2)
    ax.set_xlabel(i18n.t("week", language))
    ax.set_ylabel(i18n.t("revenue", language))
    ax.legend(fontsize="small")
    ax.set_title(i18n.t("title_revenue_forecast", language))
    return ax


def plot_stage_times(times: pd.DataFrame, *, ax=None, language: str = "en", unit: str = "h"):
    """Distribution of the time between stages (``stage_times(...)["times"]``), log scale."""
    ax = _ax(ax, (7, 3.2))
    steps = list(dict.fromkeys(times["step"]))
    data = [times.loc[times["step"] == s, "duration"].clip(lower=1e-3).to_numpy() for s in steps]
    ax.boxplot(data, orientation="horizontal", whis=(5, 95), showfliers=False)
    labels = [" → ".join(i18n.label(x, language) for x in s.split(" -> ")) for s in steps]
    ax.set_yticks(range(1, len(steps) + 1), labels)
    ax.set_xscale("log")
    ax.set_xlabel(f"{i18n.t('stage_time', language)} ({unit})")
    ax.set_title(i18n.t("title_stage_times", language))
    return ax


__all__.append("plot_stage_times")
