"""Two warehouses, or the pandas baseline and a warehouse, compared value for value.

`compare_marts` matches the rows of two warehouses' marts (or any relations); it is how the
checks prove that an incremental build equals a full one and that a change leaves the marts'
values where they were. `compare_with_marts` checks the headline numbers of the two baseline
scripts (retention/pandas_baseline.py, retention/duckdb_baseline.sql) against the marts of the
same data set (`retention bench` runs it on every scale), `compare_numbers` the two scripts
against each other.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import psutil

from retention.sql_text import sql_literal

MARTS_SCHEMA = "marts"
FLOAT_TOLERANCE = 1e-9  # relative; doubles summed in another order differ in the last digits
# The columns of an incremental model that say which run wrote a row (macros/incremental.sql,
# run_stamp_columns): they differ between an incremental and a full build of the same data
# by design, and are not compared.
RUN_STAMP_COLUMNS = ("built_at", "built_as_of_date", "built_through_load_id")


def _close(expected: Any, actual: Any) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, float) or isinstance(actual, float):
        return math.isclose(float(expected), float(actual), rel_tol=FLOAT_TOLERANCE, abs_tol=1e-12)
    return expected == actual


def _mart_relations(con: duckdb.DuckDBPyConnection, database: str) -> list[str]:
    """The marts (`marts.<name>`) of an attached DATABASE, in name order."""
    return [
        f"{MARTS_SCHEMA}.{row[0]}"
        for row in con.execute(
            "select table_name from duckdb_tables() "
            # Tables and views: a mart may be a view (fct_customer_months).
            "where database_name = ? and schema_name = ? "
            "union select view_name from duckdb_views() "
            "where database_name = ? and schema_name = ? order by 1",
            [database, MARTS_SCHEMA, database, MARTS_SCHEMA],
        ).fetchall()
    ]


def _columns(con: duckdb.DuckDBPyConnection, database: str, relation: str) -> list[tuple[str, str]]:
    """The columns of RELATION in DATABASE as (name, type), in order, without the run-stamp
    columns; empty when it has no such relation."""
    schema, name = relation.split(".")
    columns = con.execute(
        "select column_name, data_type from duckdb_columns() "
        "where database_name = ? and schema_name = ? and table_name = ? order by column_index",
        [database, schema, name],
    ).fetchall()
    return [(column, type_) for column, type_ in columns if column not in RUN_STAMP_COLUMNS]


def _column_text(columns: list[tuple[str, str]]) -> str:
    return ", ".join(f"{name} {type_}" for name, type_ in columns)


def mart_relations(db: Path) -> list[str]:
    """The marts (`marts.<name>`) of the warehouse DB, in name order: what compare_marts
    compares when given no relations."""
    with duckdb.connect(str(db), read_only=True) as con:
        (database,) = con.execute("select current_database()").fetchone()
        return _mart_relations(con, database)


def compare_marts(
    expected_db: Path, actual_db: Path, limit: int = 10, relations: list[str] | None = None
) -> list[str]:
    """The differences between the marts (or the given relations) of two warehouses, row
    for row: rows are matched on every non-float column (and their rank among rows equal
    on those), then doubles are compared within a relative 1e-9 (sums taken in another
    order differ in their last digits); every other value must be equal. Runs inside
    DuckDB: a mart can have tens of millions of rows. Empty when the marts are equal. The
    run-stamp columns (RUN_STAMP_COLUMNS) are left out. A relation missing on either side,
    or with other columns (names, types or order), is a difference; so, when no relations
    are given, is a mart only the actual warehouse has."""
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="compare-") as spill, duckdb.connect() as con:
        # An in-memory connection has no place to spill to unless given one, and at a
        # million customers the customer-month view (computed from its tables by this
        # query) and its join need more than 4 GB: up to 60 % of the machine's memory.
        memory_gb = max(4, int(0.6 * psutil.virtual_memory().total / 2**30))
        con.execute(f"set memory_limit = '{memory_gb}GB'")
        con.execute(f"set temp_directory = {sql_literal(spill)}")
        con.execute("set preserve_insertion_order = false")
        con.execute("set enable_progress_bar = false")
        con.execute(f"attach '{expected_db}' as expected (read_only)")
        con.execute(f"attach '{actual_db}' as actual (read_only)")
        if relations is None:
            relations = _mart_relations(con, "expected")
            problems += [
                f"{relation}: only in the actual warehouse"
                for relation in _mart_relations(con, "actual")
                if relation not in relations
            ]
        for relation in relations:
            columns = _columns(con, "expected", relation)
            actual_columns = _columns(con, "actual", relation)
            if not columns or not actual_columns:
                missing = "expected" if not columns else "actual"
                problems.append(f"{relation}: not in the {missing} warehouse")
                continue
            if columns != actual_columns:
                # Name, type and order: an incremental run or a change that moved, added or
                # dropped a column, or changed its type, is a difference even where every
                # shared value agrees.
                problems.append(
                    f"{relation}: columns differ: expected {_column_text(columns)}, "
                    f"actual {_column_text(actual_columns)}"
                )
                continue
            exact = [f'"{name}"' for name, type_ in columns if type_ not in ("DOUBLE", "FLOAT")]
            floats = [f'"{name}"' for name, type_ in columns if type_ in ("DOUBLE", "FLOAT")]
            rank = (
                f"row_number() over (partition by {', '.join(exact)} "
                f"order by {', '.join(floats) or 'true'}) as rank_"
            )
            matched = " and ".join(f"e.{c} is not distinct from a.{c}" for c in [*exact, "rank_"])
            differs = " or ".join(
                [
                    "e.rank_ is null",
                    "a.rank_ is null",
                    # coalesce: a null on one side only makes the distance null, and
                    # `not null` would leave the row out as if the values were equal.
                    *[
                        f"not (e.{c} is not distinct from a.{c} or coalesce(abs(e.{c} - a.{c}) "
                        f"<= {FLOAT_TOLERANCE} * greatest(abs(e.{c}), 1e-3), false))"
                        for c in floats
                    ],
                ]
            )
            shown = ", ".join(f"e.{c}, a.{c}" for c in [*exact[:3], *floats[:2]])
            rows = con.execute(
                f"""
                with e as (select *, {rank} from expected.{relation}),
                a as (select *, {rank} from actual.{relation}),
                compared as (
                    select e.rank_ is null as only_actual, a.rank_ is null as only_expected,
                        {shown}
                    from e full outer join a on {matched}
                    where {differs}
                )
                select count(*) over () as differing, * from compared limit {limit}
                """
            ).fetchall()
            if rows:
                problems.append(f"{relation}: {rows[0][0]} differing rows, e.g.")
                problems.extend(f"  {row[1:]}" for row in rows)
            if len(problems) >= limit:
                break
    return problems


# The headline numbers of the two baseline scripts (retention/pandas_baseline.py and
# retention/duckdb_baseline.sql): each list of rows with the columns that identify a row.
HEADLINE_KEYS = {
    "monthly_churn": ("month",),
    "cohorts": ("cohort_month", "months_since_cohort"),
    "repeat_purchase": ("first_purchase_month",),
}
# Where the marts hold them (the same column names, the key renamed where it differs).
HEADLINE_MARTS = {
    "monthly_churn": (
        "select period_start as month, customers_start, churned, churn_rate "
        "from marts.fct_periods where basis = 'order' and period_grain = 'month'"
    ),
    "cohorts": (
        "select cohort_month, months_since_cohort, cohort_size, active_customers, "
        "retention_rate from marts.fct_cohorts where basis = 'order' and active_customers > 0"
    ),
    "repeat_purchase": (
        "select first_purchase_month, customers, repeat_customers, repeat_purchase_rate "
        "from marts.mart_repeat_purchase"
    ),
    "clv": (
        "select average_order_value, purchase_frequency, annual_churn_rate, "
        "expected_lifespan_years, clv from marts.mart_clv where segment_type = 'all'"
    ),
}


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [column[0] for column in cursor.description]
    return [
        {n: (str(v) if isinstance(v, dt.date) else v) for n, v in zip(names, row, strict=True)}
        for row in cursor.fetchall()
    ]


def marts_numbers(db: Path) -> dict[str, Any]:
    """The baselines' headline numbers as the marts of `db` hold them (the same shape as
    the scripts' JSON; `clv` is None when mart_clv has no all-customers row)."""
    with duckdb.connect(str(db), read_only=True) as con:
        as_of = con.execute("select as_of_date from intermediate.int_reporting_params").fetchone()
        numbers: dict[str, Any] = {"as_of_date": str(as_of[0])}
        for title, sql in HEADLINE_MARTS.items():
            numbers[title] = _rows(con, sql)
        numbers["clv"] = numbers["clv"][0] if numbers["clv"] else None
    return numbers


def compare_numbers(
    expected: dict[str, Any],
    actual: dict[str, Any],
    names: tuple[str, str] = ("pandas", "marts"),
    limit: int = 10,
) -> list[str]:
    """Where two sets of headline numbers differ (empty: none). Rows are matched on their
    key (HEADLINE_KEYS): the same number of rows, every value of an `expected` row close
    to the matching `actual` one (doubles within a relative 1e-9, the rest equal)."""
    problems: list[str] = []
    first, second = names

    def check(label: str, want: dict[str, Any], got: dict[str, Any] | None) -> None:
        if got is None:
            problems.append(f"{label}: no row in {second}")
            return
        for key, value in want.items():
            if not _close(value, got.get(key)):
                problems.append(f"{label}: {key} {first} {value!r}, {second} {got.get(key)!r}")

    if expected["as_of_date"] != actual["as_of_date"]:
        problems.append(
            f"as_of_date: {first} {expected['as_of_date']}, {second} {actual['as_of_date']}"
        )
    for title, key in HEADLINE_KEYS.items():
        found = {tuple(row[c] for c in key): row for row in actual[title]}
        if len(found) != len(expected[title]) or len(found) != len(actual[title]):
            problems.append(
                f"{title}: {len(expected[title])} rows in {first}, {len(actual[title])} in {second}"
            )
        for row in expected[title]:
            ident = tuple(row[c] for c in key)
            check(f"{title} {ident[0] if len(ident) == 1 else ident}", row, found.get(ident))
    check("clv (all customers)", expected["clv"], actual["clv"])
    return problems[:limit]


def compare_with_marts(numbers: dict[str, Any], db: Path, name: str = "pandas") -> list[str]:
    """Where a baseline script's numbers (`name`: pandas or duckdb_script) differ from the
    marts of the warehouse `db` built from the same data (empty: none)."""
    return compare_numbers(numbers, marts_numbers(db), (name, "marts"))


def baseline_command(compute: Callable[[Path], dict[str, Any]], doc: str | None) -> None:
    """The command line of a baseline script: `python -m <module> DATA_DIR --out FILE`
    writes the headline numbers that ``compute`` finds in the delivery folder as JSON."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0], allow_abbrev=False)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.write_text(json.dumps(compute(args.data_dir), indent=1), encoding="utf-8")
