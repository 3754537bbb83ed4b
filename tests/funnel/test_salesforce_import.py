"""A hand-written Salesforce Opportunity export, imported with the shipped mappings."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_lib.datasets import load_dataset
from crm_lib.funnel import pipeline as pl
from crm_lib.intake.dataset_import import import_file

OPPORTUNITIES = """Id,AccountId,Name,StageName,Amount,CloseDate,IsClosed,IsWon,LeadSource,OwnerId,CreatedDate,Probability,ForecastCategory,Loss_Reason__c
0061a000001AAAAAA1,0011a000001XXXXXX1,Acme - 50 seats,Closed Won,50000,2024-03-20,true,true,Web,0051a000000OWNER1,2024-02-01T02:00:00.000Z,100,Closed,
0061a000001AAAAAA2,0011a000001XXXXXX2,Globex renewal,Closed Lost,12000.5,2024-03-01,true,false,Partner Referral,0051a000000OWNER1,2024-02-10T09:30:00.000Z,0,Omitted,competitor
0061a000001AAAAAA3,,Initech pilot,Proposal/Price Quote,8000,2024-06-30,false,false,Trade Show,0051a000000OWNER2,2024-04-02T01:15:00.000Z,60,Pipeline,
0061a000001AAAAAA4,0011a000001XXXXXX4,Umbrella,Closed Won,30000,2024-04-15,true,true,,0051a000000OWNER2,2024-03-01T00:00:00.000Z,100,Closed,
"""

HISTORY = """OpportunityId,StageName,CreatedDate,Amount,CloseDate,Probability,ForecastCategory
0061a000001AAAAAA1,Prospecting,2024-02-01T02:00:00.000Z,50000,2024-04-30,10,Pipeline
0061a000001AAAAAA1,Proposal/Price Quote,2024-02-20T02:00:00.000Z,50000,2024-04-30,60,Pipeline
0061a000001AAAAAA1,Proposal/Price Quote,2024-03-01T02:00:00.000Z,52000,2024-04-30,60,Pipeline
0061a000001AAAAAA1,Closed Won,2024-03-20T02:00:00.000Z,50000,2024-03-20,100,Closed
0061a000001AAAAAA2,Prospecting,2024-02-10T09:30:00.000Z,12000.5,2024-05-01,10,Pipeline
0061a000001AAAAAA2,Closed Lost,2024-03-01T03:00:00.000Z,12000.5,2024-03-01,0,Omitted
0061a000001AAAAAA3,Prospecting,2024-04-02T01:15:00.000Z,8000,2024-06-30,10,Pipeline
0061a000001AAAAAA3,Proposal/Price Quote,2024-04-20T01:15:00.000Z,8000,2024-06-30,60,Pipeline
0061a000001AAAAAA4,Prospecting,2024-03-01T00:00:00.000Z,30000,2024-04-15,10,Pipeline
0061a000001AAAAAA4,Closed Won,2024-04-15T00:00:00.000Z,30000,2024-04-15,100,Closed
"""


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sf")
    (tmp / "Opportunity.csv").write_text(OPPORTUNITIES, encoding="utf-8")
    (tmp / "OpportunityHistory.csv").write_text(HISTORY, encoding="utf-8")
    out = tmp / "dataset"
    import_file(tmp / "Opportunity.csv", "salesforce_opportunities", out, name="sf demo")
    import_file(tmp / "OpportunityHistory.csv", "salesforce_opportunity_history", out)
    return load_dataset(out)


def test_opportunity_export_maps_to_the_contract(dataset):
    o = dataset.opportunities.set_index("opportunity_id")
    assert len(o) == 4
    assert dataset.transactions is None and dataset.truth is None
    assert o["source"].tolist() == ["web", "partner", "trade_show", "unknown"]
    assert o["is_won"].tolist() == [True, False, False, True]
    assert o["is_closed"].tolist() == [True, True, False, True]
    assert o.loc["0061a000001AAAAAA2", "amount"] == 12000.5
    assert o.loc["0061a000001AAAAAA2", "loss_reason"] == "competitor"
    assert pd.isna(o.loc["0061a000001AAAAAA1", "loss_reason"])
    assert pd.isna(o.loc["0061a000001AAAAAA3", "account_id"])
    # CreatedDate is UTC; CloseDate a local (Asia/Shanghai) date
    assert o.loc["0061a000001AAAAAA1", "created_at"] == pd.Timestamp("2024-02-01 02:00", tz="UTC")
    assert o.loc["0061a000001AAAAAA1", "close_at"] == pd.Timestamp("2024-03-19 16:00", tz="UTC")


def test_the_study_runs_on_the_import(dataset):
    o, h = dataset.opportunities, dataset.opportunity_stages
    assert pl.stage_order(h) == ["Prospecting", "Proposal/Price Quote"]
    conv = pl.stage_conversion(h, o).set_index("stage")
    # Prospecting: all four reached; left: 1 (moved), 2 (lost), 3 (moved), 4 (won, skipped)
    assert conv.loc["Prospecting", ["reached", "left", "moved_on"]].tolist() == [4, 4, 3]
    # Proposal: reached by 1, 3 and 4 (won, so passed it); left by 1 and 4; 3 is open
    assert conv.loc["Proposal/Price Quote", ["reached", "left", "moved_on"]].tolist() == [3, 2, 2]
    rates = pl.win_rates(o).set_index("owner_id")
    assert rates.loc["0051a000000OWNER1", ["closed", "won"]].tolist() == [2, 1]
    cyc = pl.cycle_survival(o)["table"].set_index("method")
    assert cyc.loc["kaplan_meier", "n_censored"] == 1
