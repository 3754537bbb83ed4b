"""Exercises of notebook 03 (segmentation and customer value): BG/NBD and gamma-gamma,
the two halves of CLV. The truth is the world's generating parameters
(``truth.params``) and each customer's true dropout time (``truth.customers``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crm_lib.teaching._core import Exercise, close, interval_contains, per_world

HOLDOUT_WEEKS = 10  # the notebook's default


def _window(world: Any):
    from crm_lib import value

    return value.holdout_window(
        world.transactions,
        holdout_weeks=HOLDOUT_WEEKS,
        timezone="UTC",
        campaigns=world.experiment_assignments,
    )


@per_world
def _bgnbd(world: Any):
    from crm_lib import value

    window = _window(world)
    split = value.calibration_holdout_split(
        world.transactions,
        calibration_end=window.calibration_end,
        observation_end=window.observation_end,
        time_unit="W",
    )
    return value.BetaGeoModel().fit(split), split


def _gamma_gamma(world: Any):
    from crm_lib import value

    gross = value.customer_summary(
        world.transactions,
        observation_end=_window(world).calibration_end,
        returns="ignore",
        time_unit="W",
    )
    repeat = gross[(gross["frequency"] > 0) & (gross["monetary_value"] > 0)]
    return value.GammaGammaModel().fit(repeat)


def _fitted_alive(world: Any) -> pd.Series:
    model, split = _bgnbd(world)
    return model.prob_alive(split)


def _alive_share_at_calibration_end(world: Any) -> float:
    end = _window(world).calibration_end
    truth = world.truth.customers
    bought = world.transactions.loc[world.transactions["ordered_at"] < end, "customer_id"].unique()
    t = truth[truth["customer_id"].isin(bought)]
    dropout = pd.to_datetime(t["dropout_at"], utc=True)
    return float((dropout.isna() | (dropout > end)).mean())


EXERCISES = [
    Exercise(
        "03.1",
        {
            "en": "Fit BG/NBD (weeks) on the calibration period. Enter the 95% interval of "
            "r as (low, high): does it hold the true r?",
            "zh": "在校准期上拟合 BG/NBD 模型（以周为单位），输入参数 r 的 95% 区间（下限, 上限）：它包含真实的 r 吗？",
        },
        {
            "en": "Read `ci_low` and `ci_high` of r from `bgnbd.summary()`; the time unit "
            "must be weeks (r does not depend on it, alpha does).",
            "zh": "从 `bgnbd.summary()` 中读取 r 的 `ci_low` 和 `ci_high`；时间单位应为周。",
        },
        truth=lambda w: float(w.truth.params["bgnbd"]["r"]),
        accept=interval_contains,
        solve=lambda w: tuple(_bgnbd(w)[0].summary().loc["r", ["ci_low", "ci_high"]]),
    ),
    Exercise(
        "03.2",
        {
            "en": "What share of the customers who bought in the calibration period is "
            "still alive at its end? Estimate it as the mean P(alive) of BG/NBD; enter a "
            "share between 0 and 1 (correct within 0.05 of the truth).",
            "zh": "在校准期内购买过的客户中，有多大比例在校准期结束时仍然“存活”？用 BG/NBD 的平均 P(存活) 估计，输入 0 到 1 之间的比例（与真实值相差不超过 0.05 即为正确）。",
        },
        {
            "en": "`bgnbd.prob_alive(split)` gives P(alive) per customer; take the mean.",
            "zh": "`bgnbd.prob_alive(split)` 给出每位客户的 P(存活)，取其平均值。",
        },
        truth=_alive_share_at_calibration_end,
        accept=close(abs_=0.05),
        solve=lambda w: float(np.mean(_fitted_alive(w))),
    ),
    Exercise(
        "03.3",
        {
            "en": "The other half of CLV: fit the gamma-gamma spend model on the repeat "
            "buyers of the calibration period (returns ignored). Enter the 95% interval of "
            "p, the shape of a customer's order values, as (low, high): does it hold the "
            "true p?",
            "zh": "CLV 的另一半：在校准期的重复购买客户上（忽略退货）拟合 Gamma-Gamma 消费模型。输入参数 p（单个客户订单金额分布的形状参数）的 95% 区间（下限, 上限）：它包含真实的 p 吗？",
        },
        {
            "en": "`spend.summary()` has `ci_low` and `ci_high` of p; fit on "
            "`customer_summary(..., returns='ignore')` at the calibration end, keeping "
            "customers with frequency > 0 and monetary_value > 0.",
            "zh": "`spend.summary()` 中有 p 的 `ci_low` 和 `ci_high`；在校准期末用 `customer_summary(..., returns='ignore')` 拟合，只保留 `frequency > 0` 且 `monetary_value > 0` 的客户。",
        },
        truth=lambda w: float(w.truth.params["gamma_gamma"]["p"]),
        accept=interval_contains,
        solve=lambda w: tuple(_gamma_gamma(w).summary().loc["p", ["ci_low", "ci_high"]]),
    ),
]
