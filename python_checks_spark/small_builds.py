"""A small delivery built on both engines, for the tests that stage or build edge cases.

On DuckDB: `retention load` and a `dbt build` of models and seeds (BUILD below). On a local
Spark: the delivery loaded into a landing file with the checked loader, exported as Parquet
and registered as the raw tables (as `retention load --target spark` does), the same build
with `--target spark`, and relations exported
as Parquet under WORKDIR/export, all in one process and one Spark session (this file run as
a script, by build_on_spark):

    python python_checks_spark/small_builds.py RAW WORKDIR MODEL [MODEL ...] [--export RELATION ...]

Each engine's build selects every MODEL with its parents (`+MODEL`: seeds too); its
run_results.json is kept as WORKDIR/dbt/build_results.json (build_results below).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Models and seeds, no data or unit tests: the tests check values, not the builds' tests.
BUILD = ["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]


def write_raw(root: Path, files: dict[str, str]) -> Path:
    """The delivery folder `root/raw` holding each file (name: CSV text)."""
    raw = root / "raw"
    raw.mkdir()
    for name, text in files.items():
        (raw / name).write_text(text, encoding="utf-8")
    return raw


def dbt_env(workdir: Path) -> dict[str, str]:
    """The environment of one engine's build: its own warehouse, target and log folders."""
    return {
        **os.environ,
        "DBT_PROFILES_DIR": str(REPO_ROOT),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_TARGET_PATH": str(workdir / "dbt"),
        "DBT_LOG_PATH": str(workdir / "logs"),
        "RETENTION_DB_PATH": str(workdir / "warehouse.duckdb"),
        "RETENTION_SPARK_DIR": str(workdir / "spark"),
        "SPARK_LOCAL_IP": "127.0.0.1",
    }


def run(command: list[str], workdir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=REPO_ROOT, env=dbt_env(workdir), capture_output=True, text=True
    )


def tail(done: subprocess.CompletedProcess, lines: int = 40) -> str:
    """The last lines a command printed, for an assertion's message."""
    return "\n".join((done.stdout + done.stderr).splitlines()[-lines:])


def build_on_duckdb(raw: Path, workdir: Path, models: list[str]) -> subprocess.CompletedProcess:
    """Load raw into a fresh DuckDB warehouse in workdir and build +MODEL for every model."""
    workdir.mkdir(parents=True, exist_ok=True)  # no command creates a warehouse's folder
    loaded = run([str(BIN / "retention"), "--quiet", "load", str(raw)], workdir)
    assert loaded.returncode == 0, tail(loaded)
    selection = [f"+{model}" for model in models]
    done = run([str(BIN / "dbt"), "--quiet", *BUILD, "--select", *selection], workdir)
    _keep_build_results(workdir)
    return done


def build_on_spark(
    raw: Path, workdir: Path, models: list[str], export: list[str] | None = None
) -> subprocess.CompletedProcess:
    """The same on a fresh local Spark in workdir, then export relations as Parquet under
    workdir/export/<schema>/<name> (also after a failed build: the ones that were built)."""
    command = [sys.executable, __file__, str(raw), str(workdir), *models]
    return run(command + (["--export", *export] if export else []), workdir)


def _keep_build_results(workdir: Path) -> None:
    """The build's run_results.json, before a later command (an export) replaces it."""
    shutil.copy(workdir / "dbt" / "run_results.json", workdir / "dbt" / "build_results.json")


def build_results(workdir: Path) -> dict[str, tuple[str, str]]:
    """model name -> (status, message) of the build in workdir."""
    results = json.loads((workdir / "dbt" / "build_results.json").read_text())["results"]
    return {
        r["unique_id"].split(".")[-1]: (r["status"], r["message"] or "")
        for r in results
        if r["unique_id"].startswith("model.")
    }


def _build_in_this_process(raw: Path, workdir: Path, models: list[str], export: list[str]) -> int:
    from dbt.cli.main import dbtRunner

    from retention.load import load_dir
    from retention.spark import EXPORTED, export_raw

    workdir.mkdir(parents=True, exist_ok=True)
    load_dir(raw, workdir / "landing.duckdb")
    export_raw(workdir / "landing.duckdb", workdir / "raw_export")
    runner = dbtRunner()

    def invoke(step: list[str]) -> bool:
        result = runner.invoke([*step, "--target", "spark"])
        if not result.success:
            print(f"dbt {' '.join(step[:2])} failed: {result.exception}", file=sys.stderr)
        return result.success

    location = workdir / "raw_export"
    if not invoke(
        ["run-operation", "register_raw_tables", "--args"]
        + [f"{{location: '{location}', tables: {EXPORTED}}}"]
    ):
        return 1
    built = invoke([*BUILD, "--select", *(f"+{model}" for model in models)])
    _keep_build_results(workdir)
    # A failed build still exports the relations (a test may expect some models to fail).
    exported = not export or invoke(
        ["run-operation", "export_relations", "--args"]
        + [f"{{location: '{workdir / 'export'}', relations: {export}}}"]
    )
    return 0 if built and exported else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("raw", type=Path)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--export", nargs="*", default=[])
    args = parser.parse_args()
    sys.exit(_build_in_this_process(args.raw, args.workdir, args.models, args.export))
