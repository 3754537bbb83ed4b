"""All models side by side, their bootstrap intervals, the truth and a budget what-if."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from crm_lib.attribution import models as _m
from crm_lib.attribution.journeys import Journeys

__all__ = ["attribute", "bootstrap_shares", "budget_what_if", "channel_costs", "compare_truth"]


def _credits(j: Journeys, conv, nulls, empty_conv, empty_n, models, direct_channel):
    """Credits per model for a batch of counts: {model: B x k}."""
    out = {}
    for model in models:
        if model in _m.HEURISTICS:
            out[model] = conv @ _m._credit_matrix(j, model, direct_channel)
        elif model == "markov":
            out[model] = _m._markov_batch(j, conv, nulls)
        elif model in ("shapley_path", "shapley_incremental"):
            value = model.removeprefix("shapley_")
            out[model] = _m._shapley_batch(j, conv, nulls, empty_conv, empty_n, value)
        else:
            raise ValueError(f"unknown model {model!r}; one of {', '.join(_m.MODELS)}")
    return out


def _shares(credit: np.ndarray) -> np.ndarray:
    s = credit.sum(axis=-1, keepdims=True)
    return np.divide(credit, s, out=np.full(credit.shape, np.nan), where=s > 0)


def attribute(
    journeys: Journeys,
    models: Sequence[str] = _m.MODELS,
    *,
    direct_channel: str = "direct",
) -> pd.DataFrame:
    """Every model's credited conversions and share per channel (tidy).

    Returns
    -------
    DataFrame
        ``model, channel, conversions, share``; shares sum to 1 per model.
    """
    j = journeys
    credits = _credits(j, *j.counts(), models, direct_channel)
    rows = [
        pd.DataFrame(
            {"model": m, "channel": j.channels, "conversions": c[0], "share": _shares(c)[0]}
        )
        for m, c in credits.items()
    ]
    return pd.concat(rows, ignore_index=True)


def bootstrap_shares(
    journeys: Journeys,
    models: Sequence[str] = _m.MODELS,
    *,
    n_boot: int = 200,
    level: float = 0.95,
    direct_channel: str = "direct",
    random_state: int | None = 0,
) -> pd.DataFrame:
    """Percentile bootstrap intervals of every model's channel shares, over customers.

    A replicate draws as many customers as there are, with replacement: since a
    customer is one journey (a distinct path and an outcome) or one customer without a
    touch, the replicate is a multinomial draw of the counts of these units, and every
    model is refitted on the re-weighted distinct paths (no journey is rebuilt). The
    time-decay model keeps each path's mean credit per conversion (the spread of touch
    times within a path is not resampled).

    Returns
    -------
    DataFrame
        ``model, channel, share, ci_low, ci_high, se`` (``share``: the full-data share).
    """
    if n_boot < 2:
        raise ValueError("n_boot must be at least 2")
    j = journeys
    rng = np.random.default_rng(random_state)
    P = len(j.paths)
    units = np.concatenate(
        [
            j.paths["conversions"].to_numpy(float),
            j.paths["nulls"].to_numpy(float),
            [j.empty_conversions, j.empty_journeys - j.empty_conversions],
        ]
    )
    n = int(units.sum())
    draws = rng.multinomial(n, units / units.sum(), size=n_boot).astype(float)
    conv, nulls = draws[:, :P], draws[:, P : 2 * P]
    empty_conv = draws[:, 2 * P]
    empty_n = draws[:, 2 * P] + draws[:, 2 * P + 1]
    boot = _credits(j, conv, nulls, empty_conv, empty_n, models, direct_channel)
    point = attribute(j, models, direct_channel=direct_channel)
    alpha = (1 - level) / 2
    rows = []
    for m, c in boot.items():
        s = _shares(c)
        rows.append(
            pd.DataFrame(
                {
                    "model": m,
                    "channel": j.channels,
                    "ci_low": np.nanquantile(s, alpha, axis=0),
                    "ci_high": np.nanquantile(s, 1 - alpha, axis=0),
                    "se": np.nanstd(s, axis=0, ddof=1),
                }
            )
        )
    out = point[["model", "channel", "share"]].merge(
        pd.concat(rows, ignore_index=True), on=["model", "channel"], how="left"
    )
    out.attrs["n_boot"] = n_boot
    out.attrs["level"] = level
    return out


def compare_truth(shares: pd.DataFrame, truth: dict) -> pd.DataFrame:
    """Each model's shares next to the true shares of the simulated world.

    Returns
    -------
    DataFrame
        ``model, mean_abs_error, rank_correlation, same_order`` (Spearman correlation of
        the channel ranks; ``same_order``: the model ranks all channels as the truth does).
    """
    true = pd.Series(truth["true_shares"], name="true_share")
    rows = []
    for model, g in shares.groupby("model", sort=False):
        s = g.set_index("channel")["share"].reindex(true.index)
        rows.append(
            {
                "model": model,
                "mean_abs_error": float((s - true).abs().mean()),
                "rank_correlation": float(s.rank().corr(true.rank())),
                "same_order": list(s.sort_values(ascending=False, kind="stable").index)
                == list(truth["true_order"]),
            }
        )
    return pd.DataFrame(rows)


def channel_costs(
    touchpoints: pd.DataFrame, *, channel_col: str = "channel", cost_col: str = "cost"
) -> pd.Series:
    """Total media cost per channel (missing costs count as 0)."""
    return touchpoints.groupby(channel_col, observed=True)[cost_col].sum(min_count=1).fillna(0.0)


def budget_what_if(
    shares: pd.DataFrame, costs: pd.Series, *, model: str = "markov", shift: float = 0.1
) -> pd.DataFrame:
    """A **what-if**, not a forecast: move ``shift`` of the budget of the channel with the
    highest cost per attributed conversion to the one with the lowest.

    Assumes each channel's attributed conversions scale in proportion to its spend (a
    constant cost per conversion, no saturation, no interaction), and that the model's
    credit is causal: neither is tested by the data.

    Returns
    -------
    DataFrame
        ``channel, cost, conversions, cost_per_conversion, new_cost, new_conversions``.
    """
    g = shares[shares["model"] == model].set_index("channel")["conversions"]
    c = costs.reindex(g.index).fillna(0.0)
    cpa = np.divide(c, g, out=np.full(len(g), np.inf), where=g > 0)
    out = pd.DataFrame({"cost": c, "conversions": g, "cost_per_conversion": cpa})
    paid = out[out["cost"] > 0]
    new_cost = out["cost"].copy()
    if len(paid) >= 2:
        worst, best = paid["cost_per_conversion"].idxmax(), paid["cost_per_conversion"].idxmin()
        moved = shift * out.loc[worst, "cost"]
        new_cost[worst] -= moved
        new_cost[best] += moved
    out["new_cost"] = new_cost
    out["new_conversions"] = np.where(
        out["cost"] > 0,
        out["conversions"] * out["new_cost"] / out["cost"].where(out["cost"] > 0, 1),
        out["conversions"],
    )
    out.attrs["model"] = model
    out.attrs["shift"] = shift
    return out.reset_index()
