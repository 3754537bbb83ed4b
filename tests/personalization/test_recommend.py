"""Next-best product: hand-worked similarities, lists and metrics; the recommender against
the two baselines on the simulated world; consent and pseudonyms in the list."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_lib.personalization import (
    ItemToItemRecommender,
    best_method,
    evaluate_recommenders,
    holdout_split,
    recommendation_list,
)

T0 = pd.Timestamp("2025-01-01", tz="UTC")

# Training baskets (customer: baskets):
#   u1: B1 {a, b}  B2 {a, b}  B3 {a, c}
#   u2: B4 {b}     B5 {c, d}  B6 {b}
# Baskets holding each item n: a 3, b 4, c 2, d 1. Co-occurrences: ab 2, ac 1, cd 1.
# Cosine (damping 0.5) sim(i, j) = c_ij / sqrt(n_i n_j):
#   ab = 2/sqrt(12) = 0.577350, ac = 1/sqrt(6) = 0.408248, cd = 1/sqrt(2) = 0.707107
TRAIN = {
    "B1": ("u1", 0, "ab"),
    "B2": ("u1", 1, "ab"),
    "B3": ("u1", 2, "ac"),
    "B4": ("u2", 0, "b"),
    "B5": ("u2", 1, "cd"),
    "B6": ("u2", 2, "b"),
}
# Holdout: u1's next basket {c, e} (e never sold before), u2's next basket {a}, and a
# later basket of u2 that the next-basket evaluation ignores.
TEST = {"B7": ("u1", 10, "ce"), "B8": ("u2", 10, "a"), "B9": ("u2", 11, "b")}


def _lines(baskets) -> pd.DataFrame:
    rows = [
        (b, c, T0 + pd.Timedelta(days=d), i) for b, (c, d, items) in baskets.items() for i in items
    ]
    return pd.DataFrame(rows, columns=["basket_id", "customer_id", "purchased_at", "product_id"])


def test_similarity_is_the_hand_worked_cosine():
    rec = ItemToItemRecommender().fit(_lines(TRAIN))
    assert list(rec.items_) == ["a", "b", "c", "d"]
    sim = rec.similarity_.toarray()
    expected = np.array(
        [
            [0, 0.577350, 0.408248, 0],
            [0.577350, 0, 0, 0],
            [0.408248, 0, 0, 0.707107],
            [0, 0, 0.707107, 0],
        ]
    )
    np.testing.assert_allclose(sim, expected, atol=1e-6)
    # damping 0: the conditional probability P(j | i) = c_ij / n_i (rows: i)
    cond = ItemToItemRecommender(damping=0).fit(_lines(TRAIN)).similarity_.toarray()
    assert cond[0, 1] == pytest.approx(2 / 3) and cond[1, 0] == pytest.approx(2 / 4)
    assert cond[3, 2] == pytest.approx(1.0) and cond[2, 3] == pytest.approx(1 / 2)


def test_lists_of_each_method_by_hand():
    rec = ItemToItemRecommender().fit(_lines(TRAIN))

    def ranked(method, who):
        r = rec.recommend([who], k=4, method=method)
        return "".join(r["product_id"])

    # u1 history a:3 b:2 c:1. item-to-item scores: a = 2(.57735) + 1(.408248) = 1.562948,
    # b = 3(.57735) = 1.732051, c = 3(.408248) = 1.224745, d = .707107
    assert ranked("item_to_item", "u1") == "bacd"
    assert ranked("personal", "u1") == "abcd"  # its own counts 3, 2, 1, then popularity
    # blend = scores / max + counts / max: a .902369 + 1, b 1 + .666667, c .707107 + .333333
    assert ranked("blend", "u1") == "abcd"
    # u2 history b:2 c:1 d:1. a = 2(.57735) + .408248; c = d = .707107 (tie: c is more
    # popular); b = 0 (an item is not its own neighbour)
    assert ranked("item_to_item", "u2") == "acdb"
    assert ranked("popularity", "u2") == "bacd"
    r = rec.recommend(["u1", "new"], k=2, method="blend")
    assert list(r["product_id"]) == ["a", "b", "b", "a"]  # a newcomer gets the popular items
    top = rec.recommend(["u1"], k=4, method="item_to_item")
    np.testing.assert_allclose(top["score"], [1, 0.902369, 0.707107, 0.408248], atol=1e-6)


def test_holdout_metrics_by_hand():
    lines = _lines({**TRAIN, **TEST})
    train, test = holdout_split(lines, cutoff=T0 + pd.Timedelta(days=5))
    assert len(train) == 10 and len(test) == 4
    ev = evaluate_recommenders(train, test, k=1, n_boot=50).set_index(["method", "metric"])
    # k = 1. popularity: b for both (u1 buys c, e; u2 buys a): no hit.
    # personal: u1 a, u2 b: no hit. item-to-item: u1 b (miss), u2 a (hit): hit rate 1/2,
    # precision (0 + 1)/2, recall (0/2 + 1/1)/2. blend: u1 a; u2 a and b tie at 1, b is
    # more popular: no hit. Coverage: 1 of the 4 items for popularity, 2 for item-to-item.
    assert ev.loc[("popularity", "hit_rate"), "value"] == 0
    assert ev.loc[("personal", "hit_rate"), "value"] == 0
    assert ev.loc[("item_to_item", "hit_rate"), "value"] == 0.5
    assert ev.loc[("item_to_item", "precision"), "value"] == 0.5
    assert ev.loc[("item_to_item", "recall"), "value"] == 0.5
    assert ev.loc[("blend", "hit_rate"), "value"] == 0
    assert ev.loc[("popularity", "coverage"), "value"] == 0.25
    assert ev.loc[("item_to_item", "coverage"), "value"] == 0.5
    k2 = evaluate_recommenders(train, test, k=2, n_boot=50).set_index(["method", "metric"])
    # popularity top 2 = {b, a}: u2 hits; precision (0 + 1/2)/2
    assert k2.loc[("popularity", "hit_rate"), "value"] == 0.5
    assert k2.loc[("popularity", "precision"), "value"] == 0.25
    # the whole holdout instead of the next basket: u2's later b counts too
    whole = evaluate_recommenders(train, test, k=1, n_boot=50, next_basket=False)
    whole = whole.set_index(["method", "metric"])
    assert whole.loc[("personal", "hit_rate"), "value"] == 0.5  # u2's b


def test_intervals_cover_the_estimate_and_differences_are_paired():
    lines = _lines({**TRAIN, **TEST})
    train, test = holdout_split(lines, cutoff=T0 + pd.Timedelta(days=5))
    ev = evaluate_recommenders(train, test, k=2, n_boot=200)
    has = ev["ci_low"].notna()
    assert (ev.loc[has, "ci_low"] <= ev.loc[has, "value"] + 1e-12).all()
    assert (ev.loc[has, "value"] <= ev.loc[has, "ci_high"] + 1e-12).all()
    same = ev[ev["method"] == "personal"]
    assert (same["diff_personal_low"] == 0).all() and (same["diff_personal_high"] == 0).all()
    with pytest.raises(ValueError, match="no customer bought both"):
        evaluate_recommenders(train, test.iloc[:0])


def test_recommender_beats_both_baselines_on_the_simulated_world(small_world):
    lines = small_world.basket_lines
    end = lines["purchased_at"].max()
    train, test = holdout_split(lines, cutoff=end - pd.Timedelta(weeks=8))
    ev = evaluate_recommenders(train, test, k=10, n_boot=400, random_state=1)
    hit = ev[ev["metric"] == "hit_rate"].set_index("method")
    assert best_method(ev) == "blend"
    # the paired 95% intervals of the difference exclude zero against both baselines
    assert hit.loc["blend", "diff_popularity_low"] > 0
    assert hit.loc["blend", "diff_personal_low"] > 0
    assert ev.attrs["customers"] > 300


def test_recommendation_list_has_only_consenting_customers_pseudonymised(small_world):
    lines = small_world.basket_lines
    rec = ItemToItemRecommender().fit(lines)
    customers = small_world.customers
    out = recommendation_list(rec, customers, k=3, key="a test key of 16+ bytes")
    consenting = set(customers.loc[customers["marketing_consent"], "customer_id"])
    buyers = set(lines["customer_id"])
    assert out["customer"].nunique() == len(consenting & buyers)
    assert not set(out["customer"]) & set(customers["customer_id"])  # no raw id
    assert out["customer"].str.startswith("p_").all()
    from crm_lib.intake.privacy import pseudonymize

    refused = customers.loc[~customers["marketing_consent"], ["customer_id"]]
    hashed = pseudonymize(refused, "customer_id", key="a test key of 16+ bytes")
    assert not set(hashed["customer_id"]) & set(out["customer"])


def test_hit_rate_interval_is_wilson_and_stays_honest_with_no_hits():
    """Two customers, k = 1 (the hand-worked holdout above): the hit rate is a proportion
    of customers, so its interval is Wilson's, as statsmodels computes it; with no hit at
    all it is (0, upper > 0), not the bootstrap's [0, 0]. A bootstrap that saw no
    variation gives no interval; coverage never gets one (resampling biases it low)."""
    from statsmodels.stats.proportion import proportion_confint

    lines = _lines({**TRAIN, **TEST})
    train, test = holdout_split(lines, cutoff=T0 + pd.Timedelta(days=5))
    ev = evaluate_recommenders(train, test, k=1, n_boot=50).set_index(["method", "metric"])
    for method, hits in [("popularity", 0), ("item_to_item", 1)]:  # of 2 customers
        expected = proportion_confint(hits, 2, alpha=0.05, method="wilson")
        got = ev.loc[(method, "hit_rate"), ["ci_low", "ci_high"]].to_numpy(dtype=float)
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert ev.loc[("popularity", "hit_rate"), "ci_high"] > 0.5  # 0 of 2: anything up to 66%
    assert np.isnan(ev.loc[("popularity", "precision"), ["ci_low", "ci_high"]].astype(float)).all()
    assert ev["ci_low"][ev.index.get_level_values("metric") == "coverage"].isna().all()
