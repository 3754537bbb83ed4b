"""Frequentist analysis of A/B(/n) tests: tidy DataFrame in, one row per treatment arm out.

Every function returns the columns of :data:`COLUMNS` (``metric, control, treatment,
n_control, n_treatment, estimate_control, estimate_treatment, diff, ci_low, ci_high,
rel_diff, rel_ci_low, rel_ci_high, statistic, p_value, method``), sometimes followed by
method-specific columns. ``diff`` is treatment minus control; ``rel_diff`` is
treatment / control - 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from crm_lib.experiments import stats as st
from crm_lib.experiments._validate import (
    COLUMNS,
    arms,
    check_alpha,
    frame,
    is_binary,
    moments,
    numeric,
    require_columns,
    require_min_n,
    require_spread,
)

__all__ = [
    "COLUMNS",
    "Metric",
    "adjust_pvalues",
    "analyze",
    "bootstrap_test",
    "cuped",
    "experiment_frame",
    "means_test",
    "nps_test",
    "proportions_test",
    "rank_test",
    "ratio_test",
    "srm_check",
]

SRM_THRESHOLD = 0.001


def choose_experiment(
    assignments: pd.DataFrame,
    experiment_id: str = "",
    *,
    experiment_col: str = "experiment_id",
    time_col: str = "assigned_at",
) -> str:
    """The experiment to analyse: ``experiment_id`` if the data has it, else the latest one.

    Parameters
    ----------
    assignments : pandas.DataFrame
        The ``experiment_assignments`` table.
    experiment_id : str
        ``""`` picks the experiment whose first assignment is the latest (the only one
        when there is one).

    Raises
    ------
    ValueError
        When the table is empty, or ``experiment_id`` is not in it (the message lists the
        experiments there are).
    """
    if experiment_col not in assignments or assignments.empty:
        raise ValueError("the dataset has no experiment assignments to analyse")
    present = assignments[experiment_col].dropna().unique().tolist()
    if experiment_id:
        if experiment_id not in present:
            raise ValueError(
                f"experiment_id={experiment_id!r} is not in the data; experiments there: "
                f"{sorted(present, key=str)}"
            )
        return experiment_id
    first = (
        pd.to_datetime(assignments[time_col], utc=True).groupby(assignments[experiment_col]).min()
    )
    return str(first.sort_values(kind="stable").index[-1])


def experiment_frame(
    assignments: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    group_col: str = "variant",
    experiment_id: str | None = None,
    experiment_col: str = "experiment_id",
) -> pd.DataFrame:
    """Join assignments to outcomes, one row per assigned customer, with checks.

    Raises if a customer appears in more than one variant (broken assignment: analyse
    nothing until it is fixed) or if an assigned customer has no outcome row.

    Returns
    -------
    pandas.DataFrame
        The assignment columns followed by the outcome columns.
    """
    require_columns(assignments, [customer_col, group_col], "assignments")
    require_columns(outcomes, [customer_col], "outcomes")
    a, o = assignments, outcomes
    if experiment_id is not None:
        require_columns(a, [experiment_col], "assignments")
        a = a[a[experiment_col] == experiment_id]
        if experiment_col in o.columns:
            o = o[o[experiment_col] == experiment_id]
        if a.empty:
            raise ValueError(f"no assignments for experiment_id={experiment_id!r}")
    per = a.groupby(customer_col, observed=True)[group_col].nunique()
    if (per > 1).any():
        bad = per[per > 1].index[:5].tolist()
        raise ValueError(
            f"{int((per > 1).sum())} customer(s) are assigned to more than one variant "
            f"(e.g. {bad}); the assignment is broken -- fix it (or drop those customers and "
            "report it) before analysing."
        )
    a = a.drop_duplicates(subset=[customer_col])
    if o[customer_col].duplicated().any():
        raise ValueError("outcomes has more than one row per customer; aggregate it first")
    drop = [c for c in o.columns if c in a.columns and c != customer_col]
    out = a.merge(o.drop(columns=drop), on=customer_col, how="left", indicator=True)
    missing = int((out["_merge"] == "left_only").sum())
    if missing:
        raise ValueError(
            f"{missing} assigned customer(s) have no outcome row; an experiment must be "
            "analysed on everyone assigned (intention to treat) -- add zero outcomes for them."
        )
    return out.drop(columns="_merge")


def srm_check(
    data: pd.DataFrame,
    *,
    group_col: str,
    expected: Mapping[object, float] | None = None,
    customer_col: str | None = None,
    threshold: float = SRM_THRESHOLD,
) -> pd.DataFrame:
    """Sample ratio mismatch: chi-square goodness of fit of the arm sizes.

    Parameters
    ----------
    data : DataFrame
        One row per assigned unit.
    group_col : str
        Variant column.
    expected : mapping, optional
        Planned share of each variant (normalised to sum to one); equal shares by default.
        Every variant of the data needs a share. A planned variant with no units at all,
        or units in a variant planned at share 0, raise the alarm whatever the p-value.
    customer_col : str, optional
        If given, checks that no unit is counted twice.
    threshold : float
        Alarm when ``p_value < threshold`` (0.001, the usual industry convention).

    Returns
    -------
    pandas.DataFrame
        One row per variant: ``variant, n, observed_share, expected_share, expected_n,
        statistic, p_value, srm, action``. ``srm`` (bool, the same on every row) is the alarm;
        ``action`` says what to do.

    Notes
    -----
    ``chi2 = sum_k (n_k - N q_k)^2 / (N q_k)``, ``k - 1`` degrees of freedom. A mismatch means
    the assignment or the logging lost units in a way that may depend on the treatment, so
    the effect estimates cannot be trusted: stop and find the cause.

    References
    ----------
    Fabijan, A. et al. (2019). Diagnosing sample ratio mismatch in online controlled
    experiments. KDD '19, 2156-2164.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"variant": ["control"] * 51_000 + ["coupon"] * 49_000})
    >>> res = srm_check(df, group_col="variant")
    >>> bool(res["srm"].iloc[0]), res["action"].iloc[0][:5]
    (True, 'STOP:')
    """
    require_columns(data, [group_col] + ([customer_col] if customer_col else []))
    if customer_col and data[customer_col].duplicated().any():
        raise ValueError(
            f"{customer_col!r} has duplicated units; count each unit once (a customer in two "
            "variants is itself a broken assignment)."
        )
    counts = data[group_col].value_counts(dropna=False).sort_index()
    if counts.index.isna().any():
        raise ValueError(f"{group_col!r} has missing values; every unit needs a variant")
    labels, n, q = srm_plan(list(counts.index), counts.to_numpy(dtype=float), expected)
    if len(labels) < 2:
        raise ValueError(f"only one variant ({labels!r}) in {group_col!r}; nothing to compare")
    return srm_frame(labels, n, q, threshold)


def srm_plan(
    labels: list, n: np.ndarray, expected: Mapping[object, float] | None
) -> tuple[list, np.ndarray, np.ndarray]:
    """Arm labels, counts and planned shares (summing to one) for an SRM check.

    Without ``expected`` the shares are equal. With it, every arm of the data must have a
    planned share; planned arms absent from the data are added with zero units (labels
    sorted by their text). Shared by :func:`srm_check` and ``ArmStats.srm``.
    """
    if expected is None:
        return list(labels), np.asarray(n, dtype=float), np.full(len(labels), 1 / len(labels))
    if any(v < 0 for v in expected.values()) or sum(expected.values()) <= 0:
        raise ValueError("expected shares must be non-negative and sum to a positive number")
    extra = [k for k in labels if k not in expected]
    if extra:
        raise ValueError(f"variant(s) {extra} are in the data but not in expected={dict(expected)}")
    counts = dict(zip(labels, np.asarray(n, dtype=float), strict=True))
    all_labels = sorted(set(labels) | set(expected), key=str)
    q = np.array([expected[k] for k in all_labels], dtype=float)
    return all_labels, np.array([counts.get(k, 0.0) for k in all_labels]), q / q.sum()


def srm_frame(labels: list, n: np.ndarray, q: np.ndarray, threshold: float) -> pd.DataFrame:
    """The SRM verdict table from arm counts ``n`` and planned shares ``q`` (sum to one).

    Shared by :func:`srm_check` (raw rows) and ``ArmStats.srm`` (summarised rows) so that
    both give the same table and the same advice.

    Two mismatches are structural and raise the alarm whatever the chi-square says: an arm
    planned with a positive share that has no units (the assignment never reached it), and
    units in an arm planned at share 0 (``chi2 = inf``, ``p = 0``). An arm planned at 0 with
    no units is left out of the test.
    """
    n, q = np.asarray(n, dtype=float), np.asarray(q, dtype=float)
    planned = q > 0
    unplanned = [labels[k] for k in np.flatnonzero(~planned & (n > 0))]
    empty = [labels[k] for k in np.flatnonzero(planned & (n == 0))]
    if unplanned:
        chi2, p = np.inf, 0.0
    elif planned.sum() < 2:
        chi2, p = 0.0, 1.0
    else:
        chi2, p = st.srm_from_counts(n[planned], q[planned])
    reasons = []
    if unplanned:
        reasons.append(
            f"variant(s) {', '.join(map(repr, unplanned))} have units but a planned share of 0"
        )
    if empty:
        reasons.append(
            f"variant(s) {', '.join(map(repr, empty))} are planned but have no units at all"
        )
    if p < threshold and not unplanned:
        reasons.append(f"sample ratio mismatch (p = {p:.2g} < {threshold:g})")
    alarm = bool(reasons)
    action = (
        "STOP: "
        + "; ".join(reasons)
        + "; do not trust the effect estimates until the cause (assignment, eligibility, "
        "logging, bots) is found"
        if alarm
        else "ok: arm sizes agree with the planned split"
    )
    total = n.sum()
    return pd.DataFrame(
        {
            "variant": labels,
            "n": n.astype(np.int64),
            "observed_share": n / total,
            "expected_share": q,
            "expected_n": q * total,
            "statistic": float(chi2),
            "p_value": float(p),
            "srm": alarm,
            "action": action,
        }
    )


def proportions_test(
    data: pd.DataFrame,
    *,
    group_col: str,
    converted_col: str,
    control: object,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Score test for two proportions with the score intervals that invert it (lift and ratio).

    Parameters
    ----------
    data : DataFrame
        One row per randomised unit.
    group_col, converted_col : str
        Variant column; conversion column (bool or 0/1, no missing values).
    control : object
        Value of ``group_col`` that marks the control arm.
    alpha : float
        Two-sided level; intervals are ``1 - alpha``.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`, one row per treatment arm. ``method`` names the test and interval.

    Notes
    -----
    Miettinen-Nurminen score test of no difference, ``z = (p1 - p0) / sqrt(p (1-p)
    (1/n0 + 1/n1) N/(N-1))`` (pooled ``p``; statsmodels' ``test_proportions_2indep(
    method='score')``). CI for ``p1 - p0`` and for ``p1/p0 - 1``: the score intervals, i.e.
    every difference (ratio) that the same score test does not reject, so the test and both
    intervals always give the same verdict (``p < alpha`` exactly when they exclude no
    change). Zero conversions in both arms give ``z = 0, p = 1``; zero conversions in the
    control give a NaN relative lift (with a ``RuntimeWarning``). See
    :func:`crm_lib.experiments.stats.two_proportions_from_counts`.

    References
    ----------
    Miettinen, O., & Nurminen, M. (1985). Statistics in Medicine, 4(2), 213-226.
    Fagerland, M. W., Lydersen, S., & Laake, P. (2015). Statistical Methods in Medical
    Research, 24(2), 224-254.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"variant": ["a"] * 100 + ["b"] * 100,
    ...                    "converted": [1] * 10 + [0] * 90 + [1] * 20 + [0] * 80})
    >>> res = proportions_test(df, group_col="variant", converted_col="converted", control="a")
    >>> round(float(res["diff"].iloc[0]), 2), round(float(res["p_value"].iloc[0]), 4)
    (0.1, 0.0482)
    """
    check_alpha(alpha)
    a = arms(data, group_col, control)
    x = numeric(data, converted_col)
    if not is_binary(data[converted_col], x):
        raise ValueError(
            f"column {converted_col!r} must be boolean or 0/1; use means_test for other metrics"
        )
    n = a.n
    conv = np.bincount(a.codes, weights=x, minlength=len(a.labels))
    c = a.control
    out = []
    for k in a.treatments:
        res = st.two_proportions_from_counts(n[c], conv[c], n[k], conv[k], alpha=alpha)
        if conv[c] == 0:
            st.warn_relative_undefined(f"proportions_test({converted_col!r})")
        out.append(res)
    return frame(converted_col, a, n, out, "score test (Miettinen-Nurminen); score CIs")


def means_test(
    data: pd.DataFrame,
    *,
    group_col: str,
    value_col: str,
    control: object,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Welch's t test for the difference in means, with relative-lift CI.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS` plus ``df`` (Welch-Satterthwaite) and ``std_error``.

    Notes
    -----
    ``t = (m1 - m0) / sqrt(s1^2/n1 + s0^2/n0)``; variances from centred sums of squares
    (two passes), so a large common offset does not lose precision. Identical to
    ``scipy.stats.ttest_ind(..., equal_var=False)``. The relative lift's CI is the delta
    method on ``log(m1/m0)`` (requires positive means). A ``ValueError`` is raised when
    both arms of a comparison have zero variance (``t`` would be ``diff / 0``). See
    :func:`crm_lib.experiments.stats.welch_from_stats`.

    References
    ----------
    Welch, B. L. (1947). Biometrika, 34(1/2), 28-35.
    """
    check_alpha(alpha)
    a = arms(data, group_col, control)
    x = numeric(data, value_col)
    n, m, v = moments(a.codes, len(a.labels), x)
    require_min_n(n, a.labels)
    c = a.control
    out = []
    for k in a.treatments:
        require_spread(v, a.labels, [c, k], value_col)
        if m[c] <= 0:
            st.warn_relative_undefined(f"means_test({value_col!r})")
        out.append(st.welch_from_stats(n[c], m[c], v[c], n[k], m[k], v[k], alpha=alpha))
    return frame(value_col, a, n, out, "Welch t", extra=["df", "std_error"])


def bootstrap_test(
    data: pd.DataFrame,
    *,
    group_col: str,
    value_col: str,
    control: object,
    alpha: float = 0.05,
    n_resamples: int = 2000,
    seed: int | None = 0,
    max_cells: int = 20_000_000,
) -> pd.DataFrame:
    """Percentile bootstrap for the difference and ratio of means (vectorised, seeded).

    Each arm is resampled with replacement independently (``n_resamples`` times, in chunks
    of at most ``max_cells`` drawn indices so memory stays bounded). The cost grows as
    ``n_resamples * n``: meant for arms up to about 10^5 units, where the normal-theory tests
    may be doubted; for larger arms the central limit theorem makes :func:`means_test` enough.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`; ``statistic`` is ``diff / sd(diff*)``; ``p_value`` is the two-sided
        bootstrap p-value ``min(1, 2 min(P*(diff* <= 0), P*(diff* >= 0)))`` with the
        ``(1 + count) / (1 + B)`` correction.

    References
    ----------
    Efron, B., & Tibshirani, R. J. (1993). An Introduction to the Bootstrap. Chapman & Hall.
    """
    check_alpha(alpha)
    if n_resamples < 100:
        raise ValueError(f"n_resamples must be at least 100, got {n_resamples}")
    a = arms(data, group_col, control)
    x = numeric(data, value_col)
    n = a.n
    require_min_n(n, a.labels)
    rng = np.random.default_rng(seed)
    boot = {}
    for k in range(len(a.labels)):
        vals = x[a.codes == k]
        size = len(vals)
        chunk = max(1, min(n_resamples, max_cells // size))
        means = []
        for start in range(0, n_resamples, chunk):
            b = min(chunk, n_resamples - start)
            means.append(vals[rng.integers(0, size, size=(b, size))].mean(axis=1))
        boot[k] = (vals.mean(), np.concatenate(means))
    c = a.control
    m0, b0 = boot[c]
    out = []
    lo_q, hi_q = alpha / 2, 1 - alpha / 2
    for k in a.treatments:
        m1, b1 = boot[k]
        d = b1 - b0
        count = min((d <= 0).sum(), (d >= 0).sum())
        p = min(1.0, 2 * (1 + count) / (1 + n_resamples))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = b1 / b0 - 1
            rel = m1 / m0 - 1 if m0 > 0 else np.nan
        rel_lo, rel_hi = np.quantile(r, [lo_q, hi_q]) if m0 > 0 else (np.nan, np.nan)
        sd = d.std(ddof=1)
        out.append(
            {
                "estimate_control": m0,
                "estimate_treatment": m1,
                "diff": m1 - m0,
                "ci_low": np.quantile(d, lo_q),
                "ci_high": np.quantile(d, hi_q),
                "rel_diff": rel,
                "rel_ci_low": rel_lo,
                "rel_ci_high": rel_hi,
                "statistic": (m1 - m0) / sd if sd > 0 else 0.0,
                "p_value": p,
            }
        )
    return frame(value_col, a, n, out, f"bootstrap percentile (B={n_resamples}, seed={seed})")


def rank_test(
    data: pd.DataFrame,
    *,
    group_col: str,
    value_col: str,
    control: object,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Mann-Whitney U (Wilcoxon rank-sum) test of treatment against control.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS` plus ``prob_superiority``. ``estimate_*`` are the medians, ``diff``
        their difference (``ci_*`` and ``rel_ci_*`` are NaN: the rank test gives no interval
        for it); ``statistic`` is U of the treatment arm; ``prob_superiority`` is
        ``U / (n0 n1) = P(T > C) + P(T = C) / 2``, the effect the test is about.

    Notes
    -----
    ``scipy.stats.mannwhitneyu(treatment, control, alternative='two-sided')`` with its
    automatic choice of exact or tie-corrected normal p-value. Suited to skewed or ordinal
    metrics (NPS answers, revenue with outliers); it tests a shift in distribution, not in
    means.

    References
    ----------
    Mann, H. B., & Whitney, D. R. (1947). Annals of Mathematical Statistics, 18(1), 50-60.
    """
    check_alpha(alpha)
    a = arms(data, group_col, control)
    x = numeric(data, value_col)
    n = a.n
    require_min_n(n, a.labels, 1)
    xc = x[a.codes == a.control]
    out = []
    for k in a.treatments:
        xt = x[a.codes == k]
        res = sps.mannwhitneyu(xt, xc, alternative="two-sided")
        m0, m1 = np.median(xc), np.median(xt)
        out.append(
            {
                "estimate_control": m0,
                "estimate_treatment": m1,
                "diff": m1 - m0,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "rel_diff": m1 / m0 - 1 if m0 > 0 else np.nan,
                "rel_ci_low": np.nan,
                "rel_ci_high": np.nan,
                "statistic": res.statistic,
                "p_value": res.pvalue,
                "prob_superiority": res.statistic / (len(xt) * len(xc)),
            }
        )
    return frame(value_col, a, n, out, "Mann-Whitney U", extra=["prob_superiority"])


def ratio_test(
    data: pd.DataFrame,
    *,
    group_col: str,
    numerator_col: str,
    denominator_col: str,
    control: object,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Delta-method test for a ratio metric such as revenue per order.

    Parameters
    ----------
    numerator_col, denominator_col : str
        Per-unit (per-customer) numerator and denominator; the metric is
        ``sum(numerator) / sum(denominator)`` within each arm.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS` plus ``std_error``; ``metric`` is ``"numerator/denominator"``.

    Notes
    -----
    ``Var(R) = (s_y^2 - 2 R s_yd + R^2 s_d^2) / (n mean(d)^2)`` per arm; normal CI for the
    difference; ``log`` delta method for the relative lift. See
    :func:`crm_lib.experiments.stats.ratio_from_stats`.

    References
    ----------
    Deng, A., Knoblich, U., & Lu, J. (2018). KDD '18, 233-242.
    """
    check_alpha(alpha)
    a = arms(data, group_col, control)
    y = numeric(data, numerator_col)
    d = numeric(data, denominator_col)
    n, md, vd, my, vy, cov = moments(a.codes, len(a.labels), d, y)
    require_min_n(n, a.labels)
    bad = [lab for lab, m in zip(a.labels, md, strict=True) if m <= 0]
    if bad:
        raise ValueError(
            f"the denominator {denominator_col!r} sums to zero (or less) in arm(s) {bad}; the "
            "ratio is undefined there"
        )
    c = a.control
    out = [
        st.ratio_from_stats(
            n[c],
            my[c],
            md[c],
            vy[c],
            vd[c],
            cov[c],
            n[k],
            my[k],
            md[k],
            vy[k],
            vd[k],
            cov[k],
            alpha=alpha,
        )
        for k in a.treatments
    ]
    return frame(
        f"{numerator_col}/{denominator_col}", a, n, out, "delta method (ratio)", extra=["std_error"]
    )


def cuped(
    data: pd.DataFrame,
    *,
    metric_col: str,
    covariate_col: str,
    group_col: str,
    control: object,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """CUPED: Welch test on the metric adjusted by a pre-experiment covariate.

    Parameters
    ----------
    metric_col : str
        Outcome measured during the experiment (e.g. revenue).
    covariate_col : str
        The same quantity before assignment (e.g. ``pre_period_revenue``); it must not be
        affected by the treatment.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS` plus ``theta`` (pooled regression coefficient),
        ``variance_reduction`` (achieved: ``1 - Var(y_adj)/Var(y)`` within arms, about
        ``rho^2``), ``df``, ``std_error``. ``estimate_*`` are the unadjusted arm means; ``diff``
        and its CI are the adjusted ones.

    Notes
    -----
    ``theta = Cov(y, x)/Var(x)`` on the pooled data; ``y_adj = y - theta (x - mean(x))``.
    With more than two arms theta is computed on the control and the treatment arm of each
    comparison. See :func:`crm_lib.experiments.stats.cuped_from_stats`.

    References
    ----------
    Deng, A., Xu, Y., Kohavi, R., & Walker, T. (2013). WSDM '13, 123-132.
    """
    check_alpha(alpha)
    a = arms(data, group_col, control)
    y = numeric(data, metric_col)
    x = numeric(data, covariate_col)
    n, mx, vx, my, vy, cxy = moments(a.codes, len(a.labels), x, y)
    require_min_n(n, a.labels)
    c = a.control
    out = []
    for k in a.treatments:
        idx = [c, k]
        out.append(
            st.cuped_from_stats(n[idx], my[idx], mx[idx], vy[idx], vx[idx], cxy[idx], alpha=alpha)
        )
    return frame(
        metric_col,
        a,
        n,
        out,
        f"CUPED (covariate {covariate_col}) + Welch t",
        extra=["theta", "variance_reduction", "df", "std_error"],
    )


def nps_test(
    data: pd.DataFrame,
    *,
    group_col: str,
    score_col: str,
    control: object,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Difference in Net Promoter Score (points) with its CI, plus a rank test on 0-10 answers.

    Missing answers (non-respondents) are excluded; ``n_control``/``n_treatment`` count the
    answers and ``n_missing`` the excluded rows. Comparing respondents is only unbiased if the
    treatment does not change who answers -- check the response rates.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS` (estimates and ``diff`` in NPS points, -100..100; ``rel_*`` NaN)
        plus ``rank_p_value`` (Mann-Whitney U on the 0-10 answers) and ``n_missing``.

    Notes
    -----
    Promoters answer 9-10, detractors 0-6. Per arm ``Var(p+ - p-) = (p+ + p- - (p+ - p-)^2)/n``
    (multinomial); Wald CI and z test for the difference of the two arms.

    References
    ----------
    Rocks, B. (2016). Interval estimation for the "net promoter score". The American
    Statistician, 70(4), 365-372.
    """
    check_alpha(alpha)
    a = arms(data, group_col, control)
    x = numeric(data, score_col, allow_na=True)
    ok = ~np.isnan(x)
    if not np.isin(x[ok], np.arange(11)).all():
        raise ValueError(f"column {score_col!r} must hold integer answers 0-10 (or missing)")
    k_all = len(a.labels)
    codes = a.codes[ok]
    xs = x[ok]
    n = np.bincount(codes, minlength=k_all).astype(float)
    require_min_n(n, a.labels, 1)
    pro = np.bincount(codes, weights=(xs >= 9).astype(float), minlength=k_all)
    det = np.bincount(codes, weights=(xs <= 6).astype(float), minlength=k_all)
    c = a.control
    out = []
    for k in a.treatments:
        res = st.nps_from_counts(n[c], pro[c], det[c], n[k], pro[k], det[k], alpha=alpha)
        res["rank_p_value"] = sps.mannwhitneyu(xs[codes == k], xs[codes == c]).pvalue
        res["n_missing"] = float((~ok).sum())
        out.append(res)
    res_df = frame(
        score_col,
        a,
        n,
        out,
        "NPS difference (multinomial Wald)",
        extra=["rank_p_value", "n_missing"],
    )
    res_df["n_missing"] = res_df["n_missing"].astype(np.int64)
    return res_df


def adjust_pvalues(
    p: Sequence[float] | np.ndarray | pd.Series,
    method: Literal["holm", "fdr_bh", "bonferroni", "none"] = "holm",
) -> np.ndarray:
    """Adjust p-values for multiple comparisons (``statsmodels`` ``multipletests``).

    ``holm`` controls the family-wise error rate (Holm 1979); ``fdr_bh`` the false discovery
    rate (Benjamini & Hochberg 1995); ``none`` returns the p-values unchanged (for a single
    pre-registered comparison). NaN p-values are left NaN and not counted.
    """
    if method not in ("holm", "fdr_bh", "bonferroni", "none"):
        raise ValueError(f"method must be 'holm', 'fdr_bh', 'bonferroni' or 'none', got {method!r}")
    arr = np.asarray(p, dtype=float)
    out = np.full_like(arr, np.nan)
    ok = ~np.isnan(arr)
    if ((arr[ok] < 0) | (arr[ok] > 1)).any():
        raise ValueError("p-values must lie in [0, 1]")
    if method == "none":
        out[ok] = arr[ok]
    elif ok.any():
        out[ok] = multipletests(arr[ok], method=method)[1]
    return out


@dataclass(frozen=True)
class Metric:
    """One metric of a multi-metric analysis.

    Parameters
    ----------
    column : str
        Column of the metric (numerator for ``kind='ratio'``).
    kind : {'proportion', 'mean', 'cuped', 'ratio', 'nps'}
        Test to use.
    role : {'primary', 'secondary', 'guardrail'}
        Primary and secondary metrics form the family whose p-values are adjusted together;
        guardrails are adjusted in their own family and flagged when breached.
    higher_is_better : bool
        Direction of a good change.
    denominator : str, optional
        Denominator column for ``kind='ratio'``.
    covariate : str, optional
        Pre-period covariate for ``kind='cuped'``.
    """

    column: str
    kind: Literal["proportion", "mean", "cuped", "ratio", "nps"] = "mean"
    role: Literal["primary", "secondary", "guardrail"] = "secondary"
    higher_is_better: bool = True
    denominator: str | None = None
    covariate: str | None = None


#: How each outcome column of the contract's ``experiment_outcomes`` table is tested.
METRIC_PRESETS: dict[str, Metric] = {
    "converted": Metric("converted", kind="proportion", role="primary"),
    "revenue": Metric("revenue", kind="cuped", role="secondary", covariate="pre_period_revenue"),
    "orders": Metric("orders", kind="mean", role="secondary"),
    "nps": Metric("nps", kind="nps", role="guardrail"),
}


def metrics_from_spec(spec: str, presets: dict[str, Metric] | None = None) -> list[Metric]:
    """The metrics named in a comma-separated string, e.g. ``"converted,revenue,nps"``.

    Each name is looked up in ``presets`` (default :data:`METRIC_PRESETS`: conversion is
    primary, revenue is tested with CUPED on ``pre_period_revenue``, orders by Welch, the
    NPS answer is a guardrail). A notebook parameter can therefore choose the metrics
    without code.

    Raises
    ------
    ValueError
        For an empty list, a repeated name or a name without a preset.
    """
    presets = METRIC_PRESETS if presets is None else presets
    names = [name.strip() for name in spec.split(",") if name.strip()]
    if not names:
        raise ValueError("no metric named: give e.g. 'converted,revenue,nps'")
    unknown = [n for n in names if n not in presets]
    if unknown:
        raise ValueError(
            f"unknown metric(s) {', '.join(map(repr, unknown))}: use any of {', '.join(presets)}"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"metric named twice in {spec!r}")
    return [presets[n] for n in names]


def _run_metric(data, m: Metric, group_col, control, alpha) -> pd.DataFrame:
    kw = {"group_col": group_col, "control": control, "alpha": alpha}
    if m.kind == "proportion":
        return proportions_test(data, converted_col=m.column, **kw)
    if m.kind == "mean":
        return means_test(data, value_col=m.column, **kw)
    if m.kind == "cuped":
        if m.covariate is None:
            raise ValueError(f"Metric({m.column!r}, kind='cuped') needs covariate=...")
        return cuped(data, metric_col=m.column, covariate_col=m.covariate, **kw)
    if m.kind == "ratio":
        if m.denominator is None:
            raise ValueError(f"Metric({m.column!r}, kind='ratio') needs denominator=...")
        return ratio_test(data, numerator_col=m.column, denominator_col=m.denominator, **kw)
    if m.kind == "nps":
        return nps_test(data, score_col=m.column, **kw)
    raise ValueError(f"unknown metric kind {m.kind!r}; use proportion, mean, cuped, ratio or nps")


def analyze(
    data: pd.DataFrame,
    *,
    group_col: str,
    control: object,
    metrics: Sequence[Metric],
    alpha: float = 0.05,
    correction: Literal["holm", "fdr_bh", "bonferroni", "none"] = "holm",
) -> pd.DataFrame:
    """Multi-metric summary: every metric for every treatment arm, with adjusted p-values
    and intervals at the matching (adjusted) confidence level.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS` plus ``role, higher_is_better, p_adjusted, ci_level, significant,
        direction, guardrail_breached``. ``p_adjusted`` adjusts primary + secondary metrics
        together and guardrails separately (``correction``); ``ci_level`` is the confidence
        level of that row's intervals (``ci_*``, ``rel_ci_*``); ``direction`` is
        ``'better'``, ``'worse'`` or ``'flat'`` (not significant after adjustment);
        ``guardrail_breached`` is true for a guardrail that got significantly worse.

    Notes
    -----
    Intervals are adjusted like the p-values, so that an interval excludes 0 exactly when
    its adjusted p-value is below ``alpha`` (every test here is paired with the interval
    that inverts it). With ``m`` comparisons in a family and ``p~`` the adjusted p-value:

    * ``bonferroni``: level ``1 - alpha / m`` for every comparison, the simultaneous
      Bonferroni intervals (all cover together with probability at least ``1 - alpha``).
    * ``holm`` and ``fdr_bh``: level ``1 - alpha_i`` with ``alpha_i = alpha p_i / p~_i``, the
      per-comparison level at which the procedure decides that comparison (for Holm the
      critical level of its step, at least ``alpha / m``). They agree with the procedure's
      decisions but, for Holm, are not simultaneous intervals: step-down procedures have no
      informative compatible simultaneous intervals (Strassburger & Bretz 2008). Use
      ``bonferroni`` when joint coverage matters more than power.
    * ``none``: level ``1 - alpha``.

    Relative-lift intervals use the same level; for means, CUPED and ratios they are
    delta-method intervals on the log ratio, which may disagree with the test of the
    difference in borderline cases.

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scandinavian
    Journal of Statistics, 6(2), 65-70.
    Strassburger, K., & Bretz, F. (2008). Compatible simultaneous lower confidence bounds for
    the Holm procedure and other Bonferroni-based closed tests. Statistics in Medicine,
    27(24), 4914-4927.
    """
    check_alpha(alpha)
    if not metrics:
        raise ValueError(
            "metrics is empty; pass e.g. [Metric('converted', kind='proportion', role='primary')]"
        )
    parts, which = [], []
    for i, m in enumerate(metrics):
        r = _run_metric(data, m, group_col, control, alpha)
        r = r[COLUMNS].assign(role=m.role, higher_is_better=m.higher_is_better)
        parts.append(r)
        which += [i] * len(r)
    out = pd.concat(parts, ignore_index=True)
    out["p_adjusted"] = np.nan
    out["ci_level"] = 1 - alpha
    guard = (out["role"] == "guardrail").to_numpy()
    for mask in (guard, ~guard):
        if mask.any():
            p = out.loc[mask, "p_value"].to_numpy()
            adj = adjust_pvalues(p, correction)
            out.loc[mask, "p_adjusted"] = adj
            out.loc[mask, "ci_level"] = 1 - _interval_alpha(p, adj, alpha, correction)
    intervals = ["ci_low", "ci_high", "rel_ci_low", "rel_ci_high"]
    for row in np.flatnonzero(out["ci_level"].to_numpy() != 1 - alpha):
        level_alpha = 1 - float(out.at[row, "ci_level"])
        again = _run_metric(data, metrics[which[row]], group_col, control, level_alpha)
        match = again[again["treatment"] == out.at[row, "treatment"]].iloc[0]
        out.loc[row, intervals] = match[intervals].to_numpy(dtype=float)
    out["significant"] = out["p_adjusted"] < alpha
    good = np.where(out["higher_is_better"], out["diff"] > 0, out["diff"] < 0)
    out["direction"] = np.where(~out["significant"], "flat", np.where(good, "better", "worse"))
    out["guardrail_breached"] = guard & (out["direction"] == "worse").to_numpy()
    return out


def _interval_alpha(
    p: np.ndarray, p_adjusted: np.ndarray, alpha: float, correction: str
) -> np.ndarray:
    """Per-comparison alpha of the intervals that agree with the adjusted p-values.

    ``bonferroni``: ``alpha / m``; ``holm`` / ``fdr_bh``: ``alpha p / p~`` (``alpha / m`` when
    ``p = 0``); ``none`` or a missing p-value: ``alpha``. Then ``p < alpha_i`` exactly when
    ``p~ < alpha``.
    """
    ok = ~np.isnan(p)
    m = int(ok.sum())
    out = np.full(p.shape, alpha, dtype=float)
    if correction == "none" or m == 0:
        return out
    if correction == "bonferroni":
        out[ok] = alpha / m
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(p_adjusted > 0, p / p_adjusted, 1.0 / m)
    out[ok] = alpha * np.clip(ratio[ok], 1.0 / m, 1.0)
    return out
