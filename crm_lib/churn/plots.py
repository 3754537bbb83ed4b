"""Charts of the churn study; each takes ``ax=`` and ``language=`` and returns the axes."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from crm_lib.i18n import check_language, label, t

__all__ = [
    "plot_drivers",
    "plot_gain",
    "plot_inter_purchase",
    "plot_kaplan_meier",
    "plot_reliability",
    "plot_retention_heatmap",
    "plot_roc_pr",
    "plot_sbg_projection",
]


def _ax(ax):
    if ax is None:
        _, ax = plt.subplots()
    return ax


def plot_kaplan_meier(
    curves: pd.DataFrame, *, ax=None, language: str = "en", time_label="tenure_months"
):
    """Step curves of :func:`crm_lib.churn.kaplan_meier` with their intervals."""
    check_language(language)
    ax = _ax(ax)
    for name, g in curves.groupby("group", sort=True):
        line = ax.step(g["time"], g["survival"], where="post", label=label(name, language))
        ax.fill_between(g["time"], g["ci_low"], g["ci_high"], step="post", alpha=0.15,
                        color=line[0].get_color())  # fmt: skip
    ax.set_xlabel(t(time_label, language))
    ax.set_ylabel(t("still_active", language))
    ax.yaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize="small")
    ax.set_title(t("title_kaplan_meier", language))
    return ax


def plot_roc_pr(y, scores: Mapping[str, np.ndarray], *, axes=None, language: str = "en"):
    """ROC (left) and precision-recall (right) curves of several scores on one holdout."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    check_language(language)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    y = np.asarray(y, dtype=int)
    for name, p in scores.items():
        fpr, tpr, _ = roc_curve(y, p)
        axes[0].plot(fpr, tpr, label=label(name, language))
        prec, rec, _ = precision_recall_curve(y, p)
        axes[1].plot(rec, prec, label=label(name, language))
    axes[0].plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    axes[1].axhline(y.mean(), ls="--", color="grey", lw=1)
    axes[0].set_xlabel(t("false_positive_rate", language))
    axes[0].set_ylabel(t("true_positive_rate", language))
    axes[1].set_xlabel(t("recall_axis", language))
    axes[1].set_ylabel(t("precision_axis", language))
    axes[0].set_title(t("title_roc", language))
    axes[1].set_title(t("title_pr", language))
    axes[0].legend(fontsize="small")
    return axes


def plot_reliability(tables: Mapping[str, pd.DataFrame], *, ax=None, language: str = "en"):
    """Reliability curves (:func:`crm_lib.churn.reliability_table`): observed churn rate
    against the mean predicted probability per bin; the diagonal is perfect calibration."""
    check_language(language)
    ax = _ax(ax)
    for name, tab in tables.items():
        ax.plot(
            tab["mean_predicted"], tab["observed_rate"], marker="o", label=label(name, language)
        )
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    ax.set_xlabel(t("mean_predicted", language))
    ax.set_ylabel(t("observed_rate", language))
    ax.set_title(t("title_reliability", language))
    ax.legend(fontsize="small")
    return ax


def plot_gain(tables: Mapping[str, pd.DataFrame], *, ax=None, language: str = "en"):
    """Cumulative gain (:func:`crm_lib.churn.lift_table`): share of churners found when
    contacting the top share of customers by score."""
    check_language(language)
    ax = _ax(ax)
    for name, tab in tables.items():
        ax.plot(np.r_[0, tab["cumulative_share"]], np.r_[0, tab["cumulative_gain"]], marker=".",
                label=label(name, language))  # fmt: skip
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    ax.xaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
    ax.set_xlabel(t("customers_contacted", language))
    ax.set_ylabel(t("churners_found", language))
    ax.set_title(t("title_gain", language))
    ax.legend(fontsize="small")
    return ax


def plot_drivers(drivers: pd.DataFrame, *, ax=None, language: str = "en"):
    """Permutation importance with its interval (:func:`crm_lib.churn.permutation_drivers`)."""
    check_language(language)
    ax = _ax(ax)
    d = drivers.iloc[::-1]
    y = np.arange(len(d))
    ax.barh(y, d["importance"], color=mpl.colormaps["tab10"](0), alpha=0.8)
    ax.errorbar(d["importance"], y, xerr=[d["importance"] - d["ci_low"], d["ci_high"] - d["importance"]],
                fmt="none", color="black", lw=1)  # fmt: skip
    ax.set_yticks(y, [label(f, language) for f in d["feature"]])
    ax.set_xlabel(t("auc_drop", language))
    ax.set_title(t("title_drivers", language))
    return ax


def plot_retention_heatmap(
    pivot: pd.DataFrame,
    *,
    ax=None,
    language: str = "en",
    title: str = "title_retention",
    xlabel: str = "months_since",
):
    """Heat map of a cohort x months-since table (:func:`crm_lib.churn.retention_pivot`)."""
    check_language(language)
    ax = _ax(ax)
    im = ax.imshow(pivot.to_numpy(dtype=float), aspect="auto", cmap="viridis", vmin=0,
                   vmax=min(1.0, np.nanmax(pivot.to_numpy(dtype=float)[:, 1:])) if pivot.shape[1] > 1 else 1.0)  # fmt: skip
    step = max(1, len(pivot) // 12)
    ax.set_yticks(np.arange(0, len(pivot), step), pivot.index[::step])
    ax.set_xlabel(t(xlabel, language))
    ax.set_ylabel(t("cohort", language))
    ax.grid(False)
    ax.set_title(t(title, language))
    plt.colorbar(im, ax=ax, fraction=0.04)
    return ax


def plot_sbg_projection(
    curves: pd.DataFrame,
    *,
    ax=None,
    language: str = "en",
    truth=None,
    xlabel: str = "months_since_start",
):
    """Observed survival per cohort (dots) and its sBG projection (lines, band)."""
    check_language(language)
    ax = _ax(ax)
    for k, (name, g) in enumerate(curves.groupby("cohort", sort=True)):
        color = mpl.colormaps["tab10"](k % 10)
        ax.plot(
            g["period"],
            g["survival"],
            color=color,
            label=f"{name:%Y-%m}" if hasattr(name, "year") else str(name),
        )
        ax.fill_between(g["period"], g["ci_low"], g["ci_high"], color=color, alpha=0.12)
        ax.plot(g["period"], g["observed"], "o", color=color, ms=3)
    if truth is not None:
        ax.plot(
            truth["month"],
            truth["survival"],
            color="black",
            ls="--",
            lw=1.5,
            label=t("truth", language),
        )
    ax.yaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
    ax.set_xlabel(t(xlabel, language))
    ax.set_ylabel(t("still_active", language))
    ax.set_title(t("title_sbg", language))
    ax.legend(fontsize="x-small", ncol=2)
    return ax


def plot_inter_purchase(days: pd.Series, *, ax=None, language: str = "en", bins: int = 40):
    """Histogram of days between consecutive orders (log-spaced bins) with the median."""
    check_language(language)
    ax = _ax(ax)
    d = np.asarray(days, dtype=float)
    d = d[d > 0]
    edges = np.geomspace(max(d.min(), 0.1), d.max(), bins + 1) if len(d) else bins
    ax.hist(d, bins=edges, color=mpl.colormaps["tab10"](0), alpha=0.8)
    ax.set_xscale("log")
    if len(d):
        ax.axvline(
            np.median(d),
            color="black",
            ls="--",
            lw=1,
            label=f"{t('median_stat', language)}: {np.median(d):.0f}",
        )
        ax.legend(fontsize="small")
    ax.set_xlabel(t("days_between_orders", language))
    ax.set_ylabel(t("count", language))
    ax.set_title(t("title_inter_purchase", language))
    return ax
