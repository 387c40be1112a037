"""Build a throw-away warehouse for a fixture scenario and check its marts against expectations.

A scenario is a folder ``python_checks/fixtures/<name>/`` with

- ``raw/<table>.csv``: the raw input (the raw input contract); absent tables are loaded empty;
- ``scenario.yml``: ``description``, ``vars`` (dbt vars for the build) and ``expected``:
  per mart (schema ``marts``) a list of ``{match: {...}, values: {...}}`` entries, where
  ``match`` must select exactly one row and ``values`` are compared column by column (an
  entry may widen the float tolerance with ``tolerance``, e.g. for a published estimate
  printed to 3 decimals); and ``row_counts``: a list of ``{model, where (optional), count}``.

The predictive models (dbt Python models, tag ``predictive``) fit only in the builds of
scenarios that expect a predictive mart; the others build with RETENTION_PREDICTIVE=off
(python_checks/conftest.py), which leaves those marts empty and skips pandas and scipy.

Comparison rules: integers, strings and booleans compare exactly; ``"YYYY-MM-DD"`` strings
compare with DATE columns; floats and decimals compare within ``TOLERANCE``; ``~`` (null)
means the column must be NULL.

Each build gets its own database file, target path and log path, so scenarios can be built
side by side and beside other engineers' builds.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import yaml

from retention import dbt_runner
from retention.load import load_dir
from retention.marts import PREDICTIVE_MARTS
from retention.predictive_columns import SWITCH

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
MARTS_SCHEMA = "marts"
TOLERANCE = 1e-9

_SCENARIO_KEYS = {"description", "vars", "expected"}
_ENTRY_KEYS = {"match", "values", "tolerance"}
_ROW_COUNT_KEYS = {"model", "where", "count"}


class ScenarioError(Exception):
    """scenario.yml is malformed (a typo must not silently check nothing)."""


@dataclass(frozen=True)
class Scenario:
    name: str
    folder: Path
    description: str
    vars: dict[str, Any]
    expected: dict[str, Any]

    @property
    def raw_dir(self) -> Path:
        return self.folder / "raw"

    @property
    def marts_with_values(self) -> set[str]:
        """The marts the scenario gives expected rows of."""
        return set(self.expected) - {"row_counts"}

    @property
    def checked_marts(self) -> set[str]:
        """The marts whose values or row counts the scenario's expectations read (a row
        count's `model` may name its schema: `marts.fct_periods`)."""
        return self.marts_with_values | {
            entry["model"].removeprefix(f"{MARTS_SCHEMA}.")
            for entry in self.expected.get("row_counts", [])
        }

    @property
    def needs_predictive(self) -> bool:
        """Whether the scenario checks a predictive mart (its build must fit the models)."""
        return bool(self.checked_marts & set(PREDICTIVE_MARTS))


@dataclass(frozen=True)
class Build:
    scenario: str
    db_path: Path
    seconds: float
    returncode: int
    log_path: Path
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def failure_summary(self, max_lines: int = 80) -> str:
        """The part of dbt's output that says what failed (dbt prints the details of every
        error and failing test after "Completed with ... error(s)")."""
        lines = self.output.splitlines()
        for index, line in enumerate(lines):
            if "Completed with" in line:
                return "\n".join(lines[index : index + max_lines])
        return "\n".join(lines[-max_lines:])


def discover(fixtures_dir: Path = FIXTURES_DIR) -> list[Path]:
    """Every scenario folder (one holding a scenario.yml), sorted by name."""
    return sorted(path.parent for path in fixtures_dir.glob("*/scenario.yml"))


def load_scenario(folder: Path) -> Scenario:
    """Read and validate ``folder/scenario.yml``."""
    path = folder / "scenario.yml"
    with path.open(encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)
    if not isinstance(spec, dict):
        raise ScenarioError(f"{path}: expected a mapping at the top level")
    unknown = set(spec) - _SCENARIO_KEYS
    if unknown:
        raise ScenarioError(f"{path}: unknown key(s) {sorted(unknown)}")
    if not spec.get("description"):
        raise ScenarioError(f"{path}: 'description' is required")
    expected = spec.get("expected") or {}
    if not isinstance(expected, dict) or not expected:
        raise ScenarioError(f"{path}: 'expected' must be a non-empty mapping")
    if not (folder / "raw").is_dir():
        raise ScenarioError(f"{folder}: no raw/ folder")

    for mart, entries in expected.items():
        if not isinstance(entries, list) or not entries:
            raise ScenarioError(f"{path}: expected.{mart} must be a non-empty list")
        for index, entry in enumerate(entries):
            where = f"{path}: expected.{mart}[{index}]"
            if not isinstance(entry, dict):
                raise ScenarioError(f"{where}: expected a mapping")
            keys = _ROW_COUNT_KEYS if mart == "row_counts" else _ENTRY_KEYS
            required = {"model", "count"} if mart == "row_counts" else {"match", "values"}
            if set(entry) - keys or required - set(entry):
                raise ScenarioError(
                    f"{where}: keys must be {sorted(keys)} (required {sorted(required)}), "
                    f"got {sorted(entry)}"
                )
            if mart != "row_counts" and not (
                isinstance(entry["match"], dict)
                and isinstance(entry["values"], dict)
                and entry["values"]
            ):
                raise ScenarioError(f"{where}: match and values must be non-empty mappings")
    vars_ = spec.get("vars") or {}
    if not isinstance(vars_, dict):
        raise ScenarioError(f"{path}: 'vars' must be a mapping")
    return Scenario(folder.name, folder, spec["description"], vars_, expected)


def build(scenario: Scenario, workdir: Path) -> Build:
    """Load the scenario's raw CSVs into a fresh DuckDB file under ``workdir`` and run
    ``dbt build`` on it with the scenario's vars. Never raises for a failed build: the
    returned Build says whether it succeeded and holds dbt's output."""
    workdir.mkdir(parents=True, exist_ok=True)
    raw_copy = workdir / "raw"
    if raw_copy.exists():
        shutil.rmtree(raw_copy)
    shutil.copytree(scenario.raw_dir, raw_copy)
    db_path = workdir / "warehouse.duckdb"
    db_path.unlink(missing_ok=True)
    log_path = workdir / "dbt_output.log"

    started = time.perf_counter()
    load_dir(raw_copy, db_path)
    # The warehouse's build (unit tests, which do not read the data, run in `make test`).
    done = dbt_runner.run(
        [*dbt_runner.BUILD],
        db_path,
        target_path=workdir / "target",
        log_path=workdir / "logs",
        vars=scenario.vars,
        project_dir=REPO_ROOT,
        # The predictive models fit only for a scenario that expects their marts.
        env={SWITCH: "on"} if scenario.needs_predictive else None,
        manifest=False,  # only the marts are read: no manifest.json (~2 s CPU a build)
    )
    seconds = time.perf_counter() - started
    log_path.write_text(done.output, encoding="utf-8")
    return Build(scenario.name, db_path, seconds, done.returncode, log_path, done.output)


# --- checking expectations -------------------------------------------------------------------


def check(scenario: Scenario, db_path: Path) -> list[str]:
    """Every expectation of the scenario that the built warehouse does not meet."""
    problems: list[str] = []
    with duckdb.connect(str(db_path), read_only=True) as con:
        for mart, entries in scenario.expected.items():
            if mart == "row_counts":
                for entry in entries:
                    problems.extend(_check_row_count(con, entry))
                continue
            try:
                rows = _fetch(con, f"{MARTS_SCHEMA}.{mart}")
            except duckdb.Error as exc:
                problems.append(f"{mart}: cannot read {MARTS_SCHEMA}.{mart}: {exc}")
                continue
            for entry in entries:
                problems.extend(_check_entry(mart, rows, entry))
    return problems


def _fetch(con: duckdb.DuckDBPyConnection, relation: str) -> list[dict[str, Any]]:
    cursor = con.execute(f"select * from {relation}")
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _check_entry(mart: str, rows: list[dict[str, Any]], entry: dict[str, Any]) -> list[str]:
    match, values = entry["match"], entry["values"]
    label = f"{mart} {_show_match(match)}"
    columns = set(rows[0]) if rows else set()
    missing = [c for c in [*match, *values] if rows and c not in columns]
    if missing:
        return [f"{label}: column(s) {missing} not in {mart}"]
    selected = [row for row in rows if all(same(v, row[c]) for c, v in match.items())]
    if len(selected) != 1:
        return [f"{label}: match selects {len(selected)} rows (must select exactly 1)"]
    row = selected[0]
    tolerance = entry.get("tolerance", TOLERANCE)
    return [
        f"{label}: {column} expected {expected!r}, actual {row[column]!r}"
        for column, expected in values.items()
        if not same(expected, row[column], tolerance)
    ]


def _check_row_count(con: duckdb.DuckDBPyConnection, entry: dict[str, Any]) -> list[str]:
    model = entry["model"]
    relation = model if "." in model else f"{MARTS_SCHEMA}.{model}"
    where = entry.get("where")
    sql = f"select count(*) from {relation}" + (f" where {where}" if where else "")
    label = f"row_counts {model}" + (f" where {where}" if where else "")
    try:
        actual = con.execute(sql).fetchone()[0]
    except duckdb.Error as exc:
        return [f"{label}: query failed: {exc}"]
    if actual != entry["count"]:
        return [f"{label}: expected {entry['count']!r} rows, actual {actual!r}"]
    return []


def _show_match(match: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in match.items()) + "}"


def same(expected: Any, actual: Any, tolerance: float = TOLERANCE) -> bool:
    """Whether a value from the database meets an expected value from scenario.yml."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, int | float | Decimal):
        if not isinstance(actual, int | float | Decimal):
            return False
        if isinstance(expected, int) and isinstance(actual, int):
            return expected == actual
        return math.isclose(float(expected), float(actual), rel_tol=0.0, abs_tol=tolerance)
    if isinstance(actual, dt.datetime):
        if isinstance(expected, str):
            try:
                expected = dt.datetime.fromisoformat(expected)
            except ValueError:
                return False
        return isinstance(expected, dt.datetime) and expected == actual
    if isinstance(actual, dt.date):
        if isinstance(expected, str):
            try:
                expected = dt.date.fromisoformat(expected)
            except ValueError:
                return False
        return type(expected) is dt.date and expected == actual
    if isinstance(expected, str):
        return isinstance(actual, str) and expected == actual
    return expected == actual
