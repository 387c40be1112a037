"""Faults (issue 10): a killed, interrupted or concurrent build, a full disk, a read-only or
immutable target, a damaged working copy. Each ends with a clear message and a documented
exit code (retention/build.py EPILOG, docs/operations.md "Running in production"), the published
warehouse as it was, and a next run that recovers without manual steps.

Every case starts from copies of the shared clean 300-customer warehouse (pipeline.py), built
once per pytest process. Builds run without --data (on the working copy's raw data) and
without Great Expectations, which keeps the slow cases to one partial build each (killed or
interrupted after dbt's first model) and two complete builds (the recoveries): the one after
a kill is a real `retention build` process with its dbt child, the one after a damaged working
copy runs in this process (pipeline.retention_in_process, dbt on the kept parse).

Disk full and read-only folders are real: a small tmpfs is mounted for the case (remounted
read-only for the read-only one), which needs root; without root those cases skip, and
`test_publish_on_a_full_disk_in_process` still covers the disk-full path by making the copy
raise ENOSPC. Immutable files use `chattr +i` (root, on a file system that supports it).
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
import yaml
from pipeline import (
    DB_NAME,
    REPO_ROOT,
    DbtRun,
    Run,
    copy_db,
    mart_counts,
    retention,
    retention_env,
    retention_in_process,
    running,
    start_retention,
)

from retention import publish as publish_module
from retention import working_copy
from retention.compare import compare_marts

# Exit codes (retention/build.py EPILOG; docs/operations.md "Running in production").
EXIT_NOTHING_TO_BUILD = 2
EXIT_PUBLISH = 5
EXIT_LOCKED = 6
EXIT_FILES = 7
EXIT_SIGTERM = 128 + signal.SIGTERM  # 143
# `retention publish`: 2 refused or failed, 6 the working copy is locked.
PUBLISH_REFUSED, PUBLISH_LOCKED = 2, 6
FIRST_MODEL = "OK created sql table model"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _state(db: Path) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select state from meta.build_state").fetchone()[0]


@dataclass(frozen=True)
class Site:
    """A published warehouse and its working copy, both the clean build (state `built`)."""

    published: Path
    work: Path
    before: str  # sha256 of the published file

    @property
    def folder(self) -> Path:
        return self.published.parent

    def leftovers(self) -> list[str]:
        """Temporary files: publish copies, a working copy being copied, lock files."""
        names = [p.name for p in self.folder.iterdir()]
        return sorted(n for n in names if ".publishing-" in n or n.endswith((".copying", ".lock")))


@pytest.fixture(scope="module")
def clean(clean_build: DbtRun) -> Path:
    build = clean_build
    assert build.ok, f"the clean build failed:\n{build.failure_summary()}"
    assert _state(build.db_path) == "built"
    return build.db_path


@pytest.fixture(scope="module")
def base(shared_dir: Path) -> Path:
    return shared_dir / "faults"


def _site(clean: Path, folder: Path, *, work: bool = True) -> Site:
    published = copy_db(clean, folder / DB_NAME)
    if work:
        copy_db(clean, working_copy.working_copy_path(published))
    return Site(published, working_copy.working_copy_path(published), _sha256(published))


# --- a build in the background -----------------------------------------------------------------


@dataclass
class Background:
    """`retention ARGS` in its own session, its output collected by a thread."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    seen: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(cls, args: list[str], workdir: Path, until: str = FIRST_MODEL) -> Background:
        _, process = start_retention(args, workdir)
        started = cls(process)
        threading.Thread(target=started._read, args=(until,), daemon=True).start()
        return started

    def _read(self, until: str) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if until in line:
                self.seen.set()
        self.seen.set()  # also when it ends without printing it

    def wait_for_line(self, timeout: float = 300) -> None:
        assert self.seen.wait(timeout), f"no {FIRST_MODEL!r} in time:\n{self.output}"
        assert self.process.poll() is None, f"it ended early:\n{self.output}"

    def finish(self, timeout: float = 300) -> int:
        code = self.process.wait(timeout)
        deadline = time.monotonic() + 10
        while not self.output.endswith("\n") and time.monotonic() < deadline:
            time.sleep(0.05)  # the reader thread takes the last lines
        return code

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def session(self) -> dict[int, str]:
        """pid -> command name of every live process in its session (itself and dbt)."""
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            name, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :]
            fields = rest.split()  # state, ppid, pgrp, session, ...
            if int(fields[3]) == self.process.pid and fields[0] != "Z":
                found[int(entry.name)] = name
        return found

    def children(self) -> dict[int, str]:
        return {pid: name for pid, name in self.session().items() if pid != self.process.pid}


def _session_ends(build: Background, timeout: float = 30) -> dict[int, str]:
    """The session's processes once it is empty or `timeout` has passed (kill -9 of a parent
    reaches its child through the kernel, not at once)."""
    deadline = time.monotonic() + timeout
    while (left := build.session()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


# --- killed and interrupted builds ---------------------------------------------------------------


@dataclass(frozen=True)
class Killed:
    site: Site
    dbt_before_kill: dict[int, str]
    left_after_kill: dict[int, str]
    returncode: int
    state_after_kill: str
    publish: Run
    sha_after_publish: str
    rerun: Run


@pytest.fixture(scope="module")
def killed(clean: Path, base: Path) -> Killed:
    """kill -9 of `retention build` alone (not its process group) once dbt has rebuilt a
    model; then `retention publish`, then the same build again."""
    site = _site(clean, base / "killed")
    build = Background.start(["build", "--db", str(site.published), "--no-validate"], base / "k1")
    build.wait_for_line()
    dbt_before_kill = build.children()
    os.kill(build.process.pid, signal.SIGKILL)
    returncode = build.finish()
    left = _session_ends(build)
    state = _state(site.work)
    published = retention(["publish", "--db", str(site.published)], base / "k2")
    sha = _sha256(site.published)
    # The rerun in the killed build's folder, as a job rerun in its project would be: dbt
    # reads the parse the killed dbt saved there (target/partial_parse.msgpack, written
    # before the first model ran) instead of parsing the whole project again.
    rerun = retention(["build", "--db", str(site.published), "--no-validate"], base / "k1")
    return Killed(site, dbt_before_kill, left, returncode, state, published, sha, rerun)


def test_killed_build_leaves_no_dbt_behind(killed: Killed) -> None:
    assert killed.returncode == -signal.SIGKILL
    assert any("dbt" in name for name in killed.dbt_before_kill.values()), killed.dbt_before_kill
    # dbt is killed by the kernel when its parent dies (PR_SET_PDEATHSIG).
    assert killed.left_after_kill == {}


def test_killed_build_is_never_published(killed: Killed) -> None:
    # The working copy said `built` before the build began; the killed build left `building`.
    assert killed.state_after_kill == "building"
    assert killed.publish.returncode == PUBLISH_REFUSED, killed.publish.output
    assert "building" in killed.publish.output
    assert killed.sha_after_publish == killed.site.before, "the published file changed"


def test_next_build_after_a_kill_recovers(killed: Killed, clean: Path) -> None:
    # No manual step: the lock died with its holder and the build simply runs again.
    assert killed.rerun.ok, killed.rerun.tail()
    assert _state(killed.site.published) == "built"
    assert mart_counts(killed.site.published) == mart_counts(clean)  # same raw data
    assert killed.site.leftovers() == []


@dataclass(frozen=True)
class Interrupted:
    site: Site
    pid: int
    dbt_before: dict[int, str]
    second: Run
    second_publish: Run
    returncode: int
    output: str
    left: dict[int, str]
    state: str


@pytest.fixture(scope="module")
def interrupted(clean: Path, base: Path) -> Interrupted:
    """Build A runs; build B and `retention publish` try the same working copy; then A gets
    SIGTERM (to its pid only, as an orchestrator's timeout sends it)."""
    site = _site(clean, base / "interrupted")
    first = Background.start(["build", "--db", str(site.published), "--no-validate"], base / "i1")
    try:
        first.wait_for_line()
        dbt_before = first.children()
        second = retention(["build", "--db", str(site.published), "--no-validate"], base / "i2")
        second_publish = retention(["publish", "--db", str(site.published)], base / "i3")
        first.process.send_signal(signal.SIGTERM)
        returncode = first.finish()
        left = first.session()  # at once: retention build waits for dbt before it exits
    finally:
        if first.process.poll() is None:
            os.killpg(first.process.pid, signal.SIGKILL)
            first.finish()
    return Interrupted(
        site,
        first.process.pid,
        dbt_before,
        second,
        second_publish,
        returncode,
        first.output,
        left,
        _state(site.work),
    )


def test_second_build_exits_at_once_naming_the_lock_holder(interrupted: Interrupted) -> None:
    second = interrupted.second
    assert second.returncode == EXIT_LOCKED, second.output
    assert f"pid {interrupted.pid}" in second.output and "holds the lock" in second.output
    assert "2/4 dbt build" not in second.output  # it did not start dbt
    publish = interrupted.second_publish
    assert publish.returncode == PUBLISH_LOCKED, publish.output
    assert f"pid {interrupted.pid}" in publish.output


def test_sigterm_stops_dbt_before_the_build_exits(interrupted: Interrupted) -> None:
    assert any("dbt" in name for name in interrupted.dbt_before.values()), interrupted.dbt_before
    assert interrupted.returncode == EXIT_SIGTERM, interrupted.output
    assert "interrupted by SIGTERM while running dbt build" in interrupted.output
    assert interrupted.left == {}, f"still running after retention build exited: {interrupted.left}"
    # Every process that ran beside it has exited: gone, or a zombie nobody reaps (dbt's
    # multiprocessing resource tracker, reparented to this container's init).
    assert [pid for pid in interrupted.dbt_before if running(pid)] == []


def test_interrupted_build_is_not_publishable(interrupted: Interrupted) -> None:
    assert interrupted.state == "building"
    assert _sha256(interrupted.site.published) == interrupted.site.before
    assert interrupted.site.leftovers() == []  # the lock file went with the build


# --- a damaged working copy ----------------------------------------------------------------------


def _damage(path: Path, how: str) -> None:
    size = path.stat().st_size
    if how == "truncated":
        os.truncate(path, size // 2)
    elif how == "overwritten":
        # The start (the checksum) of every 256 KiB block after the three 4 KiB headers of
        # DuckDB's file format: one spot in the middle may fall on a free block, which no
        # read ever checks, and the check rightly finds nothing wrong then.
        with path.open("r+b") as handle:
            for offset in range(3 * 4096, size, 256 * 1024):
                handle.seek(offset)
                handle.write(b"\xff" * 64)
    elif how == "garbage":
        path.write_bytes(b"not a database\n" * 100)
    elif how == "empty":
        path.write_bytes(b"")
    else:
        raise ValueError(how)


@pytest.mark.parametrize("how", ["truncated", "overwritten", "garbage", "empty"])
def test_check_finds_a_damaged_working_copy(clean: Path, base: Path, how: str) -> None:
    work = copy_db(clean, base / f"check-{how}" / "w.duckdb")
    working_copy.check(work)  # the intact copy passes
    _damage(work, how)
    with pytest.raises(working_copy.Damaged):
        working_copy.check(work)


def test_damaged_working_copy_is_started_again_from_the_published_warehouse(
    clean: Path, base: Path
) -> None:
    site = _site(clean, base / "damaged")
    # Half the file: it still opens (the catalog comes first) and fails when a table is read.
    _damage(site.work, "truncated")
    # In this process (pipeline.retention_in_process): what is checked is the build's own
    # handling of the working copy, not its dbt child.
    run = retention_in_process(["build", "--db", str(site.published), "--no-validate"], base / "d1")
    assert run.ok, run.tail()
    assert f"the working copy {site.work} is damaged" in run.output
    assert "discarding it and starting again from the published warehouse" in run.output
    assert _state(site.published) == "built"
    assert mart_counts(site.published) == mart_counts(clean)
    assert site.leftovers() == []


# What a build killed or interrupted after dbt built fct_periods left in the working copy's
# write-ahead log: a table whose check constraint calls abs (a function of core_functions,
# an extension built into DuckDB) and, committed after it, a `comment on column` (dbt's
# persist_docs), which DuckDB binds again when it replays the log. Killed before any
# checkpoint, as the build was.
WAL_LEFT_BY_A_KILLED_BUILD = """
import os, signal, sys
import duckdb
con = duckdb.connect(sys.argv[1])
con.execute("create table t (x double check (abs(x) < 10))")
con.execute("insert into t values (1.5)")
con.execute("checkpoint")
con.execute("set wal_autocheckpoint = '1TB'")
con.execute("comment on column t.x is 'kept'")
os.kill(os.getpid(), signal.SIGKILL)
"""


def _open_as_dbt_does(path: Path) -> None:
    """Open the file with the connection options of profiles.yml's DuckDB target, as
    dbt-duckdb does (a `dbt build` run by hand after a killed one)."""
    profile = yaml.safe_load((REPO_ROOT / "profiles.yml").read_text(encoding="utf-8"))
    options = profile["retention"]["outputs"]["dev"]["config_options"]
    duckdb.connect(str(path), config=options).close()


@pytest.mark.parametrize(
    "replay",
    [working_copy.check, publish_module._checkpoint, _open_as_dbt_does],
    ids=["build's check of the working copy", "retention publish", "dbt"],
)
def test_a_write_ahead_log_left_by_a_killed_build_is_replayed_without_a_download(
    replay: Callable[[Path], None], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB replays the log before it loads its built-in extensions; with autoinstall on
    it then tried to download core_functions, which fails offline, and the build discarded
    the working copy as damaged (found 2026-12-06); `retention publish` refused it with the
    download's error, and dbt (run by hand) could not open the file."""
    work = tmp_path / "w.duckdb.work"
    writer = subprocess.run(
        [sys.executable, "-c", WAL_LEFT_BY_A_KILLED_BUILD, str(work)],
        capture_output=True,
        text=True,
    )
    assert writer.returncode == -signal.SIGKILL, writer.stderr
    assert working_copy.wal_path(work).stat().st_size > 0
    home = tmp_path / "home"  # DuckDB installs extensions under ~/.duckdb: nothing may land
    monkeypatch.setenv("HOME", str(home))
    replay(work)  # neither Damaged nor PublishError
    assert not home.exists()
    assert not working_copy.wal_path(work).exists()  # written into the file on close
    with duckdb.connect(str(work), read_only=True) as con:
        assert con.execute(
            "select comment from duckdb_columns() where table_name = 't'"
        ).fetchall() == [("kept",)]


def test_damaged_published_warehouse_is_not_built_on(clean: Path, base: Path) -> None:
    site = _site(clean, base / "both-damaged", work=False)
    _damage(site.published, "garbage")
    before = _sha256(site.published)
    run = retention(["build", "--db", str(site.published), "--no-validate"], base / "d2")
    assert run.returncode == EXIT_FILES, run.output
    assert "is damaged itself" in run.output and "Traceback" not in run.output
    assert _sha256(site.published) == before
    assert not site.work.exists() and site.leftovers() == []


# --- a batch loaded into the published file (not through `retention build --data`) -------------


def _orders_of_a_new_day(folder: Path, customer: str, order_ids: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "orders.csv").write_text(
        "order_id,customer_id,ordered_at,status,amount,currency\n"
        + "".join(f"{o},{customer},2026-12-05T10:00:00Z,completed,10.00,EUR\n" for o in order_ids),
        encoding="utf-8",
    )
    return folder


def _a_customer(db: Path) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select min(customer_id) from marts.dim_customers").fetchone()[0]


def _order_ids(db: Path, prefix: str) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [
            order_id
            for (order_id,) in con.execute(
                "select order_id from raw.orders where order_id like ? order by 1", [prefix + "%"]
            ).fetchall()
        ]


def test_a_batch_loaded_into_the_published_file_is_built_not_lost(clean: Path, base: Path) -> None:
    # `retention load` into the published file after the working copy was made: building on
    # the older working copy would publish over the batch. The working copy starts again
    # from the published warehouse instead.
    from retention.load import load_dir

    site = _site(clean, base / "loaded-into-published")
    day = _orders_of_a_new_day(base / "day-x", _a_customer(clean), ["DX1", "DX2"])
    load_dir(day, site.published)
    run = retention_in_process(["build", "--db", str(site.published), "--no-validate"], base / "d3")
    assert run.ok, run.tail()
    assert "that the working copy lacks (loaded with `retention load`)" in run.output
    assert "starting the working copy again from it" in run.output
    assert _order_ids(site.published, "DX") == ["DX1", "DX2"]
    with duckdb.connect(str(site.published), read_only=True) as con:
        assert con.execute(
            "select count(*) from staging.stg_shop__orders where order_id like 'DX%'"
        ).fetchone() == (2,)
    assert _state(site.published) == "built" and site.leftovers() == []


def test_batches_on_both_sides_stop_the_build_naming_them(clean: Path, base: Path) -> None:
    from retention.load import load_dir

    site = _site(clean, base / "diverged")
    customer = _a_customer(clean)
    load_dir(_orders_of_a_new_day(base / "day-p", customer, ["DP1"]), site.published)
    load_dir(_orders_of_a_new_day(base / "day-w", customer, ["DW1"]), site.work)
    published_before, work_before = _sha256(site.published), _sha256(site.work)
    run = retention(["build", "--db", str(site.published), "--no-validate"], base / "d4")
    assert run.returncode == EXIT_NOTHING_TO_BUILD, run.output
    assert "has load batch(es)" in run.output and "never published" in run.output
    assert "nothing was changed" in run.output and "Traceback" not in run.output
    assert (_sha256(site.published), _sha256(site.work)) == (published_before, work_before)


def test_a_damaged_published_warehouse_beside_a_good_working_copy_exits_7(
    clean: Path, base: Path
) -> None:
    site = _site(clean, base / "published-damaged")
    _damage(site.published, "garbage")
    before = _sha256(site.published)
    run = retention(["build", "--db", str(site.published), "--no-validate"], base / "d5")
    assert run.returncode == EXIT_FILES, run.output
    assert f"the published warehouse {site.published} cannot be read" in run.output
    assert "Traceback" not in run.output and _sha256(site.published) == before


@pytest.mark.parametrize("how", ["truncated", "overwritten"])
def test_a_published_warehouse_the_volume_check_cannot_read_is_exit_7_not_a_failed_check(
    clean: Path, base: Path, how: str
) -> None:
    # Damage that may leave the batches readable: the volume check's counts find it. The
    # validate-and-publish step is called directly: what is checked is its reading of the
    # published file before Great Expectations, not a build.
    import argparse

    from retention import build as build_module

    site = _site(clean, base / f"baseline-{how}")
    _damage(site.published, how)
    args = argparse.Namespace(
        no_validate=False, max_shrink=0.1, allow_shrink=False, storage_version="current"
    )
    try:
        build_module._validate_and_publish(
            args, site.published, site.work, build_module.Stage("validating")
        )
    except build_module.FilesError as exc:
        assert f"the published warehouse {site.published} is damaged itself" in str(exc)
    else:
        pytest.fail("the damaged published warehouse was validated against")


def test_the_lock_makes_a_new_warehouses_folder(tmp_path: Path) -> None:
    work = tmp_path / "new" / "sub" / "warehouse.duckdb.work"
    with working_copy.lock(work):
        assert working_copy.lock_path(work).exists()
    assert work.parent.is_dir()


# --- nothing to build (issue 17) -----------------------------------------------------------------


def test_build_without_data_on_a_new_database_says_pass_data(tmp_path: Path) -> None:
    folder = tmp_path / "new"
    folder.mkdir()
    run = retention(["build", "--db", str(folder / "new.duckdb")], tmp_path / "run")
    assert run.returncode == EXIT_NOTHING_TO_BUILD, run.output
    assert "pass --data DIR" in run.output and "Traceback" not in run.output
    assert "dbt" not in run.output  # it stopped before dbt
    assert list(folder.iterdir()) == []  # no empty working copy, no lock file


# --- full disk, read-only and immutable targets ---------------------------------------------------


@pytest.fixture
def mount_tmpfs(tmp_path: Path) -> Iterator:
    """mount_tmpfs(name, bytes) -> a fresh tmpfs of that size (root only); unmounted after."""
    mounted: list[Path] = []

    def mount(name: str, size: int) -> Path:
        point = tmp_path / name
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs (needs root): {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], check=False)


def _read_only(point: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True)


def _fill(folder: Path, leave: int) -> Path:
    """Fill the file system of folder but `leave` bytes."""
    filler = folder / "filler"
    free = shutil.disk_usage(folder).free
    with filler.open("wb") as handle:
        handle.truncate(0)
        chunk = b"\0" * (1 << 20)
        remaining = free - leave
        while remaining > 0:
            handle.write(chunk[: min(len(chunk), remaining)])
            remaining -= len(chunk)
    return filler


def _mib(size: int) -> int:
    return (size // (1 << 20) + 1) << 20


def test_publish_on_a_full_disk_fails_cleanly_and_recovers(
    clean: Path, base: Path, mount_tmpfs
) -> None:
    size = clean.stat().st_size
    # Room for the published file and one copy of the working copy, then filled up.
    disk = mount_tmpfs("disk", 2 * _mib(size) + (4 << 20))
    site = Site(copy_db(clean, disk / DB_NAME), copy_db(clean, base / "full" / "w.work"), "")
    before = _sha256(site.published)
    filler = _fill(disk, leave=1 << 20)
    # The copy of a built warehouse (no `retention validate` ran on it): how a full disk is
    # met is checked, not the validation.
    args = ["publish", "--db", str(site.published), "--from", str(site.work), "--unvalidated"]
    run = retention(args, base / "full-run")
    assert run.returncode == PUBLISH_REFUSED, run.output
    assert "No space left on device" in run.output and "is unchanged" in run.output
    assert "Traceback" not in run.output
    assert _sha256(site.published) == before
    assert site.leftovers() == []  # the partial copy is gone
    filler.unlink()  # the operator frees space; the same command then publishes
    again = retention(args, base / "full-run")
    assert again.ok, again.output
    assert compare_marts(site.work, site.published) == []


def test_working_copy_on_a_full_disk_fails_cleanly(clean: Path, base: Path, mount_tmpfs) -> None:
    size = clean.stat().st_size
    disk = mount_tmpfs("disk", _mib(size) + (2 << 20))
    site = Site(copy_db(clean, disk / DB_NAME), disk / (DB_NAME + ".work"), "")
    before = _sha256(site.published)
    run = retention(["build", "--db", str(site.published)], base / "full-work")
    assert run.returncode == EXIT_FILES, run.output
    assert "cannot copy the published warehouse to the working copy" in run.output
    assert "No space left on device" in run.output and "Traceback" not in run.output
    assert _sha256(site.published) == before
    assert not site.work.exists() and site.leftovers() == []


def test_publish_on_a_full_disk_in_process(
    clean: Path, base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Disk full without root: the byte-for-byte copy (storage version `current`) writes part
    of the file, then raises ENOSPC as a full file system does. The default copy, in an older
    storage version, meets a real full disk in the tmpfs case above."""
    site = _site(clean, base / "enospc")

    def copy_then_fail(source: Path, target: Path) -> None:
        Path(target).write_bytes(Path(source).read_bytes()[:4096])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))

    monkeypatch.setattr(publish_module.shutil, "copyfile", copy_then_fail)
    with pytest.raises(publish_module.PublishError, match="No space left on device"):
        publish_module.publish(site.work, site.published, storage_version=publish_module.CURRENT)
    assert _sha256(site.published) == site.before
    assert site.leftovers() == []


def test_read_only_target_folder(clean: Path, base: Path, mount_tmpfs) -> None:
    disk = mount_tmpfs("ro", _mib(clean.stat().st_size) + (2 << 20))
    published = copy_db(clean, disk / DB_NAME)
    before = _sha256(published)
    _read_only(disk)
    work = copy_db(clean, base / "ro" / "w.work")
    # --unvalidated: the working copy is a copy no validation ran on, refused before the copy
    # is made otherwise (test_publish.py); the folder is what is tested here.
    run = retention(
        ["publish", "--db", str(published), "--from", str(work), "--unvalidated"], base / "ro-run"
    )
    assert run.returncode == PUBLISH_REFUSED, run.output
    assert "Read-only file system" in run.output and "Traceback" not in run.output
    # retention build finds out before it builds anything.
    env_work = {"RETENTION_WORK_DB_PATH": str(work)}
    build = _retention_with(["build", "--db", str(published)], base / "ro-build", env_work)
    assert build.returncode == EXIT_PUBLISH, build.output
    assert "cannot publish into" in build.output and "Read-only file system" in build.output
    assert "dbt build" not in build.output
    assert _sha256(published) == before


def test_read_only_working_copy_folder(clean: Path, base: Path, mount_tmpfs) -> None:
    disk = mount_tmpfs("ro-work", _mib(clean.stat().st_size) + (2 << 20))
    work = copy_db(clean, disk / "w.work")
    _read_only(disk)
    site = _site(clean, base / "ro-work", work=False)
    build = _retention_with(
        ["build", "--db", str(site.published)],
        base / "ro-work-run",
        {"RETENTION_WORK_DB_PATH": str(work)},
    )
    assert build.returncode == EXIT_FILES, build.output
    assert "Read-only file system" in build.output and "Traceback" not in build.output
    assert _sha256(site.published) == site.before


@pytest.fixture
def immutable() -> Iterator:
    """immutable(path): `chattr +i path` (root), undone after the test."""
    marked: list[Path] = []

    def mark(path: Path) -> None:
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"chattr +i is not possible here: {done.stderr.strip()}")
        marked.append(path)

    yield mark
    for path in marked:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def test_immutable_published_folder(clean: Path, base: Path, immutable) -> None:
    site = _site(clean, base / "immutable-folder", work=False)
    work = copy_db(clean, base / "immutable-folder-work" / "w.work")
    immutable(site.folder)
    run = retention(  # --unvalidated: as in test_read_only_target_folder
        ["publish", "--db", str(site.published), "--from", str(work), "--unvalidated"], base / "if"
    )
    assert run.returncode == PUBLISH_REFUSED, run.output
    assert "Operation not permitted" in run.output and "is unchanged" in run.output
    assert "Traceback" not in run.output
    assert _sha256(site.published) == site.before
    build = _retention_with(
        ["build", "--db", str(site.published)], base / "if2", {"RETENTION_WORK_DB_PATH": str(work)}
    )
    assert build.returncode == EXIT_PUBLISH, build.output
    assert "cannot publish into" in build.output and "dbt build" not in build.output


def test_immutable_published_file(clean: Path, base: Path, immutable) -> None:
    site = _site(clean, base / "immutable-file")
    immutable(site.published)
    run = retention(["publish", "--db", str(site.published), "--unvalidated"], base / "ifile")
    assert run.returncode == PUBLISH_REFUSED, run.output
    assert "Operation not permitted" in run.output and "is unchanged" in run.output
    assert _sha256(site.published) == site.before
    assert site.leftovers() == []


def test_immutable_working_copy(clean: Path, base: Path, immutable) -> None:
    site = _site(clean, base / "immutable-work")
    immutable(site.work)
    run = retention(["build", "--db", str(site.published)], base / "iwork")
    assert run.returncode == EXIT_FILES, run.output
    assert f"the working copy {site.work} cannot be written: Operation not permitted" in run.output
    assert "Traceback" not in run.output
    assert _sha256(site.published) == site.before


def _retention_with(args: list[str], workdir: Path, extra: dict[str, str]) -> Run:
    """`retention ARGS` with extra environment variables (pipeline.retention clears them)."""
    workdir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "retention.cli", *args]
    done = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env={**retention_env(workdir), **extra},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        timeout=600,
    )
    return Run(command, done.returncode, done.stdout, 0.0)
