"""The package layout: layers of the data flow, no import cycles, old paths still working.

The import rules are import-linter contracts in ``pyproject.toml`` ([tool.importlinter]);
here they are run on the code, and shown to fail on a planted cycle and a planted upward
import, so that a green run means something.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")

# The public names of the flat modules of crm_lib 0.1.0, copied from their ``__all__`` (or,
# for text.py, which had none, its public functions and constants) before the move. Each
# must still answer from its old path, with a DeprecationWarning that names the new one.
OLD_PUBLIC = {
    "cleaning": ["CREDIT_POLICIES", "CleaningError", "CleaningResult", "CurrencyConversion",
                 "DIMENSIONS", "NettedReturns", "OUTLIER_POLICIES", "PHONE_E164_CN",
                 "TEST_EMAIL_PATTERN", "TEST_NAME_PATTERN", "TestDataExclusion",
                 "compare_scorecards", "convert_currency", "exclude_test_data", "flag_outliers",
                 "handle_outliers", "net_returns", "normalize_email", "normalize_phone",
                 "normalize_text", "plot_scorecard", "quality_scorecard"],
    "clustering": ["ClusterRules", "CustomerClusterer", "DEFAULT_FEATURES", "best_k",
                   "bootstrap_stability", "categorical_display", "categorical_profiles",
                   "choose_k", "cluster_label", "cluster_profiles", "explain_clusters",
                   "plot_choose_k", "plot_profiles", "profiles_display", "transform_features"],
    "clv": ["BetaGeoModel", "GammaGammaModel", "ParetoNBDModel", "bgnbd_log_likelihood",
            "calibration_holdout_split", "customer_summary", "gamma_gamma_log_likelihood",
            "paretonbd_log_likelihood"],
    "clv_plots": ["bgnbd_truth", "holdout_error", "holdout_table", "parameter_table",
                  "plot_holdout", "plot_prob_alive"],
    "config": ["data_dir", "reports_dir", "simulated_world_dir", "warehouse_path"],
    "dedup": ["DEFAULT_THRESHOLD", "DedupError", "DedupResult", "MERGE_LOG_COLUMNS",
              "PAIR_COLUMNS", "deduplicate_customers", "reattribute"],
    "io": ["CSV_DELIMITERS", "EXTRA_FIELDS", "EmptyTableWarning", "ExportError",
           "FORMULA_TRIGGERS", "IngestError", "IngestResult", "MappedTable", "Mapping",
           "MappingError", "QUARANTINE_COLUMNS", "ReadError", "ReadWarning",
           "WarehouseWorldError", "apply_mapping", "available_mappings", "detect_encoding",
           "file_sha256", "ingest", "load_mapping", "neutralize_formulas", "read_loads",
           "read_sql", "read_table", "start_warehouse", "warehouse_file", "warehouse_world",
           "write_csv", "write_excel"],
    "privacy": ["EMAIL_RE", "KEY_ENV", "KEY_FILE", "PHONE_RE", "PseudonymKeyWarning",
                "consent_flags", "erase_customer", "load_key", "pseudonymize", "scan_for_pii"],
    "profiling": ["counts", "is_pii", "monthly", "overview", "profile_table"],
    "quarantine": ["QUARANTINE_COLUMNS", "Reconciliation", "ReconciliationError",
                   "empty_quarantine", "quarantine_records", "quarantine_rows", "reconcile"],
    "schemas": ["CATEGORIES", "CONTRACT_VERSION", "CUSTOMERS", "ContractError", "EVENTS",
                "EVENT_TYPES", "EXPERIMENT_ASSIGNMENTS", "EXPERIMENT_OUTCOMES", "GENDERS",
                "LANGUAGES", "LIKERT_ITEMS", "LOCAL_TIMEZONE", "MARKETING_CHANNELS", "REGIONS",
                "SALES_CHANNELS", "SURVEY_CONSTRUCTS", "SURVEY_RESPONSES", "SURVEY_STATUSES",
                "TRANSACTIONS", "UTC", "contract_table", "empty", "pii_columns", "validate"],
    "segmentation": ["EIGHT_CLASSES", "RFM_SEGMENTS", "rfm_classes", "rfm_scores",
                     "segment_table", "segment_table_display"],
    "text": ["EMAIL_RE", "EMAIL_TOKEN", "EN_LEXICON", "EN_STOPWORDS", "PHONE_RE", "PHONE_TOKEN",
             "ZH_LEXICON", "ZH_STOPWORDS", "ZH_USER_WORDS", "add_zh_words", "redact",
             "representative_comments", "sentiment", "sentiment_score", "term_frequencies",
             "tokenize"],
    "warehouse": ["WarehouseLockedError", "connect", "register_frame", "write_tables"],
}  # fmt: skip
# Where the README now sends users for each old module.
NEW_HOME = {
    "cleaning": "crm_lib.intake.cleaning",
    "clustering": "crm_lib.value",
    "clv": "crm_lib.value",
    "clv_plots": "crm_lib.value",
    "config": "crm_lib.contract.config",
    "dedup": "crm_lib.intake.dedup",
    "io": "crm_lib.intake.io",
    "privacy": "crm_lib.intake.privacy",
    "profiling": "crm_lib.intake.profiling",
    "quarantine": "crm_lib.contract.quarantine",
    "schemas": "crm_lib.contract.schemas",
    "segmentation": "crm_lib.value",
    "text": "crm_lib.survey.text",
    "warehouse": "crm_lib.intake.warehouse",
}
# crm_lib.value was the tiers-and-lifecycle module; the package keeps its names, unwarned.
OLD_VALUE = ["LIFECYCLE_STAGES", "TierMigration", "historical_clv", "lifecycle_stages",
             "pareto_curve", "period_value", "plot_migration", "plot_pareto", "stage_table",
             "tier_migration", "tier_table", "top_share", "value_tiers"]  # fmt: skip
PACKAGES = ["contract", "intake", "engine", "value", "experiments", "survey", "reporting",
            "datasets"]  # fmt: skip


def _lint(cwd: Path, extra_path: Path | None = None) -> subprocess.CompletedProcess:
    env = None
    if extra_path is not None:
        import os

        env = {**os.environ, "PYTHONPATH": str(extra_path)}
    return subprocess.run(
        [str(LINT), "--config", "pyproject.toml", "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_import_contracts_hold():
    run = _lint(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 kept, 0 broken" in run.stdout


def test_the_contracts_catch_a_cycle_and_an_upward_import(tmp_path):
    """Plant an upward import (contract -> value) and a cycle inside the engine."""
    shutil.copytree(ROOT / "crm_lib", tmp_path / "crm_lib", ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    assert _lint(tmp_path, tmp_path).returncode == 0  # the copy itself is clean
    schemas = tmp_path / "crm_lib" / "contract" / "schemas.py"
    schemas.write_text(schemas.read_text() + "\nfrom crm_lib.value import summary  # noqa\n")
    backends = tmp_path / "crm_lib" / "engine" / "backends.py"
    backends.write_text(
        backends.read_text() + "\nfrom crm_lib.engine import aggregations  # noqa\n"
    )
    run = _lint(tmp_path, tmp_path)
    assert run.returncode != 0
    out = run.stdout
    assert "Each layer imports only the layers below it" in out and "BROKEN" in out
    assert "crm_lib.contract.schemas -> crm_lib.value.summary" in out
    assert "No import cycles" in out and "1 kept, 2 broken" in out
    assert "in crm_lib.engine." in out and ".backends -> .aggregations" in out


@pytest.mark.parametrize("old", sorted(OLD_PUBLIC))
def test_old_paths_forward_with_a_warning_that_names_the_new_one(old):
    stub = importlib.import_module(f"crm_lib.{old}")
    home = importlib.import_module(NEW_HOME[old])
    for name in OLD_PUBLIC[old]:
        with pytest.warns(DeprecationWarning, match=rf"crm_lib\.{old}\.{name} has moved to "):
            got = getattr(stub, name)
        assert got is getattr(home, name), (old, name)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            getattr(stub, name)
        assert f"{NEW_HOME[old]}.{name}" in str(caught[0].message)
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        stub.no_such_name  # noqa: B018


def test_old_value_names_and_the_removed_engine_name():
    import crm_lib

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in OLD_VALUE:
            getattr(crm_lib.value, name)
    with pytest.raises(AttributeError, match=r"crm_lib\.experiments\.arm_stats\(.*engine="):
        crm_lib.engine.arm_sufficient_stats  # noqa: B018


def test_tests_mirror_the_packages():
    for pkg in PACKAGES:
        assert (ROOT / "crm_lib" / pkg / "__init__.py").is_file(), pkg
        assert list((ROOT / "tests" / pkg).glob("test_*.py")), f"tests/{pkg}/ has no tests"
