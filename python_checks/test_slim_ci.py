"""Slim CI (`make slim-ci`) and the data diff on a real build (README "CI").

"Production" is the shared 300-customer build of pipeline.py (its database and its dbt
artifacts; other modules build it too, so in `make pytest` it is usually built already). A
copy of the project changes one formula of dim_customers — average_order_value rounded to
one decimal — and runs `make slim-ci` against production's manifest: dbt must build only
dim_customers and its one child, mart_clv (mart_clv reads dim_customers; nothing reads
mart_clv), with their tests. `retention diff` between production and the pull request's
warehouse must then name dim_customers and that one column, and find mart_clv, rebuilt
from unchanged inputs, unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from pipeline import BIN, shared_build

from retention.diff import compare
from retention.paths import REPO_ROOT

CHANGED_MART = "model.retention.dim_customers"
EXPECTED_MODELS = {CHANGED_MART, "model.retention.mart_clv"}
FORMULA = "{{ safe_ratio('purchase_summary.net_revenue', 'purchase_summary.purchases') }}"


def project_copy(target: Path) -> Path:
    """The project's files with dim_customers' average order value rounded to 1 decimal;
    `.venv` is the repo's (a link), the Makefile and lock files keep their times so make
    sees the environment as set up."""
    target.mkdir(parents=True)
    for name in ("Makefile", "pyproject.toml", "uv.lock", "dbt_project.yml", "profiles.yml"):
        shutil.copy2(REPO_ROOT / name, target / name)
    for folder in ("models", "macros", "seeds", "tests", "analyses"):
        if (REPO_ROOT / folder).is_dir():
            shutil.copytree(REPO_ROOT / folder, target / folder)
    (target / ".venv").symlink_to(BIN.parent)
    sql = target / "models" / "marts" / "core" / "dim_customers.sql"
    text = sql.read_text(encoding="utf-8")
    assert text.count(FORMULA) == 1, "dim_customers.sql changed: pick another formula here"
    sql.write_text(text.replace(FORMULA, f"round({FORMULA}, 1)"), encoding="utf-8")
    return target


def make_slim_ci(project: Path, state: Path, db: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "MAKE"))}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    command = [
        "make",
        "--no-print-directory",
        "-o",
        ".venv/.synced",  # the linked environment is set up: never sync it from here
        "slim-ci",
        f"PROD_STATE={state}",
        f"PROD_DB={db}",
    ]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def slim(tmp_path_factory) -> dict:
    production = shared_build(tmp_path_factory).result()
    assert production.ok, production.failure_summary()
    project = project_copy(tmp_path_factory.mktemp("slim-ci") / "project")
    run = make_slim_ci(project, production.target_path, production.db_path)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    slim_dir = project / "target" / "slim-ci"
    (pr_db,) = slim_dir.glob("*.duckdb")
    return {
        "project": project,
        "production": production,
        "pr_db": pr_db,
        "results": json.loads((slim_dir / "target" / "run_results.json").read_text()),
        "manifest": json.loads((slim_dir / "target" / "manifest.json").read_text()),
    }


def test_slim_ci_builds_only_the_changed_mart_and_its_children(slim):
    results = {r["unique_id"]: r["status"] for r in slim["results"]["results"]}
    built = {node for node in results if node.startswith("model.")}
    assert built == EXPECTED_MODELS
    assert not [node for node in results if node.startswith(("seed.", "snapshot."))]
    # Exposures and saved queries run nothing: dbt reports them as no-op.
    failed = {
        node: status
        for node, status in results.items()
        if status not in ("success", "pass")
        and not (node.startswith(("exposure.", "saved_query.")) and status == "no-op")
    }
    assert not failed
    # Every test that ran tests one of those models (the data tests of dim_customers and
    # mart_clv, the relationships into dim_customers, their unit tests).
    nodes = {**slim["manifest"]["nodes"], **slim["manifest"].get("unit_tests", {})}
    # (The on-run-start and on-run-end hooks are listed too, as operation.*.)
    tests = [node for node in results if node.startswith(("test.", "unit_test."))]
    assert tests, "no test ran"
    for test in tests:
        depends = set(nodes[test]["depends_on"]["nodes"])
        assert depends & EXPECTED_MODELS, (test, depends)
    # The dashboards that read one of them are selected too (as children), and nothing else.
    exposures = slim["manifest"]["exposures"]
    for node in results:
        if node.startswith("exposure."):
            depends = set(exposures[node]["depends_on"]["nodes"])
            assert depends & EXPECTED_MODELS, (node, depends)
    others = [
        n
        for n in results
        if not n.startswith(
            ("model.", "operation.", "test.", "unit_test.", "exposure.", "saved_query.")
        )
    ]
    assert not others, others
    # The copy is named after the production manifest's database, so no relation counts as
    # modified: with another name every model would have been selected.
    assert slim["pr_db"].name == f"{slim['production'].db_path.stem}.duckdb"


def test_the_data_diff_names_the_changed_mart_and_column(slim):
    production = slim["production"].db_path
    diffs = {d.mart: d for d in compare(production, slim["pr_db"])}
    # The customers whose average order value moves by rounding to one decimal, beyond the
    # diff's tolerance (1e-9 x max(1, |value|)).
    with duckdb.connect(str(production), read_only=True) as con:
        (expected,) = con.execute(
            "select count(*) from marts.dim_customers where abs(average_order_value - "
            "round(average_order_value, 1)) > 1e-9 * greatest(1, abs(average_order_value))"
        ).fetchone()
    assert expected > 0
    customers = diffs["dim_customers"]
    assert [c.column for c in customers.columns] == ["average_order_value"]
    assert (customers.added, customers.removed, customers.changed) == (0, 0, expected)
    for _, base, pr in customers.columns[0].examples:
        assert float(pr) == round(float(base), 1)
    # mart_clv was rebuilt from unchanged inputs; nothing else was rebuilt.
    assert [d.mart for d in diffs.values() if d.differs] == ["dim_customers"]


def test_slim_ci_without_production_artifacts_says_what_to_pass(slim, tmp_path):
    production = slim["production"]
    run = make_slim_ci(slim["project"], tmp_path / "nowhere", production.db_path)
    assert run.returncode == 2
    assert "PROD_STATE=DIR must be the folder of the production run's manifest.json" in run.stderr
    run = make_slim_ci(slim["project"], production.target_path, tmp_path / "none.duckdb")
    assert run.returncode == 2
    assert "PROD_DB=FILE must be the production warehouse" in run.stderr
