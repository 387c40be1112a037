"""Bad input (issue 5): every defect of `retention generate --dirty` is quarantined with its own
reason, nothing is lost, and the marts do not change; a raw table that lost a column stops the
build at the source layer with a message naming the column.

The same data set (CUSTOMERS customers, SEED) is generated twice, without and with `--dirty`
(the dirty files are the clean files plus appended defect rows, listed in `_defects.json`),
each loaded into its own DuckDB file and built with `dbt build`. What the dirty build must
show follows from the clean one and from `_defects.json`, never from the dirty build itself:

- the quarantine holds exactly the injected rows, each with the reason its defect class
  maps to (EXPECTED_REASON below, from macros/quarantine.sql and the base models' checks);
- raw = staged + quarantined per raw table, with raw = clean + injected, staged = clean and
  quarantined = injected (the counts in `_defects.json`);
- the staging models and every mart of the dirty build equal the clean build's, row for row;
- orders and contracts of customers absent from `customers` are kept, and those customers are
  in dim_customers with is_inferred = true.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from pipeline import (
    DB_NAME,
    MARTS,
    RAW_TABLES,
    DbtRun,
    copy_db,
    dbt,
    relations,
)

from retention import dbt_runner
from retention.generate.dirty import KEYS  # each dirtied table's key (the raw contract's)

# Typed raw columns (the raw input contract): a value that does not parse is `invalid_<column>`.
TYPED_COLUMNS = {
    "customers": {"created_at": "timestamp"},
    "orders": {"ordered_at": "timestamp", "amount": "decimal", "refunded_amount": "decimal"},
    "contracts": {
        "signed_at": "timestamp",
        "start_date": "date",
        "end_date": "date",
        "price": "decimal",
    },
    "cancellations": {"requested_at": "timestamp", "effective_date": "date"},
    "nps_responses": {"responded_at": "timestamp", "score": "integer"},
    "retention_actions": {"assigned_at": "timestamp", "cost": "decimal"},
}
UNPARSABLE = "unparsable"  # marks the classes whose reason names the column that does not parse
OUT_OF_RANGE = "out_of_range"  # ... and those whose reason names the implausible date column
# The plausible range of dates (dbt vars earliest_plausible_date, plausible_years_after_load;
# docs/operations.md "Quarantined rows"): from 1990-01-01 00:00 UTC to one year after the
# row's _loaded_at, with no upper bound for the dates that schedule an end.
EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)
PLAUSIBLE_YEARS_AFTER_LOAD = 1
NO_UPPER_BOUND = {"end_date", "effective_date"}

# Defect class (from `_defects.json`) -> the quarantine reason the base models give it, per
# table where the tables differ. A class missing here fails the test: decide its reason first.
EXPECTED_REASON: dict[str, str | dict[str, str]] = {
    # de-duplication: the latest _loaded_at wins (docs/decisions.md)
    "duplicate_row": "duplicate_row",
    "conflicting_row": "superseded_by_later_load",
    # a missing key: null and blank (trimmed to nothing) are the same defect
    "null_key": {table: f"missing_{key}" for table, key in KEYS.items()},
    "blank_key": {table: f"missing_{key}" for table, key in KEYS.items()},
    "null_customer_id": "missing_customer_id",
    "unparsable_timestamp": UNPARSABLE,
    "unparsable_date": UNPARSABLE,
    "unparsable_number": UNPARSABLE,
    # business rules: amount >= 0, price >= 0, cost >= 0, 0 <= refunded_amount <= amount
    "negative_amount": {
        "orders": "negative_amount",
        "contracts": "negative_price",
        "retention_actions": "negative_cost",
    },
    "refund_above_amount": "refund_exceeds_amount",
    "unknown_status": "unknown_status",
    "unknown_billing_period": "unknown_billing_period",
    "non_eur_currency": "non_reporting_currency",
    "end_before_start": "end_before_start",
    "unknown_contract": "unknown_contract",
    "score_out_of_range": "score_out_of_range",
    # money: at most two decimals (amounts are currency amounts; 19.995 is no price)
    "too_many_decimals": {
        "orders": "amount_too_many_decimals",
        "contracts": "price_too_many_decimals",
        "retention_actions": "cost_too_many_decimals",
    },
    "implausible_date": OUT_OF_RANGE,
}
TOLERANCE = 1e-9


# --- builds ----------------------------------------------------------------------------------


def _build_without_amount(folder: Path, raw: Path) -> tuple[DbtRun, set[str]]:
    """Valid raw data whose raw.orders lost its required column `amount` (and whose
    raw.customers gained a column `email` the contract does not know), then dbt build."""
    workdir = folder / "lost-column"
    db_path = copy_db(raw, workdir / DB_NAME)
    with duckdb.connect(str(db_path)) as con:
        con.execute("alter table raw.orders drop column amount")
        con.execute("alter table raw.customers add column email varchar")
    before = relations(db_path)
    build = [*dbt_runner.BUILD]
    return dbt(build, db_path, workdir, manifest=False), before


@pytest.fixture(scope="module")
def lost_column(shared_dir: Path, raw_clean_db: Path) -> tuple[DbtRun, set[str]]:
    return _build_without_amount(shared_dir, raw_clean_db)


def _built(run: DbtRun, label: str) -> DbtRun:
    assert run.ok, (
        f"dbt build of the {label} data set failed (exit {run.returncode}; log in "
        f"{run.target_path.parent}):\n{run.failure_summary()}"
    )
    return run


@pytest.fixture(scope="module")
def clean(clean_build: DbtRun) -> DbtRun:
    return _built(clean_build, "clean")


@pytest.fixture(scope="module")
def dirty(dirty_build: DbtRun) -> DbtRun:
    return _built(dirty_build, "dirty")


@pytest.fixture(scope="module")
def report(dirty_data: Path) -> dict[str, Any]:
    return json.loads((dirty_data / "_defects.json").read_text())


# --- the injected rows, read back from the dirty files ----------------------------------------


def _csv_rows(path: Path) -> list[dict[str, str | None]]:
    """A raw CSV as text; an empty field is null (the generator quotes every present value)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            {k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(handle)
        ]


def _injected(data: Path, report: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(defect class, table, raw row) of every injected row: the rows after the clean ones,
    in the order of the report's defect list (the generator appends them in that order)."""
    by_table: dict[str, list[dict[str, Any]]] = {}
    for table in {d["table"] for d in report["defects"]}:
        rows = _csv_rows(data / f"{table}.csv")
        by_table[table] = rows[report["clean_rows"][table] :]
        assert len(by_table[table]) == report["injected_rows"][table], table
    injected = []
    taken = Counter[str]()
    for defect in report["defects"]:
        table = defect["table"]
        rows = by_table[table][taken[table] : taken[table] + defect["count"]]
        taken[table] += defect["count"]
        keys = [row[KEYS[table]] for row in rows]
        assert keys == defect["keys"], f"{defect['defect']} {table}: rows out of step with report"
        injected.extend((defect["defect"], table, row) for row in rows)
    return injected


def _parses(value: str, kind: str) -> bool:
    try:
        if kind == "timestamp":
            datetime.fromisoformat(value)
        elif kind == "date":
            date.fromisoformat(value)
        elif kind == "decimal":
            # plain decimal notation (1e2 or 1_000 are not); more than 2 decimals parses
            return re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value) is not None
        elif kind == "integer":
            return re.fullmatch(r"-?[0-9]+", value) is not None
    except ValueError:
        return False
    return True


def _instant(value: str) -> datetime:
    """An ISO date or timestamp as an aware UTC datetime (a date: its midnight UTC)."""
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _out_of_range(column: str, kind: str, value: str, loaded_at: str) -> bool:
    moment = _instant(value)
    if moment < EARLIEST_PLAUSIBLE:
        return True
    if column in NO_UPPER_BOUND:
        return False
    loaded = _instant(loaded_at)
    latest = loaded.replace(year=loaded.year + PLAUSIBLE_YEARS_AFTER_LOAD)  # no Feb 29 here
    if kind == "date":
        return moment.date() > latest.date()
    return moment > latest


def expected_reason(defect: str, table: str, row: dict[str, Any]) -> str:
    if defect not in EXPECTED_REASON:
        raise AssertionError(f"defect class {defect!r} has no expected reason in this test")
    reason = EXPECTED_REASON[defect]
    if reason == OUT_OF_RANGE:
        bad = [
            column
            for column, kind in TYPED_COLUMNS[table].items()
            if kind in ("date", "timestamp")
            and row[column] is not None
            and _out_of_range(column, kind, row[column], row["_loaded_at"])
        ]
        assert len(bad) == 1, f"{defect} {table}: expected one implausible date, got {bad}"
        return f"{bad[0]}_out_of_range"
    if reason == UNPARSABLE:
        bad = [
            column
            for column, kind in TYPED_COLUMNS[table].items()
            if row[column] is not None and not _parses(row[column], kind)
        ]
        assert len(bad) == 1, f"{defect} {table}: expected one unparsable column, got {bad}"
        return f"invalid_{bad[0]}"
    if isinstance(reason, dict):
        return reason[table]
    return reason


# --- helpers on the built warehouses ---------------------------------------------------------


def _frame(db_path: Path, relation: str) -> pd.DataFrame:
    with duckdb.connect(str(db_path), read_only=True) as con:
        frame = con.execute(f"select * from {relation}").df()
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return con.execute(sql).fetchone()[0]


# --- tests -----------------------------------------------------------------------------------


def test_dirty_data_set_has_every_defect_class(report: dict[str, Any]) -> None:
    # The checks below are only as good as the defects injected: every class of the issue.
    classes = {d["defect"] for d in report["defects"]}
    assert classes == set(EXPECTED_REASON), (
        f"defect classes in _defects.json {sorted(classes)} differ from the classes this test "
        f"knows {sorted(EXPECTED_REASON)}"
    )
    assert all(d["count"] >= 1 for d in report["defects"])
    inferred = report["valid_anomalies"][0]
    assert inferred["anomaly"] == "customer_absent_from_customers" and inferred["customer_ids"]


def test_clean_build_quarantines_nothing(clean: DbtRun) -> None:
    # Control: with the defects removed (the clean files), nothing is rejected.
    with duckdb.connect(str(clean.db_path), read_only=True) as con:
        rows = con.execute(
            "select source_table, reason, count(*) from quarantine.quarantined_rows group by all"
        ).fetchall()
    assert rows == []


def test_each_defect_is_quarantined_with_its_reason(
    dirty: DbtRun, report: dict[str, Any], dirty_data: Path
) -> None:
    injected = _injected(dirty_data, report)
    with duckdb.connect(str(dirty.db_path), read_only=True) as con:
        quarantined = con.execute(
            "select source_table, reason, raw_row from quarantine.quarantined_rows"
        ).fetchall()
    # Quarantined rows by their raw content (a duplicate's content is that of its clean twin).
    found: dict[tuple[str, str], list[str]] = {}
    for table, reason, raw_row in quarantined:
        row = json.loads(raw_row)
        # The raw row is the file's row plus the loader's batch id: one load, batch 1.
        assert row.pop("_load_id") == 1, raw_row
        key = (table, json.dumps(row, sort_keys=True))
        found.setdefault(key, []).append(reason)

    problems = []
    for defect, table, row in injected:
        expected = expected_reason(defect, table, row)
        reasons = found.get((table, json.dumps(row, sort_keys=True)), [])
        if reasons != [expected]:
            problems.append(
                f"{defect} in {table} (key {row[KEYS[table]]!r}): expected quarantined once as "
                f"{expected!r}, found {reasons or 'not in the quarantine'}"
            )
    assert not problems, "\n".join(problems)
    # And nothing else: the quarantine holds exactly the injected rows.
    assert len(quarantined) == len(injected) == sum(report["injected_rows"].values())


def test_each_defect_class_has_its_own_reason(report: dict[str, Any], dirty_data: Path) -> None:
    # Two defect classes never share a reason (null and blank keys are one class: a key that
    # is missing), so the quarantine tells what went wrong.
    injected = _injected(dirty_data, report)
    classes_by_reason: dict[tuple[str, str], set[str]] = {}
    for defect, table, row in injected:
        group = "missing_key" if defect in ("null_key", "blank_key") else defect
        reason = expected_reason(defect, table, row)
        classes_by_reason.setdefault((table, reason), set()).add(group)
    shared = {k: v for k, v in classes_by_reason.items() if len(v) > 1}
    assert not shared, f"reasons shared by several defect classes: {shared}"


def test_raw_rows_equal_staged_plus_quarantined(
    clean: DbtRun, dirty: DbtRun, report: dict[str, Any]
) -> None:
    clean_rows, injected_rows = report["clean_rows"], report["injected_rows"]
    for label, run in (("clean", clean), ("dirty", dirty)):
        with duckdb.connect(str(run.db_path), read_only=True) as con:
            for table in RAW_TABLES:
                raw = _count(con, f"select count(*) from raw.{table}")
                staged = _count(con, f"select count(*) from staging.stg_shop__{table}")
                quarantined = _count(
                    con,
                    "select count(*) from quarantine.quarantined_rows "
                    f"where source_table = '{table}'",
                )
                extra = injected_rows[table] if label == "dirty" else 0
                # raw = clean + injected; every clean row staged, every injected row quarantined
                assert (raw, staged, quarantined) == (
                    clean_rows[table] + extra,
                    clean_rows[table],
                    extra,
                ), f"{label} {table}: raw {raw}, staged {staged}, quarantined {quarantined}"
                assert raw == staged + quarantined


@pytest.mark.parametrize(
    "relation",
    [f"staging.stg_shop__{t}" for t in RAW_TABLES] + [f"marts.{m}" for m in MARTS],
)
def test_dirty_build_equals_clean_build(clean: DbtRun, dirty: DbtRun, relation: str) -> None:
    expected = _frame(clean.db_path, relation)
    actual = _frame(dirty.db_path, relation)
    assert len(expected) > 0, f"{relation} is empty in the clean build"
    pd.testing.assert_frame_equal(
        actual, expected, check_exact=False, rtol=0, atol=TOLERANCE, obj=relation
    )


def test_customers_absent_from_customers_are_inferred(
    clean: DbtRun, dirty: DbtRun, report: dict[str, Any]
) -> None:
    absent = set(report["valid_anomalies"][0]["customer_ids"])
    for label, run in (("clean", clean), ("dirty", dirty)):
        with duckdb.connect(str(run.db_path), read_only=True) as con:
            inferred = {
                customer_id
                for (customer_id,) in con.execute(
                    "select customer_id from marts.dim_customers where is_inferred"
                ).fetchall()
            }
            kept = _count(
                con,
                "select count(*) from ("
                "select customer_id from staging.stg_shop__orders union all "
                "select customer_id from staging.stg_shop__contracts) "
                f"where customer_id in ({', '.join(repr(c) for c in sorted(absent))})",
            )
            known = _count(
                con,
                "select count(*) from staging.stg_shop__customers "
                f"where customer_id in ({', '.join(repr(c) for c in sorted(absent))})",
            )
        assert inferred == absent, f"{label}: inferred {sorted(inferred)}, absent {sorted(absent)}"
        assert kept >= len(absent), f"{label}: their orders/contracts were not all kept"
        assert known == 0


def test_raw_table_without_required_column_fails_at_source_layer(
    lost_column: tuple[DbtRun, set[str]],
) -> None:
    run, before = lost_column
    # A loaded database: the raw tables and the load's record in meta.build_state.
    assert before and all(r.startswith(("raw.", "meta.")) for r in before)
    assert not run.ok, "dbt build succeeded on raw.orders without its column amount"
    # The message names the table and the column (macros/check_raw_columns.sql).
    assert re.search(r"raw\.orders: missing column amount\b", run.output), run.failure_summary()
    # A column the contract does not know is ignored, as `retention load` ignores it.
    assert "email" not in run.output
    assert "check_raw_columns" in run.output and "on-run-start" in run.output
    # It failed before any model: nothing exists but the raw tables it started with.
    assert relations(run.db_path) == before
    assert not [uid for uid in run.node_results() if uid.startswith("model.")]
