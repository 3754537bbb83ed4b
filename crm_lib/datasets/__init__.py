"""Simulated CRM worlds with their ground truth, and loading them back from disk.

>>> import crm_lib
>>> world = crm_lib.datasets.simulate("small", seed=1)   # doctest: +SKIP
"""

from crm_lib.datasets._btyd import BGNBDParams, GammaGammaParams
from crm_lib.datasets.world import SIZES, GroundTruth, World, WorldParams, simulate

__all__ = [
    "SIZES",
    "BGNBDParams",
    "GammaGammaParams",
    "GroundTruth",
    "World",
    "WorldParams",
    "simulate",
]
