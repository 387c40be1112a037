"""How `retention load` reads a checked file's rows into its raw table, and the checks of
the rows read.

`select_rows` is the SELECT that the transaction (retention/load.py, `_load_table`) inserts
into the raw table: the contract's columns the file has, every one as text (VARCHAR) whatever
the file's types (its comments say how each Parquet type becomes text), a CSV field that is
a word for a null as null (NULL_WORDS, TYPED_NULL_WORDS), `_loaded_at` stamped with the
batch's time where the file leaves it out or blank, and the batch's `_load_id`. DuckDB reads
a CSV file with fixed options and strictly, never sniffing its dialect (`_reader`).

Some problems show only in the rows: a header repeated inside a CSV file, a `_loaded_at`
that staging cannot read or that no load can have had, an id in Excel's scientific
notation. `check_repeated_header`, `check_loaded_at` and `check_ids` look for them in the
rows of this batch, inside the transaction; a problem refuses the whole batch.

The checks of the files before the database is opened are in retention/load_files.py.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from retention.console import counted
from retention.contract import LOAD_ID, LOADED_AT, SCHEMA, TIMESTAMP_FORM
from retention.load_files import (
    MAX_CSV_RECORD_BYTES,
    LoadError,
    Source,
    decimal_scale,
    parquet_reader,
)
from retention.sql_text import ident, path_literal, sql_literal

# DuckDB's names for instants (Parquet timestamps adjusted to UTC, e.g. tz-aware pandas).
TIMESTAMPTZ_TYPES = ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "TIMESTAMPTZ_NS")
# The range of a delivered `_loaded_at` (the time a row was loaded, which staging orders a
# key's rows by): from the day after the Unix epoch (0 seconds, what a missing stamp becomes
# in many systems, in any time zone, and every older placeholder: 0001-01-01, 1900-01-01) to
# a day after the batch's own time (a clock a little ahead, a local time read as UTC).
EARLIEST_LOADED_AT = dt.datetime(1970, 1, 2, tzinfo=dt.UTC)
LOADED_AT_LEAD = dt.timedelta(days=1)
# CSV has no null: tools write one as an empty field or as a word. The words SQL tools write
# (SQL Server Management Studio's NULL, MySQL's and Hive's \N) are no id, name or code: a CSV
# field that is exactly one of them, quoted or not, is read as null in every column, like an
# empty field (DuckDB's reader, `nullstr`). In a column staging parses into a value
# (contract.Table.typed), where no value is spelt so, R's NA, N/A and Python's None are
# nulls too, as is any of these words in any case and with spaces around it; elsewhere they
# are text: NA is Namibia's country code, and `none` may be a real segment.
NULL_WORDS = ("", "NULL", "null", "Null", "\\N")
TYPED_NULL_WORDS = ("NULL", "\\N", "NA", "N/A", "NONE")  # compared upper-cased and trimmed
# The longest typed field compared with them (a word with spaces around it): the test then
# costs a look at the length of most values, not an upper-cased copy of each.
NULL_WORD_BYTES = 10
# A number as Excel's General format shows one of more than 11 digits (1.23457E+15, 1E+12):
# a mantissa, an upper-case E and an exponent with its sign. No id is written so on purpose
# (a hexadecimal id has no sign), so an id in this form lost its digits in a spreadsheet.
EXCEL_SCIENTIFIC = "-?[0-9]([.][0-9]+)?E[+-][0-9]+"


# --- the rows as text ------------------------------------------------------------------------


def select_rows(source: Source, load_id: int, loaded_at: dt.datetime) -> str:
    """SELECT of the contract's columns the file has, all VARCHAR, plus `_loaded_at` (the
    file's value, or the batch's time where it has none) and `_load_id`."""
    stamp = sql_literal(loaded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    expressions = []
    for column in source.table.columns:
        if column not in source.columns:
            if column == LOADED_AT:
                expressions.append(f"{stamp} as {LOADED_AT}")
            continue  # an optional column the file lacks: null (insert by name)
        alias, type_ = source.columns[column]
        if source.fmt == "csv" and (column in source.table.typed or column == LOADED_AT):
            expression = _null_if_word(ident(alias))
        elif type_ == "VARCHAR":
            expression = ident(alias)
        elif type_ in TIMESTAMPTZ_TYPES:
            # As UTC wall-clock text ('2024-01-02 03:04:05'): no offset to misread later, and
            # independent of the session's TimeZone setting.
            expression = f"cast(timezone('UTC', {ident(alias)}) as varchar)"
        elif (scale := decimal_scale(type_)) is not None and scale > 2:
            # A DECIMAL(19,4) column holds 1000.5 as 1000.5000: its text has as many decimals
            # as the type's scale, not as the value. A value with at most two decimals is
            # written with two (1000.50); any other keeps all of its own (1.0050), which
            # staging quarantines as too many decimals, as it would the text.
            value = ident(alias)
            expression = (
                f"case when {value} = round({value}, 2) "
                f"then cast(cast({value} as decimal(38, 2)) as varchar) "
                f"else cast({value} as varchar) end"
            )
        elif type_ == "FLOAT":
            # A 32-bit float holds about 7 significant digits: 1234567.89 is stored as
            # 1234567.875, whose shortest text, 1234567.9, would be staged a cent off. Below
            # 2^17 the float is within 1/256 of the value written, so its shortest text is
            # that value (19.99); from 2^17 on it is written exactly, as a double's text
            # (1234567.875: more than two decimals, quarantined unless it is whole cents).
            value = ident(alias)
            expression = (
                f"case when abs({value}) < 131072 then cast({value} as varchar) "
                f"else cast(cast({value} as double) as varchar) end"
            )
        else:
            # DuckDB's text form of dates, timestamps, decimals and booleans casts back.
            expression = f"cast({ident(alias)} as varchar)"
        if column == LOADED_AT:
            expression = f"coalesce(nullif(trim({expression}), ''), {stamp})"
        expressions.append(f"{expression} as {ident(column)}")
    expressions.append(f"cast({load_id} as bigint) as {LOAD_ID}")
    return f"select {', '.join(expressions)} from {_reader(source)}"


def _null_if_word(value: str) -> str:
    """A CSV field of a column staging parses into a value: null where it is a word for a
    null (TYPED_NULL_WORDS)."""
    words = ", ".join(sql_literal(word) for word in TYPED_NULL_WORDS)
    return (
        f"case when strlen({value}) <= {NULL_WORD_BYTES} and upper(trim({value})) in ({words}) "
        f"then null else {value} end"
    )


def _reader(source: Source) -> str:
    if source.fmt == "parquet":
        return parquet_reader(source.path)
    # Fixed RFC 4180 dialect instead of sniffing; strict so that a row with too many or too
    # few fields, or an unterminated quote, fails the load instead of being padded or skipped.
    columns = ", ".join(
        f"{sql_literal(f'c{i}')}: 'VARCHAR'" for i in range(len(source.file_columns))
    )
    return (
        f"read_csv({path_literal(source.path)}, header = true, auto_detect = false, "
        f"delim = ',', quote = '\"', escape = '\"', columns = {{{columns}}}, "
        f"nullstr = [{', '.join(sql_literal(word) for word in NULL_WORDS)}], "
        "strict_mode = true, null_padding = false, ignore_errors = false, "
        f"max_line_size = {MAX_CSV_RECORD_BYTES})"
    )


# --- checks of the rows read ----------------------------------------------------------------


def check_repeated_header(con: duckdb.DuckDBPyConnection, source: Source, load_id: int) -> None:
    """Refuse a CSV file with a data row whose key is a column name of its table: a header
    repeated inside the file, as when daily exports are joined with their headers (`cat
    day1.csv day2.csv`), in the same column order or another. Loaded, such a row was refused
    for a `_loaded_at` that is not a timestamp (naming neither the row nor the cause), or, in
    a file without `_loaded_at`, staged as a customer `customer_id` and quarantined for its
    unreadable dates. No id is spelt like a column name."""
    names = ", ".join(sql_literal(column) for column in source.table.columns)
    # The byte order mark of the second file, when the joined files were Excel's UTF-8
    # exports, starts the repeated header's first name; trim keeps it.
    matches = " and ".join(
        f"lower(trim(ltrim({ident(column)}, chr(65279)))) in ({names})"
        for column in source.table.key
    )
    (count,) = con.execute(
        f"select count(*) from {SCHEMA}.{source.table.name} where {LOAD_ID} = ? and {matches}",
        [load_id],
    ).fetchone()
    if count:
        raise LoadError(
            f"{source.path}: {counted(count, 'data row')} repeating a header (its "
            f"{', '.join(source.table.key)} is a column name), as when files are joined with "
            "their headers; remove the repeated header lines, and check that the joined "
            "files have their columns in the same order"
        )


def check_loaded_at(
    con: duckdb.DuckDBPyConnection, source: Source, load_id: int, loaded_at: dt.datetime
) -> None:
    """Refuse a file whose own `_loaded_at` staging could not read, or that no load can have
    had. Staging orders the rows of a key by it: an unreadable or too early one ranks as the
    oldest, so that a newer delivery lost silently to the row it was meant to replace; a
    far-future one wins over every later delivery and moves the incremental look-back
    (macros/incremental.sql) past every real load."""
    text = f"trim({LOADED_AT})"
    instant = f"try_cast({text} as timestamptz)"
    (unreadable, implausible) = con.execute(
        f"select count(*) filter (where not coalesce(regexp_full_match({text}, "
        f"{sql_literal(TIMESTAMP_FORM)}) and {instant} is not null, false)), "
        f"count(*) filter (where {instant} < cast(? as timestamptz) "
        f"or {instant} > cast(? as timestamptz)) "
        f"from {SCHEMA}.{source.table.name} where {LOAD_ID} = ?",
        [
            EARLIEST_LOADED_AT.isoformat(),
            (loaded_at + LOADED_AT_LEAD).isoformat() + "+00:00",
            load_id,
        ],
    ).fetchone()
    if unreadable:
        raise LoadError(
            f"{source.path}: {counted(unreadable, 'row')} with a {LOADED_AT} that is not an "
            "ISO 8601 timestamp (such as 2024-07-01T02:00:00Z); staging could not tell whether "
            "such a row is newer than the other loads of its key. Correct the values, or leave "
            "them blank to have the batch's time stamped"
        )
    if implausible:
        raise LoadError(
            f"{source.path}: {counted(implausible, 'row')} with a {LOADED_AT} before "
            f"{EARLIEST_LOADED_AT:%Y-%m-%d} or more than a day after this batch's time "
            f"({loaded_at:%Y-%m-%dT%H:%MZ}), a placeholder (0001-01-01, 1970-01-01, "
            "9999-12-31) rather than a load time; staging would rank such a row before or "
            "after every real load of its key. Correct the values, or leave them blank to "
            "have the batch's time stamped"
        )


def check_ids(con: duckdb.DuckDBPyConnection, source: Source, load_id: int) -> None:
    """Refuse a file with an id in Excel's scientific notation (`1.23457E+15`): Excel shows
    a number of more than 11 digits so and saves it as shown. Its other digits are lost, so
    that different ids become one: the orders of many customers one inferred customer."""
    for column in source.columns:
        if not column.endswith("_id"):
            continue
        value = ident(column)
        (count,) = con.execute(
            f"select count(*) from {SCHEMA}.{source.table.name} where {LOAD_ID} = ? "
            f"and contains({value}, 'E') "
            f"and regexp_full_match(trim({value}), {sql_literal(EXCEL_SCIENTIFIC)})",
            [load_id],
        ).fetchone()
        if count:
            raise LoadError(
                f"{source.path}: {counted(count, 'value')} of column {column!r} in scientific "
                "notation (such as 1.23457E+15), as Excel shows and saves an id of more than "
                "11 digits: its other digits are lost and different ids become one; export the "
                "ids as text (in Excel, format the column as Text before typing or opening them)"
            )
