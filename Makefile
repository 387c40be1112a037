# Two commands do everything on a fresh clone: `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DBT_PROFILES_DIR := $(CURDIR)
export GX_ANALYTICS_ENABLED := false
export PYTHONDONTWRITEBYTECODE := 1

UV_VERSION := 0.13.9
VENV := .venv
BIN := $(VENV)/bin
# uv is bootstrapped from PyPI into .tools when the machine does not have it.
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)

RETENTION_DB_PATH ?= $(CURDIR)/warehouse.duckdb
export RETENTION_DB_PATH
DEMO_DATA := data/demo
DEMO_CUSTOMERS ?= 2000
TEST_DIR := target/test
TEST_DB := $(TEST_DIR)/warehouse.duckdb

.PHONY: help setup demo test lint build-test pytest validate validate-built bench clean docs

help:
	@echo "make demo   build the warehouse on the bundled demo data and print headline metrics"
	@echo "make test   lint, dbt build on the demo data, pytest python_checks, Great Expectations"
	@echo "make bench  the performance benchmark (see README)"
	@echo "make docs   docs/reference.md from the YAML, and the dbt docs site of the warehouse"

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet
	touch $@

setup: $(VENV)/.synced

$(DEMO_DATA)/.generated: | setup
	$(BIN)/retention generate --out $(DEMO_DATA) --customers $(DEMO_CUSTOMERS) --seed 42
	touch $@

# Build into a working copy, validate, then publish atomically over RETENTION_DB_PATH:
# a BI tool holding the published file open never sees a half-built warehouse.
demo: setup $(DEMO_DATA)/.generated
	$(BIN)/retention build --data $(DEMO_DATA) --db $(RETENTION_DB_PATH)
	$(BIN)/retention summary --db $(RETENTION_DB_PATH)

# Lint and the demo build side by side, then pytest and the demo's validation side by side
# (each pair fills the other's single-core stretches; -O keeps each target's output whole).
# Lint writes its dbt artifacts to target/lint, apart from the build's target/.
test: setup
	$(MAKE) --no-print-directory -j2 -O lint build-test
	$(MAKE) --no-print-directory -j2 -O pytest validate-built

LINT_ENV := RETENTION_DB_PATH=$(CURDIR)/target/lint.duckdb DBT_TARGET_PATH=$(CURDIR)/target/lint

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(LINT_ENV) $(BIN)/sqlfluff lint models tests macros analyses --processes 2
	# Project conventions on the manifest (dbt-bouncer.yml; dbt-score in pyproject.toml).
	$(LINT_ENV) $(BIN)/dbt parse --quiet
	$(BIN)/dbt-bouncer run --config-file dbt-bouncer.yml
	$(BIN)/dbt-score lint --manifest target/lint/manifest.json

# A fresh database every time: loads append, so loading the same folder into the last
# run's database would be skipped (already loaded) or, with other files, add to it.
build-test: setup $(DEMO_DATA)/.generated
	mkdir -p $(TEST_DIR)
	rm -f $(TEST_DB) $(TEST_DB).wal
	$(BIN)/retention load $(DEMO_DATA) --db $(TEST_DB)
	RETENTION_DB_PATH=$(CURDIR)/$(TEST_DB) $(BIN)/dbt build

pytest: setup
	$(BIN)/pytest python_checks -n 2 --dist loadfile --no-loadscope-reorder

validate: build-test validate-built

# Great Expectations on the demo warehouse that build-test made.
validate-built: setup
	$(BIN)/retention validate --db $(TEST_DB)

# The README's figures; `retention bench` alone is a quick run (10k and 100k customers, once).
BENCH_ARGS ?= --customers 10000 100000 1000000 --runs 3
bench: setup
	$(BIN)/retention bench $(BENCH_ARGS)

# docs/reference.md (raw input contract, metrics) from the YAML, then the dbt docs site with
# the catalog of the published warehouse (read from a copy: BI tools may hold the file open).
DOCS_DIR := target/docs
docs: setup
	$(BIN)/python -m retention.reference
	@test -f "$(RETENTION_DB_PATH)" || { echo "no warehouse at $(RETENTION_DB_PATH): run make demo first"; exit 2; }
	mkdir -p $(DOCS_DIR)/db
	cp "$(RETENTION_DB_PATH)" $(DOCS_DIR)/db/warehouse.duckdb
	RETENTION_DB_PATH=$(CURDIR)/$(DOCS_DIR)/db/warehouse.duckdb $(BIN)/dbt docs generate --static --target-path $(DOCS_DIR) --quiet
	@echo "docs site: $(DOCS_DIR)/static_index.html (one file: open it in a browser)"

clean:
	rm -rf target logs $(DEMO_DATA) .pytest_cache
