"""Every report label exists in both languages; typos fail loudly."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_lib import i18n
from crm_lib.contract import schemas


def test_every_message_has_both_languages():
    for key, texts in i18n.MESSAGES.items():
        assert set(texts) == set(i18n.LANGUAGES), key
        assert all(texts.values()), key


def test_every_category_value_of_the_contract_has_a_chinese_label():
    values = (
        schemas.REGIONS
        + schemas.SALES_CHANNELS
        + schemas.MARKETING_CHANNELS
        + schemas.CATEGORIES
        + schemas.EVENT_TYPES
        + list(schemas.SCHEMAS)
    )
    missing = [v for v in values if v not in i18n.LABELS]
    assert not missing


def test_unknown_key_and_language_are_errors():
    with pytest.raises(KeyError, match="no message 'revenu'"):
        i18n.t("revenu", "en")
    with pytest.raises(ValueError, match="language 'fr' is not supported"):
        i18n.t("revenue", "fr")


def test_translate_frame():
    df = pd.DataFrame({"region": ["north", "south"], "revenue": [1.0, 2.0]})
    out = i18n.translate_frame(df, "zh", values=["region"])
    assert list(out.columns) == ["区域", "销售额"]
    assert out["区域"].tolist() == ["华北", "华南"]


def test_a_message_has_the_same_fields_in_both_languages():
    import string

    def fields(text):
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    for key, texts in i18n.MESSAGES.items():
        assert fields(texts["en"]) == fields(texts["zh"]), key


def test_paths_and_generated_texts_are_labelled_step_by_step():
    assert i18n.label("search > social", "zh") == "搜索 > 社交媒体"
    assert i18n.label("visit -> signup", "zh") == "访问 -> 注册"
    assert i18n.label("search > somewhere new", "zh") == "search > somewhere new"  # unknown step
    assert i18n.label("bootstrap percentile (B=2000, seed=1)", "zh") == (
        "自助法百分位区间（B=2000，种子 1）"
    )
    rule = "ratio k=20 on amount: > 20 x median of the other values of the same customer_id"
    assert i18n.label(rule + " (groups of >= 3)", "zh") == (
        "比值规则（k=20）：金额超过同一客户编号其他值中位数的 20 倍（每组至少 3 个值）"
    )
    assert i18n.label("search > social", "en") == "search > social"


def test_quantity_table_translates_names_and_writes_values_by_kind():
    table = i18n.quantity_table(
        {"orders": 1200, "return_rate": 0.0412, "net_amount": 2500.5, "outlier_policy": "cap"},
        "zh",
        currency="CNY",
    )
    assert list(table.columns) == ["项目", "数值"]
    assert table["项目"].tolist() == ["订单数", "退货率", "净额", "异常值处理策略"]
    assert table["数值"].tolist() == ["1,200", "4.1%", "2,500.50 CNY", "截断"]
    with pytest.raises(KeyError, match="no message 'eight_class_sizes'"):
        i18n.quantity_table({"eight_class_sizes": 8}, "zh")


def test_the_contract_columns_notebook_01_shows_have_chinese_descriptions():
    shown = schemas.contract_table()
    shown = shown[shown["table"].isin(["customers", "transactions"])]
    missing = [
        f"{r.table}.{r.column}"
        for r in shown.itertuples()
        if i18n.column_description(r.table, r.column, r.description, "zh") == r.description
    ]
    assert not missing
    assert i18n.column_description("customers", "name", "Full name.", "en") == "Full name."


def test_every_pair_rule_of_the_record_linkage_has_a_message():
    """Notebook 02 shows the linkage summary's ``pairs_<rule>`` counts through
    quantity_table, which refuses unknown names: on the default world the probabilistic
    rule appeared and the report failed, because only the exact rules had a message."""
    from crm_lib.intake.dedup import MATCH_RULES

    counts = {f"pairs_{rule}": 1 for rule in MATCH_RULES}
    for language in ("en", "zh"):
        table = i18n.quantity_table(counts, language)
        assert len(table) == len(MATCH_RULES)
