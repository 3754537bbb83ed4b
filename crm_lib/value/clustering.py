"""Clustering segmentation of customers: k-means and Gaussian mixtures on RFM features.

Works on one row per customer, e.g. :func:`crm_lib.value.rfm_scores` (columns
``time_since_last, frequency, monetary``) or :func:`crm_lib.value.customer_summary`. The
steps, each a function with tidy DataFrames in and out:

1. :class:`CustomerClusterer` transforms the features (signed ``log1p``, then
   standardisation) and fits k-means or a Gaussian mixture; clusters are numbered
   ``1..k`` by decreasing mean value, so the numbering does not depend on the random start.
2. :func:`choose_k` tabulates silhouette, k-means inertia (elbow) and Gaussian-mixture BIC
   per ``k``; :func:`plot_choose_k` shows them side by side.
3. :func:`cluster_profiles` (sizes, means, value share) and :func:`categorical_profiles`
   (region, channel, gender mix per cluster) describe the clusters.
4. :func:`explain_clusters` fits a shallow decision tree and states the clusters as
   plain-language rules with their accuracy.
5. :func:`bootstrap_stability` refits on bootstrap resamples and measures agreement with
   the full-data clustering (adjusted Rand index).

Why categorical attributes are not clustered on: k-means and Gaussian mixtures measure
Euclidean distance. After standardisation a numeric feature is in standard deviations;
a 0/1 dummy of "region = north" has no such unit, so the weight a category gets in the
distance is an arbitrary consequence of its frequency and of how many dummies it has, and
label-encoding (north = 0, east = 1, ...) invents an order and distances that do not
exist. Methods for mixed data (k-prototypes, Gower distance with PAM) would need a new
dependency or a hand-written O(n^2) distance matrix. Here clusters are built on behaviour
only and the categorical attributes are used to *profile* them
(:func:`categorical_profiles`): a cluster that is 60% app customers is then a finding,
not an input.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> data = pd.DataFrame({
...     "customer_id": [f"c{i}" for i in range(300)],
...     "time_since_last": np.r_[rng.gamma(2, 2, 150), rng.gamma(2, 30, 150)],
...     "frequency": np.r_[rng.poisson(20, 150), rng.poisson(1, 150)],
...     "monetary": np.r_[rng.gamma(5, 400, 150), rng.gamma(2, 50, 150)],
... })
>>> model = CustomerClusterer(n_clusters=2, random_state=0).fit(data)
>>> model.labels_.value_counts().sort_index().tolist()
[150, 150]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, export_text

from crm_lib.contract.config import one_thread
from crm_lib.i18n import MESSAGES, check_language, label, t

__all__ = [
    "DEFAULT_FEATURES",
    "ClusterRules",
    "CustomerClusterer",
    "best_k",
    "bootstrap_stability",
    "categorical_display",
    "categorical_profiles",
    "choose_k",
    "cluster_profiles",
    "explain_clusters",
    "cluster_label",
    "plot_choose_k",
    "plot_profiles",
    "profiles_display",
    "transform_features",
]

DEFAULT_FEATURES = ("time_since_last", "frequency", "monetary")
"""Columns of :func:`crm_lib.value.rfm_scores` used by default."""

Method = Literal["kmeans", "gmm"]


# ------------------------------------------------------------------ validation helpers


def _check_frame(data: Any, cols: Sequence[str], name: str = "data") -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, not {type(data).__name__}")
    for col in cols:
        if col not in data.columns:
            raise ValueError(
                f"{name} has no column {col!r}; available columns: "
                f"{', '.join(map(str, data.columns))} (pass features=[...] / customer_col= to "
                "name yours, or build the table with crm_lib.value.rfm_scores)"
            )
    if data.empty:
        raise ValueError(f"{name} is empty: there are no customers to cluster")


def _numeric(data: pd.DataFrame, features: Sequence[str]) -> np.ndarray:
    x = data[list(features)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(x)
    if bad.any():
        col = list(features)[int(np.nonzero(bad.any(axis=0))[0][0])]
        raise ValueError(
            f"{int(bad.any(axis=1).sum())} rows have missing or non-numeric feature values "
            f"(first in column {col!r}); drop or fill them before clustering"
        )
    return x


def _check_method(method: str) -> None:
    if method not in ("kmeans", "gmm"):
        raise ValueError(f"method={method!r} is not supported: use 'kmeans' or 'gmm'")


def _check_k(k: Any, n: int, name: str = "n_clusters") -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2:
        raise ValueError(f"{name} must be an integer >= 2, not {k!r}")
    if k > n:
        raise ValueError(f"{name}={k} is more than the {n} customers: use a smaller k")


def _signed_log1p(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


# ------------------------------------------------------------------ features and model


def transform_features(
    data: pd.DataFrame,
    features: Sequence[str] = DEFAULT_FEATURES,
    *,
    log: bool = True,
) -> pd.DataFrame:
    """Signed log1p and standard scaling of the clustering features.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per customer.
    features : sequence of str
        Numeric columns to transform.
    log : bool
        Apply :math:`\\operatorname{sign}(x)\\log(1 + |x|)` before scaling (default).

    Returns
    -------
    pandas.DataFrame
        The transformed features, same index and column names as ``data[features]``.

    Notes
    -----
    Frequency and spend are right-skewed (a few customers buy a hundred times), so on the
    raw scale k-means spends its clusters on the tail. The log compresses the tail; the
    sign keeps the transform defined for net values below zero (returns). Standard
    scaling, :math:`z = (\\tilde x - \\bar{\\tilde x}) / s`, then gives each feature the
    same weight in the Euclidean distance.
    """
    _check_frame(data, features)
    x = _numeric(data, features)
    if log:
        x = _signed_log1p(x)
    z = StandardScaler().fit_transform(x)
    return pd.DataFrame(z, index=data.index, columns=list(features))


class CustomerClusterer:
    """K-means or Gaussian-mixture clustering of customers on transformed RFM features.

    Parameters
    ----------
    n_clusters : int
        Number of clusters ``k``.
    method : {"kmeans", "gmm"}
        K-means (spherical clusters, hard assignment) or a Gaussian mixture with full
        covariances (elliptical clusters; ``predict`` takes the most probable component).
    features : sequence of str
        Numeric columns to cluster on (default ``time_since_last, frequency, monetary``).
    value_col : str or None
        Clusters are numbered ``1..k`` by decreasing mean of this column (default
        ``monetary``; ``None``: the last feature).
    customer_col : str
        Customer id column, used as the index of ``labels_``.
    log : bool
        Signed ``log1p`` before scaling (:func:`transform_features`).
    n_init : int
        Random starts of k-means / the mixture; the best is kept.
    random_state : int, numpy Generator or None
        Seed of the random starts; the same seed gives the same clusters.

    Attributes
    ----------
    labels_ : pandas.Series
        Cluster (1..k) of each training customer, indexed by customer id.
    centers_ : pandas.DataFrame
        Cluster centres back-transformed to the original units (k-means centroids or
        mixture means), index ``cluster``.
    scaler_ : sklearn.preprocessing.StandardScaler
        Fitted on the (logged) features.
    estimator_ : KMeans or GaussianMixture
        The fitted scikit-learn model (its own component numbering).
    inertia_ : float
        K-means within-cluster sum of squares (``nan`` for ``gmm``).
    bic_ : float
        Gaussian-mixture BIC (``nan`` for ``kmeans``).
    n_features_in_ : int
    feature_names_in_ : numpy.ndarray

    Notes
    -----
    K-means minimises :math:`\\sum_i \\lVert z_i - \\mu_{c(i)} \\rVert^2` (Lloyd's
    algorithm, k-means++ starts). The Gaussian mixture maximises
    :math:`\\sum_i \\log \\sum_j \\pi_j \\mathcal N(z_i; \\mu_j, \\Sigma_j)` by EM.

    References
    ----------
    Arthur, D., & Vassilvitskii, S. (2007). k-means++: The advantages of careful seeding.
    SODA, 1027-1035.
    Wedel, M., & Kamakura, W. A. (2000). Market Segmentation: Conceptual and Methodological
    Foundations (2nd ed.). Kluwer.
    """

    def __init__(
        self,
        n_clusters: int = 4,
        *,
        method: Method = "kmeans",
        features: Sequence[str] = DEFAULT_FEATURES,
        value_col: str | None = "monetary",
        customer_col: str = "customer_id",
        log: bool = True,
        n_init: int = 10,
        random_state: Any = None,
    ):
        self.n_clusters = n_clusters
        self.method = method
        self.features = features
        self.value_col = value_col
        self.customer_col = customer_col
        self.log = log
        self.n_init = n_init
        self.random_state = random_state

    def _x(self, data: pd.DataFrame) -> np.ndarray:
        x = _numeric(data, self.features)
        return _signed_log1p(x) if self.log else x

    def _estimator(self, seed: Any):
        if self.method == "kmeans":
            return KMeans(self.n_clusters, n_init=self.n_init, random_state=seed)
        return GaussianMixture(
            self.n_clusters, covariance_type="full", n_init=self.n_init, random_state=seed
        )

    def fit(self, data: pd.DataFrame) -> CustomerClusterer:
        """Fit on one row per customer.

        Parameters
        ----------
        data : pandas.DataFrame
            Has ``customer_col`` and the ``features``.

        Returns
        -------
        CustomerClusterer
            self.
        """
        _check_method(self.method)
        features = list(self.features)
        _check_frame(data, [self.customer_col, *features])
        value_col = self.value_col if self.value_col is not None else features[-1]
        if value_col not in features:
            raise ValueError(
                f"value_col={value_col!r} must be one of the features {features} (it orders "
                "the cluster numbers); pass value_col=None to use the last feature"
            )
        _check_k(self.n_clusters, len(data))
        if isinstance(self.random_state, np.random.Generator):
            seed = int(self.random_state.integers(2**31 - 1))
        else:
            seed = self.random_state
        x = self._x(data)
        self.scaler_ = StandardScaler().fit(x)
        z = self.scaler_.transform(x)
        with one_thread():
            self.estimator_ = self._estimator(seed).fit(z)
            raw = self.estimator_.predict(z)
            bic = float(self.estimator_.bic(z)) if self.method == "gmm" else np.nan
        # renumber 1..k by decreasing mean value: stable across seeds and readable
        value = x[:, features.index(value_col)]
        means = pd.Series(value).groupby(raw).mean().reindex(range(self.n_clusters))
        order = means.fillna(-np.inf).sort_values(ascending=False, kind="stable").index
        self._map = np.empty(self.n_clusters, dtype=np.int64)
        self._map[np.asarray(order)] = np.arange(1, self.n_clusters + 1)
        self.labels_ = pd.Series(
            self._map[raw], index=pd.Index(data[self.customer_col].to_numpy()), name="cluster"
        )
        self.labels_.index.name = self.customer_col
        centres = (
            self.estimator_.cluster_centers_ if self.method == "kmeans" else self.estimator_.means_
        )
        centres = self.scaler_.inverse_transform(centres)
        if self.log:
            centres = np.sign(centres) * np.expm1(np.abs(centres))
        self.centers_ = pd.DataFrame(
            centres, columns=features, index=pd.Index(self._map, name="cluster")
        ).sort_index()
        self.inertia_ = float(self.estimator_.inertia_) if self.method == "kmeans" else np.nan
        self.bic_ = bic
        self.n_features_in_ = len(features)
        self.feature_names_in_ = np.asarray(features, dtype=object)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "labels_"):
            raise ValueError("this CustomerClusterer is not fitted yet: call fit(data) first")

    def predict(self, data: pd.DataFrame) -> pd.Series:
        """Cluster (1..k) of each row of ``data``, indexed like ``data``."""
        self._check_fitted()
        _check_frame(data, list(self.features))
        z = self.scaler_.transform(self._x(data))
        with one_thread():
            raw = self.estimator_.predict(z)
        return pd.Series(self._map[raw], index=data.index, name="cluster")

    def fit_predict(self, data: pd.DataFrame) -> pd.Series:
        """Fit and return the clusters indexed like ``data``."""
        self.fit(data)
        return pd.Series(self.labels_.to_numpy(), index=data.index, name="cluster")


# ------------------------------------------------------------------ choosing k


def choose_k(
    data: pd.DataFrame,
    k_values: Sequence[int] = range(2, 9),
    *,
    features: Sequence[str] = DEFAULT_FEATURES,
    log: bool = True,
    n_init: int = 5,
    silhouette_sample: int | None = 3000,
    random_state: Any = None,
) -> pd.DataFrame:
    """Silhouette, k-means inertia and Gaussian-mixture BIC for each number of clusters.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per customer with the ``features``.
    k_values : sequence of int
        Candidate numbers of clusters (each >= 2).
    features, log, n_init
        As in :class:`CustomerClusterer`.
    silhouette_sample : int or None
        The silhouette needs all pairwise distances (O(n^2)); above this many customers it
        is computed on a random sample of this size. ``None``: always all customers.
    random_state : int or None
        Seed of the clusterings and of the silhouette sample.

    Returns
    -------
    pandas.DataFrame
        One row per ``k``: ``k, inertia, silhouette`` (both of k-means), ``bic`` and
        ``silhouette_gmm`` (of the Gaussian mixture). ``.attrs["silhouette_sample"]`` is the
        number of customers the silhouettes were computed on.

    Notes
    -----
    - Silhouette of customer *i*: :math:`s_i = (b_i - a_i) / \\max(a_i, b_i)` with
      :math:`a_i` the mean distance to its own cluster and :math:`b_i` to the nearest
      other cluster; the mean over customers is highest for the best-separated ``k``
      (Rousseeuw, 1987).
    - Inertia :math:`\\sum_i \\lVert z_i - \\mu_{c(i)} \\rVert^2` always falls with ``k``;
      look for the elbow where it stops falling fast.
    - :math:`\\text{BIC} = -2 \\log L + p \\log n` with *p* free parameters of the mixture;
      lower is better (Schwarz, 1978).

    See :func:`best_k` for the ``k`` each criterion picks.

    References
    ----------
    Rousseeuw, P. J. (1987). Silhouettes: A graphical aid to the interpretation and
    validation of cluster analysis. Journal of Computational and Applied Mathematics, 20,
    53-65.
    Schwarz, G. (1978). Estimating the dimension of a model. Annals of Statistics, 6(2),
    461-464.
    """
    ks = list(k_values)
    if not ks:
        raise ValueError("k_values is empty: pass candidate numbers of clusters, e.g. range(2, 9)")
    _check_frame(data, features)
    for k in ks:
        _check_k(k, len(data), "each k in k_values")
    x = _numeric(data, features)
    z = StandardScaler().fit_transform(_signed_log1p(x) if log else x)
    n = z.shape[0]
    sample = silhouette_sample if silhouette_sample is not None and n > silhouette_sample else None
    with one_thread():
        rows = [_k_row(z, k, n_init, sample, random_state) for k in ks]
    table = pd.DataFrame(rows)
    table.attrs["silhouette_sample"] = sample if sample is not None else n
    return table


def _k_row(z: np.ndarray, k: int, n_init: int, sample: int | None, random_state: Any) -> dict:
    """One row of :func:`choose_k`."""
    km = KMeans(k, n_init=n_init, random_state=random_state).fit(z)
    gm = GaussianMixture(k, n_init=max(1, n_init // 2), random_state=random_state).fit(z)
    gl = gm.predict(z)
    sil_kw = {"sample_size": sample, "random_state": random_state}
    sil_gmm = float(silhouette_score(z, gl, **sil_kw)) if len(set(gl)) > 1 else np.nan
    return {
        "k": int(k),
        "inertia": float(km.inertia_),
        "silhouette": float(silhouette_score(z, km.labels_, **sil_kw)),
        "bic": float(gm.bic(z)),
        "silhouette_gmm": sil_gmm,
    }


def best_k(table: pd.DataFrame, criterion: Literal["silhouette", "bic"] = "silhouette") -> int:
    """The ``k`` of :func:`choose_k` with the highest silhouette or the lowest BIC."""
    if criterion not in ("silhouette", "bic"):
        raise ValueError(f"criterion={criterion!r} is not supported: use 'silhouette' or 'bic'")
    col = table[criterion]
    best = col.idxmax() if criterion == "silhouette" else col.idxmin()
    return int(table.loc[best, "k"])


def plot_choose_k(
    table: pd.DataFrame,
    *,
    axes: Sequence[plt.Axes] | None = None,
    language: str = "en",
    chosen_k: int | None = None,
) -> np.ndarray:
    """Elbow (inertia), silhouette and BIC against ``k``, side by side.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`choose_k`.
    axes : sequence of three matplotlib Axes, optional
        Where to draw; default a new figure with three panels.
    language : {"en", "zh"}
    chosen_k : int, optional
        Marked by a vertical line in each panel.

    Returns
    -------
    numpy.ndarray
        The three axes.
    """
    check_language(language)
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(10, 3.2), layout="constrained")
    axes = np.asarray(axes).ravel()
    if axes.size != 3:
        raise ValueError(f"axes must hold three Axes (elbow, silhouette, BIC), not {axes.size}")
    panels = [
        ("inertia", "title_elbow"),
        ("silhouette", "title_silhouette"),
        ("bic", "title_bic"),
    ]
    for ax, (col, title) in zip(axes, panels, strict=True):
        ax.plot(table["k"], table[col], marker="o")
        if col == "silhouette" and "silhouette_gmm" in table:
            ax.plot(table["k"], table["silhouette_gmm"], marker="s", linestyle="--")
            ax.legend([t("kmeans", language), t("gmm", language)], fontsize="small")
        if chosen_k is not None:
            ax.axvline(chosen_k, color="grey", linestyle=":")
        ax.set_title(t(title, language))
        ax.set_xlabel(t("n_clusters", language))
        ax.set_ylabel(t(col, language))
        ax.set_xticks(table["k"])
    return axes


# ------------------------------------------------------------------ profiles


def _labels_frame(data: pd.DataFrame, labels: Any, customer_col: str) -> pd.DataFrame:
    """data with a ``cluster`` column aligned by customer id (Series) or by position."""
    out = data.copy()
    if isinstance(labels, pd.Series) and labels.index.name == customer_col:
        out["cluster"] = out[customer_col].map(labels).to_numpy()
    else:
        values = np.asarray(labels)
        if values.shape[0] != len(data):
            raise ValueError(
                f"labels has {values.shape[0]} entries but data has {len(data)} rows: pass "
                "the model's labels_ (indexed by customer id) or one label per row"
            )
        out["cluster"] = values
    if out["cluster"].isna().any():
        raise ValueError(
            f"{int(out['cluster'].isna().sum())} customers of data have no cluster label: "
            "pass labels for the same customers"
        )
    return out


def cluster_profiles(
    data: pd.DataFrame,
    labels: pd.Series | np.ndarray,
    *,
    features: Sequence[str] = DEFAULT_FEATURES,
    value_col: str = "monetary",
    customer_col: str = "customer_id",
) -> pd.DataFrame:
    """Size, mean features and value share of each cluster.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per customer with ``customer_col``, the ``features`` and ``value_col``.
    labels : pandas.Series or array
        ``labels_`` of :class:`CustomerClusterer` (indexed by customer id) or one label per
        row of ``data``.
    features : sequence of str
        Columns whose mean and median are reported.
    value_col : str
        Value to share out (default ``monetary``).

    Returns
    -------
    pandas.DataFrame
        One row per cluster: ``cluster, customers, customer_share``, ``<feature>_mean`` and
        ``<feature>_median`` per feature, ``value, value_share``. Shares sum to one.
    """
    _check_frame(data, [customer_col, *features, value_col])
    df = _labels_frame(data, labels, customer_col)
    g = df.groupby("cluster", sort=True)
    out = pd.DataFrame({"customers": g.size()})
    out["customer_share"] = out["customers"] / out["customers"].sum()
    for col in features:
        out[f"{col}_mean"] = g[col].mean()
        out[f"{col}_median"] = g[col].median()
    out["value"] = g[value_col].sum()
    total = out["value"].sum()
    out["value_share"] = out["value"] / total if total != 0 else np.nan
    return out.reset_index()


def categorical_profiles(
    data: pd.DataFrame,
    labels: pd.Series | np.ndarray,
    *,
    attributes: Sequence[str] = ("region", "acquisition_channel", "gender"),
    customer_col: str = "customer_id",
) -> pd.DataFrame:
    """Mix of each categorical attribute within each cluster, against the overall mix.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per customer with the ``attributes`` (e.g. the RFM table merged with
        ``customers[["customer_id", "region", ...]]``; never PII columns).
    labels : pandas.Series or array
        As in :func:`cluster_profiles`.
    attributes : sequence of str
        Categorical columns; missing values are counted as the level ``"unknown"``.

    Returns
    -------
    pandas.DataFrame
        Tidy, one row per cluster x attribute x level: ``cluster, attribute, level,
        customers, share`` (within the cluster; sums to one per cluster and attribute),
        ``overall_share`` and ``lift`` (= share / overall_share; above 1: the level is
        over-represented in the cluster).
    """
    _check_frame(data, [customer_col, *attributes])
    df = _labels_frame(data, labels, customer_col)
    parts = []
    for attr in attributes:
        level = df[attr].astype("object").where(df[attr].notna(), "unknown").astype(str)
        counts = pd.crosstab(df["cluster"], level)
        share = counts.div(counts.sum(axis=1), axis=0)
        overall = level.value_counts(normalize=True)
        long = counts.stack().rename("customers").to_frame()
        long["share"] = share.stack()
        long.index.names = ["cluster", "level"]
        long = long.reset_index()
        long.insert(1, "attribute", attr)
        long["overall_share"] = long["level"].map(overall).to_numpy(dtype=float)
        long["lift"] = long["share"] / long["overall_share"]
        parts.append(long)
    out = pd.concat(parts, ignore_index=True)
    out["customers"] = out["customers"].astype(np.int64)
    return out


# ------------------------------------------------------------------ rules


@dataclass
class ClusterRules:
    """A shallow decision tree that states cluster membership as rules.

    Attributes
    ----------
    tree : sklearn.tree.DecisionTreeClassifier
        Fitted on the untransformed features (thresholds are in business units).
    accuracy : float
        Share of customers whose cluster the rules reproduce.
    rules : pandas.DataFrame
        One row per leaf: ``rule`` (plain language), ``cluster`` (the leaf's majority),
        ``customers`` (in the leaf), ``purity`` (share of them in that cluster).
    text : str
        :func:`sklearn.tree.export_text` with translated feature names.
    """

    tree: DecisionTreeClassifier
    accuracy: float
    rules: pd.DataFrame
    text: str


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.1f}"


def explain_clusters(
    data: pd.DataFrame,
    labels: pd.Series | np.ndarray,
    *,
    features: Sequence[str] = DEFAULT_FEATURES,
    max_depth: int = 3,
    customer_col: str = "customer_id",
    language: str = "en",
    random_state: Any = 0,
) -> ClusterRules:
    """Plain-language rules for cluster membership from a shallow decision tree.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per customer with ``customer_col`` and the ``features``.
    labels : pandas.Series or array
        As in :func:`cluster_profiles`.
    features : sequence of str
        Columns the rules may use (message keys of :mod:`crm_lib.i18n` are translated).
    max_depth : int
        Depth of the tree, 1-4 (2-3 keeps the rules readable).
    language : {"en", "zh"}
    random_state : int
        Seed of the tree (ties between equally good splits).

    Returns
    -------
    ClusterRules

    Notes
    -----
    A CART classification tree (Gini impurity) predicts the cluster from the features.
    Its accuracy says how well ``max_depth`` threshold rules describe the clusters; the
    clusters themselves come from distances, so a rule set below ~90% accurate is a
    simplification to tell with care.

    References
    ----------
    Breiman, L., Friedman, J., Olshen, R., & Stone, C. (1984). Classification and
    Regression Trees. Wadsworth.
    """
    check_language(language)
    if isinstance(max_depth, bool) or not isinstance(max_depth, int) or not 1 <= max_depth <= 4:
        raise ValueError(
            f"max_depth must be an integer from 1 to 4 (rules stay readable), not {max_depth!r}"
        )
    _check_frame(data, [customer_col, *features])
    df = _labels_frame(data, labels, customer_col)
    x = _numeric(df, features)
    y = df["cluster"].to_numpy()
    tree = DecisionTreeClassifier(max_depth=max_depth, random_state=random_state).fit(x, y)
    accuracy = float((tree.predict(x) == y).mean())
    names = [t(f, language) if _has_message(f) else f for f in features]
    text = export_text(tree, feature_names=names, decimals=1)
    joiner = " 且 " if language == "zh" else " and "
    tr = tree.tree_
    rows = []

    def walk(node: int, conds: list[str]) -> None:
        if tr.children_left[node] == -1:
            counts = tr.value[node][0]
            j = int(np.argmax(counts))
            rows.append(
                {
                    "rule": joiner.join(conds) if conds else t("all_customers", language),
                    "cluster": tree.classes_[j].item(),
                    "customers": int(tr.n_node_samples[node]),
                    "purity": float(counts[j] / counts.sum()),
                }
            )
            return
        name, thr = names[tr.feature[node]], _fmt(float(tr.threshold[node]))
        walk(tr.children_left[node], [*conds, f"{name} <= {thr}"])
        walk(tr.children_right[node], [*conds, f"{name} > {thr}"])

    walk(0, [])
    rules = pd.DataFrame(rows).sort_values(["cluster", "customers"], ascending=[True, False])
    return ClusterRules(tree, accuracy, rules.reset_index(drop=True), text)


def _has_message(key: str) -> bool:
    return key in MESSAGES


# ------------------------------------------------------------------ stability


def bootstrap_stability(
    data: pd.DataFrame,
    n_clusters: int,
    *,
    method: Method = "kmeans",
    features: Sequence[str] = DEFAULT_FEATURES,
    log: bool = True,
    n_boot: int = 20,
    n_init: int = 3,
    customer_col: str = "customer_id",
    random_state: Any = None,
) -> pd.DataFrame:
    """Agreement of clusterings fitted on bootstrap resamples with the full-data clustering.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per customer.
    n_clusters, method, features, log, n_init, customer_col
        As in :class:`CustomerClusterer`.
    n_boot : int
        Number of bootstrap resamples.
    random_state : int or None
        Seed of the resamples and the fits.

    Returns
    -------
    pandas.DataFrame
        One row per resample: ``replicate, ari`` (adjusted Rand index between the
        resample's clustering, predicted on all customers, and the full-data clustering).
        Summarise with ``ari.mean()`` and ``ari.quantile(0.1)``.

    Notes
    -----
    Each resample draws *n* customers with replacement, fits the clustering (with the
    feature scaling refitted on the resample) and assigns every customer of the full data.
    A stable segmentation assigns (almost) the same customers together whatever the
    sample: ARI near 1. ARI is 0 for agreement at chance level and does not depend on the
    cluster numbering (Hubert & Arabie, 1985). Values below ~0.75 mean the clusters are
    not a property of the customer base but of the sample and the random start
    (Hennig, 2007).

    References
    ----------
    Hubert, L., & Arabie, P. (1985). Comparing partitions. Journal of Classification, 2,
    193-218.
    Hennig, C. (2007). Cluster-wise assessment of cluster stability. Computational
    Statistics & Data Analysis, 52(1), 258-271.
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 1:
        raise ValueError(f"n_boot must be an integer >= 1, not {n_boot!r}")
    _check_frame(data, [customer_col, *features])
    rng = np.random.default_rng(random_state)

    def model(seed: int) -> CustomerClusterer:
        return CustomerClusterer(
            n_clusters, method=method, features=features, value_col=None,
            customer_col=customer_col, log=log, n_init=n_init, random_state=seed,
        )  # fmt: skip

    reference = model(int(rng.integers(2**31 - 1))).fit_predict(data).to_numpy()
    n = len(data)
    rows = []
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        fitted = model(int(rng.integers(2**31 - 1))).fit(data.iloc[idx])
        pred = fitted.predict(data).to_numpy()
        rows.append({"replicate": b + 1, "ari": float(adjusted_rand_score(reference, pred))})
    return pd.DataFrame(rows)


def cluster_label(cluster: Any, language: str = "en") -> str:
    """Display name of cluster ``c``: ``"Cluster 2"`` / ``"客群 2"``."""
    return f"{t('cluster', language)} {cluster}"


# ------------------------------------------------------------------ report tables


def profiles_display(profiles: pd.DataFrame, language: str = "en") -> pd.DataFrame:
    """:func:`cluster_profiles` for a report: medians of the features, translated names.

    Returns
    -------
    pandas.DataFrame
        One row per cluster (``"Cluster 1"`` ...): customers, customer share, the median
        of each feature, value and value share, with translated column names.
    """
    check_language(language)
    features = [c[: -len("_median")] for c in profiles.columns if c.endswith("_median")]
    out = pd.DataFrame(
        {
            t("cluster", language): [cluster_label(c, language) for c in profiles["cluster"]],
            t("customers", language): profiles["customers"].to_numpy(),
            t("customer_share", language): profiles["customer_share"].to_numpy(),
        }
    )
    for f in features:
        name = t(f, language) if _has_message(f) else f
        suffix = f"（{t('median', language)}）" if language == "zh" else " (median)"
        out[name + suffix] = profiles[f"{f}_median"].to_numpy()
    out[t("total_value", language)] = profiles["value"].to_numpy()
    out[t("value_share", language)] = profiles["value_share"].to_numpy()
    return out


def categorical_display(cat: pd.DataFrame, language: str = "en") -> pd.DataFrame:
    """:func:`categorical_profiles` as a wide table: share of each level per cluster.

    Returns
    -------
    pandas.DataFrame
        Index (attribute, level), translated; one column per cluster with the level's share
        within the cluster, and the overall share.
    """
    check_language(language)
    wide = cat.pivot_table(index=["attribute", "level"], columns="cluster", values="share")
    wide.columns = [cluster_label(c, language) for c in wide.columns]
    overall = cat.drop_duplicates(["attribute", "level"]).set_index(["attribute", "level"])
    wide[t("overall_share", language)] = overall["overall_share"].reindex(wide.index)
    wide.index = pd.MultiIndex.from_tuples(
        [(t(a, language) if _has_message(a) else a, label(v, language)) for a, v in wide.index],
        names=[t("attribute", language), t("level", language)],
    )
    return wide


def plot_profiles(
    data: pd.DataFrame,
    labels: pd.Series | np.ndarray,
    *,
    features: Sequence[str] = DEFAULT_FEATURES,
    log: bool = True,
    customer_col: str = "customer_id",
    ax=None,
    language: str = "en",
):
    """Heatmap of the clusters' mean standardised features, annotated with the medians.

    Colour: mean of the transformed feature (:func:`transform_features`) in the cluster,
    in standard deviations from the mean of all customers (red above, blue below); text:
    the cluster's median in the original units. Returns the axes.
    """
    check_language(language)
    _check_frame(data, [customer_col, *features])
    df = _labels_frame(data, labels, customer_col)
    z = transform_features(df, features, log=log)
    mean_z = z.groupby(df["cluster"].to_numpy()).mean()
    median = df.groupby("cluster")[list(features)].median().reindex(mean_z.index)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.6 * len(mean_z) + 1.4))
    bound = max(1.0, float(np.abs(mean_z.to_numpy()).max()))
    ax.imshow(mean_z.to_numpy(), cmap="RdBu_r", vmin=-bound, vmax=bound, aspect="auto")
    names = [t(f, language) if _has_message(f) else f for f in features]
    ax.set_xticks(range(len(features)), names)
    ax.set_yticks(range(len(mean_z)), [cluster_label(c, language) for c in mean_z.index])
    ax.grid(False)
    for i in range(mean_z.shape[0]):
        for j in range(mean_z.shape[1]):
            dark = abs(float(mean_z.iloc[i, j])) > 0.6 * bound
            colour = "white" if dark else "black"
            ax.text(j, i, _fmt(float(median.iloc[i, j])), ha="center", va="center", color=colour)
    ax.set_title(t("title_cluster_profiles", language))
    return ax
