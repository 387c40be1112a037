"""A few models of two versions of the project, timed side by side on one warehouse.

`side_by_side.py` times whole builds, whose run-to-run noise (a tenth or more on this
machine) can hide a change of a few CPU seconds in one model. This script times only the
models given to `--select`, each version in turn, on the same upstream tables:

    git worktree add /tmp/old e3d60a7
    .venv/bin/retention bench --customers 1000000 --runs 1   # makes .cache/bench/1000000
    .venv/bin/python docs/benchmarks/models_side_by_side.py --old /tmp/old \\
        --data .cache/bench/1000000 \\
        --select "int_customer_periods_closed int_customer_periods_open" --out models.json

Steps, with this checkout's code for everything that is not timed:

- `data_before` loaded, and the selected models and everything upstream of them built
  with `--full-refresh`;
- full: in each round, each version runs the selected models with `--full-refresh`;
- the last load day (`data_last_day`) loaded, and the models upstream of the selection
  built on it (incremental, as a one-day build does);
- one-day: in each round, each version runs the selected models (incremental) on that
  warehouse, copied back to the same path before each run; after the last round the two
  versions' tables (of the models both name alike and store as tables: `--old-select`
  gives the old version's names when a model was renamed) are compared row for row
  (`retention.compare.compare_marts`, as the checks compare an incremental build with a
  full one), and a difference stops the script.

Each dbt run is timed as `retention bench` times its steps (`retention.bench.measure`: CPU
is the user + sys time of the dbt process tree, dbt's start included); with `--per-node`,
through `node_cpu.py` instead (dbt in that process, one dbt thread: the process's CPU
seconds from dbt's invocation on, and each node's), for changes smaller than the noise of
whole runs. An untimed `dbt
parse` per version comes first, on the same warehouse path as the timed runs: dbt reuses a
parse only for the same profile, and the path is in it.

The JSON opens with when the runs started, the machine and its load, and each version's
commit (`retention.bench.provenance`; earlier JSONs lack them, and docs/decisions.md names
their commits).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import duckdb
from side_by_side import Versions  # this folder's whole-build script

from retention.bench import provenance
from retention.compare import compare_marts

HERE = Path(__file__).resolve().parents[2]
VERSIONS = ("old", "new")
# The seeds and models upstream of the selection, without tests.
UNTESTED_BUILD = ("build", "--exclude-resource-type", "test", "unit_test")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--old", type=Path, required=True, help="a checkout of the old version")
    parser.add_argument("--data", type=Path, required=True, help="a retention bench data folder")
    parser.add_argument("--select", required=True, help="the models to time (dbt selection)")
    parser.add_argument(
        "--old-select",
        help="the old version's names for them, when a model was renamed (default: --select)",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--per-node",
        action="store_true",
        help="time each run through node_cpu.py (one dbt thread): CPU seconds per model too",
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.data = args.data.resolve()
    for folder in ("data_before", "data_last_day"):
        if not (args.data / folder).is_dir():
            parser.error(f"--data {args.data} has no {folder}/ (run retention bench first)")
    code = {"old": args.old.resolve(), "new": HERE}
    taken = provenance(code)
    models = args.select.split()
    selected = {"old": (args.old_select or args.select).split(), "new": models}
    upstream = " ".join(f"+{model}" for model in models)

    with tempfile.TemporaryDirectory(prefix="models-side-by-side-") as folder:
        work = Path(folder)
        versions = Versions(code, work)

        def say(round_number: int, step: str, version: str, timing: dict[str, Any]) -> None:
            cpu = timing["cpu_seconds"]
            print(f"round {round_number} {step:<7} {version}: {cpu} CPU-s", flush=True)

        def timed(version: str, dbt_args: list[str]) -> dict[str, Any]:
            if not args.per_node:
                return versions.dbt(version, db, dbt_args)
            return per_node(versions, version, db, dbt_args)

        db = work / "warehouse.duckdb"
        for version in VERSIONS:
            versions.dbt(version, db, ["parse"])
        between = models_between(versions, db, models)
        if between:
            sys.exit(
                "models outside --select lie between selected ones, and would be read stale: "
                f"add {' '.join(between)} to --select (and --old-select)"
            )
        print("building the day before (untimed)", flush=True)
        versions.load("new", args.data / "data_before", db)
        versions.dbt("new", db, [*UNTESTED_BUILD, "--select", upstream, "--full-refresh"])

        runs: dict[str, dict[str, list[dict[str, Any]]]] = {
            version: {"full": [], "one_day": []} for version in VERSIONS
        }
        for round_number in range(1, args.runs + 1):
            for version in VERSIONS:
                full = timed(version, ["run", "--select", *selected[version], "--full-refresh"])
                runs[version]["full"].append(full)
                say(round_number, "full", version, full)

        print("loading the last day and building upstream of the selection (untimed)", flush=True)
        versions.load("new", args.data / "data_last_day", db)
        versions.dbt("new", db, [*UNTESTED_BUILD, "--select", upstream, "--exclude", *models])
        # Each one-day run starts from this state, copied back to the same path: dbt reuses
        # its parse only for the same profile (the warehouse's path is in it), as the full
        # runs did.
        day_state = work / "day-state.duckdb"
        shutil.copy(db, day_state)
        for round_number in range(1, args.runs + 1):
            for version in VERSIONS:
                shutil.copy(day_state, db)
                one_day = timed(version, ["run", "--select", *selected[version]])
                runs[version]["one_day"].append(one_day)
                say(round_number, "one-day", version, one_day)
                if round_number == args.runs:
                    shutil.copy(db, work / f"day-{version}.duckdb")

        # The schema dbt put the selection in; the tables compared as the checks compare an
        # incremental build with a full one (run-stamp columns left out).
        # The models both versions name alike and store as tables (a view reads the
        # other tables, which are compared).
        tables = {}
        for version in VERSIONS:
            with duckdb.connect(str(work / f"day-{version}.duckdb"), read_only=True) as con:
                query = "select table_name, schema_name from duckdb_tables()"
                tables[version] = dict(con.execute(query).fetchall())
        compared = [
            model
            for model in models
            if model in selected["old"] and model in tables["old"] and model in tables["new"]
        ]
        schemas = tables["new"]
        differences = compare_marts(
            work / "day-old.duckdb",
            work / "day-new.duckdb",
            relations=[f"{schemas[model]}.{model}" for model in compared],
        )
    medians = {
        version: {
            step: statistics.median(run["cpu_seconds"] for run in steps[step])
            for step in ("full", "one_day")
        }
        for version, steps in runs.items()
    }
    result: dict[str, Any] = {**taken, "runs": runs, "median_cpu_seconds": medians}
    if args.per_node:
        result["median_cpu_seconds_per_node"] = {
            version: {step: node_medians([run["nodes"] for run in steps[step]]) for step in steps}
            for version, steps in runs.items()
        }
    result["one_day_differences"] = differences
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result["median_cpu_seconds"], indent=1))
    if args.per_node:
        print(json.dumps(result["median_cpu_seconds_per_node"], indent=1))
    if differences:
        sys.exit("the two versions' one-day tables differ:\n" + "\n".join(differences))
    print(f"the two versions' one-day tables are equal ({', '.join(compared)})")


def per_node(versions: Versions, version: str, db: Path, dbt_args: list[str]) -> dict[str, Any]:
    """dbt DBT_ARGS of that version through node_cpu.py (one dbt thread): the process's CPU
    seconds and each node's."""
    report_path = versions.work / f"nodes-{version}.json"
    command = [
        sys.executable,
        str(Path(__file__).with_name("node_cpu.py")),
        *("--db", str(db), "--out", str(report_path)),
        *("--project-dir", str(versions.code[version]), "--"),
        *dbt_args,
        *("--target-path", str(versions.work / f"target-{version}")),
        *("--log-path", str(versions.work / f"logs-{version}")),
    ]
    done = subprocess.run(command, env=versions.env(version, db), capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{version} {' '.join(dbt_args)}: dbt failed\n{done.stdout[-3000:]}")
    report = json.loads(report_path.read_text())
    nodes = {
        unique_id.split(".")[-1]: node["cpu_seconds"] for unique_id, node in report["nodes"].items()
    }
    return {
        "cpu_seconds": report["total_cpu_seconds"],
        "seconds": report["total_seconds"],
        "nodes": nodes,
    }


def node_medians(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each node's median CPU seconds over the runs."""
    return {
        node: round(statistics.median(run[node] for run in runs), 2)
        for node in runs[0]
        if all(node in run for run in runs)
    }


def models_between(versions: Versions, db: Path, models: list[str]) -> list[str]:
    """The new version's tables downstream of one selected model and upstream of another,
    not selected themselves. The untimed build before the one-day runs leaves them out (it
    builds what is upstream of the selection), so a selected model would read them as the
    day before left them. (A view is never stale: it reads its inputs when queried.)"""

    def names(selection: str) -> set[str]:
        command = [
            str(Path(sys.executable).with_name("dbt")),
            *("ls", "--quiet", "--resource-type", "model", "--output", "name"),
            *("--select", selection, "--exclude", "config.materialized:view"),
            *("--project-dir", str(versions.code["new"])),
            *("--target-path", str(versions.work / "target-new")),
            *("--log-path", str(versions.work / "logs-new")),
        ]
        listed = subprocess.run(
            command, env=versions.env("new", db), capture_output=True, text=True, check=True
        )
        return set(listed.stdout.split())

    downstream = names(" ".join(f"{model}+" for model in models))
    upstream = names(" ".join(f"+{model}" for model in models))
    return sorted((downstream & upstream) - set(models))


if __name__ == "__main__":
    main()
