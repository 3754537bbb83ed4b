"""Customer value: historical CLV, Pareto / ABC value tiers, tier migration, lifecycle stages.

All functions take and return tidy DataFrames with one row per customer:

- :func:`historical_clv` - net revenue to date per customer (from the order-line log);
- :func:`period_value` - net revenue per customer in a time window (for two periods);
- :func:`pareto_curve`, :func:`top_share` - how concentrated the value is;
- :func:`value_tiers` - A/B/C tiers by cumulative value share (80 / 95 / 100%);
- :func:`tier_migration` - the same tier rule in two periods, and who moved;
- :func:`lifecycle_stages` - new / active / at risk / lapsed by day rules;
- :func:`plot_pareto`, :func:`plot_migration` - the two charts.

>>> import pandas as pd
>>> values = pd.DataFrame({"customer_id": list("abcde"), "value": [50, 30, 10, 5, 5]})
>>> value_tiers(values, value_col="value")["tier"].tolist()
['A', 'A', 'B', 'B', 'C']
>>> top_share(values, value_col="value")
0.5
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from crm_lib.contract.frames import register_frame
from crm_lib.i18n import check_language, label, t

__all__ = [
    "LIFECYCLE_STAGES",
    "TierMigration",
    "historical_clv",
    "lifecycle_stages",
    "pareto_curve",
    "period_value",
    "plot_migration",
    "plot_pareto",
    "stage_table",
    "tier_migration",
    "tier_table",
    "top_share",
    "value_tiers",
]

LIFECYCLE_STAGES = ("new", "active", "at_risk", "lapsed")
"""Lifecycle stages in the order of :func:`lifecycle_stages`' rules."""


def _check_frame(data: Any, cols: Sequence[str], name: str) -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, not {type(data).__name__}")
    for col in cols:
        if col not in data.columns:
            raise ValueError(
                f"{name} has no column {col!r}; available columns: "
                f"{', '.join(map(str, data.columns))} (name yours with customer_col= / "
                "value_col= / date_col=)"
            )


def _values(data: pd.DataFrame, customer_col: str, value_col: str, name: str) -> pd.DataFrame:
    """Validated ``customer_col, value`` sorted by customer id."""
    _check_frame(data, [customer_col, value_col], name)
    ids = data[customer_col]
    if ids.isna().any():
        raise ValueError(f"{name}.{customer_col} has missing ids: drop or fill them first")
    if ids.duplicated().any():
        raise ValueError(
            f"{name}.{customer_col} must be unique (one row per customer); "
            f"{ids[ids.duplicated()].iloc[0]!r} appears more than once: aggregate first"
        )
    value = pd.to_numeric(data[value_col], errors="coerce").astype(float)
    if value.isna().any():
        raise ValueError(
            f"{int(value.isna().sum())} customers of {name} have a missing or non-numeric "
            f"{value_col}; fill them (0 for no purchase) or drop them first"
        )
    out = pd.DataFrame({customer_col: ids.to_numpy(), "value": value.to_numpy()})
    return out.sort_values(customer_col, kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------ values


def historical_clv(
    transactions: Any,
    *,
    observation_end: Any = None,
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str = "amount",
    order_col: str | None = "order_id",
    return_col: str | None = "original_order_id",
    engine: str = "duckdb",
    con: Any = None,
) -> pd.DataFrame:
    """Historical customer lifetime value: net revenue of each customer to date.

    Parameters
    ----------
    transactions : DataFrame, Parquet path or table name
        The order-line log, as in :func:`crm_lib.value.customer_summary`.
    observation_end : date or timestamp, optional
        Count orders up to this time (default: the latest in the log).
    customer_col, date_col, amount_col, order_col, return_col, engine, con
        As in :func:`crm_lib.value.customer_summary`.

    Returns
    -------
    pandas.DataFrame
        Sorted by customer id, one row per customer with a purchase:
        ``customer_id, historical_clv, orders, first_purchase, last_purchase``.

    Notes
    -----
    :math:`\\text{CLV}^{hist}_i = \\sum_{o \\in \\text{orders}_i} (\\text{sales}_o -
    \\text{returns}_o)`: revenue net of the returns of those orders (a return is
    charged to the order it references, as ``returns="net"`` of
    :func:`crm_lib.value.customer_summary`; returns of orders outside the log are
    ignored). It is revenue, not margin, and undiscounted; it looks back only - the
    *predicted* value of the future comes from :class:`crm_lib.value.BetaGeoModel` and
    :class:`crm_lib.value.GammaGammaModel`.

    References
    ----------
    Gupta, S., et al. (2006). Modeling customer lifetime value. Journal of Service
    Research, 9(2), 139-155.
    """
    from crm_lib.value.summary import customer_summary

    summary = customer_summary(
        transactions,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        order_col=order_col,
        return_col=return_col,
        observation_end=observation_end,
        returns="net",
        engine=engine,
        con=con,
    )
    return pd.DataFrame(
        {
            customer_col: summary[customer_col],
            "historical_clv": summary["monetary_total"].astype(float),
            "orders": summary["frequency"].astype(np.int64) + 1,
            "first_purchase": summary["first_purchase"],
            "last_purchase": summary["last_purchase"],
        }
    )


def period_value(
    transactions: pd.DataFrame,
    *,
    start: Any,
    end: Any,
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Net revenue of each customer in the window ``[start, end)`` (DuckDB SQL).

    Parameters
    ----------
    transactions : pandas.DataFrame
        Order lines; return lines have negative amounts.
    start, end : date or timestamp
        Window; naive values are UTC.
    customer_col, date_col, amount_col : str
        Columns of ``transactions``.

    Returns
    -------
    pandas.DataFrame
        Sorted by customer id, customers with at least one line in the window:
        ``customer_id, value`` (sum of the line amounts: sales minus returns booked in the
        window, the cash view of a period).
    """
    _check_frame(transactions, [customer_col, date_col, amount_col], "transactions")
    lo, hi = (_utc(v, n) for v, n in ((start, "start"), (end, "end")))
    if hi <= lo:
        raise ValueError(f"end ({hi}) must be after start ({lo})")
    con = duckdb.connect()
    try:
        register_frame(con, "tx", transactions[[customer_col, date_col, amount_col]])
        cid, date, amount = (_quote(c) for c in (customer_col, date_col, amount_col))
        sql = f"""
            SELECT {cid} AS cid, SUM(CAST({amount} AS DOUBLE)) AS value
            FROM tx
            WHERE {date} >= ? AND {date} < ?
            GROUP BY 1 ORDER BY 1
        """
        out = con.execute(sql, [lo.to_pydatetime(), hi.to_pydatetime()]).df()
    finally:
        con.close()
    return out.rename(columns={"cid": customer_col}).reset_index(drop=True)


def _quote(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _utc(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r} is not a date or timestamp") from None
    if ts is pd.NaT:
        raise ValueError(f"{name} is missing (NaT): pass a date or timestamp")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


# ------------------------------------------------------------------ concentration, tiers


def _ranked(values: pd.DataFrame, customer_col: str) -> pd.DataFrame:
    """Sorted by value (descending, ties by customer id) with cumulative shares."""
    out = values.sort_values(["value", customer_col], ascending=[False, True], kind="stable")
    out = out.reset_index(drop=True)
    positive = out["value"].clip(lower=0).to_numpy()
    total = positive.sum()
    cum = np.cumsum(positive)
    n = len(out)
    out["rank"] = np.arange(1, n + 1)
    out["cum_customer_share"] = out["rank"] / n
    out["cum_value_share"] = cum / total if total > 0 else np.nan
    out["_before"] = (cum - positive) / total if total > 0 else np.nan
    return out


def pareto_curve(
    values: pd.DataFrame, *, customer_col: str = "customer_id", value_col: str = "historical_clv"
) -> pd.DataFrame:
    """Cumulative share of value against cumulative share of customers (Lorenz-style).

    Returns
    -------
    pandas.DataFrame
        ``cum_customer_share, cum_value_share``, starting at (0, 0), customers ranked by
        decreasing value (negative values count as 0).
    """
    ranked = _ranked(_values(values, customer_col, value_col, "values"), customer_col)
    start = pd.DataFrame({"cum_customer_share": [0.0], "cum_value_share": [0.0]})
    return pd.concat([start, ranked[["cum_customer_share", "cum_value_share"]]], ignore_index=True)


def top_share(
    values: pd.DataFrame,
    *,
    top: float = 0.2,
    customer_col: str = "customer_id",
    value_col: str = "historical_clv",
) -> float:
    """Share of the total value that the top ``top`` fraction of customers hold.

    Notes
    -----
    The Pareto curve :math:`L(p)` (cumulative value share of the top share *p* of
    customers) linearly interpolated at ``p = top``: exact when ``top * n`` is a whole
    number, e.g. 1 of 5 customers for the top 20%. Negative values count as 0. The "80/20
    rule" says :math:`L(0.2) \\approx 0.8`.
    """
    if not 0 < top <= 1:
        raise ValueError(f"top must be a share in (0, 1], e.g. 0.2 for the top 20%, not {top!r}")
    curve = pareto_curve(values, customer_col=customer_col, value_col=value_col)
    return float(np.interp(top, curve["cum_customer_share"], curve["cum_value_share"]))


def _check_tiers(cutoffs: Sequence[float], tiers: Sequence[str]) -> None:
    cut = np.asarray(cutoffs, dtype=float)
    if len(tiers) != len(cut) + 1:
        raise ValueError(
            f"tiers needs one name more than cutoffs ({len(cut)} cutoffs -> {len(cut) + 1} "
            f"tiers), got {len(tiers)} names"
        )
    if cut.size and (np.any(np.diff(cut) <= 0) or cut[0] <= 0 or cut[-1] >= 1):
        raise ValueError(
            f"cutoffs must be increasing shares strictly between 0 and 1, e.g. (0.8, 0.95), "
            f"not {tuple(cutoffs)}"
        )


def value_tiers(
    values: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    value_col: str = "historical_clv",
    cutoffs: Sequence[float] = (0.8, 0.95),
    tiers: Sequence[str] = ("A", "B", "C"),
    none_tier: str = "none",
) -> pd.DataFrame:
    """ABC value tiers by cumulative share of value.

    Parameters
    ----------
    values : pandas.DataFrame
        One row per customer with ``customer_col`` and ``value_col``.
    cutoffs : sequence of float
        Cumulative value shares that close each tier but the last (default 80%, 95%).
    tiers : sequence of str
        Tier names, best first; one more than ``cutoffs``.
    none_tier : str
        Tier of customers whose value is zero or negative.

    Returns
    -------
    pandas.DataFrame
        Ranked by decreasing value (ties by customer id): ``customer_id, value, rank,
        cum_customer_share, cum_value_share, tier``.

    Notes
    -----
    Rank customers by value :math:`v_{(1)} \\ge v_{(2)} \\ge \\dots` and let
    :math:`S_{i-1} = \\sum_{j < i} v_{(j)}^+ / \\sum_j v_{(j)}^+` be the share held by
    everyone ranked above customer *i*. Customer *i* is in the first tier whose cutoff
    exceeds :math:`S_{i-1}`: tier A while the customers above hold less than 80%, so the
    customer who crosses 80% is still A and tier A holds at least 80% of the value (and is
    never empty). Customers with :math:`v \\le 0` are ``none_tier``.

    References
    ----------
    Juran, J. M. (1951). Quality Control Handbook. McGraw-Hill (the Pareto principle).
    """
    _check_tiers(cutoffs, tiers)
    ranked = _ranked(_values(values, customer_col, value_col, "values"), customer_col)
    before = ranked["_before"].to_numpy()
    idx = np.searchsorted(np.asarray(cutoffs, dtype=float), before, side="right")
    names = np.asarray(list(tiers), dtype=object)
    tier = names[np.minimum(idx, len(names) - 1)] if len(ranked) else np.array([], dtype=object)
    ranked["tier"] = np.where(ranked["value"].to_numpy() > 0, tier, none_tier)
    ranked["tier"] = ranked["tier"].astype(str)
    return ranked.drop(columns="_before")


def tier_table(tiers: pd.DataFrame) -> pd.DataFrame:
    """Customers and value per tier of :func:`value_tiers` (in the order of the ranking).

    Returns
    -------
    pandas.DataFrame
        One row per tier: ``tier, customers, customer_share, total_value, value_share,
        mean_value``. Shares sum to one (value shares over the positive values).
    """
    _check_frame(tiers, ["tier", "value"], "tiers")
    order = list(dict.fromkeys(tiers["tier"]))
    g = tiers.groupby("tier", sort=False)
    out = pd.DataFrame({"customers": g.size(), "total_value": g["value"].sum()}).reindex(order)
    out["customer_share"] = out["customers"] / out["customers"].sum()
    positive = tiers["value"].clip(lower=0).sum()
    out["value_share"] = out["total_value"].clip(lower=0) / positive if positive > 0 else np.nan
    out["mean_value"] = out["total_value"] / out["customers"]
    out = out.rename_axis("tier").reset_index()
    cols = ["tier", "customers", "customer_share", "total_value", "value_share", "mean_value"]
    return out[cols]


# ------------------------------------------------------------------ migration


@dataclass
class TierMigration:
    """Value tiers in two periods and the moves between them.

    Attributes
    ----------
    customers : pandas.DataFrame
        One row per customer (sorted by id): ``customer_id, value_before, value_after,
        tier_before, tier_after, movement`` (``up``, ``same`` or ``down``).
    counts : pandas.DataFrame
        Transition counts: index ``tier_before``, columns ``tier_after``, tiers best first
        then the no-purchase tier.
    shares : pandas.DataFrame
        Row shares of ``counts`` (each row with customers sums to one; empty rows NaN).
    order : list of str
        The tiers, best first.
    """

    customers: pd.DataFrame
    counts: pd.DataFrame
    shares: pd.DataFrame
    order: list[str]

    def summary(self) -> pd.DataFrame:
        """Customers who moved ``up``, stayed (``same``) and slipped (``down``), with shares."""
        counts = self.customers["movement"].value_counts().reindex(["up", "same", "down"])
        counts = counts.fillna(0).astype(np.int64)
        return pd.DataFrame(
            {
                "movement": counts.index,
                "customers": counts.to_numpy(),
                "customer_share": counts.to_numpy() / max(int(counts.sum()), 1),
            }
        )


def tier_migration(
    before: pd.DataFrame,
    after: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    value_col: str = "value",
    cutoffs: Sequence[float] = (0.8, 0.95),
    tiers: Sequence[str] = ("A", "B", "C"),
    none_tier: str = "none",
) -> TierMigration:
    """Transition matrix of value tiers between two periods.

    Parameters
    ----------
    before, after : pandas.DataFrame
        One row per customer with ``customer_col`` and ``value_col`` in each period
        (e.g. two calls of :func:`period_value`). A customer missing from one period has
        value 0 there (tier ``none_tier``).
    customer_col, value_col : str
    cutoffs, tiers, none_tier
        The tier rule of :func:`value_tiers`, applied to each period separately (each
        period's tiers are relative to that period's total).

    Returns
    -------
    TierMigration

    Notes
    -----
    Counts :math:`N_{jk}` = customers in tier *j* before and *k* after; row shares
    :math:`P_{jk} = N_{jk} / \\sum_k N_{jk}` estimate the probability of moving from *j*
    to *k* (a Markov transition matrix, as in Pfeifer & Carraway, 2000). ``up`` means a
    better tier after (``none`` is the worst).

    References
    ----------
    Pfeifer, P. E., & Carraway, R. L. (2000). Modeling customer relationships as Markov
    chains. Journal of Interactive Marketing, 14(2), 43-55.
    """
    _check_tiers(cutoffs, tiers)
    if none_tier in tiers:
        raise ValueError(f"none_tier={none_tier!r} must differ from the tier names {tiers}")
    b = _values(before, customer_col, value_col, "before")
    a = _values(after, customer_col, value_col, "after")
    ids = pd.Index(b[customer_col]).union(pd.Index(a[customer_col]))
    ids = pd.Index(np.sort(ids.to_numpy()), name=customer_col)
    kw = {"customer_col": customer_col, "value_col": "value", "cutoffs": cutoffs}
    kw |= {"tiers": tiers, "none_tier": none_tier}
    out = pd.DataFrame(index=ids)
    for name, frame in (("before", b), ("after", a)):
        full = frame.set_index(customer_col)["value"].reindex(ids, fill_value=0.0)
        tiered = value_tiers(full.rename("value").reset_index(), **kw).set_index(customer_col)
        out[f"value_{name}"] = full
        out[f"tier_{name}"] = tiered["tier"].reindex(ids)
    order = [*tiers, none_tier]
    rank = {name: i for i, name in enumerate(order)}
    rb, ra = out["tier_before"].map(rank), out["tier_after"].map(rank)
    out["movement"] = np.select([ra < rb, ra > rb], ["up", "down"], default="same")
    out["movement"] = out["movement"].astype(str)
    counts = pd.crosstab(
        pd.Categorical(out["tier_before"], categories=order),
        pd.Categorical(out["tier_after"], categories=order),
        dropna=False,
    ).reindex(index=order, columns=order, fill_value=0)
    counts.index.name, counts.columns.name = "tier_before", "tier_after"
    counts = counts.astype(np.int64)
    row = counts.sum(axis=1)
    shares = counts.div(row.where(row > 0), axis=0)
    return TierMigration(out.reset_index(), counts, shares, order)


# ------------------------------------------------------------------ lifecycle


def lifecycle_stages(
    summary: pd.DataFrame,
    *,
    observation_end: Any = None,
    customer_col: str = "customer_id",
    first_col: str = "first_purchase",
    last_col: str = "last_purchase",
    new_days: float = 90,
    active_days: float = 90,
    at_risk_days: float = 180,
) -> pd.DataFrame:
    """Lifecycle stage of each customer by rules on days since first and last purchase.

    Parameters
    ----------
    summary : pandas.DataFrame
        One row per customer with first and last purchase timestamps
        (:func:`crm_lib.value.customer_summary` or :func:`historical_clv`).
    observation_end : date or timestamp, optional
        "Today" of the analysis (default: the latest last purchase).
    new_days, active_days, at_risk_days : float
        The rules, applied in this order:

        1. ``new``: first purchase less than ``new_days`` ago;
        2. ``active``: last purchase less than ``active_days`` ago;
        3. ``at_risk``: last purchase less than ``at_risk_days`` ago;
        4. ``lapsed``: otherwise.

    Returns
    -------
    pandas.DataFrame
        Sorted by customer id: ``customer_id, days_since_first, days_since_last, stage``.

    Notes
    -----
    Day counts are :math:`(\\tau - t)/1\\,\\text{day}` as decimals. The thresholds are a
    business convention and should follow the purchase cycle: with a typical gap of
    *g* days between orders, "active" within about 2-3 *g* is common; for a model-based
    alternative use :meth:`crm_lib.value.BetaGeoModel.prob_alive`.
    """
    _check_frame(summary, [customer_col, first_col, last_col], "summary")
    if not 0 < active_days < at_risk_days or new_days <= 0:
        raise ValueError(
            "need new_days > 0 and 0 < active_days < at_risk_days "
            f"(got new_days={new_days}, active_days={active_days}, at_risk_days={at_risk_days})"
        )
    first = pd.to_datetime(summary[first_col], utc=True)
    last = pd.to_datetime(summary[last_col], utc=True)
    if first.isna().any() or last.isna().any():
        raise ValueError(f"{first_col} and {last_col} must not be missing: drop those customers")
    end = last.max() if observation_end is None else _utc(observation_end, "observation_end")
    day = pd.Timedelta(days=1)
    since_first = ((end - first) / day).to_numpy(dtype=float)
    since_last = ((end - last) / day).to_numpy(dtype=float)
    stage = np.select(
        [since_first < new_days, since_last < active_days, since_last < at_risk_days],
        list(LIFECYCLE_STAGES[:3]),
        default=LIFECYCLE_STAGES[3],
    )
    out = pd.DataFrame(
        {
            customer_col: summary[customer_col].to_numpy(),
            "days_since_first": since_first,
            "days_since_last": since_last,
            "stage": stage.astype(str),
        }
    )
    return out.sort_values(customer_col, kind="stable").reset_index(drop=True)


def stage_table(stages: pd.DataFrame, *, value: pd.Series | None = None) -> pd.DataFrame:
    """Customers (and value, if given per row of ``stages``) per lifecycle stage.

    Returns
    -------
    pandas.DataFrame
        One row per stage in :data:`LIFECYCLE_STAGES` order: ``stage, customers,
        customer_share`` and, with ``value``, ``value, value_share``.
    """
    _check_frame(stages, ["stage"], "stages")
    counts = stages["stage"].value_counts().reindex(LIFECYCLE_STAGES, fill_value=0)
    out = pd.DataFrame({"stage": list(LIFECYCLE_STAGES), "customers": counts.to_numpy()})
    out["customer_share"] = out["customers"] / max(int(out["customers"].sum()), 1)
    if value is not None:
        v = pd.Series(np.asarray(value, dtype=float)).groupby(stages["stage"].to_numpy()).sum()
        out["value"] = v.reindex(LIFECYCLE_STAGES, fill_value=0.0).to_numpy()
        out["value_share"] = out["value"] / out["value"].sum()
    return out


# ------------------------------------------------------------------ plots


def plot_pareto(
    values: pd.DataFrame,
    *,
    ax=None,
    language: str = "en",
    customer_col: str = "customer_id",
    value_col: str = "historical_clv",
    top: float = 0.2,
):
    """Pareto (Lorenz-style) curve: cumulative value share of the top customers.

    Marks the share held by the top ``top`` of customers. Returns the axes.
    """
    check_language(language)
    curve = pareto_curve(values, customer_col=customer_col, value_col=value_col)
    share = top_share(values, top=top, customer_col=customer_col, value_col=value_col)
    if ax is None:
        _, ax = plt.subplots()
    x, y = curve["cum_customer_share"], curve["cum_value_share"]
    ax.plot(x, y, label=t("cum_value_share", language))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label=t("equal_shares", language))
    ax.plot([top, top, 0], [0, share, share], color="tab:red", linestyle=":")
    ax.annotate(
        f"{top:.0%} → {share:.0%}",
        (top, share),
        xytext=(8, -14),
        textcoords="offset points",
        color="tab:red",
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
    ax.set_xlabel(t("cum_customer_share", language))
    ax.set_ylabel(t("cum_value_share", language))
    ax.set_title(t("title_pareto", language))
    ax.legend(loc="lower right")
    return ax


def plot_migration(migration: TierMigration, *, ax=None, language: str = "en"):
    """Heatmap of the tier transition matrix: row shares as colour, counts as text."""
    check_language(language)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    shares = migration.shares.fillna(0).to_numpy()
    counts = migration.counts.to_numpy()
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ticks = [label(v, language) for v in migration.order]
    ax.set_xticks(range(len(ticks)), ticks)
    ax.set_yticks(range(len(ticks)), ticks)
    ax.grid(False)
    for i in range(shares.shape[0]):
        for j in range(shares.shape[1]):
            colour = "white" if shares[i, j] > 0.6 else "black"
            text = f"{shares[i, j]:.0%}\n({counts[i, j]:,})" if counts[i].sum() else "-"
            ax.text(j, i, text, ha="center", va="center", color=colour, fontsize="small")
    ax.set_xlabel(t("tier_after", language))
    ax.set_ylabel(t("tier_before", language))
    ax.set_title(t("title_migration", language))
    return ax
