"""The sales pipeline: stage conversion, win rates with shrinkage, cycle time as survival.

Inputs are the optional contract tables ``opportunities`` and ``opportunity_stages``
(and ``leads`` for response times); every function takes and returns tidy DataFrames.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

__all__ = [
    "BetaBinomialShrinkage",
    "is_closed_stage",
    "cycle_survival",
    "loss_reasons",
    "pipeline_velocity",
    "response_time_win_rates",
    "stage_conversion",
    "stage_order",
    "win_rates",
    "wilson",
]

_DAY = pd.Timedelta(days=1)


def wilson(successes, n, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion (statsmodels ``proportion_confint``).

    Notes
    -----
    :math:`\\frac{\\hat p + z^2/2n \\pm z\\sqrt{\\hat p(1-\\hat p)/n + z^2/4n^2}}{1 + z^2/n}`
    (Wilson, 1927); ``n = 0`` gives NaN.
    """
    from statsmodels.stats.proportion import proportion_confint

    k = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo, hi = proportion_confint(k, np.where(n > 0, n, 1), alpha=alpha, method="wilson")
    lo, hi = np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan)
    return lo, hi


def is_closed_stage(stage) -> np.ndarray:
    """True for closed stages: ``closed_won``/``closed_lost`` in any case and spacing
    (Salesforce's "Closed Won", "Closed Lost")."""
    norm = pd.Series(stage, dtype="object").astype(str).str.strip().str.lower()
    return norm.str.replace(r"[\s\-]+", "_", regex=True).isin(CLOSED_STAGES).to_numpy()


CLOSED_STAGES = ("closed_won", "closed_lost")


def stage_order(stages: pd.DataFrame) -> list[str]:
    """The open stages of the sales process in order, from the stage history.

    Stages are ordered by the median rank at which deals first entered them (the first
    stage a deal entered has rank 0); closed stages (:func:`is_closed_stage`) are left
    out.
    """
    h = stages[~is_closed_stage(stages["stage"])].sort_values(["opportunity_id", "entered_at"])
    h = h.drop_duplicates(["opportunity_id", "stage"])  # a history can repeat a stage
    rank = h.groupby("opportunity_id").cumcount()
    order = rank.groupby(h["stage"]).median().sort_values(kind="stable")
    return order.index.tolist()


def stage_conversion(
    stages: pd.DataFrame,
    opportunities: pd.DataFrame,
    *,
    order: Sequence[str] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Deals reaching each stage and the share that went on to the next (or to a win).

    A deal counts as having reached a stage when it entered it or any later one (a
    skipped stage is passed; a won deal passed every stage). The conversion of the last
    open stage is to ``won``. Deals
    still open in a stage are not counted as failures of that stage: the rate is among
    deals that *left* it (moved on, or closed).

    Returns
    -------
    pandas.DataFrame
        ``stage, step, reached, left, moved_on, rate, ci_low, ci_high`` (Wilson).
    """
    order = list(order) if order is not None else stage_order(stages)
    pos = {s: i for i, s in enumerate(order)}
    h = stages[stages["stage"].isin(order)]
    deepest = h.groupby("opportunity_id")["stage"].agg(lambda s: max(pos[x] for x in s))
    opp = opportunities.set_index("opportunity_id")
    deepest = deepest.reindex(opp.index).fillna(0).astype(int)
    won, closed = opp["is_won"].to_numpy(), opp["is_closed"].to_numpy()
    d = np.where(won, len(order), deepest.to_numpy())  # a won deal passed every stage
    rows = []
    for i, s in enumerate(order):
        reached = d >= i
        beyond = d > i
        left = reached & (beyond | closed)
        rows.append((s, i + 1, reached.sum(), left.sum(), (beyond & left).sum()))
    out = pd.DataFrame(rows, columns=["stage", "step", "reached", "left", "moved_on"])
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rate"] = out["moved_on"] / out["left"].where(out["left"] > 0)
    out["ci_low"], out["ci_high"] = wilson(out["moved_on"], out["left"], alpha)
    return out


def win_rates(
    opportunities: pd.DataFrame, *, group_col: str = "owner_id", alpha: float = 0.05
) -> pd.DataFrame:
    """Raw win rate of closed deals per group with Wilson intervals.

    Returns
    -------
    pandas.DataFrame
        ``<group_col>, closed, won, win_rate, ci_low, ci_high``, by decreasing win rate.
    """
    c = opportunities[opportunities["is_closed"]]
    g = c.groupby(group_col, observed=True)["is_won"].agg(closed="size", won="sum").reset_index()
    g["win_rate"] = g["won"] / g["closed"]
    g["ci_low"], g["ci_high"] = wilson(g["won"], g["closed"], alpha)
    return g.sort_values("win_rate", ascending=False, kind="stable").reset_index(drop=True)


class BetaBinomialShrinkage:
    """Empirical-Bayes win rates: a beta prior fitted to all groups, posterior per group.

    Parameters
    ----------
    method : {"ml", "moments"}
        ``ml``: maximise the beta-binomial marginal likelihood; ``moments``: the
        method-of-moments estimate (also the starting point of ``ml``).
    alpha : float
        1 - level of the posterior (equal-tailed) intervals.

    Attributes
    ----------
    a_, b_ : float
        Fitted prior :math:`\\theta \\sim \\text{Beta}(a, b)`.
    prior_mean_ : float
        :math:`a / (a + b)`.

    Notes
    -----
    With :math:`k_j` wins of :math:`n_j` closed deals, :math:`k_j \\mid \\theta_j \\sim
    \\text{Bin}(n_j, \\theta_j)` and :math:`\\theta_j \\sim \\text{Beta}(a, b)`, the
    marginal is beta-binomial,
    :math:`\\log L(a, b) = \\sum_j \\log \\binom{n_j}{k_j} + \\log B(a + k_j, b + n_j - k_j)
    - \\log B(a, b)`. The posterior of each group is
    :math:`\\text{Beta}(a + k_j, b + n_j - k_j)` with mean
    :math:`(a + k_j)/(a + b + n_j)`: a weighted average of the group's raw rate and the
    prior mean, with weight :math:`n_j / (a + b + n_j)` on the raw rate, so a rep with
    five deals is pulled most of the way to the average (Efron & Morris, 1975;
    Robinson, 2017, *Introduction to Empirical Bayes*). When the groups vary less than
    binomial noise alone would make them, the prior is degenerate (:math:`a + b \\to
    \\infty`) and every group gets the pooled rate; ``a + b`` is capped at 1e6.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"rep": list("abc"), "won": [1, 30, 12], "closed": [5, 100, 40]})
    >>> eb = BetaBinomialShrinkage().fit(d["won"], d["closed"])
    >>> bool(eb.transform(d["won"], d["closed"])["shrunk"].between(0.2, 0.35).all())
    True
    """

    def __init__(self, method: str = "ml", alpha: float = 0.05):
        self.method = method
        self.alpha = alpha

    @staticmethod
    def _moments(k: np.ndarray, n: np.ndarray) -> tuple[float, float]:
        p = k / n
        m = np.average(p, weights=n)
        var = np.average((p - m) ** 2, weights=n)
        # E[var of raw rates] = var(theta) + m(1-m) E[1/n] (n-weighted); solve for var(theta)
        binom = m * (1 - m) * len(n) / n.sum()
        v = var - binom
        if not 0 < m < 1 or v <= 0:
            return m * 1e6, (1 - m) * 1e6
        s = max(m * (1 - m) / v - 1, 1e-3)
        return m * s, (1 - m) * s

    def fit(self, won, closed) -> BetaBinomialShrinkage:
        k = np.asarray(won, dtype=float)
        n = np.asarray(closed, dtype=float)
        keep = n > 0
        k, n = k[keep], n[keep]
        if k.size < 2:
            raise ValueError("empirical Bayes needs at least two groups with closed deals")
        if self.method not in ("ml", "moments"):
            raise ValueError(f"method must be 'ml' or 'moments', not {self.method!r}")
        a0, b0 = self._moments(k, n)
        a, b = a0, b0
        if self.method == "ml":
            m0 = a0 / (a0 + b0)

            def nll(x):
                mu, s = special.expit(x[0]), np.exp(x[1])
                return -stats.betabinom.logpmf(k, n, mu * s, (1 - mu) * s).sum()

            x0 = np.array([special.logit(np.clip(m0, 1e-4, 1 - 1e-4)), np.log(min(a0 + b0, 1e5))])
            res = optimize.minimize(nll, x0, method="Nelder-Mead", options={"xatol": 1e-6})
            mu, s = special.expit(res.x[0]), min(np.exp(res.x[1]), 1e6)
            a, b = mu * s, (1 - mu) * s
            self.converged_ = bool(res.success)
            self.log_likelihood_ = float(-res.fun)
        self.a_, self.b_ = float(a), float(b)
        self.prior_mean_ = self.a_ / (self.a_ + self.b_)
        return self

    def transform(self, won, closed) -> pd.DataFrame:
        """Per group: ``won, closed, raw, shrunk, ci_low, ci_high, weight``."""
        k = np.asarray(won, dtype=float)
        n = np.asarray(closed, dtype=float)
        a, b = self.a_ + k, self.b_ + n - k
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = k / np.where(n > 0, n, np.nan)
        return pd.DataFrame(
            {
                "won": k,
                "closed": n,
                "raw": raw,
                "shrunk": a / (a + b),
                "ci_low": stats.beta.ppf(self.alpha / 2, a, b),
                "ci_high": stats.beta.ppf(1 - self.alpha / 2, a, b),
                "weight": n / (self.a_ + self.b_ + n),
            }
        )

    def summary(self) -> pd.DataFrame:
        """The prior: ``a, b, prior_mean, prior_strength`` (a + b, in deals)."""
        return pd.DataFrame(
            {
                "a": [self.a_],
                "b": [self.b_],
                "prior_mean": [self.prior_mean_],
                "prior_strength": [self.a_ + self.b_],
            }
        )


def shrunk_win_rates(
    opportunities: pd.DataFrame, *, group_col: str = "owner_id", alpha: float = 0.05
) -> pd.DataFrame:
    """:func:`win_rates` with the empirical-Bayes estimate beside the raw one.

    Returns
    -------
    pandas.DataFrame
        ``<group_col>, closed, won, win_rate, ci_low, ci_high, shrunk, shrunk_low,
        shrunk_high, rank_raw, rank_shrunk``, by decreasing shrunk rate.
    """
    raw = win_rates(opportunities, group_col=group_col, alpha=alpha)
    eb = BetaBinomialShrinkage(alpha=alpha).fit(raw["won"], raw["closed"])
    post = eb.transform(raw["won"], raw["closed"])
    raw["shrunk"] = post["shrunk"].to_numpy()
    raw["shrunk_low"] = post["ci_low"].to_numpy()
    raw["shrunk_high"] = post["ci_high"].to_numpy()
    raw["rank_raw"] = raw["win_rate"].rank(ascending=False, method="min").astype(int)
    raw["rank_shrunk"] = raw["shrunk"].rank(ascending=False, method="min").astype(int)
    raw.attrs["prior"] = eb.summary()
    return raw.sort_values("shrunk", ascending=False, kind="stable").reset_index(drop=True)


__all__.append("shrunk_win_rates")


def _durations(opportunities: pd.DataFrame, as_of: pd.Timestamp | None):
    as_of = as_of if as_of is not None else _default_as_of(opportunities)
    created = opportunities["created_at"]
    end = opportunities["close_at"].where(opportunities["is_closed"], as_of)
    days = ((end - created) / _DAY).to_numpy(dtype=float)
    return np.maximum(days, 1e-6), opportunities["is_closed"].to_numpy(dtype=bool)


def _default_as_of(opportunities: pd.DataFrame) -> pd.Timestamp:
    """The latest time seen in the table (creation or close of a closed deal)."""
    closed = opportunities.loc[opportunities["is_closed"], "close_at"]
    return max(opportunities["created_at"].max(), closed.max() if len(closed) else pd.NaT)


def cycle_survival(
    opportunities: pd.DataFrame,
    *,
    as_of: pd.Timestamp | None = None,
    alpha: float = 0.05,
) -> dict:
    """Sales-cycle length (creation to close, won or lost) with open deals censored.

    Parameters
    ----------
    opportunities : pandas.DataFrame
        ``created_at, close_at, is_closed``.
    as_of : Timestamp, optional
        When the data were taken; open deals are censored there (default: the latest
        creation or close time in the table).

    Returns
    -------
    dict
        ``survival`` (statsmodels ``SurvfuncRight``), ``table`` (one row per method:
        ``method, median_days, ci_low, ci_high, se, n, n_censored``; ``kaplan_meier``
        keeps the open deals as censored, ``closed_only`` drops them).

    Notes
    -----
    Kaplan-Meier: :math:`\\hat S(t) = \\prod_{t_i \\le t}(1 - d_i / n_i)`; the median is
    the first :math:`t` with :math:`\\hat S(t) \\le 0.5`; its interval inverts the
    log-log transformed pointwise test (Brookmeyer & Crowley, 1982; statsmodels
    ``quantile_ci``); ``se`` is the interval's half width divided by :math:`z`. Dropping
    the open deals (``closed_only``) loses the longest deals (those created recently
    that are still running), so it underestimates the cycle.
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    days, closed = _durations(opportunities, as_of)
    z = stats.norm.ppf(1 - alpha / 2)
    sf = SurvfuncRight(days, closed.astype(float))
    with np.errstate(divide="ignore", invalid="ignore"):  # log(-log S) at S = 1 or 0
        lo, hi = sf.quantile_ci(0.5, alpha=alpha, method="cloglog")
    rows = [("kaplan_meier", sf.quantile(0.5), lo, hi, len(days), int((~closed).sum()))]
    c = days[closed]
    sf_c = SurvfuncRight(c, np.ones_like(c))
    with np.errstate(divide="ignore", invalid="ignore"):
        lo_c, hi_c = sf_c.quantile_ci(0.5, alpha=alpha, method="cloglog")
    rows.append(("closed_only", float(np.median(c)), lo_c, hi_c, len(c), 0))
    table = pd.DataFrame(
        rows, columns=["method", "median_days", "ci_low", "ci_high", "n", "n_censored"]
    )
    table["se"] = (table["ci_high"] - table["ci_low"]) / (2 * z)
    return {"survival": sf, "table": table}


def loss_reasons(opportunities: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Lost deals by reason: ``loss_reason, lost, share, ci_low, ci_high, amount``.

    Lost deals without a reason are counted as ``unknown``.
    """
    lost = opportunities[opportunities["is_closed"] & ~opportunities["is_won"]]
    reason = lost["loss_reason"].astype("object").where(lost["loss_reason"].notna(), "unknown")
    g = lost.groupby(reason.to_numpy())["amount"].agg(lost="size", amount="sum")
    g = g.rename_axis("loss_reason").reset_index()
    g["share"] = g["lost"] / g["lost"].sum()
    g["ci_low"], g["ci_high"] = wilson(g["lost"], np.full(len(g), g["lost"].sum()), alpha)
    cols = ["loss_reason", "lost", "share", "ci_low", "ci_high", "amount"]
    return g[cols].sort_values("lost", ascending=False, kind="stable").reset_index(drop=True)


def response_time_win_rates(
    leads: pd.DataFrame,
    opportunities: pd.DataFrame | None = None,
    *,
    bins: Sequence[float] = (0, 1, 4, 24, 72, np.inf),
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Lead conversion and deal win rate by the hours until the first response.

    Returns
    -------
    pandas.DataFrame
        ``response_hours`` (interval label), ``leads, converted, conversion, ci_low,
        ci_high`` and, with ``opportunities``, ``closed, won, win_rate`` (of the deals
        from those leads). Leads never contacted form the group ``never``. The
        attribute ``trend`` holds the logistic slope of conversion on log response hours
        (``coef, se, p_value``).
    """
    hours = (leads["first_response_at"] - leads["created_at"]) / pd.Timedelta(hours=1)
    labels = [
        f"{lo:g}-{hi:g}h" if np.isfinite(hi) else f">{lo:g}h"
        for lo, hi in zip(bins[:-1], bins[1:], strict=True)
    ]
    group = pd.cut(hours, list(bins), labels=labels, right=False)
    group = group.cat.add_categories(["never"]).fillna("never")
    converted = leads["converted_at"].notna()
    out = (
        pd.DataFrame({"g": group, "c": converted})
        .groupby("g", observed=False)["c"]
        .agg(leads="size", converted="sum")
        .rename_axis("response_hours")
        .reset_index()
    )
    out["conversion"] = out["converted"] / out["leads"].where(out["leads"] > 0)
    out["ci_low"], out["ci_high"] = wilson(out["converted"], out["leads"], alpha)
    if opportunities is not None:
        o = opportunities[opportunities["is_closed"]].merge(
            pd.DataFrame({"lead_id": leads["lead_id"], "g": group}), on="lead_id"
        )
        w = o.groupby("g", observed=False)["is_won"].agg(closed="size", won="sum")
        out = out.merge(w, left_on="response_hours", right_index=True, how="left")
        out["win_rate"] = out["won"] / out["closed"].where(out["closed"] > 0)
    ok = hours.notna() & (hours > 0)
    trend = {"coef": np.nan, "se": np.nan, "p_value": np.nan}
    if ok.sum() > 10 and converted[ok].nunique() == 2:
        import statsmodels.api as sm

        x = sm.add_constant(np.log(hours[ok].to_numpy(dtype=float)))
        fit = sm.Logit(converted[ok].to_numpy(dtype=float), x).fit(disp=0)
        trend = {"coef": fit.params[1], "se": fit.bse[1], "p_value": fit.pvalues[1]}
    out.attrs["trend"] = {k: float(v) for k, v in trend.items()}
    return out


def pipeline_velocity(
    opportunities: pd.DataFrame, *, as_of: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Sales velocity: revenue the pipeline produces per day.

    Notes
    -----
    :math:`v = N_{open} \\cdot \\bar A \\cdot w / L`: open deals, mean amount of won
    deals, win rate of closed deals and median cycle length in days (Kaplan-Meier,
    :func:`cycle_survival`).

    Returns
    -------
    pandas.DataFrame
        One row: ``open_deals, mean_won_amount, win_rate, cycle_days, velocity_per_day``.
    """
    closed = opportunities[opportunities["is_closed"]]
    n_open = int((~opportunities["is_closed"]).sum())
    mean_amount = float(closed.loc[closed["is_won"], "amount"].mean())
    win = float(closed["is_won"].mean()) if len(closed) else np.nan
    cycle = float(cycle_survival(opportunities, as_of=as_of)["table"]["median_days"].iloc[0])
    return pd.DataFrame(
        {
            "open_deals": [n_open],
            "mean_won_amount": [mean_amount],
            "win_rate": [win],
            "cycle_days": [cycle],
            "velocity_per_day": [n_open * mean_amount * win / cycle],
        }
    )


def stage_durations(
    stages: pd.DataFrame,
    opportunities: pd.DataFrame,
    *,
    order: Sequence[str] | None = None,
    as_of: pd.Timestamp | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Days a deal spends in each open stage, deals still in it censored (Kaplan-Meier).

    A deal's time in a stage runs from its first entry into the stage to its next entry
    into another stage (or its close); a deal still in the stage at ``as_of`` is censored
    there.

    Returns
    -------
    pandas.DataFrame
        ``stage, entered, left, median_days, ci_low, ci_high, mean_days_left`` (the
        plain mean over the deals that left, which understates long stays).
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    order = list(order) if order is not None else stage_order(stages)
    as_of = as_of if as_of is not None else _default_as_of(opportunities)
    h = stages.sort_values(["opportunity_id", "entered_at"], kind="stable")
    h = h.drop_duplicates(["opportunity_id", "stage"])
    nxt = h.groupby("opportunity_id")["entered_at"].shift(-1)
    opp = opportunities.set_index("opportunity_id")
    closed = h["opportunity_id"].map(opp["is_closed"]).fillna(False).astype(bool)
    close_at = h["opportunity_id"].map(opp["close_at"])
    end = nxt.where(nxt.notna(), close_at.where(closed, as_of))
    left = nxt.notna() | closed
    days = ((end - h["entered_at"]) / _DAY).to_numpy(dtype=float)
    rows = []
    for s in order:
        m = (h["stage"] == s).to_numpy() & np.isfinite(days)
        d, e = np.maximum(days[m], 1e-6), left.to_numpy()[m]
        if not m.any():
            rows.append((s, 0, 0, np.nan, np.nan, np.nan, np.nan))
            continue
        sf = SurvfuncRight(d, e.astype(float))
        with np.errstate(divide="ignore", invalid="ignore"):
            lo, hi = sf.quantile_ci(0.5, alpha=alpha, method="cloglog")
        mean_left = float(d[e].mean()) if e.any() else np.nan
        rows.append((s, int(m.sum()), int(e.sum()), sf.quantile(0.5), lo, hi, mean_left))
    cols = ["stage", "entered", "left", "median_days", "ci_low", "ci_high", "mean_days_left"]
    return pd.DataFrame(rows, columns=cols)


__all__.append("stage_durations")
