"""Tests of crm_lib.cleaning: normalisation, outlier flags, quality scorecards."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_lib import cleaning

# ------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    "raw",
    ["138 1234 5678", "+86-138-1234-5678", "13812345678", "+8613812345678", "0086 138-1234-5678"],
)
def test_normalize_phone_gives_e164(raw):
    assert cleaning.normalize_phone(raw) == "+8613812345678"


def test_normalize_phone_keeps_what_is_not_a_mobile():
    assert cleaning.normalize_phone(" 12345 ") == "12345"
    assert cleaning.normalize_phone("+44 20 7946 0958") == "+442079460958"
    assert cleaning.normalize_phone("n/a") == "n/a"


def test_normalize_email_and_text():
    assert cleaning.normalize_email("  ANN@Example.COM ") == "ann@example.com"
    assert cleaning.normalize_text("　ＡＢＣ１２３！ ") == "ABC123!"


def test_normalizers_keep_missing_values_and_the_index():
    s = pd.Series([" A@B.CN", None, np.nan], index=[5, 6, 7], name="email")
    out = cleaning.normalize_email(s)
    assert out.index.tolist() == [5, 6, 7] and out.name == "email"
    assert out.iloc[0] == "a@b.cn" and out.iloc[1:].isna().all()
    assert cleaning.normalize_phone(None) is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_normalisation_is_idempotent(text):
    for f in (cleaning.normalize_text, cleaning.normalize_email, cleaning.normalize_phone):
        once = f(text)
        assert f(once) == once


@settings(max_examples=100, deadline=None)
@given(
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    st.sampled_from(["{a} {b} {c}", "+86-{a}-{b}-{c}", "{a}{b}{c}", "+86{a}{b}{c}"]),
)
def test_every_format_of_a_mobile_gives_the_same_e164(number, style):
    text = style.format(a=number[:3], b=number[3:7], c=number[7:])
    assert cleaning.normalize_phone(text) == "+86" + number


# ------------------------------------------------------------------ outliers


def test_iqr_flags_by_hand():
    df = pd.DataFrame({"amount": [1.0, 2.0, 3.0, 4.0, 100.0]})
    out = cleaning.flag_outliers(df, value_col="amount", rule="iqr")
    # Q1 = 2, Q3 = 4 (linear quantiles), IQR = 2 -> fences [-1, 7]
    assert out["outlier"].tolist() == [False, False, False, False, True]
    assert out["outlier_low"].iloc[0] == pytest.approx(-1.0)
    assert out["outlier_high"].iloc[0] == pytest.approx(7.0)
    assert out["outlier_rule"].iloc[0].startswith("iqr k=1.5 on amount")
    assert out["amount"].tolist() == df["amount"].tolist()  # flag keeps the values


def test_robust_z_cap_by_hand():
    df = pd.DataFrame({"amount": [10.0, 11.0, 12.0, 13.0, 14.0, 1000.0]})
    out = cleaning.flag_outliers(df, value_col="amount", rule="robust_z", policy="cap", k=3)
    # median 12.5; |x - 12.5| = 2.5,1.5,.5,.5,1.5,987.5 -> MAD 1.5; scale 1.4826*1.5 = 2.2239
    hi = 12.5 + 3 * 1.4826 * 1.5
    assert out["outlier"].tolist() == [False] * 5 + [True]
    assert out["amount"].iloc[-1] == pytest.approx(hi)
    assert out["amount"].iloc[:5].tolist() == [10.0, 11.0, 12.0, 13.0, 14.0]


def test_outliers_where_and_log():
    df = pd.DataFrame({"amount": [10.0, 12.0, 11.0, 9.0, 1000.0, -500.0]})
    out = cleaning.flag_outliers(df, value_col="amount", log=True, where=df["amount"] > 0)
    assert out["outlier"].tolist() == [False, False, False, False, True, False]


def test_outlier_arguments_are_checked():
    df = pd.DataFrame({"amount": [1.0]})
    with pytest.raises(ValueError, match="rule must be"):
        cleaning.flag_outliers(df, value_col="amount", rule="zscore")
    with pytest.raises(ValueError, match="policy must be"):
        cleaning.flag_outliers(df, value_col="amount", policy="drop")
    with pytest.raises(KeyError, match="pass value_col"):
        cleaning.flag_outliers(df, value_col="amt")


# ----------------------------------------------------------------- scorecard


def _score(card, column, dimension):
    row = card[(card["column"] == column) & (card["dimension"] == dimension)]
    assert len(row) == 1, (column, dimension)
    return row["score"].iloc[0]


def test_scorecard_customers_by_hand():
    df = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C2", "C4"],
            "email": ["a@b.cn", "A@B.CN ", "", "c@d.com"],
            "phone": ["+8613812345678", "138 1234 5678", None, "+8613912345678"],
            "region": ["north", "NORTH", "east", None],
            "signup_at": pd.to_datetime(
                ["2024-01-05", "2024-02-01", "2023-06-01", "2024-12-31"], utc=True
            ),
        }
    )
    card = cleaning.quality_scorecard(
        df,
        "customers",
        key_cols="customer_id",
        date_col="signup_at",
        period=("2024-01-01", "2024-12-31"),
    )
    assert set(card.columns) == {
        "table", "column", "dimension", "score", "n_checked", "n_failed", "rule"
    }  # fmt: skip
    assert _score(card, "email", "completeness") == 3 / 4
    assert _score(card, "email", "validity") == 2 / 3  # "A@B.CN " is not normalised
    assert _score(card, "phone", "validity") == 2 / 3
    assert _score(card, "region", "validity") == 2 / 3  # NORTH is not a contract label
    assert _score(card, "signup_at", "validity") == 1.0
    assert _score(card, "customer_id", "uniqueness") == 2 / 4  # both C2 rows fail
    assert _score(card, "signup_at", "timeliness") == 3 / 4


def test_scorecard_transactions_consistency_by_hand():
    df = pd.DataFrame(
        {
            "order_id": ["O1", "O2", "O3", "O4"],
            "line_no": [1, 1, 1, 1],
            "amount": [10.0, -10.0, -5.0, 7.0],
            "original_order_id": [None, "O1", None, "O9"],
        }
    )
    card = cleaning.quality_scorecard(df, "transactions", key_cols=["order_id", "line_no"])
    # references: O1 exists, O9 does not -> 1/2
    assert _score(card, "original_order_id", "consistency") == 1 / 2
    # negative iff reference: rows 0, 1 ok; row 2 negative without order; row 3 ref on a sale
    assert _score(card, "amount+original_order_id", "consistency") == 2 / 4
    assert _score(card, "order_id+line_no", "uniqueness") == 1.0
    assert _score(card, "amount", "validity") == 1.0


def test_scorecard_text_in_a_typed_column_is_invalid():
    df = pd.DataFrame({"customer_id": ["C1", "C2"], "birth_year": ["1990", "1985"]})
    card = cleaning.quality_scorecard(df, "customers", key_cols="customer_id")
    assert _score(card, "birth_year", "validity") == 0.0


def test_compare_and_plot_scorecards():
    before = pd.DataFrame(
        {"customer_id": ["C1", "C1"], "email": ["A@B.CN", "c@d.com"], "region": ["N", "north"]}
    )
    after = before.assign(customer_id=["C1", "C2"], email=cleaning.normalize_email(before["email"]))
    b = cleaning.quality_scorecard(before, "customers", key_cols="customer_id")
    a = cleaning.quality_scorecard(after, "customers", key_cols="customer_id")
    cmp = cleaning.compare_scorecards(b, a)
    assert list(cmp.columns) == [
        "table", "column", "dimension", "score_before", "score_after", "change"
    ]  # fmt: skip
    row = cmp[(cmp["column"] == "email") & (cmp["dimension"] == "validity")].iloc[0]
    assert (row["score_before"], row["score_after"], row["change"]) == (0.5, 1.0, 0.5)
    for language in ("en", "zh"):
        ax = cleaning.plot_scorecard(cmp, language=language)
        assert ax.get_ylim()[1] == pytest.approx(1.05)
        assert len(ax.get_legend().get_texts()) == 2
        plt.close(ax.figure)
    ax = cleaning.plot_scorecard(a)
    assert ax.get_legend() is None
    plt.close(ax.figure)


def test_scorecard_names_missing_key_columns():
    with pytest.raises(KeyError, match="not in the table"):
        cleaning.quality_scorecard(pd.DataFrame({"a": [1]}), "customers", key_cols="id")
