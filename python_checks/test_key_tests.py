"""The key tests against small tables whose faults are known: `primary_key` (no null, no
duplicate) and `unique_combination_of_columns` (no duplicate; a null is a value), both
written on macros/key_violations.sql, in its DuckDB form (sorted hashes first) and its
portable form (the one Spark runs).

dbt compiles the generic tests' macros once (`dbt compile --inline`); each compiled query
then runs here on DuckDB tables, and the rows it returns are the test's failures.
"""

from __future__ import annotations

import duckdb
import pytest
from pipeline import compile_inline

SPLIT = "\n;-- next query --;\n"

# name -> Jinja that renders one test's query on the table `k` (columns a, b).
QUERIES = {
    "primary_key on a column": "retention.test_primary_key(model='k', column_name='a')",
    "primary_key on two columns": "retention.test_primary_key(model='k', columns=['a', 'b'])",
    "grain test on two columns": (
        "retention.test_unique_combination_of_columns(model='k', combination_of_columns=['a', 'b'])"
    ),
    "portable primary_key on a column": "retention.default__key_violations('k', ['a'], false)",
    "portable primary_key on two columns": (
        "retention.default__key_violations('k', ['a', 'b'], false)"
    ),
    "portable grain test on two columns": (
        "retention.default__key_violations('k', ['a', 'b'], true)"
    ),
}

# (a, b) rows, and the failures each test must report: (key..., row_count), sorted with
# nulls first. Worked out from the definitions: a key found on more than one row fails once
# with its count; for primary_key a key with a null fails too (count = its rows).
CASES = {
    "clean": (
        [(1, "x"), (2, "x"), (3, "y")],
        {"a": [], "ab": [], "grain": []},
    ),
    "one value twice": (
        [(1, "x"), (1, "y"), (2, "x")],
        # a = 1 on two rows; (1, x) and (1, y) differ, so the two-column key holds
        {"a": [(1, 2)], "ab": [], "grain": []},
    ),
    "a pair twice": (
        [(1, "x"), (1, "x"), (2, "x")],
        {"a": [(1, 2)], "ab": [(1, "x", 2)], "grain": [(1, "x", 2)]},
    ),
    "a pair three times": (
        [(1, "x"), (2, "y"), (1, "x"), (1, "x")],
        # three equal keys: one failure with its count of 3, not one per repeated row
        {"a": [(1, 3)], "ab": [(1, "x", 3)], "grain": [(1, "x", 3)]},
    ),
    "two pairs twice": (
        [(2, "y"), (1, "x"), (3, "z"), (2, "y"), (1, "x")],
        # two different keys each on two rows, interleaved: both fail
        {
            "a": [(1, 2), (2, 2)],
            "ab": [(1, "x", 2), (2, "y", 2)],
            "grain": [(1, "x", 2), (2, "y", 2)],
        },
    ),
    "a null once": (
        [(None, "x"), (1, "x"), (2, None)],
        # a null in a: a's key fails (1 row); in the two-column key both nulls fail; the
        # grain test lets a null pass as a value found once
        {"a": [(None, 1)], "ab": [(None, "x", 1), (2, None, 1)], "grain": []},
    ),
    "a null twice": (
        [(None, "x"), (None, "x"), (1, "x")],
        # nulls group together: (null, x) on two rows is a duplicate for the grain test too
        {"a": [(None, 2)], "ab": [(None, "x", 2)], "grain": [(None, "x", 2)]},
    ),
}
EXPECTED_KIND = {
    "primary_key on a column": "a",
    "primary_key on two columns": "ab",
    "grain test on two columns": "grain",
    "portable primary_key on a column": "a",
    "portable primary_key on two columns": "ab",
    "portable grain test on two columns": "grain",
}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    inline = SPLIT.join("{{ " + jinja + " }}" for jinja in QUERIES.values())
    compiled = compile_inline(inline, tmp_path_factory.mktemp("key_tests"))
    queries = compiled.split(SPLIT.strip())
    assert len(queries) == len(QUERIES)
    return dict(zip(QUERIES, queries, strict=True))


def test_the_duckdb_and_portable_forms_differ(compiled: dict[str, str]) -> None:
    # Else the portable form would not be checked at all.
    assert "hash(" in compiled["primary_key on a column"]
    assert "hash(" not in compiled["portable primary_key on a column"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("query", QUERIES)
def test_key_test_reports_exactly_the_broken_keys(
    compiled: dict[str, str], query: str, case: str
) -> None:
    rows, expected = CASES[case]
    with duckdb.connect() as con:
        con.execute("create table k (a integer, b varchar)")
        con.executemany("insert into k values (?, ?)", rows)
        got = con.execute(f"select * from ({compiled[query]}) order by all nulls first").fetchall()
    assert got == expected[EXPECTED_KIND[query]]
