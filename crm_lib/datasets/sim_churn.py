"""The contractual side of the simulated world: a monthly membership with known churn.

Beside the non-contractual buyers (BG/NBD: nobody tells the retailer when they leave),
a share of the customers take a paid monthly membership (table ``subscriptions``) and
cancel it at a time drawn from a **Weibull proportional-hazards** model with known
covariate effects:

.. math::

    h_i(t) = h_0(t)\\,\\exp(x_i^\\top\\beta), \\qquad
    h_0(t) = \\frac{k}{\\lambda}\\Big(\\frac{t}{\\lambda}\\Big)^{k-1}, \\qquad
    S_i(t) = \\exp\\!\\big(-(t/\\lambda)^k e^{x_i^\\top\\beta}\\big),

with ``t`` in months since the start, ``x_i`` = (plan standard, plan premium, auto
renewal, promotional start) and a shape ``k < 1`` (the hazard falls with tenure, as in
real subscription data: those who stay a while tend to stay). The Cox model's hazard
ratios are ``exp(beta)``; the true survival of the whole base, ``mean_i S_i(t)``, is kept
to check cohort projections (sBG) against. Sign-ups run over the world's three years, so
the first cohorts are followed for about 36 months.

Truth: ``world.truth.studies["churn"]`` (parameters, hazard ratios) and
``world.truth.frames["churn_survival"]`` (``month, survival``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from crm_lib.contract.tables_churn import MONTH_DAYS, PLANS

__all__ = ["ChurnParams", "add_churn", "draw_weibull_ph"]

_US_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class ChurnParams:
    """Parameters of the membership and its churn process (stored in the truth)."""

    subscriber_share: float = 0.30  # of all customers
    start_delay_weeks: float = 4.0  # mean delay from sign-up to the first paid month
    plan_shares: tuple = (0.5, 0.3, 0.2)  # basic, standard, premium
    plan_fees: tuple = (29.0, 59.0, 99.0)  # CNY a month
    auto_renew_share: float = 0.6
    promo_share: float = 0.3
    weibull_shape: float = 0.8
    weibull_scale_months: float = 8.0  # baseline: basic plan, no auto renewal, no promo
    beta_plan_standard: float = -0.3
    beta_plan_premium: float = -0.6
    beta_auto_renew: float = -0.7
    beta_promo: float = 0.5

    def log_hazard_ratios(self) -> dict[str, float]:
        return {
            "plan_standard": self.beta_plan_standard,
            "plan_premium": self.beta_plan_premium,
            "auto_renew": self.beta_auto_renew,
            "promo": self.beta_promo,
        }


def draw_weibull_ph(
    rng: np.random.Generator, linear_predictor: np.ndarray, shape: float, scale: float
) -> np.ndarray:
    """Event times of a Weibull proportional-hazards model (inverse transform).

    ``T = scale * (E / exp(eta))^(1/shape)`` with ``E ~ Exp(1)`` has survival
    ``exp(-(t/scale)^shape * exp(eta))``.
    """
    e = rng.exponential(1.0, size=np.shape(linear_predictor))
    return scale * (e * np.exp(-np.asarray(linear_predictor))) ** (1.0 / shape)


def add_churn(world, rng: np.random.Generator, params: ChurnParams | None = None) -> None:
    """Add the ``subscriptions`` table and its truth to a simulated ``world`` (in place).

    Parameters
    ----------
    world : World
        A simulated world with ``customers`` and ``truth.params`` (start, period).
    rng : numpy.random.Generator
        The study's own stream (``np.random.default_rng([seed, 16])``).
    params : ChurnParams, optional
        The generating parameters (defaults documented in :class:`ChurnParams`).
    """
    p = params or ChurnParams()
    customers = world.customers
    start = pd.Timestamp(world.truth.params["start"])
    end_days = 7.0 * float(world.truth.params["period_weeks"])
    n = len(customers)
    is_sub = rng.random(n) < p.subscriber_share
    signup_days = (customers["signup_at"] - start).dt.total_seconds().to_numpy(
        dtype=float
    ) / 86_400.0
    start_days = signup_days + 7.0 * rng.exponential(p.start_delay_weeks, n)
    keep = is_sub & (start_days < end_days - 1.0)
    idx = np.flatnonzero(keep)
    m = idx.shape[0]
    plan = rng.choice(len(PLANS), size=m, p=np.asarray(p.plan_shares) / np.sum(p.plan_shares))
    auto = rng.random(m) < p.auto_renew_share
    promo = rng.random(m) < p.promo_share
    x = np.column_stack([plan == 1, plan == 2, auto, promo]).astype(float)
    beta = np.array(list(p.log_hazard_ratios().values()))
    eta = x @ beta
    t_months = draw_weibull_ph(rng, eta, p.weibull_shape, p.weibull_scale_months)
    s_days = start_days[idx]
    follow_days = end_days - s_days
    event_days = t_months * MONTH_DAYS
    churned = event_days < follow_days
    observed_days = np.where(churned, event_days, follow_days)
    tenure = np.floor(observed_days / MONTH_DAYS).astype(np.int64) + 1

    def _ts(days: np.ndarray) -> pd.Series:
        us = start.value // 1000 + np.round(days * _US_PER_DAY).astype(np.int64)
        return pd.Series(pd.to_datetime(us, unit="us", utc=True)).astype("datetime64[us, UTC]")

    order = np.argsort(s_days, kind="stable")
    cancelled = _ts(s_days + event_days)
    cancelled[~churned] = pd.NaT
    table = pd.DataFrame(
        {
            "subscription_id": pd.array([f"S{i + 1:07d}" for i in range(m)], dtype="string"),
            "customer_id": customers["customer_id"].to_numpy()[idx],
            "plan": pd.array(np.asarray(PLANS, dtype=object)[plan], dtype="string"),
            "started_at": _ts(s_days),
            "cancelled_at": cancelled,
            "churned": churned,
            "tenure_months": tenure,
            "monthly_fee": np.asarray(p.plan_fees, dtype=float)[plan],
            "currency": pd.array([world.truth.params.get("currency", "CNY")] * m, dtype="string"),
            "auto_renew": auto,
            "promo": promo,
        }
    )
    table = table.iloc[order].reset_index(drop=True)
    table["subscription_id"] = pd.array([f"S{i + 1:07d}" for i in range(m)], dtype="string")
    table["customer_id"] = table["customer_id"].astype("string")
    world.extra["subscriptions"] = table

    months = np.arange(0, int(np.ceil(end_days / MONTH_DAYS)) + 1)
    cum = (months[:, None] / p.weibull_scale_months) ** p.weibull_shape * np.exp(eta)[None, :]
    world.truth.frames["churn_survival"] = pd.DataFrame(
        {"month": months, "survival": np.exp(-cum).mean(axis=1)}
    )
    world.truth.studies["churn"] = {
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(p).items()},
        "model": "Weibull proportional hazards, t in months of 30.4375 days",
        "log_hazard_ratios": p.log_hazard_ratios(),
        "hazard_ratios": {k: float(np.exp(v)) for k, v in p.log_hazard_ratios().items()},
        "reference_plan": PLANS[0],
        "subscribers": int(m),
        "churned": int(churned.sum()),
    }
