"""Pair association rules: a hand-worked table, the planted pairs of the simulated world,
and mlxtend on the same input when it is installed (it is no dependency of crm_lib)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from crm_lib.personalization import RULE_COLUMNS, association_rules

# Five baskets (a is listed twice in B1: one basket holds an item once).
#   B1: a b c   B2: a b   B3: a c   B4: b d   B5: a b d
# Item counts: a 4, b 4, c 2, d 2 of N = 5. Pair counts: ab 3, ac 2, bd 2, bc 1, ad 1.
BASKETS = {"B1": "abca", "B2": "ab", "B3": "ac", "B4": "bd", "B5": "abd"}


def _lines(baskets=BASKETS) -> pd.DataFrame:
    rows = [(b, i) for b, items in baskets.items() for i in items]
    return pd.DataFrame(rows, columns=["basket_id", "product_id"])


# Hand-worked: support s(AC), confidence s(AC)/s(A), lift s(AC)/(s(A)s(C)),
# leverage s(AC) - s(A)s(C), conviction (1 - s(C))/(1 - confidence).
HAND = pd.DataFrame(
    [
        # antecedent, consequent, n_both, s(A), s(C), support, confidence, lift, leverage, conviction
        ("a", "c", 2, 0.8, 0.4, 0.4, 0.50, 1.25, 0.08, 1.2),  # (1-.4)/(1-.5)
        ("b", "d", 2, 0.8, 0.4, 0.4, 0.50, 1.25, 0.08, 1.2),
        ("c", "a", 2, 0.4, 0.8, 0.4, 1.00, 1.25, 0.08, math.inf),
        ("d", "b", 2, 0.4, 0.8, 0.4, 1.00, 1.25, 0.08, math.inf),
        ("a", "b", 3, 0.8, 0.8, 0.6, 0.75, 0.9375, -0.04, 0.8),  # .6/.64; (1-.8)/(1-.75)
        ("b", "a", 3, 0.8, 0.8, 0.6, 0.75, 0.9375, -0.04, 0.8),
    ],
    columns=RULE_COLUMNS,
)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["antecedent", "consequent"]).reset_index(drop=True)


def test_rules_match_the_hand_worked_table():
    # min_support 0.3 of 5 baskets: pairs in at least 2 baskets (ab, ac, bd)
    rules = association_rules(_lines(), min_support=0.3)
    assert rules.attrs["n_baskets"] == 5
    got = _sorted(rules).astype({"antecedent": object, "consequent": object})
    pd.testing.assert_frame_equal(got, _sorted(HAND), check_dtype=False, atol=1e-12)
    assert rules["lift"].is_monotonic_decreasing  # sorted by lift


def test_rare_pairs_and_filters():
    rules = association_rules(_lines(), min_support=0.2)  # every pair in >= 1 basket
    pairs = {frozenset(p) for p in zip(rules["antecedent"], rules["consequent"], strict=True)}
    assert pairs == {frozenset(p) for p in ["ab", "ac", "bd", "bc", "ad"]}
    bc = rules[(rules["antecedent"] == "b") & (rules["consequent"] == "c")].iloc[0]
    assert bc["lift"] == pytest.approx(0.2 / (0.8 * 0.4))  # 0.625, by hand
    strong = association_rules(_lines(), min_support=0.2, min_lift=1.1, min_confidence=0.9)
    assert sorted(zip(strong["antecedent"], strong["consequent"], strict=True)) == [
        ("c", "a"),
        ("d", "b"),
    ]
    with pytest.raises(ValueError, match="min_support must be in"):
        association_rules(_lines(), min_support=0)
    with pytest.raises(ValueError, match="has no column 'sku'"):
        association_rules(_lines(), item_col="sku")


def test_planted_pairs_are_the_top_rules_by_lift(small_world):
    truth = small_world.truth.studies["personalization"]
    planted = {frozenset((p["antecedent"], p["consequent"])) for p in truth["planted_pairs"]}
    rules = association_rules(small_world.basket_lines, min_support=0.005)
    top = rules.head(2 * len(planted))  # both directions of each planted pair
    found = {frozenset(p) for p in zip(top["antecedent"], top["consequent"], strict=True)}
    assert found == planted
    # every other rule has a far smaller lift
    assert rules["lift"].iloc[2 * len(planted)] < 0.5 * top["lift"].min()
    # the estimates agree with the exact model values within sampling error: with N
    # baskets, support has sd sqrt(s(1-s)/N); lift by the delta method about
    # lift * sqrt((1 - s)/(N s)) (the item supports add less); band = 4 sd
    n = rules.attrs["n_baskets"]
    s, lift = truth["planted_pairs"][0]["support"], truth["planted_pairs"][0]["lift"]
    sd_s = math.sqrt(s * (1 - s) / n)
    sd_lift = 2 * lift * math.sqrt((1 - s) / (n * s))  # x2: item supports' share, generous
    assert np.all(np.abs(top["support"] - s) < 4 * sd_s)
    assert np.all(np.abs(top["lift"] - lift) < 4 * sd_lift)


def test_rules_equal_mlxtend_on_the_same_baskets(small_world):
    mlx = pytest.importorskip("mlxtend.frequent_patterns")
    lines = small_world.basket_lines
    onehot = pd.crosstab(lines["basket_id"], lines["product_id"]).gt(0)
    freq = mlx.fpgrowth(onehot, min_support=0.005, use_colnames=True, max_len=2)
    ref = mlx.association_rules(freq, metric="support", min_threshold=0.005)
    ref = pd.DataFrame(
        {
            "antecedent": [next(iter(a)) for a in ref["antecedents"]],
            "consequent": [next(iter(c)) for c in ref["consequents"]],
            "support": ref["support"],
            "confidence": ref["confidence"],
            "lift": ref["lift"],
            "leverage": ref["leverage"],
        }
    )
    ours = association_rules(lines, min_support=0.005)
    cols = ["antecedent", "consequent", "support", "confidence", "lift", "leverage"]
    a = _sorted(ours[cols].astype({"antecedent": object, "consequent": object}))
    pd.testing.assert_frame_equal(a, _sorted(ref[cols]), check_dtype=False, rtol=1e-9)
