"""Bad parameters fail fast (issue 5): `dbt build --vars` with an invalid var exits non-zero
before any model runs, with a message naming the var (macros/validate_vars.sql, on-run-start).

Every case starts from a fresh database that holds only valid raw data (the shared clean data
set, loaded), so "nothing was built" is checkable: afterwards the database holds exactly the
raw tables it started with. A control case with valid vars at their boundaries builds, so
the checks can tell a build from no build. The vars are read when dbt compiles, so every
case's run reuses one parse of the project (retention.dbt_runner).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pipeline import DB_NAME, DbtRun, copy_db, dbt, relations

from retention import dbt_runner
from retention.load import load_dir

# (case id, vars, the var the message must name, the bad value as dbt shows it)
BAD_VARS = [
    ("as_of_date_month_13", {"as_of_date": "2024-13-01"}, "as_of_date", "2024-13-01"),
    ("negative_inactivity_days", {"order_inactivity_days": -1}, "order_inactivity_days", "-1"),
    ("unknown_timezone", {"reporting_timezone": "Mars/Olympus"}, "reporting_timezone",
     "Mars/Olympus"),
    ("gross_margin_above_1", {"gross_margin": 1.5}, "gross_margin", "1.5"),
    ("gross_margin_0", {"gross_margin": 0}, "gross_margin", "0"),
    ("negative_lookback_days", {"incremental_lookback_days": -2}, "incremental_lookback_days",
     "-2"),
]  # fmt: skip
# One run with many bad vars, given as YAML text (passed to --vars as written): YAML's .nan,
# .inf and -.inf are floats that JSON cannot spell, and they passed validation before (issue
# 10: `gross_margin: .nan` and `clv_max_lifespan_years: .inf` then failed deep in mart_clv).
# The message must name every one of them: (var, the bad value as dbt shows it).
NON_FINITE_VARS = (
    "{gross_margin: .nan, clv_max_lifespan_years: .inf, order_inactivity_days: .inf,"
    " contract_grace_days: -.inf, incremental_lookback_days: .nan,"
    " repeat_windows_days: [30, .inf], plausible_years_after_load: -1,"
    " earliest_plausible_date: '1990-02-30', programme_horizon_days: 0}"
)
NON_FINITE_NAMED = [
    ("gross_margin", "nan"),
    ("clv_max_lifespan_years", "inf"),
    ("order_inactivity_days", "inf"),
    ("contract_grace_days", "-inf"),
    ("incremental_lookback_days", "nan"),
    ("repeat_windows_days", "inf"),
    ("plausible_years_after_load", "-1"),
    ("earliest_plausible_date", "1990-02-30"),
    ("programme_horizon_days", "0"),
]
# Valid, at the edges of what validate_vars accepts: a leap day, the shortest inactivity
# window, a real zone, the top of (0, 1], no look-back, no date after the row's load.
GOOD_VARS = {
    "as_of_date": "2024-02-29",
    "order_inactivity_days": 1,
    "reporting_timezone": "Europe/Amsterdam",
    "gross_margin": 1,
    "incremental_lookback_days": 0,
    "plausible_years_after_load": 0,
    "programme_horizon_days": 1,
}


Case = tuple[DbtRun, set[str]]


def _case(folder: Path, raw: Path, name: str, args: list[str], vars: dict[str, Any] | str) -> Case:
    workdir = folder / f"vars-{name}"
    db_path = copy_db(raw, workdir / DB_NAME)
    before = relations(db_path)
    if isinstance(vars, str):  # YAML text, passed as written
        return dbt([*args, "--vars", vars], db_path, workdir, manifest=False), before
    return dbt(args, db_path, workdir, vars=vars, manifest=False), before


@pytest.fixture(scope="module")
def runs(shared_dir: Path, raw_clean_db: Path) -> dict[str, Case]:
    build = [*dbt_runner.BUILD]
    done = {
        case: _case(shared_dir, raw_clean_db, case, build, vars) for case, vars, _, _ in BAD_VARS
    }
    done["non_finite"] = _case(shared_dir, raw_clean_db, "non_finite", build, NON_FINITE_VARS)
    control = ["run", "--select", "+int_reporting_params"]
    done["control"] = _case(shared_dir, raw_clean_db, "control", control, GOOD_VARS)
    return done


@pytest.mark.parametrize(
    ("case", "vars", "var", "value"), BAD_VARS, ids=[case[0] for case in BAD_VARS]
)
def test_bad_var_fails_before_any_model(
    runs: dict[str, Case],
    case: str,
    vars: dict[str, Any],
    var: str,
    value: str,
) -> None:
    run, before = runs[case]
    # A loaded database: the raw tables and the load's record in meta.build_state.
    assert before and all(r.startswith(("raw.", "meta.")) for r in before)
    assert not run.ok, f"dbt build --vars {vars} succeeded:\n{run.tail()}"
    # The message names the var and its value, and says that nothing was built.
    assert re.search(rf"- {var}: '{re.escape(value)}' ", run.output), run.failure_summary()
    assert "Invalid dbt vars, nothing was built" in run.output
    assert "on-run-start" in run.output
    # Nothing ran: no model result, and the database holds only what it started with.
    assert not [uid for uid in run.node_results() if uid.startswith("model.")]
    assert relations(run.db_path) == before


def test_non_finite_numbers_fail_before_any_model(
    runs: dict[str, Case],
) -> None:
    run, before = runs["non_finite"]
    assert not run.ok, f"dbt build --vars {NON_FINITE_VARS} succeeded:\n{run.tail()}"
    assert "Invalid dbt vars, nothing was built" in run.output
    missing = [
        f"{var}: '{value}'"
        for var, value in NON_FINITE_NAMED
        if not re.search(rf"- {var}: '{re.escape(value)}' ", run.output)
    ]
    assert not missing, f"not named: {missing}\n{run.failure_summary()}"
    assert not [uid for uid in run.node_results() if uid.startswith("model.")]
    assert relations(run.db_path) == before


def test_valid_vars_at_their_limits_build(
    runs: dict[str, Case],
) -> None:
    run, before = runs["control"]
    assert run.ok, run.failure_summary()
    assert "intermediate.int_reporting_params" in relations(run.db_path) - before
    with duckdb.connect(str(run.db_path), read_only=True) as con:
        row = con.execute(
            "select as_of_date, trailing_year_start_date, year_before_as_of_date "
            "from intermediate.int_reporting_params"
        ).fetchone()
    # A = the var; A - 365 days = 2023-03-01 (the year back from a leap day spans Feb 29),
    # A - 364 days = 2023-03-02.
    assert row == (dt.date(2024, 2, 29), dt.date(2023, 3, 2), dt.date(2023, 3, 1))


def test_other_repeat_windows_build_their_marts_with_every_column_documented(
    clean_build: DbtRun, tmp_path: Path
) -> None:
    # The marts build a column triple per window of the var, and the YAML documents the
    # default windows' columns: assert_every_model_and_column_documented failed a build with
    # any other windows (eligible_7, ... undocumented), so the var could not be changed.
    db_path = copy_db(clean_build.db_path, tmp_path / DB_NAME)
    selected = "mart_repeat_purchase mart_winback assert_every_model_and_column_documented"
    args = ["build", "--select", selected, "--exclude-resource-type", "unit_test"]
    run = dbt(args, db_path, tmp_path, vars={"repeat_windows_days": [7, 400]}, manifest=False)
    assert run.ok, run.failure_summary()
    assert "test.retention.assert_every_model_and_column_documented" in run.node_results()
    with duckdb.connect(str(db_path), read_only=True) as con:
        columns = {row[0] for row in con.execute("describe marts.mart_repeat_purchase").fetchall()}
    assert {"eligible_7", "repeat_rate_400"} <= columns and "eligible_30" not in columns


def test_duckdb_converts_to_every_zone_validate_vars_accepts() -> None:
    # validate_vars accepts a reporting_timezone that pytz knows and asks the engine only on
    # Spark (timezone_unknown_to_engine: DuckDB's default asks nothing). That is right only
    # while DuckDB's time-zone data has every zone of pytz: asked with the conversion
    # to_local_date uses, at a date of each zone's present rules.
    import pytz

    with duckdb.connect() as con:
        unknown = []
        for zone in sorted(pytz.all_timezones_set):
            try:
                con.execute(
                    "select cast(timezone(?, timezone('UTC', timestamp '2026-07-01 12:00:00'))"
                    " as date)",
                    [zone],
                ).fetchone()
            except duckdb.Error:
                unknown.append(zone)
    assert not unknown, f"zones pytz knows and DuckDB cannot convert to: {unknown}"


def test_a_warehouse_file_named_like_one_of_its_schemas_fails_before_any_model(
    shared_dir: Path, raw_clean_db: Path
) -> None:
    # dbt run directly (not through `retention`, which refuses the name itself): DuckDB names
    # the database after the file, and `staging.duckdb` made every staging view fail, and
    # `main.duckdb` report every raw table missing (macros/check_database_name.sql).
    workdir = shared_dir / "vars-database-name"
    db_path = copy_db(raw_clean_db, workdir / "Staging.duckdb")
    before = relations(db_path)
    run = dbt([*dbt_runner.BUILD], db_path, workdir, manifest=False)
    assert not run.ok, f"dbt build on {db_path.name} succeeded:\n{run.tail()}"
    assert (
        f"The warehouse file {db_path} makes a database named 'Staging', the name of one of "
        "its schemas" in run.output
    ), run.failure_summary()
    assert "nothing was built" in run.output
    assert "intermediate, main, marts, meta, quarantine, raw, reference, staging." in run.output
    assert not [uid for uid in run.node_results() if uid.startswith("model.")]
    assert relations(db_path) == before


# --- vars that shape the incremental tables, against the last build's -------------------------

# The defaults (dbt_project.yml) of the vars macros/record_build_state.sql stores, as text.
DEFAULT_STORED_VARS = {
    "contract_grace_days": "30",
    "earliest_plausible_date": "1990-01-01",
    "order_inactivity_days": "365",
    "plausible_years_after_load": "1",
    "reporting_currency": "EUR",
    "reporting_timezone": "UTC",
}


def _build_state(db_path: Path) -> tuple[str, dict[str, str]]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        state, stored = con.execute("select state, stored_vars from meta.build_state").fetchone()
    return state, json.loads(stored)


@pytest.fixture(scope="module")
def built(clean_build: DbtRun) -> Path:
    assert clean_build.ok, clean_build.failure_summary()
    return clean_build.db_path


def test_a_complete_build_records_the_vars_its_incremental_rows_were_built_with(built: Path):
    assert _build_state(built) == ("built", DEFAULT_STORED_VARS)


def test_another_value_of_such_a_var_stops_an_incremental_run_before_any_model(
    shared_dir: Path, built: Path
):
    # The spells keep rows built with 365 days of inactivity: an incremental run with 180
    # would add rows of the new rule beside them.
    workdir = shared_dir / "vars-changed"
    db_path = copy_db(built, workdir / DB_NAME)
    run = dbt(
        ["run", "--select", "int_reporting_params"],
        db_path,
        workdir,
        vars={"order_inactivity_days": 180, "reporting_timezone": "Europe/Amsterdam"},
        manifest=False,
    )
    assert not run.ok, run.tail()
    assert (
        "The incremental tables were built with other vars: reporting_timezone is "
        "Europe/Amsterdam in this run, UTC in the last build; order_inactivity_days is 180 in "
        "this run, 365 in the last build" in run.output
    ), run.failure_summary()
    assert "dbt build --full-refresh (retention build --full-refresh)" in run.output
    assert not [uid for uid in run.node_results() if uid.startswith("model.")]
    assert _build_state(db_path) == ("built", DEFAULT_STORED_VARS)


def test_a_load_keeps_the_record_so_a_changed_var_still_stops_the_next_build(
    shared_dir: Path, built: Path
):
    # The daily job loads, then builds: the load must not drop the vars the build checks.
    workdir = shared_dir / "vars-after-load"
    db_path = copy_db(built, workdir / DB_NAME)
    delivery = workdir / "delivery"
    delivery.mkdir()
    (delivery / "orders.csv").write_text(
        "order_id,customer_id,ordered_at,status,amount,currency\n"
        "LATE-1,C00000003,2024-06-29T10:00:00Z,completed,10.00,EUR\n"
    )
    assert load_dir(delivery, db_path).loaded == {"orders": 1}
    assert _build_state(db_path) == ("loaded", DEFAULT_STORED_VARS)
    run = dbt(
        ["run", "--select", "int_reporting_params"],
        db_path,
        workdir,
        vars={"order_inactivity_days": 180},
        manifest=False,
    )
    assert not run.ok, run.tail()
    assert "order_inactivity_days is 180 in this run, 365 in the last build" in run.output


@pytest.mark.parametrize(
    ("name", "args", "vars"),
    [
        # vars that only shape tables rebuilt every run
        ("other", [], {"as_of_date": "2024-06-30", "gross_margin": 0.5,
                       "incremental_lookback_days": 0, "programme_horizon_days": 30}),
        # a full refresh rebuilds the incremental tables, whatever their vars
        ("full-refresh", ["--full-refresh"], {"order_inactivity_days": 180}),
    ],
)  # fmt: skip
def test_other_vars_or_a_full_refresh_pass(shared_dir: Path, built: Path, name, args, vars):
    workdir = shared_dir / f"vars-{name}"
    db_path = copy_db(built, workdir / DB_NAME)
    run = dbt(
        ["run", "--select", "int_reporting_params", *args],
        db_path,
        workdir,
        vars=vars,
        manifest=False,
    )
    assert run.ok, run.failure_summary()
    # A selection is not a complete build: the record stays the last complete build's.
    assert _build_state(db_path) == ("built", DEFAULT_STORED_VARS)


def _full_refresh_run_with_180_days(db_path: Path, workdir: Path) -> None:
    """`dbt run --full-refresh` of every model with order_inactivity_days 180: succeeds."""
    run = dbt(
        ["run", "--full-refresh"],
        db_path,
        workdir,
        vars={"order_inactivity_days": 180},
        manifest=False,
    )
    assert run.ok, run.failure_summary()


def test_a_complete_full_refresh_run_records_its_vars(shared_dir: Path, built: Path):
    # `dbt run --full-refresh` (not build) rebuilt every incremental table with 180 days: the
    # record says 180, so a run with the earlier 365 stops, as it would mix the two rules the
    # other way round. It used to keep 365, and such a run passed and mixed them.
    workdir = shared_dir / "vars-full-refresh-run"
    db_path = copy_db(built, workdir / DB_NAME)
    _full_refresh_run_with_180_days(db_path, workdir)
    with_180 = {**DEFAULT_STORED_VARS, "order_inactivity_days": "180"}
    assert _build_state(db_path) == ("built", with_180)
    run = dbt(["run", "--select", "int_reporting_params"], db_path, workdir, manifest=False)
    assert not run.ok, run.tail()
    assert "order_inactivity_days is 365 in this run, 180 in the last build" in run.output


def test_a_partial_full_refresh_with_other_vars_stops_incremental_runs_until_a_complete_one(
    shared_dir: Path, built: Path
):
    # Only the spells rebuilt with 180 days; every other incremental table keeps rows of 365.
    # Neither value describes the tables now: any incremental run stops, until a complete
    # --full-refresh run rebuilds them all.
    workdir = shared_dir / "vars-partial-full-refresh"
    db_path = copy_db(built, workdir / DB_NAME)
    with_180 = {**DEFAULT_STORED_VARS, "order_inactivity_days": "180"}
    run = dbt(
        ["run", "--full-refresh", "--select", "int_activity_spells_uncut"],
        db_path,
        workdir,
        vars={"order_inactivity_days": 180},
        manifest=False,
    )
    assert run.ok, run.failure_summary()
    assert _build_state(db_path) == ("built", {"partly_rebuilt_with": with_180})
    for refused, vars in enumerate(({}, {"order_inactivity_days": 180})):
        run = dbt(
            ["run", "--select", "int_reporting_params"],
            db_path,
            workdir / f"refused-{refused}",  # its own target/: no earlier run's results
            vars=vars,
            manifest=False,
        )
        assert not run.ok, run.tail()
        assert "A --full-refresh run with other vars (" in run.output, run.failure_summary()
        assert "no complete run has followed" in run.output
        assert not [uid for uid in run.node_results() if uid.startswith("model.")]
    _full_refresh_run_with_180_days(db_path, workdir)
    assert _build_state(db_path) == ("built", with_180)
