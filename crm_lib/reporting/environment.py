"""What a run needs to be reproduced: package versions and a fingerprint of its input data."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

__all__ = ["KEY_PACKAGES", "data_fingerprint", "environment", "fingerprint_path"]

#: Packages whose versions are stored with every run.
KEY_PACKAGES = (
    "crm_lib",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "scikit-learn",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbconvert",
    "ipykernel",
    "duckdb",
    "pyarrow",
)


@functools.cache
def environment() -> dict[str, Any]:
    """Python version, platform and the versions of :data:`KEY_PACKAGES` (None if absent)."""
    packages: dict[str, str | None] = {}
    for name in KEY_PACKAGES:
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": packages,
    }


def fingerprint_path(path: Path) -> dict[str, Any]:
    """sha256 over a file, or over the sorted files of a folder (relative path + bytes).

    Returns
    -------
    dict
        ``path, sha256, files, bytes``.
    """
    path = Path(path)
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    total = 0
    for file in files:
        rel = file.name if file == path else file.relative_to(path).as_posix()
        digest.update(rel.encode("utf-8") + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda h=handle: h.read(1 << 20), b""):
                digest.update(block)
                total += len(block)
        digest.update(b"\0")
    return {"path": str(path), "sha256": digest.hexdigest(), "files": len(files), "bytes": total}


def data_fingerprint(
    input_paths: Mapping[str, Path],
    parameters: Mapping[str, Any],
    cache: dict[Path, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Fingerprint the data a run reads.

    Every non-empty input-path parameter (``data_dir``, ``*_file``, ...) is hashed with
    :func:`fingerprint_path`. When ``data_dir`` is declared but empty the notebook
    simulates its world in memory, so the simulator's inputs (``size``, ``seed`` and
    the crm_lib version) are hashed instead.

    Returns
    -------
    dict
        ``sha256`` (over all parts), ``inputs`` (one entry per input path) and
        ``simulated`` (``size, seed, crm_lib``) or None.
    """
    cache = {} if cache is None else cache
    inputs = {}
    for name, path in sorted(input_paths.items()):
        if path not in cache:
            cache[path] = fingerprint_path(path)
        inputs[name] = cache[path]
    simulated = None
    if "data_dir" in parameters and not parameters["data_dir"]:
        simulated = {
            "size": parameters.get("size"),
            "seed": parameters.get("seed"),
            "crm_lib": environment()["packages"]["crm_lib"],
        }
    parts = {"inputs": {k: v["sha256"] for k, v in inputs.items()}, "simulated": simulated}
    combined = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return {"sha256": combined, "inputs": inputs, "simulated": simulated}


def relpath_or_abs(path: Path) -> str:
    """``path`` relative to the current folder when inside it, else absolute."""
    try:
        return (
            os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd()) else str(path)
        )
    except ValueError:  # pragma: no cover - other drive on Windows
        return str(path)
