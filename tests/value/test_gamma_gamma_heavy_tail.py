"""Gamma-gamma with q <= 1: the spend distribution has no finite mean.

In the gamma-gamma model a customer's mean order value is ``p / nu`` with
``nu ~ Gamma(q, rate=gamma)``, so ``E[p / nu] = p * gamma / (q - 1)`` only for ``q > 1``;
for ``q <= 1`` the integral diverges. Given ``x`` repeat orders of mean ``z``, the posterior
is ``nu ~ Gamma(p x + q, rate=gamma + x z)`` and ``E[p / nu | data] = p (gamma + x z) /
(p x + q - 1)``, finite only when ``p x + q > 1``. Heavy-tailed spend (a few huge orders)
drives the fitted ``q`` below 1; the model must say so, never return a negative or
infinite expected value.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from crm_lib import value as clv
from crm_lib.datasets._btyd import GammaGammaParams, draw_order_values

HEAVY = GammaGammaParams(p=3.0, q=0.8, gamma=50.0)  # customer means p / nu: no finite mean


@pytest.fixture(scope="module")
def heavy() -> pd.DataFrame:
    """3,000 repeat buyers with 1-5 repeat orders each, drawn by the world's generator."""
    rng = np.random.default_rng(0)
    n = 3_000
    x = rng.integers(1, 6, n)
    owner = np.repeat(np.arange(n), x)
    _, values = draw_order_values(rng, HEAVY, n, owner)
    return pd.DataFrame({"frequency": x, "monetary_value": np.bincount(owner, values) / x})


def _posterior_mean(p: float, q: float, g: float, x: int, z: float) -> float:
    """E[p / nu] under nu ~ Gamma(p x + q, rate g + x z), by numerical integration."""
    post = stats.gamma(p * x + q, scale=1.0 / (g + x * z))
    return integrate.quad(lambda nu: p / nu * post.pdf(nu), 0, np.inf, limit=200)[0]


def test_heavy_tailed_spend_warns_that_there_is_no_finite_mean(heavy):
    with pytest.warns(RuntimeWarning, match=r"q = 0\.\d+ <= 1.*no finite mean"):
        model = clv.GammaGammaModel().fit(heavy)
    q = model.params_["q"]
    assert q < 1  # the truth is 0.8 ...
    se = model.summary().loc["q", "std_error"]
    assert abs(q - HEAVY.q) < 3 * se  # ... and the fit recovers it
    assert model.population_mean_ == np.inf  # p gamma / (q - 1) diverges: not negative


def test_expected_values_are_never_negative_or_infinite(heavy):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        model = clv.GammaGammaModel().fit(heavy)
    p, q, g = (model.params_[k] for k in ("p", "q", "gamma"))
    new = pd.DataFrame({"frequency": [0, 1, 4], "monetary_value": [0.0, 120.0, 80.0]})
    with pytest.warns(RuntimeWarning, match="1 of 3 customers have no finite expected"):
        expected = model.expected_average_value(new)
    # no repeat order: the population mean, which does not exist -> missing, not negative
    assert np.isnan(expected.iloc[0])
    # repeat buyers: p x + q > 1, the posterior mean exists (checked by integration)
    for i in (1, 2):
        x, z = int(new["frequency"].iloc[i]), float(new["monetary_value"].iloc[i])
        assert expected.iloc[i] == pytest.approx(_posterior_mean(p, q, g, x, z), rel=1e-6)


def test_expected_value_is_missing_where_p_x_plus_q_is_at_most_1(heavy):
    """Hand-worked: p = 0.1, q = 0.5, gamma = 10. x = 1: p x + q - 1 = -0.4 -> no mean;
    x = 10, z = 20: p x + q - 1 = 0.5, E = 0.1 (10 + 200) / 0.5 = 42."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        model = clv.GammaGammaModel().fit(heavy)
    model.params_ = {"p": 0.1, "q": 0.5, "gamma": 10.0}
    new = pd.DataFrame({"frequency": [1, 10], "monetary_value": [20.0, 20.0]})
    with pytest.warns(RuntimeWarning, match=r"q = 0\.5 <= 1"):
        expected = model.expected_average_value(new)
    assert np.isnan(expected.iloc[0])
    assert expected.iloc[1] == pytest.approx(42.0, rel=1e-12)


def test_light_tailed_spend_is_unchanged():
    """q > 1: no warning, the population mean is p gamma / (q - 1) (hand-worked)."""
    rng = np.random.default_rng(1)
    n = 3_000
    x = rng.integers(1, 6, n)
    owner = np.repeat(np.arange(n), x)
    _, values = draw_order_values(rng, GammaGammaParams(), n, owner)
    summary = pd.DataFrame({"frequency": x, "monetary_value": np.bincount(owner, values) / x})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = clv.GammaGammaModel().fit(summary)
        zero = model.expected_average_value(pd.DataFrame({"frequency": [0], "monetary_value": [0]}))
    p, q, g = (model.params_[k] for k in ("p", "q", "gamma"))
    assert model.population_mean_ == pytest.approx(p * g / (q - 1), rel=1e-12)
    assert zero.iloc[0] == pytest.approx(p * g / (q - 1), rel=1e-12)
