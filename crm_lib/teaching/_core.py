"""Exercises with self-checks for the teaching edition of the notebooks.

Each notebook ends with a few exercises. A student computes an answer in the notebook and
calls :func:`check`, which compares it with the **simulated world's ground truth** (what
really generated the data) and answers "correct" or gives a hint, in English or Chinese.
Teachers get a worked solution with :func:`solution` (computed with crm_lib from the
data, the way the notebook does it) — the tests check that every solution passes its
check and that a wrong answer does not.

On a dataset without truth (a user's own data) the checks cannot say what is right; they
say so instead of guessing.

Examples
--------
>>> from crm_lib import datasets, teaching
>>> world = datasets.simulate(300, seed=2)
>>> teaching.check("05.1", "product", world).correct
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["EXERCISES", "Exercise", "Feedback", "check", "exercises_for", "solution"]


@dataclass(frozen=True)
class Exercise:
    """One exercise: its question, how to check an answer against the truth, a hint."""

    id: str
    question: dict[str, str]
    hint: dict[str, str]
    truth: Callable[[Any], Any]  # world -> the true value
    accept: Callable[[Any, Any], bool]  # (answer, truth) -> correct?
    solve: Callable[[Any], Any]  # world -> the worked answer, computed from the data


@dataclass(frozen=True)
class Feedback:
    """The result of :func:`check`; shown in a notebook as one sentence."""

    exercise: str
    correct: bool | None  # None: no answer yet, or no truth to compare with
    message: str

    def _repr_markdown_(self) -> str:
        mark = {True: "✅", False: "❌", None: "✏️"}[self.correct]
        return f"{mark} **{self.exercise}** — {self.message}"

    def __repr__(self) -> str:
        return f"{self.exercise}: {self.message}"


# ------------------------------------------------------------------ helpers


def _interval_contains(answer: Any, truth: float) -> bool:
    low, high = (float(x) for x in answer)
    return low <= truth <= high


def _close(rel: float = 0.0, abs_: float = 0.0) -> Callable[[Any, Any], bool]:
    def accept(answer: Any, truth: Any) -> bool:
        return abs(float(answer) - float(truth)) <= max(abs_, rel * abs(float(truth)))

    return accept


def _same_text(answer: Any, truth: Any) -> bool:
    return str(answer).strip().lower() == str(truth).strip().lower()


def _planted(world: Any, table: str, kind: str) -> int:
    dirt = world.truth.dirty_records
    return int(((dirt["table"] == table) & (dirt["kind"] == kind)).sum())


def _mapped(world: Any) -> dict[str, Any]:
    import tempfile

    from crm_lib.datasets.dirt import mapped_exports

    raw, mapped, paths = mapped_exports(world, tempfile.mkdtemp(prefix="crm_teaching_"))
    return {"raw": raw, "mapped": mapped, "paths": paths}


def _bgnbd(world: Any):
    from crm_lib import value

    window = value.holdout_window(
        world.transactions, holdout_weeks=10, timezone="UTC", campaigns=world.experiment_assignments
    )
    split = value.calibration_holdout_split(
        world.transactions,
        calibration_end=window.calibration_end,
        observation_end=window.observation_end,
        time_unit="W",
    )
    return value.BetaGeoModel().fit(split), split


def _experiment(world: Any):
    from crm_lib import experiments as ex

    exp_id = ex.choose_experiment(world.experiment_assignments, "")
    return ex.experiment_frame(
        world.experiment_assignments, world.experiment_outcomes, experiment_id=exp_id
    )


def _ate_interval(world: Any) -> tuple[float, float]:
    from crm_lib import experiments as ex

    exp = _experiment(world)
    test = ex.proportions_test(
        exp, group_col="variant", converted_col="converted", control="control"
    )
    row = test.iloc[0]
    return float(row["ci_low"]), float(row["ci_high"])


def _drivers(world: Any) -> pd.DataFrame:
    from crm_lib import survey

    inst = survey.simulated_world_instrument()
    kept, _ = survey.screen_responses(world.survey_responses, inst)
    scores = pd.concat([kept[["nps"]], inst.construct_scores(kept)], axis=1)
    return survey.key_drivers(scores, "nps", list(inst.constructs))


def _true_importance(world: Any) -> pd.Series:
    return pd.Series(world.truth.survey["relative_importance"]).sort_values(ascending=False)


# ------------------------------------------------------------------ the exercises

EXERCISES: dict[str, Exercise] = {
    e.id: e
    for e in [
        Exercise(
            "01.1",
            {
                "en": "How many order lines did the load send to quarantine because the same "
                "line (order and line number) came twice? Enter a whole number.",
                "zh": "加载时有多少条订单行因同一订单行（订单号与行号相同）出现两次而被隔离？请输入整数。",
            },
            {
                "en": "Count the quarantine records of the orders whose rule is `duplicate_key`.",
                "zh": "统计订单隔离记录中规则为 `duplicate_key` 的记录数。",
            },
            truth=lambda w: _planted(w, "orders", "duplicate_line"),
            accept=lambda a, t: int(a) == int(t),
            solve=lambda w: int(
                (_mapped(w)["mapped"]["transactions"].quarantine["rule"] == "duplicate_key").sum()
            ),
        ),
        Exercise(
            "01.2",
            {
                "en": "In which text encoding was the customers export written? Enter its name.",
                "zh": "客户导出文件使用的是哪种文本编码？请输入编码名称。",
            },
            {
                "en": "Ask `io.detect_encoding` about the customers export; GBK's superset "
                "counts as GBK.",
                "zh": "用 `io.detect_encoding` 检测客户导出文件；GBK 的超集也算作 GBK。",
            },
            truth=lambda w: __import__(
                "crm_lib.datasets.dirt", fromlist=["EXPORT_ENCODINGS"]
            ).EXPORT_ENCODINGS["customers_export"],
            accept=lambda a, t: _encoding_family(a) == _encoding_family(t),
            solve=lambda w: __import__(
                "crm_lib.intake.io", fromlist=["detect_encoding"]
            ).detect_encoding(_mapped(w)["paths"]["customers_export"]),
        ),
        Exercise(
            "02.1",
            {
                "en": "How many test accounts are in the customers export? Enter a whole number.",
                "zh": "客户导出文件中有多少个测试账号？请输入整数。",
            },
            {
                "en": "Use `cleaning.exclude_test_data` with the default e-mail and name rules "
                "and count `test_customer_ids`.",
                "zh": "用默认的邮箱和姓名规则调用 `cleaning.exclude_test_data`，统计 `test_customer_ids` 的个数。",
            },
            truth=lambda w: _planted(w, "customers", "test_account"),
            accept=lambda a, t: int(a) == int(t),
            solve=lambda w: len(
                __import__("crm_lib.intake.pipeline", fromlist=["clean_exports"])
                .clean_exports(_mapped(w)["mapped"])
                .exclusion.test_customer_ids
            ),
        ),
        Exercise(
            "02.2",
            {
                "en": "How many duplicate customer records did record linkage merge? Enter a "
                "whole number; it counts as found when it recovers at least 80% of the "
                "duplicates the simulation planted and merges at most 5% more.",
                "zh": "记录链接合并了多少条重复客户记录？请输入整数；找回至少 80% 的植入重复记录、且多合并不超过 5%，即为正确。",
            },
            {
                "en": "Count the rows of `linkage.merge_log` (one row per merged id).",
                "zh": "统计 `linkage.merge_log` 的行数（每个被合并的编号一行）。",
            },
            truth=lambda w: _planted(w, "customers", "duplicate_customer"),
            accept=lambda a, t: 0.8 * int(t) <= int(a) <= 1.05 * int(t),
            solve=lambda w: len(
                __import__("crm_lib.intake.pipeline", fromlist=["clean_exports"])
                .clean_exports(_mapped(w)["mapped"])
                .linkage.merge_log
            ),
        ),
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
            accept=_interval_contains,
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
            truth=lambda w: _alive_share_at_calibration_end(w),
            accept=_close(abs_=0.05),
            solve=lambda w: float(np.mean(_fitted_alive(w))),
        ),
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
                "zh": "对 converted 列使用 `experiments.proportions_test`；其 `ci_low`、`ci_high` 即差值的区间。",
            },
            truth=lambda w: float(w.truth.experiment["ate_conversion"]),
            accept=_interval_contains,
            solve=_ate_interval,
        ),
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
            accept=_same_text,
            solve=lambda w: (
                _drivers(w).sort_values("shapley_share", ascending=False)["driver"].iloc[0]
            ),
        ),
        Exercise(
            "05.2",
            {
                "en": "Which construct matters least for the recommendation? Enter its name.",
                "zh": "哪个维度对推荐意愿的影响最小？请输入维度名称（英文标识）。",
            },
            {
                "en": "The last construct of the Shapley ranking.",
                "zh": "Shapley 排序中的最后一个维度。",
            },
            truth=lambda w: _true_importance(w).index[-1],
            accept=_same_text,
            solve=lambda w: (
                _drivers(w).sort_values("shapley_share", ascending=False)["driver"].iloc[-1]
            ),
        ),
    ]
}


def _encoding_family(name: Any) -> str:
    key = str(name).strip().lower().replace("_", "-")
    return "gbk" if key in {"gbk", "gb2312", "gb18030", "cp936"} else key


def _alive_share_at_calibration_end(world: Any) -> float:
    from crm_lib import value

    window = value.holdout_window(
        world.transactions, holdout_weeks=10, timezone="UTC", campaigns=world.experiment_assignments
    )
    end = window.calibration_end
    truth = world.truth.customers
    bought = world.transactions.loc[world.transactions["ordered_at"] < end, "customer_id"].unique()
    t = truth[truth["customer_id"].isin(bought)]
    dropout = pd.to_datetime(t["dropout_at"], utc=True)
    return float((dropout.isna() | (dropout > end)).mean())


def exercises_for(notebook: str) -> list[Exercise]:
    """The exercises of a notebook, e.g. ``exercises_for("03")``."""
    prefix = notebook[:2]
    return [e for e in EXERCISES.values() if e.id.startswith(prefix + ".")]


def solution(exercise: str, world: Any) -> Any:
    """The worked answer of an exercise, computed from the data (for teachers)."""
    return EXERCISES[exercise].solve(world)


def check(exercise: str, answer: Any, world: Any, language: str = "en") -> Feedback:
    """Compare ``answer`` with the truth of ``world``; "correct", or a hint.

    ``answer=None`` (not answered yet) and a world without truth give ``correct=None``.
    """
    ex = EXERCISES.get(exercise)
    if ex is None:
        raise KeyError(f"no exercise {exercise!r}; known: {', '.join(EXERCISES)}")
    zh = language == "zh"
    if answer is None or (isinstance(answer, str) and not answer.strip()):
        return Feedback(exercise, None, "还没有答案：把你的答案赋给上面的变量。" if zh else
                        "no answer yet: assign yours to the variable above.")  # fmt: skip
    if getattr(world, "truth", None) is None:
        return Feedback(exercise, None, "这份数据没有真实答案（不是模拟数据），无法判断。" if zh else
                        "this dataset has no ground truth (it is not simulated): nothing to check against.")  # fmt: skip
    try:
        ok = bool(ex.accept(answer, ex.truth(world)))
    except (TypeError, ValueError) as exc:
        shape = "格式不对" if zh else "the answer has the wrong form"
        return Feedback(exercise, False, f"{shape} ({exc}). {ex.hint[language]}")
    if ok:
        return Feedback(exercise, True, "正确！" if zh else "correct!")
    return Feedback(
        exercise, False, ("还不对。提示：" if zh else "not yet. Hint: ") + ex.hint[language]
    )


def _fitted_alive(world: Any) -> pd.Series:
    model, split = _bgnbd(world)
    return model.prob_alive(split)
