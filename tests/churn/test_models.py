"""Churn classifiers and their metrics: by hand, against scikit-learn, against the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from crm_lib import churn, value
from crm_lib.datasets import simulate


def test_ece_and_reliability_by_hand():
    y = np.array([0, 0, 1, 1, 1, 0])
    p = np.array([0.05, 0.15, 0.15, 0.95, 0.85, 0.95])
    # bins: [0,.1): y 0 / p .05; [.1,.2): y .5 / p .15; [.8,.9): 1 / .85; [.9,1]: .5 / .95
    ece = (1 * 0.05 + 2 * 0.35 + 1 * 0.15 + 2 * 0.45) / 6
    assert churn.expected_calibration_error(y, p) == pytest.approx(ece)
    rel = churn.reliability_table(y, p)
    assert rel["customers"].tolist() == [1, 2, 1, 2]
    assert rel["observed_rate"].tolist() == [0.0, 0.5, 1.0, 0.5]


def test_lift_table_by_hand():
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 0])
    p = np.linspace(1, 0.1, 10)
    lift = churn.lift_table(y, p, n_groups=5)
    assert lift["churners"].tolist() == [2, 0, 1, 0, 0]
    assert lift["lift"].iloc[0] == pytest.approx(1.0 / 0.3)
    assert lift["cumulative_gain"].tolist() == pytest.approx([2 / 3, 2 / 3, 1, 1, 1])


def test_metrics_agree_with_scikit_learn():
    rng = np.random.default_rng(4)
    p = rng.uniform(size=500)
    y = (rng.uniform(size=500) < p).astype(int)
    m = churn.metric_intervals(y, p, n_boot=100).set_index("metric")
    assert m.loc["roc_auc", "estimate"] == pytest.approx(roc_auc_score(y, p))
    assert m.loc["pr_auc", "estimate"] == pytest.approx(average_precision_score(y, p))
    assert m.loc["brier", "estimate"] == pytest.approx(brier_score_loss(y, p))
    ci = m.drop(index="ece")  # the ECE has no interval (see metric_intervals)
    assert (ci["ci_low"] <= ci["estimate"]).all() and (ci["estimate"] <= ci["ci_high"]).all()
    assert m.loc["ece", "estimate"] < 0.08  # calibrated by construction
    with pytest.raises(ValueError, match="one class"):
        churn.metric_intervals(np.ones(5), np.full(5, 0.5))
    with pytest.raises(ValueError, match="0/1"):
        churn.metric_intervals(np.array([0, 2]), np.array([0.1, 0.2]))


@pytest.fixture(scope="module")
def world_snapshots():
    world = simulate(3_000, seed=5, dirty=False)
    tx = world.transactions
    co = churn.cut_offs(tx, window_days=90)
    kw = {"window_days": 90, "customers": world.customers,
          "survey_responses": world.survey_responses}  # fmt: skip
    train = churn.churn_snapshot(tx, cutoff=co.train, **kw)
    test = churn.churn_snapshot(tx, cutoff=co.test, **kw)
    summary = value.customer_summary(tx, observation_end=co.test, time_unit="W")
    bgnbd = value.BetaGeoModel().fit(summary)
    btyd = churn.btyd_churn_probability(bgnbd, summary, horizon=90 / 7)
    btyd = test[["customer_id"]].merge(btyd, on="customer_id", how="left")
    return world, co, train, test, btyd


def _planted(snapshot, world, cutoff, seed):
    """A CRM signal logged before the cut-off that the BG/NBD cannot see: a complaint with
    the last order, made by 80% of the customers who (truly) left in the 180 days before the
    cut-off and by 3% of the others. (BG/NBD customers leave right after a purchase, so
    recency alone makes them look alive for a while.)"""
    truth = world.truth.customers.set_index("customer_id")["dropout_at"]
    drop = truth.reindex(snapshot["customer_id"].astype(str))
    gone = ((drop > cutoff - pd.Timedelta(days=180)) & (drop < cutoff)).to_numpy()
    rng = np.random.default_rng(seed)
    u = rng.uniform(size=len(snapshot))
    return snapshot.assign(complaint=np.where(gone, u < 0.8, u < 0.03).astype(float))


@pytest.fixture(autouse=True)
def _single_thread():
    with churn.one_thread():
        yield


def test_time_based_auc_and_the_btyd_baseline(world_snapshots):
    world, co, train, test, btyd = world_snapshots
    num, cat = churn.snapshot_columns(train)
    assert "churned" not in num + cat and "customer_id" not in num + cat
    y = test["churned"].to_numpy()
    base = roc_auc_score(y, btyd["churn_probability"])
    aucs = {}
    for kind in churn.MODEL_KINDS:
        pipe = churn.churn_pipeline(kind, numeric=num, categorical=cat).fit(train[num + cat],
                                                                            train["churned"])  # fmt: skip
        aucs[kind] = roc_auc_score(y, pipe.predict_proba(test[num + cat])[:, 1])
    # stated: on the world's own features the classifiers are good but the (true) BG/NBD
    # is better: the log holds nothing about dropout that recency and frequency do not
    assert 0.85 < min(aucs.values()) and 0.9 < base
    # with a planted informative driver the classifier beats the BTYD baseline
    tr = _planted(train, world, co.train, 1)
    te = _planted(test, world, co.test, 2)
    pipe = churn.churn_pipeline("logistic", numeric=[*num, "complaint"], categorical=cat)
    pipe.fit(tr[[*num, "complaint", *cat]], tr["churned"])
    p = pipe.predict_proba(te[[*num, "complaint", *cat]])[:, 1]
    diff = churn.auc_difference(y, p, btyd["churn_probability"], n_boot=200)
    assert diff["ci_low"] > 0, diff  # paired bootstrap: better, not by chance
    drivers = churn.permutation_drivers(pipe, te[[*num, "complaint", *cat]], y, n_repeats=5)
    assert drivers["feature"].iloc[0] in {"complaint", "recency_days", "overdue"}
    assert "complaint" in set(drivers["feature"].head(3))
    assert (drivers["ci_low"] <= drivers["importance"]).all()


def test_btyd_churn_probability_formula():
    class Fake:
        params_ = {"r": 1.0, "alpha": 2.0}

        def prob_alive(self, summary):
            return pd.Series([0.5, 1.0])

    s = pd.DataFrame({"customer_id": ["a", "b"], "frequency": [1, 0], "T": [2.0, 8.0],
                      "recency": [1.0, 0.0]})  # fmt: skip
    out = churn.btyd_churn_probability(Fake(), s, horizon=4.0)
    # a: 0.5 + 0.5 * (4/8)^2 = 0.625; b: (10/14)^1
    np.testing.assert_allclose(out["churn_probability"], [0.625, 10 / 14])


def test_cross_validated_scores_are_out_of_fold():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=300), "g": rng.choice(["a", "b"], 300)})
    y = (X["x"] + rng.normal(size=300) > 0).astype(int)
    pipe = churn.churn_pipeline("logistic", numeric=["x"], categorical=["g"])
    p = churn.cross_validated_scores(pipe, X, y)
    assert 0.7 < roc_auc_score(y, p) < 0.95
    with pytest.raises(ValueError, match="kind='svm'"):
        churn.churn_pipeline("svm", numeric=["x"])


def test_intervals_hold_their_estimate_and_ece_gets_none():
    """A percentile interval of the ECE lay above its estimate (the resamples' ECE is biased
    upward): no interval is printed for it; every other interval holds its estimate."""
    rng = np.random.default_rng(3)
    p = rng.uniform(0.05, 0.95, 1300)
    y = (rng.uniform(size=p.shape) < p).astype(int)  # calibrated by construction
    m = churn.metric_intervals(y, p, n_boot=200, random_state=1).set_index("metric")
    assert np.isnan(m.loc["ece", "ci_low"]) and np.isnan(m.loc["ece", "ci_high"])
    rest = m.drop(index="ece")
    assert ((rest["ci_low"] <= rest["estimate"]) & (rest["estimate"] <= rest["ci_high"])).all()
