"""The report style of tables (crm_lib.tables): expected strings worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_lib import i18n
from crm_lib.tables import column_kind, column_kinds, format_value, style_table


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (0.2413, "percent", "24.1%"),
        (0.0004, "percent", "0.04%"),
        (2065343.75, "money", "2,065,343.75"),
        (0.0004, "p_value", "<0.001"),
        (0.02134, "p_value", "0.0213"),
        (0.19525065963060687, None, "0.1953"),
        (23570.0, None, "23,570"),
        (1234.567, None, "1,235"),
        (-12.34567, None, "-12.35"),
        (1.2e-10, None, "1.20e-10"),
        (np.int64(1234567), None, "1,234,567"),
        (float("nan"), None, "–"),
        (None, "percent", "–"),
        (True, None, "Yes"),
    ],
)
def test_cells_by_hand(value, kind, expected):
    assert format_value(value, kind) == expected


def test_currency_and_language():
    assert format_value(12.5, "money", currency="CNY") == "12.50 CNY"
    assert format_value(False, language="zh") == "否"


@pytest.mark.parametrize(
    ("name", "kind"),
    [("share", "percent"), ("value_share", "percent"), ("conversion_rate", "percent"),
     ("net_amount", "money"), ("clv", "money"), ("p_value", "p_value"), ("p_adj", "p_value"),
     ("customers", None), ("alpha", None), ("ci_low", None), ("p_adjusted", "p_value"),
     ("heterogeneity_p", "p_value")],
)  # fmt: skip
def test_kinds_from_names(name, kind):
    assert column_kind(name) == kind


def test_interval_bounds_read_with_their_estimate():
    kinds = column_kinds(
        ["segment", "share", "ci_low", "ci_high", "difference", "ci_low_diff", "lower",
         "win_rate_shrunk", "shrunk_ci_low", "shrunk_ci_high", "amount", "ci_lower", "upper"]
    )  # fmt: skip
    assert list(kinds.values()) == [
        None, "percent", "percent", "percent", "points", None, None,
        "percent", "percent", "percent", "money", "money", "money",
    ]  # fmt: skip
    assert column_kinds(["ci_low", "ci_high"]) == {"ci_low": None, "ci_high": None}


def test_a_shares_interval_is_shown_in_percent_in_both_languages():
    """The 95% Wilson interval of 367 of 544 (67.5%), by hand: 63.4% to 71.3%."""
    df = pd.DataFrame({"n": [544], "share": [367 / 544], "ci_low": [0.63418], "ci_high": [0.71274]})
    for language in ("en", "zh"):
        html = style_table(i18n.translate_frame(df, language), language=language).to_html()
        assert ">67.5%<" in html and ">63.4%<" in html and ">71.3%<" in html, language
        assert "0.634" not in html


def test_a_table_without_index_with_kinds_kept_through_translation():
    df = pd.DataFrame(
        {"customer_share": [0.25, 0.75], "net_amount": [1000.0, 2500.5], "customers": [10, 30]}
    )
    shown = i18n.translate_frame(df, "zh")
    html = style_table(shown, language="zh", currency="CNY").to_html()
    assert "25.0%" in html and "2,500.50 CNY" in html and ">30<" in html
    assert 'class="row_heading' not in html  # no 0..n index column
    assert "客户占比" in html  # the translated heading


def test_a_rate_above_one_is_not_a_percentage():
    html = style_table(pd.DataFrame({"purchase_rate": [0.5, 2.25]})).to_html()
    assert "2.25" in html and "%" not in html


def test_a_named_index_is_kept():
    df = pd.DataFrame({"loading": [0.71]}, index=pd.Index(["A1"], name="item"))
    assert "A1" in style_table(df).to_html()


def test_identifiers_are_shown_as_code_in_every_language():
    df = pd.DataFrame({"column": ["customer_id", "a<b"], "rows": [1, 2]})
    for language in ("en", "zh"):
        html = style_table(i18n.translate_frame(df, language, code=["column"])).to_html()
        assert "<code>customer_id</code>" in html and "<code>a&lt;b</code>" in html


def test_money_is_shown_in_the_currency_the_dataset_declares():
    from crm_lib.contract.dataset import DatasetConfig
    from crm_lib.datasets import World

    tx = pd.DataFrame({"amount": [12.5], "currency": ["CNY"]})
    usd = World.from_tables(
        {"transactions": tx}, truth=None, config=DatasetConfig(name="shop", currency="USD")
    )
    undeclared = World.from_tables({"transactions": tx}, truth=None)
    mixed = World.from_tables(
        {"transactions": pd.DataFrame({"currency": ["CNY", "USD"]})}, truth=None
    )
    assert (usd.currency, undeclared.currency, mixed.currency) == ("USD", "CNY", None)
    shown = i18n.translate_frame(pd.DataFrame({"net_amount": [2500.5]}), "zh")
    assert "2,500.50 USD" in style_table(shown, language="zh", currency=usd.currency).to_html()


def test_what_filtering_left_of_a_positional_index_is_hidden():
    terms = pd.DataFrame({"term": ["price", "late", "box"], "count": [9, 4, 2]})
    html = style_table(terms[terms["count"] > 3].iloc[::-1]).to_html()
    assert 'class="row_heading' not in html and ">late<" in html


def test_acronyms_read_as_acronyms_in_english():
    assert i18n.label("aov") == "AOV (average order value)"
    assert i18n.label("churn_rate") == "churn rate"
    assert i18n.label("aov", "zh") == "客单价"


def test_a_difference_of_shares_reads_in_percentage_points():
    """By hand: 21.1% - 23.9% = -2.8 points, its interval -12.6 to +7.1 points."""
    assert format_value(-0.0279, "points") == "-2.8 pp"
    assert format_value(0.0692, "points", language="zh") == "+6.9 个百分点"
    df = pd.DataFrame(
        {"rate_control": [0.239], "rate_treatment": [0.211], "diff": [-0.0279],
         "ci_low": [-0.1264], "ci_high": [0.0706], "p_value": [0.577]}
    )  # fmt: skip
    html = style_table(i18n.translate_frame(df, "en")).to_html()
    for text in ("23.9%", "21.1%", "-2.8 pp", "-12.6 pp", "+7.1 pp", "0.577"):
        assert f">{text}<" in html, text
    # a difference of plain numbers (mean order values) stays a plain number
    plain = pd.DataFrame({"mean_control": [52.5], "mean_treatment": [55.0], "diff": [2.5]})
    assert ">2.5<" in style_table(plain).to_html()
