"""Build hand-computed fixture scenarios on the local Spark, in one process and one session.

    python python_checks_spark/run_scenarios.py WORKDIR SCENARIO [SCENARIO ...]

Run by test_scenarios.py with RETENTION_SPARK_DIR set (the `spark` target's warehouse and
metastore). dbt runs in this process (dbtRunner), so every scenario shares one SparkSession
(one JVM) and one parse of the project: the manifest is parsed once and handed to every
command, which compiles the models with its own scenario's vars (no model's configuration
reads a var, so the parse is the same for every scenario). The scenarios are built in turn
in the same schemas: each one loads its raw CSVs with the checked loader (a DuckDB landing
file per scenario), exports and registers them as the raw tables (as `retention load
--target spark` does), builds the marts that the scenario checks and every model and seed
they read (`--select +mart`, the same SQL as a full build) with the scenario's vars (every
selected table is replaced), and exports those marts as Parquet to
WORKDIR/<scenario>/marts_export/marts/<mart>. WORKDIR/results.json says, per scenario,
whether every step succeeded, the marts built, the seconds taken and dbt's last lines.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

from dbt.cli.main import dbtRunner

from retention.load import load_dir
from retention.marts import MARTS, PREDICTIVE_MARTS
from retention.spark import EXPORTED, export_raw

CHECKS = Path(__file__).resolve().parent.parent / "python_checks"
sys.path.insert(0, str(CHECKS))
from warehouse import FIXTURES_DIR, Scenario, load_scenario  # noqa: E402

ON_SPARK = [mart for mart in MARTS if mart not in PREDICTIVE_MARTS]


def checked_marts(scenario: Scenario) -> list[str]:
    """The marts whose values or row counts the scenario's expectations read, each built on
    Spark."""
    named = scenario.checked_marts
    unknown = named - set(ON_SPARK)
    if unknown:
        raise SystemExit(f"not a mart built on Spark: {sorted(unknown)}")
    return sorted(named)


def _invoke(runner: dbtRunner, args: list[str], log: io.StringIO) -> bool:
    with redirect_stdout(log):
        result = runner.invoke([*args, "--target", "spark"])
    return bool(result.success)


def build(workdir: Path, name: str, runner: dbtRunner) -> dict[str, object]:
    started = time.perf_counter()
    scenario = load_scenario(FIXTURES_DIR / name)
    marts = checked_marts(scenario)
    folder = workdir / name
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(scenario.raw_dir, folder / "raw")
    load_dir(folder / "raw", folder / "landing.duckdb")
    export_raw(folder / "landing.duckdb", folder / "raw_export")
    log = io.StringIO()
    location = folder / "raw_export"
    steps = [
        ["run-operation", "register_raw_tables", "--args"]
        + [f"{{location: '{location}', tables: {EXPORTED}}}"],
        ["build", "--resource-type", "model", "seed", "--vars", json.dumps(scenario.vars)]
        + ["--select", *(f"+{mart}" for mart in marts)],
        ["run-operation", "export_relations", "--args"]
        + [
            f"{{location: '{folder / 'marts_export'}', relations: {[f'marts.{m}' for m in marts]}}}"
        ],
    ]
    ok = all(_invoke(runner, step, log) for step in steps)
    (folder / "dbt.log").write_text(log.getvalue())
    return {
        "ok": ok,
        "marts": marts,
        "seconds": round(time.perf_counter() - started, 1),
        "tail": "\n".join(log.getvalue().splitlines()[-40:]),
    }


def main(argv: list[str]) -> int:
    workdir = Path(argv[0])
    workdir.mkdir(parents=True, exist_ok=True)
    # One parse for every command (dbt's artifacts under WORKDIR/dbt).
    os.environ["DBT_TARGET_PATH"] = str(workdir / "dbt")
    parsed = dbtRunner().invoke(["parse", "--target", "spark"])
    if not parsed.success:
        raise SystemExit(f"dbt parse failed: {parsed.exception}")
    runner = dbtRunner(manifest=parsed.result)
    results = {name: build(workdir, name, runner) for name in argv[1:]}
    (workdir / "results.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
