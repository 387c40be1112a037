"""`retention bench`: time the warehouse at growing data sizes, against two plain scripts.

For each scale (customers; by default 10k and 100k, three runs each; the figures in
docs/performance.md add 1M: ``--customers 10000 100000 1000000 --runs 3``, as `make bench` runs
it) the benchmark

1. generates the synthetic data set as Parquet (`retention generate --format parquet`, seed
   42) into ``.cache/bench/<N>/data``, or reuses it when the generator has not changed since
   and every file still holds the rows its stamp recorded (a file removed or damaged since
   has it generated again);
   it also keeps ``data_before``: the same files without the last nightly load (the rows whose
   ``_loaded_at`` falls on the last load day), and ``data_last_day``: that nightly load alone,
   for the incremental build;
2. times each step as a separate process: its CPU seconds (user + sys of the process and
   every descendant, from the kernel when the process is reaped), wall seconds and peak
   memory:
   - ``load``: `retention load` of the data into a new database file;
   - ``full_build``: one `dbt build --full-refresh` (seeds, models and data tests; unit
     tests are left out: they do not read the data and run in `make test`);
   - ``incremental_build``: in a second database built from ``data_before``,
     ``data_last_day`` is appended (one more day) and one `dbt build` of the same selection
     runs without `--full-refresh`, as the daily job does; the incremental marts must equal
     the full build's;
   - ``validate``: `retention validate` (Great Expectations) on the full build;
   - ``pandas``: `retention/pandas_baseline.py`, the notebook an analyst would write
     instead, and ``duckdb_script``: `retention/duckdb_baseline.sql`, the plain SQL script
     one would write instead (run by `retention/duckdb_baseline.py`); both compute monthly
     order churn, the order cohort matrix, repeat purchase rates and the seed-formula CLV
     of all customers from the delivery files, and their numbers must equal the marts;
3. repeats this ``--runs`` times and reports the median of each step. Every timed dbt
   command finds dbt's partial-parse state of an earlier command in its target path (an
   untimed `dbt parse` comes first), as a daily job does.

The derived figures (the incremental build's share of the full one, the growth between
scales, the ratios of the warehouse to the two scripts) are computed from CPU seconds, which
other jobs on a shared machine change far less than wall time; the wall figures are shown
beside them. "The warehouse" is ``load`` + ``full_build``: from the same delivery files as
the scripts to tested marts. A step's peak memory is the larger of the kernel's peak RSS of
its largest process and the summed RSS of its process tree sampled every 0.2 s.

It prints a table and writes every measurement as JSON (``--out``). On a terminal a
progress bar counts the steps. Exit status 1 when a check fails (a script's numbers differ
from the marts, or the incremental marts from the full build's), 2 when a step fails.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import psutil

from retention import console, dbt_runner, partial_parse, signals
from retention.compare import compare_marts, compare_with_marts
from retention.contract import TABLES
from retention.paths import REPO_ROOT
from retention.sql_text import path_literal, sql_literal

DEFAULT_SCALES = (10_000, 100_000)  # docs/performance.md's figures add 1_000_000
DEFAULT_RUNS = 3  # medians of 3
SEED = 42
CACHE_DIR = REPO_ROOT / ".cache" / "bench"
SAMPLE_SECONDS = 0.2
STAMP = "_bench.json"
# One `dbt build` as `retention build` runs it: seeds, models and data tests.
BUILD = dbt_runner.BUILD
# The scripts that compute the headline numbers instead of the warehouse (python -m MODULE).
BASELINES = {"pandas": "retention.pandas_baseline", "duckdb_script": "retention.duckdb_baseline"}
STEPS = ("load", "full_build", "incremental_build", "validate", *BASELINES)
# Untimed commands of every run: the incremental database's day before, then one more day.
DAY_BEFORE_LOAD, DAY_BEFORE_BUILD, ONE_MORE_DAY_LOAD = UNTIMED = (
    "load (day before)",
    "dbt build (day before)",
    "load (one more day)",
)
STEPS_PER_RUN = len(STEPS) + len(UNTIMED)
CHECKS = ("pandas_equals_marts", "duckdb_script_equals_marts", "incremental_equals_full")
EXIT_CODES = {
    0: "every step ran and every check passed",
    1: "a check failed: a script's numbers differ from the marts, or the incremental marts "
    "from the full build's",
    2: "a step failed (the end of its output is printed), a scale has too few customers for "
    "every required table to have rows, or --out cannot be written (checked before anything "
    "runs)",
}
STOPPED = (
    "the step being timed is stopped too (also when the benchmark is killed), and no results "
    "are written"
)


def out_problem(out: Path) -> str | None:
    """Why the JSON cannot be written to `out`, or None: checked before the runs, which take
    minutes to hours, since the file is written only at the end (a folder that is a file, a
    read-only or immutable folder, `out` a folder)."""
    if out.is_dir():
        return f"--out {out} is a folder: name a file"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}."):
            pass
    except OSError as exc:
        return f"cannot write --out {out}: {exc.strerror or exc}"
    return None


def write_results(out: Path, text: str) -> Path | None:
    """Write the JSON TEXT to OUT. An earlier file there (the default --out is the same on
    every run, and a run at 1M takes hours) is kept beside it, renamed after the time it was
    written (`bench.20261207T044500.json`), and that name is returned; None when there was
    none. The new file is written whole before the old one is moved aside."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
    except OSError:
        partial.unlink(missing_ok=True)
        raise
    kept = None
    if out.exists():
        written = dt.datetime.fromtimestamp(out.stat().st_mtime, dt.UTC)
        stem = f"{out.stem}.{written:%Y%m%dT%H%M%S}"
        kept = out.with_name(f"{stem}{out.suffix}")
        number = 1
        while kept.exists():
            number += 1
            kept = out.with_name(f"{stem}-{number}{out.suffix}")
        out.rename(kept)
    partial.replace(out)
    return kept


# --- measuring a process tree ----------------------------------------------------------------


@dataclass
class Measurement:
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    returncode: int
    output: str = field(repr=False, default="")
    # The two sources of peak_rss_mb (it is the larger): the kernel's peak RSS of the largest
    # single process of the tree, and the tree's summed RSS sampled every SAMPLE_SECONDS.
    max_process_rss_mb: float = 0.0
    sampled_tree_rss_mb: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "cpu_seconds": round(self.cpu_seconds, 2),
            "seconds": round(self.seconds, 2),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "max_process_rss_mb": round(self.max_process_rss_mb, 1),
            "sampled_tree_rss_mb": round(self.sampled_tree_rss_mb, 1),
        }


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # exited between listing and reading
            total += member.memory_info().rss
    return total


MEASURE_CHILD = Path(__file__).with_name("measure_child.py")


def measure(command: list[str], env: dict[str, str] | None = None) -> Measurement:
    """Run `command` to completion: wall time, CPU seconds and peak RSS of its process tree.

    The command runs under retention/measure_child.py, which reports the kernel's resource
    usage of it as it is reaped (`wait4`): the CPU seconds of the command and of every
    descendant it waited for (DuckDB's and dbt's threads live inside the processes), and the
    peak RSS of the largest of those processes. A thread also samples the summed RSS of the
    tree every SAMPLE_SECONDS, for steps that run processes side by side; a peak shorter
    than that can escape the sampling, not the kernel's figure."""
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        report = Path(folder) / "usage.json"
        child = subprocess.Popen(
            [sys.executable, "-I", "-S", str(MEASURE_CHILD), str(report), *command],
            cwd=REPO_ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=signals.die_with_parent(signal.SIGTERM),
        )
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            try:
                process = psutil.Process(child.pid)
            except psutil.Error:
                return
            while not done.is_set():
                try:
                    peak = max(peak, _tree_rss(process))
                except psutil.Error:
                    return
                done.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            output, _ = child.communicate()
        finally:
            done.set()
            if child.poll() is None:  # the benchmark was stopped: its step stops too
                signals.stop_child(child)
        sampler.join()
        if not report.exists():  # the command could not be started
            return Measurement(0.0, 0.0, 0.0, child.returncode or 127, output)
        usage = json.loads(report.read_text(encoding="utf-8"))
    largest, sampled = usage["max_process_rss_mb"], peak / 2**20
    return Measurement(
        seconds=usage["seconds"],
        peak_rss_mb=max(largest, sampled),
        cpu_seconds=usage["cpu_seconds"],
        returncode=usage["returncode"],
        output=output,
        max_process_rss_mb=largest,
        sampled_tree_rss_mb=sampled,
    )


def _checked(name: str, result: Measurement) -> Measurement:
    if result.returncode != 0:
        tail = "\n".join(result.output.splitlines()[-40:])
        raise BenchError(f"{name} failed (exit {result.returncode}):\n{tail}")
    return result


class BenchError(Exception):
    """A step of the benchmark failed; the message holds the end of its output."""


# --- commands --------------------------------------------------------------------------------


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def retention_command(*args: str) -> list[str]:
    return [_bin("retention"), *args]


@dataclass(frozen=True)
class Workspace:
    """Where one scale's benchmark keeps its data, databases and dbt artifacts."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def data_before(self) -> Path:
        return self.root / "data_before"

    @property
    def data_last_day(self) -> Path:
        return self.root / "data_last_day"

    @property
    def work(self) -> Path:
        return self.root / "work"

    def db(self, name: str) -> Path:
        return self.work / f"{name}.duckdb"

    def dbt(self, db: Path, *args: str) -> tuple[list[str], dict[str, str]]:
        """A dbt command on `db`, with target and log paths of its own (the same from run
        to run, so that dbt's partial parsing works as it does for a daily job)."""
        command = dbt_runner.command(
            list(args),
            target_path=self.work / f"target-{db.stem}",
            log_path=self.work / f"logs-{db.stem}",
        )
        env = dbt_runner.environment(db, base={})
        return command, env


def _remove_db(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        candidate.unlink(missing_ok=True)


# --- data sets -------------------------------------------------------------------------------


def _generator_fingerprint() -> str:
    """A hash of the generator package's source files (names and contents, in name order)."""
    digest = hashlib.sha256()
    for path in sorted((REPO_ROOT / "retention" / "generate").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_data(ws: Workspace, customers: int, say) -> dict[str, Any]:
    """Generate the data set (or reuse it) and derive `data_before`; return the stamp."""
    stamp_path = ws.root / STAMP
    wanted = {"customers": customers, "seed": SEED, "generator": _generator_fingerprint()}
    stamp = _read_stamp(stamp_path)
    if {k: stamp.get(k) for k in wanted} == wanted and _cache_is_whole(ws, stamp):
        say(f"  reusing the data set in {ws.data}")
        return {**stamp, "generated_now": False}
    for folder in (ws.data, ws.data_before, ws.data_last_day):
        shutil.rmtree(folder, ignore_errors=True)
    stamp_path.unlink(missing_ok=True)
    ws.root.mkdir(parents=True, exist_ok=True)
    say(f"  generating {customers:,} customers into {ws.data}")
    generated = _checked(
        "retention generate",
        measure(
            retention_command(
                "generate",
                "--out",
                str(ws.data),
                "--customers",
                str(customers),
                "--seed",
                str(SEED),
                "--format",
                "parquet",
            )
        ),
    )
    cutoff = _write_data_before(ws.data, ws.data_before, ws.data_last_day)
    stamp = {
        **wanted,
        "generate": generated.as_dict(),
        "rows": _parquet_rows(ws.data),
        "rows_before": _parquet_rows(ws.data_before),
        "before_cutoff": cutoff,
    }
    stamp_path.write_text(json.dumps(stamp, indent=1), encoding="utf-8")
    return {**stamp, "generated_now": True}


def _read_stamp(path: Path) -> dict[str, Any]:
    """The stamp of a cached data set; empty when there is none or it cannot be read."""
    try:
        stamp = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def _cache_is_whole(ws: Workspace, stamp: dict[str, Any]) -> bool:
    """Whether the three folders still hold the files and rows the stamp recorded: a file
    removed or damaged since (a clean-up, a full disk) has the data set generated again,
    rather than a benchmark of part of it, or a load that fails after minutes."""
    rows, before = stamp.get("rows"), stamp.get("rows_before")
    if not isinstance(rows, dict) or not isinstance(before, dict):
        return False
    last_day = {name: n - before.get(name, 0) for name, n in rows.items()}
    try:
        return (
            _parquet_rows(ws.data) == rows
            and _parquet_rows(ws.data_before) == before
            and _parquet_rows(ws.data_last_day) == {k: n for k, n in last_day.items() if n}
        )
    except (duckdb.Error, OSError, TypeError):
        return False


def _parquet_rows(folder: Path) -> dict[str, int]:
    with duckdb.connect() as con:
        return {
            path.stem: con.execute(
                f"select count(*) from read_parquet({path_literal(path)})"
            ).fetchone()[0]
            for path in sorted(folder.glob("*.parquet"))
        }


def _write_data_before(data: Path, before: Path, last_day: Path) -> str:
    """The data set as it was one nightly load earlier (without the rows loaded on the last
    load day) into `before`, and that last nightly load into `last_day` (a table without rows
    that day has no file: the loader refuses an empty file of a required table). Returns
    that day."""
    before.mkdir(parents=True, exist_ok=True)
    last_day.mkdir(parents=True, exist_ok=True)
    files = sorted(data.glob("*.parquet"))
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        loaded = " union all ".join(
            f"select max(try_cast(_loaded_at as timestamptz)) as loaded_at "
            f"from read_parquet({path_literal(path)})"
            for path in files
        )
        cutoff = con.execute(
            f"select cast(date_trunc('day', max(loaded_at)) as timestamptz) from ({loaded})"
        ).fetchone()[0]
        for path in files:
            con.execute(
                f"copy (select * from read_parquet({path_literal(path)}) "
                "where try_cast(_loaded_at as timestamptz) < ? or _loaded_at is null) "
                f"to {sql_literal(before / path.name)} (format parquet)",
                [cutoff],
            )
            last = (
                f"from read_parquet({path_literal(path)}) "
                "where try_cast(_loaded_at as timestamptz) >= ?"
            )
            if con.execute(f"select count(*) {last}", [cutoff]).fetchone()[0]:
                con.execute(
                    f"copy (select * {last}) to {sql_literal(last_day / path.name)} "
                    "(format parquet)",
                    [cutoff],
                )
    return cutoff.isoformat()


# --- checks ----------------------------------------------------------------------------------


def _raw_counts(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            name: con.execute(f"select count(*) from raw.{name}").fetchone()[0] for name in TABLES
        }


def bench_scale(customers: int, runs: int, say, bar: console.Bar | None = None) -> dict[str, Any]:
    """Measure one scale: 1 + runs × STEPS_PER_RUN steps of `bar` (the data set, then every
    command of every run)."""
    bar = bar or console.Bar()
    label = f"{_label(customers)} customers"
    bar.update(f"{label}: data set")
    ws = Workspace(CACHE_DIR / str(customers))
    stamp = ensure_data(ws, customers, say)
    # The scripts read every required table's file; the generator writes none for a required
    # table without rows (too few customers for a cancellation).
    if missing := [
        n for n, t in TABLES.items() if not t.is_optional_table and n not in stamp["rows"]
    ]:
        raise BenchError(
            f"{customers:,} customers are too few for the benchmark: the data set has no "
            f"{', '.join(missing)} (no rows); ask for more --customers"
        )
    ws.work.mkdir(parents=True, exist_ok=True)
    full_db, incremental_db = ws.db("full"), ws.db("incremental")
    # Untimed: dbt's partial-parse state for the target paths of the full and of the
    # incremental builds, so that every timed build parses as a daily job does; otherwise
    # the first run alone would pay a full parse. These parses drop a parse file that an
    # earlier benchmark left before a YAML file changed (retention/partial_parse.py); the
    # builds after them reuse theirs.
    for db in (full_db, incremental_db):
        parse = ws.dbt(db, "parse")
        with partial_parse.fresh(*parse, cwd=REPO_ROOT):
            _checked("dbt parse", measure(*parse))
    bar.advance()
    measurements: dict[str, list[Measurement]] = {step: [] for step in STEPS}
    checks: dict[str, Any] = {}

    def untimed(name: str, command: list[str], env: dict[str, str] | None = None) -> Measurement:
        bar.update(f"{label}, run {run}/{runs}: {name}")
        result = _checked(name, measure(command, env))
        bar.advance()
        return result

    def step(name: str, command: list[str], env: dict[str, str] | None = None) -> Measurement:
        result = untimed(name, command, env)
        measurements[name].append(result)
        say(
            f"    {name:<17} cpu {result.cpu_seconds:7.1f} s  wall {result.seconds:7.1f} s"
            f"  {result.peak_rss_mb / 1024:6.2f} GiB"
        )
        return result

    for run in range(1, runs + 1):
        say(f"  run {run}/{runs}")
        # The full build.
        _remove_db(full_db)
        step("load", retention_command("load", str(ws.data), "--db", str(full_db)))
        step("full_build", *ws.dbt(full_db, *BUILD, "--full-refresh"))
        step("validate", retention_command("validate", "--db", str(full_db)))
        for name, module in BASELINES.items():
            numbers_path = ws.work / f"{name}_numbers.json"
            step(name, [sys.executable, "-m", module, str(ws.data), "--out", str(numbers_path)])
            if run == 1:
                numbers = json.loads(numbers_path.read_text(encoding="utf-8"))
                checks[f"{name}_equals_marts"] = compare_with_marts(numbers, full_db, name)
        if run == 1:
            checks["volumes"] = _raw_counts(full_db)

        # The day before, built in full (not timed), then one more day built incrementally.
        _remove_db(incremental_db)
        untimed(
            DAY_BEFORE_LOAD,
            retention_command("load", str(ws.data_before), "--db", str(incremental_db)),
        )
        untimed(DAY_BEFORE_BUILD, *ws.dbt(incremental_db, *BUILD, "--full-refresh"))
        untimed(
            ONE_MORE_DAY_LOAD,
            retention_command("load", str(ws.data_last_day), "--db", str(incremental_db)),
        )
        step("incremental_build", *ws.dbt(incremental_db, *BUILD))
        if run == 1:
            try:
                checks["incremental_equals_full"] = compare_marts(full_db, incremental_db)
            except duckdb.Error as exc:
                raise BenchError(
                    f"comparing the incremental marts with the full build's: {exc}"
                ) from exc

    summary = {
        name: {
            "median_cpu_seconds": round(statistics.median(m.cpu_seconds for m in values), 2),
            "median_seconds": round(statistics.median(m.seconds for m in values), 2),
            "median_peak_rss_mb": round(statistics.median(m.peak_rss_mb for m in values), 1),
            "runs": [m.as_dict() for m in values],
        }
        for name, values in measurements.items()
        if values
    }
    return {
        "customers": customers,
        "data": {k: v for k, v in stamp.items() if k not in ("customers", "seed")},
        "steps": summary,
        "checks": checks,
    }


# --- report ----------------------------------------------------------------------------------


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if denominator else None


def derived(scale: dict[str, Any]) -> dict[str, Any]:
    """The figures derived from a scale's medians: from CPU seconds (`*_cpu`, and the ratios
    without a suffix), with the same figure from wall seconds beside (`*_wall`)."""
    steps = scale["steps"]
    out: dict[str, Any] = {}
    for kind, field_ in (("cpu", "median_cpu_seconds"), ("wall", "median_seconds")):

        def s(name: str, field_: str = field_) -> float:
            return steps[name][field_]

        full, incremental = s("full_build"), s("incremental_build")
        warehouse = s("load") + full
        suffix = "" if kind == "cpu" else "_wall"
        out |= {
            f"full_build_{kind}": round(full, 2),
            f"incremental_build_{kind}": round(incremental, 2),
            f"warehouse_{kind}": round(warehouse, 2),
            f"incremental_share_of_full{suffix}": _ratio(incremental, full),
            f"warehouse_over_duckdb_script{suffix}": _ratio(warehouse, s("duckdb_script")),
            f"pandas_over_warehouse{suffix}": _ratio(s("pandas"), warehouse),
        }
    out["full_build_peak_rss_mb"] = steps["full_build"]["median_peak_rss_mb"]
    out["incremental_build_peak_rss_mb"] = steps["incremental_build"]["median_peak_rss_mb"]
    return out


def _label(customers: int) -> str:
    if customers % 1_000_000 == 0:
        return f"{customers // 1_000_000}M"
    if customers % 1_000 == 0:
        return f"{customers // 1_000}k"
    return str(customers)


STEP_TITLES = {
    "load": "load",
    "full_build": "full dbt build",
    "incremental_build": "incr. dbt build (+1 d)",
    "validate": "retention validate",
    "pandas": "pandas script",
    "duckdb_script": "DuckDB SQL script",
}


def render(results: dict[str, Any]) -> str:
    """The table of medians: per step CPU s / wall s / peak GiB, then the derived figures
    (from CPU seconds, the wall figure in brackets)."""
    scales = results["scales"]
    labels = [_label(s["customers"]) for s in scales]
    width, first = 28, 26
    rule = "-" * (first + width * len(labels))
    lines = [
        f"median of {results['runs']} run(s)".ljust(first)
        + "".join(f"{label}: cpu s / wall s / GiB".rjust(width) for label in labels),
        rule,
    ]
    for key, title in STEP_TITLES.items():
        cells = []
        for scale in scales:
            step = scale["steps"][key]
            cells.append(
                f"{step['median_cpu_seconds']:.1f} / {step['median_seconds']:.1f} / "
                f"{step['median_peak_rss_mb'] / 1024:.2f}".rjust(width)
            )
        lines.append(title.ljust(first) + "".join(cells))
    lines.append(rule)

    def pair(value: float | None, wall: float | None, fmt: str) -> str:
        shown = "n/a" if value is None else fmt.format(value)
        return f"{shown} ({'n/a' if wall is None else fmt.format(wall)} wall)"

    for key, title, fmt in [
        ("warehouse", "warehouse (load+build) s", "{:.1f}"),
        ("incremental_share_of_full", "incremental / full", "{:.0%}"),
        ("warehouse_over_duckdb_script", "warehouse / DuckDB script", "{:.1f}x"),
        ("pandas_over_warehouse", "pandas / warehouse", "{:.2f}x"),
    ]:
        cells = []
        for scale in scales:
            d = scale["derived"]
            if key == "warehouse":
                cells.append(pair(d["warehouse_cpu"], d["warehouse_wall"], fmt).rjust(width))
            else:
                cells.append(pair(d[key], d[f"{key}_wall"], fmt).rjust(width))
        lines.append(title.ljust(first) + "".join(cells))
    for entry in results.get("growth") or []:
        lines.append(
            f"growth {entry['from']} -> {entry['to']} (CPU s): customers x{entry['customers']:.0f}"
            f", orders x{entry['orders']:.1f}, full build x{entry['full_build']:.1f} "
            f"(wall x{entry['full_build_wall']:.1f}), incremental x"
            f"{entry['incremental_build']:.1f}, pandas x{entry['pandas']:.1f}, DuckDB script "
            f"x{entry['duckdb_script']:.1f}"
        )
    for name, version in (results.get("code") or {}).items():
        commit = version["commit"][:12] if version["commit"] else "not a git checkout"
        dirty = " with uncommitted changes" if version["uncommitted_changes"] else ""
        lines.append(f"{name}: {commit}{dirty}, started {results.get('started_at')}")
    return "\n".join(lines)


def _growth(scales: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each scale against the one before: the factors of the data and of the CPU seconds
    (the full build's wall factor beside)."""

    def factor(
        small: dict[str, Any], large: dict[str, Any], step: str, field_: str = "median_cpu_seconds"
    ) -> float | None:
        before = small["steps"][step][field_]
        return round(large["steps"][step][field_] / before, 2) if before else None

    out = []
    for small, large in zip(scales, scales[1:], strict=False):
        out.append(
            {
                "from": _label(small["customers"]),
                "to": _label(large["customers"]),
                "customers": large["customers"] / small["customers"],
                "orders": round(
                    large["checks"]["volumes"]["orders"] / small["checks"]["volumes"]["orders"], 2
                ),
                "full_build": factor(small, large, "full_build"),
                "full_build_wall": factor(small, large, "full_build", "median_seconds"),
                "incremental_build": factor(small, large, "incremental_build"),
                "pandas": factor(small, large, "pandas"),
                "duckdb_script": factor(small, large, "duckdb_script"),
            }
        )
    return out


# --- command line ----------------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--customers",
        type=_positive,
        nargs="+",
        default=list(DEFAULT_SCALES),
        metavar="N",
        help="scales in customers (default: "
        + " ".join(map(str, DEFAULT_SCALES))
        + "; docs/performance.md's figures: 10000 100000 1000000)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO_ROOT / "bench_results" / "bench.json",
        metavar="FILE",
        help="write the measurements here as JSON (default: bench_results/bench.json); an "
        "earlier file there is kept, renamed after the time it was written",
    )
    parser.add_argument(
        "--runs",
        type=_positive,
        default=DEFAULT_RUNS,
        metavar="K",
        help=f"runs per scale; medians are reported (default {DEFAULT_RUNS}; "
        "docs/performance.md's figures: 3)",
    )


def code_version(checkout: Path) -> dict[str, Any]:
    """The commit a checkout is at and whether its tracked files differ from it (None
    outside a git checkout), so that a figure names the code it was taken on."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(checkout), *args], capture_output=True, text=True, check=True
            )
        except (OSError, subprocess.CalledProcessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    changes = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "uncommitted_changes": bool(changes) if commit else None}


def provenance(code: dict[str, Path] | None = None) -> dict[str, Any]:
    """When and where measurements start, and on which code: the start time (UTC), the
    machine (its load average too, since this machine's speed drifts) and, for each named
    checkout (default: this one, as "checkout"), `code_version`."""
    checkouts = code if code is not None else {"checkout": REPO_ROOT}
    return {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "code": {name: code_version(path) for name, path in checkouts.items()},
    }


def run(args: argparse.Namespace) -> int:
    def say(message: str) -> None:
        print(message, flush=True)

    results: dict[str, Any] = {
        **provenance(),
        "runs": args.runs,
        "derived_from": "median CPU seconds (user + sys); *_wall: median wall seconds",
        "scales": [],
    }
    if problem := out_problem(args.out):
        console.error("bench", f"{problem}; nothing was run")
        return 2
    failed = False
    scales = sorted(set(args.customers))
    with console.progress("bench", total=len(scales) * (1 + args.runs * STEPS_PER_RUN)) as bar:
        for customers in scales:
            say(f"{_label(customers)} customers")
            try:
                scale = bench_scale(customers, args.runs, say, bar)
            except BenchError as exc:
                console.error("bench", str(exc))
                return 2
            scale["derived"] = derived(scale)
            for name in CHECKS:
                problems = scale["checks"][name]
                if problems:
                    failed = True
                    say(f"  CHECK FAILED {name}:\n    " + "\n    ".join(problems))
                else:
                    say(f"  check ok: {name}")
            results["scales"].append(scale)
    results["growth"] = _growth(results["scales"])
    results["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    say("")
    say(render(results))  # first: a file that cannot be written now loses the raw JSON only
    try:
        kept = write_results(args.out, json.dumps(results, indent=1, default=str))
    except OSError as exc:
        console.error("bench", f"cannot write --out {args.out}: {exc.strerror or exc}")
        return 2
    say(f"\nwrote {args.out}" + (f" (the earlier results kept as {kept})" if kept else ""))
    return 1 if failed else 0
