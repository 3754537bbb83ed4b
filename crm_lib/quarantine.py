"""Deprecated path of :mod:`crm_lib.contract.quarantine`: moved in 0.1.1, this stub goes in 0.2."""

import crm_lib.contract.quarantine as _quarantine
from crm_lib._moved import forward

__getattr__, __dir__ = forward(__name__, _quarantine)
