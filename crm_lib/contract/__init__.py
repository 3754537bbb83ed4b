"""The data contract: the bottom layer every other package stands on.

- :mod:`~crm_lib.contract.schemas`: the contract tables, their columns and checks;
- :mod:`~crm_lib.contract.quarantine`: the quarantine record and the reconciliation of
  rows in = accepted + quarantined;
- :mod:`~crm_lib.contract.config`: where data, warehouse and reports live (environment);
- :mod:`~crm_lib.contract.frames`: handing a table to DuckDB.

It imports nothing else of crm_lib.
"""

from crm_lib.contract import (
    tables_attribution,  # noqa: F401  (registers touchpoints)
    tables_churn,  # noqa: F401  (registers the churn study's tables)
    tables_funnel,  # noqa: F401  (registers the funnel study's tables)
    tables_personalization,  # noqa: F401  (registers the personalization tables)
)
