"""Shared pytest configuration for python_checks.

Module order. `make pytest` runs the modules on two workers, a module at a time per worker
(`--dist loadfile`), each taking the next module when it is done. A few modules build many
warehouses and take minutes; most take seconds. Started last, a slow module runs alone while
the other core idles, so the slow ones go first (longest first, then the rest in file
order), and `--no-loadscope-reorder` stops xdist from putting the modules with the most tests
first instead. The list holds module names only: a module missing from it just runs later.

Builds leave the predictive models out unless a test asks for them (see below).
"""

from __future__ import annotations

import os

import pytest

from retention.predictive_columns import OFF, SWITCH

# The predictive models (dbt Python models: pandas, scipy and the fits, several CPU seconds
# per build) fit only where a test asks for them (env RETENTION_PREDICTIVE=on in its dbt
# run); every other build here leaves the predictive marts empty (docs/decisions.md).
os.environ.setdefault(SWITCH, OFF)

# Slowest first, as measured with `pytest --durations` (a module's setup and calls together).
SLOW_MODULES = (
    "test_incremental.py",
    "test_reference.py",
    "test_fixtures.py",
    "test_faults.py",
    "test_publish.py",
    "test_bad_vars.py",
    "test_implausible_values.py",
    "test_cdnow.py",
    "test_predictive_cdnow.py",
    "test_dirty_data.py",
    # Builds the shared warehouse when its worker has not yet (then ~40 s CPU, else ~15 s).
    "test_slim_ci.py",
    "test_bi.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return SLOW_MODULES.index(name) if name in SLOW_MODULES else len(SLOW_MODULES)

    items.sort(key=rank)  # stable: tests keep their order within a module
