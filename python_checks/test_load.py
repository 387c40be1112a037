"""`retention load`: raw files in, VARCHAR tables in schema `raw` out; refusals change nothing.

Each test builds its own tiny raw folder in tmp_path, so the expected rows can be read off the
fixture directly.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from retention.cli import main
from retention.contract import TABLES
from retention.load import LoadError, load_dir

CUSTOMERS_CSV = (
    "customer_id,created_at,acquisition_channel\n"
    "c1,2024-01-01 09:00:00,paid_search\n"
    "c2,2024-02-15T10:30:00+01:00,\n"  # empty field -> NULL; text kept exactly as delivered
)
ORDERS_CSV = (
    "order_id,customer_id,ordered_at,status,amount,currency\n"
    "o1,c1,2024-01-02 10:00:00,completed,19.90,EUR\n"
    "o2,c1,2024-03-01 11:00:00,refunded,5.00,EUR\n"
    'o3,c2,2024-02-16 12:00:00,completed,"1,000.00",EUR\n'  # quoted delimiter stays in value
)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def good_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "good"
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


def snapshot(db: Path) -> dict[str, tuple[list, list]]:
    """Every raw table's columns and rows: what 'the database is unchanged' compares."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute(
            "select table_name, list(column_name || ' ' || data_type order by ordinal_position) "
            "from information_schema.columns where table_schema = 'raw' group by all order by 1"
        ).fetchall()
        return {
            name: (cols, con.execute(f"select * from raw.{name} order by all").fetchall())
            for name, cols in tables
        }


# --- loading ---------------------------------------------------------------------------------


def test_loads_csv_as_text_in_contract_column_order(tmp_path):
    db = tmp_path / "w.duckdb"
    counts = load_dir(good_dir(tmp_path), db)

    assert counts["customers"] == 2
    assert counts["orders"] == 3
    # customers: customer_id, created_at, acquisition_channel, country, segment, _loaded_at
    assert rows(db, "customers") == [
        ("c1", "2024-01-01 09:00:00", "paid_search", None, None, None),
        ("c2", "2024-02-15T10:30:00+01:00", None, None, None, None),
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
        None,
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

    assert load_dir(folder, db)["orders"] == 2

    assert rows(db, "orders") == [
        ("o1", "c1", "2024-01-02 03:04:05", "completed", "19.90", "EUR", "1.5",
         "2024-06-01 10:00:00"),
        ("o2", "c2", None, "cancelled", "0.00", "EUR", None, "2024-06-01 10:00:00"),
    ]  # fmt: skip
    # cancellation_id, contract_id, requested_at, effective_date, reason_code (absent),
    # final_offer_made, final_offer_accepted, _loaded_at (absent)
    assert rows(db, "cancellations") == [
        ("x1", "k1", "2024-03-01 08:00:00", "2024-03-31", None, "true", None, None)
    ]
    # and the text casts back to what was written
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(
            "select cast(ordered_at as timestamp), cast(amount as decimal(12, 2)) "
            "from raw.orders where order_id = 'o1'"
        ).fetchone() == (dt.datetime(2024, 1, 2, 3, 4, 5), Decimal("19.90"))


def test_absent_tables_are_created_empty_with_all_columns_as_varchar(tmp_path):
    db = tmp_path / "w.duckdb"
    counts = load_dir(good_dir(tmp_path), db)

    assert set(counts) == set(TABLES)
    for name, table in TABLES.items():
        assert columns(db, name) == [(column, "VARCHAR") for column in table.columns]
    assert counts["contracts"] == 0  # core table, no file
    assert counts["nps_responses"] == 0  # optional table, no file
    assert rows(db, "contracts") == []


def test_reload_replaces_rows(tmp_path):
    db = tmp_path / "w.duckdb"
    folder = good_dir(tmp_path)
    load_dir(folder, db)
    load_dir(folder, db)  # same files twice: same rows, not doubled
    assert len(rows(db, "orders")) == 3

    write(folder, "orders.csv", "order_id,customer_id,ordered_at,status,amount,currency\n")
    (folder / "customers.csv").unlink()
    assert load_dir(folder, db) == {name: 0 for name in TABLES}
    assert rows(db, "orders") == []
    assert rows(db, "customers") == []  # file gone -> table empty, not the old rows


def test_side_files_are_ignored(tmp_path):
    folder = good_dir(tmp_path)
    write(folder, "_defects.json", "{}")
    write(folder, ".hidden.csv", "whatever\n")
    write(folder, "README.md", "notes\n")
    assert load_dir(folder, tmp_path / "w.duckdb")["orders"] == 3


# --- refusals: a clear message, and the database exactly as before -----------------------------


@pytest.fixture
def loaded_db(tmp_path) -> Path:
    db = tmp_path / "w.duckdb"
    load_dir(good_dir(tmp_path), db)
    return db


def refuse(folder: Path, db: Path) -> str:
    before = snapshot(db)
    with pytest.raises(LoadError) as refused:
        load_dir(folder, db)
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


def test_unknown_column_is_refused_listing_allowed_columns(tmp_path, loaded_db):
    folder = tmp_path / "bad"
    write(folder, "customers.csv", "customer_id,created_at,email\nc9,2024-05-01,a@b.c\n")

    message = refuse(folder, loaded_db)

    assert "customers.csv" in message
    assert "'email' not in the raw contract" in message
    assert "allowed columns: customer_id, created_at, acquisition_channel" in message


def test_unknown_table_is_refused(tmp_path, loaded_db):
    folder = good_dir(tmp_path)
    write(folder, "refunds.csv", "refund_id\nr1\n")

    message = refuse(folder, loaded_db)

    assert "refunds.csv" in message
    assert "unknown table 'refunds'" in message


def test_table_in_an_unsupported_format_is_refused_not_loaded_empty(tmp_path, loaded_db):
    folder = good_dir(tmp_path)
    write(folder, "contracts.csv.gz", "not really gzip")
    assert "contracts.csv.gz: unsupported file" in refuse(folder, loaded_db)


def test_corrupt_parquet_is_refused(tmp_path, loaded_db):
    folder = good_dir(tmp_path)
    (folder / "contracts.parquet").write_bytes(b"PAR1 this is not a parquet file PAR1")
    message = refuse(folder, loaded_db)
    assert "contracts.parquet: unreadable Parquet file" in message


def test_csv_with_inconsistent_field_counts_is_refused_and_rolled_back(tmp_path, loaded_db):
    # The header passes the checks; the bad row is only met while loading, after customers
    # was already replaced inside the transaction -> the whole load is rolled back.
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
        ("customer_id,created_at,customer_id\n", "duplicate column(s) 'customer_id'"),
    ],
)
def test_csv_without_a_usable_header_is_refused(tmp_path, loaded_db, content, expected):
    folder = tmp_path / "bad"
    write(folder, "customers.csv", content)
    message = refuse(folder, loaded_db)
    assert f"customers.csv: {expected}" in message


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


def test_failed_load_into_a_new_database_leaves_no_file(tmp_path):
    folder = tmp_path / "bad"
    write(folder, "orders.csv", ORDERS_CSV + "o4,c2\n")  # header fine, content not
    db = tmp_path / "new.duckdb"
    with pytest.raises(LoadError, match="orders.csv: unreadable content"):
        load_dir(folder, db)
    assert not db.exists()


# --- command line ----------------------------------------------------------------------------


def test_cli_loads_and_reports_row_counts(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    assert main(["load", str(good_dir(tmp_path)), "--db", str(db)]) == 0
    err = capsys.readouterr().err
    assert "raw.orders: 3 rows from orders.csv" in err
    assert "row counts in raw after commit" in err
    assert len(rows(db, "orders")) == 3


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
