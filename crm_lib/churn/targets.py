"""The retention campaign: whom to contact, ranked by value at risk, with a hold-out.

``expected_value_saved = P(churn) x predicted value``: the revenue a perfect intervention
would keep. Only customers who gave marketing consent are listed; ids are replaced by keyed
pseudonyms (:func:`crm_lib.intake.privacy.pseudonymize`), and a random share is held out
(not contacted) so that the campaign's effect can be measured as the difference in churn
between contacted and held-out customers (analyse it with ``crm_lib.experiments``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crm_lib.intake.privacy import consent_flags, pseudonymize

__all__ = ["retention_targets"]


def retention_targets(
    scores: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    key: str | bytes,
    churn_col: str = "churn_probability",
    value_col: str = "predicted_value",
    customer_col: str = "customer_id",
    top: int | None = None,
    holdout_share: float = 0.2,
    random_state: Any = 0,
) -> pd.DataFrame:
    """Rank consenting customers by expected value saved and draw a random hold-out.

    Parameters
    ----------
    scores : pandas.DataFrame
        ``customer_id``, the churn probability and the predicted value per customer.
    customers : pandas.DataFrame
        The contract table ``customers`` (``marketing_consent``).
    key : str or bytes
        Pseudonymisation key (:func:`crm_lib.intake.privacy.configured_key`).
    top : int, optional
        Keep the ``top`` customers by expected value saved (default all).
    holdout_share : float
        Share of the list drawn at random (seeded) into the hold-out group.

    Returns
    -------
    pandas.DataFrame
        ``rank, customer`` (pseudonym), ``churn_probability, predicted_value,
        expected_value_saved, group`` (``contact`` or ``holdout``).
    """
    if not 0 <= holdout_share < 1:
        raise ValueError(f"holdout_share must be in [0, 1), got {holdout_share}")
    for c in (customer_col, churn_col, value_col):
        if c not in scores.columns:
            raise ValueError(f"scores has no column {c!r}")
    flags = consent_flags(customers, customer_col=customer_col)
    allowed = set(flags.loc[flags["may_contact"], customer_col].astype(str))
    s = scores[scores[customer_col].astype(str).isin(allowed)].copy()
    s["expected_value_saved"] = s[churn_col].astype(float) * s[value_col].astype(float).clip(
        lower=0
    )
    s = s.sort_values(["expected_value_saved", customer_col], ascending=[False, True])
    if top is not None:
        s = s.head(top)
    s = pseudonymize(s[[customer_col, churn_col, value_col, "expected_value_saved"]],
                     customer_col, key=key, normalize=False)  # fmt: skip
    rng = np.random.default_rng(random_state)
    n = len(s)
    holdout = np.zeros(n, dtype=bool)
    holdout[rng.permutation(n)[: int(round(holdout_share * n))]] = True
    return pd.DataFrame(
        {
            "rank": np.arange(1, n + 1),
            "customer": s[customer_col].to_numpy(),
            "churn_probability": s[churn_col].to_numpy(dtype=float),
            "predicted_value": s[value_col].to_numpy(dtype=float),
            "expected_value_saved": s["expected_value_saved"].to_numpy(dtype=float),
            "group": np.where(holdout, "holdout", "contact"),
        }
    )
