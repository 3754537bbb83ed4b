"""The simulated world's baskets, birthdays and carts, with their ground truth.

Generating model (parameters in :class:`BasketParams`, truth in
``world.truth.studies["personalization"]`` and ``world.truth.frames["abandoned_carts"]``):

========================  ============================================================
table                     generating model
========================  ============================================================
basket_lines              one basket per sale order of the transaction log (same
                          customer, same time, its own basket id ``B...``). Items come
                          from a catalogue of ``n_themes`` themes of ``theme_size``
                          items plus ``n_pairs`` planted pairs. Each customer has a
                          theme and ``n_favourites`` favourite items of it. A basket has
                          ``1 + Poisson(extra_items)`` regular draws, each a favourite
                          (``p_favourite``), an item of the own theme by within-theme
                          popularity (``p_theme``) or any regular item by popularity
                          (the rest); duplicates merge into one line. Independently,
                          planted pair ``k`` enters as a bundle (both items) with
                          probability ``bundle_rate`` and each of its items alone with
                          probability ``solo_rate``
customer_profiles         birth month and day of every customer with a birth year: a
                          uniform day of that year
carts                     in the last ``cart_weeks`` weeks: a cart shortly before
                          ``converted_cart_share`` of the sale orders, and abandoned
                          carts of random buyers (no sale order of theirs in the
                          ``abandon_days`` after the cart)
========================  ============================================================

Why a separate basket log: the transaction log's ``product_id`` is drawn independently
per line (so it carries no association) and must not change (notebooks 03-05 record
numbers from it). The basket log reuses the orders' customers and times, so personal
purchase histories keep the transaction log's BG/NBD rhythm.

True pair measures (exact, from the model): with bundle rate ``pi`` and solo rate ``s``,
``P(a) = P(b) = 1 - (1 - pi)(1 - s)`` and ``P(a and b) = pi + (1 - pi) s^2``, so
``lift = P(a and b) / (P(a) P(b))`` and ``confidence = P(a and b) / P(a)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from crm_lib.datasets._btyd import fixed_width_ids

__all__ = ["BasketParams", "add_personalization", "pair_truth", "simulate_baskets"]

_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class BasketParams:
    """Parameters of the simulated baskets, birthdays and carts (module docstring)."""

    n_themes: int = 8
    theme_size: int = 15
    n_pairs: int = 6
    n_favourites: int = 3
    extra_items: float = 1.2  # regular draws per basket: 1 + Poisson(extra_items)
    p_favourite: float = 0.35
    p_theme: float = 0.45
    within_theme_zipf: float = 0.8
    global_zipf: float = 0.9
    bundle_rate: float = 0.012
    solo_rate: float = 0.006
    cart_weeks: float = 4.0
    converted_cart_share: float = 0.6
    abandoned_carts_per_week: float = 0.012  # per buyer
    abandon_days: float = 7.0


def pair_truth(bundle_rate: float, solo_rate: float) -> dict[str, float]:
    """Exact support, confidence and lift of a planted pair (module docstring)."""
    p_item = 1 - (1 - bundle_rate) * (1 - solo_rate)
    p_both = bundle_rate + (1 - bundle_rate) * solo_rate**2
    return {
        "support": p_both,
        "item_support": p_item,
        "confidence": p_both / p_item,
        "lift": p_both / p_item**2,
        "leverage": p_both - p_item**2,
    }


def _zipf(n: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def _baskets(rng: np.random.Generator, tx: pd.DataFrame, p: BasketParams):
    """Basket lines (pandas) and the item labels of the planted pairs."""
    sale = tx.loc[tx["amount"] > 0, ["order_id", "customer_id", "ordered_at"]]
    orders = sale.drop_duplicates("order_id").reset_index(drop=True)
    n = len(orders)
    owner, cust = pd.factorize(orders["customer_id"], sort=True)
    n_cust = len(cust)
    n_regular = p.n_themes * p.theme_size
    n_items = n_regular + 2 * p.n_pairs
    labels = np.asarray(
        fixed_width_ids("I", rng.permutation(n_items), 4).to_pylist(), dtype=object
    )  # item labels say nothing about the planted pairs

    within = _zipf(p.theme_size, p.within_theme_zipf)
    global_pop = _zipf(n_regular, p.global_zipf)[rng.permutation(n_regular)]
    theme = rng.integers(0, p.n_themes, n_cust)
    fav = theme[:, None] * p.theme_size + rng.choice(
        p.theme_size, size=(n_cust, p.n_favourites), p=within
    )

    k = 1 + rng.poisson(p.extra_items, n)
    slot_basket = np.repeat(np.arange(n), k)
    m = slot_basket.shape[0]
    slot_owner = owner[slot_basket]
    u = rng.random(m)
    item = rng.choice(n_regular, size=m, p=global_pop)
    in_theme = (u >= p.p_favourite) & (u < p.p_favourite + p.p_theme)
    item[in_theme] = theme[slot_owner[in_theme]] * p.theme_size + rng.choice(
        p.theme_size, size=int(in_theme.sum()), p=within
    )
    is_fav = u < p.p_favourite
    item[is_fav] = fav[slot_owner[is_fav], rng.integers(0, p.n_favourites, int(is_fav.sum()))]

    bundle = rng.random((n, p.n_pairs)) < p.bundle_rate
    solo = rng.random((n, p.n_pairs, 2)) < p.solo_rate
    has = bundle[:, :, None] | solo  # (basket, pair, side)
    b_idx, k_idx, side = np.nonzero(has)
    pair_item = n_regular + 2 * k_idx + side

    basket = np.concatenate([slot_basket, b_idx])
    items = np.concatenate([item, pair_item])
    key = basket.astype(np.int64) * n_items + items
    key, qty = np.unique(key, return_counts=True)  # a repeated draw is one line, more units
    basket, items = key // n_items, key % n_items
    qty = qty + rng.poisson(0.15, qty.shape[0])
    # lines in time order: baskets are numbered in time order, items by label within one
    label_rank = np.argsort(np.argsort(labels.astype(str)))
    order = np.lexsort((label_rank[items], basket))
    basket, items, qty = basket[order], items[order], qty[order]
    lines = pd.DataFrame(
        {
            "basket_id": fixed_width_ids("B", basket, 8).to_pandas().astype("string"),
            "customer_id": pd.Series(orders["customer_id"].array.take(basket), dtype="string"),
            "purchased_at": orders["ordered_at"].array.take(basket),
            "product_id": pd.Series(labels[items], dtype="string"),
            "quantity": qty.astype(np.int64),
        }
    )
    lines["purchased_at"] = pd.DatetimeIndex(lines["purchased_at"]).tz_convert("UTC").as_unit("us")
    pairs = [(labels[n_regular + 2 * j], labels[n_regular + 2 * j + 1]) for j in range(p.n_pairs)]
    return lines.reset_index(drop=True), pairs


def simulate_baskets(
    n_baskets: int,
    *,
    n_customers: int | None = None,
    seed: int = 0,
    params: BasketParams | None = None,
) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """A basket log of ``n_baskets`` baskets from the world's basket model, without a world.

    Baskets belong to ``n_customers`` customers (default ``n_baskets // 5``) at uniform
    times over 2023-2025; for benchmarks and tests at any size. Returns the
    ``basket_lines`` table and the planted pairs.
    """
    rng = np.random.default_rng([seed, 19])
    n_customers = n_customers or max(n_baskets // 5, 1)
    start = pd.Timestamp("2023-01-01", tz="UTC").value // 1000
    span_us = 3 * 365 * 86_400 * 1_000_000
    us = np.sort(start + rng.integers(0, span_us, n_baskets))
    orders = pd.DataFrame(
        {
            "order_id": np.arange(n_baskets),
            "customer_id": pd.Series(
                fixed_width_ids("C", rng.integers(0, n_customers, n_baskets), 8).to_pylist(),
                dtype="string",
            ),
            "ordered_at": pd.to_datetime(us, unit="us", utc=True),
            "amount": 1.0,
        }
    )
    return _baskets(rng, orders, params or BasketParams())


def _profiles(rng: np.random.Generator, customers: pd.DataFrame) -> pd.DataFrame:
    known = customers.loc[customers["birth_year"].notna(), ["customer_id", "birth_year"]]
    year = known["birth_year"].to_numpy(dtype=np.int64)
    start = pd.to_datetime(pd.DataFrame({"year": year, "month": 1, "day": 1}))
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    offset = np.floor(rng.random(year.shape[0]) * (365 + leap)).astype(np.int64)
    born = start + pd.to_timedelta(offset, unit="D")
    return pd.DataFrame(
        {
            "customer_id": known["customer_id"].astype("string").to_numpy(),
            "birth_month": pd.array(born.dt.month.to_numpy(), dtype="Int64"),
            "birth_day": pd.array(born.dt.day.to_numpy(), dtype="Int64"),
        }
    )


def _carts(rng: np.random.Generator, tx: pd.DataFrame, p: BasketParams, end: pd.Timestamp):
    """Carts of the last weeks and the truth of which were abandoned."""
    start = end - pd.Timedelta(weeks=p.cart_weeks)
    sale = tx.loc[tx["amount"] > 0]
    buyers = np.sort(sale["customer_id"].unique())
    sale = sale[sale["ordered_at"] >= start]  # only orders after the first cart matter
    orders = sale.groupby("order_id", sort=True).agg(
        customer_id=("customer_id", "first"),
        at=("ordered_at", "first"),
        value=("amount", "sum"),
    )
    recent = orders[orders["at"] >= start]
    keep = rng.random(len(recent)) < p.converted_cart_share
    conv = recent[keep]
    lead = pd.to_timedelta(rng.uniform(2, 120, len(conv)), unit="min")
    converted = pd.DataFrame(
        {
            "customer_id": conv["customer_id"].to_numpy(dtype=object),
            "carted_at": (conv["at"] - lead).to_numpy(),
            "value": conv["value"].round(2).to_numpy(),
        }
    )
    n_ab = rng.poisson(p.abandoned_carts_per_week * p.cart_weeks * buyers.shape[0])
    who = buyers[rng.integers(0, buyers.shape[0], n_ab)]
    at = start + pd.to_timedelta(rng.uniform(0, p.cart_weeks * 7 * 86_400, n_ab), unit="s")
    abandoned = pd.DataFrame(
        {
            "customer_id": who,
            "carted_at": at,
            "value": np.round(rng.gamma(2.0, 150.0, n_ab), 2),
        }
    )
    # an abandoned cart is one with no sale order of its customer in the next abandon_days
    nxt = orders.reset_index()[["customer_id", "at"]].merge(abandoned, on="customer_id")
    followed = nxt[
        (nxt["at"] > nxt["carted_at"]) & (nxt["at"] <= nxt["carted_at"] + p.abandon_days * _DAY)
    ]
    hit = abandoned.set_index(["customer_id", "carted_at"]).index.isin(
        followed.set_index(["customer_id", "carted_at"]).index
    )
    abandoned = abandoned[~hit]
    carts = pd.concat(
        [converted.assign(abandoned=False), abandoned.assign(abandoned=True)], ignore_index=True
    )
    carts["carted_at"] = pd.DatetimeIndex(carts["carted_at"]).tz_convert("UTC").as_unit("us")
    carts = carts.sort_values(["carted_at", "customer_id"], kind="stable").reset_index(drop=True)
    carts.insert(
        0, "cart_id", pd.Series(fixed_width_ids("K", np.arange(len(carts)), 8).to_pylist())
    )
    carts["cart_id"] = carts["cart_id"].astype("string")
    carts["customer_id"] = carts["customer_id"].astype("string")
    truth = carts.loc[carts["abandoned"], ["cart_id", "customer_id", "carted_at"]]
    return carts.drop(columns="abandoned"), truth.reset_index(drop=True)


def add_personalization(
    world: Any, rng: np.random.Generator, params: BasketParams | None = None
) -> None:
    """Add ``basket_lines``, ``customer_profiles`` and ``carts`` to ``world`` with their truth.

    Reads ``world.transactions`` and ``world.customers`` (never changes them) and draws
    only from ``rng`` (the world's stream ``[seed, 19]``).
    """
    p = params or BasketParams()
    tx = world.transactions
    lines, pairs = _baskets(rng, tx, p)
    profiles = _profiles(rng, world.customers)
    end = tx["ordered_at"].max()
    carts, abandoned = _carts(rng, tx, p, end)
    world.extra["basket_lines"] = lines
    world.extra["customer_profiles"] = profiles
    world.extra["carts"] = carts
    measures = pair_truth(p.bundle_rate, p.solo_rate)
    world.truth.studies["personalization"] = {
        "params": asdict(p),
        "planted_pairs": [{"antecedent": a, "consequent": b, **measures} for a, b in pairs],
        "cart_window_days": p.abandon_days,
        "carts_from": str(end - pd.Timedelta(weeks=p.cart_weeks)),
        "note": "pair measures are exact population values of the basket model; an "
        "abandoned cart has no sale order of its customer in the cart_window_days after it",
    }
    world.truth.frames["abandoned_carts"] = abandoned
