"""Exercises of notebook 07 (funnel, sales pipeline and KPIs). The truth is the web
funnel's stage probabilities (``truth.funnel``), the pipeline model's win rates and cycle
time, and the marketing cost per sign-up of each channel (``truth.studies["funnel"]``)."""

from __future__ import annotations

from typing import Any

from crm_lib.teaching._core import Exercise, interval_contains, same_text

STAGES = ["visit", "signup", "cart", "purchase"]


def _argmax(d: dict) -> str:
    return max(d, key=d.get)


def _best_signup_channel(world: Any) -> str:
    from crm_lib import funnel

    table = funnel.funnel_by_group(world.events, group_col="channel", stages=STAGES)["table"]
    rates = table.pivot(index="channel", columns="stage", values="rate_from_previous")
    return str(rates["signup"].idxmax())


def _cycle_interval(world: Any) -> tuple[float, float]:
    from crm_lib import funnel

    table = funnel.cycle_survival(world.opportunities)["table"].set_index("method")
    return float(table.loc["kaplan_meier", "ci_low"]), float(table.loc["kaplan_meier", "ci_high"])


def _best_source(world: Any) -> str:
    from crm_lib import funnel

    return str(funnel.shrunk_win_rates(world.opportunities, group_col="source")["source"].iloc[0])


def _cheapest_channel(world: Any) -> str:
    from crm_lib import funnel

    tz = world.config.timezone if world.config is not None else "UTC"
    kpi = funnel.kpi_by_group(
        world.transactions,
        world.customers,
        group_col="acquisition_channel",
        tz=tz,
        marketing_spend=world.marketing_spend,
    )
    total = kpi.pivot_table(
        index="acquisition_channel", columns="kpi", values="value", aggfunc="sum"
    )
    return str((total["marketing_spend"] / total["new_customers"]).idxmin())


def _cheapest_true_channel(world: Any) -> str:
    """Every channel's sign-ups become buyers at the same rates in the simulated funnel, so
    the channel with the lowest true cost per sign-up has the lowest true CAC."""
    cost = world.truth.studies["funnel"]["marketing_spend"]["cost_per_signup"]
    return min(cost, key=cost.get)


def _pipeline(world: Any) -> dict:
    return world.truth.studies["funnel"]["pipeline"]


EXERCISES = [
    Exercise(
        "07.1",
        {
            "en": "Which marketing channel turns the most visitors into sign-ups? Enter the "
            "channel.",
            "zh": "哪个营销渠道把访客转化为注册用户的比例最高？请输入渠道名称（英文标识）。",
        },
        {
            "en": "`funnel.funnel_by_group` by `channel`: the highest `rate_from_previous` "
            "of the `signup` stage.",
            "zh": "按 `channel` 使用 `funnel.funnel_by_group`：`signup` 阶段 `rate_from_previous` 最高的渠道。",
        },
        truth=lambda w: _argmax(w.truth.funnel["visit_to_signup_by_channel"]),
        accept=same_text,
        solve=_best_signup_channel,
    ),
    Exercise(
        "07.2",
        {
            "en": "How long is the sales cycle (opportunity created to closed, won or lost)? "
            "Enter the 95% interval of the median in days as (low, high), keeping the deals "
            "still open as censored: does it hold the true median?",
            "zh": "销售周期（从商机创建到成交或丢单）有多长？把仍未关闭的商机作为删失，输入中位数（天）的 95% 区间（下限, 上限）：它包含真实的中位数吗？",
        },
        {
            "en": "The `kaplan_meier` row of `funnel.cycle_survival(opportunities)['table']` "
            "(the `closed_only` row drops the open deals, the longest ones).",
            "zh": "`funnel.cycle_survival(opportunities)['table']` 中 `kaplan_meier` 这一行（`closed_only` 一行丢掉了仍未关闭、也就是最长的那些商机）。",
        },
        truth=lambda w: float(_pipeline(w)["cycle_median_days"]),
        accept=interval_contains,
        solve=_cycle_interval,
    ),
    Exercise(
        "07.3",
        {
            "en": "Which lead source wins the largest share of its deals? Rank the sources "
            "by their shrunken (empirical-Bayes) win rate and enter the first.",
            "zh": "哪个线索来源的商机赢单率最高？按收缩后的（经验贝叶斯）赢单率给各来源排序，输入排在第一的来源。",
        },
        {
            "en": "`funnel.shrunk_win_rates(opportunities, group_col='source')` is sorted by "
            "the `shrunk` rate.",
            "zh": "`funnel.shrunk_win_rates(opportunities, group_col='source')` 已按 `shrunk` 赢单率排序。",
        },
        truth=lambda w: _argmax(_pipeline(w)["win_rate_by_source"]),
        accept=same_text,
        solve=_best_source,
    ),
    Exercise(
        "07.4",
        {
            "en": "Which acquisition channel brings new customers at the lowest cost (CAC: "
            "marketing spend per new customer)? Count over the whole period: one month has "
            "too few new customers per channel. Enter the channel.",
            "zh": "哪个获客渠道获取新客户的成本（CAC：每位新客户的营销花费）最低？请按整个时期计算：单月每个渠道的新客户太少。请输入渠道名称（英文标识）。",
        },
        {
            "en": "`funnel.kpi_by_group` by `acquisition_channel` with the marketing spend: "
            "sum `marketing_spend` and `new_customers` over all periods per channel, "
            "then divide.",
            "zh": "带上营销花费，按 `acquisition_channel` 使用 `funnel.kpi_by_group`：对每个渠道把所有时期的 `marketing_spend` 和 `new_customers` 分别求和，再相除。",
        },
        truth=_cheapest_true_channel,
        accept=same_text,
        solve=_cheapest_channel,
    ),
]
