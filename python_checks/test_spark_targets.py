"""The Spark targets as a user first meets them, checked without Spark or a server.

- `dbt debug --target cluster` (profiles.yml) on a machine that cannot load the cluster's
  profile (dbt-spark or its PyHive extra missing, or a wrong `RETENTION_SPARK_METHOD`)
  reports why the profile did not load. dbt debug then renders dbt_project.yml without a
  target, and the project's `target.type` switches (Parquet tables, the predictive models
  disabled on Spark) stopped it with "'target' is undefined" instead.
- The cluster target without `RETENTION_SPARK_HOST` names the variable, where dbt-spark
  tried to connect to an empty host and failed with "'NoneType' object has no attribute
  'close'".
- docs/spark.md names every incremental model, the ones Spark rebuilds in full as tables
  (`incremental_config`, macros/engine_spark.sql): the models whose SQL calls an
  incremental config macro; and every exposure, semantic model and saved query disabled on
  Spark (they read the predictive marts).
- RETENTION_TARGET, the target of a plain dbt command, does not reach the dbt runs of the
  `retention` commands (retention.dbt_runner) or of the make recipes: they build DuckDB.

The dbt commands run in the shared virtualenv, with or without `make setup-spark`: each
fails at the profile before any connection.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from retention import dbt_runner
from retention.paths import REPO_ROOT

DBT = str(Path(sys.executable).with_name("dbt"))


def dbt_debug_cluster(tmp_path: Path, **env: str) -> str:
    """`dbt debug --target cluster` with the RETENTION_SPARK_* variables of `env` only;
    its output."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("RETENTION_SPARK_")
    }
    environment.update(
        DBT_PROFILES_DIR=str(REPO_ROOT),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DBT_TARGET_PATH=str(tmp_path / "target"),
        DBT_LOG_PATH=str(tmp_path / "logs"),
        **env,
    )
    done = subprocess.run(
        [DBT, "debug", "--target", "cluster"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output  # no server: never "All checks passed"
    return output


def test_dbt_debug_reports_why_the_cluster_profile_did_not_load(tmp_path: Path) -> None:
    # `bogus` is no method of dbt-spark's; without dbt-spark the adapter itself is missing.
    output = dbt_debug_cluster(
        tmp_path, RETENTION_SPARK_HOST="spark.example.com", RETENTION_SPARK_METHOD="bogus"
    )
    assert "'target' is undefined" not in output, output
    assert "Profile loading failed" in output, output
    assert "dbt_project.yml file [OK found and valid]" in re.sub(r"\x1b\[[0-9;]*m", "", output)


def test_the_cluster_target_without_a_host_names_the_variable(tmp_path: Path) -> None:
    output = dbt_debug_cluster(tmp_path)
    assert "Env var required but not provided: 'RETENTION_SPARK_HOST'" in output, output


INCREMENTAL_CONFIG = re.compile(r"\b\w*incremental_config\(")


def incremental_models() -> set[str]:
    """The SQL models configured through an incremental config macro."""
    return {
        path.stem
        for path in (REPO_ROOT / "models").rglob("*.sql")
        if INCREMENTAL_CONFIG.search(path.read_text(encoding="utf-8"))
    }


def test_docs_spark_names_every_incremental_model() -> None:
    text = (REPO_ROOT / "docs" / "spark.md").read_text(encoding="utf-8")
    (row,) = [
        line for line in text.splitlines() if line.startswith("| incremental `delete+insert`")
    ]
    models = {path.stem for path in (REPO_ROOT / "models").rglob("*.sql")}
    named = {name for name in re.findall(r"`([a-z_]+)`", row) if name in models}
    found = incremental_models()
    # The pattern finds the three config macros (base models, per-customer models, the rest).
    assert {"base_shop__orders", "int_changed_customers", "int_purchase_summary"} <= found
    assert named == found


def test_docs_spark_names_the_semantic_nodes_disabled_on_spark() -> None:
    """docs/spark.md's table of what is DuckDB only names the exposures, semantic models and
    saved queries of _marts__*.yml disabled on Spark (the metrics go with their semantic
    models)."""
    disabled: dict[str, set[str]] = {}
    for path in (REPO_ROOT / "models" / "marts").glob("_marts__*.yml"):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for kind in ("exposures", "semantic_models", "metrics", "saved_queries"):
            for node in document.get(kind) or []:
                enabled = (node.get("config") or {}).get("enabled")
                if isinstance(enabled, str) and "target.type != 'spark'" in enabled:
                    disabled.setdefault(kind, set()).add(node["name"])
    text = (REPO_ROOT / "docs" / "spark.md").read_text(encoding="utf-8")
    (row,) = [line for line in text.splitlines() if line.startswith("| the exposure ")]
    named = set(re.findall(r"`([a-z_0-9]+)`", row.split("|")[1]))
    assert "metrics" in disabled and "with their metrics" in row
    assert set().union(*(v for k, v in disabled.items() if k != "metrics")) == named


def test_a_shell_set_to_a_spark_target_still_builds_duckdb_through_retention_and_make(
    tmp_path: Path, monkeypatch
) -> None:
    """RETENTION_TARGET (docs/spark.md) picks the target of a plain dbt command. The
    `retention` commands and the make recipes build DuckDB files: set to `cluster` in the
    shell, it made `retention build` run dbt on the cluster target instead of the working
    copy (failing for want of RETENTION_SPARK_HOST, or building on a cluster)."""
    monkeypatch.setenv("RETENTION_TARGET", "cluster")
    profiles = yaml.safe_load((REPO_ROOT / "profiles.yml").read_text(encoding="utf-8"))
    assert profiles["retention"]["outputs"][dbt_runner.DUCKDB_TARGET]["type"] == "duckdb"
    # The command and environment `retention build` runs dbt with (build.py).
    done = subprocess.run(
        dbt_runner.command(["debug", "--connection"]),
        cwd=REPO_ROOT,
        env={**dbt_runner.environment(tmp_path / "w.duckdb"), "DBT_LOG_PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "RETENTION_SPARK_HOST" not in done.stdout + done.stderr
    make = subprocess.run(
        ["make", "-s", "--eval", 'shown: ; @echo "$${RETENTION_TARGET-unset}"', "shown"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert make.stdout.strip() == "unset"
