"""Word lists for fictional names and survey comments (no real person is named)."""

from __future__ import annotations

ZH_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐韩冯邓曹彭")
ZH_SURNAMES_PINYIN = [
    "wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou",
    "xu", "sun", "ma", "zhu", "hu", "guo", "he", "lin", "luo", "gao",
    "zheng", "liang", "xie", "song", "tang", "han", "feng", "deng", "cao", "peng",
]  # fmt: skip
ZH_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华玉兰婷雪宇浩晨欣怡佳")
# Characters that look or sound alike, used to plant typos in duplicate records.
ZH_CONFUSABLE = {
    "王": "汪", "李": "里", "张": "章", "刘": "柳", "陈": "程", "杨": "扬", "黄": "皇",
    "伟": "玮", "芳": "方", "娜": "那", "敏": "民", "静": "净", "丽": "莉", "强": "墙",
    "磊": "蕾", "军": "君", "洋": "阳", "勇": "永", "艳": "燕", "杰": "洁", "娟": "绢",
    "涛": "滔", "明": "铭", "超": "潮", "华": "桦", "玉": "钰", "婷": "亭", "雪": "薛",
    "宇": "雨", "浩": "皓", "晨": "辰", "欣": "新", "怡": "宜", "佳": "家",
}  # fmt: skip
EN_FIRST = [
    "Emma", "Olivia", "Liam", "Noah", "Ava", "Mia", "Lucas", "Ethan", "Sophia", "James",
    "Grace", "Henry", "Chloe", "Daniel", "Lily", "Jack", "Ella", "Leo", "Zoe", "Adam",
]  # fmt: skip
EN_LAST = [
    "Smith", "Brown", "Taylor", "Wilson", "Johnson", "Walker", "Wright", "Green", "Hall",
    "Wood", "Clarke", "Hughes", "Turner", "Baker", "Hill", "Moore", "King", "Lee", "Scott",
    "Young",
]  # fmt: skip
EMAIL_DOMAINS = ["example.com", "example.net", "example.org", "mail.example.cn"]

# Survey comments by construct and polarity, in both languages.
COMMENTS = {
    ("product", "neg"): (
        ["质量一般，有点失望", "商品和描述不符", "用了几次就坏了"],
        ["Quality was disappointing", "The product did not match the description",
         "It broke after a few uses"],
    ),
    ("product", "pos"): (
        ["质量很好，非常满意", "商品做工精细", "东西很好用，会回购"],
        ["Great quality, very happy", "Well made product", "Works really well, will buy again"],
    ),
    ("price", "neg"): (
        ["价格太贵了", "性价比不高", "比别家贵不少"],
        ["Too expensive", "Poor value for money", "Pricier than other shops"],
    ),
    ("price", "pos"): (
        ["价格实惠，性价比高", "优惠力度很大", "价格合理"],
        ["Good value for money", "Great discounts", "Fair prices"],
    ),
    ("service", "neg"): (
        ["客服回复太慢，态度不好", "问题一直没有解决", "售后服务很差"],
        ["Customer service was slow and unhelpful", "My issue was never resolved",
         "Poor after-sales service"],
    ),
    ("service", "pos"): (
        ["客服态度很好，回复及时", "售后处理很快", "服务很贴心"],
        ["Friendly and quick customer service", "After-sales handled my issue fast",
         "Very thoughtful service"],
    ),
    ("delivery", "neg"): (
        ["快递太慢了，包装破损", "物流信息不更新", "送货晚了好几天"],
        ["Delivery was slow and the box was damaged", "Tracking never updated",
         "Delivery arrived days late"],
    ),
    ("delivery", "pos"): (
        ["物流很快，包装完好", "第二天就到了", "送货准时"],
        ["Fast delivery, well packed", "Arrived the next day", "Delivered on time"],
    ),
}  # fmt: skip
