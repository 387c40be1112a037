"""Two warehouses, or the pandas baseline and a warehouse, compared value for value.

`compare_marts` matches the rows of two warehouses' marts (or any relations); it is how the
checks prove that an incremental build equals a full one and that a change leaves the marts'
values where they were. `compare_with_pandas` checks the numbers of retention/pandas_baseline.py
against the marts of the same data set (`retention bench` runs it on every scale).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import duckdb

MARTS_SCHEMA = "marts"
FLOAT_TOLERANCE = 1e-9  # relative; doubles summed in another order differ in the last digits


def _close(expected: Any, actual: Any) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, float) or isinstance(actual, float):
        return math.isclose(float(expected), float(actual), rel_tol=FLOAT_TOLERANCE, abs_tol=1e-12)
    return expected == actual


def compare_marts(
    expected_db: Path, actual_db: Path, limit: int = 10, relations: list[str] | None = None
) -> list[str]:
    """The differences between the marts (or the given relations) of two warehouses, row
    for row: rows are matched
    on every non-float column (and their rank among rows equal on those), then doubles are
    compared within a relative 1e-9 (sums taken in another order differ in their last
    digits); every other value must be equal. Runs inside DuckDB: a mart can have tens of
    millions of rows. Empty when the marts are equal."""
    problems: list[str] = []
    with duckdb.connect() as con:
        con.execute("set memory_limit = '4GB'")
        con.execute("set enable_progress_bar = false")
        con.execute(f"attach '{expected_db}' as expected (read_only)")
        con.execute(f"attach '{actual_db}' as actual (read_only)")
        if relations is None:
            relations = [
                f"{MARTS_SCHEMA}.{row[0]}"
                for row in con.execute(
                    "select table_name from duckdb_tables() "
                    # Tables and views: a mart may be a view (fct_customer_months).
                    "where database_name = 'expected' and schema_name = ? "
                    "union select view_name from duckdb_views() "
                    "where database_name = 'expected' and schema_name = ? order by 1",
                    [MARTS_SCHEMA, MARTS_SCHEMA],
                ).fetchall()
            ]
        for relation in relations:
            schema, mart = relation.split(".")
            columns = con.execute(
                "select column_name, data_type from duckdb_columns() "
                "where database_name = 'expected' and schema_name = ? and table_name = ? "
                "order by column_index",
                [schema, mart],
            ).fetchall()
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
                    *[
                        f"not (e.{c} is not distinct from a.{c} or abs(e.{c} - a.{c}) "
                        f"<= {FLOAT_TOLERANCE} * greatest(abs(e.{c}), 1e-3))"
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


def compare_with_pandas(numbers: dict[str, Any], db: Path, limit: int = 10) -> list[str]:
    """Where the pandas notebook's numbers differ from the marts (empty: none)."""
    problems: list[str] = []

    def check(label: str, expected: dict[str, Any], actual: dict[str, Any] | None) -> None:
        if actual is None:
            problems.append(f"{label}: no row in the marts")
            return
        for key, value in expected.items():
            if not _close(value, actual.get(key)):
                problems.append(f"{label}: {key} pandas {value!r}, marts {actual.get(key)!r}")

    def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
        cursor = con.execute(sql)
        names = [column[0] for column in cursor.description]
        return [
            {n: (str(v) if isinstance(v, dt.date) else v) for n, v in zip(names, row, strict=True)}
            for row in cursor.fetchall()
        ]

    with duckdb.connect(str(db), read_only=True) as con:
        as_of = str(
            con.execute("select as_of_date from intermediate.int_reporting_params").fetchone()[0]
        )
        if as_of != numbers["as_of_date"]:
            problems.append(f"as_of_date: pandas {numbers['as_of_date']}, marts {as_of}")

        def compare_rows(
            title: str, unit: str, mart: str, key: dict[str, str], where: str = "true"
        ) -> None:
            """The pandas rows of `title` against the mart's rows, matched on their key
            (pandas column -> mart column): the same number of rows, each value close."""
            expected_rows = numbers[title]
            values = [c for c in (expected_rows[0] if expected_rows else {}) if c not in key]
            sql = f"select {', '.join([*key.values(), *values])} from marts.{mart} where {where}"
            actual = {tuple(r[c] for c in key.values()): r for r in rows(con, sql)}
            if len(actual) != len(expected_rows):
                problems.append(
                    f"{title}: {len(expected_rows)} {unit} in pandas, {len(actual)} in {mart}"
                )
            for row in expected_rows:
                found = tuple(row[c] for c in key)
                expected = {c: v for c, v in row.items() if c not in key}
                label = f"{title} {found[0] if len(found) == 1 else found}"
                check(label, expected, actual.get(found))

        compare_rows(
            "monthly_churn",
            "months",
            "fct_periods",
            {"month": "period_start"},
            "basis = 'order' and period_grain = 'month'",
        )
        compare_rows(
            "cohorts",
            "non-empty cells",
            "fct_cohorts",
            {"cohort_month": "cohort_month", "months_since_cohort": "months_since_cohort"},
            "basis = 'order' and active_customers > 0",
        )
        compare_rows(
            "repeat_purchase",
            "months",
            "mart_repeat_purchase",
            {"first_purchase_month": "first_purchase_month"},
        )

        clv = rows(
            con,
            "select average_order_value, purchase_frequency, annual_churn_rate, "
            "expected_lifespan_years, clv from marts.mart_clv where segment_type = 'all'",
        )
        check("clv (all customers)", numbers["clv"], clv[0] if clv else None)
    return problems[:limit]


# --- one scale -------------------------------------------------------------------------------
