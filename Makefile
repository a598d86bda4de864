# Routes: `make run` to see the dashboard, `make test` to check everything.
# `make help` lists the targets.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
WAREHOUSE ?= data/warehouse/routes.duckdb
RECORDS ?= 60000
PORT ?= 8501

.DEFAULT_GOAL := help
.PHONY: help install install-dev demo run test test-fast lint typecheck bench bench-large vendor clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(VENV)/bin/activate
	$(PIP) install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(VENV)/bin/activate
	$(PIP) install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime-installed

install: $(VENV)/.runtime-installed ## create .venv and install the pinned runtime requirements

install-dev: $(VENV)/.dev-installed ## install what the tests and checks need too

$(WAREHOUSE): | $(VENV)/.runtime-installed
	ROUTES_WAREHOUSE=$(WAREHOUSE) $(PY) -m pipelines setup-demo --records $(RECORDS)

demo: $(WAREHOUSE) ## generate demo agency exports and build the demo warehouse if missing

run: install demo ## build the demo if missing and start the dashboard at http://127.0.0.1:8501
	@echo "Routes is starting at http://127.0.0.1:$(PORT)"
	ROUTES_WAREHOUSE=$(WAREHOUSE) $(VENV)/bin/streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT)

test: install-dev ## run every test (browser tests need /usr/bin/chromium; CI installs it)
	ROUTES_QUIET=1 $(PY) -m pytest

test-fast: install-dev ## run the tests that need no browser
	ROUTES_QUIET=1 $(PY) -m pytest -m "not browser and not slow"

lint: install-dev ## ruff and mypy (CI runs it after the tests)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy routes geo pipelines query maps briefings ui

bench: install-dev ## measure speed and memory at 100 k and 1 M records, DuckDB against Spark too; writes bench/RESULTS.md
	$(PY) -m bench --sizes 100000 1000000
	$(PY) -m bench --engines --sizes 100000 1000000

bench-large: install-dev ## the benchmarks at 10 M records too
	$(PY) -m bench --sizes 100000 1000000 10000000

vendor: install ## refresh data/reference/ from ../shared/reference and validate it
	$(PY) -m pipelines vendor --from ../shared/reference

clean: ## remove working data (warehouse, control store and its audit anchor, demo files); keeps .venv and the keys
	rm -rf data/warehouse data/demo tests/artifacts data/secrets/audit.anchor
