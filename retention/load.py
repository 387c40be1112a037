"""`retention load DIR [--db PATH]`: load raw CSV/Parquet files into the `raw` schema.

DIR holds one file per raw table (SPEC section 5), ``<table>.csv`` or ``<table>.parquet``.
Every raw column is stored as VARCHAR whatever the file format: the raw schema is the data as
delivered, and staging casts with try_cast and quarantines what does not parse. Raw tables
always have exactly the contract's columns in contract order (required + optional +
``_loaded_at``); optional columns absent from a file are NULL, and tables absent from DIR are
created empty.

Files are checked first (names, headers, required and unknown columns); only when every file
passes are the tables replaced, all inside one transaction, so a refused or failed load leaves
the database exactly as it was. DuckDB reads the files itself (no Python row loops), which is
what makes ten million orders load in seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from retention.contract import TABLES, Table
from retention.paths import default_db_path

SCHEMA = "raw"
FORMATS = {".csv": "csv", ".parquet": "parquet"}
# DuckDB's names for instants (Parquet timestamps adjusted to UTC, e.g. tz-aware pandas).
TIMESTAMPTZ_TYPES = ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "TIMESTAMPTZ_NS")

Progress = Callable[[str], None]


class LoadError(Exception):
    """A load was refused or failed; the database is unchanged. The message says why."""


@dataclass(frozen=True)
class Source:
    """What will be loaded into one raw table: a file, or nothing (created empty)."""

    table: Table
    path: Path | None = None
    fmt: str | None = None
    # Columns present in the file, in file order, with their DuckDB type (Parquet) or VARCHAR.
    file_columns: dict[str, str] = field(default_factory=dict)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dir", type=Path, metavar="DIR", help="directory with <table>.csv or <table>.parquet"
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        metavar="PATH",
        help="DuckDB database file (default: $RETENTION_DB_PATH or warehouse.duckdb at the repo "
        "root)",
    )


def run(args: argparse.Namespace) -> int:
    db_path = args.db if args.db is not None else default_db_path()
    try:
        load_dir(args.dir, db_path, progress=_stderr)
    except LoadError as exc:
        print(f"retention load: error: {exc}", file=sys.stderr)
        return 2
    return 0


def load_dir(
    dir: Path,
    db_path: Path,
    *,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Replace the `raw` schema's tables with the files in `dir`; return rows per table.

    Raises LoadError (database untouched) when a file is refused or cannot be read.
    """
    say = progress or (lambda _message: None)
    dir = Path(dir)
    db_path = Path(db_path)
    sources = check_dir(dir, say)
    if all(source.path is None for source in sources):
        say(f"warning: {dir} holds no raw table files; every raw table will be empty")

    say(f"loading {dir} into {db_path} (schema {SCHEMA})")
    started = time.perf_counter()
    loaded = _load(sources, db_path, say)
    elapsed = time.perf_counter() - started

    say(f"loaded {len(loaded)} tables, {sum(loaded.values()):,} rows in {elapsed:.2f} s")
    say("row counts in raw after commit:")
    width = max(len(name) for name in loaded)
    for name, rows in loaded.items():
        note = ""
        if rows == 0 and not TABLES[name].is_optional_table:
            note = "  (warning: empty core table)"
        say(f"  {name:<{width}}  {rows:>12,}{note}")
    return loaded


# --- checks: everything is validated before the database is opened -------------------------


def check_dir(dir: Path, say: Progress) -> list[Source]:
    """Find and check the file of every raw table; raise LoadError listing every problem."""
    if not dir.exists():
        raise LoadError(f"{dir}: no such directory")
    if not dir.is_dir():
        raise LoadError(f"{dir}: not a directory")

    problems: list[str] = []
    found: dict[str, list[Path]] = {}
    for path in sorted(dir.iterdir()):
        name = path.name
        if name.startswith(("_", ".")):
            continue  # side files such as _defects.json, hidden files
        suffix = path.suffix.lower()
        if path.is_file() and suffix in FORMATS:
            table = path.name[: -len(path.suffix)]
            if table in TABLES:
                found.setdefault(table, []).append(path)
            else:
                problems.append(
                    f"{path}: unknown table {table!r}; raw tables are: {', '.join(TABLES)}"
                )
        elif name.split(".", 1)[0] in TABLES:
            # Looks like a raw table in a form we do not read (orders.csv.gz, orders.json, a
            # folder): refuse rather than silently load that table empty.
            table = name.split(".", 1)[0]
            problems.append(
                f"{path}: unsupported file for table {table!r}; "
                f"expected {table}.csv or {table}.parquet"
            )
        else:
            say(f"ignoring {path} (not a raw table file)")

    sources: list[Source] = []
    for table in TABLES.values():
        paths = found.get(table.name, [])
        if len(paths) > 1:
            problems.append(
                f"{', '.join(str(p) for p in paths)}: more than one file for table "
                f"{table.name!r}; keep exactly one"
            )
            continue
        if not paths:
            sources.append(Source(table))
            continue
        path = paths[0]
        fmt = FORMATS[path.suffix.lower()]
        try:
            columns = _csv_header(path) if fmt == "csv" else _parquet_columns(path)
        except LoadError as exc:
            problems.append(str(exc))
            continue
        problems.extend(_column_problems(path, table, list(columns)))
        sources.append(Source(table, path, fmt, columns))

    if problems:
        raise LoadError(
            f"refusing to load {dir}; nothing was changed:\n"
            + "\n".join(f"  - {problem}" for problem in problems)
        )
    return sources


def _csv_header(path: Path) -> dict[str, str]:
    """The header of a CSV file. DuckDB's sniffer is not used: it can mistake a data row for
    the header, so the header is read here and the file is then read with fixed options."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), None)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise LoadError(f"{path}: unreadable CSV header: {exc}") from exc
    if header is None:
        raise LoadError(f"{path}: empty file; expected a header line with column names")
    if header == [] or header == [""]:
        raise LoadError(f"{path}: the first line is empty; expected a header with column names")
    return {column: "VARCHAR" for column in _unique(path, header)}


def _parquet_columns(path: Path) -> dict[str, str]:
    """Column names and DuckDB types of a Parquet file (reads the footer only)."""
    try:
        with duckdb.connect() as con:
            rows = con.execute(f"describe select * from {_parquet_reader(path)}").fetchall()
    except duckdb.Error as exc:
        raise LoadError(f"{path}: unreadable Parquet file: {_first_line(exc)}") from exc
    return {name: type_ for name, type_, *_ in rows}


def _unique(path: Path, columns: list[str]) -> list[str]:
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise LoadError(f"{path}: duplicate column(s) {_names(duplicates)} in the header")
    return columns


def _column_problems(path: Path, table: Table, columns: list[str]) -> list[str]:
    problems = []
    missing = [c for c in table.required if c not in columns]
    if missing:
        problems.append(
            f"{path}: missing required column(s) {_names(missing)} for table {table.name!r}"
        )
    unknown = [c for c in columns if c not in table.columns]
    if unknown:
        # Refused, not dropped: an unexpected column is usually a renamed or misspelt one.
        problems.append(
            f"{path}: column(s) {_names(unknown)} not in the raw contract for table "
            f"{table.name!r}; allowed columns: {', '.join(table.columns)}"
        )
    return problems


# --- load: one transaction, DuckDB does the reading ----------------------------------------


def _load(sources: list[Source], db_path: Path, say: Progress) -> dict[str, int]:
    created = not db_path.exists()
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(db_path))
    except (OSError, duckdb.Error) as exc:
        raise LoadError(f"cannot open database {db_path}: {_first_line(exc)}") from exc

    try:
        loaded = _load_in_transaction(con, sources, db_path, say)
        # Sanity: read the committed row counts back rather than trusting the statements.
        counts = {
            name: con.execute(f"select count(*) from {SCHEMA}.{name}").fetchone()[0]
            for name in loaded
        }
    except BaseException:
        con.close()
        if created:  # leave no empty database file behind when there was none before
            for path in (db_path, db_path.with_name(db_path.name + ".wal")):
                path.unlink(missing_ok=True)
        raise
    con.close()
    if counts != loaded:
        raise LoadError(f"row counts after commit {counts} differ from rows loaded {loaded}")
    return counts


def _load_in_transaction(
    con: duckdb.DuckDBPyConnection, sources: list[Source], db_path: Path, say: Progress
) -> dict[str, int]:
    loaded: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        con.execute(f"create schema if not exists {SCHEMA}")
        for source in sources:
            loaded[source.table.name] = _load_table(con, source, say)
        mark_build_state(con, "loaded")
        con.execute("commit")
    except BaseException as exc:
        _rollback(con)
        if isinstance(exc, duckdb.Error):
            raise LoadError(
                f"loading into {db_path} failed and was rolled back: {_first_lines(exc)}"
            ) from exc
        raise
    return loaded


def mark_build_state(con: duckdb.DuckDBPyConnection, state: str) -> None:
    """Record where the database is in load → build → publish (`meta.build_state`).

    A load sets `loaded`; a complete, successful `dbt build` sets `built` (the on-run-end
    hook macros/record_build_state.sql); `retention publish` publishes only a `built` copy.
    """
    con.execute("create schema if not exists meta")
    con.execute(
        "create or replace table meta.build_state as "
        "select ? as state, current_timestamp as changed_at",
        [state],
    )


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    # The transaction may already be gone (DuckDB aborts it on some errors).
    with contextlib.suppress(duckdb.Error):
        con.execute("rollback")


def _load_table(con: duckdb.DuckDBPyConnection, source: Source, say: Progress) -> int:
    table = source.table
    target = f"{SCHEMA}.{table.name}"
    started = time.perf_counter()
    if source.path is None:
        columns = ", ".join(f"{_ident(c)} varchar" for c in table.columns)
        con.execute(f"create or replace table {target} ({columns})")
        say(f"  {target}: no file, created empty")
        return 0

    try:
        rows = con.execute(f"create or replace table {target} as {_select(source)}").fetchone()[0]
        if source.fmt == "parquet":
            expected = con.execute(
                f"select sum(num_rows) from parquet_file_metadata({_literal(source.path)})"
            ).fetchone()[0]
            if rows != expected:
                raise LoadError(
                    f"{source.path}: loaded {rows:,} rows but the file says {expected:,}"
                )
    except duckdb.Error as exc:
        raise LoadError(
            f"{source.path}: unreadable content, nothing was loaded: {_first_lines(exc)}"
        ) from exc
    seconds = time.perf_counter() - started
    say(f"  {target}: {rows:,} rows from {source.path.name} in {seconds:.2f} s")
    return rows


def _select(source: Source) -> str:
    """SELECT of the contract's columns, in contract order, all VARCHAR, from the file."""
    expressions = []
    for column in source.table.columns:
        type_ = source.file_columns.get(column)
        if type_ is None:
            expression = "cast(null as varchar)"
        elif type_ == "VARCHAR":
            expression = _ident(column)
        elif type_ in TIMESTAMPTZ_TYPES:
            # As UTC wall-clock text ('2024-01-02 03:04:05'): no offset to misread later, and
            # independent of the session's TimeZone setting.
            expression = f"cast(timezone('UTC', {_ident(column)}) as varchar)"
        else:
            # DuckDB's text form of dates, timestamps, decimals and booleans casts back.
            expression = f"cast({_ident(column)} as varchar)"
        expressions.append(f"{expression} as {_ident(column)}")
    return f"select {', '.join(expressions)} from {_reader(source)}"


def _reader(source: Source) -> str:
    assert source.path is not None
    if source.fmt == "parquet":
        return _parquet_reader(source.path)
    # Fixed RFC 4180 dialect instead of sniffing; strict so that a row with too many or too
    # few fields, or an unterminated quote, fails the load instead of being padded or skipped.
    columns = ", ".join(f"{_literal(c)}: 'VARCHAR'" for c in source.file_columns)
    return (
        f"read_csv({_literal(source.path)}, header = true, auto_detect = false, "
        f"delim = ',', quote = '\"', escape = '\"', columns = {{{columns}}}, "
        "strict_mode = true, null_padding = false, ignore_errors = false)"
    )


def _parquet_reader(path: Path) -> str:
    # binary_as_string: writers that omit the UTF8 annotation still deliver text.
    return f"read_parquet({_literal(path)}, binary_as_string = true)"


# --- small helpers ---------------------------------------------------------------------------


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _names(columns: list[str]) -> str:
    return ", ".join(repr(c) for c in columns)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _first_lines(exc: BaseException, count: int = 3) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return " | ".join(lines[:count]) or type(exc).__name__


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
