"""crm_lib.reporting.source: the line naming the data a report ran on, in its language."""

from __future__ import annotations

from pathlib import Path

from crm_lib.contract.dataset import DatasetConfig
from crm_lib.datasets import SIMULATED_CONFIG, World
from crm_lib.intake.pipeline import ExportSources
from crm_lib.reporting import dataset_line, foreign_words


def _world(config, **meta):
    return World.from_tables({}, truth=None, config=config, meta=meta)


def test_the_simulated_world_is_named_in_the_report_language():
    world = _world(SIMULATED_CONFIG, size="small", seed=1)
    assert dataset_line(world, "en").data == "**Data:** simulated world 'small', seed 1"
    assert dataset_line(world, "zh").data == "**数据：** 模拟世界（小型，种子 1）"


def test_a_dataset_keeps_its_own_name_verbatim():
    world = _world(DatasetConfig(name="CDNOW <purchases> 1997-98"), folder="x")
    line = dataset_line(world, "zh").data
    assert line == '**数据：** <span class="crm-verbatim">CDNOW &lt;purchases&gt; 1997-98</span>'
    assert foreign_words(f"<p>{line}</p>") == []  # the checker leaves the name alone


def test_your_exports_are_named_by_their_files():
    sources = ExportSources(
        files={"customers": Path("crm/客户.csv"), "transactions": Path("shop/orders.xlsx")},
        fingerprint="abc",
        description="your exports (customers: 客户.csv; transactions: orders.xlsx)",
        own=True,
    )
    assert dataset_line(sources, "en").data == (
        '**Data:** <span class="crm-verbatim">your exports (customers: 客户.csv; '
        "transactions: orders.xlsx)</span>"
    )
    assert dataset_line(sources, "zh").data == (
        '**数据：** 你的导出文件（客户表：<span class="crm-verbatim">客户.csv</span>；'
        '交易表：<span class="crm-verbatim">orders.xlsx</span>）'
    )
