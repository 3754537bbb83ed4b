"""KPIs against tables worked by hand on a small log (periods in the dataset's zone)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_lib.funnel import kpis

TZ = "America/New_York"


def _ts(values):
    return pd.to_datetime(values, utc=True).as_unit("us")


@pytest.fixture()
def log():
    tx = pd.DataFrame(
        {
            "order_id": ["O1", "O1", "O2", "O3", "O4", "R1", "O5", "O6"],
            "line_no": [1, 2, 1, 1, 1, 1, 1, 1],
            "customer_id": ["x", "x", "y", "x", "x", "x", "z", "y"],
            "ordered_at": _ts(
                [
                    "2024-01-10 15:00",
                    "2024-01-10 15:00",
                    "2024-02-01 03:00",  # 2024-01-31 22:00 in New York: January
                    "2024-02-15 12:00",
                    "2024-02-20 12:00",
                    "2024-03-01 04:00",  # 2024-02-29 23:00 in New York: February
                    "2024-03-05 12:00",
                    "2024-03-06 12:00",
                ]
            ),
            "amount": [10.0, 5.0, 20.0, 30.0, 10.0, -30.0, 40.0, 50.0],
            "original_order_id": [None, None, None, None, None, "O3", None, None],
        }
    ).astype({"order_id": "str", "customer_id": "str", "original_order_id": "str"})
    spend = pd.DataFrame(
        {
            "channel": ["search", "search", "search"],
            "week_start": _ts(["2024-01-01 05:00", "2024-02-26 05:00", "2024-03-04 05:00"]),
            "amount": [100.0, 50.0, 30.0],
        }
    )
    leads = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3"],
            "created_at": _ts(["2024-01-05 15:00", "2024-02-01 04:30", "2024-02-10 15:00"]),
            "opportunity_id": ["D1", "D2", None],
        }
    )
    opps = pd.DataFrame({"opportunity_id": ["D1", "D2"], "is_won": [True, False]})
    survey = pd.DataFrame(
        {
            "started_at": _ts(["2024-01-03", "2024-01-04", "2024-01-05", "2024-02-03"]),
            "submitted_at": _ts(["2024-01-03", "2024-01-04", "2024-01-05", "2024-02-03"]),
            "nps": pd.array([10, 9, 3, 6], dtype="Int64"),
            "csat": pd.array([5, 4, 2, 3], dtype="Int64"),
        }
    )
    return tx, spend, leads, opps, survey


# Hand-worked: periods are New York months; January holds O1, O2; February O3, O4 and the
# return R1; March O5, O6.
EXPECTED = {
    "revenue": [35.0, 10.0, 90.0],
    "orders": [2, 2, 2],
    "active_customers": [2, 1, 2],
    "new_customers": [2, 0, 1],  # February: x again, nobody new (CAC undefined, not 0)
    "retention_rate": [np.nan, 0.5, 0.0],
    "churn_rate": [np.nan, 0.5, 1.0],
    "repurchase_rate": [0.0, 1.0, 0.0],
    "aov": [17.5, 20.0, 45.0],
    "purchase_frequency": [1.0, 2.0, 1.0],
    "revenue_per_customer": [17.5, 10.0, 45.0],
    "marketing_spend": [100.0, 50.0, 30.0],
    "cac": [50.0, np.nan, 30.0],
    "lead_to_customer_rate": [0.5, 0.0, np.nan],
    "nps": [100 * (2 - 1) / 3, -100.0, np.nan],
    "csat": [2 / 3, 0.0, np.nan],
}


def test_kpis_equal_hand_computed_table(log):
    tx, spend, leads, opps, survey = log
    t = kpis.kpi_table(
        tx,
        period="M",
        tz=TZ,
        marketing_spend=spend,
        leads=leads,
        opportunities=opps,
        survey_responses=survey,
    )
    wide = t.pivot(index="period", columns="kpi", values="value")
    assert wide.index.strftime("%Y-%m").tolist() == ["2024-01", "2024-02", "2024-03"]
    for kpi, expected in EXPECTED.items():
        np.testing.assert_allclose(wide[kpi].to_numpy(dtype=float), expected, err_msg=kpi)
    assert set(wide.columns) <= set(kpis.KPI_DEFINITIONS)


def test_periods_in_utc_would_differ(log):
    tx = log[0]
    t = kpis.kpi_table(tx, period="M", tz="UTC")
    wide = t.pivot(index="period", columns="kpi", values="value")
    # in UTC, O2 falls in February and the return in March
    assert wide["revenue"].tolist() == [15.0, 60.0, 60.0]


def test_kpi_changes_use_the_stated_tests(log):
    from statsmodels.stats.proportion import proportions_ztest
    from statsmodels.stats.rates import test_poisson_2indep

    tx = log[0]
    ch = kpis.kpi_changes(kpis.kpi_table(tx, period="M", tz=TZ)).set_index(["kpi", "period"])
    mar = pd.Timestamp("2024-03-01")
    row = ch.loc[("retention_rate", mar)]
    assert row["change"] == pytest.approx(-0.5)
    assert row["p_value"] == pytest.approx(proportions_ztest([0, 1], [1, 2])[1])
    row = ch.loc[("active_customers", mar)]
    expected = test_poisson_2indep(2, 1, 1, 1, method="exact-cond").pvalue
    assert row["p_value"] == pytest.approx(expected)
    assert not ch["beyond_noise"].any()  # three customers: nothing is beyond noise


def test_definitions_in_both_languages():
    en = kpis.kpi_definitions("en")
    zh = kpis.kpi_definitions("zh")
    assert en["kpi"].tolist() == zh["kpi"].tolist()
    assert en["definition"].str.len().gt(10).all()
    assert zh["definition"].str.len().gt(5).all()


def test_historical_clv_by_hand(log):
    tx = log[0]
    # 1-month value of customers first seen a month before the last order (x, y)
    out = kpis.historical_clv(tx, months=1)
    # x: first 2024-01-10, window to 2024-02-10: 15; y: first 2024-02-01, to 2024-03-01: 20
    assert out == {"clv": pytest.approx(17.5), "customers": 2}


def test_kpis_by_group_are_the_kpis_of_each_group(log):
    tx = log[0]
    customers = pd.DataFrame({"customer_id": ["x", "y", "z"], "region": ["n", "s", "s"]})
    by = kpis.kpi_by_group(tx, customers, group_col="region", period="M", tz=TZ)
    south = by[by["region"] == "s"].pivot(index="period", columns="kpi", values="value")
    # customers y and z: January O2 (20), February nothing, March O5 (40) and O6 (50)
    assert south["revenue"].tolist() == [20.0, 90.0]
    assert south["active_customers"].tolist() == [1, 2]
    total = by.pivot_table(index="period", columns="kpi", values="value", aggfunc="sum")
    assert total["active_customers"].tolist() == [2, 1, 2]
    with pytest.raises(ValueError, match="not a column of customers"):
        kpis.kpi_by_group(tx, customers, group_col="segment")
