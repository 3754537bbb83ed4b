"""Attribution models against hand-worked tables, brute force and the simulated truth."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from crm_lib import attribution

CHANNELS = ["direct", "email", "search", "social"]

# The five paths A-E of conftest.py (A-D convert, E is null), credited by hand (see the
# worked rows in the comments); columns in CHANNELS order. Half-life 7 days.
HAND = {
    # A search, B direct, C email, D social
    "first_touch": [1, 1, 1, 1],
    # A email, B direct, C direct, D social
    "last_touch": [2, 1, 0, 1],
    # A email, B direct (direct only), C email (skips direct), D social
    "last_non_direct": [1, 2, 0, 1],
    # A thirds; B direct; C halves; D social 2/4, search 1/4, direct 1/4
    "linear": [7 / 4, 5 / 6, 7 / 12, 5 / 6],
    # weights 2^(-days/7): A 1/8,1/4,1/2 -> 1/7,2/7,4/7; C 1/4,1/2 -> 1/3,2/3;
    # D 1/16,1/8,1/4,1/2 -> 1/15,2/15,4/15,8/15
    "time_decay": [1 + 2 / 3 + 4 / 15, 4 / 7 + 1 / 3, 1 / 7 + 2 / 15, 2 / 7 + 9 / 15],
    # A .4/.2/.4; B 1; C .5/.5; D .4/.1/.1/.4
    "position_based": [1.6, 0.9, 0.5, 1.0],
    # A thirds; B 1; C .5/.5; D first .3, lead (2nd) .3, third .1, last .3
    "w_shaped": [1.6, 1 / 3 + 0.5, 1 / 3 + 0.3, 1 / 3 + 0.6],
}


@pytest.fixture
def five_paths(hand_touchpoints, hand_transactions):
    keep = hand_touchpoints["customer_id"].isin(list("ABCDE"))
    return attribution.build_journeys(
        hand_touchpoints[keep], hand_transactions, lookback_days=30, half_life_days=7
    )


@pytest.mark.parametrize("model", list(HAND))
def test_heuristics_match_the_hand_table(five_paths, model):
    got = attribution.heuristic_attribution(five_paths, model)
    assert got["channel"].tolist() == CHANNELS
    np.testing.assert_allclose(got["conversions"], HAND[model], rtol=1e-12, atol=1e-12)
    assert got["share"].sum() == pytest.approx(1.0)


def test_heuristics_checks(five_paths):
    with pytest.raises(ValueError, match="unknown heuristic"):
        attribution.heuristic_attribution(five_paths, "u_shaped")
    bare = attribution.journeys_from_paths(five_paths.paths)
    with pytest.raises(ValueError, match="time decay needs"):
        attribution.heuristic_attribution(bare, "time_decay")


# Three channels by hand: start -> A 2/4, B 1/4, C 1/4; A -> B 1/2, A -> C 1/2; B -> conv 1;
# C -> B 1/2, C -> null 1/2. P(conv) = 1/2 (1/2 + 1/4) + 1/4 + 1/8 = 3/4.
# Without A: 1/4 + 1/8 = 3/8 (RE 1/2); without B: 0 (RE 1); without C: 1/4 + 1/4 = 1/2
# (RE 1/3). Shares of the 3 conversions: RE / (11/6) -> 9/11, 18/11, 6/11.
THREE = pd.DataFrame(
    {"path": ["A > B", "A > C", "B", "C > B"], "conversions": [1, 0, 1, 1], "nulls": [0, 1, 0, 0]}
)


def test_markov_three_channels_exactly():
    res = attribution.markov_attribution(attribution.journeys_from_paths(THREE))
    assert res.conversion_probability == pytest.approx(0.75, abs=1e-14)
    t = res.summary().set_index("channel")
    np.testing.assert_allclose(t["p_without"], [3 / 8, 0, 1 / 2], atol=1e-14)
    np.testing.assert_allclose(t["removal_effect"], [1 / 2, 1, 1 / 3], atol=1e-14)
    np.testing.assert_allclose(t["conversions"], [9 / 11, 18 / 11, 6 / 11], atol=1e-13)


def test_markov_second_order_by_hand():
    # states (A), (B), (C), (A,B), (A,C), (C,B): each second-order state has one exit, so
    # P = 1/4 (A,B) + 1/4 (B) + 1/4 (C,B) = 3/4; without A 1/2, without B 0, without C 1/2
    res = attribution.markov_attribution(attribution.journeys_from_paths(THREE), order=2)
    t = res.summary().set_index("channel")
    np.testing.assert_allclose(t["removal_effect"], [1 / 3, 1, 1 / 3], atol=1e-14)
    np.testing.assert_allclose(t["conversions"], [3 / 5, 9 / 5, 3 / 5], atol=1e-13)
    assert ("A", "B") in res.states and ("C", "B") in res.states


def _random_paths(rng, k=4, n_paths=60):
    letters = [chr(65 + i) for i in range(k)]
    rows = {}
    for _ in range(n_paths):
        n = rng.integers(1, 6)
        path = " > ".join(rng.choice(letters, size=n))
        rows[path] = (int(rng.integers(0, 20)), int(rng.integers(0, 30)))
    return pd.DataFrame(
        [(p, c, n) for p, (c, n) in rows.items()], columns=["path", "conversions", "nulls"]
    )


def _counts_by_hand(j) -> np.ndarray:
    """First-order transition counts by a loop over the path texts: state 0 start,
    1..k channels, k + 1 conversion, k + 2 null."""
    k = j.k
    counts = np.zeros((k + 1, k + 3))
    for path, conv, nulls in j.paths[["path", "conversions", "nulls"]].itertuples(index=False):
        s = [0] + [j.channels.index(c) + 1 for c in path.split(" > ")]
        for a, b in itertools.pairwise(s):
            counts[a, b] += conv + nulls
        counts[s[-1], k + 1] += conv
        counts[s[-1], k + 2] += nulls
    return counts


def _simulate_chain(j, removed: int | None, n_walkers: int, rng) -> float:
    """Vectorised brute force: walk the estimated first-order chain from the start."""
    k = j.k
    res = attribution.markov_attribution(j)  # only for shape checks below
    assert res.order == 1
    counts = _counts_by_hand(j)
    prob = counts / counts.sum(axis=1, keepdims=True)
    cum = np.cumsum(prob, axis=1)
    state = np.zeros(n_walkers, dtype=np.int64)
    active = np.ones(n_walkers, bool)
    converted = np.zeros(n_walkers, bool)
    while active.any():
        idx = np.nonzero(active)[0]
        u = rng.random(idx.shape[0])
        nxt = (u[:, None] > cum[state[idx]]).sum(axis=1)
        nxt = np.minimum(nxt, k + 2)
        if removed is not None:
            nxt = np.where(nxt == removed + 1, k + 2, nxt)  # into the removed channel: null
        converted[idx[nxt == k + 1]] = True
        active[idx[nxt >= k + 1]] = False
        state[idx] = nxt
    return converted.mean()


def test_markov_removal_effects_equal_brute_force_simulation():
    rng = np.random.default_rng(7)
    j = attribution.journeys_from_paths(_random_paths(rng))
    res = attribution.markov_attribution(j)
    n = 200_000
    p_sim = _simulate_chain(j, None, n, rng)
    se = math.sqrt(res.conversion_probability * (1 - res.conversion_probability) / n)
    assert abs(p_sim - res.conversion_probability) < 4.5 * se
    for c, p_exact in enumerate(res.removal["p_without"]):
        p = _simulate_chain(j, c, n, rng)
        se = math.sqrt(max(p_exact * (1 - p_exact), 1e-12) / n)
        assert abs(p - p_exact) < 4.5 * se, j.channels[c]


@pytest.mark.parametrize("block", [1, 3, 7, 1 << 15])
def test_first_order_counts_equal_a_loop_over_the_texts(monkeypatch, block):
    """The counts are taken a block of whole paths at a time; any block size (one touch,
    a few, all) gives the counts of a plain loop over the path texts, for paths parsed
    from text (channel numbers mapped to codes, here with a channel no path holds) and
    for journeys built on the engine."""
    from crm_lib.attribution import models as m

    monkeypatch.setattr(m, "_BLOCK", block)
    rng = np.random.default_rng(5)
    paths = _random_paths(rng, k=5, n_paths=80)
    for j in (
        attribution.journeys_from_paths(paths),
        attribution.journeys_from_paths(paths, channels=["E", "Z", "D", "C", "B", "A"]),
    ):
        conv, nulls = j.counts()[:2]
        got = m._first_order_counts(j, conv[0], nulls[0]).reshape(j.k + 1, j.k + 3)
        np.testing.assert_array_equal(got, _counts_by_hand(j))


def test_first_order_counts_of_built_journeys(monkeypatch, five_paths):
    from crm_lib.attribution import models as m

    monkeypatch.setattr(m, "_BLOCK", 2)
    conv, nulls = five_paths.counts()[:2]
    got = m._first_order_counts(five_paths, conv[0], nulls[0])
    np.testing.assert_array_equal(got.reshape(5, 7), _counts_by_hand(five_paths))


def test_dense_first_order_equals_the_sparse_solve_of_higher_orders():
    """The first-order chain is solved densely (batched); the sparse solver of the
    higher orders gives the same probabilities when run on first-order states."""
    from crm_lib.attribution import models as m

    rng = np.random.default_rng(3)
    j = attribution.journeys_from_paths(_random_paths(rng, k=6, n_paths=120))
    res = attribution.markov_attribution(j)
    uniq, sid = m._markov_states(j, 1)
    n_states = len(uniq) + 1
    frm, to, kind, path = m._transition_counts(j, sid, n_states)
    w = np.stack([j.paths["journeys"], j.paths["conversions"], j.paths["nulls"]]).astype(float)
    q, r = m._chain(frm, to, w[kind, path], n_states)
    assert m._absorption(q, r) == pytest.approx(res.conversion_probability, rel=1e-12)
    newest = np.concatenate([[-1], uniq - 1])
    sparse_p = [m._absorption(q, r, newest == c) for c in range(j.k)]
    np.testing.assert_allclose(res.removal["p_without"], sparse_p, rtol=1e-12)


# ------------------------------------------------------------------------- Shapley


def _shapley_by_permutations(players, v):
    """Shapley values from the definition: mean marginal contribution over all orders."""
    phi = dict.fromkeys(players, 0.0)
    perms = list(itertools.permutations(players))
    for order in perms:
        seen = frozenset()
        for p in order:
            phi[p] += v(seen | {p}) - v(seen)
            seen = seen | {p}
    return {p: x / len(perms) for p, x in phi.items()}


def test_shapley_path_hand_example_and_simplified_formula():
    j = attribution.journeys_from_paths(THREE)
    got = attribution.shapley_attribution(j, value="path").set_index("channel")["conversions"]
    # simplified formula: A>B splits 1 in halves, B keeps 1, C>B splits 1 in halves
    np.testing.assert_allclose(got, [0.5, 2.0, 0.5], atol=1e-14)


def test_shapley_path_equals_the_definition_on_random_paths():
    rng = np.random.default_rng(11)
    paths = _random_paths(rng, k=4, n_paths=40)
    j = attribution.journeys_from_paths(paths)
    sets = [frozenset(p.split(" > ")) for p in paths["path"]]

    def v(s):
        return sum(c for t, c in zip(sets, paths["conversions"], strict=True) if t <= s)

    want = _shapley_by_permutations(j.channels, v)
    got = attribution.shapley_attribution(j, value="path")
    np.testing.assert_allclose(got["conversions"], [want[c] for c in j.channels], rtol=1e-12)


def test_shapley_incremental_by_hand_with_a_baseline():
    # rates: {A,B} 1, {A,C} 0, {B} 1, {B,C} 1; no touch: 1 of 4 (baseline 1/4); unseen {A},
    # {C} take the baseline, {A,B,C} its best subset (1). Dividends of v - 1/4: d(B) = 3/4,
    # d(A,C) = -1/4, d(A,B,C) = 1/4, others 0. Credits: B 3/4 * 3 journeys = 9/4;
    # A and C: -1/4 / 2 * 1 journey with {A,C} + 1/4 / 3 * 0 = -1/8. Total 3 - 4/4 = 2.
    j = attribution.journeys_from_paths(THREE, empty_journeys=4, empty_conversions=1)
    got = attribution.shapley_attribution(j).set_index("channel")["conversions"]
    np.testing.assert_allclose(got, [-1 / 8, 9 / 4, -1 / 8], atol=1e-14)


def test_shapley_incremental_equals_per_journey_games_by_definition():
    rng = np.random.default_rng(5)
    letters = ["A", "B", "C"]
    rows = []
    for r in range(1, 4):  # every coalition seen, so no filling in
        for s in itertools.combinations(letters, r):
            rows.append((" > ".join(s), int(rng.integers(1, 30)), int(rng.integers(1, 30))))
    paths = pd.DataFrame(rows, columns=["path", "conversions", "nulls"])
    j = attribution.journeys_from_paths(paths, empty_journeys=50, empty_conversions=10)
    rate = {frozenset(p.split(" > ")): c / (c + n) for p, c, n in rows}
    rate[frozenset()] = 10 / 50
    want = dict.fromkeys(letters, 0.0)
    for p, c, n in rows:  # each journey shares v(S) - v(empty) by its own game on S
        players = p.split(" > ")
        phi = _shapley_by_permutations(players, lambda s: rate[frozenset(s)] - rate[frozenset()])
        for q, x in phi.items():
            want[q] += (c + n) * x
    got = attribution.shapley_attribution(j)
    np.testing.assert_allclose(got["conversions"], [want[c] for c in letters], rtol=1e-12)
    assert got["conversions"].sum() == pytest.approx(
        paths["conversions"].sum() - 0.2 * paths[["conversions", "nulls"]].sum().sum()
    )


def test_shapley_refuses_too_many_channels():
    paths = pd.DataFrame(
        {"path": [" > ".join(f"c{i}" for i in range(21))], "conversions": [1], "nulls": [0]}
    )
    with pytest.raises(ValueError, match="at most 20"):
        attribution.shapley_attribution(attribution.journeys_from_paths(paths))
