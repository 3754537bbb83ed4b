"""Churn classifiers and how to judge them: discrimination, calibration, lift, drivers.

The classifiers are scikit-learn pipelines (one-hot encoding of text columns, scaling of
numbers) so that the same object is fitted on one cut-off and scored on a later one
(time-based validation). Every metric comes with a bootstrap interval over customers.

References
----------
Brier, G. W. (1950). Verification of forecasts expressed in terms of probability.
*Monthly Weather Review*, 78(1), 1-3.
Naeini, M. P., Cooper, G., & Hauskrecht, M. (2015). Obtaining well calibrated
probabilities using Bayesian binning. *AAAI*, 2901-2907 (expected calibration error).
Breiman, L. (2001). Random forests. *Machine Learning*, 45, 5-32 (permutation importance).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from crm_lib.contract.config import one_thread

__all__ = [
    "MODEL_KINDS",
    "auc_difference",
    "churn_pipeline",
    "compare_scores",
    "cross_validated_scores",
    "expected_calibration_error",
    "lift_table",
    "metric_intervals",
    "one_thread",
    "permutation_drivers",
    "reliability_table",
]

MODEL_KINDS = ("logistic", "gradient_boosting")


def churn_pipeline(
    kind: str,
    *,
    numeric: Sequence[str],
    categorical: Sequence[str] = (),
    random_state: Any = 0,
):
    """An unfitted scikit-learn pipeline predicting churn.

    Parameters
    ----------
    kind : {"logistic", "gradient_boosting"}
        L2-penalised logistic regression on ``log1p``-transformed, standardised numbers
        (``sign(x) log(1 + |x|)``: spend and counts are skewed; missing values imputed by
        the median, with a 0/1 indicator of missingness), or histogram gradient boosting
        (numbers as they are; it handles missing values itself).
    numeric, categorical : list of str
        Feature columns; categorical ones are one-hot encoded (unknown levels ignored).
    random_state : int
        Seed of the boosting.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    if kind not in MODEL_KINDS:
        raise ValueError(f"kind={kind!r} is not known: use one of {', '.join(MODEL_KINDS)}")
    onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    if kind == "logistic":
        num = Pipeline(
            [
                ("impute", SimpleImputer(strategy="median", add_indicator=True)),
                ("log", FunctionTransformer(_signed_log1p, feature_names_out="one-to-one")),
                ("scale", StandardScaler()),
            ]
        )
        model = LogisticRegression(C=1.0, max_iter=2000)
    else:
        num = "passthrough"
        model = HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=20,
            l2_regularization=1.0, random_state=random_state,
        )  # fmt: skip
    pre = ColumnTransformer(
        [("num", num, list(numeric))]
        + ([("cat", onehot, list(categorical))] if categorical else []),
        verbose_feature_names_out=False,
    )
    return Pipeline([("features", pre), ("model", model)])


def _signed_log1p(x):
    x = np.asarray(x, dtype=float)
    return np.sign(x) * np.log1p(np.abs(x))


def _arrays(y, p) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if y.shape != p.shape:
        raise ValueError(f"labels and scores differ in length: {y.shape[0]} vs {p.shape[0]}")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels must be 0/1 (or bool)")
    if np.isnan(p).any():
        raise ValueError("scores have missing values")
    return y, p


def expected_calibration_error(y, p, n_bins: int = 10) -> float:
    """``ECE = sum_b (n_b / n) |mean(y)_b - mean(p)_b|`` over equal-width bins of ``p``."""
    y, p = _arrays(y, p)
    b = np.clip((p * n_bins).astype(int), 0, n_bins - 1)
    sy = np.bincount(b, weights=y, minlength=n_bins)
    sp = np.bincount(b, weights=p, minlength=n_bins)
    return float(np.abs(sy - sp).sum() / y.shape[0])


def reliability_table(y, p, n_bins: int = 10) -> pd.DataFrame:
    """Reliability curve: ``bin, customers, mean_predicted, observed_rate`` (equal-width bins
    of the predicted probability; empty bins left out)."""
    y, p = _arrays(y, p)
    b = np.clip((p * n_bins).astype(int), 0, n_bins - 1)
    df = pd.DataFrame({"bin": b, "y": y, "p": p}).groupby("bin")
    out = df.agg(customers=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean"))
    return out.reset_index()


def lift_table(y, p, n_groups: int = 10) -> pd.DataFrame:
    """Lift and cumulative gain by score decile (decile 1 = highest scores).

    Returns
    -------
    pandas.DataFrame
        ``decile, customers, churners, churn_rate, lift`` (rate / overall rate),
        ``cumulative_share`` (of customers) and ``cumulative_gain`` (share of all churners
        found in the deciles up to this one).
    """
    y, p = _arrays(y, p)
    order = np.argsort(-p, kind="stable")
    groups = np.empty(y.shape[0], dtype=int)
    groups[order] = (np.arange(y.shape[0]) * n_groups) // y.shape[0] + 1
    df = pd.DataFrame({"decile": groups, "y": y}).groupby("decile")["y"].agg(["size", "sum"])
    df.columns = ["customers", "churners"]
    df["churn_rate"] = df["churners"] / df["customers"]
    df["lift"] = df["churn_rate"] / y.mean()
    df["cumulative_share"] = df["customers"].cumsum() / y.shape[0]
    df["cumulative_gain"] = df["churners"].cumsum() / max(y.sum(), 1.0)
    return df.reset_index()


def _metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    top = p >= np.quantile(p, 0.9)
    return {
        "roc_auc": roc_auc_score(y, p),
        "pr_auc": average_precision_score(y, p),
        "brier": brier_score_loss(y, p),
        "ece": expected_calibration_error(y, p),
        "top_decile_lift": float(y[top].mean() / y.mean()),
    }


def metric_intervals(
    y, p, *, n_boot: int = 200, alpha: float = 0.05, random_state: Any = 0
) -> pd.DataFrame:
    """ROC AUC, PR AUC (average precision), Brier score, ECE and top-decile lift, each with
    a percentile bootstrap interval (customers resampled with replacement).

    The ECE has no interval (``NaN``): it sums absolute gaps per bin, so every resample's
    ECE is pushed up by the noise in its bins, and the percentile interval of a
    well-calibrated model lies above its own estimate (0.014-0.036 around 0.013 on the
    small world). The reliability curve shows the calibration with its spread instead.

    Returns
    -------
    pandas.DataFrame
        ``metric, estimate, ci_low, ci_high``.
    """
    y, p = _arrays(y, p)
    if y.min() == y.max():
        raise ValueError("the labels have one class only: AUC is not defined")
    est = _metrics(y, p)
    rng = np.random.default_rng(random_state)
    idx = rng.integers(0, y.shape[0], size=(n_boot, y.shape[0]))
    boots = [_metrics(y[i], p[i]) for i in idx if 0 < y[i].sum() < y.shape[0]]
    b = pd.DataFrame(boots)
    return pd.DataFrame(
        {
            "metric": list(est),
            "estimate": list(est.values()),
            "ci_low": [np.nan if m == "ece" else b[m].quantile(alpha / 2) for m in est],
            "ci_high": [np.nan if m == "ece" else b[m].quantile(1 - alpha / 2) for m in est],
        }
    )


def auc_difference(
    y, p1, p2, *, n_boot: int = 500, alpha: float = 0.05, random_state: Any = 0
) -> dict[str, float]:
    """ROC AUC of ``p1`` minus that of ``p2`` on the same customers, with a paired
    percentile bootstrap interval (both scores resampled together).

    Returns
    -------
    dict
        ``difference, ci_low, ci_high``.
    """
    from sklearn.metrics import roc_auc_score

    y, p1 = _arrays(y, p1)
    _, p2 = _arrays(y, p2)
    rng = np.random.default_rng(random_state)
    diffs = []
    for i in rng.integers(0, y.shape[0], size=(n_boot, y.shape[0])):
        if 0 < y[i].sum() < y.shape[0]:
            diffs.append(roc_auc_score(y[i], p1[i]) - roc_auc_score(y[i], p2[i]))
    return {
        "difference": float(roc_auc_score(y, p1) - roc_auc_score(y, p2)),
        "ci_low": float(np.quantile(diffs, alpha / 2)),
        "ci_high": float(np.quantile(diffs, 1 - alpha / 2)),
    }


def compare_scores(
    y, scores: Mapping[str, Any], *, n_boot: int = 200, random_state: Any = 0
) -> pd.DataFrame:
    """One row per model on the same holdout: ``model, roc_auc (+ci), pr_auc, brier, ece,
    top_decile_lift``."""
    rows = []
    for name, p in scores.items():
        m = metric_intervals(y, p, n_boot=n_boot, random_state=random_state).set_index("metric")
        rows.append(
            {
                "model": name,
                "roc_auc": m.loc["roc_auc", "estimate"],
                "roc_auc_low": m.loc["roc_auc", "ci_low"],
                "roc_auc_high": m.loc["roc_auc", "ci_high"],
                "pr_auc": m.loc["pr_auc", "estimate"],
                "brier": m.loc["brier", "estimate"],
                "ece": m.loc["ece", "estimate"],
                "top_decile_lift": m.loc["top_decile_lift", "estimate"],
            }
        )
    return pd.DataFrame(rows)


def cross_validated_scores(pipeline, X: pd.DataFrame, y, *, n_splits: int = 5, random_state=0):
    """Out-of-fold churn probabilities from stratified k-fold (for a contractual snapshot,
    where there is no earlier cut-off to train on)."""
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y, dtype=int)
    out = np.empty(y.shape[0])
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    with one_thread():
        for train, test in folds.split(X, y):
            model = clone(pipeline).fit(X.iloc[train], y[train])
            out[test] = model.predict_proba(X.iloc[test])[:, 1]
    return pd.Series(out, index=X.index, name="churn_probability")


def permutation_drivers(
    model, X: pd.DataFrame, y, *, n_repeats: int = 10, random_state: Any = 0, top: int = 10
) -> pd.DataFrame:
    """Top drivers: drop in ROC AUC when one column is shuffled, with an interval.

    Returns
    -------
    pandas.DataFrame
        ``feature, importance`` (mean drop over ``n_repeats`` shuffles), ``ci_low,
        ci_high`` (2.5% and 97.5% of the shuffles), sorted by importance, ``top`` rows.
    """
    from sklearn.inspection import permutation_importance

    r = permutation_importance(
        model, X, np.asarray(y, dtype=int), scoring="roc_auc", n_repeats=n_repeats,
        random_state=random_state,
    )  # fmt: skip
    out = pd.DataFrame(
        {
            "feature": list(X.columns),
            "importance": r.importances_mean,
            "ci_low": np.quantile(r.importances, 0.025, axis=1),
            "ci_high": np.quantile(r.importances, 0.975, axis=1),
        }
    )
    return out.sort_values("importance", ascending=False).head(top).reset_index(drop=True)
