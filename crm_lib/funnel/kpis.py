"""The KPI dashboard: each KPI with its definition, per period, with period-over-period tests.

Periods are calendar periods in the dataset's time zone (``dataset.yml``); revenue,
orders, active buyers and average order value come from the engine
(:func:`crm_lib.engine.kpi_aggregates`), the customer-level KPIs from one row per
customer and period.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["KPI_DEFINITIONS", "kpi_changes", "kpi_definitions", "kpi_table", "local_period"]

_FREQ = {"D": "D", "W": "W-SUN", "M": "M", "Q": "Q", "Y": "Y"}

#: KPI -> (kind of test of a change, English definition, Chinese definition)
KPI_DEFINITIONS: dict[str, tuple[str, str, str]] = {
    "revenue": (
        "none",
        "Net revenue: sales minus returns booked in the period.",
        "净销售额：当期销售减去当期退货。",
    ),
    "orders": (
        "count",
        "Orders with at least one sale line in the period.",
        "当期含至少一条销售明细的订单数。",
    ),
    "active_customers": (
        "count",
        "Distinct customers with a purchase in the period.",
        "当期有购买的不同客户数。",
    ),
    "new_customers": (
        "count",
        "Customers whose first purchase ever is in the period.",
        "首次购买发生在当期的客户数。",
    ),
    "retention_rate": (
        "proportion",
        "Share of the previous period's active customers who bought again in this period.",
        "上期活跃客户中本期再次购买的比例。",
    ),
    "churn_rate": (
        "proportion",
        "1 - retention rate: previous period's active customers who did not buy in this period.",
        "1 - 留存率：上期活跃客户中本期未购买的比例。",
    ),
    "repurchase_rate": (
        "proportion",
        "Share of the period's active customers with two or more orders in the period.",
        "当期活跃客户中当期下单两次及以上的比例。",
    ),
    "aov": (
        "mean",
        "Average order value: gross sales / orders.",
        "客单价：销售额（不含退货）/ 订单数。",
    ),
    "purchase_frequency": ("mean", "Orders per active customer.", "每位活跃客户的订单数。"),
    "revenue_per_customer": (
        "mean",
        "Net revenue per active customer.",
        "每位活跃客户的净销售额。",
    ),
    "marketing_spend": (
        "none",
        "Marketing spend of the weeks starting in the period.",
        "当期开始的各周营销费用合计。",
    ),
    "cac": (
        "none",
        "Customer acquisition cost: marketing spend / new customers.",
        "获客成本：营销费用 / 新客户数。",
    ),
    "lead_to_customer_rate": (
        "proportion",
        "Share of the period's new leads whose deal was won (so far).",
        "当期新线索中（迄今）赢单的比例。",
    ),
    "nps": (
        "mean",
        "Net Promoter Score: % promoters (9-10) - % detractors (0-6) of the period's answers.",
        "净推荐值：当期回答中推荐者（9-10）比例减贬损者（0-6）比例（百分点）。",
    ),
    "csat": (
        "proportion",
        "Share of satisfied answers (4-5 on the 1-5 scale).",
        "满意回答（1-5 分中的 4-5 分）的比例。",
    ),
}


def kpi_definitions(language: str = "en") -> pd.DataFrame:
    """``kpi, definition, test`` for every KPI of the dashboard."""
    col = 1 if language == "en" else 2
    return pd.DataFrame(
        [(k, v[col], v[0]) for k, v in KPI_DEFINITIONS.items()],
        columns=["kpi", "definition", "test"],
    )


def local_period(ts: pd.Series, period: str, tz: str) -> pd.Series:
    """Start (local, naive) of the calendar period of each UTC timestamp, in ``tz``."""
    if period not in _FREQ:
        raise ValueError(f"period={period!r} is not supported: use one of {', '.join(_FREQ)}")
    local = pd.to_datetime(ts, utc=True).dt.tz_convert(tz).dt.tz_localize(None)
    return local.dt.to_period(_FREQ[period]).dt.start_time


def _unit_stats(values: pd.Series, by: pd.Series) -> pd.DataFrame:
    g = values.groupby(by)
    return pd.DataFrame({"n": g.size(), "mean": g.mean(), "var": g.var(ddof=1)})


def kpi_table(
    transactions: pd.DataFrame,
    *,
    period: str = "M",
    tz: str = "UTC",
    marketing_spend: pd.DataFrame | None = None,
    leads: pd.DataFrame | None = None,
    opportunities: pd.DataFrame | None = None,
    survey_responses: pd.DataFrame | None = None,
    engine=None,
) -> pd.DataFrame:
    """Every KPI per period (long format), with what a change test needs.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Contract ``transactions`` (return lines: ``original_order_id`` not null).
    period : {"D", "W", "M", "Q", "Y"}
        Calendar period in ``tz`` (weeks start on Monday).
    tz : str
        The dataset's time zone.
    marketing_spend, leads, opportunities, survey_responses : DataFrame, optional
        The optional tables; a KPI whose table is missing is left out.

    Returns
    -------
    pandas.DataFrame
        ``period, kpi, value, numerator, denominator, n, var``: ``numerator /
        denominator`` for rates and counts, ``n`` and ``var`` (per-unit variance) for
        means; see :data:`KPI_DEFINITIONS`.
    """
    from crm_lib.engine import kpi_aggregates

    agg = kpi_aggregates(transactions, period=period, tz=tz, engine=engine or "duckdb")
    sales = transactions[transactions["original_order_id"].isna()]
    p = local_period(sales["ordered_at"], period, tz)
    periods = pd.Index(sorted(agg["period"]), name="period")
    rows: list[pd.DataFrame] = []

    def add(kpi, value, num=None, den=None, n=None, var=None):
        value = pd.Series(value).reindex(periods)
        f = pd.DataFrame({"period": periods, "kpi": kpi, "value": value.to_numpy(dtype=float)})
        for name, s in (("numerator", num), ("denominator", den), ("n", n), ("var", var)):
            f[name] = np.nan if s is None else pd.Series(s).reindex(periods).to_numpy(dtype=float)
        rows.append(f)

    a = agg.set_index("period")
    add("revenue", a["revenue"])
    add("orders", a["orders"], num=a["orders"])
    add("active_customers", a["customers"], num=a["customers"])
    # per customer and period: orders, net revenue
    cp = pd.DataFrame({"cid": sales["customer_id"], "period": p, "order": sales["order_id"]})
    per = cp.groupby(["cid", "period"])["order"].nunique().rename("orders").reset_index()
    all_p = local_period(transactions["ordered_at"], period, tz)
    net = transactions["amount"].groupby([transactions["customer_id"], all_p]).sum()
    net.index.names = ["cid", "period"]
    per = per.merge(net.rename("net").reset_index(), on=["cid", "period"], how="left")
    first = per.groupby("cid")["period"].min()
    new = first.value_counts().reindex(periods, fill_value=0)  # a period may have none
    add("new_customers", new, num=new)
    prev_of = dict(zip(periods[1:], periods[:-1], strict=True))
    active = per.groupby("period")["cid"].apply(set)
    kept = {q: len(active.get(q, set()) & active.get(prev_of[q], set())) for q in periods[1:]}
    base = {q: len(active.get(prev_of[q], set())) for q in periods[1:]}
    kept, base = pd.Series(kept, dtype=float), pd.Series(base, dtype=float)
    add("retention_rate", kept / base.where(base > 0), num=kept, den=base)
    add("churn_rate", 1 - kept / base.where(base > 0), num=base - kept, den=base)
    rep = (per["orders"] >= 2).groupby(per["period"]).sum()
    act = per.groupby("period").size()
    add("repurchase_rate", rep / act, num=rep, den=act)
    # order values (gross) for the AOV test
    ov = sales.groupby("order_id").agg(value=("amount", "sum"), t=("ordered_at", "min"))
    ou = _unit_stats(ov["value"], local_period(ov["t"], period, tz))
    add("aov", a["aov"], n=ou["n"], var=ou["var"])
    fu = _unit_stats(per["orders"].astype(float), per["period"])
    add("purchase_frequency", fu["mean"], n=fu["n"], var=fu["var"])
    ru = _unit_stats(per["net"].astype(float), per["period"])
    rpc = a["revenue"] / a["customers"].where(a["customers"] > 0)
    add("revenue_per_customer", rpc, n=ru["n"], var=ru["var"])
    if marketing_spend is not None:
        sp = (
            marketing_spend["amount"]
            .groupby(local_period(marketing_spend["week_start"], period, tz))
            .sum()
        )
        add("marketing_spend", sp)
        new_f = new.astype(float)
        add("cac", sp.reindex(periods) / new_f.where(new_f > 0), num=sp, den=new_f)
    if leads is not None and opportunities is not None:
        won = set(opportunities.loc[opportunities["is_won"], "opportunity_id"])
        lp = local_period(leads["created_at"], period, tz)
        is_won = leads["opportunity_id"].isin(won)
        num, den = is_won.groupby(lp).sum(), lp.value_counts()
        add("lead_to_customer_rate", num / den, num=num, den=den)
    if survey_responses is not None:
        s = survey_responses
        t = s["submitted_at"].fillna(s["started_at"])
        sp_ = local_period(t, period, tz)
        nps = s["nps"].astype("Float64")
        score = 100.0 * ((nps >= 9).astype(float) - (nps <= 6).astype(float)).where(nps.notna())
        nu = _unit_stats(score.dropna().astype(float), sp_[score.notna()])
        add("nps", nu["mean"], n=nu["n"], var=nu["var"])
        cs = s["csat"].astype("Float64")
        ok = cs.notna()
        num = (cs[ok] >= 4).astype(float).groupby(sp_[ok]).sum()
        den = ok[ok].groupby(sp_[ok]).size()
        add("csat", num / den, num=num, den=den)
    out = pd.concat(rows, ignore_index=True)
    return out


def kpi_changes(table: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Change of each KPI from the previous period and whether it is beyond noise.

    Returns
    -------
    pandas.DataFrame
        ``period, kpi, value, previous, change, pct_change, p_value, beyond_noise``.

    Notes
    -----
    Counts: the two counts as Poisson with equal exposure, conditional binomial test
    (statsmodels ``test_poisson_2indep``, method ``exact-cond``); proportions: the
    two-sample z-test of :math:`k_1/n_1` against :math:`k_0/n_0` (pooled variance);
    means: Welch's t-test from the per-unit means and variances (orders for AOV,
    customers for frequency and revenue per customer, answers for NPS). Revenue,
    spend and CAC have no test (their per-unit variation is not a sampling model of a
    change). ``beyond_noise`` is ``p_value < alpha`` (no multiplicity correction: read
    many KPIs × periods with care).
    """
    from statsmodels.stats.proportion import proportions_ztest
    from statsmodels.stats.rates import test_poisson_2indep

    rows = []
    for kpi, g in table.groupby("kpi", sort=False):
        g = g.sort_values("period").reset_index(drop=True)
        kind = KPI_DEFINITIONS.get(kpi, ("none",))[0]
        for i in range(1, len(g)):
            cur, prev = g.iloc[i], g.iloc[i - 1]
            p = np.nan
            try:
                if kind == "count" and cur["numerator"] + prev["numerator"] > 0:
                    p = test_poisson_2indep(
                        int(cur["numerator"]), 1, int(prev["numerator"]), 1, method="exact-cond"
                    ).pvalue
                elif kind == "proportion" and min(cur["denominator"], prev["denominator"]) > 0:
                    k = np.array([cur["numerator"], prev["numerator"]])
                    n = np.array([cur["denominator"], prev["denominator"]])
                    if 0 < k.sum() < n.sum():
                        p = proportions_ztest(k, n)[1]
                elif kind == "mean" and min(cur["n"], prev["n"]) >= 2:
                    p = stats.ttest_ind_from_stats(
                        cur["value"],
                        np.sqrt(cur["var"]),
                        cur["n"],
                        prev["value"],
                        np.sqrt(prev["var"]),
                        prev["n"],
                        equal_var=False,
                    ).pvalue
            except (ValueError, TypeError, ZeroDivisionError):
                p = np.nan
            change = cur["value"] - prev["value"]
            rows.append(
                {
                    "period": cur["period"],
                    "kpi": kpi,
                    "value": cur["value"],
                    "previous": prev["value"],
                    "change": change,
                    "pct_change": change / prev["value"] if prev["value"] else np.nan,
                    "p_value": float(p) if p is not None else np.nan,
                }
            )
    out = pd.DataFrame(rows)
    out["beyond_noise"] = out["p_value"] < alpha
    return out


def historical_clv(
    transactions: pd.DataFrame, *, months: int = 12, tz: str = "UTC"
) -> dict[str, float]:
    """Net revenue in a customer's first ``months`` months, over customers observed that long.

    Returns ``{"clv": mean, "customers": n}``; a simple, model-free CLV for the CLV:CAC
    ratio (notebook 03 has the model-based one).
    """
    t = transactions
    first = t.loc[t["original_order_id"].isna()].groupby("customer_id")["ordered_at"].min()
    end = t["ordered_at"].max()
    horizon = pd.DateOffset(months=months)
    eligible = first[first + horizon <= end]
    tt = t[t["customer_id"].isin(eligible.index)]
    within = tt["ordered_at"] < tt["customer_id"].map(eligible) + horizon
    value = (
        tt.loc[within].groupby("customer_id")["amount"].sum().reindex(eligible.index, fill_value=0)
    )
    return {"clv": float(value.mean()) if len(value) else np.nan, "customers": int(len(value))}


__all__.append("historical_clv")


def kpi_by_group(
    transactions: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    group_col: str = "acquisition_channel",
    period: str = "M",
    tz: str = "UTC",
    marketing_spend: pd.DataFrame | None = None,
    engine=None,
) -> pd.DataFrame:
    """:func:`kpi_table` for the customers of each group (a column of ``customers``).

    Every KPI of a group is computed on that group's customers alone (retention: the
    group's customers active in the previous period). With ``group_col =
    "acquisition_channel"`` and ``marketing_spend``, each channel's spend gives its CAC.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`kpi_table` with ``group_col`` first.
    """
    if group_col not in customers.columns:
        raise ValueError(
            f"{group_col!r} is not a column of customers; columns: {', '.join(customers.columns)}"
        )
    group_of = customers.set_index("customer_id")[group_col]
    groups = transactions["customer_id"].map(group_of)
    frames = []
    for g in sorted(groups.dropna().unique()):
        spend = None
        if marketing_spend is not None and group_col == "acquisition_channel":
            spend = marketing_spend[marketing_spend["channel"] == g]
        t = kpi_table(
            transactions[groups == g],
            period=period,
            tz=tz,
            marketing_spend=spend,
            engine=engine,
        )
        t.insert(0, group_col, g)
        frames.append(t)
    return pd.concat(frames, ignore_index=True)


__all__.append("kpi_by_group")
