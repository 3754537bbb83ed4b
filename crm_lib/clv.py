"""Deprecated path of :mod:`crm_lib.value.summary` and :mod:`crm_lib.value.btyd`: moved in 0.1.1, this stub goes in 0.2."""

import crm_lib.value as _value
import crm_lib.value.btyd as _btyd
import crm_lib.value.summary as _summary
from crm_lib._moved import forward

__getattr__, __dir__ = forward(__name__, _summary, _btyd, public=_value)
