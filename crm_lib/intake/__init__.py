"""Intake: from a user's exports or database to clean contract tables (notebooks 01, 02).

- :mod:`~crm_lib.intake.io`: readers (CSV, Excel, Parquet, JSONL, SQL), column mappings,
  ingest with lineage and quarantine, safe CSV/Excel export;
- :mod:`~crm_lib.intake.warehouse`: the DuckDB warehouse file and its writer lock;
- :mod:`~crm_lib.intake.profiling`: a first look at each table;
- :mod:`~crm_lib.intake.cleaning`: normalisation, returns, test data, outliers, currencies;
- :mod:`~crm_lib.intake.dedup`: de-duplication of customers (record linkage);
- :mod:`~crm_lib.intake.privacy`: pseudonyms, consent, erasure, scans for personal data;
- :mod:`~crm_lib.intake.pipeline`: the sources of a run and the cleaning steps in one call;
- :mod:`~crm_lib.intake.dataset_import`: ``crm data import``, a dataset folder from exports.

Intake imports only the contract (and the shared :mod:`crm_lib.i18n`); the modules are
reached as ``from crm_lib.intake import io, cleaning``.
"""
