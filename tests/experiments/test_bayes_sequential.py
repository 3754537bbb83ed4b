"""Bayesian comparison and sequential tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special
from scipy import stats as sps

from crm_lib.experiments import (
    bayes_proportions,
    means_test,
    msprt_boundary,
    msprt_from_stats,
    obrien_fleming_boundary,
    prob_to_beat,
    sequential_test,
)


def _miller_closed_form(a_t: int, b_t: int, a_c: int, b_c: int) -> float:
    """P(p_T > p_C) for integer a_t (Evan Miller, 'Formulas for Bayesian A/B testing', 2015)."""
    i = np.arange(a_t)
    log_terms = (
        special.betaln(a_c + i, b_c + b_t)
        - np.log(b_t + i)
        - special.betaln(1 + i, b_t)
        - special.betaln(a_c, b_c)
    )
    return float(np.exp(log_terms).sum())


@pytest.mark.parametrize(
    ("xt", "nt", "xc", "nc"), [(30, 200, 20, 200), (120, 1000, 131, 1000), (3, 50, 0, 50)]
)
def test_prob_to_beat_integration_matches_closed_form(xt, nt, xc, nc):
    ours = prob_to_beat(1 + xt, 1 + nt - xt, 1 + xc, 1 + nc - xc)
    assert ours == pytest.approx(
        _miller_closed_form(1 + xt, 1 + nt - xt, 1 + xc, 1 + nc - xc), abs=1e-8
    )


COUNTS = {"control": (1000, 100), "coupon": (1000, 118), "banner": (800, 85)}


@pytest.fixture(scope="module")
def conv_data() -> pd.DataFrame:
    rows = []
    for v, (n, x) in COUNTS.items():
        rows.append(
            pd.DataFrame(
                {"variant": v, "converted": np.r_[np.ones(x, bool), np.zeros(n - x, bool)]}
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_bayes_probability_to_beat_matches_numerical_integration(conv_data):
    res = bayes_proportions(
        conv_data,
        group_col="variant",
        converted_col="converted",
        control="control",
        n_draws=2_000_000,
        seed=1,
    )
    assert set(res["treatment"]) == {"coupon", "banner"}
    for _, r in res.iterrows():
        n, x = COUNTS[r["treatment"]]
        exact = prob_to_beat(1 + x, 1 + n - x, 1 + 100, 1 + 900)
        assert r["prob_beat_control"] == pytest.approx(exact, abs=1e-3)
        # expected loss of shipping: E[max(p_C - p_T, 0)] by one-dimensional integration
        ft, fc = sps.beta(1 + x, 1 + n - x), sps.beta(101, 901)
        c_tail = sps.beta(102, 901)

        def loss_given_t(t, ft=ft, fc=fc, c_tail=c_tail):
            return ft.pdf(t) * (fc.mean() * c_tail.sf(t) - t * fc.sf(t))

        loss = integrate.quad(loss_given_t, 0, 1, points=[ft.mean()], limit=200)[0]
        assert r["expected_loss_treatment"] == pytest.approx(loss, abs=2e-5)
        assert r["ci_low"] < r["diff"] < r["ci_high"]
        assert np.isnan(r["p_value"])


def test_bayes_seeded_and_errors(conv_data):
    kw = {"group_col": "variant", "converted_col": "converted", "control": "control"}
    pd.testing.assert_frame_equal(
        bayes_proportions(conv_data, seed=5, **kw), bayes_proportions(conv_data, seed=5, **kw)
    )
    with pytest.raises(ValueError, match="prior parameters must be > 0"):
        bayes_proportions(conv_data, prior=(0, 1), **kw)


# ---------------------------------------------------------------------------- mSPRT


def test_msprt_matches_johari_formula():
    # Johari et al. (2017) eq. for n units per arm, V = sigma_1^2 + sigma_0^2:
    # Lambda_n = sqrt(V/(V + n tau^2)) exp(n^2 tau^2 d^2 / (2 V (V + n tau^2)))
    n = np.array([100, 400, 1600])
    big_v, tau, d = 2.0, 0.1, np.array([0.05, 0.12, 0.11])
    ours = msprt_from_stats(d, big_v / n, tau=tau)["lr"]
    ref = np.sqrt(big_v / (big_v + n * tau**2)) * np.exp(
        n**2 * tau**2 * d**2 / (2 * big_v * (big_v + n * tau**2))
    )
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_msprt_running_p_and_confidence_sequence():
    d = np.array([0.3, 0.0, 0.2, 0.15, 0.14])
    v = np.array([0.1, 0.05, 0.01, 0.002, 0.001])
    res = msprt_from_stats(d, v, tau=0.1, alpha=0.05)
    assert (np.diff(res["p_value"]) <= 0).all()
    assert (np.diff(res["ci_low"]) >= 0).all() and (np.diff(res["ci_high"]) <= 0).all()
    # rejection <=> 0 is outside the running confidence sequence
    outside = (res["ci_low"] > 0) | (res["ci_high"] < 0)
    np.testing.assert_array_equal(res["reject"], outside)
    zero = msprt_from_stats(np.array([0.0]), np.array([0.0]), tau=0.1)
    assert zero["p_value"][0] == 1.0
    with pytest.raises(ValueError, match="tau"):
        msprt_from_stats(d, v, tau=0)


def test_msprt_boundary_consistent_with_test():
    b = msprt_boundary([100, 1000, 10_000], sd=1.0, tau=0.1)
    assert (b["z_boundary"] > 1.96).all()
    v = 2 / b["n_control"].to_numpy()
    for i in range(3):
        just_in = msprt_from_stats(np.array([b["radius"][i] * 0.999]), np.array([v[i]]), tau=0.1)
        just_out = msprt_from_stats(np.array([b["radius"][i] * 1.001]), np.array([v[i]]), tau=0.1)
        assert not just_in["reject"][0] and just_out["reject"][0]


def test_sequential_test_on_a_table():
    rng = np.random.default_rng(3)
    n = 6000
    variant = rng.choice(["control", "coupon"], n)
    t = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(rng.uniform(0, 14, n), unit="D")
    y = rng.normal(10, 2, n) + 0.4 * (variant == "coupon")
    df = pd.DataFrame({"variant": variant, "assigned_at": t, "revenue": y})
    res = sequential_test(
        df,
        group_col="variant",
        value_col="revenue",
        time_col="assigned_at",
        control="control",
        tau=0.3,
    )
    assert len(res) == 14 and res["look"].tolist() == list(range(1, 15))
    assert res["reject"].iloc[-1]
    last = res.iloc[-1]
    ref = means_test(df, group_col="variant", value_col="revenue", control="control").iloc[0]
    assert last["diff"] == pytest.approx(ref["diff"], rel=1e-9)
    assert last["n_control"] == ref["n_control"]
    assert last["ci_low"] <= 0.4 <= last["ci_high"]
    # the confidence sequence is wider than the fixed-horizon interval
    assert last["ci_high"] - last["ci_low"] > ref["ci_high"] - ref["ci_low"]
    with pytest.raises(TypeError, match="must be a datetime column"):
        sequential_test(
            df.assign(assigned_at=1),
            group_col="variant",
            value_col="revenue",
            time_col="assigned_at",
            control="control",
            tau=0.3,
        )


# --------------------------------------------------------------- group sequential OBF


def test_obrien_fleming_matches_published_boundaries():
    # Lan-DeMets O'Brien-Fleming spending, 5 equally spaced looks, alpha = 0.025 per side:
    # 4.8769, 3.3569, 2.6803, 2.2898, 2.0310 (R gsDesign sfLDOF / ldbounds; Jennison &
    # Turnbull 2000, table 7.6 style)
    res = obrien_fleming_boundary([0.2, 0.4, 0.6, 0.8, 1.0], alpha=0.05)
    np.testing.assert_allclose(
        res["z_boundary"], [4.8769, 3.3569, 2.6803, 2.2898, 2.0310], atol=1e-3
    )
    assert res["alpha_spent"].iloc[-1] == pytest.approx(0.05)
    single = obrien_fleming_boundary([1.0])
    assert single["z_boundary"].iloc[0] == pytest.approx(1.959964, abs=1e-6)
    with pytest.raises(ValueError, match="increasing values"):
        obrien_fleming_boundary([0.5, 0.4])


def test_bayes_per_arm_credible_intervals_are_beta_quantiles():
    import pandas as pd
    from scipy import stats

    from crm_lib.experiments import bayes_proportions

    df = pd.DataFrame(
        {
            "variant": ["a"] * 200 + ["b"] * 300,
            "converted": [1] * 20 + [0] * 180 + [1] * 45 + [0] * 255,
        }
    )
    res = bayes_proportions(df, group_col="variant", converted_col="converted", control="a").iloc[0]
    # posterior Beta(1 + x, 1 + n - x) under the uniform prior (Gelman et al. 2013, sec. 2.4)
    assert res["cri_low_control"] == pytest.approx(stats.beta.ppf(0.025, 21, 181), rel=1e-12)
    assert res["cri_high_treatment"] == pytest.approx(stats.beta.ppf(0.975, 46, 256), rel=1e-12)
    assert res["cri_low_control"] < 0.1 < res["cri_high_control"]
