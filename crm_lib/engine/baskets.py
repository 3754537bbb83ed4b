"""Item and item-pair counts of a basket log, on the engine (market-basket analysis).

The step that reduces millions of basket lines to the counts association rules need:
the number of baskets, the baskets holding each item, and the baskets holding each pair
of items. Frequent items are found first and only pairs of frequent items are joined
(the Apriori property: a pair is never more frequent than its rarer item), so the
self-join stays small even for a million baskets.
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
    import ibis

    backend = connect(engine)
    t = table(lines, backend)
    _require(t, [basket_col, item_col], "the basket log")
    base = t.filter(t[basket_col].notnull(), t[item_col].notnull()).select(
        b=t[basket_col], i=t[item_col].cast("string")
    )
    # items get small integer codes first: the distinct lines and the self-join then
    # compare integers, not strings
    codes = base.select("i").distinct()
    codes = codes.mutate(code=(ibis.row_number().over(order_by="i")).cast("int32"))
    bl = base.join(codes, "i").select("b", "code").distinct()
    temp = None
    if backend.name == "duckdb":  # used three times: materialise once
        temp = ibis.util.gen_name("crm_basket_lines")
        bl = backend.create_table(temp, bl, temp=True)
    try:
        n_baskets = int(_to_pandas(bl.aggregate(n=bl.b.nunique()), backend)["n"].iloc[0] or 0)
        if min_support is not None:
            if not 0 < min_support <= 1:
                raise ValueError(f"min_support must be in (0, 1], got {min_support}")
            min_count = max(int(min_count), math.ceil(min_support * n_baskets - 1e-9))
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
    finally:
        if temp is not None:
            backend.drop_table(temp, force=True)
    name = items.set_index("code")["i"]
    pairs = pd.DataFrame(
        {
            "item_a": name.reindex(pairs["a"]).to_numpy(object),
            "item_b": name.reindex(pairs["c"]).to_numpy(object),
            "n_ab": pairs["n_ab"].to_numpy(np.int64),
        }
    )
    items = items.rename(columns={"i": "item"})[["item", "n"]].astype({"n": np.int64})
    items = items.sort_values("item", kind="stable")
    pairs = pairs.sort_values(["item_a", "item_b"], kind="stable")
    return n_baskets, items.reset_index(drop=True), pairs.reset_index(drop=True)
