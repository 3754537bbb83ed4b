"""Probabilistic customer lifetime value: BG/NBD or Pareto/NBD x gamma-gamma.

CLV over ``H`` periods (months) with a discount rate ``d`` per period (Fader, Hardie & Lee
2005, "RFM and CLV: using iso-value curves", JMR 42(4); the discrete form of lifetimes'
``customer_lifetime_value``):

    CLV = sum_{i=1..H} (E[X(t_i)] - E[X(t_{i-1})]) * E[M] / (1 + d)^i,   t_i = i * period,

with ``E[X(t)]`` the expected repeat purchases in ``(T, T + t]`` given the customer's
``(x, t_x, T)`` and ``E[M]`` the gamma-gamma expected order value given ``(x, m)``.

Reference values used here, all from outside the code under test:

- the formula evaluated in the test with the model's own conditional expectation;
- ``d = 0``: the sum telescopes to ``E[X(t_H)] * E[M]``;
- ``E[X(t) | x, t_x, T]`` of the BG/NBD by numerical integration over the posterior of
  the dropout probability (scipy.integrate.quad), not the closed form of the code;
- the lifetimes documentation (Quickstart, "Estimating customer lifetime value using the
  Gamma-Gamma model", docs/Quickstart.md of CamDavidsonPilon/lifetimes) prints the CLV of
  the first ten CDNOW customers for ``time=12, discount_rate=0.01`` and lifetimes' default
  ``freq="D"``: on CDNOW's weekly summary that makes every discounting step 30 time units
  (30 weeks), so ``period=30`` reproduces those numbers (they are *not* monthly values).
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from crm_lib import i18n
from crm_lib import value as clv
from crm_lib.datasets import CDNOWNotFoundError, load_cdnow
from crm_lib.datasets._btyd import (
    BGNBDParams,
    GammaGammaParams,
    draw_order_values,
    simulate_bgnbd,
)

matplotlib.use("Agg")

MONTH_WEEKS = 365.25 / 12 / 7  # a month in weeks
MONTH_DAYS = 365.25 / 12


def simulated_summary(n: int, seed: int) -> pd.DataFrame:
    """BG/NBD purchases and gamma-gamma order values, weekly summary (the world's generators)."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(10.0, 104.0, n)
    d = simulate_bgnbd(rng, BGNBDParams(), T)
    last = np.zeros(n)
    has = d.n_repeat > 0
    last[has] = d.times[d.offsets[1:][has] - 1]
    _, values = draw_order_values(rng, GammaGammaParams(), n, d.owner)
    total = np.bincount(d.owner, values, minlength=n)
    mean = np.where(has, total / np.maximum(d.n_repeat, 1), 0.0)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "frequency": d.n_repeat,
            "recency": last,
            "T": T,
            "monetary_value": mean,
        }
    )


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    return simulated_summary(3_000, seed=5)


@pytest.fixture(scope="module")
def models(summary):
    spend = clv.GammaGammaModel().fit(summary[summary["frequency"] > 0])
    return {
        "bgnbd": clv.BetaGeoModel().fit(summary),
        "pnbd": clv.ParetoNBDModel().fit(summary),
        "spend": spend,
    }


def _by_formula(model, spend, summary, horizon, rate, period) -> np.ndarray:
    """The discounted sum, evaluated with the model's own conditional expectation."""
    money = spend.expected_average_value(summary).to_numpy()
    total = np.zeros(len(summary))
    for i in range(1, horizon + 1):
        step = model.predict_purchases(i * period, summary) - model.predict_purchases(
            (i - 1) * period, summary
        )
        total += step.to_numpy() * money / (1 + rate) ** i
    return total


@pytest.mark.parametrize("kind", ["bgnbd", "pnbd"])
@pytest.mark.parametrize(("horizon", "rate"), [(12, 0.01), (36, 0.02), (1, 0.0)])
def test_clv_is_the_discounted_sum_of_expected_purchases(summary, models, kind, horizon, rate):
    out = clv.customer_lifetime_value(
        models[kind], models["spend"], summary, horizon=horizon, discount_rate=rate
    )
    expected = _by_formula(models[kind], models["spend"], summary, horizon, rate, MONTH_WEEKS)
    np.testing.assert_allclose(out["clv"], expected, rtol=1e-12, atol=1e-12)
    assert out["customer_id"].tolist() == summary["customer_id"].tolist()
    assert list(out.columns) == [
        "customer_id",
        "prob_alive",
        "expected_purchases",
        "expected_order_value",
        "clv",
    ]
    assert (out["clv"] > 0).all()


@pytest.mark.parametrize("kind", ["bgnbd", "pnbd"])
def test_zero_discount_is_expected_purchases_times_expected_spend(summary, models, kind):
    """d = 0: the sum telescopes to E[X(H * month)] * E[M]."""
    out = clv.customer_lifetime_value(
        models[kind], models["spend"], summary, horizon=24, discount_rate=0.0
    )
    purchases = models[kind].predict_purchases(24 * MONTH_WEEKS, summary).to_numpy()
    money = models["spend"].expected_average_value(summary).to_numpy()
    np.testing.assert_allclose(out["expected_purchases"], purchases, rtol=1e-12)
    np.testing.assert_allclose(out["expected_order_value"], money, rtol=1e-12)
    np.testing.assert_allclose(out["clv"], purchases * money, rtol=1e-10)
    np.testing.assert_allclose(out["prob_alive"], models[kind].prob_alive(summary), rtol=1e-12)
    # discounting only lowers the value, and a longer horizon only raises it
    lower = clv.customer_lifetime_value(
        models[kind], models["spend"], summary, horizon=24, discount_rate=0.02
    )
    longer = clv.customer_lifetime_value(
        models[kind], models["spend"], summary, horizon=36, discount_rate=0.0
    )
    assert (lower["clv"] < out["clv"]).all() and (longer["clv"] > out["clv"]).all()


def test_a_new_customer_is_valued_as_the_model_simulates_new_customers(models):
    """Ground truth by simulation: a customer first seen now (x = 0, T = 0) expects what
    200,000 new customers drawn from the fitted BG/NBD buy in 12 months; each purchase in
    month i is worth E[M] / 1.01^i. Means must agree within 4 standard errors of the
    simulation (one vectorised draw; ported from an independent implementation)."""
    bgnbd, spend = models["bgnbd"], models["spend"]
    p = bgnbd.params_
    n, horizon = 200_000, 12 * MONTH_WEEKS
    rng = np.random.default_rng(11)
    d = simulate_bgnbd(rng, BGNBDParams(p["r"], p["alpha"], p["a"], p["b"]), np.full(n, horizon))
    month = np.ceil(d.times / MONTH_WEEKS)
    discounted = np.bincount(d.owner, 1.01**-month, minlength=n)
    new = pd.DataFrame({"frequency": [0], "recency": [0.0], "T": [0.0], "monetary_value": [0.0]})
    out = clv.customer_lifetime_value(bgnbd, spend, new, horizon=12, discount_rate=0.01).iloc[0]
    assert out["expected_order_value"] == pytest.approx(spend.population_mean_)
    checks = {
        "expected purchases": (out["expected_purchases"], d.n_repeat),
        "discounted purchases": (out["clv"] / out["expected_order_value"], discounted),
    }
    for name, (model_value, simulated) in checks.items():
        se = simulated.std() / np.sqrt(n)
        assert abs(model_value - simulated.mean()) < 4 * se, (name, model_value, simulated.mean())


def _bgnbd_expected_by_integration(params, x, tx, T, t) -> float:
    """E[Y(t) | x, t_x, T] of the BG/NBD by numerical integration over the dropout p.

    Individual level (Fader, Hardie & Lee 2005): alive at T with weight
    (1 - p)^x lambda^x e^{-lambda T}, dead after the last purchase with weight
    [x > 0] p (1 - p)^(x - 1) lambda^x e^{-lambda t_x}; alive with (lambda, p), the
    expected purchases in (T, T + t] are (1 - e^{-lambda p t}) / p. The lambda integrals
    are gamma integrals, G(k, c) = E[lambda^k e^{-lambda c}] = Gamma(r + k) alpha^r /
    (Gamma(r) (alpha + c)^(r + k)); the p integral against the Beta(a, b) density is done
    by scipy.integrate.quad (no hypergeometric function involved).
    """
    r, alpha, a, b = params

    def G(k, c):
        return np.exp(
            special.gammaln(r + k) - special.gammaln(r) + r * np.log(alpha)
            - (r + k) * np.log(alpha + c)
        )  # fmt: skip

    def over_p(f):
        return integrate.quad(f, 0, 1, weight="alg", wvar=(a - 1, b - 1), epsabs=0, epsrel=1e-10)[0]

    def gain(p):  # (G(x, T) - G(x, T + p t)) / p, with its limit at p = 0
        if p == 0:
            return G(x, T) * (r + x) * t / (alpha + T)
        return G(x, T) * -np.expm1(-(r + x) * np.log1p(p * t / (alpha + T))) / p

    future = over_p(lambda p: (1 - p) ** x * gain(p))
    alive = over_p(lambda p: (1 - p) ** x) * G(x, T)
    dead = over_p(lambda p: p * (1 - p) ** (x - 1)) * G(x, tx) if x > 0 else 0.0
    return future / (alive + dead)


def test_hand_worked_two_periods_with_integrated_expectations(models):
    """Two customers, 2 periods of 4 weeks, d = 5%, CDNOW's published parameters.

    BG/NBD r = 0.243, alpha = 4.414, a = 0.793, b = 2.426; gamma-gamma p = 6.25,
    q = 3.74, gamma = 15.44. E[M] by hand: customer A (x = 2, m = 30):
    6.25 (15.44 + 60) / (12.5 + 2.74) = 471.5 / 15.24 = 30.938...; customer B (x = 0):
    the population mean 6.25 * 15.44 / 2.74 = 35.219...
    CLV = E[M] (E[Y(4)] / 1.05 + (E[Y(8)] - E[Y(4)]) / 1.05^2).
    """
    bg = clv.BetaGeoModel().fit(simulated_summary(500, seed=1))
    bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    spend = models["spend"]
    saved = dict(spend.params_)
    spend.params_ = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    try:
        two = pd.DataFrame(
            {
                "customer_id": ["A", "B"],
                "frequency": [2, 0],
                "recency": [20.0, 0.0],
                "T": [30.0, 12.0],
                "monetary_value": [30.0, 0.0],
            }
        )
        out = clv.customer_lifetime_value(
            bg, spend, two, horizon=2, discount_rate=0.05, period=4.0
        ).set_index("customer_id")
    finally:
        spend.params_ = saved
    money = {"A": 6.25 * (15.44 + 60.0) / (12.5 + 2.74), "B": 6.25 * 15.44 / 2.74}
    assert money["A"] == pytest.approx(30.938320, rel=1e-7)
    assert money["B"] == pytest.approx(35.218978, rel=1e-7)
    params = tuple(bg.params_.values())
    for cid, (x, tx, T) in {"A": (2, 20.0, 30.0), "B": (0, 0.0, 12.0)}.items():
        y4 = _bgnbd_expected_by_integration(params, x, tx, T, 4.0)
        y8 = _bgnbd_expected_by_integration(params, x, tx, T, 8.0)
        value = money[cid] * (y4 / 1.05 + (y8 - y4) / 1.05**2)
        assert out.loc[cid, "expected_order_value"] == pytest.approx(money[cid], rel=1e-12)
        assert out.loc[cid, "expected_purchases"] == pytest.approx(y8, rel=1e-9)
        assert out.loc[cid, "clv"] == pytest.approx(value, rel=1e-9)


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    try:
        return load_cdnow("summary")
    except CDNOWNotFoundError as exc:  # a failure, not a skip: `make test` fetches it
        pytest.fail(f"{exc}")


def test_cdnow_reproduces_the_values_printed_by_lifetimes(cdnow):
    """lifetimes' Quickstart: ggf.customer_lifetime_value(bgf, ..., time=12,
    discount_rate=0.01) on the CDNOW summary, first ten customers (its default freq="D"
    makes each step 30 time units, here weeks). Printed with 6 decimals; the fitted
    parameters agree with lifetimes' to the optimiser's tolerance (~1e-7)."""
    bg = clv.BetaGeoModel().fit(cdnow)
    spend = clv.GammaGammaModel().fit(cdnow[cdnow["frequency"] > 0])
    out = clv.customer_lifetime_value(
        bg, spend, cdnow, horizon=12, discount_rate=0.01, period=30.0
    ).set_index("customer_id")
    printed = {
        "1": 140.096211, "2": 18.943467, "3": 38.180574, "4": 38.180574, "5": 38.180574,
        "6": 1003.868107, "7": 28.109683, "8": 38.180574, "9": 167.418216, "10": 38.180574,
    }  # fmt: skip
    for cid, value in printed.items():
        assert out.loc[cid, "clv"] == pytest.approx(value, rel=1e-6), cid
    # and lifetimes' conditional_expected_average_profit of the same customers
    profit = {"1": 24.658619, "2": 18.911489, "3": 35.170981, "6": 71.462843, "9": 27.282408}
    for cid, value in profit.items():
        assert out.loc[cid, "expected_order_value"] == pytest.approx(value, rel=1e-6), cid


def test_the_default_period_is_a_month_in_either_time_unit(summary, models):
    """The same customers in days: alpha scales by 7, the monthly CLV is unchanged."""
    daily = summary.assign(recency=summary["recency"] * 7, T=summary["T"] * 7)
    bg_days = clv.BetaGeoModel().fit(daily)
    weekly = clv.customer_lifetime_value(
        models["bgnbd"], models["spend"], summary, horizon=12, discount_rate=0.01
    )
    in_days = clv.customer_lifetime_value(
        bg_days, models["spend"], daily, horizon=12, discount_rate=0.01, time_unit="D"
    )
    assert weekly.attrs["period"] == pytest.approx(MONTH_WEEKS)
    assert in_days.attrs["period"] == pytest.approx(MONTH_DAYS)
    assert in_days.attrs["horizon_length"] == pytest.approx(12 * MONTH_DAYS)
    np.testing.assert_allclose(in_days["clv"], weekly["clv"], rtol=1e-4)


def test_customers_the_spend_model_cannot_value_get_no_clv(summary, models):
    """Repeat orders worth 0 on average (free items): gamma-gamma cannot value them."""
    free = summary.copy()
    repeat = free.index[free["frequency"] > 0][:3]
    free.loc[repeat, "monetary_value"] = 0.0
    with pytest.warns(RuntimeWarning, match="3 customers .* repeat orders worth 0 or less"):
        out = clv.customer_lifetime_value(models["bgnbd"], models["spend"], free, horizon=6)
    assert out.loc[repeat, "clv"].isna().all()
    assert out["clv"].drop(index=repeat).notna().all()


def test_no_finite_mean_spend_gives_no_clv_for_new_customers(summary, models):
    spend = models["spend"]
    saved = dict(spend.params_)
    spend.params_ = {"p": 2.0, "q": 0.8, "gamma": 50.0}  # q <= 1: heavy-tailed spend
    try:
        with pytest.warns(RuntimeWarning, match="no finite expected order value"):
            out = clv.customer_lifetime_value(models["bgnbd"], spend, summary, horizon=6)
    finally:
        spend.params_ = saved
    zero = summary["frequency"] == 0
    assert out.loc[zero, "clv"].isna().all()  # never negative
    assert (out.loc[~zero, "clv"] > 0).all()


def test_an_unconverged_purchase_model_is_flagged(summary, models):
    bg = clv.BetaGeoModel().fit(summary)
    bg.converged_ = False
    with pytest.warns(RuntimeWarning, match="BetaGeoModel did not converge"):
        clv.customer_lifetime_value(bg, models["spend"], summary, horizon=3)


def test_validation(summary, models):
    bg, spend = models["bgnbd"], models["spend"]
    with pytest.raises(ValueError, match="discount_rate is per period"):
        clv.customer_lifetime_value(bg, spend, summary, discount_rate=10)
    with pytest.raises(ValueError, match="discount_rate must be a number >= 0, not '1%'"):
        clv.customer_lifetime_value(bg, spend, summary, discount_rate="1%")
    with pytest.raises(ValueError, match="summary is empty"):
        clv.customer_lifetime_value(bg, spend, summary.iloc[:0])
    with pytest.raises(ValueError, match="discount_rate must be >= 0"):
        clv.customer_lifetime_value(bg, spend, summary, discount_rate=-0.01)
    with pytest.raises(ValueError, match="horizon must be a whole number of periods >= 1"):
        clv.customer_lifetime_value(bg, spend, summary, horizon=0)
    with pytest.raises(ValueError, match="horizon must be a whole number"):
        clv.customer_lifetime_value(bg, spend, summary, horizon=2.5)
    with pytest.raises(ValueError, match="time_unit='M' is not supported"):
        clv.customer_lifetime_value(bg, spend, summary, time_unit="M")
    with pytest.raises(ValueError, match="period must be a number > 0"):
        clv.customer_lifetime_value(bg, spend, summary, period=0.0)
    with pytest.raises(ValueError, match="not fitted yet"):
        clv.customer_lifetime_value(clv.BetaGeoModel(), spend, summary)
    with pytest.raises(TypeError, match="spend_model must be a fitted GammaGammaModel"):
        clv.customer_lifetime_value(bg, bg, summary)
    with pytest.raises(TypeError, match="transaction_model must be a fitted BetaGeoModel"):
        clv.customer_lifetime_value(spend, spend, summary)
    with pytest.raises(ValueError, match="summary has no column 'monetary_value'"):
        clv.customer_lifetime_value(bg, spend, summary.drop(columns="monetary_value"))


# ------------------------------------------------------- frequency-recency heat maps


def test_frequency_recency_matrix(summary, models):
    bg = models["bgnbd"]
    grid = clv.frequency_recency_matrix(bg, T=52.0, max_frequency=6, n_recency=14, t=8.0)
    assert list(grid.columns) == [
        "frequency",
        "recency",
        "T",
        "expected_purchases",
        "prob_alive",
    ]
    assert sorted(grid["frequency"].unique()) == list(range(7))
    assert len(grid) == 7 * 14
    assert grid["recency"].between(0, 52).all()
    # every cell is the model's prediction for that (x, t_x, T); x = 0 does not depend on
    # recency (there is no purchase after the first), so its row repeats the x = 0 value
    cells = grid.assign(recency=np.where(grid["frequency"] == 0, 0.0, grid["recency"]))
    np.testing.assert_allclose(grid["expected_purchases"], bg.predict_purchases(8.0, cells))
    np.testing.assert_allclose(grid["prob_alive"], bg.prob_alive(cells))
    assert (grid.loc[grid["frequency"] == 0, "prob_alive"] == 1).all()  # BG/NBD: x = 0 alive
    # a recent buyer is more likely alive than one who bought as often long ago
    six = grid[grid["frequency"] == 6].sort_values("recency")
    assert six["prob_alive"].is_monotonic_increasing
    with pytest.raises(ValueError, match="T must be a number > 0"):
        clv.frequency_recency_matrix(bg, T=0.0)


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("kind", ["expected_purchases", "prob_alive"])
def test_plot_frequency_recency(summary, models, language, kind):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    out = clv.plot_frequency_recency(
        models["bgnbd"], summary, kind=kind, t=12.0, ax=ax, language=language, time_unit="W"
    )
    assert out is ax
    assert ax.get_ylabel() == i18n.t("frequency", language)
    assert ax.get_xlabel().startswith(i18n.t("recency", language))
    assert ax.get_title() == i18n.t(f"title_fr_{kind}", language)
    assert len(ax.images) == 1
    plt.close(fig)
    with pytest.raises(ValueError, match="kind='clv' is not supported"):
        clv.plot_frequency_recency(models["bgnbd"], summary, kind="clv")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_clv_by_frequency(summary, models, language):
    out = clv.customer_lifetime_value(models["bgnbd"], models["spend"], summary, horizon=12)
    table = clv.clv_by_frequency(out, summary)
    assert table["customers"].sum() == len(summary)
    assert table["clv_share"].sum() == pytest.approx(1.0)
    assert table["total_clv"].sum() == pytest.approx(out["clv"].sum())
    groups = pd.cut(summary["frequency"], [-0.5, 0.5, 1.5, 3.5, 7.5, np.inf])
    means = out["clv"].groupby(groups.to_numpy(), observed=False).mean().to_numpy()
    np.testing.assert_allclose(table["mean_clv"], means)
    shown = clv.clv_by_frequency_display(table, language)
    assert i18n.t("mean_clv", language) in shown.columns
