"""The marts' row rules are their contracts' constraints, and DuckDB enforces them.

A rule on one row of a mart (not null, a range, a list of values, a relation between its
columns) is declared once, as a constraint of the mart's enforced contract
(`constraints:` on a column or on the model, models/marts/*/_*__models.yml), instead of a
data test: DuckDB checks it while it writes the table, so a build that breaks it fails on
that mart and nothing is published, and no test query per rule and build is needed. The
mart's `constraints_hold` test (tests/generic/constraints_hold.sql) checks the same
constraints as a query on an engine that does not enforce them (Spark on Parquet).

Checked here, on the shared clean build:

- every constraint the YAML declares is in the built table (DuckDB's catalogue), no more;
- the table refuses a row that breaks one (and accepts the same row unbroken), and the
  mart's `constraints_hold` query, run on the table without its constraints, returns that
  row and no other;
- every check constraint can fail: changing one column it names, on one row of the built
  mart, makes it false (no constraint holds whatever the data);
- every mart table with constraints has its `constraints_hold` test.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import duckdb
import pytest
from pipeline import DbtRun, compile_inline, copy_db
from project_yaml import MARTS_DIR, mart_models

from retention.marts import PREDICTIVE_MARTS


@functools.cache
def _mart_tables() -> dict[str, dict]:
    """The marts materialized as tables (constraints apply to tables only), from the YAML."""
    found = {}
    for name, model in mart_models().items():
        sql = next(MARTS_DIR.rglob(f"{name}.sql")).read_text()
        if "materialized='view'" not in sql.replace('"', "'").replace(" ", ""):
            found[name] = model
    return found


def _declared(model: dict) -> tuple[int, int]:
    """(not null, check) constraints the YAML declares on the model and its columns."""
    constraints = list(model.get("constraints") or [])
    for column in model["columns"]:
        constraints += column.get("constraints") or []
    kinds = [c["type"] for c in constraints]
    assert set(kinds) <= {"not_null", "check"}, f"{model['name']}: {kinds}"
    return kinds.count("not_null"), kinds.count("check")


def test_every_declared_constraint_is_in_the_built_table(clean_build: DbtRun) -> None:
    assert clean_build.ok, clean_build.failure_summary()
    with duckdb.connect(str(clean_build.db_path), read_only=True) as con:
        built = {
            (table, kind): count
            for table, kind, count in con.execute(
                "select table_name, constraint_type, count(*) from duckdb_constraints() "
                "where schema_name = 'marts' group by all"
            ).fetchall()
        }
    checks = 0
    for name, model in _mart_tables().items():
        not_null, check = _declared(model)
        assert (built.get((name, "NOT NULL"), 0), built.get((name, "CHECK"), 0)) == (
            not_null,
            check,
        ), f"{name}: declared {not_null} not null and {check} check constraints"
        checks += check
    assert checks > 50  # the marts' range, value and cross-column rules are there


# A row of the mart with one value broken, each against a different kind of rule: a range
# on a column, a list of values, a relation between columns (model level, with a where).
BROKEN_ROWS = {
    "fct_periods": "* replace (1.5 as churn_rate)",
    "mart_churn": "* replace ('lost' as churn_type)",
    "dim_customers": "* replace (not is_repeat_customer as is_repeat_customer)",
    "fct_cohorts": "* replace (cohort_size + 1 as active_customers)",
}


SPLIT = "\n;-- next query --;\n"


@pytest.fixture(scope="module")
def constraints_hold(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The query of each BROKEN_ROWS mart's `constraints_hold` test (compiled for DuckDB,
    where the test itself is disabled), compiled in one go."""
    inline = SPLIT.join(
        "{{ retention.test_constraints_hold(model=ref('" + mart + "')) }}" for mart in BROKEN_ROWS
    )
    queries = compile_inline(inline, tmp_path_factory.mktemp("constraints_hold"))
    found = queries.split(SPLIT.strip())
    assert len(found) == len(BROKEN_ROWS)
    return dict(zip(BROKEN_ROWS, found, strict=True))


@pytest.mark.parametrize("mart", list(BROKEN_ROWS))
def test_a_mart_refuses_a_row_that_breaks_a_constraint(
    mart: str, clean_build: DbtRun, tmp_path: Path, constraints_hold: dict[str, str]
) -> None:
    assert clean_build.ok, clean_build.failure_summary()
    db = copy_db(clean_build.db_path, tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(db)) as con:
        row = f"from marts.{mart} limit 1"
        broken = f"select {BROKEN_ROWS[mart]} {row}"
        with pytest.raises(duckdb.ConstraintException, match="CHECK constraint failed"):
            con.execute(f"insert into marts.{mart} {broken}")
        # The same row unbroken goes in: it was the broken value that was refused.
        con.execute(f"insert into marts.{mart} select * {row}")
        # Where nothing enforces the constraints (the table made again without them, as on
        # Spark), the constraints_hold test finds the broken row, and only it.
        con.execute(f"create table broken as {broken}")
        con.execute(f"create or replace table marts.{mart} as from marts.{mart}")
        assert con.execute(constraints_hold[mart]).fetchall() == []
        con.execute(f"insert into marts.{mart} from broken")
        assert (
            con.execute(constraints_hold[mart]).fetchall() == con.execute("from broken").fetchall()
        )


def _changes(column: str, data_type: str) -> list[str]:
    """Values to put in a column in search of a row that breaks a constraint on it."""
    if data_type == "VARCHAR":
        return ["'zzz'"]
    if data_type == "BOOLEAN":
        return [f"not {column}"]
    if data_type == "DATE":
        return [f"{column} - 1000", f"{column} + 1000"]
    return ["-1", "2", "1e9", "-1e9", f"{column} + 1", f"{column} - 1", "0", "0.5"]


def test_every_check_constraint_fails_on_some_change_of_a_row(clean_build: DbtRun) -> None:
    # A constraint that no change makes false holds whatever the data (a tautology, a
    # misspelt column compared with itself, ...) and guards nothing. For each, search the
    # values of _changes, one column it names at a time, on the built mart's rows; the
    # predictive marts are empty in the shared build (RETENTION_PREDICTIVE=off) and left out.
    assert clean_build.ok, clean_build.failure_summary()
    never_false, checked = [], 0
    with duckdb.connect(str(clean_build.db_path), read_only=True) as con:
        types = {
            (table, column): data_type
            for table, column, data_type in con.execute(
                "select table_name, column_name, data_type from information_schema.columns"
                " where table_schema = 'marts'"
            ).fetchall()
        }
        constraints = con.execute(
            "select table_name, expression from duckdb_constraints()"
            " where schema_name = 'marts' and constraint_type = 'CHECK' order by all"
        ).fetchall()
        for table, expression in constraints:
            if table in PREDICTIVE_MARTS:
                continue
            columns = [c for t, c in types if t == table and re.search(rf"\b{c}\b", expression)]
            changed = (
                f"select * replace ({value} as {column}) from marts.{table}"
                for column in columns
                for value in _changes(column, types[table, column])
            )
            checked += 1
            if not any(
                con.execute(f"select count(*) from ({rows}) where not ({expression})").fetchone()[0]
                for rows in changed
            ):
                never_false.append(f"{table}: {expression}")
    assert not never_false, never_false
    assert checked > 60  # every mart but the predictive ones has rows and its constraints


def test_every_mart_table_with_constraints_has_the_constraints_hold_test() -> None:
    missing = [
        name
        for name, model in _mart_tables().items()
        if any(_declared(model)) and "constraints_hold" not in (model.get("data_tests") or [])
    ]
    assert not missing, f"marts whose constraints no test checks off DuckDB: {missing}"
