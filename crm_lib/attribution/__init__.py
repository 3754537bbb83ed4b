"""Multi-channel attribution (notebook ``08_attribution``).

Which channel earned the sale? From the ``touchpoints`` table to channel shares:

- :mod:`~crm_lib.attribution.journeys`: journeys (ordered touches up to a conversion or
  the last touch, within a lookback window), built by SQL on the engine;
- :mod:`~crm_lib.attribution.models`: heuristic models, the Markov chain with exact
  removal effects, Shapley values;
- :mod:`~crm_lib.attribution.compare`: all models side by side, bootstrap intervals over
  customers, the comparison with the truth and a budget what-if;
- :mod:`~crm_lib.attribution.plots`: the comparison chart.
"""

from crm_lib.attribution.compare import (
    attribute,
    bootstrap_shares,
    budget_what_if,
    channel_costs,
    compare_truth,
)
from crm_lib.attribution.journeys import Journeys, build_journeys, journeys_from_paths
from crm_lib.attribution.models import (
    HEURISTICS,
    MODELS,
    MarkovResult,
    heuristic_attribution,
    markov_attribution,
    shapley_attribution,
)
from crm_lib.attribution.plots import plot_shares

__all__ = [
    "HEURISTICS",
    "MODELS",
    "Journeys",
    "MarkovResult",
    "attribute",
    "bootstrap_shares",
    "budget_what_if",
    "build_journeys",
    "channel_costs",
    "compare_truth",
    "heuristic_attribution",
    "journeys_from_paths",
    "markov_attribution",
    "plot_shares",
    "shapley_attribution",
]
