"""Reliability edge cases: constant items and missing answers."""

from __future__ import annotations

import numpy as np
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


def _with_gaps(small_world):
    """The price items of the small world, reverse-coded, with about 15% of answers
    blanked at random (not all in the same rows)."""
    kept = survey.screen_responses(small_world.survey_responses, INST).kept
    items = INST.constructs["price"]
    x = INST.reverse_code(kept[items]).astype("float64").reset_index(drop=True)
    rng = np.random.default_rng(11)
    return x.mask(rng.random(x.shape) < 0.15), items


@pytest.mark.parametrize("policy", ["pairwise", "listwise"])
def test_alpha_with_missing_answers_matches_pingouin(small_world, policy):
    import pingouin as pg

    x, items = _with_gaps(small_world)
    assert x.isna().any(axis=1).mean() > 0.3  # listwise loses a third of the respondents
    rel = survey.reliability(x, items, nan_policy=policy)
    alpha_pg, _ = pg.cronbach_alpha(data=x, nan_policy=policy)  # pingouin on the same input
    assert abs(rel.alpha - alpha_pg) < 1e-10
    assert rel.scale["nan_policy"].iloc[0] == policy
    # the published example: pingouin's "cronbach_wide_missing", R psych::alpha(use =
    # "pairwise") = 0.732660835214447 (pingouin's docstring), listwise 0.8016949152542373
    data = pg.read_dataset("cronbach_wide_missing")
    published = {"pairwise": 0.732660835214447, "listwise": 0.8016949152542373}[policy]
    ours = survey.reliability(data, list(data.columns), nan_policy=policy).alpha
    assert abs(ours - published) < 1e-10


def test_pairwise_item_statistics_and_table(small_world):
    x, items = _with_gaps(small_world)
    rel = survey.reliability(x, items, nan_policy="pairwise")
    # item sd and mean from each item's own answers; the scale's n is every respondent
    # with an answer, the interval uses the fewest respondents answering a pair of items
    row = rel.items.set_index("item").loc[items[0]]
    assert row["sd"] == pytest.approx(x[items[0]].std())
    assert row["mean"] == pytest.approx(x[items[0]].mean())
    pair_n = min(int((x[a].notna() & x[b].notna()).sum()) for a in items for b in items if a < b)
    assert rel.scale["n"].iloc[0] == int(x.notna().any(axis=1).sum())
    assert rel.scale["n_ci"].iloc[0] == pair_n
    listwise = survey.reliability(x, items)  # the default stays listwise
    assert listwise.scale["nan_policy"].iloc[0] == "listwise"
    assert listwise.scale["n"].iloc[0] == int(x.notna().all(axis=1).sum())
    kept = survey.screen_responses(small_world.survey_responses, INST).kept
    table = survey.reliability_table(kept, INST, nan_policy="pairwise")
    assert set(table["nan_policy"]) == {"pairwise"}
    with pytest.raises(ValueError, match="nan_policy must be 'listwise' or 'pairwise'"):
        survey.reliability(x, items, nan_policy="mean")
