"""Deprecated path of :mod:`crm_lib.intake.dedup`: moved in 0.1.1, this stub goes in 0.2."""

import crm_lib.intake.dedup as _dedup
from crm_lib._moved import forward

__getattr__, __dir__ = forward(__name__, _dedup)
