"""Every data test of the build can fail: broken on purpose, it returns the rows that break it.

A data test that passes on every build says nothing unless it would fail on bad data. Here
each singular test (tests/*.sql), each `expression_is_true` and `accepted_range` of the
models' YAML and one use of every other kind of generic test run on the shared clean build
after one small change that breaks what the test guards, and must then name the rows (or
the tables, grains, periods) that the change broke, and only those. The key tests
(`primary_key`, `unique_combination_of_columns`) are checked on hand-made tables in
test_key_tests.py, the contracts' constraints and `constraints_hold` in test_constraints.py.

Only one case runs dbt (the documentation test, which dbt renders from the built relations,
compiled on a copy with undocumented columns). The others run the SQL dbt compiled for each
test, which the shared build's run_results.json holds (the `where` of a scoped test
included), on one copy of the build, each change inside a transaction that is rolled back
after the test's query: a query per case, not a build. Every test's query first runs on the
unchanged copy, where it must return nothing (the build passed it), so that what it returns
after the change is the change's doing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pipeline import DB_NAME, DbtRun, compile_inline, copy_db


class DataTests:
    """The compiled data tests of a build, run on a copy of its database."""

    def __init__(self, con: duckdb.DuckDBPyConnection, compiled: dict[str, str]) -> None:
        self.con = con
        self.compiled = compiled
        self._clean: set[str] = set()

    def query(self, sql: str, *params: Any) -> list[tuple]:
        return self.con.execute(sql, list(params)).fetchall()

    def one(self, sql: str, *params: Any) -> tuple:
        rows = self.query(sql, *params)
        assert len(rows) == 1, (sql, rows)
        return rows[0]

    def _run(self, test: str) -> list[dict[str, Any]]:
        cursor = self.con.execute(self.compiled[test])
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def failures(self, test: str, *changes: str) -> list[dict[str, Any]]:
        """The rows the test returns after ``changes`` (SQL statements), which are then
        rolled back. The test must return none before them."""
        if test not in self._clean:
            assert self._run(test) == [], f"{test} fails on the unchanged build"
            self._clean.add(test)
        self.con.begin()
        try:
            for change in changes:
                self.con.execute(change)
            return self._run(test)
        finally:
            self.con.rollback()


def _test_name(unique_id: str) -> str:
    # test.retention.<name>[.<hash>]: a generic test's name ends with a hash of its arguments.
    return unique_id.split(".")[2]


@pytest.fixture(scope="module")
def tests(clean_build: DbtRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataTests]:
    assert clean_build.ok, clean_build.failure_summary()
    results = json.loads((clean_build.target_path / "run_results.json").read_text("utf-8"))
    compiled = {
        _test_name(r["unique_id"]): r["compiled_code"]
        for r in results["results"]
        if r["unique_id"].startswith("test.")
    }
    # Named like the build's file: the compiled SQL names its catalog, "warehouse".
    db = copy_db(clean_build.db_path, tmp_path_factory.mktemp("data_tests") / DB_NAME)
    with duckdb.connect(str(db)) as con:
        yield DataTests(con, compiled)


def _generic(tests: DataTests, prefix: str) -> str:
    """The one generic test whose name starts with ``prefix``."""
    found = [name for name in tests.compiled if name.startswith(prefix)]
    assert len(found) == 1, (prefix, found)
    return found[0]


# --- the singular tests (tests/*.sql) --------------------------------------------------------


def test_a_staged_row_lost_is_not_accounted_for(tests: DataTests) -> None:
    order_id = tests.one("select min(order_id) from staging.stg_shop__orders")[0]
    raw = tests.one("select count(*) from raw.orders")[0]
    quarantined = tests.one(
        "select count(*) from quarantine.quarantined_rows where source_table = 'orders'"
    )[0]
    failed = tests.failures(
        "assert_raw_rows_accounted_for",
        f"delete from staging.base_shop__orders where order_id = '{order_id}'",
    )
    # The clean data set stages every raw order, so one staged row less: raw − 1 staged.
    assert failed == [
        {
            "source_table": "orders",
            "raw_rows": raw,
            "staged_rows": raw - quarantined - 1,
            "quarantined_rows": quarantined,
        }
    ]


def test_a_closed_period_in_the_open_period_fails(tests: DataTests) -> None:
    # A copy of an open quarter row in the closed part: the quarter's last closed period is
    # then the open one.
    open_start = tests.one(
        "select distinct period_start from intermediate.int_customer_periods_open"
        " where period_grain = 'quarter'"
    )[0]
    failed = tests.failures(
        "assert_customer_periods_closed_before_open",
        "insert into intermediate.int_customer_periods_closed by name"
        " select *, now() as built_at from intermediate.int_customer_periods_open"
        " where period_grain = 'quarter' limit 1",
    )
    assert [(r["period_grain"], r["last_closed_period_start"]) for r in failed] == [
        ("quarter", open_start)
    ]
    assert failed[0]["open_period_start"] == open_start


def test_two_open_periods_of_a_grain_fail(tests: DataTests) -> None:
    failed = tests.failures(
        "assert_customer_periods_closed_before_open",
        "update intermediate.int_customer_periods_open"
        " set period_start = period_start - interval 1 year"
        " where period_grain = 'year' and customer_id = (select min(customer_id)"
        " from intermediate.int_customer_periods_open)",
    )
    assert [(r["period_grain"], r["open_periods"]) for r in failed] == [("year", 2)]


def test_revenue_counted_twice_does_not_reconcile(tests: DataTests) -> None:
    customer_id, period_start = tests.one(
        "select customer_id, period_start from intermediate.int_customer_periods_closed"
        " where basis = 'order' and period_grain = 'quarter' and net_revenue > 0"
        " order by customer_id, period_start limit 1"
    )
    staged = tests.one(
        "select sum(net_revenue) from staging.stg_shop__orders as o"
        " join intermediate.int_reporting_params as p on o.order_date <= p.as_of_date"
        " where o.is_purchase"
    )[0]
    failed = tests.failures(
        "assert_customer_months_revenue_matches_purchases",
        "update intermediate.int_customer_periods_closed set net_revenue = net_revenue + 1"
        f" where basis = 'order' and period_grain = 'quarter'"
        f" and customer_id = '{customer_id}' and period_start = '{period_start}'",
    )
    # Only the quarter grain is off, by the 1 added.
    assert failed == [
        {
            "period_grain": "quarter",
            "staged_net_revenue": staged,
            "fact_net_revenue": staged + 1,
        }
    ]


def test_overlapping_spells_fail(tests: DataTests) -> None:
    customer_id = tests.one(
        "select min(customer_id) from (select customer_id from"
        " intermediate.int_activity_spells_uncut where basis = 'order'"
        " group by customer_id having count(*) >= 2)"
    )[0]
    first_start = tests.one(
        "select spell_start_date from intermediate.int_activity_spells_uncut"
        f" where customer_id = '{customer_id}' and basis = 'order' and spell_number = 1"
    )[0]
    # Spell 2 starting where spell 1 starts: inside spell 1.
    failed = tests.failures(
        "assert_spells_disjoint_and_numbered",
        f"update intermediate.int_activity_spells_uncut set spell_start_date = '{first_start}'"
        f" where customer_id = '{customer_id}' and basis = 'order' and spell_number = 2",
    )
    assert [(r["customer_id"], r["basis"], r["spell_number"]) for r in failed] == [
        (customer_id, "order", 2)
    ]


def test_a_gap_in_spell_numbers_fails(tests: DataTests) -> None:
    customer_id = tests.one(
        "select min(customer_id) from (select customer_id from"
        " intermediate.int_activity_spells_uncut where basis = 'order'"
        " group by customer_id having count(*) >= 2)"
    )[0]
    failed = tests.failures(
        "assert_spells_disjoint_and_numbered",
        "update intermediate.int_activity_spells_uncut set spell_number = 3"
        f" where customer_id = '{customer_id}' and basis = 'order' and spell_number = 2",
    )
    # Numbered 1, 3: the second spell (position 2) has number 3.
    assert [(r["customer_id"], r["spell_number"], r["spell_position"]) for r in failed] == [
        (customer_id, 3, 2)
    ]


def test_churn_attributed_twice_fails(tests: DataTests) -> None:
    key = tests.one(
        "select basis, period_grain, period_start, churn_type, reason_code from marts.mart_churn"
        " where basis = 'contract' order by all limit 1"
    )
    churned = tests.one(
        "select churned from marts.fct_periods where basis = ? and period_grain = ?"
        " and period_start = ?",
        *key[:3],
    )[0]
    basis, grain, start, churn_type, reason_code = key
    failed = tests.failures(
        "assert_mart_churn_sums_to_fct_periods",
        "update marts.mart_churn set churned_customers = churned_customers + 1"
        f" where basis = '{basis}' and period_grain = '{grain}' and period_start = '{start}'"
        f" and churn_type = '{churn_type}' and reason_code = '{reason_code}'",
    )
    assert [
        (r["basis"], r["period_grain"], r["period_start"], r["churned"], r["mart_churn_churned"])
        for r in failed
    ] == [(*key[:3], churned, churned + 1)]


def test_churn_in_a_period_fct_periods_lacks_fails(tests: DataTests) -> None:
    # A period before any data: fct_periods has no row for it. The test joined mart_churn
    # to fct_periods' rows (a left join), which dropped this one.
    failed = tests.failures(
        "assert_mart_churn_sums_to_fct_periods",
        "insert into marts.mart_churn values"
        " ('contract', 'month', '1990-01-01', 'push', 'price', true, 1, 10, 1, 1.0)",
    )
    assert failed == [
        {
            "basis": "contract",
            "period_grain": "month",
            "period_start": dt.date(1990, 1, 1),
            "churned": None,
            "mart_churn_churned": 1,
        }
    ]


def _period(tests: DataTests) -> tuple[str, dt.date]:
    return tests.one(
        "select period_grain, period_start from marts.mart_lock_in order by all limit 1"
    )


def test_lock_in_buckets_that_do_not_split_the_period_fail(tests: DataTests) -> None:
    grain, start = _period(tests)
    customers_start = tests.one(
        "select customers_start from marts.fct_periods where basis = 'contract'"
        " and period_grain = ? and period_start = ?",
        grain,
        start,
    )[0]
    failed = tests.failures(
        "assert_mart_lock_in_sums_to_fct_periods",
        "update marts.mart_lock_in set customers_start = customers_start + 1"
        f" where period_grain = '{grain}' and period_start = '{start}'"
        " and products_at_start = (select min(products_at_start) from marts.mart_lock_in"
        f" where period_grain = '{grain}' and period_start = '{start}')",
    )
    assert [
        (r["period_grain"], r["period_start"], r["customers_start"], r["lock_in_customers_start"])
        for r in failed
    ] == [(grain, start, customers_start, customers_start + 1)]


def test_a_period_without_lock_in_buckets_fails(tests: DataTests) -> None:
    grain, start = _period(tests)
    failed = tests.failures(
        "assert_mart_lock_in_sums_to_fct_periods",
        f"delete from marts.mart_lock_in where period_grain = '{grain}'"
        f" and period_start = '{start}'",
    )
    assert [
        (r["period_grain"], r["period_start"], r["lock_in_customers_start"]) for r in failed
    ] == [(grain, start, None)]


def test_lock_in_buckets_of_a_period_fct_periods_lacks_fail(tests: DataTests) -> None:
    # As for mart_churn: the left join from fct_periods dropped the lock-in-only period.
    failed = tests.failures(
        "assert_mart_lock_in_sums_to_fct_periods",
        "insert into marts.mart_lock_in values ('month', '1990-01-01', '1', 1, 0, 0.0)",
    )
    assert [
        (r["period_grain"], r["period_start"], r["customers_start"], r["lock_in_customers_start"])
        for r in failed
    ] == [("month", dt.date(1990, 1, 1), None, 1)]


def test_order_cohort_month_zero_below_one_fails(tests: DataTests) -> None:
    cohort_month = tests.one(
        "select min(cohort_month) from marts.fct_cohorts where basis = 'order'"
    )[0]
    failed = tests.failures(
        "assert_order_cohort_month_zero_retention_is_one",
        "update marts.fct_cohorts set retention_rate = 0.5 where basis = 'order'"
        f" and cohort_month = '{cohort_month}' and months_since_cohort = 0",
    )
    assert [(r["cohort_month"], r["months_since_cohort"], r["retention_rate"]) for r in failed] == [
        (cohort_month, 0, 0.5)
    ]


@pytest.mark.parametrize("table", ["int_customers", "int_contract_arr_segments_uncut"])
def test_two_customers_sharing_a_join_key_fail(tests: DataTests, table: str) -> None:
    # No two ids of a 64-bit hash are at hand, so the test's key is swapped for one that two
    # ids share: the hash of the id in lower case, and an existing id (found in both tables)
    # comes back in lower case in the table read. What is checked is the rest of the test:
    # it reads every customer id of both tables and reports a key two of them share.
    test = "assert_customer_join_keys_distinct"
    customer_id = tests.one(
        "select min(customer_id) from intermediate.int_contract_arr_segments_uncut"
    )[0]
    key = "hash(customer_id) as join_key"
    assert tests.compiled[test].count(key) == 1
    tests.compiled[f"{test} (lower case)"] = tests.compiled[test].replace(
        key, "hash(lower(customer_id)) as join_key"
    )
    failed = tests.failures(
        f"{test} (lower case)",
        f"insert into intermediate.{table} by name select * replace"
        f" (lower(customer_id) as customer_id) from intermediate.{table}"
        f" where customer_id = '{customer_id}' limit 1",
    )
    assert failed == [
        {"join_key": tests.one("select hash(lower(?))", customer_id)[0], "customer_ids": 2}
    ]


def test_an_undocumented_column_is_reported(clean_build: DbtRun, tmp_path: Path) -> None:
    # assert_every_model_and_column_documented lists what undocumented_columns() finds when
    # dbt compiles it, reading the built relations: columns added to a copy of the build, one
    # plain and one named like a window column of a window the var does not have (7).
    db = copy_db(clean_build.db_path, tmp_path / DB_NAME)
    with duckdb.connect(str(db)) as con:
        con.execute("alter table intermediate.int_customers add column surprise integer")
        con.execute("alter table marts.mart_repeat_purchase add column eligible_7 integer")
    found = compile_inline("{{ retention.undocumented_columns() | tojson }}", tmp_path)
    assert sorted(json.loads(found)) == [
        ["int_customers", "surprise"],
        ["mart_repeat_purchase", "eligible_7"],
    ]


# --- expression_is_true (tests/generic/expression_is_true.sql), each use in the YAML --------


def test_an_inferred_customer_with_a_creation_time_fails(tests: DataTests) -> None:
    customer_id = tests.one("select min(customer_id) from intermediate.int_customers")[0]
    failed = tests.failures(
        _generic(tests, "expression_is_true_int_customers_is_inferred"),
        "update intermediate.int_customers set is_inferred = not is_inferred"
        f" where customer_id = '{customer_id}'",
    )
    assert [r["customer_id"] for r in failed] == [customer_id]


def test_an_unretainable_reason_marked_retainable_fails(tests: DataTests) -> None:
    failed = tests.failures(
        _generic(tests, "expression_is_true_cancellation_reasons_is_retainable"),
        "update reference.cancellation_reasons set is_retainable = true"
        " where reason_code = 'deceased'",
    )
    assert [r["reason_code"] for r in failed] == ["deceased"]


def test_a_second_row_of_reporting_params_fails(tests: DataTests) -> None:
    # A second row with another A (so the key, as_of_date, still holds): both rows fail.
    failed = tests.failures(
        _generic(tests, "expression_is_true_int_reporting_params"),
        "insert into intermediate.int_reporting_params select * replace"
        " (as_of_date - 1 as as_of_date) from intermediate.int_reporting_params",
    )
    assert len(failed) == 2


def test_nps_churn_without_one_of_its_six_rows_fails(tests: DataTests) -> None:
    failed = tests.failures(
        _generic(tests, "mart_nps_churn_six_rows"),
        "delete from marts.mart_nps_churn where basis = 'order' and nps_class = 'passive'",
    )
    # Every one of the 5 rows left fails (5 ≠ 6).
    assert sorted((r["basis"], r["nps_class"]) for r in failed) == [
        ("contract", "detractor"), ("contract", "passive"), ("contract", "promoter"),
        ("order", "detractor"), ("order", "promoter"),
    ]  # fmt: skip


def test_clv_without_its_all_segment_fails(tests: DataTests) -> None:
    rows = tests.one("select count(*) from marts.mart_clv where segment_type <> 'all'")[0]
    failed = tests.failures(
        _generic(tests, "mart_clv_one_all_segment"),
        "delete from marts.mart_clv where segment_type = 'all'",
    )
    assert len(failed) == rows and all(r["segment_type"] != "all" for r in failed)


def test_clv_channels_that_do_not_add_up_to_all_fail(tests: DataTests) -> None:
    test = _generic(tests, "mart_clv_channels_add_up_to_all")
    one_more = tests.failures(
        test,
        "update marts.mart_clv set customers = customers + 1"
        " where segment_type = 'acquisition_channel' and segment_value = 'email'",
    )
    assert [(r["segment_type"], r["segment_value"]) for r in one_more] == [("all", "all")]
    # No channel row at all (a join that lost them): the sum over no rows is null, and
    # `customers = null` passed.
    none = tests.failures(
        test, "delete from marts.mart_clv where segment_type = 'acquisition_channel'"
    )
    assert [(r["segment_type"], r["segment_value"]) for r in none] == [("all", "all")]


@pytest.mark.parametrize(
    ("mart", "column", "bound"),
    [
        ("mart_repeat_purchase", "repeat_within_90", "eligible_90"),
        ("mart_repeat_purchase", "eligible_365", "customers"),
        ("mart_repeat_purchase", "repeat_within_30", "repeat_customers"),
        ("mart_winback", "won_back_within_180", "eligible_180"),
        ("mart_winback", "eligible_30", "churn_events"),
        ("mart_winback", "won_back", "churn_events"),
    ],
)
def test_a_window_count_above_its_bound_fails(
    tests: DataTests, mart: str, column: str, bound: str
) -> None:
    key = "first_purchase_month" if mart == "mart_repeat_purchase" else "churn_month"
    first = tests.one(f"select min({key}) from marts.{mart}")[0]
    failed = tests.failures(
        _generic(tests, f"{mart}_window_counts_nested"),
        f"update marts.{mart} set {column} = {bound} + 1 where {key} = '{first}'",
    )
    assert failed and {r[key] for r in failed} == {first}
    assert all(r[column] == r[bound] + 1 for r in failed)


# mart_contract_survival: hand-made rows (the shared build leaves the predictive marts
# empty). Three cohorts of months 0 … 2, as (month, projected retention): one fine, one
# rising from month 1 to 2, one starting below 1; a fourth without month 1.
SURVIVAL = {
    dt.date(2024, 1, 1): [(0, 1.0), (1, 0.6), (2, 0.5)],
    dt.date(2024, 2, 1): [(0, 1.0), (1, 0.6), (2, 0.7)],  # S(2) > S(1)
    dt.date(2024, 3, 1): [(0, 0.9), (1, 0.6), (2, 0.5)],  # S(0) ≠ 1
    dt.date(2024, 4, 1): [(0, 1.0), (2, 0.5)],  # month 1 missing: S(2) compared with nothing
}


def test_a_survival_projection_that_rises_or_does_not_start_at_one_fails(
    tests: DataTests,
) -> None:
    values = ", ".join(
        f"('{cohort}', {k}, 10, null, null, {retention}, true, 1.0, 2.0, 'ok')"
        for cohort, months in SURVIVAL.items()
        for k, retention in months
    )
    failed = tests.failures(
        _generic(tests, "mart_contract_survival_projection_non_increasing"),
        f"insert into marts.mart_contract_survival values {values}",
    )
    # The month-0 row of March and the month-2 rows of February and April. The March and
    # April rows passed: `false or null` (no month −1, no month 1 to compare with) is null,
    # which the test's `where not (…)` let through.
    assert sorted((r["cohort_month"], r["months_since_cohort"]) for r in failed) == [
        (dt.date(2024, 2, 1), 2),
        (dt.date(2024, 3, 1), 0),
        (dt.date(2024, 4, 1), 2),
    ]


# --- accepted_range (tests/generic/accepted_range.sql), each use ----------------------------


@pytest.mark.parametrize(
    ("test", "table", "key", "column", "value"),
    [
        ("accepted_range_stg_shop__orders_amount", "base_shop__orders", "order_id", "amount", -5),
        ("accepted_range_stg_shop__nps_responses_score", "base_shop__nps_responses",
         "response_id", "score", 11),
        ("accepted_range_stg_shop__nps_responses_score", "base_shop__nps_responses",
         "response_id", "score", -1),
        ("accepted_range_stg_shop__retention_actions_cost", "base_shop__retention_actions",
         "action_id", "cost", -0.01),
    ],
)  # fmt: skip
def test_a_staged_value_out_of_range_fails(
    tests: DataTests, test: str, table: str, key: str, column: str, value: float
) -> None:
    # Changed in the base table the staging view reads, on a row the latest load wrote: the
    # test's `where` (the rows of the latest run) keeps it.
    row = tests.one(f"select min({key}) from staging.{table} where rejection_reason is null")[0]
    failed = tests.failures(
        _generic(tests, test),
        f"update staging.{table} set {column} = {value} where {key} = '{row}'",
    )
    assert [(r[key], float(r[column])) for r in failed] == [(row, value)]


@pytest.mark.parametrize("lifespan", [0.5, 10.5])
def test_a_clv_lifespan_outside_one_to_the_cap_fails(tests: DataTests, lifespan: float) -> None:
    # [1, clv_max_lifespan_years], the var's default 10.
    failed = tests.failures(
        _generic(tests, "accepted_range_mart_clv_expected_lifespan_years"),
        f"update marts.mart_clv set expected_lifespan_years = {lifespan}"
        " where segment_type = 'all'",
    )
    assert [(r["segment_type"], r["expected_lifespan_years"]) for r in failed] == [
        ("all", lifespan)
    ]


# --- the other kinds of generic test, one use each -------------------------------------------


def test_a_reason_code_not_in_the_seed_is_reported_with_its_rows(tests: DataTests) -> None:
    failed = tests.failures(
        _generic(tests, "cancellation_reason_codes_in_seed"),
        "update staging.base_shop__cancellations set reason_code = 'moved_to_mars'"
        " where cancellation_id in (select cancellation_id from staging.base_shop__cancellations"
        " where rejection_reason is null order by cancellation_id limit 2)",
    )
    assert failed == [{"unlisted_value": "moved_to_mars", "rows_with_value": 2}]


def test_dbt_built_in_tests_fail_on_the_rows_they_guard(tests: DataTests) -> None:
    # relationships (scoped to the latest run), not_null, accepted_values and unique.
    order_id = tests.one("select min(order_id) from intermediate.int_purchases")[0]
    failed = tests.failures(
        _generic(tests, "relationships_int_purchases_customer_id"),
        f"update intermediate.int_purchases set customer_id = 'nobody'"
        f" where order_id = '{order_id}'",
    )
    assert failed == [{"from_field": "nobody"}]
    order_id = tests.one("select min(order_id) from staging.stg_shop__orders")[0]
    change = f"update staging.base_shop__orders set {{}} where order_id = '{order_id}'"
    failed = tests.failures(
        _generic(tests, "not_null_stg_shop__orders_customer_id"),
        change.format("customer_id = null"),
    )
    assert failed == [{"customer_id": None}]
    failed = tests.failures(
        _generic(tests, "accepted_values_stg_shop__orders_status"),
        change.format("status = 'lost'"),
    )
    assert failed == [{"value_field": "lost", "n_records": 1}]
    # (Empty after a full build: an incremental run lists the customers it changed.)
    failed = tests.failures(
        _generic(tests, "unique_int_changed_customers_customer_id"),
        "insert into intermediate.int_changed_customers by name"
        " select 'C00000001' as customer_id from range(2)",
    )
    assert failed == [{"unique_field": "C00000001", "n_records": 2}]
