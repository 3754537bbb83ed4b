"""Design: sample size, power, MDE, duration, assignment, balance."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import tt_ind_solve_power
from statsmodels.stats.proportion import (
    power_proportions_2indep,
    samplesize_proportions_2indep_onetail,
)

from crm_lib.experiments import (
    assign_variants,
    balance_check,
    expected_duration,
    minimum_detectable_effect,
    power_curve,
    power_proportions,
    sample_size_means,
    sample_size_proportions,
)


@pytest.mark.parametrize("ratio", [1.0, 2.0])
def test_power_proportions_matches_statsmodels(ratio):
    # statsmodels: diff = prop1 - prop2, nobs2 = ratio * nobs1; here arm 1 is the control.
    ours = power_proportions(0.10, 0.12, 3000, ratio=ratio)
    ref = power_proportions_2indep(0.10 - 0.12, 0.12, 3000, ratio=ratio, alpha=0.05).power
    assert float(ours) == pytest.approx(ref, rel=1e-8)


def test_sample_size_proportions_matches_statsmodels_and_known_value():
    res = sample_size_proportions(0.10, 0.02)
    # statsmodels' normal-approximation solver gives 3840.85 -> 3841 per arm
    ref = samplesize_proportions_2indep_onetail(
        0.02, 0.10, 0.8, ratio=1, alpha=0.05, alternative="two-sided"
    )
    assert res["n_control"].iloc[0] == int(np.ceil(ref)) == 3841
    assert res["power"].iloc[0] >= 0.8
    rel = sample_size_proportions(0.10, 0.20, relative=True)
    assert rel["p1"].iloc[0] == pytest.approx(0.12)
    assert rel["n_control"].iloc[0] == 3841
    one = sample_size_proportions(0.10, 0.02, alternative="larger")
    assert one["n_control"].iloc[0] < 3841
    unequal = sample_size_proportions(0.10, 0.02, ratio=3)
    assert unequal["n_treatment"].iloc[0] == 3 * unequal["n_control"].iloc[0]


def test_sample_size_means_matches_statsmodels():
    res = sample_size_means(sd=20.0, mde=2.0)
    ref = tt_ind_solve_power(effect_size=0.1, alpha=0.05, power=0.8)
    assert res["n_control"].iloc[0] == int(np.ceil(ref))
    assert res["power"].iloc[0] >= 0.8


def test_mde_inverts_sample_size():
    n = int(sample_size_proportions(0.05, 0.01)["n_control"].iloc[0])
    assert minimum_detectable_effect(n, p0=0.05) == pytest.approx(0.01, rel=1e-3)
    n = int(sample_size_means(sd=3.0, mde=0.5)["n_control"].iloc[0])
    assert minimum_detectable_effect(n, sd=3.0) == pytest.approx(0.5, rel=1e-3)


def test_power_curve_shape_and_monotone():
    pc = power_curve(n_control=[500, 1000, 4000], mde=[0.01, 0.02], p0=0.1)
    assert list(pc.columns) == ["n_control", "n_treatment", "mde", "power"]
    assert len(pc) == 6
    for _, g in pc.groupby("mde"):
        assert g["power"].is_monotonic_increasing
    pm = power_curve(n_control=[100, 400], mde=[0.2], sd=1.0)
    assert pm["power"].iloc[1] == pytest.approx(
        tt_ind_solve_power(effect_size=0.2, nobs1=400, alpha=0.05), rel=1e-8
    )


def test_expected_duration():
    assert expected_duration(7682, 1000, whole_weeks=False) == 8
    assert expected_duration(7682, 1000) == 14
    assert expected_duration(7682, 1000, share_in_experiment=0.5, whole_weeks=False) == 16


def test_design_errors():
    with pytest.raises(ValueError, match="p0 .* must be in"):
        sample_size_proportions(1.5, 0.01)
    with pytest.raises(ValueError, match="not a probability"):
        sample_size_proportions(0.95, 0.1)
    with pytest.raises(ValueError, match="power must be in"):
        sample_size_means(1.0, 0.1, power=1.2)
    with pytest.raises(ValueError, match="exactly one of p0"):
        minimum_detectable_effect(100, p0=0.1, sd=1.0)
    with pytest.raises(ValueError, match="contradicts the sign"):
        sample_size_proportions(0.1, -0.02, alternative="larger")


# -------------------------------------------------------------------------- assignment


def test_assign_variants_deterministic_and_stable():
    ids = [f"C{i:06d}" for i in range(20_000)]
    a = assign_variants(ids, experiment_id="EXP-1", salt="s1", variants=["control", "coupon"])
    b = assign_variants(ids[::-1], experiment_id="EXP-1", salt="s1", variants=["control", "coupon"])
    merged = a.merge(b, on="customer_id")
    assert (merged["variant_x"] == merged["variant_y"]).all()  # order does not matter
    # adding customers leaves existing assignments unchanged
    c = assign_variants(
        ids[:5000], experiment_id="EXP-1", salt="s1", variants=["control", "coupon"]
    )
    assert (c["variant"].to_numpy() == a["variant"].to_numpy()[:5000]).all()
    # a known value pins the hash across runs and machines (blake2b of "s1:EXP-1:C000000")
    assert a["bucket"].iloc[0] == pytest.approx(_reference_bucket("s1:EXP-1:C000000"))
    # a different salt reshuffles about half the customers
    d = assign_variants(ids, experiment_id="EXP-1", salt="s2", variants=["control", "coupon"])
    assert 0.45 < np.mean(d["variant"].to_numpy() != a["variant"].to_numpy()) < 0.55
    share = (a["variant"] == "control").mean()
    assert abs(share - 0.5) < 4 * np.sqrt(0.25 / len(ids))


def _reference_bucket(key: str) -> float:
    import hashlib

    h = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
    return (h >> 11) / 2**53


def test_assign_variants_weights_and_strata():
    ids = np.arange(30_000)
    a = assign_variants(
        ids, experiment_id="E", salt="x", variants=["c", "t1", "t2"], weights=[2, 1, 1]
    )
    shares = a["variant"].value_counts(normalize=True)
    assert shares["c"] == pytest.approx(0.5, abs=0.015)
    strata = np.array(["north", "south", "east"])[ids % 3]
    s = assign_variants(ids, experiment_id="E", salt="x", variants=["c", "t"], strata=strata)
    counts = s.groupby(["stratum", "variant"]).size().unstack()
    assert (counts["c"] - counts["t"]).abs().max() <= 1  # exact balance within strata
    s2 = assign_variants(ids, experiment_id="E", salt="x", variants=["c", "t"], strata=strata)
    pd.testing.assert_frame_equal(s, s2)


def test_assign_variants_errors():
    with pytest.raises(ValueError, match="duplicates"):
        assign_variants(["a", "a"], experiment_id="E", salt="x")
    with pytest.raises(ValueError, match="at least two distinct"):
        assign_variants(["a", "b"], experiment_id="E", salt="x", variants=["c"])
    with pytest.raises(ValueError, match="weights must be 2"):
        assign_variants(["a", "b"], experiment_id="E", salt="x", weights=[1, -1])


def test_balance_check_smd():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {"variant": np.repeat(["control", "coupon"], 500), "age": rng.normal(40, 10, 1000)}
    )
    df.loc[df["variant"] == "coupon", "age"] += 5  # imbalance of 0.5 sd
    df["vip"] = rng.random(1000) < 0.2
    res = balance_check(df, group_col="variant", covariate_cols=["age", "vip"], control="control")
    assert list(res.columns) == [
        "covariate",
        "control",
        "treatment",
        "mean_control",
        "mean_treatment",
        "smd",
        "balanced",
    ]
    g = df.groupby("variant")["age"]
    ref = (g.mean()["coupon"] - g.mean()["control"]) / np.sqrt(
        (g.var()["coupon"] + g.var()["control"]) / 2
    )
    assert res.loc[0, "smd"] == pytest.approx(ref, rel=1e-10)
    assert not res.loc[0, "balanced"]
    with pytest.raises(TypeError, match="one-hot encode"):
        balance_check(df.assign(region="x"), group_col="variant", covariate_cols=["region"])


@pytest.mark.parametrize(
    "module",
    ["analysis", "bayes", "decision", "design", "sequential", "stats"],
)
def test_docstring_examples_run(module):
    mod = importlib.import_module(f"crm_lib.experiments.{module}")
    assert doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0
