"""Optional contract tables of the funnel, pipeline and KPI study (notebook 07).

Five tables a CRM system (Salesforce, Zoho CRM, HubSpot ...) or a marketing team exports:

- ``leads``: one row per lead: when it came in, from which source, which sales rep owns
  it, when the rep first responded, and when (if) it became an opportunity;
- ``opportunities``: one row per deal: source, owner, amount, current stage, whether it
  is closed and won, the (actual or expected) close date and the loss reason;
- ``opportunity_stages``: the stage history, one row per stage a deal entered, with the
  time it entered it (Salesforce's ``OpportunityHistory``);
- ``marketing_spend``: money spent per marketing channel and week (for CAC);
- ``calendar_events``: the business calendar, one row per date of a holiday or promotion
  (e.g. Singles' Day, a summer sale), used as regressors of the revenue forecast.

All five are optional: a dataset with only transactions runs the KPI and forecast parts
of the study, and says which part needs which table. The source of a lead or a deal and
the channel of spend are descriptive columns whose allowed values a dataset declares in
``dataset.yml`` (``vocabularies: {leads: {source: [...]}}``), as for the core tables.

Importing this module registers the tables in :data:`crm_lib.contract.schemas.SCHEMAS`
and their configurable columns in
:data:`crm_lib.contract.dataset.CONFIGURABLE_COLUMNS`.
"""

from __future__ import annotations

import pandas as pd

from crm_lib.contract import schemas
from crm_lib.contract.dataset import CONFIGURABLE_COLUMNS
from crm_lib.contract.schemas import _col, _descriptive, _id, _ts, pa

__all__ = [
    "CALENDAR_EVENTS",
    "CALENDAR_KINDS",
    "LEADS",
    "LEAD_SOURCES",
    "LOSS_REASONS",
    "MARKETING_SPEND",
    "OPPORTUNITIES",
    "OPPORTUNITY_STAGES",
    "PIPELINE_STAGES",
]

LEAD_SOURCES = ["web", "referral", "partner", "trade_show", "outbound"]
"""Lead sources of the simulated world (a dataset declares its own)."""

PIPELINE_STAGES = ["qualification", "needs_analysis", "proposal", "negotiation"]
"""Open stages of the simulated world's sales process, in order (a dataset has its own)."""

CLOSED_STAGES = ["closed_won", "closed_lost"]

LOSS_REASONS = ["no_budget", "competitor", "price", "no_decision", "timing"]
"""Loss reasons of the simulated world."""


def _won_is_closed(df: pd.DataFrame) -> pd.Series:
    return ~df["is_won"] | df["is_closed"]


def _loss_reason_only_when_lost(df: pd.DataFrame) -> pd.Series:
    lost = df["is_closed"] & ~df["is_won"]
    return lost | df["loss_reason"].isna()


def _converted_after_created(df: pd.DataFrame) -> pd.Series:
    return df["converted_at"].isna() | (df["converted_at"] >= df["created_at"])


def _response_after_created(df: pd.DataFrame) -> pd.Series:
    return df["first_response_at"].isna() | (df["first_response_at"] >= df["created_at"])


LEADS = pa.DataFrameSchema(
    {
        "lead_id": _id("Lead key.", unique=True),
        "created_at": _ts("When the lead came in."),
        "source": _descriptive("Where the lead came from (Salesforce LeadSource).", LEAD_SOURCES),
        "owner_id": _id("Sales rep who owns the lead; missing if unassigned.", nullable=True),
        "first_response_at": _ts(
            "First contact by the sales team; missing if never contacted.", nullable=True
        ),
        "company_size": _col(
            "Int64",
            "Employees of the lead's company; missing when unknown.",
            unit="employees",
            nullable=True,
            checks=pa.Check.ge(0),
        ),
        "converted_at": _ts(
            "When the lead became an opportunity; missing if it has not.", nullable=True
        ),
        "opportunity_id": _id("The opportunity it became (if any).", nullable=True),
    },
    checks=[
        pa.Check(_converted_after_created, error="converted_at must not precede created_at"),
        pa.Check(_response_after_created, error="first_response_at must not precede created_at"),
    ],
    name="leads",
    strict=True,
)

OPPORTUNITIES = pa.DataFrameSchema(
    {
        "opportunity_id": _id("Opportunity (deal) key.", unique=True),
        "lead_id": _id("The lead it came from, when known.", nullable=True),
        "account_id": _id("The customer account, when known.", nullable=True),
        "source": _descriptive("Source of the deal (Salesforce LeadSource).", LEAD_SOURCES),
        "owner_id": _id("Sales rep who owns the deal."),
        "created_at": _ts("When the opportunity was created."),
        "amount": _col(
            "float64",
            "Deal value (expected for open deals, booked for won deals).",
            unit="currency (see currency column)",
            checks=pa.Check.ge(0),
        ),
        "currency": _col(
            "string", "ISO-4217 currency code.", checks=pa.Check.str_matches(r"^[A-Z]{3}$")
        ),
        "stage": _col(
            "string",
            "Current stage (any stage name of the dataset's sales process).",
            checks=pa.Check.str_length(1, 64),
        ),
        "is_closed": _col("bool", "The deal is closed (won or lost)."),
        "is_won": _col("bool", "The deal is closed and won."),
        "close_at": _ts(
            "Close date: actual for a closed deal, expected for an open one (Salesforce "
            "CloseDate).",
            nullable=True,
        ),
        "loss_reason": _col(
            "string", "Why a lost deal was lost; missing otherwise.", nullable=True
        ),
    },
    checks=[
        pa.Check(_won_is_closed, error="a won deal must be closed"),
        pa.Check(_loss_reason_only_when_lost, error="only a lost deal has a loss_reason"),
    ],
    name="opportunities",
    strict=True,
)

OPPORTUNITY_STAGES = pa.DataFrameSchema(
    {
        "opportunity_id": _id("The deal (references opportunities.opportunity_id)."),
        "stage": _col("string", "Stage the deal entered.", checks=pa.Check.str_length(1, 64)),
        "entered_at": _ts("When the deal entered the stage."),
    },
    unique=["opportunity_id", "stage", "entered_at"],
    name="opportunity_stages",
    strict=True,
)

MARKETING_SPEND = pa.DataFrameSchema(
    {
        "channel": _descriptive("Marketing channel.", schemas.MARKETING_CHANNELS),
        "week_start": _ts("Start of the week the money was spent in."),
        "amount": _col(
            "float64", "Money spent.", unit="currency (see currency column)", checks=pa.Check.ge(0)
        ),
        "currency": _col(
            "string", "ISO-4217 currency code.", checks=pa.Check.str_matches(r"^[A-Z]{3}$")
        ),
    },
    unique=["channel", "week_start"],
    name="marketing_spend",
    strict=True,
)

CALENDAR_KINDS = ["holiday", "promotion"]
"""Kinds of calendar events: a public holiday, or the business's own promotion."""

CALENDAR_EVENTS = pa.DataFrameSchema(
    {
        "date": _ts(
            "The day of the event: its local midnight (in the dataset's time zone), stored in "
            "UTC like every timestamp."
        ),
        "name": _col(
            "string",
            "Event name, the same for every year (e.g. singles_day); one forecast regressor "
            "per name.",
            checks=pa.Check.str_length(1, 64),
        ),
        "kind": _col("string", "holiday or promotion.", checks=pa.Check.isin(CALENDAR_KINDS)),
    },
    unique=["date", "name"],
    name="calendar_events",
    strict=True,
)

for _schema in (LEADS, OPPORTUNITIES, OPPORTUNITY_STAGES, MARKETING_SPEND, CALENDAR_EVENTS):
    schemas.SCHEMAS.setdefault(_schema.name, _schema)
CONFIGURABLE_COLUMNS.setdefault("leads", ("source",))
CONFIGURABLE_COLUMNS.setdefault("opportunities", ("source",))
CONFIGURABLE_COLUMNS.setdefault("marketing_spend", ("channel",))
