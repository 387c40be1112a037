"""The `retention` command as a user meets it: clear errors with documented exit codes,
`--version`, progress only on a terminal, and a command reference (docs/commands.md) that
matches `--help`.

Commands run as a user runs them: `.venv/bin/retention ...` in a temporary folder (a few
in-process through `retention.cli.main` where the process state is what is checked).
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import functools
import importlib.metadata
import os
import pty
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from pipeline import running

from retention import cli, console, dbt_runner, paths, publish, signals, spark, summary
from retention.paths import DB_HELP, REPO_ROOT

RETENTION = str(Path(sys.executable).with_name("retention"))
ANSI = re.compile(r"\x1b[\[\]()]")  # the start of any terminal escape sequence
ENV = {**os.environ, "COLUMNS": "100", "GX_ANALYTICS_ENABLED": "false"}


def retention(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """`retention ARGS` in `cwd` with stdout and stderr captured (pipes: not a terminal)."""
    return subprocess.run(
        [RETENTION, *args], cwd=cwd, env=ENV, capture_output=True, text=True, check=False
    )


def with_terminal_stderr(cwd: Path, *args: str, stdout: bool = False) -> tuple[int, str, str]:
    """`retention ARGS` with stderr on a pseudo-terminal (as in an interactive shell) and
    stdout on a pipe (on the terminal too with `stdout`); returns the exit code, what came
    through the pipe and everything written to the terminal."""
    master, slave = pty.openpty()
    child = subprocess.Popen(
        [RETENTION, *args],
        cwd=cwd,
        env=ENV,
        stdout=slave if stdout else subprocess.PIPE,
        stderr=slave,
        text=True,
    )
    os.close(slave)
    received: list[bytes] = []

    def read() -> None:  # drain the terminal while the command runs, so it never blocks
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # the child closed its end
                return
            if not data:
                return
            received.append(data)

    reader = threading.Thread(target=read)
    reader.start()
    out, _ = child.communicate(timeout=300)
    reader.join()
    out = out or ""
    os.close(master)
    return child.returncode, out, b"".join(received).decode("utf-8", "replace")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Path:
    """A folder with raw data (`data/`) loaded into `loaded.duckdb`, never built."""
    folder = tmp_path_factory.mktemp("cli")
    assert retention(folder, "generate", "--out", "data", "--customers", "50").returncode == 0
    load = retention(folder, "load", "data", "--db", "loaded.duckdb")
    assert load.returncode == 0, load.stderr
    return folder


# --- errors instead of tracebacks ------------------------------------------------------------


def test_summary_of_a_loaded_but_unbuilt_database_says_how_to_build_it(loaded):
    run = retention(loaded, "summary", "--db", "loaded.duckdb")
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert "loaded.duckdb holds raw data but no marts: it was loaded, not built" in run.stderr
    assert "`dbt build`" in run.stderr
    assert "`retention build --data DIR --db loaded.duckdb`" in run.stderr
    assert run.stdout == ""


def test_summary_of_a_missing_or_broken_database_exits_2(tmp_path):
    run = retention(tmp_path, "summary", "--db", "missing.duckdb")
    assert run.returncode == 2
    assert "database missing.duckdb does not exist" in run.stderr
    assert "`retention build --data DIR --db missing.duckdb`" in run.stderr
    (tmp_path / "garbage.duckdb").write_text("not a database\n" * 100)
    run = retention(tmp_path, "summary", "--db", "garbage.duckdb")
    assert run.returncode == 2
    assert "cannot open database garbage.duckdb" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("command", ["summary", "validate", "holdout", "diff"])
def test_a_reader_given_a_data_file_as_db_says_it_is_not_a_database(loaded, capsys, command):
    # `retention summary --db data/orders.csv` (the delivery's file for the warehouse): DuckDB
    # opens a CSV as an in-memory database, which read-only it refuses in its own words,
    # "Cannot launch in-memory database in read-only mode!", which named neither the file
    # nor the mistake.
    data = loaded / "data" / "orders.csv"
    base = ["--base", str(loaded / "data" / "customers.csv")] if command == "diff" else []
    assert cli.main([command, "--db", str(data), *base]) == 2
    err = capsys.readouterr().err
    named = base[1] if base and str(data) not in err else data
    assert err == (
        f"retention {command}: error: cannot open database {named}: it is not a DuckDB "
        "database (a data file?); check --db PATH (or RETENTION_DB_PATH)\n"
    )


# A process holding a DuckDB file open for writing until its stdin closes.
HOLD_FOR_WRITING = (
    "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('open', flush=True); "
    "sys.stdin.read()"
)


@pytest.mark.parametrize(
    ("command", "side"),
    [
        ("summary", "--db"),
        ("validate", "--db"),
        ("holdout", "--db"),
        ("diff", "--db"),
        ("diff", "--base"),
    ],
)
def test_a_reader_of_a_database_another_process_writes_exits_6(tmp_path, capsys, command, side):
    # A `retention load` or a dbt run writing to the file: the readers said "cannot open
    # database" with exit 2, the code of "no built warehouse there", so an orchestrator could
    # not tell "build it" from "run again in a moment". Now 6, as load, build and publish.
    busy, other = tmp_path / "busy.duckdb", tmp_path / "other.duckdb"
    duckdb.connect(str(busy)).close()
    with duckdb.connect(str(other)) as con:  # a mart, so that diff opens the busy file too
        con.execute("create schema marts; create table marts.mart_churn (basis text)")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_FOR_WRITING, str(busy)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    given = {"--db": busy, "--base": other} if side == "--db" else {"--db": other, "--base": busy}
    arguments = [command, "--db", str(given["--db"])]
    if command == "diff":
        arguments += ["--base", str(given["--base"])]
    try:
        assert holder.stdout.readline() == "open\n"
        assert cli.main(arguments) == 6
    finally:
        holder.communicate("")
    err = capsys.readouterr().err
    assert err.startswith(f"retention {command}: error: cannot open database {busy}: IO Error"), err
    assert "Conflicting lock" in err or "Could not set lock" in err, err
    # Once the writer is gone, the same command gets past opening the file (exit 2 now: an
    # empty database has no marts).
    assert cli.main(arguments) == 2


def test_a_validate_baseline_another_process_writes_is_busy_not_unreadable(tmp_path):
    from retention import validate

    baseline = tmp_path / "published.duckdb"
    duckdb.connect(str(baseline)).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_FOR_WRITING, str(baseline)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "open\n"
        with pytest.raises(validate.ValidateError, match="cannot read the baseline") as raised:
            validate.baseline_counts(baseline, ["mart_churn"])
    finally:
        holder.communicate("")
    assert raised.value.exit_code == 6


@pytest.mark.parametrize("command", ["build", "load", "summary"])
def test_an_empty_db_variable_or_a_folder_as_db_is_refused_before_anything(
    loaded, tmp_path, capsys, monkeypatch, command
):
    # RETENTION_DB_PATH= (a template whose variable was missing) is the current folder to
    # Python, and `retention build` stopped on it, or on `--db .`, with a ValueError
    # traceback ("PosixPath('.') has an empty name") and exit 1.
    monkeypatch.chdir(tmp_path)
    data = [str(loaded / "data")] if command == "load" else []
    data += ["--data", str(loaded / "data")] if command == "build" else []
    monkeypatch.setenv("RETENTION_DB_PATH", "")
    assert cli.main([command, *data]) == 2
    assert capsys.readouterr().err == (
        f"retention {command}: error: RETENTION_DB_PATH is set but empty: set it to the "
        "warehouse's DuckDB file, or unset it (warehouse.duckdb at the repo root); nothing "
        "was changed\n"
    )
    monkeypatch.delenv("RETENTION_DB_PATH")
    for folder in (".", str(tmp_path)):
        assert cli.main([command, *data, "--db", folder]) == 2
        assert capsys.readouterr().err == (
            f"retention {command}: error: database {folder} is a folder, not a DuckDB file: "
            "check --db PATH (or RETENTION_DB_PATH), e.g. --db /srv/retention/warehouse.duckdb; "
            "nothing was changed\n"
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["build", "load", "publish", "summary", "validate"])
def test_a_db_in_a_folder_that_does_not_exist_is_refused_before_anything(
    loaded, tmp_path, capsys, monkeypatch, command
):
    # `retention load DIR --db /srv/retenton/w.duckdb` (a mistyped folder) created the folders
    # and a new warehouse there, at batch 1, without a word: the history looked lost.
    monkeypatch.chdir(tmp_path)
    data = [str(loaded / "data")] if command == "load" else []
    data += ["--data", str(loaded / "data")] if command == "build" else []
    assert cli.main([command, *data, "--db", "no such/w.duckdb"]) == 2
    if command in ("summary", "validate"):  # they only read a warehouse: no mkdir suggested
        assert capsys.readouterr().err == (
            f"retention {command}: error: the folder no such of database no such/w.duckdb does "
            "not exist, so neither does the warehouse: check --db PATH (or RETENTION_DB_PATH); "
            "nothing was changed\n"
        )
    else:
        assert capsys.readouterr().err == (
            f"retention {command}: error: the folder no such of database no such/w.duckdb does "
            "not exist: check --db PATH (or RETENTION_DB_PATH); to start a new warehouse there, "
            "create the folder first (mkdir -p 'no such'); nothing was changed\n"
        )
    (tmp_path / "orders.csv").write_text("order_id\n", encoding="utf-8")
    monkeypatch.setenv("RETENTION_DB_PATH", "orders.csv/w.duckdb")
    assert cli.main([command, *data]) == 2
    assert capsys.readouterr().err == (
        f"retention {command}: error: database orders.csv/w.duckdb is in orders.csv, which is "
        "a file, not a folder: check --db PATH (or RETENTION_DB_PATH); nothing was changed\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.csv"]


@pytest.mark.parametrize(
    ("argv", "file"),
    [
        (["load", "DATA", "--db", "w\\x.duckdb"], "w\\x.duckdb"),
        (["summary", "--db", "w\\raw.duckdb"], "w\\raw.duckdb"),  # not a name check's 'w\\raw'
        (["validate", "--baseline", "w\\x.duckdb"], "w\\x.duckdb"),
        (["diff", "--db", "y.duckdb", "--base", "w\\x.duckdb"], "w\\x.duckdb"),
        (["publish", "--db", "y.duckdb", "--from", "w\\x.work"], "w\\x.work"),
        (["build", "--data", "DATA", "--db", "y.duckdb"], "w\\x.work"),  # the working copy
    ],
)
def test_a_warehouse_file_with_a_backslash_in_its_path_is_refused(
    loaded, tmp_path, capsys, monkeypatch, argv, file
):
    # DuckDB 2.0 reads a backslash as a folder separator: `--db 'w\\x.duckdb'` loaded into
    # w/x.duckdb while every check of this side looked at a file named w\\x.duckdb here.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "w").mkdir()
    monkeypatch.setenv("RETENTION_WORK_DB_PATH", "w\\x.work")
    argv = [str(loaded / "data") if arg == "DATA" else arg for arg in argv]
    assert cli.main(argv) == 2
    assert capsys.readouterr().err == (
        f"retention {argv[0]}: error: the warehouse file {file} has a backslash in its path, "
        f"which DuckDB reads as a folder separator (it would open {file.replace(chr(92), '/')}): "
        "write its folders with / and keep backslashes out of its name; nothing was changed\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["w"]
    assert list((tmp_path / "w").iterdir()) == []


def test_a_load_that_starts_a_new_database_says_so(loaded, tmp_path):
    # In a folder that exists, a mistyped file name still starts a new warehouse: the load's
    # first line says so, where it named the file as for any other.
    run = retention(tmp_path, "load", str(loaded / "data"), "--db", "w.duckdb")
    assert run.returncode == 0, run.stderr
    assert f"loading {loaded / 'data'} into a new database w.duckdb (schema raw" in run.stderr
    again = retention(tmp_path, "load", str(loaded / "data"), "--db", "w.duckdb", "--force")
    assert f"loading {loaded / 'data'} into w.duckdb (schema raw" in again.stderr


# DuckDB names a database after its file, up to the first dot and in any case; a name that is
# also one of the warehouse's schemas made `raw.orders` ambiguous (a binder error from the
# loader) or `marts.<mart>` (from every reader), and dbt found no raw table in main.duckdb.
@pytest.mark.parametrize(
    ("command", "file", "named"),
    [
        ("load", "raw.duckdb", "raw"),
        ("load", "Meta.duckdb", "Meta"),
        ("load", "staging.2024.duckdb", "staging"),
        ("summary", "marts.duckdb", "marts"),
        ("validate", "main.duckdb", "main"),
        ("publish", "reference.db", "reference"),
    ],
)
def test_a_warehouse_file_named_like_one_of_its_schemas_is_refused(loaded, command, file, named):
    args = ["load", "data"] if command == "load" else [command]
    run = retention(loaded, *args, "--db", file)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert (
        f"retention {command}: error: the warehouse file {file} makes a database named "
        f"'{named}', the name of one of its schemas, so names like {named.lower()}.<table> "
        "would be ambiguous"
    ) in run.stderr
    assert "intermediate, main, marts, meta, quarantine, raw, reference, staging" in run.stderr
    assert not (loaded / file).exists()  # refused before anything was opened


def test_a_baseline_or_working_copy_named_like_a_schema_is_refused(loaded):
    # The same ambiguity for the other files a command opens as a warehouse.
    run = retention(loaded, "validate", "--db", "warehouse.duckdb", "--baseline", "marts.duckdb")
    assert run.returncode == 2, run.stderr
    assert "the warehouse file marts.duckdb makes a database named 'marts'" in run.stderr
    (loaded / "site").mkdir()
    run = subprocess.run(
        [RETENTION, "build", "--db", str(loaded / "site" / "warehouse.duckdb")],
        cwd=loaded,
        env={**ENV, "RETENTION_WORK_DB_PATH": str(loaded / "site" / "raw.work")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2, run.stderr
    assert "raw.work makes a database named 'raw'" in run.stderr
    assert list((loaded / "site").iterdir()) == []  # refused before anything was made


@pytest.mark.skipif(spark.installed(), reason="Spark is installed here (make setup-spark)")
def test_load_to_spark_without_spark_says_how_to_install_it_and_loads_nothing(loaded):
    run = retention(loaded, "load", "data", "--db", "spark-landing.duckdb", "--target", "spark")
    assert run.returncode == 2, run.stderr
    assert "--target spark needs PySpark and dbt-spark" in run.stderr
    assert "make setup-spark" in run.stderr and "Traceback" not in run.stderr
    assert not (loaded / "spark-landing.duckdb").exists()


def test_build_refuses_a_storage_version_duckdb_does_not_know_before_anything(tmp_path):
    db = tmp_path / "new" / "warehouse.duckdb"
    db.parent.mkdir()  # a new warehouse's folder exists (a missing one is refused)
    run = retention(tmp_path, "build", "--db", str(db), "--storage-version", "v9.9.0")
    assert run.returncode == 2, run.stderr
    assert "storage version 'v9.9.0'" in run.stderr and "not a known DuckDB version" in run.stderr
    assert list((tmp_path / "new").iterdir()) == []


@pytest.mark.parametrize("version", ["v0.9.0", "v0.10.2"])
def test_a_storage_version_older_than_1_0_is_refused_before_anything(
    tmp_path, capsys, monkeypatch, version
):
    # DuckDB takes the 0.x formats too, and `build` built the warehouse and published it in
    # one; the project supports v1.0.0 (its default) and newer.
    said = (
        f"storage version '{version}' is older than v1.0.0, the oldest a published warehouse "
        "is written in (DuckDB 0.x formats are not supported; every DuckDB 1.x and 2.x client "
        "reads v1.0.0)"
    )
    db = tmp_path / "new" / "warehouse.duckdb"
    db.parent.mkdir()  # a new warehouse's folder exists (a missing one is refused)
    args = ["build", "--db", str(db), "--data", str(tmp_path / "none")]
    assert cli.main([*args, "--storage-version", version]) == 2
    assert capsys.readouterr().err == f"retention build: error: {said}\n"
    assert list((tmp_path / "new").iterdir()) == []
    monkeypatch.setenv("RETENTION_STORAGE_VERSION", version)
    assert cli.main(["publish", "--db", str(db), "--from", __file__]) == 2
    err = capsys.readouterr().err
    assert f"storage version '{version}' ($RETENTION_STORAGE_VERSION) is older than v1.0." in err
    # The oldest supported one, and the newest, are taken.
    assert publish.resolve_storage_version("v1.0.0") == "v1.0.0"
    assert publish.resolve_storage_version("latest") == "latest"


def test_a_storage_version_from_the_environment_is_named_as_such(tmp_path, capsys, monkeypatch):
    # Without --storage-version the value comes from RETENTION_STORAGE_VERSION; the error
    # said "storage version 'v1.O.0'" as if the operator had typed it.
    monkeypatch.setenv("RETENTION_STORAGE_VERSION", "v1.O.0")
    assert cli.main(["publish", "--db", str(tmp_path / "w.duckdb"), "--from", __file__]) == 2
    err = capsys.readouterr().err
    assert "storage version 'v1.O.0' ($RETENTION_STORAGE_VERSION) is not of the form" in err
    args = ["publish", "--db", str(tmp_path / "w.duckdb"), "--from", __file__]
    assert cli.main([*args, "--storage-version", "v9.9.0"]) == 2
    assert "storage version 'v9.9.0': " in capsys.readouterr().err  # given: no origin


def test_build_refuses_a_memory_limit_duckdb_does_not_take_before_anything(
    tmp_path, capsys, monkeypatch
):
    # dbt took it only after the load, and stopped with a ParserException traceback per
    # thread (exit 3); now it is an error at once, like an unknown storage version.
    db = tmp_path / "new" / "warehouse.duckdb"
    db.parent.mkdir()  # a new warehouse's folder exists (a missing one is refused)
    monkeypatch.setenv("RETENTION_MEMORY_LIMIT", "junk")
    code = cli.main(["build", "--db", str(db), "--data", str(tmp_path / "none")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "retention build: error: RETENTION_MEMORY_LIMIT='junk' is not a memory size" in err
    assert list((tmp_path / "new").iterdir()) == []


def test_a_working_copy_that_is_the_published_file_is_refused(tmp_path, capsys, monkeypatch):
    # RETENTION_WORK_DB_PATH set to the published file made `retention build` run dbt on the
    # file BI reads (and say "the published warehouse is unchanged" when dbt failed), and
    # `retention publish --from X --db X` said "published X -> X". Both now refuse at once
    # (exit 2), before any lock or DuckDB connection: the file stays byte for byte as it was.
    db = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create table t as select 1 as x")
    before = db.read_bytes()
    assert cli.main(["publish", "--db", str(db), "--from", str(tmp_path / "." / db.name)]) == 2
    assert "the working copy to publish is the published warehouse" in capsys.readouterr().err
    monkeypatch.setenv("RETENTION_WORK_DB_PATH", str(db))
    assert cli.main(["publish", "--db", str(db)]) == 2
    assert "(--from, or RETENTION_WORK_DB_PATH, names the --db file)" in capsys.readouterr().err
    assert cli.main(["build", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert f"retention build: error: the working copy is the published warehouse {db}" in err
    assert db.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == [db.name]  # no lock, no WAL


@pytest.mark.parametrize("name", ["orders.csv", "orders.parquet", "orders.json"])
def test_build_and_publish_refuse_a_db_that_is_a_data_file_as_load_does(
    loaded, tmp_path, capsys, name
):
    # A --db naming an existing data file: DuckDB opens it as an in-memory database that reads
    # it. `retention load` refused it; `retention build` copied it to <db>.work and stopped with
    # exit 7, calling the file "damaged". Now both refuse it in the same words (exit 2) before
    # anything, and the file and its folder stay as they were.
    data = tmp_path / name
    if name.endswith(".csv"):
        data.write_bytes((loaded / "data" / "orders.csv").read_bytes())
    elif name.endswith(".json"):
        data.write_text('[{"order_id": "o1"}]\n', encoding="utf-8")
    else:
        with duckdb.connect() as con:
            con.execute(f"copy (select 'o1' as order_id) to '{data}' (format parquet)")
    before = data.read_bytes()
    said = (
        f"cannot open database {data}: it is a data file, not a DuckDB database (DuckDB would "
        "read it as an in-memory database: nothing written to it would be kept); check --db "
        "PATH (or RETENTION_DB_PATH)"
    )
    assert cli.main(["load", str(loaded / "data"), "--db", str(data)]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"retention load: error: {said}"
    for data_option in (["--data", str(loaded / "data")], []):
        assert cli.main(["build", *data_option, "--db", str(data)]) == 2
        assert capsys.readouterr().err == f"retention build: error: {said}; nothing was changed\n"
    # `retention publish` put a built working copy in the data file's place.
    assert cli.main(["publish", "--db", str(data), "--from", str(loaded / "w.duckdb")]) == 2
    assert capsys.readouterr().err == f"retention publish: error: {said}; nothing was changed\n"
    assert data.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == [name]  # no copy, no lock


def test_the_help_of_each_command_that_refuses_a_data_file_as_db_says_so(tmp_path, capsys):
    # `retention publish --help` did not say that a --db naming a data file exits 2, and
    # `retention load --help` neither; build's did, but not a SQLite database, which all
    # three refuse too (load.data_file_problem; the data files: the test above).
    lite = tmp_path / "app.db"
    with contextlib.closing(sqlite3.connect(lite)) as con:
        con.execute("create table t (x integer)")
        con.commit()
    before = lite.read_bytes()
    assert cli.main(["build", "--db", str(lite)]) == 2
    assert cli.main(["publish", "--db", str(lite), "--from", str(tmp_path / "w.duckdb")]) == 2
    assert capsys.readouterr().err.count("it is a SQLite database, not a DuckDB database") == 2
    assert lite.read_bytes() == before
    said = "--db names a CSV, Parquet or JSON data file or a SQLite database"
    for command in ("load", "build", "publish"):
        assert said in help_codes(help_text(command))[2], command


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("{bad", "'{bad' is not valid YAML (expected ',' or '}', but got '<stream end>')"),
        ("as_of_date: 2024-13-01", "'as_of_date: 2024-13-01' is not valid YAML (month must be"),
        ("[1, 2]", "'[1, 2]' is not a YAML mapping"),
        # A misspelt var: dbt ignores a var no model reads, and built with the default A.
        ("{as_of_dat: 2024-06-30}", "'{as_of_dat: 2024-06-30}' names an unknown var as_of_dat"),
        (
            "{gross_margn: 0.4, x: 1}",
            "'{gross_margn: 0.4, x: 1}' names unknown vars gross_margn, x",
        ),
    ],
)
def test_build_refuses_vars_dbt_cannot_read_before_anything(tmp_path, capsys, given, message):
    # dbt refused them only after the delivery was loaded (exit 3), and an impossible date
    # was dbt's own ValueError traceback. Now exit 2 at once, before the lock or the load.
    db = tmp_path / "new" / "warehouse.duckdb"
    db.parent.mkdir()  # a new warehouse's folder exists (a missing one is refused)
    code = cli.main(["build", "--db", str(db), "--data", str(tmp_path / "none"), "--vars", given])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"retention build: error: --vars {message}"), err
    assert err.endswith("; nothing was changed\n") and "Traceback" not in err
    assert list((tmp_path / "new").iterdir()) == []
    from retention.build import vars_problem

    assert vars_problem('{as_of_date: "2024-06-30"}') is None and vars_problem("{}") is None
    assert (
        vars_problem("{earliest_plausible_date: 1970-01-01, plausible_years_after_load: 2}") is None
    )


@pytest.mark.parametrize(
    ("options", "named"),
    [(["--replace"], "--replace"), (["--force", "--replace"], "--replace and --force")],
)
def test_build_refuses_load_options_without_data(tmp_path, capsys, options, named):
    # --replace and --force say how --data is loaded; without --data they were ignored
    # without a word, and a re-delivery meant to replace a table was never loaded.
    db = tmp_path / "new" / "warehouse.duckdb"
    db.parent.mkdir()  # a new warehouse's folder exists (a missing one is refused)
    code = cli.main(["build", "--db", str(db), *options])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err == (
        f"retention build: error: {named} applies to loading --data DIR, and no --data was "
        "given; nothing was changed\n"
    )
    assert list((tmp_path / "new").iterdir()) == []


@pytest.mark.parametrize(
    ("name", "why"), [("missing", "no such directory"), ("file", "not a directory")]
)
def test_build_refuses_a_data_folder_that_is_not_there_before_copying_the_warehouse(
    loaded, tmp_path, capsys, name, why
):
    # A mistyped --data was found only once the published warehouse had been copied into a
    # new working copy (minutes and gigabytes at a million customers).
    db = tmp_path / "warehouse.duckdb"
    db.write_bytes((loaded / "loaded.duckdb").read_bytes())
    (tmp_path / "file").write_text("not a folder\n", encoding="utf-8")
    data = tmp_path / name
    assert cli.main(["build", "--db", str(db), "--data", str(data)]) == 2
    assert capsys.readouterr().err == (
        f"retention build: load refused: {data}: {why}; nothing was changed\n"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file", "warehouse.duckdb"]


@pytest.mark.parametrize("threads", ["abc", "0", "-3", ""])
def test_build_refuses_dbt_threads_that_are_not_a_number_before_anything(
    tmp_path, capsys, monkeypatch, threads
):
    # profiles.yml reads RETENTION_THREADS with Jinja's `int`, which makes `abc` (or empty) 0,
    # and dbt stopped after the load with "max_workers must be greater than 0" (exit 3).
    db = tmp_path / "new" / "warehouse.duckdb"
    db.parent.mkdir()  # a new warehouse's folder exists (a missing one is refused)
    monkeypatch.setenv("RETENTION_THREADS", threads)
    code = cli.main(["build", "--db", str(db), "--data", str(tmp_path / "none")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"retention build: error: RETENTION_THREADS={threads!r} is not a number" in err
    assert list((tmp_path / "new").iterdir()) == []
    from retention.build import threads_problem

    assert threads_problem(None) is threads_problem("1") is threads_problem("2.5") is None


@pytest.mark.parametrize("value", ["false", "0", "OFF", "no", ""])
def test_build_refuses_a_predictive_switch_that_is_neither_on_nor_off_before_anything(
    tmp_path, capsys, monkeypatch, value
):
    # The predictive models compared RETENTION_PREDICTIVE with `off` only: `false`, `0` or
    # `OFF` meant on, and the fits ran while the operator had switched them off.
    db = tmp_path / "new" / "warehouse.duckdb"
    db.parent.mkdir()  # a new warehouse's folder exists (a missing one is refused)
    monkeypatch.setenv("RETENTION_PREDICTIVE", value)
    code = cli.main(["build", "--db", str(db), "--data", str(tmp_path / "none")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err == (
        f"retention build: error: RETENTION_PREDICTIVE={value!r} is neither on nor off: set "
        "it to off to build the predictive marts empty, or to on (or unset it) to fit them; "
        "nothing was changed\n"
    )
    assert list((tmp_path / "new").iterdir()) == []
    # The models themselves (a `dbt build` run without `retention build`) refuse it too.
    from retention.predictive_columns import fits_off

    with pytest.raises(ValueError, match="is neither on nor off"):
        fits_off(value)
    assert fits_off("off") and not fits_off("on") and not fits_off(None)


def test_the_names_a_warehouse_file_may_not_have_are_the_schemas_of_a_built_warehouse(
    clean_build,
):
    assert clean_build.ok, clean_build.failure_summary()
    with duckdb.connect(str(clean_build.db_path), read_only=True) as con:
        built = con.execute(
            "select distinct schema_name from information_schema.schemata "
            "where catalog_name = current_database() order by 1"
        ).fetchall()
    assert [name for (name,) in built] == paths.schema_names()
    assert paths.database_name("x/warehouse.duckdb.work") == "warehouse"
    assert paths.db_name_problem("x/warehouse.duckdb") is None
    assert paths.db_name_problem("x/rawdata.duckdb") is None  # a schema's name only up to a dot


VALIDATE_IN_PROCESS = """
import sys
from retention.cli import main
code = main(["validate", "--db", sys.argv[1]])
print(code, "great_expectations" in sys.modules)
"""


@pytest.mark.parametrize(
    ("db", "message"),
    [
        ("missing.duckdb", "database missing.duckdb does not exist"),
        ("loaded.duckdb", "database loaded.duckdb holds raw data but no marts: it was loaded"),
    ],
)
def test_validate_refuses_a_missing_or_unbuilt_database_before_importing_ge(loaded, db, message):
    # In a fresh interpreter: Great Expectations (slow to import) must not have been loaded
    # by the time the command has said what is wrong.
    run = subprocess.run(
        [sys.executable, "-c", VALIDATE_IN_PROCESS, db],
        cwd=loaded,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.stdout.split() == ["2", "False"], run.stdout + run.stderr
    assert f"retention validate: error: {message}" in run.stderr


def test_holdout_cdnow_with_a_work_folder_it_cannot_write_exits_3(tmp_path, capsys, monkeypatch):
    # A --work under a file stopped with a NotADirectoryError traceback (exit 1) once the
    # sample had been read; now one line and exit 3, "could not be downloaded or built".
    from retention import cdnow

    monkeypatch.setattr(cdnow, "read_member", lambda *_: b"1 1 19970101 1 9.99\n")
    blocker = tmp_path / "work"
    blocker.write_text("a file, not a folder\n")
    assert cli.main(["holdout", "--cdnow", "--work", str(blocker / "cdnow")]) == 3
    err = capsys.readouterr().err
    assert f"retention holdout: error: cannot build in --work {blocker / 'cdnow'}: " in err
    assert "Not a directory" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (
            ["--cdnow", "--db", "w.duckdb"],
            "--cdnow builds its own warehouse (in --work): leave out --db",
        ),
        (["--work", "cdnow"], "--work is where --cdnow builds, and no --cdnow was given"),
    ],
)
def test_holdout_refuses_options_it_would_ignore(tmp_path, capsys, monkeypatch, options, said):
    # `--cdnow --db X` read the CDNOW warehouse, not X; `--work` without `--cdnow` did nothing.
    monkeypatch.chdir(tmp_path)
    assert cli.main(["holdout", *options]) == 2
    assert capsys.readouterr().err == f"retention holdout: error: {said}\n"
    assert list(tmp_path.iterdir()) == []


def test_generate_with_an_empty_window_says_so(tmp_path):
    run = retention(
        tmp_path, "generate", "--out", "d", "--start", "2024-01-01", "--end", "2023-01-01"
    )
    assert run.returncode == 2
    assert "retention generate: error: --end must be after --start" in run.stderr


def test_generate_with_a_negative_seed_names_the_option(tmp_path, capsys):
    # numpy refused it as "expected non-negative integer", a line that named no option.
    code = cli.main(["generate", "--out", str(tmp_path / "d"), "--customers", "1", "--seed", "-1"])
    assert code == 2
    assert capsys.readouterr().err == "retention generate: error: --seed must be 0 or more\n"
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("2024/01/01", "Invalid isoformat string: '2024/01/01'"),
        ("2024-02-30", "day is out of range for month"),
    ],
)
def test_generate_with_a_date_not_in_iso_form_says_which_form(tmp_path, capsys, given, why):
    # argparse said "invalid fromisoformat value", naming Python's parser, not the form.
    with pytest.raises(SystemExit) as stopped:
        cli.main(["generate", "--out", str(tmp_path / "d"), "--start", given])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"retention generate: error: argument --start: expected a date as YYYY-MM-DD, got "
        f"'{given}' ({why})"
    )
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_second_signal_during_a_commands_clean_up_is_one_line_not_a_traceback(
    capsys, monkeypatch, signum
):
    # A command stopped by a signal cleans up inside signals.stoppable(); a second Ctrl-C
    # (or an orchestrator's second SIGTERM) during that clean-up raised Interrupted out of
    # the command, which main() did not catch: a traceback.
    def stopped(args):
        raise signals.Interrupted(signum)

    monkeypatch.setattr(summary, "run", stopped)
    assert cli.main(["summary"]) == 128 + signum
    name = signal.Signals(signum).name
    assert capsys.readouterr().err == (
        f"retention summary: error: stopped by {name} again while cleaning up after an earlier "
        "stop, so the clean-up may be incomplete: run the same command again\n"
    )


class Unhandled(Exception):
    """Raised by the handler a test sets for SIGTERM and SIGHUP, in place of Python's default
    (which would end pytest): the command under test set no handler of its own."""


@contextlib.contextmanager
def unhandled_signals_raise() -> Iterator[None]:
    """SIGTERM and SIGHUP raise Unhandled while in this block; SIGINT is Python's own (the
    KeyboardInterrupt a shell gives)."""

    def unhandled(signum: int, _frame: object) -> None:
        raise Unhandled(signal.Signals(signum).name)

    handlers = {signal.SIGTERM: unhandled, signal.SIGHUP: unhandled}
    handlers[signal.SIGINT] = signal.default_int_handler
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@pytest.mark.parametrize(
    ("signum", "said"),
    [
        (signal.SIGINT, "interrupted by SIGINT (Ctrl-C)"),
        (signal.SIGTERM, "stopped by SIGTERM (an orchestrator's stop)"),
        (signal.SIGHUP, "stopped by SIGHUP (its terminal was closed)"),
    ],
)
def test_a_signal_during_a_duckdb_query_of_a_reading_command_stops_it_with_one_line(
    capsys, monkeypatch, signum, said
):
    # The commands that only read (summary, validate, holdout, diff) set no handler: SIGTERM
    # and SIGHUP ended them without a word (143 and 129 in a shell, -15 and -1 to Python's
    # subprocess), while build, load, publish and generate said what stopped them. Ctrl-C
    # said "interrupted" alone. During a DuckDB query the signal reaches the command as
    # DuckDB's RuntimeError "Query interrupted", not as the handler's exception.
    def querying(args):
        threading.Timer(0.5, os.kill, (os.getpid(), signum)).start()
        with duckdb.connect() as con:
            while True:  # DuckDB's queries, until the signal; the time between them is nil
                con.execute("select count(*) from range(100000000)").fetchone()

    monkeypatch.setattr(summary, "run", querying)
    with unhandled_signals_raise():
        assert cli.main(["summary"]) == 128 + signum
    assert capsys.readouterr().err == f"retention summary: error: {said}\n"

    # Any other RuntimeError is not taken for a stop.
    def failing(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(summary, "run", failing)
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["summary"])


def test_a_command_that_goes_on_after_a_signal_still_exits_with_the_signals_code(
    capsys, monkeypatch
):
    # A library that swallows the stop lets the command finish: DuckDB's "Query interrupted"
    # taken for an ordinary error (`except Exception`) when the signal comes during a query,
    # or our Interrupted under a broad `except BaseException` when it comes between two. It
    # was asked to stop all the same, and says so. The signal is sent here, inside the
    # `try`, so that the handler runs there whatever the machine's load (a timer thread's
    # signal during a DuckDB query was handled after the query about one time in three, when
    # Interrupted passed an `except Exception`).
    def going_on(args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # never slept through: the handler raises at once
        except BaseException:
            pass
        print("done")
        return 0

    monkeypatch.setattr(summary, "run", going_on)
    with unhandled_signals_raise():
        assert cli.main(["summary"]) == 143  # 128 + SIGTERM's 15
    captured = capsys.readouterr()
    assert captured.out == "done\n"
    assert captured.err == "retention summary: error: stopped by SIGTERM (an orchestrator's stop)\n"


def test_validate_stopped_by_a_signal_removes_its_scratch_folder(tmp_path, capsys, monkeypatch):
    # DuckDB's spill files and the copies of the marts read in parts live in a temporary
    # folder: a SIGTERM with no handler left it (as large as a mart) in the temporary folder.
    from test_validate import build

    from retention import validate

    db = build(tmp_path / "w.duckdb")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    seen = []
    real_build_vars = validate.build_vars

    def build_vars_then_stop(con):  # called inside the scratch folder's block
        seen.extend(scratch.iterdir())
        os.kill(os.getpid(), signal.SIGTERM)
        return real_build_vars(con)

    monkeypatch.setattr(validate, "build_vars", build_vars_then_stop)
    with unhandled_signals_raise():
        code = cli.main(["validate", "--db", str(db), "--mart", "mart_churn"])
    assert code == 143, capsys.readouterr().err
    assert [path.name[:19] for path in seen] == ["retention-validate-"]
    assert list(scratch.iterdir()) == []
    assert capsys.readouterr().err == (
        "retention validate: error: stopped by SIGTERM (an orchestrator's stop)\n"
    )


def blocked_writing(pid: int) -> bool:
    """Whether the process `pid` waits to write into a full pipe (Linux: its wchan)."""
    try:
        return "pipe_write" in Path(f"/proc/{pid}/wchan").read_text()
    except OSError:  # it ended
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
@pytest.mark.parametrize("command", ["summary", "validate", "diff"])
def test_a_reading_command_stopped_by_sigterm_or_sighup_says_so_with_its_code(
    tmp_path, command, signum
):
    # An orchestrator's stop (SIGTERM) or a closed terminal (SIGHUP) ended these commands
    # without a word: 143 or 129 in a shell, -15 or -1 to Python's subprocess. The command
    # runs as a user runs it, its stdout a pipe that is already full (4096 bytes unread),
    # so that it waits at its first write of the report, once every query is done, until it
    # is stopped: no sleep decides when the signal comes.
    from test_validate import build  # hand-made marts: two customers

    base, db = build(tmp_path / "base.duckdb"), build(tmp_path / "w.duckdb")
    arguments = {
        "summary": ["--db", str(db)],
        "validate": ["--db", str(db), "--mart", "mart_churn"],
        "diff": ["--base", str(base), "--db", str(db)],
    }[command]
    read, write = os.pipe()
    fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, 4096)  # the smallest a pipe holds: one page
    os.write(write, b"x" * fcntl.fcntl(write, fcntl.F_GETPIPE_SZ))
    try:
        child = subprocess.Popen(
            [RETENTION, command, *arguments],
            cwd=tmp_path,
            env=ENV,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        os.close(write)
    with os.fdopen(read, "rb") as out:
        try:
            deadline = time.monotonic() + 120
            while not blocked_writing(child.pid) and child.poll() is None:
                assert time.monotonic() < deadline, "it never wrote its report"
                time.sleep(0.05)
            child.send_signal(signum)
            out.read()  # the pipe's bytes, and what the command had written
            err = child.stderr.read()
        finally:
            child.kill()
            child.wait()
    name = signal.Signals(signum).name
    said = {"SIGTERM": "an orchestrator's stop", "SIGHUP": "its terminal was closed"}[name]
    assert child.returncode == 128 + signum, err
    assert err == f"retention {command}: error: stopped by {name} ({said})\n"


def test_a_closed_output_pipe_stops_a_command_quietly_with_141(tmp_path):
    # `retention diff ... | head` (or `| true`): the reader is gone before the report is
    # written. It was a BrokenPipeError traceback and exit 1, the code `validate` and
    # `diff --exit-code` give a finding; now 141 (128 + SIGPIPE) and nothing on stderr.
    from test_validate import build  # hand-made marts: two customers

    base, pr = build(tmp_path / "base.duckdb"), build(tmp_path / "pr.duckdb")
    read, write = os.pipe()
    os.close(read)  # no reader at all: the first write fails
    try:
        run = subprocess.run(
            [RETENTION, "diff", "--base", str(base), "--db", str(pr), "--mart", "mart_clv"],
            cwd=tmp_path,
            env=ENV,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    finally:
        os.close(write)
    assert (run.returncode, run.stderr) == (141, "")


def test_a_build_whose_stdout_is_closed_says_so_with_141(tmp_path, capsys, monkeypatch):
    # `retention build ... | head`: the validation summary's write failed with EPIPE, which
    # the build took for a file it could not write ("stopped while validating: Broken pipe",
    # exit 7, the code of a full disk). Now 141, and the message says what happened.
    from retention import build

    def closed_stdout(*_args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(build, "_pipeline", closed_stdout)
    db = tmp_path / "warehouse.duckdb"
    db.touch()
    assert cli.main(["build", "--db", str(db)]) == 141
    err = capsys.readouterr().err
    assert err.startswith("retention build: stdout was closed by its reader while preparing")
    assert "Broken pipe" not in err and db.stat().st_size == 0


@pytest.mark.parametrize(("given", "passed"), [(None, "false"), ("true", "true")])
def test_a_build_in_a_log_runs_dbt_without_colour_codes(
    loaded, tmp_path, capsys, monkeypatch, given, passed
):
    # dbt colours its lines unless told not to, also when its output is a file: an
    # orchestrator's log of `retention build > build.log` held ESC[32m before every OK.
    # Off when stdout is not a terminal, unless the operator's DBT_USE_COLORS says otherwise.
    from retention import build

    if given is None:
        monkeypatch.delenv("DBT_USE_COLORS", raising=False)
    else:
        monkeypatch.setenv("DBT_USE_COLORS", given)
    seen = {}

    def dbt(command, env):
        seen.update(env)
        return 1  # stop the build at step 2 (exit 3)

    monkeypatch.setattr(build, "_run_child", dbt)
    db = tmp_path / "warehouse.duckdb"
    assert cli.main(["build", "--db", str(db), "--data", str(loaded / "data")]) == 3
    capsys.readouterr()
    assert seen["DBT_USE_COLORS"] == passed


def test_a_build_whose_dbt_was_killed_says_by_what(loaded, tmp_path, capsys, monkeypatch):
    # dbt killed by the kernel's out-of-memory killer (SIGKILL) prints nothing, and the build
    # said only "dbt build failed", leaving the operator nothing to go on.
    from retention import build

    monkeypatch.setattr(build, "_run_child", lambda _command, _env: -9)  # Popen: -signal
    db = tmp_path / "warehouse.duckdb"
    assert cli.main(["build", "--db", str(db), "--data", str(loaded / "data")]) == 3
    err = capsys.readouterr().err.splitlines()
    assert err[-2:] == [
        f"retention build: dbt build failed; the published warehouse {db} is unchanged",
        "retention build: dbt was killed by SIGKILL, not by this build (SIGKILL is also what "
        "the kernel's out-of-memory killer sends: lower RETENTION_MEMORY_LIMIT or "
        "RETENTION_THREADS, or give the machine more memory)",
    ]


def test_a_build_whose_working_copy_another_process_opens_before_the_load_exits_6(
    loaded, tmp_path, capsys, monkeypatch
):
    # Opened by another process after the build checked the working copy: the load's "another
    # process has it open" is the build's 6 (run again), not 2 (the data was refused).
    from retention import load

    def busy(_data, work, *_args, **_options):
        raise load.DatabaseBusy(f"another process has {work} open: IO Error: Conflicting lock")

    monkeypatch.setattr(load, "load_as_told", busy)
    db = tmp_path / "warehouse.duckdb"
    assert cli.main(["build", "--db", str(db), "--data", str(loaded / "data")]) == 6
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"retention build: another process has {db}.work open: IO Error: Conflicting lock; "
        "nothing was loaded"
    )
    assert not db.exists()


def _summary_warehouse(path: Path) -> Path:
    """test_validate's hand-made marts (two customers) with A = 2024-03-31 recorded (by
    `build`, in int_reporting_params)."""
    from test_validate import build

    return build(path)


def test_summary_prints_lines_in_a_log_and_a_table_on_a_terminal(tmp_path):
    _summary_warehouse(tmp_path / "w.duckdb")
    expected = {
        "reporting date (A)": "2024-03-31",
        "customers": "2",
        "active customers, order basis": "1",  # c1 bought on 2024-02-05, < 365 days before A
        "active customers, contract basis": "0",  # c2's only contract ended 2024-02-29
        "churn rate March 2024, order basis": "0.0%",  # 0 of the 1 active on March 1
        "churn rate March 2024, contract basis": "100.0%",  # c2: 1 churned of 1
        "repeat purchase rate": "100.0%",  # c1 bought twice: 1 repeat customer of 1
        "CLV, all customers (order basis)": "n/a",  # nobody active on A − 365: no churn rate
        "final-offer save rate": "n/a",  # c2's request had no final offer: 0 / 0
        "win-back rate, contract basis": "0.0%",  # c2 churned on 2024-03-01, not back: 0 / 1
        "NPS": "n/a",  # no responses
        "programmes with a significant effect": "0/0",  # no retention actions
        "largest significant uplift, contract basis": "n/a",
    }
    run = retention(tmp_path, "summary", "--db", "w.duckdb")
    assert run.returncode == 0, run.stderr
    assert not ANSI.search(run.stdout)
    lines = dict(
        re.fullmatch(r"(.+?) {2,}(\S+)", line).groups()
        for line in run.stdout.splitlines()
        if re.fullmatch(r"(.+?) {2,}(\S+)", line)
    )
    assert expected.items() <= lines.items(), run.stdout
    code, _, terminal = with_terminal_stderr(tmp_path, "summary", "--db", "w.duckdb", stdout=True)
    assert code == 0
    for label, value in expected.items():
        assert re.search(rf"│ {re.escape(label)} +│ +{re.escape(value)} │", terminal), terminal


def test_summary_reads_each_money_and_rate_figure_from_the_rows_it_names(tmp_path, capsys):
    # The hand-made warehouse above leaves CLV, the save rate, NPS and the programmes at n/a
    # or 0: a summary that read the wrong row or grain printed the same. Rows added here
    # (columns not named are null), each beside a decoy the figure must leave out.
    db = _summary_warehouse(tmp_path / "w.duckdb")
    with duckdb.connect(str(db)) as con:
        con.execute(
            "update marts.mart_clv set clv = 1234.567, contract_clv = 987.654 "
            "where segment_type = 'all'"
        )
        con.execute("update marts.mart_clv set clv = 5.0, contract_clv = 6.0 "
                    "where segment_type <> 'all'")  # fmt: skip
        con.executemany(
            "insert into marts.mart_cancellation_saves (period_grain, period_start, saves, "
            "final_offers_made) values (?, ?, ?, ?)",
            [("year", "2023-01-01", 3, 4), ("year", "2024-01-01", 1, 3),
             ("month", "2024-02-01", 50, 50)],  # a month, counted in its year already
        )  # fmt: skip
        con.executemany(
            "insert into marts.mart_winback (basis, churn_month, churn_events, won_back) "
            "values (?, ?, ?, ?)",
            [("contract", "2024-01-01", 3, 3), ("order", "2024-01-01", 10, 0)],
        )
        con.executemany(
            "insert into marts.mart_nps (period_grain, period_start, segment_type, nps) "
            "values (?, ?, ?, ?)",
            [("month", "2024-02-01", "all", 10.0), ("month", "2024-03-01", "all", 25.0),
             ("month", "2024-04-01", "all", 99.0),  # ends after A = 2024-03-31
             ("month", "2024-03-01", "acquisition_channel", 50.0),
             ("quarter", "2024-01-01", "all", 70.0)],
        )  # fmt: skip
        con.executemany(
            "insert into marts.mart_retention_programmes (campaign, basis, treatment_customers,"
            " control_customers, uplift, is_significant) values (?, ?, ?, ?, ?, ?)",
            [("a_small", "contract", 10, 10, 0.05, True),
             ("b_large", "contract", 10, 10, 0.123, True),
             ("c_unclear", "contract", 10, 10, 0.5, False),
             ("d_no_control", "contract", 10, 0, None, None),
             ("e_order", "order", 10, 10, 0.9, True)],
        )  # fmt: skip
    assert cli.main(["summary", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    lines = dict(
        re.fullmatch(r"(.+?) {2,}(\S+)", line).groups()
        for line in out.splitlines()
        if re.fullmatch(r"(.+?) {2,}(\S+)", line)
    )
    expected = {
        "CLV, all customers (order basis)": "1,234.57",  # the `all` row, not a segment's 5.00
        "CLV, all customers (contract basis)": "987.65",
        # year rows only: (0 + 3 + 1) saves / (0 + 4 + 3) final offers = 4 / 7 = 57.1 %
        # (with the month rows: 54 / 57 = 94.7 %)
        "final-offer save rate": "57.1%",
        # contract basis: (0 + 3) won back / (1 + 3) churn events = 75.0 % (with the order
        # row: 3 / 14 = 21.4 %)
        "win-back rate, contract basis": "75.0%",
        "NPS March 2024": "25.0",  # March: the last month that ends by A, segment `all`
        # significant: a_small and b_large; measured (both groups): a, b, c (not d)
        "programmes with a significant effect": "2/3",
        # the campaign `b_large` in words, as every code the summary prints
        "largest significant uplift, contract basis (B large)": "+12.3pp",  # not c's 0.5
    }
    assert expected.items() <= lines.items(), out


@pytest.mark.parametrize("encoding", ["latin-1", "ascii"])
def test_a_result_on_an_output_that_is_not_utf_8_is_spelt_in_ascii(tmp_path, encoding):
    # A locale that is not UTF-8 (latin-1, a Windows console): the summary's first line has
    # an em dash, which made it a UnicodeEncodeError traceback and exit 1 (for `diff
    # --exit-code` and `validate`, the code of a difference or a failed check).
    _summary_warehouse(tmp_path / "w.duckdb")
    run = subprocess.run(
        [RETENTION, "summary", "--db", "w.duckdb"],
        cwd=tmp_path,
        env={**ENV, "PYTHONIOENCODING": encoding},
        capture_output=True,
        check=False,
    )
    assert (run.returncode, run.stderr) == (0, b""), run.stderr
    assert run.stdout.decode("ascii").startswith("\nRetention warehouse - headline metrics\n")
    # Characters the encoding has stay as they are; those it lacks get an ASCII spelling.
    assert "rows 2 \u2192 3, \u00d7 2 \u2026 \u2603".encode(encoding, console.ENCODING_ERRORS) == (
        b"rows 2 -> 3, \xd7 2 ... ?" if encoding == "latin-1" else b"rows 2 -> 3, x 2 ... ?"
    )


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        (0.012, "+1.2 pp"),  # 1.2 points
        (-0.004, "-0.4 pp"),
        (-0.0004, "0.0 pp"),  # -0.04 points rounds to 0.0: not "-0.0 pp"
        (0.0004, "0.0 pp"),  # nor "+0.0 pp"
    ],
)
def test_percentage_points_that_round_to_zero_have_no_sign(change, shown):
    assert console.points(change) == shown


def test_summary_names_a_month_in_words_and_none_when_there_is_none():
    # "churn rate 2024-06-01, order basis" named the month by its first day, and a warehouse
    # without a complete month would have read "churn rate None, order basis".
    import datetime as dt

    assert summary._month(dt.date(2024, 6, 1)) == " June 2024"
    assert summary._month(None) == ""


def test_summary_shows_an_uplift_that_rounds_to_zero_as_0_0pp():
    # The largest significant uplift of -0.04 points (a significant loss) showed -0.0pp.
    assert summary._fmt(-0.0004, "points") == "0.0pp"  # one word in the summary's table
    assert summary._fmt(0.0123, "points") == "+1.2pp"


@pytest.mark.parametrize(
    ("state", "step", "why"),
    [
        ("loaded", None, "rows were loaded after its last build, and the marts leave them out"),
        ("failed", None, "its last dbt build did not complete, so the marts may mix two builds"),
        # `make data-diff`: every model built, then `dbt test` failed. It said "did not
        # complete, so the marts may mix two builds", which neither was.
        (
            "failed",
            "tests",
            "its models were all built but its tests failed, so the marts may not be right",
        ),
        ("built", None, None),
    ],
)
def test_summary_warns_when_the_marts_are_not_those_of_the_data(tmp_path, capsys, state, step, why):
    # `retention load` into a built warehouse (or a failed dbt build on it) left the last
    # build's marts, and summary printed them as the warehouse's figures without a word.
    db = _summary_warehouse(tmp_path / "w.duckdb")
    with duckdb.connect(str(db)) as con:
        con.execute("create schema meta")
        con.execute(
            "create table meta.build_state as select ? as state, ? as failed_step", [state, step]
        )
    assert cli.main(["summary", "--db", str(db)]) == 0
    captured = capsys.readouterr()
    assert "reporting date (A)" in captured.out
    if why is None:
        assert captured.err == ""
    else:
        assert captured.err.startswith(
            f"warning: {db} is not as built (meta.build_state: {state}): {why}; build it "
            f"(`retention build --db {db}`"
        ), captured.err


def _with_predictive_marts(db: Path, parameters: list[tuple], predictions: list[tuple]) -> None:
    """`db` with mart_clv_model_parameters (model, segment, parameter, value, observations,
    log_likelihood, fit_status, fit_message) and mart_clv_predictions (customer_id,
    predicted_clv_365d) of the rows given."""
    with duckdb.connect(str(db)) as con:
        con.execute(
            "create table marts.mart_clv_model_parameters (model varchar, segment varchar, "
            "parameter varchar, value double, observations bigint, log_likelihood double, "
            "fit_status varchar, fit_message varchar)"
        )
        con.executemany(
            "insert into marts.mart_clv_model_parameters values (?, ?, ?, ?, ?, ?, ?, ?)",
            parameters,
        )
        con.execute(
            "create table marts.mart_clv_predictions (customer_id varchar, "
            "predicted_clv_365d double)"
        )
        con.executemany("insert into marts.mart_clv_predictions values (?, ?)", predictions)


def _summary_lines(stdout: str) -> dict[str, str]:
    """The summary's lines as {label: value} (the value may have spaces)."""
    return dict(
        re.fullmatch(r"(.+?) {2,}(\S.*)", line).groups()
        for line in stdout.splitlines()
        if re.fullmatch(r"(.+?) {2,}(\S.*)", line)
    )


def test_summary_prints_the_fitted_parameters_and_the_top_predicted_clv_channel(tmp_path):
    from test_validate import build  # hand-made marts: c1 organic, c2 (made) email

    db = build(tmp_path / "w.duckdb", {("dim_customers", 1, "acquisition_channel"): "email"})
    ok = [("bg_nbd", "all", p, v, 2, -1.0, "ok", "") for p, v in
          [("r", 0.2434), ("alpha", 4.4136), ("a", 0.7929), ("b", 2.4259)]]  # fmt: skip
    refused = [("gamma_gamma", "all", p, None, 0, None, "no_repeat_buyers", "")
               for p in ("p", "q", "gamma")]  # fmt: skip
    cohorts = [("sbg", "2024-01-01", "alpha", 0.7, 9, -3.0, "ok", ""),
               ("sbg", "2024-01-01", "beta", 1.2, 9, -3.0, "ok", ""),
               ("sbg", "2024-02-01", "alpha", None, 4, None, "no_churn", ""),
               ("sbg", "2024-02-01", "beta", None, 4, None, "no_churn", ""),
               ("sbg", "2024-03-01", "alpha", None, 10, -5.0, "geometric_limit", ""),
               ("sbg", "2024-03-01", "beta", None, 10, -5.0, "geometric_limit", ""),
               ("sbg", "2024-03-01", "churn_probability", 0.1, 10, -5.0, "geometric_limit",
                "")]  # fmt: skip
    _with_predictive_marts(db, ok + refused + cohorts, [("c1", 100.0), ("c2", 40.0)])
    run = retention(tmp_path, "summary", "--db", "w.duckdb")
    assert run.returncode == 0, run.stderr
    lines = _summary_lines(run.stdout)
    assert lines["BG/NBD r, alpha, a, b"] == "0.243, 4.414, 0.793, 2.426"  # 3 decimals
    # the fit status `no_repeat_buyers` in words
    assert lines["Gamma-Gamma p, q, gamma"] == "not fitted: No repeat buyers"
    # 2024-01 ok and 2024-03 at the geometric limit (it has a projection) of the 3 cohorts
    assert lines["sBG contract cohorts fitted"] == "2 of 3 (1 at the geometric limit)"
    # c1 (organic, "Organic" in words) 100.00 against c2 (email) 40.00
    assert lines["top predicted-CLV channel"] == "Organic: 100.00 mean over 1"
    # Every value ends where the rules end: the long values ran past them.
    out = run.stdout.splitlines()
    rules = [i for i, line in enumerate(out) if line and set(line) == {"-"}]
    assert len(rules) == 2
    table = out[rules[0] + 1 : rules[1]]
    assert {len(line) for line in table} == {len(out[rules[0]])}, "\n".join(out)


# A category code as the marts hold it: words joined by underscores.
CODE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")


def test_summary_prints_category_codes_in_words(tmp_path):
    # The summary printed the marts' codes ("paid_search: 405.92 mean over 377", the
    # campaign "(renewal_call)", "not fitted: no_repeat_buyers") where the dashboard shows
    # words. Each is printed as the dashboard writes it (retention/words.py), and no line
    # but the database's path (a folder may have underscores) holds a code.
    from test_validate import build  # hand-made marts: customers c1 and c2

    db = build(
        tmp_path / "w.duckdb",
        {("dim_customers", 0, "acquisition_channel"): "paid_search",
         ("dim_customers", 1, "acquisition_channel"): "email"},
    )  # fmt: skip
    with duckdb.connect(str(db)) as con:
        con.execute(
            "insert into marts.mart_retention_programmes (campaign, basis, treatment_customers,"
            " control_customers, uplift, is_significant) values "
            "('winback_lapsed', 'contract', 10, 10, 0.2, true)"
        )
    bg_nbd = [("bg_nbd", "all", p, 0.5, 2, -1.0, "ok", "") for p in ("r", "alpha", "a", "b")]
    gamma_gamma = [("gamma_gamma", "all", p, None, 0, None, "no_repeat_buyers", "")
                   for p in ("p", "q", "gamma")]  # fmt: skip
    _with_predictive_marts(db, bg_nbd + gamma_gamma, [("c1", 100.0), ("c2", 40.0)])
    run = retention(tmp_path, "summary", "--db", "w.duckdb")
    assert run.returncode == 0, run.stderr
    lines = _summary_lines(run.stdout)
    # 0.2 uplift = 20.0 percentage points; the campaign `winback_lapsed` in words
    assert lines["largest significant uplift, contract basis (Win-back lapsed)"] == "+20.0pp"
    assert lines["Gamma-Gamma p, q, gamma"] == "not fitted: No repeat buyers"
    # c1 (paid_search) 100.00 against c2 (email) 40.00: one customer, mean 100.00
    assert lines["top predicted-CLV channel"] == "Paid search: 100.00 mean over 1"
    shown = [line for line in run.stdout.splitlines() if not line.startswith("database: ")]
    assert [line for line in shown if CODE.search(line)] == []


def test_summary_without_predictive_marts_says_so(tmp_path):
    from test_validate import build  # no predictive marts in it

    build(tmp_path / "w.duckdb")
    run = retention(tmp_path, "summary", "--db", "w.duckdb")
    assert run.returncode == 0, run.stderr
    assert re.search(r"predictive models +n/a \(not in this warehouse\)", run.stdout)


# --- consistency -----------------------------------------------------------------------------


def test_version_comes_from_the_package_metadata(tmp_path):
    run = retention(tmp_path, "--version")
    assert run.returncode == 0
    assert run.stdout.strip() == f"retention {importlib.metadata.version('retention-warehouse')}"


@functools.cache
def help_text(*command: str) -> str:
    run = retention(REPO_ROOT, *command, "--help")
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.mark.parametrize(
    "command",
    [name for name in cli.COMMANDS if name not in ("generate", "bench")],  # these open none
)
def test_every_command_that_opens_the_warehouse_has_the_same_db_option(command):
    text = " ".join(help_text(command).split())  # unwrapped
    assert f"--db PATH {' '.join(DB_HELP.split())}" in text


# The exit codes every command shares beside 2's invalid arguments: 128 + the number of the
# signal that stopped it (SIGHUP 1, SIGINT 2, SIGPIPE 13, SIGTERM 15).
SIGNAL_CODES = {129: "SIGHUP", 130: "SIGINT", 141: "SIGPIPE", 143: "SIGTERM"}


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_every_command_lists_its_exit_codes_in_help(command):
    codes = help_codes(help_text(command))
    assert 0 in codes and 2 in codes, codes
    assert "also invalid arguments" in codes[2] or codes[2] == "invalid arguments"
    # The codes of a signal, every command's: `retention build --help` lacked 141, and
    # validate, summary, holdout, diff and bench listed none of them.
    for code, name in SIGNAL_CODES.items():
        assert name in codes.get(code, ""), (command, code, codes)
    # No option cut at a hyphen across two lines (build's 4 read "--max- shrink").
    assert not [meaning for meaning in codes.values() if re.search(r"\w- ", meaning)], codes


def test_build_leaves_unit_tests_to_ci_unless_asked():
    from retention.build import dbt_build_args

    def dbt_args(*options: str) -> list[str]:
        return dbt_build_args(cli.build_parser().parse_args(["build", *options]))

    assert dbt_args() == ["build", "--exclude-resource-type", "unit_test"]
    assert dbt_args("--full-refresh") == [
        "build",
        "--exclude-resource-type",
        "unit_test",
        "--full-refresh",
    ]
    assert dbt_args("--unit-tests") == ["build"]
    assert dbt_args("--unit-tests", "--full-refresh") == ["build", "--full-refresh"]


def help_codes(text: str) -> dict[int, str]:
    """The exit codes under `exit codes:` in a --help text, with their (unwrapped) meaning."""
    section = text.split("\nexit codes:\n", 1)[1]
    codes: dict[int, str] = {}
    for match in re.finditer(r"^  (\d+)\s+(.*(?:\n {6}.*)*)", section, re.MULTILINE):
        codes[int(match.group(1))] = " ".join(match.group(2).split())
    return codes


def test_the_reference_gives_the_benchmarks_time_that_performance_md_measured():
    # docs/commands.md said "some 6 minutes on an idle 2-core machine" for the default
    # `retention bench`; docs/performance.md measured 1-2 minutes a run, and there are six.
    from retention import bench

    performance = " ".join((REPO_ROOT / "docs" / "performance.md").read_text().split())
    measured = re.search(
        r"(\d+)–(\d+) minutes each on an idle 2-core machine \(the night of ([\d-]+)\)",
        performance,
    )
    assert measured, "docs/performance.md: no time of one run"
    low, high, night = int(measured[1]), int(measured[2]), measured[3]
    runs = len(bench.DEFAULT_SCALES) * bench.DEFAULT_RUNS
    said = " ".join(documented_reference()["bench"].split())
    assert (
        f"{low * runs}–{high * runs} minutes on an idle 2-core machine ({low}–{high} a run, "
        f"the night of {night})"
    ) in said


def test_the_benchmark_defaults_to_medians_of_three_and_keeps_1m_a_flag_away():
    from retention import bench

    # 10k and 100k customers, three runs each; docs/performance.md's 1M stays a flag away.
    assert bench.DEFAULT_SCALES == (10_000, 100_000)
    assert bench.DEFAULT_RUNS == 3
    parser = cli.build_parser()
    args = parser.parse_args(["bench", "--customers", "10000", "100000", "1000000", "--runs", "3"])
    assert (args.customers, args.runs) == ([10_000, 100_000, 1_000_000], 3)
    # A full and a one-day incremental build are one `dbt build` each, unit tests left out.
    assert bench.STEPS == (
        "load",
        "full_build",
        "incremental_build",
        "validate",
        "pandas",
        "duckdb_script",
    )
    assert bench.BUILD == ("build", "--exclude-resource-type", "unit_test")
    assert bench.BUILD == dbt_runner.BUILD  # the build `retention build` runs
    # Every run of a scale is the 6 timed steps and the 3 untimed ones of the incremental build.
    assert bench.STEPS_PER_RUN == 6 + 3


def test_the_benchmark_refuses_an_out_it_cannot_write_before_it_runs(tmp_path, capsys):
    # --out is written only at the end: an --out under a file ran the whole benchmark (85 s
    # for 10 customers and one run) and then lost it to a FileExistsError traceback, exit 1.
    blocker = tmp_path / "results"
    blocker.write_text("a file, not a folder\n")
    for out in (blocker / "bench.json", tmp_path):
        code = cli.main(["bench", "--customers", "10", "--runs", "1", "--out", str(out)])
        err = capsys.readouterr().err
        assert code == 2, err
        assert err.startswith("retention bench: error: ") and "nothing was run" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]  # no probe left behind


def test_the_benchmark_keeps_the_results_an_earlier_run_wrote(tmp_path):
    # The default --out is the same file on every run: a second run (hours at 1M) replaced
    # the first one's figures without a word.
    import os

    from retention import bench

    out = tmp_path / "bench.json"
    assert bench.write_results(out, '{"run": 1}') is None
    # 1,796,000,000 s = 20,787 days (1,795,996,800 s: 1970-01-01 + 20,787 days is
    # 2026-11-30) + 3,200 s (00:53:20): written 2026-11-30 00:53:20 UTC.
    os.utime(out, (0, 1_796_000_000))
    kept = bench.write_results(out, '{"run": 2}')
    assert kept == tmp_path / "bench.20261130T005320.json"
    os.utime(out, (0, 1_796_000_000))  # a third run, its predecessor stamped the same second
    again = bench.write_results(out, '{"run": 3}')
    assert again == tmp_path / "bench.20261130T005320-2.json"
    assert out.read_text() == '{"run": 3}'
    assert kept.read_text() == '{"run": 1}' and again.read_text() == '{"run": 2}'
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["bench.json", kept.name, again.name]
    )  # no partial file left


def test_the_benchmark_generates_again_a_cached_data_set_that_lost_a_file(tmp_path):
    # The cache was reused whenever its stamp matched and two of its folders existed: a
    # file removed since (or a data folder cleaned away) was benchmarked without it, or
    # failed the load minutes in; a damaged stamp stopped it with a traceback.
    from retention import bench

    ws = bench.Workspace(tmp_path / "20")
    said: list[str] = []
    assert bench.ensure_data(ws, 20, said.append)["generated_now"] is True
    assert bench.ensure_data(ws, 20, said.append)["generated_now"] is False  # whole: reused
    for damage in (
        lambda: (ws.data / "orders.parquet").unlink(),
        lambda: (ws.data_before / "customers.parquet").write_bytes(b"not parquet"),
        lambda: next(ws.data_last_day.iterdir()).unlink(),
        lambda: (ws.root / bench.STAMP).write_text('{"customers": 20, "seed"'),
    ):
        damage()
        stamp = bench.ensure_data(ws, 20, said.append)
        assert stamp["generated_now"] is True
        assert (ws.data / "orders.parquet").exists()
        assert bench.ensure_data(ws, 20, said.append)["generated_now"] is False


def test_the_benchmark_splits_off_the_last_day_in_a_checkout_whose_path_has_a_quote(tmp_path):
    # The paths were pasted into the SQL between quotes: a checkout under /home/o'neil
    # stopped `retention bench` with DuckDB's parser error and a traceback.
    from retention import bench
    from retention.generate import Options, generate

    root = tmp_path / "o'neil [1]"
    generate(Options(out=root / "data", customers=20, format="parquet", progress=False))
    rows = bench._parquet_rows(root / "data")
    bench._write_data_before(root / "data", root / "before", root / "last")
    before, last = bench._parquet_rows(root / "before"), bench._parquet_rows(root / "last")
    assert last  # the last night loaded something
    assert {name: before[name] + last.get(name, 0) for name in rows} == rows


def test_the_benchmark_of_too_few_customers_for_a_cancellation_says_so(tmp_path, monkeypatch):
    # One customer has no cancellation, so no cancellations file: the pandas script stopped
    # with a FileNotFoundError traceback after the load, builds and validation had run.
    from retention import bench

    monkeypatch.setattr(bench, "CACHE_DIR", tmp_path)
    with pytest.raises(bench.BenchError) as error:
        bench.bench_scale(1, 1, lambda _message: None)
    assert str(error.value) == (
        "1 customers are too few for the benchmark: the data set has no cancellations (no "
        "rows); ask for more --customers"
    )
    assert not (tmp_path / "1" / "work").exists()  # nothing ran


def test_the_benchmark_derives_its_figures_from_cpu_seconds_with_wall_beside():
    from retention import bench

    # Medians in CPU s / wall s: load 2 / 5, full build 18 / 60, incremental 4.5 / 30,
    # pandas 10 / 12, DuckDB script 1 / 2 (validate does not enter the figures).
    cpu = {"load": 2, "full_build": 18, "incremental_build": 4.5, "validate": 7}
    cpu |= {"pandas": 10, "duckdb_script": 1}
    wall = {"load": 5, "full_build": 60, "incremental_build": 30, "validate": 9}
    wall |= {"pandas": 12, "duckdb_script": 2}
    steps = {
        name: {"median_cpu_seconds": cpu[name], "median_seconds": wall[name]}
        | {"median_peak_rss_mb": 100.0}
        for name in bench.STEPS
    }
    figures = bench.derived({"steps": steps})
    # The warehouse = load + full build: 2 + 18 = 20 CPU s (5 + 60 = 65 wall).
    assert (figures["warehouse_cpu"], figures["warehouse_wall"]) == (20, 65)
    assert figures["incremental_share_of_full"] == 0.25  # 4.5 / 18 (wall 30 / 60 = 0.5)
    assert figures["incremental_share_of_full_wall"] == 0.5
    assert figures["warehouse_over_duckdb_script"] == 20.0  # 20 / 1 (wall 65 / 2 = 32.5)
    assert figures["warehouse_over_duckdb_script_wall"] == 32.5
    assert figures["pandas_over_warehouse"] == 0.5  # 10 / 20 (wall 12 / 65 = 0.185)
    assert figures["pandas_over_warehouse_wall"] == 0.185


def test_the_benchmark_measures_cpu_seconds_and_peak_memory_of_a_process():
    from retention import bench

    # A child that allocates and touches 200 MiB, then burns CPU for a while: the kernel's
    # figures catch both, whatever the load of the machine.
    code = (
        "import time; b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096]); "
        "t = time.process_time()\nwhile time.process_time() - t < 0.3: pass"
    )
    result = bench.measure([sys.executable, "-c", code])
    assert result.returncode == 0, result.output
    assert result.cpu_seconds >= 0.3
    assert result.max_process_rss_mb >= 200
    assert result.peak_rss_mb >= result.max_process_rss_mb
    assert result.seconds >= 0.3
    # The measuring process's own memory does not show through (the kernel's peak of a
    # process starts at that of the one it was spawned from): a tiny command stays tiny
    # while this process holds 300 MiB.
    held = bytearray(300 * 2**20)
    held[:: 2**12] = b"x" * len(held[:: 2**12])
    tiny = bench.measure([sys.executable, "-c", "pass"])
    del held
    assert tiny.returncode == 0 and tiny.max_process_rss_mb < 100, tiny.as_dict()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_stopped_benchmark_stops_the_step_it_was_timing(tmp_path, stop):
    # The benchmark times each step in a process of its own (under measure_child.py); a
    # benchmark stopped by an orchestrator (SIGTERM) or killed outright (SIGKILL) left that
    # step running: a dbt build of 1M customers went on for minutes, holding its database.
    step_pid = tmp_path / "step.pid"
    step = f"import os, time; open({str(step_pid)!r}, 'w').write(str(os.getpid())); time.sleep(300)"
    runner = (
        "import sys\nfrom retention import bench, signals\n"
        f"with signals.stoppable():\n    bench.measure([sys.executable, '-c', {step!r}])\n"
    )
    benchmark = subprocess.Popen([sys.executable, "-c", runner], cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + 60
        while not (step_pid.exists() and step_pid.read_text()):
            assert benchmark.poll() is None and time.monotonic() < deadline, "no step started"
            time.sleep(0.05)
        pid = int(step_pid.read_text())
        benchmark.send_signal(stop)
        benchmark.wait(timeout=60)
        deadline = time.monotonic() + 30  # SIGTERM passed on, then the step's exit reaped
        while running(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not running(pid), f"the step (pid {pid}) still runs after the benchmark was stopped"
    finally:
        if benchmark.poll() is None:
            benchmark.kill()
        if step_pid.exists() and step_pid.read_text() and running(int(step_pid.read_text())):
            os.kill(int(step_pid.read_text()), signal.SIGKILL)


def test_the_benchmark_figures_name_the_commit_they_were_taken_on(tmp_path):
    from retention import bench

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(tmp_path), *args], capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    outside = bench.code_version(tmp_path)  # not a git checkout (yet)
    assert outside == {"commit": None, "uncommitted_changes": None}
    git("init", "-q")
    (tmp_path / "model.sql").write_text("select 1\n")
    git("add", "model.sql")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    commit = git("rev-parse", "HEAD")
    assert len(commit) == 40
    assert bench.code_version(tmp_path) == {"commit": commit, "uncommitted_changes": False}
    (tmp_path / "notes.txt").write_text("untracked files are not the code measured\n")
    assert bench.code_version(tmp_path)["uncommitted_changes"] is False
    (tmp_path / "model.sql").write_text("select 2\n")
    assert bench.code_version(tmp_path) == {"commit": commit, "uncommitted_changes": True}

    taken = bench.provenance({"old": tmp_path, "new": REPO_ROOT})
    assert taken["code"]["old"]["commit"] == commit
    assert set(taken) == {"started_at", "machine", "code"}
    assert taken["machine"]["cpus"] == os.cpu_count()
    # The printed table ends with the same: what a pasted table is read by.
    printed = bench.render({"runs": 1, "scales": [], **taken}).splitlines()
    assert (
        printed[-2] == f"old: {commit[:12]} with uncommitted changes, started {taken['started_at']}"
    )
    assert printed[-1].startswith("new: ")


# --- progress: only on a terminal, never with --quiet ----------------------------------------


def test_generate_without_a_terminal_prints_plain_lines_only(tmp_path):
    run = retention(tmp_path, "generate", "--out", "d", "--customers", "200")
    assert run.returncode == 0, run.stderr
    assert not ANSI.search(run.stderr + run.stdout), repr(run.stderr)
    # One summary line, no per-chunk progress: the figures a log needs.
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and "customers 200" in lines[0], run.stderr
    assert "chunk" not in run.stderr


def test_generate_on_a_terminal_shows_progress_unless_quiet(tmp_path):
    args = ("--out", "d", "--customers", "20")
    code, out, terminal = with_terminal_stderr(tmp_path, "generate", *args)
    assert code == 0, terminal
    assert ANSI.search(terminal) and "generating" in terminal, repr(terminal)
    assert "customers 20," in terminal  # the summary line after the bar
    assert not ANSI.search(out)
    code, out, terminal = with_terminal_stderr(tmp_path, "generate", *args, "--quiet")
    assert code == 0
    assert terminal == "", repr(terminal)  # neither a bar nor the summary line
    # --quiet is accepted before the command too; given before it, the command keeps it.
    parser = cli.build_parser()
    assert parser.parse_args(["--quiet", "generate", *args]).quiet is True
    assert parser.parse_args(["generate", *args, "-q"]).quiet is True
    assert parser.parse_args(["generate", *args]).quiet is False


def test_errors_and_results_stay_plain_and_are_printed_when_quiet(loaded):
    run = retention(loaded, "--quiet", "summary", "--db", "loaded.duckdb")
    assert run.returncode == 2
    assert "holds raw data but no marts" in run.stderr
    assert not ANSI.search(run.stderr)


def test_the_validate_summary_on_a_terminal_is_a_table_of_the_same_facts():
    from rich.console import Console

    from retention.validate import Failure, MartResult, summary, summary_view

    results = [
        MartResult("dim_customers", rows=2, evaluated=12, passed=12),
        MartResult(
            "mart_churn",
            rows=5,
            evaluated=20,
            passed=19,
            failures=[Failure("expect_x(column_list=['basis', 'period_grain'])", "1 of 5 rows")],
        ),
    ]
    plain = summary(results, Path("w.duckdb"), 1.25)
    assert "ok   dim_customers: 12/12 expectations passed, 0 failed (2 rows)" in plain
    assert "FAIL mart_churn: 19/20 expectations passed, 1 failed (5 rows)" in plain
    console = Console(record=True, width=120, force_terminal=True)
    console.print(*summary_view(results, Path("w.duckdb"), 1.25))
    shown = console.export_text()
    assert re.search(r"ok\s+│\s+dim_customers\s+│\s+2\s+│\s+12/12\s+│\s+0", shown), shown
    assert re.search(r"FAIL\s+│\s+mart_churn\s+│\s+5\s+│\s+19/20\s+│\s+1", shown), shown
    # The failure is printed as text: the brackets are not taken for rich markup.
    assert "expect_x(column_list=['basis', 'period_grain'])" in shown
    assert "1 mart(s) fail (1/2 marts, 1.2 s)" in shown


# --- the command reference (docs/commands.md) matches --help ---------------------------------

OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def documented_reference() -> dict[str, str]:
    """docs/commands.md: the section before the commands', what they all share (key ""), and
    each command's section (key: the command)."""
    text = (REPO_ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    parts = re.split(r"^## `retention (\w+)`\n", text, flags=re.MULTILINE)
    shared = parts[0].rsplit("\n## ", 1)[1]  # not the page's contents, which name options too
    return {"": shared, **dict(zip(parts[1::2], parts[2::2], strict=True))}


def help_options(text: str) -> set[str]:
    return set(OPTION.findall(text.split("\nexit codes:\n", 1)[0])) - {"--help"}


def test_the_reference_documents_every_command_option_and_exit_code_of_help():
    reference = documented_reference()
    # The same commands, in the same order (`retention --help` lists them so).
    assert [name for name in reference if name] == list(cli.COMMANDS)
    assert help_options(help_text()) <= set(OPTION.findall(reference[""]))
    for command in cli.COMMANDS:
        text, documented = help_text(command), reference[command]
        # Both ways: every option of --help is in the reference, and it names no other.
        # (--quiet, common to every command, is documented once in the introduction.)
        assert help_options(text) - {"--quiet"} == set(OPTION.findall(documented)), command
        exit_line = re.search(r"^Exit codes: (.*)$", documented, re.MULTILINE)
        assert exit_line, f"docs/commands.md: no 'Exit codes:' line for {command}"
        listed = {int(code) for code in re.findall(r"`(\d+)`", exit_line.group(1))}
        codes = help_codes(text)
        # The signals' codes are documented once, with what every command shares; a command
        # whose --help says what a stop leaves ("as for 130") says it under `130` too.
        assert listed - set(SIGNAL_CODES) == set(codes) - set(SIGNAL_CODES), command
        assert (130 in listed) == codes[143].endswith("as for 130"), command
    shared = {int(code) for code in re.findall(r"`(\d+)`", reference[""])}
    assert set(SIGNAL_CODES) <= shared, "docs/commands.md: a signal's code is not shared"


def test_the_operations_table_has_a_row_for_every_exit_code_of_build():
    # docs/operations.md tells the operator on call what to do for each code of `retention
    # build`; the command reference is checked against --help above, this table was not.
    # --help lists the signals' codes too (SIGTERM 143, SIGHUP 129, in 130's row here).
    text = (REPO_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| ([\d, ]+) \|", text, re.MULTILINE)
    documented = {int(code) for row in rows for code in row.split(", ")}
    assert documented == set(help_codes(help_text("build")))


# An option and the placeholder of its value, in a synopsis: `--db PATH`, `--format csv|parquet`
# in docs/commands.md; `--db PATH`, `--format {csv,parquet}` in a --help usage line.
OPTION_VALUE = re.compile(
    r"(--[a-z][a-z0-9-]*)(?: (\{[a-z,]+\}|[a-z]+(?:\|[a-z]+)+|[A-Z][A-Z_]*))?"
)


def synopsis_values(synopsis: str) -> dict[str, str | None]:
    return {
        option: value.strip("{}").replace(",", "|") if value else None
        for option, value in OPTION_VALUE.findall(synopsis)
    }


def test_the_reference_synopsis_names_each_value_as_help_does():
    # `retention build --help` showed `--data DATA` and `--vars VARS`, `publish --from SOURCE`
    # and `holdout --work WORK`, where the reference (then in the README) writes DIR, YAML,
    # PATH and DIR.
    reference = documented_reference()
    for command in cli.COMMANDS:
        documented = re.search(rf"`retention {command} ([^`]*)`", reference[command], re.DOTALL)
        assert documented, f"docs/commands.md: no synopsis for {command}"
        usage = help_text(command).split("\n\n", 1)[0]
        shown = synopsis_values(usage.split(f"retention {command}", 1)[1])
        assert synopsis_values(documented.group(1)) == shown, command


def test_load_shows_a_spinner_on_a_terminal_lines_in_a_log_and_nothing_when_quiet(tmp_path):
    data = tmp_path / "d"
    assert retention(tmp_path, "generate", "--out", "d", "--customers", "20").returncode == 0
    # In a log: one plain line per table, no escape codes.
    run = retention(tmp_path, "load", str(data), "--db", "log.duckdb")
    assert run.returncode == 0, run.stderr
    assert not ANSI.search(run.stderr + run.stdout), repr(run.stderr)
    assert "raw.orders:" in run.stderr and "loaded batch 1 (append)" in run.stderr
    # So --help must not say that the messages, like the bars, are off without a terminal.
    quiet = " ".join(help_text("load").split()).split("-q, --quiet ", 1)[1].split(" exit codes:")[0]
    assert quiet == (
        "no progress bars or progress messages (the bars are also off when stderr is not a "
        "terminal); build shows dbt's errors only"
    )
    # On a terminal: the spinner (escape codes) and the same lines.
    code, _, terminal = with_terminal_stderr(tmp_path, "load", str(data), "--db", "tty.duckdb")
    assert code == 0, terminal
    assert ANSI.search(terminal) and "loaded batch 1 (append)" in terminal, repr(terminal)
    # --quiet: nothing at all on success.
    run = retention(tmp_path, "--quiet", "load", str(data), "--db", "quiet.duckdb")
    assert run.returncode == 0, run.stderr
    assert run.stderr == "" and run.stdout == ""
    # A warning is printed also with --quiet: a core table still empty after the load.
    orders_only = tmp_path / "orders-only"
    orders_only.mkdir()
    (orders_only / "orders.csv").write_bytes((data / "orders.csv").read_bytes())
    run = retention(tmp_path, "--quiet", "load", str(orders_only), "--db", "orders.duckdb")
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""
    assert run.stderr.splitlines() == [
        "warning: core table(s) customers, contracts still empty after this load: the marts "
        "that read them have no rows from them"
    ]


@pytest.mark.whole_commands  # make test-whole-commands, not make test (its time)
def test_build_when_quiet_prints_its_results_and_errors_only(tmp_path):
    # A subscription-only shop: customers, contracts and cancellations, no orders.
    assert retention(tmp_path, "generate", "--out", "all", "--customers", "20").returncode == 0
    data = tmp_path / "d"
    data.mkdir()
    for table in ("customers", "contracts", "cancellations"):
        (data / f"{table}.csv").write_bytes((tmp_path / "all" / f"{table}.csv").read_bytes())
    # Every step (load, dbt, validate, publish) ran; on stderr only the warning that orders
    # is empty; on stdout the results: the validation's summary (an empty repeat-purchase
    # mart passes) and what the build quarantined. No step messages, no dbt log.
    run = retention(tmp_path, "build", "--data", str(data), "--db", "w.duckdb", "--quiet")
    assert run.returncode == 0, run.stderr + run.stdout
    assert run.stderr.splitlines() == [
        "warning: core table(s) orders still empty after this load: the marts that read them "
        "have no rows from them"
    ]
    assert "all marts pass" in run.stdout and "quarantined rows:" in run.stdout
    assert re.search(r"^ok +mart_repeat_purchase: .*, 0 failed \(0 rows\)$", run.stdout, re.M)
    assert "START" not in run.stdout and "Running with dbt" not in run.stdout
    assert (tmp_path / "w.duckdb").is_file()
    # A failed build says why (dbt's error, the build's message), quiet or not.
    bad_vars = "{order_inactivity_days: -5}"
    run = retention(tmp_path, "--quiet", "build", "--db", "w.duckdb", "--vars", bad_vars)
    assert run.returncode == 3, run.stderr + run.stdout
    assert "order_inactivity_days: '-5' must be a whole number of days" in run.stdout
    assert run.stderr.startswith("retention build: dbt build failed;"), run.stderr


def test_an_unknown_option_is_named_by_its_command_with_the_nearest_option(capsys, tmp_path):
    # `retention load DIR --dbb X` printed the usage of `retention` alone ("[-h] [--version]
    # [-q] COMMAND ...") and "retention: error: ...", which named neither the command nor
    # its options.
    with pytest.raises(SystemExit) as stopped:
        cli.main(["load", str(tmp_path), "--dbb", "w.duckdb"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: retention load [-h] [--db PATH]"), err
    assert err.splitlines()[-1] == (
        "retention load: error: unrecognized arguments: --dbb w.duckdb (--dbb: did you mean --db?)"
    )
    with pytest.raises(SystemExit):
        cli.main(["summary", "extra"])  # nothing near: no guess
    assert capsys.readouterr().err.splitlines()[-1] == (
        "retention summary: error: unrecognized arguments: extra"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["load", "DIR", "--d", "w.duckdb"], "--d w.duckdb (--d: did you mean --db?)"),
        (["load", "DIR", "--max=0.5"], "--max=0.5 (--max: did you mean --max-shrink?)"),
        (["build", "--f"], "--f (--f: did you mean --force or --full-refresh?)"),
        (["summary", "--qui"], "--qui (--qui: did you mean --quiet?)"),
        (["--vers"], "--vers (--vers: did you mean --version?)"),
        (["summary", "--", "x"], "-- x"),  # the end of the options begins no option
    ],
)
def test_an_abbreviated_option_is_refused_with_the_options_it_begins(capsys, tmp_path, argv, said):
    # argparse took `--d X` for `--db X` and `--max` for `--max-shrink`: an abbreviation
    # that names one option today names another, or none, once an option is added.
    with pytest.raises(SystemExit) as stopped:
        cli.main([str(tmp_path) if arg == "DIR" else arg for arg in argv])
    assert stopped.value.code == 2
    command = f"retention {argv[0]}" if argv[0] in cli.COMMANDS else "retention"
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"{command}: error: unrecognized arguments: {said}"
    )
    assert list(tmp_path.iterdir()) == []
    # Every parser, the commands' and that of `retention` itself, with or without the
    # command's options added (a run adds only its own command's).
    for only in (None, ""):
        parser = cli.build_parser(only=only)
        commands = parser._subparsers._group_actions[0].choices
        assert [name for name, sub in commands.items() if sub.allow_abbrev] == []
        assert not parser.allow_abbrev


def test_every_argument_parser_in_the_repository_refuses_abbreviations():
    # The scripts beside the package (benchmarks, the Spark checks' builds) are run by hand
    # with the same habits: each ArgumentParser(...) call passes allow_abbrev=False.
    calls = []
    tracked = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for relative in tracked:
        path = REPO_ROOT / relative
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "ArgumentParser":
                keywords = {k.arg: k.value for k in node.keywords}
                refuses = isinstance(keywords.get("allow_abbrev"), ast.Constant) and (
                    keywords["allow_abbrev"].value is False
                )
                calls.append((f"{relative}:{node.lineno}", refuses))
    # cli.py, reference.py, compare.py, small_builds.py and the three benchmark scripts
    assert len(calls) >= 7, calls
    assert [where for where, refuses in calls if not refuses] == []


@pytest.mark.parametrize("argv", [[], ["-q"]])
def test_no_command_lists_the_commands_on_stderr_and_exits_2(capsys, argv):
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "usage: retention" in err
    for name in cli.COMMANDS:
        assert f"\n    {name} " in err, name
