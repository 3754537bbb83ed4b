"""Link survey answers to later behaviour in the transaction log."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from crm_lib.survey.instrument import _require
from crm_lib.survey.metrics import NPS_GROUPS, _z, nps_group, wilson_interval


def repurchase_by_nps_group(
    responses: pd.DataFrame,
    transactions: pd.DataFrame,
    *,
    window_days: float = 90,
    score_col: str = "nps",
    customer_col: str = "customer_id",
    time_col: str = "submitted_at",
    date_col: str = "ordered_at",
    amount_col: str = "amount",
    end: pd.Timestamp | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Share of respondents who buy again within ``window_days`` after answering, by NPS
    group, with Wilson intervals and a test against promoters.

    Parameters
    ----------
    responses : pandas.DataFrame
        Screened responses (one row per response; a customer answering two waves counts
        twice).
    transactions : pandas.DataFrame
        The purchase log; lines with ``amount <= 0`` (returns) are ignored.
    window_days : float
        Length of the window after ``time_col``.
    end : pandas.Timestamp, optional
        End of observation; default the last ``date_col`` in ``transactions``. Responses
        whose window ends after it are left out (their outcome is not yet observed).
    alpha : float

    Returns
    -------
    pandas.DataFrame
        One row per group (``detractor, passive, promoter``): ``nps_group, n,
        n_repurchased, rate, ci_low, ci_high, diff_vs_promoter, p_value_vs_promoter``;
        ``attrs`` hold ``n_censored``, ``n_without_customer``, ``end`` and
        ``window_days``.

    Notes
    -----
    Repurchase: a purchase line strictly after the response time and at most
    ``window_days`` later (observable; no ground truth used). Its complement is a simple
    churn signal. The comparison with promoters is a two-proportion z-test with unpooled
    variance; repeated responses by the same customer make it slightly optimistic.

    References
    ----------
    Reichheld, F. F. (2003). The one number you need to grow. Harvard Business Review.
    Wilson, E. B. (1927). JASA, 22(158), 209-212.
    """
    _require(responses, [score_col, customer_col, time_col], "responses")
    _require(transactions, [customer_col, date_col, amount_col], "transactions")
    if window_days <= 0:
        raise ValueError(f"window_days must be positive, got {window_days}")
    _z(alpha)  # validates alpha
    end = transactions[date_col].max() if end is None else pd.Timestamp(end)
    window = pd.Timedelta(days=window_days)
    r = responses[[customer_col, time_col, score_col]].copy()
    r["nps_group"] = nps_group(r[score_col])
    no_customer = int(r[customer_col].isna().sum())
    r = r.dropna(subset=[customer_col, time_col, "nps_group"])
    censored = r[time_col] + window > end
    r = r.loc[~censored]
    orders = transactions.loc[transactions[amount_col] > 0, [customer_col, date_col]]
    orders = orders.drop_duplicates().sort_values(date_col, kind="stable")
    r = r.sort_values(time_col, kind="stable")
    key = "_customer"
    left = r.assign(**{key: r[customer_col].astype("string"), "_t": r[time_col]})
    right = orders.assign(**{key: orders[customer_col].astype("string"), "_t": orders[date_col]})
    merged = pd.merge_asof(
        left[[key, "_t", "nps_group"]],
        right[[key, "_t", date_col]].rename(columns={date_col: "_next"}),
        on="_t",
        by=key,
        direction="forward",
        allow_exact_matches=False,
    )
    merged["repurchased"] = merged["_next"].notna() & (merged["_next"] <= merged["_t"] + window)
    g = merged.groupby("nps_group")["repurchased"]
    n = g.size().reindex(NPS_GROUPS, fill_value=0)
    k = g.sum().reindex(NPS_GROUPS, fill_value=0)
    out = pd.DataFrame({"nps_group": NPS_GROUPS, "n": n.to_numpy(), "n_repurchased": k.to_numpy()})
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = out["n_repurchased"] / out["n"]
        lo, hi = wilson_interval(out["n_repurchased"], out["n"], alpha)
        p_pro = rate.iloc[-1]
        se = np.sqrt(rate * (1 - rate) / out["n"] + p_pro * (1 - p_pro) / out["n"].iloc[-1])
        diff = rate - p_pro
        zstat = diff / se
    out["rate"], out["ci_low"], out["ci_high"] = rate, lo, hi
    out["diff_vs_promoter"] = diff
    out["p_value_vs_promoter"] = 2 * stats.norm.sf(np.abs(zstat))
    out.loc[out["nps_group"] == "promoter", ["diff_vs_promoter", "p_value_vs_promoter"]] = np.nan
    out.attrs.update(
        n_censored=int(censored.sum()),
        n_without_customer=no_customer,
        end=str(end),
        window_days=window_days,
    )
    return out
