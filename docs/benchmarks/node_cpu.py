"""CPU seconds per dbt node of one dbt command, from dbt's node events.

Whole-build figures say how much a build costs, not where: this runs one dbt command in
this process (`dbt.cli.main.dbtRunner`) and reads the process's CPU time (every thread's:
dbt's and DuckDB's) when each node starts and finishes. With `--threads 1` one node runs
at a time, so a node's CPU seconds are the process's while it runs; DuckDB still uses
every core inside a node. What falls outside the nodes (dbt's start, parse, hooks and
artifacts) is reported as `outside_nodes`.

    .venv/bin/python docs/benchmarks/node_cpu.py --db warehouse.duckdb --out nodes.json \\
        -- build --exclude-resource-type unit_test --full-refresh

The command's arguments come after `--`; `--threads 1` is added. The JSON opens with when
the command started, the machine and the checkout's commit (`retention.bench.provenance`).
The per-node figures of docs/benchmarks/2026-12-0*-1m-*.json ("dbt in process, one dbt
thread") were taken the same way, by an earlier script that was not kept.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from dbt.cli.main import dbtRunner

from retention import dbt_runner
from retention.bench import provenance

HERE = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--db", type=Path, required=True, help="the warehouse to run on")
    parser.add_argument("--out", type=Path, required=True, help="the JSON to write")
    parser.add_argument("--project-dir", type=Path, default=HERE)
    parser.add_argument("dbt_args", nargs="+", help="the dbt command, after --")
    args = parser.parse_args()
    os.environ.update(dbt_runner.environment(args.db.resolve()))
    os.environ["DBT_PROFILES_DIR"] = str(args.project_dir.resolve())

    started: dict[str, tuple[float, float]] = {}
    nodes: dict[str, dict[str, float]] = {}

    def on_event(event) -> None:
        name = event.info.name
        if name not in ("NodeStart", "NodeFinished"):
            return
        unique_id = event.data.node_info.unique_id
        now = (time.process_time(), time.perf_counter())
        if name == "NodeStart":
            started[unique_id] = now
        elif unique_id in started:
            cpu0, wall0 = started.pop(unique_id)
            nodes[unique_id] = {
                "cpu_seconds": round(now[0] - cpu0, 3),
                "seconds": round(now[1] - wall0, 3),
            }

    taken = provenance({"checkout": args.project_dir.resolve()})
    cpu0, wall0 = time.process_time(), time.perf_counter()
    command = [*args.dbt_args, "--threads", "1", "--project-dir", str(args.project_dir)]
    result = dbtRunner(callbacks=[on_event]).invoke(command)
    total_cpu, total_wall = time.process_time() - cpu0, time.perf_counter() - wall0
    in_nodes = sum(node["cpu_seconds"] for node in nodes.values())
    report = {
        **taken,
        "command": command,
        "success": result.success,
        "total_cpu_seconds": round(total_cpu, 2),
        "total_seconds": round(total_wall, 2),
        "outside_nodes_cpu_seconds": round(total_cpu - in_nodes, 2),
        "nodes": dict(sorted(nodes.items(), key=lambda item: -item[1]["cpu_seconds"])),
    }
    args.out.write_text(json.dumps(report, indent=1))
    print(f"{total_cpu:.1f} CPU-s, {total_wall:.1f} s wall; the largest nodes:")
    for unique_id, node in list(report["nodes"].items())[:15]:
        print(f"  {node['cpu_seconds']:7.2f}  {unique_id}")
    if not result.success:
        sys.exit("dbt failed")


if __name__ == "__main__":
    main()
