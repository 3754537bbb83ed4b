"""A dataset's own description, ``dataset.yml``: name, time zone, currency, vocabularies.

A dataset is a folder of contract tables (any subset of them) and this small file. The
simulated world is one dataset among others: its ``dataset.yml`` carries the retailer's
vocabularies (six categories, five regions ...); a user's export carries its own, e.g. a
CD shop's ``category: [music]``. Nothing in a study should assume the simulator's lists.

A minimal ``dataset.yml``::

    name: CDNOW purchases 1997-98
    timezone: America/New_York       # IANA zone of the business; timestamps stay in UTC
    currency: USD                    # ISO 4217, the currency of every amount
    vocabularies:                    # allowed values of categorical columns, per table;
      transactions:                  # a column not listed accepts any value
        category: [music]

Every key is optional; a folder without the file gets the defaults below, with the
folder's name as ``name``.

>>> cfg = DatasetConfig.from_dict({"name": "shop", "vocabularies": {"customers": {"region": ["NSW", "VIC"]}}})
>>> cfg.vocabulary("customers")
{'region': ('NSW', 'VIC')}
>>> cfg.vocabulary("transactions")
{}
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CONFIGURABLE_COLUMNS",
    "DATASET_FILE",
    "DatasetConfig",
    "DatasetConfigError",
    "read_config",
    "read_item_ranges",
    "write_config",
]

DATASET_FILE = "dataset.yml"

#: Categorical columns whose allowed values a dataset declares (table -> columns). Other
#: categorical columns (``survey_responses.status``) carry meaning the code relies on and
#: keep the contract's fixed values. ``events.event_type`` lists the funnel stages in
#: order (notebook 07 follows that order: :func:`crm_lib.funnel.stages_for`).
CONFIGURABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("region", "acquisition_channel", "gender"),
    "transactions": ("category", "channel"),
    "events": ("channel", "event_type"),
    "subscriptions": ("plan",),
}

_KEYS = ("name", "description", "timezone", "currency", "vocabularies", "instrument", "simulated")


class DatasetConfigError(ValueError):
    """``dataset.yml`` is malformed; the message names the file, the key and what to write."""


@dataclass(frozen=True)
class DatasetConfig:
    """What ``dataset.yml`` says of a dataset (see the module docstring).

    Attributes
    ----------
    name : str
        Shown in reports.
    description : str
    timezone : str
        IANA time zone of the business (days, weeks and months are local to it).
    currency : str or None
        ISO 4217 code of the amounts; None when not declared.
    vocabularies : dict
        ``{table: {column: (allowed, values)}}`` for the columns of
        :data:`CONFIGURABLE_COLUMNS`.
    instrument : str or None
        Survey instrument (YAML), relative to the dataset folder.
    simulated : bool
        True for a world written by ``crm data build`` (it has a ground truth).
    """

    name: str
    description: str = ""
    timezone: str = "UTC"
    currency: str | None = None
    vocabularies: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    instrument: str | None = None
    simulated: bool = False

    def vocabulary(self, table: str) -> dict[str, tuple[str, ...]]:
        """Allowed values per column of ``table`` (empty: every value is accepted)."""
        return dict(self.vocabularies.get(table, {}))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, source: str = DATASET_FILE) -> DatasetConfig:
        """Check and read the content of a ``dataset.yml``.

        Raises
        ------
        DatasetConfigError
            Naming ``source``, the key and the problem.
        """
        if not isinstance(raw, Mapping):
            raise DatasetConfigError(f"{source}: expected a mapping of key: value at the top")
        unknown = [k for k in raw if k not in _KEYS]
        if unknown:
            raise DatasetConfigError(
                f"{source}: unknown key(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(_KEYS)}"
            )
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise DatasetConfigError(f"{source}: `name` must be a non-empty text")
        timezone = raw.get("timezone", "UTC")
        try:
            zoneinfo.ZoneInfo(str(timezone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise DatasetConfigError(
                f"{source}: timezone {timezone!r} is not an IANA time zone (e.g. 'Asia/Shanghai', "
                "'America/New_York', 'UTC')"
            ) from exc
        currency = raw.get("currency")
        if currency is not None and not (
            isinstance(currency, str) and len(currency) == 3 and currency.isalpha()
            and currency.isupper()
        ):  # fmt: skip
            raise DatasetConfigError(
                f"{source}: currency {currency!r} is not an ISO 4217 code (three capitals, e.g. USD)"
            )
        instrument = raw.get("instrument")
        if instrument is not None and not isinstance(instrument, str):
            raise DatasetConfigError(f"{source}: `instrument` must be a file name")
        return cls(
            name=name.strip(),
            description=str(raw.get("description") or ""),
            timezone=str(timezone),
            currency=currency,
            vocabularies=_vocabularies(raw.get("vocabularies") or {}, source),
            instrument=instrument,
            simulated=bool(raw.get("simulated", False)),
        )

    def to_dict(self) -> dict[str, Any]:
        """The content of ``dataset.yml`` (defaults left out)."""
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        out["timezone"] = self.timezone
        if self.currency:
            out["currency"] = self.currency
        if self.vocabularies:
            out["vocabularies"] = {
                t: {c: list(v) for c, v in cols.items()} for t, cols in self.vocabularies.items()
            }
        if self.instrument:
            out["instrument"] = self.instrument
        if self.simulated:
            out["simulated"] = True
        return out


def _vocabularies(raw: Any, source: str) -> dict[str, dict[str, tuple[str, ...]]]:
    if not isinstance(raw, Mapping):
        raise DatasetConfigError(f"{source}: `vocabularies` must map table -> column -> values")
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for table, columns in raw.items():
        if table not in CONFIGURABLE_COLUMNS:
            raise DatasetConfigError(
                f"{source}: vocabularies.{table}: no configurable column in this table; tables "
                f"with configurable columns: {', '.join(CONFIGURABLE_COLUMNS)}"
            )
        if not isinstance(columns, Mapping):
            raise DatasetConfigError(f"{source}: vocabularies.{table} must map column -> values")
        out[table] = {}
        for column, values in columns.items():
            where = f"{source}: vocabularies.{table}.{column}"
            if column not in CONFIGURABLE_COLUMNS[table]:
                raise DatasetConfigError(
                    f"{where}: not a configurable column of {table}; configurable: "
                    f"{', '.join(CONFIGURABLE_COLUMNS[table])}"
                )
            if (
                isinstance(values, str)
                or not isinstance(values, Sequence)
                or not values
                or not all(isinstance(v, str) and v for v in values)
            ):
                raise DatasetConfigError(f"{where}: expected a non-empty list of texts")
            if len(set(values)) != len(values):
                raise DatasetConfigError(f"{where}: a value is listed twice")
            out[table][column] = tuple(values)
    return out


def read_config(folder: str | Path) -> DatasetConfig:
    """The ``dataset.yml`` of ``folder``, or the defaults when the folder has none."""
    import yaml

    folder = Path(folder)
    path = folder / DATASET_FILE
    if not path.is_file():
        return DatasetConfig(name=folder.resolve().name)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DatasetConfigError(f"{path}: not valid YAML ({exc})") from exc
    return DatasetConfig.from_dict(raw or {}, source=str(path))


def write_config(config: DatasetConfig, folder: str | Path) -> Path:
    """Write ``config`` to ``folder/dataset.yml``; return its path."""
    import yaml

    path = Path(folder) / DATASET_FILE
    text = yaml.safe_dump(config.to_dict(), allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def read_item_ranges(path: str | Path) -> dict[str, tuple[int, int]]:
    """The items of a questionnaire (instrument YAML) with their scale ranges.

    Only what the data contract checks is read: each item's ``id`` and the ``min`` and
    ``max`` of its ``scale``; :func:`crm_lib.survey.load_instrument` reads and checks the
    whole instrument (constructs, reverse keys, texts).

    Raises
    ------
    DatasetConfigError
        When the file is missing or an item names no known scale.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise DatasetConfigError(
            f"{path}: the questionnaire named in {DATASET_FILE} does not exist; write the "
            "instrument YAML there (see crm_lib/survey/instruments/ for examples)"
        )
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    scales = spec.get("scales") or {}
    out: dict[str, tuple[int, int]] = {}
    for i, item in enumerate(spec.get("items") or []):
        scale = scales.get(item.get("scale")) if isinstance(item, dict) else None
        if not scale or "min" not in scale or "max" not in scale:
            raise DatasetConfigError(
                f"{path}: item {i + 1} ({item.get('id') if isinstance(item, dict) else item!r})"
                " names no scale with min and max under `scales`"
            )
        out[str(item["id"])] = (int(scale["min"]), int(scale["max"]))
    return out
