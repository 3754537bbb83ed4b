"""Per-arm sufficient statistics computed once, reused by SRM, proportions, Welch and CUPED.

:func:`~crm_lib.experiments.srm_check`, :func:`~crm_lib.experiments.proportions_test`,
:func:`~crm_lib.experiments.means_test` and :func:`~crm_lib.experiments.cuped` each code the
variant column and reduce the rows again. On 10M rows coding a string column costs about
0.2 s, so a standard read-out pays for it four times. :func:`arm_stats` codes the variants
and reduces every requested column in one go (``numpy.bincount``, two passes for stable
variances); the methods of :class:`ArmStats` then return exactly the DataFrames of those
four functions.

>>> import pandas as pd
>>> df = pd.DataFrame({"variant": ["a", "b"] * 50, "converted": [0, 1, 1, 0] * 25})
>>> s = arm_stats(df, group_col="variant", control="a", columns=["converted"])
>>> s.n.tolist(), round(float(s.proportions("converted")["diff"].iloc[0]), 2)
([50.0, 50.0], 0.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crm_lib.engine import arm_moments
from crm_lib.experiments import stats as st
from crm_lib.experiments._validate import (
    arms,
    check_alpha,
    frame,
    is_binary,
    numeric,
    require_min_n,
    require_spread,
)
from crm_lib.experiments.analysis import SRM_THRESHOLD, srm_frame, srm_plan

__all__ = ["ArmStats", "arm_stats"]


@dataclass(frozen=True)
class ArmStats:
    """Per-arm counts, means, variances and covariances of some columns (see :func:`arm_stats`).

    Attributes
    ----------
    group_col : str
    labels : list
        Arm labels, sorted; ``control`` is the index of the control arm.
    n : ndarray
        Units per arm.
    total, mean, var : dict of ndarray
        Per-arm sum, mean and unbiased variance of each column.
    cov : dict of ndarray
        Per-arm unbiased covariance of each ``(metric, covariate)`` pair.
    binary : dict of bool
        Whether each column is boolean or 0/1.
    """

    group_col: str
    labels: list
    control: int
    n: np.ndarray
    total: dict = field(default_factory=dict)
    mean: dict = field(default_factory=dict)
    var: dict = field(default_factory=dict)
    cov: dict = field(default_factory=dict)
    binary: dict = field(default_factory=dict)

    @property
    def _arms(self):
        from crm_lib.experiments._validate import Arms

        return Arms(codes=np.zeros(0, dtype=np.intp), labels=self.labels, control=self.control)

    def _need(self, col: str) -> None:
        if col not in self.mean:
            raise KeyError(
                f"column {col!r} was not summarised; pass it in arm_stats(..., columns=[...])"
            )

    def summary(self) -> pd.DataFrame:
        """One row per arm: ``variant, n`` and ``mean_<col>, var_<col>`` of every column."""
        out = pd.DataFrame({"variant": self.labels, "n": self.n.astype(np.int64)})
        for col in self.mean:
            out[f"mean_{col}"] = self.mean[col]
            out[f"var_{col}"] = self.var[col]
        return out

    def srm(
        self, expected: Mapping[object, float] | None = None, threshold: float = SRM_THRESHOLD
    ) -> pd.DataFrame:
        """Same result as :func:`~crm_lib.experiments.srm_check` on the summarised rows.

        ``expected`` gives the planned share of every arm present (normalised); planned arms
        without any unit are added with zero units, and raise the alarm.
        """
        labels, n, q = srm_plan(list(self.labels), self.n, expected)
        return srm_frame(labels, n, q, threshold)

    def proportions(self, col: str, alpha: float = 0.05) -> pd.DataFrame:
        """Same result as :func:`~crm_lib.experiments.proportions_test`."""
        check_alpha(alpha)
        self._need(col)
        if not self.binary[col]:
            raise ValueError(
                f"column {col!r} must be boolean or 0/1; use means_test for other metrics"
            )
        n = self.n
        conv = self.total[col]
        c = self.control
        out = []
        for k in self._arms.treatments:
            if conv[c] == 0:
                st.warn_relative_undefined(f"proportions_test({col!r})")
            out.append(st.two_proportions_from_counts(n[c], conv[c], n[k], conv[k], alpha=alpha))
        return frame(col, self._arms, n, out, "score test (Miettinen-Nurminen); score CIs")

    def means(self, col: str, alpha: float = 0.05) -> pd.DataFrame:
        """Same result as :func:`~crm_lib.experiments.means_test` (Welch)."""
        check_alpha(alpha)
        self._need(col)
        n, m, v = self.n, self.mean[col], self.var[col]
        require_min_n(n, self.labels)
        c = self.control
        out = []
        for k in self._arms.treatments:
            require_spread(v, self.labels, [c, k], col)
            if m[c] <= 0:
                st.warn_relative_undefined(f"means_test({col!r})")
            out.append(st.welch_from_stats(n[c], m[c], v[c], n[k], m[k], v[k], alpha=alpha))
        return frame(col, self._arms, n, out, "Welch t", extra=["df", "std_error"])

    def cuped(self, metric_col: str, covariate_col: str, alpha: float = 0.05) -> pd.DataFrame:
        """Same result as :func:`~crm_lib.experiments.cuped`."""
        check_alpha(alpha)
        self._need(metric_col)
        self._need(covariate_col)
        if (metric_col, covariate_col) not in self.cov:
            raise KeyError(
                f"pair ({metric_col!r}, {covariate_col!r}) was not summarised; pass it in "
                "arm_stats(..., pairs=[(metric, covariate)])"
            )
        n = self.n
        require_min_n(n, self.labels)
        my, vy = self.mean[metric_col], self.var[metric_col]
        mx, vx = self.mean[covariate_col], self.var[covariate_col]
        cxy = self.cov[(metric_col, covariate_col)]
        c = self.control
        out = []
        for k in self._arms.treatments:
            idx = [c, k]
            out.append(
                st.cuped_from_stats(
                    n[idx], my[idx], mx[idx], vy[idx], vx[idx], cxy[idx], alpha=alpha
                )
            )
        return frame(
            metric_col,
            self._arms,
            n,
            out,
            f"CUPED (covariate {covariate_col}) + Welch t",
            extra=["theta", "variance_reduction", "df", "std_error"],
        )


def arm_stats(
    data: pd.DataFrame,
    *,
    group_col: str,
    control: object,
    columns: Sequence[str],
    pairs: Sequence[tuple[str, str]] = (),
    engine: Any = None,
) -> ArmStats:
    """Reduce the rows to per-arm sufficient statistics once.

    Parameters
    ----------
    data : DataFrame, or with ``engine`` also a pyarrow Table, Parquet path/glob or table
        One row per randomised unit.
    group_col, control
        Variant column and the control's value.
    columns : sequence of str
        Numeric or boolean columns (no missing values) to summarise.
    pairs : sequence of (metric, covariate)
        Pairs whose within-arm covariance is needed (CUPED). Both must be in ``columns``.
    engine : str or backend, optional
        Reduce on an engine (``"duckdb"``, ``"spark"``, a backend; see
        :func:`crm_lib.engine.connect`) with :func:`crm_lib.engine.arm_moments`: the rows
        stay in the engine and one row per arm comes back. ``None`` (default) reduces in
        memory.

    Returns
    -------
    ArmStats
        With methods ``srm()``, ``proportions(col)``, ``means(col)``,
        ``cuped(metric, covariate)`` returning the DataFrames of the stand-alone functions.

    Notes
    -----
    One coding of the variants (``pandas.factorize``), then per column
    ``mean_k = sum_k(x) / n_k`` and ``var_k = sum_k((x - mean_k)^2) / (n_k - 1)`` with
    ``numpy.bincount``, and ``cov_k = sum_k((x - mean_k)(y - mean_k)) / (n_k - 1)`` -- the same
    two-pass formulas as the stand-alone functions, so the results agree to the last bits.
    """
    if engine is not None:
        moments = arm_moments(
            data, group_col=group_col, control=control, columns=columns, pairs=pairs, engine=engine
        )
        return ArmStats(**moments)
    missing_pair = [p for p in pairs for c in p if c not in columns]
    if missing_pair:
        raise ValueError(f"every column of pairs must be in columns; missing for {missing_pair}")
    a = arms(data, group_col, control)
    k = len(a.labels)
    n = np.bincount(a.codes, minlength=k).astype(float)
    total, mean, var, binary, centred = {}, {}, {}, {}, {}
    paired = {c for p in pairs for c in p}
    for col in dict.fromkeys(columns):
        x = numeric(data, col)
        binary[col] = is_binary(data[col], x)
        total[col] = np.bincount(a.codes, weights=x, minlength=k)
        m = total[col] / n
        d = x - m[a.codes]
        with np.errstate(divide="ignore", invalid="ignore"):
            var[col] = np.bincount(a.codes, weights=d * d, minlength=k) / (n - 1)
        mean[col] = m
        if col in paired:
            centred[col] = d
    cov = {}
    for y_col, x_col in pairs:
        with np.errstate(divide="ignore", invalid="ignore"):
            cov[(y_col, x_col)] = np.bincount(
                a.codes, weights=centred[x_col] * centred[y_col], minlength=k
            ) / (n - 1)
    return ArmStats(
        group_col=group_col,
        labels=a.labels,
        control=a.control,
        n=n,
        total=total,
        mean=mean,
        var=var,
        cov=cov,
        binary=binary,
    )
