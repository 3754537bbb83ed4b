"""Contract tables of the personalization study (notebook 09).

- ``basket_lines``: one row per item of a shopping basket (basket id, customer, time, item,
  quantity): the input of market-basket rules and of the next-best-product recommender;
- ``customer_profiles``: a customer's birthday (month and day only; the year stays in
  ``customers.birth_year``), for the birthday trigger;
- ``carts``: carts a known customer filled (the abandoned-cart trigger compares them with
  the orders that followed).

Every table is optional: a dataset without them still runs every other study, and
notebook 09 falls back to what the dataset has (the transaction lines' ``product_id`` as
baskets, ``events`` of type ``cart`` as carts) or says which trigger it cannot run.
Registered in :data:`crm_lib.contract.schemas.SCHEMAS` when :mod:`crm_lib.contract` is
imported.
"""

from __future__ import annotations

import pandas as pd

from crm_lib.contract import schemas

pa = schemas.pa


def _valid_day(df: pd.DataFrame) -> pd.Series:
    """Day within the month's length (29 February allowed)."""
    month_len = pd.Series([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], index=range(1, 13))
    month = df["birth_month"].astype("Float64")
    limit = month.map(month_len.to_dict()).astype("Float64")
    day = df["birth_day"].astype("Float64")
    return (day.isna() | month.isna() | (day <= limit)).fillna(True).astype(bool)


BASKET_LINES = pa.DataFrameSchema(
    {
        "basket_id": schemas._id("Basket (receipt, order) key."),
        "customer_id": schemas._id(
            "Customer who bought the basket; missing when anonymous.", nullable=True
        ),
        "purchased_at": schemas._ts("Time of the purchase."),
        "product_id": schemas._id("Item bought (SKU)."),
        "quantity": schemas._col(
            "int64", "Units of the item in the basket.", unit="units", checks=pa.Check.ge(1)
        ),
    },
    unique=["basket_id", "product_id"],
    name="basket_lines",
    strict=True,
)

CUSTOMER_PROFILES = pa.DataFrameSchema(
    {
        "customer_id": schemas._id("Customer key (references customers.customer_id).", unique=True),
        "birth_month": schemas._col(
            "Int64", "Month of birth (1-12); missing when not given.", unit="month",
            pii=True, nullable=True, checks=pa.Check.in_range(1, 12),
        ),
        "birth_day": schemas._col(
            "Int64", "Day of the month of birth (1-31); missing when not given.", unit="day",
            pii=True, nullable=True, checks=pa.Check.in_range(1, 31),
        ),
    },
    checks=[pa.Check(_valid_day, error="birth_day beyond the length of birth_month")],
    name="customer_profiles",
    strict=True,
)  # fmt: skip

CARTS = pa.DataFrameSchema(
    {
        "cart_id": schemas._id("Cart key.", unique=True),
        "customer_id": schemas._id("Customer who filled the cart."),
        "carted_at": schemas._ts("When the last item was put into the cart."),
        "value": schemas._col(
            "float64", "Value of the cart; missing when not known.", unit="currency",
            nullable=True, checks=pa.Check.ge(0),
        ),
    },
    name="carts",
    strict=True,
)  # fmt: skip

for _schema in (BASKET_LINES, CUSTOMER_PROFILES, CARTS):
    schemas.SCHEMAS.setdefault(_schema.name, _schema)
