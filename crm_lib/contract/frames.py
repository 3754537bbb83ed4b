"""Handing a contract table (a pandas or Arrow frame) to DuckDB.

Lives in the contract layer because the intake (the warehouse), the engine's callers and the
study packages all register frames, and a helper two layers need lives in the lower one.
"""

from __future__ import annotations

from typing import Any

__all__ = ["register_frame"]


def register_frame(con: Any, name: str, frame: Any) -> None:
    """``con.register(name, frame)``, also for a pandas frame whose columns run backwards.

    DuckDB 2.0 cannot scan a NumPy column with a negative step (``df.iloc[::-1]`` raises
    ``std::bad_cast``); such a frame is registered as a contiguous copy instead.
    """
    import duckdb

    try:
        con.register(name, frame)
    except duckdb.Error as exc:
        if "bad_cast" not in str(exc) or not hasattr(frame, "copy"):
            raise
        con.register(name, frame.copy())
