"""Treatment effect by segment, with a heterogeneity test and an explicit forking-paths caution.

Looking at the effect in many segments after the fact is the classic garden of forking
paths (Gelman & Loken 2013): with ten segments, one of them will look "significant" by
chance about 40% of the time. :func:`effect_by_segment` therefore adjusts the per-segment
p-values, reports one global test of whether the effect differs between segments at all,
and labels every row exploratory unless the segmentation was pre-registered.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

from crm_lib.experiments import stats as st
from crm_lib.experiments._validate import arms, check_alpha, is_binary, numeric, require_columns
from crm_lib.experiments.analysis import adjust_pvalues

__all__ = ["CAUTION_EXPLORATORY", "CAUTION_PREREGISTERED", "birth_cohort", "effect_by_segment"]

CAUTION_EXPLORATORY = (
    "exploratory: segments chosen after seeing the data (forking paths); treat differences as "
    "hypotheses for a new, pre-registered test, not as findings"
)
CAUTION_PREREGISTERED = (
    "confirmatory: segmentation pre-registered before the test; adjusted p-values apply"
)
MISSING_SEGMENT = "unknown"


def birth_cohort(
    customers: pd.DataFrame, *, birth_col: str = "birth_year", cutoff: int = 1990
) -> pd.Series:
    """Segment label by birth year: ``born_{cutoff}_or_later``, ``born_before_{cutoff}``, or
    ``unknown`` (missing birth year), aligned with ``customers``."""
    require_columns(customers, [birth_col], "customers")
    b = customers[birth_col].to_numpy(dtype=float, na_value=np.nan)
    lab = np.where(b >= cutoff, f"born_{cutoff}_or_later", f"born_before_{cutoff}")
    return pd.Series(np.where(np.isnan(b), MISSING_SEGMENT, lab), index=customers.index)


def _interaction_lr_test(n: np.ndarray, x: np.ndarray) -> tuple[float, float, int]:
    """LR chi-square of segment x arm interaction in a logistic model, on cell counts.

    ``n, x`` have shape (segments, arms). The interaction model is saturated, so the
    statistic is the deviance of the main-effects model ``logit p = a_s + b_k``.
    """
    import statsmodels.api as sm

    s_count, k_count = n.shape
    keep = n > 0
    seg, arm = np.nonzero(keep)
    design = np.zeros((len(seg), s_count + k_count - 1))
    design[np.arange(len(seg)), seg] = 1.0
    for j in range(1, k_count):
        design[arm == j, s_count + j - 1] = 1.0
    endog = np.c_[x[keep], n[keep] - x[keep]]
    df = int(len(seg) - np.linalg.matrix_rank(design))
    if df <= 0:
        return np.nan, np.nan, 0
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # perfect separation in an all-0 segment: deviance ok
        res = sm.GLM(endog, design, family=sm.families.Binomial()).fit()
    dev = float(max(res.deviance, 0.0))
    return dev, float(sps.chi2.sf(dev, df)), df


def effect_by_segment(
    data: pd.DataFrame,
    *,
    segment_col: str,
    group_col: str,
    converted_col: str,
    control: object,
    alpha: float = 0.05,
    correction: Literal["holm", "fdr_bh", "bonferroni", "none"] = "holm",
    preregistered: bool = False,
) -> pd.DataFrame:
    """Conversion lift of each treatment arm within each segment, with a heterogeneity test.

    Parameters
    ----------
    data : DataFrame
        One row per randomised unit.
    segment_col : str
        Segment of each unit, measured before assignment. Missing values form the segment
        ``'unknown'`` (never dropped silently).
    group_col, converted_col, control, alpha
        As in :func:`~crm_lib.experiments.proportions_test`.
    correction : {'holm', 'fdr_bh', 'bonferroni', 'none'}
        Adjustment of the per-segment p-values (over all segments and treatment arms).
    preregistered : bool
        True only if this segmentation was written down before the test started; sets the
        ``caution`` text.

    Returns
    -------
    pandas.DataFrame
        One row per (segment, treatment arm), segments sorted: ``segment, control, treatment,
        n, n_control, n_treatment, rate_control, rate_treatment, diff, ci_low, ci_high,
        rel_diff, p_value, p_adjusted, significant, heterogeneity_q, heterogeneity_df,
        heterogeneity_p, interaction_chi2, interaction_p, caution``. The heterogeneity
        columns are the same on every row of one treatment arm.

    Notes
    -----
    Per segment ``s``: the score test and score CI of
    :func:`~crm_lib.experiments.proportions_test` (``diff_s = p_1s - p_0s``).

    Cochran's Q: ``Q = sum_s w_s (diff_s - diff_w)^2`` with ``w_s = 1 / v_s``,
    ``v_s = p_1s (1 - p_1s)/n_1s + p_0s (1 - p_0s)/n_0s`` and
    ``diff_w = sum w_s diff_s / sum w_s``; ``Q ~ chi2(S - 1)`` if the lift is the same in every
    segment (segments with zero variance are left out).

    Interaction test: likelihood-ratio chi-square of ``logit P(Y) = a_segment + b_arm`` against
    the model with the ``segment x arm`` interaction, ``(S - 1)(K - 1)`` degrees of freedom.
    It asks whether the *odds ratio* differs across segments, Cochran's Q whether the
    *difference* does; with a base rate that is similar across segments they agree.

    References
    ----------
    Cochran, W. G. (1954). The combination of estimates from different experiments.
    Biometrics, 10(1), 101-129.
    Gelman, A., & Loken, E. (2013). The garden of forking paths. Columbia University.
    Wang, R., Lagakos, S. W., Ware, J. H., Hunter, D. J., & Drazen, J. M. (2007).
    Statistics in medicine -- reporting of subgroup analyses in clinical trials. New England
    Journal of Medicine, 357(21), 2189-2194.
    """
    check_alpha(alpha)
    if correction not in ("holm", "fdr_bh", "bonferroni", "none"):
        raise ValueError(
            f"correction must be 'holm', 'fdr_bh', 'bonferroni' or 'none', got {correction!r}"
        )
    require_columns(data, [segment_col, group_col, converted_col])
    a = arms(data, group_col, control)
    y = numeric(data, converted_col)
    if not is_binary(data[converted_col], y):
        raise ValueError(f"column {converted_col!r} must be boolean or 0/1")
    seg = data[segment_col].astype("object").where(data[segment_col].notna(), MISSING_SEGMENT)
    seg_codes, seg_labels = pd.factorize(seg.astype(str), sort=True)
    s_count, k_count = len(seg_labels), len(a.labels)
    if s_count < 2:
        raise ValueError(
            f"{segment_col!r} has a single segment ({list(seg_labels)}); nothing to compare -- "
            "use proportions_test for the overall effect"
        )
    cell = seg_codes * k_count + a.codes
    n = np.bincount(cell, minlength=s_count * k_count).astype(float).reshape(s_count, k_count)
    x = np.bincount(cell, weights=y, minlength=s_count * k_count).reshape(s_count, k_count)
    c = a.control
    parts = []
    for k in a.treatments:
        with np.errstate(divide="ignore", invalid="ignore"):
            res = st.two_proportions_from_counts(n[:, c], x[:, c], n[:, k], x[:, k], alpha=alpha)
            p0, p1 = x[:, c] / n[:, c], x[:, k] / n[:, k]
            v = p1 * (1 - p1) / n[:, k] + p0 * (1 - p0) / n[:, c]
        ok = np.isfinite(v) & (v > 0)
        if ok.sum() >= 2:
            w = 1 / v[ok]
            d = res["diff"][ok]
            q = float(np.sum(w * (d - np.sum(w * d) / w.sum()) ** 2))
            q_df = int(ok.sum() - 1)
            q_p = float(sps.chi2.sf(q, q_df))
        else:
            q, q_df, q_p = np.nan, 0, np.nan
        chi2, chi2_p, _ = _interaction_lr_test(n[:, [c, k]], x[:, [c, k]])
        empty = (n[:, c] == 0) | (n[:, k] == 0)
        parts.append(
            pd.DataFrame(
                {
                    "segment": list(seg_labels),
                    "control": a.labels[c],
                    "treatment": a.labels[k],
                    "n": (n[:, c] + n[:, k]).astype(np.int64),
                    "n_control": n[:, c].astype(np.int64),
                    "n_treatment": n[:, k].astype(np.int64),
                    "rate_control": p0,
                    "rate_treatment": p1,
                    "diff": res["diff"],
                    "ci_low": res["ci_low"],
                    "ci_high": res["ci_high"],
                    "rel_diff": res["rel_diff"],
                    "p_value": np.where(empty, np.nan, res["p_value"]),
                    "heterogeneity_q": q,
                    "heterogeneity_df": q_df,
                    "heterogeneity_p": q_p,
                    "interaction_chi2": chi2,
                    "interaction_p": chi2_p,
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    p = out["p_value"].to_numpy(dtype=float)
    out["p_adjusted"] = p if correction == "none" else adjust_pvalues(p, correction)
    out["significant"] = out["p_adjusted"] < alpha
    out["caution"] = CAUTION_PREREGISTERED if preregistered else CAUTION_EXPLORATORY
    cols = [
        "segment",
        "control",
        "treatment",
        "n",
        "n_control",
        "n_treatment",
        "rate_control",
        "rate_treatment",
        "diff",
        "ci_low",
        "ci_high",
        "rel_diff",
        "p_value",
        "p_adjusted",
        "significant",
        "heterogeneity_q",
        "heterogeneity_df",
        "heterogeneity_p",
        "interaction_chi2",
        "interaction_p",
        "caution",
    ]
    return out[cols]
