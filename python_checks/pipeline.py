"""Helpers for the reliability checks (issue 5): generated data sets, dbt and `retention`
runs in throw-away folders, the warehouse's tables and row counts, and a BI reader process.

Every dbt run gets its own database file, target path and log path (beside other engineers'
builds and beside each other); dbt runs in this process (retention.dbt_runner). Builds that
several test modules need (the clean 300-customer warehouse) are made once per pytest
session, for every xdist worker (session_once), and shared: tests take them from the session
fixtures of conftest.py (clean_data, dirty_data, raw_clean_db, clean_build, dirty_build),
which call the functions here.
`submit`/`shared`/`once` remain for modules that still start work on a thread pool.

Run as a script, this module is the BI reader used by test_publish.py:

    python pipeline.py DB STOP_FILE hold|fresh [INTERVAL]

It queries the row count of every mart of DB over and over, printing one JSON line per query
({"t": epoch seconds, "counts": [...]} or {"t": ..., "error": "..."}), until STOP_FILE exists.
`hold` keeps one read-only connection open the whole time (a BI tool with the file open);
`fresh` opens a new read-only connection for every query (a BI tool that reconnects).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from retention import dbt_runner
from retention.contract import TABLES
from retention.marts import MARTS as PUBLISHED_MARTS

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DB_NAME = "warehouse.duckdb"

# The marts BI reads and the raw tables.
MARTS = PUBLISHED_MARTS
RAW_TABLES = tuple(TABLES)
# One statement, so one snapshot: the row count of every mart.
MART_COUNTS_SQL = "select " + ", ".join(f"(select count(*) from marts.{m})" for m in MARTS)

# The shared small data set: big enough for every defect class and every mart to have rows.
CUSTOMERS = 300
SEED = 7

T = TypeVar("T")


# --- shared work -----------------------------------------------------------------------------


def jobs() -> int:
    configured = os.environ.get("RETENTION_FIXTURE_JOBS")
    if configured:
        return max(1, int(configured))
    return max(1, min(4, os.cpu_count() or 1))


_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_futures: dict[str, Future[Any]] = {}
_values: dict[str, Any] = {}
_value_locks: dict[str, threading.Lock] = {}
_shared_dir: Path | None = None


def submit(fn: Callable[[], T]) -> Future[T]:
    """Run fn on the shared pool (at most jobs() at a time). fn must not wait on the pool."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=jobs(), thread_name_prefix="pipeline")
        return _executor.submit(fn)


def shared(key: str, fn: Callable[[], T]) -> Future[T]:
    """One Future per key for the whole pytest process (fn runs once, on the pool)."""
    with _lock:
        known = _futures.get(key)
    if known is not None:
        return known
    future = submit(fn)
    with _lock:
        return _futures.setdefault(key, future)


def once(key: str, fn: Callable[[], T]) -> T:
    """fn() computed once per pytest process, in the calling thread (for quick steps)."""
    with _lock:
        lock = _value_locks.setdefault(key, threading.Lock())
    with lock:
        if key not in _values:
            _values[key] = fn()
        return _values[key]


def shared_dir(factory: Any) -> Path:
    """A folder for shared data sets and builds (under pytest's base temp)."""
    global _shared_dir
    with _lock:
        if _shared_dir is None:
            _shared_dir = factory.mktemp("pipeline-shared")
        return _shared_dir


def common_dir(factory: Any) -> Path:
    """A folder that every pytest process of the session shares: under pytest-xdist each
    worker has its own base temp in the session's folder, whose parent it is."""
    base = Path(factory.getbasetemp())
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    folder = base / "pipeline-common"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def session_once(factory: Any, key: str, make: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """make(folder) run once per pytest session, whatever the number of xdist workers: the
    first process to ask makes it in common_dir/key under a file lock and writes its result
    (JSON) beside it; the others wait for the lock and read that result. A make that died
    half way (its process killed) left no result: the next process starts it again.
    Once per process, too (in memory, across threads)."""

    def shared_make() -> dict[str, Any]:
        common = common_dir(factory)
        folder, result = common / key, common / f"{key}.json"
        with (common / f"{key}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if not result.exists():
                    shutil.rmtree(folder, ignore_errors=True)
                    folder.mkdir()
                    done = make(folder)
                    partial = result.with_suffix(".partial")
                    partial.write_text(json.dumps(done), encoding="utf-8")
                    partial.replace(result)
                return json.loads(result.read_text(encoding="utf-8"))
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    return once(f"session-{key}", shared_make)


# --- data sets -------------------------------------------------------------------------------


def generate_data(
    out: Path, *, customers: int = CUSTOMERS, seed: int = SEED, dirty: bool = False
) -> Path:
    from retention.generate import Options, generate

    generate(Options(out=out, customers=customers, seed=seed, dirty=dirty, progress=False))
    return out


def dataset(factory: Any, *, dirty: bool = False) -> Path:
    """The shared data set (CUSTOMERS, SEED), clean or with `--dirty` defects."""
    name = "dirty" if dirty else "clean"

    def make(folder: Path) -> dict[str, Any]:
        return {"path": str(generate_data(folder, dirty=dirty))}

    return Path(session_once(factory, f"data-{name}", make)["path"])


def load(data: Path, db_path: Path, *, fresh: bool = True) -> Path:
    """Load `data` into a fresh database at db_path (an existing file is deleted first), or,
    with fresh=False, append it to the database there as one more batch (the daily load)."""
    from retention.load import load_dir

    db_path.parent.mkdir(parents=True, exist_ok=True)
    if fresh:
        for path in (db_path, db_path.with_name(db_path.name + ".wal")):
            path.unlink(missing_ok=True)
    load_dir(data, db_path)
    return db_path


def loaded_raw(factory: Any) -> Path:
    """A database holding only the clean data set's raw schema (copy it before changing it)."""

    def make(folder: Path) -> dict[str, Any]:
        return {"path": str(load(dataset(factory), folder / DB_NAME))}

    return Path(session_once(factory, "raw-clean", make)["path"])


def shared_build(factory: Any, *, dirty: bool = False) -> Future[DbtRun]:
    """`dbt build` (without the data-independent unit tests) of the shared data set."""
    name = "dirty" if dirty else "clean"

    def make(workdir: Path) -> dict[str, Any]:
        db_path = load(dataset(factory, dirty=dirty), workdir / DB_NAME)
        run = dbt([*dbt_runner.BUILD], db_path, workdir)
        return {
            **{k: getattr(run, k) for k in ("command", "returncode", "output", "seconds")},
            "db_path": str(run.db_path),
            "target_path": str(run.target_path),
        }

    def build() -> DbtRun:
        done = session_once(factory, f"build-{name}", make)
        paths = {k: Path(done[k]) for k in ("db_path", "target_path")}
        return DbtRun(**{**done, **paths})

    return shared(f"build-{name}", build)


# --- running dbt and retention ---------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    command: list[str]
    returncode: int
    output: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


@dataclass(frozen=True)
class DbtRun(Run):
    db_path: Path
    target_path: Path

    def failure_summary(self, max_lines: int = 60) -> str:
        """What failed: dbt prints every error after "Completed with"/"Encountered an error"."""
        lines = self.output.splitlines()
        for index, line in enumerate(lines):
            if "Completed with" in line or "Encountered an error" in line:
                return "\n".join(lines[index : index + max_lines])
        return self.tail(max_lines)

    def node_results(self) -> dict[str, str]:
        """unique_id -> status from target/run_results.json ({} when dbt wrote none)."""
        path = self.target_path / "run_results.json"
        if not path.exists():
            return {}
        results = json.loads(path.read_text(encoding="utf-8"))["results"]
        return {r["unique_id"]: r["status"] for r in results}


def dbt(
    args: list[str],
    db_path: Path,
    workdir: Path,
    *,
    vars: dict[str, Any] | None = None,
    project_dir: Path = REPO_ROOT,
    manifest: bool = True,
    env: dict[str, str] | None = None,
) -> DbtRun:
    """Run dbt on db_path with its own target and log path under workdir; never raises.
    In this process by default (retention.dbt_runner: one parse per project and parse-time
    vars, shared by every run of this pytest worker). manifest=False: no manifest.json in
    the target (dbt_runner.run; run_results.json is still there), for the runs whose
    manifest nobody reads. env: environment variables set for this run only."""
    workdir.mkdir(parents=True, exist_ok=True)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    target = workdir / "target"
    done = dbt_runner.run(
        args,
        db_path,
        target_path=target,
        log_path=workdir / "logs",
        vars=vars,
        project_dir=project_dir,
        manifest=manifest,
        env=env,
    )
    (workdir / "dbt_output.log").write_text(done.output, encoding="utf-8")
    return DbtRun(done.command, done.returncode, done.output, done.seconds, db_path, target)


def compile_inline(inline: str, workdir: Path) -> str:
    """The SQL dbt compiles `inline` (Jinja calling the project's macros) to, for the default
    (DuckDB) target, on an empty database named like the checks' others, so that dbt runs on
    this worker's parse."""
    run = dbt(["compile", "--inline", inline], workdir / "warehouse.duckdb", workdir)
    assert run.ok, run.tail()
    results = json.loads((run.target_path / "run_results.json").read_text(encoding="utf-8"))
    return results["results"][0]["compiled_code"]


def compile_expression(expression: str, workdir: Path) -> str:
    """The SQL expression dbt compiles `expression` (a Jinja expression calling the
    project's macros, e.g. "clean_text('x')") to, for the default (DuckDB) target."""
    compiled = compile_inline("select {{ " + expression + " }} as c", workdir)
    assert compiled.startswith("select") and compiled.endswith(" as c"), compiled
    return compiled.removeprefix("select").removesuffix(" as c")


def retention_env(workdir: Path) -> dict[str, str]:
    """Environment for a `retention` command: dbt's target and logs under workdir."""
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "GX_ANALYTICS_ENABLED": "false",
        "DBT_TARGET_PATH": str(workdir / "target"),
        "DBT_LOG_PATH": str(workdir / "logs"),
    }
    env.pop("RETENTION_DB_PATH", None)
    env.pop("RETENTION_WORK_DB_PATH", None)
    return env


def running(pid: int) -> bool:
    """Whether process `pid` still runs: it exists and is not a zombie nobody reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def start_retention(args: list[str], workdir: Path) -> tuple[list[str], subprocess.Popen]:
    """Start `retention ARGS` in the background, in a session of its own (its pid is the
    session id: it and its dbt can be found and killed together), with unbuffered output on
    one pipe so that dbt's progress lines arrive as they happen."""
    command = [sys.executable, "-m", "retention.cli", *args]
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env={**retention_env(workdir), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    return command, process


def retention(args: list[str], workdir: Path, *, timeout: float = 600) -> Run:
    """Run `retention ARGS` (the CLI of this checkout); never raises for a non-zero exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "retention.cli", *args]
    started = time.perf_counter()
    completed = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=retention_env(workdir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        timeout=timeout,
    )
    seconds = time.perf_counter() - started
    (workdir / "output.log").write_text(completed.stdout, encoding="utf-8")
    return Run(command, completed.returncode, completed.stdout, seconds)


def retention_in_process(args: list[str], workdir: Path) -> Run:
    """`retention ARGS` run in this process (retention.cli.main), its stdout and stderr
    collected as `retention` would print them; never raises for a non-zero exit.

    What differs from `retention`: `retention build` runs dbt as its child process
    (retention/build.py `_run_child`); here the same dbt command runs through
    retention.dbt_runner in this process instead, which reuses the parse this pytest
    process keeps (same project, database name and parse-time vars), and dbt's output goes
    into the collected output where the child's would. Every other step (the lock, load,
    validate, publish, the exit codes and messages) is the command's own. For the checks of
    a build, not of its child process: killing or interrupting a build, and the processes it
    leaves, are checked on real `retention` processes (`retention`, `start_retention`).
    Runs one at a time (it changes this process's environment and sys.stdout)."""
    from retention import build as build_module
    from retention import cli

    workdir.mkdir(parents=True, exist_ok=True)
    target, logs = workdir / "target", workdir / "logs"
    out = io.StringIO()

    def run_dbt(command: list[str], env: dict[str, str]) -> int:
        argv, vars = [], None
        rest = iter(command[1:])
        for arg in rest:
            if arg in ("--project-dir", "--profiles-dir", "--vars"):
                value = next(rest)
                if arg == "--vars":
                    vars = value
                continue
            argv.append(arg)
        assert argv[:1] == ["build"], command
        parsed = yaml.safe_load(vars) if vars is not None else None
        if vars is not None and not _json_native(parsed):
            argv += ["--vars", vars]  # YAML that JSON cannot carry: passed as written
            parsed = None
        done = dbt_runner.run(
            argv,
            Path(env["RETENTION_DB_PATH"]),
            target_path=target,
            log_path=logs,
            vars=parsed,
            in_process=True,
            manifest=False,  # no check reads a `retention build`'s dbt manifest
        )
        out.write(done.output)
        return done.returncode

    changes = {
        **{name: retention_env(workdir)[name] for name in _RETENTION_ENV},
        "RETENTION_DB_PATH": None,
        "RETENTION_WORK_DB_PATH": None,
    }
    saved = {name: os.environ.get(name) for name in changes}
    command = [sys.executable, "-m", "retention.cli", *args]
    started = time.perf_counter()
    original = build_module._run_child
    build_module._run_child = run_dbt
    try:
        for name, value in changes.items():
            _set_env(name, value)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                code = cli.main(args)
            except SystemExit as exc:  # argparse
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        build_module._run_child = original
        for name, value in saved.items():
            _set_env(name, value)
    seconds = time.perf_counter() - started
    (workdir / "output.log").write_text(out.getvalue(), encoding="utf-8")
    return Run(command, code, out.getvalue(), seconds)


_RETENTION_ENV = (
    "DBT_SEND_ANONYMOUS_USAGE_STATS",
    "GX_ANALYTICS_ENABLED",
    "DBT_TARGET_PATH",
    "DBT_LOG_PATH",
)


def _set_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _json_native(value: Any) -> bool:
    """Whether value is a mapping that JSON carries unchanged (dbt then reads the same vars)."""
    if not isinstance(value, dict):
        return False
    try:
        return json.loads(json.dumps(value, allow_nan=False)) == value
    except (TypeError, ValueError):
        return False


# --- looking into a warehouse ----------------------------------------------------------------


def relations(db_path: Path) -> set[str]:
    """Every table and view as `schema.name`."""
    import duckdb

    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    return {f"{schema}.{name}" for schema, name in rows}


def mart_counts(db_path: Path) -> tuple[int, ...]:
    import duckdb

    with duckdb.connect(str(db_path), read_only=True) as con:
        return tuple(con.execute(MART_COUNTS_SQL).fetchone())


# A build of the models only (the nightly checks' builds that skip the data tests), and the
# closed part of the customer-period fact, whose built_at says which rows a run wrote.
MODELS_ONLY = ["build", "--exclude-resource-type", "test", "unit_test"]
CLOSED_PERIODS = "intermediate.int_customer_periods_closed"

# The incremental base models: those configured with base_model_incremental_config
# (macros/base_model.sql), found in their SQL so that a new raw table's is compared too.
INCREMENTAL_BASE_MODELS = tuple(
    f"staging.{path.stem}"
    for path in sorted((REPO_ROOT / "models" / "staging" / "shop" / "base").glob("*.sql"))
    if "base_model_incremental_config(" in path.read_text(encoding="utf-8")
)
# The incremental models, compared besides the marts (differences).
INCREMENTAL_TABLES = (
    *INCREMENTAL_BASE_MODELS,
    # Without the columns that say which run wrote a row (retention.compare.RUN_STAMP_COLUMNS).
    "intermediate.int_purchases",
    "intermediate.int_contract_coverage_uncut",
    "intermediate.int_activity_spells_uncut",
    "intermediate.int_contract_arr_segments_uncut",
    "intermediate.int_purchase_summary",
    # The customer-period fact: closed (incremental) and open periods, without the columns
    # that say which run wrote a row.
    "intermediate.int_customer_periods",
)


def differences(expected: Path, actual: Path) -> list[str]:
    """Every mart and every incremental model of two warehouses, row for row
    (retention.compare.compare_marts; empty when they are equal)."""
    from retention.compare import compare_marts

    problems = compare_marts(expected, actual)
    problems += compare_marts(expected, actual, relations=list(INCREMENTAL_TABLES))
    return problems


def deliver(
    source: Path,
    target: Path,
    since: dt.datetime | None,
    before: dt.datetime,
    extra: dict[str, list[dict[str, Any]]] | None = None,
) -> Path:
    """One night's delivery of a generated Parquet data set: the raw rows whose `_loaded_at`
    is in [since, before) (the first delivery, since=None: every row before `before` and
    every row whose `_loaded_at` does not parse), plus `extra` rows per table. A table
    without rows has no file (the loader refuses an empty file for a required table)."""
    import duckdb

    target.mkdir(parents=True, exist_ok=True)
    loaded = "try_cast(_loaded_at as timestamptz)"
    if since is None:
        where, params = f"{loaded} is null or {loaded} < ?", [before]
    else:
        where, params = f"{loaded} >= ? and {loaded} < ?", [since, before]
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        for path in sorted(source.glob("*.parquet")):
            con.execute(
                f"create or replace table rows_ as select * from read_parquet('{path}') "
                f"where {where}",
                params,
            )
            for row in (extra or {}).get(path.stem, []):
                columns = ", ".join(f'"{c}"' for c in row)
                values = ", ".join("?" for _ in row)
                con.execute(f"insert into rows_ ({columns}) values ({values})", list(row.values()))
            if con.execute("select count(*) from rows_").fetchone()[0]:
                con.execute(f"copy rows_ to '{target / path.name}' (format parquet)")
    return target


def copy_db(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


# --- the BI reader ---------------------------------------------------------------------------


@dataclass
class Reader:
    """A BI reader process (this module run as a script) and the file it reports to."""

    process: subprocess.Popen[bytes]
    stop_file: Path
    report: Path

    def records(self) -> list[dict[str, Any]]:
        if not self.report.exists():
            return []
        lines = self.report.read_text(encoding="utf-8").splitlines()
        # The last line may be half-written while the reader runs.
        records = []
        for line in lines:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break
        return records

    def wait_for(self, count: int, after: float = 0.0, timeout: float = 60) -> None:
        """Until the reader has reported `count` queries started after `after` (epoch s)."""
        deadline = time.monotonic() + timeout
        while sum(1 for r in self.records() if r["t"] >= after) < count:
            if self.process.poll() is not None:
                raise RuntimeError(f"reader exited early ({self.process.returncode})")
            if time.monotonic() > deadline:
                raise TimeoutError(f"reader reported fewer than {count} queries in {timeout} s")
            time.sleep(0.05)

    def stop(self, timeout: float = 30) -> list[dict[str, Any]]:
        self.stop_file.touch()
        try:
            self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        return self.records()


def start_reader(db_path: Path, workdir: Path, mode: str, interval: float = 0.1) -> Reader:
    workdir.mkdir(parents=True, exist_ok=True)
    stop_file = workdir / f"stop-{mode}"
    report = workdir / f"reader-{mode}.jsonl"
    stop_file.unlink(missing_ok=True)
    with report.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(
            [sys.executable, __file__, str(db_path), str(stop_file), mode, str(interval)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Reader(process, stop_file, report)


def _read_forever(db_path: str, stop_file: str, mode: str, interval: float) -> None:
    import duckdb

    held = duckdb.connect(db_path, read_only=True) if mode == "hold" else None
    while True:
        stopping = os.path.exists(stop_file)
        started = time.time()
        try:
            if held is not None:
                counts = held.execute(MART_COUNTS_SQL).fetchone()
            else:
                with duckdb.connect(db_path, read_only=True) as con:
                    counts = con.execute(MART_COUNTS_SQL).fetchone()
            record: dict[str, Any] = {"t": started, "counts": list(counts)}
        except Exception as exc:  # the test reports every failed query
            record = {"t": started, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(record), flush=True)
        if stopping:
            break
        time.sleep(interval)
    if held is not None:
        held.close()


if __name__ == "__main__":
    _read_forever(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]))
