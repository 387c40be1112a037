"""The one way this package and its checks run dbt.

Two ways to run the same dbt command line:

- `command(...)` + `environment(...)`: the argv and environment of a dbt child process.
  `retention build` runs dbt as a child (a signal stops it; the kernel kills it with its
  parent) and `retention bench` measures the child's CPU seconds and memory.
- `run(...)`: dbt run and waited for, its console output returned as text. By default in
  this process (`dbt.cli.main.dbtRunner`), which pays dbt's import once per process
  instead of once per run; `in_process=False` (or RETENTION_DBT_SUBPROCESS=1) runs the
  child instead. Runs in this process are one at a time (dbt keeps global state), each with
  its own environment (the warehouse path of the profile), and the DuckDB handle dbt keeps
  open is closed after every run, so the file can be replaced or opened by others.

Parsing. dbt parses the whole project on every run (~7 s CPU) unless it may reuse a parse:
`run` keeps each manifest it parsed in memory and passes a copy to the next run of the same
project whose parse-time inputs are the same. A parse depends on the project's files, on
the database's name (every node records it; dbt-duckdb names the database after the file
name's first dot-separated part, so `warehouse.duckdb` and its working copy
`warehouse.duckdb.work` are both `warehouse`: see `database_name`) and on the
vars that the project reads while parsing, i.e. inside `config()` or in YAML; these are
listed in PARSE_VARS. Every other var is read when dbt compiles the SQL, which happens on
every run with the run's own vars, so runs that differ only in those vars share one parse.
python_checks/test_dbt_runner.py proves both halves: a parse with every other var changed
is the same manifest, and a build on a reused manifest uses its own vars. A run that parses
(in this process or in a child) may reuse the partial parse dbt keeps in its target path:
every one goes through retention.partial_parse.fresh, which removes that file when a YAML
file changed since a run here left it (dbt 1.11 applies some YAML changes wrongly).
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from contextlib import nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retention import partial_parse
from retention.paths import REPO_ROOT

# Vars read at parse time (in config() or YAML): a parse is reused only for the same values.
# mart_repeat_purchase enforces its contract only for the default windows (config()).
PARSE_VARS = ("repeat_windows_days",)
# Environment variables read at parse time (env_var() in dbt_project.yml): likewise.
# RETENTION_PREDICTIVE switches the predictive models' fits on or off (their config meta).
PARSE_ENV = ("RETENTION_PREDICTIVE",)

_ENV_SUBPROCESS = "RETENTION_DBT_SUBPROCESS"

# The build a warehouse gets (`retention build`, the benchmark, the checks' builds): seeds,
# models and data tests, without dbt's unit tests. Unit tests read only their own given
# rows, never the warehouse's data, so their verdict is the same for every data set: CI
# (`make test`'s plain `dbt build`) runs them once per change, as dbt Labs advises, instead
# of every build paying for them (docs/decisions.md, "Unit tests run in CI").
BUILD = ("build", "--exclude-resource-type", "unit_test")


def executable() -> str:
    """The dbt of this environment (beside this Python)."""
    return str(Path(sys.executable).with_name("dbt"))


def arguments(
    args: list[str],
    *,
    project_dir: Path = REPO_ROOT,
    target_path: Path | None = None,
    log_path: Path | None = None,
    vars: Mapping[str, Any] | str | None = None,
) -> list[str]:
    """dbt's arguments (without the executable): ARGS, then the project, profiles, target and
    log paths and the vars (a mapping is passed as JSON, a string as it is)."""
    out = [*args, "--project-dir", str(project_dir), "--profiles-dir", str(REPO_ROOT)]
    if target_path is not None:
        out += ["--target-path", str(target_path)]
    if log_path is not None:
        out += ["--log-path", str(log_path)]
    if vars is not None:
        out += ["--vars", vars if isinstance(vars, str) else json.dumps(vars, default=str)]
    return out


def command(args: list[str], **options: Any) -> list[str]:
    """The argv of a dbt child process (options as for `arguments`)."""
    return [executable(), *arguments(args, **options)]


# A dbt stopped by a signal (`retention build` interrupted, an orchestrator's stop) leaves its
# multiprocessing semaphores to Python's resource tracker, which removes them and warns
# "resource_tracker: There appear to be 2 leaked semaphore objects to clean up at shutdown"
# with two lines of traceback under the build's own message: noise, nothing is left behind.
QUIET_RESOURCE_TRACKER = "ignore:resource_tracker:UserWarning"
# The profile's DuckDB target. Every run here is on a DuckDB file, so it is named: the
# profile's default target is RETENTION_TARGET when set (docs/spark.md), and a shell
# that set it to `spark` or `cluster` for its dbt commands made `retention build` build there
# instead of in the working copy.
DUCKDB_TARGET = "dev"


def environment(db_path: Path | str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a dbt run on the warehouse at db_path (the profile reads the path
    from RETENTION_DB_PATH, and the target from RETENTION_TARGET: the DuckDB one)."""
    base = os.environ if base is None else base
    given = base.get("PYTHONWARNINGS", os.environ.get("PYTHONWARNINGS"))  # kept, not replaced
    warnings = [given] if given else []
    return {
        **base,
        "RETENTION_DB_PATH": str(db_path),
        "RETENTION_TARGET": DUCKDB_TARGET,
        "DBT_PROFILES_DIR": str(REPO_ROOT),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PYTHONWARNINGS": ",".join([*warnings, QUIET_RESOURCE_TRACKER]),
    }


@dataclass(frozen=True)
class Result:
    command: list[str]
    returncode: int  # dbt's own codes: 0 success, 1 a node failed, 2 dbt could not run
    output: str  # dbt's console output
    seconds: float
    in_process: bool
    reused_parse: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run(
    args: list[str],
    db_path: Path,
    *,
    target_path: Path,
    log_path: Path,
    vars: Mapping[str, Any] | None = None,
    project_dir: Path = REPO_ROOT,
    in_process: bool | None = None,
    env: Mapping[str, str] | None = None,
    manifest: bool = True,
) -> Result:
    """Run dbt ARGS on the warehouse at db_path and wait for it; never raises for a failed
    run. target_path and log_path should be the run's own (dbt writes run_results.json,
    logs and, in a child, its partial parse there). env: variables set for this run only.
    manifest=False (in this process): dbt writes no manifest.json, semantic_manifest.json
    or graph.gpickle into target_path (`--no-write-json`, ~2 s CPU of a ~11 s build of a
    small warehouse); run_results.json is still written, as dbt would write it."""
    if in_process is None:
        in_process = os.environ.get(_ENV_SUBPROCESS, "") in ("", "0")
    options = {
        "project_dir": project_dir,
        "target_path": target_path,
        "log_path": log_path,
        "vars": dict(vars) if vars is not None else None,
    }
    db_path = Path(db_path).resolve()
    if not in_process:
        argv = command(args, **options)
        child_env = {**environment(db_path), **(env or {})}
        started = time.perf_counter()
        with partial_parse.fresh(argv, child_env, cwd=project_dir):
            done = subprocess.run(
                argv,
                cwd=project_dir,
                env=child_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                check=False,
            )
        return Result(argv, done.returncode, done.stdout, time.perf_counter() - started, False)
    # Vars given inside ARGS (a YAML string) are not known here: such a run parses on its own.
    reuse = "--vars" not in args
    results = None if manifest else Path(target_path) / "run_results.json"
    if results is not None:
        args = [*args, "--no-write-json"]
    return _invoke(
        arguments(args, **options), db_path, project_dir, vars or {}, reuse, env or {}, results
    )


def parse(
    db_path: Path,
    *,
    target_path: Path,
    log_path: Path,
    vars: Mapping[str, Any] | None = None,
    project_dir: Path = REPO_ROOT,
) -> Any:
    """A fresh parse of the project in this process: dbt's Manifest (RuntimeError with dbt's
    output when the parse fails). Kept for later runs with the same parse-time inputs."""
    from dbt.contracts.graph.manifest import Manifest

    argv = arguments(
        ["parse"],
        project_dir=project_dir,
        target_path=target_path,
        log_path=log_path,
        vars=dict(vars) if vars is not None else None,
    )
    key = parse_key(project_dir, db_path, vars or {}, {})
    with _lock:
        done = _invoke_locked(argv, Path(db_path).resolve(), None)
        if done.code != 0 or not isinstance(done.result, Manifest):
            raise RuntimeError(f"dbt parse failed:\n{done.output}")
        _manifests.setdefault(key, _copy_manifest(done.result))
    return done.result


# --- in this process -------------------------------------------------------------------------

_lock = threading.Lock()
_manifests: dict[str, Any] = {}


def parse_key(
    project_dir: Path, db_path: Path, vars: Mapping[str, Any], env: Mapping[str, str]
) -> str:
    """What a parse depends on: the project and its files, the database's name and the
    parse-time vars and environment variables."""
    parse_vars = {name: vars[name] for name in PARSE_VARS if name in vars}
    parse_vars |= {f"env:{name}": env.get(name, os.environ.get(name)) for name in PARSE_ENV}
    project = Path(project_dir).resolve()
    return json.dumps(
        [str(project), _files_fingerprint(project), database_name(db_path), parse_vars],
        sort_keys=True,
        default=str,
    )


def database_name(db_path: Path | str) -> str:
    """The database name dbt-duckdb gives the file at db_path, which every parsed node
    records: the file name's first non-empty dot-separated part (`warehouse.duckdb.work`
    -> `warehouse`), as DuckDB names the catalog of an attached file."""
    return Path(db_path).name.lstrip(".").split(".")[0]


def _files_fingerprint(project: Path) -> str:
    """Name, size and modification time of every file dbt reads (a file edited in place, as
    a check may do, makes a new parse)."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(project):
        here = Path(root)
        if here == project:
            dirs[:] = [d for d in dirs if d in partial_parse.PROJECT_FOLDERS]
            files = [f for f in files if f in partial_parse.PROJECT_FILES]
        dirs.sort()
        for name in sorted(files):
            stat = (here / name).stat()
            digest.update(f"{here / name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _copy_manifest(manifest: Any) -> Any:
    """A copy of a parsed manifest that a run may change. dbt's Manifest.deepcopy() copies
    each node through a dict round trip, which fails for a saved query without a `where`
    (dbt 1.11 drops the None, then requires the field) and for the disabled nodes (a list
    per name, which it takes for a node): those two are copied with copy.deepcopy (they
    hold no lookups) and the rest with dbt's own copy."""
    saved_queries, disabled = manifest.saved_queries, manifest.disabled
    manifest.saved_queries, manifest.disabled = {}, {}
    try:
        copied = manifest.deepcopy()
    finally:
        manifest.saved_queries, manifest.disabled = saved_queries, disabled
    copied.saved_queries = {k: copy.deepcopy(v) for k, v in saved_queries.items()}
    copied.disabled = {k: copy.deepcopy(v) for k, v in disabled.items()}
    copied.build_flat_graph()
    return copied


def _invoke(
    argv: list[str],
    db_path: Path,
    project_dir: Path,
    vars: Mapping[str, Any],
    reuse: bool,
    env: Mapping[str, str],
    results: Path | None = None,
) -> Result:
    from dbt.contracts.graph.manifest import Manifest

    key = parse_key(project_dir, db_path, vars, env) if reuse else None
    with _lock:
        kept = _manifests.get(key) if key is not None else None
        parse_output, parse_seconds = "", 0.0
        if key is not None and kept is None and argv[0] != "parse":
            # Parse first (the same paths and vars), keep the manifest, then run on it.
            parse_argv = ["parse", *_path_and_var_options(argv)]
            parsed = _invoke_locked(parse_argv, db_path, None, env)
            parse_output, parse_seconds = parsed.output, parsed.seconds
            if parsed.code == 0 and isinstance(parsed.result, Manifest):
                kept = _manifests[key] = parsed.result
        # dbt writes compiled SQL into the manifest's nodes: every run gets its own copy.
        manifest = _copy_manifest(kept) if kept is not None else None
        done = _invoke_locked(argv, db_path, manifest, env)
        if results is not None and hasattr(done.result, "write"):
            results.parent.mkdir(parents=True, exist_ok=True)
            done.result.write(str(results))  # what --no-write-json left out of the results
        if (
            key is not None
            and kept is None
            and done.code == 0
            and isinstance(done.result, Manifest)
        ):
            _manifests[key] = _copy_manifest(done.result)
    return Result(
        ["dbt", *argv],
        done.code,
        parse_output + done.output,
        parse_seconds + done.seconds,
        True,
        reused_parse=kept is not None and not parse_output,
    )


_OPTIONS_WITH_VALUES = ("--project-dir", "--profiles-dir", "--target-path", "--log-path", "--vars")


def _path_and_var_options(argv: list[str]) -> list[str]:
    out = []
    for index, arg in enumerate(argv[:-1]):
        if arg in _OPTIONS_WITH_VALUES:
            out += [arg, argv[index + 1]]
    return out


@dataclass(frozen=True)
class _Done:
    code: int
    output: str
    seconds: float
    result: Any


def _invoke_locked(
    argv: list[str], db_path: Path, manifest: Any, env: Mapping[str, str] | None = None
) -> _Done:
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import capture_stdout_logs, stop_capture_stdout_logs

    changed = {**environment(db_path, base={}), **(env or {})}
    saved = {name: os.environ.get(name) for name in changed}
    os.environ.update(changed)
    stream = io.StringIO()
    capture_stdout_logs(stream)
    started = time.perf_counter()
    try:
        # Without a manifest dbt parses, reusing the target path's partial parse if it may.
        with partial_parse.fresh(argv, os.environ) if manifest is None else nullcontext():
            outcome = dbtRunner(manifest=manifest).invoke(list(argv))
    finally:
        seconds = time.perf_counter() - started
        stop_capture_stdout_logs()
        _close_duckdb()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    output = stream.getvalue()
    if outcome.success:
        code = 0
    elif outcome.exception is None:
        code = 1  # a model, test or hook failed (dbt printed which)
    else:
        code = 2
        text = str(outcome.exception)
        if text and text not in output:
            output += f"\n{type(outcome.exception).__name__}: {text}\n"
    return _Done(code, output, seconds, outcome.result)


def _close_duckdb() -> None:
    """dbt-duckdb keeps the database open between runs of one process (a class attribute):
    close it, so the next run opens its own file and other processes can open this one."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
        if env is not None:
            with suppress(Exception):  # a handle that is already gone
                env.close()
