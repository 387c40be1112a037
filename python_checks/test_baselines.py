"""The benchmark's two baseline scripts (retention/pandas_baseline.py and
retention/duckdb_baseline.sql) compute the same headline numbers, and those of the marts.

`retention bench` checks both scripts against the marts at every scale; these checks keep
that true without a benchmark run: on a hand-made data set whose numbers are worked out
below, on the generated 300-customer data set (the two scripts against each other), and
against the shared clean warehouse of the same data (no build of their own).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pipeline import CUSTOMERS, SEED, DbtRun

from retention import duckdb_baseline, pandas_baseline
from retention.compare import compare_numbers, compare_with_marts

SCRIPTS = {"pandas": pandas_baseline.main, "duckdb_script": duckdb_baseline.main}


def _write_parquet(path: Path, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """A Parquet file of text columns (as `retention generate` writes them)."""
    with duckdb.connect() as con:
        con.execute(f"create table t ({', '.join(f'{c} varchar' for c in columns)})")
        con.executemany(f"insert into t values ({', '.join('?' * len(columns))})", rows)
        con.execute(f"copy t to '{path}' (format parquet)")


# --- a hand-made data set ----------------------------------------------------------------------

ORDER_COLUMNS = ["order_id", "customer_id", "ordered_at", "status", "amount"]
ORDER_COLUMNS += ["refunded_amount", "_loaded_at"]
ORDERS = [
    ("o1", "c1", "2023-01-10T09:00:00Z", "completed", "100.00", None, "2023-01-11T02:00:00Z"),
    ("o2", "c1", "2023-01-20T09:00:00Z", "completed", "50.00", "10.00", "2023-01-21T02:00:00Z"),
    # Loaded twice: one order (c2 makes one purchase, not two).
    ("o3", "c2", "2023-02-05T12:00:00", "completed", "70.00", None, "2023-02-06T02:00:00Z"),
    ("o3", "c2", "2023-02-05T12:00:00", "completed", "80.00", None, "2023-02-07T02:00:00Z"),
    # 01:00 at +02:00 is 23:00 UTC the day before: c3's first purchase is on 2023-02-28.
    ("o4", "c3", "2023-03-01T01:00:00+02:00", "completed", "30.00", None, "2023-03-02T02:00Z"),
    ("o5", "c3", "2023-03-10T10:00:00Z", "completed", "35.00", None, "2023-03-11T02:00:00Z"),
    # Not a purchase.
    ("o6", "c2", "2023-03-05T10:00:00Z", "cancelled", "40.00", None, "2023-03-06T02:00:00Z"),
    ("o7", "c1", "2024-02-01T10:00:00Z", "completed", "25.00", "5.00", "2024-02-02T02:00:00Z"),
    # Corrected by a later load: 40.00 counts, not 100.00.
    ("o8", "c1", "2024-03-10T10:00:00Z", "completed", "100.00", None, "2024-03-11T02:00:00Z"),
    ("o8", "c1", "2024-03-10T10:00:00Z", "completed", "40.00", None, "2024-03-12T02:00:00Z"),
]
# A = 2024-03-15, c4's sign-up: the latest event of any kind (the last order is 2024-03-10).
CUSTOMERS_ROWS = [
    ("c1", "2023-01-01T00:00:00Z"),
    ("c2", "2023-02-01T00:00:00Z"),
    ("c3", "2023-02-20T00:00:00Z"),
    ("c4", "2024-03-15T10:00:00Z"),
]

# Active on day x = a purchase in [x - 364, x]. The purchases (UTC dates) make the customers
# active: c1 2023-01-10 .. 2024-01-19 (2023-01-20 + 364) and from 2024-02-01 on; c2
# 2023-02-05 .. 2024-02-04; c3 2023-02-28 .. 2024-03-08 (2023-03-10 + 364).
# Month: (customers active the day before it, of them not active on its last day or A).
MONTHS = {"2023-01-01": (0, 0), "2023-02-01": (1, 0)}  # 2023-01-31: c1
MONTHS |= {f"2023-{m:02}-01": (3, 0) for m in range(3, 13)}  # from 2023-02-28: c1, c2, c3
MONTHS |= {
    "2024-01-01": (3, 1),  # 2023-12-31: all three; 2024-01-31: c1 no longer
    "2024-02-01": (2, 1),  # 2024-01-31: c2, c3; 2024-02-29: c2 no longer
    "2024-03-01": (2, 1),  # 2024-02-29: c1, c3; A = 2024-03-15: c3 no longer
}
HAND_NUMBERS = {
    "as_of_date": "2024-03-15",
    "monthly_churn": [
        {
            "month": month,
            "customers_start": start,
            "churned": churned,
            "churn_rate": churned / start if start else None,
        }
        for month, (start, churned) in MONTHS.items()
    ],
    # Cohort 2023-01: c1 (purchases in months 0, 13 and 14); 2023-02: c2 and c3 (c3 in 2023-03).
    "cohorts": [
        {"cohort_month": c, "months_since_cohort": k, "cohort_size": n, "active_customers": a}
        | {"retention_rate": a / n}
        for c, k, n, a in [
            ("2023-01-01", 0, 1, 1),
            ("2023-01-01", 13, 1, 1),
            ("2023-01-01", 14, 1, 1),
            ("2023-02-01", 0, 2, 2),
            ("2023-02-01", 1, 2, 1),
        ]
    ],
    # c1: 4 purchases; c2: 1 (o3 once, o6 cancelled); c3: 2.
    "repeat_purchase": [
        {"first_purchase_month": "2023-01-01", "customers": 1, "repeat_customers": 1}
        | {"repeat_purchase_rate": 1.0},
        {"first_purchase_month": "2023-02-01", "customers": 2, "repeat_customers": 1}
        | {"repeat_purchase_rate": 0.5},
    ],
    # The year up to A (from 2024-03-15 - 364 = 2023-03-17): c1's o7 (25 - 5 = 20) and o8
    # (40): AOV 30, 2 purchases by 1 customer. Active at A - 365 = 2023-03-16: c1, c2, c3; at
    # A: c1 only, so an annual churn of 2/3, a lifespan of 1.5 years: CLV 30 x 2 x 1.5 = 90.
    "clv": {
        "average_order_value": 30.0,
        "purchase_frequency": 2.0,
        "annual_churn_rate": 2 / 3,
        "expected_lifespan_years": 1.5,
        "clv": 90.0,
    },
}


@pytest.fixture(scope="module")
def hand_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hand-data")
    _write_parquet(folder / "orders.parquet", ORDER_COLUMNS, ORDERS)
    _write_parquet(folder / "customers.parquet", ["customer_id", "created_at"], CUSTOMERS_ROWS)
    _write_parquet(folder / "contracts.parquet", ["signed_at"], [("2023-06-01T00:00:00Z",)])
    _write_parquet(folder / "cancellations.parquet", ["requested_at"], [("2023-07-01T00:00Z",)])
    return folder


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_script_computes_the_hand_worked_numbers(hand_data: Path, script: str) -> None:
    numbers = SCRIPTS[script](hand_data)
    assert compare_numbers(HAND_NUMBERS, numbers, ("by hand", script)) == []
    assert len(numbers["monthly_churn"]) == 15  # 2023-01 .. 2024-03


# --- the generated data set ---------------------------------------------------------------


@pytest.fixture(scope="module")
def generated_numbers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Both scripts' numbers on the shared data set's customers and seed, as Parquet."""
    from retention.generate import Options, generate

    folder = tmp_path_factory.mktemp("parquet-data")
    generate(Options(out=folder, customers=CUSTOMERS, seed=SEED, format="parquet", progress=False))
    return {name: main(folder) for name, main in SCRIPTS.items()}


def test_the_duckdb_script_computes_the_pandas_scripts_numbers(generated_numbers) -> None:
    pandas_numbers = generated_numbers["pandas"]
    assert compare_numbers(pandas_numbers, generated_numbers["duckdb_script"]) == []
    # Not vacuous: every headline has rows, and churn happened.
    assert len(pandas_numbers["monthly_churn"]) >= 36
    assert sum(row["churned"] for row in pandas_numbers["monthly_churn"]) > 0
    assert len(pandas_numbers["cohorts"]) > len(pandas_numbers["repeat_purchase"]) > 12
    assert pandas_numbers["clv"]["clv"] > 0


def test_the_comparison_reports_every_kind_of_difference(generated_numbers) -> None:
    expected = generated_numbers["pandas"]
    actual = copy.deepcopy(generated_numbers["duckdb_script"])
    last_month = actual["monthly_churn"].pop()["month"]
    actual["cohorts"][3]["active_customers"] += 1
    actual["clv"]["clv"] *= 1 + 1e-6  # beyond the relative 1e-9 of summing in another order
    actual["as_of_date"] = "1999-12-31"
    problems = compare_numbers(expected, actual, ("pandas", "duckdb_script"))
    cell = actual["cohorts"][3]
    assert problems == [
        f"as_of_date: pandas {expected['as_of_date']}, duckdb_script 1999-12-31",
        f"monthly_churn: {len(expected['monthly_churn'])} rows in pandas, "
        f"{len(actual['monthly_churn'])} in duckdb_script",
        f"monthly_churn {last_month}: no row in duckdb_script",
        f"cohorts ('{cell['cohort_month']}', {cell['months_since_cohort']}): active_customers "
        f"pandas {cell['active_customers'] - 1}, duckdb_script {cell['active_customers']}",
        f"clv (all customers): clv pandas {expected['clv']['clv']!r}, "
        f"duckdb_script {actual['clv']['clv']!r}",
    ]


def test_the_duckdb_script_equals_the_marts(generated_numbers, clean_build: DbtRun) -> None:
    # The shared clean warehouse is built from the same customers and seed (as CSV).
    assert clean_build.ok, clean_build.failure_summary()
    numbers = generated_numbers["duckdb_script"]
    assert compare_with_marts(numbers, clean_build.db_path, "duckdb_script") == []
