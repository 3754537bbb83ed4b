"""Pair association rules: a hand-worked table, the planted pairs of the simulated world,
and mlxtend on the same input, run in the benchmark-only environment (it is no dependency
of crm_lib)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

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


ROOT = Path(__file__).resolve().parents[2]
BENCH_PYTHON = Path(
    os.environ.get("BENCH_MLXTEND_PYTHON") or ROOT / ".bench-venv" / "bin" / "python"
)


def _has_mlxtend(python: Path) -> bool:
    if not python.exists():
        return False
    probe = subprocess.run([str(python), "-c", "import mlxtend"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(
    not _has_mlxtend(BENCH_PYTHON), reason="no .bench-venv with mlxtend (make bench builds it)"
)
def test_rules_equal_mlxtend_on_the_same_baskets(small_world, tmp_path):
    # mlxtend 0.25 (fpgrowth, itemsets of size <= 2, then association_rules) runs in the
    # benchmark-only environment on the same file; both give the same rules
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_baskets
    finally:
        sys.path.pop(0)
    path = tmp_path / "baskets.parquet"
    small_world.basket_lines.to_parquet(path, index=False)
    for encoding in ("dense", "sparse"):
        run, theirs = bench_baskets.run_mlxtend(BENCH_PYTHON, path, 0.005, 1, encoding)
        ours = association_rules(path, min_support=0.005)
        agreement = bench_baskets.rules_agreement(ours, theirs)
        assert agreement["same_rules"] and agreement["rules"] == run["rules"] == len(ours) > 12
        assert max(agreement["max_relative_difference"].values()) < 1e-9
