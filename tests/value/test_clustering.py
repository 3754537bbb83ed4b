"""Clustering segmentation: recovery of known clusters, choice of k, rules, stability."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from crm_lib.value import clustering as cl

FEATURES = ["time_since_last", "frequency", "monetary"]


def mixture(k: int = 3, n_per: int = 150, spread: float = 0.15, seed: int = 0):
    """Well-separated clusters on the log scale (centres far apart in each feature).

    Returns the RFM-like table and the true cluster of each row.
    """
    rng = np.random.default_rng(seed)
    centres = [  # log(1 + x) of time since last, frequency, monetary
        (np.log1p(2), np.log1p(30), np.log1p(5000)),
        (np.log1p(60), np.log1p(1), np.log1p(80)),
        (np.log1p(10), np.log1p(6), np.log1p(800)),
        (np.log1p(120), np.log1p(12), np.log1p(2000)),
    ][:k]
    rows, truth = [], []
    for j, c in enumerate(centres):
        z = rng.normal(c, spread * np.array([1.5, 1.0, 2.0]), size=(n_per, 3))
        rows.append(np.expm1(z))
        truth += [j] * n_per
    x = np.vstack(rows)
    data = pd.DataFrame(x, columns=FEATURES)
    data.insert(0, "customer_id", [f"c{i:04d}" for i in range(len(data))])
    data["region"] = np.where(np.asarray(truth) == 0, "north", "south")
    return data, np.asarray(truth)


@pytest.mark.parametrize("method", ["kmeans", "gmm"])
def test_recovers_known_clusters(method):
    data, truth = mixture(3)
    model = cl.CustomerClusterer(3, method=method, random_state=0).fit(data)
    assert adjusted_rand_score(truth, model.labels_.to_numpy()) > 0.9
    assert model.labels_.index.name == "customer_id"
    assert set(model.labels_) == {1, 2, 3}
    # clusters are numbered by decreasing mean monetary value
    assert model.centers_["monetary"].is_monotonic_decreasing
    # back-transformed centres are in the original units (cluster 1 is the 5,000 one)
    assert model.centers_.loc[1, "monetary"] == pytest.approx(5000, rel=0.2)
    assert np.isnan(model.bic_) if method == "kmeans" else np.isnan(model.inertia_)


def test_random_state_determinism_and_predict():
    data, _ = mixture(4, spread=0.4, seed=3)
    a = cl.CustomerClusterer(4, random_state=7).fit(data)
    b = cl.CustomerClusterer(4, random_state=7).fit(data)
    pd.testing.assert_series_equal(a.labels_, b.labels_)
    pred = a.predict(data)
    assert (pred.to_numpy() == a.labels_.to_numpy()).all()
    assert a.n_features_in_ == 3 and list(a.feature_names_in_) == FEATURES


def test_transform_features_is_log_then_standardised():
    data, _ = mixture(2)
    z = cl.transform_features(data, FEATURES)
    assert z.mean().abs().max() < 1e-12
    assert np.allclose(z.std(ddof=0), 1)
    manual = np.log1p(data["frequency"])
    manual = (manual - manual.mean()) / manual.std(ddof=0)
    assert np.allclose(z["frequency"], manual)


@pytest.mark.parametrize("k", [3, 4])
def test_choose_k_picks_true_k_on_well_separated_data(k):
    data, _ = mixture(k, n_per=120)
    table = cl.choose_k(data, range(2, 7), random_state=0)
    assert list(table.columns) == ["k", "inertia", "silhouette", "bic", "silhouette_gmm"]
    assert table["inertia"].is_monotonic_decreasing
    assert cl.best_k(table, "silhouette") == k
    assert cl.best_k(table, "bic") == k
    pd.testing.assert_frame_equal(table, cl.choose_k(data, range(2, 7), random_state=0))


def test_plot_choose_k_three_axes_and_translated():
    data, _ = mixture(3, n_per=60)
    table = cl.choose_k(data, range(2, 5), random_state=0)
    axes = cl.plot_choose_k(table, language="zh", chosen_k=3)
    assert len(axes) == 3
    assert axes[2].get_title() == "信息准则 BIC（越低越好）"
    fig, given = plt.subplots(1, 3)
    assert cl.plot_choose_k(table, axes=given)[0] is given[0]
    plt.close("all")


def test_profiles_sizes_and_shares():
    data, truth = mixture(3, n_per=50)
    model = cl.CustomerClusterer(3, random_state=0).fit(data)
    prof = cl.cluster_profiles(data, model.labels_)
    assert prof["customers"].tolist() == [50, 50, 50]
    assert prof["customer_share"].sum() == pytest.approx(1)
    assert prof["value_share"].sum() == pytest.approx(1)
    assert prof["value_share"].is_monotonic_decreasing
    assert {"frequency_mean", "monetary_median"} <= set(prof.columns)
    # labels by position give the same table
    shuffled = data.sample(frac=1, random_state=1)
    by_pos = cl.cluster_profiles(shuffled, model.labels_.loc[shuffled["customer_id"]].to_numpy())
    pd.testing.assert_frame_equal(prof, by_pos)


def test_categorical_profiles_are_shares_within_cluster():
    data, _ = mixture(3, n_per=50)
    model = cl.CustomerClusterer(3, random_state=0).fit(data)
    cat = cl.categorical_profiles(data, model.labels_, attributes=["region"])
    assert list(cat.columns) == [
        "cluster", "attribute", "level", "customers", "share", "overall_share", "lift",
    ]  # fmt: skip
    assert np.allclose(cat.groupby(["cluster", "attribute"])["share"].sum(), 1)
    # cluster 1 (the high-value one) is the all-"north" true cluster
    north = cat[(cat["cluster"] == 1) & (cat["level"] == "north")]
    assert north["share"].item() == 1.0
    assert north["lift"].item() == pytest.approx(3.0)
    assert cat["customers"].sum() == len(data)


def test_tree_rules_reproduce_membership():
    data, _ = mixture(3)
    model = cl.CustomerClusterer(3, random_state=0).fit(data)
    rules = cl.explain_clusters(data, model.labels_, max_depth=2)
    # the stated accuracy is the share of customers the rules put in their own cluster
    leaf_pred = rules.tree.predict(data[FEATURES].to_numpy())
    assert rules.accuracy == pytest.approx((leaf_pred == model.labels_.to_numpy()).mean())
    assert rules.accuracy > 0.95
    assert rules.rules["customers"].sum() == len(data)
    assert set(rules.rules["cluster"]) == {1, 2, 3}
    assert "Frequency" in rules.text or "Spend" in rules.text
    zh = cl.explain_clusters(data, model.labels_, max_depth=2, language="zh")
    assert zh.rules["rule"].str.contains("购买次数|消费金额|距上次购买").all()


def test_stability_high_on_clean_data_lower_on_noise():
    data, _ = mixture(3, n_per=100)
    clean = cl.bootstrap_stability(data, 3, n_boot=8, random_state=0)
    assert list(clean.columns) == ["replicate", "ari"]
    assert clean["ari"].mean() > 0.95
    rng = np.random.default_rng(1)
    noise = pd.DataFrame(np.expm1(rng.normal(2, 1, size=(300, 3))), columns=FEATURES)
    noise.insert(0, "customer_id", range(300))
    unstable = cl.bootstrap_stability(noise, 6, n_boot=8, random_state=0)
    assert unstable["ari"].mean() < clean["ari"].mean() - 0.1


def test_bootstrap_stability_is_reproducible():
    data, _ = mixture(3, n_per=40)
    a = cl.bootstrap_stability(data, 3, n_boot=3, random_state=5)
    b = cl.bootstrap_stability(data, 3, n_boot=3, random_state=5)
    pd.testing.assert_frame_equal(a, b)


def test_errors_say_what_to_fix():
    data, _ = mixture(2, n_per=10)
    with pytest.raises(ValueError, match="has no column 'recency_days'"):
        cl.CustomerClusterer(2, features=["recency_days"]).fit(data)
    with pytest.raises(ValueError, match="value_col='spend' must be one of the features"):
        cl.CustomerClusterer(2, value_col="spend").fit(data)
    with pytest.raises(ValueError, match="method='dbscan' is not supported"):
        cl.CustomerClusterer(2, method="dbscan").fit(data)
    with pytest.raises(ValueError, match="n_clusters must be an integer >= 2"):
        cl.CustomerClusterer(1).fit(data)
    with pytest.raises(ValueError, match="more than the 20 customers"):
        cl.CustomerClusterer(30).fit(data)
    with pytest.raises(ValueError, match="not fitted yet"):
        cl.CustomerClusterer(2).predict(data)
    bad = data.assign(frequency=np.where(data.index == 3, np.nan, data["frequency"]))
    with pytest.raises(ValueError, match="1 rows have missing or non-numeric"):
        cl.CustomerClusterer(2).fit(bad)
    with pytest.raises(ValueError, match="k_values is empty"):
        cl.choose_k(data, [])
    with pytest.raises(ValueError, match="labels has 3 entries but data has 20 rows"):
        cl.cluster_profiles(data, [1, 2, 1])
    with pytest.raises(ValueError, match="max_depth must be an integer from 1 to 4"):
        cl.explain_clusters(data, np.r_[[1] * 10, [2] * 10], max_depth=6)
    with pytest.raises(ValueError, match="criterion='aic' is not supported"):
        cl.best_k(pd.DataFrame({"k": [2]}), "aic")
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        cl.transform_features(data.to_numpy())


def test_report_tables_are_translated():
    data, _ = mixture(3, n_per=30)
    model = cl.CustomerClusterer(3, random_state=0).fit(data)
    prof = cl.profiles_display(cl.cluster_profiles(data, model.labels_), "zh")
    assert prof.iloc[:, 0].tolist() == ["客群 1", "客群 2", "客群 3"]
    assert "购买次数（复购）（中位数）" in prof.columns
    mix = cl.categorical_display(
        cl.categorical_profiles(data, model.labels_, attributes=["region"]), "zh"
    )
    assert list(mix.columns) == ["客群 1", "客群 2", "客群 3", "总体占比"]
    assert mix.index.tolist() == [("区域", "华北"), ("区域", "华南")]


def test_module_doctests():
    import doctest

    assert doctest.testmod(cl).failed == 0


def test_plot_profiles():
    data, _ = mixture(3, n_per=30)
    model = cl.CustomerClusterer(3, random_state=0).fit(data)
    ax = cl.plot_profiles(data, model.labels_, language="zh")
    assert ax.get_title() == "客群画像（颜色：标准化均值；数字：中位数）"
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["客群 1", "客群 2", "客群 3"]
    # cluster 1 has the highest spend: its cell is the warmest of the spend column
    image = ax.get_images()[0].get_array()
    assert int(np.argmax(image[:, 2])) == 0
    plt.close("all")


def test_choose_k_states_the_silhouette_sample():
    rng = np.random.default_rng(0)
    data = pd.DataFrame(
        {
            "time_since_last": rng.exponential(10, 400),
            "frequency": rng.poisson(3, 400).astype(float),
            "monetary": rng.gamma(2, 50, 400),
        }
    )
    sampled = cl.choose_k(data, [2, 3], silhouette_sample=100, random_state=0)
    assert sampled.attrs["silhouette_sample"] == 100
    full = cl.choose_k(data, [2], silhouette_sample=None, random_state=0)
    assert full.attrs["silhouette_sample"] == 400
