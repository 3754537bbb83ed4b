"""crm_lib: a research toolkit for CRM analytics.

The package holds all logic; the notebooks under ``notebooks/`` are narrative, one
``parameters`` cell and calls into these modules.

Submodules are imported lazily so that ``import crm_lib`` stays cheap::

    import crm_lib
    world = crm_lib.datasets.simulate("small", seed=1)
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("crm_lib")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

_SUBMODULES = {
    "cleaning",
    "dedup",
    "engine",
    "cli",
    "clustering",
    "clv",
    "clv_plots",
    "experiments",
    "segmentation",
    "survey",
    "text",
    "value",
    "config",
    "datasets",
    "i18n",
    "io",
    "plotting",
    "privacy",
    "profiling",
    "quarantine",
    "reporting",
    "schemas",
    "warehouse",
}

__all__ = sorted(_SUBMODULES) + ["__version__"]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"crm_lib.{name}")
    raise AttributeError(f"module 'crm_lib' has no attribute {name!r}")
