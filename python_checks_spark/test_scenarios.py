"""The hand-computed fixture scenarios (python_checks/fixtures) checked on Spark too.

The scenarios' expected values, worked out by hand and checked on DuckDB by
python_checks/test_fixtures.py, are checked here against the marts that the local Spark
builds from the same raw CSVs (run_scenarios.py: one process, one Spark session, one parse;
each scenario builds only the marts it checks and the models they read). A scenario still
costs about 90 CPU seconds of Spark planning on this machine, so by default the scenarios
in DEFAULT_SCENARIOS run: together they check every mart that any scenario checks (the
parity test compares every mart with DuckDB's on generated data besides).
SPARK_SCENARIOS=all (or a comma-separated list of folder names) runs others. The
predictive scenario is DuckDB only (its marts read dbt Python models, which the Spark target
does not run). Data tests and unit tests run on Spark in test_parity.py's build; here only
the seeds and models are built.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from retention.marts import MARTS

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "python_checks"))
from run_scenarios import checked_marts  # noqa: E402
from warehouse import FIXTURES_DIR, check, discover, load_scenario  # noqa: E402

# Every mart that a scenario checks, each in at least one of these (test below).
DEFAULT_SCENARIOS = [
    # fct_periods, fct_customer_months, dim_customers, mart_churn: MRR movements on decimals
    # (Spark divides them to a 6-decimal decimal unless cast).
    "03_mrr_movements",
    # fct_cohorts: a partial last month.
    "07_cohorts_partial_month",
    # mart_clv, with a var (gross_margin).
    "08_clv",
    # mart_repeat_purchase and the core marts in another reporting time zone (a var; Spark's
    # from_utc_timestamp against DuckDB's timezone()).
    "09_timezone",
    # The eight retention-operations marts.
    "13_retention_operations",
]
ALL = [folder.name for folder in discover() if not load_scenario(folder).needs_predictive]
CHOSEN = os.environ.get("SPARK_SCENARIOS", ",".join(DEFAULT_SCENARIOS))
SCENARIOS = ALL if CHOSEN == "all" else [name for name in CHOSEN.split(",") if name]


@pytest.fixture(scope="module")
def spark_scenarios(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("spark-scenarios")
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(REPO_ROOT),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_LOG_PATH": str(workdir / "logs"),
        "RETENTION_SPARK_DIR": str(workdir / "spark"),
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    script = Path(__file__).with_name("run_scenarios.py")
    subprocess.run(
        [sys.executable, str(script), str(workdir), *SCENARIOS],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return workdir


def marts_as_duckdb(export: Path, target: Path) -> Path:
    """A DuckDB file with a marts schema made of the Parquet files Spark exported."""
    with duckdb.connect(str(target)) as con:
        con.execute("create schema marts")
        for mart in MARTS:
            folder = export / "marts" / mart
            if any(folder.glob("*.parquet")):
                files = str(folder / "*.parquet").replace("'", "''")
                con.execute(f"create table marts.{mart} as select * from read_parquet('{files}')")
    return target


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_on_spark(spark_scenarios: Path, name: str) -> None:
    results = json.loads((spark_scenarios / "results.json").read_text())
    assert results[name]["ok"], f"Spark build of {name} failed:\n{results[name]['tail']}"
    folder = spark_scenarios / name
    db = marts_as_duckdb(folder / "marts_export", folder / "spark_marts.duckdb")
    scenario = load_scenario(REPO_ROOT / "python_checks" / "fixtures" / name)
    problems = check(scenario, db)
    assert not problems, f"{len(problems)} expectation(s) not met on Spark:\n" + "\n".join(
        f"  - {p}" for p in problems
    )


def test_chosen_scenarios_exist() -> None:
    assert SCENARIOS and set(SCENARIOS) <= set(ALL), SCENARIOS


def test_default_scenarios_check_every_mart_a_scenario_checks() -> None:
    """Leaving a scenario out of the default run leaves no mart unchecked on Spark."""
    checked = {name: set(checked_marts(load_scenario(FIXTURES_DIR / name))) for name in ALL}
    by_default = set().union(*(checked[name] for name in DEFAULT_SCENARIOS))
    assert set().union(*checked.values()) == by_default
