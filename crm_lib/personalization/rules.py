"""Association rules between pairs of items (market-basket analysis).

The counts come from the engine (:func:`crm_lib.engine.basket_pair_counts`: on DuckDB, the
default, one sparse product of the basket x item matrix; on Spark, SQL); the measures
are computed here on the small table of frequent pairs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crm_lib import engine as _engine

__all__ = ["RULE_COLUMNS", "association_rules", "rules_from_counts"]

RULE_COLUMNS = [
    "antecedent",
    "consequent",
    "n_both",
    "antecedent_support",
    "consequent_support",
    "support",
    "confidence",
    "lift",
    "leverage",
    "conviction",
]


def rules_from_counts(n_baskets: int, items: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Both rules ``a -> b`` and ``b -> a`` of every pair, with their measures.

    Parameters
    ----------
    n_baskets : int
        Number of baskets :math:`N`.
    items : pandas.DataFrame
        ``item, n``: baskets holding each item.
    pairs : pandas.DataFrame
        ``item_a, item_b, n_ab``: baskets holding both items.

    Returns
    -------
    pandas.DataFrame
        :data:`RULE_COLUMNS`, sorted by lift (descending), then support.

    Notes
    -----
    With :math:`s(X) = n_X / N` (Agrawal, Imielinski & Swami, 1993; Brin et al., 1997;
    Piatetsky-Shapiro, 1991):

    - support :math:`s(A \\cup C)`; confidence :math:`c = s(A \\cup C) / s(A)`;
    - lift :math:`s(A \\cup C) / (s(A)\\, s(C))` (1: independent);
    - leverage :math:`s(A \\cup C) - s(A)\\, s(C)`;
    - conviction :math:`(1 - s(C)) / (1 - c)`, infinite when :math:`c = 1`.

    Examples
    --------
    >>> items = pd.DataFrame({"item": ["a", "b"], "n": [2, 3]})
    >>> pairs = pd.DataFrame({"item_a": ["a"], "item_b": ["b"], "n_ab": [2]})
    >>> rules_from_counts(4, items, pairs)[["antecedent", "confidence", "lift"]]
      antecedent  confidence      lift
    0          a    1.000000  1.333333
    1          b    0.666667  1.333333
    """
    n = float(n_baskets)
    count = items.set_index("item")["n"]
    a, b = pairs["item_a"].to_numpy(object), pairs["item_b"].to_numpy(object)
    ant = np.concatenate([a, b])
    con = np.concatenate([b, a])
    n_ab = np.concatenate([pairs["n_ab"].to_numpy(float)] * 2)
    s_a = count.reindex(ant).to_numpy(float) / n
    s_c = count.reindex(con).to_numpy(float) / n
    s_ac = n_ab / n
    conf = s_ac / s_a
    with np.errstate(divide="ignore"):
        conviction = np.where(conf < 1, (1 - s_c) / np.maximum(1 - conf, 0), np.inf)
    out = pd.DataFrame(
        {
            "antecedent": pd.Series(ant, dtype="string"),
            "consequent": pd.Series(con, dtype="string"),
            "n_both": n_ab.astype(np.int64),
            "antecedent_support": s_a,
            "consequent_support": s_c,
            "support": s_ac,
            "confidence": conf,
            "lift": s_ac / (s_a * s_c),
            "leverage": s_ac - s_a * s_c,
            "conviction": conviction,
        }
    )
    out = out.sort_values(
        ["lift", "support", "antecedent", "consequent"],
        ascending=[False, False, True, True],
        kind="stable",
    )
    return out.reset_index(drop=True)


def association_rules(
    lines: Any,
    *,
    basket_col: str = "basket_id",
    item_col: str = "product_id",
    min_support: float = 0.01,
    min_confidence: float = 0.0,
    min_lift: float = 0.0,
    engine: Any = None,
) -> pd.DataFrame:
    """Pair rules ``antecedent -> consequent`` of a basket log, filtered by thresholds.

    Parameters
    ----------
    lines : DataFrame, pyarrow Table, Parquet path/glob or table name
        One row per item of a basket.
    basket_col, item_col : str
        Basket key and item key.
    min_support : float
        Keep pairs in at least this share of the baskets (in (0, 1]). A rule with high
        lift but tiny support rests on a handful of baskets: its lift is noise.
    min_confidence, min_lift : float
        Further filters on the rules.
    engine : str or backend, optional
        Aggregation engine (:func:`crm_lib.engine.connect`); default DuckDB.

    Returns
    -------
    pandas.DataFrame
        :data:`RULE_COLUMNS` (see :func:`rules_from_counts`), with ``attrs["n_baskets"]``.
    """
    if not 0 < min_support <= 1:
        raise ValueError(f"min_support must be in (0, 1], got {min_support}")
    n, items, pairs = _engine.basket_pair_counts(
        lines,
        basket_col=basket_col,
        item_col=item_col,
        min_support=min_support,
        engine=engine or "duckdb",
    )
    rules = rules_from_counts(n, items, pairs)
    keep = (rules["confidence"] >= min_confidence) & (rules["lift"] >= min_lift)
    rules = rules[keep].reset_index(drop=True)
    rules.attrs["n_baskets"] = n
    return rules
