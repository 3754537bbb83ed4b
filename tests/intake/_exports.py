"""The simulated world's raw exports, read and mapped as the cleaning study gets them."""

from __future__ import annotations

from pathlib import Path

from crm_lib.datasets import simulate
from crm_lib.datasets.dirt import write_raw_exports
from crm_lib.intake import io


def mapped_exports(size, seed: int, folder: Path):
    """``(world, raw, mapped)``: the world, its exports as text, and as contract tables."""
    world = simulate(size, seed=seed, dirty=True)
    paths = write_raw_exports(world.raw, folder / "exports")
    raw = {
        "customers": io.read_table(paths["customers_export"]),
        "transactions": io.read_table(paths["orders_export"]),
    }
    mapped = {
        "customers": io.apply_mapping(raw["customers"], "simulated_world_customers", source="c"),
        "transactions": io.apply_mapping(raw["transactions"], "simulated_world_orders", source="o"),
    }
    return world, raw, mapped
