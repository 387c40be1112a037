"""Hand-computed fixture scenarios: build the warehouse on each and check the marts.

Every folder ``python_checks/fixtures/<scenario>/`` with a ``scenario.yml`` is one test (see
warehouse.py for the format). The expected values in scenario.yml are worked out by hand from
the metric definitions (docs/glossary.md, docs/decisions.md), with the arithmetic beside each.

Each scenario is built once, when its test runs, in its own temporary DuckDB file, target
path and log path. dbt runs in the pytest process (retention.dbt_runner): the scenarios'
vars are read when dbt compiles, so all builds share one parse of the project. A failing dbt
build (including a failing dbt data test on the scenario's data) fails the scenario; dbt unit
tests, which do not read the data, are left to the project's own `dbt build`. The build time
of every scenario is printed at the end of the session.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from warehouse import Build, Scenario, build, check, discover, load_scenario

from retention.marts import MARTS, PREDICTIVE_MARTS

SCENARIO_DIRS = discover()


@pytest.fixture(scope="session")
def scenario_builds(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A function: a scenario folder -> its build, made on first use (once per session)."""
    builds: dict[str, Build] = {}

    def get(folder: Path) -> Build:
        if folder.name not in builds:
            workdir = tmp_path_factory.mktemp(f"scenario-{folder.name}")
            builds[folder.name] = build(load_scenario(folder), workdir)
        return builds[folder.name]

    yield get
    _report_build_times(request.config, builds)


def _report_build_times(config: pytest.Config, builds: dict[str, Build]) -> None:
    """Print each scenario's build time (load + dbt build) at the end of the session."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not builds:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_line("fixture scenario builds (wall-clock each):")
        for name, result in sorted(builds.items()):
            status = "ok" if result.ok else f"dbt exit {result.returncode}"
            reporter.write_line(f"  {name:<40} {result.seconds:6.1f} s  {status}")


@pytest.mark.parametrize("scenario_dir", SCENARIO_DIRS, ids=[d.name for d in SCENARIO_DIRS])
def test_scenario(
    scenario_dir: Path,
    scenario_builds: Callable[[Path], Build],
    record_property: Callable[[str, object], None],
) -> None:
    scenario = load_scenario(scenario_dir)
    result = scenario_builds(scenario_dir)
    record_property("build_seconds", round(result.seconds, 1))
    assert result.ok, (
        f"dbt build failed for scenario {scenario.name} (exit {result.returncode}; full log: "
        f"{result.log_path}):\n{result.failure_summary()}"
    )
    problems = check(scenario, result.db_path)
    assert not problems, (
        f"{len(problems)} expectation(s) not met in scenario {scenario.name} "
        f"({scenario.description.strip()}):\n" + "\n".join(f"  - {p}" for p in problems)
    )


def test_scenarios_exist() -> None:
    # Guard against a glob that silently finds nothing (and so checks nothing).
    assert SCENARIO_DIRS, "no python_checks/fixtures/*/scenario.yml found"


def test_every_mart_has_hand_computed_rows_in_a_scenario() -> None:
    """A new mart is checked by hand, not only against the reference: some scenario gives
    expected rows of it (then the Spark scenarios, which must check every mart a scenario
    checks, python_checks_spark/test_scenarios.py, run it on Spark too)."""
    marts = set(MARTS) | set(PREDICTIVE_MARTS)
    with_values = set().union(*(load_scenario(d).marts_with_values for d in SCENARIO_DIRS))
    assert sorted(marts - with_values) == []
    assert with_values <= marts  # a scenario naming no mart checks nothing


def test_check_reports_every_kind_of_mismatch(tmp_path: Path) -> None:
    """The checker itself can fail: wrong values, nulls, dates, ambiguous or empty matches and
    row counts are all reported (a harness that passes everything would hide model bugs)."""
    db_path = tmp_path / "check.duckdb"
    with duckdb.connect(str(db_path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_x as select * from (values "
            "('a', date '2024-01-01', 3, 0.25::double, 1.50::decimal(18, 2), true, null), "
            "('a', date '2024-02-01', 4, 0.5::double, 2.00::decimal(18, 2), false, 'x'), "
            "('b', date '2024-01-01', 5, null, 0.00::decimal(18, 2), true, 'y')"
            ") as t(k, period_start, n, rate, money, flag, label)"
        )
    good = {
        "match": {"k": "a", "period_start": "2024-01-01"},
        "values": {"n": 3, "rate": 0.25 + 1e-12, "money": 1.5, "flag": True, "label": None},
    }
    scenario = Scenario(
        "self_test",
        tmp_path,
        "harness self-test",
        {},
        {
            "fct_x": [
                good,
                {"match": {"k": "b"}, "values": {"rate": None, "period_start": "2024-01-01"}},
                {"match": {"k": "a"}, "values": {"n": 3}},  # two rows
                {"match": {"k": "zzz"}, "values": {"n": 3}},  # no row
                {"match": {"k": "b"}, "values": {"n": 6}},  # wrong integer
                {"match": {"k": "b"}, "values": {"n": 5.0000001}},  # outside tolerance
                {"match": {"k": "b"}, "values": {"flag": 1}},  # 1 is not true
                {"match": {"k": "b"}, "values": {"label": None}},  # not null
                {"match": {"k": "b"}, "values": {"period_start": "2024-01-02"}},  # wrong date
                {"match": {"k": "b"}, "values": {"no_such_column": 1}},
            ],
            "row_counts": [
                {"model": "fct_x", "where": "k = 'a'", "count": 2},
                {"model": "fct_x", "count": 4},
            ],
        },
    )
    problems = check(scenario, db_path)
    assert len(problems) == 9, "\n".join(problems)
    assert not any("{k: a, period_start: 2024-01-01}" in p for p in problems)
    assert any("selects 2 rows" in p for p in problems)
    assert any("selects 0 rows" in p for p in problems)
    assert any("expected 4 rows, actual 3" in p for p in problems)
