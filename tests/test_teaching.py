"""Exercises of the teaching edition: each worked solution passes its self-check against
the simulated world's truth, a wrong answer does not, and nothing is judged without truth."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from crm_lib import teaching

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

# A wrong answer per exercise, made from the truth: off by a little more than the check
# allows, a wrong name, or an interval beside the true value.
WRONG = {
    "01.1": lambda t: t + 1,
    "01.2": lambda t: "utf-8",
    "01.3": lambda t: t - 1,
    "02.1": lambda t: t + 2,
    "02.2": lambda t: t // 2,
    "02.3": lambda t: t + 0.01,
    "03.1": lambda t: (t + 0.5, t + 1.0),
    "03.2": lambda t: t + 0.2,
    "03.3": lambda t: (t + 0.5, t + 3.0),
    "04.1": lambda t: (t + 0.1, t + 0.2),
    "04.2": lambda t: (t - 30.0, t - 0.5),
    "04.3": lambda t: (t + 1.0, t + 40.0),
    "05.1": lambda t: "delivery",
    "05.2": lambda t: (t + 0.1, t + 0.2),
    "05.3": lambda t: round(1.2 * t),
    "05.4": lambda t: "promoter",
    "06.1": lambda t: "auto_renew",
    "06.2": lambda t: (0.6 * t, 0.95 * t),
    "06.3": lambda t: (t + 0.01, t + 0.1),
    "07.1": lambda t: "social",
    "07.2": lambda t: (t - 5.0, t - 0.5),
    "07.3": lambda t: "outbound",
    "07.4": lambda t: "search",
    "08.1": lambda t: (t - 0.2, t - 0.01),
    "08.2": lambda t: list(reversed(t)),
    "08.3": lambda t: (0.2, 0.35),  # the Markov share of search: credit is not causation
    "09.1": lambda t: ("I0000", "I0000"),
    "09.2": lambda t: 2 * t,  # every pair counted twice, once per direction
    "09.3": lambda t: t + 1,
    "09.4": lambda t: t - 0.1,
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
    assert "✔" in teaching.check("05.1", "product", small_world)._repr_markdown_()


def test_an_answer_of_the_wrong_form_gets_the_hint(small_world):
    turned = teaching.check("04.1", (0.2, -0.2), small_world)  # low end above the high end
    assert turned.correct is False and "wrong form" in turned.message
    assert teaching.check("01.1", 72.5, small_world).correct is False  # not a whole number
    assert teaching.check("09.1", ("I0001",), small_world).correct is False  # one product


def test_names_may_be_given_as_one_text():
    from crm_lib.teaching._core import same_order

    truth = ["search", "social", "email"]
    assert same_order(" Search > social, EMAIL ", truth)
    assert not same_order("search, email, social", truth)


@pytest.mark.parametrize("notebook", [f"0{n}" for n in range(1, 10)])
def test_every_notebook_has_three_to_five_exercises(notebook):
    ids = [e.id for e in teaching.exercises_for(notebook)]
    assert 3 <= len(ids) <= 5
    assert ids == [f"{notebook}.{k}" for k in range(1, len(ids) + 1)]


def test_exercises_per_notebook():
    assert [e.id for e in teaching.exercises_for("03_segmentation")] == ["03.1", "03.2", "03.3"]
    with pytest.raises(KeyError, match="no exercise"):
        teaching.check("99.9", 1, None)


def test_every_exercise_speaks_both_languages():
    for e in teaching.EXERCISES.values():
        for text in (e.question, e.hint):
            assert set(text) == {"en", "zh"} and all(v.strip() for v in text.values()), e.id


@pytest.mark.parametrize("notebook", [f"0{n}" for n in range(1, 10)])
def test_every_exercise_is_asked_and_checked_in_its_notebook(notebook):
    (path,) = NOTEBOOKS.glob(f"{notebook}_*.ipynb")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = {
        lang: [
            "".join(c["source"]) for c in cells if f"lang-{lang}" in c["metadata"].get("tags", [])
        ]
        for lang in ("en", "zh")
    }
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    for e in teaching.exercises_for(notebook):
        for lang, cells_of in text.items():
            assert f"**{e.id}** {e.question[lang]}" in cells_of, (e.id, lang)
        var = "answer_" + e.id.replace(".", "_")
        assert (
            f"{var} = None" in code and f'teaching.check("{e.id}", {var}, world, language)' in code
        )
