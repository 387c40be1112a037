"""Raw data to Spark (`retention load DIR --target spark`, docs/spark.md).

The load is the same as on DuckDB and goes through the same code: every file is checked,
the batch is appended (or replaces, with --replace) in the raw schema of a DuckDB landing
file (--db), with the same refusals, shrink guard and skip of a delivery already loaded.
Only then are the landing file's raw tables and `meta.load_batches` exported as Parquet
under the Spark folder's ``raw_export`` (``raw/<table>/``, ``meta/load_batches/``) and
registered in the Spark catalog by `dbt run-operation register_raw_tables`
(macros/spark_raw_tables.sql), over the connection of the dbt target, so the sources read
them there as they read `raw` on DuckDB. Quarantine is the dbt models' business on either
engine: the raw tables hold every delivered row as text, exactly as on DuckDB.

A refused load changes neither the landing file nor the Spark tables (exit 2, as `retention
load`); a failed export or registration exits 5 and leaves the landing file loaded, so
running the same command again (the delivery is then skipped as already loaded) exports
and registers again.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from retention.contract import TABLES
from retention.paths import REPO_ROOT
from retention.sql_text import sql_literal

EXPORTED = [f"raw.{name}" for name in TABLES] + ["meta.load_batches"]
EXIT_EXPORT = 5


class SparkExportError(Exception):
    """The export to Parquet or the registration in the Spark catalog failed."""


def spark_dir() -> Path:
    """Where the local Spark keeps its warehouse, metastore and the exported raw files."""
    return Path(os.environ.get("RETENTION_SPARK_DIR", REPO_ROOT / "target" / "spark")).resolve()


def export_raw(db_path: Path, location: Path) -> dict[str, int]:
    """Write every exported table of `db_path` as Parquet under `location`; rows per table.

    Each table is written to a fresh folder that then replaces the old one, so a table's
    folder never holds files of two exports.
    """
    rows: dict[str, int] = {}
    with duckdb.connect(str(db_path), read_only=True) as con:
        for qualified in EXPORTED:
            schema, name = qualified.split(".")
            target = location / schema / name
            fresh = target.with_name(name + ".export")
            shutil.rmtree(fresh, ignore_errors=True)
            fresh.mkdir(parents=True)
            part = sql_literal(fresh / "part-0.parquet")
            con.execute(f"copy {qualified} to {part} (format parquet)")
            rows[qualified] = con.execute(f"select count(*) from {qualified}").fetchone()[0]
            shutil.rmtree(target, ignore_errors=True)
            fresh.rename(target)
    return rows


def installed() -> bool:
    """Whether dbt-spark and PySpark are installed here (`make setup-spark`)."""
    return all(
        importlib.util.find_spec(name) is not None for name in ("dbt.adapters.spark", "pyspark")
    )


def register(location: Path | str, target: str) -> None:
    """Register the exported tables in the catalog of dbt target `target`."""
    args = f"{{location: '{location}', tables: {EXPORTED}}}"
    command = [str(Path(sys.executable).with_name("dbt")), "--quiet", "run-operation"]
    command += ["register_raw_tables", "--target", target, "--args", args]
    env = {**os.environ, "RETENTION_SPARK_DIR": str(spark_dir())}
    env.setdefault("DBT_PROFILES_DIR", str(REPO_ROOT))
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stdout + done.stderr).strip().splitlines()[-5:]
        raise SparkExportError(
            f"registering the raw tables in Spark (dbt target {target}) failed:\n  "
            + "\n  ".join(detail)
        )


def publish_raw(db_path: Path, target: str = "spark", progress=None) -> dict[str, int]:
    """Export the landing file's raw tables and register them in Spark."""
    say = progress or (lambda _message: None)
    location = spark_dir() / "raw_export"
    try:
        rows = export_raw(db_path, location)
    except (duckdb.Error, OSError) as exc:
        raise SparkExportError(f"exporting the raw tables to {location} failed: {exc}") from exc
    say(f"exported {len(rows)} tables to {location} ({sum(rows.values()):,} rows)")
    register(location, target)
    say(f"registered them in the catalog of dbt target {target}")
    return rows
