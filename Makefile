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

.PHONY: help setup demo test lint build-test pytest validate bench clean

help:
	@echo "make demo   build the warehouse on the bundled demo data and print headline metrics"
	@echo "make test   lint, dbt build on the demo data, pytest python_checks, Great Expectations"
	@echo "make bench  the performance benchmark (see README)"

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

test: setup lint build-test pytest validate

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	RETENTION_DB_PATH=$(CURDIR)/target/lint.duckdb $(BIN)/sqlfluff lint models tests macros --processes 2
	# Project conventions on the manifest (dbt-bouncer.yml; dbt-score in pyproject.toml).
	RETENTION_DB_PATH=$(CURDIR)/target/lint.duckdb $(BIN)/dbt parse --quiet
	$(BIN)/dbt-bouncer run --config-file dbt-bouncer.yml
	$(BIN)/dbt-score lint --manifest target/manifest.json

# A fresh database every time: loads append, so loading the same folder into the last
# run's database would be skipped (already loaded) or, with other files, add to it.
build-test: setup $(DEMO_DATA)/.generated
	mkdir -p $(TEST_DIR)
	rm -f $(TEST_DB) $(TEST_DB).wal
	$(BIN)/retention load $(DEMO_DATA) --db $(TEST_DB)
	RETENTION_DB_PATH=$(CURDIR)/$(TEST_DB) $(BIN)/dbt build

pytest: setup
	$(BIN)/pytest python_checks -n 2 --dist loadfile --no-loadscope-reorder

validate: build-test
	$(BIN)/retention validate --db $(TEST_DB)

# The README's figures; `retention bench` alone is a quick run (10k and 100k customers, once).
BENCH_ARGS ?= --customers 10000 100000 1000000 --runs 3
bench: setup
	$(BIN)/retention bench $(BENCH_ARGS)

clean:
	rm -rf target logs $(DEMO_DATA) .pytest_cache
