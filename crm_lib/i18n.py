"""Report language: English (``en``) or Simplified Chinese (``zh``).

Every label that reaches a report (headings, table columns, category values, plot
titles and axes) goes through :func:`t` (messages) or :func:`label` (category values),
so one ``language`` parameter switches a whole notebook.

>>> t("rows", "zh")
'行数'
>>> label("north", "zh")
'华北'
"""

from __future__ import annotations

import pandas as pd

LANGUAGES = ("en", "zh")

MESSAGES: dict[str, dict[str, str]] = {
    # table overview and profile columns
    "table": {"en": "Table", "zh": "数据表"},
    "column": {"en": "Column", "zh": "字段"},
    "dtype": {"en": "Type", "zh": "类型"},
    "rows": {"en": "Rows", "zh": "行数"},
    "columns": {"en": "Columns", "zh": "字段数"},
    "missing": {"en": "Missing", "zh": "缺失数"},
    "missing_share": {"en": "Missing share", "zh": "缺失比例"},
    "distinct": {"en": "Distinct values", "zh": "不同取值数"},
    "min": {"en": "Min", "zh": "最小值"},
    "max": {"en": "Max", "zh": "最大值"},
    "first": {"en": "First", "zh": "最早"},
    "last": {"en": "Last", "zh": "最晚"},
    "pii_hidden": {"en": "(personal data, hidden)", "zh": "（个人信息，已隐藏）"},
    "count": {"en": "Count", "zh": "数量"},
    "share": {"en": "Share", "zh": "占比"},
    "month": {"en": "Month", "zh": "月份"},
    "revenue": {"en": "Revenue", "zh": "销售额"},
    "orders": {"en": "Orders", "zh": "订单数"},
    "customers": {"en": "Customers", "zh": "客户数"},
    "kind": {"en": "Kind of problem", "zh": "问题类型"},
    "records": {"en": "Records", "zh": "记录数"},
    "encoding": {"en": "Encoding", "zh": "编码"},
    "file": {"en": "File", "zh": "文件"},
    "variant": {"en": "Variant", "zh": "实验组"},
    "conversion_rate": {"en": "Conversion rate", "zh": "转化率"},
    "converted": {"en": "Converted", "zh": "转化人数"},
    "assigned": {"en": "Assigned", "zh": "分配人数"},
    "revenue_per_customer": {"en": "Revenue per customer", "zh": "人均销售额"},
    "wave": {"en": "Survey wave", "zh": "调查轮次"},
    "responses": {"en": "Responses", "zh": "答卷数"},
    "nps_answer": {"en": "Likelihood to recommend (0-10)", "zh": "推荐意愿（0-10分）"},
    "nps_group": {"en": "NPS group", "zh": "NPS 分组"},
    "orders_per_customer": {"en": "Orders per customer", "zh": "每位客户的订单数"},
    "region": {"en": "Region", "zh": "区域"},
    "category": {"en": "Category", "zh": "品类"},
    "channel": {"en": "Channel", "zh": "渠道"},
    # chart titles
    "title_monthly_orders": {"en": "Orders per month", "zh": "每月订单数"},
    "title_missing": {"en": "Missing values in the raw exports", "zh": "原始导出数据中的缺失值"},
    "title_dirt": {"en": "Planted data problems by kind", "zh": "各类数据问题的数量"},
    "title_orders_hist": {"en": "How many orders do customers place?", "zh": "客户下单次数分布"},
    "title_revenue_region": {"en": "Revenue by region", "zh": "各区域销售额"},
    "title_conversion": {"en": "Conversion by variant", "zh": "各实验组转化率"},
    "title_nps_hist": {"en": "Answers to the recommendation question", "zh": "推荐意愿得分分布"},
}

LABELS: dict[str, str] = {
    # regions
    "north": "华北",
    "east": "华东",
    "south": "华南",
    "west": "西部",
    "central": "华中",
    # sales and marketing channels
    "web": "网站",
    "app": "App",
    "store": "门店",
    "mini_program": "小程序",
    "direct": "直接访问",
    "search": "搜索",
    "social": "社交媒体",
    "email": "邮件",
    "referral": "推荐",
    # categories
    "apparel": "服装",
    "beauty": "美妆",
    "electronics": "电子产品",
    "grocery": "食品杂货",
    "home": "家居",
    "sports": "运动",
    # funnel, experiment, survey
    "visit": "访问",
    "signup": "注册",
    "cart": "加购",
    "purchase": "购买",
    "control": "对照组",
    "coupon": "优惠券组",
    "promoter": "推荐者",
    "passive": "被动者",
    "detractor": "贬损者",
    "complete": "已完成",
    "partial": "未完成",
    # tables
    "customers": "客户表",
    "transactions": "交易表",
    "events": "行为事件表",
    "experiment_assignments": "实验分组表",
    "experiment_outcomes": "实验结果表",
    "survey_responses": "问卷答卷表",
}


def check_language(language: str) -> str:
    """Return ``language`` if supported, else raise ``ValueError`` saying which are."""
    if language not in LANGUAGES:
        raise ValueError(
            f"language {language!r} is not supported: use one of {', '.join(LANGUAGES)}"
        )
    return language


def t(key: str, language: str = "en") -> str:
    """The message ``key`` in ``language``.

    Raises
    ------
    KeyError
        For an unknown key (a typo in a notebook must not pass silently).
    """
    check_language(language)
    try:
        return MESSAGES[key][language]
    except KeyError:
        raise KeyError(f"no message {key!r}; add it to crm_lib.i18n.MESSAGES") from None


def label(value: object, language: str = "en") -> str:
    """A category value as shown in a report (unknown values are shown as they are)."""
    check_language(language)
    text = str(value)
    if language == "zh":
        return LABELS.get(text, text)
    return text.replace("_", " ")


def translate_frame(
    df: pd.DataFrame, language: str = "en", *, values: list[str] | None = None
) -> pd.DataFrame:
    """Rename columns that are message keys and translate category values of ``values``."""
    check_language(language)
    out = df.copy()
    for col in values or []:
        out[col] = out[col].map(lambda v: label(v, language))
    return out.rename(columns={c: t(c, language) for c in out.columns if c in MESSAGES})
