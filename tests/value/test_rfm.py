"""Tests of crm_lib.value: RFM quantile scores, named segments, the eight classes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_lib import value as clv
from crm_lib.value.rfm import (
    EIGHT_CLASSES,
    RFM_SEGMENTS,
    rfm_classes,
    rfm_scores,
    segment_table,
)


def make_summary(since_last, frequency, monetary, ids=None) -> pd.DataFrame:
    """A customer_summary-like table with the given time since last purchase (T - recency)."""
    n = len(frequency)
    T = np.full(n, 100.0)
    return pd.DataFrame(
        {
            "customer_id": ids if ids is not None else [f"C{i:02d}" for i in range(n)],
            "frequency": frequency,
            "recency": T - np.asarray(since_last, dtype=float),
            "T": T,
            "monetary_total": monetary,
        }
    )


# ------------------------------------------------------------------------ rfm_scores


def test_scores_hand_computed():
    # 5 customers, 5 bins: each score is the rank
    s = make_summary(
        since_last=[50, 10, 30, 1, 70],  # C03 most recent -> R 5; C04 least -> R 1
        frequency=[3, 0, 8, 1, 5],
        monetary=[300.0, 20.0, 900.0, 50.0, 400.0],
    )
    out = rfm_scores(s).set_index("customer_id")
    assert out["r_score"].tolist() == [2, 4, 3, 5, 1]
    assert out["f_score"].tolist() == [3, 1, 5, 2, 4]
    assert out["m_score"].tolist() == [3, 1, 5, 2, 4]
    assert out.loc["C02", "rfm_code"] == "355"
    assert out.loc["C02", "rfm_sum"] == 13
    assert out.loc["C00", "time_since_last"] == 50
    # rules (RFM_SEGMENTS): C02 r=.6, fm=1 -> Loyal; C03 r=1, fm=.4 -> Potential loyalist;
    # C01 r=.8, fm=.2 -> New; C04 r=.2, fm=.8 -> At risk; C00 r=.4, fm=.6 -> At risk
    assert out["segment"].to_dict() == {
        "C00": "At risk",
        "C01": "New",
        "C02": "Loyal",
        "C03": "Potential loyalist",
        "C04": "At risk",
    }
    assert out.loc["C03", "segment_zh"] == "潜在忠诚客户"


def test_ties_are_not_broken_by_customer_id():
    # everybody bought once, spent the same, 10 days ago: one score for all, whatever the id
    s = make_summary([10] * 6, [0] * 6, [100.0] * 6, ids=list("fedcba"))
    out = rfm_scores(s, bins=3)
    assert out["customer_id"].tolist() == list("abcdef")
    for col in ("r_score", "f_score", "m_score"):
        assert out[col].tolist() == [1] * 6
    sizes = out.attrs["score_bins"].groupby("dimension")["customers"].agg(list)
    assert sizes.to_dict() == {"F": [6, 0, 0], "M": [6, 0, 0], "R": [6, 0, 0]}


def test_scores_without_ties_fill_the_bins_evenly():
    # 7 distinct values, 3 bins: 3, 2, 2 customers (floor(rank0 * 3 / 7) + 1)
    s = make_summary(range(7), range(7), [float(v) for v in range(7)])
    out = rfm_scores(s, bins=3)
    assert out["f_score"].tolist() == [1, 1, 1, 2, 2, 3, 3]
    assert out.attrs["score_bins"]["customers"].tolist() == [3, 2, 2] * 3


def _one_time_buyers() -> pd.DataFrame:
    """Six one-time buyers (frequency 0), four of them recent, two with high spend."""
    return make_summary(
        since_last=[20, 20, 1, 1, 1, 1, 5, 30, 2, 40],
        frequency=[0, 0, 0, 0, 0, 0, 1, 1, 2, 5],
        monetary=[30.0, 20.0, 350.0, 400.0, 450.0, 500.0, 100.0, 150.0, 300.0, 900.0],
    )


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_tied_values_share_a_score_hand_worked(engine):
    """Ties get one score: 1 + the number of quantile cut points strictly below the value.

    Worked by hand (10 customers, 5 bins; a cut point every 2 customers). F: six customers
    have 0 repeat purchases, none below them -> F 1; frequency 1 has 6 below ->
    floor(6 * 5 / 10) + 1 = 4; frequency 2 (8 below) and 5 (9 below) -> 5. R (ranked on
    minus the time since the last purchase): 40 and 30 -> 0 and 1 better-ranked below -> 1;
    20 (2 customers, 2 below) -> 2; 5 (4 below) -> 3; 2 (5 below) -> 3; 1 (4 customers,
    6 below) -> 4: a tied group that straddles a cut point goes to the lower bin, so no
    customer gets R 5. M has no ties: the score is the rank in pairs.
    """
    out = rfm_scores(_one_time_buyers(), engine=engine).set_index("customer_id")
    assert out["f_score"].tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert out["r_score"].tolist() == [2, 2, 4, 4, 4, 4, 3, 1, 3, 1]
    assert out["m_score"].tolist() == [1, 1, 3, 4, 4, 5, 2, 2, 3, 5]
    # rules (RFM_SEGMENTS): one-time buyers have F 1, so F + M <= 6 and fm <= .6: never
    # Champions or Loyal however recent and big their one order
    assert out["segment"].tolist() == [
        "Hibernating",  # R2 F1 M1: r .4, fm .2
        "Hibernating",
        "Potential loyalist",  # R4 F1 M3: r .8, fm .4
        "Potential loyalist",  # R4 F1 M4
        "Potential loyalist",  # R4 F1 M4
        "Potential loyalist",  # R4 F1 M5: fm .6 is not > .6
        "Hibernating",  # R3 F4 M2: r .6 is not > .6, fm .6 not > .6
        "At risk",  # R1 F4 M2: r .2, fm .6 > .5
        "Loyal",  # R3 F5 M3: r .6 > .4, fm .8
        "Can't lose them",  # R1 F5 M5: fm 1
    ]


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_score_bins_give_the_actual_sizes_and_edges(engine):
    """The uneven bins that ties create are reported: sizes and value ranges per score."""
    out = rfm_scores(_one_time_buyers(), engine=engine)
    bins = out.attrs["score_bins"]
    pd.testing.assert_frame_equal(bins, clv.score_bins(out, 5))
    f = bins[bins["dimension"] == "F"].set_index("score")
    assert f["customers"].tolist() == [6, 0, 0, 2, 2]
    assert f["customer_share"].tolist() == [0.6, 0.0, 0.0, 0.2, 0.2]
    assert f["min_value"].tolist()[:1] + f["min_value"].tolist()[3:] == [0.0, 1.0, 2.0]
    assert f["max_value"].tolist()[:1] + f["max_value"].tolist()[3:] == [0.0, 1.0, 5.0]
    assert f.loc[[2, 3], ["min_value", "max_value"]].isna().all().all()  # empty bins
    r = bins[bins["dimension"] == "R"].set_index("score")
    assert r["customers"].tolist() == [2, 2, 2, 4, 0]
    assert r["min_value"].tolist()[:4] == [30.0, 20.0, 2.0, 1.0]  # time since last purchase
    assert r["max_value"].tolist()[:4] == [40.0, 20.0, 5.0, 1.0]
    m = bins[bins["dimension"] == "M"]
    assert m["customers"].tolist() == [2, 2, 2, 2, 2]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 4), st.sampled_from([10.0, 25.5, 99.0])),
        min_size=2,
        max_size=40,
    ),
    st.integers(2, 7),
)
def test_equal_values_share_a_score(rows, bins):
    since, freq, money = (list(c) for c in zip(*rows, strict=True))
    out = rfm_scores(make_summary(since, freq, money), bins=bins)
    for value, score in (("time_since_last", "r_score"), ("frequency", "f_score"),
                         ("monetary", "m_score")):  # fmt: skip
        assert (out.groupby(value)[score].nunique() == 1).all(), value
        # the score is the quantile bin: 1 + cut points (inverted-CDF quantiles) below
        x = out[value].to_numpy() * (-1 if value == "time_since_last" else 1)
        cuts = np.quantile(x, np.arange(1, bins) / bins, method="inverted_cdf")
        expected = 1 + (x[:, None] > cuts[None, :]).sum(axis=1)
        assert out[score].tolist() == expected.tolist(), value


@pytest.mark.parametrize(
    ("r", "f", "m", "expected"),
    [
        (5, 5, 5, "Champions"),
        (4, 3, 4, "Champions"),
        (3, 4, 3, "Loyal"),
        (4, 3, 3, "Potential loyalist"),
        (5, 1, 2, "New"),
        (2, 5, 4, "Can't lose them"),
        (1, 5, 5, "Can't lose them"),
        (2, 3, 3, "At risk"),
        (1, 2, 3, "Lost"),
        (3, 3, 3, "Hibernating"),
        (2, 2, 3, "Hibernating"),
    ],
)
def test_segment_rules_with_five_bins(r, f, m, expected):
    """The documented (R, F+M) cells: five customers, so each score is the rank."""
    others = lambda k: [v for v in range(1, 6) if v != k]  # noqa: E731
    r_ranks, f_ranks, m_ranks = [r, *others(r)], [f, *others(f)], [m, *others(m)]
    s = make_summary(
        since_last=[100 - 10 * k for k in r_ranks],  # rank 5 = most recent
        frequency=f_ranks,
        monetary=[100.0 * k for k in m_ranks],
    )
    out = rfm_scores(s).set_index("customer_id")
    assert out.loc["C00", ["r_score", "f_score", "m_score"]].tolist() == [r, f, m]
    assert out.loc["C00", "segment"] == expected


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 4), st.sampled_from([10.0, 25.5, 99.0, 250.0])),
        min_size=2,
        max_size=40,
    ),
    st.integers(2, 7),
    st.randoms(use_true_random=False),
)
def test_scores_invariants(rows, bins, random):
    since, freq, money = (list(c) for c in zip(*rows, strict=True))
    s = make_summary(since, freq, money)
    out = rfm_scores(s, bins=bins)
    perm = list(range(len(s)))
    random.shuffle(perm)
    shuffled = rfm_scores(s.iloc[perm], bins=bins)
    pd.testing.assert_frame_equal(out, shuffled)  # row order changes nothing
    assert len(out) == len(s) and out["customer_id"].is_unique
    assert out["segment"].isin(RFM_SEGMENTS["segment"]).all()  # exactly one named segment
    sizes = out.attrs["score_bins"].set_index(["dimension", "score"])["customers"]
    for dim, col in (("R", "r_score"), ("F", "f_score"), ("M", "m_score")):
        assert out[col].between(1, bins).all()
        counts = out[col].value_counts().reindex(range(1, bins + 1), fill_value=0)
        assert counts.tolist() == sizes[dim].tolist()  # the actual bins are reported
        # monotone: a better value never gets a lower score
    order = np.argsort(out["monetary"].to_numpy(), kind="stable")
    assert (np.diff(out["m_score"].to_numpy()[order]) >= 0).all()
    order = np.argsort(-out["time_since_last"].to_numpy(), kind="stable")
    assert (np.diff(out["r_score"].to_numpy()[order]) >= 0).all()


# ----------------------------------------------------------------------- rfm_classes


def test_eight_classes_hand_computed():
    # time since last: mean 25 -> recent below 25; frequency: mean 2.5; monetary: mean 250
    s = make_summary(
        since_last=[5, 5, 45, 45, 5, 5, 45, 45],
        frequency=[4, 1, 4, 1, 4, 1, 4, 1],
        monetary=[400.0, 400.0, 400.0, 400.0, 100.0, 100.0, 100.0, 100.0],
    )
    out = rfm_classes(s)
    assert out["segment_zh"].tolist() == [
        "重要价值客户",
        "重要发展客户",
        "重要保持客户",
        "重要挽留客户",
        "一般价值客户",
        "一般发展客户",
        "一般保持客户",
        "一般挽留客户",
    ]
    assert out["segment"].tolist() == EIGHT_CLASSES["segment"].tolist()
    assert out["r_recent"].tolist() == [True, True, False, False] * 2


def test_eight_classes_median_and_ties():
    # a value equal to the threshold is "low" (or "not recent")
    s = make_summary(since_last=[1, 2, 3], frequency=[1, 2, 30], monetary=[10.0, 20.0, 900.0])
    by_median = rfm_classes(s, threshold="median")
    assert by_median["r_recent"].tolist() == [True, False, False]
    assert by_median["f_high"].tolist() == [False, False, True]
    by_mean = rfm_classes(s)  # means: since last 2, frequency 11, monetary 310
    assert by_mean["r_recent"].tolist() == [True, False, False]
    assert by_mean["f_high"].tolist() == [False, False, True]
    assert by_mean["segment"].tolist() == by_median["segment"].tolist()
    assert by_mean["segment"].tolist() == [
        "General development",
        "General recovery",
        "Important retention",
    ]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 9), st.integers(0, 6), st.integers(1, 5)),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from(["mean", "median"]),
    st.randoms(use_true_random=False),
)
def test_eight_classes_invariants(rows, threshold, random):
    since, freq, money = (list(c) for c in zip(*rows, strict=True))
    s = make_summary(since, freq, [100.0 * m for m in money])
    out = rfm_classes(s, threshold=threshold)
    perm = list(range(len(s)))
    random.shuffle(perm)
    pd.testing.assert_frame_equal(out, rfm_classes(s.iloc[perm], threshold=threshold))
    assert len(out) == len(s)
    assert out["segment"].isin(EIGHT_CLASSES["segment"]).all()  # exactly one class each
    lookup = EIGHT_CLASSES.set_index(["r_recent", "f_high", "m_high"])["segment"]
    expected = [
        lookup[key] for key in zip(out["r_recent"], out["f_high"], out["m_high"], strict=True)
    ]
    assert out["segment"].tolist() == expected


# --------------------------------------------------------------------- segment_table


def test_segment_table_shares_and_actions():
    s = make_summary(
        since_last=[5, 5, 45, 45, 5, 5, 45, 45],
        frequency=[4, 1, 4, 1, 4, 1, 4, 1],
        monetary=[400.0, 400.0, 400.0, 400.0, 100.0, 100.0, 100.0, 0.0],
    )
    table = segment_table(rfm_classes(s))
    assert table["segment"].tolist() == EIGHT_CLASSES["segment"].tolist()
    assert table["customers"].sum() == 8
    assert table["customer_share"].sum() == pytest.approx(1.0)
    assert table["value_share"].sum() == pytest.approx(1.0)
    first = table.set_index("segment").loc["Important value"]
    assert first["value"] == 400.0
    assert first["value_share"] == pytest.approx(400 / 1900)
    assert table["action_zh"].str.len().gt(0).all() and table["action_en"].str.len().gt(0).all()
    # named segments: all eight rows, empty ones included
    named = segment_table(rfm_scores(s))
    assert named["segment"].tolist() == RFM_SEGMENTS["segment"].tolist()
    assert named["customers"].sum() == 8


def test_on_world_summary(small_world):
    summary = clv.customer_summary(small_world.transactions)
    scores = rfm_scores(summary)
    classes = rfm_classes(summary)
    assert len(scores) == len(classes) == len(summary)
    table = segment_table(scores)
    assert table["customers"].sum() == len(summary)
    # the most valuable class holds more value than its share of customers
    t8 = segment_table(classes).set_index("segment")
    assert t8.loc["Important value", "value_share"] > t8.loc["Important value", "customer_share"]


def test_validation():
    s = make_summary([1, 2], [0, 1], [10.0, 20.0])
    with pytest.raises(ValueError, match="bins must be an integer >= 2"):
        rfm_scores(s, bins=1)
    with pytest.raises(ValueError, match="no column 'monetary_total' given as monetary_col"):
        rfm_scores(s.drop(columns="monetary_total"))
    with pytest.raises(ValueError, match="threshold='mode' is not supported"):
        rfm_classes(s, threshold="mode")
    with pytest.raises(ValueError, match="must be unique .one row per customer.; 'C00'"):
        rfm_scores(pd.concat([s, s.iloc[:1]]))
    with pytest.raises(ValueError, match="1 customers have missing or non-numeric"):
        rfm_classes(s.assign(frequency=[np.nan, 1]))
    with pytest.raises(ValueError, match="summary is empty"):
        rfm_scores(s.iloc[:0])
    with pytest.raises(ValueError, match="unknown segment names"):
        segment_table(pd.DataFrame({"segment": ["VIP"], "monetary": [1.0]}))
    with pytest.raises(ValueError, match="no column 'spend' given as value_col"):
        segment_table(rfm_scores(s), value_col="spend")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_score_bins_display(language):
    from crm_lib import i18n

    out = rfm_scores(_one_time_buyers())
    shown = clv.score_bins_display(out.attrs["score_bins"], language)
    assert list(shown.columns) == [
        i18n.t(k, language)
        for k in ("rfm_dimension", "score", "customers", "customer_share", "min_value", "max_value")
    ]
    assert len(shown) == 15
    with pytest.raises(ValueError, match="pass the output of score_bins"):
        clv.score_bins_display(out, language)
    with pytest.raises(ValueError, match="pass the output of rfm_scores"):
        clv.score_bins(out.drop(columns="f_score"))
