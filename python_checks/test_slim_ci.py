"""Slim CI (`make slim-ci`) and the data diff on a real build (docs/ci.md).

"Production" is the shared 300-customer build of pipeline.py (its database and its dbt
artifacts; other modules build it too, so in `make pytest` it is usually built already). A
copy of the project changes two things and runs `make slim-ci` against production's
manifest:

- one formula of dim_customers, a table: average_order_value rounded to one decimal. dbt
  must build dim_customers and its one child, mart_clv (mart_clv reads dim_customers;
  nothing reads mart_clv), with their tests; `retention diff` between production and the
  pull request's warehouse must then name dim_customers and that one column, and find
  mart_clv, rebuilt from unchanged inputs, unchanged.
- the parsing of an incremental base model, base_shop__nps_responses: every response's
  time read one hour earlier (its unit test expects no times, so it still passes; the NPS
  marts may move where a response crosses midnight). An incremental run would re-read
  only the keys of new batches and the look-back, so the change must reach every row:
  Slim CI rebuilds what it selects in full.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
from importlib.metadata import version
from pathlib import Path

import duckdb
import pytest
from pipeline import BIN, shared_build

from retention.diff import compare
from retention.paths import REPO_ROOT

CHANGED_MART = "model.retention.dim_customers"
CHANGED_INCREMENTAL = "model.retention.base_shop__nps_responses"
# The changed models and everything downstream of them.
EXPECTED_MODELS = {
    CHANGED_MART,
    "model.retention.mart_clv",
    CHANGED_INCREMENTAL,
    "model.retention.stg_shop__nps_responses",
    "model.retention.mart_nps",
    "model.retention.mart_nps_churn",
    "model.retention.quarantined_rows",
}
FORMULA = "{{ safe_ratio('purchase_summary.net_revenue', 'purchase_summary.purchases') }}"
RESPONDED_AT = "['responded_at', parse_timestamp('source.responded_at')]"


def changed(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path.name} changed: pick another expression here"
    path.write_text(text.replace(old, new), encoding="utf-8")


def project_copy(target: Path) -> Path:
    """The project's files with dim_customers' average order value rounded to 1 decimal;
    `.venv` is the repo's (a link, which make takes as set up and never syncs)."""
    target.mkdir(parents=True)
    for name in ("Makefile", "pyproject.toml", "uv.lock", "dbt_project.yml", "profiles.yml"):
        shutil.copy2(REPO_ROOT / name, target / name)
    for folder in ("models", "macros", "seeds", "tests", "analyses"):
        if (REPO_ROOT / folder).is_dir():
            shutil.copytree(REPO_ROOT / folder, target / folder)
    (target / ".venv").symlink_to(BIN.parent)
    models = target / "models"
    changed(models / "marts" / "core" / "dim_customers.sql", FORMULA, f"round({FORMULA}, 1)")
    changed(
        models / "staging" / "shop" / "base" / "base_shop__nps_responses.sql",
        RESPONDED_AT,
        "['responded_at', parse_timestamp('source.responded_at') ~ \" - interval 1 hour\"]",
    )
    return target


def make_slim_ci(project: Path, state: Path, db: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "MAKE"))}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    command = [
        "make",
        "--no-print-directory",
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
    # The last line names the copy (it said `target/slim-ci/*.duckdb`).
    assert run.stdout.splitlines()[-1] == (
        f"make slim-ci: the pull request's warehouse is target/slim-ci/{pr_db.name}, dbt's "
        "results in target/slim-ci/target"
    )
    return {
        "project": project,
        "production": production,
        "pr_db": pr_db,
        "results": json.loads((slim_dir / "target" / "run_results.json").read_text()),
        "manifest": json.loads((slim_dir / "target" / "manifest.json").read_text()),
    }


@pytest.mark.whole_commands  # make test-whole-commands, not make test (its time)
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


@pytest.mark.whole_commands  # make test-whole-commands, not make test (its time)
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
    # mart_clv was rebuilt from unchanged inputs. (The NPS marts may move: the next test.)
    differing = {d.mart for d in diffs.values() if d.differs}
    assert differing - {"mart_nps", "mart_nps_churn"} == {"dim_customers"}


@pytest.mark.whole_commands  # make test-whole-commands, not make test (its time)
def test_a_changed_incremental_model_is_rebuilt_for_every_row(slim):
    # Every staged response of production is an hour earlier in the PR's copy, not only
    # those of the keys an incremental run re-reads (there the rest kept their time).
    query = "select response_id, responded_at from staging.stg_shop__nps_responses order by 1"
    with duckdb.connect(str(slim["production"].db_path), read_only=True) as con:
        production = con.execute(query).fetchall()
    with duckdb.connect(str(slim["pr_db"]), read_only=True) as con:
        pr = con.execute(query).fetchall()
    assert len(production) > 100
    hour = datetime.timedelta(hours=1)
    assert pr == [(response_id, at - hour) for response_id, at in production]


@pytest.mark.whole_commands  # make test-whole-commands, not make test (its time)
def test_slim_ci_without_production_artifacts_says_what_to_pass(slim, tmp_path):
    production = slim["production"]
    run = make_slim_ci(slim["project"], tmp_path / "nowhere", production.db_path)
    assert run.returncode == 2
    assert "PROD_STATE=DIR must be the folder of the production run's manifest.json" in run.stderr
    run = make_slim_ci(slim["project"], production.target_path, tmp_path / "none.duckdb")
    assert run.returncode == 2
    assert "PROD_DB=FILE must be the production warehouse" in run.stderr


def test_production_inputs_that_cannot_be_used_are_one_line_before_any_copy(tmp_path):
    # A PROD_DB that is not a DuckDB file this DuckDB opens (another file, a newer DuckDB's
    # storage, a damaged copy) was copied and handed to dbt, which stopped with a traceback of
    # some 240 lines naming the copy; a manifest that is not one stopped with Python's.
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Makefile", "pyproject.toml", "uv.lock"):
        shutil.copy2(REPO_ROOT / name, project / name)
    (project / ".venv").symlink_to(BIN.parent)
    state = tmp_path / "state"
    state.mkdir()
    manifest = state / "manifest.json"
    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    model = {"resource_type": "model", "database": "warehouse"}
    cases = [
        (json.dumps({"nodes": {"model.a": model}}), manifest, "PROD_DB=FILE must be the "
         f"production warehouse: cannot open database {manifest}: "),
        ("{not json", warehouse, f"PROD_STATE: {manifest} is not a dbt manifest ("),
        (json.dumps({"nodes": {}}), warehouse, f"PROD_STATE: {manifest} holds no models"),
        # A newer dbt's manifest (dbt 1.11 writes and reads v12; v99 is far beyond): dbt
        # stopped on it only after the copy and a parse of the project.
        (json.dumps({"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/"
                                  "manifest/v99.json", "dbt_version": "9.0.0"},
                     "nodes": {"model.a": model}}), warehouse,
         f"PROD_STATE: {manifest} was written by dbt 9.0.0 (https://schemas.getdbt.com/dbt/"
         f"manifest/v99.json), which this checkout's dbt {version('dbt-core')} cannot read"),
    ]  # fmt: skip
    for text, db, message in cases:
        manifest.write_text(text, encoding="utf-8")
        run = make_slim_ci(project, state, db)
        assert run.returncode == 2, run.stdout + run.stderr
        assert run.stderr.startswith(f"make slim-ci: {message}"), run.stderr
        assert "Traceback" not in run.stderr
        assert not (project / "target").exists()  # nothing copied
