"""arm_stats: one reduction of the rows gives exactly the stand-alone functions' results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_lib.experiments import (
    arm_stats,
    cuped,
    experiment_frame,
    means_test,
    proportions_test,
    srm_check,
)


@pytest.fixture(scope="module")
def exp(small_world):
    return experiment_frame(small_world.experiment_assignments, small_world.experiment_outcomes)


def test_same_results_as_the_standalone_functions(exp):
    kw = {"group_col": "variant", "control": "control"}
    s = arm_stats(
        exp,
        columns=["converted", "revenue", "pre_period_revenue"],
        pairs=[("revenue", "pre_period_revenue")],
        **kw,
    )
    pd.testing.assert_frame_equal(s.srm(), srm_check(exp, group_col="variant"))
    pd.testing.assert_frame_equal(
        s.proportions("converted", alpha=0.1),
        proportions_test(exp, converted_col="converted", alpha=0.1, **kw),
    )
    pd.testing.assert_frame_equal(s.means("revenue"), means_test(exp, value_col="revenue", **kw))
    pd.testing.assert_frame_equal(
        s.cuped("revenue", "pre_period_revenue"),
        cuped(exp, metric_col="revenue", covariate_col="pre_period_revenue", **kw),
    )
    exp_shares = {"control": 0.4, "coupon": 0.6}
    pd.testing.assert_frame_equal(
        s.srm(expected=exp_shares), srm_check(exp, group_col="variant", expected=exp_shares)
    )
    summ = s.summary()
    assert summ["n"].sum() == len(exp)
    assert summ["mean_revenue"].tolist() == pytest.approx(
        exp.groupby("variant")["revenue"].mean().tolist()
    )


def test_three_arms_and_errors():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {"g": rng.choice(["a", "b", "c"], 3000), "y": rng.random(3000), "x": rng.random(3000)}
    )
    s = arm_stats(df, group_col="g", control="b", columns=["y", "x"], pairs=[("y", "x")])
    pd.testing.assert_frame_equal(
        s.means("y"), means_test(df, group_col="g", value_col="y", control="b")
    )
    with pytest.raises(KeyError, match="was not summarised"):
        s.means("z")
    with pytest.raises(KeyError, match="pair \\('x', 'y'\\) was not summarised"):
        s.cuped("x", "y")
    with pytest.raises(ValueError, match="must be boolean or 0/1"):
        s.proportions("y")
    with pytest.raises(ValueError, match="every column of pairs must be in columns"):
        arm_stats(df, group_col="g", control="b", columns=["y"], pairs=[("y", "x")])
    with pytest.raises(ValueError, match=r"variant\(s\) \['b', 'c'\] are in the data but not"):
        s.srm(expected={"a": 1.0})
    with pytest.raises(ValueError, match="must be non-negative"):
        s.srm(expected={"a": 1.0, "b": -1.0, "c": 1.0})
