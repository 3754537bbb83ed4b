"""Seasonality and holiday weeks of the simulated world's repeat purchases.

Expected values come from hand-worked time changes and from the world's ground truth
(daily multiplier, each buyer's lambda, p and first purchase), never from the simulator's
own time change: the expectations below integrate the stated model forward with
:math:`\\Lambda` built from the truth's daily multiplier.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_lib.contract import schemas
from crm_lib.datasets import simulate
from crm_lib.datasets.seasonality import EVENTS, PurchaseSeason, event_dates
from crm_lib.datasets.world import EXPERIMENT_START_WEEK, START, WorldParams, purchase_season

WEEK = pd.Timedelta(weeks=1)


# ---------------------------------------------------------------- the time change by hand


def test_constant_multiplier_is_the_identity():
    season = PurchaseSeason.from_multiplier("2023-01-01", np.ones(21))
    t0 = np.array([0.0, 0.5, 1.3, 2.9])
    u = np.array([0.25, 1.0, 0.7, 0.05])
    np.testing.assert_allclose(season.repeat_weeks(t0, u), t0 + u, atol=1e-12)
    np.testing.assert_allclose(season.exposure(t0, 1.0, 2.0), 1.0)


def test_step_multiplier_by_hand():
    # s = 0.5 in week 1 and 1.5 in week 2 (mean 1): Lambda(t) = t/2 for t <= 1,
    # 1/2 + 3/2 (t - 1) after; the period ends at P = 2 = Lambda(2).
    season = PurchaseSeason.from_multiplier("2023-01-01", np.r_[np.full(7, 0.5), np.full(7, 1.5)])
    np.testing.assert_allclose(season.cumulative([0.5, 1.0, 1.5, 2.0]), [0.25, 0.5, 1.25, 2.0])
    # first purchase at 0: s_bar = 1, t = Lambda^-1(u)
    np.testing.assert_allclose(
        season.repeat_weeks(np.zeros(4), [0.25, 0.5, 1.25, 2.0]), [0.5, 1.0, 1.5, 2.0]
    )
    # at 1: Lambda = 1/2, s_bar = (2 - 1/2) / 1 = 3/2; u = 1/2 -> Lambda = 5/4 -> t = 3/2
    assert season.repeat_weeks(1.0, 0.5) == pytest.approx(1.5)
    # at 1/2: Lambda = 1/4, s_bar = (7/4) / (3/2) = 7/6; u = 1/2 -> Lambda = 1/4 + 7/12 = 5/6,
    # past week 1 (Lambda = 1/2): t = 1 + (5/6 - 1/2) / (3/2) = 11/9
    assert season.window_mean(0.5) == pytest.approx(7 / 6)
    assert season.repeat_weeks(0.5, 0.5) == pytest.approx(11 / 9)
    # the window's ends stay put: u = T = P - t0 lands on P
    np.testing.assert_allclose(season.repeat_weeks([0.5, 1.0, 1.9], [1.5, 1.0, 0.1]), 2.0)
    # own-clock weeks of calendar week 2 for a customer from 1/2: (2 - 1/2) / (7/6) = 9/7
    assert season.exposure(0.5, 1.0, 2.0) == pytest.approx(9 / 7)
    with pytest.raises(ValueError, match="positive with mean 1"):
        PurchaseSeason.from_multiplier("2023-01-01", np.r_[np.zeros(7), np.full(7, 2.0)])


def test_event_weeks_by_hand():
    dates = event_dates([2023, 2024, 2025])
    bf = dates.loc[dates["name"] == "black_friday", "date"].dt.strftime("%Y-%m-%d").tolist()
    assert bf == ["2023-11-24", "2024-11-29", "2025-11-28"]
    sf = dates.loc[dates["name"] == "spring_festival", "date"].dt.strftime("%Y-%m-%d").tolist()
    assert sf == ["2023-01-22", "2024-02-10", "2025-01-29"]
    season = purchase_season()
    week = season.weekly_frame().set_index("week_start")
    # Singles' Day: Saturday 2023-11-11 -> week of Monday 6 Nov; Monday 2024-11-11 -> itself
    assert week.loc["2023-11-06", "event"] == "singles_day"
    assert week.loc["2024-11-11", "event"] == "singles_day"
    assert pd.isna(week.loc["2024-11-18", "event"])
    # an event week's days carry (1 + u) on top of the yearly cycle
    ev = week[week["days"].eq(7) & week["event"].notna()]
    ratio = ev["multiplier"] / ev["seasonal"] - 1
    np.testing.assert_allclose(ratio, ev["event"].map({k: e["uplift"] for k, e in EVENTS.items()}))
    daily = season.daily_frame()
    assert daily["multiplier"].mean() == pytest.approx(1.0)
    # yearly cycle: 1 + 0.15 cos(...), scaled by c, peaks on 1 December, lowest ~1 June
    seasonal = daily.set_index("date")["seasonal"] / season.scale
    assert seasonal["2024-12-01"] == pytest.approx(1.15, abs=1e-4)
    assert seasonal["2024-06-01"] == pytest.approx(0.85, abs=1e-3)


def test_flat_world_has_no_season_and_no_calendar():
    season = purchase_season(WorldParams(seasonality=0.0, holidays=False))
    np.testing.assert_allclose(season.multiplier, 1.0)
    with pytest.raises(ValueError, match=r"seasonality must be in \[0, 1\)"):
        purchase_season(WorldParams(seasonality=1.2))


# ------------------------------------------------------------- the world against its truth


def _weeks(ts) -> np.ndarray:
    return ((pd.DatetimeIndex(ts) - START) / WEEK).to_numpy(dtype=float)


def _lambda_knots(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lambda(t) of a daily multiplier ``s``: knots (weeks, purchase weeks) at day ends."""
    return np.arange(len(s) + 1) / 7.0, np.concatenate([[0.0], np.cumsum(s)]) / 7.0


def _repeat_means(truth, edges: np.ndarray, s: np.ndarray | None = None) -> np.ndarray:
    """Expected repeat purchases between consecutive ``edges`` (weeks), given the truth.

    Given a buyer's lambda, p, first purchase t0 and dropout time d (her last purchase;
    the period end P if alive at the end), the repeats strictly between t0 and d are a
    Poisson process with rate lambda (1 - p) on her own clock: given the K-th event at d,
    the K - 1 events before it are Poisson(lambda (1 - p) d) and uniform (K geometric);
    given alive at P likewise. Her own clock is tau(t) = (Lambda(t) - Lambda(t0)) / s_bar,
    s_bar = (Lambda(P) - Lambda(t0)) / (P - t0). ``s``: daily multiplier (default: truth's).
    """
    if s is None:
        s = truth.frames["purchase_season_daily"]["multiplier"].to_numpy()
    kx, ky = _lambda_knots(s)
    period = kx[-1]
    buyers = truth.customers[truth.customers["is_buyer"]]
    t0 = _weeks(buyers["first_purchase_at"])
    d = np.nan_to_num(_weeks(buyers["dropout_at"]), nan=period)
    rate = (buyers["lam"] * (1 - buyers["p_drop"])).to_numpy()
    l0 = np.interp(t0, kx, ky)
    s_bar = (ky[-1] - l0) / (period - t0)
    clipped = np.clip(edges[None, :], t0[:, None], d[:, None])
    own = np.interp(clipped, kx, ky) / s_bar[:, None]
    return (rate[:, None] * np.diff(own, axis=1)).sum(axis=0)


def _daily_repeats(world, n_days: int) -> np.ndarray:
    """Repeat orders per day since START, without each dropout's last purchase."""
    sales = world.transactions[world.transactions["amount"] > 0]
    orders = sales.groupby("order_id").agg(c=("customer_id", "first"), t=("ordered_at", "first"))
    truth = world.truth.customers.set_index("customer_id")
    first = truth["first_purchase_at"].reindex(orders["c"]).to_numpy()
    last = truth["dropout_at"].reindex(orders["c"]).to_numpy()
    keep = (orders["t"].to_numpy() > first) & ~(orders["t"].to_numpy() == last)
    day = np.floor(_weeks(orders["t"][keep]) * 7).astype(int)
    return np.bincount(day[day < n_days], minlength=n_days)[:n_days]


N_DAYS = int(7 * EXPERIMENT_START_WEEK)  # the campaign adds orders after its start


@pytest.fixture(scope="module")
def repeats(small_world):
    """Observed and expected repeat purchases per day of the small world, and the truth's
    daily multiplier (before the campaign)."""
    s = small_world.truth.frames["purchase_season_daily"]["multiplier"].to_numpy()
    edges = np.arange(N_DAYS + 1) / 7.0
    return {
        "observed": _daily_repeats(small_world, N_DAYS),
        "expected": _repeat_means(small_world.truth, edges),
        "expected_flat": _repeat_means(small_world.truth, edges, np.ones_like(s)),
        "multiplier": s[:N_DAYS],
    }


def test_weekly_purchases_follow_the_true_multiplier(repeats):
    n_w, e_w, e_flat = (
        repeats[k].reshape(-1, 7).sum(axis=1) for k in ("observed", "expected", "expected_flat")
    )
    m_w = repeats["multiplier"].reshape(-1, 7).mean(axis=1)
    keep = e_w >= 20
    df = int(keep.sum())
    assert df >= 120
    # given the truth the weekly counts are Poisson: chi-square with df degrees of freedom
    chi2 = float((((n_w - e_w) ** 2) / e_w)[keep].sum())
    assert abs(chi2 - df) < 4 * np.sqrt(2 * df), (chi2, df)
    # the seasonal profile: counts over the no-season expectation (the exposure of the
    # customers alive) are the multiplier up to each customer's s_bar (~1)
    profile = (e_w / e_flat)[keep]
    assert np.corrcoef(profile, m_w[keep])[0, 1] > 0.98
    # observed: that profile plus Poisson noise sqrt(E) / E_flat, so the expected correlation
    # with the multiplier is corr(profile, m) sd(profile) / sqrt(var(profile) + mean noise^2)
    noise2 = (e_w / e_flat**2)[keep].mean()
    rho = np.corrcoef(profile, m_w[keep])[0, 1] * profile.std() / np.sqrt(profile.var() + noise2)
    r = np.corrcoef((n_w / e_flat)[keep], m_w[keep])[0, 1]
    assert rho > 0.7  # small world: signal sd ~0.13 against ~10% noise a week
    assert abs(r - rho) < 3 * (1 - rho**2) / np.sqrt(df), (r, rho)


@pytest.mark.parametrize("name", list(EVENTS))
def test_holiday_uplift_is_recovered(small_world, repeats, name):
    truth = small_world.truth
    in_event = (truth.frames["purchase_season_daily"]["event"] == name).to_numpy()[:N_DAYS]
    u = truth.studies["seasonality"]["events"][name]["uplift"]
    n_e, e_e = repeats["observed"][in_event].sum(), repeats["expected"][in_event].sum()
    # the rate on an event day is (1 + u) times the rate the day would have without it, so
    # the event days would expect e_e / (1 + u) without the event; n_e is Poisson(e_e)
    u_hat = n_e / (e_e / (1 + u)) - 1
    se = (1 + u) / np.sqrt(e_e)
    # seed 1, |u_hat - u| / se: spring festival 0.6, mid-year sale 2.8 (u_hat 0.11 for 0.30:
    # its three weeks drew few orders), Singles' Day 1.0, Black Friday 1.5, Christmas Eve 1.3
    assert abs(u_hat - u) < 3 * se, (name, u_hat, u, se)


def test_counts_are_those_of_the_flat_world_and_only_their_timing_moves():
    seasonal = simulate(300, seed=4, dirty=False)
    flat = simulate(300, seed=4, dirty=False, params=WorldParams(seasonality=0, holidays=False))
    assert seasonal.calendar_events is not None and flat.calendar_events is None
    sales = [w.transactions[w.transactions["amount"] > 0] for w in (seasonal, flat)]
    counts = [s.groupby("customer_id")["order_id"].nunique() for s in sales]
    pd.testing.assert_series_equal(counts[0], counts[1])
    # every repeat order of a customer without campaign orders sits, on her own clock
    # (built from the truth's daily multiplier), where the flat world has it
    coupon = seasonal.truth.experiment_customers.query("variant == 'coupon'")["customer_id"]
    first = seasonal.truth.customers.set_index("customer_id")["first_purchase_at"]
    kx, ky = _lambda_knots(seasonal.truth.frames["purchase_season_daily"]["multiplier"].to_numpy())
    times = []
    for sale in sales:
        o = sale[~sale["customer_id"].isin(coupon)].groupby("order_id")
        o = o.agg(c=("customer_id", "first"), t=("ordered_at", "first")).sort_values(["c", "t"])
        times.append(o)
    t = _weeks(times[0]["t"])
    t0 = _weeks(first.reindex(times[0]["c"]))
    s_bar = (ky[-1] - np.interp(t0, kx, ky)) / (kx[-1] - t0)
    own = t0 + (np.interp(t, kx, ky) - np.interp(t0, kx, ky)) / s_bar
    np.testing.assert_array_equal(times[0]["c"].to_numpy(), times[1]["c"].to_numpy())
    np.testing.assert_allclose(own, _weeks(times[1]["t"]), atol=1e-6)  # ~0.6 s
    assert np.abs(t - _weeks(times[1]["t"])).max() > 1  # and the calendar times did move


def test_truth_and_calendar_table(small_world):
    cal = small_world.calendar_events
    schemas.validate(cal, "calendar_events")
    local = cal["date"].dt.tz_convert(schemas.LOCAL_TIMEZONE)
    assert (local.dt.hour == 0).all()
    assert set(cal["name"]) == set(EVENTS)
    assert local.dt.year.max() == 2026  # the year after the period: known ahead
    weekly = small_world.truth.frames["purchase_season_weekly"]
    assert weekly["week_start"].dt.day_of_week.eq(0).all()
    assert small_world.truth.studies["seasonality"]["amplitude"] == 0.15
