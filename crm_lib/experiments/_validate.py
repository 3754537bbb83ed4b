"""Input checks and per-arm sufficient statistics for the experiment functions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

COLUMNS = [
    "metric",
    "control",
    "treatment",
    "n_control",
    "n_treatment",
    "estimate_control",
    "estimate_treatment",
    "diff",
    "ci_low",
    "ci_high",
    "rel_diff",
    "rel_ci_low",
    "rel_ci_high",
    "statistic",
    "p_value",
    "method",
]
"""Fixed leading columns of every analysis result (one row per treatment arm)."""


def require_columns(data: pd.DataFrame, cols: Sequence[str], what: str = "data") -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise KeyError(
            f"column(s) {missing} not in {what}; available columns: {list(data.columns)}. "
            "Pass the right name (e.g. group_col='variant') or join the outcomes first."
        )


def check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")


@dataclass(frozen=True)
class Arms:
    """Group codes of the rows and the arm labels (sorted), control first in ``order``."""

    codes: np.ndarray
    labels: list
    control: int

    @property
    def treatments(self) -> list[int]:
        return [k for k in range(len(self.labels)) if k != self.control]

    @property
    def n(self) -> np.ndarray:
        return np.bincount(self.codes, minlength=len(self.labels)).astype(float)


def arms(data: pd.DataFrame, group_col: str, control) -> Arms:
    """Validate the group column and code its levels."""
    require_columns(data, [group_col])
    g = data[group_col]
    if g.isna().any():
        raise ValueError(
            f"{group_col!r} has {int(g.isna().sum())} missing values; every unit needs a "
            "variant (drop unassigned rows first)."
        )
    if isinstance(g.dtype, pd.CategoricalDtype):
        g = g.cat.remove_unused_categories()
        codes = g.cat.codes.to_numpy().astype(np.intp)
        labels = list(g.cat.categories)
    else:
        codes, uniques = pd.factorize(g, sort=True)
        labels = list(uniques)
    if len(labels) < 2:
        raise ValueError(
            f"only one variant ({labels!r}) in {group_col!r}; a comparison needs the control "
            "and at least one treatment arm."
        )
    if control not in labels:
        raise ValueError(f"control={control!r} is not a value of {group_col!r}; values: {labels!r}")
    return Arms(codes=codes, labels=labels, control=labels.index(control))


def numeric(data: pd.DataFrame, col: str, *, allow_na: bool = False) -> np.ndarray:
    """A metric column as float64, with clear errors for missing or non-numeric values."""
    require_columns(data, [col])
    s = data[col]
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        raise TypeError(f"column {col!r} must be numeric or boolean, got dtype {s.dtype}")
    x = s.to_numpy(dtype=float, na_value=np.nan)
    if not allow_na and np.isnan(x).any():
        raise ValueError(
            f"column {col!r} has {int(np.isnan(x).sum())} missing values; fill them (e.g. 0 "
            "revenue for customers without orders) or drop those rows explicitly before testing."
        )
    return x


def is_binary(s: pd.Series, x: np.ndarray) -> bool:
    """True if the column is boolean or holds only 0 and 1."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return True
    return bool(((x == 0) | (x == 1)).all())


def moments(codes: np.ndarray, k: int, x: np.ndarray, y: np.ndarray | None = None):
    """Per-arm n, mean(x), unbiased var(x) [, mean(y), var(y), cov(x, y)].

    Two passes (means, then centred sums of squares) so that large offsets do not cancel.
    """
    n = np.bincount(codes, minlength=k).astype(float)
    mx = np.bincount(codes, weights=x, minlength=k) / n
    dx = x - mx[codes]
    with np.errstate(divide="ignore", invalid="ignore"):
        vx = np.bincount(codes, weights=dx * dx, minlength=k) / (n - 1)
    if y is None:
        return n, mx, vx
    my = np.bincount(codes, weights=y, minlength=k) / n
    dy = y - my[codes]
    with np.errstate(divide="ignore", invalid="ignore"):
        vy = np.bincount(codes, weights=dy * dy, minlength=k) / (n - 1)
        cxy = np.bincount(codes, weights=dx * dy, minlength=k) / (n - 1)
    return n, mx, vx, my, vy, cxy


def require_min_n(n: np.ndarray, labels: list, minimum: int = 2) -> None:
    small = [(lab, int(c)) for lab, c in zip(labels, n, strict=True) if c < minimum]
    if small:
        raise ValueError(f"each arm needs at least {minimum} units with a value; got {small}")


def require_spread(var: np.ndarray, labels: list, pair: Sequence[int], col: str) -> None:
    """Refuse a Welch comparison of two arms that both have zero variance in ``col``.

    Then the standard error is 0 and ``t = diff / 0`` is undefined: there is no sampling noise
    to test against (a constant column, or one that copies the variant).
    """
    if all(var[k] == 0 for k in pair):
        names = ", ".join(repr(labels[k]) for k in pair)
        raise ValueError(
            f"column {col!r} has no variance in either arm ({names}): every unit of an arm has "
            "the same value, so Welch's t is undefined. Check the column (is it constant, or "
            "derived from the variant?); a real outcome varies between units."
        )


def frame(
    metric: str, a: Arms, n: np.ndarray, per_arm: list[dict], method: str, extra=None
) -> pd.DataFrame:
    """Assemble the fixed-column result, one row per treatment arm."""
    rows = []
    for k, res in zip(a.treatments, per_arm, strict=True):
        row = {
            "metric": metric,
            "control": a.labels[a.control],
            "treatment": a.labels[k],
            "n_control": int(n[a.control]),
            "n_treatment": int(n[k]),
        }
        row.update({c: float(np.asarray(res[c])) for c in COLUMNS[5:-1]})
        row["method"] = method
        for key in extra or []:
            row[key] = res[key] if isinstance(res[key], str | bool) else float(np.asarray(res[key]))
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS + list(extra or []))
