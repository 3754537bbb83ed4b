"""The comparison chart of the attribution models."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from crm_lib.i18n import label, t

__all__ = ["plot_shares"]


def plot_shares(
    shares: pd.DataFrame,
    *,
    truth: dict | None = None,
    ax=None,
    language: str = "en",
):
    """Grouped bars: each channel's share under each model, with interval whiskers.

    Parameters
    ----------
    shares : DataFrame
        ``model, channel, share`` and optionally ``ci_low, ci_high``
        (:func:`crm_lib.attribution.bootstrap_shares`).
    truth : dict, optional
        ``truth.studies["attribution"]``: its ``true_shares`` are drawn as black marks.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4))
    models = list(dict.fromkeys(shares["model"]))
    channels = list(dict.fromkeys(shares["channel"]))
    width = 0.8 / len(models)
    x = np.arange(len(channels))
    colours = mpl.colormaps["tab10"]
    for i, m in enumerate(models):
        g = shares[shares["model"] == m].set_index("channel").reindex(channels)
        err = None
        if {"ci_low", "ci_high"} <= set(g.columns):
            err = np.vstack([g["share"] - g["ci_low"], g["ci_high"] - g["share"]]).clip(0)
        ax.bar(
            x - 0.4 + (i + 0.5) * width,
            g["share"],
            width,
            yerr=err,
            capsize=1.5,
            error_kw={"elinewidth": 0.7},
            label=label(m, language),
            color=colours(i % 10),
        )
    if truth is not None:
        true = [truth["true_shares"].get(c, np.nan) for c in channels]
        ax.scatter(
            x, true, marker="_", s=900, color="black", zorder=5, label=label("truth", language)
        )
    ax.set_xticks(x, [label(c, language) for c in channels])
    ax.set_xlabel(t("channel", language))
    ax.set_ylabel(t("share", language))
    ax.yaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
    ax.set_title(t("title_attribution_shares", language))
    ax.legend(fontsize="small", ncols=2, frameon=False)
    return ax
