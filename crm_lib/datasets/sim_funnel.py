"""The simulated world's sales pipeline and marketing spend, with their ground truth.

Generating model (parameters in :class:`PipelineParams`, truth in
``world.truth.studies["funnel"]`` and ``world.truth.frames["pipeline_leads"]`` /
``["pipeline_deals"]``):

========================  ============================================================
table                     generating model
========================  ============================================================
leads                     arrivals uniform over the period; source drawn from stated
                          shares; owner (sales rep) drawn from unequal rep shares; the
                          rep responds after a log-normal time with a rep-specific
                          median; the lead becomes an opportunity with probability
                          ``expit(logit q_source - b log(response_h / 4) + c z_size)``
                          a few days after the response
opportunities,            the deal passes the stages in order; each stage lasts a gamma
opportunity_stages        time (shape 2, stated mean days); at the end of each stage it
                          advances with probability ``p^(1/K)`` (``K`` stages) else is
                          lost, so it is won with probability
                          ``p = expit(logit w_source + u_rep)``; a lost deal's reason
                          is drawn from stage-specific shares; deals still open at the
                          period end stay open (censored)
marketing_spend           per channel and week: true cost per sign-up of the channel
                          times the week's sign-ups from it, times gamma noise (mean 1)
========================  ============================================================

The core tables (customers, transactions ...) are read, never changed. The transactions'
yearly cycle and holiday weeks, and the ``calendar_events`` table, are the world's own
(:mod:`crm_lib.datasets.seasonality`, truth in ``world.truth.studies["seasonality"]``);
:func:`simulate_weekly_revenue` gives separate series with known seasonality, holidays and
AR(1) noise for the forecast's unit tests.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from crm_lib.contract import schemas
from crm_lib.contract.tables_funnel import LEAD_SOURCES, LOSS_REASONS, PIPELINE_STAGES

__all__ = ["PipelineParams", "add_funnel", "simulate_pipeline", "simulate_weekly_revenue"]

_DAY = pd.Timedelta(days=1)

#: Timings of the web funnel of ``world._simulate_funnel`` (exponential, means in days).
WEB_FUNNEL_MEAN_DAYS = {
    "visit_to_signup": 10 / (24 * 60),
    "signup_to_cart": 1.0,
    "cart_to_purchase": 2.0,
}


@dataclass(frozen=True)
class PipelineParams:
    """Parameters of the simulated sales pipeline (see the module docstring)."""

    leads_per_customer: float = 1.0  # leads per simulated customer
    source_shares: tuple = (0.35, 0.15, 0.15, 0.15, 0.20)  # by LEAD_SOURCES
    qualify_rate: tuple = (0.35, 0.55, 0.45, 0.30, 0.15)  # P(opportunity) at a 4 h response
    response_effect: float = 0.35  # logit change per log(response hours / 4)
    size_effect: float = 0.4  # logit change per SD of log company size
    never_contacted: float = 0.05  # share of leads nobody responds to
    win_rate: tuple = (0.30, 0.45, 0.35, 0.25, 0.20)  # P(win) by source for the average rep
    n_reps: int = 12
    rep_sd: float = 0.5  # SD of the rep effect on the logit of the win rate
    rep_share_concentration: float = 1.5  # Dirichlet concentration of rep shares (unequal)
    response_median_h: float = 6.0  # median rep response time
    stage_mean_days: tuple = (7.0, 10.0, 14.0, 10.0)  # by PIPELINE_STAGES
    stage_shape: float = 2.0
    loss_reason_shares: tuple = (  # rows: stage lost in; columns: LOSS_REASONS
        (0.45, 0.10, 0.05, 0.30, 0.10),
        (0.30, 0.20, 0.15, 0.25, 0.10),
        (0.10, 0.30, 0.40, 0.10, 0.10),
        (0.05, 0.35, 0.40, 0.05, 0.15),
    )
    amount_median: float = 20_000.0
    amount_sigma: float = 0.8
    cost_per_signup: tuple = (5.0, 60.0, 45.0, 15.0, 30.0)  # by MARKETING_CHANNELS

    def to_dict(self) -> dict[str, Any]:
        # nested tuples become nested lists, as they come back from JSON
        return {
            k: (np.asarray(v).tolist() if isinstance(v, tuple) else v)
            for k, v in asdict(self).items()
        }


def _rep_effects(rng: np.random.Generator, p: PipelineParams) -> tuple[np.ndarray, np.ndarray]:
    shares = rng.dirichlet(np.full(p.n_reps, p.rep_share_concentration))
    return shares, rng.normal(0.0, p.rep_sd, p.n_reps)


def _rep_median_h(p: PipelineParams, n_reps: int) -> np.ndarray:
    """Median response hours of each rep (from fast to slow)."""
    return p.response_median_h * np.exp(np.linspace(-0.6, 0.6, n_reps))


def _qualify_prob(p: PipelineParams, source, response_h, log_size) -> np.ndarray:
    """P(a contacted lead becomes an opportunity)."""
    return special.expit(
        special.logit(np.asarray(p.qualify_rate))[source]
        - p.response_effect * np.log(response_h / 4.0)
        + p.size_effect * (log_size - np.log(50)) / 1.2
    )


def _win_prob(p: PipelineParams, source: np.ndarray, rep_u: np.ndarray) -> np.ndarray:
    return special.expit(special.logit(np.asarray(p.win_rate))[source] + rep_u)


def simulate_pipeline(
    rng: np.random.Generator,
    *,
    n_leads: int,
    start: pd.Timestamp,
    weeks: float,
    params: PipelineParams | None = None,
    rep_shares: np.ndarray | None = None,
    rep_effects: np.ndarray | None = None,
    truth_draws: int = 400_000,
) -> dict[str, Any]:
    """Leads, opportunities and their stage history over ``weeks`` from ``start``.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_leads : int
        Leads arriving uniformly over the period.
    start : pandas.Timestamp
        Start of the period (UTC).
    weeks : float
        Length of the period; deals still open at its end stay open.
    params : PipelineParams, optional
    rep_shares, rep_effects : array, optional
        Share of leads and logit win-rate effect of each rep (drawn when not given).
    truth_draws : int
        Monte Carlo draws of the cycle-time truth (:func:`pipeline_truth`).

    Returns
    -------
    dict
        ``leads, opportunities, opportunity_stages`` (contract tables), ``lead_truth``
        (``lead_id, p_convert``), ``deal_truth`` (``opportunity_id, owner_id, source,
        p_win, won_eventually, cycle_days, closed_by_end``), ``truth`` (JSON-able dict).
    """
    p = params or PipelineParams()
    if rep_shares is None or rep_effects is None:
        rep_shares, rep_effects = _rep_effects(rng, p)
    n_reps = len(rep_shares)
    end = start + pd.Timedelta(weeks=weeks)
    period_days = weeks * 7.0
    n = int(n_leads)
    created_d = np.sort(rng.uniform(0.0, period_days, n))
    source = rng.choice(len(LEAD_SOURCES), size=n, p=np.asarray(p.source_shares))
    rep = rng.choice(n_reps, size=n, p=rep_shares)
    response_h = _rep_median_h(p, n_reps)[rep] * np.exp(rng.normal(0, 0.8, n))
    contacted = rng.random(n) >= p.never_contacted
    log_size = rng.normal(np.log(50), 1.2, n)
    size = np.round(np.exp(log_size)).astype(np.int64) + 1
    q = np.where(contacted, _qualify_prob(p, source, response_h, log_size), 0.0)
    converts = rng.random(n) < q
    convert_d = created_d + response_h / 24 + rng.exponential(3.0, n)
    converted_obs = converts & (convert_d < period_days)
    response_d = np.where(contacted, created_d + response_h / 24, np.nan)
    response_obs = contacted & (response_d < period_days)
    lead_ids = pd.Series([f"L{i:07d}" for i in range(n)], dtype="str")
    rep_ids = np.asarray([f"U{r:03d}" for r in range(n_reps)], dtype=object)

    # Deals: leads that convert (also after the period end, for the eventual truth).
    deal_lead = np.flatnonzero(converts)
    m = deal_lead.shape[0]
    d_source, d_rep = source[deal_lead], rep[deal_lead]
    p_win = _win_prob(p, d_source, rep_effects[d_rep])
    k = len(PIPELINE_STAGES)
    advance = p_win ** (1.0 / k)
    durations = rng.gamma(
        p.stage_shape, np.asarray(p.stage_mean_days)[None, :] / p.stage_shape, (m, k)
    )
    passes = rng.random((m, k)) < advance[:, None]
    # the stage a deal is lost in (k: never lost = won)
    lost_at = np.where(~passes.all(axis=1), np.argmin(passes, axis=1), k)
    reached = np.arange(k)[None, :] <= lost_at[:, None]  # stages entered
    won = lost_at == k
    enter_d = convert_d[deal_lead][:, None] + np.concatenate(
        [np.zeros((m, 1)), np.cumsum(durations, axis=1)[:, :-1]], axis=1
    )
    close_d = convert_d[deal_lead] + (durations * reached).sum(axis=1)
    reason_idx = np.full(m, -1)
    lost = ~won
    shares = np.asarray(p.loss_reason_shares)
    u = rng.random(m)
    cum = np.cumsum(shares, axis=1)
    reason_idx[lost] = (u[lost, None] > cum[lost_at[lost]]).sum(axis=1)
    amount = np.round(p.amount_median * np.exp(rng.normal(0, p.amount_sigma, m)), 2)

    observed = convert_d[deal_lead] < period_days  # created within the period
    closed = observed & (close_d < period_days)
    deal_ids = np.asarray([f"D{i:07d}" for i in range(m)], dtype=object)
    to_ts = lambda d: start + pd.to_timedelta(np.asarray(d) * 86_400, unit="s")  # noqa: E731

    # stage history within the period
    o_idx, s_idx = np.nonzero(reached & (enter_d < period_days) & observed[:, None])
    hist = pd.DataFrame(
        {
            "opportunity_id": deal_ids[o_idx],
            "stage": np.asarray(PIPELINE_STAGES, dtype=object)[s_idx],
            "entered_at": to_ts(enter_d[o_idx, s_idx]),
        }
    )
    c_idx = np.flatnonzero(closed)
    hist = pd.concat(
        [
            hist,
            pd.DataFrame(
                {
                    "opportunity_id": deal_ids[c_idx],
                    "stage": np.where(won[c_idx], "closed_won", "closed_lost"),
                    "entered_at": to_ts(close_d[c_idx]),
                }
            ),
        ],
        ignore_index=True,
    )
    hist = hist.sort_values(["entered_at", "opportunity_id"], kind="stable")
    hist = hist.reset_index(drop=True).astype({"opportunity_id": "str", "stage": "str"})
    hist["entered_at"] = pd.DatetimeIndex(hist["entered_at"]).as_unit("us")
    current = hist.groupby("opportunity_id", sort=False)["stage"].last()

    obs = np.flatnonzero(observed)
    # expected close date of an open deal: creation + the mean total cycle
    expected_close = convert_d[deal_lead] + float(np.sum(p.stage_mean_days))
    close_shown = np.where(closed, close_d, np.maximum(expected_close, period_days + 1))
    opp = pd.DataFrame(
        {
            "opportunity_id": pd.Series(deal_ids[obs], dtype="str"),
            "lead_id": pd.Series(lead_ids.to_numpy()[deal_lead[obs]], dtype="str"),
            "account_id": pd.Series([f"A{i:07d}" for i in deal_lead[obs]], dtype="str"),
            "source": pd.Series(np.asarray(LEAD_SOURCES, dtype=object)[d_source[obs]], dtype="str"),
            "owner_id": pd.Series(rep_ids[d_rep[obs]], dtype="str"),
            "created_at": pd.DatetimeIndex(to_ts(convert_d[deal_lead[obs]])).as_unit("us"),
            "amount": amount[obs],
            "currency": pd.Series(["CNY"] * len(obs), dtype="str"),
            "stage": pd.Series(current.reindex(deal_ids[obs]).to_numpy(), dtype="str"),
            "is_closed": closed[obs],
            "is_won": (closed & won)[obs],
            "close_at": pd.DatetimeIndex(to_ts(close_shown[obs])).as_unit("us"),
            "loss_reason": pd.Series(
                np.where(
                    (closed & lost)[obs],
                    np.asarray(LOSS_REASONS, dtype=object)[np.maximum(reason_idx[obs], 0)],
                    None,
                ),
                dtype="str",
            ),
        }
    )
    lead_opp = np.full(n, None, dtype=object)
    lead_opp[deal_lead[observed]] = deal_ids[observed]
    leads = pd.DataFrame(
        {
            "lead_id": lead_ids,
            "created_at": pd.DatetimeIndex(to_ts(created_d)).as_unit("us"),
            "source": pd.Series(np.asarray(LEAD_SOURCES, dtype=object)[source], dtype="str"),
            "owner_id": pd.Series(rep_ids[rep], dtype="str"),
            "first_response_at": pd.DatetimeIndex(to_ts(np.where(response_obs, response_d, 0.0)))
            .where(response_obs)
            .as_unit("us"),
            "company_size": pd.array(size, dtype="Int64"),
            "converted_at": pd.DatetimeIndex(to_ts(np.where(converted_obs, convert_d, 0.0)))
            .where(converted_obs)
            .as_unit("us"),
            "opportunity_id": pd.Series(lead_opp, dtype="str"),
        }
    )
    deal_truth = pd.DataFrame(
        {
            "opportunity_id": pd.Series(deal_ids[obs], dtype="str"),
            "owner_id": pd.Series(rep_ids[d_rep[obs]], dtype="str"),
            "source": pd.Series(np.asarray(LEAD_SOURCES, dtype=object)[d_source[obs]], dtype="str"),
            "p_win": p_win[obs],
            "won_eventually": won[obs],
            "cycle_days": (close_d - convert_d[deal_lead])[obs],
            "closed_by_end": closed[obs],
        }
    )
    lead_truth = pd.DataFrame({"lead_id": lead_ids, "p_convert": q})
    truth = pipeline_truth(p, rep_shares, rep_effects, rep_ids, n_draws=truth_draws)
    truth.update(
        {
            "period_end": str(end),
            "open_deals_at_end": int((observed & ~closed).sum()),
            "open_amount_at_end": float(amount[observed & ~closed].sum()),
            "open_expected_won_at_end": float((amount * p_win)[observed & ~closed].sum()),
        }
    )
    return {
        "leads": leads,
        "opportunities": opp,
        "opportunity_stages": hist,
        "lead_truth": lead_truth,
        "deal_truth": deal_truth,
        "truth": truth,
    }


def pipeline_truth(
    p: PipelineParams,
    rep_shares: np.ndarray,
    rep_effects: np.ndarray,
    rep_ids: np.ndarray,
    n_draws: int = 400_000,
    seed: int = 0,
) -> dict[str, Any]:
    """True win rates, stage and cycle-time distribution and loss-reason shares of new deals.

    Deals are the leads that convert, so their mix of sources and reps is the leads' mix
    weighted by each source's and rep's conversion probability: :math:`P(s, r \\mid
    \\text{deal}) \\propto \\pi_s \\rho_r \\bar q_{sr}` with :math:`\\bar q_{sr}` the mean
    conversion probability over response times and company sizes (20,000 common normal
    draws). Win rates by rep and by source average the true :math:`p_{sr}` over that deal
    mix; the cycle-time median (creation to close, won or lost, no censoring) and the
    loss-reason shares come from ``n_draws`` deals drawn from the model.
    """
    src_share = np.asarray(p.source_shares)
    rep_shares = np.asarray(rep_shares)
    n_src, n_rep = len(src_share), len(rep_shares)
    logit_w = special.logit(np.asarray(p.win_rate))
    grid = special.expit(logit_w[:, None] + np.asarray(rep_effects)[None, :])  # source x rep
    rng = np.random.default_rng(seed)
    z1, z2 = rng.standard_normal((2, 20_000))
    resp = _rep_median_h(p, n_rep)[:, None] * np.exp(0.8 * z1)[None, :]  # rep x draw
    qbar = np.stack(
        [
            _qualify_prob(p, np.full(resp.shape, s_), resp, np.log(50) + 1.2 * z2[None, :]).mean(
                axis=1
            )
            for s_ in range(n_src)
        ]
    )  # source x rep
    mix = src_share[:, None] * rep_shares[None, :] * qbar  # deal mix, source x rep
    mix = mix / mix.sum()
    by_rep = (mix * grid).sum(axis=0) / mix.sum(axis=0)
    by_source = (mix * grid).sum(axis=1) / mix.sum(axis=1)
    k = len(PIPELINE_STAGES)
    cell = rng.choice(n_src * n_rep, size=n_draws, p=mix.ravel())
    pw = grid.ravel()[cell]
    dur = rng.gamma(p.stage_shape, np.asarray(p.stage_mean_days) / p.stage_shape, (n_draws, k))
    passes = rng.random((n_draws, k)) < (pw ** (1.0 / k))[:, None]
    lost_at = np.where(~passes.all(axis=1), np.argmin(passes, axis=1), k)
    cycle = (dur * (np.arange(k)[None, :] <= lost_at[:, None])).sum(axis=1)
    lost_stage_share = np.bincount(lost_at, minlength=k + 1)[:k] / n_draws
    reason_share = lost_stage_share @ np.asarray(p.loss_reason_shares)
    reason_share = reason_share / reason_share.sum()
    return {
        "params": p.to_dict(),
        "sources": list(LEAD_SOURCES),
        "stages": list(PIPELINE_STAGES),
        "win_rate_by_source": dict(zip(LEAD_SOURCES, by_source.tolist(), strict=True)),
        "win_rate_by_rep": dict(zip(rep_ids.tolist(), by_rep.tolist(), strict=True)),
        "rep_shares": dict(zip(rep_ids.tolist(), np.asarray(rep_shares).tolist(), strict=True)),
        "win_rate": float((mix * grid).sum()),
        "stage_mean_days": dict(zip(PIPELINE_STAGES, p.stage_mean_days, strict=True)),
        "stage_median_days": dict(
            zip(
                PIPELINE_STAGES,
                stats.gamma.median(
                    p.stage_shape, scale=np.asarray(p.stage_mean_days) / p.stage_shape
                ).tolist(),
                strict=True,
            )
        ),
        "cycle_median_days": float(np.median(cycle)),
        "cycle_mean_days": float(cycle.mean()),
        "loss_reason_shares": dict(zip(LOSS_REASONS, reason_share.tolist(), strict=True)),
        "note": "win rates: P(won) of a new deal, averaged over the deals' mix of sources and "
        "reps (leads weighted by their conversion probability). cycle: days from "
        "opportunity creation to close (won or lost).",
    }


def _marketing_spend(rng, world, p: PipelineParams, start: pd.Timestamp, weeks: int):
    customers = world.customers
    week = np.floor((customers["signup_at"] - start) / pd.Timedelta(weeks=1)).to_numpy()
    chan = pd.Categorical(customers["acquisition_channel"], categories=schemas.MARKETING_CHANNELS)
    counts = np.zeros((weeks, len(schemas.MARKETING_CHANNELS)))
    ok = (week >= 0) & (week < weeks) & (chan.codes >= 0)
    np.add.at(counts, (week[ok].astype(int), chan.codes[ok]), 1)
    cost = np.asarray(p.cost_per_signup)
    noise = rng.gamma(10.0, 0.1, counts.shape)
    base = rng.gamma(2.0, 0.5, counts.shape) * cost  # always-on spend (brand, tools)
    amount = np.round(counts * cost * noise + base, 2)
    w_idx, c_idx = np.meshgrid(np.arange(weeks), np.arange(len(cost)), indexing="ij")
    spend = pd.DataFrame(
        {
            "channel": pd.Series(
                np.asarray(schemas.MARKETING_CHANNELS, dtype=object)[c_idx.ravel()], dtype="str"
            ),
            "week_start": pd.DatetimeIndex(
                start + pd.to_timedelta(w_idx.ravel() * 7, unit="D")
            ).as_unit("us"),
            "amount": amount.ravel(),
            "currency": pd.Series(["CNY"] * amount.size, dtype="str"),
        }
    )
    truth = {
        "cost_per_signup": dict(zip(schemas.MARKETING_CHANNELS, cost.tolist(), strict=True)),
        "always_on_per_week": dict(zip(schemas.MARKETING_CHANNELS, cost.tolist(), strict=True)),
        "note": "weekly spend = cost_per_signup x sign-ups of the week x Gamma(10, 0.1) noise "
        "+ always-on spend Gamma(2, 0.5) x cost_per_signup (mean = cost_per_signup).",
    }
    return spend, truth


def add_funnel(world, rng: np.random.Generator, params: PipelineParams | None = None) -> None:
    """Add ``leads, opportunities, opportunity_stages, marketing_spend`` and their truth.

    Reads the world's customers (sign-ups per channel and week for the spend) and its
    period; writes ``world.extra`` and ``world.truth.studies["funnel"]`` /
    ``world.truth.frames["pipeline_leads"|"pipeline_deals"]``.
    """
    p = params or PipelineParams()
    start = pd.Timestamp(world.truth.params["start"])
    weeks = int(world.truth.params["period_weeks"])
    n_leads = max(50, int(round(p.leads_per_customer * len(world.customers))))
    pipe = simulate_pipeline(rng, n_leads=n_leads, start=start, weeks=weeks, params=p)
    spend, spend_truth = _marketing_spend(rng, world, p, start, weeks)
    for name in ("leads", "opportunities", "opportunity_stages"):
        world.extra[name] = pipe[name]
    world.extra["marketing_spend"] = spend
    world.truth.frames["pipeline_leads"] = pipe["lead_truth"]
    world.truth.frames["pipeline_deals"] = pipe["deal_truth"]
    world.truth.studies["funnel"] = {
        "pipeline": pipe["truth"],
        "marketing_spend": spend_truth,
        "web_funnel_mean_days": WEB_FUNNEL_MEAN_DAYS,
        "web_funnel_median_days": {k: v * np.log(2) for k, v in WEB_FUNNEL_MEAN_DAYS.items()},
        "note": "web funnel timings: exponential times between the first events of the "
        "stages (crm_lib.datasets.world._simulate_funnel). The seasonality and holiday weeks "
        "of the repeat purchases are in studies['seasonality'].",
    }


def simulate_weekly_revenue(
    rng: np.random.Generator,
    n_weeks: int,
    *,
    n_series: int = 1,
    level: float = 100_000.0,
    season_amplitude: float = 0.15,
    season_length: float = 52.0,
    holiday_effect: float = 0.25,
    holiday_weeks: tuple = (4, 40),
    ar: float = 0.5,
    noise_sd: float = 0.05,
    start: str = "2020-01-06",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Weekly revenue with known yearly seasonality, holidays and AR(1) noise.

    ``y_t = level * (1 + A sin(2 pi t / m) + h * holiday_t + e_t)`` with
    ``e_t = phi e_{t-1} + N(0, sigma^2)``; holidays fall on weeks ``holiday_weeks`` of
    every 52. Returns ``(frame, truth)``: columns ``series, week_start, revenue, holiday``.
    """
    t = np.arange(n_weeks)
    holiday = np.isin(t % 52, holiday_weeks).astype(float)
    mean = level * (1 + season_amplitude * np.sin(2 * np.pi * t / season_length))
    mean = mean + level * holiday_effect * holiday
    eps = rng.normal(0, noise_sd, (n_series, n_weeks))
    e = np.empty_like(eps)
    e[:, 0] = eps[:, 0] / np.sqrt(1 - ar**2)
    for i in range(1, n_weeks):  # AR(1) recursion over time, vectorised over series
        e[:, i] = ar * e[:, i - 1] + eps[:, i]
    y = mean[None, :] + level * e
    weeks = pd.date_range(start, periods=n_weeks, freq="W-MON")
    frame = pd.DataFrame(
        {
            "series": np.repeat(np.arange(n_series), n_weeks),
            "week_start": np.tile(weeks, n_series),
            "revenue": y.ravel(),
            "holiday": np.tile(holiday, n_series).astype(bool),
        }
    )
    truth = {
        "level": level,
        "season_amplitude": season_amplitude,
        "season_length": season_length,
        "holiday_effect": holiday_effect,
        "ar": ar,
        "noise_sd": noise_sd,
    }
    return frame, truth
