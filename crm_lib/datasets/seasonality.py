"""Seasonality and holiday weeks of the simulated world's repeat purchases.

Model
-----
Day :math:`d` of the period (a local calendar day) has the purchase multiplier

.. math::

    s_d = c\\,\\bigl(1 + A\\cos(2\\pi\\,(d - d^{*}) / 365.2425)\\bigr)\\,
          \\prod_e (1 + u_e\\,\\mathbb{1}[d \\in W_e]),

a yearly cycle of amplitude :math:`A` (``WorldParams.seasonality``) peaking on
:data:`PEAK` (1 December), times the uplift :math:`u_e` of every holiday or promotion week
:math:`W_e` (the local Monday-to-Sunday week holding the event's date, see
:data:`EVENTS`), with :math:`c` such that the mean of :math:`s` over the period is 1.

Purchases are put on this calendar by a **time change**. With
:math:`\\Lambda(t) = \\int_0^t s(v)\\,dv` (weeks; piecewise linear, :math:`\\Lambda(P) = P` at
the period end :math:`P`), a customer whose first purchase is at :math:`t_0` draws her
BG/NBD repeat purchases exactly as before, at :math:`u \\in (0, T]` weeks after it on her own
clock (:math:`T = P - t_0`), and each is placed at

.. math::

    t = \\Lambda^{-1}\\bigl(\\Lambda(t_0) + \\bar s\\,u\\bigr), \\qquad
    \\bar s = \\frac{\\Lambda(P) - \\Lambda(t_0)}{P - t_0},

the customer's clock running at speed :math:`s(t)/\\bar s`. The map is increasing and sends
:math:`t_0 \\mapsto t_0` and :math:`t_0 + T \\mapsto P`, so the same random draws give the
same purchases per customer over her window (the BG/NBD count, ``alive_at_end`` and ``T``
are unchanged) and only their timing follows the calendar: while alive, her purchase rate
at calendar time :math:`t` is :math:`\\lambda\\,s(t)/\\bar s`. :math:`\\bar s` is the mean
multiplier over her window: 1 when :math:`s \\equiv 1`, within a few per cent of 1 for a
window of a year or more, so :math:`\\lambda` stays her mean weekly rate over her window.
First purchases (and sign-ups) keep their own, non-seasonal timing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["EVENTS", "PEAK", "PurchaseSeason", "event_dates"]

PEAK = (12, 1)
"""(month, day) on which the yearly cycle peaks."""

#: Lunar New Year's day (Spring Festival) by year.
_SPRING_FESTIVAL = {
    2020: "2020-01-25",
    2021: "2021-02-12",
    2022: "2022-02-01",
    2023: "2023-01-22",
    2024: "2024-02-10",
    2025: "2025-01-29",
    2026: "2026-02-17",
    2027: "2027-02-06",
    2028: "2028-01-26",
    2029: "2029-02-13",
    2030: "2030-02-03",
}


def _black_friday(year: int) -> pd.Timestamp:
    """The day after the fourth Thursday of November."""
    nov1 = pd.Timestamp(year, 11, 1)
    first_thursday = nov1 + pd.Timedelta(days=(3 - nov1.day_of_week) % 7)
    return first_thursday + pd.Timedelta(weeks=3, days=1)


EVENTS: dict[str, dict[str, Any]] = {
    "spring_festival": {
        "kind": "holiday",
        "uplift": -0.30,
        "date": "Lunar New Year's day",
        "why": "logistics stop over the Spring Festival",
    },
    "mid_year_sale": {"kind": "promotion", "uplift": 0.30, "date": "18 June (618)"},
    "singles_day": {"kind": "promotion", "uplift": 0.60, "date": "11 November (Double 11)"},
    "black_friday": {
        "kind": "promotion",
        "uplift": 0.20,
        "date": "the Friday after the fourth Thursday of November",
    },
    "christmas_eve": {"kind": "holiday", "uplift": 0.25, "date": "24 December (gift buying)"},
}
"""The simulated retailer's holidays and promotions: kind, the uplift :math:`u_e` of the
repeat purchases in the (local, Monday-start) week holding the date, and the date rule."""


def event_dates(years) -> pd.DataFrame:
    """The local date of every event of :data:`EVENTS` in ``years``: ``date, name, kind``."""
    rows = []
    for year in years:
        dates = {
            "spring_festival": pd.Timestamp(_SPRING_FESTIVAL[year]),
            "mid_year_sale": pd.Timestamp(year, 6, 18),
            "singles_day": pd.Timestamp(year, 11, 11),
            "black_friday": _black_friday(year),
            "christmas_eve": pd.Timestamp(year, 12, 24),
        }
        rows += [(dates[name], name, EVENTS[name]["kind"]) for name in EVENTS]
    out = pd.DataFrame(rows, columns=["date", "name", "kind"])
    return out.sort_values(["date", "name"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class PurchaseSeason:
    """The daily multiplier of one period and the time change it defines.

    Attributes
    ----------
    days : pandas.DatetimeIndex
        The local calendar days of the period (naive dates), day 0 first.
    multiplier : numpy.ndarray
        :math:`s_d`, mean 1 over the period.
    seasonal : numpy.ndarray
        The yearly cycle alone, :math:`c\\,(1 + A\\cos(\\cdot))`.
    event : numpy.ndarray
        Name of the event whose week the day is in (``None`` outside them).
    amplitude : float
    holidays : bool
    scale : float
        :math:`c`, the normalisation to mean 1.
    """

    days: pd.DatetimeIndex
    multiplier: np.ndarray
    seasonal: np.ndarray
    event: np.ndarray
    amplitude: float
    holidays: bool
    scale: float

    @classmethod
    def build(
        cls, first_day: pd.Timestamp, n_days: int, *, amplitude: float, holidays: bool
    ) -> PurchaseSeason:
        """The multiplier of the ``n_days`` local days from ``first_day`` (see the module)."""
        if not 0 <= amplitude < 1:
            raise ValueError(f"seasonality must be in [0, 1), not {amplitude}")
        days = pd.date_range(pd.Timestamp(first_day).normalize(), periods=n_days, freq="D")
        peak = pd.Timestamp(2000, *PEAK)
        angle = 2 * np.pi * ((days - peak).days.to_numpy() / 365.2425)
        seasonal = 1 + amplitude * np.cos(angle)
        factor = np.ones(n_days)
        event = np.full(n_days, None, dtype=object)
        if holidays:
            cal = event_dates(range(days[0].year, days[-1].year + 1))
            monday = cal["date"] - pd.to_timedelta(cal["date"].dt.day_of_week, unit="D")
            for day0, name in zip(monday, cal["name"], strict=True):
                idx = (day0 - days[0]).days + np.arange(7)
                idx = idx[(idx >= 0) & (idx < n_days)]
                factor[idx] *= 1 + EVENTS[name]["uplift"]
                event[idx] = name
        raw = seasonal * factor
        c = 1.0 / raw.mean()
        return cls(days, c * raw, c * seasonal, event, float(amplitude), bool(holidays), float(c))

    @classmethod
    def from_multiplier(cls, first_day: pd.Timestamp, multiplier) -> PurchaseSeason:
        """A season given by its daily multiplier (mean 1 over the days), no events."""
        s = np.asarray(multiplier, dtype=float)
        if s.ndim != 1 or not (s > 0).all() or not np.isclose(s.mean(), 1.0):
            raise ValueError("the daily multiplier must be positive with mean 1")
        days = pd.date_range(pd.Timestamp(first_day).normalize(), periods=len(s), freq="D")
        return cls(days, s, s, np.full(len(s), None, dtype=object), float("nan"), False, 1.0)

    @property
    def period_weeks(self) -> float:
        return len(self.days) / 7.0

    def _knots(self) -> tuple[np.ndarray, np.ndarray]:
        x = np.arange(len(self.days) + 1) / 7.0
        y = np.concatenate([[0.0], np.cumsum(self.multiplier)]) / 7.0
        y[-1] = x[-1]  # mean exactly 1: Lambda(P) = P
        return x, y

    def cumulative(self, weeks) -> np.ndarray:
        """:math:`\\Lambda(t)`, weeks of purchase time by calendar week ``t`` of the period."""
        x, y = self._knots()
        return np.interp(np.asarray(weeks, dtype=float), x, y)

    def inverse(self, op_weeks) -> np.ndarray:
        """:math:`\\Lambda^{-1}`: the calendar week at which purchase time reaches ``op_weeks``."""
        x, y = self._knots()
        return np.interp(np.asarray(op_weeks, dtype=float), y, x)

    def window_mean(self, t0) -> np.ndarray:
        """:math:`\\bar s`: mean multiplier from calendar week ``t0`` to the period end."""
        t0 = np.asarray(t0, dtype=float)
        p = self.period_weeks
        span = p - t0
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = (p - self.cumulative(t0)) / span
        return np.where(span > 0, mean, self.multiplier[-1])

    def repeat_weeks(self, t0, u) -> np.ndarray:
        """Calendar weeks of repeat purchases ``u`` weeks (own clock) after a first at ``t0``."""
        t0 = np.asarray(t0, dtype=float)
        return self.inverse(self.cumulative(t0) + self.window_mean(t0) * np.asarray(u, float))

    def exposure(self, t0, start, end) -> np.ndarray:
        """Own-clock weeks between calendar weeks ``start`` and ``end`` of customers from ``t0``.

        :math:`(\\Lambda(\\text{end}) - \\Lambda(\\text{start})) / \\bar s`: the BG/NBD exposure of
        a calendar window (``end - start`` without seasonality).
        """
        d = self.cumulative(end) - self.cumulative(start)
        return d / self.window_mean(t0)

    def daily_frame(self) -> pd.DataFrame:
        """``date, multiplier, seasonal, event`` (truth frame ``purchase_season_daily``)."""
        return pd.DataFrame(
            {
                "date": self.days,
                "multiplier": self.multiplier,
                "seasonal": self.seasonal,
                "event": pd.Series(self.event, dtype="str"),
            }
        )

    def weekly_frame(self) -> pd.DataFrame:
        """Per local Monday-start week: mean multiplier over its days in the period.

        ``week_start, days, multiplier, seasonal, event, uplift`` with ``uplift`` the
        event's :math:`u_e` (0 outside event weeks): ``multiplier = seasonal * (1 + uplift)``.
        """
        d = self.daily_frame()
        d["week_start"] = d["date"] - pd.to_timedelta(d["date"].dt.day_of_week, unit="D")
        g = d.groupby("week_start", sort=True)
        out = pd.DataFrame(
            {
                "days": g.size(),
                "multiplier": g["multiplier"].mean(),
                "seasonal": g["seasonal"].mean(),
                "event": g["event"].first(),
            }
        ).reset_index()
        out["event"] = out["event"].astype("str")
        up = {name: e["uplift"] for name, e in EVENTS.items()}
        out["uplift"] = out["event"].map(up).astype(float).fillna(0.0)
        return out

    def calendar(self, tz: str, *, extra_years: int = 1) -> pd.DataFrame:
        """The ``calendar_events`` table: every event date of the period's years and
        ``extra_years`` after (a marketing calendar is known ahead), local midnight in UTC."""
        years = range(self.days[0].year, self.days[-1].year + 1 + extra_years)
        cal = event_dates(years)
        return pd.DataFrame(
            {
                "date": pd.DatetimeIndex(cal["date"])
                .tz_localize(tz)
                .tz_convert("UTC")
                .as_unit("us"),
                "name": cal["name"].astype("str"),
                "kind": cal["kind"].astype("str"),
            }
        )

    def truth(self) -> dict[str, Any]:
        """JSON-able description (``truth.studies["seasonality"]``)."""
        return {
            "amplitude": self.amplitude,
            "peak": f"{PEAK[0]:02d}-{PEAK[1]:02d}",
            "holidays": self.holidays,
            "events": {k: dict(v) for k, v in EVENTS.items()} if self.holidays else {},
            "scale_c": self.scale,
            "note": "s_d = c (1 + A cos(2 pi (d - peak) / 365.2425)) prod_e (1 + u_e [d in the "
            "Monday-start week of event e]), mean 1 over the period; repeat purchases follow "
            "it through a per-customer time change that keeps each customer's purchases in "
            "her window (crm_lib.datasets.seasonality). Sign-ups and first purchases are not "
            "seasonal. Daily and weekly multipliers: truth frames purchase_season_daily and "
            "purchase_season_weekly.",
        }
