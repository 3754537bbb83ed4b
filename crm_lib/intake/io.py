"""Collection: read raw exports, map them to the data contract, quarantine, load with lineage.

Data flow (see the guide): ``data/raw`` -> :func:`read_table` (every cell as text) ->
:func:`apply_mapping` (declarative YAML mapping: source column -> contract column, parse
rules, constants) -> contract check (:func:`crm_lib.contract.schemas.validate`) -> accepted rows and
a quarantine table (:mod:`crm_lib.contract.quarantine`) -> :func:`ingest` loads both into the DuckDB
warehouse with a ``lineage`` record (file checksum, row counts, mapping name, version and
content hash).

Every failure raises an :class:`IngestError` (:class:`ReadError`, :class:`MappingError`)
that names the file and the problem; a row that breaks a rule is quarantined with the
reason, never dropped.

:func:`detect_encoding` names the text encoding of a file or bytes. Every CSV or Excel
file the package writes goes through :func:`write_csv` / :func:`write_excel`, which
neutralise cells a spreadsheet would run as a formula (:func:`neutralize_formulas`).

A warehouse holds the exports of **one world** (one delivery of raw exports):
:func:`start_warehouse` begins a fresh file that records the world's fingerprint, :func:`ingest`
loads each export into it, and :func:`read_loads` reads the loaded tables back (indexed by
source row, as :func:`apply_mapping` returns them) after checking that the warehouse holds
the same world and the same files; :func:`warehouse_file` turns a notebook's ``warehouse``
parameter into a file.

Mapping files (YAML)
--------------------
::

    name: my_orders            # mapping name (recorded in lineage)
    version: 1
    table: transactions        # contract table
    columns:                   # contract column -> rule
      order_id: {source: Order No}
      ordered_at: {source: Order Date, type: datetime, timezone: Asia/Shanghai,
                   formats: ["%Y-%m-%d %H:%M:%S", "%d/%m/%Y"]}
      amount: {source: Amount, type: number, thousands: ",", decimal: ".",
               currency_symbols: ["¥", "$"]}
      quantity: {source: Qty, type: integer}
      category: {source: Category, type: label, labels: {Beauty: beauty}}
      marketing_consent: {source: Opt-in, type: boolean, true: [Y], false: [N]}
      name: {source: [First Name, Last Name], join: " "}
      line_no: {type: row_number, group_by: Order No}   # or a list: [Customer, Day]
      # or, from a unit price: amount: {compute: "Unit price * Qty - `Line discount`"}
    constants: {currency: CNY}

``type`` is one of ``string`` (default), ``integer``, ``number``, ``datetime``,
``label``, ``boolean``, ``row_number``. A column is required in the file unless
``required: false``; an optional column missing from the file is left empty.

Missing values: a blank cell of a column is handled by the column's **missing-value
policy**, the contract's (:func:`crm_lib.contract.schemas.missing_policy`) unless the
mapping states its own with ``missing:``::

      region: {source: Region, type: label, labels: {...}, missing: quarantine}
      acquisition_channel: {source: Source, missing: impute, impute: direct}

``unknown`` keeps the row with the value ``"unknown"`` (the contract's default for
descriptive columns: region, acquisition channel, gender, category, sales channel),
``impute`` keeps it with the stated ``impute`` value, ``quarantine`` sends the row to the
quarantine (rule ``required``; the default for keys, times and amounts). Only blank cells
are filled: a value that does not parse or is not an allowed label is quarantined, never
replaced. :func:`missing_value_log` lists the blank cells and what their policy did.

``compute`` (type ``number``) derives a column by arithmetic on source columns: column
names, numbers, ``+ - * /``, unary minus and parentheses, nothing else (the expression
is parsed by a small grammar, never evaluated as Python); a column name holding one of
those characters is quoted in backticks. Each operand is parsed with the rule's number
options; a row with an empty or unparseable operand, or a division by zero, is
quarantined (rules ``compute``, ``number``).
"""

from __future__ import annotations

import codecs
import csv
import difflib
import hashlib
import io as _stdio
import json
import math
import re
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crm_lib.contract import schemas
from crm_lib.contract.quarantine import (
    QUARANTINE_COLUMNS,
    Reconciliation,
    empty_quarantine,
    quarantine_records,
    reconcile,
)

__all__ = [
    "CSV_DELIMITERS",
    "DETECTED_ENCODINGS",
    "EXTRA_FIELDS",
    "EmptyTableWarning",
    "QuarantineWarning",
    "ExportError",
    "FORMULA_TRIGGERS",
    "IngestError",
    "IngestResult",
    "MappedTable",
    "Mapping",
    "MappingError",
    "QUARANTINE_COLUMNS",
    "ReadError",
    "ReadWarning",
    "WarehouseWorldError",
    "apply_mapping",
    "available_mappings",
    "detect_encoding",
    "file_sha256",
    "ingest",
    "load_mapping",
    "missing_value_log",
    "neutralize_formulas",
    "read_loads",
    "read_sql",
    "read_table",
    "safe_url",
    "start_warehouse",
    "warehouse_file",
    "warehouse_world",
    "write_csv",
    "write_excel",
]

CSV_DELIMITERS = ",;\t|"
"""Delimiters :func:`read_table` sniffs among."""

WHITESPACE = "whitespace"
"""``sep`` of :func:`read_table` for a table aligned with blanks (fields split on runs of
spaces and tabs), as CDNOW's own text files are."""

EXTRA_FIELDS = "__extra_fields__"
"""Column :func:`read_table` adds when a CSV line has more fields than the header (JSON list
of the surplus fields, ``""`` on regular lines); such rows are quarantined (``long_row``)."""

DETECTED_ENCODINGS = ("gb18030", "cp950", "cp1252")
"""Encodings :func:`read_table` tells apart on its own, besides UTF-8 and a byte-order mark.

The code pages in which Excel on Windows saves "CSV" for this toolkit's users: GB18030
(superset of GBK/GB2312, Simplified Chinese), cp950 (Big5 as Windows writes it,
Traditional Chinese) and cp1252 (Western European; reads every printable Latin-1 text
alike). Other code pages are left out on purpose: cp1250/cp1254 decode the same bytes as
cp1252 into other letters, and Japanese/Korean code pages decode most Chinese byte pairs,
so no detector can tell them apart on a short export; such a file must name its encoding.
"""

MAX_CHAOS = 0.15
"""Most "chaos" (charset-normalizer's mess ratio, 0 = clean text) a detected reading may have.

Measured on customer exports of 1 to 2,000 lines (Chinese or Western names): correct
readings of GB18030, Big5 and cp1252 text score 0-0.10, misreadings of short files from
0.12 up and of longer ones 0.2 and more (a Japanese file read as GB18030: 0.2)."""

AMBIGUITY_MARGIN = 0.1
"""Two encodings whose chaos differs by no more than this are both plausible: the file
is refused as ambiguous rather than guessed."""
_MAPPINGS_DIR = Path(__file__).with_name("mappings")
_TYPES = {"string", "integer", "number", "datetime", "label", "boolean", "row_number"}
_LINEAGE_COLUMNS = [
    "load_id",
    "source",
    "sha256",
    "table",
    "target",
    "mapping",
    "mapping_version",
    "mapping_sha256",
    "vocabulary_sha256",
    "rows_in",
    "rows_accepted",
    "rows_quarantined",
    "loaded_at",
    "status",
    "note",
]


# ---------------------------------------------------------------------- errors


class IngestError(Exception):
    """Base class of crm_lib's collection errors; the message names source and problem."""


class ReadError(IngestError):
    """A source could not be read.

    Attributes
    ----------
    path : str
        File (or database URL without password).
    problem : str
        What went wrong and what to do.
    """

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{Path(self.path).name or self.path}: {problem}")


class MappingError(IngestError):
    """A mapping is invalid, or the source lacks columns the mapping requires."""


class ExportError(IngestError):
    """A table cannot be written as CSV or Excel (the message names file, column and row)."""


class WarehouseWorldError(IngestError):
    """The warehouse holds the exports of another world than the one asked for."""


class ReadWarning(UserWarning):
    """A source was read, but something in it deserves a look."""


class QuarantineWarning(UserWarning):
    """Most or all rows of a file were quarantined: likely a wrong mapping or vocabulary."""


class EmptyTableWarning(ReadWarning):
    """A source has a header but no data rows (allowed, but reported)."""


# ---------------------------------------------------------------------- readers


def _where(data: bytes, offset: int) -> str:
    """``line L, byte offset O (0xXX)`` of the byte at ``offset`` (lines counted from 1)."""
    line = data.count(b"\n", 0, offset) + 1
    return f"line {line}, byte offset {offset} (0x{data[offset]:02X})"


def _strict(path: Path, data: bytes, encoding: str, hint: str) -> str:
    try:
        return data.decode(encoding)
    except LookupError:
        raise ReadError(path, f"unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        raise ReadError(
            path, f"not valid {encoding} text: {_where(data, exc.start)} cannot be decoded; {hint}"
        ) from None


def _decode(path: Path, data: bytes, encoding: str | None) -> tuple[str, str]:
    """Text and the encoding used (see :func:`detect_encoding` for the detection)."""
    if encoding is not None:
        hint = "pass the right encoding=..., or encoding=None to detect it"
        return _strict(path, data, encoding, hint), encoding
    if data.startswith(b"\xef\xbb\xbf"):
        enc = "utf-8-sig"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16"
    else:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as exc:
            first_bad = exc.start
        _refuse_damaged_utf8(path, data, first_bad)
        try:
            text = data.decode("gb18030")
            simplified = _mostly_gb2312(text)
        except UnicodeDecodeError:
            simplified = False
        enc = _detect(path, data, first_bad, simplified=simplified)
        if enc == "gb18030" and simplified:
            return text, enc
    hint = "the file mixes encodings or is damaged there; fix the source, or pass encoding=..."
    return _strict(path, data, enc, hint), enc


def _refuse_damaged_utf8(path: Path, data: bytes, first_bad: int) -> None:
    """Raise when UTF-8 text holds a few undecodable bytes.

    Text in GB18030, Big5 or cp1252 rarely forms a valid multi-byte UTF-8 sequence (a
    GBK character does about one time in seven, a cp1252 accent almost never), so when
    the well-formed multi-byte characters outnumber the bytes that do not decode, the
    file is UTF-8 with damage, and any other encoding would turn all its non-ASCII text
    into mojibake.
    """
    ascii_bytes = len(data) - len(data.translate(None, bytes(range(128))))
    chars = len(data.decode("utf-8", "surrogateescape"))
    decodable = len(data.decode("utf-8", "ignore"))
    undecodable = chars - decodable
    multibyte = decodable - ascii_bytes
    if multibyte > undecodable:
        raise ReadError(
            path,
            f"not valid UTF-8 text: {_where(data, first_bad)} cannot be decoded, although "
            f"the rest is UTF-8 ({multibyte} non-ASCII characters decode, {undecodable} "
            "byte(s) do not): the file is damaged there. Fix or remove the byte(s) in the "
            "source, or pass encoding=... if the file is in another encoding",
        )


def detect_encoding(path_or_bytes: str | Path | bytes) -> str:
    r"""The text encoding of a file (or of bytes), as :func:`read_table` detects it.

    Parameters
    ----------
    path_or_bytes : str, pathlib.Path or bytes
        A file, or its content.

    Returns
    -------
    str
        A Python codec name: ``utf-8-sig`` (UTF-8 with a byte-order mark), ``utf-16``
        (with a BOM), ``utf-8``, ``gb18030`` (the superset of GBK and GB2312, chosen when
        the text is mostly common Chinese characters), else one of
        :data:`DETECTED_ENCODINGS` (``gb18030``, ``cp950``, ``cp1252``) as
        charset-normalizer ranks them.

    Raises
    ------
    ReadError
        Missing or empty file, binary data (NUL bytes); UTF-8 text with a few bytes that do
        not decode (a damaged file: the message names the line, the byte offset and the
        byte); text that no encoding of :data:`DETECTED_ENCODINGS` reads with a mess
        ratio below :data:`MAX_CHAOS` (the message names the first byte that is not
        UTF-8); or bytes that two of them read about equally well (ambiguous). Then pass
        ``encoding=...`` to :func:`read_table`.

    Notes
    -----
    Order: a byte-order mark; strict UTF-8; *damaged UTF-8* when the well-formed
    multi-byte UTF-8 characters outnumber the bytes that do not decode (other encodings
    seldom form such sequences by chance); GB18030 when at least 80 % of the non-ASCII
    characters are GB2312 characters; else charset-normalizer restricted to
    :data:`DETECTED_ENCODINGS`, keeping readings with chaos below :data:`MAX_CHAOS`, and
    refusing when two are within :data:`AMBIGUITY_MARGIN`. Guessing among every code page
    (as before) read a cp1252 "Anna Müller" as cp775 or GB18030 and a damaged UTF-8 file
    as cp1251, so its Chinese rows were quarantined for wrong reasons.

    Examples
    --------
    >>> detect_encoding("客户,地区\n张伟,华北\n".encode("gbk"))
    'gb18030'
    >>> detect_encoding(b"\xef\xbb\xbfOrder No,Amount\n")
    'utf-8-sig'
    """
    if isinstance(path_or_bytes, bytes | bytearray | memoryview):
        path, data = Path("<bytes>"), bytes(path_or_bytes)
    else:
        path = Path(path_or_bytes)
        if not path.is_file():
            raise ReadError(path, "file not found" if not path.exists() else "not a file")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ReadError(path, f"cannot open the file ({exc.strerror})") from None
    if not data.strip():
        raise ReadError(path, "empty (0 bytes of text): no encoding to detect")
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ReadError(path, "contains NUL bytes: binary data, not text in any encoding")
    _, encoding = _decode(path, data, None)
    return encoding


def _mostly_gb2312(text: str, share: float = 0.8) -> bool:
    """True when most non-ASCII characters are GB2312 characters (common Chinese text).

    charset-normalizer misreads large GBK exports of mostly-ASCII CSV (a 5 MB customers
    export was guessed as iso8859_5). Western text that happens to decode as GB18030 gives
    rare characters outside GB2312 (an accented letter followed by an ASCII one), so the
    share of GB2312 characters separates the two.
    """
    chars = Counter(re.findall(r"[^\x00-\x7f]", text[:500_000]))
    total = sum(chars.values())
    if not total:
        return False
    good = 0
    for ch, n in chars.items():
        b = ch.encode("gb18030")
        if len(b) == 2 and b[0] >= 0xA1 and b[1] >= 0xA1:
            good += n
    return good >= share * total


def _detect(path: Path, data: bytes, first_bad: int, *, simplified: bool = False) -> str:
    """The one encoding of :data:`DETECTED_ENCODINGS` that reads ``data`` clearly best.

    charset-normalizer's readings with chaos below :data:`MAX_CHAOS` are plausible; the
    best one wins if no other is within :data:`AMBIGUITY_MARGIN`. On a short file two
    readings are often that close, and two priors decide:

    - every non-ASCII byte stands alone between ASCII bytes and is a small accented
      letter (``ß``-``ÿ``) or cp1252 punctuation (``€ “ ” – …``, 0x80-0x9F), as in
      ``Müller`` or ``“VIP” €12``: then cp1252 when it is plausible. A Chinese character
      is two bytes whose first is non-ASCII; in GBK and Big5 only rare characters have
      an ASCII second byte and a first byte in those ranges;
    - ``simplified`` (the bytes decode as GB18030, mostly into common GB2312 characters):
      GB18030 over Big5 (which charset-normalizer tells poorly from GBK on a short file,
      and it misread large mostly-ASCII GBK exports), and over cp1252 too when every
      run of non-ASCII bytes has an even length (whole two-byte characters) and there
      are two characters in a row or three runs. Western text has lone accented
      letters almost always; one ``çã`` alone is left ambiguous.
    """
    import charset_normalizer

    sample = data[:200_000]
    if len(data) > len(sample) and b"\n" in sample:  # do not cut a character in two
        sample = sample[: sample.rfind(b"\n") + 1]
    results = charset_normalizer.from_bytes(
        sample, cp_isolation=list(DETECTED_ENCODINGS), threshold=MAX_CHAOS
    )
    allowed = {codecs.lookup(e).name: e for e in DETECTED_ENCODINGS}
    chaos: dict[str, float] = {}
    for match in results:
        name = allowed.get(codecs.lookup(match.encoding).name)
        if name is not None and match.chaos < MAX_CHAOS:
            chaos[name] = min(chaos.get(name, 1.0), match.chaos)
    best = min(chaos, key=lambda e: chaos[e]) if chaos else None
    close = sorted(e for e in chaos if chaos[e] <= chaos[best] + AMBIGUITY_MARGIN)
    runs = [len(r) for r in re.findall(rb"[\x80-\xff]+", sample)]
    if "cp1252" in close and max(runs) == 1 and not re.search(rb"[\xa0-\xde\xf7]", sample):
        return "cp1252"  # lone small accented letters, quotes or euro signs: Western text
    rivals = {"gb18030", "cp950"}
    if simplified and all(n % 2 == 0 for n in runs) and (max(runs) >= 4 or len(runs) >= 3):
        rivals.add("cp1252")  # only two-byte characters: not Western text
    if simplified and (not close or "gb18030" in close) and set(close) <= rivals:
        return "gb18030"
    if best is None:
        raise ReadError(
            path,
            f"cannot detect the text encoding: it is not UTF-8 ({_where(data, first_bad)} "
            "does not decode) and none of the encodings detected on their own "
            f"({', '.join(DETECTED_ENCODINGS)}) reads it as plausible text; pass "
            "encoding=... (e.g. 'cp1251' for Cyrillic, 'shift_jis' for Japanese, 'cp1250' "
            "for Central European text)",
        )
    if len(close) > 1:
        readings = "; ".join(
            f"{e}: {_first_non_ascii_line(sample, e)!r}" for e in [best, *close] if e != best
        )
        raise ReadError(
            path,
            f"ambiguous text encoding: the bytes read as plausible text in {', '.join(close)} "
            f"({best}: {_first_non_ascii_line(sample, best)!r}; {readings}); pass "
            "encoding=... with the one the file was saved in",
        )
    return best


def _first_non_ascii_line(data: bytes, encoding: str, width: int = 40) -> str:
    """The first line of ``data`` that holds non-ASCII bytes, as ``encoding`` reads it."""
    for line in data.splitlines():
        if max(line, default=0) >= 0x80:
            return line.decode(encoding, "replace")[:width]
    return ""


def _sniff(text: str) -> str:
    sample = text[:64_000]
    first = sample.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(sample, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:
        counts = {d: first.count(d) for d in CSV_DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _finish(df: pd.DataFrame, path: Path, first_row: int) -> pd.DataFrame:
    df.index = pd.RangeIndex(first_row, first_row + len(df), name="row")
    if len(df) == 0:
        warnings.warn(
            f"{path.name}: header only, no data rows ({len(df.columns)} columns)",
            EmptyTableWarning,
            stacklevel=3,
        )
    return df


def _as_text(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if value is pd.NaT or value is pd.NA:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, np.ndarray):
        return json.dumps(value.tolist(), ensure_ascii=False, default=str)
    return str(value)


def _all_text(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {str(c): [_as_text(v) for v in df[c].tolist()] for c in df.columns}, dtype="str"
    )


def _regular_quotes(text: str, delimiter: str) -> bool:
    """True when every double quote opens or closes a whole field on one line.

    That is: a quoted field starts at the start of a line or after the delimiter, ends
    before the delimiter or the line end, holds no line break and no doubled (escaped)
    quote. Then every record is one line, and a fast reader gives the same fields as the
    csv module.
    """
    if '"' not in text:
        return True
    parts = text.split('"')
    if len(parts) % 2 == 0:  # an odd number of quotes
        return False
    inside = "\x00".join(parts[1::2])
    if "\n" in inside or "\r" in inside:
        return False
    outside = parts[0::2]
    opens = (delimiter, "\n")
    closes = (delimiter, "\n", "\r")
    if outside[0] and not outside[0].endswith(opens):
        return False
    if outside[-1] and not outside[-1].startswith(closes):
        return False
    return all(o[:1] in closes and o.endswith(opens) for o in outside[1:-1])


def _read_csv_fast(text: str, delimiter: str) -> tuple[list[str], pd.DataFrame] | None:
    """Header and ``str`` columns of a regular CSV text via pyarrow, else None.

    Regular: the header is on line 1, every other line is empty or one record with as
    many fields as the header (no line breaks or escaped quotes inside fields, no lone
    carriage returns), so line numbers are exact. Empty lines are skipped, as the csv
    module path skips them. Anything else returns None and the csv module reads the file.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    end = text.find("\n")
    first = text[: end if end >= 0 else len(text)].rstrip("\r")
    if not first.strip() or "\x00" in text or text.count("\r") != text.count("\r\n"):
        return None
    if not _regular_quotes(text, delimiter):
        return None
    header = next(csv.reader([first], delimiter=delimiter))
    if len(header) < 2:  # a one-column file cannot tell blank lines from empty values
        return None
    body = text[end + 1 :] if end >= 0 else ""
    n_lines = body.count("\n") + (0 if body.endswith("\n") or not body else 1)
    bad: list = []

    def invalid(row):
        bad.append(row)
        return "skip"

    names = [f"c{i}" for i in range(len(header))]
    data = body.encode("utf-8")
    try:
        table = pacsv.read_csv(
            _stdio.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                newlines_in_values=False,
                ignore_empty_lines=False,
                invalid_row_handler=invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeError):
        return None
    if bad or table.num_rows != n_lines:
        return None
    if table.num_rows and any(  # the csv module refuses fields longer than its limit
        (pc.max(pc.utf8_length(col)).as_py() or 0) > csv.field_size_limit() for col in table.columns
    ):
        return None
    df = table.to_pandas(types_mapper=_str_dtype)
    lines = np.arange(2, 2 + len(df), dtype="int64")
    if "\n\n" in body or "\n\r\n" in body or body.startswith(("\n", "\r\n")):
        # pyarrow reads an empty line as a row of empty values; the csv module path
        # skips it, so drop those rows here (a line "," stays: it is a row of empties)
        keep = ~_empty_lines(data, n_lines)
        df, lines = df.loc[keep].reset_index(drop=True), lines[keep]
    df.index = pd.Index(lines, name="row")
    return header, df


def _empty_lines(data: bytes, n_lines: int) -> np.ndarray:
    """Which of the first ``n_lines`` lines of ``data`` are empty (``""`` or ``"\\r"``)."""
    arr = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)
    starts = np.concatenate([[0], ends + 1])[:n_lines]
    ends = np.concatenate([ends, [len(arr)]])[:n_lines]
    length = ends - starts
    empty = length == 0
    one = np.flatnonzero(length == 1)
    empty[one] = arr[starts[one]] == 13
    return empty


def _str_dtype(arrow_type) -> Any:
    import pyarrow as pa

    if arrow_type in (pa.string(), pa.large_string()):
        return pd.StringDtype("pyarrow", na_value=np.nan)
    return None


def _header_checks(path: Path, header: list[str]) -> tuple[list[str], list[int]]:
    if not any(header):
        raise ReadError(path, "the header line has no column names")
    blank = [i + 1 for i, h in enumerate(header) if not h]
    header = [h or f"column_{i + 1}" for i, h in enumerate(header)]
    dups = sorted({h for h in header if header.count(h) > 1})
    if dups:
        raise ReadError(path, f"duplicate column name(s) in the header: {dups}")
    return header, blank


def _looks_aligned(text: str) -> bool:
    """Whether ``text`` is a whitespace-aligned table rather than CSV.

    True when the header line holds none of :data:`CSV_DELIMITERS` and the header and the
    first 200 non-blank lines all split into the same number (two or more) of fields on
    runs of blanks, as in CDNOW's ``CDNOW_master.txt``. A one-column CSV whose values
    hold spaces fails the second test (its lines split into different numbers of fields).
    """
    lines = [line for line in text.splitlines()[:1000] if line.strip()][:201]
    if len(lines) < 2 or any(d in lines[0] for d in CSV_DELIMITERS):
        return False
    counts = {len(line.split()) for line in lines}
    return len(counts) == 1 and counts.pop() >= 2


def _rows_to_frame(
    path: Path, header: list[str], records: list[list[str]], lines: list[int]
) -> pd.DataFrame:
    """A text table from split lines, as the csv-module path builds it (short lines NaN,
    fields beyond the header kept in :data:`EXTRA_FIELDS`)."""
    header, blank = _header_checks(path, [h.strip() for h in header])
    n = len(header)
    extra = [json.dumps(r[n:], ensure_ascii=False) if len(r) > n else "" for r in records]
    rows = [r[:n] + [np.nan] * (n - len(r)) for r in records]
    df = pd.DataFrame(rows, columns=header, dtype=object).astype("str")
    if any(extra):
        df[EXTRA_FIELDS] = pd.array(extra, dtype="str")
    if blank:
        warnings.warn(
            f"{path.name}: header field(s) {blank} have no name", ReadWarning, stacklevel=4
        )
    out = _finish(df, path, 2)
    out.index = pd.Index(lines, name="row", dtype="int64")
    return out


def _read_split(path: Path, text: str, delimiter: str | None) -> pd.DataFrame:
    """Lines split on runs of blanks (``delimiter=None``) or on a literal multi-character
    delimiter such as ``||``; no quoting (a field cannot hold the delimiter)."""
    header: list[str] | None = None
    records: list[list[str]] = []
    lines: list[int] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split() if delimiter is None else [f.strip() for f in line.split(delimiter)]
        if header is None:
            header = fields
            continue
        records.append(fields)
        lines.append(n)
    if header is None:
        raise ReadError(path, "empty file (no header line)")
    return _rows_to_frame(path, header, records, lines)


def _read_fixed_width(path: Path, text: str, widths: Sequence[int]) -> pd.DataFrame:
    """Fixed-width text: each line cut into fields of ``widths`` characters (trimmed)."""
    widths = [int(w) for w in widths]
    if not widths or any(w <= 0 for w in widths):
        raise ReadError(path, f"widths must be positive numbers of characters, got {widths}")
    cuts = np.cumsum([0, *widths])
    header: list[str] | None = None
    records: list[list[str]] = []
    lines: list[int] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = [line[a:b].strip() for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
        rest = line[cuts[-1] :].strip()
        if header is None:
            if rest:
                raise ReadError(
                    path,
                    f"line {n} (the header) is longer than the widths {widths} "
                    f"({cuts[-1]} characters): {rest!r} is left over",
                )
            header = fields
            continue
        records.append(fields + ([rest] if rest else []))
        lines.append(n)
    if header is None:
        raise ReadError(path, "empty file (no header line)")
    return _rows_to_frame(path, header, records, lines)


def _read_csv(
    path: Path,
    data: bytes,
    encoding: str | None,
    sep: str | None,
    widths: Sequence[int] | None = None,
) -> pd.DataFrame:
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ReadError(path, "contains NUL bytes: a binary file, not CSV text")
    text, _ = _decode(path, data, encoding)
    if not text.strip().lstrip("\ufeff").strip():
        raise ReadError(path, "empty file (no header line)")
    text = text.lstrip("\ufeff")
    if widths is not None:
        return _read_fixed_width(path, text, widths)
    if sep == WHITESPACE or (sep is None and _looks_aligned(text)):
        return _read_split(path, text, None)
    delimiter = sep or _sniff(text)
    if len(delimiter) != 1:
        return _read_split(path, text, delimiter)
    fast = _read_csv_fast(text, delimiter)
    if fast is not None:
        header, df = fast
        header, blank = _header_checks(path, [h.strip() for h in header])
        df.columns = header
        if blank:
            warnings.warn(
                f"{path.name}: header field(s) {blank} have no name", ReadWarning, stacklevel=3
            )
        index = df.index
        out = _finish(df, path, 2)
        out.index = index
        return out
    reader = csv.reader(_stdio.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    records: list[list[str]] = []
    lines: list[int] = []
    last = 0
    try:
        for rec in reader:
            first_line, last = last + 1, reader.line_num
            if not rec or (len(rec) == 1 and not rec[0].strip()):
                continue
            if header is None:
                header = rec
                continue
            records.append(rec)
            lines.append(first_line)
    except csv.Error as exc:
        raise ReadError(
            path, f"malformed CSV near line {reader.line_num + 1} ({exc}); check the quoting"
        ) from None
    if header is None:
        raise ReadError(path, "empty file (no header line)")
    return _rows_to_frame(path, header, records, lines)


def read_table(
    path: str | Path,
    *,
    encoding: str | None = None,
    sep: str | None = None,
    sheet: str | int | None = None,
    widths: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Read a raw export with every cell as text.

    Parameters
    ----------
    path : str or pathlib.Path
        ``.csv``/``.txt``/``.tsv`` (text), ``.xlsx``/``.xlsm`` (Excel), ``.parquet``,
        ``.jsonl``/``.ndjson`` (JSON Lines).
    encoding : str, optional
        Text encoding of a CSV or JSON Lines file; default: detected as
        :func:`detect_encoding` does (a byte-order mark, UTF-8, GB18030, Big5/cp950 or
        cp1252; anything else must be named).
    sep : str, optional
        Delimiter of a text file; default: sniffed among ``, ; \\t |``, or
        ``"whitespace"`` when the lines are columns aligned with blanks (every line splits
        into the same number of fields on runs of spaces, and the header holds none of
        those delimiters). ``"whitespace"`` forces that; a delimiter of several characters
        (``"||"``, ``"::"``) splits on that literal text (no quoting).
    sheet : str or int, optional
        Excel sheet (default: the first).
    widths : sequence of int, optional
        Read a fixed-width text file: the number of characters of each field, left to
        right (the header line is cut the same way; fields are trimmed).

    Returns
    -------
    pandas.DataFrame
        The source columns with pandas' ``str`` dtype (Arrow-backed), every cell a ``str``
        (a missing value is ``""``; a field absent from a short CSV line is NaN), indexed by
        ``row``: the 1-based line in the file
        including the header (CSV when no field spans lines, Excel), the line (JSON Lines),
        or the 1-based record number (Parquet).

    Raises
    ------
    ReadError
        Missing file, empty file, undetectable, ambiguous or invalid encoding (naming the
        line, byte offset and value of the first byte that does not decode), malformed
        CSV or JSON, unreadable Excel or Parquet.

    Warns
    -----
    EmptyTableWarning
        A header-only file (zero rows are returned).

    Notes
    -----
    A *regular* CSV text - header on line 1, every line one record with as many fields as
    the header, quotes only around whole fields without line breaks or doubled quotes - is
    parsed by pyarrow (4x faster on the 64 MB orders export of the default world); anything
    else by Python's csv module, which handles every irregularity. Both give the same cells
    and row numbers (``tests/intake/test_io.py`` checks this on a corpus of shapes).
    """
    path = Path(path)
    if not path.is_file():
        raise ReadError(path, "file not found" if not path.exists() else "not a file")
    suffix = path.suffix.lower()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReadError(path, f"cannot open the file ({exc.strerror})") from None
    if not data.strip():
        raise ReadError(path, "empty file (0 bytes of data)")
    if suffix in {".xlsx", ".xlsm", ".xls"}:
        return _read_excel(path, sheet)
    if suffix == ".parquet":
        return _read_parquet(path)
    if suffix in {".jsonl", ".ndjson"}:
        return _read_jsonl(path, data, encoding)
    return _read_csv(path, data, encoding, sep, widths)


def _read_excel(path: Path, sheet: str | int | None) -> pd.DataFrame:
    """A sheet read like a CSV text: the first non-empty row is the header (same checks:
    a blank name becomes ``column_<n>`` with a warning, a repeated name is an error), empty
    rows are no records, and the index is the sheet's own row number."""
    try:
        cells = pd.read_excel(
            path,
            sheet_name=0 if sheet is None else sheet,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_values=[],
            engine="openpyxl",
        )
    except ValueError as exc:
        if "Worksheet" in str(exc) or "sheet" in str(exc).lower():
            raise ReadError(path, f"no sheet {sheet!r} in the workbook") from None
        raise ReadError(path, f"unreadable Excel file ({exc})") from None
    except Exception as exc:  # openpyxl/zipfile raise many types on corrupt files
        raise ReadError(
            path, f"unreadable Excel file ({type(exc).__name__}: {exc}); is it really .xlsx?"
        ) from None
    cells = cells.fillna("").astype(str)
    filled = cells.apply(lambda col: col.str.strip() != "")
    used = filled.any(axis=0).to_numpy()  # columns with a name or a value
    cells, filled = cells.loc[:, used], filled.loc[:, used]
    rows = cells.index[filled.any(axis=1).to_numpy()]
    if len(rows) == 0:
        raise ReadError(path, "empty sheet (no header row)")
    header = cells.loc[rows[0]].tolist()
    body = rows[1:]
    lines = [int(r) + 1 for r in body]  # sheet rows are numbered from 1
    return _rows_to_frame(path, header, cells.loc[body].to_numpy().tolist(), lines)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
        raise ReadError(path, f"unreadable Parquet file ({type(exc).__name__}: {exc})") from None
    return _finish(_all_text(df), path, 1)


def _read_jsonl(path: Path, data: bytes, encoding: str | None) -> pd.DataFrame:
    text, _ = _decode(path, data, encoding)
    records, lines = [], []
    for n, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ReadError(path, f"line {n} is not valid JSON ({exc.msg})") from None
        if not isinstance(rec, dict):
            raise ReadError(path, f"line {n} is not a JSON object")
        records.append(rec)
        lines.append(n)
    df = _all_text(pd.DataFrame.from_records(records)) if records else pd.DataFrame()
    df.index = pd.Index(lines, name="row", dtype="int64")
    if not records:
        raise ReadError(path, "no JSON records")
    return df


def safe_url(url: str) -> str:
    """A database URL with its password masked (``user:***@host``), safe to log or record."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", str(url))


def read_sql(query: str, url: str) -> pd.DataFrame:
    """Run ``query`` through SQLAlchemy and return every value as text.

    Parameters
    ----------
    query : str
        A SELECT statement.
    url : str
        SQLAlchemy database URL, e.g. ``sqlite:///crm.db``.

    Returns
    -------
    pandas.DataFrame
        Like :func:`read_table`; ``row`` is the 1-based record number.

    Raises
    ------
    ReadError
        Bad URL, unreachable database, failing query (the password is masked).
    """
    import sqlalchemy as sa

    where = safe_url(url)
    try:
        engine = sa.create_engine(url)
    except Exception as exc:  # ArgumentError, NoSuchModuleError, ...
        raise ReadError(where, f"invalid database URL ({type(exc).__name__}: {exc})") from None
    try:
        with engine.connect() as con:
            result = con.execute(sa.text(query))
            df = pd.DataFrame(result.fetchall(), columns=list(result.keys()), dtype=object)
    except sa.exc.SQLAlchemyError as exc:
        msg = str(getattr(exc, "orig", exc)).splitlines()[0]
        raise ReadError(where, f"query failed ({msg})") from None
    finally:
        engine.dispose()
    df = _all_text(df)
    df.index = pd.RangeIndex(1, len(df) + 1, name="row")
    return df


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------- mappings


@dataclass(frozen=True)
class Mapping:
    """A declarative column mapping (see the module docstring for the YAML format).

    Attributes
    ----------
    name, version : str
        Recorded in the lineage log.
    table : str
        Contract table.
    columns : dict
        Contract column -> rule (dict with ``source``, ``type``, ...).
    constants : dict
        Contract column -> value for every row.
    origin : str
        File the mapping was loaded from.
    """

    name: str
    version: str
    table: str
    columns: dict[str, dict[str, Any]]
    constants: dict[str, Any] = field(default_factory=dict)
    origin: str = "the mapping"

    @classmethod
    def from_dict(cls, spec: dict, *, origin: str = "the mapping") -> Mapping:
        """Build and check a mapping from a parsed YAML document."""
        if not isinstance(spec, dict):
            raise MappingError(f"{origin}: a mapping must be a YAML mapping (key: value)")
        missing = [k for k in ("name", "table", "columns") if k not in spec]
        if missing:
            raise MappingError(f"{origin}: missing key(s) {missing}")
        table = spec["table"]
        if table not in schemas.SCHEMAS:
            raise MappingError(
                f"{origin}: unknown contract table {table!r}; known: {', '.join(schemas.SCHEMAS)}"
            )
        contract = list(schemas.SCHEMAS[table].columns)
        columns: dict[str, dict] = {}
        for col, rule in (spec.get("columns") or {}).items():
            rule = {"source": rule} if isinstance(rule, str | list) else dict(rule or {})
            rule.setdefault("type", "number" if "compute" in rule else "string")
            if col not in contract:
                raise MappingError(
                    f"{origin}: column {col!r} is not in contract table {table!r}"
                    + _did_you_mean(col, contract)
                )
            if rule["type"] not in _TYPES:
                raise MappingError(
                    f"{origin}: column {col}: unknown type {rule['type']!r}; "
                    f"use one of {sorted(_TYPES)}"
                )
            if "compute" in rule:
                _check_compute(col, rule, origin)
            elif rule["type"] != "row_number" and "source" not in rule:
                raise MappingError(f"{origin}: column {col}: no 'source' column given")
            if rule["type"] == "datetime" and not rule.get("formats"):
                raise MappingError(f"{origin}: column {col}: a datetime needs 'formats'")
            _check_missing_rule(col, rule, table, origin)
            rule["_origin"] = origin
            columns[col] = rule
        constants = dict(spec.get("constants") or {})
        unmapped = [c for c in contract if c not in columns and c not in constants]
        nonnull = [c for c in unmapped if not schemas.SCHEMAS[table].columns[c].nullable]
        if nonnull:
            raise MappingError(
                f"{origin}: contract columns {nonnull} of {table!r} are neither mapped nor "
                "constant; map them under 'columns' or set them under 'constants'"
            )
        return cls(
            name=str(spec["name"]),
            version=str(spec.get("version", "1")),
            table=table,
            columns=columns,
            constants=constants,
            origin=origin,
        )

    @property
    def sha256(self) -> str:
        """SHA-256 of the mapping's content (name, version, table, rules, constants).

        Computed on the parsed mapping, so comments and YAML layout do not change it;
        recorded in the lineage so that a file is loaded again when its mapping changes
        (even when its ``version`` was not raised).
        """
        spec = {
            "name": self.name,
            "version": self.version,
            "table": self.table,
            "columns": {
                c: {k: v for k, v in rule.items() if not k.startswith("_")}
                for c, rule in self.columns.items()
            },
            "constants": self.constants,
        }
        text = json.dumps(spec, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def required_sources(self) -> list[str]:
        """Source columns the file must have."""
        out: list[str] = []
        for rule in self.columns.values():
            if rule.get("required", True):
                out.extend(_sources(rule))
        return list(dict.fromkeys(out))

    def known_sources(self) -> list[str]:
        """Every source column the mapping reads."""
        out: list[str] = []
        for rule in self.columns.values():
            out.extend(_sources(rule))
        return list(dict.fromkeys(out))


def _check_missing_rule(col: str, rule: dict, table: str, origin: str) -> None:
    """A mapping's ``missing:`` / ``impute:`` of one column, checked."""
    policy = rule.get("missing")
    allowed = ", ".join(schemas.MISSING_POLICIES)
    if policy is not None and policy not in schemas.MISSING_POLICIES:
        raise MappingError(
            f"{origin}: column {col}: unknown missing-value policy {policy!r}; use one of: "
            f"{allowed}"
        )
    if policy == "impute" and "impute" not in rule:
        raise MappingError(
            f"{origin}: column {col}: policy 'impute' needs the value to fill in; add "
            "impute: <value>"
        )
    if "impute" in rule and policy != "impute":
        stated = policy or schemas.missing_policy(table, col)
        raise MappingError(
            f"{origin}: column {col}: 'impute' given but the policy is {stated!r}; add "
            "missing: impute"
        )
    dtype = str(schemas.SCHEMAS[table].columns[col].dtype)
    if policy == "unknown" and dtype != "string":
        raise MappingError(
            f"{origin}: column {col}: policy 'unknown' writes the text {schemas.UNKNOWN!r}, but "
            f"{col} is a {dtype} column; use impute or quarantine"
        )


def _missing_policy(m: Mapping, col: str) -> str:
    rule = m.columns.get(col, {})
    return rule.get("missing") or schemas.missing_policy(m.table, col)


MISSING_LOG_COLUMNS = ["table", "row", "column", "source", "policy", "value"]


def missing_value_log(
    raw: pd.DataFrame, mapping: str | Path | dict | Mapping, *, rows: Any = None
) -> pd.DataFrame:
    """The blank cells of a raw table and what their missing-value policy does with them.

    Parameters
    ----------
    raw : pandas.DataFrame
        As returned by :func:`read_table` (text cells, indexed by source row).
    mapping : str, path, dict or Mapping
        See :func:`load_mapping`.
    rows : index-like, optional
        Keep only these source rows (e.g. the accepted rows, ``mapped.data.index``).

    Returns
    -------
    pandas.DataFrame
        One row per blank cell (empty or only spaces, or a column absent from the file) of
        a mapped column whose policy is not ``keep``: ``table, row, column`` (contract
        column), ``source`` (file column), ``policy`` (``unknown``, ``impute`` or
        ``quarantine``) and ``value`` (the value written; missing for ``quarantine``).
    """
    m = load_mapping(mapping)
    parts = []
    for col, rule in m.columns.items():
        policy = _missing_policy(m, col)
        if policy == "keep" or rule["type"] == "row_number":
            continue
        text = _source_text(rule, raw).fillna("").astype(str)
        blank = text.str.strip().eq("").to_numpy(dtype=bool, copy=True)
        if rows is not None:
            blank &= raw.index.isin(rows)
        if not blank.any():
            continue
        value = {"unknown": schemas.UNKNOWN, "impute": rule.get("impute")}.get(policy)
        n = int(blank.sum())
        parts.append(
            pd.DataFrame(
                {
                    "table": [m.table] * n,
                    "row": raw.index[blank].to_numpy(),
                    "column": [col] * n,
                    "source": [", ".join(_sources(rule))] * n,
                    "policy": [policy] * n,
                    "value": [None if value is None else str(value)] * n,
                }
            )
        )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in MISSING_LOG_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["row", "column"], kind="stable").reset_index(drop=True)


def _fill_value(col: str, rule: dict, value: Any) -> Any:
    """The ``impute`` value of a column, parsed by the column's own rule."""
    problems: list[dict] = []
    text = pd.Series([str(value)], dtype=object)
    parsed = _parse(col, rule, text, pd.DataFrame(index=text.index), problems)
    if problems or pd.isna(parsed.iloc[0]):
        raise MappingError(
            f"{rule.get('_origin', 'the mapping')}: column {col}: impute value {value!r} "
            f"is not a valid {rule['type']}" + (f" ({problems[0]['reason']})" if problems else "")
        )
    return parsed.iloc[0]


def _sources(rule: dict) -> list[str]:
    if "compute" in rule:
        return list(rule["_columns"])
    src = rule.get("source")
    out = [] if src is None else [src] if isinstance(src, str) else list(src)
    out += _group_by(rule)
    return [str(s) for s in out]


def _group_by(rule: dict) -> list[str]:
    """The columns a ``row_number`` counts within: one name or a list of names."""
    g = rule.get("group_by")
    return [] if not g else [str(g)] if isinstance(g, str) else [str(c) for c in g]


# ---------------------------------------------------------- computed columns

_OPERATORS = "+-*/()"
_NUMBER_RE = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?(?=\s*(?:[-+*/()]|$))")


class _ComputeSyntaxError(ValueError):
    pass


def _compute_tokens(expr: str) -> list[tuple[str, Any]]:
    """Tokens ``("op", "+")``, ``("num", 2.5)``, ``("col", "Lineitem price")``."""
    out: list[tuple[str, Any]] = []
    i = 0
    while i < len(expr):
        c = expr[i]
        if c.isspace():
            i += 1
        elif c in _OPERATORS:
            out.append(("op", c))
            i += 1
        elif c == "`":
            end = expr.find("`", i + 1)
            if end < 0 or end == i + 1:
                raise _ComputeSyntaxError("an unclosed or empty `quoted` column name")
            out.append(("col", expr[i + 1 : end]))
            i = end + 1
        elif m := _NUMBER_RE.match(expr, i):
            out.append(("num", float(m.group(0))))
            i = m.end()
        else:
            end = i
            while end < len(expr) and expr[end] not in _OPERATORS + "`":
                end += 1
            out.append(("col", expr[i:end].strip()))
            i = end
    return out


def _compute_parse(expr: str) -> tuple:
    """Syntax tree of an arithmetic expression (never evaluated as Python).

    Grammar: ``expr := term (("+" | "-") term)*``, ``term := factor (("*" | "/")
    factor)*``, ``factor := "-" factor | "(" expr ")" | number | column``.
    """
    tokens = _compute_tokens(expr)
    pos = 0

    def peek() -> tuple[str, Any] | None:
        return tokens[pos] if pos < len(tokens) else None

    def describe(tok: tuple[str, Any] | None) -> str:
        return "the end" if tok is None else repr(tok[1])

    def factor() -> tuple:
        nonlocal pos
        tok = peek()
        if tok is None:
            raise _ComputeSyntaxError("an operand is missing at the end")
        pos += 1
        if tok == ("op", "-"):
            return ("neg", factor())
        if tok == ("op", "("):
            node = expression()
            if peek() != ("op", ")"):
                raise _ComputeSyntaxError(f"missing ')' before {describe(peek())}")
            pos += 1
            return node
        if tok[0] in {"num", "col"}:
            return tok
        raise _ComputeSyntaxError(f"unexpected {describe(tok)} where an operand belongs")

    def term() -> tuple:
        nonlocal pos
        node = factor()
        while peek() in {("op", "*"), ("op", "/")}:
            op = tokens[pos][1]
            pos += 1
            node = (op, node, factor())
        return node

    def expression() -> tuple:
        nonlocal pos
        node = term()
        while peek() in {("op", "+"), ("op", "-")}:
            op = tokens[pos][1]
            pos += 1
            node = (op, node, term())
        return node

    tree = expression()
    if pos < len(tokens):
        raise _ComputeSyntaxError(f"unexpected {describe(tokens[pos])} after a whole expression")
    return tree


def _compute_columns(tree: tuple) -> list[str]:
    if tree[0] == "col":
        return [tree[1]]
    if tree[0] == "num":
        return []
    return list(dict.fromkeys(c for child in tree[1:] for c in _compute_columns(child)))


def _check_compute(col: str, rule: dict, origin: str) -> None:
    """Parse ``rule["compute"]`` into ``rule["_tree"]`` and ``rule["_columns"]``."""
    expr = str(rule["compute"] or "").strip()
    if not expr:
        raise MappingError(f"{origin}: column {col}: 'compute' is empty")
    if "source" in rule:
        raise MappingError(f"{origin}: column {col}: give either 'source' or 'compute', not both")
    if rule["type"] != "number":
        raise MappingError(
            f"{origin}: column {col}: 'compute' gives a number; its type must be 'number'"
        )
    try:
        tree = _compute_parse(expr)
    except _ComputeSyntaxError as exc:
        raise MappingError(
            f"{origin}: column {col}: cannot read compute {expr!r}: {exc}. Use column names, "
            "numbers, + - * / and parentheses; quote a column name holding one of those "
            "characters in backticks"
        ) from None
    rule["compute"] = expr
    rule["_tree"] = tree
    rule["_columns"] = _compute_columns(tree)


def _compute_eval(tree: tuple, values: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Values of the tree and the rows where it divides by zero."""
    kind = tree[0]
    if kind == "num":
        n = len(next(iter(values.values()))) if values else 1
        return np.full(n, tree[1]), np.zeros(n, dtype=bool)
    if kind == "col":
        v = values[tree[1]]
        return v, np.zeros(len(v), dtype=bool)
    if kind == "neg":
        v, zero = _compute_eval(tree[1], values)
        return -v, zero
    a, za = _compute_eval(tree[1], values)
    b, zb = _compute_eval(tree[2], values)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "+":
            return a + b, za | zb
        if kind == "-":
            return a - b, za | zb
        if kind == "*":
            return a * b, za | zb
        return a / b, za | zb | (b == 0)


def _did_you_mean(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if not close:
        norm = {re.sub(r"[\W_]+", "", o).lower(): o for o in options}
        hit = norm.get(re.sub(r"[\W_]+", "", name).lower())
        close = [hit] if hit else []
    return f" (did you mean {close[0]!r}?)" if close else ""


def available_mappings() -> list[str]:
    """Names of the mappings shipped in ``crm_lib/mappings``."""
    return sorted(p.stem for p in _MAPPINGS_DIR.glob("*.yml"))


def load_mapping(mapping: str | Path | dict | Mapping) -> Mapping:
    """Load a mapping: a shipped name (``"simulated_world_orders"``), a YAML file or a dict.

    Raises
    ------
    MappingError
        Unknown name, unreadable YAML, or an invalid mapping.
    """
    import yaml

    if isinstance(mapping, Mapping):
        return mapping
    if isinstance(mapping, dict):
        return Mapping.from_dict(mapping)
    path = Path(mapping)
    if not path.suffix and not path.exists():
        path = _MAPPINGS_DIR / f"{mapping}.yml"
        if not path.is_file():
            raise MappingError(
                f"no shipped mapping {str(mapping)!r}; shipped: {', '.join(available_mappings())}"
                + _did_you_mean(str(mapping), available_mappings())
            )
    if not path.is_file():
        raise MappingError(f"mapping file {path.name} not found")
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path.name}: not valid YAML ({exc})") from None
    return Mapping.from_dict(spec, origin=path.name)


# ------------------------------------------------------------------ parse rules


def _problem(row, column, value, rule, reason) -> dict:
    return {"row": row, "column": column, "value": value, "rule": rule, "reason": reason}


def _parse_number(text: pd.Series, rule: dict) -> pd.Series:
    s = text.str.strip()
    for sym in rule.get("currency_symbols", []):
        s = s.str.replace(str(sym), "", regex=False)
    thousands = rule.get("thousands")
    decimal = rule.get("decimal", ".")
    if thousands:
        t, d = re.escape(str(thousands)), re.escape(str(decimal))
        grouped = s.str.fullmatch(rf"[+-]?\d{{1,3}}({t}\d{{3}})+({d}\d*)?")
        plain = ~s.str.contains(t, regex=True)
        s = s.str.replace(str(thousands), "", regex=False).where(grouped | plain, "bad")
    if decimal != ".":
        s = s.str.replace(str(decimal), ".", regex=False)
    # (12.50) -> -12.50 and "- 12.50" -> -12.50, on the few cells that can match (the
    # back-reference makes pandas leave its fast Arrow path)
    for start, pattern, repl in (("(", r"^\((.*)\)$", r"-\1"), ("-", r"^-\s+", "-")):
        hit = s.str.startswith(start).fillna(False).to_numpy(dtype=bool)
        if hit.any():
            s = s.copy()
            s.iloc[hit] = s.iloc[hit].str.replace(pattern, repl, regex=True)
    ok = s.str.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
    out = pd.to_numeric(s.where(ok), errors="coerce")
    return out.astype("float64")


def _parse_datetime(text: pd.Series, rule: dict) -> pd.Series:
    s = text.str.strip()
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    tz = rule.get("timezone", schemas.LOCAL_TIMEZONE)
    aware = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us, UTC]")
    for fmt in rule["formats"]:
        todo = out.isna() & aware.isna() & (s != "")
        if not todo.any():
            break
        try:
            parsed = pd.to_datetime(s[todo], format=fmt, errors="coerce", utc="%z" in fmt)
        except (ValueError, TypeError):  # a format pandas cannot use: no match
            continue
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            aware.loc[todo] = parsed.dt.tz_convert("UTC").dt.as_unit("us")
        else:
            out.loc[todo] = parsed.dt.as_unit("us")
    local = out.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    return local.where(local.notna(), aware).astype("datetime64[us, UTC]")


def _label_key(value: str, rule: dict) -> str:
    v = value.strip()
    return v if rule.get("case_sensitive") else v.casefold()


def _parse(col: str, rule: dict, text: pd.Series, raw: pd.DataFrame, problems: list) -> pd.Series:
    """Typed values of one contract column; unparseable cells are added to ``problems``."""
    kind = rule["type"]
    if "compute" in rule:
        return _parse_compute(col, rule, raw, problems)
    blank = text.str.strip() == ""
    src = ", ".join(_sources(rule))
    if kind == "string":
        out = text.where(~blank)
        if rule.get("strip"):
            out = out.str.strip()
        return out
    if kind == "row_number":
        return raw.groupby(_group_by(rule), sort=False).cumcount().add(1).astype("Int64")
    if kind in {"number", "integer"}:
        out = _parse_number(text, rule)
        bad = out.isna() & ~blank
        if kind == "integer":
            frac = out.notna() & (out != np.floor(out.fillna(0)))
            for r in out.index[frac]:
                problems.append(
                    _problem(
                        r, src, text[r], "integer", f"{col}: {text[r]!r} is not a whole number"
                    )
                )
            out = out.where(~frac)
            huge = out.abs() >= 2**63
            for r in out.index[huge]:
                problems.append(
                    _problem(r, src, text[r], "integer", f"{col}: {text[r]!r} is too large")
                )
            out = out.where(~huge).round().astype("Int64")
        for r in out.index[bad]:
            problems.append(_problem(r, src, text[r], kind, _number_reason(col, text[r], rule)))
        return out
    if kind == "datetime":
        out = _parse_datetime(text, rule)
        fmts = " or ".join(rule["formats"])
        for r in out.index[out.isna() & ~blank]:
            problems.append(
                _problem(
                    r,
                    src,
                    text[r],
                    "date",
                    f"{col}: {text[r]!r} is not a date (expected {fmts}, local time "
                    f"{rule.get('timezone', schemas.LOCAL_TIMEZONE)}; or add the format to "
                    f"{rule.get('_origin', 'the mapping')})",
                )
            )
        return out
    if kind == "label":
        labels = {_label_key(str(k), rule): v for k, v in (rule.get("labels") or {}).items()}
        # one lookup per distinct text, not per cell
        codes, uniques = pd.factorize(text, use_na_sentinel=True)
        lookup = [labels.get(_label_key(str(u), rule), np.nan) for u in uniques]
        mapped = pd.Series(
            np.array([*lookup, np.nan], dtype=object)[codes], index=text.index, dtype=object
        )
        if rule.get("strict", False):
            for r in mapped.index[mapped.isna() & ~blank]:
                problems.append(
                    _problem(
                        r,
                        src,
                        text[r],
                        "label",
                        f"{col}: {text[r]!r} is not a known label; add it to the mapping's labels",
                    )
                )
            return mapped.where(~blank)
        # Unmapped labels pass through (stripped) and meet the contract's check.
        return mapped.where(mapped.notna(), text.str.strip()).where(~blank)
    # boolean
    true = {str(v).strip().casefold() for v in rule.get("true", ["true", "1", "yes", "y"])}
    false = {str(v).strip().casefold() for v in rule.get("false", ["false", "0", "no", "n"])}
    keys = text.str.strip().str.casefold()
    out = pd.Series(pd.NA, index=text.index, dtype="boolean")
    out[keys.isin(true)] = True
    out[keys.isin(false)] = False
    for r in out.index[out.isna() & ~blank]:
        problems.append(
            _problem(
                r,
                src,
                text[r],
                "boolean",
                f"{col}: {text[r]!r} is not a yes/no value (expected one of "
                f"{sorted(true)} or {sorted(false)})",
            )
        )
    return out


def _number_reason(col: str, value: str, rule: dict) -> str:
    symbols = "".join(rule.get("currency_symbols", [])) or "none"
    return (
        f"{col}: {value!r} is not a number (expected digits with decimal "
        f"{rule.get('decimal', '.')!r}, thousands separator "
        f"{rule.get('thousands') or 'none'!r}, currency symbols {symbols})"
    )


def _parse_compute(col: str, rule: dict, raw: pd.DataFrame, problems: list) -> pd.Series:
    """A ``compute`` column: each operand parsed as a number (with the rule's options),
    then the arithmetic, row by row; an empty or unparseable operand or a division by
    zero is a problem (rule ``number`` or ``compute``), never a silent NaN or inf."""
    src = ", ".join(_sources(rule))
    expr = rule["compute"]
    bad = np.zeros(len(raw), dtype=bool)
    values: dict[str, np.ndarray] = {}
    for name in rule["_columns"]:
        if name in raw.columns:
            text = raw[name].fillna("").astype(str)
        else:  # an optional column absent from the file
            text = pd.Series("", index=raw.index, dtype=object)
        number = _parse_number(text, rule)
        blank = (text.str.strip() == "").to_numpy()
        unparsed = number.isna().to_numpy() & ~blank
        for r, value in zip(raw.index[unparsed & ~bad], text[unparsed & ~bad], strict=True):
            problems.append(_problem(r, src, value, "number", _number_reason(col, value, rule)))
        for r in raw.index[blank & ~bad]:
            problems.append(
                _problem(
                    r,
                    src,
                    "",
                    "compute",
                    f"{col}: {name!r} is empty; it is needed to compute {expr}",
                )
            )
        bad |= blank | unparsed
        values[name] = number.to_numpy(dtype="float64", na_value=np.nan)
    result, zero = _compute_eval(rule["_tree"], values)
    result = np.broadcast_to(result, (len(raw),)).astype("float64")
    for r in raw.index[zero & ~bad]:
        problems.append(_problem(r, src, None, "compute", f"{col}: division by zero in {expr}"))
    bad |= zero
    return pd.Series(np.where(bad, np.nan, result), index=raw.index, dtype="float64")


def _source_text(rule: dict, raw: pd.DataFrame) -> pd.Series:
    if "compute" in rule:  # read operand by operand in _parse_compute
        return pd.Series("", index=raw.index, dtype=object)
    srcs = [s for s in _sources(rule) if s not in _group_by(rule)]
    present = [s for s in srcs if s in raw.columns]
    if not present:
        return pd.Series("", index=raw.index, dtype=object)
    parts = [raw[s].fillna("").astype(str) for s in present]
    if len(parts) == 1:
        return parts[0]
    sep = rule.get("join", " ")
    out = parts[0].str.strip()
    for p in parts[1:]:
        p = p.str.strip()
        out = (out + sep + p).where((out != "") & (p != ""), out + p)
    return out


def _check_columns(raw: pd.DataFrame, m: Mapping, source: str) -> list[str]:
    cols = [str(c) for c in raw.columns if c != EXTRA_FIELDS]
    missing = [c for c in m.required_sources() if c not in cols]
    if missing:
        hints = "; ".join(f"{c!r}{_did_you_mean(c, cols)}" for c in missing)
        raise MappingError(
            f"{source}: missing required column(s) for mapping {m.name!r}: {hints}. "
            f"Columns in the file: {cols}. Rename them in the file or the mapping's 'source'."
        )
    return [c for c in cols if c not in m.known_sources()]


def _cast(col: str, values: pd.Series, table: str) -> pd.Series:
    dtype = str(schemas.SCHEMAS[table].columns[col].dtype)
    if dtype == "string":
        return values.astype("string")
    if dtype.startswith("datetime64"):
        return pd.to_datetime(values, utc=True).astype("datetime64[us, UTC]")
    if dtype == "bool":
        return values.astype("boolean").astype(bool)
    return values.astype(dtype)


@dataclass
class MappedTable:
    """Result of :func:`apply_mapping`.

    Attributes
    ----------
    data : pandas.DataFrame
        Accepted rows in contract columns and dtypes, indexed by source row.
    quarantine : pandas.DataFrame
        Columns :data:`crm_lib.contract.quarantine.QUARANTINE_COLUMNS`.
    reconciliation : Reconciliation
        Row counts (``rows_in == rows_accepted + rows_quarantined``).
    extra_columns : list of str
        Source columns the mapping ignores.
    filled : pandas.DataFrame
        Blank cells of accepted rows that a missing-value policy filled (``unknown`` or
        ``impute``), as :func:`missing_value_log` lists them; empty when the table was read
        back from the warehouse (:func:`read_loads`).
    """

    data: pd.DataFrame
    quarantine: pd.DataFrame
    reconciliation: Reconciliation
    extra_columns: list[str]
    filled: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=MISSING_LOG_COLUMNS, dtype=object)
    )

    def __iter__(self):  # allows ``data, quarantine = apply_mapping(...)``
        return iter((self.data, self.quarantine))

    def summary(self) -> pd.DataFrame:
        """Counts plus the number of quarantined rows per rule and the ignored columns."""
        out = self.reconciliation.summary()
        out["extra_columns"] = ", ".join(self.extra_columns)
        out["rules"] = ", ".join(
            f"{k}={v}" for k, v in self.quarantine.groupby("rule")["row"].nunique().items()
        )
        return out


def _table_key(table: str) -> list[str]:
    schema = schemas.SCHEMAS[table]
    if schema.unique:
        return list(schema.unique)
    return [c for c, col in schema.columns.items() if col.unique]


def apply_mapping(
    raw: pd.DataFrame,
    mapping: str | Path | dict | Mapping,
    *,
    source: str,
    vocabulary: dict[str, Sequence[str]] | None = None,
) -> MappedTable:
    """Map a raw text table to its contract table; quarantine rows that break a rule.

    Parameters
    ----------
    raw : pandas.DataFrame
        As returned by :func:`read_table` (text cells, indexed by source row).
    mapping : str, path, dict or Mapping
        See :func:`load_mapping`.
    source : str
        File or query name, used in messages and quarantine records.
    vocabulary : mapping, optional
        The dataset's own allowed values of its categorical columns (``dataset.yml``, see
        :func:`crm_lib.contract.schemas.validate`); ``None`` keeps the contract's
        reference lists.

    Returns
    -------
    MappedTable
        ``data`` (contract columns and dtypes, index = source row), ``quarantine``,
        ``reconciliation``, ``extra_columns``; unpacks as ``data, quarantine``.

    Raises
    ------
    MappingError
        The source lacks a required column (with a did-you-mean hint).

    Notes
    -----
    Order of checks: short lines, parse rules, blank values by their missing-value
    policy (``unknown`` or ``impute`` fill them, ``quarantine`` sends the row to quarantine
    with rule ``required``), duplicate keys (the first occurrence is kept, later ones
    quarantined with rule ``duplicate_key``),
    then :func:`crm_lib.contract.schemas.validate`; a row may collect several records.

    Text that a spreadsheet would run as a formula (``=HYPERLINK(...)``, ``@SUM(...)``)
    is data like any other here and is loaded verbatim: telling it from an ordinary value
    (the phone number ``+86 (138) 1234-5678``) is guesswork, and the danger exists only
    in a spreadsheet. Every CSV or Excel file the package writes goes through
    :func:`write_csv` / :func:`write_excel`, which neutralise it.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"Order No": ["O1", "O2"], "Line": ["1", "1"],
    ...     "Customer ID": ["C1", "C2"], "Order Date": ["2024-03-05 14:22:01", "2024-13-45"],
    ...     "Amount": ["1,234.50", "5"], "Currency": ["CNY", "CNY"], "Qty": ["1", "1"],
    ...     "SKU": ["P1", "P2"], "Category": ["home", "home"], "Channel": ["web", "web"],
    ...     "Original Order": ["", ""]}, index=pd.Index([2, 3], name="row"))
    >>> data, quarantine = apply_mapping(raw, "simulated_world_orders", source="orders.csv")
    >>> print(data[["order_id", "ordered_at", "amount"]].to_string(index=False))
    order_id                ordered_at  amount
          O1 2024-03-05 06:22:01+00:00  1234.5
    >>> print(quarantine.loc[0, "reason"])  # row 3 of orders.csv
    ordered_at: '2024-13-45' is not a date (expected %Y-%m-%d %H:%M:%S or %d/%m/%Y or %Y年%m月%d日 or %Y/%m/%d %H:%M, local time Asia/Shanghai; or add the format to simulated_world_orders.yml)
    """
    m = load_mapping(mapping)
    extra = _check_columns(raw, m, source)
    problems: list[dict] = []
    cells = raw.drop(columns=[EXTRA_FIELDS], errors="ignore")
    for r in raw.index[cells.isna().any(axis=1)]:
        problems.append(
            _problem(r, None, None, "short_row", "the line has fewer fields than the header")
        )
    if EXTRA_FIELDS in raw.columns:
        for r in raw.index[raw[EXTRA_FIELDS].fillna("") != ""]:
            problems.append(
                _problem(
                    r,
                    None,
                    raw.at[r, EXTRA_FIELDS],
                    "long_row",
                    "the line has more fields than the header (unquoted delimiter in a value?)",
                )
            )
    typed: dict[str, pd.Series] = {}
    for col, rule in m.columns.items():
        typed[col] = _parse(col, rule, _source_text(rule, raw), raw, problems)
    missing = missing_value_log(raw, m)
    fill = missing[missing["policy"].isin(["unknown", "impute"])]
    for col, cells in fill.groupby("column", sort=False):
        rule = m.columns[col]
        value = schemas.UNKNOWN if cells["policy"].iloc[0] == "unknown" else None
        if value is None:
            value = _fill_value(col, rule, rule["impute"])
        s = typed[col].astype(object)
        s.loc[cells["row"].to_numpy()] = value
        typed[col] = s
    for col, value in m.constants.items():
        if col not in typed:
            typed[col] = pd.Series(value, index=raw.index, dtype=object)
    schema = schemas.SCHEMAS[m.table]
    frame = pd.DataFrame(
        {c: typed.get(c, pd.Series(pd.NA, index=raw.index, dtype=object)) for c in schema.columns},
        index=raw.index,
    )
    flagged = {(p["row"], p["column"]) for p in problems}  # cells already reported
    for c, col in schema.columns.items():
        if col.nullable and _missing_policy(m, c) != "quarantine":
            continue
        empty = frame[c].isna()
        src = ", ".join(_sources(m.columns.get(c, {}))) or c
        for r in frame.index[empty]:
            if (r, src) in flagged:
                continue
            problems.append(
                _problem(r, src, "", "required", f"{c} is empty; the contract requires a value")
            )
    key = _table_key(m.table)
    bad_rows = {p["row"] for p in problems}
    ok = frame.loc[~frame.index.isin(bad_rows)]
    if key:
        dup = ok.duplicated(subset=key, keep="first")
        first_of = ok.loc[~dup].reset_index().set_index(key)["row"]
        repeats = ok.loc[dup, key]
        wanted = pd.MultiIndex.from_frame(repeats) if len(key) > 1 else repeats[key[0]]
        firsts = first_of.reindex(wanted).to_numpy()
        a = raw.loc[repeats.index]
        b = raw.loc[firsts]
        a_na, b_na = a.isna().to_numpy(), b.isna().to_numpy()
        equal = (a.to_numpy(dtype=object) == b.to_numpy(dtype=object)) & ~a_na & ~b_na
        same_rows = (equal | (a_na & b_na)).all(axis=1)
        for r, k, first, same in zip(
            repeats.index,
            repeats.itertuples(index=False, name=None),
            firsts,
            same_rows,
            strict=True,
        ):
            problems.append(
                _problem(
                    r,
                    ", ".join(key),
                    "/".join(map(str, k)),
                    "duplicate_key",
                    f"key {'/'.join(map(str, k))} already on row {first}"
                    + (" (exact copy)" if same else " (conflicting values)"),
                )
            )
    bad_rows = {p["row"] for p in problems}
    ok = frame.loc[~frame.index.isin(bad_rows)]
    data = pd.DataFrame({c: _cast(c, ok[c], m.table) for c in schema.columns}, index=ok.index)
    data, contract_problems = _contract(data, m.table, source, vocabulary)
    problems.extend(contract_problems)
    quarantine = quarantine_records(raw, problems, source=source)
    rec = reconcile(source, len(raw), data, quarantine)
    filled = fill[fill["row"].isin(data.index)].reset_index(drop=True)
    return MappedTable(data, quarantine, rec, extra, filled)


def _contract(
    data: pd.DataFrame, table: str, source: str, vocabulary: Any = None
) -> tuple[pd.DataFrame, list[dict]]:
    """Validate; failing rows are removed and returned as problems (at most 3 passes)."""
    problems: list[dict] = []
    for _ in range(3):
        try:
            schemas.validate(data, table, source=source, vocabulary=vocabulary)
            return data, problems
        except schemas.ContractError as err:
            f = err.failures
            table_level = f[f["row"].isna()]
            if len(table_level) and f["row"].notna().sum() == 0:
                raise MappingError(
                    f"{source}: the mapped table breaks the contract as a whole: "
                    + "; ".join(f"{r.column}: {r.check}" for r in table_level.itertuples())
                ) from None
            for rec in f[f["row"].notna()].itertuples(index=False):
                problems.append(
                    _problem(
                        int(rec.row),
                        rec.column,
                        None if isinstance(rec.value, dict) else rec.value,
                        f"contract:{rec.check}",
                        f"the row fails the contract check: {rec.check}"
                        if isinstance(rec.value, dict) or rec.column is None
                        else f"{rec.column}: {rec.value!r} fails the contract check {rec.check}",
                    )
                )
            data = data.loc[~data.index.isin(f["row"].dropna().astype(int))]
    schemas.validate(data, table, source=source, vocabulary=vocabulary)
    return data, problems


# ---------------------------------------------------------------------- ingest


@dataclass
class IngestResult:
    """What :func:`ingest` did.

    Attributes
    ----------
    status : str
        ``loaded``, ``skipped: already loaded``, or ``mostly quarantined`` / ``all
        quarantined`` when more than ``max_quarantined_share`` of the rows were set aside
        (the lineage record still says ``loaded``: the accepted rows are in the table).
    lineage : dict
        The lineage record written (columns of the ``lineage`` table; ``note`` says why
        a file was loaded again or skipped).
    data, quarantine : pandas.DataFrame
        Accepted and quarantined rows of this file (empty when skipped).
    warehouse : pathlib.Path
        The database file.
    """

    status: str
    lineage: dict
    data: pd.DataFrame
    quarantine: pd.DataFrame
    warehouse: Path

    def summary(self) -> pd.DataFrame:
        """The lineage record as a one-row DataFrame."""
        return pd.DataFrame([self.lineage], columns=_LINEAGE_COLUMNS)


def _existing(path: Path, table: str) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    from crm_lib.intake import warehouse as wh

    with wh.connect(path) as con:
        names = {r[0] for r in con.execute("show tables").fetchall()}
        if table not in names:
            return None
        return con.sql(f'select * from "{table}"').to_arrow_table().to_pandas()


def ingest(
    path: str | Path,
    mapping: str | Path | dict | Mapping,
    *,
    table: str | None = None,
    warehouse: str | Path | None = None,
    target: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    sheet: str | int | None = None,
    widths: Sequence[int] | None = None,
    vocabulary: dict[str, Sequence[str]] | None = None,
    max_quarantined_share: float = 0.5,
) -> IngestResult:
    """Read, map, validate, quarantine and load one file into the warehouse, idempotently.

    Parameters
    ----------
    path : str or pathlib.Path
        The raw export.
    mapping : str, path, dict or Mapping
        Column mapping (see :func:`load_mapping`).
    table : str, optional
        Contract table; must match the mapping's (default: the mapping's).
    warehouse : path, optional
        DuckDB file (default :func:`crm_lib.contract.config.warehouse_path`).
    target : str, optional
        Warehouse table to append to (default: ``table``).
    encoding, sep, sheet, widths
        Passed to :func:`read_table`.
    vocabulary : mapping, optional
        Passed to :func:`apply_mapping`: the dataset's own allowed values.
    max_quarantined_share : float
        When more than this share of the file's rows is quarantined, the result's status
        is ``mostly quarantined`` (or ``all quarantined``) instead of ``loaded`` and a
        :class:`QuarantineWarning` names the most frequent reasons: a wrong mapping or a
        vocabulary the dataset does not declare, not dirt.

    Returns
    -------
    IngestResult

    Notes
    -----
    A file that cannot be read or mapped raises its :class:`IngestError` after a lineage
    record with status ``failed: <message>`` is written.
    Idempotent: a file whose SHA-256 was already loaded into ``target`` with the same
    mapping (name, version and content hash :attr:`Mapping.sha256`) and the same
    ``vocabulary`` (lineage ``vocabulary_sha256``) is not read again (lineage status
    ``skipped: already loaded``). Loaded with a changed mapping (say, a date format added
    after rows were quarantined) or vocabulary, the file is processed again and
    **replaces** its earlier load: that load's rows in ``target`` and its quarantine
    records are removed, its lineage record keeps its counts with status
    ``replaced by <load_id>``, and the new record's ``note`` says what changed.
    Replaced, not kept beside: the warehouse holds each source row once, as the current
    mapping reads it (keeping both would count a row twice, or quarantine every row of
    the new load as ``already_loaded``); the old load can be rebuilt from the unchanged
    file and the old mapping. Rows whose key is already in ``target`` from another file
    are quarantined with rule ``already_loaded``. Writes ``target``,
    ``quarantine`` (with ``load_id``) and ``lineage`` in one :func:`crm_lib.intake.warehouse.write_tables`
    swap, holding the warehouse's writers' lock
    (:func:`crm_lib.intake.warehouse.writer_lock`, waiting up to :data:`LOCK_TIMEOUT`)
    from reading those tables to writing them back, so that loads running at the same
    time, in threads or processes, neither lose each other's rows nor load a file
    twice. The file is read and mapped before the lock is taken. Row-level lineage: ``target`` holds the contract columns plus ``load_id`` and
    ``row`` (the source row), so :func:`read_loads` can give back exactly this load.
    """
    from crm_lib.intake import warehouse as wh

    m = load_mapping(mapping)
    if table is not None and table != m.table:
        raise MappingError(f"mapping {m.name!r} maps to table {m.table!r}, not {table!r}")
    table = m.table
    target = target or table
    if warehouse is None:
        from crm_lib.contract import config

        warehouse = config.warehouse_path()
    db = Path(warehouse).expanduser().resolve()
    path = Path(path)
    if not path.is_file():
        raise ReadError(path, "file not found")
    sha = file_sha256(path)
    load_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{sha[:8]}"
    record = {
        "load_id": load_id,
        "source": path.name,
        "sha256": sha,
        "table": table,
        "target": target,
        "mapping": m.name,
        "mapping_version": m.version,
        "mapping_sha256": m.sha256,
        "vocabulary_sha256": _vocabulary_sha256(vocabulary),
        "loaded_at": pd.Timestamp.now(tz="UTC"),
        "note": "",
    }
    empty = IngestResult("", record, schemas.empty(table), empty_quarantine(), db)
    with wh.writer_lock(db, timeout=LOCK_TIMEOUT):
        skipped = _skip_if_loaded(db, record, m, empty, wh)
    if skipped is not None:
        return skipped
    try:
        raw = read_table(path, encoding=encoding, sep=sep, sheet=sheet, widths=widths)
        mapped = apply_mapping(raw, m, source=path.name, vocabulary=vocabulary)
    except IngestError as exc:
        record.update(rows_in=0, rows_accepted=0, rows_quarantined=0, status=f"failed: {exc}")
        with wh.writer_lock(db, timeout=LOCK_TIMEOUT):
            wh.write_tables({"lineage": _append(_existing(db, "lineage"), record)}, db)
        raise
    # Read, check and write back under the writers' lock: a load that published between
    # this read and this write would otherwise be overwritten (its rows lost).
    with wh.writer_lock(db, timeout=LOCK_TIMEOUT):
        skipped = _skip_if_loaded(db, record, m, empty, wh)  # loaded meanwhile?
        if skipped is not None:
            return skipped
        lineage = _existing(db, "lineage")
        previous = _live_loads(lineage, sha, target)
        data, quarantine = mapped.data, mapped.quarantine
        existing = _existing(db, target)
        old_q = _existing(db, "quarantine")
        replaced = previous["load_id"].astype(str).tolist()
        if replaced:  # loaded with another mapping or vocabulary: its rows are replaced
            if existing is not None and "load_id" in existing.columns:
                existing = existing.loc[~existing["load_id"].isin(replaced)]
            if old_q is not None and "load_id" in old_q.columns:
                old_q = old_q.loc[~old_q["load_id"].isin(replaced)]
            lineage = lineage.copy()
            lineage.loc[lineage["load_id"].isin(replaced), "status"] = f"replaced by {load_id}"
            before = previous.iloc[-1]
            changes = []
            if len(_same_mapping(previous.iloc[-1:], m)) == 0:
                changes.append(
                    f"mapping changed ({before['mapping']} version {before['mapping_version']}, "
                    f"sha256 {str(before['mapping_sha256'])[:12]} -> {m.name} version "
                    f"{m.version}, sha256 {m.sha256[:12]})"
                )
            old_vocabulary = _text(before["vocabulary_sha256"])
            if old_vocabulary != record["vocabulary_sha256"]:
                changes.append(
                    f"vocabulary changed (sha256 {old_vocabulary[:12] or 'none'} -> "
                    f"{record['vocabulary_sha256'][:12] or 'none'})"
                )
            record["note"] = (
                f"{' and '.join(changes)} since load {', '.join(replaced)}: its rows and "
                "quarantine records are replaced"
            )
        key = _table_key(table)
        if existing is not None and key and len(data):
            seen = pd.MultiIndex.from_frame(existing[key].astype(str))
            mine = pd.MultiIndex.from_frame(data[key].astype(str))
            again = mine.isin(seen)
            if again.any():
                extra = [
                    _problem(
                        r,
                        ", ".join(key),
                        "/".join(map(str, data.loc[r, key])),
                        "already_loaded",
                        f"key already in warehouse table {target!r} (loaded from another file)",
                    )
                    for r in data.index[again]
                ]
                quarantine = pd.concat(
                    [quarantine, quarantine_records(raw, extra, source=path.name)],
                    ignore_index=True,
                )
                data = data.loc[~again]
        rec = reconcile(path.name, len(raw), data, quarantine)
        record.update(
            rows_in=rec.rows_in,
            rows_accepted=rec.rows_accepted,
            rows_quarantined=rec.rows_quarantined,
            status="loaded",
        )
        out_data = _with_load_columns(data, load_id)
        if existing is not None:
            existing = existing.reindex(columns=out_data.columns)
            out_data = pd.concat(
                [existing.astype(out_data.dtypes.to_dict()), out_data], ignore_index=True
            )
        q = quarantine.assign(load_id=load_id, table=table)
        if old_q is not None:
            q = pd.concat([old_q, q], ignore_index=True)
        tables = {target: out_data, "quarantine": q, "lineage": _append(lineage, record)}
        wh.write_tables(tables, db)
    status = _quarantine_status(path.name, rec, quarantine, max_quarantined_share)
    return IngestResult(status, record, data, quarantine, db)


def _quarantine_status(name: str, rec: Any, quarantine: pd.DataFrame, threshold: float) -> str:
    """``loaded``, or ``mostly``/``all quarantined`` with a warning naming the reasons."""
    if not 0 <= threshold <= 1:
        raise ValueError(f"max_quarantined_share must be in [0, 1], got {threshold}")
    if not rec.rows_in or rec.rows_quarantined / rec.rows_in <= threshold:
        return "loaded"
    status = "all quarantined" if rec.rows_accepted == 0 else "mostly quarantined"
    reasons = quarantine.drop_duplicates("row")["rule"].value_counts().head(3)
    top = ", ".join(f"{rule} ({n:,} rows)" for rule, n in reasons.items())
    if reasons.index[0] == "already_loaded":
        hint = "the rows are already in the warehouse from another file (a copy of one loaded)"
    else:
        hint = (
            "this is more than dirt: check the mapping, and declare the dataset's own "
            "values (categories, regions, channels) in its dataset.yml `vocabularies`"
        )
    warnings.warn(
        f"{name}: {rec.rows_quarantined:,} of {rec.rows_in:,} rows were quarantined "
        f"({rec.rows_quarantined / rec.rows_in:.0%}); most common reasons: {top}; {hint}.",
        QuarantineWarning,
        stacklevel=3,
    )
    return status


LOCK_TIMEOUT = 600.0
"""Seconds :func:`ingest` waits for another writer of the same warehouse."""


def _same_mapping(previous: pd.DataFrame, m: Mapping) -> pd.DataFrame:
    """The loads among ``previous`` made with mapping ``m`` (name, version, content)."""
    return previous[
        (previous["mapping"] == m.name)
        & (previous["mapping_version"] == m.version)
        & (previous["mapping_sha256"].isna() | (previous["mapping_sha256"] == m.sha256))
    ]


def _same_rules(previous: pd.DataFrame, m: Mapping, vocabulary_sha256: str) -> pd.DataFrame:
    """The loads among ``previous`` made with mapping ``m`` and the same vocabulary."""
    same = _same_mapping(previous, m)
    return same[same["vocabulary_sha256"].map(_text) == vocabulary_sha256]


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _vocabulary_sha256(vocabulary: Any) -> str:
    """SHA-256 of a vocabulary (column -> allowed values, order ignored); "" for none."""
    if vocabulary is None:
        return ""
    spec = {str(c): sorted(map(str, values)) for c, values in dict(vocabulary).items()}
    text = json.dumps(spec, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _skip_if_loaded(
    db: Path, record: dict, m: Mapping, empty: IngestResult, wh
) -> IngestResult | None:
    """If the file was loaded with mapping ``m`` and the record's vocabulary, append a
    ``skipped: already loaded``
    lineage record and return the empty result; else None. Call under the writers' lock."""
    lineage = _existing(db, "lineage")
    previous = _live_loads(lineage, record["sha256"], record["target"])
    same = _same_rules(previous, m, record["vocabulary_sha256"])
    if same.empty:
        return None
    record.update(
        rows_in=0,
        rows_accepted=0,
        rows_quarantined=0,
        status="skipped: already loaded",
        note=f"same file and mapping as load {same['load_id'].iloc[-1]}",
    )
    wh.write_tables({"lineage": _append(lineage, record)}, db)
    empty.status = record["status"]
    return empty


def _live_loads(lineage: pd.DataFrame | None, sha: str, target: str) -> pd.DataFrame:
    """Lineage records of the loads of file ``sha`` into ``target`` whose rows are there."""
    if lineage is None:
        return pd.DataFrame(columns=_LINEAGE_COLUMNS)
    live = lineage.reindex(columns=_LINEAGE_COLUMNS)
    hit = (live["sha256"] == sha) & (live["target"] == target) & (live["status"] == "loaded")
    return live.loc[hit]


LOAD_COLUMNS = ["load_id", "row"]
"""Row-level lineage columns :func:`ingest` adds to a loaded table (after the contract's)."""

WORLD_TABLE = "world"
"""Warehouse table naming the world whose exports the warehouse holds (one row)."""


def _with_load_columns(data: pd.DataFrame, load_id: str) -> pd.DataFrame:
    out = data.reset_index(drop=True)
    out["load_id"] = pd.Series(load_id, index=out.index, dtype="str")
    out["row"] = pd.array(data.index.to_numpy(), dtype="Int64")
    return out


def warehouse_file(warehouse: str | Path, *, prefix: str = "crm_") -> Path:
    """The DuckDB file a notebook's ``warehouse`` parameter names.

    Parameters
    ----------
    warehouse : str or pathlib.Path
        A file path (relative paths start in the current folder; a notebook runs in its
        own folder), or ``""`` for a new temporary warehouse of this session.
    prefix : str
        Prefix of the temporary folder.

    Returns
    -------
    pathlib.Path
        Absolute path of the file (it need not exist yet). Files with raw rows that go
        with the warehouse (quarantine exports) belong in its folder, never in a report.
    """
    import tempfile

    if not str(warehouse).strip():
        return Path(tempfile.mkdtemp(prefix=prefix)) / "crm.duckdb"
    path = Path(warehouse).expanduser().resolve()
    if path.is_dir():
        raise IngestError(f"warehouse {path} is a folder; name the DuckDB file, e.g. crm.duckdb")
    return path


def warehouse_world(warehouse: str | Path) -> str | None:
    """Fingerprint of the world the warehouse holds (None: no file or no ``world`` table)."""
    table = _existing(Path(warehouse).expanduser().resolve(), WORLD_TABLE)
    if table is None or table.empty:
        return None
    return str(table["fingerprint"].iloc[-1])


def start_warehouse(warehouse: str | Path, *, world: str, description: str = "") -> Path:
    """Begin a fresh warehouse for one world: a new file holding only the ``world`` table.

    The warehouse is derived data: everything in it is rebuilt from the raw exports by
    :func:`ingest` and the cleaning steps, so starting afresh never loses information, and
    rows of two worlds (two deliveries, two simulated seeds) are never mixed. The file is
    replaced atomically (:func:`crm_lib.intake.warehouse.write_tables`), so a reader that is
    connected keeps its snapshot.

    Parameters
    ----------
    warehouse : str or pathlib.Path
        The DuckDB file (created with its folder).
    world : str
        Fingerprint of the world (e.g. :func:`crm_lib.datasets.world_fingerprint`).
    description : str
        Free text kept with it (e.g. ``repr(world)``).

    Returns
    -------
    pathlib.Path
        The file.
    """
    from crm_lib.intake import warehouse as wh

    if not str(world):
        raise ValueError("world must be a non-empty fingerprint")
    record = pd.DataFrame(
        {
            "fingerprint": pd.Series([str(world)], dtype="str"),
            "description": pd.Series([str(description)], dtype="str"),
            "started_at": pd.Series([pd.Timestamp.now(tz="UTC")]).astype("datetime64[us, UTC]"),
        }
    )
    return wh.write_tables(
        {WORLD_TABLE: record}, Path(warehouse).expanduser().resolve(), keep_existing=False
    )


def _contract_dtypes(data: pd.DataFrame, table: str) -> pd.DataFrame:
    out = {}
    for name, col in schemas.SCHEMAS[table].columns.items():
        dtype = str(col.dtype)
        s = data[name]
        if dtype == "string":
            s = s.astype("string")
        elif dtype.startswith("datetime64"):
            s = pd.to_datetime(s, utc=True).astype("datetime64[us, UTC]")
        elif dtype == "bool":
            s = s.astype("boolean").astype(bool)
        else:
            s = s.astype(dtype)
        out[name] = s
    return pd.DataFrame(out, index=data.index)


def read_loads(
    warehouse: str | Path,
    files: dict[str, str | Path],
    *,
    world: str,
    mappings: dict[str, str | Path | dict | Mapping] | None = None,
) -> dict[str, MappedTable] | None:
    """The tables :func:`ingest` loaded from ``files``, read back from the warehouse.

    Parameters
    ----------
    warehouse : str or pathlib.Path
        The DuckDB file.
    files : dict of str to path
        Warehouse table (``customers``, ``transactions``, ...) -> the export loaded into it.
        A load is found by the file's SHA-256 in the ``lineage`` table.
    world : str
        Fingerprint the warehouse must hold (see :func:`start_warehouse`).
    mappings : dict of str to mapping, optional
        Table -> the mapping the load must have used (name, version and content hash,
        as in the lineage); a load made with another mapping does not count.

    Returns
    -------
    dict of str to MappedTable or None
        Per table, what :func:`apply_mapping` returned for the file (``data`` in contract
        columns and dtypes indexed by source row, ``quarantine``, ``reconciliation``;
        ``extra_columns`` is empty), so a later step need not map the export again. None
        when the warehouse does not exist, holds no world, or holds no successful load of
        one of the files (with the given mapping; then ingest them first).

    Raises
    ------
    WarehouseWorldError
        The warehouse holds another world: it was built from other data. Rebuild it
        (:func:`start_warehouse` and :func:`ingest`) or use another warehouse.
    """
    from crm_lib.intake import warehouse as wh

    db = Path(warehouse).expanduser().resolve()
    held = warehouse_world(db)
    if held is None:
        return None
    if held != str(world):
        raise WarehouseWorldError(
            f"the warehouse {db} holds the exports of world {held}, not of world {world}: "
            "it was built from other data. Run the collection step (notebook 01) with the "
            "same data first, which rebuilds it, or pass another warehouse"
        )
    shas = {table: file_sha256(path) for table, path in files.items()}
    out: dict[str, MappedTable] = {}
    with wh.connect(db) as con:
        names = {r[0] for r in con.execute("show tables").fetchall()}
        if not {"lineage", "quarantine"} <= names or not set(files) <= names:
            return None
        lineage = con.sql("select * from lineage where status = 'loaded'").to_arrow_table()
        lineage = lineage.to_pandas()
        for table, sha in shas.items():
            hit = lineage[(lineage["sha256"] == sha) & (lineage["target"] == table)]
            if mappings is not None and table in mappings:
                m = load_mapping(mappings[table])
                hit = hit.reindex(columns=_LINEAGE_COLUMNS)
                hit = hit[
                    (hit["mapping"] == m.name)
                    & (hit["mapping_version"] == m.version)
                    & (hit["mapping_sha256"].isna() | (hit["mapping_sha256"] == m.sha256))
                ]
            if hit.empty:
                return None
            rec = hit.iloc[-1]
            load = "'" + str(rec["load_id"]).replace("'", "''") + "'"
            data = con.sql(
                f"select * from {_quote(table)} where load_id = {load} order by row"
            ).to_arrow_table()
            quarantine = con.sql(
                f"select * from quarantine where load_id = {load} "
                'order by row, "column" nulls first, rowid'
            ).to_arrow_table()
            contract = schemas.SCHEMAS[rec["table"]]
            data, quarantine = data.to_pandas(), quarantine.to_pandas()
            data.index = pd.Index(data["row"].astype("int64").to_numpy(), name="row")
            data = _contract_dtypes(data[list(contract.columns)], rec["table"])
            quarantine = quarantine[QUARANTINE_COLUMNS].astype(
                {c: "int64" if c == "row" else "str" for c in QUARANTINE_COLUMNS}
            )
            reconciliation = Reconciliation(
                str(rec["source"]),
                int(rec["rows_in"]),
                int(rec["rows_accepted"]),
                int(rec["rows_quarantined"]),
            )
            out[table] = MappedTable(data, quarantine.reset_index(drop=True), reconciliation, [])
    return out


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _append(lineage: pd.DataFrame | None, record: dict) -> pd.DataFrame:
    new = pd.DataFrame([record], columns=_LINEAGE_COLUMNS)
    new["loaded_at"] = pd.to_datetime(new["loaded_at"], utc=True)
    if lineage is None:
        return new
    return pd.concat([lineage, new], ignore_index=True)


# ---------------------------------------------------------------------- writers

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a text cell as a formula (OWASP)."""

_EXCEL_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _neutral(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def neutralize_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells cannot run as spreadsheet formulas.

    Every text cell (and column name) that starts with ``=``, ``+``, ``-``, ``@``, a tab
    or a carriage return gets a leading single quote, so ``=HYPERLINK("http://x","y")``
    is shown as text instead of being run. Numbers, booleans and dates are left as they
    are: a negative amount in a numeric column stays a number. Text that merely looks
    like a number (``"-12.50"`` in a text column) is quoted too, as the guidance asks.

    Parameters
    ----------
    df : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
        Same shape, index and dtypes (text columns may become ``object``).

    References
    ----------
    OWASP, *CSV Injection*, https://owasp.org/www-community/attacks/CSV_Injection.

    Examples
    --------
    >>> df = pd.DataFrame({"note": ["=1+2", "@SUM(A1)", "ok", "-3"], "amount": [1, -2.5, 3, -4]})
    >>> neutralize_formulas(df)
            note  amount
    0      '=1+2     1.0
    1  '@SUM(A1)    -2.5
    2         ok     3.0
    3        '-3    -4.0
    """
    columns = []
    for i in range(df.shape[1]):
        s = df.iloc[:, i]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s)):
            hit = s.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_TRIGGERS))
            if hit.any():
                s = s.astype(object).map(_neutral)
        columns.append(s)
    out = pd.concat(columns, axis=1) if columns else df.copy()
    out.columns = [_neutral(c) for c in df.columns]
    return out


def write_csv(
    df: pd.DataFrame,
    path: str | Path,
    *,
    index: bool = False,
    encoding: str = "utf-8-sig",
    sep: str = ",",
) -> Path:
    """Write a table as CSV with formula injection neutralised (see :func:`neutralize_formulas`).

    Parameters
    ----------
    df : pandas.DataFrame
    path : str or pathlib.Path
        Output file (its folder is created).
    index : bool
        Write the index as the first column.
    encoding : str
        Default ``utf-8-sig``: UTF-8 with a byte-order mark, which Excel needs to show
        Chinese text correctly; :func:`read_table` reads it back.
    sep : str
        Field delimiter.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    ExportError
        The file cannot be written, or a value cannot be encoded in ``encoding``.
    """
    path = Path(path)
    safe = neutralize_formulas(df)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # CRLF line ends (RFC 4180): the csv module then quotes every cell holding a CR
        # or LF, so a cell such as "'\r=1+1" is read back whole
        safe.to_csv(path, index=index, encoding=encoding, sep=sep, lineterminator="\r\n")
    except UnicodeEncodeError as exc:
        raise ExportError(
            f"{path.name}: a value cannot be written in {encoding} ({exc.object[exc.start : exc.end]!r}); "
            "use encoding='utf-8-sig'"
        ) from None
    except OSError as exc:
        raise ExportError(f"{path.name}: cannot write the file ({exc.strerror})") from None
    return path


def write_excel(
    df: pd.DataFrame,
    path: str | Path,
    *,
    sheet: str = "data",
    index: bool = False,
) -> Path:
    """Write a table as an Excel workbook (``.xlsx``) with formula injection neutralised.

    Parameters
    ----------
    df : pandas.DataFrame
    path : str or pathlib.Path
        Output ``.xlsx`` file (its folder is created).
    sheet : str
        Sheet name.
    index : bool
        Write the index as the first column.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ExportError
        A text cell holds a control character Excel cannot store (names column and
        row), or the file cannot be written.

    Notes
    -----
    Text cells starting with a formula trigger get a leading single quote (see
    :func:`neutralize_formulas`), so openpyxl stores them as text, never as formulas.
    Timezone-aware timestamps, which Excel cannot store, are written as ISO-8601 text
    with their UTC offset.
    """
    path = Path(path)
    safe = neutralize_formulas(df)
    columns = []
    for i in range(safe.shape[1]):
        s = safe.iloc[:, i]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            s = s.map(lambda v: v.isoformat() if pd.notna(v) else None).astype(object)
        elif not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s)):
            bad = s.map(lambda v: isinstance(v, str) and bool(_EXCEL_ILLEGAL.search(v)))
            if bad.any():
                row = s.index[bad.to_numpy()].tolist()[0]
                raise ExportError(
                    f"{path.name}: column {safe.columns[i]!r}, row {row!r}: the text holds a "
                    "control character that Excel cannot store; remove it before export"
                )
        columns.append(s)
    if columns:
        names = list(safe.columns)
        safe = pd.concat(columns, axis=1)
        safe.columns = names
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        safe.to_excel(path, sheet_name=sheet, index=index, engine="openpyxl")
    except OSError as exc:
        raise ExportError(f"{path.name}: cannot write the file ({exc.strerror})") from None
    return path
