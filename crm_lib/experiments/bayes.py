"""Bayesian analysis of conversion rates: Beta-Binomial posteriors."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import integrate
from scipy import stats as sps

from crm_lib.experiments._validate import arms, check_alpha, frame, is_binary, numeric

__all__ = ["bayes_proportions", "prob_to_beat"]


def prob_to_beat(a_t: float, b_t: float, a_c: float, b_c: float) -> float:
    """``P(p_T > p_C)`` for independent ``Beta(a_t, b_t)`` and ``Beta(a_c, b_c)`` posteriors.

    Numerical integration ``int_0^1 f_T(x) F_C(x) dx`` (``scipy.integrate.quad``, split at
    the treatment posterior's bulk so the narrow peak is not missed).
    """
    ft = sps.beta(a_t, b_t)
    fc = sps.beta(a_c, b_c)
    pts = sorted({float(x) for x in ft.ppf([1e-9, 0.5, 1 - 1e-9])})
    edges = [0.0, *pts, 1.0]
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if hi > lo:
            total += integrate.quad(
                lambda x: ft.pdf(x) * fc.cdf(x), lo, hi, epsabs=1e-12, limit=200
            )[0]
    return float(total)


def bayes_proportions(
    data: pd.DataFrame,
    *,
    group_col: str,
    converted_col: str,
    control: object,
    prior: tuple[float, float] = (1.0, 1.0),
    alpha: float = 0.05,
    n_draws: int = 200_000,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Beta-Binomial posterior comparison of each treatment arm with the control.

    Parameters
    ----------
    prior : (a, b)
        Beta prior shared by all arms (uniform by default).
    alpha : float
        Credible intervals are equal-tailed ``1 - alpha``.
    n_draws, seed : int
        Monte Carlo draws per arm and their seed (same seed, same numbers).

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS` -- ``estimate_*`` are posterior means, ``diff`` the posterior mean of
        ``p_T - p_C``, ``rel_diff`` the ratio of posterior means minus one, ``ci_*``/``rel_ci_*`` equal-tailed credible intervals, ``statistic``
        the probability to beat control, ``p_value`` NaN (not a frequentist test) -- plus
        ``prob_beat_control``, ``expected_loss_treatment`` (``E[max(p_C - p_T, 0)]``, the
        conversion rate lost on average if the treatment is shipped) and
        ``expected_loss_control`` (``E[max(p_T - p_C, 0)]``, lost by keeping the control),
        and ``cri_low_*``/``cri_high_*``, each arm's own equal-tailed credible interval
        (exact Beta quantiles).

    Notes
    -----
    ``p_k | data ~ Beta(a + x_k, b + n_k - x_k)``. Probability to beat and expected losses are
    Monte Carlo averages over ``n_draws`` joint draws (standard error below
    ``0.5 / sqrt(n_draws)``); :func:`prob_to_beat` gives the same probability by numerical
    integration.

    References
    ----------
    Stucchio, C. (2015). Bayesian A/B testing at VWO. VWO technical report.
    Gelman, A. et al. (2013). Bayesian Data Analysis (3rd ed.), section 2.4. CRC Press.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"variant": ["a"] * 1000 + ["b"] * 1000,
    ...                    "converted": [1] * 100 + [0] * 900 + [1] * 130 + [0] * 870})
    >>> res = bayes_proportions(df, group_col="variant", converted_col="converted", control="a")
    >>> round(float(res["prob_beat_control"].iloc[0]), 2)
    0.98
    """
    check_alpha(alpha)
    a0, b0 = prior
    if a0 <= 0 or b0 <= 0:
        raise ValueError(f"prior parameters must be > 0, got {prior!r}")
    if n_draws < 1000:
        raise ValueError(f"n_draws must be at least 1000, got {n_draws}")
    a = arms(data, group_col, control)
    x = numeric(data, converted_col)
    if not is_binary(data[converted_col], x):
        raise ValueError(f"column {converted_col!r} must be boolean or 0/1")
    n = a.n
    conv = np.bincount(a.codes, weights=x, minlength=len(a.labels))
    rng = np.random.default_rng(seed)
    post = [(a0 + conv[k], b0 + n[k] - conv[k]) for k in range(len(a.labels))]
    draws = [rng.beta(pa, pb, size=n_draws) for pa, pb in post]
    c = a.control
    dc = draws[c]
    q = [alpha / 2, 1 - alpha / 2]
    out = []
    for k in a.treatments:
        dt = draws[k]
        d = dt - dc
        r = dt / dc - 1
        lo, hi = np.quantile(d, q)
        rlo, rhi = np.quantile(r, q)
        pb = float(np.mean(dt > dc))
        out.append(
            {
                "estimate_control": post[c][0] / sum(post[c]),
                "estimate_treatment": post[k][0] / sum(post[k]),
                "diff": float(d.mean()),
                "ci_low": lo,
                "ci_high": hi,
                "rel_diff": (post[k][0] / sum(post[k])) / (post[c][0] / sum(post[c])) - 1,
                "rel_ci_low": rlo,
                "rel_ci_high": rhi,
                "statistic": pb,
                "p_value": np.nan,
                "prob_beat_control": pb,
                "expected_loss_treatment": float(np.maximum(-d, 0).mean()),
                "expected_loss_control": float(np.maximum(d, 0).mean()),
                # exact equal-tailed credible intervals of each arm's own rate
                "cri_low_control": float(sps.beta.ppf(q[0], *post[c])),
                "cri_high_control": float(sps.beta.ppf(q[1], *post[c])),
                "cri_low_treatment": float(sps.beta.ppf(q[0], *post[k])),
                "cri_high_treatment": float(sps.beta.ppf(q[1], *post[k])),
            }
        )
    return frame(
        converted_col,
        a,
        n,
        out,
        f"Beta-Binomial (prior Beta({a0:g}, {b0:g}), {n_draws} draws, seed={seed})",
        extra=[
            "prob_beat_control",
            "expected_loss_treatment",
            "expected_loss_control",
            "cri_low_control",
            "cri_high_control",
            "cri_low_treatment",
            "cri_high_treatment",
        ],
    )
