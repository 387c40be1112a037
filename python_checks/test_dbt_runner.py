"""retention.dbt_runner: dbt in this process, and one parse shared by runs with other vars.

The runner passes a parse kept from an earlier run to the next run of the same project,
unless a var listed in PARSE_VARS differs. That is right only if every other var is read
when dbt compiles, never while it parses (inside `config()` or in YAML). The first test
proves it for every var of dbt_project.yml: a parse with each of them changed is the same
manifest, node for node (and so is a parse of a working copy, `warehouse.duckdb.work`: the
database name is the same). A var that starts to be read at parse time fails it, naming the
nodes that changed: add that var to PARSE_VARS. The second proves that a run on a kept
parse compiles with its own vars, and that the database is closed after each run.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import yaml

from retention import dbt_runner
from retention.paths import REPO_ROOT


def changed(value: Any) -> Any:
    """Another valid-looking value of the same kind (a date moves by a year)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 7
    if isinstance(value, float):
        return value / 2
    if isinstance(value, list):
        return value[:1]
    if value is None:
        return "2021-03-31"
    text = str(value)
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return "Europe/Berlin" if text == "UTC" else text + "X"
    return (day - dt.timedelta(days=365)).isoformat()


def project_vars() -> dict[str, Any]:
    project = yaml.safe_load((REPO_ROOT / "dbt_project.yml").read_text(encoding="utf-8"))
    return dict(project.get("vars") or {})


def nodes(manifest: Any) -> dict[str, Any]:
    """Everything dbt parsed, without the parse's own timestamps."""
    data = manifest.writable_manifest().to_dict(omit_none=True)
    data.pop("metadata", None)

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "created_at"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(data)


def test_vars_outside_parse_vars_do_not_change_the_parse(tmp_path: Path):
    defaults = project_vars()
    others = {name: changed(v) for name, v in defaults.items() if name not in dbt_runner.PARSE_VARS}
    assert others, "dbt_project.yml declares no vars"
    db = tmp_path / "warehouse.duckdb"
    # The second parse is of a working copy (another file, the same database name): runs on
    # `warehouse.duckdb` and on `warehouse.duckdb.work` share a parse (one parse key).
    work = tmp_path / "copy" / "warehouse.duckdb.work"
    assert dbt_runner.database_name(db) == dbt_runner.database_name(work) == "warehouse"
    base = nodes(dbt_runner.parse(db, target_path=tmp_path / "a", log_path=tmp_path / "la"))
    moved = nodes(
        dbt_runner.parse(work, target_path=tmp_path / "b", log_path=tmp_path / "lb", vars=others)
    )
    differing = sorted(
        f"{section}: {key}"
        for section in base.keys() | moved.keys()
        if isinstance(base.get(section), dict)
        for key in base[section].keys() | moved.get(section, {}).keys()
        if base[section].get(key) != moved.get(section, {}).get(key)
    )
    assert not differing, (
        f"a parse with vars {others} differs from the default parse in {differing[:10]}: "
        "one of these vars is read at parse time; add it to dbt_runner.PARSE_VARS"
    )
    assert base == moved


def test_a_run_on_a_kept_parse_compiles_with_its_own_vars(tmp_path: Path):
    db = tmp_path / "warehouse.duckdb"
    sql = "select '{{ var(\"as_of_date\") }}' as a_date"
    shown = {}
    for name, day in (("first", "2001-02-03"), ("second", "2005-06-07")):
        shown[name] = dbt_runner.run(
            ["show", "--inline", sql],
            db,
            target_path=tmp_path / name,
            log_path=tmp_path / f"logs-{name}",
            vars={"as_of_date": day},
        )
        assert shown[name].ok, shown[name].output
        # dbt closed the file: this process opens it read-only (DuckDB refuses a second
        # open with another configuration while the first is still open).
        with duckdb.connect(str(db), read_only=True) as con:
            con.execute("select 1").fetchall()
    assert shown["second"].reused_parse
    assert "2001-02-03" in shown["first"].output and "2005-06-07" not in shown["first"].output
    assert "2005-06-07" in shown["second"].output and "2001-02-03" not in shown["second"].output


def test_a_dbt_child_stopped_by_a_signal_leaves_no_semaphore_warning(tmp_path):
    # `retention build` stopped by SIGTERM ended with Python's resource tracker warning
    # "There appear to be 2 leaked semaphore objects to clean up at shutdown" (and two lines
    # of traceback) under its own message. A child with dbt's environment that holds a
    # multiprocessing semaphore when a signal kills it stands for dbt here; the tracker
    # (a process of its own, which outlives it) must stay quiet. With a warning filter of
    # the caller's own, both are kept.
    import subprocess
    import sys

    child = (
        "import multiprocessing, os, signal\n"
        "semaphore = multiprocessing.get_context('spawn').Semaphore()\n"
        "os.kill(os.getpid(), signal.SIGTERM)\n"
    )
    base = {"PATH": "/usr/bin:/bin", "PYTHONWARNINGS": "default::DeprecationWarning"}
    env = dbt_runner.environment(tmp_path / "w.duckdb", base=base)
    assert env["PYTHONWARNINGS"].startswith("default::DeprecationWarning,")
    # The tracker inherits the pipe: reading it to its end waits for the tracker too.
    run = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True)
    assert run.returncode == -15
    assert "resource_tracker" not in run.stderr, run.stderr
