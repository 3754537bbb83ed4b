"""Exercises of notebook 05 (satisfaction study): satisfaction and loyalty. The truth is
the weight of each latent construct in satisfaction (``truth.survey``), the survey quality
problems the simulation planted (``truth.survey_quality``) and each customer's true
purchase rate and dropout time (``truth.customers``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crm_lib.teaching._core import Exercise, interval_contains, same_text

REPURCHASE_DAYS = 90  # the notebook's default window after the answer
#: Planted problems that are not screened out (a phone number in a comment is redacted).
NOT_SCREENED = {"pii_in_comment"}


def _screened(world: Any):
    from crm_lib import survey

    inst = survey.simulated_world_instrument()
    return survey.screen_responses(world.survey_responses, inst), inst


def _drivers(world: Any) -> pd.DataFrame:
    from crm_lib import survey

    (kept, _), inst = _screened(world)
    scores = pd.concat([kept[["nps"]], inst.construct_scores(kept)], axis=1)
    return survey.key_drivers(scores, "nps", list(inst.constructs))


def _product_share_interval(world: Any) -> tuple[float, float]:
    """The notebook's bootstrap of the key-driver shares: corrected for each construct's
    reliability (omega), its default resamples and seed."""
    from crm_lib import survey

    (kept, _), inst = _screened(world)
    scores = pd.concat([kept[["nps"]], inst.construct_scores(kept)], axis=1)
    omega = survey.reliability_table(kept, inst).set_index("construct")["omega"].to_dict()
    res = survey.bootstrap_key_drivers(
        scores, "nps", list(inst.constructs), reliabilities=omega, random_state=0
    )
    row = res.shares.set_index("driver").loc["product"]
    return float(row["ci_low"]), float(row["ci_high"])


def _true_importance(world: Any) -> pd.Series:
    return pd.Series(world.truth.survey["relative_importance"]).sort_values(ascending=False)


def _planted_problems(world: Any) -> int:
    q = world.truth.survey_quality
    return int(q.loc[~q["issue"].isin(NOT_SCREENED), "response_id"].nunique())


def _excluded_responses(world: Any) -> int:
    (_, excluded), _ = _screened(world)
    return len(excluded)


def _least_loyal_group(world: Any) -> str:
    """The NPS group whose answers are followed by the fewest purchases *in expectation*:
    the true chance of at least one purchase in the window after the answer, given the
    customer's purchase rate and dropout time, ``1 - exp(-lam * weeks alive in window)``."""
    from crm_lib import survey

    r = world.survey_responses
    r = r[r["nps"].notna() & r["customer_id"].notna()]
    window = pd.Timedelta(days=REPURCHASE_DAYS)
    r = r[r["submitted_at"] + window <= world.transactions["ordered_at"].max()]
    t = world.truth.customers.set_index("customer_id").loc[r["customer_id"]]
    answered = r["submitted_at"].reset_index(drop=True)
    end = answered + window
    dropout = pd.to_datetime(t["dropout_at"], utc=True).reset_index(drop=True)
    stop = dropout.where(dropout < end, end)  # a customer still alive (NaT) stays to the end
    weeks = ((stop - answered) / pd.Timedelta(days=7)).clip(lower=0).to_numpy(dtype=float)
    p = 1 - np.exp(-t["lam"].to_numpy(dtype=float) * weeks)
    group = survey.nps_group(r["nps"]).to_numpy()
    return str(pd.Series(p).groupby(group).mean().idxmin())


def _least_repurchasing_group(world: Any) -> str:
    from crm_lib import survey

    (kept, _), _ = _screened(world)
    rates = survey.repurchase_by_nps_group(kept, world.transactions, window_days=REPURCHASE_DAYS)
    return str(rates.sort_values("rate")["nps_group"].iloc[0])


EXERCISES = [
    Exercise(
        "05.1",
        {
            "en": "Which construct drives the recommendation (NPS) most? Enter its name.",
            "zh": "哪个维度对推荐意愿（NPS）的影响最大？请输入维度名称（英文标识）。",
        },
        {
            "en": "Rank the constructs by their Shapley share of R² (`survey.key_drivers`).",
            "zh": "按 R² 的 Shapley 分解占比（`survey.key_drivers`）给各维度排序。",
        },
        truth=lambda w: _true_importance(w).index[0],
        accept=same_text,
        solve=lambda w: _drivers(w).sort_values("shapley_share", ascending=False)["driver"].iloc[0],
    ),
    Exercise(
        "05.2",
        {
            "en": "How sure is that ranking? Enter the 95% bootstrap interval (low, high) "
            "of the product construct's Shapley share; it counts as correct when it "
            "contains the product's true share of the explained variance.",
            "zh": "这个排序有多可靠？请输入产品维度 Shapley 占比的 95% 自助法区间（下限, 上限）；"
            "区间包含产品维度在解释方差中的真实占比即为正确。",
        },
        {
            "en": "`survey.bootstrap_key_drivers(...)`: its `shares` table has `ci_low` and "
            "`ci_high` per driver (the notebook's bootstrap section).",
            "zh": "`survey.bootstrap_key_drivers(...)`：其 `shares` 表中每个维度都有 `ci_low` "
            "和 `ci_high`（见笔记本的自助法一节）。",
        },
        truth=lambda w: float(_true_importance(w)["product"]),
        accept=interval_contains,
        solve=_product_share_interval,
    ),
    Exercise(
        "05.3",
        {
            "en": "How many responses does the screening set aside (partial, speeding, "
            "straight-lining, duplicate)? Enter a whole number; it counts as found when it "
            "catches at least 90% of the low-quality responses the simulation planted and "
            "sets aside at most 15% more (a few honest respondents are fast).",
            "zh": "筛查一共剔除了多少份答卷（未答完、答题过快、直线作答、重复提交）？请输入整数；剔除数不少于模拟植入的低质量答卷的 90%、且多出不超过 15%，即为正确（少数认真作答的人也会答得很快）。",
        },
        {
            "en": "Count the rows of the excluded part of `survey.screen_responses` (its "
            "`summary()` has the total).",
            "zh": "统计 `survey.screen_responses` 结果中被剔除部分的行数（其 `summary()` 中有合计）。",
        },
        truth=_planted_problems,
        accept=lambda a, t: 0.9 * int(t) <= int(a) <= 1.15 * int(t),
        solve=_excluded_responses,
    ),
    Exercise(
        "05.4",
        {
            "en": "Loyalty: which NPS group (detractor, passive, promoter) buys again least "
            f"often in the {REPURCHASE_DAYS} days after answering? Enter its name.",
            "zh": f"忠诚度：哪个 NPS 群体（贬损者 `detractor`、中立者 `passive`、推荐者 `promoter`）在作答后 {REPURCHASE_DAYS} 天内再次购买的比例最低？请输入群体名称（英文标识）。",
        },
        {
            "en": "`survey.repurchase_by_nps_group` on the screened responses: the group "
            "with the lowest rate.",
            "zh": "对筛查后的答卷使用 `survey.repurchase_by_nps_group`：比例最低的那个群体。",
        },
        truth=_least_loyal_group,
        accept=same_text,
        solve=_least_repurchasing_group,
    ),
]
