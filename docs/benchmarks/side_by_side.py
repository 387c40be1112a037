"""Full and one-day builds of two versions of the project, interleaved on one data set.

This machine's speed drifts by a fifth within a morning, so two versions' figures compare
only when they are taken side by side. `2026-12-03-1m-side-by-side.json`
(docs/performance.md "Latest figures") was taken with these steps in two passes, the full
builds first and then the one-day builds; this script takes both in one pass:

    git worktree add /tmp/old 79e9c5f
    .venv/bin/retention bench --customers 1000000 --runs 1   # makes .cache/bench/1000000
    .venv/bin/python docs/benchmarks/side_by_side.py --old /tmp/old \\
        --data .cache/bench/1000000 --out side_by_side.json

Each version uses its own `retention load`, dbt project and profile, with this checkout's
virtual environment. `--data` is a `retention bench` data folder, with `data`,
`data_before` and `data_last_day` in it. In each round, every variant runs in turn:

- a full build on a fresh copy of the loaded raw tables;
- the day before built in full;
- the last day loaded as a new batch;
- the one-day `dbt build` on top.

An untimed `dbt parse` per variant comes first, as in `retention bench`.

Each build is timed as `retention bench` times its steps (`retention.bench.measure`: CPU
is the user + sys time of the dbt process tree). The JSON opens with when the runs
started, the machine and each version's commit (`retention.bench.provenance`).
When the old version lacks models this checkout has, `--exclude` names them (for 79e9c5f,
the selection in `NEW_SINCE_79E9C5F` below), and a third variant, "new_same_scope", builds
this checkout without them. `--variants` runs only some of the variants (e.g. `old
new_same_scope`, when only the ratio in the old version's scope is wanted).

After the last round, the marts of each new variant's one-day warehouse are compared row
for row with the old version's (`retention.compare.compare_marts`, the marts the old
warehouse has): both built the same data for the same A, so they must be equal. The JSON
records the result, and a difference makes the script exit non-zero after writing it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from retention import dbt_runner
from retention.bench import BUILD, measure, provenance
from retention.compare import compare_marts, mart_relations

HERE = Path(__file__).resolve().parents[2]
# The models of aa223e4 that 79e9c5f did not have (int_customer_segments stays: mart_clv
# reads it).
NEW_SINCE_79E9C5F = (
    "int_predictive_summary int_predictive_customers int_predictive_parameters "
    "int_predictive_survival mart_clv_model_parameters mart_clv_predictions "
    "mart_contract_survival int_programme_outcomes path:models/marts/operations"
)


@dataclass(frozen=True)
class Versions:
    """Checkouts of the project by name ("old", "new"), each run with its own package, dbt
    project and profile and this checkout's virtual environment; dbt's target and log
    folders live in `work`, one pair per name given to `dbt` (the same from run to run, so
    that dbt's partial parsing works as it does for a daily job)."""

    code: dict[str, Path]
    work: Path

    def env(self, version: str, db: Path) -> dict[str, str]:
        return {
            **dbt_runner.environment(db),
            "PYTHONPATH": str(self.code[version]),
            "DBT_PROFILES_DIR": str(self.code[version]),
        }

    def load(self, version: str, data: Path, db: Path) -> None:
        """`retention load` of that version: DATA into DB."""
        loader = "import sys; from retention.cli import main; sys.exit(main())"
        command = [sys.executable, "-c", loader, "load", str(data), "--db", str(db), "-q"]
        subprocess.run(command, env=self.env(version, db), cwd=self.code[version], check=True)

    def dbt(self, version: str, db: Path, args: list[str], name: str = "") -> dict[str, float]:
        """dbt ARGS on DB with that version's project, timed as `retention bench` times its
        steps; NAME (default: the version) names the target and log folders."""
        name = name or version
        command = [
            str(Path(sys.executable).with_name("dbt")),
            *args,
            *("--project-dir", str(self.code[version])),
            *("--target-path", str(self.work / f"target-{name}")),
            *("--log-path", str(self.work / f"logs-{name}")),
        ]
        result = measure(command, self.env(version, db))
        if result.returncode != 0:
            sys.exit(f"{name} {' '.join(args)}: dbt failed\n{result.output[-3000:]}")
        return {"cpu_seconds": round(result.cpu_seconds, 1), "seconds": round(result.seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--old", type=Path, required=True, help="a checkout of the old version")
    parser.add_argument("--data", type=Path, required=True, help="a retention bench data folder")
    parser.add_argument("--exclude", help="the models old lacks (default: none)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=("old", "new", "new_same_scope"),
        help="run only these variants (default: all; new_same_scope needs --exclude)",
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.data = args.data.resolve()  # each version's loader runs in its own folder
    for folder in ("data", "data_before", "data_last_day"):
        if not (args.data / folder).is_dir():
            parser.error(f"--data {args.data} has no {folder}/ (run retention bench first)")
    code = {"old": args.old.resolve(), "new": HERE}
    taken = provenance(code)
    variants = {"old": ("old", []), "new": ("new", [])}
    if args.exclude:
        variants["new_same_scope"] = ("new", ["--exclude", args.exclude])
    if args.variants:
        if "new_same_scope" in args.variants and not args.exclude:
            parser.error("--variants new_same_scope needs --exclude")
        variants = {name: variants[name] for name in args.variants}
    one_day_marts: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="side-by-side-") as folder:
        work = Path(folder)
        versions = Versions(code, work)

        def fresh(version: str, data: Path, name: str) -> Path:
            raw = work / f"raw-{version}-{data.name}.duckdb"
            if not raw.exists():
                versions.load(version, data, raw)
            db = work / f"{name}.duckdb"
            db.unlink(missing_ok=True)
            shutil.copy(raw, db)
            return db

        runs: dict[str, list[dict[str, dict[str, float]]]] = {name: [] for name in variants}
        # Untimed: a parse into each variant's target folder, on the path its builds use
        # (dbt reuses a parse only for the same profile, and the path is in it), so that
        # every timed build finds dbt's partial-parse state, as a daily job does (and as
        # retention bench does).
        for name, (version, _) in variants.items():
            versions.dbt(version, work / f"{name}.duckdb", ["parse"], name)
        for round_number in range(1, args.runs + 1):
            for name, (version, extra) in variants.items():
                db = fresh(version, args.data / "data", name)
                full = versions.dbt(version, db, [*BUILD, "--full-refresh", *extra], name)
                db = fresh(version, args.data / "data_before", name)
                before = versions.dbt(version, db, [*BUILD, "--full-refresh", *extra], name)
                versions.load(version, args.data / "data_last_day", db)
                one_day = versions.dbt(version, db, [*BUILD, *extra], name)
                runs[name].append({"full": full, "day_before_full": before, "one_day": one_day})
                print(
                    f"round {round_number} {name:<15} full {full['cpu_seconds']:6.1f}  "
                    f"one-day {one_day['cpu_seconds']:6.1f} CPU-s",
                    flush=True,
                )
        # The last round's one-day warehouses: the same data and A for every variant.
        if "old" in variants:
            marts = mart_relations(work / "old.duckdb")
            if not marts:
                sys.exit("the old version's warehouse has no marts to compare")
            for name in variants:
                if name != "old":
                    print(f"comparing {len(marts)} marts of {name} with old's", flush=True)
                    old_db, new_db = work / "old.duckdb", work / f"{name}.duckdb"
                    problems = compare_marts(old_db, new_db, relations=marts)
                    one_day_marts[name] = {
                        "compared": marts,
                        "equal_to_old": not problems,
                        "differences": problems,
                    }
    medians = {
        name: {
            step: statistics.median(run[step]["cpu_seconds"] for run in results)
            for step in ("full", "day_before_full", "one_day")
        }
        for name, results in runs.items()
    }
    args.out.write_text(
        json.dumps(
            {**taken, "runs": runs, "median_cpu_seconds": medians, "one_day_marts": one_day_marts},
            indent=1,
        )
    )
    print(json.dumps(medians, indent=1))
    for name, result in one_day_marts.items():
        problems = result["differences"]
        print(f"{name}: " + ("marts equal to old's" if not problems else "\n".join(problems)))
    if not all(result["equal_to_old"] for result in one_day_marts.values()):
        sys.exit("the marts differ from the old version's (see above)")


if __name__ == "__main__":
    main()
