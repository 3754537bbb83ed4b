"""Where data and reports live.

Paths come from parameters or from two environment variables, never from the location
of a file inside the installed package:

- ``CRM_DATA_DIR``: root of the data tree (``raw/``, ``interim/``, ``warehouse/``),
  default ``./data``;
- ``CRM_REPORTS_DIR``: root of the generated reports, default ``./reports``.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """Root of the data tree (``$CRM_DATA_DIR`` or ``./data``)."""
    return Path(os.environ.get("CRM_DATA_DIR", "data")).expanduser()


def reports_dir() -> Path:
    """Root of the generated reports (``$CRM_REPORTS_DIR`` or ``./reports``)."""
    return Path(os.environ.get("CRM_REPORTS_DIR", "reports")).expanduser()


def warehouse_path() -> Path:
    """Default DuckDB warehouse file: ``<data dir>/warehouse/crm.duckdb``."""
    return data_dir() / "warehouse" / "crm.duckdb"


def simulated_world_dir(size: str = "small", seed: int = 1) -> Path:
    """Default folder of a simulated world written by ``crm data build``."""
    return data_dir() / "raw" / "simulated" / f"{size}-seed{seed}"


def one_thread():
    """Run BLAS/OpenMP single-threaded (a context manager).

    The models of the studies work on tables of thousands of rows and tiny matrices:
    thread start-up and spin-waiting cost more than they save on a busy 2-core machine
    (k-means about 10x, a SARIMAX fit 15x, gradient boosting 2-3x slower with threads),
    and results do not depend on the thread count. threadpoolctl comes with scikit-learn.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)
