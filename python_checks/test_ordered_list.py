"""ordered_list, the sorted list of a group's values as one text, against its definition.

dim_customers' active products come from it. Its DuckDB implementation (macros/metrics.sql)
sorts the group's list and joins it, instead of an ordered string_agg; its unit test gives
three products, too few to show that the order is the list's and not the rows' (it passed
with the sort taken out). This module compiles the macro with dbt and compares it, for
groups of shuffled values with repeats, nulls, capitals and non-ASCII letters, with the
values sorted by code point (DuckDB's default order for text) and joined in Python.
"""

from __future__ import annotations

import random

import duckdb
import pytest
from pipeline import compile_expression

DELIMITER = ", "
LETTERS = ["a", "b", "Z", "é", "ß", "中", " ", "zeta", "basic", "plus", "Basic", "a b"]


@pytest.fixture(scope="module")
def ordered_list_sql(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The macro compiled for the default (DuckDB) target, on a column x."""
    return compile_expression(
        "ordered_list('x', \"', '\")", tmp_path_factory.mktemp("ordered_list")
    )


def groups() -> dict[int, list[str | None]]:
    rng = random.Random(20261204)
    out: dict[int, list[str | None]] = {}
    for g in range(2000):
        size = rng.randint(1, 12)
        out[g] = [rng.choice([*LETTERS, None]) for _ in range(size)]
    out[2000] = [None, None]  # nulls only
    return out


def expected(values: list[str | None]) -> str | None:
    kept = sorted(v for v in values if v is not None)
    return DELIMITER.join(kept) if kept else None


def test_ordered_list_is_the_sorted_values_joined(ordered_list_sql: str) -> None:
    rows = [(g, v) for g, values in groups().items() for v in values]
    random.Random(7).shuffle(rows)  # the rows' order is not the values'
    con = duckdb.connect()
    con.execute("create table t (g integer, x varchar)")
    con.executemany("insert into t values (?, ?)", rows)
    got = dict(con.execute(f"select g, {ordered_list_sql} from t group by g").fetchall())
    want = {g: expected(values) for g, values in groups().items()}
    differences = {g: (got.get(g), want[g]) for g in want if got.get(g) != want[g]}
    assert differences == {}
