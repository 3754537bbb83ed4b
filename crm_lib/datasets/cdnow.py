"""The CDNOW sample: the public data set of the BTYD literature, read from a registry file.

Fader, Hardie & Lee fitted BG/NBD, Pareto/NBD and gamma-gamma to a 1/10th sample of the
customers who made their first purchase at the online music retailer CDNOW in the first
quarter of 1997: 2,357 customers, 6,919 purchases from 1997-01-01 to 1998-06-30; the
first 39 weeks (to 1997-09-30) are the calibration period of the published estimates.
The sample is public; crm_lib does not redistribute it but reads it from the file that
the ``lifetimes`` 0.11.3 wheel on PyPI carries (``lifetimes/datasets/``).
``make external`` downloads that wheel into ``data/external/`` **without installing
it** (lifetimes is not a dependency of crm_lib).

>>> from crm_lib.datasets import load_cdnow              # doctest: +SKIP
>>> load_cdnow("summary").shape                          # doctest: +SKIP
(2357, 5)

References
----------
Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). "Counting your customers" the easy
way: An alternative to the Pareto/NBD model. Marketing Science, 24(2), 275-284.
Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV: Using iso-value curves
for customer base analysis. Journal of Marketing Research, 42(4), 415-430.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Literal

import pandas as pd

from crm_lib.contract import config

__all__ = ["CALIBRATION_END", "CDNOW_WHEEL", "CDNOWNotFoundError", "load_cdnow"]

CDNOW_WHEEL = "Lifetimes-0.11.3-py3-none-any.whl"
#: End of the 39-week calibration period of the published estimates (inclusive day).
CALIBRATION_END = pd.Timestamp("1997-09-30")

_FILES = {
    "summary": "cdnow_customers_summary_with_transactions.csv",
    "transactions": "CDNOW_sample.txt",
}


class CDNOWNotFoundError(FileNotFoundError):
    """The file holding the CDNOW sample is not there (run ``make external``)."""


def _default_source() -> Path:
    return config.data_dir() / "external" / CDNOW_WHEEL


def _read_bytes(source: Path, name: str) -> bytes:
    if not source.exists():
        raise CDNOWNotFoundError(
            f"{source}: the CDNOW sample is read from the lifetimes 0.11.3 wheel; fetch it "
            "with 'make external' (pip download --no-deps lifetimes==0.11.3 -d data/external)"
        )
    if source.is_dir():
        path = source / name
        if not path.exists():
            raise CDNOWNotFoundError(f"{path}: not found (expected the CDNOW file {name})")
        return path.read_bytes()
    try:
        with zipfile.ZipFile(source) as wheel:
            return wheel.read(f"lifetimes/datasets/{name}")
    except (zipfile.BadZipFile, KeyError) as exc:
        raise CDNOWNotFoundError(
            f"{source}: not a lifetimes wheel holding lifetimes/datasets/{name} ({exc})"
        ) from exc


def load_cdnow(
    kind: Literal["summary", "transactions"] = "summary", *, source: str | Path | None = None
) -> pd.DataFrame:
    """Load the CDNOW sample (2,357 customers) as a summary or as the transaction log.

    Parameters
    ----------
    kind : {"summary", "transactions"}
        ``"summary"``: the published calibration summary, one row per customer with the
        BTYD column names ``customer_id, frequency, recency, T`` (weeks, 39-week
        calibration period ending 1997-09-30) and ``monetary_value`` (mean value of the
        repeat purchases in USD, 0 without repeat purchase). ``"transactions"``: the
        purchase log of the whole 78 weeks, ``customer_id, ordered_at`` (UTC midnight of
        the purchase day), ``cds`` (number of CDs) and ``amount`` (USD).
    source : path, optional
        The lifetimes wheel, or a folder holding its ``datasets`` files. Default:
        ``<data dir>/external/Lifetimes-0.11.3-py3-none-any.whl``.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    CDNOWNotFoundError
        When the source file is missing or does not hold the CDNOW files.
    """
    if kind not in _FILES:
        raise ValueError(f"kind must be one of {sorted(_FILES)}, not {kind!r}")
    src = Path(source) if source is not None else _default_source()
    data = _read_bytes(src, _FILES[kind])
    if kind == "summary":
        df = pd.read_csv(io.BytesIO(data))
        return pd.DataFrame(
            {
                "customer_id": df["ID"].astype(str),
                "frequency": df["x"].astype("int64"),
                "recency": df["t_x"].astype(float),
                "T": df["T"].astype(float),
                "monetary_value": df["zbar"].astype(float),
            }
        )
    df = pd.read_csv(
        io.BytesIO(data),
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "amount"],
        dtype={"master_id": str, "customer_id": str, "date": str},
    )
    return pd.DataFrame(
        {
            "customer_id": df["customer_id"].str.lstrip("0"),
            "ordered_at": pd.to_datetime(df["date"], format="%Y%m%d").dt.tz_localize("UTC"),
            "cds": df["cds"].astype("int64"),
            "amount": df["amount"].astype(float),
        }
    )
