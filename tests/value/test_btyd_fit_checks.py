"""A BTYD fit is only called converged at a proper optimum, and says so when it is not.

A proper optimum of the likelihood is interior (no parameter at the edge of the search
range), has a positive definite Hessian (finite standard errors), and its 95% intervals
stay within the search range. On thin data (a handful of repeat buyers) the BG/NBD and
Pareto/NBD likelihoods are flat in some direction: the estimates run off towards infinity
and mean nothing. Those fits must warn in plain words and set ``converged_ = False``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from crm_lib import value as clv
from crm_lib.datasets._btyd import BGNBDParams, simulate_bgnbd


def btyd_sample(n: int, params: BGNBDParams, seed: int) -> pd.DataFrame:
    """BG/NBD customers observed for 4-52 weeks (the world's generator)."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(4.0, 52.0, n)
    d = simulate_bgnbd(rng, params, T)
    last = np.zeros(n)
    has = d.n_repeat > 0
    last[has] = d.times[d.offsets[1:][has] - 1]
    return pd.DataFrame({"frequency": d.n_repeat, "recency": last, "T": T})


@pytest.fixture(scope="module")
def thin() -> pd.DataFrame:
    """300 customers of whom 6 made a repeat purchase (a rare-purchase population)."""
    sample = btyd_sample(300, BGNBDParams(r=0.02, alpha=5.0, a=0.8, b=3.0), seed=15)
    assert len(sample) == 300 and int((sample["frequency"] > 0).sum()) == 6
    return sample


@pytest.fixture(scope="module")
def healthy() -> pd.DataFrame:
    return btyd_sample(2_000, BGNBDParams(), seed=3)


@pytest.fixture(scope="module")
def thin_fits(thin) -> dict:
    """Each model fitted once on the thin sample, with the warnings it gave."""
    out = {}
    for model in (clv.BetaGeoModel, clv.ParetoNBDModel):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            out[model] = (model().fit(thin), [w for w in rec if w.category is RuntimeWarning])
    return out


@pytest.mark.parametrize("model", [clv.BetaGeoModel, clv.ParetoNBDModel])
def test_thin_data_is_not_called_converged(thin_fits, model):
    fit, rec = thin_fits[model]
    assert len(rec) == 1
    assert "6 of 300 customers made a repeat purchase" in str(rec[0].message)
    assert fit.converged_ is False
    assert fit.fit_problems_  # what went wrong, in words
    text = str(rec[0].message)
    assert "not a proper optimum" in text
    assert "more customers or a longer" in text  # what to do
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "invalid value in sqrt" from numpy
        table = fit.summary()
    # no standard error is reported for the parameters the data do not pin down (the
    # dropout mixing law here), the purchase-rate ones keep theirs
    dropout = ["a", "b"] if model is clv.BetaGeoModel else ["s", "beta"]
    assert table.loc[dropout, ["std_error", "ci_low", "ci_high"]].isna().all().all()
    assert np.isfinite(table.loc[["r", "alpha"], "std_error"]).all()


def test_thin_bgnbd_reproduces_the_review_case(thin):
    """The reported symptom: a and b run to ~1e6 with NaN errors and converged_ True."""
    with pytest.warns(RuntimeWarning, match="edge of the search range|do not pin down"):
        fit = clv.BetaGeoModel().fit(thin)
    assert fit.converged_ is False
    assert fit.n_starts_ > 1  # the other deterministic starts were tried too


def test_thin_bgnbd_says_the_dropout_mixing_collapsed(thin_fits):
    """a, b -> infinity with a / (a + b) fixed: one dropout probability for everyone."""
    fit, rec = thin_fits[clv.BetaGeoModel]
    share = fit.params_["a"] / (fit.params_["a"] + fit.params_["b"])
    assert f"one common dropout probability a / (a + b) = {share:.3g}" in str(rec[0].message)


def test_thin_fits_are_deterministic(thin, thin_fits):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        again = clv.BetaGeoModel().fit(thin)
    first = thin_fits[clv.BetaGeoModel][0]
    assert again.params_ == first.params_
    assert again.fit_problems_ == first.fit_problems_


def test_a_bad_first_start_is_rescued_by_the_other_starts(healthy):
    """From a start deep in the flat region (a, b ~ 1e6) L-BFGS-B stalls; the other
    deterministic starts reach the optimum that the default start finds."""

    class BadStart(clv.BetaGeoModel):
        def _initial(self, x, T):
            return np.array([0.0, 0.0, 14.0, 14.0])

    reference = clv.BetaGeoModel().fit(healthy)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rescued = BadStart().fit(healthy)
    assert rescued.converged_ is True and rescued.n_starts_ == 6
    for name, value in reference.params_.items():
        assert rescued.params_[name] == pytest.approx(value, rel=1e-4), name


@pytest.mark.parametrize("model", [clv.BetaGeoModel, clv.ParetoNBDModel])
def test_healthy_fit_is_converged_without_warning(healthy, model):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = model().fit(healthy)
    assert fit.converged_ is True
    assert fit.fit_problems_ == []
    assert fit.n_starts_ == 1  # a proper optimum from the first start: no retries
    assert np.isfinite(fit.summary()["std_error"]).all()
    assert (np.linalg.eigvalsh(fit.hessian_) > 0).all()
