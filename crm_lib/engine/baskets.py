"""Item and item-pair counts of a basket log, on the engine (market-basket analysis).

The step that reduces millions of basket lines to the counts association rules need:
the number of baskets, the baskets holding each item, and the baskets holding each pair
of items.

On DuckDB (the embedded default) the engine reads and filters the log and hands over
two narrow Arrow columns (basket, item); baskets and items are numbered by Arrow's hash
kernels and the pair counts are one sparse product :math:`X^\top X` of the basket x
item incidence matrix :math:`X` (scipy), whose cost is the sum over baskets of their
squared sizes: a million baskets of a few items take well under a second, four times
less than the self-join of the lines on the basket in SQL. On a cluster engine (Spark)
the counts stay distributed: frequent items are found first and only pairs of frequent
items are joined (the Apriori property: a pair is never more frequent than its rarer
item).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from crm_lib.engine.aggregations import _require
from crm_lib.engine.backends import _to_pandas, connect, table

__all__ = ["basket_pair_counts"]


def basket_pair_counts(
    lines: Any,
    *,
    basket_col: str = "basket_id",
    item_col: str = "product_id",
    min_count: int = 1,
    min_support: float | None = None,
    engine: Any = "duckdb",
) -> tuple[int, pd.DataFrame, pd.DataFrame]:
    """Baskets, item counts and pair counts of a basket log.

    Parameters
    ----------
    lines : DataFrame, pyarrow Table, Parquet path/glob or table name
        One row per item of a basket (several rows of one item in a basket count once).
    basket_col, item_col : str
        Basket (receipt, order) key and item key.
    min_count : int
        Keep items and pairs found in at least this many baskets.
    min_support : float, optional
        Keep items and pairs found in at least this share of the baskets (the larger of
        the two thresholds applies).
    engine : str or backend
        See :func:`crm_lib.engine.connect`.

    Returns
    -------
    n_baskets : int
        Distinct baskets (with at least one item).
    items : pandas.DataFrame
        ``item, n`` (baskets holding the item), items with ``n >= min_count``.
    pairs : pandas.DataFrame
        ``item_a, item_b, n_ab`` with ``item_a < item_b``, pairs with ``n_ab >= min_count``.
    """
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    if min_support is not None and not 0 < min_support <= 1:
        raise ValueError(f"min_support must be in (0, 1], got {min_support}")
    backend = connect(engine)
    t = table(lines, backend)
    _require(t, [basket_col, item_col], "the basket log")
    base = t.filter(t[basket_col].notnull(), t[item_col].notnull()).select(
        b=t[basket_col], i=t[item_col].cast("string")
    )
    if backend.name == "duckdb":
        n_baskets, items, pairs = _pair_counts_sparse(
            backend.to_pyarrow(base), min_count, min_support
        )
    else:
        n_baskets, items, pairs = _pair_counts_sql(base, backend, min_count, min_support)
    items = items.sort_values("item", kind="stable")
    pairs = pairs.sort_values(["item_a", "item_b"], kind="stable")
    return n_baskets, items.reset_index(drop=True), pairs.reset_index(drop=True)


def _min_count(min_count: int, min_support: float | None, n_baskets: int) -> int:
    """The larger of ``min_count`` and ``min_support`` as a count of baskets."""
    if min_support is None:
        return int(min_count)
    return max(int(min_count), math.ceil(min_support * n_baskets - 1e-9))


def _pair_counts_sparse(lines, min_count: int, min_support: float | None):
    """Counts from an Arrow table ``b, i`` (no nulls): baskets and items numbered by
    ``dictionary_encode``, item codes in the byte order of their names (DuckDB's order of
    strings), then :math:`C = X^\top X` with :math:`X_{bi} = 1` when basket :math:`b`
    holds item :math:`i` (several lines of one item count once): :math:`C_{ii}` is the
    baskets holding :math:`i`, :math:`C_{ij}` those holding both."""
    import pyarrow.compute as pc
    from scipy import sparse

    basket = pc.dictionary_encode(lines["b"].combine_chunks())
    item = pc.dictionary_encode(lines["i"].combine_chunks())
    n_baskets, n_items = len(basket.dictionary), len(item.dictionary)
    order = np.asarray(pc.sort_indices(item.dictionary))  # code -> dictionary number
    code = np.empty(n_items, dtype=np.int32)
    code[order] = np.arange(n_items, dtype=np.int32)
    names = item.dictionary.take(order).to_pandas()
    rows = np.asarray(basket.indices)
    x = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.int64), (rows, code[np.asarray(item.indices)])),
        shape=(n_baskets, n_items),
    )  # duplicate lines summed ...
    x.data[:] = 1  # ... and counted once
    n = np.bincount(x.indices, minlength=n_items)
    min_count = _min_count(min_count, min_support, n_baskets)
    keep = n >= min_count
    items = pd.DataFrame({"item": names[keep].reset_index(drop=True), "n": n[keep]})
    both = sparse.triu((x.T @ x).tocoo(), k=1).tocoo()  # item_a < item_b
    big = both.data >= min_count
    pairs = pd.DataFrame(
        {
            "item_a": names.to_numpy(object)[both.row[big]],
            "item_b": names.to_numpy(object)[both.col[big]],
            "n_ab": both.data[big].astype(np.int64),
        }
    )
    return n_baskets, items, pairs


def _pair_counts_sql(base, backend, min_count: int, min_support: float | None):
    """Counts by SQL on the engine: the lines self-joined on the basket, only the lines
    of frequent items joined."""
    import ibis

    # items get small integer codes first: the distinct lines and the self-join then
    # compare integers, not strings
    codes = base.select("i").distinct()
    codes = codes.mutate(code=(ibis.row_number().over(order_by="i")).cast("int32"))
    bl = base.join(codes, "i").select("b", "code").distinct()
    n_baskets = int(_to_pandas(bl.aggregate(n=bl.b.nunique()), backend)["n"].iloc[0] or 0)
    min_count = _min_count(min_count, min_support, n_baskets)
    counts = bl.group_by("code").aggregate(n=bl.count())
    frequent = counts.filter(counts.n >= int(min_count))
    items = _to_pandas(frequent.join(codes, "code").select("i", "code", "n"), backend)
    kept = bl.semi_join(frequent, "code")
    right = kept.view().rename(b2="b", code2="code")
    joined = kept.join(right, [kept.b == right.b2, kept.code < right.code2])
    pairs = joined.group_by([joined.code.name("a"), joined.code2.name("c")]).aggregate(
        n_ab=joined.count()
    )
    pairs = _to_pandas(pairs.filter(pairs.n_ab >= int(min_count)), backend)
    name = items.set_index("code")["i"]
    pairs = pd.DataFrame(
        {
            "item_a": name.reindex(pairs["a"]).to_numpy(object),
            "item_b": name.reindex(pairs["c"]).to_numpy(object),
            "n_ab": pairs["n_ab"].to_numpy(np.int64),
        }
    )
    items = items.rename(columns={"i": "item"})[["item", "n"]].astype({"n": np.int64})
    return n_baskets, items, pairs
