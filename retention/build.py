"""`retention build`: the daily pipeline in one command — load, dbt build, validate, publish.

    retention build [--data DIR] [--db PATH] [--vars YAML] [--full-refresh] [--no-validate]

1. load DIR into the working copy (skipped without --data: the working copy's raw data is
   used as it is);
2. `dbt build` (models and data tests; unit tests too with `--unit-tests`) on the working copy;
3. `retention validate` (Great Expectations) on the working copy;
4. publish the working copy atomically over the published warehouse.

Any failing step stops the pipeline and leaves the published warehouse as it was. Before the
first step the build takes the working copy's lock (one build at a time) and checks that the
working copy opens and reads; a damaged one is discarded and started again from the
published warehouse. dbt runs as a child in this process's group: a SIGTERM, SIGINT or
SIGHUP to this process stops dbt before it exits, and on Linux the kernel kills dbt should
this process be killed outright (kill -9). The exit codes are in EXIT_CODES.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import duckdb

from retention import console, dbt_runner, partial_parse, predictive_columns, signals, working_copy
from retention.load import DATA_FILE_DB, SHRINK_GUARDS, add_mode_arguments, data_file_problem
from retention.load_files import dir_problem
from retention.paths import REPO_ROOT, add_db_argument, dbt_project, default_db_path
from retention.publish import (
    PublishError,
    add_storage_version_argument,
    after_interruption,
    file_behind,
    load_batches,
    publish,
    resolve_storage_version,
    staging_path,
    working_copy_path,
)

EXIT_LOAD, EXIT_DBT, EXIT_VALIDATE, EXIT_PUBLISH, EXIT_FILES = 2, 3, 4, 5, 7
EXIT_LOCKED = working_copy.EXIT_BUSY

EXIT_CODES = {
    0: "published",
    EXIT_LOAD: "the data was refused by `load`, or there is nothing to build: no --data and "
    "neither a working copy nor a published warehouse (pass --data DIR), the working copy "
    "and the published warehouse each hold load batches the other lacks (the message says "
    f"which), RETENTION_WORK_DB_PATH names the published file itself, {DATA_FILE_DB}, or "
    "an option or setting is invalid (--vars not a YAML "
    "mapping or naming a var the project does not declare, --replace or --force without "
    "--data, --storage-version, RETENTION_MEMORY_LIMIT, RETENTION_THREADS, "
    "RETENTION_PREDICTIVE)",
    EXIT_DBT: "`dbt build` failed (dbt printed why, or the build names the signal that "
    "killed dbt: SIGKILL from the out-of-memory killer)",
    EXIT_VALIDATE: "validation failed: Great Expectations, or a mart shrank more than "
    "--max-shrink against the published warehouse",
    EXIT_PUBLISH: "publishing failed, or the published warehouse's folder cannot be written "
    "(checked before anything is built)",
    EXIT_LOCKED: "another build holds the working copy's lock (<working copy>.lock, which "
    "names its pid), or another process has the working copy open: nothing was changed; "
    "or another process has the published warehouse open for writing (a `retention load`, "
    "`mf`, a client not read-only) before the publish step",
    EXIT_FILES: "a file cannot be written or read: disk full, a read-only or immutable "
    "working copy or folder, or a published warehouse that is damaged itself",
}
STOPPED = "dbt was stopped too"  # by SIGINT, SIGTERM or SIGHUP (cli.SIGNAL_CODES)
AFTER_A_FAILURE = """\
With any code but 0 the published warehouse is as it was. A working copy that does not
open or read back (truncated, overwritten) is discarded and started again from the
published warehouse, and a build that was killed leaves its working copy unpublishable
(meta.build_state `building`): just rerun the same command."""


# The options that only say how --data is loaded (--allow-shrink and --max-shrink also
# guard the marts against the published warehouse, so they stand without --data).
LOAD_ONLY_OPTIONS = ("replace", "force")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", type=Path, default=None, metavar="DIR", help="raw files to load first"
    )
    # How --data is loaded (retention/load.py); the shrink guard also protects the marts.
    add_mode_arguments(
        parser, f"{SHRINK_GUARDS}, or a mart against the published warehouse (validate step)"
    )
    add_db_argument(parser)
    parser.add_argument(
        "--vars", default=None, metavar="YAML", help="dbt vars as YAML, passed to dbt build"
    )
    parser.add_argument("--full-refresh", action="store_true", help="rebuild incremental models")
    parser.add_argument(
        "--no-validate",
        action="store_true",
        help="skip Great Expectations and the volume check against the published warehouse",
    )
    parser.add_argument(
        "--unit-tests",
        action="store_true",
        help="also run dbt's unit tests (they do not read the data; CI runs them)",
    )
    add_storage_version_argument(parser)
    parser.epilog = f"{parser.epilog or ''}\n\n{AFTER_A_FAILURE}"
    parser.formatter_class = argparse.RawDescriptionHelpFormatter


def _say(message: str) -> None:
    """A step under way, on stderr (not with --quiet)."""
    console.say(f"retention build: {message}")


def _tell(message: str) -> None:
    """Why the build stopped, or what it did that the operator must know, on stderr (also
    with --quiet)."""
    console.warn(f"retention build: {message}")


@dataclass
class Stage:
    """The step under way, for the message when a signal stops the build."""

    name: str


# The stage once the published file is replaced: a signal after it stops a build whose
# warehouse is already published.
PUBLISHED = "publishing, the new file in place"


class FilesError(Exception):
    """Exit 7: a file cannot be written or read."""


class Diverged(Exception):
    """Exit 2: the working copy and the published warehouse each hold batches the other
    lacks, so neither can be built on without losing the other's."""


def run(args: argparse.Namespace) -> int:
    try:  # an invalid --storage-version is an argument error, reported before anything runs
        args.storage_version = resolve_storage_version(getattr(args, "storage_version", None))
    except PublishError as exc:
        _tell(f"error: {exc}")
        return EXIT_LOAD
    if problem := vars_problem(args.vars):  # dbt would stop on it after the load
        _tell(f"error: --vars {problem}; nothing was changed")
        return EXIT_LOAD
    from retention import validate

    try:  # dbt and validate would fail on it only after the load, with tracebacks
        validate.memory_limit()
    except validate.ValidateError as exc:
        _tell(f"error: {exc}; nothing was changed")
        return EXIT_LOAD
    if problem := threads_problem(os.environ.get(THREADS_ENV)):  # dbt: a traceback, too
        _tell(f"error: {problem}; nothing was changed")
        return EXIT_LOAD
    # The predictive models would refuse it only after the load, failing the build.
    if problem := predictive_columns.switch_problem(os.environ.get(predictive_columns.SWITCH)):
        _tell(f"error: {problem}; nothing was changed")
        return EXIT_LOAD
    if args.data is None and (given := [o for o in LOAD_ONLY_OPTIONS if getattr(args, o)]):
        # They say how to load --data; without it they would be ignored without a word.
        options = " and ".join(f"--{o}" for o in given)
        _tell(
            f"error: {options} applies to loading --data DIR, and no --data was given; "
            "nothing was changed"
        )
        return EXIT_LOAD
    given = Path(args.db or default_db_path())
    published = given.resolve()
    # Beside --db as given, where `retention publish`, `dbt source freshness` and
    # docs/operations.md look for it (<db>.work), also when --db is a symbolic link to a file
    # in another folder.
    work = working_copy_path(given.absolute()).resolve()
    if work == published:  # RETENTION_WORK_DB_PATH set to the published file itself
        _tell(
            f"error: the working copy is the published warehouse {published} "
            "(RETENTION_WORK_DB_PATH names it): a build would write the file BI reads; "
            "unset RETENTION_WORK_DB_PATH or point it at another file; nothing was changed"
        )
        return EXIT_LOAD
    if problem := data_file_problem(published):  # a CSV DuckDB would read as a database
        _tell(f"error: {problem}; nothing was changed")
        return EXIT_LOAD
    # A mistyped --data was found only after the published warehouse was copied into a new
    # working copy (minutes at a million customers).
    if args.data is not None and (problem := dir_problem(Path(args.data))):
        _tell(f"load refused: {problem}; nothing was changed")
        return EXIT_LOAD
    if args.data is None and not work.exists() and not published.exists():
        _tell(
            f"there is no warehouse at {published} and no working copy {work} to build: "
            f"pass --data DIR to load raw files first (retention build --data DIR --db {published})"
        )
        return EXIT_LOAD
    problem = _cannot_publish_into(published)
    if problem:
        _tell(f"cannot publish into {published.parent}: {problem}; nothing was built")
        return EXIT_PUBLISH

    at = Stage("preparing the working copy")
    with signals.stoppable() as received:
        try:
            with working_copy.lock(work):
                return _pipeline(args, published, work, at)
        except working_copy.Locked as exc:
            _tell(str(exc))
            return EXIT_LOCKED
        except Diverged as exc:
            _tell(f"{exc}; nothing was changed")
            return EXIT_LOAD
        except (FilesError, working_copy.StorageError) as exc:
            _tell(f"{exc}; the published warehouse {published} is unchanged")
            return EXIT_FILES
        except BrokenPipeError:  # stdout's reader went away (`| head`): not a file's fault
            _tell(f"stdout was closed by its reader while {at.name}; {_after(at.name)}")
            return console.BROKEN_PIPE
        except OSError as exc:  # any other file system error: never a traceback
            where = f" ({exc.filename})" if exc.filename else ""
            _tell(f"stopped while {at.name}: {exc.strerror or exc}{where}")
            return EXIT_FILES
        except BaseException as exc:
            signum = signals.signal_of(exc, received)
            if signum is None:
                raise
            _tell(
                f"interrupted by {signal.Signals(signum).name} while {at.name}; {_after(at.name)}"
            )
            return 128 + signum


THREADS_ENV = "RETENTION_THREADS"  # dbt's threads (profiles.yml: env_var(...) | int)


def threads_problem(value: str | None) -> str | None:
    """Why dbt cannot run with RETENTION_THREADS set to `value`, or None. The profile reads
    it with Jinja's `int` filter, which makes anything it cannot read 0 (`abc`, empty), and
    dbt then stops with a ValueError traceback of its thread pool."""
    if value is None:
        return None
    try:
        threads = int(value)
    except ValueError:
        try:
            threads = int(float(value))
        except (ValueError, OverflowError):
            threads = 0
    if threads >= 1:
        return None
    return (
        f"{THREADS_ENV}={value!r} is not a number of dbt threads: set it to 1 or more, or unset "
        "it (2 threads)"
    )


def vars_problem(text: str | None) -> str | None:
    """Why dbt would refuse `--vars` (it takes a YAML mapping, read with yaml's safe loader
    as here), or None. dbt said so only after the load, and a value yaml cannot construct
    (`as_of_date: 2024-13-01`, an impossible date) was a traceback of dbt's own."""
    if not text:
        return None
    import yaml  # only when --vars is given

    try:
        value = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        lines = str(exc).strip().splitlines()
        why = getattr(exc, "problem", None) or (lines[0] if lines else type(exc).__name__)
        return f"{text!r} is not valid YAML ({why})"
    if not isinstance(value, dict):
        return (
            f"{text!r} is not a YAML mapping: give the vars as "
            "'{as_of_date: \"2024-06-30\", order_inactivity_days: 365}'"
        )
    # dbt ignores a var no model reads: `as_of_dat` built and published with the default.
    known = project_vars()
    if unknown := [str(name) for name in value if name not in known]:
        return (
            f"{text!r} names {'an unknown var' if len(unknown) == 1 else 'unknown vars'} "
            f"{', '.join(unknown)} (the vars are: {', '.join(known)})"
        )
    return None


def project_vars() -> list[str]:
    """The vars the project declares (dbt_project.yml's `vars:`, with their defaults): the
    only names `--vars` may set."""
    return list(dbt_project()["vars"])


def _after(stage: str) -> str:
    if stage.startswith("publishing"):
        return after_interruption(renamed=stage == PUBLISHED)
    if stage.startswith("validating"):
        return "the working copy is built but not validated: rerun, do not publish it by hand"
    if stage.startswith("running dbt"):
        return (
            "the published warehouse is unchanged; the working copy cannot be published "
            "until a build completes: rerun the same command"
        )
    return "the published warehouse is unchanged: rerun the same command"


def _pipeline(args: argparse.Namespace, published: Path, work: Path, at: Stage) -> int:
    """The four steps on a locked working copy; `at` names the step under way."""
    _prepare_working_copy(work, published, args.data)

    if args.data is not None:
        from retention.load import DatabaseBusy, LoadError, load_as_told, progress_message

        at.name = "loading"
        _say(f"1/4 load {args.data} -> {work}")
        try:
            load_as_told(args.data, work, args, progress=progress_message)
        except DatabaseBusy as exc:  # opened by another process since the build checked it
            raise working_copy.Locked(f"{exc}; nothing was loaded") from exc
        except LoadError as exc:
            problem = working_copy.storage_problem(exc)
            if problem:
                raise FilesError(f"loading into {work} failed: {problem}") from exc
            _tell(f"load refused: {exc}")
            return EXIT_LOAD
    else:
        _say("1/4 load skipped (no --data): building on the working copy's raw data")

    at.name = "running dbt build"
    build = dbt_build_args(args)
    _say(f"2/4 {' '.join(['dbt', *build])} -> {work}")
    command = dbt_runner.command(build, vars=args.vars or None)
    env = dbt_runner.environment(work)
    if console.is_quiet():  # dbt's own --quiet: its errors only
        env["DBT_QUIET"] = "true"
    if not console.is_terminal(sys.stdout):  # a log: dbt colours its lines unless told
        env.setdefault("DBT_USE_COLORS", "false")
    with partial_parse.fresh(command, env, cwd=REPO_ROOT):
        code = _run_child(command, env)
    if code != 0:
        _tell(f"dbt build failed; the published warehouse {published} is unchanged")
        if code < 0:  # a signal from outside: dbt printed nothing about it
            _tell(
                f"dbt was killed by {signal.Signals(-code).name}, not by this build (SIGKILL "
                "is also what the kernel's out-of-memory killer sends: lower "
                "RETENTION_MEMORY_LIMIT or RETENTION_THREADS, or give the machine more memory)"
            )
        _hint_disk_space(work)
        return EXIT_DBT
    code = _validate_and_publish(args, published, work, at)
    _report(work)
    return code


def dbt_build_args(args: argparse.Namespace) -> list[str]:
    """The dbt command of step 2: the warehouse's build (dbt_runner.BUILD, no unit tests)
    or, with --unit-tests, all of `dbt build`; --full-refresh passed on."""
    build = ["build"] if args.unit_tests else [*dbt_runner.BUILD]
    return [*build, *(["--full-refresh"] if args.full_refresh else [])]


def _report(work: Path) -> None:
    """What the build left out: quarantined rows per raw table and reason (the quarantine is
    rebuilt from every raw row on each build, so this is what this build quarantined), and
    cancellation reason codes the seed does not know (counted as churn type unknown)."""
    from retention import report

    try:
        quarantined = report.quarantine_report(work)
        unknown = report.unknown_reason_codes_report(report.unknown_reason_codes(work))
    except duckdb.Error as exc:  # a report, not a step: never fails the build
        console.warn(f"warning: could not read the build report from {work}: {exc}")
        return
    print(quarantined, flush=True)
    if unknown:
        console.warn(unknown)


def _validate_and_publish(args: argparse.Namespace, published: Path, work: Path, at: Stage) -> int:
    """Steps 3 and 4 on a working copy that dbt built."""
    if not args.no_validate:
        from retention import validate

        at.name = "validating"
        _say("3/4 validate (Great Expectations)")
        # The volume check compares the marts with the published warehouse (none yet on the
        # first build, nor when the published file was only loaded into, never built). One
        # that cannot be read is a damaged file, not a failed expectation.
        baseline = published if published.exists() else None
        if baseline is None and not args.allow_shrink:
            _say(f"no published warehouse at {published} yet: no volume check")
        elif not args.allow_shrink:
            try:
                validate.baseline_counts(baseline, list(validate.MARTS))
            except validate.NoMartsInBaseline:
                _say(f"the published warehouse {published} has no marts yet: no volume check")
                baseline = None
            except validate.ValidateError as exc:
                # Opened for writing by another process since the build began (the duckdb
                # CLI without -readonly, `mf`, a `retention load`): busy, not damaged.
                if working_copy.is_busy(str(exc)):
                    raise working_copy.Locked(
                        f"another process has the published warehouse {published} open for "
                        f"writing (the duckdb CLI or a BI tool not read-only, `mf`, a "
                        f"`retention load`?): {exc}; the working copy is built but not "
                        "validated, and the published warehouse is unchanged. Rerun when it "
                        "is closed"
                    ) from exc
                raise FilesError(
                    f"the published warehouse {published} is damaged itself ({exc}): restore "
                    "it from a backup, or build a new warehouse from raw files with another --db"
                ) from exc
        checks = argparse.Namespace(
            db=work,
            mart=None,
            baseline=baseline,
            max_shrink=args.max_shrink,
            allow_shrink=args.allow_shrink,
        )
        code = validate.run(checks)
        if code != 0:
            _tell(f"validation failed; the published warehouse {published} is unchanged")
            return EXIT_VALIDATE
    else:
        _say("3/4 validate skipped (--no-validate)")

    at.name = "publishing"
    _say(f"4/4 publish -> {published}")
    try:
        publish(
            work,
            published,
            progress=_say,
            storage_version=args.storage_version,
            on_renamed=lambda: setattr(at, "name", PUBLISHED),
        )
    except PublishError as exc:
        _tell(f"publish failed: {exc}")
        return EXIT_PUBLISH
    return 0


# --- the working copy ----------------------------------------------------------------------


def _cannot_publish_into(published: Path) -> str | None:
    """Why no file can be created beside the published one (checked before any work), or None."""
    published = file_behind(published)
    folder = published.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # publish creates the missing folders: check the first that exists
    probe = staging_path(folder / published.name)
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return None
    except OSError as exc:
        return exc.strerror
    probe.unlink()
    return None


def _prepare_working_copy(work: Path, published: Path, data: Path | None) -> None:
    """A working copy that opens and reads: the existing one, or a fresh copy of the published
    warehouse (a damaged one is discarded first); none at all when --data will create it."""
    if work.exists():
        try:
            working_copy.check(work)
            if not _published_has_more_batches(work, published):
                return
            working_copy.discard(work)
        except working_copy.Damaged as exc:
            if not published.exists() and data is None:
                raise FilesError(
                    f"the working copy {work} is damaged ({exc}) and there is no published "
                    f"warehouse to start again from: delete it and pass --data DIR"
                ) from exc
            origin = f"the published warehouse {published}" if published.exists() else "--data"
            _tell(
                f"the working copy {work} is damaged ({exc}): discarding it and starting again "
                f"from {origin}"
            )
            working_copy.discard(work)
    # A write-ahead log without its database belongs to no database: never replay it onto a copy.
    working_copy.wal_path(work).unlink(missing_ok=True)
    if not published.exists():
        return  # `load` creates the working copy
    _say(f"starting the working copy from the published warehouse {published}")
    partial = work.with_name(work.name + ".copying")
    try:
        shutil.copyfile(published, partial)
        # What a writer that died committed is in the published file's log, not yet in the
        # file (a `retention load` killed before its checkpoint): the check below replays it.
        if working_copy.wal_path(published).exists():
            shutil.copyfile(working_copy.wal_path(published), working_copy.wal_path(work))
        os.replace(partial, work)
    except BaseException as exc:  # a full disk, or a signal: leave no half copy behind
        with suppress(OSError):
            partial.unlink(missing_ok=True)
            working_copy.wal_path(work).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise FilesError(
                f"cannot copy the published warehouse to the working copy {work}: {exc.strerror}"
            ) from exc
        raise
    try:
        working_copy.check(work)
    except working_copy.Damaged as exc:
        working_copy.discard(work)
        raise FilesError(
            f"the published warehouse {published} is damaged itself ({exc}): restore it from "
            "a backup, or build a new warehouse from raw files with another --db"
        ) from exc


def _published_has_more_batches(work: Path, published: Path) -> bool:
    """Whether the published warehouse holds load batches the (readable) working copy lacks:
    a `retention load` into the published file after the working copy was made. Building on
    the working copy would then publish over those batches and lose them, so the build starts
    again from the published warehouse (True, said). When the working copy holds batches of
    its own too (loaded by a build with --data that was not published), either way loses
    one side's: Diverged, naming both."""
    if not published.exists():
        return False
    work_batches = _batches(work, "the working copy")
    published_batches = _batches(published, "the published warehouse")
    only_published = sorted(published_batches - work_batches)
    if not only_published:
        return False
    only_work = sorted(work_batches - published_batches)
    ids = ", ".join(str(load_id) for load_id, _ in only_published)
    if only_work:
        raise Diverged(
            f"the published warehouse {published} has load batch(es) {ids} that the working "
            f"copy {work} lacks (loaded into the published file with `retention load`), and "
            f"the working copy has batch(es) "
            f"{', '.join(str(load_id) for load_id, _ in only_work)} that were never published "
            "(a build with --data that did not finish). Building on either would lose the "
            "other's. Load the missing deliveries into one of them: rerun with --data DIR for "
            "the published file's, or move the working copy aside to build from the published "
            "warehouse"
        )
    _tell(
        f"the published warehouse {published} has load batch(es) {ids} that the working copy "
        f"lacks (loaded with `retention load`): starting the working copy again from it"
    )
    return True


def _batches(path: Path, what: str) -> set[tuple[int, object]]:
    """The load batches a warehouse records (meta.load_batches: id and time; none when it
    has no record). Raises Locked when another process writes to it, FilesError when it
    cannot be read."""
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            return load_batches(con)
    except duckdb.Error as exc:
        message = console.first_line(exc)
        if working_copy.is_busy(message):
            raise working_copy.Locked(
                f"another process has {what} {path} open for writing (a `retention load` into "
                f"it?): {message}. Rerun when it is done"
            ) from exc
        raise FilesError(
            f"{what} {path} cannot be read ({message}): restore it from a backup, or build a "
            "new warehouse from raw files with another --db"
        ) from exc


def _hint_disk_space(work: Path) -> None:
    with suppress(OSError):
        free = shutil.disk_usage(work.parent).free
        if free < max(64 << 20, work.stat().st_size // 10):
            _tell(f"only {free >> 20} MiB free beside {work}: a full disk may be the cause")


# --- signals and the dbt child --------------------------------------------------------------


def _run_child(command: list[str], env: dict[str, str]) -> int:
    """Run command in this process group and return its exit code; when this process is
    interrupted (or fails) meanwhile, the child is stopped before the exception goes on."""
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, preexec_fn=signals.die_with_parent()
    )
    try:
        return process.wait()
    finally:
        if process.poll() is None:
            signals.stop_child(process)
