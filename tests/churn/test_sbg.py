"""The shifted-beta-geometric model: published example, recovery, validation.

Published values: Fader & Hardie (2007), "How to project customer retention", J.
Interactive Marketing 21(1), Table/Figure of the two segments of 1,000 customers each,
survival (%) after years 1-7, fitted on years 1-7: "regular" alpha = 0.704, beta = 1.182;
"high end" alpha = 0.668, beta = 3.806. The log-likelihood per customer at alpha = beta = 1
on the high-end series, -2.115, is the check value of the paper's spreadsheet as quoted by
jdmaturen/shifted_beta_geometric_py (sbg.py, test()).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_lib.churn import SBGModel, sbg_log_likelihood, sbg_survival, subscription_cohorts

REGULAR = [100.0, 63.1, 46.8, 38.2, 32.6, 28.9, 26.2, 24.1]  # % active, years 0-7
HIGH_END = [100.0, 86.9, 74.3, 65.3, 59.3, 55.1, 51.7, 49.1]


def _cohort(pct):
    return pd.DataFrame({"period": range(len(pct)), "alive": np.round(np.array(pct) * 10)})


@pytest.mark.parametrize(
    ("series", "alpha", "beta"), [(REGULAR, 0.704, 1.182), (HIGH_END, 0.668, 3.806)]
)
def test_reproduces_fader_hardie_2007(series, alpha, beta):
    model = SBGModel().fit(_cohort(series))
    assert round(model.params_["alpha"], 3) == alpha
    assert round(model.params_["beta"], 3) == beta
    assert model.converged_
    # the fitted curve passes close to the 7 years it was fitted on
    fitted = model.survival(np.arange(8)) * 100
    assert np.abs(fitted - np.array(series)).max() < 2.0  # percentage points


def test_log_likelihood_check_value():
    ll = sbg_log_likelihood(1.0, 1.0, _cohort(HIGH_END)["alive"].to_numpy())
    assert ll / 1000 == pytest.approx(-2.115, abs=1e-3)  # -2.11555; quoted as -2.115 (rtol 1e-3)


def test_survival_and_retention_identities():
    a, b = 0.7, 1.2
    t = np.arange(1, 10)
    s = sbg_survival(a, b, np.arange(10))
    model = SBGModel()
    model.params_ = {"alpha": a, "beta": b}
    np.testing.assert_allclose(s[1:] / s[:-1], model.retention_rate(t))
    assert s[0] == 1.0
    assert np.all(np.diff(model.retention_rate(t)) > 0)  # retention rises with tenure


def test_recovers_parameters_on_a_20k_cohort():
    alpha, beta, n, periods = 0.8, 2.5, 20_000, 12
    rng = np.random.default_rng(2007)
    theta = rng.beta(alpha, beta, n)
    lifetime = rng.geometric(theta)  # periods until the cancellation, >= 1
    alive = (lifetime[None, :] > np.arange(periods + 1)[:, None]).sum(axis=1)
    model = SBGModel().fit(pd.DataFrame({"period": range(periods + 1), "alive": alive}))
    s = model.summary().set_index("parameter")
    for name, true in (("alpha", alpha), ("beta", beta)):
        assert abs(s.loc[name, "estimate"] - true) < 2 * s.loc[name, "std_error"], s
        assert s.loc[name, "ci_low"] < true < s.loc[name, "ci_high"]
    proj = model.project(24)
    assert (proj["ci_low"] <= proj["survival"]).all() and (
        proj["survival"] <= proj["ci_high"]
    ).all()


def test_cohorts_share_parameters():
    rng = np.random.default_rng(5)
    rows = []
    for c, periods in enumerate([10, 6, 3]):
        life = rng.geometric(rng.beta(1.0, 3.0, 4000))
        alive = (life[None, :] > np.arange(periods + 1)[:, None]).sum(axis=1)
        rows.append(pd.DataFrame({"cohort": c, "period": range(periods + 1), "alive": alive}))
    model = SBGModel(cohort_col="cohort").fit(pd.concat(rows))
    assert model.n_customers_ == 12_000
    s = model.summary().set_index("parameter")
    assert abs(s.loc["alpha", "estimate"] - 1.0) < 2 * s.loc["alpha", "std_error"]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (pd.DataFrame({"period": [0, 2], "alive": [10, 5]}), "without gaps"),
        (pd.DataFrame({"period": [0, 1], "alive": [10, 12]}), "never increase"),
        (pd.DataFrame({"t": [0, 1], "alive": [10, 5]}), "no column 'period'"),
    ],
)
def test_validation_messages(data, match):
    with pytest.raises(ValueError, match=match):
        SBGModel().fit(data)


def test_unfitted_model_says_so():
    with pytest.raises(RuntimeError, match="not fitted"):
        SBGModel().summary()


def test_subscription_cohorts_by_hand():
    start = pd.Timestamp("2024-01-10", tz="UTC")
    subs = pd.DataFrame(
        {
            "started_at": [start] * 3,
            "tenure_months": [1, 3, 5],  # cancelled in month 1, 3; active in its 5th month
            "churned": [True, True, False],
        }
    )
    end = start + pd.Timedelta(days=4 * 30.4375 + 1)
    out = subscription_cohorts(subs, data_end=end, cohort_freq="M")
    assert out["alive"].tolist() == [3, 2, 2, 1, 1]  # renewals: 0, 2, >= 4
    assert out["period"].tolist() == [0, 1, 2, 3, 4]
