"""Deprecated path of :mod:`crm_lib.value.clustering`: moved in 0.1.1, this stub goes in 0.2."""

import crm_lib.value as _value
import crm_lib.value.clustering as _clustering
from crm_lib._moved import forward

__getattr__, __dir__ = forward(__name__, _clustering, public=_value)
