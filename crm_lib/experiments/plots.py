"""Plots of the experiment analyses: power, lift with CIs, sequential monitoring, Qini.

Every function takes ``ax=None`` (a new figure if not given), returns the axes, never calls
``plt.show()`` and takes every text through :mod:`crm_lib.i18n`, so ``language='zh'`` gives
a Chinese chart (call :func:`crm_lib.plotting.setup` first for the CJK font).
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from crm_lib.experiments._validate import require_columns
from crm_lib.i18n import check_language, label, t

__all__ = ["plot_lift_ci", "plot_peeking", "plot_power_curve", "plot_qini", "plot_sequential"]


def _ax(ax):
    if ax is None:
        _, ax = plt.subplots()
    return ax


def plot_power_curve(
    power_df: pd.DataFrame,
    *,
    ax=None,
    language: str = "en",
    target_power: float | None = 0.8,
):
    """Power against the sample size per arm, one line per effect size.

    Parameters
    ----------
    power_df : DataFrame
        Output of :func:`~crm_lib.experiments.power_curve` (``n_control, mde, power``).
    target_power : float, optional
        Draws a horizontal reference line (e.g. the planned 80%).
    """
    check_language(language)
    require_columns(power_df, ["n_control", "mde", "power"], "power_df")
    ax = _ax(ax)
    for mde, g in power_df.groupby("mde", sort=True):
        g = g.sort_values("n_control")
        ax.plot(g["n_control"], g["power"], marker=".", label=f"{mde:.3g}")
    if target_power is not None:
        ax.axhline(target_power, color="grey", ls="--", lw=1)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
    ax.set_xlabel(t("n_per_arm", language))
    ax.set_ylabel(t("power", language))
    ax.set_title(t("title_power_curve", language))
    ax.legend(title=t("mde", language), fontsize="small")
    return ax


def plot_lift_ci(
    result_df: pd.DataFrame,
    *,
    label_col: str | None = None,
    ax=None,
    language: str = "en",
    title: str = "title_lift_ci",
    percent: bool = False,
):
    """Forest plot: each row's difference (treatment - control) with its CI and a zero line.

    Parameters
    ----------
    result_df : DataFrame
        Rows with ``diff, ci_low, ci_high`` (any analysis result, or
        :func:`~crm_lib.experiments.effect_by_segment`).
    label_col : str, optional
        Row labels (translated with :func:`crm_lib.i18n.label`); default ``segment`` if
        present, else ``metric``.
    title : str
        i18n message key of the title.
    percent : bool
        Format the axis as percentage points (for conversion differences).
    """
    check_language(language)
    require_columns(result_df, ["diff", "ci_low", "ci_high"], "result_df")
    if label_col is None:
        label_col = "segment" if "segment" in result_df.columns else "metric"
    require_columns(result_df, [label_col], "result_df")
    ax = _ax(ax)
    df = result_df.reset_index(drop=True)
    y = np.arange(len(df))[::-1]
    diff, lo, hi = (df[c].to_numpy(dtype=float) for c in ("diff", "ci_low", "ci_high"))
    ax.errorbar(
        diff, y, xerr=[diff - lo, hi - diff], fmt="o", color=mpl.colormaps["tab10"](0), capsize=4
    )
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(y, [label(v, language) for v in df[label_col]])
    if percent:
        ax.xaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
    ax.set_xlabel(t("diff_ci", language))
    ax.set_title(t(title, language))
    return ax


def plot_sequential(
    monitoring_df: pd.DataFrame,
    *,
    ax=None,
    language: str = "en",
):
    """Sequential monitoring: the always-valid CI at each look, or a rejection boundary.

    Parameters
    ----------
    monitoring_df : DataFrame
        One of: :func:`~crm_lib.experiments.sequential_test` output (``look, diff, ci_low,
        ci_high``: the difference with its confidence sequence per look);
        :func:`~crm_lib.experiments.obrien_fleming_boundary` output (``look, z_boundary``,
        drawn as +/- boundary with the fixed-horizon 1.96 for comparison); or
        :func:`~crm_lib.experiments.msprt_boundary` output (``n_control, z_boundary``).
        A ``z`` column, if present, is drawn as the observed z path.
    """
    check_language(language)
    ax = _ax(ax)
    cols = set(monitoring_df.columns)
    blue = mpl.colormaps["tab10"](0)
    if {"look", "diff", "ci_low", "ci_high"} <= cols:
        df = monitoring_df
        ax.fill_between(
            df["look"],
            df["ci_low"],
            df["ci_high"],
            color=blue,
            alpha=0.25,
            label=t("always_valid_ci", language),
        )
        ax.plot(df["look"], df["diff"], color=blue, marker=".", label=t("diff", language))
        ax.axhline(0, color="grey", lw=1)
        ax.set_xlabel(t("look", language))
        ax.set_ylabel(t("diff", language))
    elif "z_boundary" in cols and ({"look"} <= cols or {"n_control"} <= cols):
        x_col = "look" if "look" in cols else "n_control"
        df = monitoring_df.sort_values(x_col)
        ax.plot(df[x_col], df["z_boundary"], color="C3", marker=".", label=t("boundary", language))
        ax.plot(df[x_col], -df["z_boundary"], color="C3", marker=".")
        ax.axhline(1.96, color="grey", ls="--", lw=1, label=t("fixed_horizon", language))
        ax.axhline(-1.96, color="grey", ls="--", lw=1)
        if "z" in cols:
            ax.plot(df[x_col], df["z"], color=blue, marker="o", label=t("observed_z", language))
        ax.set_xlabel(t("look" if x_col == "look" else "n_per_arm", language))
        ax.set_ylabel("z")
    else:
        raise ValueError(
            "monitoring_df must be the output of sequential_test (look, diff, ci_low, ci_high), "
            "obrien_fleming_boundary (look, z_boundary) or msprt_boundary (n_control, "
            f"z_boundary); got columns {sorted(cols)}"
        )
    ax.set_title(t("title_sequential", language))
    ax.legend(fontsize="small")
    return ax


def plot_qini(
    curve_df: pd.DataFrame,
    *,
    ax=None,
    language: str = "en",
    name: str | None = None,
):
    """Qini (or uplift) curve against the targeted share, with random targeting.

    Parameters
    ----------
    curve_df : DataFrame
        Output of :func:`~crm_lib.experiments.qini_curve` (``share, qini, random``) or
        :func:`~crm_lib.experiments.uplift_curve` (``share, uplift, random``).
    name : str, optional
        Legend entry of the model curve (shown as given).
    """
    check_language(language)
    col = "qini" if "qini" in curve_df.columns else "uplift"
    require_columns(curve_df, ["share", col, "random"], "curve_df")
    ax = _ax(ax)
    ax.plot(curve_df["share"], curve_df[col], label=name or t("model", language))
    ax.plot(
        curve_df["share"],
        curve_df["random"],
        color="grey",
        ls="--",
        label=t("random_targeting", language),
    )
    ax.axhline(0, color="grey", lw=0.5)
    ax.xaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
    ax.set_xlabel(t("targeted_share", language))
    ax.set_ylabel(t("incremental_responders", language))
    ax.set_title(t("title_qini" if col == "qini" else "title_uplift_curve", language))
    ax.legend(fontsize="small")
    return ax


def plot_peeking(peek_df: pd.DataFrame, *, ax=None, language: str = "en", alpha: float = 0.05):
    """False-positive rate of A/A tests against the number of looks: naive vs mSPRT.

    Parameters
    ----------
    peek_df : DataFrame
        Output of :func:`~crm_lib.experiments.peeking_simulation`.
    alpha : float
        Nominal level, drawn as a reference line.
    """
    check_language(language)
    require_columns(peek_df, ["look", "naive_false_positive", "msprt_false_positive"], "peek_df")
    ax = _ax(ax)
    ax.plot(
        peek_df["look"],
        peek_df["naive_false_positive"],
        marker="o",
        color="C3",
        label=t("naive_peeking", language),
    )
    ax.plot(
        peek_df["look"],
        peek_df["msprt_false_positive"],
        marker="o",
        color="C0",
        label=t("always_valid_test", language),
    )
    ax.axhline(alpha, color="grey", ls="--", lw=1, label=t("nominal_alpha", language))
    ax.set_ylim(0, None)
    ax.yaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
    ax.set_xlabel(t("look", language))
    ax.set_ylabel(t("false_positive_rate", language))
    ax.set_title(t("title_peeking", language))
    ax.legend(fontsize="small")
    return ax
