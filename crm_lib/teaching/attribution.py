"""Exercises of notebook 08 (multi-channel attribution). The truth is the touchpoint model
(``truth.studies["attribution"]``): the conversion probability of a customer no channel
reached (``baseline``), each channel's incremental effect and its true share of the
incremental conversions (``true_shares``, ``true_order``)."""

from __future__ import annotations

from typing import Any

from crm_lib.teaching._core import Exercise, interval_contains, per_world, same_order

LOOKBACK_DAYS = 30.0  # the notebook's defaults
HALF_LIFE_DAYS = 7.0
N_BOOT = 200
TOP = "search"  # 08.3 asks about the channel with the largest true share (effect x exposure)


@per_world
def _journeys(world: Any):
    from crm_lib import attribution

    return attribution.build_journeys(
        world.touchpoints,
        world.transactions,
        customers=world.customers,
        lookback_days=LOOKBACK_DAYS,
        half_life_days=HALF_LIFE_DAYS,
    )


def _baseline_interval(world: Any) -> tuple[float, float]:
    from crm_lib.funnel import wilson

    j = _journeys(world)
    low, high = wilson(j.empty_conversions, j.empty_journeys)
    return float(low), float(high)


def _markov_order(world: Any) -> list[str]:
    from crm_lib import attribution

    removal = attribution.markov_attribution(_journeys(world)).summary()
    return removal.sort_values("share", ascending=False)["channel"].tolist()


def _shapley_interval(world: Any) -> tuple[float, float]:
    from crm_lib import attribution

    shares = attribution.bootstrap_shares(
        _journeys(world), ["shapley_incremental"], n_boot=N_BOOT, random_state=0
    )
    row = shares.set_index("channel").loc[TOP]
    return float(row["ci_low"]), float(row["ci_high"])


def _truth(world: Any) -> dict:
    return world.truth.studies["attribution"]


EXERCISES = [
    Exercise(
        "08.1",
        {
            "en": "What share of the customers that no channel reached still converted? "
            "Enter a 95% interval of this baseline conversion rate as (low, high): does it "
            "hold the true chance of converting without marketing?",
            "zh": "没有被任何渠道触达的客户中，有多大比例仍然完成了转化？输入这一基线转化率的 95% 区间（下限, 上限）：它包含没有营销时的真实转化概率吗？",
        },
        {
            "en": "The journeys count them: `empty_conversions` of `empty_journeys` "
            "(`customers_without_touch` in the summary); a Wilson interval "
            "(`funnel.wilson`, or statsmodels' `proportion_confint`, "
            "method 'wilson').",
            "zh": "`journeys` 对象里有计数：`empty_journeys` 位客户中有 `empty_conversions` 位转化（摘要中的 `customers_without_touch`）；用 Wilson 区间（`funnel.wilson`，或 statsmodels 的 `proportion_confint`，`method='wilson'`）。",
        },
        truth=lambda w: float(_truth(w)["baseline"]),
        accept=interval_contains,
        solve=_baseline_interval,
    ),
    Exercise(
        "08.2",
        {
            "en": "Rank the five channels by their Markov removal-effect share, largest "
            "first. Enter them as a list: is it the order of their true incremental "
            "contributions?",
            "zh": "按马尔可夫移除效应的份额从大到小给五个渠道排序，以列表形式输入：它与各渠道真实增量贡献的顺序一致吗？",
        },
        {
            "en": "`attribution.markov_attribution(journeys).summary()` sorted by `share`, "
            "descending; enter e.g. `['search', 'social', ...]`.",
            "zh": "把 `attribution.markov_attribution(journeys).summary()` 按 `share` 降序排列；输入形如 `['search', 'social', ...]` 的列表。",
        },
        truth=lambda w: list(_truth(w)["true_order"]),
        accept=same_order,
        solve=_markov_order,
    ),
    Exercise(
        "08.3",
        {
            "en": f"The credit models share out all conversions; the incremental Shapley "
            f"model shares out only those marketing added. Enter the 95% bootstrap interval "
            f"of the `{TOP}` channel's share under `shapley_incremental` as (low, high): "
            f"does it hold its true share of the incremental conversions?",
            "zh": f"归因模型分配的是全部转化；增量 Shapley 模型只分配营销带来的那部分转化。输入 `{TOP}` 渠道在 `shapley_incremental` 下份额的 95% 自助法区间（下限, 上限）：它包含该渠道在增量转化中的真实份额吗？",
        },
        {
            "en": "`attribution.bootstrap_shares(journeys, n_boot=200)`: the "
            f"`shapley_incremental` row of `{TOP}` has `ci_low` and `ci_high` (compare "
            "the Markov share: credit is not causation).",
            "zh": f"`attribution.bootstrap_shares(journeys, n_boot=200)`：`shapley_incremental` 模型中 `{TOP}` 一行的 `ci_low` 和 `ci_high`（对比马尔可夫份额：归因不等于因果）。",
        },
        truth=lambda w: float(_truth(w)["true_shares"][TOP]),
        accept=interval_contains,
        solve=_shapley_interval,
    ),
]
