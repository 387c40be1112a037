# Two commands do everything on a fresh clone: `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# make splits paths on spaces (targets, prerequisites, the unquoted paths of the recipes):
# in a checkout whose path has one, `make setup` ran pip and uv under broken-up paths. Say so.
ifneq ($(words $(CURDIR)),1)
$(error the checkout's path has a space ($(CURDIR)), which make cannot handle: clone or move it to a path without spaces)
endif

export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DBT_PROFILES_DIR := $(CURDIR)
export GX_ANALYTICS_ENABLED := false
# No __pycache__ in the checkout. The venv's packages are compiled once when uv installs
# them (--compile-bytecode): without it every process (each dbt run) compiled dbt, pandas
# and the rest from source again, about a third of a small build's time.
export PYTHONDONTWRITEBYTECODE := 1

UV_VERSION := 0.13.9
VENV := .venv
BIN := $(VENV)/bin
# uv is bootstrapped from PyPI into .tools when the machine does not have it.
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)

RETENTION_DB_PATH ?= $(CURDIR)/warehouse.duckdb
export RETENTION_DB_PATH
# RETENTION_TARGET picks the target of a plain dbt command (docs/spark.md); the
# recipes here build DuckDB files unless they say --target spark, so it is not passed on.
unexport RETENTION_TARGET
DEMO_DATA := data/demo
DEMO_CUSTOMERS ?= 2000
TEST_DIR := target/test
TEST_DB := $(TEST_DIR)/warehouse.duckdb
# Every dbt run below (and sqlfluff's, which parses with dbt) goes through it: dbt's partial
# parse (partial_parse.msgpack in the run's target path) is removed when a YAML file dbt
# reads changed since a run of these commands or of `retention` left it, because dbt 1.11
# gets such changes wrong (a removed unit test kept, "Unable to find model ... for unit
# test" after a branch switch). retention/partial_parse.py; data-diff parses in full instead.
FRESH_PARSE := $(BIN)/python -m retention.partial_parse

.PHONY: help setup demo test lint conventions build-test pytest validate validate-built bench \
	pre-commit pre-commit-all slim-ci data-diff clean dashboard dashboard-setup chromium test-dashboard docs \
	setup-spark build-spark test-spark test-period-ends test-corrections test-whole-commands \
	test-reference

help:
	@echo "make demo   build the warehouse on the bundled demo data and print headline metrics"
	@echo "make test   lint, dbt build on the demo data, pytest python_checks, Great Expectations"
	@echo "make bench  the performance benchmark (see docs/performance.md)"
	@echo "make pre-commit       install the git pre-commit hook (pre-commit-all: every hook, every file)"
	@echo "make data-diff        the marts of BASE_REF (default origin/main) and of this checkout compared"
	@echo "make slim-ci PROD_STATE=DIR PROD_DB=FILE  build only what changed against production (docs/ci.md)"
	@echo "make dashboard       serve the retention dashboard on the published warehouse"
	@echo "make test-dashboard  render every dashboard page in headless Chromium"
	@echo "make test-period-ends nightly builds across month, quarter and year ends vs full refreshes"
	@echo "make test-corrections nightly corrections of closed months vs full refreshes"
	@echo "make test-whole-commands make data-diff, slim-ci, the hooks, retention build --quiet end to end"
	@echo "make test-reference  the marts against the independent reference on 20 random data sets"
	@echo "make docs   docs/reference.md from the YAML, and the dbt docs site of the warehouse"
	@echo "make setup-spark      PySpark, dbt-spark and Java 17 (docs/spark.md); build-spark, test-spark"

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

# A .venv that is a symbolic link belongs to another checkout (the tests' throw-away clones
# link the repository's): make takes it as set up there and never syncs it from here. A
# sync through the link would install this checkout's package in place of the owner's.
# The same for the dashboard's and Spark's groups (make dashboard-setup, make setup-spark):
# installed from the owner's checkout, or said to be.
LINKED_VENV := $(shell test -L $(VENV) && echo linked)
ifeq ($(LINKED_VENV),linked)
$(VENV)/.synced: ;
sync_group = @echo "make $(2): .venv links another checkout's ($(realpath $(VENV))): not synced from here; run make $(2) in that checkout when its $(1) packages are missing" >&2
else
$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet --compile-bytecode
	touch $@
sync_group = $(UV) sync --frozen --inexact --quiet --group $(1) --compile-bytecode
endif

setup: $(VENV)/.synced

# Generated again when the generator changed since (a pull bringing a new generator, a
# branch switch): the demo data must be what this checkout's generator writes.
GENERATOR := $(wildcard retention/generate/*.py) retention/contract.py
$(DEMO_DATA)/.generated: $(GENERATOR) | setup
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
	$(LINT_ENV) $(FRESH_PARSE) $(BIN)/sqlfluff lint models tests analyses --processes 2
	$(MAKE) --no-print-directory conventions

# Project conventions on the manifest (dbt-bouncer.yml; dbt-score in pyproject.toml); also
# the pre-commit hook `conventions`. dbt-bouncer draws its failures as a table as wide as
# the terminal; without one (pre-commit, CI) it took 80 columns and cut every failure's
# message to "…", so 200 columns then.
conventions: setup
	$(LINT_ENV) $(FRESH_PARSE) $(BIN)/dbt parse --quiet
	$$(test -t 1 || echo env COLUMNS=200) $(BIN)/dbt-bouncer run --config-file dbt-bouncer.yml
	$(BIN)/dbt-score lint --manifest target/lint/manifest.json

# pre-commit (.pre-commit-config.yaml): install the git hook, or run every hook on all files.
pre-commit: setup
	$(BIN)/pre-commit install

pre-commit-all: setup
	$(BIN)/pre-commit run --all-files

# A fresh database every time: loads append, so loading the same folder into the last
# run's database would be skipped (already loaded) or, with other files, add to it.
build-test: setup $(DEMO_DATA)/.generated
	mkdir -p $(TEST_DIR)
	rm -f $(TEST_DB) $(TEST_DB).wal
	$(BIN)/retention load $(DEMO_DATA) --db $(TEST_DB)
	RETENTION_DB_PATH=$(CURDIR)/$(TEST_DB) $(FRESH_PARSE) $(BIN)/dbt build

# Each of the two workers takes the next whole file when it is done (--dist loadfile), the
# longest files first (python_checks/conftest.py, SLOW_MODULES), so that no long file starts
# last while the other worker idles.
pytest: setup
	$(BIN)/pytest python_checks -n 2 --dist loadfile --no-loadscope-reorder --durations=25

# The slow check of nightly builds across the ends of periods (python_checks/
# test_period_ends.py, about 3 minutes here): not part of `make pytest` (pyproject.toml
# deselects its marker); .ci/run runs it after `make test`.
test-period-ends: setup
	$(BIN)/pytest python_checks/test_period_ends.py -m period_ends -p no:cacheprovider

# The slow check of nightly corrections of closed months (python_checks/test_corrections.py,
# about 3 minutes here), also deselected by `make pytest`; .ci/run runs it after `make test`.
test-corrections: setup
	$(BIN)/pytest python_checks/test_corrections.py -m corrections -p no:cacheprovider

# Checks of whole commands end to end (`make data-diff`, `make slim-ci`, the pre-commit and
# conventions hooks, `retention build --quiet`, stale partial parses with real dbt parses),
# about five minutes together; deselected
# by `make pytest` (marker whole_commands) to keep `make test` under ten minutes; .ci/run
# runs them after `make test`.
test-whole-commands: setup
	$(BIN)/pytest python_checks/test_ci.py python_checks/test_cli.py python_checks/test_slim_ci.py \
		python_checks/test_partial_parse.py -m whole_commands -p no:cacheprovider

# The marts against the independent reference (python_checks/test_reference.py) on more
# random data sets than `make test` draws (2 there, beside the edge cases written out; each
# is a dbt build of its own, ~11 s): about 4 minutes here. .ci/run runs it after `make test`.
test-reference: setup
	REFERENCE_EXAMPLES=20 $(BIN)/pytest python_checks/test_reference.py -k marts_equal_the_reference \
		-p no:cacheprovider

validate: build-test validate-built

# Great Expectations on the demo warehouse that build-test made.
validate-built: setup
	$(BIN)/retention validate --db $(TEST_DB)

# Slim CI (docs/ci.md): build and test only the models this checkout changes against the
# production run whose artifacts are in PROD_STATE (its manifest.json), and their children,
# deferring every other ref to production. DuckDB cannot reach one database file from
# another without attaching it, so the build runs in a fresh copy of the production
# warehouse (PROD_DB) named after the manifest's database: the copy's relations have the
# production names, so the deferred refs read production's rows (docs/decisions.md).
# retention/slim_ci.py checks both inputs first: one line and exit 2 when one cannot be used.
PROD_STATE ?=
PROD_DB ?= $(RETENTION_DB_PATH)
SLIM_ARGS ?=
SLIM_DIR := target/slim-ci
slim-ci: setup
	database=$$($(BIN)/python -m retention.slim_ci "$(PROD_STATE)" "$(PROD_DB)") && \
	rm -rf $(SLIM_DIR) && mkdir -p $(SLIM_DIR) && \
	cp "$(PROD_DB)" "$(SLIM_DIR)/$$database.duckdb" && \
	if [ -f "$(PROD_DB).wal" ]; then cp "$(PROD_DB).wal" "$(SLIM_DIR)/$$database.duckdb.wal"; fi && \
	RETENTION_DB_PATH=$(CURDIR)/$(SLIM_DIR)/$$database.duckdb DBT_TARGET_PATH=$(CURDIR)/$(SLIM_DIR)/target \
		$(BIN)/dbt build --select state:modified+ --defer --favor-state --state "$(PROD_STATE)" --full-refresh $(SLIM_ARGS) && \
	echo "make slim-ci: the pull request's warehouse is $(SLIM_DIR)/$$database.duckdb, dbt's results in $(SLIM_DIR)/target"

# The data diff (docs/ci.md): the marts of this checkout's working tree (uncommitted changes
# included) against those of BASE_REF (a git revision), both built on the demo data;
# BASE_DB=FILE compares with a warehouse already built from the base branch instead. The
# base side builds its seeds and models only (its tests are its own CI's business), with its
# own `retention` package first on the Python path (its dbt Python models import it). The
# pull request's side builds its seeds and models the same way, then runs its unit tests and
# tests (dbt test): in one dbt build a failed unit test or test skipped the marts after it,
# and the diff showed nothing of the marts the change moved (docs/decisions.md). The report
# (markdown) names what each side was built from (a branch or tag with its commit, a hash
# alone: retention/data_diff.py) and is also in target/data-diff.md (removed first: a failed
# run leaves none). BASE_REF, or BASE_DB (a warehouse holding marts whose last build
# completed), is checked before the build. A pull request whose tests fail still gets its
# report, of every mart, with the failure in the PR side's label, and its warehouse's
# meta.build_state says `failed` (the models' build recorded `built`, and dbt test records
# nothing: retention/data_diff.py), as one dbt build would; one whose models fail (a
# model, and the models after it, are not built) gets its report too, which names the marts
# it did not build as not compared (the warehouse's meta.build_state says `failed`), and its
# tests are not run; the target then fails after the report. One whose build left no mart
# (dbt stopped while parsing; the load had created the file) stops before the base build, in
# one line. A base side that fails to build says so in one line after dbt's output (which
# names the base's models by the same paths as the pull request's). Each side's dbt parses
# its project in full (--no-partial-parse): the pull request's side is built in this
# checkout's target/, whose partial_parse.msgpack may be of another branch's code after a
# branch switch (dbt 1.11 keeps a removed model's unit tests there and stops with "Unable to
# find model ... for unit test"); the full parse costs about 6 CPU s more locally, nothing in
# CI (no earlier parse), and leaves a fresh file for the commands after it. The base side's
# target/ is made anew each run (DIFF_DIR is removed first), so it never had one to reuse.
BASE_REF ?= origin/main
BASE_DB ?=
DIFF_DIR := target/data-diff
# What of the pull request's build failed, when it did: `models` or `tests`.
DIFF_PR_FAILED := target/data-diff.pr-build-failed
DIFF_MODELS_ONLY := --no-partial-parse --exclude-resource-type test --exclude-resource-type unit_test
DIFF_PR_DBT := RETENTION_DB_PATH=$(CURDIR)/$(TEST_DB) $(BIN)/dbt
data-diff: setup
	@rm -f target/data-diff.md $(DIFF_PR_FAILED)
	@if [ -z "$(BASE_DB)" ] && ! git rev-parse --verify --quiet "$(BASE_REF)^{commit}" >/dev/null; then \
		echo "make data-diff: BASE_REF=$(BASE_REF) is not a commit of this clone: check the name, or fetch it (e.g. git fetch origin main)" >&2; \
		exit 2; \
	fi
	@if [ -n "$(BASE_DB)" ]; then $(BIN)/python -m retention.data_diff base-db "$(BASE_DB)"; fi
	@$(MAKE) --no-print-directory --silent $(DEMO_DATA)/.generated
	mkdir -p $(TEST_DIR)
	rm -f $(TEST_DB) $(TEST_DB).wal
	{ $(BIN)/retention load $(DEMO_DATA) --db $(TEST_DB) && $(DIFF_PR_DBT) build $(DIFF_MODELS_ONLY); } || \
		echo models > $(DIFF_PR_FAILED)
	if [ ! -f $(DIFF_PR_FAILED) ]; then $(DIFF_PR_DBT) test || \
		{ echo tests > $(DIFF_PR_FAILED) && $(BIN)/python -m retention.data_diff tests-failed $(TEST_DB); }; fi
	@$(BIN)/python -m retention.diff $(TEST_DB) || { echo "make data-diff: the pull request's dbt build built no mart (its output above, e.g. a parsing error): nothing to compare; fix it (make build-test runs that build)" >&2; exit 2; }
	if [ -z "$(BASE_DB)" ]; then \
		{ rm -rf $(DIFF_DIR) && mkdir -p $(DIFF_DIR)/base && \
		git archive --format=tar "$(BASE_REF)" | tar -x -C $(DIFF_DIR)/base && \
		$(BIN)/retention --quiet load $(DEMO_DATA) --db $(DIFF_DIR)/warehouse.duckdb && \
		RETENTION_DB_PATH=$(CURDIR)/$(DIFF_DIR)/warehouse.duckdb DBT_TARGET_PATH=$(CURDIR)/$(DIFF_DIR)/target \
			DBT_LOG_PATH=$(CURDIR)/$(DIFF_DIR)/logs PYTHONPATH=$(CURDIR)/$(DIFF_DIR)/base $(BIN)/dbt build --quiet $(DIFF_MODELS_ONLY) \
				--project-dir $(DIFF_DIR)/base; } || \
		{ echo "make data-diff: the BASE side ($(BASE_REF)) failed to build (its output above; its models/ are those of $(DIFF_DIR)/base), not the pull request's. It is built with this checkout's .venv and retention load: a change to those can break it; then compare with a warehouse built from the base branch (BASE_DB=FILE)" >&2; exit 2; }; \
	fi
	base_label="$(if $(BASE_DB),,$$($(BIN)/python -m retention.data_diff label "$(BASE_REF)"))" && \
	if head=$$(git rev-parse --short HEAD 2>/dev/null); then \
		label="the working tree of HEAD $$head$$(test -z "$$(git status --porcelain)" || echo ', with uncommitted changes')"; \
	else label="this checkout"; fi && \
	case "$$(cat $(DIFF_PR_FAILED) 2>/dev/null || true)" in \
		models) label="$$label; its dbt build FAILED, see the job's log";; \
		tests) label="$$label; its dbt tests FAILED, see the job's log; the marts are built regardless of them";; \
	esac && \
	$(BIN)/retention diff --base "$(or $(BASE_DB),$(DIFF_DIR)/warehouse.duckdb)" --base-label "$$base_label" \
		--db $(TEST_DB) --label "$$label" | tee target/data-diff.md
	@case "$$(cat $(DIFF_PR_FAILED) 2>/dev/null || true)" in \
		models) echo "make data-diff: the pull request's dbt build failed (its output above): the report names the marts it did not build, which are not compared; its tests were not run" >&2; exit 1;; \
		tests) echo "make data-diff: the pull request's dbt tests failed (their output above); its marts were built regardless of them, and the report compares them all" >&2; exit 1;; \
	esac

# docs/performance.md's figures; `retention bench` alone runs 10k and 100k customers
# (medians of 3).
BENCH_ARGS ?= --customers 10000 100000 1000000 --runs 3
bench: setup
	$(BIN)/retention bench $(BENCH_ARGS)

# The dashboard (dashboard/, docs/dashboard.md): Streamlit on the published warehouse,
# read-only. Its Python packages are the uv group `dashboard`, outside `make setup`.
DASHBOARD_PORT ?= 8501

dashboard-setup: setup
	$(call sync_group,dashboard,dashboard-setup)

define require_warehouse
	@test -f "$(RETENTION_DB_PATH)" || { echo "no warehouse at $(RETENTION_DB_PATH): run make demo first" >&2; exit 1; }
endef

dashboard: dashboard-setup
	$(require_warehouse)
	cd dashboard && $(CURDIR)/$(BIN)/streamlit run app.py --server.port $(DASHBOARD_PORT)

# Debian's chromium for the browser test, installed with apt when missing (as root, or
# with sudo when there is one).
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "chromium is missing: install Debian's chromium package as root" >&2; exit 1; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    --no-install-recommends chromium fonts-liberation; }

# Every dashboard page in headless Chromium on the published warehouse; screenshots in
# target/dashboard-screenshots/. Not part of `make test` (it needs Chromium).
test-dashboard: dashboard-setup chromium
	$(require_warehouse)
	$(BIN)/pytest dashboard/tests -p no:cacheprovider
# docs/reference.md (raw input contract, metrics) from the YAML, then the dbt docs site with
# the catalog of the published warehouse (read from a copy: BI tools may hold the file open).
DOCS_DIR := target/docs
docs: setup
	$(BIN)/python -m retention.reference
	@test -f "$(RETENTION_DB_PATH)" || { echo "no warehouse at $(RETENTION_DB_PATH): run make demo first"; exit 2; }
	mkdir -p $(DOCS_DIR)/db
	cp "$(RETENTION_DB_PATH)" $(DOCS_DIR)/db/warehouse.duckdb
	RETENTION_DB_PATH=$(CURDIR)/$(DOCS_DIR)/db/warehouse.duckdb $(FRESH_PARSE) $(BIN)/dbt docs generate \
		--static --target-path $(DOCS_DIR) --quiet
	@echo "docs site: $(DOCS_DIR)/static_index.html (one file: open it in a browser)"
# Spark (docs/spark.md): the `spark` dependency group (dbt-spark, PySpark) and a Java
# runtime, installed only by these targets so that `make setup` stays light. Java 17 comes
# from Debian's openjdk-17-jre-headless when no `java` of version 17 or later is on PATH.
SPARK_DIR := $(CURDIR)/target/spark
SPARK_ENV := RETENTION_SPARK_DIR=$(SPARK_DIR) SPARK_LOCAL_IP=127.0.0.1 \
	DBT_TARGET_PATH=$(SPARK_DIR)/dbt DBT_LOG_PATH=$(SPARK_DIR)/logs

$(VENV)/.synced-spark: pyproject.toml uv.lock $(VENV)/.synced
	$(call sync_group,spark,setup-spark)
	$(if $(LINKED_VENV),,touch $@)

setup-spark: $(VENV)/.synced-spark
	@if ! java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])'; then \
		echo "make setup-spark: installing Java 17 (openjdk-17-jre-headless)"; \
		$$(command -v sudo || true) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$(command -v sudo || true) apt-get install -y -qq openjdk-17-jre-headless; \
	fi

# The demo data (or DATA=DIR, and then no demo data is generated) loaded into a fresh local
# Spark warehouse and built there.
build-spark: setup-spark $(if $(DATA),,$(DEMO_DATA)/.generated)
	rm -rf $(SPARK_DIR) && mkdir -p $(SPARK_DIR)
	$(SPARK_ENV) $(BIN)/retention load $(or $(DATA),$(DEMO_DATA)) --db $(SPARK_DIR)/landing.duckdb --target spark
	$(SPARK_ENV) $(BIN)/dbt build --target spark

# The parity test (python_checks_spark/, never part of `make test`): the same small fixture
# built on DuckDB and on Spark, every mart compared row by row.
test-spark: setup-spark
	$(SPARK_ENV) $(BIN)/pytest python_checks_spark -p no:cacheprovider

clean:
	rm -rf target logs $(DEMO_DATA) .pytest_cache
