"""Uplift models, Qini/uplift curves and the consent-respecting target list.

Ground truth: the simulated world's per-customer conditional effect ``cate``. The default
world's heterogeneity (tau 0.01 + 0.08 young + 0.04 south/east, mostly masked by customers
who buy anyway or have churned) is too weak for a held-out Qini to separate from random at a
test-friendly size, so the recovery tests use a world with every customer consenting and a
stronger tau rule (0.01 + 0.25 young + 0.12 south/east); the rule is still the world's truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_lib.datasets import WorldParams, simulate
from crm_lib.experiments import (
    PII_COLUMNS,
    ClassTransformationUplift,
    TwoModelUplift,
    evaluate_uplift,
    qini_coefficient,
    qini_curve,
    target_list,
    uplift_curve,
    uplift_features,
)


@pytest.fixture(scope="module")
def world():
    params = WorldParams(consent_share=1.0, tau_young=0.25, tau_south_east=0.12)
    return simulate(50_000, seed=3, dirty=False, params=params)


@pytest.fixture(scope="module")
def data(world):
    a = world.experiment_assignments
    X = uplift_features(world.customers, a)
    out = a.merge(world.experiment_outcomes, on=["experiment_id", "customer_id"])
    t = (out["variant"] == "coupon").to_numpy().astype(int)
    y = out["converted"].to_numpy().astype(int)
    truth = world.truth.experiment_customers.set_index("customer_id").loc[X.index, "cate"]
    return X, t, y, truth.to_numpy()


@pytest.mark.parametrize("model", [TwoModelUplift(), ClassTransformationUplift()])
def test_models_recover_heterogeneity_and_beat_random_on_holdout(data, model):
    X, t, y, cate = data
    ev = evaluate_uplift(model, X, t, y, test_size=0.5, random_state=0)
    test = ev.test_index
    assert np.corrcoef(ev.scores, cate[test])[0, 1] > 0.15
    # random targeting has Qini coefficient 0 in expectation (its sd here is about 0.01)
    assert ev.qini_coefficient > 0.015
    rng = np.random.default_rng(1)
    random_q = qini_coefficient(y[test], t[test], rng.random(len(test)))
    assert ev.qini_coefficient > random_q
    # the oracle view: customers ranked in the top 30% carry more true effect than average
    top = ev.scores >= np.quantile(ev.scores, 0.7)
    assert cate[test][top].mean() > 1.3 * cate[test].mean()


def test_sklearn_contract_and_seed(data):
    X, t, y, _ = data
    X, t, y = X.iloc[:3000], t[:3000], y[:3000]
    m = TwoModelUplift(random_state=5)
    assert m.fit(X, t, y) is m
    assert m.n_features_in_ == X.shape[1] and hasattr(m, "model_control_")
    again = TwoModelUplift(random_state=5).fit(X, t, y).predict_uplift(X)
    np.testing.assert_array_equal(m.predict_uplift(X), again)
    ct = ClassTransformationUplift().fit(X, t, y)
    assert ct.treatment_share_ == pytest.approx(t.mean())
    u = ct.predict_uplift(X)
    assert u.shape == (3000,) and np.all(np.abs(u) <= 1)


def test_class_transformation_handles_unequal_treatment_share():
    # tau = 0.3 for x = 1, 0 for x = 0, with 80% treated: the weighted transformation must
    # still give the right effect (the unweighted one is biased by the class prior of Z).
    rng = np.random.default_rng(0)
    n = 40_000
    x = rng.integers(0, 2, n)
    t = (rng.random(n) < 0.8).astype(int)
    y = (rng.random(n) < 0.2 + 0.3 * x * t).astype(int)
    X = np.c_[x, 1 - x].astype(float)
    u = ClassTransformationUplift().fit(X, t, y).predict_uplift(np.array([[0, 1], [1, 0]]))
    assert u == pytest.approx([0.0, 0.3], abs=0.03)


def test_input_errors():
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match="treatment must be 0/1"):
        TwoModelUplift().fit(X, [0, 1, 2, 1], [0, 1, 0, 1])
    with pytest.raises(ValueError, match="only one arm"):
        TwoModelUplift().fit(X, [1, 1, 1, 1], [0, 1, 0, 1])
    with pytest.raises(ValueError, match="same length"):
        TwoModelUplift().fit(X, [0, 1, 1], [0, 1, 0, 1])
    with pytest.raises(ValueError, match="treatment_share must be in"):
        ClassTransformationUplift(treatment_share=1.5).fit(X, [0, 1, 0, 1], [0, 1, 0, 1])
    with pytest.raises(ValueError, match="personal data"):
        uplift_features(pd.DataFrame({"customer_id": [1], "email": ["a"]}), categorical=["email"])


def test_features_one_hot_impute_and_no_pii(small_world):
    X = uplift_features(small_world.customers, small_world.experiment_assignments)
    assert len(X) == len(small_world.experiment_assignments)
    assert not X.isna().any().any()
    assert {"region_south", "region_east", "birth_year_missing"} <= set(X.columns)
    assert not any(c.split("_")[0] in PII_COLUMNS for c in X.columns)
    assert X.filter(like="region_").sum(axis=1).eq(1).all()


# ---------------------------------------------------------------------------- curves


def test_qini_curve_by_hand():
    # Ranked by score: T1 (y=1), C (y=0), T (y=0), C (y=1), T (y=1)
    y = [1, 0, 0, 1, 1]
    t = [1, 0, 1, 0, 1]
    s = [0.9, 0.7, 0.5, 0.3, 0.1]
    q = qini_curve(y, t, s)
    # k=1: y_t=1, no control -> 1; k=2: 1 - 0*1/1 = 1; k=3: 1 - 0*2/1 = 1;
    # k=4: 1 - 1*2/2 = 0; k=5: 2 - 1*3/2 = 0.5
    assert q["qini"].tolist() == pytest.approx([0, 1, 1, 1, 0, 0.5])
    assert q["random"].tolist() == pytest.approx([0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert q["n_treatment"].tolist() == [0, 1, 1, 2, 2, 3]
    # area over share (step 0.2): trapezoids of qini - random = [0, .9, .8, .7, -.4, 0]
    area = 0.2 * ((0 + 0.9) + (0.9 + 0.8) + (0.8 + 0.7) + (0.7 - 0.4) + (-0.4 + 0)) / 2
    assert qini_coefficient(y, t, s, normalize=False) == pytest.approx(area)
    u = uplift_curve(y, t, s)
    # k=3: (1/2 - 0/1) * 3 = 1.5; k=5: (2/3 - 1/2) * 5
    assert u["uplift"].iloc[3] == pytest.approx(1.5)
    assert u["uplift"].iloc[-1] == pytest.approx((2 / 3 - 1 / 2) * 5)


def test_curve_invariants_and_ties():
    rng = np.random.default_rng(2)
    n = 500
    y = rng.integers(0, 2, n)
    t = rng.integers(0, 2, n)
    s = np.round(rng.random(n), 1)  # many ties
    for curve, col in ((qini_curve(y, t, s), "qini"), (uplift_curve(y, t, s), "uplift")):
        first, last = curve.iloc[0], curve.iloc[-1]
        assert first["n"] == 0 and first[col] == 0 and first["random"] == 0
        assert last["n"] == n and last["share"] == 1
        assert last[col] == pytest.approx(last["random"])
        assert (np.diff(curve["n"]) > 0).all()
        r = curve["random"].to_numpy()
        assert np.all(np.diff(r) >= 0) or np.all(np.diff(r) <= 0)  # straight line
        assert len(curve) == len(np.unique(s)) + 1
    q = qini_curve(y, t, s)
    n_t, n_c = t.sum(), n - t.sum()
    assert q["qini"].iloc[-1] == pytest.approx(y[t == 1].sum() - y[t == 0].sum() * n_t / n_c)
    assert qini_coefficient(y, t, y * t - y * (1 - t)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same length"):
        qini_curve(y, t, s[:-1])


# ------------------------------------------------------------------------- targeting


def test_target_list_only_consenting_and_no_pii(small_world):
    cust = small_world.customers
    scores = pd.Series(
        np.random.default_rng(0).normal(size=len(cust)), index=cust["customer_id"].to_numpy()
    )
    out = target_list(cust, scores, top_share=0.5)
    assert list(out.columns) == ["customer_id", "score", "rank"]
    consenting = set(cust.loc[cust["marketing_consent"], "customer_id"])
    assert set(out["customer_id"]) <= consenting
    assert len(out) == int(np.ceil(0.5 * len(consenting)))
    assert out["score"].is_monotonic_decreasing
    assert out["rank"].tolist() == list(range(1, len(out) + 1))
    assert not set(out.columns) & set(PII_COLUMNS)
    # even asked for everyone, a non-consenting customer never appears
    everyone = target_list(cust, scores, n=len(cust) + 10)
    assert len(everyone) == len(consenting)
    positive = target_list(cust, scores, top_share=1.0, min_score=0.0)
    assert (positive["score"] > 0).all()


def test_target_list_missing_consent_and_unknown_ids():
    cust = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "name": ["A", "B", "C", "D"],
            "marketing_consent": pd.array([True, False, None, True], dtype="boolean"),
        }
    )
    scores = pd.DataFrame({"customer_id": ["a", "b", "c", "d", "x"], "score": [1, 5, 4, 2, 9]})
    out = target_list(cust, scores, n=10)
    assert out["customer_id"].tolist() == ["d", "a"]
    with pytest.raises(ValueError, match="exactly one of top_share"):
        target_list(cust, scores)
    with pytest.raises(KeyError, match="marketing_consent"):
        target_list(cust.drop(columns="marketing_consent"), scores, n=1)
