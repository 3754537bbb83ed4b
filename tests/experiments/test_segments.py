"""Effect by segment: truth recovery on the simulated world, a library cross-check of the
interaction test, Cochran's Q by hand, the forking-paths caution and row-order invariance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hst

from crm_lib.datasets import WorldParams, simulate
from crm_lib.experiments import (
    CAUTION_EXPLORATORY,
    birth_cohort,
    effect_by_segment,
    experiment_frame,
    proportions_test,
)

KW = {"segment_col": "cohort", "group_col": "variant", "converted_col": "converted"}


def _frame(world):
    d = experiment_frame(world.experiment_assignments, world.experiment_outcomes)
    d = d.merge(world.customers[["customer_id", "birth_year", "region"]], on="customer_id")
    d["cohort"] = birth_cohort(d)
    return d


@pytest.fixture(scope="module")
def large():
    # truth: tau = 0.01 + 0.08 (born 1990 or later) + 0.04 (south/east); every customer
    # consents so that ~75k customers are in the test (enough to see the interaction)
    return _frame(simulate(120_000, seed=1, dirty=False, params=WorldParams(consent_share=1.0)))


@pytest.fixture(scope="module")
def small(small_world):
    return _frame(small_world)


def test_young_segment_has_larger_lift_and_heterogeneity_is_detected(large):
    r = effect_by_segment(large, control="control", **KW).set_index("segment")
    young, old = r.loc["born_1990_or_later"], r.loc["born_before_1990"]
    assert young["diff"] > old["diff"] + 0.01
    assert young["ci_low"] > 0 and old["ci_low"] < 0 < old["ci_high"]
    assert young["heterogeneity_p"] < 0.05 and young["interaction_p"] < 0.05
    assert young["heterogeneity_df"] == 2  # three segments: young, old, unknown


def test_matches_proportions_test_within_each_segment(small):
    r = effect_by_segment(small, control="control", correction="bonferroni", **KW)
    for _, row in r.iterrows():
        part = small[small["cohort"] == row["segment"]]
        ref = proportions_test(
            part, group_col="variant", converted_col="converted", control="control"
        ).iloc[0]
        for col in ("diff", "ci_low", "ci_high", "p_value", "rel_diff"):
            assert row[col] == pytest.approx(ref[col])
        assert row["p_adjusted"] == pytest.approx(min(1.0, 3 * ref["p_value"]))
    assert (r["caution"] == CAUTION_EXPLORATORY).all()
    pre = effect_by_segment(small, control="control", preregistered=True, **KW)
    assert pre["caution"].str.startswith("confirmatory").all()


def test_interaction_test_matches_statsmodels_logit(small):
    import statsmodels.formula.api as smf

    d = small.assign(y=small["converted"].astype(int))
    full = smf.logit("y ~ C(cohort) * C(variant)", d).fit(disp=0)
    reduced = smf.logit("y ~ C(cohort) + C(variant)", d).fit(disp=0)
    lr = 2 * (full.llf - reduced.llf)  # reference: statsmodels Logit on the unit rows
    r = effect_by_segment(small, control="control", **KW)
    assert r["interaction_chi2"].iloc[0] == pytest.approx(lr, rel=1e-5)


def test_cochran_q_two_segments_by_hand():
    # segment a: 30/100 vs 50/100; segment b: 30/100 vs 30/100
    rows = []
    for seg, xc, xt in (("a", 30, 50), ("b", 30, 30)):
        for arm, x in (("c", xc), ("t", xt)):
            rows += [{"s": seg, "g": arm, "y": int(i < x)} for i in range(100)]
    df = pd.DataFrame(rows)
    r = effect_by_segment(df, segment_col="s", group_col="g", converted_col="y", control="c")
    va = 0.5 * 0.5 / 100 + 0.3 * 0.7 / 100
    vb = 2 * 0.3 * 0.7 / 100
    q = (0.2 - 0.0) ** 2 / (va + vb)  # two segments: Q = (d_a - d_b)^2 / (v_a + v_b)
    assert r["heterogeneity_q"].iloc[0] == pytest.approx(q)
    assert r["diff"].tolist() == pytest.approx([0.2, 0.0])


def test_missing_segment_is_kept_and_errors(small):
    d = small.assign(cohort=small["birth_year"].where(small["birth_year"] >= 1990))
    d["cohort"] = d["cohort"].astype("Float64") // 10 * 10
    r = effect_by_segment(d, control="control", **KW)
    assert "unknown" in set(r["segment"]) and r["n"].sum() == len(d)
    with pytest.raises(ValueError, match="single segment"):
        effect_by_segment(small.assign(cohort="all"), control="control", **KW)
    with pytest.raises(ValueError, match="correction must be"):
        effect_by_segment(small, control="control", correction="fdr", **KW)
    with pytest.raises(KeyError, match="nope"):
        effect_by_segment(small, control="control", **{**KW, "segment_col": "nope"})


@pytest.fixture(scope="module")
def small_reference(small):
    return effect_by_segment(small, control="control", **KW)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=hst.integers(0, 2**32 - 1))
def test_row_order_invariance(small, small_reference, seed):
    perm = small.sample(frac=1.0, random_state=np.random.RandomState(seed))
    out = effect_by_segment(perm, control="control", **KW)
    pd.testing.assert_frame_equal(small_reference, out, rtol=1e-9)
