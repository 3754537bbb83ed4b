"""Simulated CRM worlds with their ground truth, and loading them back from disk.

>>> import crm_lib
>>> world = crm_lib.datasets.simulate("small", seed=1)   # doctest: +SKIP
>>> world.truth.experiment["ate_conversion"]             # doctest: +SKIP
"""

from crm_lib.datasets._btyd import BGNBDParams, GammaGammaParams
from crm_lib.datasets.bfi import BFINotFoundError, load_bfi
from crm_lib.datasets.cdnow import CDNOWNotFoundError, load_cdnow
from crm_lib.datasets.container import MissingTableError, currency_of
from crm_lib.datasets.large import LargeWorldResult, simulate_to_parquet
from crm_lib.datasets.storage import (
    describe_folder,
    get_world,
    load_dataset,
    load_world,
    save_world,
    world_fingerprint,
)
from crm_lib.datasets.telco import TelcoNotFoundError, load_telco_churn
from crm_lib.datasets.world import (
    SIMULATED_CONFIG,
    SIZES,
    GroundTruth,
    World,
    WorldParams,
    simulate,
)

__all__ = [
    "SIZES",
    "BFINotFoundError",
    "BGNBDParams",
    "CDNOWNotFoundError",
    "GammaGammaParams",
    "GroundTruth",
    "LargeWorldResult",
    "MissingTableError",
    "SIMULATED_CONFIG",
    "TelcoNotFoundError",
    "World",
    "WorldParams",
    "currency_of",
    "describe_folder",
    "get_world",
    "load_bfi",
    "load_cdnow",
    "load_dataset",
    "load_telco_churn",
    "load_world",
    "save_world",
    "simulate",
    "simulate_to_parquet",
    "world_fingerprint",
]
