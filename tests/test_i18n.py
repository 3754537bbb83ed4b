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
