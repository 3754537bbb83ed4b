"""A simulated CRM world for one fictional retailer, with its ground truth.

The world is generated from stated models so that every method in crm_lib can be
checked against the truth that produced the data:

========================  ============================================================
table                     generating model (parameters in ``truth.params``)
========================  ============================================================
customers                 sign-ups uniform over the period; region, channel, age,
                          consent drawn from stated shares
events                    funnel visit -> signup -> cart -> purchase with known stage
                          conversion rates (visit -> signup varies by channel)
transactions              BG/NBD repeat purchases after the first purchase, timed by a
                          yearly cycle and holiday/promotion weeks (a time change that
                          keeps every customer's purchases, see
                          :mod:`~crm_lib.datasets.seasonality`), gamma-gamma order
                          values, 1 + Poisson lines per order, returns as negative lines
                          referencing their order
calendar_events           the holiday and promotion dates of the retailer's calendar
experiment_*              coupon e-mail A/B test: true incremental purchase probability
                          that varies with age and region; pre-period revenue from
                          the log (CUPED covariate); effect on later NPS answers
survey_responses          four latent constructs drive overall satisfaction with known
                          weights; satisfaction is tied (Gaussian copula) to the BG/NBD
                          dropout probability, so detractors churn more
========================  ============================================================

Time runs in weeks from ``START`` (2023-01-01 00:00 Asia/Shanghai) for
``PERIOD_WEEKS`` weeks; all timestamps are stored in UTC.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import special

from crm_lib.contract import schemas
from crm_lib.contract.dataset import DatasetConfig
from crm_lib.datasets import _text
from crm_lib.datasets._btyd import (
    BGNBDParams,
    GammaGammaParams,
    draw_dropout,
    draw_order_values,
    fixed_width_ids,
    simulate_bgnbd,
)
from crm_lib.datasets.container import GroundTruth, World
from crm_lib.datasets.seasonality import PurchaseSeason

START = pd.Timestamp("2023-01-01", tz=schemas.LOCAL_TIMEZONE).tz_convert("UTC")
PERIOD_WEEKS = 156
SIGNUP_WEEKS = 150
EXPERIMENT_ID = "EXP-2025-COUPON"
EXPERIMENT_START_WEEK = 146.0
EXPERIMENT_WEEKS = 4.0
SURVEY_WAVES = {"2025Q1": 116.0, "2025Q2": 129.0, "2025Q3": 142.0, "2025Q4": 154.0}

SIZES = {"small": 2_000, "default": 50_000}

#: The simulated retailer described as any dataset is (``dataset.yml`` of a world folder):
#: its time zone, currency and the vocabularies of its categorical columns.
SIMULATED_CONFIG = DatasetConfig(
    name="simulated retailer",
    description="A simulated Chinese multi-channel retailer with its ground truth (crm_lib).",
    timezone=schemas.LOCAL_TIMEZONE,
    currency="CNY",
    vocabularies={
        "customers": {
            "region": tuple(schemas.REGIONS),
            "acquisition_channel": tuple(schemas.MARKETING_CHANNELS),
            "gender": tuple(schemas.GENDERS),
        },
        "transactions": {
            "category": tuple(schemas.CATEGORIES),
            "channel": tuple(schemas.SALES_CHANNELS),
        },
        "events": {"channel": tuple(schemas.MARKETING_CHANNELS)},
        "touchpoints": {"channel": tuple(schemas.MARKETING_CHANNELS)},
    },
    simulated=True,
)
"""Number of customers (sign-ups) of each named world size."""

_NS_PER_WEEK = 7 * 24 * 3600 * 1_000_000_000


@dataclass(frozen=True)
class WorldParams:
    """Every parameter of the generating model; stored in ``truth.params``."""

    bgnbd: BGNBDParams = field(default_factory=BGNBDParams)
    gamma_gamma: GammaGammaParams = field(default_factory=GammaGammaParams)
    currency: str = "CNY"
    region_shares: tuple = (0.22, 0.30, 0.24, 0.09, 0.15)
    visitor_channel_shares: tuple = (0.30, 0.30, 0.20, 0.10, 0.10)
    visit_to_signup: tuple = (0.30, 0.22, 0.12, 0.40, 0.30)  # by MARKETING_CHANNELS
    signup_to_cart: float = 0.85
    cart_to_purchase: float = 0.80
    sales_channel_shares: tuple = (0.35, 0.35, 0.15, 0.15)
    main_channel_loyalty: float = 0.75
    consent_share: float = 0.65
    extra_lines_mean: float = 0.6
    return_share: float = 0.04
    n_products: int = 300
    # Repeat purchases: yearly cycle of amplitude `seasonality` (0: none) and the uplift of
    # the holiday and promotion weeks (seasonality.EVENTS) when `holidays`.
    seasonality: float = 0.15
    holidays: bool = True
    # Experiment: incremental purchase probability tau = base + young + south/east.
    tau_base: float = 0.01
    tau_young: float = 0.08  # birth year >= 1990
    tau_south_east: float = 0.04
    nps_effect_latent: float = 0.25  # shift of latent satisfaction in the treated arm
    # Survey: latent constructs -> satisfaction.
    driver_weights: tuple = (0.45, 0.25, 0.35, 0.20)  # product, price, service, delivery
    driver_correlation: float = 0.4
    satisfaction_r2: float = 0.6
    satisfaction_dropout_rho: float = 0.6  # corr(satisfaction, -z of dropout)
    item_loading: float = 1.1
    item_noise: float = 0.8
    invite_response_rate: float = 0.3

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in self.__dict__.items():
            out[k] = (
                v.to_dict() if hasattr(v, "to_dict") else (list(v) if isinstance(v, tuple) else v)
            )
        return out


# --------------------------------------------------------------------------- helpers


def _weeks_to_ts(weeks: np.ndarray) -> pd.DatetimeIndex:
    """Weeks since START as UTC timestamps (microseconds); NaN gives NaT."""
    weeks = np.asarray(weeks, dtype=float)
    us = START.value // 1000 + np.round(np.nan_to_num(weeks) * (_NS_PER_WEEK / 1000))
    out = pd.DatetimeIndex(pd.to_datetime(us.astype(np.int64), unit="us", utc=True))
    return out.where(~np.isnan(weeks)).as_unit("us")


def _ts_array(weeks: np.ndarray) -> pa.Array:
    us = (START.value // 1000) + np.round(np.asarray(weeks) * (_NS_PER_WEEK / 1000)).astype(
        np.int64
    )
    return pa.array(us, type=pa.timestamp("us", tz="UTC"))


def _choice(rng: np.random.Generator, values: list[str], shares, n: int) -> np.ndarray:
    shares = np.asarray(shares, dtype=float)
    return np.asarray(values, dtype=object)[
        rng.choice(len(values), size=n, p=shares / shares.sum())
    ]


def _str(values) -> pd.Series:
    return pd.Series(values, dtype="str")


def resolve_size(size: str | int) -> int:
    """Number of customers for a named size or an explicit number."""
    if isinstance(size, str) and size in SIZES:
        return SIZES[size]
    try:
        n = int(size)
    except (TypeError, ValueError):
        raise ValueError(
            f"unknown world size {size!r}: use one of {', '.join(SIZES)} or a number of customers"
        ) from None
    if n < 50:
        raise ValueError(f"world size {n} is too small: simulate at least 50 customers")
    return n


@functools.lru_cache(maxsize=8)
def _season_of(amplitude: float, holidays: bool) -> PurchaseSeason:
    first_day = START.tz_convert(schemas.LOCAL_TIMEZONE).tz_localize(None)
    return PurchaseSeason.build(first_day, PERIOD_WEEKS * 7, amplitude=amplitude, holidays=holidays)


def purchase_season(p: WorldParams | None = None) -> PurchaseSeason:
    """The repeat purchases' daily multiplier and time change of a world with parameters ``p``.

    Day ``d`` of the period is the local day ``[d, d + 1)`` / 7 weeks after :data:`START`
    (the local zone, Asia/Shanghai, has no daylight saving time).
    """
    p = p or WorldParams()
    return _season_of(float(p.seasonality), bool(p.holidays))


# ------------------------------------------------------------------------ customers


def _names(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Fictional names (75% Chinese) and the matching e-mail handles."""
    zh = rng.random(n) < 0.75
    s_idx = rng.integers(0, len(_text.ZH_SURNAMES), n)
    g1 = np.asarray(_text.ZH_GIVEN, dtype=object)[rng.integers(0, len(_text.ZH_GIVEN), n)]
    g2 = np.where(
        rng.random(n) < 0.6,
        np.asarray(_text.ZH_GIVEN, dtype=object)[rng.integers(0, len(_text.ZH_GIVEN), n)],
        "",
    )
    zh_names = np.asarray(_text.ZH_SURNAMES, dtype=object)[s_idx] + g1 + g2
    f_idx = rng.integers(0, len(_text.EN_FIRST), n)
    l_idx = rng.integers(0, len(_text.EN_LAST), n)
    en_names = (
        np.asarray(_text.EN_FIRST, dtype=object)[f_idx]
        + " "
        + np.asarray(_text.EN_LAST, dtype=object)[l_idx]
    )
    handles_zh = np.asarray(_text.ZH_SURNAMES_PINYIN, dtype=object)[s_idx]
    handles_en = (
        np.char.lower(np.asarray(_text.EN_FIRST)[f_idx]).astype(object)
        + "."
        + np.char.lower(np.asarray(_text.EN_LAST)[l_idx]).astype(object)
    )
    return np.where(zh, zh_names, en_names), np.where(zh, handles_zh, handles_en)


def _simulate_customers(rng: np.random.Generator, n: int, p: WorldParams, id_offset: int = 0):
    """Customers table (pandas) and their sign-up weeks."""
    signup_w = np.sort(rng.uniform(0.0, SIGNUP_WEEKS, n))
    names, handles = _names(rng, n)
    number = rng.integers(1, 10_000, n).astype(str).astype(object)
    domain = np.asarray(_text.EMAIL_DOMAINS, dtype=object)[rng.integers(0, 4, n)]
    email = handles + number + "@" + domain
    email = np.where(rng.random(n) < 0.08, None, email)
    phone = (
        "+861"
        + rng.integers(3, 10, n).astype(str).astype(object)
        + pd.Series(rng.integers(0, 10**9, n)).astype(str).str.zfill(9).to_numpy(dtype=object)
    )
    phone = np.where(rng.random(n) < 0.05, None, phone)
    # Acquisition channel: visitors' channel mix weighted by each channel's sign-up rate.
    w = np.asarray(p.visitor_channel_shares) * np.asarray(p.visit_to_signup)
    birth = rng.integers(1960, 2007, n).astype("float")
    birth[rng.random(n) < 0.10] = np.nan
    customers = pd.DataFrame(
        {
            "customer_id": _str(fixed_width_ids("C", np.arange(id_offset, id_offset + n), 8)),
            "name": _str(names),
            "email": _str(email),
            "phone": _str(phone),
            "signup_at": _weeks_to_ts(signup_w),
            "region": _str(_choice(rng, schemas.REGIONS, p.region_shares, n)),
            "acquisition_channel": _str(_choice(rng, schemas.MARKETING_CHANNELS, w, n)),
            "gender": _str(_choice(rng, schemas.GENDERS, [0.52, 0.44, 0.01, 0.03], n)),
            "birth_year": pd.array(birth, dtype="Int64"),
            "marketing_consent": rng.random(n) < p.consent_share,
        }
    )
    return customers, signup_w


# --------------------------------------------------------------------------- funnel


def _simulate_funnel(rng, customers, signup_w, p: WorldParams):
    """Funnel events and each customer's first-purchase week (NaN: never bought)."""
    n = len(customers)
    visit_w = signup_w - rng.exponential(10 / (7 * 24 * 60), n)  # ~10 minutes before
    carted = rng.random(n) < p.signup_to_cart
    cart_w = signup_w + rng.exponential(1 / 7, n)  # ~1 day after sign-up
    bought = carted & (rng.random(n) < p.cart_to_purchase)
    purchase_w = cart_w + rng.exponential(2 / 7, n)  # ~2 days after the cart
    carted &= cart_w < PERIOD_WEEKS
    bought &= purchase_w < PERIOD_WEEKS
    first_w = np.where(bought, purchase_w, np.nan)

    # Anonymous visitors who never signed up: per channel, the failures before the
    # observed sign-ups (negative binomial), so each channel's rate is exactly its p.
    chan = customers["acquisition_channel"].to_numpy(dtype=object)
    anon_chan = []
    for c, rate in zip(schemas.MARKETING_CHANNELS, p.visit_to_signup, strict=True):
        k = int((chan == c).sum())
        anon_chan.append(np.full(rng.negative_binomial(k, rate) if k else 0, c, dtype=object))
    anon_chan = np.concatenate(anon_chan)
    rng.shuffle(anon_chan)
    m = anon_chan.shape[0]
    anon_w = rng.uniform(0.0, SIGNUP_WEEKS, m)

    cid = customers["customer_id"].to_numpy(dtype=object)
    visitors = np.asarray(fixed_width_ids("V", np.arange(n + m), 8).to_pylist(), dtype=object)
    parts = [
        (visitors[:n], cid, visit_w, "visit", chan, np.ones(n, bool)),
        (visitors[:n], cid, signup_w, "signup", chan, np.ones(n, bool)),
        (visitors[:n], cid, cart_w, "cart", chan, carted),
        (visitors[:n], cid, purchase_w, "purchase", chan, bought),
        (visitors[n:], np.full(m, None, object), anon_w, "visit", anon_chan, np.ones(m, bool)),
    ]
    frames = []
    for vis, cust, wk, kind, ch, keep in parts:
        frames.append(
            pd.DataFrame(
                {
                    "visitor_id": vis[keep],
                    "customer_id": cust[keep],
                    "week": wk[keep],
                    "event_type": kind,
                    "channel": ch[keep],
                }
            )
        )
    ev = pd.concat(frames, ignore_index=True)
    ev = ev[ev["week"] >= 0].sort_values(["week", "visitor_id"], kind="stable")
    events = pd.DataFrame(
        {
            "event_id": _str(fixed_width_ids("E", np.arange(len(ev)), 8)),
            "visitor_id": _str(ev["visitor_id"].to_numpy()),
            "customer_id": _str(ev["customer_id"].to_numpy()),
            "occurred_at": _weeks_to_ts(ev["week"].to_numpy()),
            "event_type": _str(ev["event_type"].to_numpy()),
            "channel": _str(ev["channel"].to_numpy()),
        }
    )
    rates = dict(zip(schemas.MARKETING_CHANNELS, p.visit_to_signup, strict=True))
    shares = np.asarray(p.visitor_channel_shares)
    funnel_truth = {
        "visit_to_signup_by_channel": rates,
        "visit_to_signup": float(np.dot(shares, p.visit_to_signup) / shares.sum()),
        "signup_to_cart": p.signup_to_cart,
        "cart_to_purchase": p.cart_to_purchase,
        "note": "visit_to_signup overall is for the stated visitor channel mix; "
        "carts and purchases after the period end are not observed (censored).",
    }
    return events, first_w, funnel_truth


# ------------------------------------------------------------------- satisfaction


def _driver_cov(p: WorldParams) -> np.ndarray:
    k = len(p.driver_weights)
    return np.full((k, k), p.driver_correlation) + (1 - p.driver_correlation) * np.eye(k)


def _satisfaction_truth(p: WorldParams) -> dict[str, Any]:
    """Population R^2 and Shapley relative importance of the latent drivers.

    Notes
    -----
    With drivers ``eta ~ N(0, Sigma)`` and ``S = beta' eta + e``, the population R^2 of
    a subset ``A`` of drivers is ``Sigma_yA Sigma_AA^{-1} Sigma_Ay / Var(S)`` with
    ``Sigma_Ay = (Sigma beta)_A``. The Shapley value of driver ``j`` averages its
    increment in R^2 over all orders of entry (Lindeman, Merenda & Gold, 1980; Budescu,
    1993); shares sum to one.
    """
    beta = np.asarray(p.driver_weights)
    sigma = _driver_cov(p)
    explained = float(beta @ sigma @ beta)
    noise_var = explained * (1 - p.satisfaction_r2) / p.satisfaction_r2
    var_s = explained + noise_var
    cov_y = sigma @ beta
    k = len(beta)

    def r2(subset: tuple[int, ...]) -> float:
        if not subset:
            return 0.0
        idx = list(subset)
        return float(cov_y[idx] @ np.linalg.solve(sigma[np.ix_(idx, idx)], cov_y[idx]) / var_s)

    shapley = np.zeros(k)
    for j in range(k):
        others = [i for i in range(k) if i != j]
        for size in range(k):
            for sub in itertools.combinations(others, size):
                weight = (
                    special.factorial(size) * special.factorial(k - size - 1) / special.factorial(k)
                )
                shapley[j] += weight * (r2(tuple(sorted(sub + (j,)))) - r2(sub))
    names = list(schemas.SURVEY_CONSTRUCTS)
    return {
        "constructs": names,
        "driver_weights": dict(zip(names, beta.tolist(), strict=True)),
        "driver_correlation": sigma.tolist(),
        "r2": p.satisfaction_r2,
        "noise_sd": float(np.sqrt(noise_var)),
        "satisfaction_sd": float(np.sqrt(var_s)),
        "relative_importance": dict(zip(names, (shapley / shapley.sum()).tolist(), strict=True)),
        "shapley_r2": dict(zip(names, shapley.tolist(), strict=True)),
        "item_loading": p.item_loading,
        "item_noise": p.item_noise,
        "reverse_coded": [i for i in schemas.LIKERT_ITEMS if i.endswith("_r")],
        "satisfaction_dropout_rho": p.satisfaction_dropout_rho,
    }


def _draw_satisfaction(
    rng, n: int, p: WorldParams, sat_truth: dict
) -> tuple[np.ndarray, np.ndarray]:
    """Latent driver scores (n x 4) and standardised overall satisfaction."""
    eta = rng.multivariate_normal(np.zeros(len(p.driver_weights)), _driver_cov(p), size=n)
    s = eta @ np.asarray(p.driver_weights) + rng.normal(0, sat_truth["noise_sd"], n)
    return eta, s / sat_truth["satisfaction_sd"]


# ----------------------------------------------------------------------- purchases


@dataclass
class _Orders:
    owner: np.ndarray  # index into the buyer arrays
    week: np.ndarray
    value: np.ndarray
    channel: np.ndarray  # index into SALES_CHANNELS


def _purchase_orders(rng, first_w: np.ndarray, p: WorldParams, p_drop=None):
    """BG/NBD orders (first purchase + repeats) for buyers with first-purchase weeks."""
    T = PERIOD_WEEKS - first_w
    draws = simulate_bgnbd(rng, p.bgnbd, T, p_drop=p_drop)
    n = first_w.shape[0]
    n_orders = draws.n_repeat + 1
    owner = np.repeat(np.arange(n), n_orders)
    # weeks: first purchase then the repeats (each customer's block starts with t = 0)
    week = np.empty(owner.shape[0])
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(n_orders, out=starts[1:])
    is_first = np.zeros(owner.shape[0], dtype=bool)
    is_first[starts[:-1]] = True
    week[is_first] = first_w
    # repeats: drawn on each customer's own clock, placed on the seasonal calendar
    week[~is_first] = purchase_season(p).repeat_weeks(first_w[draws.owner], draws.times)
    nu, value = draw_order_values(rng, p.gamma_gamma, n, owner)
    main = rng.choice(len(schemas.SALES_CHANNELS), size=n, p=np.asarray(p.sales_channel_shares))
    other = rng.choice(
        len(schemas.SALES_CHANNELS), size=owner.shape[0], p=np.asarray(p.sales_channel_shares)
    )
    channel = np.where(rng.random(owner.shape[0]) < p.main_channel_loyalty, main[owner], other)
    last_w = week[starts[1:] - 1]
    dropout_w = np.where(draws.alive_at_end, np.nan, last_w)
    return draws, nu, main, _Orders(owner, week, value, channel), dropout_w


def _catalogue(rng, p: WorldParams):
    """Products: category and popularity (Zipf-like)."""
    cat = rng.integers(0, len(schemas.CATEGORIES), p.n_products)
    pop = 1.0 / np.arange(1, p.n_products + 1) ** 1.1
    return cat, pop / pop.sum()


def _order_lines(
    rng,
    orders: _Orders,
    customer_ids: pa.Array,
    p: WorldParams,
    cat,
    pop,
    order_offset: int = 0,
    return_offset: int = 0,
):
    """Expand orders into lines and add returns; return an Arrow table (contract columns).

    Order ``i`` gets id ``O{order_offset + i}``; a returned line ``j`` gets its own credit
    document ``R{return_offset + j}`` (one line, numbered in order) that references the original order.
    """
    n_orders = orders.owner.shape[0]
    n_lines = 1 + np.minimum(rng.poisson(p.extra_lines_mean, n_orders), 7)
    line_order = np.repeat(np.arange(n_orders), n_lines)
    n = line_order.shape[0]
    first_line = np.zeros(n_orders + 1, dtype=np.int64)
    np.cumsum(n_lines, out=first_line[1:])
    line_no = np.arange(n) - first_line[line_order] + 1
    w = rng.standard_exponential(n)
    w /= np.bincount(line_order, weights=w, minlength=n_orders)[line_order]
    amount = np.maximum(np.round(orders.value[line_order] * w, 2), 0.01)
    product = rng.choice(p.n_products, size=n, p=pop)
    quantity = 1 + rng.poisson(0.25, n)
    week = orders.week[line_order]
    owner = orders.owner[line_order]
    channel = orders.channel[line_order]

    # Returns: a share of sale lines comes back a few days later as a credit line.
    ret = np.flatnonzero(rng.random(n) < p.return_share)
    ret_week = week[ret] + (1 + rng.exponential(7, ret.shape[0])) / 7
    keep = ret_week < PERIOD_WEEKS
    ret, ret_week = ret[keep], ret_week[keep]
    m = ret.shape[0]

    order_ids = fixed_width_ids("O", order_offset + line_order, 8)
    return_ids = fixed_width_ids("R", return_offset + np.arange(m), 8)
    prod_ids = fixed_width_ids("P", np.arange(p.n_products), 4)
    cats = pa.array(schemas.CATEGORIES)
    chans = pa.array(schemas.SALES_CHANNELS)
    all_lines = np.concatenate([np.arange(n), ret])

    def take(arr: pa.Array, idx: np.ndarray) -> pa.Array:
        return arr.take(pa.array(idx))

    table = pa.table(
        {
            "order_id": pa.concat_arrays([order_ids, return_ids]),
            "line_no": np.concatenate([line_no, np.ones(m, dtype=np.int64)]),
            "customer_id": take(customer_ids, owner[all_lines]),
            "ordered_at": _ts_array(np.concatenate([week, ret_week])),
            "amount": np.concatenate([amount, -amount[ret]]),
            "currency": pa.array(np.full(n + m, p.currency, dtype=object), pa.string()),
            "quantity": np.concatenate([quantity, -quantity[ret]]).astype(np.int64),
            "product_id": take(prod_ids, product[all_lines]),
            "category": take(cats, cat[product[all_lines]]),
            "channel": take(chans, channel[all_lines]),
            "original_order_id": pa.concat_arrays([pa.nulls(n, pa.string()), take(order_ids, ret)]),
        }
    )
    return table


# ---------------------------------------------------------------------- experiment


def _experiment(rng, customers, buyer_idx, first_w, draws, dropout_w, nu, sat, p: WorldParams):
    """Assign eligible customers; return incremental orders and the truth."""
    s0, s1 = EXPERIMENT_START_WEEK, EXPERIMENT_START_WEEK + EXPERIMENT_WEEKS
    consent = customers["marketing_consent"].to_numpy()[buyer_idx]
    eligible = np.flatnonzero(consent & (first_w < s0 - 8))
    n = eligible.shape[0]
    treated = rng.random(n) < 0.5
    alive = np.isnan(dropout_w[eligible]) | (dropout_w[eligible] >= s0)
    birth = customers["birth_year"].to_numpy(dtype=float, na_value=np.nan)[buyer_idx[eligible]]
    region = customers["region"].to_numpy(dtype=object)[buyer_idx[eligible]]
    tau = (
        p.tau_base
        + p.tau_young * (birth >= 1990)
        + p.tau_south_east * np.isin(region, ["south", "east"])
    )
    lam = draws.lam[eligible]
    # own-clock weeks of the window (EXPERIMENT_WEEKS without seasonality)
    exposure = purchase_season(p).exposure(first_w[eligible], s0, s1)
    p_control = alive * (1 - np.exp(-lam * exposure))
    p_treat = p_control + alive * tau * np.exp(-lam * exposure)
    extra = treated & alive & (rng.random(n) < tau)
    extra_owner = eligible[extra]
    extra_week = rng.uniform(s0, s1, extra_owner.shape[0])
    mean_value = p.gamma_gamma.p / nu
    cate = p_treat - p_control
    ids = customers["customer_id"].to_numpy(dtype=object)[buyer_idx[eligible]]
    truth_customers = pd.DataFrame(
        {
            "customer_id": _str(ids),
            "variant": _str(np.where(treated, "coupon", "control")),
            "alive_at_start": alive,
            "tau": tau,
            "p_control": p_control,
            "p_treatment": p_treat,
            "cate": cate,
            # the coupon adds one order (mean value p / nu) to a treated customer alive at
            # the start with probability tau, whether or not they would have bought anyway:
            # its revenue effect is tau * value, not the change in P(buy) times the value
            "cate_revenue": alive * tau * mean_value[eligible],
        }
    )
    # NPS effect: answers map latent satisfaction to 0-10; the treated arm is shifted.
    grid = rng.standard_normal(400_000)
    score0, score1 = _nps_score(grid), _nps_score(grid + p.nps_effect_latent)
    nps_points = lambda s: 100 * (np.mean(s >= 9) - np.mean(s <= 6))  # noqa: E731
    truth = {
        "experiment_id": EXPERIMENT_ID,
        "start": str(_weeks_to_ts([s0])[0]),
        "end": str(_weeks_to_ts([s1])[0]),
        "variants": ["control", "coupon"],
        "eligibility": "marketing consent, first purchase at least 8 weeks before the start",
        "ate_conversion": float(cate.mean()),
        "control_conversion": float(p_control.mean()),
        "relative_lift": float(cate.mean() / p_control.mean()),
        "ate_revenue": float(truth_customers["cate_revenue"].mean()),
        "tau_rule": {
            "base": p.tau_base,
            "birth_year>=1990": p.tau_young,
            "region in (south, east)": p.tau_south_east,
        },
        "nps_effect_latent": p.nps_effect_latent,
        "ate_nps_score": float(score1.mean() - score0.mean()),
        "ate_nps_points": float(nps_points(score1) - nps_points(score0)),
        "note": "p_control/p_treatment are exact probabilities of at least one order in the "
        "window given the customer's latent traits (the window's seasonal multiplier "
        "included); ATEs average them over assigned customers.",
    }
    return eligible, treated, extra_owner, extra_week, truth, truth_customers


def _nps_score(s: np.ndarray, noise: np.ndarray | None = None) -> np.ndarray:
    """Map standardised satisfaction (+ answer noise) to the 0-10 NPS answer."""
    x = 7.4 + 1.9 * s + (0 if noise is None else noise)
    return np.clip(np.round(x), 0, 10)


def _experiment_tables(tx: pd.DataFrame, customers, buyer_idx, eligible, treated, sat, rng, p):
    s0, s1 = EXPERIMENT_START_WEEK, EXPERIMENT_START_WEEK + EXPERIMENT_WEEKS
    t_pre, t0, t1 = _weeks_to_ts([s0 - 8, s0, s1])
    ids = customers["customer_id"].to_numpy(dtype=object)[buyer_idx[eligible]]
    cid = tx["customer_id"]
    pre = tx[(tx["ordered_at"] >= t_pre) & (tx["ordered_at"] < t0)].groupby(cid)["amount"].sum()
    win = tx[(tx["ordered_at"] >= t0) & (tx["ordered_at"] < t1)]
    revenue = win.groupby("customer_id")["amount"].sum()
    orders = win[win["amount"] > 0].groupby("customer_id")["order_id"].nunique()
    n = len(ids)
    assigned_at = t0 + pd.to_timedelta(rng.uniform(0, 86_400, n), unit="s")
    assignments = pd.DataFrame(
        {
            "experiment_id": _str(np.full(n, EXPERIMENT_ID, dtype=object)),
            "customer_id": _str(ids),
            "variant": _str(np.where(treated, "coupon", "control")),
            "assigned_at": pd.DatetimeIndex(assigned_at).as_unit("us"),
            "pre_period_revenue": pre.reindex(ids, fill_value=0.0).clip(lower=0).to_numpy(),
        }
    )
    n_orders = orders.reindex(ids, fill_value=0).to_numpy().astype(np.int64)
    answered = rng.random(n) < 0.3
    latent = sat[eligible] + p.nps_effect_latent * treated
    nps = _nps_score(latent, rng.normal(0, 1.0, n))
    outcomes = pd.DataFrame(
        {
            "experiment_id": assignments["experiment_id"],
            "customer_id": assignments["customer_id"],
            "converted": n_orders > 0,
            "revenue": revenue.reindex(ids, fill_value=0.0).round(2).to_numpy(),
            "orders": n_orders,
            "nps": pd.array(np.where(answered, nps, np.nan), dtype="Int64"),
        }
    )
    return assignments, outcomes


# --------------------------------------------------------------------------- survey


def _survey(rng, tx, customers, buyer_idx, eta, sat, p: WorldParams):
    """Quarterly waves to recent buyers; returns (responses, quality truth)."""
    rows = []
    cust_ids = customers["customer_id"].to_numpy(dtype=object)
    names = customers["name"].to_numpy(dtype=object)
    email = customers["email"].to_numpy(dtype=object)
    phone = customers["phone"].to_numpy(dtype=object)
    pos_of = pd.Series(np.arange(len(buyer_idx)), index=cust_ids[buyer_idx])
    sales = tx[tx["amount"] > 0]
    for wave, wk in SURVEY_WAVES.items():
        lo, hi = _weeks_to_ts([wk - 13, wk])
        recent = sales.loc[(sales["ordered_at"] >= lo) & (sales["ordered_at"] < hi), "customer_id"]
        invited = pos_of.reindex(recent.unique()).to_numpy()
        invited = invited[rng.random(invited.shape[0]) < p.invite_response_rate]
        rows.append(pd.DataFrame({"wave": wave, "week": wk, "b": invited.astype(np.int64)}))
    resp = pd.concat(rows, ignore_index=True)
    n = len(resp)
    b = resp["b"].to_numpy()
    wave_noise = rng.normal(0, 0.3, n)
    s = sat[b] + wave_noise
    likert = {}
    for k, (construct, items) in enumerate(schemas.SURVEY_CONSTRUCTS.items()):
        for item in items:
            x = 4 + p.item_loading * eta[b, k] + rng.normal(0, p.item_noise, n)
            x = np.clip(np.round(x), 1, 7)
            likert[item] = 8 - x if item.endswith("_r") else x
        del construct
    nps = _nps_score(s, rng.normal(0, 1.0, n))
    csat = np.clip(np.round(3.8 + 0.9 * s + rng.normal(0, 0.6, n)), 1, 5)
    ces = np.clip(np.round(5 + 0.8 * eta[b, 3] + 0.5 * eta[b, 2] + rng.normal(0, 0.8, n)), 1, 7)
    start_w = resp["week"].to_numpy() + rng.uniform(0, 2, n)
    duration_s = np.exp(rng.normal(np.log(360), 0.45, n))

    issue = np.full(n, None, dtype=object)
    u = rng.random(n)
    speed = u < 0.02
    straight = (u >= 0.02) & (u < 0.05)
    partial = (u >= 0.05) & (u < 0.10)
    duration_s[speed] = rng.uniform(20, 60, speed.sum())
    issue[speed], issue[straight], issue[partial] = "speeder", "straight_lining", "partial"
    items = schemas.LIKERT_ITEMS
    mat = np.column_stack([likert[i] for i in items])
    mat[straight] = rng.choice([4, 7], size=straight.sum())[:, None]
    mat[np.ix_(partial, np.arange(6, len(items)))] = np.nan
    for j, item in enumerate(items):
        likert[item] = mat[:, j]
    ces[partial] = np.nan
    submitted_w = start_w + duration_s / (7 * 86_400)

    # Comments: 40% of complete responses; language follows the name's script.
    has_comment = (~partial) & (rng.random(n) < 0.4)
    zh = np.array([bool(nm) and not nm[0].isascii() for nm in names[buyer_idx[b]]])
    constructs = list(schemas.SURVEY_CONSTRUCTS)
    extreme_neg = np.argmin(eta[b], axis=1)
    extreme_pos = np.argmax(eta[b], axis=1)
    comments = np.full(n, None, dtype=object)
    pick = rng.integers(0, 3, n)
    for i in np.flatnonzero(has_comment):
        if nps[i] <= 6 or (nps[i] <= 8 and rng.random() < 0.5):
            key = (constructs[extreme_neg[i]], "neg")
        else:
            key = (constructs[extreme_pos[i]], "pos")
        zh_list, en_list = _text.COMMENTS[key]
        comments[i] = (zh_list if zh[i] else en_list)[pick[i]]
    # A few comments leak the respondent's own contact details (redaction test cases).
    leak = np.flatnonzero(has_comment & (rng.random(n) < 0.03))
    for i in leak:
        contacts = [email[buyer_idx[b[i]]], phone[buyer_idx[b[i]]]]
        contact = next((c for c in contacts if isinstance(c, str)), None)
        if contact:
            comments[i] += ("，请联系我 " if zh[i] else ". Contact me at ") + contact
            issue[i] = "pii_in_comment" if issue[i] is None else issue[i]
    lang = np.where(has_comment, np.where(zh, "zh", "en"), None)

    # Duplicate submissions: 1% of completes submitted twice a few minutes apart.
    dup = np.flatnonzero((~partial) & (rng.random(n) < 0.01))
    order = np.concatenate([np.arange(n), dup])
    resp_ids = fixed_width_ids("S", np.arange(order.shape[0]), 8)
    shift = np.concatenate([np.zeros(n), rng.uniform(2, 30, dup.shape[0]) / (7 * 1440)])
    status = np.where(partial, "partial", "complete")[order]
    submitted = _weeks_to_ts(submitted_w[order] + shift)
    table = pd.DataFrame(
        {
            "response_id": _str(resp_ids),
            "customer_id": _str(cust_ids[buyer_idx[b[order]]]),
            "wave": _str(resp["wave"].to_numpy()[order]),
            "started_at": _weeks_to_ts(start_w[order] + shift),
            "submitted_at": submitted.where(status == "complete"),
            "status": _str(status),
            "nps": pd.array(nps[order], dtype="Int64"),
            "csat": pd.array(csat[order], dtype="Int64"),
            "ces": pd.array(ces[order], dtype="Int64"),
            **{item: pd.array(likert[item][order], dtype="Int64") for item in items},
            "comment": _str(comments[order]),
            "comment_language": _str(lang[order]),
        }
    )
    issues = np.concatenate([issue, np.full(dup.shape[0], "duplicate_submission", dtype=object)])
    quality = pd.DataFrame({"response_id": table["response_id"], "issue": _str(issues)})
    quality = quality[quality["issue"].notna()].reset_index(drop=True)
    table = table.sort_values("started_at", kind="stable").reset_index(drop=True)
    return table, quality


# -------------------------------------------------------------------------- simulate


def simulate(
    size: str | int = "small",
    seed: int = 1,
    *,
    dirty: bool = True,
    params: WorldParams | None = None,
) -> World:
    """Simulate the CRM world of one fictional retailer, with its ground truth.

    Parameters
    ----------
    size : {"small", "default"} or int
        ``"small"``: 2,000 customers (teaching; every notebook runs in seconds);
        ``"default"``: 50,000 customers (about a million transaction lines); an int gives
        the number of customers. For 10M+ rows use :func:`simulate_to_parquet`.
    seed : int
        Seed of every random step; the same seed gives identical tables.
    dirty : bool
        Also produce raw exports with planted dirt (``world.raw``) for the cleaning
        study; every dirty record is listed in ``world.truth.dirty_records``.
    params : WorldParams, optional
        Generating parameters; the defaults are documented in :class:`WorldParams`.

    Returns
    -------
    World
        ``customers, transactions, events, experiment_assignments, experiment_outcomes,
        survey_responses`` (contract tables), ``truth`` (:class:`GroundTruth`), ``raw``
        (dirty exports) and ``meta``.

    Examples
    --------
    >>> import crm_lib
    >>> world = crm_lib.datasets.simulate("small", seed=1)
    >>> sorted(world.tables)[:3]
    ['customers', 'events', 'experiment_assignments']
    >>> round(world.truth.params["bgnbd"]["r"], 2)
    1.2
    """
    p = params or WorldParams()
    n = resolve_size(size)
    rng = np.random.default_rng(seed)
    customers, signup_w = _simulate_customers(rng, n, p)
    events, first_w_all, funnel_truth = _simulate_funnel(rng, customers, signup_w, p)

    buyer_idx = np.flatnonzero(~np.isnan(first_w_all))
    first_w = first_w_all[buyer_idx]
    sat_truth = _satisfaction_truth(p)
    eta, sat = _draw_satisfaction(rng, buyer_idx.shape[0], p, sat_truth)
    rho = p.satisfaction_dropout_rho
    z = -rho * sat + np.sqrt(1 - rho**2) * rng.standard_normal(buyer_idx.shape[0])
    p_drop = draw_dropout(rng, p.bgnbd, buyer_idx.shape[0], z)
    draws, nu, _main, orders, dropout_w = _purchase_orders(rng, first_w, p, p_drop=p_drop)

    eligible, treated, extra_owner, extra_week, exp_truth, exp_customers = _experiment(
        rng, customers, buyer_idx, first_w, draws, dropout_w, nu, sat, p
    )
    if extra_owner.size:
        extra_value = np.maximum(
            np.round(rng.gamma(p.gamma_gamma.p, 1.0, extra_owner.shape[0]) / nu[extra_owner], 2),
            0.01,
        )
        extra_channel = rng.choice(len(schemas.SALES_CHANNELS), size=extra_owner.shape[0])
        orders = _Orders(
            owner=np.concatenate([orders.owner, extra_owner]),
            week=np.concatenate([orders.week, extra_week]),
            value=np.concatenate([orders.value, extra_value]),
            channel=np.concatenate([orders.channel, extra_channel]),
        )
        by_time = np.lexsort((orders.week, orders.owner))
        orders = _Orders(
            *(getattr(orders, f)[by_time] for f in ("owner", "week", "value", "channel"))
        )

    cat, pop = _catalogue(rng, p)
    buyer_ids = pa.array(customers["customer_id"].to_numpy(dtype=object)[buyer_idx], pa.string())
    tx = _order_lines(rng, orders, buyer_ids, p, cat, pop).to_pandas()
    tx = tx.sort_values(["ordered_at", "order_id", "line_no"], kind="stable").reset_index(drop=True)
    tx["ordered_at"] = tx["ordered_at"].dt.as_unit("us")

    assignments, outcomes = _experiment_tables(
        tx, customers, buyer_idx, eligible, treated, sat, rng, p
    )
    survey, quality = _survey(rng, tx, customers, buyer_idx, eta, sat, p)

    truth_customers = pd.DataFrame(
        {
            "customer_id": customers["customer_id"],
            "is_buyer": ~np.isnan(first_w_all),
            "first_purchase_at": _weeks_to_ts(first_w_all),
        }
    )
    per_buyer = {
        "T_weeks": PERIOD_WEEKS - first_w,
        "lam": draws.lam,
        "p_drop": draws.p_drop,
        "alive_at_end": draws.alive_at_end,
        "dropout_at": _weeks_to_ts(dropout_w),
        "mean_order_value": p.gamma_gamma.p / nu,
        "satisfaction": sat,
        **{f"construct_{c}": eta[:, k] for k, c in enumerate(schemas.SURVEY_CONSTRUCTS)},
    }
    for col, values in per_buyer.items():
        full = pd.Series(values, index=buyer_idx).reindex(np.arange(n))
        truth_customers[col] = full.to_numpy() if col != "dropout_at" else pd.DatetimeIndex(full)
    truth_customers["alive_at_end"] = truth_customers["alive_at_end"].astype("boolean")

    world = World(
        customers=customers,
        transactions=tx,
        events=events,
        experiment_assignments=assignments,
        experiment_outcomes=outcomes,
        survey_responses=survey,
        truth=GroundTruth(
            params={
                **p.to_dict(),
                "start": str(START),
                "period_weeks": PERIOD_WEEKS,
                "time_unit": "weeks",
                "local_timezone": schemas.LOCAL_TIMEZONE,
                "note": "BG/NBD holds exactly for purchases before the experiment start "
                f"(week {EXPERIMENT_START_WEEK:g}) on each customer's own clock: her number of "
                "purchases in her window is the BG/NBD count, their calendar timing follows the "
                "seasonal multiplier (studies['seasonality']); the campaign adds incremental "
                "orders after the start.",
            },
            customers=truth_customers,
            funnel=funnel_truth,
            experiment=exp_truth,
            experiment_customers=exp_customers,
            survey=sat_truth,
            dirty_records=pd.DataFrame(columns=["table", "key", "kind", "detail"], dtype="str"),
            survey_quality=quality,
        ),
        meta={
            "size": size,
            "seed": seed,
            "n_customers": n,
            "contract_version": schemas.CONTRACT_VERSION,
        },
        config=SIMULATED_CONFIG,
    )
    season = purchase_season(p)
    world.truth.studies["seasonality"] = season.truth()
    world.truth.frames["purchase_season_daily"] = season.daily_frame()
    world.truth.frames["purchase_season_weekly"] = season.weekly_frame()
    if p.holidays:
        world.extra["calendar_events"] = season.calendar(schemas.LOCAL_TIMEZONE)
    # Tables of the later studies (churn, funnel and pipeline, attribution, baskets) go in
    # here, each drawn from its own random stream ``np.random.default_rng([seed, k])`` so that
    # adding one never changes the tables above, another study's, or the dirt (stream 1).
    # Each writes its tables to ``world.extra`` and its truth to ``world.truth.studies`` /
    # ``world.truth.frames``.
    from crm_lib.datasets.sim_churn import add_churn

    add_churn(world, np.random.default_rng([seed, 16]))  # subscriptions (notebook 06)

    from crm_lib.datasets.sim_funnel import add_funnel

    add_funnel(world, np.random.default_rng([seed, 17]))

    from crm_lib.datasets.sim_attribution import add_attribution

    add_attribution(world, np.random.default_rng([seed, 18]))

    from crm_lib.datasets.sim_personalization import add_personalization

    add_personalization(world, np.random.default_rng([seed, 19]))

    if dirty:
        from crm_lib.datasets.dirt import make_raw_exports

        world.raw, world.truth.dirty_records = make_raw_exports(
            world, np.random.default_rng([seed, 1])
        )
    return world
