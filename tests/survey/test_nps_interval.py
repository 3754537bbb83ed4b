"""NPS intervals at the extremes: tiny samples, all promoters, all detractors, no answers.

The Wald interval ``nps +/- z se`` collapses to a point when every answer falls in one
group (se = 0) and under-covers near NPS = +/-100 at small n. The adjusted Wald interval
of Rocks (2016) adds 3/4 of a promoter, 3/4 of a detractor and 3 answers in all
(so 3/2 of a passive) before the Wald formula.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crm_lib import survey

Z = stats.norm.ppf(0.975)

# (promoter, passive, detractor) probabilities of the three true NPS values
TRUE = {-80: (0.05, 0.10, 0.85), 0: (0.30, 0.40, 0.30), 80: (0.85, 0.10, 0.05)}


def _adjusted_wald_by_hand(pro: int, pas: int, det: int) -> tuple[float, float]:
    """Rocks (2016) adjusted Wald, written out: +3/4 promoter, +3/4 detractor, n + 3."""
    n = pro + pas + det + 3
    p_pro, p_det = (pro + 0.75) / n, (det + 0.75) / n
    d = p_pro - p_det
    se = np.sqrt((p_pro + p_det - d**2) / n)
    return 100 * max(d - Z * se, -1.0), 100 * min(d + Z * se, 1.0)


def test_nps_interval_does_not_collapse_when_everyone_promotes():
    # n = 20, all promoters: the Wald interval is [100, 100] (se = 0). By hand:
    # p+ = 20.75 / 23, p- = 0.75 / 23, d = 20 / 23 = 0.8696,
    # se = sqrt((21.5 / 23 - d^2) / 23) = 0.0881, lower = 0.8696 - 1.96 * 0.0881 = 0.697
    out = survey.nps(pd.DataFrame({"nps": [10] * 20})).iloc[0]
    assert out["nps"] == pytest.approx(100.0)
    assert out["ci_low"] == pytest.approx(_adjusted_wald_by_hand(20, 0, 0)[0])
    assert out["ci_low"] == pytest.approx(69.7, abs=0.05)
    assert out["ci_high"] == pytest.approx(100.0)  # limits stay within -100..100
    # all detractors: the mirror image
    low = survey.nps(pd.DataFrame({"nps": [0] * 20})).iloc[0]
    assert (low["ci_low"], low["ci_high"]) == pytest.approx((-100.0, -out["ci_low"]))


def test_nps_interval_for_a_single_answer():
    # n = 1 promoter: p+ = 1.75 / 4, p- = 0.75 / 4, d = 0.25, se = sqrt((0.625 - 0.0625) / 4)
    # = 0.375 -> 0.25 +/- 0.735: [-48.5, 98.5] instead of the Wald [100, 100]
    out = survey.nps(pd.DataFrame({"nps": [9]})).iloc[0]
    assert out["nps"] == pytest.approx(100.0)
    lo, hi = _adjusted_wald_by_hand(1, 0, 0)
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((lo, hi))
    assert (lo, hi) == pytest.approx((-48.5, 98.5), abs=0.05)


def test_nps_with_no_answers_is_an_error():
    with pytest.raises(ValueError, match="no answers"):
        survey.nps_from_counts(0, 0, 0)
    with pytest.raises(ValueError, match="no answers in 'nps'"):
        survey.nps(pd.DataFrame({"nps": [np.nan, np.nan]}))
    with pytest.raises(ValueError, match="no answers in 'nps'.*wave 'B'"):
        survey.nps(pd.DataFrame({"nps": [9, 3, np.nan], "wave": ["A", "A", "B"]}), group_col="wave")
    with pytest.raises(ValueError, match="counts must be non-negative"):
        survey.nps_from_counts(-1, 3, 2)


def test_adjusted_wald_nps_interval_coverage_at_the_extremes():
    # 4,000 samples from each of 9 trinomials (NPS -80, 0, +80 x n = 20, 100, 1000); one
    # array computation per cell. Monte Carlo sd of a coverage near 0.95: sqrt(.95 .05 /
    # 4000) = 0.0034, so no cell may cover less than 0.95 - 3 x 0.0034 = 0.940.
    # (The Wald interval covers 0.864 at n = 20 and 0.929 at n = 100 when NPS = +/-80.)
    # Upper limits: at n >= 100 the same band; at n = 20 the pseudo-counts make the
    # interval a little conservative near +/-100 (exact trinomial enumeration: 0.963),
    # which is the price of not collapsing; it must stay below 0.975.
    rng = np.random.default_rng(2016)
    reps = 4_000
    mc = 3 * np.sqrt(0.95 * 0.05 / reps)
    for nps_true, p in TRUE.items():
        for n in (20, 100, 1000):
            counts = rng.multinomial(n, p, size=reps)
            out = survey.nps_from_counts(counts[:, 0], counts[:, 1], counts[:, 2])
            cover = ((out["ci_low"] <= nps_true) & (nps_true <= out["ci_high"])).mean()
            assert cover >= 0.95 - mc, (nps_true, n, cover)
            assert cover <= (0.95 + mc if n >= 100 else 0.975), (nps_true, n, cover)


def test_nps_change_interval_at_the_extremes():
    # both waves all promoters (n = 20 each): the Wald interval of the change is [0, 0]
    df = pd.DataFrame({"nps": [10] * 40, "wave": ["A"] * 20 + ["B"] * 20})
    out = survey.nps_change(df, wave_a="A", wave_b="B").iloc[0]
    assert out["diff"] == pytest.approx(0.0)
    assert out["ci_low"] < -10 and out["ci_high"] > 10
    assert out["ci_low"] == pytest.approx(-out["ci_high"])


def test_adjusted_nps_difference_coverage():
    # Change between two independent waves of n answers each, 4,000 pairs of samples per
    # cell, one array computation per cell; band as above. The interval adds half of
    # Rocks' pseudo-counts to each wave (3/8 promoter, 3/8 detractor, n + 3/2), as
    # Agresti & Caffo (2000) add half of Agresti-Coull's to each of two proportions.
    # (Wald: 0.898 when -80 -> +80 at n = 20.) Near +/-100 in both waves at n <= 100 it
    # is conservative (exact coverage 0.979 at +80 -> +80, n = 20): below 0.985.
    rng = np.random.default_rng(2000)
    reps = 4_000
    mc = 3 * np.sqrt(0.95 * 0.05 / reps)
    for a, b in [(80, 80), (0, 80), (-80, 80)]:
        for n in (20, 100, 1000):
            ca = rng.multinomial(n, TRUE[a], size=reps)
            cb = rng.multinomial(n, TRUE[b], size=reps)
            out = survey.nps_diff_from_counts(
                ca[:, 0], ca[:, 1], ca[:, 2], cb[:, 0], cb[:, 1], cb[:, 2]
            )
            cover = ((out["ci_low"] <= b - a) & (b - a <= out["ci_high"])).mean()
            assert cover >= 0.95 - mc, (a, b, n, cover)
            assert cover <= (0.95 + mc if n >= 1000 else 0.985), (a, b, n, cover)
