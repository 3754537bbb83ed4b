"""The funnel study's optional contract tables: checks, vocabularies, World access."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_lib.contract import schemas
from crm_lib.contract.dataset import DatasetConfig, DatasetConfigError
from crm_lib.datasets import World
from crm_lib.datasets.container import MissingTableError


def _opps(**changes) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "opportunity_id": ["D1", "D2"],
            "lead_id": [None, "L1"],
            "account_id": [None, None],
            "source": ["web", "partner"],
            "owner_id": ["U1", "U2"],
            "created_at": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True).as_unit("us"),
            "amount": [100.0, 200.0],
            "currency": ["CNY", "CNY"],
            "stage": ["closed_won", "closed_lost"],
            "is_closed": [True, True],
            "is_won": [True, False],
            "close_at": pd.to_datetime(["2024-02-01", "2024-02-02"], utc=True).as_unit("us"),
            "loss_reason": [None, "price"],
        }
    )
    for col, values in changes.items():
        df[col] = values
    strings = ["opportunity_id", "lead_id", "account_id", "source", "owner_id", "currency"]
    return df.astype({c: "string" for c in [*strings, "stage", "loss_reason"]})


def test_tables_are_registered_and_documented():
    for table in ("leads", "opportunities", "opportunity_stages", "marketing_spend"):
        assert table in schemas.SCHEMAS
        doc = schemas.contract_table(table)
        assert doc["description"].str.len().gt(5).all()
    schemas.validate(_opps(), "opportunities")


def test_a_won_deal_must_be_closed_and_only_lost_deals_have_a_reason():
    with pytest.raises(schemas.ContractError, match="a won deal must be closed"):
        schemas.validate(_opps(is_closed=[False, True]), "opportunities")
    with pytest.raises(schemas.ContractError, match="only a lost deal has a loss_reason"):
        schemas.validate(_opps(loss_reason=["price", "price"]), "opportunities")


def test_sources_follow_the_datasets_vocabulary():
    cfg = DatasetConfig.from_dict(
        {"name": "b2b", "vocabularies": {"opportunities": {"source": ["Web", "Partner"]}}}
    )
    vocab = cfg.vocabulary("opportunities")
    with pytest.raises(schemas.ContractError, match="isin"):
        schemas.validate(_opps(), "opportunities", vocabulary=vocab)
    schemas.validate(_opps(source=["Web", "unknown"]), "opportunities", vocabulary=vocab)
    with pytest.raises(DatasetConfigError, match="not a configurable column"):
        DatasetConfig.from_dict({"name": "x", "vocabularies": {"leads": {"owner_id": ["a"]}}})


def test_world_exposes_optional_tables_and_requires_them():
    w = World.from_tables({"opportunities": _opps()}, truth=None)
    assert len(w.opportunities) == 2 and w.leads is None
    with pytest.raises(MissingTableError, match="needs the table 'leads'"):
        w.require("leads", study="07")


def test_calendar_events_table():
    doc = schemas.contract_table("calendar_events")
    assert doc["description"].str.len().gt(5).all()
    cal = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-11-10 16:00", "2024-06-17 16:00"], utc=True).as_unit(
                "us"
            ),
            "name": pd.Series(["singles_day", "mid_year_sale"], dtype="string"),
            "kind": pd.Series(["promotion", "promotion"], dtype="string"),
        }
    )
    schemas.validate(cal, "calendar_events")
    with pytest.raises(schemas.ContractError, match="isin"):
        schemas.validate(
            cal.assign(kind=pd.Series(["sale", "promotion"], dtype="string")), "calendar_events"
        )
    with pytest.raises(schemas.ContractError):
        schemas.validate(pd.concat([cal, cal.iloc[:1]], ignore_index=True), "calendar_events")
    world = World.from_tables({"calendar_events": cal}, truth=None)
    assert world.calendar_events is cal
