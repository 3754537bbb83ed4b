"""Exercises with self-checks for the teaching edition of the notebooks.

Each notebook ends with three to five exercises. A student computes an answer in the
notebook and calls :func:`check`, which compares it with the **simulated world's ground
truth** (what really generated the data) and answers "correct" or gives a hint, in English
or Chinese. Teachers get a worked solution with :func:`solution` (computed with crm_lib
from the data, the way the notebook does it) — the tests check that every solution passes
its check and that a wrong answer does not.

An answer is judged in one of a few ways, each stated in its question: the same whole
number or name; a number within a tolerance of a few standard errors; or a 95% interval
that must hold the true value (which a correct method misses in about one world of 20:
the exercises are set on worlds where it does not).

On a dataset without truth (a user's own data) the checks cannot say what is right; they
say so instead of guessing.

The exercises live in one module per notebook or pair of notebooks: :mod:`.data` (01, 02),
:mod:`.segmentation` (03), :mod:`.ab_testing` (04), :mod:`.satisfaction` (05),
:mod:`.churn_retention` (06), :mod:`.funnel_kpis` (07), :mod:`.attribution` (08) and
:mod:`.personalization` (09). ``docs/course.md`` maps them to the topics of a CRM
analytics course.

Examples
--------
>>> from crm_lib import datasets, teaching
>>> world = datasets.simulate(300, seed=2)
>>> teaching.check("05.1", "product", world).correct
True
"""

from __future__ import annotations

from typing import Any

from crm_lib.teaching import (
    ab_testing,
    attribution,
    churn_retention,
    data,
    funnel_kpis,
    personalization,
    satisfaction,
    segmentation,
)
from crm_lib.teaching._core import Exercise, Feedback

__all__ = ["EXERCISES", "Exercise", "Feedback", "check", "exercises_for", "solution"]

_MODULES = (
    data,
    segmentation,
    ab_testing,
    satisfaction,
    churn_retention,
    funnel_kpis,
    attribution,
    personalization,
)

#: Every exercise by id (``"<notebook>.<n>"``), in notebook order.
EXERCISES: dict[str, Exercise] = {e.id: e for m in _MODULES for e in m.EXERCISES}


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
