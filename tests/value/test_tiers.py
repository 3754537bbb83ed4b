"""Customer value: historical CLV, Pareto tiers, tier migration, lifecycle stages."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_lib import value as cv


def frame(values: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": list(values), "value": list(values.values())})


def test_value_tiers_hand_computed():
    # shares 50/30/10/5/5 %; share held by those ranked above: 0, .5, .8, .9, .95
    # A while that is < .80 (a, b), B while < .95 (c, d), C for e
    out = cv.value_tiers(frame({"a": 50, "b": 30, "c": 10, "d": 5, "e": 5}), value_col="value")
    assert out["customer_id"].tolist() == ["a", "b", "c", "d", "e"]
    assert out["tier"].tolist() == ["A", "A", "B", "B", "C"]
    assert out["cum_value_share"].tolist() == pytest.approx([0.5, 0.8, 0.9, 0.95, 1.0])
    assert out["rank"].tolist() == [1, 2, 3, 4, 5]
    table = cv.tier_table(out)
    assert table["tier"].tolist() == ["A", "B", "C"]
    assert table["customers"].tolist() == [2, 2, 1]
    assert table["value_share"].tolist() == pytest.approx([0.8, 0.15, 0.05])


def test_customer_crossing_the_cutoff_stays_in_the_higher_tier():
    # 60 / 30 / 10: b crosses 80% (60% above her) so b is A; c: 90% above her -> B
    out = cv.value_tiers(frame({"a": 60, "b": 30, "c": 10}), value_col="value")
    assert out["tier"].tolist() == ["A", "A", "B"]
    # one customer with everything: A, the rest have no value
    out = cv.value_tiers(frame({"a": 10, "b": 0, "c": -5}), value_col="value")
    assert out["tier"].tolist() == ["A", "none", "none"]


def test_custom_tiers_and_ties_by_customer_id():
    out = cv.value_tiers(
        frame({"b": 10, "a": 10, "c": 10, "d": 10}),
        value_col="value",
        cutoffs=[0.5],
        tiers=["top", "rest"],
    )
    # ties broken by id: a, b hold the first 50%
    assert out["customer_id"].tolist() == ["a", "b", "c", "d"]
    assert out["tier"].tolist() == ["top", "top", "rest", "rest"]


def test_pareto_curve_and_top_share():
    values = frame({"a": 50, "b": 30, "c": 10, "d": 5, "e": 5})
    curve = cv.pareto_curve(values, value_col="value")
    assert curve.iloc[0].tolist() == [0.0, 0.0]
    assert curve.iloc[-1].tolist() == [1.0, 1.0]
    assert cv.top_share(values, value_col="value") == pytest.approx(0.5)  # 1 of 5 holds 50
    assert cv.top_share(values, top=0.4, value_col="value") == pytest.approx(0.8)
    # halfway between 1 and 2 customers of 5: interpolated 0.5 + 0.5 * 0.3
    assert cv.top_share(values, top=0.3, value_col="value") == pytest.approx(0.65)
    equal = frame({c: 1.0 for c in "abcdefghij"})
    assert cv.top_share(equal, value_col="value") == pytest.approx(0.2)


def test_tier_migration_hand_computed():
    before = frame({"a": 100, "b": 50, "c": 10})  # above-shares 0, .625, .9375 -> A, A, B
    after = frame({"b": 100, "c": 50, "d": 10})  # b A, c A, d B; a has no purchase
    mig = cv.tier_migration(before, after)
    c = mig.customers.set_index("customer_id")
    assert c["tier_before"].to_dict() == {"a": "A", "b": "A", "c": "B", "d": "none"}
    assert c["tier_after"].to_dict() == {"a": "none", "b": "A", "c": "A", "d": "B"}
    assert c["movement"].to_dict() == {"a": "down", "b": "same", "c": "up", "d": "up"}
    assert mig.order == ["A", "B", "C", "none"]
    assert mig.counts.loc["A"].tolist() == [1, 0, 0, 1]
    assert mig.counts.loc["B"].tolist() == [1, 0, 0, 0]
    assert mig.counts.loc["none"].tolist() == [0, 1, 0, 0]
    assert mig.shares.loc["A"].tolist() == [0.5, 0, 0, 0.5]
    assert mig.shares.loc["C"].isna().all()  # no customer started in C
    summary = mig.summary()
    assert summary["customers"].tolist() == [2, 1, 1]
    assert summary["movement"].tolist() == ["up", "same", "down"]


values_strategy = st.dictionaries(
    st.text("abcdefgh", min_size=1, max_size=3),
    st.floats(-50, 1000, allow_nan=False).map(lambda v: round(v, 2)),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(values_strategy, values_strategy, st.randoms(use_true_random=False))
def test_migration_invariants_and_row_order(before, after, rnd):
    b, a = frame(before), frame(after)
    mig = cv.tier_migration(b, a)
    ids = sorted(set(before) | set(after))
    # every customer exactly one tier per period
    assert mig.customers["customer_id"].tolist() == ids
    assert mig.customers[["tier_before", "tier_after"]].isin(mig.order).all().all()
    assert int(mig.counts.to_numpy().sum()) == len(ids)
    rows = mig.shares.dropna(how="all")
    assert np.allclose(rows.sum(axis=1), 1)
    # row order changes nothing
    perm_b = b.sample(frac=1, random_state=rnd.randint(0, 10**6))
    perm_a = a.sample(frac=1, random_state=rnd.randint(0, 10**6))
    again = cv.tier_migration(perm_b, perm_a)
    pd.testing.assert_frame_equal(mig.customers, again.customers)
    pd.testing.assert_frame_equal(mig.counts, again.counts)


@settings(max_examples=40, deadline=None)
@given(values_strategy)
def test_value_tiers_properties(values):
    out = cv.value_tiers(frame(values), value_col="value")
    assert len(out) == len(values)
    assert out["tier"].isin(["A", "B", "C", "none"]).all()
    assert ((out["value"] > 0) == (out["tier"] != "none")).all()
    positive = out[out["value"] > 0]
    if len(positive):
        # tier A is never empty and holds at least 80% of the (positive) value
        a_share = positive.loc[positive["tier"] == "A", "value"].sum() / positive["value"].sum()
        assert a_share >= 0.8 - 1e-12
        # tiers are monotone in rank
        codes = positive["tier"].map({"A": 0, "B": 1, "C": 2})
        assert codes.is_monotonic_increasing


def test_lifecycle_stages_rules():
    end = pd.Timestamp("2025-01-01", tz="UTC")
    days = pd.Timedelta(days=1)
    summary = pd.DataFrame(
        {
            "customer_id": ["new", "active", "risk", "lapsed", "edge"],
            "first_purchase": [end - 30 * days, end - 400 * days, end - 400 * days,
                               end - 400 * days, end - 90 * days],
            "last_purchase": [end - 5 * days, end - 10 * days, end - 120 * days,
                              end - 200 * days, end - 90 * days],
        }
    )  # fmt: skip
    out = cv.lifecycle_stages(summary, observation_end=end).set_index("customer_id")
    assert out["stage"].to_dict() == {
        "new": "new",
        "active": "active",
        "risk": "at_risk",
        "lapsed": "lapsed",
        "edge": "at_risk",  # exactly 90 days: not new (< 90), not active (< 90)
    }
    assert out.loc["risk", "days_since_last"] == 120
    # the rules are parameters
    wider = cv.lifecycle_stages(summary, observation_end=end, active_days=150, at_risk_days=365)
    assert wider.set_index("customer_id")["stage"].to_dict()["risk"] == "active"
    assert wider.set_index("customer_id")["stage"].to_dict()["lapsed"] == "at_risk"
    # rows are sorted by id: active, edge, lapsed, new, risk
    table = cv.stage_table(out.reset_index(), value=[1.0, 2.0, 3.0, 4.0, 5.0])
    assert table["stage"].tolist() == ["new", "active", "at_risk", "lapsed"]
    assert table["customers"].tolist() == [1, 1, 2, 1]
    assert table["value"].tolist() == [4.0, 1.0, 7.0, 3.0]


def test_period_value_and_historical_clv(small_world):
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "a"],
            "ordered_at": pd.to_datetime(
                ["2024-01-05", "2024-02-01", "2024-03-01", "2024-06-01"], utc=True
            ),
            "amount": [100.0, -40.0, 20.0, 7.0],
        }
    )
    out = cv.period_value(tx, start="2024-01-01", end="2024-06-01")
    assert out.to_dict("list") == {"customer_id": ["a", "b"], "value": [60.0, 20.0]}

    hist = cv.historical_clv(small_world.transactions)
    assert list(hist.columns) == [
        "customer_id", "historical_clv", "orders", "first_purchase", "last_purchase",
    ]  # fmt: skip
    assert hist["customer_id"].is_unique
    # every return in the world references an order of the log: total = sum of all lines
    total = small_world.transactions["amount"].sum()
    assert hist["historical_clv"].sum() == pytest.approx(total, rel=1e-9)


def test_plots_return_axes_and_translate():
    values = frame({"a": 50, "b": 30, "c": 10, "d": 5, "e": 5})
    ax = cv.plot_pareto(values, value_col="value", language="zh")
    assert ax.get_title() == "客户价值帕累托曲线"
    mig = cv.tier_migration(values, frame({"a": 5, "b": 30, "f": 1}))
    _, given_ax = plt.subplots()
    ax2 = cv.plot_migration(mig, ax=given_ax, language="zh")
    assert ax2 is given_ax
    assert [tick.get_text() for tick in ax2.get_xticklabels()][-1] == "无消费"
    assert ax2.get_ylabel() == "前一期等级"
    plt.close("all")


def test_errors_say_what_to_fix():
    values = frame({"a": 1.0, "b": 2.0})
    with pytest.raises(ValueError, match="has no column 'historical_clv'"):
        cv.value_tiers(values)
    with pytest.raises(ValueError, match="tiers needs one name more than cutoffs"):
        cv.value_tiers(values, value_col="value", tiers=["A", "B"])
    with pytest.raises(ValueError, match="cutoffs must be increasing shares"):
        cv.value_tiers(values, value_col="value", cutoffs=(0.95, 0.8))
    with pytest.raises(ValueError, match="must be unique .* 'a' appears more than once"):
        cv.value_tiers(pd.concat([values, values]), value_col="value")
    with pytest.raises(ValueError, match="1 customers of values have a missing"):
        cv.value_tiers(frame({"a": np.nan, "b": 1.0}), value_col="value")
    with pytest.raises(ValueError, match="top must be a share in"):
        cv.top_share(values, top=20, value_col="value")
    with pytest.raises(ValueError, match="none_tier='A' must differ"):
        cv.tier_migration(values, values, none_tier="A")
    with pytest.raises(ValueError, match="0 < active_days < at_risk_days"):
        cv.lifecycle_stages(
            pd.DataFrame({"customer_id": [], "first_purchase": [], "last_purchase": []}),
            active_days=200,
        )
    with pytest.raises(ValueError, match="end .* must be after start"):
        cv.period_value(
            pd.DataFrame({"customer_id": [], "ordered_at": [], "amount": []}),
            start="2024-02-01",
            end="2024-01-01",
        )
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        cv.value_tiers([1, 2], value_col="value")


def test_module_doctests():
    import doctest

    assert doctest.testmod(cv).failed == 0


# --------------------------------------------------------- BG/NBD checks (crm_lib.value)


@pytest.fixture(scope="module")
def holdout_fit(small_world):
    from crm_lib import value as clv
    from crm_lib.datasets.world import EXPERIMENT_START_WEEK, START

    campaign = START + pd.Timedelta(weeks=EXPERIMENT_START_WEEK)
    split = clv.calibration_holdout_split(
        small_world.transactions,
        calibration_end=campaign - pd.Timedelta(weeks=10),
        observation_end=campaign,
    )
    return clv.BetaGeoModel().fit(split), split


def test_parameter_table_recovers_the_truth(small_world, holdout_fit):
    from crm_lib.value import plots as clv_plots

    model, _ = holdout_fit
    table = clv_plots.parameter_table(model, small_world.truth.params["bgnbd"])
    assert table["parameter"].tolist() == ["r", "alpha", "a", "b"]
    assert table["covered"].all()  # seed 1: every 95% interval covers the true value
    no_truth = clv_plots.parameter_table(model)
    assert "true_value" not in no_truth
    with pytest.raises(ValueError, match=r"truth has no value for the parameters \['b'\]"):
        clv_plots.parameter_table(model, {"r": 1, "alpha": 1, "a": 1})


def test_holdout_table_totals(holdout_fit):
    from crm_lib.value import plots as clv_plots

    model, split = holdout_fit
    table = clv_plots.holdout_table(model, split, max_frequency=5)
    assert table["frequency_calibration"].tolist() == ["0", "1", "2", "3", "4", "5+"]
    assert table["customers"].sum() == len(split)
    actual = (table["actual_purchases"] * table["customers"]).sum()
    assert actual == pytest.approx(split["frequency_holdout"].sum())
    predicted = model.predict_purchases(float(split["duration_holdout"].iloc[0]), split).sum()
    assert clv_plots.holdout_error(table) == pytest.approx(predicted / actual - 1)
    # the BG/NBD truth holds before the campaign: total error within 10%
    assert abs(clv_plots.holdout_error(table)) < 0.1
    with pytest.raises(ValueError, match="split has no column 'frequency_holdout'"):
        clv_plots.holdout_table(model, split.drop(columns="frequency_holdout"))


def test_clv_plots_return_axes(holdout_fit):
    from crm_lib.value import plots as clv_plots

    model, split = holdout_fit
    ax = clv_plots.plot_holdout(clv_plots.holdout_table(model, split), language="zh")
    assert ax.get_title() == "BG/NBD 模型的验证期检验"
    _, given_ax = plt.subplots()
    ax2 = clv_plots.plot_prob_alive(model, split, ax=given_ax, language="en")
    assert ax2 is given_ax
    assert ax2.get_xlabel() == "Time since last purchase (weeks)"
    assert len(ax2.get_lines()) == 3
    plt.close("all")


def test_segment_table_display_languages():
    from crm_lib.value import rfm as segmentation

    summary = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "frequency": [5, 0, 3, 1],
            "recency": [50.0, 0.0, 10.0, 3.0],
            "T": [52.0, 40.0, 30.0, 4.0],
            "monetary_total": [900.0, 50.0, 400.0, 120.0],
        }
    )
    table = segmentation.segment_table(segmentation.rfm_classes(summary))
    zh = segmentation.segment_table_display(table, "zh")
    assert zh.columns[0] == "细分群体" and zh.iloc[0, 0] == "重要价值客户"
    assert list(zh.columns)[-1] == "处理建议"
    en = segmentation.segment_table_display(table, "en")
    assert en["Segment"].iloc[0] == "Important value"
    assert en["Customers"].sum() == 4
    with pytest.raises(ValueError, match="pass the output of segment_table"):
        segmentation.segment_table_display(table.drop(columns="action_zh"), "en")


def test_bgnbd_truth_in_days(small_world):
    from crm_lib.value import plots as clv_plots

    params = small_world.truth.params
    weeks = clv_plots.bgnbd_truth(params, "W")
    days = clv_plots.bgnbd_truth(params, "D")
    assert weeks == params["bgnbd"]
    # a rate per day is a seventh of the rate per week: alpha (a rate scale) times 7
    assert days["alpha"] == pytest.approx(7 * params["bgnbd"]["alpha"])
    assert days["r"] == weeks["r"] and days["b"] == weeks["b"]
    with pytest.raises(ValueError, match="time_unit='M' is not supported"):
        clv_plots.bgnbd_truth(params, "M")


def test_lifecycle_stages_track_the_true_alive_status(small_world):
    from crm_lib import value as clv

    summary = clv.customer_summary(small_world.transactions)
    stages = cv.lifecycle_stages(summary).merge(
        small_world.truth.customers[["customer_id", "alive_at_end"]], on="customer_id"
    )
    alive = stages.groupby("stage")["alive_at_end"].mean().astype(float)
    # seed 1: active 0.85, at risk 0.35, lapsed 0.07 of customers truly alive at the end
    assert alive["active"] > 0.75
    assert alive["active"] > alive["at_risk"] > alive["lapsed"]
    assert alive["lapsed"] < 0.15
