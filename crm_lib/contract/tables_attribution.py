"""Contract table of the attribution study (notebook 08): ``touchpoints``.

One row per marketing touch of a known customer: an ad click, an e-mail click, a visit
from a search result or a referral link. The table is optional: a dataset without it
still runs every other study, and notebook 08 says what is missing.

``channel`` is a configurable vocabulary column (``dataset.yml``: ``vocabularies:
touchpoints: channel: [...]``), as ``events.channel`` is; the simulated world uses the
contract's marketing channels. Registered in :data:`crm_lib.contract.schemas.SCHEMAS`
when :mod:`crm_lib.contract` is imported.
"""

from __future__ import annotations

from crm_lib.contract import dataset, schemas

pa = schemas.pa

TOUCHPOINTS = pa.DataFrameSchema(
    {
        "customer_id": schemas._id("Customer touched (references customers.customer_id)."),
        "touched_at": schemas._ts("Time of the touch (click, open, visit)."),
        "channel": schemas._col(
            "string",
            "Marketing channel of the touch.",
            checks=[
                pa.Check.isin(schemas.MARKETING_CHANNELS),
                pa.Check(lambda s: ~s.str.contains(">", regex=False), error="no '>' in channel"),
            ],
        ),
        "campaign": schemas._col(
            "string", "Campaign of the touch; missing when not known.", nullable=True
        ),
        "cost": schemas._col(
            "float64",
            "Media cost of the touch; missing when not known.",
            unit="currency (dataset.yml currency)",
            nullable=True,
            checks=pa.Check.ge(0),
        ),
    },
    name="touchpoints",
    strict=True,
)

schemas.SCHEMAS.setdefault("touchpoints", TOUCHPOINTS)
dataset.CONFIGURABLE_COLUMNS.setdefault("touchpoints", ("channel",))
