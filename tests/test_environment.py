"""environment.yml and pyproject.toml list the same dependencies with the same ranges;
constraints.txt pins every one of them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from the PyPI names
CONDA_TO_PYPI = {"python-duckdb": "duckdb"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = list(data["project"]["dependencies"])
    for extra in data["project"]["optional-dependencies"].values():
        reqs += extra
    return {_norm(Requirement(r).name): str(Requirement(r).specifier) for r in reqs}


def _environment() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for item in items:
            if item.startswith("-e") or item in {"pip"} or item.startswith("python>"):
                continue
            req = Requirement(item.split("#")[0].strip())
            out[_norm(CONDA_TO_PYPI.get(req.name, req.name))] = str(req.specifier)
    return out


def test_environment_yml_matches_pyproject():
    assert _environment() == _pyproject()


def test_constraints_pin_every_dependency():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[_norm(name)] = version
    for name, spec in _pyproject().items():
        assert name in pins, f"{name} is not pinned in constraints.txt (run 'make lock')"
        assert Requirement(f"{name}{spec}").specifier.contains(pins[name]), (
            f"constraints.txt pins {name}=={pins[name]}, outside pyproject's {spec}"
        )
