"""Analysis functions: agreement with statsmodels/scipy, ground truth, and input errors."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportions_ztest,
)
from statsmodels.stats.proportion import test_proportions_2indep as score_test_2indep

from crm_lib.experiments import (
    COLUMNS,
    Metric,
    adjust_pvalues,
    analyze,
    bootstrap_test,
    cuped,
    decide,
    experiment_frame,
    means_test,
    nps_test,
    proportions_test,
    rank_test,
    ratio_test,
    srm_check,
)

REL = 1e-8


@pytest.fixture(scope="module")
def ab() -> pd.DataFrame:
    """Three arms of skewed revenue, conversions, orders, a pre-period covariate and NPS."""
    rng = np.random.default_rng(42)
    n = 3000
    variant = rng.choice(["control", "coupon", "discount"], n, p=[0.4, 0.3, 0.3])
    lift = np.select([variant == "coupon", variant == "discount"], [0.03, 0.0], 0.0)
    pre = rng.gamma(2.0, 50.0, n)
    converted = rng.random(n) < 0.2 + lift
    orders = np.where(converted, 1 + rng.poisson(0.5, n), 0)
    revenue = np.where(converted, 0.4 * pre + rng.gamma(2.0, 30.0, n), 0.0)
    nps = np.clip(np.round(7 + 2 * rng.standard_normal(n) + 2 * lift / 0.03), 0, 10)
    nps = pd.array(np.where(rng.random(n) < 0.4, nps, np.nan), dtype="Int64")
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "variant": variant,
            "converted": converted,
            "orders": orders,
            "revenue": revenue,
            "pre_revenue": pre,
            "nps": nps,
        }
    )


def _arm(df, v, col):
    return df.loc[df["variant"] == v, col].to_numpy(dtype=float)


# ------------------------------------------------------------ agreement with libraries


def _mn_score_z(n0, x0, n1, x1, delta):
    """Reference Miettinen-Nurminen score statistic for p1 - p0 = delta: the restricted
    maximum-likelihood proportions found numerically (scipy), not by the closed form."""
    from scipy import optimize, special

    lo, hi = max(0.0, -delta), min(1.0, 1.0 - delta)

    def nll(q):
        return -(
            special.xlogy(x0, q)
            + special.xlog1py(n0 - x0, -q)
            + special.xlogy(x1, q + delta)
            + special.xlog1py(n1 - x1, -(q + delta))
        )

    opt = optimize.minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-14})
    q0 = min([lo, hi, opt.x], key=nll)
    q1 = q0 + delta
    n = n0 + n1
    var = (q1 * (1 - q1) / n1 + q0 * (1 - q0) / n0) * n / (n - 1)
    return (x1 / n1 - x0 / n0 - delta) / np.sqrt(var)


def test_proportions_test_matches_statsmodels(ab):
    res = proportions_test(ab, group_col="variant", converted_col="converted", control="control")
    assert list(res.columns) == COLUMNS
    assert res["treatment"].tolist() == ["coupon", "discount"]
    crit = sps.norm.isf(0.025)
    for _, r in res.iterrows():
        x1, n1 = _arm(ab, r["treatment"], "converted").sum(), r["n_treatment"]
        x0, n0 = _arm(ab, "control", "converted").sum(), r["n_control"]
        # test: statsmodels' Miettinen-Nurminen score test of no difference
        ref = score_test_2indep(x1, n1, x0, n0, method="score", compare="diff")
        np.testing.assert_allclose([r["statistic"], r["p_value"]], [ref.statistic, ref.pvalue])
        # = the pooled z test times sqrt((N - 1) / N)
        z, _ = proportions_ztest([x1, x0], [n1, n0])
        assert r["statistic"] == pytest.approx(z * np.sqrt((n0 + n1 - 1) / (n0 + n1)), rel=REL)
        # difference CI: the score statistic is -/+ z_crit at its ends (restricted MLE by
        # scipy; statsmodels' own score CI for a difference has a wrong restricted MLE when
        # delta != 0, statsmodels issue #10269)
        assert _mn_score_z(n0, x0, n1, x1, r["ci_low"]) == pytest.approx(crit, rel=1e-7)
        assert _mn_score_z(n0, x0, n1, x1, r["ci_high"]) == pytest.approx(-crit, rel=1e-7)
        # relative lift: statsmodels' score interval for the ratio (Koopman / Nam, with the
        # Miettinen-Nurminen N/(N - 1) factor)
        rlo, rhi = confint_proportions_2indep(x1, n1, x0, n0, method="score", compare="ratio")
        np.testing.assert_allclose(
            [r["rel_ci_low"] + 1, r["rel_ci_high"] + 1], [rlo, rhi], rtol=1e-7
        )


def test_proportions_score_interval_matches_published_values():
    from crm_lib.experiments.stats import two_proportions_from_counts

    # R PropCIs::diffscoreci(7, 34, 1, 34, 0.95) = (0.0270416, 0.3452912), as quoted in
    # statsmodels' test suite (test_confint_2indep_propcis); PropCIs stops at 1e-6.
    r = two_proportions_from_counts(34, 1, 34, 7)
    np.testing.assert_allclose([r["ci_low"], r["ci_high"]], [0.0270416, 0.3452912], atol=2e-6)
    # the ends are where the score test's p-value is alpha; p(no change) < alpha
    assert _mn_score_z(34, 1, 34, 7, float(r["ci_low"])) == pytest.approx(1.959964, rel=1e-6)
    assert r["p_value"] < 0.05


def _all_tables(sizes):
    """Every 2x2 table (n0, x0, n1, x1) with arm sizes in ``sizes``, as four arrays."""
    rows = [
        (n0, x0, n1, x1)
        for n0 in sizes
        for n1 in sizes
        for x0 in range(n0 + 1)
        for x1 in range(n1 + 1)
    ]
    return np.array(rows, dtype=float).T


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.10])
def test_proportions_test_and_intervals_give_the_same_verdict(alpha):
    """p < alpha exactly when the interval for the difference (and for the ratio, where it
    is defined) excludes no change -- on every table with arms of 3 to 40 units."""
    from crm_lib.experiments.stats import two_proportions_from_counts

    n0, x0, n1, x1 = _all_tables([3, 5, 8, 13, 20, 29, 40])
    res = two_proportions_from_counts(n0, x0, n1, x1, alpha=alpha)
    reject = res["p_value"] < alpha
    excludes = (res["ci_low"] > 0) | (res["ci_high"] < 0)
    bad = np.flatnonzero(reject != excludes)
    assert bad.size == 0, (
        f"{bad.size} of {reject.size} tables disagree, e.g. (n0, x0, n1, x1) = "
        f"{[tuple(int(v[i]) for v in (n0, x0, n1, x1)) for i in bad[:3]]}"
    )
    defined = ~np.isnan(res["rel_ci_low"])
    rel_excludes = (res["rel_ci_low"] > 0) | (res["rel_ci_high"] < 0)
    assert (reject[defined] == rel_excludes[defined]).all()


def test_proportions_verdict_on_0_of_20_against_4_of_20():
    # The review's case: the pooled z test said p = 0.035 while Newcombe's interval
    # [-0.0005, 0.416] contained 0. Reference (statsmodels): the Miettinen-Nurminen score
    # test and the score interval that inverts it agree.
    df = pd.DataFrame(
        {"variant": ["a"] * 20 + ["b"] * 20, "converted": [0] * 20 + [1] * 4 + [0] * 16}
    )
    with pytest.warns(RuntimeWarning, match="relative difference is undefined"):
        r = proportions_test(df, group_col="variant", converted_col="converted", control="a")
    r = r.iloc[0]
    with np.errstate(divide="ignore"):  # statsmodels also computes the (infinite) ratio
        ref = score_test_2indep(4, 20, 0, 20, method="score", compare="diff")
    assert r["p_value"] == pytest.approx(ref.pvalue, rel=REL)  # 0.037
    assert (r["p_value"] < 0.05) == (r["ci_low"] > 0 or r["ci_high"] < 0)


def test_means_test_matches_scipy_welch(ab):
    res = means_test(ab, group_col="variant", value_col="revenue", control="control")
    for _, r in res.iterrows():
        ref = sps.ttest_ind(
            _arm(ab, r["treatment"], "revenue"), _arm(ab, "control", "revenue"), equal_var=False
        )
        ci = ref.confidence_interval(0.95)
        np.testing.assert_allclose(
            [r["statistic"], r["p_value"], r["df"], r["ci_low"], r["ci_high"]],
            [ref.statistic, ref.pvalue, ref.df, ci.low, ci.high],
            rtol=REL,
        )


def test_means_test_is_stable_with_large_offset(ab):
    shifted = ab.assign(revenue=ab["revenue"] + 1e9)
    a = means_test(ab, group_col="variant", value_col="revenue", control="control")
    b = means_test(shifted, group_col="variant", value_col="revenue", control="control")
    np.testing.assert_allclose(b["statistic"], a["statistic"], rtol=1e-6)


def test_rank_test_matches_scipy(ab):
    res = rank_test(ab, group_col="variant", value_col="revenue", control="control")
    for _, r in res.iterrows():
        t, c = _arm(ab, r["treatment"], "revenue"), _arm(ab, "control", "revenue")
        ref = sps.mannwhitneyu(t, c, alternative="two-sided")
        np.testing.assert_allclose(
            [r["statistic"], r["p_value"]], [ref.statistic, ref.pvalue], rtol=REL
        )
        assert r["prob_superiority"] == pytest.approx(ref.statistic / (len(t) * len(c)), rel=REL)


def test_srm_check_matches_scipy_chisquare(ab):
    res = srm_check(
        ab, group_col="variant", expected={"control": 0.4, "coupon": 0.3, "discount": 0.3}
    )
    counts = ab["variant"].value_counts().sort_index().to_numpy()
    ref = sps.chisquare(counts, 0.1 * counts.sum() * np.array([4, 3, 3]))
    assert res["statistic"].iloc[0] == pytest.approx(ref.statistic, rel=REL)
    assert res["p_value"].iloc[0] == pytest.approx(ref.pvalue, rel=REL)
    assert not res["srm"].any()
    assert res["action"].iloc[0].startswith("ok")
    # the wrong plan (equal thirds) raises the alarm and says to stop
    bad = srm_check(ab, group_col="variant")
    assert bad["srm"].all() and bad["action"].iloc[0].startswith("STOP")


def test_srm_51_49_on_a_table():
    df = pd.DataFrame({"variant": ["a"] * 51_000 + ["b"] * 49_000})
    res = srm_check(df, group_col="variant")
    assert bool(res["srm"].iloc[0]) and res["p_value"].iloc[0] < 1e-9


def test_adjust_pvalues_matches_multipletests():
    p = np.array([0.01, 0.04, 0.03, 0.2, np.nan])
    for m in ("holm", "fdr_bh"):
        out = adjust_pvalues(p, m)
        np.testing.assert_allclose(out[:4], multipletests(p[:4], method=m)[1], rtol=REL)
        assert np.isnan(out[4])
    with pytest.raises(ValueError, match="method must be"):
        adjust_pvalues(p, "sidak")


def test_ratio_test_matches_linearisation(ab):
    res = ratio_test(
        ab,
        group_col="variant",
        numerator_col="revenue",
        denominator_col="orders",
        control="control",
    )
    r = res.iloc[0]
    assert r["metric"] == "revenue/orders"
    # reference: linearised metric (y - R d)/mean(d) has the delta-method variance
    se2 = 0.0
    for v in ("control", r["treatment"]):
        y, d = _arm(ab, v, "revenue"), _arm(ab, v, "orders")
        ratio = y.sum() / d.sum()
        lin = (y - ratio * d) / d.mean()
        se2 += lin.var(ddof=1) / len(y)
        est = r["estimate_control"] if v == "control" else r["estimate_treatment"]
        assert est == pytest.approx(ratio, rel=REL)
    assert r["std_error"] == pytest.approx(np.sqrt(se2), rel=REL)


def test_cuped_matches_adjusted_welch(ab):
    res = cuped(
        ab,
        metric_col="revenue",
        covariate_col="pre_revenue",
        group_col="variant",
        control="control",
    )
    r = res.iloc[0]
    sub = ab[ab["variant"].isin(["control", r["treatment"]])]
    x, y = sub["pre_revenue"].to_numpy(), sub["revenue"].to_numpy()
    theta = np.cov(x, y)[0, 1] / np.var(x, ddof=1)
    adj = y - theta * (x - x.mean())
    g = sub["variant"].to_numpy()
    ref = sps.ttest_ind(adj[g == r["treatment"]], adj[g == "control"], equal_var=False)
    assert r["theta"] == pytest.approx(theta, rel=REL)
    np.testing.assert_allclose(
        [r["statistic"], r["p_value"]], [ref.statistic, ref.pvalue], rtol=REL
    )
    plain = means_test(ab, group_col="variant", value_col="revenue", control="control").iloc[0]
    assert r["std_error"] < plain["std_error"]
    assert 0 < r["variance_reduction"] < 1


def test_cuped_relative_lift_is_the_ratio_of_adjusted_means(ab):
    """Reference: delta method written as a matrix product on the raw rows.

    With theta fixed, the adjusted means are linear in the arm means
    m = (mean y0, mean x0, mean y1, mean x1): a0 = L0 m, a1 = L1 m (x centred at the grand
    mean, which both arms share). Cov(m) is block-diagonal with np.cov of each arm / n.
    """
    from crm_lib.experiments import arm_stats

    kw = {"group_col": "variant", "control": "control"}
    res = cuped(ab, metric_col="revenue", covariate_col="pre_revenue", **kw)
    s = arm_stats(ab, columns=["revenue", "pre_revenue"], pairs=[("revenue", "pre_revenue")], **kw)
    pd.testing.assert_frame_equal(s.cuped("revenue", "pre_revenue"), res)
    for _, r in res.iterrows():
        arms_ = ["control", r["treatment"]]
        sub = ab[ab["variant"].isin(arms_)]
        x, y = sub["pre_revenue"].to_numpy(), sub["revenue"].to_numpy()
        theta = np.cov(x, y)[0, 1] / np.var(x, ddof=1)
        n = np.array([(sub["variant"] == a).sum() for a in arms_], dtype=float)
        w = n / n.sum()
        m = np.concatenate([[_arm(ab, a, "revenue").mean(), _arm(ab, a, "pre_revenue").mean()]
                            for a in arms_])  # fmt: skip
        cov = np.zeros((4, 4))
        for k, a in enumerate(arms_):
            cov[2 * k : 2 * k + 2, 2 * k : 2 * k + 2] = (
                np.cov(_arm(ab, a, "revenue"), _arm(ab, a, "pre_revenue")) / n[k]
            )
        lin = np.array([[1, -theta * w[1], 0, theta * w[1]], [0, theta * w[0], 1, -theta * w[0]]])
        a0, a1 = lin @ m
        v = lin @ cov @ lin.T
        var_log = v[1, 1] / a1**2 + v[0, 0] / a0**2 - 2 * v[0, 1] / (a0 * a1)
        half = sps.norm.isf(0.025) * np.sqrt(var_log)
        assert a1 - a0 == pytest.approx(r["diff"], rel=REL)
        assert r["rel_diff"] == pytest.approx(a1 / a0 - 1, rel=REL)
        np.testing.assert_allclose(
            [r["rel_ci_low"], r["rel_ci_high"]],
            np.expm1(np.log(a1 / a0) + np.array([-half, half])),
            rtol=REL,
        )


def test_nps_test_formula(ab):
    res = nps_test(ab, group_col="variant", score_col="nps", control="control")
    r = res.iloc[0]
    assert r["n_missing"] == int(ab["nps"].isna().sum())
    se2 = 0.0
    for v in ("control", r["treatment"]):
        s = ab.loc[(ab["variant"] == v) & ab["nps"].notna(), "nps"].to_numpy(dtype=float)
        pp, pm = np.mean(s >= 9), np.mean(s <= 6)
        se2 += (pp + pm - (pp - pm) ** 2) / len(s)
        est = r["estimate_control"] if v == "control" else r["estimate_treatment"]
        assert est == pytest.approx(100 * (pp - pm), rel=REL)
    half = 100 * sps.norm.isf(0.025) * np.sqrt(se2)
    assert r["ci_high"] - r["ci_low"] == pytest.approx(2 * half, rel=REL)
    t = ab.loc[(ab["variant"] == r["treatment"]) & ab["nps"].notna(), "nps"].to_numpy(dtype=float)
    c = ab.loc[(ab["variant"] == "control") & ab["nps"].notna(), "nps"].to_numpy(dtype=float)
    assert r["rank_p_value"] == pytest.approx(sps.mannwhitneyu(t, c).pvalue, rel=REL)


def test_bootstrap_close_to_welch_and_seeded(ab):
    kw = {"group_col": "variant", "value_col": "revenue", "control": "control"}
    b1 = bootstrap_test(ab, n_resamples=1000, seed=3, **kw)
    b2 = bootstrap_test(ab, n_resamples=1000, seed=3, **kw)
    pd.testing.assert_frame_equal(b1, b2)
    w = means_test(ab, **kw)
    np.testing.assert_allclose(b1["diff"], w["diff"], rtol=REL)
    # percentile CI close to Welch's (B = 1000: the 2.5% quantile has MC error ~0.09 se; skew)
    se = w["std_error"].to_numpy()
    assert (np.abs(b1["ci_low"] - w["ci_low"]).to_numpy() < 0.3 * se).all()
    assert (np.abs(b1["ci_high"] - w["ci_high"]).to_numpy() < 0.3 * se).all()
    assert ((b1["p_value"] > 0) & (b1["p_value"] <= 1)).all()


# ---------------------------------------------------------------- simulated world truth


@pytest.fixture(scope="module")
def world_frame():
    from crm_lib.datasets import simulate

    w = simulate(12_000, seed=7, dirty=False)
    return w, experiment_frame(w.experiment_assignments, w.experiment_outcomes)


def test_world_proportions_interval_covers_true_ate(world_frame):
    w, df = world_frame
    res = proportions_test(df, group_col="variant", converted_col="converted", control="control")
    r = res.iloc[0]
    truth = w.truth.experiment
    assert r["ci_low"] <= truth["ate_conversion"] <= r["ci_high"]
    assert r["rel_ci_low"] <= truth["relative_lift"] <= r["rel_ci_high"]
    assert not srm_check(df, group_col="variant")["srm"].any()


def test_world_nps_and_revenue_cover_truth(world_frame):
    w, df = world_frame
    truth = w.truth.experiment
    nps = nps_test(df, group_col="variant", score_col="nps", control="control").iloc[0]
    assert nps["ci_low"] <= truth["ate_nps_points"] <= nps["ci_high"]
    cu = cuped(
        df,
        metric_col="revenue",
        covariate_col="pre_period_revenue",
        group_col="variant",
        control="control",
    )
    assert cu["ci_low"].iloc[0] <= truth["ate_revenue"] <= cu["ci_high"].iloc[0]
    assert cu["variance_reduction"].iloc[0] > 0.1


def test_analyze_and_decide_on_world(world_frame):
    _, df = world_frame
    metrics = [
        Metric("converted", kind="proportion", role="primary"),
        Metric("revenue", kind="cuped", covariate="pre_period_revenue"),
        Metric("nps", kind="nps", role="guardrail"),
    ]
    s = analyze(df, group_col="variant", control="control", metrics=metrics)
    assert s["metric"].tolist() == ["converted", "revenue", "nps"]
    assert (s["p_adjusted"] >= s["p_value"]).all()
    # guardrail adjusted alone: one guardrail -> unchanged
    assert (
        s.loc[s["role"] == "guardrail", "p_adjusted"].iloc[0]
        == s.loc[s["role"] == "guardrail", "p_value"].iloc[0]
    )
    d = decide(s, srm=srm_check(df, group_col="variant"), n_required=10_000)
    assert d["decision"].iloc[0] == "keep running"
    assert "underpowered" in d["caveats"].iloc[0]


# -------------------------------------------------------------------------- decisions


def _summary(direction_primary="better", breached=False, n=5000):
    rows = [
        {
            "metric": "converted",
            "role": "primary",
            "direction": direction_primary,
            "guardrail_breached": False,
        },
        {
            "metric": "refunds",
            "role": "guardrail",
            "direction": "worse" if breached else "flat",
            "guardrail_breached": breached,
        },
    ]
    base = {
        "control": "control", "treatment": "coupon", "n_control": n, "n_treatment": n,
        "diff": 0.01, "ci_low": 0.001, "ci_high": 0.02, "p_adjusted": 0.01,
    }  # fmt: skip
    return pd.DataFrame([{**base, **r} for r in rows])


def test_decide_rules():
    ok = pd.DataFrame({"variant": ["control", "coupon"], "srm": False, "p_value": 0.6})
    kw = {"srm": ok, "n_required": 4000}
    assert decide(_summary("better"), **kw)["decision"].iloc[0] == "ship"
    assert decide(_summary("worse"), **kw)["decision"].iloc[0] == "do not ship"
    d = decide(_summary("better", breached=True), **kw).iloc[0]
    assert d["decision"] == "do not ship" and "guardrail" in d["reason"]
    assert decide(_summary("flat", n=100), **kw)["decision"].iloc[0] == "keep running"
    assert decide(_summary("flat"), **kw)["decision"].iloc[0] == "do not ship"
    srm = ok.assign(srm=True, p_value=1e-6)
    d = decide(_summary("better"), srm=srm, n_required=4000).iloc[0]
    assert d["decision"] == "do not ship" and "sample ratio" in d["caveats"]
    with pytest.raises(ValueError, match="no primary metric"):
        decide(_summary().assign(role="secondary"), srm=ok)
    with pytest.raises(KeyError, match=r"column\(s\) \['variant'\] not in srm"):
        decide(_summary("better"), srm=srm.drop(columns="variant"))


def test_decide_gives_its_reasons_in_the_report_language():
    ok = pd.DataFrame({"variant": ["control", "coupon"], "srm": False, "p_value": 0.6})
    en = decide(_summary("flat", n=100), srm=ok, n_required=4000).iloc[0]
    zh = decide(_summary("flat", n=100), srm=ok, n_required=4000, language="zh").iloc[0]
    assert en["decision"] == zh["decision"] == "keep running"  # a code, translated as a label
    # the numbers of _summary, written by hand in each language
    assert en["reason"] == (
        "No significant change in the primary metric yet, and the planned sample size is not "
        "reached: converted +0.01 (CI 0.001 to 0.02, adjusted p = 0.01)"
    )
    assert zh["reason"] == (
        "主要指标暂无显著变化，且尚未达到计划样本量：转化 +0.01（置信区间 0.001 至 0.02，"
        "校正后 p = 0.01）"
    )
    assert en["caveats"] == "underpowered: 100 units in the smaller arm of 4000 planned"
    assert zh["caveats"] == "功效不足：较小一组只有 100 个单位，计划为 4000 个"


# ------------------------------------------------------------------------------ errors


def test_error_one_variant_only(ab):
    one = ab[ab["variant"] == "control"]
    with pytest.raises(ValueError, match="only one variant"):
        proportions_test(one, group_col="variant", converted_col="converted", control="control")
    with pytest.raises(ValueError, match="only one variant"):
        srm_check(one, group_col="variant")


def test_error_unknown_control_and_missing_column(ab):
    with pytest.raises(ValueError, match="control='ctrl' is not a value"):
        means_test(ab, group_col="variant", value_col="revenue", control="ctrl")
    with pytest.raises(KeyError, match=r"column\(s\) \['spend'\] not in data"):
        means_test(ab, group_col="variant", value_col="spend", control="control")


def test_error_missing_outcome_values(ab):
    bad = ab.assign(revenue=ab["revenue"].where(ab.index % 10 != 0))
    with pytest.raises(ValueError, match="missing values; fill them"):
        means_test(bad, group_col="variant", value_col="revenue", control="control")


def test_error_customer_in_two_variants():
    a = pd.DataFrame(
        {"customer_id": ["c1", "c1", "c2"], "variant": ["control", "coupon", "coupon"]}
    )
    o = pd.DataFrame({"customer_id": ["c1", "c2"], "converted": [True, False]})
    with pytest.raises(ValueError, match="more than one variant"):
        experiment_frame(a, o)
    with pytest.raises(ValueError, match="duplicated units"):
        srm_check(a, group_col="variant", customer_col="customer_id")


def test_error_assigned_customer_without_outcome():
    a = pd.DataFrame({"customer_id": ["c1", "c2"], "variant": ["control", "coupon"]})
    o = pd.DataFrame({"customer_id": ["c1"], "converted": [True]})
    with pytest.raises(ValueError, match="no outcome row"):
        experiment_frame(a, o)


def test_error_non_binary_conversion(ab):
    with pytest.raises(ValueError, match="must be boolean or 0/1"):
        proportions_test(ab, group_col="variant", converted_col="orders", control="control")


def test_zero_conversions_documented_handling():
    df = pd.DataFrame({"variant": ["a"] * 50 + ["b"] * 50, "converted": [False] * 100})
    with pytest.warns(RuntimeWarning, match="relative difference is undefined"):
        res = proportions_test(df, group_col="variant", converted_col="converted", control="a")
    r = res.iloc[0]
    assert r["statistic"] == 0 and r["p_value"] == 1
    assert r["ci_low"] < 0 < r["ci_high"]  # the score interval stays informative at zero
    df.loc[60:, "converted"] = True
    with pytest.warns(RuntimeWarning, match="relative difference is undefined"):
        r = proportions_test(df, group_col="variant", converted_col="converted", control="a").iloc[
            0
        ]
    assert np.isnan(r["rel_diff"]) and r["diff"] > 0 and r["p_value"] < 0.05


def test_error_ratio_zero_denominator(ab):
    bad = ab.assign(orders=np.where(ab["variant"] == "control", 0, ab["orders"]))
    with pytest.raises(ValueError, match="sums to zero"):
        ratio_test(
            bad,
            group_col="variant",
            numerator_col="revenue",
            denominator_col="orders",
            control="control",
        )


def test_error_nps_out_of_range(ab):
    with pytest.raises(ValueError, match="integer answers 0-10"):
        nps_test(
            ab.assign(nps=ab["revenue"]), group_col="variant", score_col="nps", control="control"
        )


def test_no_warnings_on_clean_data(ab):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proportions_test(ab, group_col="variant", converted_col="converted", control="control")
        means_test(ab, group_col="variant", value_col="revenue", control="control")


def test_experiment_frame_filters_experiment(world_frame):
    w, df = world_frame
    again = experiment_frame(
        w.experiment_assignments, w.experiment_outcomes, experiment_id="EXP-2025-COUPON"
    )
    assert len(again) == len(df) == len(w.experiment_assignments)
    assert {"variant", "converted", "revenue", "pre_period_revenue", "nps"} <= set(again.columns)
    with pytest.raises(ValueError, match="no assignments for experiment_id"):
        experiment_frame(w.experiment_assignments, w.experiment_outcomes, experiment_id="NOPE")


def test_analyze_options_and_errors(ab):
    kw = {"group_col": "variant", "control": "control"}
    metrics = [
        Metric("converted", kind="proportion", role="primary"),
        Metric("revenue", kind="ratio", denominator="orders"),
        Metric("revenue", kind="mean", role="guardrail", higher_is_better=False),
    ]
    s = analyze(ab, metrics=metrics, correction="fdr_bh", **kw)
    assert len(s) == 6  # 3 metrics x 2 treatment arms
    fam = s["role"] != "guardrail"
    np.testing.assert_allclose(
        s.loc[fam, "p_adjusted"], multipletests(s.loc[fam, "p_value"], method="fdr_bh")[1]
    )
    with pytest.raises(ValueError, match="metrics is empty"):
        analyze(ab, metrics=[], **kw)
    with pytest.raises(ValueError, match="needs covariate"):
        analyze(ab, metrics=[Metric("revenue", kind="cuped")], **kw)
    with pytest.raises(ValueError, match="unknown metric kind"):
        analyze(ab, metrics=[Metric("revenue", kind="median")], **kw)  # type: ignore[arg-type]


_FAMILY = [
    Metric("converted", kind="proportion", role="primary"),
    Metric("revenue", kind="cuped", covariate="pre_revenue"),
    Metric("orders", kind="mean"),
    Metric("revenue", kind="ratio", denominator="orders"),
    Metric("nps", kind="nps", role="guardrail"),
    Metric("orders", kind="mean", role="guardrail", higher_is_better=False),
]


@pytest.mark.parametrize("correction", ["holm", "fdr_bh", "bonferroni", "none"])
def test_analyze_intervals_agree_with_the_adjusted_p_values(ab, correction):
    """Next to multiplicity-adjusted p-values, analyze shows intervals at the matching level:
    an interval excludes 0 exactly when the adjusted p-value is below alpha."""
    kw = {"group_col": "variant", "control": "control"}
    for alpha in (0.05, 0.10):
        s = analyze(ab, metrics=_FAMILY, correction=correction, alpha=alpha, **kw)
        excludes = (s["ci_low"] > 0) | (s["ci_high"] < 0)
        assert (excludes == (s["p_adjusted"] < alpha)).all(), s[["metric", "p_adjusted"]]
        assert (s["ci_level"] >= 1 - alpha).all()
    # the review's case: conversion of the coupon has p = 0.009 but Holm-adjusted 0.057;
    # its interval must then contain 0
    s = analyze(ab, metrics=_FAMILY, correction=correction, **kw)
    conv = s[(s["metric"] == "converted") & (s["treatment"] == "coupon")].iloc[0]
    assert conv["p_value"] < 0.05
    assert (conv["ci_low"] <= 0) == (conv["p_adjusted"] >= 0.05)


def test_analyze_bonferroni_intervals_are_simultaneous(ab):
    # Bonferroni: each of the m comparisons of a family at level 1 - alpha / m, so that all
    # cover together with probability >= 1 - alpha. Reference: scipy's Welch interval.
    s = analyze(
        ab, metrics=_FAMILY, correction="bonferroni", group_col="variant", control="control"
    )
    m_family = int((s["role"] != "guardrail").sum())  # 4 metrics x 2 arms
    m_guard = int((s["role"] == "guardrail").sum())
    np.testing.assert_allclose(s.loc[s["role"] != "guardrail", "ci_level"], 1 - 0.05 / m_family)
    np.testing.assert_allclose(s.loc[s["role"] == "guardrail", "ci_level"], 1 - 0.05 / m_guard)
    r = s[(s["metric"] == "orders") & (s["role"] == "secondary") & (s["treatment"] == "coupon")]
    ref = sps.ttest_ind(
        _arm(ab, "coupon", "orders"), _arm(ab, "control", "orders"), equal_var=False
    )
    ci = ref.confidence_interval(1 - 0.05 / m_family)
    np.testing.assert_allclose(r[["ci_low", "ci_high"]].iloc[0], [ci.low, ci.high], rtol=REL)
    # without a correction the intervals are the plain 95% ones
    plain = analyze(ab, metrics=_FAMILY, correction="none", group_col="variant", control="control")
    assert (plain["ci_level"] == 0.95).all()
    r = plain[(plain["metric"] == "orders") & (plain["role"] == "secondary")].iloc[0]
    ci = ref.confidence_interval(0.95)
    np.testing.assert_allclose([r["ci_low"], r["ci_high"]], [ci.low, ci.high], rtol=REL)


def test_metrics_from_spec_picks_presets_and_refuses_unknown_names():
    from crm_lib.experiments import METRIC_PRESETS, metrics_from_spec

    picked = metrics_from_spec(" converted, nps ")
    assert [m.column for m in picked] == ["converted", "nps"]
    assert picked[1] is METRIC_PRESETS["nps"] and picked[1].role == "guardrail"
    with pytest.raises(ValueError, match=r"unknown metric\(s\) 'revnue': use any of converted"):
        metrics_from_spec("converted,revnue")
    with pytest.raises(ValueError, match="no metric named"):
        metrics_from_spec(" , ")
    with pytest.raises(ValueError, match="named twice"):
        metrics_from_spec("orders,orders")


def _split_60_40() -> pd.DataFrame:
    """Planned 50/50, logged 600/400 (an SRM); the coupon 'converts' 20% against 10%."""
    return pd.DataFrame(
        {
            "variant": ["control"] * 600 + ["coupon"] * 400,
            "converted": [1] * 60 + [0] * 540 + [1] * 80 + [0] * 320,
        }
    )


def test_decide_never_ships_a_60_40_split_planned_50_50():
    from crm_lib.experiments import bayes_proportions, verdict

    df = _split_60_40()
    kw = {"group_col": "variant", "control": "control"}
    s = analyze(df, metrics=[Metric("converted", kind="proportion", role="primary")], **kw)
    assert s["direction"].iloc[0] == "better"  # the effect alone would say ship
    # reference: scipy's chi-square goodness of fit says the split is broken
    assert sps.chisquare([600, 400]).pvalue < 1e-9
    # without the SRM check there is no decision at all ...
    with pytest.raises(ValueError, match="needs the sample ratio mismatch check"):
        decide(s, n_required=300)
    post = bayes_proportions(df, converted_col="converted", **kw)
    for method, extra in (("frequentist", {}), ("bayesian", {"posterior": post})):
        with pytest.raises(ValueError, match="needs the sample ratio mismatch check"):
            verdict(method, summary=s, n_required=300, **extra)
    # ... and with it, the verdict is "do not ship" whatever the method
    srm = srm_check(df, group_col="variant")
    assert decide(s, srm=srm, n_required=300)["decision"].iloc[0] == "do not ship"
    for method, extra in (("frequentist", {}), ("bayesian", {"posterior": post})):
        out = verdict(method, summary=s, srm=srm, n_required=300, **extra)
        assert out["decision"].iloc[0] == "do not ship"
    # an SRM table of another experiment (other arms) is refused, not silently used
    other = srm_check(pd.DataFrame({"variant": ["a"] * 10 + ["b"] * 10}), group_col="variant")
    with pytest.raises(ValueError, match=r"SRM check covers \['a', 'b'\]"):
        decide(s, srm=other, n_required=300)


# ------------------------------------------------------------------ degenerate inputs


def test_error_welch_with_no_variance_in_either_arm():
    from crm_lib.experiments import arm_stats
    from crm_lib.experiments.stats import welch_from_stats

    kw = {"group_col": "variant", "control": "a"}
    for values in ([1.0] * 5 + [2.0] * 5, [3.0] * 10):  # a shift, and no difference at all
        df = pd.DataFrame({"variant": ["a"] * 5 + ["b"] * 5, "y": values})
        msg = r"column 'y' has no variance in either arm \('a', 'b'\)"
        with pytest.raises(ValueError, match=msg):
            means_test(df, value_col="y", **kw)
        with pytest.raises(ValueError, match=msg):
            arm_stats(df, columns=["y"], **kw).means("y")
        with pytest.raises(ValueError, match=msg):
            analyze(df, metrics=[Metric("y", kind="mean", role="primary")], **kw)
    # the array function answers NaN (undefined), never an infinite t with a NaN p-value
    res = welch_from_stats(5, 1.0, 0.0, 5, 2.0, 0.0)
    assert np.isnan([res["statistic"], res["p_value"], res["ci_low"], res["ci_high"]]).all()
    # one constant arm is fine: Welch uses the other arm's variance (reference: scipy)
    y0, y1 = np.array([1.0, 1.0, 1.0, 1.0]), np.array([1.0, 2.0, 4.0, 3.0])
    res = welch_from_stats(4, y0.mean(), 0.0, 4, y1.mean(), y1.var(ddof=1))
    with warnings.catch_warnings():  # scipy warns about the constant arm, then computes it
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = sps.ttest_ind(y1, y0, equal_var=False)
    np.testing.assert_allclose([res["statistic"], res["p_value"]], [ref.statistic, ref.pvalue])


def test_srm_flags_an_empty_planned_arm_and_units_in_an_unplanned_arm():
    import warnings as _w

    from crm_lib.experiments import arm_stats

    def both(df, expected):
        with _w.catch_warnings():
            _w.simplefilter("error")
            a = srm_check(df, group_col="variant", expected=expected)
            s = arm_stats(df, group_col="variant", control="a", columns=[])
            b = s.srm(expected=expected)
        pd.testing.assert_frame_equal(a, b)
        return a

    small = pd.DataFrame({"variant": ["a"] * 10 + ["b"] * 10})
    # planned share 0.1 for 'c', but nobody was assigned to it: a broken assignment, even
    # though the chi-square on 20 units is far from significant (scipy: p = 0.33)
    res = both(small, {"a": 0.45, "b": 0.45, "c": 0.1})
    assert sps.chisquare([10, 10, 0], [9, 9, 2]).pvalue > 0.3
    assert res["srm"].all()
    assert "'c'" in res["action"].iloc[0] and "no units" in res["action"].iloc[0]
    # units in an arm planned at 0
    big = pd.DataFrame({"variant": ["a"] * 50 + ["b"] * 50 + ["c"] * 5})
    res = both(big, {"a": 0.5, "b": 0.5, "c": 0.0})
    assert res["srm"].all() and res["p_value"].iloc[0] == 0
    assert "'c'" in res["action"].iloc[0] and "planned share of 0" in res["action"].iloc[0]
    # an arm planned at 0 with no units is simply not part of the test
    res = both(small, {"a": 0.5, "b": 0.5, "c": 0.0})
    assert not res["srm"].any()
    assert res["p_value"].iloc[0] == pytest.approx(sps.chisquare([10, 10]).pvalue)


def test_choose_experiment_takes_the_given_one_or_the_latest():
    from crm_lib.experiments import choose_experiment

    a = pd.DataFrame(
        {
            "experiment_id": ["spring-mail", "spring-mail", "autumn-push", "winter-sms"],
            "assigned_at": pd.to_datetime(
                ["2024-03-01", "2024-03-02", "2024-09-10", "2024-01-05"], utc=True
            ),
        }
    )
    assert choose_experiment(a) == "autumn-push"  # latest first assignment, not name order
    assert choose_experiment(a, "winter-sms") == "winter-sms"
    with pytest.raises(ValueError, match=r"'EXP-2025-COUPON' is not in the data; experiments"):
        choose_experiment(a, "EXP-2025-COUPON")
    with pytest.raises(ValueError, match="no experiment assignments"):
        choose_experiment(a.iloc[:0])
