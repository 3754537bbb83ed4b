"""Exercises of notebooks 01 (data collection) and 02 (data cleaning): data management and
privacy. The truth is the dirt the simulation planted in the raw exports
(``truth.dirty_records``) and the clean world's own tables."""

from __future__ import annotations

from typing import Any

from crm_lib.teaching._core import Exercise, close, per_world, same_whole_number


def _planted(world: Any, table: str, kind: str) -> int:
    dirt = world.truth.dirty_records
    return int(((dirt["table"] == table) & (dirt["kind"] == kind)).sum())


@per_world
def _mapped(world: Any) -> dict[str, Any]:
    import tempfile

    from crm_lib.datasets.dirt import mapped_exports

    raw, mapped, paths = mapped_exports(world, tempfile.mkdtemp(prefix="crm_teaching_"))
    return {"raw": raw, "mapped": mapped, "paths": paths}


@per_world
def _cleaned(world: Any):
    from crm_lib.intake import pipeline

    return pipeline.clean_exports(_mapped(world)["mapped"])


def _order_quarantine(world: Any):
    return _mapped(world)["mapped"]["transactions"].quarantine


def _encoding_family(name: Any) -> str:
    key = str(name).strip().lower().replace("_", "-")
    return "gbk" if key in {"gbk", "gb2312", "gb18030", "cp936"} else key


def _export_encoding(world: Any) -> str:
    from crm_lib.datasets.dirt import EXPORT_ENCODINGS

    return EXPORT_ENCODINGS["customers_export"]


def _detected_encoding(world: Any) -> str:
    from crm_lib.intake.io import detect_encoding

    return detect_encoding(_mapped(world)["paths"]["customers_export"])


EXERCISES = [
    Exercise(
        "01.1",
        {
            "en": "How many order lines did the load send to quarantine because the same "
            "line (order and line number) came twice? Enter a whole number.",
            "zh": "加载时有多少条订单行因同一订单行（订单号与行号相同）出现两次而被隔离？请输入整数。",
        },
        {
            "en": "Count the quarantine records of the orders whose rule is `duplicate_key`.",
            "zh": "统计订单隔离记录中规则为 `duplicate_key` 的记录数。",
        },
        truth=lambda w: _planted(w, "orders", "duplicate_line"),
        accept=same_whole_number,
        solve=lambda w: int((_order_quarantine(w)["rule"] == "duplicate_key").sum()),
    ),
    Exercise(
        "01.2",
        {
            "en": "In which text encoding was the customers export written? Enter its name.",
            "zh": "客户导出文件使用的是哪种文本编码？请输入编码名称。",
        },
        {
            "en": "Ask `io.detect_encoding` about the customers export; GBK's superset "
            "counts as GBK.",
            "zh": "用 `io.detect_encoding` 检测客户导出文件；GBK 的超集也算作 GBK。",
        },
        truth=_export_encoding,
        accept=lambda a, t: _encoding_family(a) == _encoding_family(t),
        solve=_detected_encoding,
    ),
    Exercise(
        "01.3",
        {
            "en": "How many order lines did the contract refuse because they are returns "
            "(a negative amount) that name no original order? Enter a whole number.",
            "zh": "有多少条订单行因为是退货（金额为负）却没有注明原订单而被数据契约拒收？请输入整数。",
        },
        {
            "en": "Count the quarantine records of the orders whose rule starts with "
            "`contract` (read its reason: a negative amount must reference "
            "original_order_id).",
            "zh": "统计订单隔离记录中规则以 `contract` 开头的记录数（看它的原因：负金额必须引用 `original_order_id`）。",
        },
        truth=lambda w: _planted(w, "orders", "negative_without_order"),
        accept=same_whole_number,
        solve=lambda w: int(_order_quarantine(w)["rule"].str.startswith("contract").sum()),
    ),
    Exercise(
        "02.1",
        {
            "en": "How many test accounts are in the customers export? Enter a whole number.",
            "zh": "客户导出文件中有多少个测试账号？请输入整数。",
        },
        {
            "en": "Use `cleaning.exclude_test_data` with the default e-mail and name rules "
            "and count `test_customer_ids`.",
            "zh": "用默认的邮箱和姓名规则调用 `cleaning.exclude_test_data`，统计 `test_customer_ids` 的个数。",
        },
        truth=lambda w: _planted(w, "customers", "test_account"),
        accept=same_whole_number,
        solve=lambda w: len(_cleaned(w).exclusion.test_customer_ids),
    ),
    Exercise(
        "02.2",
        {
            "en": "How many duplicate customer records did record linkage merge? Enter a "
            "whole number; it counts as found when it recovers at least 80% of the "
            "duplicates the simulation planted and merges at most 5% more.",
            "zh": "记录链接合并了多少条重复客户记录？请输入整数；找回至少 80% 的植入重复记录、且多合并不超过 5%，即为正确。",
        },
        {
            "en": "Count the rows of `linkage.merge_log` (one row per merged id).",
            "zh": "统计 `linkage.merge_log` 的行数（每个被合并的编号一行）。",
        },
        truth=lambda w: _planted(w, "customers", "duplicate_customer"),
        accept=lambda a, t: 0.8 * int(t) <= int(a) <= 1.05 * int(t),
        solve=lambda w: len(_cleaned(w).linkage.merge_log),
    ),
    Exercise(
        "02.3",
        {
            "en": "What share of the cleaned customers may receive marketing (they consented)? "
            "The export writes the opt-in in several ways. Enter a share between 0 and 1; "
            "correct within 0.005 of the share of the world's real customers who consented "
            "(the duplicates and test accounts the cleaning removes barely move it).",
            "zh": "清洗后的客户中，有多大比例可以接收营销信息（已同意）？导出文件中同意选项有多种写法。请输入 0 到 1 之间的比例；与模拟世界真实客户的同意比例相差不超过 0.005 即为正确（清洗去掉的重复记录和测试账号几乎不影响这一比例）。",
        },
        {
            "en": "Take the mean of `may_contact` in the consent table of the cleaning "
            "(`result.consent`): a blank or unreadable opt-in counts as no consent.",
            "zh": "对清洗结果中同意表（`result.consent`）的 `may_contact` 取平均值：空白或无法识别的同意选项按不同意处理。",
        },
        truth=lambda w: float(w.customers["marketing_consent"].mean()),
        accept=close(abs_=0.005),
        solve=lambda w: float(_cleaned(w).consent["may_contact"].mean()),
    ),
]
