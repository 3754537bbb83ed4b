"""Exercises of notebook 04 (A/B testing): the coupon experiment. The truth is the true
average effect of the coupon on the assigned customers (``truth.experiment``): exact
probabilities and expected revenue given each customer's latent traits."""

from __future__ import annotations

from typing import Any

from crm_lib.teaching._core import Exercise, interval_contains

ARMS = {"group_col": "variant", "control": "control", "alpha": 0.05}


def _experiment(world: Any):
    from crm_lib import experiments as ex

    exp_id = ex.choose_experiment(world.experiment_assignments, "")
    return ex.experiment_frame(
        world.experiment_assignments, world.experiment_outcomes, experiment_id=exp_id
    )


def _interval(row) -> tuple[float, float]:
    return float(row["ci_low"]), float(row["ci_high"])


def _ate_interval(world: Any) -> tuple[float, float]:
    from crm_lib import experiments as ex

    test = ex.proportions_test(_experiment(world), converted_col="converted", **ARMS)
    return _interval(test.iloc[0])


def _cuped_interval(world: Any) -> tuple[float, float]:
    from crm_lib import experiments as ex

    test = ex.cuped(
        _experiment(world), metric_col="revenue", covariate_col="pre_period_revenue", **ARMS
    )
    return _interval(test.iloc[0])


def _nps_interval(world: Any) -> tuple[float, float]:
    from crm_lib import experiments as ex

    summary = ex.analyze(
        _experiment(world),
        metrics=ex.metrics_from_spec("converted,revenue,orders,nps"),
        correction="holm",
        **ARMS,
    )
    return _interval(summary.set_index("metric").loc["nps"])


EXERCISES = [
    Exercise(
        "04.1",
        {
            "en": "Enter the 95% interval of the coupon's absolute effect on conversion "
            "(treatment minus control) as (low, high): does it hold the true effect?",
            "zh": "输入优惠券对转化率的绝对效应（实验组减对照组）的 95% 区间（下限, 上限）：它包含真实效应吗？",
        },
        {
            "en": "Use `experiments.proportions_test` on the converted column; its "
            "`ci_low`, `ci_high` are the interval of the difference.",
            "zh": "对 `converted` 列使用 `experiments.proportions_test`；其 `ci_low`、`ci_high` 即差值的区间。",
        },
        truth=lambda w: float(w.truth.experiment["ate_conversion"]),
        accept=interval_contains,
        solve=_ate_interval,
    ),
    Exercise(
        "04.2",
        {
            "en": "Enter the 95% CUPED interval of the coupon's effect on revenue per "
            "customer (treatment minus control, in the currency) as (low, high): does it "
            "hold the true effect?",
            "zh": "输入优惠券对每位客户收入的效应（实验组减对照组，以货币计）的 95% CUPED 区间（下限, 上限）：它包含真实效应吗？",
        },
        {
            "en": "Use `experiments.cuped` with `pre_period_revenue` as the covariate (the "
            "CUPED row of section 4, not the Holm-adjusted interval of section 5).",
            "zh": "使用 `experiments.cuped`，以 `pre_period_revenue` 为协变量（第 4 节的 CUPED 行，而不是第 5 节经 Holm 校正的区间）。",
        },
        truth=lambda w: float(w.truth.experiment["ate_revenue"]),
        accept=interval_contains,
        solve=_cuped_interval,
    ),
    Exercise(
        "04.3",
        {
            "en": "The guardrail: enter the 95% interval of the coupon's effect on the Net "
            "Promoter Score (points, treatment minus control) as (low, high): does it hold "
            "the true effect?",
            "zh": "护栏指标：输入优惠券对净推荐值（NPS，以分计，实验组减对照组）效应的 95% 区间（下限, 上限）：它包含真实效应吗？",
        },
        {
            "en": "Read the `nps` row of `experiments.analyze` (section 5); the guardrail "
            "is alone in its family, so its interval is a plain 95% one.",
            "zh": "读取 `experiments.analyze`（第 5 节）中 `nps` 这一行；护栏指标单独成一族，所以它的区间就是普通的 95% 区间。",
        },
        truth=lambda w: float(w.truth.experiment["ate_nps_points"]),
        accept=interval_contains,
        solve=_nps_interval,
    ),
]
