"""`retention load DIR [--db PATH] [--replace] ...`: load raw CSV/Parquet files into `raw`.

DIR holds one file per raw table (the raw input contract, retention/contract.py),
``<table>.csv`` or ``<table>.parquet``. Each load is one **batch**, the way EL tools (Fivetran,
Airbyte, dlt) load: it gets the next load id, its rows are appended to the raw tables with
that id in `_load_id`, and `meta.load_batches` records it (one row per table loaded: load_id,
loaded_at, mode, table_name, rows, source_file, file_sha256). `_loaded_at` is stamped with the
batch's UTC time where a file has no such column or leaves it blank; a file's own value is
kept. Staging keeps the latest row per key (latest `_loaded_at`, then the highest load id).

- Append (the default): tables without a file in DIR get nothing. A delivery whose files are
  byte for byte those of a batch already loaded (same tables, same sha256) is skipped, so a
  re-run of the daily command after a failed build does not append it twice (`--force`
  loads it anyway).
- `--replace`: a full re-delivery of the tables in DIR (the others stay as they are). It
  refuses to leave a core table (customers, orders, contracts) with more than `--max-shrink`
  (default 10 %) fewer keys than it holds now (distinct trimmed keys: the rows of earlier
  loads of a key do not count) unless `--allow-shrink` is given.

Every delivered column is stored as VARCHAR whatever the file format: the raw schema is the
data as delivered, and staging casts with try_cast and quarantines what does not parse. A CSV
field that is a word for a null (`NULL`, `\\N`; in a column staging parses, also `NA`, `N/A`,
`None`) is stored as null, as an empty field is (NULL_WORDS).
Headers match the contract case-insensitively and ignoring surrounding spaces; columns the
contract does not know are ignored with a warning (never stored: they may hold personal
data). A raw table always has the contract's columns in contract order (required + optional
+ `_loaded_at` + `_load_id`); the first load creates every raw table, empty where DIR has no
file, so that dbt's sources exist.

Files are checked first (names, links, headers, required columns, empty required tables);
only when every file passes is the database opened, and the whole batch is written in one
transaction, so a refused or failed load leaves the database exactly as it was. DuckDB reads
the files itself (no Python row loops); paths are escaped so that DuckDB reads exactly the
listed files, never a glob pattern.

Exit codes: 0 loaded (or skipped as already loaded); 2 refused or failed, nothing changed;
128 + the signal's number when a signal stopped it (retention/signals.py): rolled back,
unless the message says the batch had been committed.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import hashlib
import os
import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import duckdb

from retention import console, shrink, signals, spark
from retention.contract import LOAD_ID, LOADED_AT, TABLES, TIMESTAMP_FORM, Table
from retention.paths import add_db_argument, default_db_path
from retention.working_copy import EXIT_BUSY, is_busy

SCHEMA = "raw"
BATCHES = "meta.load_batches"
FORMATS = {".csv": "csv", ".parquet": "parquet"}
# DuckDB's names for instants (Parquet timestamps adjusted to UTC, e.g. tz-aware pandas).
TIMESTAMPTZ_TYPES = ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "TIMESTAMPTZ_NS")
# The likely cause of DuckDB's "CSV Parser state machine reached an invalid state".
MIXED_LINE_ENDINGS = (
    "one cause: records that end in different ways in one file (CRLF and LF, or a lone CR "
    "outside quotes); write every record with the same line ending"
)
# The likely causes of DuckDB's "Value with unterminated quote found" in an export.
UNTERMINATED_QUOTE = (
    'causes: a quote inside a value escaped with a backslash (\\") instead of doubled (""), '
    "as MySQL and some other tools write it; or a file cut short inside a quoted value (a "
    "copy that did not finish)"
)
# DuckDB's floating-point types: not for ids (a Parquet id column of one is refused).
FLOAT_TYPES = ("FLOAT", "DOUBLE")
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
# Characters DuckDB's file readers treat as a glob pattern in a path.
GLOB_CHARACTERS = "*?["
# The longest CSV record (one row, all of its fields) the loader reads: DuckDB's
# `max_line_size`, passed to its reader, and the field limit of the header check, which
# Python's csv module otherwise sets at 131,072 characters.
MAX_CSV_RECORD_BYTES = 2_000_000

Progress = Callable[[str], None]


class LoadError(Exception):
    """A load was refused or failed; the database is unchanged. The message says why."""


class DatabaseBusy(LoadError):
    """Another process has the database open (DuckDB's file lock; a writer needs the file to
    itself): nothing was loaded, and the same command succeeds once that process is done."""


@dataclass(frozen=True)
class Source:
    """One file of the delivery and how its columns map onto the raw table."""

    table: Table
    path: Path
    fmt: str
    # Contract column -> (the column's name in the reader's output, its DuckDB type).
    columns: dict[str, tuple[str, str]] = field(default_factory=dict)
    # The file's columns in file order (CSV: the header as written).
    file_columns: tuple[str, ...] = ()
    sha256: str = ""
    # Whether the header check saw a data row (CSV) or the footer counts rows (Parquet).
    has_rows: bool = False


@dataclass(frozen=True)
class LoadResult:
    """What a load did: the batch, the rows it loaded per table, the raw tables after it."""

    load_id: int
    mode: str  # 'append' or 'replace'
    skipped: bool  # True: the same files were already loaded as batch load_id
    loaded: dict[str, int]  # rows loaded per table with a file in the delivery
    totals: dict[str, int]  # rows per raw table after the load


EXIT_CODES = {
    0: "loaded, or skipped because the same files were already loaded as a batch",
    2: "refused or unreadable (a file, a column, a link, a --replace that would shrink a core "
    "table too far); the database is unchanged",
    5: "--target spark: loaded into the landing file, but the export to Parquet or the "
    "registration in the Spark catalog failed (run the same command again)",
    EXIT_BUSY: "another process has the database open (another load, a BI client or the "
    "duckdb shell, even read-only): nothing was loaded; run the same command again when it "
    "is done",
    130: "interrupted by SIGINT (143 SIGTERM, 129 SIGHUP): the batch was rolled back, unless "
    "the message says it had been committed",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dir", type=Path, metavar="DIR", help="directory with <table>.csv or <table>.parquet"
    )
    add_db_argument(parser)
    add_mode_arguments(parser)
    parser.add_argument(
        "--target",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="spark: after the load into --db (the landing file), export the raw tables as "
        'Parquet and register them in the local Spark catalog (README "Scaling out"; '
        "needs `make setup-spark`)",
    )


SHRINK_GUARDS = (
    "a core table (customers, orders, contracts) replaced with --replace (its rows counted "
    "as distinct keys, not the loads of each)"
)


def add_mode_arguments(parser: argparse.ArgumentParser, guards: str = SHRINK_GUARDS) -> None:
    """--replace, --allow-shrink, --max-shrink and --force (also on `retention build`, whose
    shrink options guard the marts too: `guards` says what they protect)."""
    parser.add_argument(
        "--replace",
        action="store_true",
        help="full re-delivery: replace the tables that have a file in the folder instead "
        "of appending to them (tables without a file stay as they are)",
    )
    shrink.add_arguments(parser, guards)
    parser.add_argument(
        "--force",
        action="store_true",
        help="load the files even when the same files were already loaded as a batch",
    )


def run(args: argparse.Namespace) -> int:
    db_path = args.db if args.db is not None else default_db_path()
    if getattr(args, "target", "duckdb") == "spark" and not spark.installed():
        console.error(
            "load",
            "--target spark needs PySpark and dbt-spark, which this environment lacks: run "
            '`make setup-spark` (README "Scaling out"); nothing was loaded',
        )
        return 2
    committed: list[LoadResult] = []
    with signals.stoppable() as received:
        try:
            # A spinner with the elapsed time on a terminal (large tables take a while); the
            # messages, one line per table, print above it and are silenced by --quiet.
            with console.progress(f"loading {args.dir}") as bar:

                def say(message: str) -> None:
                    progress_message(message)
                    bar.update(f"loading {args.dir}: {message.strip()}")

                load_as_told(args.dir, db_path, args, progress=say, on_commit=committed.append)
                if getattr(args, "target", "duckdb") == "spark":
                    spark.publish_raw(db_path, progress=say)
        except DatabaseBusy as exc:
            console.error(
                "load", f"{exc}; nothing was loaded: run the same command again when it is done"
            )
            return EXIT_BUSY
        except LoadError as exc:
            console.error("load", str(exc))
            return 2
        except spark.SparkExportError as exc:
            console.error("load", str(exc))
            return spark.EXIT_EXPORT
        except BaseException as exc:
            signum = signals.signal_of(exc, received)
            if signum is None:
                raise
            console.error(
                "load", f"interrupted by {signal.Signals(signum).name}; {_left(committed)}"
            )
            return 128 + signum
    return 0


def progress_message(message: str) -> None:
    """A message of the load on stderr: progress (console.say, not with --quiet), or a
    warning (`warning: ...`, such as the columns a file's header has that the contract does
    not know), which is printed also with --quiet."""
    if message.startswith("warning:"):
        console.warn(message)
    else:
        console.say(message)


def _left(committed: list[LoadResult]) -> str:
    """What an interrupted load left in the database."""
    if committed:
        return f"batch {committed[0].load_id} had been committed: it is loaded"
    return "nothing was loaded (the batch was rolled back)"


def load_as_told(
    dir: Path,
    db_path: Path,
    args: argparse.Namespace,
    progress: Progress | None = None,
    on_commit: Callable[[LoadResult], None] | None = None,
) -> LoadResult:
    """`load_dir` with the options of add_mode_arguments in `args` (load and build)."""
    return load_dir(
        dir,
        db_path,
        replace=args.replace,
        force=args.force,
        allow_shrink=args.allow_shrink,
        max_shrink=args.max_shrink,
        progress=progress,
        on_commit=on_commit,
    )


def load_dir(
    dir: Path,
    db_path: Path,
    *,
    replace: bool = False,
    force: bool = False,
    allow_shrink: bool = False,
    max_shrink: float = shrink.DEFAULT_MAX_SHRINK,
    progress: Progress | None = None,
    on_commit: Callable[[LoadResult], None] | None = None,
) -> LoadResult:
    """Load the files in `dir` into the `raw` schema of `db_path` as one batch.

    Raises LoadError (database untouched) when a file is refused or cannot be read.
    `on_commit` is called with the result once the batch is committed, before anything
    else happens (a signal that arrives during the commit waits for it).
    """
    say = progress or (lambda _message: None)
    if not 0.0 <= max_shrink <= 1.0:
        raise LoadError(f"max_shrink must be between 0 and 1, got {max_shrink}")
    dir = Path(dir)
    db_path = Path(db_path)
    sources = check_dir(dir, say)
    mode = "replace" if replace else "append"

    say(f"loading {dir} into {db_path} (schema {SCHEMA}, {mode})")
    started = time.perf_counter()
    options = _Options(mode, force, allow_shrink, max_shrink)
    result = _load(sources, db_path, options, say, on_commit or (lambda _result: None))
    elapsed = time.perf_counter() - started

    if result.skipped:
        say(
            f"{dir} was already loaded as batch {result.load_id}; nothing loaded "
            "(--force loads it again)"
        )
        return result
    say(
        f"loaded batch {result.load_id} ({mode}): "
        f"{_count(sum(result.loaded.values()), 'row')} into {len(result.loaded)} table(s) "
        f"in {elapsed:.2f} s"
    )
    say("row counts in raw after commit:")
    width = max(len(name) for name in result.totals)
    empty = []
    for name, rows in result.totals.items():
        added = result.loaded.get(name)
        note = "  (no file: unchanged)" if added is None else f"  ({added:,} from this batch)"
        say(f"  {name:<{width}}  {rows:>12,}{note}")
        if rows == 0 and TABLES[name].is_core:
            # Only the core tables: a shop may have no cancellations yet, or no NPS survey.
            empty.append(name)
    if empty:
        note = (
            f"core table(s) {', '.join(empty)} still empty after this load: the marts that read "
            "them have no rows from them"
        )
        if result.load_id == 1:  # a warning, so also with --quiet
            console.warn(f"warning: {note}")
        else:
            # A raw table never empties once loaded, so it has been empty since the first
            # batch, which warned: a shop without it (an order-only shop has no contracts).
            # Said again every night with --quiet, it taught an orchestrator's log readers to
            # skip warnings.
            say(f"{note} (as since the first batch, which warned)")
    return result


# --- checks: everything is validated before the database is opened -------------------------


def dir_problem(dir: Path) -> str | None:
    """Why `dir` cannot be a delivery folder (it is missing, or a file), or None. `retention
    build` asks first, before it copies the published warehouse into a new working copy."""
    if not dir.exists():
        return f"{dir}: no such directory"
    if not dir.is_dir():
        return f"{dir}: not a directory"
    return None


def check_dir(dir: Path, say: Progress) -> list[Source]:
    """Find and check the file of every raw table in `dir`; raise LoadError listing every
    problem. Returns the tables that have a file, in contract order."""
    if problem := dir_problem(dir):
        raise LoadError(problem)
    root = dir.resolve()

    # A folder that cannot be read is the delivery's fault, not the database's: refused
    # without the OSError as cause, which `build` would take for a working copy it cannot
    # write (working_copy.storage_problem: exit 7, blaming the working copy).
    try:
        paths = sorted(dir.iterdir())
    except OSError as exc:  # a folder this user may not list
        raise LoadError(f"{dir}: cannot read the folder: {exc.strerror or exc}") from None
    try:
        # Listing takes the folder's r permission, reaching a file in it its x (search)
        # permission: a folder of mode 644 lists, and then every file in it failed (a
        # PermissionError traceback). "DIR/." is reached only through the folder.
        os.stat(os.path.join(dir, os.curdir))
    except OSError as exc:
        raise LoadError(
            f"{dir}: cannot open the files in the folder: {exc.strerror or exc} (it can be "
            "listed but not searched: a folder needs the x permission as well as r)"
        ) from None
    problems: list[str] = []
    found: dict[str, list[Path]] = {}
    for path in paths:
        name = path.name
        if name.startswith("."):
            continue  # hidden files (.DS_Store, an editor's swap file): never read
        if name.startswith("_"):
            say(f"ignoring {path} (a side file: names starting with _ are never loaded)")
            continue
        if name.startswith("~$"):
            # Excel and LibreOffice keep one beside a file open in them (~$orders.csv).
            say(f"ignoring {path} (an office program's lock file: names starting with ~$)")
            continue
        table = name.split(".", 1)[0]
        if path.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(root):
                # Named, never followed: nothing outside the folder is read or shown.
                problems.append(f"{path}: a symbolic link to outside {dir}; refusing to follow it")
                continue
            if not target.exists():
                problems.append(f"{path}: a broken symbolic link")
                continue
        suffix = path.suffix.lower()
        if path.is_file() and suffix in FORMATS:
            table = path.name[: -len(path.suffix)]
            if table in TABLES:
                found.setdefault(table, []).append(path)
            elif table.lower() in TABLES:
                problems.append(
                    f"{path}: unknown table {table!r}; file names are lower case: rename it "
                    f"to {table.lower()}{suffix}"
                )
            elif named := _table_in_name(table):
                # A dated or copied export (orders_2024-06-30.csv, orders (1).csv): the
                # message said only which tables there are.
                problems.append(
                    f"{path}: unknown table {table!r}; a file is named after its table alone: "
                    f"rename it to {named}{suffix} (one file per table and folder)"
                )
            else:
                problems.append(
                    f"{path}: unknown table {table!r}; raw tables are: {', '.join(TABLES)}"
                )
        elif table in TABLES and path.is_dir():
            # Spark and Hive write a data set as a folder of part files (orders.parquet/).
            problems.append(
                f"{path}: a folder, not a file, for table {table!r} (Spark writes a Parquet "
                f"data set as a folder of part files); deliver one file, {table}.csv or "
                f"{table}.parquet"
            )
        elif table in TABLES and path.is_file() and name.rstrip() != name:
            # `orders.csv ` (a name a Mac keeps, typed or pasted with a space): the message
            # showed "orders.csv : unsupported file ...; expected orders.csv".
            problems.append(
                f"{path}: the name {name!r} ends in white space; rename it to {name.rstrip()}"
            )
        elif table in TABLES:
            # Looks like a raw table in a form we do not read (orders.csv.gz, orders.json):
            # refuse rather than silently load nothing for that table.
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
            continue
        try:
            sources.append(_check_file(paths[0], table, say))
        except LoadError as exc:
            problems.append(str(exc))

    if not problems and not sources:
        problems.append(
            f"no raw table files in {dir}; expected <table>.csv or <table>.parquet for "
            f"tables among: {', '.join(TABLES)}"
        )
    if problems:
        raise LoadError(
            f"refusing to load {dir}; nothing was changed:\n"
            + "\n".join(f"  - {problem}" for problem in problems)
        )
    return sources


def _table_in_name(name: str) -> str | None:
    """The raw table a file's name (without its extension) starts with, in any case, when
    something other than a letter follows it (`orders_2024-06-30`, `orders (1)`,
    `Customers-export`), else None."""
    lowered = name.lower()
    for table in TABLES:
        rest = lowered[len(table) :]
        if lowered.startswith(table) and rest and not rest[0].isalpha():
            return table
    return None


def _check_file(path: Path, table: Table, say: Progress) -> Source:
    """Read a file's header (and whether it has a data row); map its columns onto the
    contract. Raises LoadError naming the file."""
    fmt = FORMATS[path.suffix.lower()]
    if fmt == "csv":
        header, has_rows = _csv_header(path)
        # The reader names the file's columns c0, c1, ... (the header is read here), so
        # that any header text, even a blank or repeated name, reaches DuckDB safely.
        typed = [(name, f"c{index}", "VARCHAR") for index, name in enumerate(header)]
    else:
        typed, has_rows = _parquet_columns(path)

    by_column: dict[str, list[str]] = {}
    columns: dict[str, tuple[str, str]] = {}
    unknown: list[str] = []
    ignored_load_id = False
    for name, alias, type_ in typed:
        column = name.strip().lower()
        if column in table.columns:
            by_column.setdefault(column, []).append(name)
            columns[column] = (alias, type_)
        elif column == LOAD_ID:
            ignored_load_id = True
        else:
            unknown.append(name)

    problems = []
    for column, names in by_column.items():
        if len(names) > 1:
            if len(set(names)) == 1:
                problems.append(f"{path}: duplicate column {names[0]!r} in the header")
            else:
                problems.append(
                    f"{path}: columns {_names(names)} all map to column {column!r} of table "
                    f"{table.name!r}; keep one"
                )
    for column, (_alias, type_) in columns.items():
        if column.endswith("_id") and type_ in FLOAT_TYPES:
            # pandas writes an integer column with a missing value as float64: its text
            # (10.0) would not match the id (10) of another file, and the rows would join
            # to no one (an order to an inferred customer) without a word.
            problems.append(
                f"{path}: column {column!r} is {type_}, a floating-point type; an id must be "
                "an integer or text (written as a float, 10 reads 10.0 and matches no 10 "
                "elsewhere; in pandas, the Int64 dtype keeps integers with missing values)"
            )
        elif _is_nested(type_):
            # A list, struct or map would be stored as its text ('[a, b]', "{'k': v}"), and
            # staged as a segment or even an id without a word.
            problems.append(
                f"{path}: column {column!r} is {type_}, a nested type (a list, struct or "
                "map); a contract column holds one value per row: deliver it as text or a "
                "plain type"
            )
        elif column.endswith("_id") and (_decimal_scale(type_) or 0) > 0:
            # The same for a decimal with decimals (an Oracle NUMBER through Spark or JDBC is
            # DECIMAL(38,10)): 10 reads 10.00 and joins to no one.
            problems.append(
                f"{path}: column {column!r} is {type_}, a type with decimals; an id must be "
                "an integer or text (10 reads 10.00 and matches no 10 elsewhere: cast it to "
                "an integer, or DECIMAL(p,0), in the export)"
            )
    missing = [c for c in table.required if c not in columns]
    if missing:
        header = [name for name, _, _ in typed]
        problems.append(
            f"{path}: missing required column(s) {_names(missing)} for table {table.name!r} "
            f"(the header has: {_names(header)}){_separator_hint(path, header)}"
        )
    if not problems and not has_rows and not table.is_optional_table:
        problems.append(
            f"{path}: no data rows; table {table.name!r} is required, so an empty file is "
            "refused (leave the file out of a delivery that has no new rows)"
        )
    if problems:
        raise LoadError("\n  - ".join(problems))

    if unknown:
        # Ignored, not stored: an export may carry columns (e-mail, phone) the warehouse
        # must not keep.
        say(
            f"warning: {path}: ignoring column(s) {_names(unknown)}, not in the raw contract "
            f"of table {table.name!r} (allowed: {', '.join(table.columns)})"
        )
    if ignored_load_id:
        say(f"warning: {path}: ignoring column {LOAD_ID!r}; the loader sets it")
    return Source(
        table,
        path,
        fmt,
        columns,
        tuple(name for name, _, _ in typed),
        _sha256(path),
        has_rows,
    )


# The advice for a file in another encoding (Latin-1, UTF-16: Excel's "CSV" and "Unicode
# text" exports).
SAVE_AS_UTF8 = 'save the file as UTF-8 (Excel: "CSV UTF-8 (Comma delimited)")'


def _separator_hint(path: Path, header: list[str]) -> str:
    """For a CSV header read as one column because its names are separated by something else
    than a comma (a semicolon, a tab, a bar), a hint that says so; for a first line that is
    Excel's separator hint (`sep=;`, `sep=,`), a hint to remove it; else empty."""
    if path.suffix.lower() != ".csv":
        return ""
    if header and header[0].strip().lower().startswith("sep="):
        return (
            "; the first line is Excel's separator hint (sep=...), not the header: remove that "
            "line, the header must come first"
        )
    if len(header) != 1:
        return ""
    for separator, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
        if separator in header[0]:
            return f"; the header's names are separated by {name}: deliver comma-separated files"
    return ""


def _csv_header(path: Path) -> tuple[list[str], bool]:
    """The header of a CSV file, and whether a data row follows it. DuckDB's sniffer is not
    used: it can mistake a data row for the header, so the header is read here and the file
    is then read with fixed options."""
    limit = csv.field_size_limit(MAX_CSV_RECORD_BYTES)
    header = None
    try:
        if kind := _other_kind(path):
            what, fix = kind
            if what.startswith("a Parquet file"):
                fix = f"rename it to {path.stem}.parquet"
            raise LoadError(f"{path}: not CSV text but {what}; {fix}")
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = _header_record(handle)
            if header is None:
                raise LoadError(f"{path}: empty file; expected a header line with column names")
            if header == [] or header == [""]:
                raise LoadError(
                    f"{path}: the first line is empty; expected a header with column names"
                )
            if any("\x00" in name for name in header):
                # UTF-16 without a byte order mark: every other byte of ASCII text is 0, which
                # is valid UTF-8, so the header read as names full of NULs.
                raise LoadError(
                    f"{path}: unreadable CSV: NUL bytes in the header, as UTF-16 text without "
                    f"a byte order mark has; {SAVE_AS_UTF8}"
                )
            has_rows = any(row for row in csv.reader(handle))
    except UnicodeDecodeError as exc:
        # Python's words count the byte's position in the chunk it read, not in the file.
        bad = exc.object[exc.start : exc.start + 1].hex()
        raise LoadError(
            f"{path}: unreadable CSV: not UTF-8 text (byte 0x{bad} in the header or the first "
            f"data row); {SAVE_AS_UTF8}"
        ) from exc
    except csv.Error as exc:
        reason = console.first_line(exc)
        if reason.startswith("field larger than field limit"):
            reason = (
                f"a record longer than the limit of {MAX_CSV_RECORD_BYTES:,} bytes (or a "
                "quote that is never closed)"
            )
        elif header is None and reason == "unexpected end of data":
            reason = "the header is not valid CSV: a quote opened in it is never closed"
        raise LoadError(f"{path}: unreadable CSV: {reason}") from exc
    except OSError as exc:
        raise LoadError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    finally:
        csv.field_size_limit(limit)
    return header, has_rows


# What a file that is not what its name says is, told by its first bytes (its "magic"): the
# files an operator most likely puts in a folder by mistake, and what to do about each.
OTHER_KINDS = (
    (b"\x1f\x8b", "a gzip-compressed file", "decompress it (gunzip) and deliver the CSV"),
    (
        b"PK\x03\x04",
        "a ZIP archive (an Excel .xlsx workbook is one)",
        'unzip it, or export the sheet as CSV UTF-8 (Excel: "CSV UTF-8 (Comma delimited)")',
    ),
    (
        b"\xd0\xcf\x11\xe0",
        "an Excel 97-2003 workbook (.xls)",
        'export the sheet as CSV UTF-8 (Excel: "CSV UTF-8 (Comma delimited)")',
    ),
    (b"PAR1", "a Parquet file", "give it the .parquet extension"),
    (b"\xff\xfe", "UTF-16 text (it starts with UTF-16's byte order mark)", SAVE_AS_UTF8),
    (b"\xfe\xff", "UTF-16 text (it starts with UTF-16's byte order mark)", SAVE_AS_UTF8),
)


def _first_bytes(path: Path) -> bytes:
    """The first bytes of a file (empty when it cannot be read: reading it says why)."""
    try:
        with path.open("rb") as handle:
            return handle.read(8)
    except OSError:
        return b""


def _other_kind(path: Path) -> tuple[str, str] | None:
    """(what the file is, what to do) when its first bytes are those of another kind of file
    (OTHER_KINDS), else None."""
    head = _first_bytes(path)
    for magic, what, fix in OTHER_KINDS:
        if head.startswith(magic):
            return what, fix
    return None


def _parquet_hint(path: Path) -> str:
    """For a .parquet file DuckDB could not read: what it is instead, when its first bytes
    tell, or that it was cut short (it starts as Parquet, but its footer is missing)."""
    head = _first_bytes(path)
    if not head:
        return "; the file is empty (0 bytes), as an export that failed before writing leaves it"
    if head.startswith(b"PAR1"):
        with contextlib.suppress(OSError), path.open("rb") as handle:
            handle.seek(-4, os.SEEK_END)
            if handle.read(4) != b"PAR1":
                return (
                    "; the file starts as Parquet but does not end as one: it was cut "
                    "short (a copy or an export that did not finish?)"
                )
        return ""
    if kind := _other_kind(path):
        return f"; not a Parquet file but {kind[0]}"
    if head and all(byte in b"\t\r\n" or 32 <= byte < 127 for byte in head):
        return "; not a Parquet file but text (a CSV named .parquet?)"
    return "; not a Parquet file (one starts with PAR1)"


def _header_record(handle: TextIO) -> list[str] | None:
    """The first record of a CSV file. It is read strictly first, to find a quote it never
    closes: read loosely, that makes the rest of the file one column name, and the messages
    that name the header's columns would show the rows (DuckDB's strict mode refuses the
    same in a data row). Any other strict complaint (a space after a closing quote,
    `"customer_id" ,`) is read loosely, as it always was."""
    try:
        return next(csv.reader(handle, strict=True), None)
    except csv.Error as exc:
        if str(exc) == "unexpected end of data" or str(exc).startswith("field larger"):
            raise
    handle.seek(0)
    return next(csv.reader(handle), None)


def _parquet_columns(path: Path) -> tuple[list[tuple[str, str, str]], bool]:
    """The columns of a Parquet file, as (name in the file, name DuckDB's reader gives it,
    DuckDB type), and whether it has rows (reads the footer only). The reader renames a
    column whose name repeats another's in any case (`CUSTOMER_ID` beside `customer_id`
    becomes `CUSTOMER_ID_1`); the file's own names are what the contract is matched on."""
    try:
        with duckdb.connect() as con:
            described = con.execute(f"describe select * from {_parquet_reader(path)}").fetchall()
            schema = con.execute(
                f"select name, num_children from parquet_schema({path_literal(path)})"
            ).fetchall()
            rows = con.execute(
                f"select sum(num_rows) from parquet_file_metadata({path_literal(path)})"
            ).fetchone()[0]
    except duckdb.Error as exc:
        raise LoadError(
            f"{path}: unreadable Parquet file: {_without_content(exc)}{_parquet_hint(path)}"
        ) from exc
    names = _top_level_names(schema)
    if len(names) != len(described):  # never seen: then the reader's names are all there is
        names = [name for name, *_ in described]
    return [
        (name, reader_name, type_)
        for name, (reader_name, type_, *_) in zip(names, described, strict=True)
    ], bool(rows)


def _top_level_names(schema: list[tuple[str, int | None]]) -> list[str]:
    """The names of a Parquet schema's top-level columns, in order. The schema is its tree
    flattened depth first: the root, then each column and, for a nested one, its children."""
    names: list[str] = []
    pending = [schema[0][1] or 0] if schema else []  # children still to see, per open level
    for name, children in schema[1:]:
        while pending and pending[-1] == 0:
            pending.pop()
        if not pending:
            break
        if len(pending) == 1:
            names.append(name)
        pending[-1] -= 1
        if children:
            pending.append(children)
    return names


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# --- load: one transaction, DuckDB does the reading ----------------------------------------


@dataclass(frozen=True)
class _Options:
    mode: str
    force: bool
    allow_shrink: bool
    max_shrink: float


# The first 16 bytes of every SQLite 3 database file.
SQLITE_MAGIC = b"SQLite format 3\x00"


def data_file_problem(db_path: Path) -> str | None:
    """Why the warehouse cannot be the file at `db_path` because it is a data file, or None.
    DuckDB opens an existing file that is not a database but is named like a data file
    (.csv, .parquet, .json) as an in-memory database that reads it: a batch loaded into it,
    or a build published over it, would be kept nowhere. The file is never written: a
    database (DuckDB's magic bytes after the 8-byte checksum of its header) is not opened,
    and any other file DuckDB either reads in memory or refuses. `load` and `build` refuse
    such a --db with this message. A SQLite database is refused before DuckDB sees it: DuckDB
    would fetch its SQLite extension from the internet to open one (with no network, its
    error was a failed download) and then write the warehouse's tables into that file."""
    try:
        with db_path.open("rb") as handle:
            header = handle.read(16)
    except OSError:
        return None  # not there (a new database), or unreadable: opening it says why
    if header[8:12] == b"DUCK":
        return None
    if header == SQLITE_MAGIC:
        return (
            f"cannot open database {db_path}: it is a SQLite database, not a DuckDB database "
            "(DuckDB would write the warehouse's tables into it); check --db PATH (or "
            "RETENTION_DB_PATH)"
        )
    try:
        with duckdb.connect(str(db_path)) as con:
            (stored_in,) = con.execute(
                "select path from duckdb_databases() where database_name = current_database()"
            ).fetchone()
    except duckdb.Error:
        return None  # neither a database nor data DuckDB reads: opening it says why
    if stored_in is not None:
        return None
    return (
        f"cannot open database {db_path}: it is a data file, not a DuckDB database (DuckDB "
        "would read it as an in-memory database: nothing written to it would be kept); "
        "check --db PATH (or RETENTION_DB_PATH)"
    )


def _load(
    sources: list[Source],
    db_path: Path,
    options: _Options,
    say: Progress,
    on_commit: Callable[[LoadResult], None],
) -> LoadResult:
    created = not db_path.exists()
    if problem := data_file_problem(db_path):
        raise LoadError(problem)
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(db_path))
        # Staging's session time zone (profiles.yml): a delivered _loaded_at without an
        # offset is UTC there, so the checks of this batch read it as UTC too. DuckDB's
        # default is the machine's zone: west of UTC the epoch's day passed and a stamp 20
        # hours ahead was refused, east of it a stamp 30 hours ahead passed.
        con.execute("set TimeZone = 'UTC'")
    except (OSError, duckdb.Error) as exc:
        why = console.first_line(exc)
        if is_busy(why):
            raise DatabaseBusy(f"another process has {db_path} open: {why}") from exc
        raise LoadError(f"cannot open database {db_path}: {why}") from exc

    committed: list[LoadResult] = []

    def record(result: LoadResult) -> None:
        committed.append(result)
        on_commit(result)

    try:
        result = _load_in_transaction(con, sources, db_path, options, say, record)
        if not result.skipped:
            # Sanity: read the committed row counts back rather than trusting the statements.
            totals = _row_counts(con)
            if totals != result.totals:
                raise LoadError(
                    f"row counts after commit {totals} differ from those expected {result.totals}"
                )
    except BaseException:
        con.close()
        if created and not committed:  # no empty database file left where there was none
            for path in (db_path, db_path.with_name(db_path.name + ".wal")):
                path.unlink(missing_ok=True)
        raise
    con.close()
    return result


def _load_in_transaction(
    con: duckdb.DuckDBPyConnection,
    sources: list[Source],
    db_path: Path,
    options: _Options,
    say: Progress,
    on_commit: Callable[[LoadResult], None],
) -> LoadResult:
    """The batch in one transaction; `on_commit` is called once it is committed, before a
    signal that arrived meanwhile stops anything."""
    con.execute("begin transaction")
    try:
        con.execute(f"create schema if not exists {SCHEMA}")
        con.execute("create schema if not exists meta")
        con.execute(
            f"create table if not exists {BATCHES} (load_id bigint not null, "
            "loaded_at timestamp not null, mode varchar not null, table_name varchar not null, "
            "rows bigint not null, source_file varchar not null, file_sha256 varchar not null)"
        )
        if not options.force:
            same = _same_batch(con, sources, options.mode)
            if same is not None:
                _rollback(con)
                return LoadResult(same, options.mode, True, {}, {})

        load_id = con.execute(f"select coalesce(max(load_id), 0) + 1 from {BATCHES}").fetchone()[0]
        # The batch's time, UTC: stamped where a row has no _loaded_at, recorded in BATCHES.
        loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        for table in TABLES.values():
            _ensure_table(con, table, say)

        loaded: dict[str, int] = {}
        shrinks: list[str] = []
        for source in sources:
            before = _keys(con, source.table) if _shrink_guarded(source, options) else None
            started = time.perf_counter()
            rows = _load_table(con, source, options.mode, load_id, loaded_at)
            loaded[source.table.name] = rows
            shrink = (
                None
                if before is None
                else _shrink_problem(source, before, _keys(con, source.table), options.max_shrink)
            )
            if shrink:
                shrinks.append(shrink)
            else:
                seconds = time.perf_counter() - started
                verb = "loaded (table replaced)" if options.mode == "replace" else "appended"
                say(
                    f"  {SCHEMA}.{source.table.name}: {_count(rows, 'row')} {verb} from "
                    f"{source.path.name} in {seconds:.2f} s"
                )
            con.execute(
                f"insert into {BATCHES} values (?, ?, ?, ?, ?, ?, ?)",
                [
                    load_id,
                    loaded_at,
                    options.mode,
                    source.table.name,
                    rows,
                    str(source.path.parent.resolve() / source.path.name),
                    source.sha256,
                ],
            )
        if shrinks:
            raise LoadError(
                "refusing to replace; nothing was changed:\n"
                + "\n".join(f"  - {problem}" for problem in shrinks)
            )
        totals = _row_counts(con)
        mark_build_state(con, "loaded")
        result = LoadResult(load_id, options.mode, False, loaded, totals)
        with signals.deferred():  # a signal during the commit waits until it is recorded
            con.execute("commit")
            on_commit(result)
    except BaseException as exc:
        _rollback(con)
        if isinstance(exc, duckdb.Error):
            raise LoadError(
                f"loading into {db_path} failed and was rolled back: {_without_content(exc)}"
            ) from exc
        if isinstance(exc, LoadError) and "nothing was" not in str(exc):
            # A check of the rows read (a _loaded_at, an id, a repeated header): the batch's
            # other tables were rolled back with it, which the message says.
            raise LoadError(f"{exc}; nothing was loaded") from exc
        raise
    return result


def _same_batch(con: duckdb.DuckDBPyConnection, sources: list[Source], mode: str) -> int | None:
    """The batch already loaded from exactly these files (same tables, same sha256), whose
    rows are still in raw, if any.

    Append: any earlier batch (appending the same files again would only add copies), unless
    a later replace of one of its tables removed its rows there. Replace: only the latest
    batch, when it was a replace (replacing with an older delivery after other loads is a
    deliberate reset)."""
    delivery = sorted((source.table.name, source.sha256) for source in sources)
    batches = con.execute(
        f"select load_id, any_value(mode), list(table_name), list(file_sha256) from {BATCHES} "
        "group by load_id order by load_id desc"
    ).fetchall()
    replaced_later: set[str] = set()
    for position, (load_id, batch_mode, tables, hashes) in enumerate(batches):
        if mode == "replace" and (position > 0 or batch_mode != "replace"):
            return None
        if sorted(zip(tables, hashes, strict=True)) == delivery:
            return None if replaced_later.intersection(tables) else load_id
        if batch_mode == "replace":
            replaced_later.update(tables)
    return None


def _ensure_table(con: duckdb.DuckDBPyConnection, table: Table, say: Progress) -> None:
    """Create the raw table when it does not exist; give a table of an older version the
    columns it lacks (rows loaded before load ids existed get `_load_id` 0)."""
    existing = _column_names(con, SCHEMA, table.name)
    target = f"{SCHEMA}.{table.name}"
    if not existing:
        con.execute(f"create table {target} ({_column_definitions(table)})")
        return
    for column in table.columns:
        if column not in existing:
            con.execute(f"alter table {target} add column {_ident(column)} varchar")
            say(f"  {target}: added column {column} (null in the rows already there)")
    if LOAD_ID not in existing:
        con.execute(f"alter table {target} add column {LOAD_ID} bigint default 0")
        say(f"  {target}: added column {LOAD_ID} (0 for the rows already there)")


def _column_names(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    """The columns of `schema.table` in the loaded database (none when it does not exist)."""
    return {
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns "
            "where table_catalog = current_database() and table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    }


def _column_definitions(table: Table) -> str:
    return ", ".join([f"{_ident(c)} varchar" for c in table.columns] + [f"{LOAD_ID} bigint"])


def _load_table(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    mode: str,
    load_id: int,
    loaded_at: dt.datetime,
) -> int:
    """Append (or replace with) the file's rows; return how many it loaded."""
    table = source.table
    target = f"{SCHEMA}.{table.name}"
    try:
        if mode == "replace":
            con.execute(f"create or replace table {target} ({_column_definitions(table)})")
        rows = con.execute(
            f"insert into {target} by name {_select(source, load_id, loaded_at)}"
        ).fetchone()[0]
        if source.fmt == "parquet":
            expected = con.execute(
                f"select sum(num_rows) from parquet_file_metadata({path_literal(source.path)})"
            ).fetchone()[0]
            if rows != expected:
                raise LoadError(
                    f"{source.path}: loaded {rows:,} rows but the file says {expected:,}"
                )
        if source.fmt == "csv":
            _check_repeated_header(con, source, load_id)
        if LOADED_AT in source.columns:
            _check_loaded_at(con, source, load_id, loaded_at)
        _check_ids(con, source, load_id)
    except duckdb.Error as exc:
        reason = _without_content(exc)
        if "This file is not utf-8" in reason:
            reason += f"; {SAVE_AS_UTF8}"
        if "state machine reached an invalid state" in reason:
            # DuckDB names neither the line nor the cause; in an export the usual one is
            # records ending in different ways (a CRLF file with LF rows appended to it).
            reason += f" | {MIXED_LINE_ENDINGS}"
        if "Value with unterminated quote found" in reason:
            reason += f" | {UNTERMINATED_QUOTE}"
        raise LoadError(f"{source.path}: unreadable content, nothing was loaded: {reason}") from exc
    if rows == 0 and source.has_rows:
        # DuckDB 2.0's reader, given a header whose quoted name holds a line break other
        # than the records' (an Excel cell with Alt+Enter: LF inside, CRLF between records),
        # reads no row of the file and raises nothing.
        raise LoadError(
            f"{source.path}: the file has data rows, but DuckDB's CSV reader read none; one "
            "cause: a line break inside a quoted column name of the header (an Excel cell "
            "with Alt+Enter) unlike the line ending of the records: remove it from the header"
        )
    if rows == 0 and not table.is_optional_table:
        raise LoadError(f"{source.path}: no data rows; table {table.name!r} is required")
    return rows


def _check_repeated_header(con: duckdb.DuckDBPyConnection, source: Source, load_id: int) -> None:
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
        f"lower(trim(ltrim({_ident(column)}, chr(65279)))) in ({names})"
        for column in source.table.key
    )
    (count,) = con.execute(
        f"select count(*) from {SCHEMA}.{source.table.name} where {LOAD_ID} = ? and {matches}",
        [load_id],
    ).fetchone()
    if count:
        raise LoadError(
            f"{source.path}: {_count(count, 'data row')} repeating a header (its "
            f"{', '.join(source.table.key)} is a column name), as when files are joined with "
            "their headers; remove the repeated header lines, and check that the joined "
            "files have their columns in the same order"
        )


def _check_loaded_at(
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
            f"{source.path}: {_count(unreadable, 'row')} with a {LOADED_AT} that is not an "
            "ISO 8601 timestamp (such as 2024-07-01T02:00:00Z); staging could not tell whether "
            "such a row is newer than the other loads of its key. Correct the values, or leave "
            "them blank to have the batch's time stamped"
        )
    if implausible:
        raise LoadError(
            f"{source.path}: {_count(implausible, 'row')} with a {LOADED_AT} before "
            f"{EARLIEST_LOADED_AT:%Y-%m-%d} or more than a day after this batch's time "
            f"({loaded_at:%Y-%m-%dT%H:%MZ}), a placeholder (0001-01-01, 1970-01-01, "
            "9999-12-31) rather than a load time; staging would rank such a row before or "
            "after every real load of its key. Correct the values, or leave them blank to "
            "have the batch's time stamped"
        )


def _check_ids(con: duckdb.DuckDBPyConnection, source: Source, load_id: int) -> None:
    """Refuse a file with an id in Excel's scientific notation (`1.23457E+15`): Excel shows
    a number of more than 11 digits so and saves it as shown. Its other digits are lost, so
    that different ids become one: the orders of many customers one inferred customer."""
    for column in source.columns:
        if not column.endswith("_id"):
            continue
        value = _ident(column)
        (count,) = con.execute(
            f"select count(*) from {SCHEMA}.{source.table.name} where {LOAD_ID} = ? "
            f"and contains({value}, 'E') "
            f"and regexp_full_match(trim({value}), {sql_literal(EXCEL_SCIENTIFIC)})",
            [load_id],
        ).fetchone()
        if count:
            raise LoadError(
                f"{source.path}: {_count(count, 'value')} of column {column!r} in scientific "
                "notation (such as 1.23457E+15), as Excel shows and saves an id of more than "
                "11 digits: its other digits are lost and different ids become one; export the "
                "ids as text (in Excel, format the column as Text before typing or opening them)"
            )


def _shrink_guarded(source: Source, options: _Options) -> bool:
    """Whether this table's re-delivery is held to the shrink limit."""
    return options.mode == "replace" and not options.allow_shrink and source.table.is_core


def _keys(con: duckdb.DuckDBPyConnection, table: Table) -> int:
    """How many keys the raw table holds (staging's view of it: one row per key, the key
    trimmed; rows without a key do not count). History does not count: a key delivered in
    three batches is one key."""
    parts = ", ".join(f"nullif(trim({_ident(column)}), '')" for column in table.key)
    not_null = " and ".join(f"nullif(trim({_ident(c)}), '') is not null" for c in table.key)
    return con.execute(
        f"select count(distinct ({parts})) from {SCHEMA}.{table.name} where {not_null}"
    ).fetchone()[0]


def _shrink_problem(source: Source, before: int, after: int, max_shrink: float) -> str | None:
    """Why this re-delivery may not leave the core table with so few keys (None when it
    may)."""
    too_far = shrink.shrinkage(before, after, max_shrink)
    if too_far is None:
        return None
    key = ", ".join(source.table.key)
    return (
        f"{source.path}: raw.{source.table.name} would shrink from {before:,} to {after:,} "
        f"distinct {key} values ({too_far}); pass --allow-shrink if this re-delivery is "
        "meant to hold fewer"
    )


def _row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {
        name: con.execute(f"select count(*) from {SCHEMA}.{name}").fetchone()[0] for name in TABLES
    }


def mark_build_state(con: duckdb.DuckDBPyConnection, state: str) -> None:
    """Record where the database is in load → build → publish (`meta.build_state`).

    A load sets `loaded`; a complete, successful `dbt build` sets `built` (the on-run-end
    hook macros/record_build_state.sql); `retention publish` publishes only a `built` copy.
    The row keeps the vars the last complete build recorded (`stored_vars`): the next build
    checks its vars against them, and a load changes no var.
    """
    con.execute("create schema if not exists meta")
    stored = None
    if "stored_vars" in _column_names(con, "meta", "build_state"):
        (stored,) = con.execute("select max(stored_vars) from meta.build_state").fetchone()
    con.execute(
        "create or replace table meta.build_state as select ? as state, "
        "current_timestamp as changed_at, cast(null as varchar) as previous_state, "
        "cast(? as varchar) as stored_vars",
        [state, stored],
    )


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    # The transaction may already be gone (DuckDB aborts it on some errors).
    with contextlib.suppress(duckdb.Error):
        con.execute("rollback")


def _select(source: Source, load_id: int, loaded_at: dt.datetime) -> str:
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
            expression = _null_if_word(_ident(alias))
        elif type_ == "VARCHAR":
            expression = _ident(alias)
        elif type_ in TIMESTAMPTZ_TYPES:
            # As UTC wall-clock text ('2024-01-02 03:04:05'): no offset to misread later, and
            # independent of the session's TimeZone setting.
            expression = f"cast(timezone('UTC', {_ident(alias)}) as varchar)"
        elif (scale := _decimal_scale(type_)) is not None and scale > 2:
            # A DECIMAL(19,4) column holds 1000.5 as 1000.5000: its text has as many decimals
            # as the type's scale, not as the value. A value with at most two decimals is
            # written with two (1000.50); any other keeps all of its own (1.0050), which
            # staging quarantines as too many decimals, as it would the text.
            value = _ident(alias)
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
            value = _ident(alias)
            expression = (
                f"case when abs({value}) < 131072 then cast({value} as varchar) "
                f"else cast(cast({value} as double) as varchar) end"
            )
        else:
            # DuckDB's text form of dates, timestamps, decimals and booleans casts back.
            expression = f"cast({_ident(alias)} as varchar)"
        if column == LOADED_AT:
            expression = f"coalesce(nullif(trim({expression}), ''), {stamp})"
        expressions.append(f"{expression} as {_ident(column)}")
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


def _decimal_scale(type_: str) -> int | None:
    """The scale of a DuckDB DECIMAL(width,scale) type name; None for any other type."""
    matched = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", type_)
    return int(matched.group(2)) if matched else None


def _is_nested(type_: str) -> bool:
    """Whether a DuckDB type name is a nested type: a list (`VARCHAR[]`), an array
    (`BIGINT[2]`), a struct, a map or a union."""
    return type_.endswith("]") or type_.startswith(("STRUCT(", "MAP(", "UNION("))


def _reader(source: Source) -> str:
    if source.fmt == "parquet":
        return _parquet_reader(source.path)
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


def _parquet_reader(path: Path) -> str:
    # binary_as_string: writers that omit the UTF8 annotation still deliver text.
    return f"read_parquet({path_literal(path)}, binary_as_string = true)"


# --- small helpers ---------------------------------------------------------------------------


def path_literal(path: Path) -> str:
    """A file path as a SQL literal that DuckDB's readers take literally: its glob characters
    are escaped as one-character classes (`d*` -> `d[*]`), so a folder named `d*` or
    `data[12]` never reads other folders' files."""
    text = str(path.absolute())
    return sql_literal("".join(f"[{c}]" if c in GLOB_CHARACTERS else c for c in text))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _names(columns: list[str]) -> str:
    return ", ".join(repr(c) for c in columns)


# The lines DuckDB writes after the CSV record it quotes ("Original Line: ..."): the record
# may run over several lines (a quoted field with line breaks), so every line after it is
# dropped until one of these.
_AFTER_QUOTED_RECORD = re.compile(
    r"Expected Number of Columns: \d+ Found: \d+|Value with unterminated quote found\."
    r"|Possible fixes:|Possible Solution:.*|Invalid unicode \(byte sequence mismatch\) detected.*"
    r"|Maximum line size of \d+ bytes exceeded\..*"
)


# DuckDB's echo of the statement an error points into: "LINE 1: <the SQL>", then a line of
# carets under the place. The SQL is the loader's, not the user's.
_SQL_ECHO = re.compile(r"LINE \d+: .*|\s*\^+\s*")


def _without_content(exc: BaseException, count: int = 3) -> str:
    """The first lines of a DuckDB error about a file, without any of the file's content,
    which may be personal data: the CSV record DuckDB quotes is dropped, however many lines
    it spans, and so is any double-quoted value (a Parquet string that is not UTF-8). The
    reader's option list and DuckDB's "Possible fixes" (options this command does not offer)
    are left out too, and so is DuckDB's echo of the loader's own SQL (`LINE 1: describe
    select * from read_parquet(...` and the carets under it)."""
    kept: list[str] = []
    in_record = False
    for line in str(exc).strip().splitlines():
        if _SQL_ECHO.fullmatch(line):
            continue
        if line.startswith("Original Line"):
            in_record = True
            continue
        if in_record:
            if not _AFTER_QUOTED_RECORD.fullmatch(line.strip()):
                continue
            in_record = False
        if line.strip().startswith(("Possible fixes", "Possible Solution")):
            break
        if line.strip():
            kept.append(re.sub(r'"(?:[^"\\]|\\.)*"', '"…"', line))
    return " | ".join(kept[:count]) or type(exc).__name__


def _count(number: int, noun: str) -> str:
    """`1 row`, `2 rows`, `1,000 rows`."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"
