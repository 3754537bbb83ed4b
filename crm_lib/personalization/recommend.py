"""Next-best product: item-to-item recommendations against two baselines.

Methods (each ranks every item of the training catalogue for each customer; ties and
items with no score are ordered by popularity, so every list is full):

- ``popularity``: the items in most training baskets, the same list for everyone;
- ``personal``: the customer's own most frequently bought items (baskets holding the
  item), then popularity. The next-basket literature finds this baseline hard to beat
  (Hu et al., 2020);
- ``item_to_item``: co-occurrence similarity with popularity damping (below), scored
  against the customer's history (Sarwar et al., 2001; Linden, Smith & York, 2003);
- ``blend``: ``item_to_item`` plus ``blend_weight`` times the personal frequency share,
  each scaled to a maximum of 1 per customer.

Evaluation is on a time-based holdout: fit on the baskets before a cutoff, recommend
``k`` items to every customer who bought both before and after it, and score the lists
against what each customer bought after the cutoff (hit rate@k, precision@k, recall@k,
catalogue coverage), with bootstrap intervals over customers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import sparse
from statsmodels.stats.proportion import proportion_confint

__all__ = [
    "METHODS",
    "ItemToItemRecommender",
    "best_method",
    "evaluate_recommenders",
    "holdout_split",
    "recommendation_list",
]

METHODS = ("popularity", "personal", "item_to_item", "blend")


def _basket_matrix(
    lines: pd.DataFrame, basket_col: str, item_col: str, customer_col: str, items=None
):
    """Basket x item incidence (0/1), the baskets' customers and the item index."""
    d = lines[[basket_col, item_col, customer_col]].dropna()
    d = d.drop_duplicates([basket_col, item_col])
    if items is None:
        items = pd.Index(np.sort(d[item_col].astype(str).unique()))
    col = items.get_indexer(d[item_col].astype(str))
    d = d[col >= 0]
    col = col[col >= 0]
    b_codes, baskets = pd.factorize(d[basket_col], sort=False)
    m = sparse.csr_matrix((np.ones(col.shape[0]), (b_codes, col)), shape=(len(baskets), len(items)))
    owner = d.groupby(b_codes, sort=True)[customer_col].first().to_numpy(object)
    return m, owner, items


class ItemToItemRecommender:
    """Item-to-item recommender with popularity damping, and the two baselines.

    Parameters
    ----------
    damping : float
        Exponent ``beta`` of the target item's popularity in the similarity
        ``sim(i, j) = c_ij / (n_i^(1 - beta) n_j^beta)`` (``c_ij``: baskets with both,
        ``n_i``: baskets with ``i``). 0 gives the conditional probability ``P(j | i)``,
        which favours popular items; 0.5 the cosine; 1 damps popular items most.
    blend_weight : float
        Weight of the personal frequency share in ``blend``.
    basket_col, item_col, customer_col : str
        Columns of the basket log.

    Attributes
    ----------
    items_ : pandas.Index
        The training catalogue.
    similarity_ : scipy.sparse.csr_matrix
        Item x item similarity (zero diagonal).
    popularity_ : numpy.ndarray
        Baskets holding each item.
    history_ : scipy.sparse.csr_matrix
        Customer x item: baskets of the customer holding the item.
    customers_ : pandas.Index
        Customers with a training basket.

    Notes
    -----
    Score of item ``j`` for customer ``u``: ``sum_i h_ui sim(i, j)`` with ``h_ui`` the
    customer's baskets holding ``i``. Items the customer already bought are not removed:
    in retail, buying again is the commonest next purchase.
    """

    def __init__(
        self,
        damping: float = 0.5,
        blend_weight: float = 1.0,
        *,
        basket_col: str = "basket_id",
        item_col: str = "product_id",
        customer_col: str = "customer_id",
    ):
        self.damping = damping
        self.blend_weight = blend_weight
        self.basket_col = basket_col
        self.item_col = item_col
        self.customer_col = customer_col

    def fit(self, lines: pd.DataFrame) -> ItemToItemRecommender:
        """Count co-occurrences and each customer's history in ``lines``."""
        if not 0 <= self.damping <= 1:
            raise ValueError(f"damping must be in [0, 1], got {self.damping}")
        missing = [c for c in (self.basket_col, self.item_col, self.customer_col) if c not in lines]
        if missing:
            raise KeyError(f"the basket log has no column {missing[0]!r}")
        m, owner, items = _basket_matrix(lines, self.basket_col, self.item_col, self.customer_col)
        if m.shape[0] == 0:
            raise ValueError("no basket with a customer and an item to learn from")
        co = (m.T @ m).tocsr().astype(float)
        n = np.asarray(co.diagonal()).ravel()
        co.setdiag(0)
        co.eliminate_zeros()
        left = sparse.diags(1.0 / np.power(n, 1 - self.damping))
        right = sparse.diags(1.0 / np.power(n, self.damping))
        self.similarity_ = (left @ co @ right).tocsr()
        self.popularity_ = n
        c_codes, customers = pd.factorize(owner, sort=True)
        owner_m = sparse.csr_matrix(
            (np.ones(c_codes.shape[0]), (c_codes, np.arange(c_codes.shape[0]))),
            shape=(len(customers), m.shape[0]),
        )
        self.history_ = (owner_m @ m).tocsr()
        self.customers_ = pd.Index(customers)
        self.items_ = items
        return self

    def _scores(self, method: str, rows: np.ndarray) -> np.ndarray:
        """Dense scores (customers x items) with a popularity tie-break."""
        n_items = len(self.items_)
        pop = self.popularity_ / self.popularity_.max()
        tie = 1e-6 * pop  # below any real score difference
        h = self.history_[rows]
        if method == "popularity":
            return np.broadcast_to(pop, (rows.shape[0], n_items)).copy()
        personal = h.toarray()
        personal /= np.maximum(personal.max(axis=1, keepdims=True), 1e-300)
        if method == "personal":
            return personal + tie
        i2i = (h @ self.similarity_).toarray()
        i2i /= np.maximum(i2i.max(axis=1, keepdims=True), 1e-300)
        if method == "item_to_item":
            return i2i + tie
        if method == "blend":
            return i2i + self.blend_weight * personal + tie
        raise ValueError(f"unknown method {method!r}; one of {', '.join(METHODS)}")

    def recommend(
        self,
        customers: Sequence[str] | None = None,
        *,
        k: int = 10,
        method: str = "blend",
        chunk: int = 20_000,
    ) -> pd.DataFrame:
        """Top ``k`` items per customer.

        Parameters
        ----------
        customers : sequence of str, optional
            Customers to recommend to (default: every customer of the training data);
            customers without history get the popularity list.
        k : int
            Length of each list.
        method : str
            One of :data:`METHODS`.

        Returns
        -------
        pandas.DataFrame
            ``customer_id, rank`` (1 = best), ``product_id, score`` (columns named as
            the recommender's ``customer_col`` and ``item_col``).
        """
        ids, top, score = self._top(customers, k, method, chunk)
        n, kk = top.shape
        return pd.DataFrame(
            {
                self.customer_col: np.repeat(np.asarray(ids, dtype=object), kk),
                "rank": np.tile(np.arange(1, kk + 1), n),
                self.item_col: self.items_.to_numpy()[top.ravel()],
                "score": score.ravel(),
            }
        )

    def _top(self, customers, k: int, method: str, chunk: int):
        if customers is None:
            customers = self.customers_
        ids = pd.Index(customers)
        rows = self.customers_.get_indexer(ids)
        k = min(int(k), len(self.items_))
        top = np.empty((len(ids), k), dtype=np.int64)
        score = np.empty((len(ids), k))
        known = rows >= 0
        pop_rank = np.argsort(-self.popularity_, kind="stable")[:k]
        top[~known] = pop_rank
        score[~known] = 0.0
        where = np.flatnonzero(known)
        for start in range(0, where.shape[0], chunk):
            sel = where[start : start + chunk]
            s = self._scores(method, rows[sel])
            part = np.argpartition(-s, k - 1, axis=1)[:, :k]
            order = np.argsort(-np.take_along_axis(s, part, axis=1), axis=1, kind="stable")
            best = np.take_along_axis(part, order, axis=1)
            top[sel] = best
            score[sel] = np.take_along_axis(s, best, axis=1)
        return ids, top, score


def holdout_split(
    lines: pd.DataFrame,
    *,
    cutoff: pd.Timestamp | str,
    end: pd.Timestamp | str | None = None,
    date_col: str = "purchased_at",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lines before ``cutoff`` (training) and from ``cutoff`` up to ``end`` (holdout)."""
    t = lines[date_col]
    cutoff = pd.Timestamp(cutoff)
    if cutoff.tzinfo is None and getattr(t.dt, "tz", None) is not None:
        cutoff = cutoff.tz_localize("UTC")
    after = t >= cutoff
    if end is not None:
        e = pd.Timestamp(end)
        if e.tzinfo is None and getattr(t.dt, "tz", None) is not None:
            e = e.tz_localize("UTC")
        after &= t < e
    return lines[t < cutoff], lines[after]


def _bootstrap_counts(rng: np.random.Generator, n: int, n_boot: int) -> np.ndarray:
    """Resampling counts (n_boot x n): how often each customer is drawn."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)


def evaluate_recommenders(
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    k: int = 10,
    methods: Sequence[str] = METHODS,
    damping: float = 0.5,
    blend_weight: float = 1.0,
    n_boot: int = 500,
    alpha: float = 0.05,
    next_basket: bool = True,
    date_col: str = "purchased_at",
    random_state: int | None = 0,
    basket_col: str = "basket_id",
    item_col: str = "product_id",
    customer_col: str = "customer_id",
) -> pd.DataFrame:
    """Hit rate@k, precision@k, recall@k and coverage of each method on a holdout.

    Parameters
    ----------
    train, test : pandas.DataFrame
        Basket lines before and after the cutoff (:func:`holdout_split`).
    k : int
        Length of the recommendation lists.
    methods : sequence of str
        Of :data:`METHODS`; the first is the reference of the paired differences.
    damping, blend_weight : float
        See :class:`ItemToItemRecommender`.
    n_boot : int
        Bootstrap resamples of the evaluated customers (the same resamples for every
        method, so differences between methods are paired).
    alpha : float
        1 - level of the intervals.
    next_basket : bool
        Score each customer's first holdout basket only (their *next* basket, the
        next-basket task; default) rather than everything bought in the holdout.
    date_col : str
        Time of the basket (for ``next_basket``).
    random_state : int, optional
        Seed of the bootstrap.

    Returns
    -------
    pandas.DataFrame
        One row per method and metric: ``method, metric`` (``hit_rate, precision,
        recall, coverage``), ``value, ci_low, ci_high``, and the paired difference to
        the popularity baseline and to the personal baseline (``diff_popularity,
        diff_popularity_low, diff_popularity_high``, ``diff_personal...``).
        ``attrs``: ``customers`` evaluated, ``k``, ``catalogue`` size.

    Notes
    -----
    For customer ``u`` with list ``L_u`` and holdout items ``T_u``: hit ``1[L_u cap T_u
    != {}]``, precision ``|L_u cap T_u| / k``, recall ``|L_u cap T_u| / |T_u|``; the
    metric is the mean over customers who bought before and after the cutoff. Coverage is
    the share of the catalogue that appears in at least one list. Items first sold after
    the cutoff cannot be recommended and count as misses.

    Intervals: the hit rate is a proportion of customers, so it gets the Wilson score
    interval (Wilson, 1927), which stays honest at 0 or n hits and on few customers;
    precision and recall get percentile bootstrap intervals over customers, and the
    differences between methods paired bootstrap intervals (the same resamples for every
    method). When every resample gives the same value (e.g. no hit at all) the bootstrap
    has seen no variation and no interval is given (NaN) rather than a zero-width one.
    Coverage gets none: a resample with repeated customers lists fewer distinct items, so
    resampled coverage is biased low and its percentile interval can miss the estimate.
    """
    rec = ItemToItemRecommender(
        damping,
        blend_weight,
        basket_col=basket_col,
        item_col=item_col,
        customer_col=customer_col,
    ).fit(train)
    if next_basket:
        first = test.groupby(customer_col)[date_col].transform("min")
        test = test[test[date_col] == first]
    test_custs = pd.Index(test[customer_col].dropna().unique())
    customers = rec.customers_.intersection(test_custs).sort_values()
    if len(customers) == 0:
        raise ValueError("no customer bought both before and after the cutoff")
    t = test[[customer_col, item_col]].dropna().drop_duplicates()
    t = t[t[customer_col].isin(customers)]
    r = customers.get_indexer(t[customer_col])
    c = rec.items_.get_indexer(t[item_col].astype(str))
    n_test = np.bincount(r, minlength=len(customers)).astype(float)
    known = c >= 0
    truth = sparse.csr_matrix(
        (np.ones(int(known.sum())), (r[known], c[known])),
        shape=(len(customers), len(rec.items_)),
    )
    rng = np.random.default_rng(random_state)
    counts = _bootstrap_counts(rng, len(customers), n_boot)
    n_cust = float(len(customers))
    per: dict[str, dict[str, np.ndarray]] = {}
    point: dict[str, dict[str, float]] = {}
    for method in methods:
        _, top, _ = rec._top(customers, k, method, 20_000)
        kk = top.shape[1]
        rows = np.repeat(np.arange(len(customers)), kk)
        hits = np.asarray(truth[rows, top.ravel()]).reshape(len(customers), kk)
        n_hit = hits.sum(axis=1)
        values = {
            "hit_rate": (n_hit > 0).astype(float),
            "precision": n_hit / k,
            "recall": n_hit / n_test,
        }
        listed = sparse.csr_matrix(
            (np.ones(rows.shape[0]), (rows, top.ravel())),
            shape=(len(customers), len(rec.items_)),
        )
        boot = {m: counts @ v / n_cust for m, v in values.items()}
        boot["coverage"] = np.asarray((sparse.csr_matrix(counts) @ listed).toarray() > 0).mean(
            axis=1
        )
        per[method] = boot
        point[method] = {m: float(v.mean()) for m, v in values.items()}
        point[method]["coverage"] = float(
            np.asarray(listed.sum(axis=0)).ravel().astype(bool).mean()
        )
    lo, hi = 100 * alpha / 2, 100 * (1 - alpha / 2)

    def percentile(draws: np.ndarray) -> tuple[float, float]:
        # every resample equal (e.g. no hit at all): the bootstrap has seen no variation
        # and its [x, x] would claim certainty it does not have, so no interval
        if np.ptp(draws) == 0:
            return np.nan, np.nan
        return float(np.percentile(draws, lo)), float(np.percentile(draws, hi))

    rows_out = []
    for method in methods:
        for metric in ("hit_rate", "precision", "recall", "coverage"):
            b = per[method][metric]
            if metric == "hit_rate":  # a proportion of customers: Wilson (1927)
                hits = round(point[method][metric] * n_cust)
                ci = proportion_confint(hits, int(n_cust), alpha=alpha, method="wilson")
            elif metric == "coverage":  # see Notes: no resampling interval
                ci = (np.nan, np.nan)
            else:
                ci = percentile(b)
            row = {
                "method": method,
                "metric": metric,
                "value": point[method][metric],
                "ci_low": float(ci[0]),
                "ci_high": float(ci[1]),
            }
            for base in ("popularity", "personal"):
                if base in per:
                    row[f"diff_{base}"] = point[method][metric] - point[base][metric]
                    if base == method:  # a method against itself: exactly 0
                        d_ci = (0.0, 0.0)
                    elif metric == "coverage":
                        d_ci = (np.nan, np.nan)
                    else:
                        d_ci = percentile(b - per[base][metric])
                    row[f"diff_{base}_low"], row[f"diff_{base}_high"] = d_ci
            rows_out.append(row)
    out = pd.DataFrame(rows_out)
    out.attrs.update({"customers": len(customers), "k": int(k), "catalogue": len(rec.items_)})
    return out


def best_method(evaluation: pd.DataFrame, metric: str = "hit_rate") -> str:
    """The method with the highest ``metric`` (ties: the simpler, earlier in METHODS)."""
    e = evaluation[evaluation["metric"] == metric].copy()
    e["order"] = e["method"].map({m: i for i, m in enumerate(METHODS)})
    e = e.sort_values(["value", "order"], ascending=[False, True], kind="stable")
    return str(e["method"].iloc[0])


def recommendation_list(
    recommender: ItemToItemRecommender,
    customers: pd.DataFrame,
    *,
    k: int = 5,
    method: str = "blend",
    consent_col: str = "marketing_consent",
    key: str | bytes | None = None,
) -> pd.DataFrame:
    """Next-best products for the customers who consented to marketing, pseudonymised.

    Parameters
    ----------
    recommender : ItemToItemRecommender
        Fitted on all baskets up to today.
    customers : pandas.DataFrame
        ``customer_id`` (the recommender's ``customer_col``) and the consent column;
        missing consent counts as refused.
    key : str or bytes, optional
        Pseudonymisation key (:func:`crm_lib.intake.privacy.pseudonymize`).

    Returns
    -------
    pandas.DataFrame
        ``customer`` (pseudonym), ``rank, product_id, score, method``; only consenting
        customers with a purchase history.
    """
    from crm_lib.intake.privacy import consent_flags, pseudonymize

    col = recommender.customer_col
    flags = consent_flags(customers, customer_col=col, consent_col=consent_col)
    allowed = pd.Index(flags.loc[flags["may_contact"], col]).intersection(recommender.customers_)
    recs = recommender.recommend(allowed.sort_values(), k=k, method=method)
    recs["method"] = method
    out = pseudonymize(recs.rename(columns={col: "customer"}), "customer", key=key)
    return out
