"""Implausible values (issue 10) and unknown cancellation reason codes (issue 17), end to end.

Two small raw data sets, written below, are loaded and built with `dbt build`:

- "bad": valid rows plus money in other notation or with more than two decimals, dates that
  are not ISO 8601, and dates outside the plausible range (before 1990-01-01, or more than a
  year after the row's _loaded_at, such as 2150), and cancellations with reason codes that
  the cancellation_reasons seed does not list. The default A is not set.
- "far_as_of": the valid rows only, cancellations with listed codes, and as_of_date
  2150-01-01 (the calendar used to end in 2099).

The unit tests in models/staging/shop/base/_stg_shop_base__models.yml check each accepted and
refused form in detail; this module checks what a user sees: the quarantine's reasons, A, the
calendar, and the reason-code warning (dbt's run_results.json status `warn`, the build still
passing).

Every row loads at 2024-06-30T02:00:00Z. The staged events of "bad" and their local (UTC)
dates, the only ones A may come from:
  customers  c1 created 2024-01-10, c2 2024-02-01
  orders     o1 (c1) 2024-01-10, o5 (c2) 2024-06-28
  contracts  k1 (c2) signed 2024-02-01 (start 2024-02-01), k4 (c1) unsigned (start 2024-03-01)
  cancellations x1, x2, x3, x5 requested 2024-05-01 .. 2024-05-04
so A = 2024-06-28. Quarantined and therefore not counted: o4 on 2024-06-29 (amount 1e2), and
o6, c3, k3 (signed_at), x4 dated 2150-01-01, any of which would have made A 2150-01-01.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pipeline import DB_NAME, DbtRun, dbt, load

from retention import dbt_runner

LOADED = "2024-06-30T02:00:00Z"
FEB_1 = "2024-02-01T09:00:00Z"
FAR = "2150-01-01T00:00:00Z"

CUSTOMERS = [
    ("customer_id", "created_at", "_loaded_at"),
    ("c1", "2024-01-10T09:00:00Z", LOADED),
    ("c2", "2024-02-01T09:00:00Z", LOADED),
    ("c3", "2150-01-01T00:00:00Z", LOADED),
    ("c4", "epoch", LOADED),
]
ORDERS = [
    ("order_id", "customer_id", "ordered_at", "status", "amount", "currency", "_loaded_at"),
    ("o1", "c1", "2024-01-10T10:00:00Z", "completed", "20.00", "EUR", LOADED),
    ("o2", "c1", "2024-03-05T10:00:00Z", "completed", "1.005", "EUR", LOADED),
    ("o3", "c1", "2024-03-06T10:00:00Z", "completed", "1_000", "EUR", LOADED),
    ("o4", "c2", "2024-06-29T10:00:00Z", "completed", "1e2", "EUR", LOADED),
    ("o5", "c2", "2024-06-28T10:00:00Z", "completed", "30.00", "EUR", LOADED),
    ("o6", "c2", "2150-01-01T10:00:00Z", "completed", "10.00", "EUR", LOADED),
    ("o7", "c1", "1989-12-31T23:59:59Z", "completed", "10.00", "EUR", LOADED),
    ("o9", "c2", "infinity", "completed", "10.00", "EUR", LOADED),
    ("o10", "c2", "24-12-31", "completed", "10.00", "EUR", LOADED),
    ("o11", "c2", "0024-06-01", "completed", "10.00", "EUR", LOADED),
]
CONTRACT_COLUMNS = (
    "contract_id", "customer_id", "product", "signed_at", "start_date", "end_date",
    "billing_period", "price", "currency", "_loaded_at",
)  # fmt: skip
CONTRACTS = [
    CONTRACT_COLUMNS,
    ("k1", "c2", "basic", FEB_1, "2024-02-01", "", "month", "10.00", "EUR", LOADED),
    ("k2", "c2", "basic", FEB_1, "2024-02-01", "", "month", "9.999", "EUR", LOADED),
    ("k3", "c1", "basic", FAR, "2024-02-01", "", "month", "10.00", "EUR", LOADED),
    # ends 2027: a multi-year contract, no upper bound on end_date
    ("k4", "c1", "basic", "", "2024-03-01", "2027-02-28", "month", "10.00", "EUR", LOADED),
]  # fmt: skip
CANCELLATION_COLUMNS = (
    "cancellation_id", "contract_id", "requested_at", "effective_date", "reason_code",
    "final_offer_made", "final_offer_accepted", "_loaded_at",
)  # fmt: skip
CANCELLATIONS = [
    CANCELLATION_COLUMNS,
    ("x1", "k1", "2024-05-01T10:00:00Z", "2024-05-31", "moved_to_mars", "false", "false", LOADED),
    # staging lower-cases codes: a second moved_to_mars
    ("x2", "k4", "2024-05-02T10:00:00Z", "2024-06-15", "Moved_To_Mars", "false", "false", LOADED),
    ("x3", "k1", "2024-05-03T10:00:00Z", "2024-05-31", "gone_fishing", "false", "false", LOADED),
    ("x4", "k4", "2150-01-01T00:00:00Z", "2150-01-31", "price_too_high", "false", "false", LOADED),
    ("x5", "k1", "2024-05-04T10:00:00Z", "2024-05-31", "price_too_high", "false", "false", LOADED),
]  # fmt: skip
# The second data set: the rows staged from the first, every reason code in the seed.
STAGED_ONLY = {
    "customers": [r for r in CUSTOMERS if r[0] in ("customer_id", "c1", "c2")],
    "orders": [r for r in ORDERS if r[0] in ("order_id", "o1", "o5")],
    "contracts": [r for r in CONTRACTS if r[0] in ("contract_id", "k1", "k4")],
    "cancellations": [
        CANCELLATION_COLUMNS,
        ("x1", "k1", "2024-05-01T10:00:00Z", "2024-05-31", "bill_shock", "false", "false", LOADED),
        ("x5", "k1", "2024-05-04T10:00:00Z", "2024-05-31", "price_too_high", "false", "false",
         LOADED),
    ],
}  # fmt: skip

# Worked out from the rows above (docs/operations.md "Quarantined rows"; models/staging/shop/base/).
EXPECTED_QUARANTINE = {
    ("customers", "c3", "created_at_out_of_range"),  # 2150 > loaded 2024-06-30 + 1 year
    ("customers", "c4", "invalid_created_at"),  # epoch: no ISO 8601 date
    ("orders", "o2", "amount_too_many_decimals"),  # 1.005: three decimals
    ("orders", "o3", "invalid_amount"),  # 1_000: no plain decimal
    ("orders", "o4", "invalid_amount"),  # 1e2: no plain decimal
    ("orders", "o6", "ordered_at_out_of_range"),  # 2150 > 2025-06-30
    ("orders", "o7", "ordered_at_out_of_range"),  # one second before 1990-01-01
    ("orders", "o9", "invalid_ordered_at"),  # infinity
    ("orders", "o10", "invalid_ordered_at"),  # 24-12-31: a two-digit year
    ("orders", "o11", "ordered_at_out_of_range"),  # 0024-06-01: ISO, the year 24
    ("contracts", "k2", "price_too_many_decimals"),  # 9.999
    ("contracts", "k3", "signed_at_out_of_range"),  # signed 2150
    ("cancellations", "x4", "requested_at_out_of_range"),  # requested 2150
}
REASON_CODE_TEST = "test.retention.cancellation_reason_codes_in_seed"


def _write(folder: Path, tables: dict[str, list[tuple[str, ...]]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for table, rows in tables.items():
        lines = [",".join(row) for row in rows]
        (folder / f"{table}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _build(folder: Path, name: str, tables: dict[str, Any], vars: dict[str, Any]) -> DbtRun:
    workdir = folder / f"implausible-{name}"
    db_path = load(_write(workdir / "raw", tables), workdir / DB_NAME)
    build = [*dbt_runner.BUILD]
    return dbt(build, db_path, workdir, vars=vars, manifest=False)


@pytest.fixture(scope="module")
def runs(shared_dir: Path) -> dict[str, DbtRun]:
    bad = {
        "customers": CUSTOMERS,
        "orders": ORDERS,
        "contracts": CONTRACTS,
        "cancellations": CANCELLATIONS,
    }
    return {
        "bad": _build(shared_dir, "bad", bad, {}),
        "far_as_of": _build(shared_dir, "far_as_of", STAGED_ONLY, {"as_of_date": "2150-01-01"}),
    }


def _built(runs: dict[str, DbtRun], name: str) -> DbtRun:
    run = runs[name]
    assert run.ok, f"dbt build of {name!r} failed:\n{run.failure_summary()}"
    return run


def _rows(run: DbtRun, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(run.db_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def _result(run: DbtRun, unique_id_prefix: str) -> dict[str, Any]:
    results = json.loads((run.target_path / "run_results.json").read_text())["results"]
    found = [r for r in results if r["unique_id"].startswith(unique_id_prefix + ".")]
    assert len(found) == 1, f"{unique_id_prefix}: {len(found)} results"
    return found[0]


def test_implausible_values_are_quarantined_with_their_reason(
    runs: dict[str, DbtRun],
) -> None:
    run = _built(runs, "bad")
    quarantined = _rows(
        run, "select source_table, row_key, reason from quarantine.quarantined_rows"
    )
    assert set(quarantined) == EXPECTED_QUARANTINE
    assert len(quarantined) == len(EXPECTED_QUARANTINE)
    staged = {
        table: {key for (key,) in _rows(run, f"select {key} from staging.stg_shop__{table}")}
        for table, key in (
            ("customers", "customer_id"),
            ("orders", "order_id"),
            ("contracts", "contract_id"),
            ("cancellations", "cancellation_id"),
        )
    }
    assert staged == {
        "customers": {"c1", "c2"},
        "orders": {"o1", "o5"},
        "contracts": {"k1", "k4"},  # k4 ends 2027-02-28: end dates have no upper bound
        "cancellations": {"x1", "x2", "x3", "x5"},
    }


def test_a_far_future_date_does_not_move_the_default_as_of_date(
    runs: dict[str, DbtRun],
) -> None:
    run = _built(runs, "bad")
    # A = the latest staged event date, o5's 2024-06-28 (see the module docstring); the 2150
    # rows are quarantined, o4 (2024-06-29) too.
    assert _rows(run, "select as_of_date from intermediate.int_reporting_params") == [
        (dt.date(2024, 6, 28),)
    ]
    # The calendar: the earliest spell start's month (o1, 2024-01-10) .. A's month: 6 months.
    months = _rows(run, "select month_start from intermediate.int_calendar_months order by 1")
    assert [m for (m,) in months] == [dt.date(2024, month, 1) for month in range(1, 7)]


def test_reason_codes_missing_from_the_seed_warn_with_codes_and_counts(
    runs: dict[str, DbtRun],
) -> None:
    run = _built(runs, "bad")  # a warning does not fail the build
    result = _result(run, REASON_CODE_TEST)
    # One failing row per unlisted code: gone_fishing (x3), moved_to_mars (x1, x2 lower-cased)
    assert (result["status"], result["failures"]) == ("warn", 2)
    assert re.search(
        r"stg_shop__cancellations\.reason_code values not in cancellation_reasons: "
        r"gone_fishing \(1 row\), moved_to_mars \(2 rows\)\. .*seeds/cancellation_reasons\.csv",
        run.output,
    ), run.tail()


def test_reason_codes_all_in_the_seed_pass_silently(runs: dict[str, DbtRun]) -> None:
    run = _built(runs, "far_as_of")
    result = _result(run, REASON_CODE_TEST)
    assert (result["status"], result["failures"]) == ("pass", 0)
    assert "values not in cancellation_reasons" not in run.output


def test_calendar_reaches_a_far_as_of_date(runs: dict[str, DbtRun]) -> None:
    run = _built(runs, "far_as_of")
    # 2024-01 (o1) .. 2150-01 (A's month): 126 years × 12 + 1 = 1513 months
    count, first, last, last_end, complete = _rows(
        run,
        "select count(*), min(month_start), max(month_start), max_by(month_end_date, month_start),"
        " max_by(is_complete_month, month_start) from intermediate.int_calendar_months",
    )[0]
    assert (count, first, last) == (1513, dt.date(2024, 1, 1), dt.date(2150, 1, 1))
    assert (last_end, complete) == (dt.date(2150, 1, 1), False)  # min(2150-01-31, A); > A
    # A's month reaches the marts: both bases have a month row for January 2150.
    assert _rows(
        run,
        "select basis from marts.fct_periods where period_grain = 'month'"
        " and period_start = date '2150-01-01' order by basis",
    ) == [("contract",), ("order",)]
