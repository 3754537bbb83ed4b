"""Open-ended answers in English and Chinese: redaction of contact details, tokenisation,
term frequencies by group, representative comments and a lexicon sentiment score.

Comments are personal data: every function that returns comment text returns it through
:func:`redact`. Chinese word segmentation uses jieba, set up lazily on first use with its
log silenced and its dictionary cache in the system temporary folder (never in the
project or the installed package). A private jieba tokenizer gets a small CRM user
dictionary (:data:`ZH_USER_WORDS`: 物流, 快递, 客服, 性价比, 太慢, 太贵, 破损, ...), so
that the domain's nouns and evaluations come out as words, not characters; jieba's
global dictionary is not changed.

>>> redact("Call me at +8613812345678 or mail a.b@example.com")
'Call me at [phone] or mail [email]'
>>> tokenize("Great quality, very happy!", "en")
['great', 'quality', 'happy']
"""

from __future__ import annotations

import logging
import math
import re
import tempfile
from collections import Counter

import numpy as np
import pandas as pd

EMAIL_TOKEN = "[email]"
PHONE_TOKEN = "[phone]"

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Phone numbers: an optional +country code, then 7-15 digits that may be split by
# spaces, dots, dashes or brackets (Chinese mobiles: 1[3-9]x xxxx xxxx).
PHONE_RE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(?\d{2,4}\)?[\s.-]?){1,4}\d{3,11}(?!\w)")
_DIGIT_MIN = 7

EN_STOPWORDS = frozenset(
    """a about above after again all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers him his how i if in into is it its
    itself just me more most my myself no nor of off on once only or other our ours out
    over own same she should so some such than that the their theirs them then there these
    they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours me us got get not""".split()
)
ZH_STOPWORDS = frozenset(
    "的 了 是 在 我 有 和 就 都 而 及 与 着 或 一个 没 也 很 到 说 要 去 你 会 那 这 吧 呢 啊 "
    "吗 又 还 让 把 被 给 对 从 但 并 等 之 其 些 我们 他们 它 她 他 几次 就 了 有点 非常 太 "
    "请 联系".split()
)
_NEGATORS_EN = frozenset({"not", "never", "no", "n't", "nothing", "hardly"})

EN_LEXICON = {
    **dict.fromkeys(
        "good great excellent happy love well fast quick quickly friendly helpful fair value "
        "recommend thoughtful easy perfect nice satisfied reliable resolved match matched "
        "updated works durable discounts cheap on-time".split(),
        1,
    ),
    **dict.fromkeys(
        "bad poor disappointing disappointed broke broken slow late damaged expensive "
        "pricier unhelpful rude worst terrible problem problems issue complaint wrong "
        "difficult never-again overpriced faulty".split(),
        -1,
    ),
}
"""English sentiment words (+1 / -1); a negator (not, never, no) up to two words before a
word flips its sign."""

ZH_LEXICON = {
    **dict.fromkeys(
        "好 很好 满意 非常满意 精细 好用 实惠 性价比高 合理 及时 贴心 很快 完好 准时 优惠 回购 "
        "喜欢 推荐 不错 友好 满分 方便 划算 耐用".split(),
        1,
    ),
    **dict.fromkeys(
        "失望 不符 坏 坏了 贵 太贵 不高 慢 太慢 差 很差 破损 不好 没有解决 晚 晚了 一般 不更新 "
        "投诉 糟糕 麻烦 退货".split(),
        -1,
    ),
    # neutral compounds that contain a sentiment character
    **dict.fromkeys("快递 好几天 不少 价格".split(), 0),
}
"""Chinese sentiment terms (+1 / -1, 0 = neutral compound); matched longest first."""

ZH_USER_WORDS = (
    # customer-experience nouns
    "物流 快递 快递员 客服 售后 售后服务 服务态度 性价比 包装 送货 发货 到货 做工 质量 "
    "价格 优惠 退货 退款 换货 商品 描述"
    # evaluations: degree adverb + adjective, negations, outcomes
    " 太慢 太贵 很慢 很快 很好 很差 很贵 不好 不高 不符 不更新 好用 很好用 实惠 合理 "
    "失望 满意 破损 完好 准时 及时 贴心 精细 坏了 晚了 没有解决 好几天 划算 耐用"
).split()
"""Words added to the private jieba dictionary (:func:`tokenize`, ``language='zh'``).

jieba's general dictionary splits CRM evaluations into characters (很/好, 坏, 晚/了) or
glues noun and evaluation into one word (价格合理); these words make the segmentation
follow the domain: a noun for the experience area (物流, 客服, 性价比) and an
evaluation (太慢, 很好, 破损). Each is added with a frequency high enough to win over
the general dictionary's alternatives; 价格合理 is removed so that it splits into
价格 / 合理. Extend it for another domain with :func:`add_zh_words`.
"""
_ZH_DEL_WORDS = ("价格合理",)
_ZH_USER_FREQ = 100_000

_ZH_LEX_RE = re.compile("|".join(sorted(map(re.escape, ZH_LEXICON), key=len, reverse=True)))
_jieba = None


def _get_jieba():
    """A private jieba tokenizer, initialised once: silent, cache file in the system
    temporary folder, with the CRM user dictionary :data:`ZH_USER_WORDS`."""
    global _jieba
    if _jieba is None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        # also point jieba's global tokenizer at the temporary folder, in case a caller
        # uses it after crm_lib (its default cache name stays jieba's own)
        jieba.dt.tmp_dir = tempfile.gettempdir()
        tk = jieba.Tokenizer()
        tk.tmp_dir = tempfile.gettempdir()
        tk.cache_file = "crm_lib_jieba.cache"
        tk.initialize()
        for word in ZH_USER_WORDS:
            tk.add_word(word, freq=_ZH_USER_FREQ)
        for word in _ZH_DEL_WORDS:
            tk.del_word(word)
        _jieba = tk
    return _jieba


def add_zh_words(words) -> None:
    """Add words to the Chinese dictionary used by :func:`tokenize` (this process only).

    Parameters
    ----------
    words : iterable of str
        Domain words that jieba should keep whole (product lines, brand names, ...); they
        get the same frequency as :data:`ZH_USER_WORDS`.

    Examples
    --------
    >>> tokenize("这款扫地机器人很好用", "zh")
    ['扫地', '机器人', '很好用']
    >>> add_zh_words(["扫地机器人"])
    >>> tokenize("这款扫地机器人很好用", "zh")
    ['扫地机器人', '很好用']
    """
    tk = _get_jieba()
    for word in words:
        tk.add_word(str(word), freq=_ZH_USER_FREQ)


def _is_missing(x) -> bool:
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _redact_phone(match: re.Match) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    return PHONE_TOKEN if digits >= _DIGIT_MIN else match.group(0)


def redact(text):
    """Replace e-mail addresses and phone numbers with ``[email]`` / ``[phone]``.

    Parameters
    ----------
    text : str, pandas.Series or None
        Missing values are returned unchanged; a Series is redacted element-wise.

    Returns
    -------
    str or pandas.Series

    Notes
    -----
    A phone number is an optional ``+`` country code followed by 7-15 digits, possibly
    split by spaces, dots, dashes or brackets; shorter digit runs (prices, quantities,
    years such as 2025) are kept; a date written as 2025-03-22 is redacted too, erring on
    the side of privacy. Names are not detected: treat redacted text as still
    personal and show only aggregates or a few redacted quotes.
    """
    if isinstance(text, pd.Series):
        return text.map(redact, na_action="ignore").astype(text.dtype)
    if text is None or _is_missing(text):
        return text
    out = EMAIL_RE.sub(EMAIL_TOKEN, str(text))
    return PHONE_RE.sub(_redact_phone, out)


def tokenize(text: str, language: str) -> list[str]:
    """Words of a (redacted) comment, lower-cased, without stopwords and punctuation.

    Parameters
    ----------
    text : str
    language : {"en", "zh"}
        English: regular expression on letters (apostrophes kept inside words).
        Chinese: jieba word segmentation with the CRM user dictionary
        (:data:`ZH_USER_WORDS`); tokens without a letter, digit or CJK character are
        dropped.

    Returns
    -------
    list of str
        Contact details never appear: the text is redacted first and the placeholders
        are dropped. Single-character tokens are dropped in both languages: in Chinese
        what remains a single character after segmentation with the user dictionary is
        a particle or function word (了, 就, 比, 用), as in jieba's own keyword
        extraction (``jieba.analyse``), which skips tokens shorter than two characters.

    References
    ----------
    Sun, J. (2012-). jieba: Chinese text segmentation. https://github.com/fxsjy/jieba
    (prefix dictionary, maximum-probability path by dynamic programming, HMM for
    unknown words; user dictionaries via ``add_word``).
    """
    if text is None or _is_missing(text):
        return []
    clean = redact(str(text)).replace(EMAIL_TOKEN, " ").replace(PHONE_TOKEN, " ")
    if language == "en":
        words = re.findall(r"[a-z]+(?:'[a-z]+)?", clean.lower())
        return [w for w in words if len(w) > 1 and w not in EN_STOPWORDS]
    if language == "zh":
        words = _get_jieba().lcut(clean)
        return [
            w.lower()
            for w in (w.strip() for w in words)
            if len(w) > 1 and re.search(r"[\w]", w) and w not in ZH_STOPWORDS
        ]
    raise ValueError(f"language must be 'en' or 'zh', got {language!r}")


def _docs(data, text_col, language_col, group_col):
    cols = [text_col, language_col] + ([group_col] if group_col else [])
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise KeyError(f"column(s) {missing} not in data; available: {list(data.columns)}")
    df = data[cols].dropna(subset=[text_col, language_col])
    bad = sorted(set(df[language_col]) - {"en", "zh"})
    if bad:
        raise ValueError(f"{language_col!r} holds unsupported language(s) {bad}; use en or zh")
    tokens = [tokenize(t, lang) for t, lang in zip(df[text_col], df[language_col], strict=True)]
    return df.assign(_tokens=tokens)


def term_frequencies(
    data: pd.DataFrame,
    *,
    text_col: str = "comment",
    language_col: str = "comment_language",
    group_col: str | None = "nps_group",
    top: int | None = 20,
) -> pd.DataFrame:
    """Most frequent terms of the comments, per group and language.

    Returns
    -------
    pandas.DataFrame
        ``group, language, term, count`` (occurrences), ``n_docs`` (comments containing
        the term), ``doc_share`` (n_docs / comments of the group and language), ``rank``;
        the ``top`` terms per group and language by ``n_docs``.
    """
    df = _docs(data, text_col, language_col, group_col)
    keys = [group_col, language_col] if group_col else [language_col]
    rows = []
    for key, sub in df.groupby(keys, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        count, docs = Counter(), Counter()
        for toks in sub["_tokens"]:
            count.update(toks)
            docs.update(set(toks))
        ranked = sorted(docs, key=lambda t: (-docs[t], -count[t], t))[:top]
        for r, term in enumerate(ranked, start=1):
            rows.append(
                {
                    "group": key[0] if group_col else None,
                    "language": key[-1],
                    "term": term,
                    "count": count[term],
                    "n_docs": docs[term],
                    "doc_share": docs[term] / len(sub),
                    "rank": r,
                }
            )
    cols = ["group", "language", "term", "count", "n_docs", "doc_share", "rank"]
    return pd.DataFrame(rows, columns=cols)


def representative_comments(
    data: pd.DataFrame,
    *,
    text_col: str = "comment",
    language_col: str = "comment_language",
    group_col: str = "nps_group",
    n: int = 3,
) -> pd.DataFrame:
    """The comments most typical of each group (per language), redacted.

    Each comment is scored by the mean, over its distinct terms, of the smoothed log-odds
    of the term in the group against the other groups,
    :math:`\\log\\frac{(d_{tg} + 1)/(D_g + 2)}{(d_{t\\bar g} + 1)/(D_{\\bar g} + 2)}`
    (:math:`d` comments containing term :math:`t`, :math:`D` comments); the ``n`` best
    distinct texts are returned.

    Returns
    -------
    pandas.DataFrame
        ``group, language, comment, score, n_same`` (comments with the same redacted
        text in the group).
    """
    df = _docs(data, text_col, language_col, group_col)
    df = df.assign(_text=redact(df[text_col].astype("string")))
    rows = []
    for lang, by_lang in df.groupby(language_col, sort=True):
        docs_by_group = {
            g: Counter(t for toks in sub["_tokens"] for t in set(toks))
            for g, sub in by_lang.groupby(group_col)
        }
        size = by_lang.groupby(group_col).size()
        for g, sub in by_lang.groupby(group_col, sort=True):
            other = sum((c for h, c in docs_by_group.items() if h != g), Counter())
            n_other = int(size.drop(g).sum())
            inside = docs_by_group[g]
            log_odds = {
                t: math.log(((c + 1) / (size[g] + 2)) / ((other[t] + 1) / (n_other + 2)))
                for t, c in inside.items()
            }
            scores = [
                float(np.mean([log_odds[t] for t in set(toks)])) if toks else -np.inf
                for toks in sub["_tokens"]
            ]
            scored = pd.DataFrame({"comment": sub["_text"].to_numpy(), "score": scores})
            same = scored.groupby("comment")["score"].size()
            best = scored.drop_duplicates("comment").nlargest(n, "score")
            for rec in best.itertuples(index=False):
                rows.append(
                    {
                        "group": g,
                        "language": lang,
                        "comment": rec.comment,
                        "score": rec.score,
                        "n_same": int(same[rec.comment]),
                    }
                )
    return pd.DataFrame(rows, columns=["group", "language", "comment", "score", "n_same"])


def sentiment_score(text: str, language: str) -> tuple[int, int]:
    """Counts of positive and negative lexicon terms in one comment (see :func:`sentiment`)."""
    if text is None or _is_missing(text):
        return 0, 0
    pos = neg = 0
    if language == "en":
        words = re.findall(r"[a-z]+(?:'[a-z]+)?", redact(str(text)).lower())
        for k, w in enumerate(words):
            value = EN_LEXICON.get(w, 0)
            if value and any(p in _NEGATORS_EN for p in words[max(0, k - 2) : k]):
                value = -value
            pos, neg = pos + (value > 0), neg + (value < 0)
    elif language == "zh":
        for term in _ZH_LEX_RE.findall(str(text)):
            value = ZH_LEXICON[term]
            pos, neg = pos + (value > 0), neg + (value < 0)
    else:
        raise ValueError(f"language must be 'en' or 'zh', got {language!r}")
    return pos, neg


def sentiment(
    data: pd.DataFrame,
    *,
    text_col: str = "comment",
    language_col: str = "comment_language",
) -> pd.DataFrame:
    """Lexicon sentiment of each comment.

    Returns
    -------
    pandas.DataFrame
        On the index of ``data``: ``n_positive, n_negative, sentiment`` with
        :math:`(n_+ - n_-)/(n_+ + n_-)` in [-1, 1], missing when no lexicon term occurs
        (or no comment).

    Notes
    -----
    A deliberately small lexicon (:data:`EN_LEXICON`, :data:`ZH_LEXICON`) with negation
    handling for English (a negator within two words flips the sign); Chinese negations
    are listed as terms (不好, 没有解决). Good enough to rank groups, not to score single
    comments reliably; extend the lexicons for a real study.

    References
    ----------
    Liu, B. (2012). Sentiment Analysis and Opinion Mining. Morgan & Claypool.
    """
    for c in (text_col, language_col):
        if c not in data.columns:
            raise KeyError(f"column {c!r} not in data; available: {list(data.columns)}")
    counts = [
        sentiment_score(t, lang) if not _is_missing(lang) else (0, 0)
        for t, lang in zip(data[text_col], data[language_col], strict=True)
    ]
    pos = np.array([c[0] for c in counts], dtype="int64")
    neg = np.array([c[1] for c in counts], dtype="int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(pos + neg > 0, (pos - neg) / (pos + neg), np.nan)
    return pd.DataFrame(
        {"n_positive": pos, "n_negative": neg, "sentiment": score}, index=data.index
    )
