"""RFM segmentation: quantile scores with named segments, and the eight-class RFM scheme.

Both work on the per-customer summary of :func:`crm_lib.value.customer_summary`
(``customer_id, frequency, recency, T, monetary_total, ...``). In RFM segmentation
"recency" means the time *since* the last purchase, which is ``T - recency`` in the
lifetimes vocabulary of the summary (``recency`` there is first-to-last purchase); it is
reported as ``time_since_last`` in the summary's time unit.

>>> import pandas as pd
>>> summary = pd.DataFrame({
...     "customer_id": ["a", "b", "c", "d"],
...     "frequency": [5, 0, 3, 1],
...     "recency": [50.0, 0.0, 10.0, 3.0],
...     "T": [52.0, 40.0, 30.0, 4.0],
...     "monetary_total": [900.0, 50.0, 400.0, 120.0],
... })
>>> rfm_classes(summary)[["customer_id", "segment"]].to_dict("list")
{'customer_id': ['a', 'b', 'c', 'd'], 'segment': ['Important value', 'General recovery', \
'Important retention', 'General development']}
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = [
    "EIGHT_CLASSES",
    "RFM_SEGMENTS",
    "rfm_classes",
    "rfm_scores",
    "score_bins",
    "score_bins_display",
    "segment_table",
    "segment_table_display",
]

RFM_SEGMENTS = pd.DataFrame(
    [
        # segment, zh, rule (r, fm are score / bins in (0, 1]; first matching row wins)
        ("Champions", "冠军客户", "r > 0.6 and fm > 0.6",
         "Reward them; early access, referral programme; no discounts needed",
         "给予奖励与新品抢先体验，邀请推荐；无需打折"),
        ("Loyal", "忠诚客户", "r > 0.4 and fm > 0.6",
         "Upsell higher-value products; loyalty points; ask for reviews",
         "推荐高价值商品，积分计划，邀请评价"),
        ("Potential loyalist", "潜在忠诚客户", "r > 0.6 and fm > 0.3",
         "Membership or loyalty offer; recommend related products",
         "推送会员/积分权益，推荐关联商品"),
        ("New", "新客户", "r > 0.6",
         "Onboarding series; second-purchase incentive",
         "新客引导，提供二次购买激励"),
        ("Can't lose them", "不能失去的客户", "r <= 0.4 and fm > 0.8",
         "Win them back personally: account manager call, strong tailored offer",
         "专人联系挽回，提供有力的个性化优惠"),
        ("At risk", "流失风险客户", "r <= 0.4 and fm > 0.5",
         "Reactivation campaign with personalised offers before they lapse",
         "在流失前开展个性化唤醒营销"),
        ("Lost", "流失客户", "r <= 0.2",
         "Low-cost win-back attempt only; otherwise suppress from paid campaigns",
         "仅做低成本召回，否则停止付费触达"),
        ("Hibernating", "休眠客户", "otherwise",
         "Occasional low-cost reminders; relevant offers only",
         "偶尔低成本提醒，只推送相关优惠"),
    ],
    columns=["segment", "segment_zh", "rule", "action_en", "action_zh"],
)  # fmt: skip
"""Named RFM segments, their rules (evaluated top to bottom) and recommended actions."""

EIGHT_CLASSES = pd.DataFrame(
    [
        # R recent, F high, M high, en, zh, actions
        (True, True, True, "Important value", "重要价值客户",
         "Keep them: VIP service, exclusive benefits",
         "重点维护：VIP 服务与专属权益"),
        (True, False, True, "Important development", "重要发展客户",
         "Raise purchase frequency: membership, cross-selling",
         "提升购买频次：会员计划、交叉销售"),
        (False, True, True, "Important retention", "重要保持客户",
         "Bring them back soon: proactive contact, reminders",
         "主动联系，尽快促成回购"),
        (False, False, True, "Important recovery", "重要挽留客户",
         "Win back: find out why they left, targeted offer",
         "重点挽留：了解流失原因，定向优惠"),
        (True, True, False, "General value", "一般价值客户",
         "Raise order value: bundles, upselling",
         "提升客单价：组合套餐、向上销售"),
        (True, False, False, "General development", "一般发展客户",
         "Nurture: onboarding, second-purchase incentive",
         "培育：新客引导与二次购买激励"),
        (False, True, False, "General retention", "一般保持客户",
         "Low-cost reactivation reminders",
         "低成本唤醒提醒"),
        (False, False, False, "General recovery", "一般挽留客户",
         "Low priority: low-cost automated campaigns only",
         "低优先级：仅做低成本自动化营销"),
    ],
    columns=["r_recent", "f_high", "m_high", "segment", "segment_zh", "action_en", "action_zh"],
)  # fmt: skip
"""The eight RFM classes (R recent / not, F high / low, M high / low) with actions."""


def _prepare(
    summary: pd.DataFrame,
    customer_col: str,
    frequency_col: str,
    recency_col: str,
    T_col: str,
    monetary_col: str,
) -> pd.DataFrame:
    """Validated per-customer R (time since last purchase), F and M, sorted by customer id."""
    if not isinstance(summary, pd.DataFrame):
        raise TypeError(f"summary must be a pandas DataFrame, not {type(summary).__name__}")
    args = {
        "customer_col": customer_col,
        "frequency_col": frequency_col,
        "recency_col": recency_col,
        "T_col": T_col,
        "monetary_col": monetary_col,
    }
    for arg, col in args.items():
        if col not in summary.columns:
            raise ValueError(
                f"summary has no column {col!r} given as {arg}; available columns: "
                f"{', '.join(map(str, summary.columns))} (build it with "
                "crm_lib.value.customer_summary)"
            )
    if summary.empty:
        raise ValueError("summary is empty: there are no customers to score")
    ids = summary[customer_col]
    if ids.isna().any():
        raise ValueError(f"{customer_col} has missing ids: drop or fill them first")
    if ids.duplicated().any():
        dup = ids[ids.duplicated()].iloc[0]
        raise ValueError(
            f"{customer_col} must be unique (one row per customer); {dup!r} appears more than once"
        )
    out = pd.DataFrame({customer_col: ids.to_numpy()})
    for name, col in (("frequency", frequency_col), ("monetary", monetary_col)):
        out[name] = pd.to_numeric(summary[col], errors="coerce").to_numpy(dtype=float)
    since = pd.to_numeric(summary[T_col], errors="coerce") - pd.to_numeric(
        summary[recency_col], errors="coerce"
    )
    out.insert(1, "time_since_last", since.to_numpy(dtype=float))
    bad = out[["time_since_last", "frequency", "monetary"]].isna().any(axis=1)
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} customers have missing or non-numeric {recency_col}, {T_col}, "
            f"{frequency_col} or {monetary_col} (first: {out.loc[bad, customer_col].iloc[0]!r}); "
            "drop or fill them first"
        )
    return out.sort_values(customer_col, kind="stable").reset_index(drop=True)


def _quantile_score(values: np.ndarray, bins: int) -> np.ndarray:
    """1..bins by the lowest rank of each value's tied group: equal values, equal scores."""
    rank = pd.Series(values).rank(method="min").to_numpy()
    return ((rank - 1) * bins // values.shape[0] + 1).astype(np.int64)


_DIMENSIONS = (("R", "time_since_last", "r_score"), ("F", "frequency", "f_score"),
               ("M", "monetary", "m_score"))  # fmt: skip


def score_bins(scored: pd.DataFrame, bins: int = 5) -> pd.DataFrame:
    """The actual size and value range of every R, F and M score level.

    Tied customers share a score (:func:`rfm_scores`), so with many ties (one-time buyers,
    customers whose last purchase was on the same day) the levels hold unequal numbers of
    customers and some may be empty. This table says how uneven they are.

    Parameters
    ----------
    scored : pandas.DataFrame
        Output of :func:`rfm_scores` (columns ``time_since_last, frequency, monetary,
        r_score, f_score, m_score``).
    bins : int
        The ``bins`` the scores were computed with.

    Returns
    -------
    pandas.DataFrame
        One row per dimension (``R``, ``F``, ``M``) and score ``1..bins``: ``dimension,
        score, customers, customer_share, min_value, max_value``, where the values are the
        smallest and largest time since the last purchase (R), frequency (F) or net spend
        (M) in the level (missing for an empty level). With ``n`` customers and no ties,
        every level holds ``n / bins`` customers up to one.
    """
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 2:
        raise ValueError(f"bins must be an integer >= 2 (5 gives quintiles), not {bins!r}")
    needed = [c for _, v, s in _DIMENSIONS for c in (v, s)]
    missing = [c for c in needed if c not in scored.columns]
    if missing:
        raise ValueError(f"scored has no columns {missing}: pass the output of rfm_scores")
    levels = pd.Index(range(1, int(bins) + 1), name="score")
    n = len(scored)
    parts = []
    for dim, value_col, score_col in _DIMENSIONS:
        by = scored[value_col].astype(float).groupby(scored[score_col].to_numpy())
        part = pd.DataFrame(
            {
                "customers": by.size().reindex(levels, fill_value=0).astype(np.int64),
                "min_value": by.min().reindex(levels),
                "max_value": by.max().reindex(levels),
            }
        )
        part.insert(1, "customer_share", part["customers"] / n if n else np.nan)
        part.insert(0, "dimension", dim)
        parts.append(part.reset_index())
    out = pd.concat(parts, ignore_index=True)
    return out[["dimension", "score", "customers", "customer_share", "min_value", "max_value"]]


def rfm_scores(
    summary: pd.DataFrame,
    bins: int = 5,
    *,
    customer_col: str = "customer_id",
    frequency_col: str = "frequency",
    recency_col: str = "recency",
    T_col: str = "T",
    monetary_col: str = "monetary_total",
    engine: Any = "pandas",
) -> pd.DataFrame:
    """Quantile R, F and M scores (1 = worst, ``bins`` = best) and named segments.

    Parameters
    ----------
    summary : pandas.DataFrame, or a Parquet path / table name with an engine
        One row per customer (:func:`crm_lib.value.customer_summary`).
    bins : int
        Number of score levels (5: quintiles).
    customer_col, frequency_col, recency_col, T_col, monetary_col : str
        Columns of ``summary``. R is ``T - recency`` (time since the last purchase;
        smaller is better); M defaults to ``monetary_total`` (net spend over the period).
    engine : {"pandas", "duckdb", "spark"}, Spark master, URL or ibis backend
        Where the ranks are computed (see :func:`crm_lib.engine.connect`). ``"pandas"``
        (default) for a DataFrame in memory; an engine ranks with window functions
        (:func:`crm_lib.engine.rfm_scores`) and gives the same integer scores.

    Returns
    -------
    pandas.DataFrame
        Sorted by customer id: ``customer_id, time_since_last, frequency, monetary,
        r_score, f_score, m_score, rfm_code`` (e.g. ``"545"``), ``rfm_sum``, ``segment``
        and ``segment_zh``. ``attrs["score_bins"]`` holds :func:`score_bins`: the actual
        number of customers and value range of every score level.

    Notes
    -----
    Each score is the quantile bin of the customer's value,
    :math:`s = \\lfloor (\\text{rank} - 1)\\,\\text{bins} / n \\rfloor + 1` with the *lowest*
    rank of the value's tied group (``rank(method="min")``, SQL ``RANK()``): ``rank - 1``
    is the number of customers with a strictly worse value. Equivalently, ``s - 1`` is the
    number of cut points :math:`q_{k/\\text{bins}}`, :math:`k = 1, \\dots, \\text{bins} - 1`
    (empirical quantiles, inverted-CDF definition) strictly below the value. So **equal
    values always get the same score**, whatever their customer ids or row order, and a
    tied group that straddles a cut point goes to the lower level. Without ties, levels
    differ in size by at most one customer; with ties they are uneven and some may be
    empty: e.g. when 60% of the customers bought once, they all get F = 1 and F = 2, 3
    are empty (one-time buyers never reach a high F). The actual sizes are in
    ``attrs["score_bins"]`` (:func:`score_bins`). R is ranked on ``-time_since_last``
    (the most recent buyers score highest).

    Segments follow :data:`RFM_SEGMENTS`, evaluated top to bottom on
    ``r = r_score / bins`` and ``fm = (f_score + m_score) / (2 bins)``:

    ==================  =====================  ===================================
    segment             rule                   with 5 bins
    ==================  =====================  ===================================
    Champions           r > .6 and fm > .6     R 4-5, F+M >= 7
    Loyal               r > .4 and fm > .6     R 3, F+M >= 7
    Potential loyalist  r > .6 and fm > .3     R 4-5, F+M 4-6
    New                 r > .6                 R 4-5, F+M <= 3
    Can't lose them     r <= .4 and fm > .8    R 1-2, F+M >= 9
    At risk             r <= .4 and fm > .5    R 1-2, F+M 6-8
    Lost                r <= .2                R 1, F+M <= 5
    Hibernating         otherwise              R 3 with F+M <= 6, R 2 with F+M <= 5
    ==================  =====================  ===================================

    References
    ----------
    Hughes, A. M. (1994). Strategic Database Marketing. Probus.
    Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV: Using iso-value
    curves for customer base analysis. Journal of Marketing Research, 42(4), 415-430.
    """
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 2:
        raise ValueError(f"bins must be an integer >= 2 (5 gives quintiles), not {bins!r}")
    if not (isinstance(engine, str) and engine == "pandas"):
        from crm_lib import engine as eng

        out = eng.rfm_scores(
            summary,
            bins,
            customer_col=customer_col,
            frequency_col=frequency_col,
            recency_col=recency_col,
            T_col=T_col,
            monetary_col=monetary_col,
            engine=engine,
        )
    else:
        out = _prepare(summary, customer_col, frequency_col, recency_col, T_col, monetary_col)
        out["r_score"] = _quantile_score(-out["time_since_last"].to_numpy(), bins)
        out["f_score"] = _quantile_score(out["frequency"].to_numpy(), bins)
        out["m_score"] = _quantile_score(out["monetary"].to_numpy(), bins)
    out = _label_segments(out, bins)
    out.attrs["score_bins"] = score_bins(out, bins)
    return out


def _label_segments(out: pd.DataFrame, bins: int) -> pd.DataFrame:
    """Add ``rfm_code``, ``rfm_sum``, ``segment`` and ``segment_zh`` to the scores."""
    scores = out[["r_score", "f_score", "m_score"]].astype(str)
    out["rfm_code"] = scores["r_score"] + scores["f_score"] + scores["m_score"]
    out["rfm_sum"] = out["r_score"] + out["f_score"] + out["m_score"]
    r = out["r_score"].to_numpy() / bins
    fm = (out["f_score"] + out["m_score"]).to_numpy() / (2 * bins)
    conditions = [
        (r > 0.6) & (fm > 0.6),
        (r > 0.4) & (fm > 0.6),
        (r > 0.6) & (fm > 0.3),
        r > 0.6,
        (r <= 0.4) & (fm > 0.8),
        (r <= 0.4) & (fm > 0.5),
        r <= 0.2,
    ]
    names = RFM_SEGMENTS["segment"].to_numpy(dtype=object)
    out["segment"] = np.select(conditions, names[:-1], default=names[-1])
    out["segment_zh"] = out["segment"].map(
        dict(zip(names, RFM_SEGMENTS["segment_zh"], strict=True))
    )
    for col in ("segment", "segment_zh", "rfm_code"):
        out[col] = out[col].astype("str")
    return out


def score_bins_display(table: pd.DataFrame, language: str = "en") -> pd.DataFrame:
    """:func:`score_bins` for a report: one row per score level, columns translated.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`score_bins` (or ``rfm_scores(...).attrs["score_bins"]``).
    language : {"en", "zh"}

    Returns
    -------
    pandas.DataFrame
        ``rfm_dimension, score, customers, customer_share, min_value, max_value`` with the
        column names translated by :func:`crm_lib.i18n.translate_frame`.
    """
    from crm_lib.i18n import check_language, translate_frame

    check_language(language)
    cols = ["dimension", "score", "customers", "customer_share", "min_value", "max_value"]
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise ValueError(f"table has no columns {missing}: pass the output of score_bins")
    out = table[cols].rename(columns={"dimension": "rfm_dimension"})
    return translate_frame(out, language)


def rfm_classes(
    summary: pd.DataFrame,
    *,
    threshold: Literal["mean", "median"] = "mean",
    customer_col: str = "customer_id",
    frequency_col: str = "frequency",
    recency_col: str = "recency",
    T_col: str = "T",
    monetary_col: str = "monetary_total",
) -> pd.DataFrame:
    """The eight RFM classes (重要价值客户 ... 一般挽留客户): R, F, M each high or low.

    Parameters
    ----------
    summary : pandas.DataFrame
        One row per customer (:func:`crm_lib.value.customer_summary`).
    threshold : {"mean", "median"}
        Each of R, F, M is compared with its mean (the usual textbook rule, default) or
        its median over the customers.
    customer_col, frequency_col, recency_col, T_col, monetary_col : str
        As in :func:`rfm_scores`.

    Returns
    -------
    pandas.DataFrame
        Sorted by customer id: ``customer_id, time_since_last, frequency, monetary,
        r_recent, f_high, m_high, segment`` (English) and ``segment_zh``.

    Notes
    -----
    "R high" means *recent*: a customer is ``r_recent`` when her time since the last
    purchase is strictly below the threshold; ``f_high`` and ``m_high`` when frequency /
    monetary value are strictly above theirs (a value equal to the threshold counts as
    low / not recent). The classes (:data:`EIGHT_CLASSES`):

    =====  =====  =====  ======================  ==============
    R      F      M      English                 中文
    =====  =====  =====  ======================  ==============
    high   high   high   Important value         重要价值客户
    high   low    high   Important development   重要发展客户
    low    high   high   Important retention     重要保持客户
    low    low    high   Important recovery      重要挽留客户
    high   high   low    General value           一般价值客户
    high   low    low    General development     一般发展客户
    low    high   low    General retention       一般保持客户
    low    low    low    General recovery        一般挽留客户
    =====  =====  =====  ======================  ==============
    """
    if threshold not in ("mean", "median"):
        raise ValueError(f"threshold={threshold!r} is not supported: use 'mean' or 'median'")
    out = _prepare(summary, customer_col, frequency_col, recency_col, T_col, monetary_col)
    cut = getattr(out[["time_since_last", "frequency", "monetary"]], threshold)()
    out["r_recent"] = out["time_since_last"] < cut["time_since_last"]
    out["f_high"] = out["frequency"] > cut["frequency"]
    out["m_high"] = out["monetary"] > cut["monetary"]
    keys = ["r_recent", "f_high", "m_high"]
    out = out.merge(EIGHT_CLASSES[[*keys, "segment", "segment_zh"]], on=keys, how="left")
    for col in ("segment", "segment_zh"):
        out[col] = out[col].astype("str")
    return out


def segment_table(
    scored: pd.DataFrame,
    *,
    segment_col: str = "segment",
    value_col: str = "monetary",
) -> pd.DataFrame:
    """Size, value share and recommended action of each segment.

    Parameters
    ----------
    scored : pandas.DataFrame
        Output of :func:`rfm_scores` or :func:`rfm_classes` (one row per customer).
    segment_col : str
        Column with the (English) segment names.
    value_col : str
        Value to share out (default ``monetary``: the M column the scores used).

    Returns
    -------
    pandas.DataFrame
        One row per segment of the scheme (those without customers included, in the
        scheme's order): ``segment, segment_zh, customers, customer_share, value,
        value_share, mean_value, action_en, action_zh``. Shares sum to one.
    """
    for arg, col in (("segment_col", segment_col), ("value_col", value_col)):
        if col not in scored.columns:
            raise ValueError(
                f"scored has no column {col!r} given as {arg}; available columns: "
                f"{', '.join(map(str, scored.columns))} (use rfm_scores or rfm_classes)"
            )
    names = set(scored[segment_col].dropna().unique())
    for scheme in (RFM_SEGMENTS, EIGHT_CLASSES):
        if names <= set(scheme["segment"]):
            break
    else:
        unknown = sorted(names - set(RFM_SEGMENTS["segment"]) - set(EIGHT_CLASSES["segment"]))
        raise ValueError(
            f"unknown segment names {unknown[:5]}: segment_table knows the segments of "
            "rfm_scores and rfm_classes"
        )
    value = pd.to_numeric(scored[value_col], errors="coerce").astype(float)
    grouped = value.groupby(scored[segment_col].to_numpy())
    table = scheme[["segment", "segment_zh", "action_en", "action_zh"]].set_index("segment")
    table["customers"] = grouped.size().reindex(table.index, fill_value=0).astype(np.int64)
    table["value"] = grouped.sum().reindex(table.index, fill_value=0.0)
    n, total = table["customers"].sum(), table["value"].sum()
    table["customer_share"] = table["customers"] / n
    table["value_share"] = table["value"] / total if total != 0 else np.nan
    table["mean_value"] = table["value"] / table["customers"].where(table["customers"] > 0)
    cols = [
        "segment_zh",
        "customers",
        "customer_share",
        "value",
        "value_share",
        "mean_value",
        "action_en",
        "action_zh",
    ]
    return table[cols].reset_index()


def segment_table_display(table: pd.DataFrame, language: str = "en") -> pd.DataFrame:
    """:func:`segment_table` for a report: names and actions in ``language``.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`segment_table`.
    language : {"en", "zh"}

    Returns
    -------
    pandas.DataFrame
        ``segment, customers, customer_share, total_value, value_share, mean_value,
        action``
        with the segment names and actions in ``language`` and column names translated
        by :func:`crm_lib.i18n.translate_frame`.
    """
    from crm_lib.i18n import check_language, translate_frame

    check_language(language)
    needed = ["segment", "segment_zh", "customers", "customer_share", "value", "value_share"]
    missing = [c for c in [*needed, "mean_value", "action_en", "action_zh"] if c not in table]
    if missing:
        raise ValueError(f"table has no columns {missing}: pass the output of segment_table")
    out = table[needed[2:] + ["mean_value"]].copy()
    out.insert(0, "segment", table["segment_zh" if language == "zh" else "segment"])
    out["action"] = table[f"action_{language}"]
    return translate_frame(out.rename(columns={"value": "total_value"}), language)
