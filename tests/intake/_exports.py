"""The simulated world's raw exports, read and mapped as the cleaning study gets them."""

from __future__ import annotations

from pathlib import Path

from crm_lib.datasets import simulate
from crm_lib.datasets.dirt import mapped_exports as _mapped


def mapped_exports(size, seed: int, folder: Path):
    """``(world, raw, mapped)``: the world, its exports as text, and as contract tables."""
    world = simulate(size, seed=seed, dirty=True)
    raw, mapped, _ = _mapped(world, folder)
    return world, raw, mapped
