"""`retention load`: raw files in, VARCHAR tables in schema `raw` out, one batch at a time;
refusals change nothing.

Each test builds its own tiny raw folder in tmp_path, so the expected rows can be read off the
fixture directly. The last part builds staging with dbt on two batches (one small build for
the module) to check that the latest row per key wins as documented.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import signal
import sqlite3
import threading
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pipeline import DB_NAME, compile_inline, dbt

from retention import console, dbt_runner
from retention import load as load_module
from retention.cli import main
from retention.contract import TABLES, TIMESTAMP_FORM
from retention.load import LoadError, LoadResult, load_dir

REPO_ROOT = Path(__file__).resolve().parent.parent

CUSTOMERS_CSV = (
    "customer_id,created_at,acquisition_channel\n"
    "c1,2024-01-01 09:00:00,paid_search\n"
    "c2,2024-02-15T10:30:00+01:00,\n"  # empty field -> NULL; text kept exactly as delivered
)
ORDERS_HEADER = "order_id,customer_id,ordered_at,status,amount,currency\n"
ORDERS_CSV = (
    ORDERS_HEADER + "o1,c1,2024-01-02 10:00:00,completed,19.90,EUR\n"
    "o2,c1,2024-03-01 11:00:00,refunded,5.00,EUR\n"
    'o3,c2,2024-02-16 12:00:00,completed,"1,000.00",EUR\n'  # quoted delimiter stays in value
)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def good_dir(tmp_path: Path, name: str = "good") -> Path:
    folder = tmp_path / name
    write(folder, "customers.csv", CUSTOMERS_CSV)
    write(folder, "orders.csv", ORDERS_CSV)
    return folder


def rows(db: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(f"select * from raw.{table} order by all").fetchall()


def columns(db: Path, table: str) -> list[tuple[str, str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = ? order by ordinal_position",
            [table],
        ).fetchall()


def batches(db: Path) -> list[tuple]:
    """meta.load_batches without loaded_at: (load_id, mode, table, rows, file, sha256)."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "select load_id, mode, table_name, rows, source_file, file_sha256 "
            "from meta.load_batches order by load_id, table_name"
        ).fetchall()


def stamp(db: Path, load_id: int) -> str:
    """The `_loaded_at` text the loader stamps for a batch: its loaded_at, ISO 8601 UTC."""
    with duckdb.connect(str(db), read_only=True) as con:
        (loaded_at,) = con.execute(
            "select distinct loaded_at from meta.load_batches where load_id = ?", [load_id]
        ).fetchone()
    return loaded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(db: Path) -> dict[str, tuple[list, list]]:
    """Every raw table's columns and rows, and the batches: what 'the database is unchanged'
    compares."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute(
            "select table_schema || '.' || table_name, "
            "list(column_name || ' ' || data_type order by ordinal_position) "
            "from information_schema.columns "
            "where table_schema = 'raw' or table_name = 'load_batches' group by all order by 1"
        ).fetchall()
        return {
            name: (cols, con.execute(f"select * from {name} order by all").fetchall())
            for name, cols in tables
        }


# --- loading ---------------------------------------------------------------------------------


def test_loads_csv_as_text_in_contract_column_order(tmp_path):
    db = tmp_path / "w.duckdb"
    result = load_dir(good_dir(tmp_path), db)

    assert (result.load_id, result.mode, result.skipped) == (1, "append", False)
    assert result.loaded == {"customers": 2, "orders": 3}
    # customers: customer_id, created_at, acquisition_channel, country, segment, _loaded_at
    # (the file has none: the batch's time), _load_id
    at = stamp(db, 1)
    assert rows(db, "customers") == [
        ("c1", "2024-01-01 09:00:00", "paid_search", None, None, at, 1),
        ("c2", "2024-02-15T10:30:00+01:00", None, None, None, at, 1),
    ]
    # orders: the file has no refunded_amount (optional) -> NULL, before _loaded_at
    assert rows(db, "orders")[2] == (
        "o3",
        "c2",
        "2024-02-16 12:00:00",
        "completed",
        "1,000.00",
        "EUR",
        None,
        at,
        1,
    )


def test_loads_parquet_casting_every_type_to_text(tmp_path):
    folder = tmp_path / "parquet"
    folder.mkdir()
    amsterdam = dt.timezone(dt.timedelta(hours=2))
    pq.write_table(
        pa.table(
            {
                "order_id": ["o1", "o2"],
                "customer_id": ["c1", "c2"],
                "ordered_at": pa.array(
                    [dt.datetime(2024, 1, 2, 3, 4, 5), None], pa.timestamp("us")
                ),
                "status": ["completed", "cancelled"],
                "amount": pa.array([Decimal("19.90"), Decimal("0.00")], pa.decimal128(12, 2)),
                "currency": ["EUR", "EUR"],
                "refunded_amount": pa.array([1.5, None], pa.float64()),
                # an instant with an offset: stored as its UTC wall clock, 12:00+02 -> 10:00
                "_loaded_at": pa.array(
                    [dt.datetime(2024, 6, 1, 12, 0, tzinfo=amsterdam)] * 2,
                    pa.timestamp("us", tz="Europe/Amsterdam"),
                ),
            }
        ),
        folder / "orders.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "cancellation_id": ["x1"],
                "contract_id": ["k1"],
                "requested_at": pa.array([dt.datetime(2024, 3, 1, 8, 0)], pa.timestamp("ms")),
                "effective_date": pa.array([dt.date(2024, 3, 31)], pa.date32()),
                "final_offer_made": [True],
                "final_offer_accepted": pa.array([None], pa.bool_()),
            }
        ),
        folder / "cancellations.parquet",
    )
    db = tmp_path / "w.duckdb"

    assert load_dir(folder, db).loaded == {"orders": 2, "cancellations": 1}

    assert rows(db, "orders") == [
        ("o1", "c1", "2024-01-02 03:04:05", "completed", "19.90", "EUR", "1.5",
         "2024-06-01 10:00:00", 1),
        ("o2", "c2", None, "cancelled", "0.00", "EUR", None, "2024-06-01 10:00:00", 1),
    ]  # fmt: skip
    # cancellation_id, contract_id, requested_at, effective_date, reason_code (absent),
    # final_offer_made, final_offer_accepted, _loaded_at (absent: stamped), _load_id
    assert rows(db, "cancellations") == [
        ("x1", "k1", "2024-03-01 08:00:00", "2024-03-31", None, "true", None, stamp(db, 1), 1)
    ]
    # and the text casts back to what was written
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(
            "select cast(ordered_at as timestamp), cast(amount as decimal(12, 2)) "
            "from raw.orders where order_id = 'o1'"
        ).fetchone() == (dt.datetime(2024, 1, 2, 3, 4, 5), Decimal("19.90"))


def test_first_load_creates_every_raw_table_with_all_columns(tmp_path):
    db = tmp_path / "w.duckdb"
    result = load_dir(good_dir(tmp_path), db)

    assert set(result.totals) == set(TABLES)
    for name, table in TABLES.items():
        # every delivered column as text, then the loader's batch id
        assert columns(db, name) == [(c, "VARCHAR") for c in table.columns] + [
            ("_load_id", "BIGINT")
        ]
    assert result.totals["contracts"] == 0  # core table, no file: created empty
    assert result.totals["nps_responses"] == 0  # optional table, no file
    assert rows(db, "contracts") == []


def test_each_load_is_a_batch_appended_and_recorded(tmp_path):
    db = tmp_path / "w.duckdb"
    first = good_dir(tmp_path, "day-1")
    second = tmp_path / "day-2"
    # Day 2 delivers one changed order (o1 refunded) and one new one; no customers file.
    write(second, "orders.csv", ORDERS_HEADER + "o1,c1,2024-01-02 10:00:00,refunded,19.90,EUR\n"
          "o4,c2,2024-03-02 08:00:00,completed,7.00,EUR\n")  # fmt: skip

    load_dir(first, db)
    result = load_dir(second, db)

    assert (result.load_id, result.mode, result.loaded) == (2, "append", {"orders": 2})
    # 3 orders from day 1 + 2 from day 2; customers unchanged (no file on day 2)
    assert result.totals["orders"] == 3 + 2 and result.totals["customers"] == 2
    assert [(r[0], r[3], r[8]) for r in rows(db, "orders")] == [
        ("o1", "completed", 1),
        ("o1", "refunded", 2),  # both versions kept in raw; staging picks the latest
        ("o2", "refunded", 1),
        ("o3", "completed", 1),
        ("o4", "completed", 2),
    ]
    files = [first / "customers.csv", first / "orders.csv", second / "orders.csv"]
    assert batches(db) == [
        (1, "append", "customers", 2, str(files[0]), sha256(files[0])),
        (1, "append", "orders", 3, str(files[1]), sha256(files[1])),
        (2, "append", "orders", 2, str(files[2]), sha256(files[2])),
    ]
    # Each batch's rows carry its own time; the second batch is the later one.
    assert {r[7] for r in rows(db, "orders") if r[8] == 2} == {stamp(db, 2)}
    assert stamp(db, 1) < stamp(db, 2)


def test_a_files_own_loaded_at_is_kept_and_a_blank_one_stamped(tmp_path):
    folder = tmp_path / "d"
    write(folder, "customers.csv", "customer_id,created_at,_loaded_at\n"
          "c1,2024-01-01,2024-05-01T02:00:00Z\n"
          "c2,2024-01-01,\n"
          "c3,2024-01-01,  \n")  # fmt: skip
    db = tmp_path / "w.duckdb"
    load_dir(folder, db)
    at = stamp(db, 1)
    assert [(r[0], r[5]) for r in rows(db, "customers")] == [
        ("c1", "2024-05-01T02:00:00Z"),
        ("c2", at),
        ("c3", at),
    ]
    with duckdb.connect(str(db), read_only=True) as con:
        # The stamp is the batch's UTC time and parses as such.
        (parsed, recorded) = con.execute(
            "select cast(? as timestamptz) at time zone 'UTC', loaded_at from meta.load_batches",
            [at],
        ).fetchone()
    assert parsed == recorded


@pytest.mark.parametrize(
    "value",
    [
        "2026-12-06 02:00:00 UTC",
        "12/06/2026 02:00",
        "2026-12-06t02:00:00z",
        "2024-02-30",
        "now",
        # Shapes the form once took and the cast reads as another instant (+99:00 as 99
        # hours, 24:00 as the next midnight); +15:00 is no real offset either.
        "2026-12-06T02:00:00+99:00",
        "2026-12-06T02:00:00+05:99",
        "2026-12-06T02:00:00+15:00",
        "2026-12-05T24:00:00",
    ],
)
def test_a_loaded_at_staging_cannot_read_is_refused(tmp_path, loaded_db, value):
    # Staging orders a key's rows by _loaded_at; one it cannot read would rank as the oldest,
    # and this later delivery would lose to the row it replaces without a word.
    folder = tmp_path / "later"
    write(folder, "orders.csv", "order_id,customer_id,ordered_at,status,amount,currency,"
          f"_loaded_at\no1,c1,2024-01-02 10:00:00,refunded,19.90,EUR,{value}\n"
          "o2,c1,2024-03-01 11:00:00,refunded,5.00,EUR,2026-12-06T02:00:00Z\n")  # fmt: skip
    message = refuse(folder, loaded_db)
    assert "orders.csv: 1 row with a _loaded_at that is not an ISO 8601 timestamp" in message
    assert value not in message


def _in_days(days: float) -> str:
    """The ISO 8601 UTC text of now plus `days` (a batch loaded now has about this time)."""
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    "value",
    [
        "0000-01-01",  # read as 1 BC
        "0001-01-01T00:00:00Z",  # .NET's and Go's zero time
        "1900-01-01",  # SQL Server's and Excel's
        "1970-01-01T00:00:00Z",  # the Unix epoch
        "1970-01-01T10:00:00+14:00",  # the epoch's day in local time: 1969-12-31T20:00Z
        "9999-12-31",
        "in 2 days",  # more than a day after the batch's time (computed below: the ids of
        # the parameters must not change from one collection to the next)
    ],
)
def test_a_loaded_at_no_load_can_have_is_refused(tmp_path, loaded_db, value):
    value = _in_days(2) if value == "in 2 days" else value
    # Staging orders a key's rows by _loaded_at: a placeholder before every real load made
    # this later delivery lose to the row it replaces (quarantined as out of range), one far
    # ahead won over every later correction and moved the incremental look-back past them.
    folder = tmp_path / "later"
    write(folder, "orders.csv", f"{ORDERS_HEADER.strip()},_loaded_at\n"
          f"o1,c1,2024-01-02 10:00:00,refunded,19.90,EUR,{value}\n"
          "o2,c1,2024-03-01 11:00:00,refunded,5.00,EUR,2026-12-06T02:00:00Z\n")  # fmt: skip
    message = refuse(folder, loaded_db)
    assert "orders.csv: 1 row with a _loaded_at before 1970-01-02 or more than a day after" in (
        message
    )
    assert len(message.splitlines()) == 1
    assert "19.90" not in message  # no row's content


def test_a_parquet_loaded_at_of_the_year_1_is_refused(tmp_path, loaded_db):
    folder = tmp_path / "later"
    folder.mkdir()
    pq.write_table(
        pa.table({"customer_id": ["c9"], "created_at": ["2024-05-01"],
                  "_loaded_at": pa.array([dt.datetime(1, 1, 1)], pa.timestamp("us"))}),
        folder / "customers.parquet",
    )  # fmt: skip
    assert "1 row with a _loaded_at before 1970-01-02" in refuse(folder, loaded_db)


def test_a_loaded_at_at_the_bounds_is_kept(tmp_path):
    folder = tmp_path / "d"
    # the first instant of 1970-01-02, and 23 hours ahead of a batch loaded now
    forms = ["1970-01-02T00:00:00Z", "1970-01-02T01:00:00+01:00", _in_days(23 / 24)]
    write(folder, "customers.csv", "customer_id,created_at,_loaded_at\n"
          + "".join(f"c{i},2024-01-01,{form}\n" for i, form in enumerate(forms)))  # fmt: skip
    db = tmp_path / "w.duckdb"
    load_dir(folder, db)
    assert [r[5] for r in rows(db, "customers")] == forms


@pytest.mark.parametrize(
    ("zone", "value", "kept"),
    [
        # Staging reads a stamp without an offset as UTC (its session's zone, profiles.yml).
        # UTC-10: 1970-01-01T20:00 is the epoch's day, read in Honolulu's zone as
        # 1970-01-02T06:00Z (it passed the lower bound before the fix).
        ("Pacific/Honolulu", "1970-01-01T20:00:00", False),
        # UTC+14: 30 hours ahead, read there as 30 - 14 = 16 hours ahead (passed).
        ("Pacific/Kiritimati", "in 30 hours", False),
        # UTC-8 (UTC-7 in summer): 20 hours ahead, read there as 28 (27) hours (refused).
        ("America/Los_Angeles", "in 20 hours", True),
    ],
)
def test_a_loaded_at_without_an_offset_is_checked_as_utc_in_any_machine_zone(
    tmp_path, monkeypatch, zone, value, kept
):
    if value.startswith("in "):
        hours = int(value.split()[1])
        moment = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
        value = moment.strftime("%Y-%m-%dT%H:%M:%S")  # no offset: UTC for staging
    folder = tmp_path / "d"
    write(folder, "customers.csv", f"customer_id,created_at,_loaded_at\nc1,2024-01-01,{value}\n")
    db = tmp_path / "w.duckdb"
    monkeypatch.setenv("TZ", zone)  # DuckDB takes a new connection's TimeZone from it
    time.tzset()
    try:
        if kept:
            load_dir(folder, db)
            assert [r[5] for r in rows(db, "customers")] == [value]
        else:
            with pytest.raises(LoadError, match="before 1970-01-02 or more than a day after"):
                load_dir(folder, db)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_loaded_at_in_any_iso_form_staging_reads_is_kept(tmp_path):
    folder = tmp_path / "d"
    forms = [
        "2024-05-01",
        "2024-05-01 02:00",
        "2024-05-01T02:00:00.123+02:00",
        " 2024-05-01T02:00Z ",
    ]
    write(folder, "customers.csv", "customer_id,created_at,_loaded_at\n"
          + "".join(f"c{i},2024-01-01,{form}\n" for i, form in enumerate(forms)))  # fmt: skip
    db = tmp_path / "w.duckdb"
    load_dir(folder, db)
    assert [r[5] for r in rows(db, "customers")] == [form.strip() for form in forms]  # trimmed


def test_the_loaders_timestamp_form_is_stagings(tmp_path):
    # retention.contract.TIMESTAMP_FORM repeats the macro's pattern: the loader checks a
    # delivered _loaded_at with it, staging parses with the macro's.
    compiled = compile_inline("{{ text_patterns()['timestamp'] }}", tmp_path)
    assert compiled.strip() == TIMESTAMP_FORM


def test_side_files_are_ignored_and_named(tmp_path, capsys):
    folder = good_dir(tmp_path)
    write(folder, "_defects.json", "{}")
    write(folder, "_orders.csv", "not,a,contract\n")  # set aside: never read
    write(folder, ".hidden.csv", "whatever\n")
    write(folder, "README.md", "notes\n")
    write(folder, "~$orders.csv", "\x01owner\n")  # Excel's lock file while orders.csv is open

    assert main(["load", str(folder), "--db", str(tmp_path / "w.duckdb")]) == 0

    err = capsys.readouterr().err
    assert "raw.orders: 3 rows appended from orders.csv" in err  # not from _orders.csv
    for side_file in ("_defects.json", "_orders.csv"):
        assert f"ignoring {folder / side_file} (a side file" in err
    assert f"ignoring {folder / '~$orders.csv'} (an office program's lock file" in err
    assert f"ignoring {folder / 'README.md'} (not a raw table file)" in err
    assert ".hidden.csv" not in err  # hidden files pass in silence


def test_a_delivery_without_some_tables_appends_to_the_others_only(tmp_path):
    db = tmp_path / "w.duckdb"
    load_dir(good_dir(tmp_path), db)
    before = rows(db, "customers")
    folder = tmp_path / "only-contracts"
    write(folder, "contracts.csv", "contract_id,customer_id,product,start_date,billing_period,"
          "price,currency\nk1,c1,basic,2024-01-01,month,9.00,EUR\n")  # fmt: skip

    result = load_dir(folder, db)

    assert result.loaded == {"contracts": 1}
    assert rows(db, "customers") == before
    assert len(rows(db, "orders")) == 3


# --- re-runs: the same files are not appended twice ---------------------------------------------


def test_the_same_files_again_are_skipped_unless_forced(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    folder = good_dir(tmp_path)
    load_dir(folder, db)
    before = snapshot(db)

    # A re-run of the daily command: exit 0, nothing appended.
    assert main(["load", str(folder), "--db", str(db)]) == 0
    assert "already loaded as batch 1; nothing loaded" in capsys.readouterr().err
    assert snapshot(db) == before

    # The same bytes in another folder are the same delivery.
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in folder.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    assert load_dir(copy, db).skipped

    # --force appends them as batch 2: 3 + 3 orders.
    forced = load_dir(folder, db, force=True)
    assert (forced.load_id, forced.skipped, forced.totals["orders"]) == (2, False, 3 + 3)


def test_a_write_ahead_log_that_cannot_be_written_is_named(tmp_path, capsys):
    # The database's folder became immutable (as read-only, for root too): the commit cannot
    # create the write-ahead log, and the error said `Cannot open file "…"`, hiding which file
    # as if the path were a value of the delivery.
    import subprocess

    folder = tmp_path / "site"
    folder.mkdir()
    db = folder / "w.duckdb"
    load_dir(good_dir(tmp_path), db)
    before = snapshot(db)
    capsys.readouterr()  # the first batch's messages
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not possible here (needs root): {done.stderr.strip()}")
    try:
        assert main(["load", str(good_dir(tmp_path)), "--db", str(db), "--force", "-q"]) == 2
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    assert capsys.readouterr().err == (
        f"retention load: error: loading into {db} failed and was rolled back: "
        f'TransactionContext Error: Failed to commit: Cannot open file "{db}.wal": '
        "Operation not permitted\n"
    )
    assert snapshot(db) == before


def test_a_delivery_differing_in_one_file_is_loaded(tmp_path):
    db = tmp_path / "w.duckdb"
    folder = good_dir(tmp_path)
    load_dir(folder, db)
    write(folder, "orders.csv", ORDERS_CSV + "o9,c2,2024-04-01 08:00:00,completed,1.00,EUR\n")
    result = load_dir(folder, db)
    # customers.csv is the same file, orders.csv is not: the whole delivery is a new batch.
    assert (result.skipped, result.loaded) == (False, {"customers": 2, "orders": 4})


def test_an_earlier_delivery_loaded_again_is_skipped(tmp_path):
    db = tmp_path / "w.duckdb"
    day_1 = good_dir(tmp_path, "day-1")
    day_2 = write(tmp_path / "day-2", "orders.csv", ORDERS_HEADER + "o5,c1,2024-05-01,"
                  "completed,3.00,EUR\n").parent  # fmt: skip
    load_dir(day_1, db)
    load_dir(day_2, db)
    again = load_dir(day_1, db)  # an orchestrator re-running day 1 after day 2
    assert (again.skipped, again.load_id) == (True, 1)
    assert len(rows(db, "orders")) == 3 + 1


# --- --replace: a full re-delivery ---------------------------------------------------------------


def customers_csv(count: int) -> str:
    return "customer_id,created_at\n" + "".join(f"c{i},2024-01-01\n" for i in range(count))


def test_replace_replaces_the_tables_in_the_folder_and_leaves_the_others(tmp_path):
    db = tmp_path / "w.duckdb"
    load_dir(good_dir(tmp_path), db)
    load_dir(good_dir(tmp_path, "again"), db, force=True)  # 2 + 2 customers, 3 + 3 orders
    folder = tmp_path / "redelivery"
    write(folder, "customers.csv", customers_csv(4))

    result = load_dir(folder, db, replace=True)

    assert (result.load_id, result.mode, result.loaded) == (3, "replace", {"customers": 4})
    assert [r[0] for r in rows(db, "customers")] == ["c0", "c1", "c2", "c3"]
    assert {r[6] for r in rows(db, "customers")} == {3}
    assert len(rows(db, "orders")) == 6  # no orders file: left as it was
    assert batches(db)[-1][:4] == (3, "replace", "customers", 4)


def test_replace_refuses_to_shrink_a_core_table_beyond_the_threshold(tmp_path):
    db = tmp_path / "w.duckdb"
    write(tmp_path / "ten", "customers.csv", customers_csv(10))
    load_dir(tmp_path / "ten", db)
    before = snapshot(db)
    eight = tmp_path / "eight"
    write(eight, "customers.csv", customers_csv(8))

    # 10 -> 8 customers is 20 % fewer, more than the default 10 %: refused, nothing changed.
    message = refuse(eight, db, replace=True)
    assert "raw.customers would shrink from 10 to 8 distinct customer_id values (20.0% fewer" in (
        message
    )
    assert message.startswith(f"{eight / 'customers.csv'}: ") or f"{eight}" in message
    assert "--allow-shrink" in message
    assert snapshot(db) == before
    # 10 -> 9 is exactly 10 % fewer: allowed (only more than the threshold is refused).
    nine = tmp_path / "nine"
    write(nine, "customers.csv", customers_csv(9))
    assert load_dir(nine, db, replace=True, force=True).totals["customers"] == 9
    # 9 -> 8 is 11.1 % fewer: allowed with a threshold of 20 %, or with --allow-shrink.
    assert load_dir(eight, db, replace=True, max_shrink=0.2).totals["customers"] == 8
    assert load_dir(tmp_path / "ten", db, replace=True).totals["customers"] == 10
    assert load_dir(eight, db, replace=True, allow_shrink=True).totals["customers"] == 8


def test_replace_may_shrink_an_optional_table(tmp_path):
    db = tmp_path / "w.duckdb"
    header = "response_id,customer_id,responded_at,score\n"
    write(tmp_path / "a", "nps_responses.csv", header + "r1,c1,2024-01-01,9\nr2,c1,2024-02-01,7\n")
    write(tmp_path / "b", "nps_responses.csv", header + "r1,c1,2024-01-01,9\n")
    load_dir(tmp_path / "a", db)
    assert load_dir(tmp_path / "b", db, replace=True).totals["nps_responses"] == 1


def test_the_same_replace_again_is_skipped_but_not_after_other_loads(tmp_path):
    db = tmp_path / "w.duckdb"
    folder = good_dir(tmp_path)
    load_dir(folder, db, replace=True)
    assert load_dir(folder, db, replace=True).skipped  # re-run: batch 1 is these files

    write(tmp_path / "day-2", "orders.csv", ORDERS_HEADER + "o5,c1,2024-05-01,completed,3,EUR\n")
    load_dir(tmp_path / "day-2", db)
    # Replacing with batch 1's files after another load is a deliberate reset: loaded
    # (orders 4 -> 3 is 25 % fewer: allowed explicitly).
    result = load_dir(folder, db, replace=True, allow_shrink=True)
    assert (result.skipped, result.load_id, result.totals["orders"]) == (False, 3, 3)


def test_an_earlier_delivery_whose_rows_a_replace_removed_is_loaded_again(tmp_path):
    db = tmp_path / "w.duckdb"
    load_dir(good_dir(tmp_path), db)
    header = "response_id,customer_id,responded_at,score\n"
    write(tmp_path / "nps", "nps_responses.csv", header + "r1,c1,2024-01-01,9\n")
    load_dir(tmp_path / "nps", db)  # batch 2
    write(tmp_path / "reset", "nps_responses.csv", header)
    load_dir(tmp_path / "reset", db, replace=True)  # batch 3: nps_responses emptied

    result = load_dir(tmp_path / "nps", db)  # batch 2's file: its rows are gone from raw

    assert (result.skipped, result.load_id) == (False, 4)
    assert [r[0] for r in rows(db, "nps_responses")] == ["r1"]
    # and the same file once more is a re-run of batch 4
    assert load_dir(tmp_path / "nps", db).skipped


def test_the_shrink_limit_counts_keys_not_the_rows_of_earlier_loads(tmp_path):
    db = tmp_path / "w.duckdb"
    write(tmp_path / "ten", "customers.csv", customers_csv(10))
    load_dir(tmp_path / "ten", db)
    # Two corrections of c0..c4 appended: raw.customers has 20 rows, 10 customers.
    corrected = "customer_id,created_at\n" + "".join(f"c{i},2024-02-01\n" for i in range(5))
    write(tmp_path / "fix-1", "customers.csv", corrected)
    load_dir(tmp_path / "fix-1", db)
    load_dir(tmp_path / "fix-1", db, force=True)
    assert len(rows(db, "customers")) == 20

    # The full snapshot again: 20 rows -> 10, but 10 customers -> 10. Loaded.
    assert load_dir(tmp_path / "ten", db, replace=True).totals["customers"] == 10
    # Padded or repeated keys are one key, as staging sees them: 10 -> 8 is refused.
    write(tmp_path / "eight", "customers.csv", "customer_id,created_at\n"
          + "".join(f" c{i} ,2024-01-01\nc{i},2024-01-01\n" for i in range(8)))  # fmt: skip
    message = refuse(tmp_path / "eight", db, replace=True)
    assert "would shrink from 10 to 8 distinct customer_id values (20.0% fewer" in message
    assert "the limit is 10%" in message


# --- headers: matched case-insensitively, unknown columns ignored -----------------------------


def test_headers_match_case_insensitively_and_ignore_surrounding_spaces(tmp_path):
    folder = tmp_path / "crm"
    write(folder, "customers.csv", "Customer_ID, CREATED_AT ,Segment\nc1,2024-01-01,b2b\n")
    db = tmp_path / "w.duckdb"
    load_dir(folder, db)
    assert rows(db, "customers") == [("c1", "2024-01-01", None, None, "b2b", stamp(db, 1), 1)]


def test_unknown_columns_are_ignored_with_a_warning_and_not_stored(tmp_path):
    folder = tmp_path / "crm"
    write(folder, "customers.csv", "customer_id,email,created_at,_load_id\n"
          "c1,someone@example.com,2024-01-01,77\n")  # fmt: skip
    db = tmp_path / "w.duckdb"
    said: list[str] = []

    load_dir(folder, db, progress=said.append)

    warnings = [m for m in said if m.startswith("warning:")]
    assert any("customers.csv: ignoring column(s) 'email'" in m for m in warnings)
    assert any("ignoring column '_load_id'; the loader sets it" in m for m in warnings)
    assert "email" not in [c for c, _ in columns(db, "customers")]
    assert rows(db, "customers") == [("c1", "2024-01-01", None, None, None, stamp(db, 1), 1)]
    with duckdb.connect(str(db), read_only=True) as con:  # the address is nowhere
        text = con.execute("select cast(to_json(c) as varchar) from raw.customers as c").fetchall()
    assert "example.com" not in str(text)


@pytest.mark.parametrize(
    ("header", "row", "said"),
    [
        (
            "customer_id,created_at,",  # a spreadsheet's empty last column
            "c1,2024-01-01,",
            "the header ends with a comma, an empty column name after its last column: "
            "ignoring that column, as any column not in the raw contract is ignored",
        ),
        (
            "customer_id,created_at,,",
            "c1,2024-01-01,x,",  # the values under the empty names are dropped, as an email's
            "the header ends with 2 commas, 2 empty column names after its last column: "
            "ignoring those columns, as any column not in the raw contract is ignored",
        ),
        (
            "customer_id, ,created_at",
            "c1,x,2024-01-01",
            "ignoring 1 column without a name (position 2 of 3 in the header), as any column "
            "not in the raw contract is ignored",
        ),
    ],
)
def test_a_header_with_empty_column_names_says_so_and_loads_without_them(
    tmp_path, header, row, said
):
    # The warning was "ignoring column(s) '', not in the raw contract", naming an empty name.
    folder = tmp_path / "export"
    write(folder, "customers.csv", f"{header}\n{row}\n")
    db = tmp_path / "w.duckdb"
    messages: list[str] = []
    load_dir(folder, db, progress=messages.append)
    assert [m for m in messages if "customers.csv:" in m] == [
        f"warning: {folder / 'customers.csv'}: {said}"
    ]
    assert rows(db, "customers") == [("c1", "2024-01-01", None, None, None, stamp(db, 1), 1)]


def test_a_header_ending_with_a_comma_its_rows_lack_is_refused_with_the_cause(tmp_path, loaded_db):
    # The header has one field more than the rows: DuckDB's "Expected Number of Columns: 3
    # Found: 2" did not say that the third is the header's trailing empty name.
    folder = tmp_path / "export"
    write(folder, "customers.csv", "customer_id,created_at,\nc1,2024-01-01\n")
    message = refuse(folder, loaded_db)
    assert message.endswith(
        "Expected Number of Columns: 3 Found: 2 | the header ends with a comma (an empty "
        "column name) that the rows do not have: remove it from the header"
    ), message


def test_two_columns_for_one_contract_column_are_refused(tmp_path, loaded_db):
    folder = tmp_path / "bad"
    write(folder, "customers.csv", "customer_id,created_at,Customer_ID\nc1,2024-01-01,c1\n")
    message = refuse(folder, loaded_db)
    assert "columns 'customer_id', 'Customer_ID' all map to column 'customer_id'" in message


# --- paths: exactly the listed files, nothing outside the folder -----------------------------


@pytest.mark.parametrize(("name", "sibling"), [("d*", "dX"), ("data[12]", "data1"), ("d?", "dY")])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_folder_name_with_glob_characters_reads_only_its_own_files(tmp_path, name, sibling, fmt):
    # DuckDB's readers expand *, ? and [...] in a path: the sibling folder matches the name as
    # a pattern, and its orders must not be read.
    for folder, order_id in ((name, "mine"), (sibling, "other")):
        table = pa.table({"order_id": [order_id], "customer_id": ["c1"],
                          "ordered_at": ["2024-01-01"], "status": ["completed"],
                          "amount": ["1.00"], "currency": ["EUR"]})  # fmt: skip
        (tmp_path / folder).mkdir()
        if fmt == "csv":
            table.to_pandas().to_csv(tmp_path / folder / "orders.csv", index=False)
        else:
            pq.write_table(table, tmp_path / folder / "orders.parquet")
    db = tmp_path / "w.duckdb"

    result = load_dir(tmp_path / name, db)

    assert result.loaded == {"orders": 1}
    assert [r[0] for r in rows(db, "orders")] == ["mine"]
    assert batches(db)[0][4] == str(tmp_path / name / f"orders.{fmt}")


def test_a_symlink_out_of_the_folder_is_refused_without_showing_its_target(tmp_path, loaded_db):
    secret = write(tmp_path / "elsewhere", "passwd", "root:x:0:0:secret-line\n")
    folder = good_dir(tmp_path, "delivery")
    (folder / "contracts.csv").symlink_to(secret)

    message = refuse(folder, loaded_db)

    assert f"{folder / 'contracts.csv'}: a symbolic link to outside" in message
    assert "secret-line" not in message and "passwd" not in message


def test_a_symlink_inside_the_folder_is_followed(tmp_path):
    folder = tmp_path / "delivery"
    write(folder / "archive", "orders-2024.csv", ORDERS_CSV)
    (folder / "orders.csv").symlink_to(folder / "archive" / "orders-2024.csv")
    assert load_dir(folder, tmp_path / "w.duckdb").loaded == {"orders": 3}


def test_a_bad_row_is_reported_without_its_content(tmp_path, loaded_db):
    folder = tmp_path / "bad"
    write(folder, "orders.csv", ORDERS_CSV + "o4,c2,2024-02-17,completed,secret-amount\n")
    message = refuse(folder, loaded_db)
    assert "orders.csv: unreadable content" in message
    assert "Expected Number of Columns: 6 Found: 5" in message
    assert "secret-amount" not in message


@pytest.mark.parametrize(
    "record",
    [
        # a quoted field with a line break, in a row with a field too many
        'c9,2024-01-01,"jane.doe@example.com\nMain Street 1, Amsterdam"\n',
        # an unterminated quote runs on into the next row
        '"c9,2024-01-01\nc10,Main Street 1\n',
    ],
)
def test_a_bad_record_over_several_lines_is_reported_without_its_content(
    tmp_path, loaded_db, record
):
    folder = tmp_path / "bad"
    write(folder, "customers.csv", "customer_id,created_at\n" + record)
    message = refuse(folder, loaded_db)
    assert "customers.csv: unreadable content" in message
    assert "CSV Error on Line: 2" in message
    for content in ("jane.doe", "Main Street", "Amsterdam", "c9", "c10"):
        assert content not in message
    assert "Possible fixes" not in message


@pytest.mark.parametrize(
    "content",
    [
        'c9,2024-01-01,"say \\"secret-word\\""\n',  # MySQL's escape: a backslash before the quote
        'c9,2024-01-01,consumer\nc10,2024-01-02,"secret-cut',  # cut short inside a quoted value
    ],
    ids=["backslash-escaped-quote", "cut-short"],
)
def test_an_unterminated_quote_names_its_likely_causes(tmp_path, loaded_db, content):
    # DuckDB's "Value with unterminated quote found" named the line, not why.
    folder = tmp_path / "bad"
    write(folder, "customers.csv", "customer_id,created_at,segment\n" + content)
    message = refuse(folder, loaded_db)
    assert "Value with unterminated quote found." in message
    assert message.endswith(
        ' | causes: a quote inside a value escaped with a backslash (\\") instead of doubled '
        '(""), as MySQL and some other tools write it; or a file cut short inside a quoted '
        "value (a copy that did not finish)"
    )
    assert "secret" not in message


def test_a_parquet_value_that_is_not_utf8_is_reported_without_it(tmp_path, loaded_db):
    folder = tmp_path / "bad"
    folder.mkdir()
    names = pa.array([b"J\xe9r\xf4me Secret"], pa.binary())
    pq.write_table(
        pa.table({"customer_id": names, "created_at": ["2024-01-01"]}),
        folder / "customers.parquet",
    )
    message = refuse(folder, loaded_db)
    assert "customers.parquet" in message
    assert "Secret" not in message and "J\\x" not in message


@pytest.mark.parametrize("second", ["customer_id", "CUSTOMER_ID"])
def test_two_parquet_columns_for_one_contract_column_are_refused(tmp_path, loaded_db, second):
    # DuckDB's reader renames the second column (CUSTOMER_ID_1); the file's names count.
    folder = tmp_path / "bad"
    folder.mkdir()
    table = pa.Table.from_arrays(
        [pa.array(["c1"]), pa.array(["cX"]), pa.array(["2024-01-01"])],
        names=["customer_id", second, "created_at"],
    )
    pq.write_table(table, folder / "customers.parquet")
    message = refuse(folder, loaded_db)
    if second == "customer_id":
        assert "duplicate column 'customer_id'" in message
    else:
        assert "columns 'customer_id', 'CUSTOMER_ID' all map to column 'customer_id'" in message


@pytest.mark.parametrize("type_", [pa.float64(), pa.float32()])
def test_a_parquet_id_column_of_a_floating_point_type_is_refused(tmp_path, loaded_db, type_):
    # pandas writes an integer id column with a missing value as float64: loaded, customer
    # 10 read '10.0', and the orders went to an inferred customer '10.0' without a word.
    folder = tmp_path / "bad"
    folder.mkdir()
    orders = {
        "order_id": ["o9", "o10"],
        "customer_id": pa.array([10.0, None], type_),
        "ordered_at": ["2024-05-01", "2024-05-02"],
        "status": ["completed", "completed"],
        "amount": pa.array([19.9, 5.0], pa.float64()),  # money may be a float: not an id
        "currency": ["EUR", "EUR"],
    }
    pq.write_table(pa.table(orders), folder / "orders.parquet")
    message = refuse(folder, loaded_db)
    type_name = "DOUBLE" if type_ == pa.float64() else "FLOAT"
    assert f"orders.parquet: column 'customer_id' is {type_name}, a floating-point type" in message
    assert "amount" not in message


@pytest.mark.parametrize(("type_", "type_name"), [
    (pa.decimal128(38, 10), "DECIMAL(38,10)"),  # Oracle NUMBER through Spark or JDBC
    (pa.decimal128(10, 2), "DECIMAL(10,2)"),
])  # fmt: skip
def test_a_parquet_id_column_of_a_decimal_type_with_decimals_is_refused(
    tmp_path, loaded_db, type_, type_name
):
    # Loaded, customer 10 read '10.00' (a scale above 2 went through the money rule), and
    # its orders went to an inferred customer '10.00' beside the CSV's customer '10'.
    folder = tmp_path / "bad"
    folder.mkdir()
    orders = {
        "order_id": ["o9"],
        "customer_id": pa.array([Decimal(10)], type_),
        "ordered_at": ["2024-05-01"],
        "status": ["completed"],
        "amount": pa.array([Decimal("19.90")], pa.decimal128(38, 10)),  # money may: not an id
        "currency": ["EUR"],
    }
    pq.write_table(pa.table(orders), folder / "orders.parquet")
    message = refuse(folder, loaded_db)
    assert f"orders.parquet: column 'customer_id' is {type_name}, a type with decimals" in message
    assert "amount" not in message


def test_a_parquet_id_column_of_a_decimal_type_without_decimals_loads(tmp_path):
    folder = tmp_path / "good"
    folder.mkdir()
    customers = {"customer_id": pa.array([Decimal(10)], pa.decimal128(38, 0)),
                 "created_at": ["2024-05-01"]}  # fmt: skip
    pq.write_table(pa.table(customers), folder / "customers.parquet")
    db = tmp_path / "w.duckdb"
    load_dir(folder, db)
    assert [r[0] for r in rows(db, "customers")] == ["10"]


@pytest.mark.parametrize(("column", "array", "type_name"), [
    ("segment", pa.array([["a", "b"]], pa.list_(pa.string())), "VARCHAR[]"),
    # a fixed-size list: Parquet has none, it is read back as a list
    ("country", pa.array([[1, 2]], pa.list_(pa.int64(), 2)), "BIGINT[]"),
    ("country", pa.array([{"k": "v"}], pa.struct([("k", pa.string())])), "STRUCT(k VARCHAR)"),
    ("customer_id", pa.array([[("k", "v")]], pa.map_(pa.string(), pa.string())),
     "MAP(VARCHAR, VARCHAR)"),
])  # fmt: skip
def test_a_parquet_contract_column_of_a_nested_type_is_refused(
    tmp_path, loaded_db, column, array, type_name
):
    # Loaded, a list was stored as its text '[a, b]' (a struct "{'k': v}", a map '{k=v}'),
    # staged as a segment, country or customer id without a word.
    folder = tmp_path / "bad"
    folder.mkdir()
    customers = {"customer_id": pa.array(["c9"]), "created_at": pa.array(["2024-05-01"])}
    customers[column] = array
    # a nested column the contract does not know is ignored like any other
    customers["tags"] = pa.array([["x"]], pa.list_(pa.string()))
    pq.write_table(pa.table(customers), folder / "customers.parquet")
    message = refuse(folder, loaded_db)
    assert f"customers.parquet: column {column!r} is {type_name}, a nested type" in message
    assert "'tags' is" not in message


def test_parquet_decimals_of_a_wider_scale_keep_their_values_decimals(tmp_path):
    # A DECIMAL(19,4) column (SQL Server money, Snowflake NUMBER(38,4)) writes 1000.5 as
    # 1000.5000; staged as text that would be four decimals and quarantined.
    folder = tmp_path / "spend"
    folder.mkdir()
    amounts = [Decimal("1000.5000"), Decimal("250.0000"), Decimal("1.0050"), Decimal("-3.1000")]
    pq.write_table(
        pa.table({
            "spend_month": ["2024-01-01"] * 4,
            "acquisition_channel": ["a", "b", "c", "d"],
            "amount": pa.array(amounts, pa.decimal128(19, 4)),
            "currency": ["EUR"] * 4,
        }),
        folder / "marketing_spend.parquet",
    )  # fmt: skip
    db = tmp_path / "w.duckdb"
    load_dir(folder, db)
    # at most two decimals: written with two; more: every one of its own (quarantined later)
    assert [r[2] for r in rows(db, "marketing_spend")] == ["1000.50", "250.00", "1.0050", "-3.10"]


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Staging's parses (macros/parsing.sql) of a column x as a whole number and as a flag,
    compiled for DuckDB: `{parsed} from <a relation with x>` selects whole_number, flag."""
    return compile_inline(
        "select {{ parse_integer('x') }} as whole_number, {{ parse_boolean('x') }} as flag",
        tmp_path_factory.mktemp("parsed"),
    )


@pytest.mark.parametrize(
    "type_",
    [pa.decimal128(38, 10), pa.decimal128(3, 1), pa.float64(), pa.float32()],
    ids=str,
)
def test_a_parquet_score_of_a_decimal_or_float_type_is_staged_when_whole(tmp_path, parsed, type_):
    # An Oracle NUMBER through Spark or JDBC is DECIMAL(38,10): its 9 was loaded as 9.00 (a
    # float's as 9.0), which staging's whole-number form refused, so every response was
    # quarantined as invalid_score. 8.5 is no score: still refused, never rounded to 9.
    folder = tmp_path / "nps"
    folder.mkdir()
    scores = [Decimal(9), Decimal("8.5"), Decimal(10), Decimal(0)]
    array = pa.array(scores if pa.types.is_decimal(type_) else [float(v) for v in scores], type_)
    pq.write_table(
        pa.table({"response_id": ["n1", "n2", "n3", "n4"], "customer_id": ["c1"] * 4,
                  "responded_at": ["2024-06-10T12:00:00Z"] * 4, "score": array}),
        folder / "nps_responses.parquet",
    )  # fmt: skip
    db = tmp_path / "w.duckdb"
    load_dir(folder, db)
    with duckdb.connect(str(db), read_only=True) as con:
        staged = con.execute(
            f"select whole_number from ({parsed} from (select score as x, response_id "
            "from raw.nps_responses) order by response_id)"
        ).fetchall()
    assert [value for (value,) in staged] == [9, None, 10, 0]


@pytest.mark.parametrize(
    "type_", [pa.decimal128(38, 10), pa.decimal128(1, 0), pa.float64(), pa.int8()], ids=str
)
def test_a_parquet_offer_flag_of_a_number_type_is_staged(tmp_path, parsed, type_):
    # An Oracle NUMBER flag through Spark or JDBC is DECIMAL(38,10), a pandas 0/1 column with
    # a missing value float64: 1 and 0 were loaded as 1.00 or 1.0 and every cancellation
    # was quarantined as invalid_final_offer_made. 2 is no flag: still refused.
    folder = tmp_path / "cancellations"
    folder.mkdir()
    flags = [1, 0, 2, None]
    values = [None if v is None else Decimal(v) for v in flags]
    array = pa.array(values if pa.types.is_decimal(type_) else flags, type_)
    pq.write_table(
        pa.table({"cancellation_id": ["x1", "x2", "x3", "x4"], "contract_id": ["k1"] * 4,
                  "requested_at": ["2024-06-01"] * 4, "effective_date": ["2024-06-30"] * 4,
                  "final_offer_made": array}),
        folder / "cancellations.parquet",
    )  # fmt: skip
    db = tmp_path / "w.duckdb"
    load_dir(folder, db)
    with duckdb.connect(str(db), read_only=True) as con:
        staged = con.execute(
            f"select flag from ({parsed} from (select final_offer_made as x, cancellation_id "
            "from raw.cancellations) order by cancellation_id)"
        ).fetchall()
    assert [value for (value,) in staged] == [True, False, None, None]


def test_parquet_float32_money_is_never_staged_a_cent_off(tmp_path):
    # A 32-bit float holds about 7 significant digits: 1234567.89 is stored as 1234567.875,
    # whose shortest text 1234567.9 was staged as 1234567.90 without a word. Below 2^17
    # (131072) every whole-cent value reads back exactly; from there on the float's own
    # value is written (more than two decimals: quarantined, unless it is whole cents).
    folder = tmp_path / "spend"
    folder.mkdir()
    amounts = [19.99, 0.07, 131071.99, 1234567.89, 131072.01, 200000.5]
    pq.write_table(
        pa.table({
            "spend_month": ["2024-01-01"] * 6,
            "acquisition_channel": ["a", "b", "c", "d", "e", "f"],
            "amount": pa.array(amounts, pa.float32()),
            "currency": ["EUR"] * 6,
        }),
        folder / "marketing_spend.parquet",
    )  # fmt: skip
    db = tmp_path / "w.duckdb"
    load_dir(folder, db)
    # 1234567.89 -> float 1234567.875; 131072.01 -> 131072.015625; 200000.5 is exact
    assert [r[2] for r in rows(db, "marketing_spend")] == [
        "19.99", "0.07", "131071.99", "1234567.875", "131072.015625", "200000.5"
    ]  # fmt: skip


# --- refusals: a clear message, and the database exactly as before -----------------------------


@pytest.fixture
def loaded_db(tmp_path) -> Path:
    db = tmp_path / "w.duckdb"
    load_dir(good_dir(tmp_path, "initial"), db)
    return db


def refuse(folder: Path, db: Path, **options: object) -> str:
    before = snapshot(db)
    with pytest.raises(LoadError) as refused:
        load_dir(folder, db, **options)
    assert snapshot(db) == before
    return str(refused.value)


def test_missing_required_column_is_refused_naming_file_and_column(tmp_path, loaded_db):
    folder = tmp_path / "bad"
    write(folder, "customers.csv", "customer_id,created_at\nc9,2024-05-01\n")  # valid
    write(folder, "orders.csv", "order_id,customer_id,ordered_at,status,currency\no9,c9,,,EUR\n")

    message = refuse(folder, loaded_db)

    assert "orders.csv" in message
    assert "missing required column(s) 'amount'" in message
    assert rows(loaded_db, "customers")[0][0] == "c1"  # the valid file was not loaded either


@pytest.mark.parametrize("table", ["customers", "orders", "contracts", "cancellations"])
def test_a_required_table_without_data_rows_is_refused(tmp_path, loaded_db, table):
    folder = tmp_path / "bad"
    write(folder, f"{table}.csv", ",".join(TABLES[table].required) + "\n")  # header only
    message = refuse(folder, loaded_db)
    assert f"{table}.csv: no data rows; table {table!r} is required" in message


def test_a_required_parquet_table_without_rows_is_refused(tmp_path, loaded_db):
    folder = tmp_path / "bad"
    folder.mkdir()
    pq.write_table(
        pa.table({c: pa.array([], pa.string()) for c in TABLES["orders"].required}),
        folder / "orders.parquet",
    )
    assert "orders.parquet: no data rows" in refuse(folder, loaded_db)


def test_an_optional_table_without_data_rows_is_loaded(tmp_path, loaded_db):
    folder = tmp_path / "d"
    write(folder, "nps_responses.csv", "response_id,customer_id,responded_at,score\n")
    assert load_dir(folder, loaded_db).loaded == {"nps_responses": 0}


def test_an_optional_table_file_of_0_bytes_is_refused(tmp_path, loaded_db):
    # A header-only file empties an optional table; no header at all is a failed export.
    folder = tmp_path / "empty"
    write(folder, "nps_responses.csv", "")
    assert "nps_responses.csv: empty file; expected a header line" in refuse(folder, loaded_db)


def test_a_folder_without_raw_table_files_is_refused(tmp_path, loaded_db):
    folder = tmp_path / "empty"
    write(folder, "README.md", "nothing here\n")
    assert "no raw table files in" in refuse(folder, loaded_db)


def test_unknown_table_is_refused(tmp_path, loaded_db):
    folder = good_dir(tmp_path)
    write(folder, "refunds.csv", "refund_id\nr1\n")

    message = refuse(folder, loaded_db)

    assert "refunds.csv" in message
    assert "unknown table 'refunds'" in message


def test_a_table_file_named_in_another_case_is_refused_with_the_name_to_use(tmp_path, loaded_db):
    folder = tmp_path / "delivery"
    write(folder, "Customers.csv", CUSTOMERS_CSV)
    message = refuse(folder, loaded_db)
    assert "unknown table 'Customers'; file names are lower case: rename it to customers.csv" in (
        message
    )


@pytest.mark.parametrize(
    ("name", "table"),
    [("orders_2024-06-30.csv", "orders"), ("orders (1).csv", "orders"),
     ("Customers-export.CSV", "customers"), ("nps_responses.v2.parquet", "nps_responses")],
)  # fmt: skip
def test_a_dated_or_copied_table_file_is_refused_with_the_name_to_use(
    tmp_path, loaded_db, name, table
):
    # "unknown table 'orders_2024-06-30'; raw tables are: customers, orders, ..." left the
    # operator to work out that the date had to go.
    folder = tmp_path / "delivery"
    write(folder, name, "")
    suffix = Path(name).suffix.lower()
    assert refuse(folder, loaded_db).endswith(
        f"{name}: unknown table {name[: -len(suffix)]!r}; a file is named after its table "
        f"alone: rename it to {table}{suffix} (one file per table and folder)"
    )


def test_a_table_file_name_ending_in_a_space_is_refused_naming_it(tmp_path, loaded_db):
    # It read "orders.csv : unsupported file for table 'orders'; expected orders.csv".
    folder = tmp_path / "delivery"
    write(folder, "orders.csv ", ORDERS_CSV)
    assert refuse(folder, loaded_db).endswith(
        "orders.csv : the name 'orders.csv ' ends in white space; rename it to orders.csv"
    )


def test_an_empty_csv_field_quoted_or_not_is_stored_as_null(tmp_path):
    folder = tmp_path / "delivery"
    write(folder, "customers.csv", 'customer_id,created_at,country,segment\nc1,2024-01-01,"",\n')
    db = tmp_path / "w.duckdb"
    load_dir(folder, db)
    # customer_id, created_at, acquisition_channel (absent), country (""), segment (empty)
    assert rows(db, "customers")[0][:5] == ("c1", "2024-01-01", None, None, None)


def test_a_csv_null_word_is_stored_as_null_where_it_cannot_be_text(tmp_path):
    # SQL tools write a null as NULL (SQL Server Management Studio) or \N (MySQL, Hive), R
    # as NA: the words were stored and staged as text, so that an order of customer NULL made an
    # inferred customer "NULL", an open-ended contract's end_date NULL was quarantined as
    # invalid_end_date, and a channel "null" was a marketing channel in the marts.
    folder = tmp_path / "delivery"
    write(folder, "customers.csv", "customer_id,created_at,acquisition_channel,country,"
          "segment,_loaded_at\n"
          "c1,2024-01-01,NULL,NA,None,null\n"  # in text columns NA and None are values
          'c2,2024-01-01,\\N,"NULL",N/A, NULL \n'  # quoted or not; typed: trimmed too
          "c3,2024-01-01,Null,na, NULL ,2024-05-01T02:00:00Z\n")  # fmt: skip
    write(folder, "contracts.csv", "contract_id,customer_id,product,start_date,billing_period,"
          "price,currency,signed_at,end_date,previous_contract_id\n"
          "k1,NULL,basic,2024-01-01,month,10.00,EUR,N/A,NA,\\N\n"
          "k2,c1,basic,2024-01-01,month,None,EUR, none ,n/a,NULL\n")  # fmt: skip
    db = tmp_path / "w.duckdb"
    load_dir(folder, db)
    at = stamp(db, 1)
    # customer_id, created_at, acquisition_channel, country, segment, _loaded_at, _load_id
    assert rows(db, "customers") == [
        ("c1", "2024-01-01", None, "NA", "None", at, 1),  # a null _loaded_at is stamped
        ("c2", "2024-01-01", None, None, "N/A", at, 1),
        ("c3", "2024-01-01", None, "na", " NULL ", "2024-05-01T02:00:00Z", 1),  # not a word
    ]  # a tool writes
    # contract_id, customer_id, product, start_date, billing_period, price, currency,
    # signed_at, end_date, previous_contract_id: every word of a typed column is null
    assert [r[:10] for r in rows(db, "contracts")] == [
        ("k1", None, "basic", "2024-01-01", "month", "10.00", "EUR", None, None, None),
        ("k2", "c1", "basic", "2024-01-01", "month", None, "EUR", None, None, None),
    ]


def test_parquet_text_that_reads_null_is_kept(tmp_path):
    # A Parquet file has nulls of its own: its text is what a program wrote.
    folder = tmp_path / "delivery"
    folder.mkdir()
    pq.write_table(
        pa.table({"customer_id": ["c1"], "created_at": ["NULL"], "segment": ["null"]}),
        folder / "customers.parquet",
    )
    db = tmp_path / "w.duckdb"
    load_dir(folder, db)
    assert rows(db, "customers")[0][:5] == ("c1", "NULL", None, None, "null")


def test_an_id_in_excels_scientific_notation_is_refused(tmp_path, loaded_db):
    # Excel shows a number of more than 11 digits as 1.23457E+15 and saves a CSV so: two
    # customers 1234567890123456 and 1234567890123499 became one inferred customer.
    folder = tmp_path / "excel"
    write(folder, "orders.csv", ORDERS_HEADER + "o8,1.23457E+15,2024-05-01,completed,3.00,EUR\n"
          "o9, 1.23457E+15 ,2024-05-02,completed,4.00,EUR\n")  # fmt: skip
    message = refuse(folder, loaded_db)
    assert "orders.csv: 2 values of column 'customer_id' in scientific notation" in message
    assert len(message.splitlines()) == 1


def test_a_refusal_of_rows_read_says_the_other_tables_were_not_loaded_either(
    tmp_path, loaded_db, capsys
):
    # The checks of the rows read (here an id in Excel's notation, in orders) run after
    # customers.csv was appended inside the transaction; the message named orders.csv only,
    # and an operator could not tell whether customers.csv had loaded.
    folder = tmp_path / "excel"
    write(folder, "customers.csv", "customer_id,created_at\nc9,2024-05-01\n")
    write(folder, "orders.csv", ORDERS_HEADER + "o8,1.23457E+15,2024-05-01,completed,3.00,EUR\n")
    before = snapshot(loaded_db)
    assert main(["load", str(folder), "--db", str(loaded_db)]) == 2
    assert snapshot(loaded_db) == before
    assert capsys.readouterr().err.endswith(
        "(in Excel, format the column as Text before typing or opening them); nothing was loaded\n"
    )


def test_an_id_with_an_e_in_another_form_loads(tmp_path):
    # hexadecimal and other codes have no sign after the E: they are ids like any other
    folder = tmp_path / "d"
    ids = ["3E10", "1e+15", "AE+1", "1.5E", "E+15"]
    write(folder, "customers.csv", "customer_id,created_at\n"
          + "".join(f"{i},2024-01-01\n" for i in ids))  # fmt: skip
    db = tmp_path / "w.duckdb"
    load_dir(folder, db)
    assert sorted(r[0] for r in rows(db, "customers")) == sorted(ids)


def test_a_table_file_whose_extension_is_in_upper_case_loads(tmp_path):
    folder = tmp_path / "delivery"
    write(folder, "customers.CSV", CUSTOMERS_CSV)
    db = tmp_path / "w.duckdb"
    assert load_dir(folder, db).loaded == {"customers": 2}  # c1 and c2 of CUSTOMERS_CSV


def test_a_file_that_is_not_utf8_past_its_first_rows_is_refused_without_them(tmp_path, loaded_db):
    # Past the first rows the header check reads, DuckDB finds the bad byte; its message's
    # advice (an encoding option) is not this command's, and the row is not shown.
    folder = tmp_path / "latin-1"
    write(folder, "customers.csv", "customer_id,created_at,country\n"
          + "".join(f"c{i},2024-01-01,NL\n" for i in range(50_000)))  # fmt: skip
    with (folder / "customers.csv").open("ab") as handle:
        handle.write(b"c-secret,2024-01-01,Fran\xe7a\n")
    message = refuse(folder, loaded_db)
    assert "Invalid unicode (byte sequence mismatch) detected. This file is not utf-8" in message
    assert "secret" not in message and "encoding=" not in message
    assert message.endswith('; save the file as UTF-8 (Excel: "CSV UTF-8 (Comma delimited)")')


def test_a_file_that_is_not_utf8_in_its_first_rows_says_which_byte_and_what_to_do(
    tmp_path, loaded_db
):
    # Python's own words ("'utf-8' codec can't decode byte 0xe7 in position 52") counted the
    # position in the chunk read, and said nothing of what to do.
    folder = tmp_path / "latin-1"
    folder.mkdir()
    (folder / "customers.csv").write_bytes(
        b"customer_id,created_at,country\nc1,2024-01-01,Fran\xe7a\n"
    )
    message = refuse(folder, loaded_db)
    assert message.splitlines()[-1] == (
        f"  - {folder / 'customers.csv'}: unreadable CSV: not UTF-8 text (byte 0xe7 in the header "
        'or the first data row); save the file as UTF-8 (Excel: "CSV UTF-8 (Comma delimited)")'
    )


def _zipped(text: str) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("customers.csv", text)
    return archive.getvalue()


def _parquet_bytes() -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"customer_id": ["c9"], "created_at": ["2024-05-01"]}), sink)
    return sink.getvalue()


CSV_TEXT = "customer_id,created_at\nc9,2024-05-01\n"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (gzip.compress(CSV_TEXT.encode()), "not CSV text but a gzip-compressed file; decompress "
         "it (gunzip) and deliver the CSV"),
        (_zipped(CSV_TEXT), "not CSV text but a ZIP archive (an Excel .xlsx workbook is one); "
         "unzip it, or export the sheet as CSV UTF-8"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "not CSV text but an Excel "
         "97-2003 workbook (.xls); export the sheet as CSV UTF-8"),
        (_parquet_bytes(), "not CSV text but a Parquet file; rename it to customers.parquet"),
        (CSV_TEXT.encode("utf-16"), "not CSV text but UTF-16 text (it starts with UTF-16's "
         "byte order mark); save the file as UTF-8"),
        (CSV_TEXT.encode("utf-16-le"), "unreadable CSV: NUL bytes in the header, as UTF-16 "
         "text without a byte order mark has; save the file as UTF-8"),
    ],
    ids=["gzip", "zip", "xls", "parquet", "utf-16", "utf-16-without-bom"],
)  # fmt: skip
def test_a_csv_that_is_another_kind_of_file_says_what_it_is(tmp_path, loaded_db, content, expected):
    # Each was "not UTF-8 text (byte 0x8b ...); save the file as UTF-8" (gzip, zip, xls,
    # Parquet, UTF-16), or, for UTF-16 without a byte order mark, missing required columns
    # with a header of names full of NULs ('\x00c\x00u\x00...').
    folder = tmp_path / "other"
    folder.mkdir()
    (folder / "customers.csv").write_bytes(content)
    message = refuse(folder, loaded_db)
    assert message.splitlines()[1].startswith(f"  - {folder / 'customers.csv'}: {expected}"), (
        message
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (CSV_TEXT.encode(), "; not a Parquet file but text (a CSV named .parquet?)"),
        (_parquet_bytes()[:-40], "; the file starts as Parquet but does not end as one: it was "
         "cut short (a copy or an export that did not finish?)"),
        (gzip.compress(_parquet_bytes()), "; not a Parquet file but a gzip-compressed file"),
        (b"", "; the file is empty (0 bytes), as an export that failed before writing leaves it"),
    ],
    ids=["csv", "cut-short", "gzip", "empty"],
)  # fmt: skip
def test_an_unreadable_parquet_file_says_what_it_is(tmp_path, loaded_db, content, expected):
    # DuckDB's "No magic bytes found at end of file" alone did not tell a CSV named .parquet
    # from a copy that did not finish.
    folder = tmp_path / "other"
    folder.mkdir()
    (folder / "customers.parquet").write_bytes(content)
    assert refuse(folder, loaded_db).endswith(expected)


def test_excels_separator_hint_line_is_named(tmp_path, loaded_db):
    # Excel writes and reads a first line `sep=;`; the message showed a header 'sep=', ''.
    folder = tmp_path / "sep"
    write(folder, "customers.csv", "sep=,\n" + CSV_TEXT)
    assert refuse(folder, loaded_db).endswith(
        "; the first line is Excel's separator hint (sep=...), not the header: remove that "
        "line, the header must come first"
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Customer_ID,created_at", "Customer_ID,created_at"),
        ("customer_id,created_at,_loaded_at", "customer_id,created_at,_loaded_at"),
        # The second file's columns in another order: every value after it misplaced.
        ("customer_id,created_at", "created_at,customer_id"),
        # Excel's UTF-8 exports joined: the second one's byte order mark starts its header.
        ("\ufeffcustomer_id,created_at", "\ufeffcustomer_id,created_at"),
    ],
    ids=["same", "same-with-loaded-at", "reordered", "byte-order-marks"],
)
def test_a_header_repeated_inside_a_csv_is_refused_as_such(tmp_path, loaded_db, first, second):
    # Daily exports joined with their headers (`cat day1.csv day2.csv`). With a _loaded_at
    # column the file was refused for "1 row with a _loaded_at that is not an ISO 8601
    # timestamp"; without one it loaded a customer `Customer_ID` whose created_at staging
    # quarantined; reordered, it loaded customers `2024-05-02` created at `c9`.
    stamp = ",2024-05-02T02:00:00Z" if "_loaded_at" in first else ""
    folder = tmp_path / "joined"
    write(folder, "customers.csv", f"{first}\nc8,2024-05-01{stamp}\n{second}\n"
          f"{'2024-05-02,c9' if second != first else 'c9,2024-05-02'}{stamp}\n")  # fmt: skip
    message = refuse(folder, loaded_db)
    assert message == (
        f"{folder / 'customers.csv'}: 1 data row repeating a header (its customer_id is a "
        "column name), as when files are joined with their headers; remove the repeated "
        "header lines, and check that the joined files have their columns in the same order; "
        "nothing was loaded"
    )


@pytest.mark.parametrize(("separator", "named"), [(";", "semicolons"), ("\t", "tabs")])
def test_a_csv_separated_by_something_else_says_so(tmp_path, loaded_db, separator, named):
    # Refused as missing columns, the header shown as one name; nothing said why.
    folder = tmp_path / "separated"
    write(folder, "customers.csv", separator.join(["customer_id", "created_at"]) + "\n"
          + separator.join(["c9", "2024-05-01"]) + "\n")  # fmt: skip
    message = refuse(folder, loaded_db)
    assert message.endswith(
        f"; the header's names are separated by {named}: deliver comma-separated files"
    ), message


def test_a_value_over_the_csv_modules_default_field_limit_is_loaded(tmp_path):
    # Python's csv module refuses a field over 131,072 characters by default; the header
    # check reads the first data row, so a long note in it refused the whole file.
    folder = tmp_path / "long"
    note = "x" * 200_000
    write(folder, "customers.csv", f"customer_id,created_at,notes\nc1,2024-01-01,{note}\n"
          "c2,2024-01-02,short\n")  # fmt: skip
    db = tmp_path / "w.duckdb"
    assert load_dir(folder, db).loaded == {"customers": 2}
    assert [row[:2] for row in rows(db, "customers")] == [
        ("c1", "2024-01-01"),
        ("c2", "2024-01-02"),
    ]


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        # the header check meets the long record first
        ("x" * 2_000_001, "short", "unreadable CSV: a record longer than the limit of "
         "2,000,000 bytes"),
        # DuckDB meets it: its reason used to be dropped with the record it quotes
        ("short", "x" * 2_000_001, "CSV Error on Line: 3 | Maximum line size of 2000000 bytes "
         "exceeded"),
    ],
)  # fmt: skip
def test_a_record_over_the_size_limit_is_refused_naming_the_limit(
    tmp_path, loaded_db, first, second, expected
):
    folder = tmp_path / "long"
    write(folder, "customers.csv", f"customer_id,created_at,notes\nc-secret,2024-01-01,{first}\n"
          f"c-secret,2024-01-02,{second}\n")  # fmt: skip
    message = refuse(folder, loaded_db)
    assert expected in message
    assert "secret" not in message and "xxx" not in message
    assert "max_line_size" not in message  # DuckDB's advice names an option load lacks


@pytest.mark.parametrize(
    "content",
    [
        "customer_id,created_at\nc1,2024-01-01\r\nc2,2024-01-02\n",  # LF, then CRLF rows
        "customer_id,created_at\r\nc1,2024-01-01\nc2,2024-01-02\r\n",  # CRLF, then LF
        "customer_id,created_at\nc1,2024-01-01\rc2,2024-01-02\n",  # a lone CR
    ],
)
def test_a_csv_with_mixed_line_endings_is_refused_naming_the_cause(tmp_path, loaded_db, content):
    # DuckDB's message said only that its parser reached an invalid state.
    folder = tmp_path / "mixed"
    write(folder, "customers.csv", content)
    message = refuse(folder, loaded_db)
    assert "customers.csv: unreadable content" in message
    assert "records that end in different ways in one file (CRLF and LF" in message


def test_line_breaks_of_any_kind_inside_quotes_are_kept(tmp_path):
    folder = tmp_path / "quoted"
    write(folder, "customers.csv", 'customer_id,created_at,segment\r\nc1,2024-01-01,"a\nb"\r\n'
          'c2,2024-01-02,"c\rd"\r\n')  # fmt: skip
    db = tmp_path / "w.duckdb"
    load_dir(folder, db)
    assert [(row[0], row[4]) for row in rows(db, "customers")] == [("c1", "a\nb"), ("c2", "c\rd")]


@pytest.mark.parametrize(
    ("header", "ending"),
    [
        ('"Comment\n(free text)"', "\r\n"),  # Excel: an Alt+Enter cell, CRLF records
        ('"Comment\r(free text)"', "\n"),
    ],
)
def test_a_header_name_with_another_line_break_than_the_records_loses_no_rows(
    tmp_path, loaded_db, header, ending
):
    # DuckDB's reader read no row at all after such a header, without an error: an
    # optional table loaded 0 of its 2 rows with exit 0 (a --replace emptied it), and a
    # required one was refused as having "no data rows".
    folder = tmp_path / "excel"
    write(folder, "nps_responses.csv", f"response_id,customer_id,responded_at,score,{header}"
          f"{ending}r1,c1,2024-01-05,9,great{ending}r2,c2,2024-01-06,3,{ending}")  # fmt: skip
    message = refuse(folder, loaded_db)
    assert "nps_responses.csv: the file has data rows, but DuckDB's CSV reader read none" in (
        message
    )
    assert "a line break inside a quoted column name of the header" in message


def test_table_in_an_unsupported_format_is_refused_not_loaded_empty(tmp_path, loaded_db):
    folder = good_dir(tmp_path)
    write(folder, "contracts.csv.gz", "not really gzip")
    assert "contracts.csv.gz: unsupported file" in refuse(folder, loaded_db)


def test_a_folder_named_like_a_table_file_is_refused_as_a_folder(tmp_path, loaded_db):
    # Spark writes orders.parquet as a folder of part files; "expected orders.csv or
    # orders.parquet" was all the message said.
    folder = good_dir(tmp_path)
    (folder / "contracts.parquet").mkdir()
    pq.write_table(
        pa.table({"contract_id": ["k1"]}), folder / "contracts.parquet" / "part-0.parquet"
    )
    message = refuse(folder, loaded_db)
    assert "contracts.parquet: a folder, not a file, for table 'contracts'" in message


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"PAR1 this is not a parquet file PAR1", "Footer length error"),
        (b"not parquet at all", "No magic bytes found at end of file"),
    ],
)
def test_corrupt_parquet_is_refused_in_one_line_without_duckdbs_sql(
    tmp_path, loaded_db, content, reason
):
    # The message went on with DuckDB's echo of the loader's query: "LINE 1: describe select *
    # from read_parquet('...', binary_as_st..." and a line of carets under it.
    folder = good_dir(tmp_path)
    (folder / "contracts.parquet").write_bytes(content)
    message = refuse(folder, loaded_db)
    heading, problem = message.splitlines()  # one line for the file
    assert heading == f"refusing to load {folder}; nothing was changed:"
    assert problem.startswith(f"  - {folder / 'contracts.parquet'}: unreadable Parquet file: ")
    assert reason in problem
    for echo in ("LINE 1", "describe", "read_parquet", "^", " | "):
        assert echo not in problem, problem


def test_csv_with_inconsistent_field_counts_is_refused_and_rolled_back(tmp_path, loaded_db):
    # The header passes the checks; the bad row is only met while loading, after customers
    # was already appended inside the transaction -> the whole load is rolled back.
    folder = tmp_path / "bad"
    write(folder, "customers.csv", "customer_id,created_at\nc9,2024-05-01\n")
    write(folder, "orders.csv", ORDERS_CSV + "o4,c2,2024-02-17,completed,1.00\n")

    message = refuse(folder, loaded_db)

    assert "orders.csv: unreadable content" in message
    assert "Expected Number of Columns: 6 Found: 5" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "empty file; expected a header line"),
        ("\ncustomer_id,created_at\n", "the first line is empty"),
        ("customer_id,created_at,customer_id\nc1,2024-01-01,c1\n", "duplicate column "
         "'customer_id' in the header"),
    ],
)  # fmt: skip
def test_csv_without_a_usable_header_is_refused(tmp_path, loaded_db, content, expected):
    folder = tmp_path / "bad"
    write(folder, "customers.csv", content)
    message = refuse(folder, loaded_db)
    assert f"customers.csv: {expected}" in message


def test_a_header_with_a_quote_never_closed_is_refused_without_the_rows(tmp_path, loaded_db):
    # Read loosely, the unclosed quote made the rest of the file one column name, and the
    # message naming the header's columns showed every row.
    folder = tmp_path / "bad"
    write(folder, "customers.csv", 'customer_id,"created_at\nc1,2024-01-01,jane.doe@example.com\n')
    message = refuse(folder, loaded_db)
    assert (
        "customers.csv: unreadable CSV: the header is not valid CSV: a quote opened in it is "
        "never closed"
    ) in message
    assert "jane.doe" not in message


def test_a_space_after_a_quoted_header_name_is_ignored(tmp_path):
    # Not strict CSV, but read as before: the name's surrounding spaces are ignored.
    folder = tmp_path / "spaced"
    write(folder, "customers.csv", '"customer_id" ,"created_at"\nc1,2024-01-01\n')
    db = tmp_path / "w.duckdb"
    assert load_dir(folder, db).loaded == {"customers": 1}
    assert rows(db, "customers")[0][:2] == ("c1", "2024-01-01")


def test_both_csv_and_parquet_for_one_table_is_refused(tmp_path, loaded_db):
    folder = good_dir(tmp_path)
    pq.write_table(pa.table({"customer_id": ["c1"], "created_at": ["2024-01-01"]}),
                   folder / "customers.parquet")  # fmt: skip
    assert "more than one file for table 'customers'" in refuse(folder, loaded_db)


def test_missing_directory_is_refused_without_creating_the_database(tmp_path):
    db = tmp_path / "w.duckdb"
    with pytest.raises(LoadError, match="no such directory"):
        load_dir(tmp_path / "nope", db)
    assert not db.exists()


@pytest.mark.parametrize("name", ["orders.csv", "orders.parquet"])
def test_a_db_path_naming_a_data_file_is_refused(tmp_path, name):
    # DuckDB opens an existing CSV or Parquet file as an in-memory database viewing it:
    # the load printed "loaded batch 1", exited 0 and stored nothing.
    folder = good_dir(tmp_path)
    not_a_db = tmp_path / name
    if name.endswith(".csv"):
        not_a_db.write_bytes((folder / "orders.csv").read_bytes())
    else:
        pq.write_table(pa.table({"order_id": ["o1"]}), not_a_db)
    before = not_a_db.read_bytes()
    with pytest.raises(LoadError, match=f"cannot open database .*{name}: it is a data file"):
        load_dir(folder, not_a_db)
    assert not_a_db.read_bytes() == before


def test_a_db_path_naming_a_sqlite_database_is_refused_before_duckdb_opens_it(tmp_path):
    # DuckDB opens a SQLite file through its sqlite extension, fetched from the internet on
    # first use: offline the message was a failed download of "sqlite_scanner"; online the
    # batch would have been written into the SQLite file.
    lite = tmp_path / "app.db"
    with contextlib.closing(sqlite3.connect(lite)) as con:
        con.execute("create table users (id integer)")
        con.commit()
    before = lite.read_bytes()
    with pytest.raises(LoadError) as refused:
        load_dir(good_dir(tmp_path), lite)
    assert str(refused.value) == (
        f"cannot open database {lite}: it is a SQLite database, not a DuckDB database (DuckDB "
        "would write the warehouse's tables into it); check --db PATH (or RETENTION_DB_PATH)"
    )
    assert lite.read_bytes() == before


@pytest.mark.parametrize("read_only", [False, True])
def test_a_database_another_process_has_open_exits_6_and_loads_nothing(tmp_path, capsys, read_only):
    # A BI client (even read-only) or another load holding the file: the load said "cannot
    # open database" with exit 2, the code of a refused delivery, so an orchestrator could not
    # tell "fix the data" from "run again when the other process is done". Now 6, as
    # `retention build` and `publish` say when another process holds their file.
    import subprocess
    import sys

    folder = good_dir(tmp_path)
    db = tmp_path / "w.duckdb"
    load_dir(folder, db)
    before = db.read_bytes()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == '1'); "
            "print('open', flush=True); sys.stdin.read()",
            str(db),
            "1" if read_only else "0",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "open\n"
        assert main(["load", str(folder), "--db", str(db), "--force"]) == 6
    finally:
        holder.communicate("")
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith(f"retention load: error: another process has {db} open: IO Error:")
    assert err.endswith("; nothing was loaded: run the same command again when it is done")
    assert db.read_bytes() == before


def _listing_denied(monkeypatch: pytest.MonkeyPatch) -> None:
    """Listing any folder raises PermissionError, as for another user's folder of mode 700
    (the tests may run as root, whom modes do not stop)."""

    def denied(self: Path):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", denied)


def test_a_folder_that_cannot_be_listed_is_refused_without_a_traceback(
    tmp_path, monkeypatch, capsys
):
    # As another user, a delivery folder of mode 700 raised PermissionError from the
    # listing.
    folder = good_dir(tmp_path)

    _listing_denied(monkeypatch)
    assert main(["load", str(folder), "--db", str(tmp_path / "w.duckdb")]) == 2
    assert f"{folder}: cannot read the folder: Permission denied" in capsys.readouterr().err
    assert not (tmp_path / "w.duckdb").exists()


def test_build_refuses_a_folder_it_cannot_read_as_the_delivery_s_fault(
    tmp_path, monkeypatch, capsys
):
    # `retention build --data` took the listing's PermissionError for its working copy's:
    # exit 7, "loading into <db>.work failed: Permission denied". The delivery is refused
    # (exit 2) as by `retention load`.
    folder = good_dir(tmp_path)

    _listing_denied(monkeypatch)
    db = tmp_path / "w.duckdb"
    assert main(["build", "--data", str(folder), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert f"load refused: {folder}: cannot read the folder: Permission denied\n" in err, err
    assert not db.exists()


def _modes_are_enforced(tmp_path: Path) -> bool:
    """Whether this process is held to file modes: not root (or root without its
    CAP_DAC_OVERRIDE), which reaches a file through a folder of mode 644 all the same."""
    probe = tmp_path / "probe"
    write(probe, "file", "")
    probe.chmod(0o644)
    try:
        (probe / "file").stat()
    except PermissionError:
        return True
    finally:
        probe.chmod(0o755)
    return False


def test_a_folder_that_lists_but_cannot_be_searched_is_refused_in_one_line(tmp_path, capsys):
    # Mode 644 on a folder: its names can be read, its files not reached. The loader listed
    # it, then raised PermissionError from path.is_symlink(): a traceback.
    if not _modes_are_enforced(tmp_path):
        pytest.skip("file modes do not stop this process (root)")
    folder = good_dir(tmp_path)
    folder.chmod(0o644)
    try:
        code = main(["load", str(folder), "--db", str(tmp_path / "w.duckdb")])
    finally:
        folder.chmod(0o755)
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"retention load: error: {folder}: cannot open the files in the folder: Permission "
        "denied (it can be listed but not searched: a folder needs the x permission as well "
        "as r)"
    ]
    assert not (tmp_path / "w.duckdb").exists()


def test_failed_load_into_a_new_database_leaves_no_file(tmp_path):
    folder = tmp_path / "bad"
    write(folder, "orders.csv", ORDERS_CSV + "o4,c2\n")  # header fine, content not
    db = tmp_path / "new.duckdb"
    with pytest.raises(LoadError, match="orders.csv: unreadable content"):
        load_dir(folder, db)
    assert not db.exists()


def test_raw_tables_of_an_older_version_get_the_load_id(tmp_path):
    # A database loaded before load batches existed: no _load_id, no meta.load_batches.
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema raw")
        con.execute(
            "create table raw.customers (customer_id varchar, created_at varchar, "
            "acquisition_channel varchar, country varchar, segment varchar, _loaded_at varchar)"
        )
        con.execute("insert into raw.customers values ('old', '2023-01-01', null, null, null, "
                    "'2023-01-02T00:00:00Z')")  # fmt: skip
    result = load_dir(good_dir(tmp_path), db)
    assert result.load_id == 1
    # The old row keeps its values and gets load id 0; the new rows are batch 1.
    assert [(r[0], r[6]) for r in rows(db, "customers")] == [("c1", 1), ("c2", 1), ("old", 0)]


# --- command line ----------------------------------------------------------------------------


def test_cli_loads_and_reports_row_counts(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    assert main(["load", str(good_dir(tmp_path)), "--db", str(db)]) == 0
    err = capsys.readouterr().err
    assert "raw.orders: 3 rows appended from orders.csv" in err
    assert "loaded batch 1 (append)" in err
    assert "row counts in raw after commit" in err
    assert len(rows(db, "orders")) == 3


def test_cli_prints_an_ignored_column_also_when_quiet(tmp_path, capsys, monkeypatch):
    # A misspelt optional column (`refund_amount`) is ignored and its values are lost: the
    # warning that names it is a warning, not progress, so --quiet keeps it.
    monkeypatch.setattr(console, "_state", {"quiet": False})  # main sets --quiet in it
    folder = tmp_path / "crm"
    write(folder, "orders.csv", ORDERS_HEADER.replace("\n", ",refund_amount\n")
          + "o1,c1,2024-01-02,refunded,19.90,EUR,19.90\n")  # fmt: skip
    assert main(["--quiet", "load", str(folder), "--db", str(tmp_path / "w.duckdb")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if "ignoring" in line] == [
        f"warning: {folder / 'orders.csv'}: ignoring column(s) 'refund_amount', not in the raw "
        "contract of table 'orders' (allowed: order_id, customer_id, ordered_at, status, "
        "amount, currency, refunded_amount, _loaded_at)"
    ]
    assert not any("loaded batch" in line for line in err)  # progress stays quiet


def test_only_a_core_table_left_empty_is_warned_about(tmp_path, capsys, monkeypatch):
    # A shop without cancellations yet (nor NPS, actions or spend) is complete: no warning.
    # It named cancellations among the "core table(s) still empty".
    monkeypatch.setattr(console, "_state", {"quiet": False})  # main sets --quiet in it
    folder = good_dir(tmp_path)
    write(folder, "contracts.csv", "contract_id,customer_id,product,start_date,billing_period,"
          "price,currency\nk1,c2,basic,2024-01-01,monthly,10.00,EUR\n")  # fmt: skip
    assert main(["--quiet", "load", str(folder), "--db", str(tmp_path / "w.duckdb")]) == 0
    assert capsys.readouterr().err == ""
    # Customers only: the warning names the two core tables without rows, in contract order.
    write(tmp_path / "customers-only", "customers.csv", CUSTOMERS_CSV)
    db = tmp_path / "c.duckdb"
    assert main(["--quiet", "load", str(tmp_path / "customers-only"), "--db", str(db)]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "warning: core table(s) orders, contracts still empty after this load: the marts that "
        "read them have no rows from them"
    ]
    # The next batch leaves them empty too: said among the progress lines, not warned again
    # (with --quiet, nothing), since the first batch warned: a shop without them.
    write(tmp_path / "more-customers", "customers.csv", "customer_id,created_at\nc9,2024-05-01\n")
    more = tmp_path / "more-customers"
    assert main(["--quiet", "load", str(more), "--db", str(db)]) == 0
    assert capsys.readouterr().err == ""
    assert main(["load", str(more), "--db", str(db), "--force"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert not any(line.startswith("warning:") for line in err), err
    assert err[-1] == (
        "core table(s) orders, contracts still empty after this load: the marts that read them "
        "have no rows from them (as since the first batch, which warned)"
    )


def test_cli_uses_retention_db_path_by_default(tmp_path, monkeypatch):
    db = tmp_path / "from_env.duckdb"
    monkeypatch.setenv("RETENTION_DB_PATH", str(db))
    assert main(["load", str(good_dir(tmp_path))]) == 0
    assert len(rows(db, "customers")) == 2


def test_cli_refusal_exits_2_with_message_on_stderr(tmp_path, loaded_db, capsys):
    folder = tmp_path / "bad"
    write(folder, "orders.csv", "order_id\no1\n")
    before = snapshot(loaded_db)

    assert main(["load", str(folder), "--db", str(loaded_db)]) == 2

    err = capsys.readouterr().err
    assert "retention load: error:" in err
    assert "orders.csv: missing required column(s) 'customer_id', 'ordered_at'" in err
    assert snapshot(loaded_db) == before


def test_cli_replace_shrink_refusal_exits_2_naming_table_and_counts(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    write(tmp_path / "ten", "customers.csv", customers_csv(10))
    write(tmp_path / "two", "customers.csv", customers_csv(2))
    assert main(["load", str(tmp_path / "ten"), "--db", str(db)]) == 0
    capsys.readouterr()

    assert main(["load", str(tmp_path / "two"), "--db", str(db), "--replace"]) == 2
    err = capsys.readouterr().err
    assert "raw.customers would shrink from 10 to 2 distinct customer_id values" in err
    assert "loaded (table replaced)" not in err  # a refused table is not reported as loaded
    args = ["load", str(tmp_path / "two"), "--db", str(db), "--replace", "--max-shrink", "0.125"]
    assert main(args) == 2
    assert "(80.0% fewer; the limit is 12.5%, --max-shrink)" in capsys.readouterr().err
    args = ["load", str(tmp_path / "two"), "--db", str(db), "--replace", "--max-shrink", "0.9"]
    assert main(args) == 0
    assert len(rows(db, "customers")) == 2


def test_a_signal_during_a_load_rolls_it_back_and_says_so(tmp_path, monkeypatch, capsys):
    # SIGTERM while DuckDB runs a query of the load (DuckDB's client then raises its own
    # "Query interrupted"): exit 143, a message, and no database file where there was none.
    load_table = load_module._load_table

    def slow_load_table(con, *args):
        rows = load_table(con, *args)
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM)).start()
        con.execute("select count(*) from range(3000000000) t(i) where i % 7 = 3").fetchall()
        return rows

    monkeypatch.setattr(load_module, "_load_table", slow_load_table)
    db = tmp_path / "w.duckdb"

    assert main(["load", str(good_dir(tmp_path)), "--db", str(db)]) == 128 + signal.SIGTERM

    assert "interrupted by SIGTERM; nothing was loaded (the batch was rolled back)" in (
        capsys.readouterr().err
    )
    assert not db.exists()


def test_a_signal_after_the_commit_says_the_batch_is_loaded(tmp_path, monkeypatch, capsys):
    # The commit is not cut in two: a signal after it leaves the batch loaded, the file kept,
    # and the message says so.
    row_counts = load_module._row_counts
    calls = []

    def row_counts_then_signal(con):
        calls.append(1)
        if len(calls) == 2:  # the check after the commit (the first is inside the transaction)
            os.kill(os.getpid(), signal.SIGINT)
        return row_counts(con)

    monkeypatch.setattr(load_module, "_row_counts", row_counts_then_signal)
    db = tmp_path / "w.duckdb"

    assert main(["load", str(good_dir(tmp_path)), "--db", str(db)]) == 128 + signal.SIGINT

    assert "interrupted by SIGINT; batch 1 had been committed: it is loaded" in (
        capsys.readouterr().err
    )
    assert len(rows(db, "orders")) == 3


def test_a_signal_taken_by_another_thread_during_the_commit_waits_for_its_record():
    # Ctrl-C goes to the whole process; with the stopping signals blocked in the main thread
    # only, the kernel handed it to another thread (one of DuckDB's), and Python ran the
    # handler in the main thread right after the commit, before the batch was recorded as
    # committed: "nothing was loaded (the batch was rolled back)" about a loaded batch.
    # Here a helper thread that does not block SIGINT takes it inside the deferred block.
    from retention import signals

    def take_sigint() -> None:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, signals.SIGNALS)
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)

    steps = []
    with pytest.raises(signals.Interrupted) as stopped, signals.stoppable() as received:
        with signals.deferred():
            steps.append("commit")
            helper = threading.Thread(target=take_sigint)
            helper.start()
            helper.join()
            time.sleep(0.05)  # the main thread runs Python's handler at its next instruction
            steps.append("recorded")
        steps.append("not reached: the signal is raised when the block ends")
    assert steps == ["commit", "recorded"]
    assert stopped.value.signum == received.signum == signal.SIGINT


def test_cli_rejects_a_max_shrink_outside_0_to_1(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["load", str(tmp_path), "--replace", "--max-shrink", "1.5"])
    assert exited.value.code == 2
    assert "expected a share between 0 and 1" in capsys.readouterr().err


def test_build_passes_the_load_options_to_the_loader(tmp_path, monkeypatch):
    # `retention build --data` loads with the same options as `retention load`; a refused
    # load stops it with exit 2 before dbt runs.
    import retention.load

    seen: dict[str, object] = {}

    def refused_load(*args: object, **kwargs: object) -> LoadResult:
        seen.update(kwargs)
        raise LoadError("refused for the test")

    monkeypatch.setattr(retention.load, "load_dir", refused_load)
    db = tmp_path / "published.duckdb"
    args = ["build", "--data", str(tmp_path), "--db", str(db)]
    options = ["--replace", "--allow-shrink", "--force", "--max-shrink", "0.3"]
    assert main(args + options) == 2
    assert {k: seen[k] for k in ("replace", "allow_shrink", "force", "max_shrink")} == {
        "replace": True,
        "allow_shrink": True,
        "force": True,
        "max_shrink": 0.3,
    }


# --- staging on two batches: the latest row per key wins ----------------------------------------


@pytest.fixture(scope="module")
def two_batches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two batches loaded and staged with dbt (the base and staging models, the quarantine
    and its raw = staged + quarantined test)."""
    root = tmp_path_factory.mktemp("two-batches")
    header = "customer_id,created_at,acquisition_channel,_loaded_at\n"
    june = "2024-06-01T02:00:00Z"
    write(root / "b1", "customers.csv", header + f"c1,2024-01-01,web,{june}\n"
          f"c2,2024-01-02,web,{june}\n")  # fmt: skip
    # No _loaded_at: stamped with batch 1's time.
    write(root / "b1", "orders.csv", ORDERS_HEADER + "o1,c1,2024-01-02,completed,10.00,EUR\n"
          "o2,c2,2024-01-03,completed,20.00,EUR\n")  # fmt: skip
    # c1 and c2 again with the same _loaded_at (c1 changed): the later batch wins the tie;
    # c3 twice in one batch: an exact duplicate.
    write(root / "b2", "customers.csv", header + f"c1,2024-01-01,email,{june}\n"
          f"c2,2024-01-02,web,{june}\n" + f"c3,2024-01-05,web,{june}\n" * 2)  # fmt: skip
    # o1 changed without _loaded_at (batch 2's later time wins); o2 changed but stamped by
    # the file as loaded in 2020, before batch 1's stamp: the older batch's row stays.
    write(root / "b2", "orders.csv", "order_id,customer_id,ordered_at,status,amount,currency,"
          "_loaded_at\no1,c1,2024-01-02,completed,15.00,EUR,\n"
          "o2,c2,2024-01-03,completed,99.00,EUR,2020-01-01T00:00:00Z\n")  # fmt: skip
    # Named like the shared builds' databases: dbt then reuses the parse this pytest process
    # keeps (retention.dbt_runner: the parse depends on the database's name).
    db = root / DB_NAME
    load_dir(root / "b1", db)
    load_dir(root / "b2", db)
    select = ["--select", "+assert_raw_rows_accounted_for", "--indirect-selection", "cautious"]
    run = dbt([*dbt_runner.BUILD, *select], db, root)
    assert run.ok, run.failure_summary()
    return db


def test_staging_keeps_the_latest_row_then_the_latest_batch(two_batches: Path) -> None:
    with duckdb.connect(str(two_batches), read_only=True) as con:
        customers = con.execute(
            "select customer_id, acquisition_channel from staging.stg_shop__customers order by 1"
        ).fetchall()
        orders = con.execute(
            "select order_id, amount from staging.stg_shop__orders order by 1"
        ).fetchall()
        quarantined = con.execute(
            "select source_table, row_key, reason, raw_row from quarantine.quarantined_rows "
            "order by 1, 2, 3"
        ).fetchall()
    assert customers == [("c1", "email"), ("c2", "web"), ("c3", "web")]
    assert orders == [("o1", Decimal("15.00")), ("o2", Decimal("20.00"))]
    # raw 2 + 4 customers = 3 staged + 3 quarantined; raw 2 + 2 orders = 2 + 2 (and the
    # build's assert_raw_rows_accounted_for test passed).
    assert [(t, k, r, json.loads(raw)["_load_id"]) for t, k, r, raw in quarantined] == [
        ("customers", "c1", "superseded_by_later_load", 1),
        ("customers", "c2", "superseded_by_later_load", 1),  # identical but an older batch
        ("customers", "c3", "duplicate_row", 2),
        ("orders", "o1", "superseded_by_later_load", 1),
        ("orders", "o2", "superseded_by_later_load", 2),
    ]
