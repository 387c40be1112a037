"""`retention publish`: atomically replace the published warehouse with a built working copy.

BI tools read the *published* file; builds write a *working copy* beside it. Publishing
copies the working copy to a temporary file in the published file's folder, checks that
the copy opens and holds every mart, flushes it to disk and renames it over the published
file (an atomic rename on POSIX file systems). A reader that has the old file open keeps
reading that old, complete snapshot; the next connection sees the new one. Nothing
half-built is ever visible, and when any step fails the published file is left as it was.
The working copy stays, so the next (incremental) build starts from it.

The copy is written in a DuckDB *storage version* that older clients read: DuckDB 2.x writes
files that DuckDB 1.x (the 1.x CLI, the Node and JDBC drivers BI tools embed) refuses. The
copy attaches the temporary file with `STORAGE_VERSION` and fills it with `COPY FROM
DATABASE` (tables, views, macros, sequences and their comments). The version is
`--storage-version`, else `$RETENTION_STORAGE_VERSION`, else `DEFAULT_STORAGE_VERSION`
(`v1.0.0`: the oldest 1.x format, which every DuckDB 1.x and 2.x client reads and which
keeps every column type of the marts); `current` copies the file byte for byte in the
format of the DuckDB that built it (faster; readable by DuckDB 2.x only).

For the rename the published file is held open read-only (DuckDB's lock keeps any writer
out), and publishing is refused when a process writes to it or it holds load batches the
copy lacks (a `retention load` into it while the build ran): the rename would lose them.
A write-ahead log beside the published file (left by a writer that died) is set aside with
the old file: DuckDB would replay it onto the new one.

The published file keeps its permission bits (and, where allowed, its owner and group); a
new published file gets the working copy's. The temporary file is created 0600, so the data
is never readable by more people than it will be. A temporary file left by a killed publish
(`.<name>.publishing-<pid>` whose process is gone) is removed by the next publish. A file
system error (disk full, a read-only or immutable folder or file) is a PublishError naming
the file and the cause; the published file is then left as it was.

`retention publish` publishes only a working copy whose current build `retention validate`
passed (retention/validated.py: validate keeps its outcome beside the file, naming the
build, and a later dbt build or load voids it); `--unvalidated` publishes one anyway, with a
warning. `retention build` calls `publish` without that check: it has just validated (or was
told `--no-validate`). The check is made on the working copy before it is copied (a refusal
does not wait for the copy), and again on the copy about to be renamed into place.

`retention publish` takes the working copy's lock (retention/working_copy.py) so it never
publishes a copy a build is writing. Exit codes: 0 published; 2 refused or failed (nothing
changed); 6 a build holds the working copy's lock, or another process has it open; 128 + the
signal's number (130 SIGINT, 143 SIGTERM, 129 SIGHUP) when a signal stopped it, the temporary
copy removed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb

from retention import console, signals, validated, working_copy
from retention.load import DATA_FILE_DB, data_file_problem
from retention.marts import MARTS, recorded_build_state
from retention.paths import add_db_argument, default_db_path
from retention.sql_text import sql_literal
from retention.working_copy import working_copy_path

__all__ = ["MARTS", "PublishError", "publish", "tables_in", "working_copy_path"]

EXIT_REFUSED, EXIT_LOCKED = 2, working_copy.EXIT_BUSY

# The oldest storage version a published file may have: the oldest 1.x format. DuckDB also
# takes the 0.x versions (v0.9.0 among them), but the marts' column types are checked in the
# formats from v1.0.0 on only, and a DuckDB 0.x client is not one BI tools embed.
OLDEST_STORAGE_VERSION = "v1.0.0"
# The storage version of the published file (module docstring; docs/bi.md "The published
# file"): the oldest, which every DuckDB 1.x and 2.x client reads.
DEFAULT_STORAGE_VERSION = OLDEST_STORAGE_VERSION
STORAGE_VERSION_ENV = "RETENTION_STORAGE_VERSION"
CURRENT = "current"
LATEST = "latest"
_VERSION_FORM = re.compile(rf"v\d+\.\d+\.\d+|{LATEST}")


class PublishError(Exception):
    """Publishing was refused or failed; the published warehouse is unchanged."""


# What a publish stopped by a signal leaves: the rename is atomic, and the temporary copy is
# removed. Which of the two it is depends on whether the signal came before the rename
# (`retention build` says the same when it is stopped while publishing).
BEFORE_RENAME = "the published warehouse is unchanged"
AFTER_RENAME = "the new warehouse was already published (the signal came as it finished)"
AFTER_INTERRUPTION = (
    f"{BEFORE_RENAME}, or, if the signal came once the new file was in place, "
    "the new one (the message says which)"
)


def after_interruption(renamed: bool) -> str:
    """What a publish stopped by a signal left, once it is known whether the rename was done."""
    return AFTER_RENAME if renamed else BEFORE_RENAME


EXIT_CODES = {
    0: "published",
    2: "refused or failed (no working copy, the working copy is the published file itself, "
    "not `built`, a mart missing, no passing `retention validate` of the working copy's "
    "current build (without --unvalidated), the published file being written or holding load "
    "batches "
    "the working copy lacks, disk full, a read-only or immutable folder or file), or "
    f"{DATA_FILE_DB}; the published warehouse is unchanged",
    EXIT_LOCKED: "a build holds the working copy's lock, or another process has the working "
    "copy open",
}
# By SIGINT, SIGTERM or SIGHUP (cli.SIGNAL_CODES).
STOPPED = f"the temporary copy is removed; {AFTER_INTERRUPTION}"


def add_storage_version_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage-version",
        default=None,
        metavar="VERSION",
        help=f"DuckDB storage version of the published file, such as v1.4.0, {LATEST!r} "
        f"for the newest this DuckDB writes, or {CURRENT!r} for a byte copy of the working "
        f"copy (default: ${STORAGE_VERSION_ENV}, else {DEFAULT_STORAGE_VERSION}, which every "
        "DuckDB 1.x and 2.x client reads)",
    )


def resolve_storage_version(given: str | None) -> str:
    """The storage version to publish in: `given`, the environment's, or the default."""
    version = (given or os.environ.get(STORAGE_VERSION_ENV) or DEFAULT_STORAGE_VERSION).strip()
    # Where it came from, for the error: a value from the environment is not on the command line.
    origin = (
        "" if given or not os.environ.get(STORAGE_VERSION_ENV) else f" (${STORAGE_VERSION_ENV})"
    )
    if version != CURRENT and not _VERSION_FORM.fullmatch(version):
        raise PublishError(
            f"storage version {version!r}{origin} is not of the form v1.4.0 (or {LATEST}, or "
            f"{CURRENT!r})"
        )
    numbered = version not in (CURRENT, LATEST)
    if numbered and _numbers(version) < _numbers(OLDEST_STORAGE_VERSION):
        raise PublishError(
            f"storage version {version!r}{origin} is older than {OLDEST_STORAGE_VERSION}, the "
            f"oldest a published warehouse is written in (DuckDB 0.x formats are not supported; "
            f"every DuckDB 1.x and 2.x client reads {OLDEST_STORAGE_VERSION})"
        )
    if version != CURRENT:
        # Well formed is not enough (v9.9.9): DuckDB itself says whether it knows the version,
        # on an empty database in a temporary folder, before any work is done.
        with tempfile.TemporaryDirectory(prefix="retention-storage-") as folder:
            try:
                with duckdb.connect() as con:
                    probe = Path(folder) / "probe.duckdb"
                    con.execute(f"attach '{probe}' as probe (storage_version '{version}')")
            except duckdb.Error as exc:
                known = console.first_line(exc).split(", valid options are")[0]
                raise PublishError(f"storage version {version!r}{origin}: {known}") from exc
    return version


def _numbers(version: str) -> tuple[int, ...]:
    """`v1.4.0` -> (1, 4, 0), to compare versions."""
    return tuple(int(part) for part in version.removeprefix("v").split("."))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_db_argument(parser)
    add_storage_version_argument(parser)
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        metavar="PATH",
        default=None,
        help="built working copy (default: <db>.work or RETENTION_WORK_DB_PATH)",
    )
    parser.add_argument(
        "--unvalidated",
        action="store_true",
        help="publish even when `retention validate` has not passed on the working copy's "
        "current build (a warning says so)",
    )


def run(args: argparse.Namespace) -> int:
    published = args.db or default_db_path()
    source = args.source or working_copy_path(published)
    if problem := data_file_problem(Path(published)):  # it replaced orders.csv by the warehouse
        print(f"retention publish: error: {problem}; nothing was changed", file=sys.stderr)
        return EXIT_REFUSED
    if Path(source).resolve() == Path(published).resolve():
        message = (
            f"the working copy to publish is the published warehouse {published} itself "
            "(--from, or RETENTION_WORK_DB_PATH, names the --db file): nothing to publish; "
            "a build writes <db>.work"
        )
        print(f"retention publish: error: {message}", file=sys.stderr)
        return EXIT_REFUSED
    if not Path(source).is_file():
        message = f"no working copy at {source}: build it first"
        print(f"retention publish: error: {message}", file=sys.stderr)
        return EXIT_REFUSED
    # SIGINT, SIGTERM and SIGHUP stop the copy with its temporary file removed and a line
    # saying so (Ctrl-C gave a Python traceback and exit 1, SIGTERM left the temporary file).
    if args.unvalidated:
        console.warn(
            f"retention publish: warning: --unvalidated: publishing {source} without checking "
            "that `retention validate` passed on its current build"
        )
    renamed = []
    with signals.stoppable() as received:
        try:
            version = resolve_storage_version(args.storage_version)
            with working_copy.lock(Path(source)):
                publish(
                    source,
                    published,
                    progress=console.say,
                    storage_version=version,
                    on_renamed=lambda: renamed.append(True),
                    require_validation=not args.unvalidated,
                )
        except working_copy.Locked as exc:
            print(f"retention publish: {exc}", file=sys.stderr)
            return EXIT_LOCKED
        except BaseException as exc:
            # A signal during a DuckDB query ends it with DuckDB's own error: the signal's.
            signum = signals.signal_of(exc, received)
            if signum is not None:
                name = signal.Signals(signum).name
                left = after_interruption(bool(renamed))
                print(f"retention publish: interrupted by {name}; {left}", file=sys.stderr)
                return 128 + signum
            if isinstance(exc, PublishError | working_copy.StorageError):
                print(f"retention publish: error: {exc}", file=sys.stderr)
                return EXIT_REFUSED
            raise
    return 0


def publish(
    source: Path,
    published: Path,
    *,
    progress=lambda _m: None,
    storage_version: str = DEFAULT_STORAGE_VERSION,
    on_renamed=lambda: None,
    require_validation: bool = False,
) -> None:
    """Copy the working copy `source` over `published` in one atomic rename, once its marts
    are checked. `on_renamed` is called as soon as the new file is in place (no stopping
    signal comes between the rename and the call), so a caller stopped later knows which
    warehouse is published. With `require_validation` (`retention publish` without
    --unvalidated) the copy's build must be one `retention validate` passed on `source`
    (retention/validated.py); `retention build` validates just before it publishes."""
    source, published = Path(source), file_behind(Path(published))
    if not source.is_file():
        raise PublishError(f"no working copy at {source}: build it first")
    started = time.perf_counter()
    _checkpoint(source)
    try:
        published.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_staging(published, progress)
    except OSError as exc:
        raise PublishError(_unchanged(exc, published)) from exc
    if require_validation:
        # Refused before the copy (which takes minutes at scale), after what the copy is
        # checked for (a build that did not complete, a mart missing: the first thing to
        # mend); the copy is checked again below, since that is what is published.
        _require_validation(source, published, _check_marts(source)[1])
    staging = staging_path(published)
    try:
        # Created 0600 and then filled: the data is never readable by more people than the
        # published file lets read it (its own bits are set once the copy is complete).
        if storage_version == CURRENT:
            os.close(os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
            shutil.copyfile(source, staging)
        else:
            _copy_in_storage_version(source, staging, storage_version)
        batches, build = _check_marts(staging)
        if require_validation:
            _require_validation(source, published, build)
        _keep_permissions(staging, published if published.exists() else source, progress)
        with open(staging, "rb+") as handle:
            os.fsync(handle.fileno())
        with _no_writer_and_no_newer_batches(published, batches):
            # A write-ahead log beside the published file was left by a writer that died (no
            # writer is in while this holds it): DuckDB would replay it onto the new file.
            old_log = working_copy.wal_path(staging)
            if working_copy.wal_path(published).exists():
                os.replace(working_copy.wal_path(published), old_log)
            try:
                with signals.deferred():  # the rename and its report: never one without the other
                    os.replace(staging, published)
                    on_renamed()
            except OSError as exc:  # it names the temporary copy; the published file refused
                with suppress(FileNotFoundError):
                    os.replace(old_log, working_copy.wal_path(published))
                raise PublishError(
                    f"cannot replace {published}: {exc.strerror}; the published warehouse is "
                    "unchanged"
                ) from exc
            old_log.unlink(missing_ok=True)
    except OSError as exc:
        _discard(staging)
        raise PublishError(_unchanged(exc, published)) from exc
    except BaseException:
        _discard(staging)
        raise
    try:
        _fsync_dir(published.parent)
    except OSError as exc:  # the rename is done; only its durability across a crash is unsure
        progress(f"warning: could not flush the folder {published.parent}: {exc.strerror}")
    progress(f"published {source} -> {published} in {time.perf_counter() - started:.1f} s")


def _copy_in_storage_version(source: Path, staging: Path, version: str) -> None:
    """Write the whole working copy to `staging` (a new file, 0600) in storage `version`."""
    staging.unlink(missing_ok=True)  # ATTACH creates the file; an empty one is not a database
    mask = os.umask(0o077)  # so the new file (and its WAL) are created 0600
    try:
        with duckdb.connect() as con:
            con.execute(f"attach {sql_literal(source)} as published_source (read_only)")
            try:
                con.execute(
                    f"attach {sql_literal(staging)} as published_copy (storage_version '{version}')"
                )
            except duckdb.IOException:
                raise  # the file cannot be created (a read-only or immutable folder): below
            except duckdb.Error as exc:
                raise PublishError(
                    f"cannot write storage version {version!r}: {console.first_line(exc)}; "
                    "the published warehouse is unchanged"
                ) from exc
            con.execute("copy from database published_source to published_copy")
            con.execute("checkpoint published_copy")
            con.execute("detach published_copy")
    except duckdb.IOException as exc:
        raise PublishError(
            f"cannot write {staging}: {console.first_line(exc)}; "
            "the published warehouse is unchanged"
        ) from exc
    except duckdb.Error as exc:
        raise PublishError(
            f"cannot copy the working copy {source}: {console.first_line(exc)}; "
            "the published warehouse is unchanged"
        ) from exc
    finally:
        os.umask(mask)
    Path(f"{staging}.wal").unlink(missing_ok=True)  # checkpointed: nothing left in it


def _discard(staging: Path) -> None:
    for path in (staging, Path(f"{staging}.wal")):
        with suppress(OSError):
            path.unlink(missing_ok=True)


def file_behind(published: Path) -> Path:
    """The file a publish replaces: `published`, or the file it links to when it is a symbolic
    link (the warehouse kept on another volume, say). Renaming over the link itself replaced
    the link by a file, and whatever read the linked file went on reading the old data."""
    return published.resolve() if published.is_symlink() else published


def staging_path(published: Path, pid: int | None = None) -> Path:
    """The temporary copy beside the published file: `.<name>.publishing-<pid>`."""
    return published.with_name(
        f".{published.name}.publishing-{os.getpid() if pid is None else pid}"
    )


def _remove_stale_staging(published: Path, progress) -> None:
    """Remove temporary copies left by publishes that were killed (their pid is gone)."""
    prefix = staging_path(published, pid=0).name.removesuffix("0")
    for path in published.parent.iterdir():
        pid = path.name[len(prefix) :].removesuffix(".wal") if path.name.startswith(prefix) else ""
        if pid.isdigit() and not _running(int(pid)):
            path.unlink(missing_ok=True)
            progress(f"removed {path}, left by an interrupted publish")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _keep_permissions(staging: Path, reference: Path, progress) -> None:
    """The published file keeps the permission bits, owner and group of `reference`."""
    info = reference.stat()
    os.chmod(staging, stat.S_IMODE(info.st_mode))
    mine = staging.stat()
    owner = info.st_uid if os.geteuid() == 0 else -1  # only root can give a file away
    if owner not in (-1, mine.st_uid) or info.st_gid != mine.st_gid:
        try:
            os.chown(staging, owner, info.st_gid)
        except PermissionError:
            progress(
                f"warning: the published file gets group {mine.st_gid}, not {info.st_gid} "
                f"as {reference} had: this user is not in that group"
            )


def _unchanged(exc: OSError, published: Path) -> str:
    where = exc.filename or published.parent
    return f"cannot write {where}: {exc.strerror}; the published warehouse {published} is unchanged"


def _checkpoint(path: Path) -> None:
    """Fold the write-ahead log into the file so that one file is the whole database (a log
    left by a killed build is replayed offline too: working_copy.OPEN_CONFIG)."""
    try:
        with duckdb.connect(str(path), config=working_copy.OPEN_CONFIG) as con:
            con.execute("checkpoint")
    except duckdb.Error as exc:
        if working_copy.is_busy(str(exc)):  # busy, as a build holding the lock is: exit 6
            raise working_copy.Locked(
                f"another process has the working copy {path} open: {console.first_line(exc)}; "
                "nothing was changed, rerun when it is closed"
            ) from exc
        raise PublishError(f"cannot open the working copy {path}: {exc}") from exc


def load_batches(con: duckdb.DuckDBPyConnection) -> set[tuple[int, object]]:
    """The load batches the database of `con` records (meta.load_batches: id and time; none
    when it has no record)."""
    (recorded,) = con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = 'meta' and table_name = 'load_batches'"
    ).fetchone()
    if not recorded:
        return set()
    return set(con.execute("select distinct load_id, loaded_at from meta.load_batches").fetchall())


@contextmanager
def _no_writer_and_no_newer_batches(
    published: Path, batches: set[tuple[int, object]]
) -> Iterator[None]:
    """Hold a read-only connection to the published file for the block (the rename): DuckDB's
    lock keeps any writer out meanwhile, so a `retention load` into it cannot commit a batch
    that the rename would then throw away. PublishError, before the block, when a process
    writes to it now, or when it holds load batches the copy (`batches`) lacks: loaded into
    it after the working copy was started from it. A published file that does not open
    (damaged) is replaced as before."""
    con = None
    if published.is_file():
        try:
            con = duckdb.connect(str(published), read_only=True)
        except duckdb.Error as exc:
            message = console.first_line(exc)
            if working_copy.is_busy(message):
                raise PublishError(
                    f"another process is writing the published warehouse {published} (a "
                    f"`retention load` into it?): {message}; not publishing over it, rerun "
                    "when it is done"
                ) from exc
    if con is None:
        yield
        return
    with con:
        try:
            newer = sorted(load_batches(con) - batches)
        except duckdb.Error:
            newer = []  # no readable record: nothing to compare
        if newer:
            ids = ", ".join(str(load_id) for load_id, _ in newer)
            raise PublishError(
                f"the published warehouse {published} has load batch(es) {ids} that the "
                "working copy lacks (a `retention load` into it after the working copy was "
                "started from it): publishing would lose them. Rerun `retention build`, which "
                "takes them in (or says what to do)"
            )
        yield


def _require_validation(source: Path, published: Path, build: str | None) -> None:
    """PublishError unless `retention validate` passed on `source` at `build`
    (marts.build_identity): why not, with what to run."""
    if (problem := validated.problem(source, build)) is None:
        return
    baseline = f" --baseline {published}" if published.is_file() else ""
    raise PublishError(
        f"the working copy {source} {problem}: not publishing it; run "
        f"`retention validate --db {source}{baseline}` first (or `retention build --db "
        f"{published}`), or pass --unvalidated to publish it anyway"
    )


def _check_marts(path: Path) -> tuple[set[tuple[int, object]], str | None]:
    """The copy opens, its last dbt build completed successfully, and it holds every mart;
    returns its load batches and its build (marts.build_identity)."""
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            present = tables_in(con, "marts")
            recorded = recorded_build_state(con)
            batches = load_batches(con)
    except duckdb.Error as exc:
        raise PublishError(f"the copy of the working copy does not open: {exc}") from exc
    state, build = recorded.state, recorded.identity
    if state != "built":
        found = state or "no build recorded"
        raise PublishError(
            f"the working copy's last dbt build did not complete successfully ({found}): "
            "not publishing; run a full `dbt build` on it first"
        )
    missing = [mart for mart in MARTS if mart not in present]
    if missing:
        names = ", ".join(f"marts.{mart}" for mart in missing)
        raise PublishError(f"the working copy lacks {names}: not publishing")
    return batches, build


def tables_in(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [schema]
        ).fetchall()
    }


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
