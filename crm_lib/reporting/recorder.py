"""Record headline numbers from a notebook so the report runner can collect them.

A notebook calls :func:`record` (or :func:`record_many`) for the few numbers a
stakeholder or a monitoring job should see without opening the report::

    from crm_lib.reporting import record

    record("n_customers", len(customers))
    record("uplift", {"estimate": 0.031, "ci_low": 0.012, "ci_high": 0.050})

Each call displays one output carrying two representations: a machine-readable
``application/vnd.crm-lib.metric+json`` bundle (the same idea as scrapbook's ``glue``,
without its unmaintained dependency) and a ``text/plain`` fallback such as
``n_customers = 5000``. Jupyter does not know the custom type and shows the text; the
report runner reads the JSON from the executed notebook (:func:`collect_records`).
Outside IPython the text is printed.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import sys
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import nbformat

__all__ = ["METRIC_MIME", "collect_records", "record", "record_many", "to_jsonable"]

#: MIME type of the outputs written by :func:`record`.
METRIC_MIME = "application/vnd.crm-lib.metric+json"


def record(name: str, value: Any) -> None:
    """Record one headline number (or small structure) of the notebook.

    Parameters
    ----------
    name : str
        Metric name, e.g. ``"n_customers"``. Recording the same name again replaces
        the earlier value (the last call wins).
    value : number, str, bool, None, or lists/dicts of those
        Must be JSON-serialisable. NumPy scalars and arrays, tuples, dates and
        datetimes are converted; NaN and infinities become ``null`` with a warning.

    Raises
    ------
    TypeError
        If the value (or a nested part of it) cannot be stored as JSON.

    Examples
    --------
    >>> record("n_customers", 5000)
    n_customers = 5000
    """
    record_many({name: value})


def record_many(mapping: Mapping[str, Any]) -> None:
    """Record several metrics at once, e.g. ``record_many({"n": 10, "rate": 0.2})``.

    All values are checked before anything is displayed, so a bad value records
    nothing. See :func:`record` for the accepted values.

    Examples
    --------
    >>> record_many({"n": 10, "rate": 0.25})
    n = 10
    rate = 0.25
    """
    if not isinstance(mapping, Mapping):
        raise TypeError(
            f"record_many expects a mapping of metric name to value, got {type(mapping).__name__}"
        )
    metrics = {_check_name(name): to_jsonable(value, where=name) for name, value in mapping.items()}
    if not metrics:
        return
    text = "\n".join(f"{name} = {_format(value)}" for name, value in metrics.items())
    _show({METRIC_MIME: {"metrics": metrics}, "text/plain": text})


def to_jsonable(value: Any, *, where: str = "value") -> Any:
    """Convert ``value`` into plain JSON types (dict, list, str, int, float, bool, None).

    Parameters
    ----------
    value : object
        The value to convert.
    where : str
        Name used in error messages (the metric name and the path inside it).

    Returns
    -------
    object
        A value that :func:`json.dumps` accepts with ``allow_nan=False``.

    Raises
    ------
    TypeError
        For values that have no faithful JSON form (DataFrames, arbitrary objects,
        dicts with non-string keys).
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _finite_or_none(float(value), where)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if isinstance(value, numpy.generic):
            return to_jsonable(value.item(), where=where)
        if isinstance(value, numpy.ndarray):
            return to_jsonable(value.tolist(), where=where)
    pandas = sys.modules.get("pandas")
    if pandas is not None:
        if value is pandas.NA or value is pandas.NaT:
            warnings.warn(f"{where}: missing value recorded as null", RuntimeWarning, stacklevel=4)
            return None
        if isinstance(value, pandas.Series | pandas.DataFrame):
            raise TypeError(
                f"{where}: cannot record a pandas {type(value).__name__}; record a few headline "
                "numbers, or convert it first (series.to_dict(), df.to_dict('records'))"
            )
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"{where}: dict keys must be strings to be stored as JSON, "
                    f"got {key!r} ({type(key).__name__})"
                )
            out[key] = to_jsonable(item, where=f"{where}[{key!r}]")
        return out
    if isinstance(value, list | tuple):
        return [to_jsonable(item, where=f"{where}[{i}]") for i, item in enumerate(value)]
    raise TypeError(
        f"{where}: cannot record a value of type {type(value).__name__}; record numbers, "
        "strings, bools, None, or lists/dicts of those"
    )


def collect_records(nb: nbformat.NotebookNode) -> dict[str, Any]:
    """Gather the metrics recorded in an executed notebook, in recording order.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        An executed notebook.

    Returns
    -------
    dict
        Metric name to value; a name recorded twice keeps its last value.
    """
    metrics: dict[str, Any] = {}
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(METRIC_MIME)
            if isinstance(payload, str):  # a bundle stored as text by some writer
                payload = json.loads(payload)
            if isinstance(payload, Mapping) and isinstance(payload.get("metrics"), Mapping):
                metrics.update(payload["metrics"])
    return metrics


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"metric names must be non-empty strings, got {name!r}")
    return name


def _finite_or_none(value: float, where: str) -> float | None:
    if math.isfinite(value):
        return value
    warnings.warn(f"{where}: {value} is not valid JSON; recorded as null", RuntimeWarning, 4)
    return None


def _format(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def _show(bundle: dict[str, Any]) -> None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        from IPython.display import display

        display(bundle, raw=True)
    else:
        print(bundle["text/plain"])
