"""Method-specific verdicts (Bayesian, sequential) and the peeking simulation."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from crm_lib.experiments import (
    Metric,
    analyze,
    bayes_proportions,
    decide_bayesian,
    decide_sequential,
    peeking_simulation,
    plot_peeking,
    sequential_test,
    srm_check,
)
from crm_lib.i18n import t


def _ab(xc, xt, n=1000):
    return pd.DataFrame(
        {
            "variant": ["a"] * n + ["b"] * n,
            "converted": [1] * xc + [0] * (n - xc) + [1] * xt + [0] * (n - xt),
        }
    )


def _srm_ok(arms=("a", "b")):
    """An SRM table that raises no alarm (the decisions require one)."""
    return pd.DataFrame({"variant": list(arms), "srm": False, "p_value": 0.5})


def _post(xc, xt):
    return bayes_proportions(
        _ab(xc, xt), group_col="variant", converted_col="converted", control="a"
    )


def test_decide_bayesian_rules():
    ok = _srm_ok()
    res = decide_bayesian(_post(100, 160), srm=ok, max_expected_loss=0.01)
    assert res["decision"].iloc[0] == "ship"
    assert decide_bayesian(_post(160, 100), srm=ok)["decision"].iloc[0] == "do not ship"
    assert decide_bayesian(_post(100, 102), srm=ok)["decision"].iloc[0] == "keep running"
    srm = srm_check(pd.DataFrame({"variant": ["a"] * 5200 + ["b"] * 4800}), group_col="variant")
    res = decide_bayesian(_post(100, 160), srm=srm, max_expected_loss=0.01)
    assert res["decision"].iloc[0] == "do not ship" and "mismatch" in res["caveats"].iloc[0]
    with pytest.raises(ValueError, match="prob_threshold must be in"):
        decide_bayesian(_post(100, 102), srm=ok, prob_threshold=0.3)


def test_decide_bayesian_guardrail_overrides():
    df = _ab(100, 160).assign(nps=[6, 8, 10, 9] * 250 + [2, 4, 6, 5] * 250)
    summ = analyze(
        df,
        group_col="variant",
        control="a",
        metrics=[
            Metric("converted", kind="proportion", role="primary"),
            Metric("nps", kind="mean", role="guardrail"),
        ],
    )
    res = decide_bayesian(
        _post(100, 160),
        srm=_srm_ok(),
        guardrails=summ[summ["role"] == "guardrail"],
        max_expected_loss=0.01,
    )
    assert res["decision"].iloc[0] == "do not ship"
    assert "guardrail" in res["reason"].iloc[0]


def test_decide_sequential(small_world):
    from crm_lib.experiments import experiment_frame

    d = experiment_frame(small_world.experiment_assignments, small_world.experiment_outcomes)
    mon = sequential_test(
        d,
        group_col="variant",
        value_col="converted",
        time_col="assigned_at",
        control="control",
        tau=0.02,
        freq="2h",
    )
    ok = _srm_ok(("control", "coupon"))
    res = decide_sequential(mon, srm=ok)
    assert res["decision"].iloc[0] == "keep running"  # 821 customers: far too few
    res = decide_sequential(mon, srm=ok, n_required=100)
    assert res["decision"].iloc[0] == "do not ship"
    strong = mon.assign(reject=True, ci_low=0.01, ci_high=0.05)
    assert decide_sequential(strong, srm=ok)["decision"].iloc[0] == "ship"
    with pytest.raises(KeyError, match="reject"):
        decide_sequential(mon.drop(columns="reject"), srm=ok)
    with pytest.raises(ValueError, match="decide_sequential needs the sample ratio"):
        decide_sequential(strong)


def test_peeking_inflates_naive_but_not_msprt():
    peek = peeking_simulation(0.2, 300, 10, tau=0.03, n_sims=3000, seed=1)
    # reference: about 0.19 for 10 equally spaced looks at alpha = 0.05 (Armitage et al. 1969)
    assert peek["naive_false_positive"].iloc[0] == pytest.approx(0.05, abs=0.015)
    assert 0.14 < peek["naive_false_positive"].iloc[-1] < 0.25
    assert peek["naive_false_positive"].is_monotonic_increasing
    assert (peek["msprt_false_positive"] <= 0.05).all()
    same = peeking_simulation(0.2, 300, 10, tau=0.03, n_sims=3000, seed=1)
    pd.testing.assert_frame_equal(peek, same)
    with pytest.raises(ValueError, match="n_sims >= 100"):
        peeking_simulation(0.2, 300, 10, tau=0.03, n_sims=10)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_plot_peeking(language):
    ax = plot_peeking(peeking_simulation(0.2, 100, 5, tau=0.03, n_sims=200), language=language)
    assert ax.get_title() == t("title_peeking", language)
    assert ax.get_ylabel() == t("false_positive_rate", language)
    plt.close("all")


def test_verdict_dispatches_on_method(small_world):
    from crm_lib.experiments import experiment_frame, verdict

    d = experiment_frame(small_world.experiment_assignments, small_world.experiment_outcomes)
    kw = {"group_col": "variant", "control": "control"}
    summ = analyze(d, metrics=[Metric("converted", kind="proportion", role="primary")], **kw)
    post = bayes_proportions(d, converted_col="converted", **kw)
    mon = sequential_test(d, value_col="converted", time_col="assigned_at", tau=0.02, **kw)
    srm = srm_check(d, group_col="variant")
    for method, extra in (
        ("frequentist", {}),
        ("bayesian", {"posterior": post}),
        ("sequential", {"monitoring": mon}),
    ):
        out = verdict(method, summary=summ, srm=srm, n_required=5000, **extra)
        assert out["method"].iloc[0] == method
        assert out["decision"].iloc[0] in ("ship", "do not ship", "keep running")
    with pytest.raises(ValueError, match="method must be one of"):
        verdict("bayes", summary=summ)
    with pytest.raises(ValueError, match="needs posterior"):
        verdict("bayesian", summary=summ, srm=srm)
