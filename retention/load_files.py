"""The checks of a delivery's files before `retention load` opens the database.

`check_dir` finds the file of every raw table in a delivery folder and reads what it can
without loading it: the file's name (one file per table, named after it; hidden, side and
lock files are ignored), symbolic links (never followed out of the folder), what kind of
file it is by its first bytes (a gzip or ZIP archive, an Excel workbook, UTF-16 text), a
CSV file's header and whether a data row follows, a Parquet file's columns, their types and
row count from its footer. Each refusal names the file and says how to fix it; every
problem of the delivery is listed at once in one `LoadError`. What passes is one `Source`
per file: its table, format, the mapping of its columns onto the contract, and its sha256.

Also here, as every part of the loader uses them: `LoadError`, `Progress`, the limit of a
CSV record (`MAX_CSV_RECORD_BYTES`, which DuckDB's reader is given too), and the helpers of
the messages (`without_content`: a DuckDB error without the file's content; `counted`).

The command and the transaction that loads the checked files are in retention/load.py; how
their rows are read and checked once loaded, in retention/load_rows.py.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import duckdb

from retention import console
from retention.console import counted
from retention.contract import LOAD_ID, TABLES, Table
from retention.sql_text import path_literal

FORMATS = {".csv": "csv", ".parquet": "parquet"}
# DuckDB's floating-point types: not for ids (a Parquet id column of one is refused).
FLOAT_TYPES = ("FLOAT", "DOUBLE")
# The longest CSV record (one row, all of its fields) the loader reads: DuckDB's
# `max_line_size`, passed to its reader, and the field limit of the header check, which
# Python's csv module otherwise sets at 131,072 characters.
MAX_CSV_RECORD_BYTES = 2_000_000

Progress = Callable[[str], None]


class LoadError(Exception):
    """A load was refused or failed; the database is unchanged. The message says why."""


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
    unnamed: list[int] = []  # the positions (from 1) of blank names in the header
    ignored_load_id = False
    for position, (name, alias, type_) in enumerate(typed, start=1):
        column = name.strip().lower()
        if not column:
            unnamed.append(position)
        elif column in table.columns:
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
        elif column.endswith("_id") and (decimal_scale(type_) or 0) > 0:
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
    if unnamed:
        say(f"warning: {path}: {_unnamed_columns(unnamed, len(typed), fmt)}")
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


def _unnamed_columns(positions: list[int], count: int, fmt: str) -> str:
    """What the loader does with columns whose name is blank: it ignores them, as it ignores
    a column not in the raw contract. In a CSV file they are nearly always a header ending
    with a comma (a spreadsheet's empty last column), which is said in those words."""
    trailing = fmt == "csv" and positions == list(range(count - len(positions) + 1, count + 1))
    if trailing and len(positions) == 1:
        return (
            "the header ends with a comma, an empty column name after its last column: "
            "ignoring that column, as any column not in the raw contract is ignored"
        )
    if trailing:
        return (
            f"the header ends with {len(positions)} commas, {len(positions)} empty column "
            "names after its last column: ignoring those columns, as any column not in the "
            "raw contract is ignored"
        )
    where = ", ".join(str(position) for position in positions)
    return (
        f"ignoring {counted(len(positions), 'column')} without a name (position {where} of "
        f"{count} in the header), as any column not in the raw contract is ignored"
    )


def trailing_comma_hint(source: Source, reason: str) -> str | None:
    """Why a CSV row has fewer fields than the header when the header ends with commas the
    rows do not have (its empty names were ignored, but the reader still counts them)."""
    names = source.file_columns
    trailing = 0
    while trailing < len(names) and not names[-1 - trailing].strip():
        trailing += 1
    counts = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", reason)
    if source.fmt != "csv" or not trailing or not counts:
        return None
    expected, found = (int(number) for number in counts.groups())
    if found != expected - trailing:
        return None
    commas = "a comma" if trailing == 1 else f"{trailing} commas"
    return (
        f"the header ends with {commas} (an empty column name) that the rows do not have: "
        "remove it from the header"
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
            described = con.execute(f"describe select * from {parquet_reader(path)}").fetchall()
            schema = con.execute(
                f"select name, num_children from parquet_schema({path_literal(path)})"
            ).fetchall()
            rows = con.execute(
                f"select sum(num_rows) from parquet_file_metadata({path_literal(path)})"
            ).fetchone()[0]
    except duckdb.Error as exc:
        raise LoadError(
            f"{path}: unreadable Parquet file: {without_content(exc)}{_parquet_hint(path)}"
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


# --- DuckDB's types and its Parquet reader -------------------------------------------------


def decimal_scale(type_: str) -> int | None:
    """The scale of a DuckDB DECIMAL(width,scale) type name; None for any other type."""
    matched = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", type_)
    return int(matched.group(2)) if matched else None


def _is_nested(type_: str) -> bool:
    """Whether a DuckDB type name is a nested type: a list (`VARCHAR[]`), an array
    (`BIGINT[2]`), a struct, a map or a union."""
    return type_.endswith("]") or type_.startswith(("STRUCT(", "MAP(", "UNION("))


def parquet_reader(path: Path) -> str:
    # binary_as_string: writers that omit the UTF8 annotation still deliver text.
    return f"read_parquet({path_literal(path)}, binary_as_string = true)"


# --- messages ------------------------------------------------------------------------------


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
# A double-quoted value in a DuckDB error, or the name DuckDB's errors give a file (`Cannot
# open file "..."`, `Parquet file "..."`), which is kept: each quoted text is matched whole,
# so that the quote closing a file's name never opens a value.
_QUOTED = re.compile(r'(\bfile )?"(?:[^"\\]|\\.)*"')


def _hide_value(quoted: re.Match) -> str:
    return quoted.group(0) if quoted.group(1) else '"…"'


def without_content(exc: BaseException, count: int = 3) -> str:
    """The first lines of a DuckDB error about a file, without any of the file's content,
    which may be personal data: the CSV record DuckDB quotes is dropped, however many lines
    it spans, and so is any double-quoted value (a Parquet string that is not UTF-8), except
    the name of a file in DuckDB's I/O errors (`Cannot open file "/srv/w.duckdb.wal":
    Operation not permitted`: the operator needs to know which file). The reader's option
    list and DuckDB's "Possible fixes" (options this command does not offer) are left out
    too, and so is DuckDB's echo of the loader's own SQL (`LINE 1: describe select * from
    read_parquet(...` and the carets under it)."""
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
            kept.append(_QUOTED.sub(_hide_value, line))
    return " | ".join(kept[:count]) or type(exc).__name__
