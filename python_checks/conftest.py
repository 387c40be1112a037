"""Shared pytest configuration for python_checks.

Module order. `make pytest` runs the modules on two workers, a module at a time per worker
(`--dist loadfile`), each taking the next module when it is done. A few modules build many
warehouses and take minutes; most take seconds. Started last, a slow module runs alone while
the other core idles, so the slow ones go first (longest first, then the rest in file
order), and `--no-loadscope-reorder` stops xdist from putting the modules with the most tests
first instead. The list holds module names only: a module missing from it just runs later.

Shared data and builds. The session fixtures below hand every module of the session the
same data sets and builds, made on first use: the 300-customer data set clean and `--dirty`,
its raw load, and `dbt build` of each. They are made once for both xdist workers: the first
to ask makes one under a file lock, the other waits for it and reads it
(pipeline.session_once). dbt runs in the worker's
own process through retention.dbt_runner, which keeps one parse per project and parse-time
vars, so a module's further builds cost only the build itself. A module that changes a
shared database copies it first (pipeline.copy_db).

Builds leave the predictive models out unless a test asks for them (see below).
"""

from __future__ import annotations

import os
from pathlib import Path

import pipeline
import pytest

from retention.predictive_columns import OFF, SWITCH

# The predictive models (dbt Python models: pandas, scipy and the fits, several CPU seconds
# per build) fit only where a test asks for them (env RETENTION_PREDICTIVE=on in its dbt
# run); every other build here leaves the predictive marts empty (docs/decisions.md).
os.environ.setdefault(SWITCH, OFF)

# dbt's debug log file (logs/dbt.log: every event and statement) costs ~2 s CPU of a ~13 s
# build and no check reads it: the builds here write none. dbt's console output, which the
# checks read, is unchanged (pipeline.dbt keeps it in the run's dbt_output.log). Run with
# DBT_LOG_LEVEL_FILE=debug to have the file back.
os.environ.setdefault("DBT_LOG_LEVEL_FILE", "none")

# Slowest first, as measured with `pytest --durations` (a module's setup and calls together).
SLOW_MODULES = (
    "test_incremental.py",
    "test_reference.py",
    "test_fixtures.py",
    "test_faults.py",
    "test_publish.py",
    "test_validate.py",
    "test_bad_vars.py",
    "test_implausible_values.py",
    "test_cdnow.py",
    "test_predictive_cdnow.py",
    "test_dirty_data.py",
    # Many fast tests, ~90 s each in all: last in collection order, either one kept a worker
    # busy after the other had finished.
    "test_load.py",
    "test_cli.py",
    "test_ci.py",  # pre-commit and its conventions hook in clones (~15 s each)
    # Builds the shared warehouse when nobody has yet (then ~40 s CPU, else ~15 s).
    "test_slim_ci.py",
    "test_bi.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return SLOW_MODULES.index(name) if name in SLOW_MODULES else len(SLOW_MODULES)

    items.sort(key=rank)  # stable: tests keep their order within a module


# --- shared data sets and builds (one per pytest process) ------------------------------------


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of this pytest process for modules' own subfolders (the shared data sets and
    builds are in pipeline.common_dir, shared by the xdist workers)."""
    return pipeline.shared_dir(tmp_path_factory)


@pytest.fixture(scope="session")
def clean_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated clean data set (pipeline.CUSTOMERS customers, pipeline.SEED)."""
    return pipeline.dataset(tmp_path_factory)


@pytest.fixture(scope="session")
def dirty_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same data set generated with `--dirty` (its defects listed in _defects.json)."""
    return pipeline.dataset(tmp_path_factory, dirty=True)


@pytest.fixture(scope="session")
def raw_clean_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding only the clean data set's raw schema (copy it before changing it)."""
    return pipeline.loaded_raw(tmp_path_factory)


@pytest.fixture(scope="session")
def clean_build(tmp_path_factory: pytest.TempPathFactory) -> pipeline.DbtRun:
    """`dbt build` (without unit tests) of the clean data set; check `.ok` before use."""
    return pipeline.shared_build(tmp_path_factory).result()


@pytest.fixture(scope="session")
def dirty_build(tmp_path_factory: pytest.TempPathFactory) -> pipeline.DbtRun:
    """`dbt build` (without unit tests) of the dirty data set; check `.ok` before use."""
    return pipeline.shared_build(tmp_path_factory, dirty=True).result()
