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

# The packages of the data flow, then the shared face (i18n, plotting) and the command line.
_PACKAGES = {
    "contract",
    "intake",
    "engine",
    "value",
    "experiments",
    "survey",
    "churn",
    "reporting",
    "datasets",
    "i18n",
    "plotting",
    "cli",
}
# Flat modules of 0.1.0, now stubs that forward with a DeprecationWarning (gone in 0.2).
_MOVED = {
    "cleaning",
    "clustering",
    "clv",
    "clv_plots",
    "config",
    "dedup",
    "io",
    "privacy",
    "profiling",
    "quarantine",
    "schemas",
    "segmentation",
    "text",
    "warehouse",
}

_SUBMODULES = _PACKAGES | _MOVED

__all__ = sorted(_PACKAGES) + ["__version__"]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"crm_lib.{name}")
    raise AttributeError(f"module 'crm_lib' has no attribute {name!r}")
