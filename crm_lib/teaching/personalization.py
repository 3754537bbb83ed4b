"""Exercises of notebook 09 (market basket, next-best product, trigger lists): the pairs of
products planted in the baskets (``truth.studies["personalization"]``), the carts truly
abandoned (``truth.frames["abandoned_carts"]``) and each customer's true dropout time
(``truth.customers``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from crm_lib.teaching._core import Exercise, close, names, same_whole_number

MIN_SUPPORT = 0.005  # the notebook's defaults
LIFT_ABOVE = 20.0
CART_LOOKBACK_DAYS = 3
CART_WAIT_HOURS = 24
WIN_BACK_DAYS = 180
WIN_BACK_MAX_DAYS = 730


def _rules(world: Any) -> pd.DataFrame:
    from crm_lib import personalization

    return personalization.association_rules(world.basket_lines, min_support=MIN_SUPPORT)


def _planted(world: Any) -> list[frozenset]:
    pairs = world.truth.studies["personalization"]["planted_pairs"]
    return [frozenset((p["antecedent"], p["consequent"])) for p in pairs]


def _is_planted(answer: Any, planted: list[frozenset]) -> bool:
    pair = names(answer)
    if len(pair) != 2:
        raise ValueError("enter two product ids, e.g. ('I0001', 'I0002')")
    return frozenset(x.upper() for x in pair) in planted


def _top_pair(world: Any) -> tuple[str, str]:
    top = _rules(world).sort_values("lift", ascending=False).iloc[0]
    return str(top["antecedent"]), str(top["consequent"])


def _strong_pairs(world: Any) -> int:
    rules = _rules(world)
    strong = rules[rules["lift"] > LIFT_ABOVE]
    return len({frozenset(p) for p in zip(strong["antecedent"], strong["consequent"], strict=True)})


def _orders_and_date(world: Any) -> tuple[pd.DataFrame, pd.Timestamp]:
    """The purchases and the notebook's trigger date: the local day after the last one."""
    from crm_lib import personalization

    orders = personalization.order_times(world.transactions)
    tz = world.config.timezone if world.config is not None else "UTC"
    last = orders["ordered_at"].max().tz_convert(tz)
    return orders, (last.floor("D") + pd.Timedelta(days=1)).tz_convert("UTC")


def _abandoned_cart_customers(world: Any) -> int:
    from crm_lib import personalization

    orders, today = _orders_and_date(world)
    hits = personalization.abandoned_carts(
        world.carts,
        orders,
        as_of=today,
        lookback_days=CART_LOOKBACK_DAYS,
        wait_hours=CART_WAIT_HOURS,
    )
    return len(hits)


def _truly_abandoned_customers(world: Any) -> int:
    """Customers with a cart in the trigger's window that the simulation abandoned (no sale
    order of theirs in the week after it)."""
    _, today = _orders_and_date(world)
    carts = world.truth.frames["abandoned_carts"]
    window = (carts["carted_at"] >= today - pd.Timedelta(days=CART_LOOKBACK_DAYS)) & (
        carts["carted_at"] <= today - pd.Timedelta(hours=CART_WAIT_HOURS)
    )
    return int(carts.loc[window, "customer_id"].nunique())


def _win_back(world: Any) -> pd.Series:
    from crm_lib import personalization

    orders, today = _orders_and_date(world)
    listed = personalization.win_back(
        orders, as_of=today, lapsed_days=WIN_BACK_DAYS, max_days=WIN_BACK_MAX_DAYS
    )
    return listed["customer_id"].astype(str)


def _win_back_gone_estimate(world: Any) -> float:
    from crm_lib import value

    _, today = _orders_and_date(world)
    summary = value.customer_summary(world.transactions, observation_end=today)
    p_alive = pd.Series(
        value.BetaGeoModel().fit(summary).prob_alive(summary).to_numpy(),
        index=summary["customer_id"].astype(str),
    )
    return float(1 - p_alive.reindex(_win_back(world)).mean())


def _win_back_gone_truth(world: Any) -> float:
    _, today = _orders_and_date(world)
    truth = world.truth.customers.set_index("customer_id")
    dropout = pd.to_datetime(truth.loc[_win_back(world), "dropout_at"], utc=True)
    return float((dropout <= today).mean())


EXERCISES = [
    Exercise(
        "09.1",
        {
            "en": "The simulation planted pairs of products that are bought together; "
            "everything else is chance. Enter the two products of the rule with the "
            "highest lift as (antecedent, consequent): is it a planted pair?",
            "zh": "模拟数据中植入了一些经常被一起购买的商品对，其余都是偶然。输入提升度最高的规则中的两个商品（前项, 后项）：它是植入的商品对吗？",
        },
        {
            "en": "`personalization.association_rules(baskets, min_support=0.005)` is "
            "sorted by lift; take the first row's `antecedent` and `consequent`.",
            "zh": "`personalization.association_rules(baskets, min_support=0.005)` 已按提升度排序；取第一行的 `antecedent` 和 `consequent`。",
        },
        truth=_planted,
        accept=_is_planted,
        solve=_top_pair,
    ),
    Exercise(
        "09.2",
        {
            "en": f"How many pairs did the simulation plant? Count the distinct pairs "
            f"(a-b and b-a are one) among the rules with support of at least {MIN_SUPPORT} "
            f"whose lift is above {LIFT_ABOVE:g}. Enter a whole number.",
            "zh": f"模拟数据一共植入了多少个商品对？在支持度不低于 {MIN_SUPPORT} 的规则中，统计提升度高于 {LIFT_ABOVE:g} 的不同商品对（`a-b` 与 `b-a` 算同一对）。请输入整数。",
        },
        {
            "en": "A pair appears as two rules, one per direction; with a lower minimum "
            "support, rare pairs reach high lifts by chance.",
            "zh": "每个商品对会以两条规则出现（两个方向各一条）；最小支持度越低，罕见的商品对越容易偶然得到很高的提升度。",
        },
        truth=lambda w: len(_planted(w)),
        accept=same_whole_number,
        solve=_strong_pairs,
    ),
    Exercise(
        "09.3",
        {
            "en": "On the notebook's trigger date, how many customers does the abandoned-cart "
            f"rule find (carts of the last {CART_LOOKBACK_DAYS} days, at least "
            f"{CART_WAIT_HOURS} hours old, no purchase since), before consent and "
            "priority? Enter a whole number.",
            "zh": f"在本笔记本的触发日期，弃购规则（最近 {CART_LOOKBACK_DAYS} 天内、已超过 {CART_WAIT_HOURS} 小时、之后没有购买的购物车）在考虑营销同意和优先级之前找到了多少位客户？请输入整数。",
        },
        {
            "en": "Count the rows of `personalization.abandoned_carts(carts, orders, "
            "as_of=today, ...)`: one row per customer, however many carts.",
            "zh": "统计 `personalization.abandoned_carts(carts, orders, as_of=today, ...)` 的行数：每位客户一行，无论有几个购物车。",
        },
        truth=_truly_abandoned_customers,
        accept=same_whole_number,
        solve=_abandoned_cart_customers,
    ),
    Exercise(
        "09.4",
        {
            "en": "Of the customers on the win-back list, what share is gone for good "
            "(will never buy again)? Estimate it as 1 minus their mean BG/NBD P(alive) on "
            "the trigger date; enter a share between 0 and 1 (correct within 0.03 of the "
            "truth, about 4 standard errors on the small world).",
            "zh": "在挽回名单上的客户中，有多大比例已经永久流失（不会再购买）？用触发日期当天他们 BG/NBD P(存活) 均值的补数（1 减去均值）来估计，输入 0 到 1 之间的比例（与真实值相差不超过 0.03 即为正确，在小规模世界上约为 4 个标准误）。",
        },
        {
            "en": "Fit `value.BetaGeoModel` on `value.customer_summary(transactions, "
            "observation_end=today)`, take `prob_alive` of the customers that "
            "`personalization.win_back` lists, and subtract their mean from 1.",
            "zh": "在 `value.customer_summary(transactions, observation_end=today)` 上拟合 `value.BetaGeoModel`，取 `personalization.win_back` 名单中客户的 `prob_alive`，用 1 减去它们的平均值。",
        },
        truth=_win_back_gone_truth,
        accept=close(abs_=0.03),
        solve=_win_back_gone_estimate,
    ),
]
