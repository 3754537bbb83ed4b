"""Privacy: pseudonymisation, consent, erasure and a PII scanner for reports.

- :func:`pseudonymize` replaces personal identifiers by a **keyed hash** (HMAC-SHA256,
  truncated). The same value and key always give the same pseudonym, so joins and
  de-duplication still work; without the key nobody can recompute a pseudonym from a
  guessed e-mail address or phone number (a plain SHA-256 of a phone number is reversed
  by hashing all 10^10 numbers). Values are normalised first (e-mail trimmed and
  lower-cased, phone to E.164), so one person written two ways gets one pseudonym.
- The key comes from the environment variable ``CRM_PSEUDONYM_KEY``, else from the
  git-ignored file ``<data dir>/.crm_pseudonym_key`` (created with a random key on first
  use, with a :class:`PseudonymKeyWarning` that says where).
- :func:`consent_flags` says per customer whether marketing may contact them.
- :func:`configured_key` gives the key a pipeline must use (argument, environment, key
  file; for a simulated world its deterministic :func:`simulated_world_key`) and refuses to
  make one up; :meth:`PseudonymKey.record` notes in the warehouse which key was used.
- :func:`erase_customer` removes a customer from every warehouse table in one publish, and
  from the Parquet copies and quarantine files beside the warehouse.
- :func:`scan_for_pii` finds e-mail addresses and phone numbers in text, files and
  executed notebooks (use it on reports before sharing them); :func:`count_pii` counts the
  distinct ones and :func:`redact_pii` replaces them in a text (error messages, logs).

Key rotation
------------
A new key gives every value a new pseudonym: pseudonymised tables written with the old
key no longer join with tables written with the new one. Rotate by (1) writing a new
random key (``python -c "import secrets; print(secrets.token_hex(32))"``) to the key file
or ``CRM_PSEUDONYM_KEY``, (2) re-running the cleaning step from the raw data so every
pseudonymised table is rebuilt with the new key, (3) destroying the old key. Never keep
old and new pseudonyms side by side.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import hmac
import io as _stdio
import json
import os
import re
import secrets
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from crm_lib.intake import cleaning

__all__ = [
    "BESIDE_WAREHOUSE",
    "EMAIL_RE",
    "KEY_ENV",
    "KEY_FILE",
    "KEY_TABLE",
    "PHONE_RE",
    "PseudonymKey",
    "PseudonymKeyError",
    "PseudonymKeyWarning",
    "REDACTED",
    "SCANNED_SUFFIXES",
    "SIMULATED_WORLD",
    "configured_key",
    "consent_flags",
    "count_pii",
    "erase_customer",
    "load_key",
    "pseudonymize",
    "redact_pii",
    "scan_for_pii",
    "simulated_world_key",
]

KEY_ENV = "CRM_PSEUDONYM_KEY"
"""Environment variable holding the pseudonymisation key (wins over the key file)."""

KEY_FILE = ".crm_pseudonym_key"
"""Name of the local key file in the data folder (git-ignored)."""

_MIN_KEY_BYTES = 16

EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
# Chinese mobiles (1[3-9]x xxxx xxxx, with optional +86/0086 and spaces or dashes) and
# international numbers written in E.164 (+ and 8-15 digits). Digits right after "0." or
# "2." are the decimals of a number (a probability printed in full), not a phone.
PHONE_RE = re.compile(
    r"(?<![\w+])(?<!\d\.)(?:(?:\+|00)?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\w|\.\d)"
    r"|(?<![\w+])\+[1-9]\d{7,14}(?![\w.])"
)


class PseudonymKeyWarning(UserWarning):
    """A new pseudonymisation key file was created (keep it secret, back it up)."""


# ------------------------------------------------------------------------- key


def _key_file(key_file: str | Path | None) -> Path:
    if key_file is not None:
        return Path(key_file).expanduser()
    from crm_lib.contract import config

    return config.data_dir() / KEY_FILE


def load_key(key: str | bytes | None = None, *, key_file: str | Path | None = None) -> bytes:
    """The pseudonymisation key as bytes.

    Parameters
    ----------
    key : str or bytes, optional
        An explicit key (tests, key rotation). Default: ``$CRM_PSEUDONYM_KEY``, else the
        key file.
    key_file : path, optional
        Key file (default ``<data dir>/.crm_pseudonym_key``, data dir from
        ``$CRM_DATA_DIR``). Created with a random 256-bit key when missing.

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        When the key is shorter than 16 bytes.

    Warns
    -----
    PseudonymKeyWarning
        When the key file was created.
    """
    source = "the key argument"
    if key is None and os.environ.get(KEY_ENV):
        key, source = os.environ[KEY_ENV], f"${KEY_ENV}"
    if key is None:
        path = _key_file(key_file)
        source = str(path)
        if path.is_file():
            key = path.read_text(encoding="utf-8").strip()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            key = secrets.token_hex(32)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(key + "\n")
            warnings.warn(
                f"created a new pseudonymisation key in {path} (git-ignored). Keep it secret "
                "and back it up: without it pseudonyms cannot be reproduced; set "
                f"${KEY_ENV} to use a key from a secret store instead",
                PseudonymKeyWarning,
                stacklevel=3,
            )
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(raw) < _MIN_KEY_BYTES:
        raise ValueError(
            f"the pseudonymisation key from {source} is {len(raw)} bytes; use at least "
            f"{_MIN_KEY_BYTES} (e.g. secrets.token_hex(32))"
        )
    return raw


KEY_TABLE = "pseudonym_key"
"""Warehouse table that records which key the pseudonymised tables were written with: its
source and a key check value, never the key (see :meth:`PseudonymKey.record`)."""

SIMULATED_WORLD = "simulated world"
"""Key source of :func:`simulated_world_key`."""

_KEY_CHECK_MESSAGE = b"crm_lib pseudonym key check"
_SIMULATED_KEY_LABEL = b"crm_lib simulated world pseudonym key"


class PseudonymKeyError(ValueError):
    """No pseudonymisation key is configured, or the key found is not the key the
    pseudonymised tables were written with."""


@dataclass(frozen=True)
class PseudonymKey:
    """A pseudonymisation key and where it came from.

    Attributes
    ----------
    secret : bytes
        The key (not shown by ``repr``).
    source : str
        ``"key argument"``, ``"$CRM_PSEUDONYM_KEY"``, ``"key file"`` or
        ``"simulated world"``.
    world : str or None
        For a simulated world's key: the world fingerprint it is derived from.
    """

    secret: bytes = field(repr=False)
    source: str
    world: str | None = None

    @property
    def check(self) -> str:
        """Key check value: ``HMAC-SHA256(key, "crm_lib pseudonym key check")[:16]``.

        It tells whether two keys are the same without revealing either.
        """
        return hmac.new(self.secret, _KEY_CHECK_MESSAGE, hashlib.sha256).hexdigest()[:16]

    def record(self) -> pd.DataFrame:
        """One row for the warehouse table :data:`KEY_TABLE`: ``source, world, check,
        recorded_at`` (write it with the pseudonymised tables, so :func:`erase_customer` can
        find and verify the key later)."""
        return pd.DataFrame(
            {
                "source": pd.Series([self.source], dtype="str"),
                "world": pd.Series([self.world], dtype="string"),
                "check": pd.Series([self.check], dtype="str"),
                "recorded_at": pd.Series([pd.Timestamp.now(tz="UTC")]).astype(
                    "datetime64[us, UTC]"
                ),
            }
        )


def simulated_world_key(fingerprint: str) -> PseudonymKey:
    """The deterministic key of a **simulated** world, derived from its fingerprint.

    ``key = hex(HMAC-SHA256("crm_lib simulated world pseudonym key", fingerprint))``: the
    same world always gets the same pseudonyms, in every run and on every machine, with
    nothing to configure. The key is **not secret** (the fingerprint is printed in every
    report), which is harmless for made-up people and no protection at all for real ones:
    never use it for real data (:func:`configured_key` only falls back to it when asked
    to, for a simulated world).
    """
    fingerprint = str(fingerprint).strip()
    if not fingerprint:
        raise ValueError("a simulated world's key needs its non-empty fingerprint")
    secret = hmac.new(_SIMULATED_KEY_LABEL, fingerprint.encode("utf-8"), hashlib.sha256)
    return PseudonymKey(secret.hexdigest().encode("ascii"), SIMULATED_WORLD, fingerprint)


def _found_key(key: str | bytes | None, key_file: str | Path | None) -> PseudonymKey | None:
    """The configured key (argument, environment, existing key file), never a new one."""
    if key is not None:
        return PseudonymKey(load_key(key), "key argument")
    if os.environ.get(KEY_ENV):
        return PseudonymKey(load_key(), f"${KEY_ENV}")
    path = _key_file(key_file)
    if path.is_file():
        return PseudonymKey(load_key(key_file=path), "key file")
    return None


def _no_key_help(key_file: str | Path | None) -> str:
    return (
        f"set ${KEY_ENV} (e.g. from a secret store) or write a key to "
        f'{_key_file(key_file)} (python -c "import secrets; print(secrets.token_hex(32))"), '
        "and keep it: the same key must be used for every run and for erasure requests"
    )


def configured_key(
    key: str | bytes | None = None,
    *,
    key_file: str | Path | None = None,
    simulated_world: str | None = None,
) -> PseudonymKey:
    """The pseudonymisation key a pipeline must use: configured, never made up on the spot.

    Parameters
    ----------
    key : str or bytes, optional
        An explicit key.
    key_file : path, optional
        Key file (default ``<data dir>/.crm_pseudonym_key``); read when it exists, never
        created here.
    simulated_world : str, optional
        Fingerprint of the **simulated** world being processed: when no key is
        configured, its deterministic, non-secret key (:func:`simulated_world_key`). Leave
        it out for real data.

    Returns
    -------
    PseudonymKey
        In this order: ``key``, ``$CRM_PSEUDONYM_KEY``, the key file, the simulated
        world's key.

    Raises
    ------
    PseudonymKeyError
        When no key is configured and no simulated world is given: a throwaway key would
        give new pseudonyms on every run and make later erasure requests miss the
        pseudonymised rows.
    """
    found = _found_key(key, key_file)
    if found is not None:
        return found
    if simulated_world:
        return simulated_world_key(simulated_world)
    raise PseudonymKeyError(
        "no pseudonymisation key is configured for this data: " + _no_key_help(key_file)
    )


# ------------------------------------------------------------------ pseudonyms


def _normalizer(column: str) -> Callable[[object], object]:
    low = column.lower()
    if "mail" in low:
        return cleaning.normalize_email
    if "phone" in low or "mobile" in low:
        return cleaning.normalize_phone
    return cleaning.normalize_text


def pseudonymize(
    df: pd.DataFrame,
    columns: str | Iterable[str],
    *,
    key: str | bytes | None = None,
    prefix: str = "p_",
    length: int = 16,
    normalize: bool | Mapping[str, Callable[[object], object]] = True,
    key_file: str | Path | None = None,
) -> pd.DataFrame:
    """Replace identifier columns by keyed pseudonyms (HMAC-SHA256, truncated).

    Parameters
    ----------
    df : pandas.DataFrame
        Any table; it is not modified.
    columns : str or list of str
        Columns to pseudonymise (e.g. ``customer_id``, ``name``, ``email``, ``phone``).
    key : str or bytes, optional
        Secret key; default from :func:`load_key`.
    prefix : str
        Prepended to each pseudonym (default ``"p_"``), so a pseudonym is never mistaken
        for an original identifier.
    length : int
        Hex characters of the digest kept (8-64; default 16 = 64 bits: collisions are
        negligible below a billion distinct values).
    normalize : bool or mapping
        True (default): normalise before hashing, chosen by column name: ``*mail*`` with
        :func:`crm_lib.intake.cleaning.normalize_email`, ``*phone*``/``*mobile*`` with
        :func:`~crm_lib.intake.cleaning.normalize_phone`, others with
        :func:`~crm_lib.intake.cleaning.normalize_text`. A mapping gives a function per column.
        False: hash the values as they are.
    key_file : path, optional
        Passed to :func:`load_key`.

    Returns
    -------
    pandas.DataFrame
        A copy with the columns replaced by ``str`` pseudonyms; missing (and empty)
        values stay missing.

    Notes
    -----
    ``pseudonym = prefix + hex(HMAC-SHA256(key, normalised value))[:length]``. The column
    name is not part of the message, so ``customer_id`` pseudonyms of two tables still join.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"email": ["Ann@Example.com ", "ann@example.com"]})
    >>> out = pseudonymize(df, "email", key="a key of sixteen+ bytes")
    >>> out["email"].nunique()
    1
    """
    cols = [columns] if isinstance(columns, str) else list(columns)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(
            f"cannot pseudonymise {missing}: not columns of the table (columns: {list(df.columns)})"
        )
    if not 8 <= length <= 64:
        raise ValueError(f"length must be between 8 and 64 hex characters, got {length}")
    secret = load_key(key, key_file=key_file)
    out = df.copy()
    for col in cols:
        if normalize is True:
            norm = _normalizer(col)
        elif isinstance(normalize, Mapping):
            norm = normalize.get(col, cleaning.normalize_text)
        else:
            norm = None
        cache: dict[str, str] = {}

        def _one(value: object, norm=norm, cache=cache) -> object:
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                return pd.NA
            text = str(norm(value) if norm is not None else value)
            if text == "" or text == "<NA>":
                return pd.NA
            if text not in cache:
                digest = hmac.new(secret, text.encode("utf-8"), hashlib.sha256).hexdigest()
                cache[text] = prefix + digest[:length]
            return cache[text]

        out[col] = pd.array([_one(v) for v in df[col].tolist()], dtype="string")
    return out


# --------------------------------------------------------------------- consent


def consent_flags(
    customers: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    consent_col: str = "marketing_consent",
) -> pd.DataFrame:
    """Whether each customer may receive marketing.

    Parameters
    ----------
    customers : pandas.DataFrame
        One row per customer with a consent column (bool; missing = not given).
    customer_col, consent_col : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id`` (as ``customer_col``), ``may_contact`` (bool) and
        ``reason`` (``consent_given``, ``consent_refused`` or ``consent_unknown``).
        Missing consent counts as refused: consent must be given, never assumed.
    """
    for c in (customer_col, consent_col):
        if c not in customers.columns:
            raise KeyError(f"column {c!r} not in the table; pass customer_col= / consent_col=")
    consent = customers[consent_col].astype("boolean")
    reason = pd.Series("consent_refused", index=customers.index, dtype="str")
    reason[consent.fillna(False).astype(bool)] = "consent_given"
    reason[consent.isna()] = "consent_unknown"
    return pd.DataFrame(
        {
            customer_col: customers[customer_col].to_numpy(),
            "may_contact": consent.fillna(False).astype(bool).to_numpy(),
            "reason": reason.to_numpy(),
        }
    )


# --------------------------------------------------------------------- erasure


def _raw_mentions(raw: object, ids: set[str]) -> bool:
    if not isinstance(raw, str) or not raw:
        return False
    try:
        values = json.loads(raw)
    except ValueError:
        return any(i in raw for i in ids)
    items = values.values() if isinstance(values, dict) else values
    return any(isinstance(v, str) and v.strip() in ids for v in items)


def _pseudonyms(ids: set[str], secret: bytes, prefix: str, length: int) -> set[str]:
    """The pseudonyms :func:`pseudonymize` gives these ids (``customer_id`` normaliser)."""
    norm = _normalizer("customer_id")
    out = set()
    for value in ids:
        text = str(norm(value))
        if text:
            digest = hmac.new(secret, text.encode("utf-8"), hashlib.sha256).hexdigest()
            out.add(prefix + digest[:length])
    return out


def _id_columns(con, tables: list[str], cols_wanted: tuple[str, ...]) -> dict[str, list[str]]:
    out = {}
    for name in tables:
        cols = [r[0] for r in con.execute(f'describe "{name}"').fetchall()]
        present = [c for c in cols_wanted if c in cols]
        if present:
            out[name] = present
    return out


def _person_ids(
    con,
    tables: list[str],
    ids: set[str],
    customer_col: str,
    link_col: str,
    secret: bytes | None,
    prefix: str,
    length: int,
) -> tuple[set[str], set[str]]:
    """Every raw id and pseudonym of the person(s): ``ids`` closed over duplicate links.

    Links (``customer_col`` -> ``link_col``) may be stored with raw ids or, in derived
    tables, with pseudonyms; with the key, a pseudonym found through a link is mapped
    back to the raw id it hashes, so both forms of every linked account are erased.
    """
    id_cols = _id_columns(con, tables, (customer_col, link_col))
    masters: dict[str, str] = {}
    for name, cols in id_cols.items():
        if link_col in cols and customer_col in cols:
            for c, m in con.execute(
                f'select cast("{customer_col}" as varchar), cast("{link_col}" as varchar) '
                f'from "{name}" where "{link_col}" is not null'
            ).fetchall():
                masters[str(c).strip()] = str(m).strip()
    raw_of: dict[str, str] = {}
    if secret is not None:  # pseudonym -> raw id, for every raw id the warehouse holds
        values = set()
        for name, cols in id_cols.items():
            for col in cols:
                values.update(
                    str(v).strip()
                    for (v,) in con.execute(
                        f'select distinct cast("{col}" as varchar) '
                        f'from "{name}" where "{col}" is not null'
                    ).fetchall()
                )
        raw = {v for v in values if not v.startswith(prefix)}
        raw_of = {next(iter(_pseudonyms({v}, secret, prefix, length))): v for v in raw if v}
    raw_ids, pseudo = set(ids), set()
    while True:  # ids -> pseudonyms -> their masters -> every account of those masters
        if secret is not None:
            pseudo |= _pseudonyms(raw_ids, secret, prefix, length)
        every = raw_ids | pseudo
        roots = {masters.get(i, i) for i in every}
        grown = every | roots | {c for c, m in masters.items() if m in roots}
        new_pseudo = pseudo | {i for i in grown if i in raw_of}  # pseudonyms we can map back
        new_raw = (grown - new_pseudo) | {raw_of[i] for i in new_pseudo if i in raw_of}
        if new_raw == raw_ids and new_pseudo == pseudo:
            return raw_ids, pseudo
        raw_ids, pseudo = new_raw, new_pseudo


BESIDE_WAREHOUSE = {"parquet": (".parquet",), "quarantine": (".csv", ".xlsx")}
"""Folders beside the warehouse file whose copies :func:`erase_customer` also erases: the
Parquet copies of the clean tables and the quarantine files (notebooks 01 and 02)."""


def _pseudonym_re(prefix: str, length: int) -> re.Pattern:
    return re.compile(rf"^{re.escape(prefix)}[0-9a-f]{{{length}}}$")


def _holds_pseudonyms(values: Iterable[object], pattern: re.Pattern) -> bool:
    return any(isinstance(v, str) and pattern.match(v.strip()) for v in values)


def _recorded_key(con, tables: list[str]) -> pd.DataFrame | None:
    if KEY_TABLE not in tables:
        return None
    rec = con.sql(f'select * from "{KEY_TABLE}"').to_arrow_table().to_pandas()
    return rec if len(rec) else None


def _erasure_key(
    key: str | bytes | None,
    key_file: str | Path | None,
    recorded: pd.DataFrame | None,
    pseudonymised: list[str],
    where: str,
) -> PseudonymKey | None:
    """The key of the pseudonymised tables; an error when they exist and it is not found."""
    found = _found_key(key, key_file)
    last = None if recorded is None else recorded.iloc[-1]
    if found is None and last is not None and last["source"] == SIMULATED_WORLD:
        found = simulated_world_key(str(last["world"]))
    if found is None:
        if not pseudonymised:
            return None
        raise PseudonymKeyError(
            f"{where} holds pseudonymised tables ({', '.join(pseudonymised)}) but no "
            "pseudonymisation key was found, so the person's rows in them cannot be found "
            f"and nothing was erased: pass key=..., or {_no_key_help(key_file)}. "
            "(pseudonyms=False erases the raw rows only and leaves the person in the "
            "pseudonymised tables.)"
        )
    if last is not None and str(last["check"]) != found.check:
        raise PseudonymKeyError(
            f"the key from {found.source} is not the key the pseudonymised tables of {where} "
            f"were written with (key check {found.check} != recorded {last['check']}, "
            f"{last['source']}); with it the person's pseudonymised rows cannot be found and "
            "nothing was erased: use the key of that run"
        )
    return found


def _hits(
    df: pd.DataFrame,
    id_cols: list[str],
    targets: set[str],
    ids: set[str],
    raw_json: bool,
) -> pd.Series:
    hit = pd.Series(False, index=df.index)
    for col in id_cols:
        hit |= df[col].astype("string").str.strip().isin(targets).fillna(False)
    if raw_json:
        hit |= df["raw"].map(lambda r: _raw_mentions(r, ids)).astype(bool)
        if "value" in df.columns:
            hit |= df["value"].astype("string").str.strip().isin(ids).fillna(False)
    return hit


def _beside_files(folder: Path) -> list[Path]:
    out = []
    for sub, suffixes in BESIDE_WAREHOUSE.items():
        if (folder / sub).is_dir():
            out.extend(sorted(p for p in (folder / sub).iterdir() if p.suffix in suffixes))
    return out


class _Copy:
    """One file beside the warehouse: read as a table, rewritten without some rows.

    CSV records are kept verbatim (the csv module, same delimiter, line ends and BOM), so
    formula-neutralised cells stay as they were written; Excel rows are deleted with
    openpyxl (cell types kept); Parquet keeps its Arrow schema.
    """

    def __init__(self, path: Path):
        self.path = path
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            self._arrow = pq.read_table(path)
            self.frame = self._arrow.to_pandas()
        elif path.suffix == ".xlsx":
            self.frame = pd.read_excel(path, dtype=str, keep_default_na=False)
        else:
            data = path.read_bytes()
            self._bom = data.startswith(codecs.BOM_UTF8)
            text = data.decode("utf-8-sig")
            first = text.split("\n", 1)[0]
            self._sep = max(",;\t|", key=first.count)
            records = list(csv.reader(_stdio.StringIO(text, newline=""), delimiter=self._sep))
            self._header, self._records = (records[0], records[1:]) if records else ([], [])
            self.frame = pd.DataFrame(self._records, columns=self._header, dtype=object)

    def rewrite(self, keep: pd.Series) -> None:
        """Replace the file by one without the rows where ``keep`` is False (atomically)."""
        tmp = self.path.with_name(f".{self.path.stem}.erasing-{uuid.uuid4().hex[:8]}")
        tmp = tmp.with_suffix(self.path.suffix)
        mask = keep.to_numpy(dtype=bool)
        try:
            if self.path.suffix == ".parquet":
                import pyarrow as pa
                import pyarrow.parquet as pq

                pq.write_table(self._arrow.filter(pa.array(mask)), tmp)
            elif self.path.suffix == ".xlsx":
                import openpyxl

                book = openpyxl.load_workbook(self.path)
                sheet = book.worksheets[0]
                for i in sorted(map(int, (~keep).to_numpy().nonzero()[0]), reverse=True):
                    sheet.delete_rows(i + 2)  # + header row, 1-based
                book.save(tmp)
            else:
                out = _stdio.StringIO(newline="")
                writer = csv.writer(out, delimiter=self._sep, lineterminator="\r\n")
                writer.writerow(self._header)
                writer.writerows(r for r, k in zip(self._records, mask, strict=True) if k)
                tmp.write_bytes(
                    (codecs.BOM_UTF8 if self._bom else b"") + out.getvalue().encode("utf-8")
                )
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)


def erase_customer(
    customer_id: str | Iterable[str],
    *,
    warehouse: str | Path | None = None,
    customer_col: str = "customer_id",
    link_col: str = "master_id",
    pseudonyms: bool = True,
    beside: bool = True,
    key: str | bytes | None = None,
    key_file: str | Path | None = None,
    prefix: str = "p_",
    length: int = 16,
) -> pd.DataFrame:
    """Remove one customer (or several) from every table of the warehouse and its copies.

    Parameters
    ----------
    customer_id : str or list of str
        The customer's id(s) as stored in the warehouse (the raw ids of the source).
    warehouse : path, optional
        DuckDB file (default :func:`crm_lib.contract.config.warehouse_path`).
    customer_col : str
        Name of the customer column.
    link_col : str
        Column of the de-duplication tables (:mod:`crm_lib.intake.dedup` merge log / master map)
        that links an account to its master: every account linked to the customer is
        erased too (the same person), and the link rows themselves.
    pseudonyms : bool
        Also erase rows of derived tables keyed by the customer's pseudonym (tables
        written after :func:`pseudonymize`), computed with the pseudonymisation key:
        ``key``, ``$CRM_PSEUDONYM_KEY``, the key file, or, for a warehouse whose
        :data:`KEY_TABLE` records a simulated world's key, that key. False erases the raw
        rows only (the person stays in the pseudonymised tables).
    beside : bool
        Also erase the copies in the folders beside the warehouse file
        (:data:`BESIDE_WAREHOUSE`): ``parquet/*.parquet`` and ``quarantine/*.csv``,
        ``quarantine/*.xlsx``, as notebooks 01 and 02 write them.
    key, key_file, prefix, length
        As in :func:`pseudonymize`.

    Returns
    -------
    pandas.DataFrame
        One row per table or file that had rows removed or was searched: ``table`` (a
        warehouse table, or a file as ``parquet/<name>.parquet``), ``rows_removed``,
        ``how`` (the columns matched, ``raw JSON`` for quarantine records).
        ``.attrs["ids"]`` holds the number of raw ids and pseudonyms erased.

    Raises
    ------
    PseudonymKeyError
        When pseudonymised tables (id values shaped like ``p_`` + 16 hex characters) exist
        and no key is found, or the key found is not the one :data:`KEY_TABLE` records;
        nothing is erased then, rather than silently leaving the person in them.
    ValueError
        When no id is given.

    Notes
    -----
    Every table with a ``customer_col`` (or ``link_col``) column loses the rows whose value
    is one of the customer's ids or pseudonyms; the ``quarantine`` table and every file
    with a ``raw`` column lose the rows whose raw record (JSON) or ``value`` names the
    customer. The changed tables are published together with
    :func:`crm_lib.intake.warehouse.write_tables`, which writes a fresh database file and
    swaps it in, and each changed file is replaced by a fresh one, so no deleted bytes
    linger in free pages of the live files. Copies elsewhere (the raw exports, backups)
    must be erased separately; reports hold no identifiers.
    """
    from crm_lib.intake import warehouse as wh

    ids = {customer_id} if isinstance(customer_id, str) else set(customer_id)
    ids = {str(i).strip() for i in ids}
    if not ids or "" in ids:
        raise ValueError("give at least one non-empty customer id to erase")
    if warehouse is None:
        from crm_lib.contract import config

        warehouse = config.warehouse_path()
    db = Path(warehouse).expanduser()
    copies = [_Copy(p) for p in _beside_files(db.parent)] if beside else []
    pattern = _pseudonym_re(prefix, length)
    id_names = (customer_col, link_col)
    rows: list[dict] = []
    changed: dict[str, pd.DataFrame] = {}
    with wh.connect(db) as con:
        tables = [r[0] for r in con.execute("show tables").fetchall()]
        frames = {}
        for name in tables:
            cols = [r[0] for r in con.execute(f'describe "{name}"').fetchall()]
            if [c for c in id_names if c in cols] or (name == "quarantine" and "raw" in cols):
                frames[name] = con.sql(f'select * from "{name}"').to_arrow_table().to_pandas()
        secret = None
        if pseudonyms:
            pseudonymised = [
                name
                for name, df in [*frames.items(), *((c.path.name, c.frame) for c in copies)]
                if any(_holds_pseudonyms(df[c].tolist(), pattern) for c in id_names if c in df)
            ]
            found = _erasure_key(
                key, key_file, _recorded_key(con, tables), pseudonymised, f"the warehouse {db.name}"
            )
            secret = None if found is None else found.secret
        ids, pseudo = _person_ids(con, tables, ids, customer_col, link_col, secret, prefix, length)
    targets = ids | pseudo
    for name, df in frames.items():
        id_cols = [c for c in id_names if c in df.columns]
        quarantine = name == "quarantine" and "raw" in df.columns
        hit = _hits(df, id_cols, targets, ids, quarantine)
        how = ", ".join(id_cols + (["raw JSON"] if quarantine else []))
        rows.append({"table": name, "rows_removed": int(hit.sum()), "how": how})
        if hit.any():
            changed[name] = df.loc[~hit].reset_index(drop=True)
    rewrites = []
    for copy in copies:
        df = copy.frame
        id_cols = [c for c in id_names if c in df.columns]
        if not id_cols and "raw" not in df.columns:
            continue
        hit = _hits(df, id_cols, targets, ids, "raw" in df.columns)
        name = copy.path.relative_to(db.parent).as_posix()
        how = ", ".join(id_cols + (["raw JSON"] if "raw" in df.columns else []))
        rows.append({"table": name, "rows_removed": int(hit.sum()), "how": how})
        if hit.any():
            rewrites.append((copy, ~hit))
    if changed:
        wh.write_tables(changed, db)
    for copy, keep in rewrites:
        copy.rewrite(keep)
    out = pd.DataFrame(rows, columns=["table", "rows_removed", "how"])
    out.attrs["ids"] = {"raw_ids": len(ids), "pseudonyms": len(pseudo)}
    return out


# ------------------------------------------------------------------------ scan


def _mask(kind: str, text: str) -> str:
    if kind == "email":
        local, _, domain = text.partition("@")
        return f"{local[:1]}***@{domain}"
    digits = re.sub(r"\D", "", text)
    return f"{digits[:3]}****{digits[-2:]}"


def _notebook_texts(path: Path, sources: bool) -> list[tuple[str, str]]:
    """Text of an executed notebook: cell sources and text outputs (images skipped)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    out: list[tuple[str, str]] = []
    for i, cell in enumerate(nb.get("cells", [])):
        src = cell.get("source", "")
        if sources:
            out.append(
                (f"{path.name}:cell{i}:source", "".join(src) if isinstance(src, list) else src)
            )
        for output in cell.get("outputs", []):
            texts = []
            if "text" in output:
                texts.append(output["text"])
            for mime, value in (output.get("data") or {}).items():
                if mime.startswith("text/") or mime.endswith("json"):
                    texts.append(value if isinstance(value, str | list) else json.dumps(value))
            if "traceback" in output:
                texts.append(output["traceback"])
            for t in texts:
                t = "".join(t) if isinstance(t, list) else t
                out.append((f"{path.name}:cell{i}:output", t))
    return out


_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+")


def scan_for_pii(
    text_or_paths: str | Path | Iterable[str | Path],
    *,
    sources: bool = True,
    allow: Iterable[str] = (),
) -> pd.DataFrame:
    """Find e-mail addresses and phone numbers in text, files or executed notebooks.

    Parameters
    ----------
    text_or_paths : str, pathlib.Path, or a list of them
        A ``str`` is scanned as text; a :class:`pathlib.Path` is read (a folder is scanned
        recursively for ``.ipynb``, ``.html``, ``.md``, ``.txt``, ``.json`` and ``.csv``
        files). Notebooks: cell sources and text outputs (embedded images are skipped);
        HTML: the text without embedded ``data:...;base64`` images.
    sources : bool
        Also scan the cell sources of notebooks (default). False scans outputs only, for
        notebooks whose teaching text shows made-up example addresses.
    allow : iterable of str
        Exact findings to ignore, e.g. the example addresses a notebook's own narrative
        shows (take them from a scan of the unexecuted notebook).

    Returns
    -------
    pandas.DataFrame
        One row per finding: ``source`` (``text[i]`` or file and cell), ``kind``
        (``email`` or ``phone``), ``masked`` (the finding with most characters hidden)
        and ``position`` (character offset). Empty when nothing was found.

    Examples
    --------
    >>> scan_for_pii("call 138 1234 5678 or mail ann@example.com")[["kind", "masked"]]
        kind            masked
    0  phone         138****78
    1  email  a***@example.com
    >>> len(scan_for_pii("2,000 customers, 13.5% churn"))
    0
    """
    rows = [
        {"source": source, "kind": kind, "masked": _mask(kind, found), "position": start}
        for source, text in _texts(text_or_paths, sources)
        for kind, found, start, _ in _findings(text, allow)
    ]
    out = pd.DataFrame(rows, columns=["source", "kind", "masked", "position"])
    return out.sort_values(["source", "position"], kind="stable").reset_index(drop=True)


SCANNED_SUFFIXES = (".ipynb", ".html", ".md", ".txt", ".json", ".csv")
"""Files :func:`scan_for_pii` reads when given a folder."""


def _texts(
    text_or_paths: str | Path | Iterable[str | Path], sources: bool
) -> list[tuple[str, str]]:
    """(source, text) pairs of strings, files and folders (see :func:`scan_for_pii`)."""
    items = [text_or_paths] if isinstance(text_or_paths, str | Path) else list(text_or_paths)
    texts: list[tuple[str, str]] = []
    for i, item in enumerate(items):
        if isinstance(item, Path):
            files = (
                sorted(p for p in item.rglob("*") if p.suffix in SCANNED_SUFFIXES)
                if item.is_dir()
                else [item]
            )
            for f in files:
                if f.suffix == ".ipynb":
                    texts.extend(_notebook_texts(f, sources))
                else:
                    text = f.read_text(encoding="utf-8", errors="replace")
                    if f.suffix == ".html":
                        text = _DATA_URI.sub("data:", text)
                    texts.append((f.name, text))
        else:
            texts.append((f"text[{i}]", str(item)))
    return texts


def _findings(text: str, allow: Iterable[str] = ()) -> list[tuple[str, str, int, int]]:
    """(kind, finding, start, end) of every e-mail address and phone number in ``text``."""
    allowed = set(allow)
    out = []
    for kind, pattern in (("email", EMAIL_RE), ("phone", PHONE_RE)):
        for m in pattern.finditer(text):
            if m.group(0) not in allowed:
                out.append((kind, m.group(0), m.start(), m.end()))
    return out


def count_pii(
    text_or_paths: str | Path | Iterable[str | Path],
    *,
    sources: bool = True,
    allow: Iterable[str] = (),
) -> dict[str, int]:
    """Number of **distinct** e-mail addresses and phone numbers in texts and files.

    Parameters
    ----------
    text_or_paths, sources, allow
        As in :func:`scan_for_pii`.

    Returns
    -------
    dict of str to int
        ``{"email": n, "phone": m}`` with only the kinds found (empty: nothing found).
        Findings are compared after normalisation (e-mail trimmed and lower-cased, phone
        to E.164), so one address found in a notebook, its HTML and an error message
        counts once. The values themselves are never returned.

    Examples
    --------
    >>> count_pii(["mail Ann@Example.com", "ann@example.com, 138 1234 5678"])
    {'email': 1, 'phone': 1}
    """
    norm = {"email": cleaning.normalize_email, "phone": cleaning.normalize_phone}
    seen: dict[str, set[str]] = {}
    for _, text in _texts(text_or_paths, sources):
        for kind, found, _, _ in _findings(text, allow):
            value = norm[kind](found)
            seen.setdefault(kind, set()).add(found if value is None or pd.isna(value) else value)
    return {kind: len(seen[kind]) for kind in ("email", "phone") if kind in seen}


REDACTED = {"email": "[e-mail removed]", "phone": "[phone number removed]"}
"""What :func:`redact_pii` puts in place of each kind of finding."""


def redact_pii(text: str, *, allow: Iterable[str] = ()) -> str:
    """``text`` with every e-mail address and phone number replaced by a placeholder.

    Parameters
    ----------
    text : str
        Any text: an error message, a log line, a traceback.
    allow : iterable of str
        Findings to keep (as in :func:`scan_for_pii`).

    Returns
    -------
    str
        The text with each finding replaced by :data:`REDACTED` of its kind; nothing of
        the value is kept (not even its domain or first digits).

    Examples
    --------
    >>> redact_pii("no order for ann@example.com, mobile 138 1234 5678")
    'no order for [e-mail removed], mobile [phone number removed]'
    """
    text = str(text)
    spans = sorted(
        ((start, end, kind) for kind, _, start, end in _findings(text, allow)), reverse=True
    )
    last = len(text) + 1
    for start, end, kind in spans:  # from the end, so earlier offsets stay valid
        if end > last:  # overlaps a later finding already replaced
            continue
        text = text[:start] + REDACTED[kind] + text[end:]
        last = start
    return text
