"""`retention validate` checks the formulas that use dbt vars (mart_clv's lifespan, clv and
contract_clv; mart_retention_programmes' return_on_cost) with the values the marts were
built with, which the build keeps in int_reporting_params: not the defaults, not what
dbt_project.yml says at validation time.

A copy of the shared build of the clean data set (python_checks/conftest.py) rebuilds the
two marts and int_reporting_params with gross_margin 0.5 and clv_max_lifespan_years 2,
neither of them the default; validate then passes. The hand-made marts of
test_validate.py show that each of these formulas fails when it is off.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from pipeline import DB_NAME, DbtRun, copy_db, dbt

from retention.cli import main

VARS = {"gross_margin": 0.5, "clv_max_lifespan_years": 2}
MARTS = ("int_reporting_params", "mart_clv", "mart_retention_programmes")


def _validate(db: Path, capsys) -> tuple[int, str]:
    code = main(
        ["validate", "--db", str(db), "--mart=mart_clv", "--mart=mart_retention_programmes"]
    )
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_build_with_other_vars_is_validated_with_them(
    clean_build: DbtRun, tmp_path: Path, capsys
) -> None:
    assert clean_build.ok, clean_build.failure_summary()
    db = copy_db(clean_build.db_path, tmp_path / DB_NAME)
    run = dbt(["run", "--select", *MARTS], db, tmp_path, vars=VARS, manifest=False)
    assert run.ok, run.failure_summary()
    with duckdb.connect(str(db), read_only=True) as con:
        recorded = con.execute(
            "select gross_margin, clv_max_lifespan_years from intermediate.int_reporting_params"
        ).fetchall()
        # Rows where the defaults give other values, so that the checks below tell the
        # build's vars from the defaults: a churn rate in (0, 1/2) makes 1 / churn above the
        # cap 2 (below the default 10); a return on cost with incremental revenue depends
        # on the margin.
        capped = con.execute(
            "select count(*) from marts.mart_clv"
            " where annual_churn_rate > 0 and annual_churn_rate < 0.5 and clv is not null"
        ).fetchone()[0]
        returns = con.execute(
            "select count(*) from marts.mart_retention_programmes"
            " where return_on_cost is not null and incremental_revenue <> 0"
        ).fetchone()[0]
    assert recorded == [(0.5, 2.0)]
    assert capped > 0
    assert returns > 0

    code, out = _validate(db, capsys)
    assert code == 0, out
    assert "not checked" not in out

    # The same marts, the record of their margin put back to the default 1: validate takes
    # the record for the marts' margin, so clv, contract_clv and return_on_cost fail.
    with duckdb.connect(str(db)) as con:
        con.execute("update intermediate.int_reporting_params set gross_margin = 1.0")
    code, out = _validate(db, capsys)
    assert code == 1, out
    for formula in ("clv = ", "contract_clv = ", "return_on_cost = "):
        assert f" — {formula}" in out, out
    assert "expected_lifespan_years = " not in out  # the cap is still the build's
