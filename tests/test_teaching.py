"""Exercises of the teaching edition: each worked solution passes its self-check against
the simulated world's truth, a wrong answer does not, and nothing is judged without truth."""

from __future__ import annotations

import dataclasses

import pytest

from crm_lib import teaching

WRONG = {
    "01.1": lambda t: t + 1,
    "01.2": lambda t: "utf-8",
    "02.1": lambda t: t + 2,
    "02.2": lambda t: t // 2,
    "03.1": lambda t: (t + 0.5, t + 1.0),
    "03.2": lambda t: t + 0.2,
    "04.1": lambda t: (t + 0.1, t + 0.2),
    "05.1": lambda t: "delivery",
    "05.2": lambda t: "product",
}


def test_every_exercise_has_a_wrong_answer_here():
    assert set(WRONG) == set(teaching.EXERCISES)


@pytest.mark.parametrize("exercise", sorted(teaching.EXERCISES))
def test_the_solution_passes_and_a_wrong_answer_fails(exercise, small_world):
    answer = teaching.solution(exercise, small_world)
    assert teaching.check(exercise, answer, small_world).correct is True
    truth = teaching.EXERCISES[exercise].truth(small_world)
    wrong = teaching.check(exercise, WRONG[exercise](truth), small_world, language="zh")
    assert wrong.correct is False and "提示" in wrong.message


def test_no_answer_and_no_truth_are_not_judged(small_world):
    assert teaching.check("05.1", None, small_world).correct is None
    own = dataclasses.replace(small_world, truth=None)
    feedback = teaching.check("05.1", "product", own)
    assert feedback.correct is None and "no ground truth" in feedback.message
    assert "✅" in teaching.check("05.1", "product", small_world)._repr_markdown_()


def test_exercises_per_notebook():
    assert [e.id for e in teaching.exercises_for("03_segmentation")] == ["03.1", "03.2"]
    with pytest.raises(KeyError, match="no exercise"):
        teaching.check("99.9", 1, None)
