"""Old import paths of modules that moved in 0.1.1, kept working for one release.

``crm_lib.clv``, ``crm_lib.io`` and the other flat modules of 0.1.0 moved into the
packages of the data flow (contract → intake → engine → one package per study →
reporting). Each old module is now a stub whose attributes forward to the new home with a
:class:`DeprecationWarning` naming the new path. The stubs go in 0.2.
"""

from __future__ import annotations

import warnings
from types import ModuleType
from typing import Any

REMOVED_IN = "0.2"


def forward(old: str, *homes: ModuleType, public: ModuleType | None = None):
    """``__getattr__`` and ``__dir__`` for the stub module ``old``.

    A name is looked up in ``homes`` in order; the warning names ``public.<name>`` when the
    package ``public`` exports it (the short path users should write), else the module that
    defines it.
    """

    def __getattr__(name: str) -> Any:
        for home in homes:
            if hasattr(home, name):
                where = public if public is not None and hasattr(public, name) else home
                warnings.warn(
                    f"{old}.{name} has moved to {where.__name__}.{name}; the old path "
                    f"{old} is deprecated and goes in crm_lib {REMOVED_IN}",
                    DeprecationWarning,
                    stacklevel=2,
                )
                return getattr(home, name)
        raise AttributeError(f"module {old!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({n for home in homes for n in dir(home) if not n.startswith("__")})

    return __getattr__, __dir__
