"""Shared fixtures: the small simulated world is built once per test session."""

from __future__ import annotations

import os

import matplotlib
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
matplotlib.use("Agg")


@pytest.fixture(scope="session")
def small_world():
    from crm_lib.datasets import simulate

    return simulate("small", seed=1)
