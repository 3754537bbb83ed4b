"""Write a simulated world to a folder and read it back.

Layout of a world folder (``crm data build`` writes it under ``data/raw/``)::

    manifest.json            size, seed, versions, row counts, sha256 of every file
    tables/<table>.parquet   the contract tables
    truth/truth.json         generating parameters and true effects
    truth/<name>.parquet     per-customer truth, experiment truth, planted dirt
    exports/*.csv            raw exports with planted dirt (GBK and UTF-8-BOM)

The folder is written next to its final place and renamed into it, so a reader never
sees half a world.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from crm_lib.contract import schemas
from crm_lib.contract.dataset import DATASET_FILE, read_config, read_item_ranges, write_config
from crm_lib.datasets.container import CORE_TABLES
from crm_lib.datasets.world import SIMULATED_CONFIG, GroundTruth, World, simulate

_TRUTH_FRAMES = ["customers", "experiment_customers", "dirty_records", "survey_quality"]
_TRUTH_DICTS = ["params", "funnel", "experiment", "survey"]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_world(world: World, folder: str | Path) -> Path:
    """Write ``world`` to ``folder`` (replaced if it exists); return the folder."""
    from crm_lib import __version__
    from crm_lib.datasets.dirt import write_raw_exports

    folder = Path(folder)
    tmp = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "tables").mkdir(parents=True)
    (tmp / "truth").mkdir()
    for name, df in world.tables.items():
        df.to_parquet(tmp / "tables" / f"{name}.parquet", index=False)
    for name in _TRUTH_FRAMES:
        getattr(world.truth, name).to_parquet(tmp / "truth" / f"{name}.parquet", index=False)
    for name, df in world.truth.frames.items():
        if name in _TRUTH_FRAMES:
            raise ValueError(f"truth frame {name!r} would overwrite a core truth table")
        df.to_parquet(tmp / "truth" / f"{name}.parquet", index=False)
    truth = {name: getattr(world.truth, name) for name in _TRUTH_DICTS}
    if world.truth.studies:
        truth["studies"] = world.truth.studies
    (tmp / "truth" / "truth.json").write_text(
        json.dumps(truth, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
    )
    if world.raw:
        write_raw_exports(world.raw, tmp / "exports")
    write_config(world.config or SIMULATED_CONFIG, tmp)
    files = sorted(p for p in tmp.rglob("*") if p.is_file())
    manifest = {
        "kind": "crm_lib simulated world",
        "meta": world.meta,
        "crm_lib_version": __version__,
        "contract_version": schemas.CONTRACT_VERSION,
        "rows": {name: len(df) for name, df in world.tables.items()},
        "files": {p.relative_to(tmp).as_posix(): _sha256(p) for p in files},
    }
    (tmp / "manifest.json").write_text(
        json.dumps(manifest, indent=2, default=str), encoding="utf-8"
    )
    old = folder.with_name(f".{folder.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder


class _LazyExports(Mapping):
    """The raw exports of a world folder, each read on first access.

    Only the collection and cleaning studies look at the raw exports; reading them (about
    2 s for the default world) is skipped by every other notebook.
    """

    def __init__(self, paths: dict[str, Path]):
        self._paths = paths
        self._frames: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            from crm_lib.datasets.dirt import EXPORT_ENCODINGS

            path = self._paths[name]
            enc = EXPORT_ENCODINGS.get(name, "utf-8")
            self._frames[name] = pd.read_csv(path, encoding=enc, dtype=str, keep_default_na=False)
        return self._frames[name]

    def __iter__(self):
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __repr__(self) -> str:
        return f"<raw exports {sorted(self._paths)}, read on first access>"


def load_world(folder: str | Path, *, validate: bool = True) -> World:
    """Read a world folder written by :func:`save_world`.

    Raises
    ------
    FileNotFoundError
        When ``folder`` is not a world folder (no ``manifest.json``); the message says
        how to build one.
    schemas.ContractError
        When a table breaks the contract (with ``validate=True``); the message names the
        file.
    """
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(
            f"{folder} is not a simulated world folder (no manifest.json): build one with "
            f"'crm data build --size small --seed 1 --out {folder}'"
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    tables = {}
    for name in schemas.SCHEMAS:
        path = folder / "tables" / f"{name}.parquet"
        if name not in CORE_TABLES and not path.is_file():
            continue  # a table added to the simulated world after this folder was built
        df = pd.read_parquet(path)
        if validate:
            schemas.validate(df, name, source=str(path))
        tables[name] = df
    truth_json = json.loads((folder / "truth" / "truth.json").read_text(encoding="utf-8"))
    frames = {n: pd.read_parquet(folder / "truth" / f"{n}.parquet") for n in _TRUTH_FRAMES}
    more_frames = {
        p.stem: pd.read_parquet(p)
        for p in sorted((folder / "truth").glob("*.parquet"))
        if p.stem not in _TRUTH_FRAMES
    }
    exports = folder / "exports"
    paths = sorted(exports.glob("*.csv")) if exports.is_dir() else []
    raw = _LazyExports({p.stem: p for p in paths})
    return World.from_tables(
        tables,
        truth=GroundTruth(
            **{k: truth_json[k] for k in _TRUTH_DICTS},
            **frames,
            studies=truth_json.get("studies", {}),
            frames=more_frames,
        ),
        raw=raw,
        meta={**manifest["meta"], "folder": str(folder), "files": manifest["files"]},
        config=read_config(folder) if (folder / DATASET_FILE).is_file() else SIMULATED_CONFIG,
    )


def load_dataset(folder: str | Path, *, validate: bool = True) -> World:
    """Read a dataset folder: a simulated world, or a user's tables and ``dataset.yml``.

    Layout of a dataset folder (``crm data import`` writes it)::

        dataset.yml              name, time zone, currency, vocabularies (optional file)
        tables/<table>.parquet   the contract tables it has, any subset (or at the top)

    A folder written by ``crm data build`` (with ``manifest.json``) is read as a simulated
    world, with its ground truth. Any other folder has ``truth=None``, and the tables it
    lacks are ``None``; a study asks for what it needs with :meth:`World.require`.

    Raises
    ------
    FileNotFoundError
        When the folder does not exist or holds no contract table (the message lists the
        file names looked for).
    schemas.ContractError
        When a table breaks the contract or the dataset's vocabularies; the message
        names the file.
    """
    folder = Path(folder)
    if (folder / "manifest.json").is_file():
        return load_world(folder, validate=validate)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{folder} does not exist: pass a dataset folder (crm data import ... --out "
            f"{folder}) or a simulated world (crm data build --out {folder})"
        )
    config = read_config(folder)
    # the dataset's own questionnaire, if it names one: its items replace the simulated ones
    items = read_item_ranges(folder / config.instrument) if config.instrument else None
    tables: dict[str, pd.DataFrame | None] = {}
    files: dict[str, str] = {}
    for name in schemas.SCHEMAS:
        candidates = (folder / "tables" / f"{name}.parquet", folder / f"{name}.parquet")
        path = next((p for p in candidates if p.is_file()), None)
        tables[name] = None
        if path is None:
            continue
        df = pd.read_parquet(path)
        if validate:
            schemas.validate(
                df,
                name,
                source=str(path),
                vocabulary=config.vocabulary(name),
                items=items if name == "survey_responses" else None,
            )
        tables[name] = df
        files[path.relative_to(folder).as_posix()] = _sha256(path)
    if not files:
        raise FileNotFoundError(
            f"{folder} holds no contract table: expected tables/<table>.parquet (or "
            f"<table>.parquet) for at least one of {', '.join(schemas.SCHEMAS)}; import "
            "your export with `crm data import FILE --mapping MAPPING --out "
            f"{folder}`"
        )
    if (folder / DATASET_FILE).is_file():
        files[DATASET_FILE] = _sha256(folder / DATASET_FILE)
    return World.from_tables(
        tables,
        truth=None,
        meta={"folder": str(folder), "files": files, "name": config.name},
        config=config,
    )


def get_world(data_dir: str | Path = "", size: str | int = "small", seed: int = 1) -> World:
    """The dataset a notebook works on: read from ``data_dir``, or simulated in memory.

    Parameters
    ----------
    data_dir : str or Path
        A dataset folder (:func:`load_dataset`: a user's tables with ``dataset.yml``, or a
        folder written by ``crm data build``); ``""`` simulates ``size``/``seed``.
    """
    if data_dir:
        return load_dataset(data_dir)
    return simulate(size, seed=seed)


def world_fingerprint(world: World) -> str:
    """A short sha256 that identifies the data a report was computed from."""
    h = hashlib.sha256()
    if "files" in world.meta:
        for name, digest in sorted(world.meta["files"].items()):
            h.update(f"{name}={digest}\n".encode())
    else:
        for name, df in world.tables.items():
            h.update(name.encode())
            h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


def describe_folder(folder: str | Path) -> pd.DataFrame:
    """What a data folder holds: one row per contract table, found or missing.

    Reads only file metadata (Parquet footers), never the rows, so it is instant on large
    folders. Tables are looked for in ``tables/`` and at the top of the folder.

    Parameters
    ----------
    folder : path
        A world folder written by ``crm data build``, or any folder of contract tables.

    Returns
    -------
    pandas.DataFrame
        ``table, file, rows, columns`` (``file`` empty and counts missing for a table the
        folder lacks), with ``attrs`` ``kind`` (from ``manifest.json``, else ``"folder"``)
        and ``truth`` (whether a ``truth/`` folder exists, i.e. simulated data).

    Raises
    ------
    FileNotFoundError
        When ``folder`` does not exist or is not a folder.
    """
    import pyarrow.parquet as pq

    folder = Path(folder)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise FileNotFoundError(f"{folder} {what}")
    rows = []
    for name in schemas.SCHEMAS:
        candidates = (folder / "tables" / f"{name}.parquet", folder / f"{name}.parquet")
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            rows.append({"table": name, "file": "", "rows": pd.NA, "columns": pd.NA})
            continue
        meta = pq.ParquetFile(path).metadata
        rows.append(
            {
                "table": name,
                "file": path.relative_to(folder).as_posix(),
                "rows": meta.num_rows,
                "columns": meta.num_columns,
            }
        )
    out = pd.DataFrame(rows).astype({"rows": "Int64", "columns": "Int64"})
    manifest = folder / "manifest.json"
    kind = "folder of tables (no dataset.yml)"
    if manifest.is_file():
        kind = json.loads(manifest.read_text(encoding="utf-8")).get("kind", kind)
    elif (folder / DATASET_FILE).is_file():
        kind = f"dataset {read_config(folder).name!r}"
    out.attrs.update(kind=kind, truth=(folder / "truth").is_dir())
    return out


def simulated_exports(
    data_dir: str | Path = "", *, size: str | int = "small", seed: int = 1
) -> tuple[World, Any]:
    """The simulated world and its raw exports, as the collection and cleaning studies read them.

    With ``data_dir`` (a folder written by ``crm data build``) the export files of its
    ``exports/`` folder; without, the world is simulated and its exports are written to a
    temporary folder, so the same ingest path runs.

    Returns
    -------
    world : World
    sources : crm_lib.intake.pipeline.ExportSources
        ``customers`` and ``transactions`` files, the world's fingerprint and description,
        ``own=False``.
    """
    import tempfile

    from crm_lib.datasets.dirt import write_raw_exports
    from crm_lib.intake.pipeline import ExportSources

    world = get_world(data_dir, size=size, seed=seed)
    if data_dir:
        exports = {p.stem: p for p in sorted((Path(data_dir) / "exports").glob("*.csv"))}
    else:
        exports = write_raw_exports(
            world.raw, Path(tempfile.mkdtemp(prefix="crm_exports_")) / "exports"
        )
    files = {"customers": exports["customers_export"], "transactions": exports["orders_export"]}
    return world, ExportSources(files, world_fingerprint(world), repr(world), own=False)
