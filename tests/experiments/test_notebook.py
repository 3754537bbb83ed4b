"""Notebook 04 records the multiplicity-adjusted numbers that drive its decision."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import test_proportions_2indep as score_test_2indep

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "04_ab_testing.ipynb"


@pytest.fixture(scope="module")
def metrics(tmp_path_factory):
    from crm_lib.reporting import run_batch

    tmp = tmp_path_factory.mktemp("nb04")
    spec = {
        "defaults": {"data_dir": "", "size": "small", "seed": 1, "language": "en"},
        "runs": [{"notebook": str(NOTEBOOK), "name": "ab"}],
    }
    result = run_batch(spec, run_id="ab", reports_dir=tmp / "reports", quiet=True)
    assert result.runs[0].error is None, result.runs[0].error
    return result.runs[0].metrics


def _reference_p_values(world):
    """Unadjusted p-values of the four default metrics, from scipy and statsmodels."""
    from crm_lib.experiments import experiment_frame

    d = experiment_frame(world.experiment_assignments, world.experiment_outcomes)
    t, c = d["variant"] == "coupon", d["variant"] == "control"
    conv = score_test_2indep(
        d.loc[t, "converted"].sum(), t.sum(), d.loc[c, "converted"].sum(), c.sum(), method="score"
    ).pvalue
    orders = sps.ttest_ind(d.loc[t, "orders"], d.loc[c, "orders"], equal_var=False).pvalue
    x, y = d["pre_period_revenue"].to_numpy(float), d["revenue"].to_numpy(float)
    theta = np.cov(x, y)[0, 1] / np.var(x, ddof=1)
    adj = y - theta * (x - x.mean())
    revenue = sps.ttest_ind(adj[t.to_numpy()], adj[c.to_numpy()], equal_var=False).pvalue
    # NPS: multinomial z test on promoters (9-10) minus detractors (0-6), respondents only
    se2, score = 0.0, []
    for arm in (c, t):
        s = d.loc[arm & d["nps"].notna(), "nps"].to_numpy(float)
        pp, pm = np.mean(s >= 9), np.mean(s <= 6)
        score.append(pp - pm)
        se2 += (pp + pm - (pp - pm) ** 2) / len(s)
    nps = 2 * sps.norm.sf(abs(score[1] - score[0]) / np.sqrt(se2))
    return conv, revenue, orders, nps


def test_headline_p_values_are_the_adjusted_ones(metrics, small_world):
    conv, revenue, orders, nps = _reference_p_values(small_world)
    # default correction: Holm over primary + secondary metrics; the guardrail alone
    holm = multipletests([conv, revenue, orders], method="holm")[1]
    recorded = [metrics[f"p_adjusted_{m}"] for m in ("converted", "revenue", "orders")]
    np.testing.assert_allclose(recorded, holm, rtol=1e-6)
    assert metrics["p_adjusted_nps"] == pytest.approx(nps, rel=1e-6)
    # the conversion interval reported with it is at the Holm-consistent level
    assert metrics["abs_lift_ci_level"] >= 0.95
    excludes = metrics["abs_lift_adjusted_ci_low"] > 0 or metrics["abs_lift_adjusted_ci_high"] < 0
    assert excludes == (metrics["p_adjusted_converted"] < 0.05)
