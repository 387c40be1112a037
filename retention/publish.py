"""`retention publish`: atomically replace the published warehouse with a built working copy.

BI tools read the *published* file; builds write a *working copy* beside it. Publishing
copies the working copy to a temporary file in the published file's folder, checks that
the copy opens and holds every mart, flushes it to disk and renames it over the published
file (an atomic rename on POSIX file systems). A reader that has the old file open keeps
reading that old, complete snapshot; the next connection sees the new one. Nothing
half-built is ever visible, and when any step fails the published file is left as it was.
The working copy stays, so the next (incremental) build starts from it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import duckdb

from retention.paths import default_db_path

MARTS = (
    "dim_customers",
    "fct_customer_months",
    "fct_periods",
    "fct_cohorts",
    "mart_repeat_purchase",
    "mart_clv",
    "mart_churn",
)


class PublishError(Exception):
    """Publishing was refused or failed; the published warehouse is unchanged."""


def working_copy_path(published: Path) -> Path:
    """Where builds write: `<published>.work` unless RETENTION_WORK_DB_PATH says otherwise."""
    override = os.environ.get("RETENTION_WORK_DB_PATH")
    return Path(override) if override else published.with_name(published.name + ".work")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", type=Path, default=None, help="published warehouse (default: RETENTION_DB_PATH)"
    )
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        default=None,
        help="built working copy (default: <db>.work or RETENTION_WORK_DB_PATH)",
    )


def run(args: argparse.Namespace) -> int:
    published = args.db or default_db_path()
    source = args.source or working_copy_path(published)
    try:
        publish(source, published, progress=lambda m: print(m, file=sys.stderr))
    except PublishError as exc:
        print(f"retention publish: error: {exc}", file=sys.stderr)
        return 2
    return 0


def publish(source: Path, published: Path, *, progress=lambda _m: None) -> None:
    source, published = Path(source), Path(published)
    if not source.is_file():
        raise PublishError(f"no working copy at {source}: build it first")
    started = time.perf_counter()
    _checkpoint(source)
    published.parent.mkdir(parents=True, exist_ok=True)
    staging = published.with_name(f".{published.name}.publishing-{os.getpid()}")
    try:
        shutil.copyfile(source, staging)
        _check_marts(staging)
        with open(staging, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(staging, published)
        _fsync_dir(published.parent)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    progress(f"published {source} -> {published} in {time.perf_counter() - started:.1f} s")


def _checkpoint(path: Path) -> None:
    """Fold the write-ahead log into the file so that one file is the whole database."""
    try:
        with duckdb.connect(str(path)) as con:
            con.execute("checkpoint")
    except duckdb.Error as exc:
        raise PublishError(f"cannot open the working copy {path}: {exc}") from exc


def _check_marts(path: Path) -> None:
    """The copy opens, its last dbt build completed successfully, and it holds every mart."""
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            present = tables_in(con, "marts")
            state = (
                con.execute("select state from meta.build_state").fetchone()
                if "build_state" in tables_in(con, "meta")
                else None
            )
    except duckdb.Error as exc:
        raise PublishError(f"the copy of the working copy does not open: {exc}") from exc
    if state is None or state[0] != "built":
        found = state[0] if state else "no build recorded"
        raise PublishError(
            f"the working copy's last dbt build did not complete successfully ({found}): "
            "not publishing; run a full `dbt build` on it first"
        )
    missing = [mart for mart in MARTS if mart not in present]
    if missing:
        names = ", ".join(f"marts.{mart}" for mart in missing)
        raise PublishError(f"the working copy lacks {names}: not publishing")


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
