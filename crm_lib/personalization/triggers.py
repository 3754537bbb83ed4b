"""Marketing-automation trigger lists: whom to contact today, and a hold-out to measure it.

Each rule reads the warehouse tables and returns its candidates, one row per customer:
``customer_id, trigger, detail`` (a short reason, e.g. days since the last order). Then
:func:`contact_lists` applies the one gate every list passes:

1. **consent**: only customers with ``marketing_consent`` true (missing counts as
   refused, :func:`crm_lib.intake.privacy.consent_flags`);
2. **priority**: a customer matched by several rules gets only the first in ``priority``;
3. **hold-out**: within each trigger a random ``holdout_share`` is kept out of the send
   (``group = "holdout"``), so the trigger's effect is a randomised comparison that the
   A/B study (notebook 04) can analyse.

:func:`dry_run` counts, per rule, how many customers each step keeps;
:func:`export_contact_list` writes the list with pseudonymised ids (CSV or Excel).

All times are compared as instants; calendar days (birthdays) are those of the
business's time zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "CANDIDATE_COLUMNS",
    "TRIGGERS",
    "abandoned_carts",
    "birthdays",
    "contact_lists",
    "dry_run",
    "export_contact_list",
    "lapsing",
    "nurture",
    "order_times",
    "trigger_summary",
    "win_back",
]

TRIGGERS = ("abandoned_cart", "lapsing", "win_back", "birthday", "nurture")
"""The rules, in the default priority (first wins)."""

CANDIDATE_COLUMNS = ["customer_id", "trigger", "detail"]
_DAY = pd.Timedelta(days=1)


def _as_of(as_of) -> pd.Timestamp:
    ts = pd.Timestamp(as_of)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts


def _candidates(ids, trigger: str, detail) -> pd.DataFrame:
    ids = pd.Series(np.asarray(ids, dtype=object), dtype="string")
    out = pd.DataFrame(
        {"customer_id": ids, "trigger": trigger, "detail": pd.Series(detail, dtype="string")}
    )
    return out.sort_values("customer_id", kind="stable").reset_index(drop=True)


def order_times(
    transactions: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    date_col: str = "ordered_at",
    order_col: str | None = "order_id",
    amount_col: str | None = "amount",
) -> pd.DataFrame:
    """One row per purchase: ``customer_id, ordered_at`` (sale lines only, returns left out).

    A return (negative amount) is not a purchase; an order of several lines is one
    purchase at its first line's time. Without ``order_col`` every distinct time of a
    customer is one purchase.
    """
    d = transactions
    if amount_col is not None and amount_col in d:
        d = d[d[amount_col] > 0]
    d = d[d[customer_col].notna() & d[date_col].notna()]
    key = [customer_col, order_col] if order_col is not None else [customer_col, date_col]
    out = d.groupby(key, sort=False)[date_col].min().reset_index()
    out = out.rename(columns={customer_col: "customer_id", date_col: "ordered_at"})
    return out[["customer_id", "ordered_at"]]


def win_back(
    orders: pd.DataFrame, *, as_of, lapsed_days: int = 180, max_days: int | None = None
) -> pd.DataFrame:
    """Customers whose last purchase was at least ``lapsed_days`` days before ``as_of``.

    Parameters
    ----------
    orders : pandas.DataFrame
        ``customer_id, ordered_at`` (:func:`order_times`); purchases after ``as_of`` are
        ignored (a list is what was known that day).
    lapsed_days : int
        Whole days since the last purchase from which a customer is lapsed.
    max_days : int, optional
        Leave out customers lapsed this long or longer (long gone; not worth a contact).
    """
    t = _as_of(as_of)
    o = orders[orders["ordered_at"] <= t]
    last = o.groupby("customer_id")["ordered_at"].max()
    days = np.floor((t - last) / _DAY).astype(np.int64)
    keep = days >= lapsed_days
    if max_days is not None:
        keep &= days < max_days
    days = days[keep]
    return _candidates(days.index, "win_back", [f"days_since_last={d}" for d in days])


def lapsing(
    p_alive: pd.DataFrame,
    *,
    threshold: float = 0.5,
    orders: pd.DataFrame | None = None,
    as_of=None,
    within_days: int | None = None,
) -> pd.DataFrame:
    """Customers whose probability of still being active fell below ``threshold``.

    Parameters
    ----------
    p_alive : pandas.DataFrame
        ``customer_id, p_alive``, e.g. :meth:`crm_lib.value.BetaGeoModel.prob_alive` on
        the customer summary as of today. (Under the BG/NBD a customer with no repeat
        purchase has ``P(alive) = 1``, so only repeat buyers can be lapsing; the win-back
        rule covers the others.)
    threshold : float
        In (0, 1).
    orders, as_of, within_days : optional
        With all three: only customers whose last purchase (:func:`order_times`, as of
        ``as_of``) is fewer than ``within_days`` days ago, i.e. still active by the
        win-back rule's clock; the model flags them before the clock does.
    """
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    d = p_alive[p_alive["p_alive"] < threshold]
    if within_days is not None:
        if orders is None or as_of is None:
            raise ValueError("within_days needs orders= and as_of=")
        t = _as_of(as_of)
        last = orders[orders["ordered_at"] <= t].groupby("customer_id")["ordered_at"].max()
        days = np.floor((t - d["customer_id"].map(last)) / _DAY)
        d = d[days.notna() & (days < within_days)]
    return _candidates(d["customer_id"], "lapsing", [f"p_alive={v:.2f}" for v in d["p_alive"]])


def birthdays(
    profiles: pd.DataFrame, *, as_of, days_ahead: int = 7, timezone: str = "UTC"
) -> pd.DataFrame:
    """Customers whose birthday falls in the ``days_ahead`` days from ``as_of`` (local dates).

    Parameters
    ----------
    profiles : pandas.DataFrame
        ``customer_id, birth_month, birth_day`` (contract table ``customer_profiles``).
    days_ahead : int
        Days covered, today included (1: birthdays today; 7: this week's list).
    timezone : str
        The business's time zone: ``as_of`` is turned into a local date there.

    Notes
    -----
    A birthday on 29 February is celebrated on 28 February in a common year.
    """
    if days_ahead < 1:
        raise ValueError(f"days_ahead must be at least 1, got {days_ahead}")
    today = _as_of(as_of).tz_convert(timezone).normalize().tz_localize(None)
    dates = pd.date_range(today, periods=days_ahead, freq="D")
    leap = dates.is_leap_year
    month = profiles["birth_month"].astype("Int64")
    day = profiles["birth_day"].astype("Int64")
    ok = month.notna() & day.notna()
    p = profiles[ok]
    m, d = month[ok].to_numpy(np.int64), day[ok].to_numpy(np.int64)
    found = np.zeros(len(p), dtype=bool)
    when = np.full(len(p), "", dtype=object)
    for date, is_leap in zip(dates, leap, strict=True):
        dm, dd = date.month, date.day
        hit = (m == dm) & (d == dd)
        if not is_leap and dm == 2 and dd == 28:
            hit |= (m == 2) & (d == 29)
        new = hit & ~found
        when[new] = date.strftime("%Y-%m-%d")
        found |= hit
    return _candidates(
        p["customer_id"].to_numpy(object)[found], "birthday", [f"on={w}" for w in when[found]]
    )


def abandoned_carts(
    carts: pd.DataFrame,
    orders: pd.DataFrame,
    *,
    as_of,
    lookback_days: float = 3,
    wait_hours: float = 24,
    time_col: str = "carted_at",
) -> pd.DataFrame:
    """Customers with a cart of the last days not followed by a purchase.

    Parameters
    ----------
    carts : pandas.DataFrame
        ``customer_id`` and ``time_col``: the ``carts`` table, or ``events`` rows of type
        ``cart`` with ``time_col="occurred_at"``.
    orders : pandas.DataFrame
        ``customer_id, ordered_at`` (:func:`order_times`, with purchase events added when
        the dataset logs purchases there).
    lookback_days : float
        Carts from ``as_of - lookback_days`` on are considered.
    wait_hours : float
        A cart is abandoned only when at least this old (the customer may still buy).

    Notes
    -----
    Abandoned: no purchase of the customer after the cart up to ``as_of``. A customer
    with several such carts appears once, with the latest.
    """
    t = _as_of(as_of)
    c = carts[["customer_id", time_col]].dropna()
    c = c[
        (c[time_col] >= t - lookback_days * _DAY)
        & (c[time_col] <= t - pd.Timedelta(hours=wait_hours))
    ]
    o = orders[orders["ordered_at"] <= t]
    last = o.groupby("customer_id")["ordered_at"].max()
    after = c["customer_id"].map(last)
    c = c[after.isna() | (after <= c[time_col])]
    c = c.sort_values(time_col).groupby("customer_id").tail(1)
    hours = np.floor((t - c[time_col]) / pd.Timedelta(hours=1)).astype(np.int64)
    return _candidates(c["customer_id"], "abandoned_cart", [f"hours_ago={h}" for h in hours])


def nurture(orders: pd.DataFrame, *, as_of, days: int = 30, window_days: int = 7) -> pd.DataFrame:
    """New customers whose first purchase was ``days`` days ago and who have not bought again.

    The first purchase lies in ``(as_of - (days + window_days) days, as_of - days days]``
    (``window_days`` = how often the list is sent; 1 for a daily list) and the customer
    has no second purchase up to ``as_of``.
    """
    t = _as_of(as_of)
    o = orders[orders["ordered_at"] <= t]
    g = o.groupby("customer_id")["ordered_at"]
    first, n = g.min(), g.size()
    keep = (n == 1) & (first <= t - days * _DAY) & (first > t - (days + window_days) * _DAY)
    age = np.floor((t - first[keep]) / _DAY).astype(np.int64)
    return _candidates(age.index, "nurture", [f"days_since_first={a}" for a in age])


def _gate(
    candidates: Sequence[pd.DataFrame] | pd.DataFrame,
    customers: pd.DataFrame,
    priority: Sequence[str],
    consent_col: str,
):
    from crm_lib.intake.privacy import consent_flags

    frames = [candidates] if isinstance(candidates, pd.DataFrame) else list(candidates)
    allc = pd.concat([f[CANDIDATE_COLUMNS] for f in frames], ignore_index=True)
    unknown = sorted(set(allc["trigger"]) - set(priority))
    if unknown:
        raise ValueError(f"triggers {unknown} are not in priority {list(priority)}")
    rank = {name: i for i, name in enumerate(priority)}
    allc["priority"] = allc["trigger"].map(rank).astype(np.int64)
    allc = allc.drop_duplicates(["customer_id", "trigger"])
    flags = consent_flags(customers, customer_col="customer_id", consent_col=consent_col)
    allowed = flags.loc[flags["may_contact"].to_numpy(bool), "customer_id"]
    allc["consent"] = allc["customer_id"].isin(allowed).to_numpy(bool)
    return allc


def contact_lists(
    candidates: Sequence[pd.DataFrame] | pd.DataFrame,
    customers: pd.DataFrame,
    *,
    priority: Sequence[str] = TRIGGERS,
    holdout_share: float = 0.1,
    consent_col: str = "marketing_consent",
    random_state: int | None = 0,
) -> pd.DataFrame:
    """Today's contact list: consenting customers, one trigger each, with a hold-out group.

    Parameters
    ----------
    candidates : DataFrame or list of DataFrame
        Outputs of the rules (``customer_id, trigger, detail``).
    customers : pandas.DataFrame
        ``customer_id`` and ``consent_col``; a customer not in it is never contacted.
    priority : sequence of str
        Trigger names, most important first; a customer matched by several gets the first.
    holdout_share : float
        Share of each trigger's customers kept out of the send, drawn at random
        (``round(share * n)`` of them).
    random_state : int, optional
        Seed of the hold-out draw.

    Returns
    -------
    pandas.DataFrame
        ``customer_id, trigger, detail, group`` (``contact`` or ``holdout``), sorted by
        priority and customer.
    """
    if not 0 <= holdout_share < 1:
        raise ValueError(f"holdout_share must be in [0, 1), got {holdout_share}")
    allc = _gate(candidates, customers, priority, consent_col)
    allc = allc[allc["consent"]]
    allc = allc.sort_values(["priority", "customer_id"], kind="stable")
    allc = allc.drop_duplicates("customer_id", keep="first")
    rng = np.random.default_rng(random_state)
    group = np.full(len(allc), "contact", dtype=object)
    pos = 0
    for _, n in allc.groupby("priority", sort=True).size().items():
        n_hold = int(round(holdout_share * n))
        order = rng.permutation(n)
        block = np.full(n, "contact", dtype=object)
        block[order[:n_hold]] = "holdout"
        group[pos : pos + n] = block
        pos += n
    out = allc[CANDIDATE_COLUMNS].copy()
    out["group"] = pd.Series(group, index=out.index, dtype="string")
    return out.reset_index(drop=True)


def dry_run(
    candidates: Sequence[pd.DataFrame] | pd.DataFrame,
    customers: pd.DataFrame,
    *,
    priority: Sequence[str] = TRIGGERS,
    holdout_share: float = 0.1,
    consent_col: str = "marketing_consent",
    random_state: int | None = 0,
) -> pd.DataFrame:
    """How many customers each rule would hit, step by step (nothing is sent).

    Returns
    -------
    pandas.DataFrame
        One row per trigger in priority order: ``trigger, matched`` (the rule's
        candidates), ``no_consent`` (dropped: no marketing consent), ``higher_priority``
        (dropped: in an earlier trigger), ``listed`` (= matched - no_consent -
        higher_priority), ``contact`` and ``holdout``; a last row ``total`` counts
        distinct customers.
    """
    allc = _gate(candidates, customers, priority, consent_col)
    final = contact_lists(
        candidates,
        customers,
        priority=priority,
        holdout_share=holdout_share,
        consent_col=consent_col,
        random_state=random_state,
    )
    rows = []
    for name in priority:
        c = allc[allc["trigger"] == name]
        f = final[final["trigger"] == name]
        consenting = int(c["consent"].sum())
        rows.append(
            {
                "trigger": name,
                "matched": len(c),
                "no_consent": len(c) - consenting,
                "higher_priority": consenting - len(f),
                "listed": len(f),
                "contact": int((f["group"] == "contact").sum()),
                "holdout": int((f["group"] == "holdout").sum()),
            }
        )
    out = pd.DataFrame(rows)
    total = {
        "trigger": "total",
        "matched": int(allc["customer_id"].nunique()),
        "no_consent": int(allc.loc[~allc["consent"], "customer_id"].nunique()),
        "higher_priority": int(out["higher_priority"].sum()),
        "listed": len(final),
        "contact": int((final["group"] == "contact").sum()),
        "holdout": int((final["group"] == "holdout").sum()),
    }
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)


def export_contact_list(
    lists: pd.DataFrame,
    path: str | Path,
    *,
    as_of=None,
    key: str | bytes | None = None,
    key_file: str | Path | None = None,
) -> Path:
    """Write the contact list with pseudonymised customer ids, as CSV or Excel (``.xlsx``).

    The customer id is replaced by its keyed pseudonym
    (:func:`crm_lib.intake.privacy.pseudonymize`): the marketing tool joins it with the
    same pseudonyms of its own customer table, and the file names nobody.

    Returns
    -------
    pathlib.Path
        The file written (``customer, trigger, detail, group[, as_of]``).
    """
    from crm_lib.intake.privacy import pseudonymize

    path = Path(path)
    out = pseudonymize(
        lists.rename(columns={"customer_id": "customer"}),
        "customer",
        key=key,
        key_file=key_file,
    )
    if as_of is not None:
        out["as_of"] = str(_as_of(as_of))
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".xlsx":
        out.to_excel(path, index=False, sheet_name="contacts")
    elif path.suffix.lower() == ".csv":
        out.to_csv(path, index=False)
    else:
        raise ValueError(f"write a .csv or .xlsx file, not {path.name!r}")
    return path


def trigger_summary(lists: pd.DataFrame) -> Mapping[str, dict[str, int]]:
    """``{trigger: {"contact": n, "holdout": m}}`` of a contact list (for metrics)."""
    g = lists.groupby(["trigger", "group"]).size().unstack(fill_value=0)
    return {t: {k: int(v) for k, v in row.items()} for t, row in g.iterrows()}
