"""Simulated marketing touches with known channel effects (attribution study, notebook 08).

Generating model (all parameters in ``truth.studies["attribution"]``):

- each customer is **exposed** to channel :math:`c` independently with probability
  :math:`q_c`; an exposed customer gets :math:`1 + \\text{Poisson}(\\mu)` touches of it;
- the probability of converting (the customer's **first purchase**, from the
  transactions already in the world) given the set :math:`S` of channels seen is
  **additive**,

  .. math:: P(\\text{convert} \\mid S) = b + \\sum_{c \\in S} \\beta_c ,

  so :math:`\\beta_c` is channel :math:`c`'s incremental conversion probability and
  :math:`\\beta_c\\,n_c` (:math:`n_c` customers exposed) its expected incremental
  conversions: the **true contribution** whose shares a model should recover.

The conversions are not redrawn: the world's buyers stay its buyers (the tables of the
first studies do not change). Instead the exposure set is drawn *given* the observed
outcome, by Bayes' rule, :math:`P(S \\mid \\text{buyer}) \\propto P(S)\\,P(\\text{convert}\\mid S)`
and :math:`P(S \\mid \\text{non-buyer}) \\propto P(S)\\,(1 - P(\\text{convert}\\mid S))`, with the
baseline :math:`b = \\pi - \\sum_c q_c \\beta_c` set from the world's buyer share
:math:`\\pi`; the joint law of (exposures, conversion) is then exactly the model above.

Touch times: a buyer's touches fall uniformly in the ``window_days`` before the first
purchase, a non-buyer's in the ``window_days`` after sign-up (cut at the end of the
period). Exposure probabilities and effects are ordered alike, so the true order of the
channels' contributions is unambiguous (search > social > email > direct > referral).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_lib.contract import schemas

__all__ = ["AttributionParams", "add_attribution"]

_US_PER_DAY = 86_400 * 1_000_000


class AttributionParams:
    """Parameters of the touchpoint model (defaults: the simulated world's)."""

    channels = ("search", "social", "email", "direct", "referral")
    exposure = (0.60, 0.50, 0.40, 0.35, 0.20)  # q_c
    effect = (0.20, 0.12, 0.08, 0.04, 0.02)  # beta_c, incremental conversion probability
    cost_per_touch = (1.50, 0.80, 0.30, 0.0, 2.00)  # currency per touch
    extra_touches = 0.6  # mu: touches per exposed channel are 1 + Poisson(mu)
    window_days = 28.0

    def to_dict(self) -> dict:
        keys = ("channels", "exposure", "effect", "cost_per_touch", "extra_touches", "window_days")
        return {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in ((k, getattr(self, k)) for k in keys)
        }


def _draw_sets(rng, probs: np.ndarray, outcome_weight: np.ndarray, n: int) -> np.ndarray:
    """``n`` exposure-set indices drawn with P(S) * weight(S), normalised."""
    w = probs * outcome_weight
    return rng.choice(len(w), size=n, p=w / w.sum())


def add_attribution(world, rng: np.random.Generator, params: AttributionParams | None = None):
    """Add the ``touchpoints`` table and the attribution truth to a simulated ``world``.

    Parameters
    ----------
    world : World
        With ``customers`` and ``transactions``; ``world.extra["touchpoints"]``,
        ``world.truth.studies["attribution"]`` and ``world.truth.frames
        ["attribution_channels"]`` are set.
    rng : numpy.random.Generator
        Its own stream (``default_rng([seed, 18])`` in :func:`simulate`).
    params : AttributionParams, optional

    Returns
    -------
    World
        The same object.
    """
    p = params or AttributionParams()
    k = len(p.channels)
    q, beta = np.asarray(p.exposure), np.asarray(p.effect)
    customers = world.customers
    n = len(customers)
    sales = world.transactions[world.transactions["amount"] > 0]
    first = sales.groupby("customer_id")["ordered_at"].min()
    first_at = customers["customer_id"].map(first)
    buyer = first_at.notna().to_numpy()
    pi = float(buyer.mean())
    # The probabilities baseline + sum of effects must lie in [0, 1] for every exposure set.
    # A world whose buyer share leaves no room for the effects (a tiny world, where it is far
    # from the usual share) gets its effects scaled down alike: the order and the ratios of
    # the channels stay, and the truth records the effects used.
    room = [1.0]
    if float(q @ beta) > 0:
        room.append(pi / float(q @ beta))
    if float(beta.sum() - q @ beta) > 0:
        room.append((1 - pi) / float(beta.sum() - q @ beta))
    scale = min(room)
    if scale < 1:
        beta = beta * scale * (1 - 1e-9)
    base = pi - float(q @ beta)
    # all 2^k exposure sets: bit c of the index = exposed to channel c
    sets = (np.arange(2**k)[:, None] >> np.arange(k)) & 1
    p_set = np.prod(np.where(sets == 1, q, 1 - q), axis=1)
    p_conv = base + sets @ beta
    chosen = np.empty(n, dtype=np.int64)
    chosen[buyer] = _draw_sets(rng, p_set, p_conv, int(buyer.sum()))
    chosen[~buyer] = _draw_sets(rng, p_set, 1 - p_conv, int((~buyer).sum()))
    exposed = sets[chosen].astype(bool)  # n x k

    touches = np.where(exposed, 1 + rng.poisson(p.extra_touches, size=(n, k)), 0)
    cust_idx, chan_idx = np.nonzero(touches)
    reps = touches[cust_idx, chan_idx]
    cust_idx, chan_idx = np.repeat(cust_idx, reps), np.repeat(chan_idx, reps)
    u = rng.random(cust_idx.shape[0])
    window_us = p.window_days * _US_PER_DAY
    signup_us = pd.DatetimeIndex(customers["signup_at"]).as_unit("us").asi8
    first_us = pd.DatetimeIndex(first_at).as_unit("us").asi8
    end_us = (world.transactions["ordered_at"].max()).value // 1000
    is_b = buyer[cust_idx]
    # buyers: strictly before the first purchase; others: after sign-up, before the end
    t_buyer = first_us[cust_idx] - np.ceil((1 - u) * window_us)
    t_other = signup_us[cust_idx] + np.floor(
        u * np.minimum(window_us, end_us - signup_us[cust_idx])
    )
    t_us = np.where(is_b, t_buyer, t_other).astype(np.int64)
    channels = np.asarray(p.channels, dtype=object)[chan_idx]
    touched = pd.DatetimeIndex(pd.to_datetime(t_us, unit="us", utc=True)).as_unit("us")
    year = touched.tz_convert(schemas.LOCAL_TIMEZONE).year.astype(str).to_numpy(dtype=object)
    campaign = np.where(channels == "direct", None, channels + "_" + year)
    table = pd.DataFrame(
        {
            "customer_id": pd.Series(
                customers["customer_id"].to_numpy(dtype=object)[cust_idx], dtype="str"
            ),
            "touched_at": touched,
            "channel": pd.Series(channels, dtype="str"),
            "campaign": pd.Series(campaign, dtype="str"),
            "cost": np.asarray(p.cost_per_touch, dtype=float)[chan_idx],
        }
    )
    table = table.sort_values(["touched_at", "customer_id", "channel"], kind="stable")
    world.extra["touchpoints"] = table.reset_index(drop=True)

    n_exposed = exposed.sum(axis=0)
    incremental = beta * n_exposed
    shares = incremental / incremental.sum()
    order = [p.channels[i] for i in np.argsort(-incremental, kind="stable")]
    world.truth.studies["attribution"] = {
        **p.to_dict(),
        "effect": beta.tolist(),  # the effects used (scaled down only in a tiny world)
        "effect_scale": min(scale, 1.0),
        "conversion": "first purchase (first positive order line in transactions)",
        "baseline": base,
        "buyer_share": pi,
        "exposed_customers": dict(zip(p.channels, n_exposed.tolist(), strict=True)),
        "incremental_conversions": dict(zip(p.channels, incremental.tolist(), strict=True)),
        "true_shares": dict(zip(p.channels, shares.tolist(), strict=True)),
        "true_order": order,
        "note": "P(convert | channels seen S) = baseline + sum of effect over S; a channel's "
        "true contribution is effect * customers exposed (expected incremental conversions).",
    }
    world.truth.frames["attribution_channels"] = pd.DataFrame(
        {
            "channel": list(p.channels),
            "exposure": q,
            "effect": beta,
            "exposed_customers": n_exposed,
            "incremental_conversions": incremental,
            "true_share": shares,
        }
    )
    return world
