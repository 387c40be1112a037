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
`None`) is stored as null, as an empty field is (load_rows.NULL_WORDS).
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

The loader is four modules, in the order a load runs through them:

- this one: the command (its arguments, exit codes and messages), `load_dir`, and the
  transaction that writes a batch: the raw tables, `meta.load_batches`, the skip of a
  delivery already loaded, the shrink guard of `--replace`;
- retention/load_files.py: the checks of the delivered files before the database is
  opened (names, links, kinds, CSV headers, Parquet columns and their types, and the
  hints for each refusal), `LoadError`, and the helpers of the loader's messages;
- retention/load_rows.py: how a checked file's rows are read as the raw table's text
  columns (null words, Parquet types), and the checks of the rows read (a repeated
  header, `_loaded_at`, ids in Excel's scientific notation);
- retention/sql_text.py: SQL literals and identifiers, and file paths DuckDB reads
  literally.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from retention import console, shrink, signals, spark
from retention.console import counted
from retention.contract import LOAD_ID, LOADED_AT, SCHEMA, TABLES, Table
from retention.load_files import (
    SAVE_AS_UTF8,
    LoadError,
    Progress,
    Source,
    check_dir,
    trailing_comma_hint,
    without_content,
)
from retention.load_rows import check_ids, check_loaded_at, check_repeated_header, select_rows
from retention.paths import add_db_argument, default_db_path
from retention.sql_text import ident, path_literal
from retention.working_copy import EXIT_BUSY, is_busy

BATCHES = "meta.load_batches"
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


class DatabaseBusy(LoadError):
    """Another process has the database open (DuckDB's file lock; a writer needs the file to
    itself): nothing was loaded, and the same command succeeds once that process is done."""


@dataclass(frozen=True)
class LoadResult:
    """What a load did: the batch, the rows it loaded per table, the raw tables after it."""

    load_id: int
    mode: str  # 'append' or 'replace'
    skipped: bool  # True: the same files were already loaded as batch load_id
    loaded: dict[str, int]  # rows loaded per table with a file in the delivery
    totals: dict[str, int]  # rows per raw table after the load


# The --db that `load`, `build` and `publish` refuse (data_file_problem), in their --help.
DATA_FILE_DB = "--db names a CSV, Parquet or JSON data file or a SQLite database"

EXIT_CODES = {
    0: "loaded, or skipped because the same files were already loaded as a batch",
    2: "refused or unreadable (a file, a column, a link, a --replace that would shrink a core "
    f"table too far), or {DATA_FILE_DB}; the database is unchanged",
    5: "--target spark: loaded into the landing file, but the export to Parquet or the "
    "registration in the Spark catalog failed (run the same command again)",
    EXIT_BUSY: "another process has the database open (another load, a BI client or the "
    "duckdb shell, even read-only): nothing was loaded; run the same command again when it "
    "is done",
}
# By SIGINT, SIGTERM or SIGHUP (cli.SIGNAL_CODES).
STOPPED = "the batch was rolled back, unless the message says it had been committed"


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
        "Parquet and register them in the local Spark catalog (docs/spark.md; "
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
            "`make setup-spark` (docs/spark.md); nothing was loaded",
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

    new = "" if db_path.exists() else "a new database "  # a mistyped --db shows here
    say(f"loading {dir} into {new}{db_path} (schema {SCHEMA}, {mode})")
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
        f"{counted(sum(result.loaded.values()), 'row')} into {len(result.loaded)} table(s) "
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
    and any other file DuckDB either reads in memory or refuses. `load`, `build` and
    `publish` refuse such a --db with this message (DATA_FILE_DB in their --help). A SQLite
    database is refused before DuckDB sees it: DuckDB would fetch its SQLite extension from
    the internet to open one (with no network, its error was a failed download) and then
    write the warehouse's tables into that file."""
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
                    f"  {SCHEMA}.{source.table.name}: {counted(rows, 'row')} {verb} from "
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
                f"loading into {db_path} failed and was rolled back: {without_content(exc)}"
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
            con.execute(f"alter table {target} add column {ident(column)} varchar")
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
    return ", ".join([f"{ident(c)} varchar" for c in table.columns] + [f"{LOAD_ID} bigint"])


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
            f"insert into {target} by name {select_rows(source, load_id, loaded_at)}"
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
            check_repeated_header(con, source, load_id)
        if LOADED_AT in source.columns:
            check_loaded_at(con, source, load_id, loaded_at)
        check_ids(con, source, load_id)
    except duckdb.Error as exc:
        reason = without_content(exc)
        if "This file is not utf-8" in reason:
            reason += f"; {SAVE_AS_UTF8}"
        if "state machine reached an invalid state" in reason:
            # DuckDB names neither the line nor the cause; in an export the usual one is
            # records ending in different ways (a CRLF file with LF rows appended to it).
            reason += f" | {MIXED_LINE_ENDINGS}"
        if "Value with unterminated quote found" in reason:
            reason += f" | {UNTERMINATED_QUOTE}"
        if hint := trailing_comma_hint(source, reason):
            reason += f" | {hint}"
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


def _shrink_guarded(source: Source, options: _Options) -> bool:
    """Whether this table's re-delivery is held to the shrink limit."""
    return options.mode == "replace" and not options.allow_shrink and source.table.is_core


def _keys(con: duckdb.DuckDBPyConnection, table: Table) -> int:
    """How many keys the raw table holds (staging's view of it: one row per key, the key
    trimmed; rows without a key do not count). History does not count: a key delivered in
    three batches is one key."""
    parts = ", ".join(f"nullif(trim({ident(column)}), '')" for column in table.key)
    not_null = " and ".join(f"nullif(trim({ident(c)}), '') is not null" for c in table.key)
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


def mark_build_state(
    con: duckdb.DuckDBPyConnection, state: str, failed_step: str | None = None
) -> None:
    """Record where the database is in load → build → publish (`meta.build_state`).

    A load sets `loaded`; a complete, successful `dbt build` sets `built` (the on-run-end
    hook macros/record_build_state.sql), and `failed` when a node failed, as `make
    data-diff` does when the tests it runs after the models fail (retention.data_diff), with
    `failed_step` `tests` (marts.TESTS_FAILED: every model was built); `retention publish`
    publishes only a `built` copy.
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
        "cast(? as varchar) as stored_vars, cast(? as varchar) as failed_step",
        [state, stored, failed_step],
    )


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    # The transaction may already be gone (DuckDB aborts it on some errors).
    with contextlib.suppress(duckdb.Error):
        con.execute("rollback")
