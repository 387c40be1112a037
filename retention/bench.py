"""`retention bench`: time the warehouse at growing data sizes, against a pandas notebook.

For each scale (customers; by default 10k and 100k, one run: a couple of minutes; the
figures in README "Performance" are ``--customers 10000 100000 1000000 --runs 3``, as `make
bench` runs it) the benchmark

1. generates the synthetic data set as Parquet (`retention generate --format parquet`, seed
   42) into ``.cache/bench/<N>/data``, or reuses it when the generator has not changed since;
   it also keeps ``data_before``: the same files without the last nightly load (the rows whose
   ``_loaded_at`` falls on the last load day), and ``data_last_day``: that nightly load alone,
   for the incremental build;
2. times, as separate processes, with the peak RSS of each process tree (sampled every 0.2 s):
   - ``load``: `retention load` of the data into a new database file;
   - ``dbt_run``: a full build of the models (and the seed they read), `--full-refresh`;
   - ``dbt_test``: `dbt test` (every data test; unit tests are left out, they do not read the
     data and run in `make test`);
   - ``incremental_run`` and ``incremental_test``: in a second database built from
     ``data_before``, ``data_last_day`` is appended (one more day) and the models are built
     and tested again, as the daily job does; the incremental marts must equal the full
     build's;
   - ``validate``: `retention validate` (Great Expectations) on the full build;
   - ``pandas``: `retention/pandas_baseline.py`, the notebook an analyst would write
     instead; its numbers must equal the marts (monthly order churn, the order cohort
     matrix, repeat purchase rates, the seed-formula CLV of all customers);
3. repeats this ``--runs`` times and reports the median of each step.

It prints a table and writes every measurement as JSON (``--out``). The machine is whatever
it runs on: other processes running at the same time slow it down, so quote medians. On a
terminal a progress bar counts the steps. Exit status 1 when a check fails (pandas numbers
or incremental marts differ), 2 when a step fails.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import psutil

from retention import console, dbt_runner
from retention.compare import compare_marts, compare_with_pandas
from retention.contract import TABLES
from retention.paths import REPO_ROOT

DEFAULT_SCALES = (10_000, 100_000)  # a couple of minutes; README's figures add 1_000_000
DEFAULT_RUNS = 1  # README's figures: medians of 3
SEED = 42
CACHE_DIR = REPO_ROOT / ".cache" / "bench"
SAMPLE_SECONDS = 0.2
STAMP = "_bench.json"
# `dbt run` of the models, with the seed they read: a build of those two resource types.
MODELS = ("build", "--resource-type", "seed", "--resource-type", "model")
STEPS = (
    "load",
    "dbt_run",
    "dbt_test",
    "incremental_run",
    "incremental_test",
    "validate",
    "pandas",
)
# Untimed commands of every run: the incremental database's day before, then one more day.
DAY_BEFORE_LOAD, DAY_BEFORE_BUILD, ONE_MORE_DAY_LOAD = UNTIMED = (
    "load (day before)",
    "dbt build (day before)",
    "load (one more day)",
)
STEPS_PER_RUN = len(STEPS) + len(UNTIMED)
EXIT_CODES = {
    0: "every step ran and every check passed",
    1: "a check failed: the pandas numbers or the incremental marts differ from the full build",
    2: "a step failed (the end of its output is printed)",
}


# --- measuring a process tree ----------------------------------------------------------------


@dataclass
class Measurement:
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    returncode: int
    output: str = field(repr=False, default="")

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 2),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "cpu_seconds": round(self.cpu_seconds, 2),
        }


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # exited between listing and reading
            total += member.memory_info().rss
    return total


def measure(command: list[str], env: dict[str, str] | None = None) -> Measurement:
    """Run `command` to completion; wall time, peak RSS of its process tree, CPU seconds."""
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    child = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
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
    output, _ = child.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    usage_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (usage_after.ru_utime - usage_before.ru_utime) + (
        usage_after.ru_stime - usage_before.ru_stime
    )
    return Measurement(seconds, peak / 2**20, cpu, child.returncode, output)


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
    if stamp_path.exists():
        stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
        if (
            {k: stamp.get(k) for k in wanted} == wanted
            and ws.data_before.is_dir()
            and ws.data_last_day.is_dir()
        ):
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


def _parquet_rows(folder: Path) -> dict[str, int]:
    with duckdb.connect() as con:
        return {
            path.stem: con.execute("select count(*) from read_parquet(?)", [str(path)]).fetchone()[
                0
            ]
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
            f"from read_parquet('{path}')"
            for path in files
        )
        cutoff = con.execute(
            f"select cast(date_trunc('day', max(loaded_at)) as timestamptz) from ({loaded})"
        ).fetchone()[0]
        for path in files:
            con.execute(
                f"copy (select * from read_parquet('{path}') "
                "where try_cast(_loaded_at as timestamptz) < ? or _loaded_at is null) "
                f"to '{before / path.name}' (format parquet)",
                [cutoff],
            )
            last = f"from read_parquet('{path}') where try_cast(_loaded_at as timestamptz) >= ?"
            if con.execute(f"select count(*) {last}", [cutoff]).fetchone()[0]:
                con.execute(
                    f"copy (select * {last}) to '{last_day / path.name}' (format parquet)",
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
    bar.advance()
    ws.work.mkdir(parents=True, exist_ok=True)
    full_db, incremental_db = ws.db("full"), ws.db("incremental")
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
            f"    {name:<17} {result.seconds:8.1f} s  {result.peak_rss_mb / 1024:6.2f} GiB"
            f"  (cpu {result.cpu_seconds:.0f} s)"
        )
        return result

    for run in range(1, runs + 1):
        say(f"  run {run}/{runs}")
        # The full build.
        _remove_db(full_db)
        step("load", retention_command("load", str(ws.data), "--db", str(full_db)))
        step("dbt_run", *ws.dbt(full_db, *MODELS, "--full-refresh"))
        step("dbt_test", *ws.dbt(full_db, "test", "--exclude-resource-type", "unit_test"))
        step("validate", retention_command("validate", "--db", str(full_db)))
        numbers_path = ws.work / "pandas_numbers.json"
        step(
            "pandas",
            [
                sys.executable,
                "-m",
                "retention.pandas_baseline",
                str(ws.data),
                "--out",
                str(numbers_path),
            ],
        )
        if run == 1:
            numbers = json.loads(numbers_path.read_text(encoding="utf-8"))
            checks["pandas_equals_marts"] = compare_with_pandas(numbers, full_db)
            checks["volumes"] = _raw_counts(full_db)

        # The day before, built in full (not timed), then one more day built incrementally.
        _remove_db(incremental_db)
        untimed(
            DAY_BEFORE_LOAD,
            retention_command("load", str(ws.data_before), "--db", str(incremental_db)),
        )
        untimed(
            DAY_BEFORE_BUILD,
            *ws.dbt(
                incremental_db, "build", "--full-refresh", "--exclude-resource-type", "unit_test"
            ),
        )
        untimed(
            ONE_MORE_DAY_LOAD,
            retention_command("load", str(ws.data_last_day), "--db", str(incremental_db)),
        )
        step("incremental_run", *ws.dbt(incremental_db, *MODELS))
        step(
            "incremental_test",
            *ws.dbt(incremental_db, "test", "--exclude-resource-type", "unit_test"),
        )
        if run == 1:
            checks["incremental_equals_full"] = compare_marts(full_db, incremental_db)

    summary = {
        name: {
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


def derived(scale: dict[str, Any]) -> dict[str, float]:
    steps = scale["steps"]

    def s(name: str) -> float:
        return steps[name]["median_seconds"]

    full = s("dbt_run") + s("dbt_test")
    incremental = s("incremental_run") + s("incremental_test")
    return {
        "dbt_build_seconds": round(full, 2),
        "dbt_build_peak_rss_mb": max(
            steps["dbt_run"]["median_peak_rss_mb"], steps["dbt_test"]["median_peak_rss_mb"]
        ),
        "incremental_build_seconds": round(incremental, 2),
        "incremental_share_of_full": round(incremental / full, 3),
        "pandas_over_dbt_build": round(s("pandas") / full, 2),
    }


def _label(customers: int) -> str:
    if customers % 1_000_000 == 0:
        return f"{customers // 1_000_000}M"
    if customers % 1_000 == 0:
        return f"{customers // 1_000}k"
    return str(customers)


def render(results: dict[str, Any]) -> str:
    scales = results["scales"]
    labels = [_label(s["customers"]) for s in scales]
    width = 20
    lines = [
        "step".ljust(22) + "".join(label.rjust(width) for label in labels),
        "-" * (22 + width * len(labels)),
    ]
    rows = [
        ("load", "load"),
        ("dbt_run", "dbt run (models)"),
        ("dbt_test", "dbt test"),
        ("incremental_run", "incr. run (+1 day)"),
        ("incremental_test", "incr. test"),
        ("validate", "retention validate"),
        ("pandas", "pandas notebook"),
    ]
    for key, title in rows:
        cells = []
        for scale in scales:
            step = scale["steps"][key]
            cells.append(
                f"{step['median_seconds']:.1f} s {step['median_peak_rss_mb'] / 1024:.2f} GiB".rjust(
                    width
                )
            )
        lines.append(title.ljust(22) + "".join(cells))
    lines.append("-" * (22 + width * len(labels)))
    for key, title, fmt in [
        ("dbt_build_seconds", "dbt build (run+test)", "{:.1f} s"),
        ("incremental_build_seconds", "incremental build", "{:.1f} s"),
        ("incremental_share_of_full", "incremental / full", "{:.0%}"),
        ("pandas_over_dbt_build", "pandas / dbt build", "{:.2f}x"),
    ]:
        lines.append(
            title.ljust(22)
            + "".join(fmt.format(scale["derived"][key]).rjust(width) for scale in scales)
        )
    growth = results.get("growth") or []
    for entry in growth:
        lines.append(
            f"growth {entry['from']} -> {entry['to']}: customers x{entry['customers']:.0f}, "
            f"orders x{entry['orders']:.1f}, dbt build x{entry['dbt_build']:.1f}, "
            f"incremental x{entry['incremental_build']:.1f}, pandas x{entry['pandas']:.1f}"
        )
    return "\n".join(lines)


def _growth(scales: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for small, large in zip(scales, scales[1:], strict=False):
        out.append(
            {
                "from": _label(small["customers"]),
                "to": _label(large["customers"]),
                "customers": large["customers"] / small["customers"],
                "orders": large["checks"]["volumes"]["orders"]
                / small["checks"]["volumes"]["orders"],
                "dbt_build": large["derived"]["dbt_build_seconds"]
                / small["derived"]["dbt_build_seconds"],
                "incremental_build": large["derived"]["incremental_build_seconds"]
                / small["derived"]["incremental_build_seconds"],
                "pandas": large["steps"]["pandas"]["median_seconds"]
                / small["steps"]["pandas"]["median_seconds"],
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
        + "; README's figures: 10000 100000 1000000)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO_ROOT / "bench_results" / "bench.json",
        metavar="FILE",
        help="write the measurements here as JSON (default: bench_results/bench.json)",
    )
    parser.add_argument(
        "--runs",
        type=_positive,
        default=DEFAULT_RUNS,
        metavar="K",
        help=f"runs per scale; medians are reported (default {DEFAULT_RUNS}; README's figures: 3)",
    )


def run(args: argparse.Namespace) -> int:
    def say(message: str) -> None:
        print(message, flush=True)

    results: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "runs": args.runs,
        "scales": [],
    }
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
            for name in ("pandas_equals_marts", "incremental_equals_full"):
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
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    say("")
    say(render(results))
    say(f"\nwrote {args.out}")
    return 1 if failed else 0
