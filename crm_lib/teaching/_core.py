"""What every exercise is made of: :class:`Exercise`, :class:`Feedback` and the ways an
answer is compared with the truth (an interval that must hold it, a tolerance, a name, an
order of names).

The study packages are imported inside the functions that need them, so that importing
:mod:`crm_lib.teaching` at the end of a notebook stays cheap.
"""

from __future__ import annotations

import functools
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


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
    """The result of :func:`crm_lib.teaching.check`; shown in a notebook as one sentence."""

    exercise: str
    correct: bool | None  # None: no answer yet, or no truth to compare with
    message: str

    def _repr_markdown_(self) -> str:
        # marks the bundled fonts draw (DejaVu Sans): emoji would be empty boxes offline
        mark = {True: "✔", False: "✘", None: "✎"}[self.correct]
        return f"{mark} **{self.exercise}** — {self.message}"

    def __repr__(self) -> str:
        return f"{self.exercise}: {self.message}"


def per_world(fn: Callable[[Any], T]) -> Callable[[Any], T]:
    """Remember ``fn(world)`` for the last world it was called with.

    Several exercises of a notebook start from the same expensive step (reading the
    exports, cleaning them, building the journeys); a teacher asking for every solution,
    or the tests, then pay for it once. Only the last world is kept, by identity.
    """
    last: dict[str, Any] = {}

    @functools.wraps(fn)
    def wrapper(world: Any) -> T:
        ref = last.get("world")
        if ref is None or ref() is not world:
            last.clear()
            last["value"] = fn(world)
            last["world"] = weakref.ref(world)
        return last["value"]

    return wrapper


# ------------------------------------------------------------------ comparing answers


def interval_contains(answer: Any, truth: float) -> bool:
    """An interval ``(low, high)`` that holds the true value (a 95% interval should, in
    19 worlds of 20: the exercises are set on worlds where it does)."""
    low, high = (float(x) for x in answer)
    if low > high:
        raise ValueError("the interval's low end is above its high end")
    return low <= truth <= high


def close(rel: float = 0.0, abs_: float = 0.0) -> Callable[[Any, Any], bool]:
    """A number within ``max(abs_, rel * |truth|)`` of the truth."""

    def accept(answer: Any, truth: Any) -> bool:
        return abs(float(answer) - float(truth)) <= max(abs_, rel * abs(float(truth)))

    return accept


def same_whole_number(answer: Any, truth: Any) -> bool:
    """The same whole number (``3.0`` counts as 3, ``3.5`` does not)."""
    value = float(answer)
    if value != int(value):
        raise ValueError(f"{answer!r} is not a whole number")
    return int(value) == int(truth)


def same_text(answer: Any, truth: Any) -> bool:
    """The same name, ignoring case and surrounding blanks."""
    return str(answer).strip().lower() == str(truth).strip().lower()


def names(answer: Any) -> list[str]:
    """A list of names from a list, or from one text separated by commas, ``>`` or blanks."""
    if isinstance(answer, str):
        items = re.split(r"[,>\s]+", answer)
    else:
        items = [str(x) for x in answer]
    return [x.strip().lower() for x in items if x.strip()]


def same_order(answer: Any, truth: Any) -> bool:
    """The same names in the same order (case and blanks aside)."""
    return names(answer) == [str(x).lower() for x in truth]
