"""retention/partial_parse.py: no dbt run of the Makefile or of `retention` reuses a partial
parse across a change of YAML.

dbt 1.11 applies some YAML changes to its kept parse (`<target>/partial_parse.msgpack`)
wrongly: one edit of a `_<folder>__models.yml` that changes a model's entry and removes one of
its unit tests keeps the unit test, putting it back then stops with "dbt found two unit_tests
with the name", and after a switch to a branch without a model that has a unit test dbt
stops with "Unable to find model ... for unit test". The first test reproduces each of these
with real dbt parses in a copy of the project (a plain `dbt parse` shows the fault, the
guarded one does not); the others check, without dbt, which parse files are kept and that
every way this checkout runs dbt goes through the check.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from retention import bench, build, cli, dbt_runner, partial_parse
from retention.paths import REPO_ROOT

DBT = str(Path(sys.executable).with_name("dbt"))
PARSE_FILE = partial_parse.PARSE_FILE
UNIT_TEST = "mart_revenue_concentration_deciles"  # mart_revenue_concentration's only one


def dbt_project_copy(folder: Path) -> Path:
    """The files dbt reads, copied from this checkout."""
    for name in partial_parse.PROJECT_FOLDERS:
        if (REPO_ROOT / name).is_dir():
            shutil.copytree(REPO_ROOT / name, folder / name)
    for name in partial_parse.PROJECT_FILES:
        if (REPO_ROOT / name).is_file():
            shutil.copy2(REPO_ROOT / name, folder / name)
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def remove_unit_test_and_change_entry(project: Path) -> None:
    """One edit: mart_revenue_concentration's unit test (the file's last) removed and the
    model's description changed."""
    entries = project / "models" / "marts" / "operations" / "_operations__models.yml"
    text = entries.read_text(encoding="utf-8")
    assert text.count(f"  - name: {UNIT_TEST}\n") == 1
    assert "\n  - name: " not in text.split(f"  - name: {UNIT_TEST}\n")[1]  # the last entry
    text = text.split(f"  - name: {UNIT_TEST}\n")[0]
    old = """description: '{{ doc("mart_revenue_concentration") }}'"""
    entry = f"  - name: mart_revenue_concentration\n    {old}"
    assert text.count(entry) == 1
    entries.write_text(text.replace(entry, entry.replace(old, "description: Changed.")))


def unit_tests(project: Path) -> dict[str, str]:
    manifest = json.loads((project / "target" / "manifest.json").read_text(encoding="utf-8"))
    return {test["name"]: test["model"] for test in manifest["unit_tests"].values()}


@pytest.mark.whole_commands  # make test-whole-commands, not make test (~55 s of real parses)
def test_no_parse_after_a_yaml_change_reuses_a_partial_parse(tmp_path):
    project = dbt_project_copy(tmp_path / "project")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "RETENTION_DB"))}
    env |= {
        "DBT_PROFILES_DIR": str(project),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "RETENTION_DB_PATH": str(tmp_path / "warehouse.duckdb"),
        "PYTHONPATH": str(REPO_ROOT),  # this checkout's retention.partial_parse
    }

    def parse(*guard: str) -> subprocess.CompletedProcess:
        command = [*guard, DBT, "parse", "--quiet"]
        return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)

    def guarded() -> subprocess.CompletedProcess:
        """The Makefile's way: dbt through `python -m retention.partial_parse`."""
        return parse(sys.executable, "-m", "retention.partial_parse")

    # The branch with a model that has a unit test.
    models = project / "models" / "marts" / "retention"
    (models / "mart_switch.sql").write_text("select customer_id from {{ ref('dim_customers') }}\n")
    entries = models / "_retention__models.yml"
    unit_test = (
        "  - name: mart_switch_keeps_ids\n    model: mart_switch\n"
        "    given: [{input: ref('dim_customers'), rows: [{customer_id: c1}]}]\n"
        "    expect: {rows: [{customer_id: c1}]}\n"
    )
    edit(entries, "\nmodels:\n", "\nmodels:\n  - name: mart_switch\n")
    edit(entries, "\nunit_tests:\n", "\nunit_tests:\n" + unit_test)
    run = guarded()  # a full parse: no parse file yet
    assert run.returncode == 0, run.stdout + run.stderr
    assert unit_tests(project)[UNIT_TEST] == "mart_revenue_concentration"
    assert (project / "target" / partial_parse.KEY_FILE).exists()

    # dbt's fault: after one edit that removes the unit test and changes the model's entry,
    # a plain (partial) parse keeps the unit test, and `make lint` passed the mart.
    operations = project / "models" / "marts" / "operations" / "_operations__models.yml"
    before = operations.read_bytes()
    remove_unit_test_and_change_entry(project)
    run = parse()
    assert run.returncode == 0, run.stdout + run.stderr
    assert UNIT_TEST in unit_tests(project)  # kept though removed: dbt 1.11's partial parse

    # Put back: a plain parse would now stop with "dbt found two unit_tests with the name".
    # The key names this YAML (the first parse's), but not the file the plain parse wrote.
    operations.write_bytes(before)
    run = guarded()
    assert run.returncode == 0, run.stdout + run.stderr
    assert unit_tests(project)[UNIT_TEST] == "mart_revenue_concentration"

    # A switch to a branch without mart_switch, where the unit test is also removed in the
    # same change: a plain parse stopped with "Unable to find model 'retention.mart_switch'
    # for unit test 'mart_switch_keeps_ids'".
    (models / "mart_switch.sql").unlink()
    edit(entries, "\nmodels:\n  - name: mart_switch\n", "\nmodels:\n")
    edit(entries, unit_test, "")
    remove_unit_test_and_change_entry(project)
    run = guarded()
    assert run.returncode == 0, run.stdout + run.stderr
    tests = unit_tests(project)
    assert "mart_switch_keeps_ids" not in tests and UNIT_TEST not in tests


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_key_covers_the_yaml_and_only_the_yaml(tmp_path):
    write(tmp_path / "dbt_project.yml", "name: p\n")
    schema = write(tmp_path / "models" / "a" / "_a__models.yml", "models: []\n")
    sql = write(tmp_path / "models" / "a" / "m.sql", "select 1\n")
    write(tmp_path / "target" / "run.yml", "not read by dbt\n")
    key = partial_parse.yaml_key(tmp_path)
    sql.write_text("select 2\n")  # SQL: dbt's partial parse gets it right
    write(tmp_path / "target" / "run.yml", "changed\n")  # outside the project's folders
    assert partial_parse.yaml_key(tmp_path) == key
    schema.write_text("models: [] \n")
    assert partial_parse.yaml_key(tmp_path) != key
    schema.write_text("models: []\n")
    assert partial_parse.yaml_key(tmp_path) == key
    schema.rename(tmp_path / "models" / "a" / "_b__models.yml")  # the same text elsewhere
    assert partial_parse.yaml_key(tmp_path) != key
    (tmp_path / "models" / "a" / "_b__models.yml").rename(schema)
    (tmp_path / "dbt_project.yml").write_text("name: q\n")
    assert partial_parse.yaml_key(tmp_path) != key


def test_a_parse_file_is_kept_only_when_a_run_here_left_it_for_the_same_yaml(tmp_path):
    project, target = tmp_path, tmp_path / "target"
    schema = write(project / "models" / "_m__models.yml", "models: []\n")
    parse_file = write(target / PARSE_FILE, "another branch's parse\n")

    def run_here(leaves: str) -> None:
        """A dbt run inside `fresh` that writes the parse file LEAVES."""
        with partial_parse.fresh(["dbt", "parse", "--project-dir", str(project)], {}):
            parse_file.write_text(leaves)

    partial_parse.forget_stale(target, project)
    assert not parse_file.exists()  # no key: left by anything
    run_here("parse 1")
    partial_parse.forget_stale(target, project)
    assert parse_file.read_text() == "parse 1"  # the same YAML, the file the run left
    parse_file.write_text("a plain dbt run's parse")  # dbt outside these commands
    partial_parse.forget_stale(target, project)
    assert not parse_file.exists()
    run_here("parse 2")
    schema.write_text("models: [{name: m}]\n")
    partial_parse.forget_stale(target, project)
    assert not parse_file.exists()  # the YAML changed

    # A YAML file changed while the run ran: its parse file gets no key.
    with partial_parse.fresh(["dbt", "parse", "--project-dir", str(project)], {}):
        parse_file.write_text("parse 3")
        schema.write_text("models: []\n")
    assert not (target / partial_parse.KEY_FILE).exists()
    partial_parse.forget_stale(target, project)
    assert not parse_file.exists()


@pytest.mark.parametrize(
    ("command", "env", "target"),
    [
        (["dbt", "build"], {}, "cwd/target"),  # dbt's default, in the project
        (["dbt", "build"], {"DBT_TARGET_PATH": "target/lint"}, "cwd/target/lint"),
        (["dbt", "build", "--target-path", "t"], {"DBT_TARGET_PATH": "x"}, "cwd/t"),
        (["dbt", "build", "--target-path=/abs/t"], {}, "/abs/t"),
        (["dbt", "parse", "--project-dir", "p"], {}, "cwd/p/target"),
        (["dbt", "parse"], {"DBT_PROJECT_DIR": "/q", "DBT_TARGET_PATH": "t"}, "/q/t"),
    ],
)
def test_the_target_path_is_the_one_dbt_takes(command, env, target):
    found, _ = partial_parse.paths(command, env, cwd=Path("/cwd"))
    assert found == Path("/" + target if not target.startswith("/") else target)


# --- every way this checkout runs dbt goes through the check --------------------------------

FAKE_DBT = """#!/bin/sh
# Says whether the parse file of its target path was there when "dbt" started; "dbt parse"
# succeeds, every other command fails.
target="$DBT_TARGET_PATH" command="$1"
while [ $# -gt 0 ]; do [ "$1" = --target-path ] && target="$2"; shift; done
if [ -e "$target/partial_parse.msgpack" ]; then echo kept; else echo gone; fi >> "$FAKE_DBT_LOG"
[ "$command" = parse ]
"""


@pytest.fixture
def fake_dbt(tmp_path, monkeypatch):
    """A `dbt` that records whether the stale parse file in its target path was there when
    it started (DBT_TARGET_PATH: tmp_path/target, which has one); returns the record."""
    fake = write(tmp_path / "bin" / "dbt", FAKE_DBT)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    target, log = tmp_path / "target", tmp_path / "dbt.log"
    write(target / PARSE_FILE, "another branch's parse\n")
    monkeypatch.setattr(dbt_runner, "executable", lambda: str(fake))
    monkeypatch.setenv("FAKE_DBT_LOG", str(log))
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))
    return log


def records(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def test_the_makefile_runs_dbt_and_sqlfluff_through_the_check():
    # Every dbt or sqlfluff command of build-test, lint (conventions) and docs.
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "build-test", "lint", "docs"],
        cwd=REPO_ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAKE")},
        capture_output=True,
        text=True,
    )
    assert dry.returncode == 0, dry.stderr
    runs = re.findall(r"^.*\.venv/bin/(?:dbt|sqlfluff) .*$", dry.stdout, re.MULTILINE)
    assert len(runs) == 4, dry.stdout  # build-test's build, sqlfluff, conventions, docs
    for line in runs:
        assert re.search(r"\.venv/bin/python -m retention\.partial_parse \S*\.venv/bin/", line)


def test_the_makefile_command_drops_a_stale_parse_file(fake_dbt):
    assert partial_parse.main([dbt_runner.executable(), "build"]) == 1  # the command's code
    assert records(fake_dbt) == ["gone"]


@pytest.mark.parametrize("in_process", [False, True])
def test_the_runner_drops_a_stale_parse_file(fake_dbt, tmp_path, monkeypatch, in_process):
    if in_process:  # dbt's runner in this process, its parse faked the same way

        class Runner:
            def __init__(self, manifest=None):
                pass

            def invoke(self, argv):
                subprocess.run([dbt_runner.executable(), *argv], check=False)
                return type("Outcome", (), {"success": False, "exception": None, "result": None})

        import dbt.cli.main

        monkeypatch.setattr(dbt.cli.main, "dbtRunner", Runner)
    dbt_runner.run(
        ["parse"],
        tmp_path / "w.duckdb",
        target_path=tmp_path / "target",
        log_path=tmp_path / "logs",
        in_process=in_process,
    )
    assert records(fake_dbt) == ["gone"]


def test_retention_build_drops_a_stale_parse_file(fake_dbt, tmp_path):
    db = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(db)).close()
    assert cli.main(["build", "--db", str(db)]) == build.EXIT_DBT
    assert records(fake_dbt) == ["gone"]


def test_retention_bench_drops_a_stale_parse_file(fake_dbt, tmp_path, monkeypatch):
    # The parses of its two target paths, before the first timed build (which fails here).
    monkeypatch.setattr(bench, "CACHE_DIR", tmp_path / "bench")
    ws = bench.Workspace(tmp_path / "bench" / "300")
    for name in ("full", "incremental"):
        write(ws.work / f"target-{name}" / PARSE_FILE, "another branch's parse\n")
    with pytest.raises(bench.BenchError, match="full_build failed"):
        bench.bench_scale(300, 1, lambda _: None)
    assert records(fake_dbt) == ["gone", "gone", "gone"]  # the parses, then the full build
