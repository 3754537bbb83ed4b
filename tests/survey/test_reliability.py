"""Reliability edge cases: constant items and missing answers."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_lib import survey

INST = survey.simulated_world_instrument()


def test_a_constant_item_is_an_error_naming_it():
    # c is answered 3 by everyone: it has no variance, its item-total r is undefined and
    # it inflates k in alpha = k/(k-1) (1 - sum s_j^2 / s_X^2): alpha of {a, b} is
    # 2 (1 - 2 * 2.1667 / 7.8667) = 0.898 by hand; with c it was reported as 0.674
    df = pd.DataFrame({"a": [1, 2, 3, 4, 5, 2], "b": [2, 2, 3, 5, 4, 1], "c": [3] * 6})
    assert survey.reliability(df, ["a", "b"]).alpha == pytest.approx(
        2 * (1 - 2 * df["a"].var() / (df["a"] + df["b"]).var())
    )
    with pytest.raises(ValueError, match=r"item 'c' is constant \(every answer is 3\)"):
        survey.reliability(df, ["a", "b", "c"])


def test_reliability_table_names_the_construct_of_a_constant_item(small_world):
    kept = survey.screen_responses(small_world.survey_responses, INST).kept
    kept = kept.assign(q_price_2=4)
    with pytest.raises(ValueError, match="construct 'price': item 'q_price_2' is constant"):
        survey.reliability_table(kept, INST)
