"""Tests of crm_lib.survey.text: redaction, tokenisation, term frequencies, sentiment.

Assertion messages name response ids only, never comment text (comments are personal).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import crm_lib
from crm_lib import survey
from crm_lib.survey import text


@pytest.fixture(scope="module")
def comments_world():
    # about 2,400 comments, 71 of them with the respondent's own e-mail or phone planted
    from crm_lib.datasets import simulate

    return simulate(20_000, seed=5, dirty=False)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("mail me: li.na42@mail.example.cn!", "mail me: [email]!"),
        ("call +8613912345678 today", "call [phone] today"),
        ("电话 139 1234 5678，谢谢", "电话 [phone]，谢谢"),
        ("tel (021) 6123-4567", "tel [phone]"),
        ("paid 199 yuan for 2 items in 2025", "paid 199 yuan for 2 items in 2025"),
    ],
)
def test_redact_examples(raw, expected):
    assert text.redact(raw) == expected


def test_redact_keeps_missing_values():
    s = pd.Series(["a@b.co", None], dtype="string")
    out = text.redact(s)
    assert out.iloc[0] == "[email]" and pd.isna(out.iloc[1])
    assert text.redact(None) is None


def test_no_planted_pii_survives_redaction(comments_world):
    w = comments_world
    quality = w.truth.survey_quality
    planted = quality.loc[quality["issue"] == "pii_in_comment", "response_id"]
    resp = w.survey_responses.set_index("response_id").loc[planted]
    contacts = w.customers.set_index("customer_id")[["email", "phone"]].loc[resp["customer_id"]]
    redacted = text.redact(resp["comment"])
    assert len(planted) >= 50  # observed 71
    leaks = [
        rid
        for rid, red, email, phone in zip(
            planted, redacted, contacts["email"], contacts["phone"], strict=True
        )
        if (isinstance(email, str) and email in red)
        or (isinstance(phone, str) and phone.lstrip("+") in red)
        or (isinstance(phone, str) and phone[-8:] in red)
    ]
    assert not leaks, f"contact details survive redaction in responses {leaks}"
    # and nothing address- or number-like is left in any comment
    allred = text.redact(w.survey_responses["comment"].dropna())
    assert not allred.str.contains("@").any()
    assert not allred.str.contains(r"\d{7}").any()


def test_tokenize_en_and_zh():
    assert text.tokenize("The product did NOT match the description", "en") == [
        "product",
        "match",
        "description",
    ]
    zh = text.tokenize("客服态度很好，回复及时", "zh")
    assert "客服" in zh and "及时" in zh and "，" not in zh and "很" not in zh
    # contact details never become tokens
    assert text.tokenize("Contact me at a.b@example.com or +8613812345678", "en") == ["contact"]
    with pytest.raises(ValueError, match="language must be 'en' or 'zh'"):
        text.tokenize("bonjour", "fr")


def test_jieba_cache_stays_out_of_the_project():
    text.tokenize("物流很快", "zh")
    import jieba

    assert jieba.dt.tmp_dir == tempfile.gettempdir()
    package = Path(crm_lib.__file__).parent
    repo = package.parent
    assert not list(package.rglob("*.cache"))
    assert not list(repo.glob("*.cache"))


def test_term_frequencies_by_nps_group(small_world):
    s = small_world.survey_responses
    df = s.assign(nps_group=survey.nps_group(s["nps"]))
    tf = text.term_frequencies(df, top=10)
    assert list(tf.columns) == ["group", "language", "term", "count", "n_docs", "doc_share", "rank"]
    assert set(tf["group"]) == {"detractor", "passive", "promoter"}
    assert tf["doc_share"].between(0, 1).all()
    assert (tf.groupby(["group", "language"]).size() <= 10).all()
    # detractors' top terms are complaints (crm_lib.datasets._text.COMMENTS "neg")
    det_en = set(tf.query("group == 'detractor' and language == 'en'")["term"])
    assert det_en & {"slow", "poor", "expensive", "disappointing", "broke", "late", "damaged"}


def test_representative_comments_are_redacted(comments_world):
    s = comments_world.survey_responses
    df = s.assign(nps_group=survey.nps_group(s["nps"]))
    rep = text.representative_comments(df, n=3)
    assert (rep.groupby(["group", "language"]).size() <= 3).all()
    assert not rep["comment"].str.contains("@").any()
    assert not rep["comment"].str.contains(r"\d{7}").any()
    # the most typical detractor comments are complaints (negative sentiment)
    det = rep[rep["group"] == "detractor"]
    sen = text.sentiment(det, text_col="comment", language_col="language")["sentiment"]
    assert (sen.dropna() < 0).all()


def test_sentiment_lexicon():
    df = pd.DataFrame(
        {
            "comment": [
                "Great quality, very happy",
                "Delivery was slow and the box was damaged",
                "My issue was never resolved",  # negated positive
                "质量很好，非常满意",
                "客服回复太慢，态度不好",  # 不好 must not count as 好
                "The sky is blue",
                None,
            ],
            "comment_language": ["en", "en", "en", "zh", "zh", "en", None],
        }
    )
    out = text.sentiment(df)
    assert out["sentiment"].iloc[:5].tolist() == [1.0, -1.0, -1.0, 1.0, -1.0]
    assert out["n_negative"].iloc[4] == 2  # 太慢, 不好
    assert np.isnan(out["sentiment"].iloc[5]) and np.isnan(out["sentiment"].iloc[6])


def test_sentiment_orders_nps_groups(small_world):
    s = small_world.survey_responses
    scores = text.sentiment(s)["sentiment"].groupby(survey.nps_group(s["nps"])).mean()
    # observed: detractor -0.95, passive -0.1, promoter 0.98
    assert scores["detractor"] < scores["passive"] < scores["promoter"]
    assert scores["detractor"] < -0.5 < 0.5 < scores["promoter"]


# ------------------------------------------------------- Chinese word segmentation

# evaluation words of the zh "neg" / "pos" templates in crm_lib.datasets._text.COMMENTS
ZH_NEGATIVE = set("太慢 太贵 失望 破损 很差 不好 不符 坏了 不更新 晚了 不高".split())
ZH_POSITIVE = set("很好 很快 实惠 满意 完好 准时 及时 贴心 精细 合理 很好用".split())


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        # templates of crm_lib.datasets._text.COMMENTS: noun of the experience area +
        # evaluation, as words (jieba's general dictionary gives 很/好, 坏, 价格合理)
        ("快递太慢了，包装破损", ["快递", "太慢", "包装", "破损"]),
        ("客服回复太慢，态度不好", ["客服", "回复", "太慢", "态度", "不好"]),
        ("价格太贵了", ["价格", "太贵"]),
        ("质量很好，非常满意", ["质量", "很好", "满意"]),
        ("物流很快，包装完好", ["物流", "很快", "包装", "完好"]),
        ("价格合理", ["价格", "合理"]),
        ("用了几次就坏了", ["坏了"]),
        ("物流信息不更新", ["物流", "信息", "不更新"]),
    ],
)
def test_zh_segmentation_uses_the_crm_dictionary(comment, expected):
    assert text.tokenize(comment, "zh") == expected


def test_zh_user_dictionary_leaves_jiebas_global_dictionary_alone():
    import jieba

    text.tokenize("物流很快", "zh")
    assert "很好" in text.ZH_USER_WORDS and "性价比" in text.ZH_USER_WORDS
    assert jieba.lcut("质量很好") == ["质量", "很", "好"]  # jieba's own dictionary


def test_zh_top_terms_are_the_planted_phrases(comments_world):
    s = comments_world.survey_responses
    df = s.assign(nps_group=survey.nps_group(s["nps"]))
    tf = text.term_frequencies(df, top=10)
    zh = tf[tf["language"] == "zh"]
    top = {g: sub["term"].tolist() for g, sub in zh.groupby("group")}
    # no single characters, no punctuation among any group's top terms (both languages)
    assert (tf["term"].str.len() >= 2).all()
    assert not tf["term"].str.contains(r"[，。！？,.!?]").any()
    # Detractors (nps <= 6, 479 zh comments) always write a "neg" template of their
    # weakest construct; 太慢 is in two of the 12 (快递太慢了 / 客服回复太慢), so it is
    # the top term (observed doc share 0.175, expected about 2/12). Observed top 10:
    # 太慢, 不符, 商品, 描述, 不好, 回复, 客服, 态度, 坏了, 不更新.
    assert top["detractor"][0] == "太慢"
    assert len(set(top["detractor"]) & ZH_NEGATIVE) >= 4
    assert not set(top["detractor"]) & ZH_POSITIVE
    # Promoters write a "pos" template of their strongest construct; 很好 (product, service),
    # 很快 (service, delivery) and 价格 (two price templates) are the only terms in two of the
    # 12, so the top two are two of these three (which two depends on the sample: observed
    # 很好, 价格 on seed 5).
    assert set(top["promoter"][:2]) < {"很快", "很好", "价格"}
    assert len(set(top["promoter"]) & ZH_POSITIVE) >= 4
    assert not set(top["promoter"]) & ZH_NEGATIVE
