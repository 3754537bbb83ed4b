"""Exercises of notebook 06 (churn and retention): the membership's contractual churn. The
truth is the Weibull proportional-hazards model the cancellations were drawn from
(``truth.studies["churn"]``) and the true survival of the subscriber base
(``truth.frames["churn_survival"]``)."""

from __future__ import annotations

from typing import Any

from crm_lib.teaching._core import Exercise, interval_contains, same_text

SURVIVAL_MONTH = 12
COVARIATES = ["plan", "auto_renew", "promo"]


def _history(world: Any):
    from crm_lib import churn

    cuts = churn.cut_offs(world.transactions, window_days=90)
    return churn.subscription_history(world.subscriptions, cutoff=cuts.data_end)


def _cox_summary(world: Any):
    from crm_lib import churn

    cox = churn.CoxModel(
        duration_col="duration",
        event_col="event",
        covariates=COVARIATES,
        reference={"plan": "basic"},
    ).fit(_history(world))
    return cox.summary().set_index("term")


def _riskier_term(world: Any) -> str:
    hr = _cox_summary(world)["hazard_ratio"]
    return str(hr.idxmax())


def _km_interval(world: Any) -> tuple[float, float]:
    from crm_lib import churn

    km = churn.kaplan_meier(_history(world), duration_col="duration", event_col="event")
    at = km[km["time"] <= SURVIVAL_MONTH].iloc[-1]
    return float(at["ci_low"]), float(at["ci_high"])


def _true_survival(world: Any) -> float:
    curve = world.truth.frames["churn_survival"].set_index("month")["survival"]
    return float(curve.loc[SURVIVAL_MONTH])


def _riskiest_true_term(world: Any) -> str:
    hr = world.truth.studies["churn"]["hazard_ratios"]
    return max(hr, key=hr.get)


EXERCISES = [
    Exercise(
        "06.1",
        {
            "en": "Fit the Cox model of the subscriptions (plan, auto renewal, promotional "
            "start). Which term makes members cancel sooner, with a hazard ratio above 1? "
            "Enter the term as the Cox table names it.",
            "zh": "为会员订阅拟合 Cox 模型（套餐、自动续费、促销开通）。哪一项会让会员更早取消（风险比大于 1）？请按 Cox 结果表中的名称输入。",
        },
        {
            "en": "In `CoxModel(...).summary()` a hazard ratio above 1 raises the risk of "
            "cancelling at every tenure; below 1 lowers it.",
            "zh": "在 `CoxModel(...).summary()` 中，风险比大于 1 表示在任何在网时长上都提高取消的风险，小于 1 表示降低。",
        },
        truth=_riskiest_true_term,
        accept=same_text,
        solve=_riskier_term,
    ),
    Exercise(
        "06.2",
        {
            "en": "Enter the 95% interval of the hazard ratio of automatic renewal "
            "(`auto_renew`) as (low, high): does it hold the true hazard ratio?",
            "zh": "输入自动续费（`auto_renew`）风险比的 95% 区间（下限, 上限）：它包含真实的风险比吗？",
        },
        {
            "en": "The `ci_low` and `ci_high` of the `auto_renew` row of the Cox summary "
            "(plan `basic` as the reference, history up to the end of the data).",
            "zh": "Cox 结果表中 `auto_renew` 一行的 `ci_low` 和 `ci_high`（以 `basic` 套餐为参照，历史截至数据末尾）。",
        },
        truth=lambda w: float(w.truth.studies["churn"]["hazard_ratios"]["auto_renew"]),
        accept=interval_contains,
        solve=lambda w: tuple(_cox_summary(w).loc["auto_renew", ["ci_low", "ci_high"]]),
    ),
    Exercise(
        "06.3",
        {
            "en": f"What share of the members is still subscribed {SURVIVAL_MONTH} months "
            "after their start? Enter the 95% interval of the Kaplan-Meier estimate as "
            "(low, high): does it hold the true survival of the base?",
            "zh": f"有多大比例的会员在开通 {SURVIVAL_MONTH} 个月后仍在订阅？输入 Kaplan-Meier 估计的 95% 区间（下限, 上限）：它包含会员整体的真实留存率吗？",
        },
        {
            "en": "`churn.kaplan_meier` on `churn.subscription_history` (duration in "
            f"months, still-active members censored): the row at the last time up to "
            f"{SURVIVAL_MONTH} has `ci_low` and `ci_high`.",
            "zh": f"对 `churn.subscription_history`（时长以月计，仍在订阅的会员作为删失）使用 `churn.kaplan_meier`：取时间不超过 {SURVIVAL_MONTH} 的最后一行的 `ci_low` 和 `ci_high`。",
        },
        truth=_true_survival,
        accept=interval_contains,
        solve=_km_interval,
    ),
]
