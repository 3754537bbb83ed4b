"""Experiment plots: each returns its axes, texts come out in Chinese with language='zh',
and nothing fails on the small world."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from crm_lib.experiments import (
    birth_cohort,
    effect_by_segment,
    experiment_frame,
    msprt_boundary,
    obrien_fleming_boundary,
    plot_lift_ci,
    plot_power_curve,
    plot_qini,
    plot_sequential,
    power_curve,
    proportions_test,
    qini_curve,
    sequential_test,
    uplift_curve,
)
from crm_lib.i18n import t


@pytest.fixture(scope="module")
def exp(small_world):
    d = experiment_frame(small_world.experiment_assignments, small_world.experiment_outcomes)
    return d.merge(small_world.customers[["customer_id", "birth_year"]], on="customer_id")


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _texts(ax):
    legend = ax.get_legend()
    out = [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
    if legend is not None:
        out += [x.get_text() for x in legend.get_texts()] + [legend.get_title().get_text()]
    return out


def _has_cjk(s: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in s)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_power_curve_plot(language):
    df = power_curve(n_control=[200, 500, 1000, 2000], mde=[0.02, 0.04], p0=0.2)
    ax = plot_power_curve(df, language=language)
    assert ax.get_title() == t("title_power_curve", language)
    assert ax.get_xlabel() == t("n_per_arm", language)
    assert len(ax.get_lines()) == 3  # two effects + the target line
    if language == "zh":
        assert _has_cjk(ax.get_title()) and _has_cjk(ax.get_legend().get_title().get_text())


@pytest.mark.parametrize("language", ["en", "zh"])
def test_lift_ci_plot_on_metrics_and_segments(exp, language):
    res = proportions_test(exp, group_col="variant", converted_col="converted", control="control")
    fig, ax0 = plt.subplots()
    ax = plot_lift_ci(res, ax=ax0, language=language, percent=True)
    assert ax is ax0
    assert ax.get_xlabel() == t("diff_ci", language)
    seg = effect_by_segment(
        exp.assign(cohort=birth_cohort(exp)),
        segment_col="cohort",
        group_col="variant",
        converted_col="converted",
        control="control",
    )
    ax = plot_lift_ci(seg, language=language, title="title_segment_lift")
    labels = [tk.get_text() for tk in ax.get_yticklabels()]
    assert len(labels) == 3
    if language == "zh":
        assert all(_has_cjk(s) for s in labels + [ax.get_title(), ax.get_xlabel()])
    else:
        assert "born 1990 or later" in labels


@pytest.mark.parametrize("language", ["en", "zh"])
def test_sequential_plots(exp, language):
    mon = sequential_test(
        exp,
        group_col="variant",
        value_col="converted",
        time_col="assigned_at",
        control="control",
        tau=0.05,
        freq="1h",
    )
    ax = plot_sequential(mon, language=language)
    assert ax.get_title() == t("title_sequential", language)
    obf = obrien_fleming_boundary([0.25, 0.5, 0.75, 1.0]).assign(z=[0.5, 1.0, 1.8, 2.1])
    ax = plot_sequential(obf, language=language)
    assert len(ax.get_lines()) == 5
    ax = plot_sequential(msprt_boundary([100, 1000, 5000], sd=0.4, tau=0.05), language=language)
    assert ax.get_xlabel() == t("n_per_arm", language)
    if language == "zh":
        assert all(_has_cjk(s) for s in _texts(ax) if s and s != "z")
    with pytest.raises(ValueError, match="must be the output of sequential_test"):
        plot_sequential(pd.DataFrame({"a": [1]}))


@pytest.mark.parametrize("language", ["en", "zh"])
def test_qini_plot(exp, language):
    rng = np.random.default_rng(0)
    y = exp["converted"].astype(int)
    tr = (exp["variant"] == "coupon").astype(int)
    s = rng.random(len(exp))
    ax = plot_qini(qini_curve(y, tr, s), language=language)
    assert ax.get_title() == t("title_qini", language)
    assert ax.get_ylabel() == t("incremental_responders", language)
    ax = plot_qini(uplift_curve(y, tr, s), language=language, name="T-learner")
    assert ax.get_title() == t("title_uplift_curve", language)
    if language == "zh":
        assert _has_cjk(ax.get_xlabel())
