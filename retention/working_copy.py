"""The working copy a build writes: where it lives, the lock that allows one build at a time,
and the check that it opens and reads before a build starts from it.

The lock is `flock` on `<working copy>.lock`: the kernel releases it when its holder exits,
however it exits (kill -9 included), so a lock is never stale. The file holds the holder's
pid, for the message of the build that finds it taken.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb

from retention import console
from retention.sql_text import ident

# What the file system says when it cannot take a write (OSError.errno / DuckDB's IO Error).
STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
STORAGE_WORDS = (
    "No space left on device",
    "Disk quota exceeded",
    "Read-only file system",
    "Permission denied",
    "Operation not permitted",
)
# DuckDB refusing a second writer of one file.
BUSY_WORDS = ("Conflicting lock", "Could not set lock")
# Every command's exit code when another process holds the file it needs (or a build holds
# the working copy's lock): run the same command again when it is done.
EXIT_BUSY = 6


def is_busy(message: str) -> bool:
    """Whether DuckDB's message says another process holds the file (BUSY_WORDS)."""
    return any(words in message for words in BUSY_WORDS)


# How the working copy is opened. DuckDB replays a write-ahead log left by a killed or
# interrupted build while it opens the file, before it loads the extensions built into it
# (core_functions: abs, hash, round...). An entry that binds such a function again (a
# `comment on column`, from persist_docs, on a table whose check constraint calls abs, as
# fct_periods' does) makes DuckDB autoload core_functions, and with autoinstall (its
# default) it first downloads the extension: offline, that failed, and the working copy was
# discarded as damaged. Without autoinstall the autoload loads the built-in copy.
OPEN_CONFIG = {"autoinstall_known_extensions": False}


class Locked(Exception):
    """Another process holds the working copy (a `retention build` or any DuckDB writer)."""


class StorageError(Exception):
    """A file cannot be written or read: disk full, read-only, immutable, no permission."""


class Damaged(Exception):
    """The working copy does not open or a table does not read back (truncated, corrupt)."""


def working_copy_path(published: Path) -> Path:
    """Where builds write: `<published>.work` unless RETENTION_WORK_DB_PATH says otherwise."""
    override = os.environ.get("RETENTION_WORK_DB_PATH")
    return Path(override) if override else published.with_name(published.name + ".work")


def lock_path(work: Path) -> Path:
    return work.with_name(work.name + ".lock")


def wal_path(db: Path) -> Path:
    return db.with_name(db.name + ".wal")


@contextmanager
def lock(work: Path) -> Iterator[None]:
    """Hold the working copy's lock, or raise Locked at once naming the holder's pid."""
    path = lock_path(work)
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)  # a new warehouse's folder
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(f"cannot create the lock file {path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"pid {holder}" if holder else "another process"
            raise Locked(
                f"another build ({who}) holds the lock {path} on the working copy {work}; "
                "this run changed nothing. Wait for it to finish (the lock goes when its "
                "holder exits, however it exits) and rerun"
            ) from None
        # The previous holder removes the file when it is done: lock the file that is on disk.
        with suppress(FileNotFoundError):
            if _same_file(os.fstat(fd), os.stat(path)):
                break
        os.close(fd)
    try:
        with suppress(OSError):  # a full disk may refuse the pid; the lock holds all the same
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        with suppress(OSError):
            path.unlink()
        os.close(fd)


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _read_pid(fd: int) -> str:
    with suppress(OSError):
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        if text.isdigit():
            return text
    return ""


def storage_problem(exc: BaseException) -> str | None:
    """The file system's complaint in exc or its causes (disk full, read-only...), or None."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in STORAGE_ERRNOS:
            where = f" ({seen.filename})" if seen.filename else ""
            return f"{seen.strerror}{where}"
        if isinstance(seen, duckdb.Error):
            for words in STORAGE_WORDS:
                if words in str(seen):
                    return console.first_line(seen)
        seen = seen.__cause__
    return None


def check(path: Path) -> None:
    """The working copy can be written, opens, and every row of every table reads back.

    Raises StorageError (cannot be written), Locked (another DuckDB process has it open for
    writing) or Damaged (anything else DuckDB refuses: truncated, overwritten, not a
    database). Reading every row lets DuckDB verify each block's checksum: a truncated file
    often opens (its catalog comes first) and fails only when a table is read. A write-ahead
    log left beside it is replayed (OPEN_CONFIG) and, when the connection closes, written
    into the file, so dbt then opens a file without one.
    """
    try:
        os.close(os.open(path, os.O_RDWR))
    except OSError as exc:
        raise StorageError(f"the working copy {path} cannot be written: {exc.strerror}") from exc
    try:
        with duckdb.connect(str(path), config=OPEN_CONFIG) as con:
            tables = con.execute(
                "select schema_name, table_name from duckdb_tables() "
                "where database_name = current_database() and not internal"
            ).fetchall()
            for schema, table in tables:
                con.execute(
                    f"select count(*) from {ident(schema)}.{ident(table)} as t "
                    "where hash(t) is not null"
                ).fetchone()
    except duckdb.Error as exc:
        message = console.first_line(exc)
        if is_busy(message):
            raise Locked(f"another process has the working copy open: {message}") from exc
        if storage_problem(exc) or isinstance(exc, duckdb.OutOfMemoryException):
            raise StorageError(f"cannot read the working copy {path}: {message}") from exc
        raise Damaged(message) from exc


def discard(path: Path) -> None:
    """Remove a database file and its write-ahead log."""
    for file in (path, wal_path(path)):
        file.unlink(missing_ok=True)
