"""The lists that Python and dbt both hold agree, so that neither can drift from the other.

- The raw input contract: `retention/contract.py` (what `load` enforces and `generate`
  writes) and the dbt sources (`models/staging/shop/_shop__sources.yml`, the list the SQL
  loops over through macros/raw_tables.sql): the same tables in the same order, the same
  required and optional columns, the same keys and flags.
- The marts: `retention/marts.py` (what `validate`, `publish` and `summary` check) and the
  marts' YAML contracts under `models/marts/`: the same marts, the same columns in the same
  order, the same keys.

Reads YAML only (no dbt run): fast.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from retention import contract, marts

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCES_YML = REPO_ROOT / "models" / "staging" / "shop" / "_shop__sources.yml"
MARTS_DIR = REPO_ROOT / "models" / "marts"
# The marts with a set of columns per repeat_windows_days entry W: <prefix>_W.
WINDOW_COLUMNS = {
    "mart_repeat_purchase": ("eligible", "repeat_within", "repeat_rate"),
    "mart_winback": ("eligible", "won_back_within", "winback_rate"),
}
# Columns of every raw table that no file needs: the loader stamps or sets them.
LOADER_COLUMNS = (contract.LOADED_AT, contract.LOAD_ID)


def _source_tables() -> dict[str, dict]:
    (shop,) = [s for s in yaml.safe_load(SOURCES_YML.read_text())["sources"] if s["name"] == "shop"]
    return {table["name"]: table for table in shop["tables"]}


def _mart_models() -> dict[str, dict]:
    models = {}
    for path in sorted(MARTS_DIR.rglob("_*__models.yml")):
        for model in yaml.safe_load(path.read_text()).get("models") or []:
            models[model["name"]] = model
    return models


def _default_repeat_windows() -> list[int]:
    project = yaml.safe_load((REPO_ROOT / "dbt_project.yml").read_text())
    return project["vars"]["repeat_windows_days"]


def test_the_raw_tables_are_the_same_in_the_same_order():
    assert list(_source_tables()) == list(contract.TABLES)


@pytest.mark.parametrize("name", list(contract.TABLES))
def test_a_raw_tables_columns_key_and_flags_agree_with_the_sources_yaml(name):
    table = contract.TABLES[name]
    source = _source_tables()[name]
    columns = [c["name"] for c in source["columns"]]
    optional = [c["name"] for c in source["columns"] if (c.get("meta") or {}).get("optional")]
    required = [c for c in columns if c not in optional and c not in LOADER_COLUMNS]
    meta = source["config"]["meta"]

    assert set(columns) == set(table.raw_columns)
    assert required == list(table.required)
    assert optional == list(table.optional)
    assert meta["key"] == list(table.key)
    assert set(table.key) <= set(table.required), "a key column is required in every file"
    assert meta["core"] is table.is_core
    assert meta["optional_table"] is table.is_optional_table


ALL_COLUMNS = {**marts.COLUMNS, **marts.PREDICTIVE_COLUMNS}
ALL_KEYS = {**marts.KEYS, **marts.PREDICTIVE_KEYS}


def test_the_marts_are_the_same():
    assert set(_mart_models()) == set(marts.MARTS) | set(marts.PREDICTIVE_MARTS)
    assert not set(marts.MARTS) & set(marts.PREDICTIVE_MARTS)


@pytest.mark.parametrize("name", list(ALL_COLUMNS))
def test_a_marts_columns_agree_with_its_yaml_contract(name):
    model = _mart_models()[name]
    columns = [c["name"] for c in model["columns"]]
    if name in WINDOW_COLUMNS:
        # The contract also lists the window columns of the default repeat_windows_days
        # (another list of windows gives other columns: its contract is then not enforced).
        windows = [
            f"{prefix}_{days}"
            for days in _default_repeat_windows()
            for prefix in WINDOW_COLUMNS[name]
        ]
        assert columns[-len(windows) :] == windows
        columns = columns[: -len(windows)]

    assert model["config"]["contract"] == {"enforced": True}
    assert columns == ALL_COLUMNS[name]
    assert all(c.get("data_type") for c in model["columns"]), "a contract names every type"


@pytest.mark.parametrize("name", list(ALL_KEYS))
def test_a_marts_key_is_the_one_its_yaml_tests_as_unique(name):
    model = _mart_models()[name]
    keys = [
        test["unique_combination_of_columns"]["arguments"]["combination_of_columns"]
        for test in model.get("data_tests") or []
        if isinstance(test, dict) and "unique_combination_of_columns" in test
    ] + [
        [column["name"]]
        for column in model["columns"]
        if "unique" in (column.get("data_tests") or [])
    ]
    assert keys == [ALL_KEYS[name]]
