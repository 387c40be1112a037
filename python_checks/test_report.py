"""The end-of-build report (retention/report.py) on a small hand-made database.

The database holds what `dbt build` leaves for the report to read:

- ``quarantine.quarantined_rows``, seven rows:
    customers  missing_customer_id  loaded 2024-07-01 02:30 and one without _loaded_at
    orders     invalid_amount       three rows, loaded 2024-07-01 02:00
    orders     duplicate_row        one row, loaded 2024-06-30 02:00
    contracts  end_before_start     one row, loaded 2024-06-29 02:00
- ``reference.cancellation_reasons``: the real seed (seeds/cancellation_reasons.csv);
- ``staging.stg_shop__cancellations``: six cancellations with the reason codes
  price_too_high and deceased (in the seed), moved_house twice and gift_ended once (not in
  the seed), and one without a code.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from retention.paths import REPO_ROOT
from retention.report import (
    quarantine_counts,
    quarantine_report,
    unknown_reason_codes,
    unknown_reason_codes_report,
)

QUARANTINED = [
    ("customers", None, "missing_customer_id", dt.datetime(2024, 7, 1, 2, 30)),
    ("customers", None, "missing_customer_id", None),
    ("orders", "o1", "invalid_amount", dt.datetime(2024, 7, 1, 2)),
    ("orders", "o2", "invalid_amount", dt.datetime(2024, 7, 1, 2)),
    ("orders", "o3", "invalid_amount", dt.datetime(2024, 7, 1, 2)),
    ("orders", "o4", "duplicate_row", dt.datetime(2024, 6, 30, 2)),
    ("contracts", "k1", "end_before_start", dt.datetime(2024, 6, 29, 2)),
]
CANCELLATION_CODES = [
    ("x1", "price_too_high"),
    ("x2", "moved_house"),
    ("x3", "moved_house"),
    ("x4", None),
    ("x5", "gift_ended"),
    ("x6", "deceased"),
]


def make_db(path: Path, quarantined=QUARANTINED) -> Path:
    with duckdb.connect(str(path)) as con:
        for schema in ("quarantine", "reference", "staging"):
            con.execute(f"create schema {schema}")
        con.execute(
            "create table quarantine.quarantined_rows (source_table varchar, row_key varchar,"
            " reason varchar, raw_row varchar, _loaded_at timestamp)"
        )
        if quarantined:
            con.executemany(
                "insert into quarantine.quarantined_rows values (?, ?, ?, '{}', ?)", quarantined
            )
        seed = REPO_ROOT / "seeds" / "cancellation_reasons.csv"
        con.execute(
            "create table reference.cancellation_reasons as "
            f"select * from read_csv('{seed}', header = true, all_varchar = true)"
        )
        con.execute(
            "create table staging.stg_shop__cancellations "
            "(cancellation_id varchar, reason_code varchar)"
        )
        con.executemany(
            "insert into staging.stg_shop__cancellations values (?, ?)", CANCELLATION_CODES
        )
    return path


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return make_db(tmp_path_factory.mktemp("report") / "w.duckdb")


def test_quarantine_counts_per_table_and_reason(db):
    # By table name, then most rows first.
    assert quarantine_counts(db) == [
        ("contracts", "end_before_start", 1),
        ("customers", "missing_customer_id", 2),  # one with, one without _loaded_at
        ("orders", "invalid_amount", 3),
        ("orders", "duplicate_row", 1),
    ]


def test_quarantine_counts_since_a_time_keep_the_rows_loaded_from_then_on(db):
    # Since 2024-07-01 02:00 (inclusive): the three invalid amounts (02:00) and the customer
    # loaded at 02:30; the row without _loaded_at and the two older rows drop out.
    expected = [("customers", "missing_customer_id", 1), ("orders", "invalid_amount", 3)]
    assert quarantine_counts(db, dt.datetime(2024, 7, 1, 2)) == expected
    # The same instant written in UTC+2 is 2024-07-01 00:00 UTC: the same rows.
    cest = dt.timezone(dt.timedelta(hours=2))
    assert quarantine_counts(db, dt.datetime(2024, 7, 1, 2, tzinfo=cest)) == expected
    # One second after 02:00 leaves only the customer loaded at 02:30.
    after = dt.datetime(2024, 7, 1, 2, 0, 1)
    assert quarantine_counts(db, after) == [("customers", "missing_customer_id", 1)]


def test_quarantine_report_text(db):
    lines = quarantine_report(db).splitlines()
    # 1 + 2 + 3 + 1 = 7 rows in contracts, customers and orders.
    assert lines[0].startswith("quarantined rows: 7 in 3 raw tables")
    assert [line.split() for line in lines[1:]] == [
        ["contracts", "end_before_start", "1"],
        ["customers", "missing_customer_id", "2"],
        ["orders", "invalid_amount", "3"],
        ["orders", "duplicate_row", "1"],
    ]
    since = quarantine_report(db, dt.datetime(2024, 7, 1, 2)).splitlines()
    # 1 + 3 = 4 rows in customers and orders.
    assert since[0].startswith("quarantined rows loaded since 2024-07-01T02:00:00: 4 in 2 raw")


def test_quarantine_report_without_quarantined_rows(tmp_path):
    assert quarantine_report(make_db(tmp_path / "w.duckdb", [])) == "quarantined rows: none"


def test_unknown_reason_codes_and_their_rows(db):
    # moved_house x2 and x3, gift_ended x5; price_too_high and deceased are in the seed and
    # x4 has no code to add.
    codes = unknown_reason_codes(db)
    assert codes == [("moved_house", 2), ("gift_ended", 1)]
    line = unknown_reason_codes_report(codes)
    assert line.startswith("warning: 2 cancellation reason codes not in the")
    assert "moved_house (2 rows), gift_ended (1 row)" in line
    assert "seeds/cancellation_reasons.csv" in line
    assert unknown_reason_codes_report([]) is None
