"""A `reporting_timezone` the JVM does not know stops a Spark build before any model
(`make test-spark`; macros/validate_vars.sql, `timezone_unknown_to_engine`).

pytz, which validate_vars asks first, knows zones that the Java runtime's time-zone data
lacks (docs/spark.md "Known differences": `ROC` and `America/Coyhaique` with OpenJDK
17.0.15). Such a zone used to pass validate_vars and fail the build with INVALID_TIMEZONE at
the first model that converts a timestamp. A short id such as `EST`, which Java's
`ZoneId.of` refuses but Spark reads (as -05:00), must still pass.

No raw tables are registered: a zone that passes validate_vars then stops at the next
on-run-start check (a missing raw table), which tells the two cases apart without a build.
"""

from __future__ import annotations

import sys
from pathlib import Path

from small_builds import run, tail

BIN = Path(sys.executable).parent


def _build(workdir: Path, zone: str):
    workdir.mkdir(parents=True)
    command = [str(BIN / "dbt"), "build", "--target", "spark", "--select", "int_reporting_params"]
    return run([*command, "--vars", f"{{reporting_timezone: '{zone}'}}"], workdir)


def test_a_zone_the_jvm_lacks_stops_the_build_before_any_model(tmp_path: Path):
    zone = "ROC"  # America/Coyhaique too (docs/spark.md); one Spark session each, so one
    done = _build(tmp_path / "build", zone)
    output = done.stdout + done.stderr
    assert done.returncode != 0, tail(done)
    assert "Invalid dbt vars, nothing was built" in output, tail(done)
    assert f"reporting_timezone: '{zone}' is not in this Spark's Java time-zone data" in output
    assert "INVALID_TIMEZONE" not in output


def test_a_short_zone_id_spark_reads_passes_the_check(tmp_path: Path):
    done = _build(tmp_path / "build", "EST")
    output = done.stdout + done.stderr
    assert done.returncode != 0, tail(done)  # no raw tables: the next check stops it
    assert "Invalid dbt vars" not in output, tail(done)
    assert "Raw tables do not match the raw input contract" in output, tail(done)
