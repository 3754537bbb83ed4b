"""Charts of the personalization study; each takes ``ax=`` and returns it."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from crm_lib.i18n import label, t

__all__ = ["plot_recommenders", "plot_rules"]


def plot_rules(
    rules: pd.DataFrame, *, min_support: float, ax=None, language: str = "en"
) -> plt.Axes:
    """Support (log scale) against lift of every rule; the dashed line is ``min_support``.

    Rules left of the line rest on few baskets: their lifts scatter widely.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    kept = rules["support"] >= min_support
    blue, grey = mpl.colormaps["tab10"](0), "0.6"
    ax.scatter(rules.loc[~kept, "support"], rules.loc[~kept, "lift"], s=8, color=grey, alpha=0.6)
    ax.scatter(rules.loc[kept, "support"], rules.loc[kept, "lift"], s=14, color=blue)
    ax.axvline(min_support, color="k", linestyle="--", linewidth=1)
    ax.axhline(1.0, color="0.3", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel(t("support", language))
    ax.set_ylabel(t("lift", language))
    ax.set_title(t("title_rules", language))
    return ax


def plot_recommenders(
    evaluation: pd.DataFrame, *, metric: str = "hit_rate", ax=None, language: str = "en"
) -> plt.Axes:
    """One bar per method with its bootstrap interval (:func:`evaluate_recommenders`)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    e = evaluation[evaluation["metric"] == metric]
    x = np.arange(len(e))
    err = np.vstack([e["value"] - e["ci_low"], e["ci_high"] - e["value"]])
    ax.bar(x, e["value"], color=mpl.colormaps["tab10"](0), yerr=err, capsize=4)
    ax.set_xticks(x, [label(m, language) for m in e["method"]])
    ax.set_ylabel(t(metric, language))
    ax.yaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
    ax.set_title(t("title_recommenders", language))
    return ax
