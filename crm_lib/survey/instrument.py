"""Questionnaire definitions: scales, items, constructs, batteries and free-text fields.

An instrument is a YAML file (schema documented at the top of
``crm_lib/instruments/simulated_world.yml``); :func:`load_instrument` reads and checks it,
:func:`simulated_world_instrument` returns the questionnaire of the simulated world.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

SCHEMA_VERSION = 1

_DEFAULT_METADATA = {
    "response_col": "response_id",
    "customer_col": "customer_id",
    "wave_col": "wave",
    "started_col": "started_at",
    "submitted_col": "submitted_at",
    "status_col": "status",
    "complete_value": "complete",
}


class InstrumentError(ValueError):
    """An instrument file breaks the instrument schema; the message says what to fix."""


@dataclass(frozen=True)
class Scale:
    """An integer answer scale ``min..max``."""

    name: str
    min: int
    max: int
    labels: dict[int, str] = field(default_factory=dict)

    def reverse(self, values):
        """Reverse-code values: ``min + max - x``."""
        return self.min + self.max - values


@dataclass(frozen=True)
class Item:
    """A closed question; ``id`` is its column in the responses table."""

    id: str
    scale: Scale
    text: dict[str, str] = field(default_factory=dict)
    construct: str | None = None
    reverse: bool = False


@dataclass(frozen=True)
class FreeText:
    """An open question; ``pii`` marks answers that may hold personal data."""

    id: str
    language_col: str | None = None
    pii: bool = True
    text: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Instrument:
    """A questionnaire: see :func:`load_instrument`.

    Attributes
    ----------
    id : str
    scales : dict[str, Scale]
    items : dict[str, Item]
        Closed questions by column name, in questionnaire order.
    constructs : dict[str, list[str]]
        Items of each construct, in questionnaire order.
    construct_labels : dict[str, dict[str, str]]
        Label of each construct by language.
    batteries : dict[str, list[str]]
        Items shown together in one grid.
    free_text : dict[str, FreeText]
    metadata : dict[str, str]
        Column names of the response metadata (``response_col``, ``customer_col``,
        ``wave_col``, ``started_col``, ``submitted_col``, ``status_col``) and
        ``complete_value``.
    """

    id: str
    scales: dict[str, Scale]
    items: dict[str, Item]
    constructs: dict[str, list[str]]
    construct_labels: dict[str, dict[str, str]]
    batteries: dict[str, list[str]]
    free_text: dict[str, FreeText]
    metadata: dict[str, str]
    title: dict[str, str] = field(default_factory=dict)

    @property
    def reverse_items(self) -> list[str]:
        """Items where a high answer means a bad experience."""
        return [i.id for i in self.items.values() if i.reverse]

    @property
    def construct_items(self) -> list[str]:
        """Every item that belongs to a construct."""
        return [item for items in self.constructs.values() for item in items]

    def items_table(self, language: str = "en") -> pd.DataFrame:
        """One row per closed item: ``item, construct, scale, min, max, reverse, text``."""
        return pd.DataFrame(
            [
                {
                    "item": i.id,
                    "construct": i.construct,
                    "scale": i.scale.name,
                    "min": i.scale.min,
                    "max": i.scale.max,
                    "reverse": i.reverse,
                    "text": i.text.get(language, next(iter(i.text.values()), "")),
                }
                for i in self.items.values()
            ]
        )

    def reverse_code(self, data: pd.DataFrame, items: list[str] | None = None) -> pd.DataFrame:
        """A copy of ``data`` with the reverse-coded items recoded (``min + max - x``).

        Only the items in ``items`` (default: all) that are present in ``data`` are
        recoded; column names are kept. Call it once: recoding twice undoes it.
        """
        out = data.copy()
        for item_id in self.reverse_items:
            if item_id in out.columns and (items is None or item_id in items):
                out[item_id] = self.items[item_id].scale.reverse(out[item_id])
        return out

    def construct_scores(self, data: pd.DataFrame, *, min_items: int = 1) -> pd.DataFrame:
        """Mean of each construct's items after reverse coding, one column per construct.

        A respondent with fewer than ``min_items`` answered items of a construct gets a
        missing score for it.
        """
        recoded = self.reverse_code(data)
        scores = {}
        for name, items in self.constructs.items():
            _require(data, items, "data")
            block = recoded[items].astype("float64")
            score = block.mean(axis=1, skipna=True)
            scores[name] = score.where(block.notna().sum(axis=1) >= min_items)
        return pd.DataFrame(scores, index=data.index)


def _require(data: pd.DataFrame, cols, what: str) -> None:
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise KeyError(
            f"column(s) {missing} not in {what}; available columns: {list(data.columns)}. "
            "Check the instrument matches the responses table."
        )


def _text(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        return {"en": value}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    raise InstrumentError(f"{where}: text must be a string or a mapping language -> string")


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InstrumentError(f"{where} must be an integer, got {value!r}")
    return int(value)


def parse_instrument(spec: dict, source: str = "instrument") -> Instrument:
    """Build an :class:`Instrument` from a parsed YAML mapping (see :func:`load_instrument`)."""
    if not isinstance(spec, dict):
        raise InstrumentError(f"{source}: the file must hold a mapping (keys scales, items, ...)")
    version = spec.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise InstrumentError(
            f"{source}: schema_version {version!r} is not supported (use {SCHEMA_VERSION})"
        )
    for key in ("scales", "items"):
        if key not in spec:
            raise InstrumentError(f"{source}: missing required key '{key}'")

    scales: dict[str, Scale] = {}
    for name, s in spec["scales"].items():
        where = f"{source}: scale '{name}'"
        if not isinstance(s, dict) or "min" not in s or "max" not in s:
            raise InstrumentError(f"{where} needs 'min' and 'max' (e.g. {{min: 1, max: 7}})")
        lo, hi = _int(s["min"], f"{where} min"), _int(s["max"], f"{where} max")
        if lo >= hi:
            raise InstrumentError(f"{where}: min ({lo}) must be below max ({hi})")
        labels = {int(k): str(v) for k, v in (s.get("labels") or {}).items()}
        scales[str(name)] = Scale(str(name), lo, hi, labels)

    items: dict[str, Item] = {}
    for k, it in enumerate(spec["items"]):
        if not isinstance(it, dict) or "id" not in it:
            raise InstrumentError(f"{source}: item #{k + 1} needs an 'id' (its column name)")
        item_id = str(it["id"])
        where = f"{source}: item '{item_id}'"
        if item_id in items:
            raise InstrumentError(f"{where} is defined twice; item ids must be unique")
        scale = it.get("scale")
        if scale not in scales:
            raise InstrumentError(
                f"{where} uses unknown scale {scale!r}; define it under 'scales' "
                f"(known: {', '.join(scales)})"
            )
        reverse = it.get("reverse", False)
        if not isinstance(reverse, bool):
            raise InstrumentError(f"{where}: 'reverse' must be true or false, got {reverse!r}")
        construct = it.get("construct")
        items[item_id] = Item(
            item_id,
            scales[scale],
            _text(it.get("text"), where),
            None if construct is None else str(construct),
            reverse,
        )

    declared = spec.get("constructs") or {}
    used = [i.construct for i in items.values() if i.construct is not None]
    unknown = sorted(set(used) - set(declared)) if declared else []
    if unknown:
        raise InstrumentError(
            f"{source}: item(s) name undeclared construct(s) {unknown}; add them under 'constructs'"
        )
    names = list(declared) or list(dict.fromkeys(used))
    constructs = {c: [i.id for i in items.values() if i.construct == c] for c in names}
    empty = [c for c, its in constructs.items() if not its]
    if empty:
        raise InstrumentError(f"{source}: construct(s) {empty} have no items")
    labels = {
        c: _text((declared.get(c) or {}).get("label", c), f"{source}: construct '{c}'")
        for c in names
    }

    batteries = {str(b): [str(i) for i in its] for b, its in (spec.get("batteries") or {}).items()}
    for b, its in batteries.items():
        bad = [i for i in its if i not in items]
        if bad:
            raise InstrumentError(f"{source}: battery '{b}' lists unknown item(s) {bad}")

    free_text: dict[str, FreeText] = {}
    for k, ft in enumerate(spec.get("free_text") or []):
        if not isinstance(ft, dict) or "id" not in ft:
            raise InstrumentError(f"{source}: free_text #{k + 1} needs an 'id'")
        free_text[str(ft["id"])] = FreeText(
            str(ft["id"]),
            ft.get("language_col"),
            bool(ft.get("pii", True)),
            _text(ft.get("text"), f"{source}: free_text '{ft['id']}'"),
        )

    metadata = {**_DEFAULT_METADATA, **(spec.get("metadata") or {})}
    unknown_meta = sorted(set(metadata) - set(_DEFAULT_METADATA))
    if unknown_meta:
        raise InstrumentError(
            f"{source}: unknown metadata key(s) {unknown_meta}; known: {list(_DEFAULT_METADATA)}"
        )
    return Instrument(
        id=str(spec.get("id", Path(source).stem)),
        scales=scales,
        items=items,
        constructs=constructs,
        construct_labels=labels,
        batteries=batteries,
        free_text=free_text,
        metadata=metadata,
        title=_text(spec.get("title"), source),
    )


def load_instrument(path: str | Path) -> Instrument:
    """Read a questionnaire definition from a YAML file.

    Parameters
    ----------
    path : str or pathlib.Path
        The YAML file. Its schema is documented at the top of the shipped example
        ``crm_lib/instruments/simulated_world.yml``: ``scales`` (``min``, ``max``,
        ``labels``), ``items`` (``id``, ``scale``, ``text``, ``construct``,
        ``reverse``), ``constructs``, ``batteries``, ``free_text`` and ``metadata``.

    Returns
    -------
    Instrument

    Raises
    ------
    InstrumentError
        When the file breaks the schema (unknown scale, duplicate item, ...).

    Examples
    --------
    >>> from crm_lib.survey import simulated_world_instrument
    >>> inst = simulated_world_instrument()
    >>> inst.constructs["price"]
    ['q_price_1', 'q_price_2', 'q_price_3_r']
    >>> inst.reverse_items
    ['q_price_3_r', 'q_delivery_3_r']
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"instrument file {path} not found; pass the path of a .yml file")
    with path.open(encoding="utf-8") as fh:
        try:
            spec = yaml.safe_load(fh)
        except yaml.YAMLError as err:
            raise InstrumentError(f"{path.name}: not valid YAML ({err})") from err
    return parse_instrument(spec, source=path.name)


def simulated_world_instrument() -> Instrument:
    """The questionnaire of :func:`crm_lib.datasets.simulate` (shipped as package data)."""
    return shipped_instrument("simulated_world")


#: Instruments shipped with crm_lib (``crm_lib/survey/instruments/<name>.yml``).
SHIPPED_INSTRUMENTS = ("simulated_world", "bfi")


def shipped_instrument(name: str) -> Instrument:
    """An instrument shipped with crm_lib: ``"simulated_world"`` or ``"bfi"``.

    ``"bfi"`` is the 25-item personality questionnaire of the public bfi data
    (:func:`crm_lib.datasets.load_bfi`), five constructs with reverse-keyed items.
    """
    if name not in SHIPPED_INSTRUMENTS:
        raise ValueError(
            f"no shipped instrument {name!r}; shipped: {', '.join(SHIPPED_INSTRUMENTS)} (or "
            "load your own YAML with load_instrument(path))"
        )
    ref = resources.files("crm_lib.survey").joinpath("instruments", f"{name}.yml")
    spec = yaml.safe_load(ref.read_text(encoding="utf-8"))
    return parse_instrument(spec, source=f"{name}.yml")


def instrument_for(dataset: Any = None, name: str | Path = "") -> Instrument:
    """The questionnaire a study of ``dataset`` uses.

    In this order: ``name`` (a shipped instrument, :data:`SHIPPED_INSTRUMENTS`, or a YAML
    file); the instrument the dataset names in its ``dataset.yml`` (relative to its folder);
    the simulated world's.
    """
    if name and str(name) in SHIPPED_INSTRUMENTS:
        return shipped_instrument(str(name))
    if name:
        return load_instrument(name)
    config = getattr(dataset, "config", None)
    folder = (getattr(dataset, "meta", None) or {}).get("folder")
    if config is not None and getattr(config, "instrument", None) and folder:
        return load_instrument(Path(folder) / config.instrument)
    return simulated_world_instrument()
