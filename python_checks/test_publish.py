"""Safe publishing (issue 5): `retention build` builds into a working copy and publishes it
atomically, so BI readers never see a half-built warehouse and a failed build leaves the last
published warehouse in place; `retention publish` refuses an incomplete working copy; the
profile holds no secret.

The published warehouse starts as the shared clean build (v1, 300 customers). The daily build
replaces it with a different data set (v2, 200 customers, another seed; `--replace
--allow-shrink`) while two BI reader processes
(python_checks/pipeline.py run as a script) query the row count of every mart in one
statement, over and over: one holds a single read-only connection open the whole time, the
other reconnects for every query. Every answer must be v1's counts or v2's counts — never an
error, a missing table or a mix.

The builds run in this process (pipeline.retention_in_process: the command's own steps, with
dbt on the parse this pytest process keeps) except the one that is killed, a real `retention`
process with its dbt child; test_faults.py checks kills and signals on real processes too.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import signal
import stat
import subprocess
import sys
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from pipeline import (
    DB_NAME,
    MARTS,
    REPO_ROOT,
    DbtRun,
    Reader,
    Run,
    copy_db,
    dbt,
    generate_data,
    mart_counts,
    relations,
    retention,
    retention_in_process,
    start_reader,
    start_retention,
    submit,
)

from retention import publish
from retention.compare import compare_marts

# Exit codes of `retention build` (retention/build.py, docs/operations.md "Running in production").
EXIT_DBT, EXIT_VALIDATE = 3, 4  # retention build: dbt failed, validation failed
# `retention publish` exits 2 when it refuses.
EXIT_PUBLISH_REFUSED = 2
V2_CUSTOMERS, V2_SEED = 200, 11


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _work(published: Path) -> Path:
    return published.with_name(published.name + ".work")


def _leftovers(folder: Path) -> list[str]:
    """Temporary files of an interrupted publish (`.<name>.publishing-<pid>`)."""
    return sorted(p.name for p in folder.iterdir() if ".publishing-" in p.name)


@dataclass(frozen=True)
class Site:
    v1: Path  # the built clean warehouse (never modified)
    v1_counts: tuple[int, ...]
    v2_data: Path
    folder: Path


@pytest.fixture(scope="module")
def site(shared_dir: Path, clean_build: DbtRun) -> Site:
    folder = shared_dir / "publish"
    v2_data = generate_data(folder / "data-v2", customers=V2_CUSTOMERS, seed=V2_SEED)
    build = clean_build
    assert build.ok, f"the clean build failed:\n{build.failure_summary()}"
    return Site(build.db_path, mart_counts(build.db_path), v2_data, folder)


# --- (b) failing builds: before the daily build; the killed one runs beside the others ------


def _failing_build(site: Site, case: str) -> dict[str, Any]:
    """A published v1 warehouse, then a `retention build` that fails in the way `case` says."""
    folder = site.folder / f"fail-{case}"
    published = copy_db(site.v1, folder / DB_NAME)
    before = _sha256(published)
    workdir = folder / "run"
    if case == "bad_vars":
        # New data is loaded into the working copy, then dbt refuses the vars.
        args = ["--data", str(site.v2_data), "--vars", "{gross_margin: 0}"]
        run = retention_in_process(["build", "--db", str(published), *args], workdir)
    elif case == "raw_table_lost_column":
        # The working copy's raw data is corrupt: raw.orders lost its column amount.
        work = copy_db(site.v1, _work(published))
        with duckdb.connect(str(work)) as con:
            con.execute("alter table raw.orders drop column amount")
        run = retention_in_process(["build", "--db", str(published)], workdir)
    elif case == "killed_mid_build":
        run = _killed_build(published, site.v2_data, workdir)
    elif case == "marts_shrink":
        # A var set by mistake: A a year earlier drops every later month from the marts, far
        # more than 10 % of fct_customer_months' rows; the volume check stops the publish.
        as_of = _as_of_date(published) - dt.timedelta(days=365)
        run = retention_in_process(
            ["build", "--db", str(published), "--vars", f"{{as_of_date: '{as_of}'}}"], workdir
        )
    else:
        raise ValueError(case)
    return {"run": run, "published": published, "before": before}


def _killed_build(published: Path, data: Path, workdir: Path) -> Run:
    """`retention build` killed (SIGKILL, with its dbt) once dbt has rebuilt a first model of
    the working copy: an orchestrator's timeout in the middle of the build."""
    args = ["build", "--data", str(data), "--db", str(published), "--no-validate"]
    started = time.perf_counter()
    command, process = start_retention(args, workdir)
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if "OK created sql table model" in line:
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.wait()
    process.stdout.close()
    return Run(command, process.returncode, "".join(lines), time.perf_counter() - started)


FAILURES = ["bad_vars", "raw_table_lost_column", "killed_mid_build", "marts_shrink"]


def _as_of_date(db: Path) -> dt.date:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select as_of_date from intermediate.int_reporting_params").fetchone()[0]


@pytest.fixture(scope="module")
def failing_builds(site: Site) -> dict[str, dict[str, Any]]:
    # The killed build (a process of its own) runs on the pool beside the others, which run
    # in this process one after the other.
    killed: Future[dict[str, Any]] = submit(lambda: _failing_build(site, "killed_mid_build"))
    done = {case: _failing_build(site, case) for case in FAILURES if case != "killed_mid_build"}
    return {**done, "killed_mid_build": killed.result()}


# --- (a) the daily build while BI reads --------------------------------------------------------


@dataclass(frozen=True)
class DailyBuild:
    run: Run
    published: Path
    started: float
    finished: float
    held: list[dict[str, Any]]
    fresh: list[dict[str, Any]]
    v1_counts: tuple[int, ...]


@pytest.fixture(scope="module")
def daily_build(site: Site, failing_builds: dict[str, dict[str, Any]]) -> DailyBuild:
    published = copy_db(site.v1, site.folder / "daily" / DB_NAME)
    readers: list[Reader] = [
        start_reader(published, site.folder / "daily" / "readers", mode)
        for mode in ("hold", "fresh")
    ]
    try:
        for reader in readers:
            reader.wait_for(2)  # both are connected and reading before the build starts
        started = time.time()
        # v2 is another data set, not a day more of v1: a full re-delivery (--replace), and
        # 200 customers where v1 has 300 (--allow-shrink).
        run = retention_in_process(
            ["build", "--data", str(site.v2_data), "--replace", "--allow-shrink"]
            + ["--db", str(published)],
            site.folder / "daily" / "run",
        )
        finished = time.time()
        for reader in readers:
            reader.wait_for(3, after=finished)  # and keep reading after the publish
    finally:
        held, fresh = (reader.stop() for reader in readers)
    return DailyBuild(run, published, started, finished, held, fresh, site.v1_counts)


def _snapshots(records: list[dict[str, Any]], allowed: dict[str, tuple[int, ...]]) -> list[str]:
    """The name of the snapshot each query saw; fails on an error or an unknown state."""
    seen = []
    for record in records:
        assert "error" not in record, f"a reader's query failed: {record['error']}"
        counts = tuple(record["counts"])
        names = [name for name, expected in allowed.items() if counts == expected]
        assert names, f"a reader saw {dict(zip(MARTS, counts, strict=True))}: neither {allowed}"
        seen.append(names[0])
    return seen


def _v2_counts(daily: DailyBuild) -> tuple[int, ...]:
    counts = mart_counts(daily.published)
    assert counts != daily.v1_counts, "v1 and v2 cannot be told apart by their row counts"
    return counts


def test_daily_build_succeeds_while_a_reader_holds_the_file(daily_build: DailyBuild) -> None:
    run = daily_build.run
    assert run.ok, f"retention build exited {run.returncode}:\n{run.tail()}"
    assert "4/4 publish" in run.output and "published" in run.output
    # Models and data tests; the unit tests are CI's (docs/commands.md, `retention build`).
    assert "2/4 dbt build --exclude-resource-type unit_test" in run.output
    assert " START sql table model " in run.output and " START test " in run.output
    assert " START unit_test " not in run.output
    # The reader had the file open before the build began and kept it open throughout.
    assert daily_build.held[0]["t"] < daily_build.started
    assert daily_build.held[-1]["t"] > daily_build.finished


def test_the_daily_build_ends_with_what_it_left_out(daily_build: DailyBuild, site: Site) -> None:
    """The end-of-build report: quarantined rows per table and reason, and the reason codes
    the cancellation_reasons seed does not list (counted from the delivered file itself)."""
    output = daily_build.run.output
    seed = REPO_ROOT / "seeds" / "cancellation_reasons.csv"
    with duckdb.connect() as con:
        # The delivered codes the seed does not list, with their rows (the delivery is clean:
        # every cancellation is staged).
        unknown = con.execute(
            f"""
            select delivered.reason_code, count(*)
            from read_csv('{site.v2_data / "cancellations.csv"}', all_varchar = true) as delivered
            where delivered.reason_code is not null and delivered.reason_code not in (
                select reason_code
                from read_csv('{seed}', all_varchar = true)
            )
            group by delivered.reason_code
            """
        ).fetchall()
    with duckdb.connect(str(daily_build.published), read_only=True) as con:
        quarantined = con.execute(
            "select source_table, reason, count(*) from quarantine.quarantined_rows group by all"
        ).fetchall()
    if quarantined:
        total = sum(rows for _, _, rows in quarantined)
        assert f"quarantined rows: {total:,} in " in output, output[-3000:]
    else:
        assert "quarantined rows: none" in output, output[-3000:]
    for code, rows in unknown:
        assert f"{code} ({rows:,} row{'s' * (rows != 1)})" in output, output[-3000:]
    assert ("not in the cancellation_reasons seed" in output) == bool(unknown), output[-3000:]


def test_reader_holding_the_file_always_sees_a_complete_warehouse(
    daily_build: DailyBuild,
) -> None:
    v2 = _v2_counts(daily_build)
    seen = _snapshots(daily_build.held, {"v1": daily_build.v1_counts, "v2": v2})
    during = [r for r in daily_build.held if daily_build.started <= r["t"] <= daily_build.finished]
    assert len(during) >= 10, f"only {len(during)} queries ran during the build"
    # Its connection keeps the snapshot it opened: the old warehouse, complete, to the end.
    assert set(seen) == {"v1"}


def test_reconnecting_reader_sees_old_then_new_never_a_mix(daily_build: DailyBuild) -> None:
    v2 = _v2_counts(daily_build)
    seen = _snapshots(daily_build.fresh, {"v1": daily_build.v1_counts, "v2": v2})
    during = [r for r in daily_build.fresh if daily_build.started <= r["t"] <= daily_build.finished]
    assert len(during) >= 10, f"only {len(during)} queries ran during the build"
    # v1 until the publish, v2 from then on: one switch, never back.
    switch = seen.index("v2") if "v2" in seen else len(seen)
    assert seen[0] == "v1" and seen[-1] == "v2"
    assert seen == ["v1"] * switch + ["v2"] * (len(seen) - switch)


def test_new_connection_after_publish_sees_the_new_data(
    daily_build: DailyBuild, site: Site
) -> None:
    # v2's customers, counted from its files: the known ones plus those only referenced by
    # an order or a contract (inferred). dim_customers has one row per customer.
    ids: set[str] = set()
    for table in ("customers", "orders", "contracts"):
        with (site.v2_data / f"{table}.csv").open(newline="", encoding="utf-8") as handle:
            ids |= {row["customer_id"] for row in csv.DictReader(handle)}
    with duckdb.connect(str(daily_build.published), read_only=True) as con:
        raw_customers = con.execute("select count(*) from raw.customers").fetchone()[0]
        dim_customers = con.execute("select count(*) from marts.dim_customers").fetchone()[0]
    assert raw_customers == V2_CUSTOMERS
    assert dim_customers == len(ids)
    assert _leftovers(daily_build.published.parent) == []


@pytest.mark.parametrize("case", FAILURES)
def test_failed_build_leaves_the_published_warehouse_untouched(
    failing_builds: dict[str, dict[str, Any]], site: Site, case: str
) -> None:
    result = failing_builds[case]
    run, published = result["run"], result["published"]
    if case == "killed_mid_build":
        assert run.returncode == -signal.SIGKILL, run.tail()
        assert "OK created sql table model" in run.output  # killed after dbt had built a model
    elif case == "marts_shrink":
        assert run.returncode == EXIT_VALIDATE, f"exit {run.returncode}:\n{run.tail()}"
        assert "FAIL fct_customer_months" in run.output, run.tail()
        assert "row count against the published warehouse" in run.output
        assert "validation failed; the published warehouse" in run.output
    else:
        assert run.returncode == EXIT_DBT, f"exit {run.returncode}:\n{run.tail()}"
        assert "the published warehouse" in run.output and "is unchanged" in run.output
    assert _sha256(published) == result["before"], "the published file changed"
    assert mart_counts(published) == site.v1_counts, "the published warehouse is not readable"
    assert _leftovers(published.parent) == []


# --- (c) retention publish refuses an incomplete working copy ----------------------------------


def test_publish_refuses_a_working_copy_without_a_mart(site: Site) -> None:
    folder = site.folder / "refuse"
    published = copy_db(site.v1, folder / DB_NAME)
    work = copy_db(site.v1, folder / "built.duckdb")
    with duckdb.connect(str(work)) as con:
        con.execute("drop table marts.mart_churn")
    before = _sha256(published)
    run = retention(["publish", "--db", str(published), "--from", str(work)], folder / "run")
    assert run.returncode == EXIT_PUBLISH_REFUSED, run.output
    assert "marts.mart_churn" in run.output
    assert _sha256(published) == before
    assert _leftovers(folder) == []

    missing = retention(
        ["publish", "--db", str(published), "--from", str(folder / "absent.duckdb")],
        folder / "run",
    )
    assert missing.returncode == EXIT_PUBLISH_REFUSED and "no working copy" in missing.output
    assert _sha256(published) == before


def test_publish_replaces_the_published_file_with_a_complete_working_copy(site: Site) -> None:
    # Control for the refusal above: the same set-up with every mart present publishes.
    folder = site.folder / "accept"
    published = copy_db(site.v1, folder / DB_NAME)
    work = _marked_working_copy(site, folder)
    run = retention(
        ["publish", "--db", str(published), "--from", str(work), "--unvalidated"], folder / "run"
    )
    assert run.ok, run.output
    assert "marker.build" in relations(published)
    _assert_same_warehouse(published, work)
    assert _leftovers(folder) == []


def test_publish_through_a_symbolic_link_replaces_the_file_it_names(site: Site) -> None:
    # The warehouse kept on another volume, --db a link to it: the rename replaced the link
    # by a regular file, and a BI tool reading the linked file went on reading the old data.
    folder = site.folder / "linked"
    target = copy_db(site.v1, folder / "volume" / DB_NAME)
    link = folder / "link.duckdb"
    link.symlink_to(Path("volume") / DB_NAME)  # relative, as `ln -s` is usually given
    work = _marked_working_copy(site, folder)
    run = retention(
        ["publish", "--db", str(link), "--from", str(work), "--unvalidated"], folder / "run"
    )
    assert run.ok, run.output
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert "marker.build" in relations(target)
    assert _leftovers(folder) == [] and _leftovers(target.parent) == []


def _marked_working_copy(site: Site, folder: Path) -> Path:
    """A complete working copy in `folder` (built.duckdb) with a table the published
    warehouse lacks (marker.build), to tell which file a publish put in place."""
    work = copy_db(site.v1, folder / "built.duckdb")
    with duckdb.connect(str(work)) as con:
        con.execute("create schema marker")
        con.execute("create table marker.build as select 2 as version")
    return work


def _assert_same_warehouse(published: Path, work: Path) -> None:
    """The published file is a copy of the working copy (rewritten in another storage version,
    so not byte for byte): the same tables and views, the same marts row for row."""
    assert relations(published) == relations(work)
    assert compare_marts(work, published) == []


# --- (d) retention publish refuses a working copy no validation passed -----------------------


def _refusal(work: Path, published: Path, why: str) -> str:
    """The one line of a `retention publish` that refuses a copy without a passing validation."""
    return (
        f"retention publish: error: the working copy {work} {why}: not publishing it; run "
        f"`retention validate --db {work} --baseline {published}` first (or `retention build "
        f"--db {published}`), or pass --unvalidated to publish it anyway\n"
    )


def test_publish_refuses_a_working_copy_never_validated_unless_told(
    site: Site, capsys, monkeypatch
) -> None:
    # A built, complete working copy that no `retention validate` ran on was published.
    from retention.cli import main

    folder = site.folder / "never-validated"
    published = copy_db(site.v1, folder / DB_NAME)
    work = copy_db(site.v1, _work(published))
    with duckdb.connect(str(work)) as con:  # to tell which file is published
        con.execute("create schema marker")
        con.execute("create table marker.build as select 2 as version")
    before = _sha256(published)
    copies = []
    real_copy = publish._copy_in_storage_version
    monkeypatch.setattr(
        publish, "_copy_in_storage_version", lambda *a: copies.append(a) or real_copy(*a)
    )
    assert main(["publish", "--db", str(published)]) == EXIT_PUBLISH_REFUSED
    assert capsys.readouterr().err == _refusal(work, published, "was never validated")
    assert _sha256(published) == before and _leftovers(folder) == []
    assert copies == []  # refused before the copy, which takes minutes at scale
    # --unvalidated publishes it, with the warning first.
    assert main(["publish", "--db", str(published), "--unvalidated"]) == 0
    err = capsys.readouterr().err
    assert err.startswith(_unvalidated_warning(work)), err
    assert "marker.build" in relations(published)
    assert len(copies) == 1


def test_publish_refuses_a_working_copy_whose_validation_failed(
    failing_builds: dict[str, dict[str, Any]], capsys
) -> None:
    # The build whose volume check failed (exit 4) left a built, complete working copy: its
    # data failed the checks, and `retention publish` alone put it in front of BI.
    from retention.cli import main

    result = failing_builds["marts_shrink"]
    published = result["published"]
    assert result["run"].returncode == EXIT_VALIDATE, result["run"].tail()
    assert main(["publish", "--db", str(published)]) == EXIT_PUBLISH_REFUSED
    err = capsys.readouterr().err
    assert err.startswith(
        f"retention publish: error: the working copy {_work(published)} failed its last "
        "validation ("
    ), err
    assert err.count("\n") == 1 and "pass --unvalidated to publish it anyway" in err
    assert _sha256(published) == result["before"] and _leftovers(published.parent) == []


def test_a_passing_validation_is_published_until_dbt_builds_the_copy_again(
    site: Site, capsys
) -> None:
    from retention.cli import main
    from retention.marts import build_state, open_read_only

    folder = site.folder / "validated"
    published = copy_db(site.v1, folder / DB_NAME)
    work = copy_db(site.v1, _work(published))
    before = _sha256(published)
    # A pass of some marts only is no pass: the others were not checked.
    assert main(["validate", "--db", str(work), "--mart", "dim_customers"]) == 0
    assert main(["publish", "--db", str(published)]) == EXIT_PUBLISH_REFUSED
    assert capsys.readouterr().err.endswith(_refusal(work, published, "was never validated"))
    assert _sha256(published) == before
    # Every mart, against the published warehouse: passed, so it is published.
    assert main(["validate", "--db", str(work), "--baseline", str(published)]) == 0
    capsys.readouterr()
    assert main(["publish", "--db", str(published)]) == 0
    assert "warning" not in capsys.readouterr().err
    assert _sha256(published) != before
    _assert_same_warehouse(published, work)
    # dbt writes to the working copy again (one model and its tests; the state it leaves is
    # `built`, as before): the data may have changed, the validation was of another build.
    after_publish = _sha256(published)
    rebuilt = dbt(["build", "--select", "int_reporting_params"], work, folder / "dbt")
    assert rebuilt.ok, rebuilt.failure_summary()
    with open_read_only(work) as con:
        assert build_state(con) == "built"
    assert main(["publish", "--db", str(published)]) == EXIT_PUBLISH_REFUSED
    why = "was changed (a dbt build or a load) since it was last validated"
    assert capsys.readouterr().err == _refusal(work, published, why)
    assert _sha256(published) == after_publish and _leftovers(folder) == []


def test_retention_build_validates_once_and_its_working_copy_is_publishable(
    daily_build: DailyBuild, capsys
) -> None:
    # `retention build` publishes without a second validation (its own validate step ran
    # just before), and `retention publish` takes the working copy it validated.
    from retention.cli import main

    assert daily_build.run.ok, daily_build.run.tail()
    assert daily_build.run.output.count("Great Expectations on ") == 1
    elsewhere = daily_build.published.parent / "elsewhere" / DB_NAME
    elsewhere.parent.mkdir(exist_ok=True)
    work = _work(daily_build.published)
    assert main(["publish", "--db", str(elsewhere), "--from", str(work)]) == 0
    assert "warning" not in capsys.readouterr().err
    _assert_same_warehouse(elsewhere, work)


# --- (e) what publishing leaves behind: permissions, temporary files, .gitignore -------------


def test_publish_keeps_the_published_files_permissions(site: Site) -> None:
    folder = site.folder / "modes"
    published = copy_db(site.v1, folder / DB_NAME)
    work = copy_db(site.v1, folder / "built.duckdb")
    os.chmod(published, 0o640)
    os.chmod(work, 0o600)
    if os.geteuid() == 0:  # only root can hand a file to another group
        os.chown(published, -1, 4242)
    group = published.stat().st_gid
    run = retention(
        ["publish", "--db", str(published), "--from", str(work), "--unvalidated"], folder / "run"
    )
    assert run.ok, run.output
    _assert_same_warehouse(published, work)  # it was replaced...
    assert stat.S_IMODE(published.stat().st_mode) == 0o640  # ...and is still 0640, not 0600
    assert published.stat().st_gid == group

    # A first publish: the new file gets the working copy's bits.
    fresh = folder / "fresh" / DB_NAME
    fresh.parent.mkdir()  # no command creates a warehouse's folder
    run = retention(
        ["publish", "--db", str(fresh), "--from", str(work), "--unvalidated"], folder / "run"
    )
    assert run.ok, run.output
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout)


def test_publish_removes_the_temporary_file_of_a_killed_publish(site: Site) -> None:
    """A publish killed mid-copy leaves `.<name>.publishing-<pid>` (made here by hand: the
    copy of a small warehouse takes too little time to be killed in the middle of it)."""
    folder = site.folder / "stale"
    published = copy_db(site.v1, folder / DB_NAME)
    work = copy_db(site.v1, folder / "built.duckdb")
    stale = folder / f".{DB_NAME}.publishing-{_dead_pid()}"
    stale.write_bytes(b"half a warehouse")
    running = folder / f".{DB_NAME}.publishing-{os.getpid()}"  # a publish still under way
    running.write_bytes(b"being copied")
    run = retention(
        ["publish", "--db", str(published), "--from", str(work), "--unvalidated"], folder / "run"
    )
    assert run.ok, run.output
    assert not stale.exists() and f"removed {stale}" in run.output
    assert running.exists()
    running.unlink()


def test_working_copies_and_temporary_files_are_ignored_by_git() -> None:
    ignored = [
        "warehouse.duckdb.work",
        "warehouse.duckdb.work.wal",
        "warehouse.duckdb.work.lock",
        "warehouse.duckdb.work.copying",
        "warehouse.duckdb.work.validation",
        ".warehouse.duckdb.work.validation.1234",
        "warehouse.duckdb.validation",
        ".warehouse.duckdb.publishing-1234",
        "warehouses/.w.duckdb.publishing-99",
    ]
    tracked = ["uv.lock"]  # a lock file that is not ours
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", *ignored, *tracked],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert sorted(done.stdout.split()) == sorted(ignored)


# --- (d) no secrets ----------------------------------------------------------------------------

SENSITIVE = ("password", "passwd", "token", "secret", "api_key", "private_key", "credential")


def _strings(node: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(node, dict):
        return [item for k, v in node.items() for item in _strings(v, f"{path}.{k}")]
    if isinstance(node, list):
        return [item for i, v in enumerate(node) for item in _strings(v, f"{path}[{i}]")]
    return [(path, str(node))]


def test_profiles_take_the_database_and_anything_sensitive_from_the_environment() -> None:
    profiles = yaml.safe_load((REPO_ROOT / "profiles.yml").read_text(encoding="utf-8"))
    outputs = profiles["retention"]["outputs"]
    assert outputs, "no outputs in profiles.yml"
    for name, output in outputs.items():
        if output["type"] == "duckdb":
            assert "env_var('RETENTION_DB_PATH'" in output["path"], f"{name}: path not from env"
    # The cluster's address and credentials come from the environment too.
    for key in ("host", "token", "cluster", "user"):
        assert "env_var(" in outputs["cluster"][key], f"cluster.{key} not from env"
    for path, value in _strings(profiles):
        lowered = (path + "=" + value).lower()
        # A sensitive-looking key or value must come from an environment variable.
        if any(word in lowered for word in SENSITIVE):
            assert value.strip().startswith("{{") and "env_var(" in value, f"{path}: {value!r}"
        assert "md:" not in value.lower(), f"{path}: a MotherDuck connection string"


def test_no_secret_files_are_tracked() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    suspicious = [
        name
        for name in tracked
        if Path(name).name in (".env", ".netrc", "credentials.json")
        or Path(name).suffix in (".pem", ".key", ".p12")
    ]
    assert tracked and not suspicious, suspicious


# --- a batch loaded into the published file while a build ran -------------------------------

HOLD_WRITABLE = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])  # read-write: DuckDB's lock keeps every other process out
print("open", flush=True)
time.sleep(60)
"""


def _unvalidated_warning(source: Path) -> str:
    """The line `retention publish --unvalidated` starts with (the tests of how a working
    copy is copied and renamed publish copies no `retention validate` ran on)."""
    return (
        f"retention publish: warning: --unvalidated: publishing {source} without checking that "
        "`retention validate` passed on its current build\n"
    )


def _hand_made(path: Path, batches: list[tuple[int, str]]) -> Path:
    """A `built` warehouse with every mart (test_validate's hand-made rows) and `batches`
    (load_id, loaded_at) in meta.load_batches."""
    from test_validate import build

    build(path)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema meta")
        con.execute("create table meta.build_state as select 'built' as state")
        con.execute("create table meta.load_batches (load_id integer, loaded_at timestamp)")
        con.executemany("insert into meta.load_batches values (?, ?)", batches)
    return path


def test_publish_never_drops_a_batch_loaded_into_the_published_file_meanwhile(tmp_path, capsys):
    # The working copy was started from the published file when it held batch 1; then
    # `retention load` added batch 2 to the published file. The rename used to replace it
    # without a word (batch 2 gone); now publish refuses (exit 2) and names the batch, and
    # the published file is as it was.
    from retention.cli import main

    day1 = (1, "2026-12-06 02:00:00")
    work = _hand_made(tmp_path / "w.duckdb.work", [day1])
    published = _hand_made(tmp_path / "w.duckdb", [day1, (2, "2026-12-06 09:00:00")])
    before = _sha256(published)
    assert main(["publish", "--db", str(published), "--unvalidated"]) == EXIT_PUBLISH_REFUSED
    err = capsys.readouterr().err
    assert f"the published warehouse {published} has load batch(es) 2 that the working" in err
    assert _sha256(published) == before and not _leftovers(tmp_path)
    # A load still running (a process with the file open for writing) is refused the same way.
    with duckdb.connect(str(published)) as con:
        con.execute("delete from meta.load_batches where load_id = 2")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITABLE, str(published)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        assert main(["publish", "--db", str(published), "--unvalidated"]) == EXIT_PUBLISH_REFUSED
        err = capsys.readouterr().err
        assert f"another process is writing the published warehouse {published}" in err
    finally:
        holder.kill()
        holder.wait()
    # With the same batches (readers in other processes never block it:
    # test_reader_holding_the_file_always_sees_a_complete_warehouse), it publishes.
    before = _sha256(published)
    assert main(["publish", "--db", str(published), "--from", str(work), "--unvalidated"]) == 0
    assert _sha256(published) != before


def test_a_client_opening_the_published_file_for_writing_during_a_build_is_not_damage(
    tmp_path, capsys, monkeypatch
):
    # A BI user opens the published file read-write while dbt builds the working copy (the
    # duckdb CLI without -readonly, `mf`, DBeaver's default): the volume check cannot open it
    # read-only. The build said "the published warehouse ... is damaged itself: restore it
    # from a backup" and exited 7; it is busy, not damaged: exit 6 (rerun), as when the file
    # is held before the build starts.
    from retention import build
    from retention.cli import main

    published = _hand_made(tmp_path / "w.duckdb", [(1, "2026-12-06 02:00:00")])
    copy_db(published, tmp_path / "w.duckdb.work")
    before = _sha256(published)
    holders: list[subprocess.Popen] = []

    def dbt_build_while_a_client_opens_the_published_file(_command, _env) -> int:
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_WRITABLE, str(published)], stdout=subprocess.PIPE, text=True
        )
        holders.append(holder)
        assert holder.stdout.readline().strip() == "open"
        return 0  # dbt built the working copy

    monkeypatch.setattr(build, "_run_child", dbt_build_while_a_client_opens_the_published_file)
    try:
        code = main(["build", "--db", str(published)])
    finally:
        for holder in holders:
            holder.kill()
            holder.wait()
    err = capsys.readouterr().err
    assert code == 6, err
    assert f"another process has the published warehouse {published} open for writing" in err
    assert "damaged" not in err and "backup" not in err
    assert _sha256(published) == before and not _leftovers(tmp_path)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_publish_stopped_by_a_signal_mid_copy_says_so_and_leaves_no_copy(tmp_path, signum):
    # Ctrl-C during the copy ended `retention publish` with DuckDB's "Query interrupted" as a
    # Python traceback and exit 1; SIGTERM killed it without a word, its temporary copy (as
    # large as the warehouse) left until the next publish. Now both exit 128 + the signal
    # with one line, and the temporary copy is gone. The working copy has a large table, so
    # that its copy lasts long enough (seconds) to be stopped once the temporary file is there.
    published = _hand_made(tmp_path / "w.duckdb", [(1, "2026-12-06 02:00:00")])
    work = copy_db(published, tmp_path / "w.duckdb.work")
    with duckdb.connect(str(work)) as con:
        con.execute("create schema bulk")
        con.execute(
            "create table bulk.rows as select range as i, md5(range::varchar) as s "
            "from range(3000000)"
        )
    before = _sha256(published)
    run = start_retention(
        ["publish", "--db", str(published), "--from", str(work), "--unvalidated"], tmp_path
    )
    child = run[1]
    try:
        while not _leftovers(tmp_path) and child.poll() is None:
            time.sleep(0.01)
        time.sleep(0.2)  # into the copy
        child.send_signal(signum)
        out, _ = child.communicate(timeout=60)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == 128 + signum, out
    assert out == _unvalidated_warning(work) + (
        f"retention publish: interrupted by {signal.Signals(signum).name}; the published "
        "warehouse is unchanged\n"
    )
    assert _sha256(published) == before and _leftovers(tmp_path) == []
    assert not (tmp_path / "w.duckdb.work.lock").exists()


def test_a_publish_stopped_right_after_its_rename_says_the_new_warehouse_is_published(
    tmp_path, capsys, monkeypatch
):
    # Every interrupted publish said "the old one or the new one", even where it knew which.
    # Here SIGTERM arrives the moment the new file is in place (sent by the rename itself):
    # the message must say that the new warehouse is published, and it is.
    from retention.cli import main

    day1 = (1, "2026-12-06 02:00:00")
    published = _hand_made(tmp_path / "w.duckdb", [day1])
    work = _hand_made(tmp_path / "w.duckdb.work", [day1, (2, "2026-12-06 09:00:00")])
    real_replace = os.replace

    def replace_then_signal(source, target):
        real_replace(source, target)
        if Path(target) == published:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(os, "replace", replace_then_signal)
    assert main(["publish", "--db", str(published), "--unvalidated"]) == 128 + signal.SIGTERM
    assert capsys.readouterr().err == _unvalidated_warning(work) + (
        "retention publish: interrupted by SIGTERM; the new warehouse was already published "
        "(the signal came as it finished)\n"
    )
    with duckdb.connect(str(published), read_only=True) as con:  # the working copy's batches
        assert con.sql("select load_id from meta.load_batches order by 1").fetchall() == [
            (1,),
            (2,),
        ]


def _immutable(path: Path) -> None:
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not possible here: {done.stderr.strip()}")


@pytest.mark.parametrize("fixed", ["folder", "file"])
def test_a_publish_the_file_system_refuses_names_the_cause_and_the_published_file(
    tmp_path, capsys, fixed
):
    # An immutable folder was reported as "cannot write storage version 'v1.0.0': ...", as if
    # the version were at fault; an immutable published file as "cannot write
    # .w.duckdb.publishing-<pid>", a temporary file that is gone by then. Now the first names
    # the file that could not be created, the second the published file the rename refused.
    from retention.cli import main

    folder = tmp_path / "published"
    folder.mkdir()
    published = _hand_made(folder / "w.duckdb", [(1, "2026-12-06 02:00:00")])
    work = copy_db(published, tmp_path / "w.duckdb.work")
    before = _sha256(published)
    _immutable(folder if fixed == "folder" else published)
    try:
        code = main(["publish", "--db", str(published), "--from", str(work), "--unvalidated"])
    finally:
        subprocess.run(["chattr", "-i", str(folder), str(published)], check=False)
    err = capsys.readouterr().err
    assert code == EXIT_PUBLISH_REFUSED, err
    if fixed == "folder":
        staging = folder / f".w.duckdb.publishing-{os.getpid()}"
        error = f"retention publish: error: cannot write {staging}: IO Error"
        assert err.startswith(_unvalidated_warning(work) + error), err
        assert "storage version" not in err
    else:
        assert err == _unvalidated_warning(work) + (
            f"retention publish: error: cannot replace {published}: Operation not permitted; "
            "the published warehouse is unchanged\n"
        )
    assert "Operation not permitted" in err
    assert _sha256(published) == before and _leftovers(folder) == []


def test_a_build_through_a_symbolic_link_keeps_its_working_copy_where_publish_looks(
    tmp_path, capsys, monkeypatch
):
    # --db a link to the warehouse on another volume: `retention build` put its working copy
    # beside the file the link names, while `retention publish --db LINK` (and
    # docs/operations.md's WORK=$RETENTION_DB_PATH.work, for `dbt source freshness`) look
    # beside the link: after the build, publish said "no working copy at LINK.work: build it
    # first".
    from retention import build
    from retention.cli import main

    target = tmp_path / "volume" / "w.duckdb"
    target.parent.mkdir()
    _hand_made(target, [(1, "2026-12-06 02:00:00")])
    link = tmp_path / "bi" / "w.duckdb"
    link.parent.mkdir()
    link.symlink_to(target)
    monkeypatch.setattr(build, "_run_child", lambda _command, _env: 0)  # dbt built it
    assert main(["build", "--db", str(link), "--no-validate"]) == 0, capsys.readouterr().err
    assert _work(link).is_file() and not _work(target).exists()
    assert main(["publish", "--db", str(link), "--unvalidated"]) == 0, capsys.readouterr().err
    assert link.is_symlink() and link.resolve() == target


# A read-write client of the published file (the duckdb CLI without -readonly, `mf`) that
# commits a change and dies before DuckDB folds its write-ahead log into the file.
DIES_WITH_A_LOG = """
import os, sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("set checkpoint_threshold = '1GB'")  # the change stays in w.duckdb.wal
con.execute("create table main.scratch as select 42 as x")
os._exit(0)
"""


def test_publish_does_not_let_a_dead_clients_log_replay_onto_the_new_file(tmp_path, capsys):
    # The log stayed beside the published file after the rename, and DuckDB replayed it onto
    # the new warehouse: every BI connection saw the dead session's change (a table, or
    # rows it deleted from a mart) in data it never had.
    from retention.cli import main

    published = _hand_made(tmp_path / "w.duckdb", [(1, "2026-12-06 02:00:00")])
    work = copy_db(published, tmp_path / "w.duckdb.work")
    subprocess.run([sys.executable, "-c", DIES_WITH_A_LOG, str(published)], check=True)
    log = tmp_path / "w.duckdb.wal"
    assert log.is_file()
    assert main(["publish", "--db", str(published), "--from", str(work), "--unvalidated"]) == 0
    capsys.readouterr()
    assert not log.exists() and _leftovers(tmp_path) == []
    assert "main.scratch" not in relations(published)
    assert relations(published) == relations(work)


DIES_AFTER_A_BATCH = """
import os, sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("set checkpoint_threshold = '1GB'")  # the batch stays in w.duckdb.wal
con.execute("insert into meta.load_batches values (2, '2026-12-06 09:00:00')")
os._exit(0)
"""


def test_a_batch_a_dead_load_left_in_the_published_files_log_reaches_the_working_copy(
    tmp_path, capsys, monkeypatch
):
    # A `retention load` into the published file that died after its commit, before DuckDB
    # folded the log into the file: the build started the working copy from the file alone,
    # without batch 2, and publish then refused (exit 5) because the published warehouse
    # (read with its log) has a batch the copy lacks; every rerun did the same.
    from retention import build
    from retention.cli import main

    published = _hand_made(tmp_path / "w.duckdb", [(1, "2026-12-06 02:00:00")])
    subprocess.run([sys.executable, "-c", DIES_AFTER_A_BATCH, str(published)], check=True)
    assert (tmp_path / "w.duckdb.wal").is_file()
    monkeypatch.setattr(build, "_run_child", lambda _command, _env: 0)  # dbt built it
    assert main(["build", "--db", str(published), "--no-validate"]) == 0, capsys.readouterr().err
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute(
            "select list(load_id order by load_id) from meta.load_batches"
        ).fetchone()[0] == [1, 2]


def test_publish_of_a_working_copy_another_process_has_open_exits_6(tmp_path, capsys):
    # A reader of the working copy (any DuckDB process, read-only too) keeps publish from
    # folding its log in. It said "error: cannot open the working copy" with 2, the code of a
    # refused copy; it is busy, as when a build holds the lock: 6, run again.
    from retention.cli import main

    published = _hand_made(tmp_path / "w.duckdb", [(1, "2026-12-06 02:00:00")])
    work = copy_db(published, tmp_path / "w.duckdb.work")
    before = _sha256(published)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITABLE, str(work)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        assert main(["publish", "--db", str(published)]) == 6
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert err.startswith(f"retention publish: another process has the working copy {work} open")
    assert _sha256(published) == before and _leftovers(tmp_path) == []
