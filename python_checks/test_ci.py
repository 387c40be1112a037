"""The pull-request CI a team adopts (docs/ci.md): the GitHub workflow and pre-commit.

The workflow is checked as a file (it runs elsewhere): it runs the make targets of .ci/run,
every make target it names exists, it caches uv's downloads and the CDNOW wheel where
retention/cdnow.py keeps it, and it needs no secret. pre-commit runs for real in
a fresh git repository holding the project's files as a clone has them: every hook passes
on the project, and the hooks catch a bad Python file, a broken YAML file and a badly
written model. The `conventions` hook runs `make conventions` (which `make lint` runs too)
when a file dbt reads is staged or deleted: it is skipped where other hooks are checked (a
dbt parse of the whole project) and run by one test, on a commit that only deletes files.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import duckdb
import pytest
import yaml

from retention.cdnow import CACHE_DIR
from retention.data_diff import base_label
from retention.paths import REPO_ROOT

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"
PRE_COMMIT_CONFIG = REPO_ROOT / ".pre-commit-config.yaml"
VENV_BIN = REPO_ROOT / ".venv" / "bin"


def make_targets() -> set[str]:
    text = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z][\w-]*):(?!=)", text, re.MULTILINE))


def make_calls(text: str) -> set[str]:
    """The targets of every `make TARGET ...` in a shell text (options and VAR=x skipped)."""
    targets = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0]  # comments name targets in prose
        for match in re.finditer(r"(?:^|[;&|(]\s*|\s)make((?:\s+[^\s;&|]+)*)", line):
            words = match.group(1).split()
            targets |= {w for w in words if not w.startswith("-") and "=" not in w}
    return targets


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def steps(flow: dict) -> list[dict]:
    return [step for job in flow["jobs"].values() for step in job["steps"]]


def test_the_workflow_runs_the_make_targets_of_ci_run_and_needs_no_secret():
    flow = workflow()
    triggers = flow.get("on", flow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "pull_request" in triggers
    ci_run = make_calls((REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8"))
    assert "test" in ci_run
    runs = "\n".join(step.get("run", "") for step in steps(flow))
    called = make_calls(runs)
    assert ci_run <= called
    assert called <= make_targets(), called - make_targets()
    assert "data-diff" in called
    assert "secrets." not in WORKFLOW.read_text(encoding="utf-8")


def test_the_workflow_uses_python_3_11_and_caches_uv_and_the_cdnow_wheel():
    flow = workflow()
    pythons = [s for s in steps(flow) if s.get("uses", "").startswith("actions/setup-python")]
    assert pythons and all(s["with"]["python-version"] == "3.11" for s in pythons)
    requires = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert requires["requires-python"] == ">=3.11,<3.12"
    cached = {
        s["with"]["path"]: s["with"]["key"]
        for s in steps(flow)
        if s.get("uses", "").startswith("actions/cache")
    }
    # uv's cache is where the workflow tells uv to keep it, keyed on the lock file.
    uv_cache = flow["env"]["UV_CACHE_DIR"].replace("${{ github.workspace }}/", "")
    assert "hashFiles('uv.lock')" in cached[uv_cache]
    # The wheel: the folder retention/cdnow.py downloads it into, keyed on its version.
    wheel_dir = CACHE_DIR.relative_to(REPO_ROOT).as_posix()
    assert wheel_dir in cached and "0.11.3" in cached[wheel_dir]
    # Every job that sets up the environment restores uv's cache first.
    for name, job in flow["jobs"].items():
        names = [s.get("run", "") for s in job["steps"]]
        paths = [s.get("with", {}).get("path") for s in job["steps"]]
        assert uv_cache in paths[: names.index("make setup")], name


def test_pre_commit_hooks_are_local_and_run_the_locked_tools():
    config = yaml.safe_load(PRE_COMMIT_CONFIG.read_text(encoding="utf-8"))
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = {hook["id"]: hook for hook in config["repos"][0]["hooks"]}
    assert set(hooks) == {"ruff-check", "ruff-format", "sqlfluff-lint", "check-yaml", "conventions"}
    for hook_id, hook in hooks.items():
        words = shlex.split(hook["entry"])
        if words[0] == "env":  # env VAR=value ... TOOL
            words = [w for w in words[1:] if "=" not in w]
        if words[0] == "make":
            assert make_calls(hook["entry"]) <= make_targets(), hook_id
        else:
            assert words[0].startswith(".venv/bin/"), hook_id
            assert (REPO_ROOT / words[0]).exists(), hook_id
    # sqlfluff sees the changed SQL of every folder `make lint` lints.
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    (linted,) = re.findall(r"sqlfluff lint ((?:\w+ )+)--", makefile)
    assert "models" in linted.split()
    for folder in linted.split():
        assert re.search(hooks["sqlfluff-lint"]["files"], f"{folder}/a.sql"), folder
        assert re.search(hooks["conventions"]["files"], f"{folder}/a.sql"), folder
    # ... and none that .sqlfluffignore leaves out (sqlfluff warned of each one it was given).
    lint = hooks["sqlfluff-lint"]
    ignored = (REPO_ROOT / ".sqlfluffignore").read_text(encoding="utf-8").splitlines()
    for folder in [line for line in ignored if line and not line.startswith("#")]:
        path = f"{folder.rstrip('/')}/a.sql"
        assert not re.search(lint["files"], path) or re.search(lint.get("exclude", "^$"), path)
    # The pre-commit pinned in the dev group is the one installed from the lock.
    dev = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    assert f"pre-commit=={importlib.metadata.version('pre-commit')}" in dev


# The pre-commit release that first knows each language the hooks use (its changelog):
# `unsupported` and `unsupported_script` are 4.4.0's names for `system` and `script`.
LANGUAGE_SINCE = {"unsupported": (4, 4, 0), "unsupported_script": (4, 4, 0)}


def test_the_minimum_pre_commit_version_knows_every_hook_language():
    # It said 4.0.0: a pre-commit from 4.0 to 4.3 (installed outside .venv) read the config
    # and stopped on the unknown language `unsupported` instead of asking for an upgrade.
    config = yaml.safe_load(PRE_COMMIT_CONFIG.read_text(encoding="utf-8"))
    minimum = tuple(int(part) for part in config["minimum_pre_commit_version"].split("."))
    for hook in config["repos"][0]["hooks"]:
        assert minimum >= LANGUAGE_SINCE.get(hook["language"], (0,)), hook["id"]
    installed = tuple(int(p) for p in importlib.metadata.version("pre-commit").split(".")[:3])
    assert installed >= minimum


def clean_clone(target: Path) -> Path:
    """The project's files as a clone has them (tracked and new, not ignored) in a fresh git
    repository, with the repo's .venv linked in."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    target.mkdir()
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    subprocess.run(["git", "init", "-q"], cwd=target, check=True)
    (target / ".git" / "info" / "exclude").write_text(".venv\n")
    (target / ".venv").symlink_to(VENV_BIN.parent)
    subprocess.run(["git", "add", "-A"], cwd=target, check=True)
    return target


def make(
    checkout: Path, *args: str, drop: tuple[str, ...] = ("MAKE",)
) -> subprocess.CompletedProcess:
    """`make ARGS` in CHECKOUT, output captured, with the environment less the variables
    whose names start with one of DROP (make's own, so that a `make test` running this
    passes it no flags)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return subprocess.run(["make", *args], cwd=checkout, env=env, capture_output=True, text=True)


def pre_commit(clone: Path, home: Path, *args: str, skip: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "MAKE"))}
    env |= {"PRE_COMMIT_HOME": str(home), "SKIP": skip, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run(
        [str(VENV_BIN / "pre-commit"), "run", "--color", "never", *args],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def hook_line(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(name + "."))


@pytest.mark.whole_commands  # make test-whole-commands, not make test (its time)
def test_pre_commit_passes_on_the_project_and_catches_bad_files(tmp_path):
    clone = clean_clone(tmp_path / "clone")
    home = tmp_path / "pre-commit-home"
    # Every file: ruff and the YAML check (sqlfluff on every model is `make lint`'s job).
    run = pre_commit(clone, home, "--all-files", skip="sqlfluff-lint,conventions")
    assert run.returncode == 0, run.stdout + run.stderr
    assert hook_line(run.stdout, "ruff check").endswith("Passed")
    assert hook_line(run.stdout, "ruff format").endswith("Passed")
    assert hook_line(run.stdout, "check yaml").endswith("Passed")
    # Three bad files, staged as a commit would have them.
    (clone / "retention" / "bad.py").write_text("import os\n")  # F401: unused import
    (clone / "docs" / "bad.yml").write_text("models: [\n")  # unclosed flow sequence
    (clone / "models" / "bad_model.sql").write_text("SELECT 1 AS X\n")  # CP01, CP02
    subprocess.run(["git", "add", "-A"], cwd=clone, check=True)
    bad = ("retention/bad.py", "docs/bad.yml", "models/bad_model.sql")
    run = pre_commit(clone, home, "--files", *bad, skip="conventions")
    assert run.returncode == 1
    out = run.stdout
    assert hook_line(out, "ruff check").endswith("Failed") and "F401" in out, out
    assert hook_line(out, "check yaml").endswith("Failed") and "docs/bad.yml" in out, out
    assert hook_line(out, "sqlfluff lint (changed SQL)").endswith("Failed"), out
    assert "models/bad_model.sql" in out and "CP01" in out, out


def data_diff(
    clone: Path, *make_vars: str, data: Path | None = None
) -> subprocess.CompletedProcess:
    """`make data-diff MAKE_VARS...` in CLONE, with DATA (a copy of a clean data set, standing
    for the demo data) as DEMO_DATA when given; output captured."""
    if data is not None:
        (data / ".generated").touch()  # the clean data set stands for the demo data
        make_vars = (*make_vars, f"DEMO_DATA={data}")
    return make(clone, "--no-print-directory", "data-diff", *make_vars, drop=("DBT_", "MAKE"))


def test_data_diff_with_a_base_ref_that_is_not_a_commit_says_so_before_building(tmp_path):
    # A typo in BASE_REF built the pull request's side first (a minute), then stopped on git's
    # "fatal: not a valid object name" and tar's "does not look like a tar archive".
    clone = clean_clone(tmp_path / "clone")
    report = clone / "target" / "data-diff.md"
    report.parent.mkdir()
    report.write_text("the last run's report\n")  # not left to be read as this run's
    run = data_diff(clone, "BASE_REF=origin/mian")
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.splitlines()[0] == (
        "make data-diff: BASE_REF=origin/mian is not a commit of this clone: check the name, "
        "or fetch it (e.g. git fetch origin main)"
    )
    assert "fatal" not in run.stderr and "tar" not in run.stderr
    assert not (clone / "target" / "test").exists()  # nothing was built
    assert not report.exists()


def git_commit(repo: Path, message: str) -> str:
    """Commit what is staged in REPO (an empty commit when nothing is); the new hash."""
    command = ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit"]
    subprocess.run([*command, "-q", "--allow-empty", "-m", message], cwd=repo, check=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_base_label_names_a_branch_or_tag_with_its_commit_and_a_hash_alone(tmp_path):
    # `make data-diff BASE_REF=521f0b0` said "521f0b0 at 521f0b0".
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    first = git_commit(repo, "first")
    second = git_commit(repo, "second")
    subprocess.run(["git", "tag", "-a", "v1", "-m", "v1", first], cwd=repo, check=True)
    # A branch whose name is the start of its own commit's hash is still a name.
    hexlike = second[:4]
    subprocess.run(["git", "branch", hexlike, second], cwd=repo, check=True)

    def short(commit: str) -> str:
        command = ["git", "rev-parse", "--short", commit]
        return subprocess.run(command, cwd=repo, capture_output=True, text=True).stdout.strip()

    expected = {
        "main": f"main at {short(second)}",
        "v1": f"v1 at {short(first)}",  # an annotated tag: the commit it tags
        "HEAD~1": f"HEAD~1 at {short(first)}",
        hexlike: f"{hexlike} at {short(second)}",
        first[:7]: short(first),  # abbreviated
        first[:5].upper(): short(first),  # git reads hex in either case
        first: short(first),  # in full
        f"{first[:7]}~0": f"{first[:7]}~0 at {short(first)}",  # an expression, not a hash
    }
    labels = {ref: base_label(ref, cwd=repo) for ref in expected}
    assert labels == expected


@pytest.fixture(scope="module")
def data_diff_recipe(tmp_path_factory) -> str:
    """What `make -n data-diff BASE_REF=521f0b0` prints in a clean clone (nothing is built)."""
    folder = tmp_path_factory.mktemp("dry-run")
    clone = clean_clone(folder / "clone")
    data = folder / "data"
    data.mkdir()
    (data / ".generated").touch()
    run = make(
        clone, "-n", "--no-print-directory", "data-diff", f"DEMO_DATA={data}", "BASE_REF=521f0b0"
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_the_data_diff_labels_the_base_revision_through_retention_data_diff(data_diff_recipe):
    # The label's git commands were in the recipe; test_the_base_label_... checks the helper.
    recipe = data_diff_recipe
    assert '$(.venv/bin/python -m retention.data_diff label "521f0b0")' in recipe, recipe
    assert '--base-label "$base_label"' in recipe, recipe


def test_the_data_diff_builds_the_pull_requests_marts_before_running_its_tests(
    data_diff_recipe,
):
    # One `dbt build` skipped the marts after a failed unit test or test, and the diff
    # showed nothing of them: test_data_diff_reports_when_the_pull_requests_build_fails
    # shows it end to end. Here: models first without tests, as the base's, then dbt test.
    recipe = data_diff_recipe
    models_only = "--exclude-resource-type test --exclude-resource-type unit_test"
    pr_dbt = re.findall(
        r"RETENTION_DB_PATH=\S+/target/test/warehouse\.duckdb (\S+ \w+)(.*)", recipe
    )
    assert [command for command, _ in pr_dbt] == [".venv/bin/dbt build", ".venv/bin/dbt test"]
    assert models_only in pr_dbt[0][1], recipe
    # The models' build records `built` and dbt test no state: a failed test is recorded
    # after it (test_data_diff_records_that_the_pull_requests_tests_failed).
    after_test = recipe.split(".venv/bin/dbt test", 1)[1].split("; fi", 1)[0]
    assert after_test.startswith(" || "), recipe
    assert (
        ".venv/bin/python -m retention.data_diff tests-failed target/test/warehouse.duckdb"
        in after_test
    ), recipe


def test_data_diff_records_that_the_pull_requests_tests_failed(tmp_path):
    # After `make data-diff`, a pull request's warehouse whose tests failed said `built` (its
    # models' build, tests left out, recorded it; dbt test records nothing), and read as a
    # good build to retention summary, publish or a BASE_DB check.
    from test_diff import with_build_state
    from test_validate import build

    from retention import data_diff
    from retention.marts import WarehouseError, build_state_warning

    db = with_build_state(build(tmp_path / "pr.duckdb"), "built")
    with duckdb.connect(str(db)) as con:
        con.execute("alter table meta.build_state add column stored_vars varchar")
        con.execute("""update meta.build_state set stored_vars = '{"a": "1"}'""")
    assert data_diff.main(["tests-failed", str(db)]) == 0
    with duckdb.connect(str(db), read_only=True) as con:
        recorded = con.execute(
            "select state, stored_vars, failed_step from meta.build_state"
        ).fetchall()
    # The vars the models were built with; `tests`: every model was built (retention diff
    # then reads a mart the warehouse lacks as one the change removed, not one it skipped).
    assert recorded == [("failed", '{"a": "1"}', "tests")]
    assert (
        "(meta.build_state: failed): its models were all built but its tests failed, so the "
        "marts may not be right" in build_state_warning(db)
    )
    with pytest.raises(WarehouseError, match=r"\(meta.build_state: failed\)"):
        data_diff.check_base_db(str(db))


def test_data_diff_refuses_a_base_db_whose_build_did_not_complete_before_building(tmp_path):
    # The base branch's CI warehouse of a build whose unit test failed lacked the mart it
    # tests, and the report read it as added by the pull request.
    from test_diff import with_build_state
    from test_validate import build

    clone = clean_clone(tmp_path / "clone")
    base = with_build_state(build(tmp_path / "base.duckdb"), "failed")
    run = data_diff(clone, f"BASE_DB={base}")
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.splitlines()[0] == (
        f"make data-diff: BASE_DB {base}: its last dbt build did not complete or its tests "
        "failed (meta.build_state: failed), so its marts may be missing or not those of its "
        "data: rebuild it, or leave BASE_DB out to build BASE_REF"
    )
    assert not (clone / "target" / "test").exists()  # nothing was built
    # A missing file likewise, before any build (it was found after the pull request's).
    run = data_diff(clone, f"BASE_DB={tmp_path / 'nothing.duckdb'}")
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.splitlines()[0] == (
        f"make data-diff: BASE_DB {tmp_path / 'nothing.duckdb'} is not a file: give a built "
        "warehouse"
    )
    assert not (clone / "target" / "test").exists()


@pytest.mark.whole_commands  # make test-whole-commands, not make test (its time)
def test_data_diff_stops_before_the_base_build_when_the_pull_requests_build_left_no_mart(
    tmp_path, clean_data
):
    # A pull request that dbt cannot parse (here an unclosed Jinja tag) built no mart, but
    # `retention load` had created the warehouse file: the check "built no warehouse"
    # passed, the base branch was built (a minute), and `retention diff` ended with "has no
    # marts: build it first (`retention build --data DIR ...`)", advice that had nothing to
    # do with the pull request's error.
    clone = clean_clone(tmp_path / "clone")
    (clone / "models" / "broken.sql").write_text("select {{ 1 \n")  # unclosed Jinja
    commit = ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "-qm", "1"]
    subprocess.run(commit, cwd=clone, check=True)
    run = data_diff(clone, "BASE_REF=HEAD", data=shutil.copytree(clean_data, tmp_path / "data"))
    assert run.returncode == 2, run.stdout[-3000:] + run.stderr[-3000:]
    assert "models/broken.sql" in run.stdout  # dbt's error is in the output
    assert (
        "make data-diff: the pull request's dbt build built no mart (its output above, e.g. a "
        "parsing error): nothing to compare; fix it (make build-test runs that build)"
        in run.stderr.splitlines()
    ), run.stderr
    assert "retention diff" not in run.stderr
    assert not (clone / "target" / "data-diff").exists()  # the base was not built
    assert not (clone / "target" / "data-diff.md").exists()


def fail_a_unit_test_of(mart: str, project: Path) -> str:
    """Make the first unit test of MART in PROJECT expect one value that the model does not
    give (its expected rows' first `customers: N` becomes N + 1000); the unit test's name."""
    (entries,) = [
        path
        for path in (project / "models").rglob("_*__models.yml")
        if f"model: {mart}\n" in path.read_text(encoding="utf-8")
    ]
    text = entries.read_text(encoding="utf-8")
    start = text.index(f"model: {mart}\n")
    name = re.findall(r"- name: (\w+)", text[:start])[-1]
    expect = text.index("expect:", start)
    count = re.compile(r"\bcustomers: (\d+)").search(text, expect)
    wrong = f"customers: {int(count.group(1)) + 1000}"
    entries.write_text(text[: count.start()] + wrong + text[count.end() :], encoding="utf-8")
    return name


@pytest.mark.whole_commands  # make test-whole-commands, not make test (its time)
def test_data_diff_reports_when_the_pull_requests_build_fails(tmp_path, clean_data, clean_build):
    # A pull request whose dbt build failed a test got no report at all: build-test stopped
    # the target. The diff of the marts that build left is what a reviewer needs then. A
    # failed unit test skipped the mart it tests in that build, and the report showed it as
    # "Only in the base warehouse": the marts are now built regardless of the tests.
    assert clean_build.ok, clean_build.failure_summary()
    clone = clean_clone(tmp_path / "clone")
    (clone / "tests" / "assert_this_change_breaks.sql").write_text("select 1 as broken\n")
    unit_test = fail_a_unit_test_of("mart_repeat_purchase", clone)
    base = shutil.copy(clean_build.db_path, tmp_path / "base.duckdb")  # the same data, built
    run = data_diff(clone, f"BASE_DB={base}", data=shutil.copytree(clean_data, tmp_path / "data"))
    assert run.returncode == 2, run.stdout[-3000:] + run.stderr[-3000:]  # make: a recipe failed
    assert "assert_this_change_breaks" in run.stdout  # dbt's failures are in the output
    assert f"FAIL 1 mart_repeat_purchase::{unit_test}" in run.stdout, run.stdout[-3000:]
    assert (
        "make data-diff: the pull request's dbt tests failed (their output above); its marts "
        "were built regardless of them, and the report compares them all" in run.stderr.splitlines()
    ), run.stderr
    report = (clone / "target" / "data-diff.md").read_text()
    assert (
        "its dbt tests FAILED, see the job's log; the marts are built regardless of them"
        in report.splitlines()[2]
    ), report[:600]
    # The marts were compared: the same data and code on both sides, so no row moved; the
    # mart whose unit test failed too.
    from test_diff import summary_row

    assert summary_row(report, "mart_churn")[2:5] == ["0", "0", "0"], report[:2000]
    assert summary_row(report, "mart_repeat_purchase")[2:5] == ["0", "0", "0"], report[:2000]
    assert "not compared" not in report
    # The warehouse says its tests failed, as one dbt build would (it said `built`).
    assert pr_build_state(clone) == "failed"


def pr_build_state(clone: Path) -> str:
    """meta.build_state of the pull request's warehouse that `make data-diff` left in CLONE."""
    db = clone / "target" / "test" / "warehouse.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select state from meta.build_state").fetchone()[0]


@pytest.mark.whole_commands  # make test-whole-commands, not make test (its time)
def test_data_diff_names_the_marts_the_pull_requests_failed_build_did_not_build(
    tmp_path, clean_data, clean_build
):
    # A model that fails: it and the models after it are not built, and the report said
    # "Only in the base warehouse: the change removed or renamed it, or ..." for each.
    assert clean_build.ok, clean_build.failure_summary()
    clone = clean_clone(tmp_path / "clone")
    (model,) = clone.glob("models/**/mart_lock_in.sql")  # a mart no model reads
    model.write_text("select 1 as broken\n")  # not the columns of its contract
    base = shutil.copy(clean_build.db_path, tmp_path / "base.duckdb")
    run = data_diff(clone, f"BASE_DB={base}", data=shutil.copytree(clean_data, tmp_path / "data"))
    assert run.returncode == 2, run.stdout[-3000:] + run.stderr[-3000:]
    # dbt's error is in the output.
    errors = [line for line in run.stdout.splitlines() if "ERROR creating" in line]
    assert len(errors) == 1 and "model marts.mart_lock_in" in errors[0], run.stdout[-3000:]
    assert (
        "make data-diff: the pull request's dbt build failed (its output above): the report "
        "names the marts it did not build, which are not compared; its tests were not run"
        in run.stderr.splitlines()
    ), run.stderr
    report = (clone / "target" / "data-diff.md").read_text()
    assert "its dbt build FAILED, see the job's log" in report.splitlines()[2], report[:600]
    from test_diff import summary_row

    marts = len(re.findall(r"^\| \w+ \| (?:[\d,]+|—|not built) → ", report, re.M))
    assert (
        f"**1 of {marts} marts not compared: the PR warehouse lacks them and its last dbt build "
        "did not complete** (meta.build_state `failed`): `mart_lock_in`."
    ) in report.splitlines(), report[:2000]
    assert summary_row(report, "mart_lock_in")[1].endswith(" → not built"), report[:2000]
    assert f"**No differences** in the {marts - 1} marts compared." in report, report[:2000]
    assert run.stdout.count("Running with dbt=") == 1  # the tests were not run
    assert pr_build_state(clone) == "failed"  # dbt's hook recorded it


@pytest.mark.whole_commands  # make test-whole-commands, not make test (its time)
def test_data_diff_says_when_the_base_side_fails_to_build(tmp_path, clean_data):
    # The base is built with this checkout's .venv and loader, so it can fail where its own
    # CI passed. dbt's error named `models/...` like the pull request's own files and the
    # job ended with make's "Error 1": it read as the pull request's failure.
    clone = clean_clone(tmp_path / "clone")
    broken = clone / "models" / "broken.sql"
    broken.write_text("select {{ 1 \n")  # the base cannot be parsed
    subprocess.run(["git", "add", "models/broken.sql"], cwd=clone, check=True)
    commit = ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "-qm", "1"]
    subprocess.run(commit, cwd=clone, check=True)
    broken.unlink()  # the pull request (the working tree) builds
    run = data_diff(clone, "BASE_REF=HEAD", data=shutil.copytree(clean_data, tmp_path / "data"))
    assert run.returncode == 2, run.stdout[-3000:] + run.stderr[-3000:]
    assert "models/broken.sql" in run.stdout + run.stderr  # dbt's error is in the output
    assert (
        "make data-diff: the BASE side (HEAD) failed to build (its output above; its models/ "
        "are those of target/data-diff/base), not the pull request's. It is built with this "
        "checkout's .venv and retention load: a change to those can break it; then compare "
        "with a warehouse built from the base branch (BASE_DB=FILE)" in run.stderr.splitlines()
    ), run.stderr[-3000:]
    assert not (clone / "target" / "data-diff.md").exists()


def test_each_dbt_build_of_the_data_diff_parses_its_project_in_full(data_diff_recipe):
    # The pull request's build (make build-test) reused target/partial_parse.msgpack, which
    # after a branch switch belongs to another branch's code (the failure: test_data_diff_
    # after_a_branch_switch_builds_the_pull_request); both builds say --no-partial-parse.
    builds = re.findall(r"\.venv/bin/dbt build[^;\n]*", data_diff_recipe)
    assert len(builds) == 2, data_diff_recipe  # the pull request's, the base's
    assert all("--no-partial-parse" in build for build in builds), builds


@pytest.mark.whole_commands  # make test-whole-commands: a parse and a build end to end
def test_data_diff_after_a_branch_switch_builds_the_pull_request(tmp_path, clean_data, clean_build):
    # After a branch that added a model with a unit test, the checkout's target/ kept that
    # branch's partial parse; back on the base branch, the pull request's build stopped with
    # "Unable to find model 'retention.mart_switch' for unit test ..." and make data-diff
    # with "the pull request's dbt build built no mart". Only a real dbt parse can leave such
    # a file, and only the build shows that it is not read, hence a whole command.
    assert clean_build.ok, clean_build.failure_summary()
    clone = clean_clone(tmp_path / "clone")
    git_commit(clone, "the base branch")
    models = clone / "models" / "marts" / "retention"
    (models / "mart_switch.sql").write_text("select customer_id from {{ ref('dim_customers') }}\n")
    entries = models / "_retention__models.yml"
    text = entries.read_text(encoding="utf-8")
    assert text.count("\nmodels:\n") == 1 and text.count("\nunit_tests:\n") == 1
    text = text.replace("\nmodels:\n", "\nmodels:\n  - name: mart_switch\n")
    text = text.replace(
        "\nunit_tests:\n",
        "\nunit_tests:\n  - name: mart_switch_keeps_ids\n    model: mart_switch\n"
        "    given: [{input: ref('dim_customers'), rows: [{customer_id: c1}]}]\n"
        "    expect: {rows: [{customer_id: c1}]}\n",
    )
    entries.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "MAKE"))}
    env |= {"DBT_PROFILES_DIR": str(clone), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    # The path the data diff's build gives: dbt parses again in full for another profile.
    env["RETENTION_DB_PATH"] = str(clone.resolve() / "target" / "test" / "warehouse.duckdb")
    parse = [str(VENV_BIN / "dbt"), "parse", "--quiet"]
    run = subprocess.run(parse, cwd=clone, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    # Back on the base branch: the model and its unit test are gone, the parse file stays.
    subprocess.run(["git", "checkout", "-q", "--", "models"], cwd=clone, check=True)
    (models / "mart_switch.sql").unlink()
    assert b"mart_switch_keeps_ids" in (clone / "target" / "partial_parse.msgpack").read_bytes()
    base = shutil.copy(clean_build.db_path, tmp_path / "base.duckdb")  # the same data, built
    run = data_diff(clone, f"BASE_DB={base}", data=shutil.copytree(clean_data, tmp_path / "d"))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Unable to find model" not in run.stdout
    report = (clone / "target" / "data-diff.md").read_text()
    assert "**No differences**" in report, report[:2000]  # the same code on both sides
    assert pr_build_state(clone) == "built"  # its tests passed


def test_make_in_a_checkout_whose_path_has_a_space_says_so_in_one_line(tmp_path):
    # make split the path: `make setup` ran `python3 -m venv .tools` three times and uv
    # under a broken-up path; every target with $(CURDIR) in a recipe went wrong likewise.
    checkout = tmp_path / "my projects" / "retention"
    checkout.mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "Makefile", checkout / "Makefile")
    run = make(checkout, "-n", "setup")
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stdout == ""
    assert run.stderr.endswith(
        f"*** the checkout's path has a space ({checkout}), which make cannot handle: clone "
        "or move it to a path without spaces.  Stop.\n"
    ), run.stderr


@pytest.mark.parametrize("linked", [True, False])
def test_make_never_syncs_a_linked_venv_from_another_checkout(tmp_path, linked):
    # The tests' clones link the repository's .venv. A sub-make (data-diff's build-test)
    # got no `-o .venv/.synced` from the test: with uv.lock newer than the stamp, `make
    # setup` in a clone ran `uv sync` through the link and pointed the venv's editable
    # install at the clone.
    owner, checkout = tmp_path / "owner", tmp_path / "checkout"
    (owner / ".venv").mkdir(parents=True)
    (owner / ".venv" / ".synced").touch()
    checkout.mkdir()
    for name in ("Makefile", "pyproject.toml", "uv.lock"):
        shutil.copy2(REPO_ROOT / name, checkout / name)  # copied now: newer than the stamp
    if linked:
        (checkout / ".venv").symlink_to(owner / ".venv")
    else:
        shutil.copytree(owner / ".venv", checkout / ".venv")
    os.utime(checkout / ".venv" / ".synced", (0, 0))
    run = make(checkout, "-n", "setup")
    assert run.returncode == 0, run.stdout + run.stderr
    # A checkout's own .venv is synced when the lock is newer; a linked one never.
    assert ("sync --frozen" in run.stdout) is not linked, run.stdout
    # Nor are the dashboard's and Spark's groups (make dashboard-setup and setup-spark synced
    # them through the link, with no uv bootstrapped): a linked one says where to run them.
    for target, group in (("dashboard-setup", "dashboard"), ("setup-spark", "spark")):
        run = make(checkout, "-n", target)
        assert run.returncode == 0, run.stdout + run.stderr
        assert (f"--group {group}" in run.stdout) is not linked, run.stdout
        assert (f"run make {target} in that checkout" in run.stdout) is linked, run.stdout
        assert ("touch .venv/.synced-spark" in run.stdout) is (group == "spark" and not linked)


def test_git_ignores_a_linked_venv(tmp_path):
    # `.venv/` matched only a folder: in a clone whose .venv links another checkout's, git
    # listed `?? .venv`, and the data diff's label said "with uncommitted changes".
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copy2(REPO_ROOT / ".gitignore", tmp_path / ".gitignore")
    (tmp_path / ".venv").symlink_to(VENV_BIN.parent)
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=tmp_path, capture_output=True, text=True
    )
    assert status.stdout.splitlines() == ["?? .gitignore"]


@pytest.mark.parametrize("changed", ["retention/generate/orders.py", "retention/contract.py"])
def test_the_demo_data_is_generated_again_after_the_generator_changed(tmp_path, changed):
    # The stamp had no prerequisite: after a pull that changed the generator, `make demo`,
    # `make build-test` and the data diff went on using the data of the old generator.
    checkout = tmp_path / "checkout"
    for name in ("Makefile", "pyproject.toml", "uv.lock", "retention/contract.py"):
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, checkout / name)
    shutil.copytree(REPO_ROOT / "retention" / "generate", checkout / "retention" / "generate")
    (checkout / ".venv").symlink_to(VENV_BIN.parent)  # linked: taken as set up
    stamp = checkout / "data" / "demo" / ".generated"
    stamp.parent.mkdir(parents=True)
    stamp.touch()
    for source in [checkout / "retention" / "contract.py"] + sorted(
        (checkout / "retention" / "generate").glob("*.py")
    ):
        os.utime(source, (0, 0))  # every source older than the data

    def dry_run() -> str:
        run = make(checkout, "-n", "data/demo/.generated")
        assert run.returncode == 0, run.stdout + run.stderr
        return run.stdout

    assert "retention generate" not in dry_run()  # the data is newer than the generator
    (checkout / changed).touch()  # now newer than the data
    assert "retention generate --out data/demo" in dry_run()


@pytest.mark.parametrize("data", [None, "elsewhere"])
def test_build_spark_generates_the_demo_data_only_when_it_builds_it(tmp_path, data):
    # `make build-spark DATA=DIR` generated the demo data first (a minute), then loaded DIR.
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ("Makefile", "pyproject.toml", "uv.lock"):
        shutil.copy2(REPO_ROOT / name, checkout / name)
    shutil.copytree(REPO_ROOT / "retention", checkout / "retention")  # the generator's sources
    (checkout / ".venv").symlink_to(VENV_BIN.parent)  # linked: taken as set up
    args = ["-n", "build-spark"] + ([f"DATA={tmp_path / data}"] if data else [])
    run = make(checkout, *args)
    assert run.returncode == 0, run.stdout + run.stderr
    assert ("retention generate" in run.stdout) is (data is None), run.stdout
    loaded = tmp_path / data if data else "data/demo"
    assert f"retention load {loaded} --db" in run.stdout, run.stdout


@pytest.mark.whole_commands  # make test-whole-commands, not make test (its time)
def test_the_conventions_hook_runs_when_a_commit_only_deletes_a_model(tmp_path):
    # pre-commit never hands a hook a deleted file: a commit removing a model that others
    # refer to skipped `make conventions` ("no files to check") and broke the project.
    clone = clean_clone(tmp_path / "clone")
    home = tmp_path / "pre-commit-home"
    others = "ruff-check,ruff-format,sqlfluff-lint,check-yaml"
    commit = ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "-qm", "1"]
    subprocess.run(commit, cwd=clone, check=True)
    # A deleted file dbt does not read: nothing to check, and nothing run.
    subprocess.run(["git", "rm", "-q", "docs/glossary.md"], cwd=clone, check=True)
    run = pre_commit(clone, home, skip=others)
    assert run.returncode == 0, run.stdout + run.stderr
    assert hook_line(run.stdout, "dbt-bouncer and dbt-score (make conventions)").endswith("Passed")
    assert "dbt parse" not in run.stdout
    # A deleted model that other models refer to: the hook parses the project and fails.
    (model,) = clone.glob("models/**/int_reporting_params.sql")
    subprocess.run(["git", "rm", "-q", str(model.relative_to(clone))], cwd=clone, check=True)
    run = pre_commit(clone, home, skip=others)
    assert run.returncode == 1, run.stdout + run.stderr
    line = hook_line(run.stdout, "dbt-bouncer and dbt-score (make conventions)")
    assert line.endswith("Failed"), run.stdout
    assert "int_reporting_params" in run.stdout, run.stdout


def test_the_conventions_hook_checks_the_tracked_files_and_no_untracked_one(tmp_path, monkeypatch):
    # pre-commit sets a commit's unstaged changes aside, not its untracked files, and the
    # hook ran `make conventions` in the working tree: an untracked scratch model failed a
    # commit without it, and a model removed from git only (`git rm --cached`) still passed.
    from retention import conventions_hook

    repo = tmp_path / "repo"

    def write(name: str, text: str) -> None:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)

    write(".pre-commit-config.yaml", PRE_COMMIT_CONFIG.read_text(encoding="utf-8"))
    write(".gitignore", "/target/\n")
    write("models/a.sql", "select 1 as a\n")
    write("models/b.sql", "select a from {{ ref('a') }}\n")
    (repo / ".venv").mkdir()  # the checkout's own, linked into a copy
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / ".git" / "info" / "exclude").write_text(".venv\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    git_commit(repo, "1")
    write("target/run.sql", "ignored, outside the files dbt reads\n")
    checked: list[tuple[bool, list[str]]] = []

    def conventions(checkout: Path) -> int:
        models = sorted(p.name for p in (checkout / "models").iterdir())
        checked.append((checkout.resolve() == repo.resolve(), models))
        assert (checkout / ".venv").resolve() == (repo / ".venv").resolve()
        return 0

    monkeypatch.setattr(conventions_hook, "conventions", conventions)
    monkeypatch.chdir(repo)
    write("models/b.sql", "select a as b from {{ ref('a') }}\n")  # the change committed
    assert conventions_hook.main(["models/b.sql"]) == 0
    assert checked.pop() == (True, ["a.sql", "b.sql"])  # nothing left out: in place
    write("models/scratch.sql", "select 1 as x\n")  # untracked
    assert conventions_hook.main(["models/b.sql"]) == 0
    assert checked.pop() == (False, ["a.sql", "b.sql"])  # a copy, without the scratch file
    subprocess.run(["git", "rm", "-q", "--cached", "models/a.sql"], cwd=repo, check=True)
    assert conventions_hook.main([]) == 0  # the staged deletion, still on disk
    assert checked.pop() == (False, ["b.sql"])


@pytest.mark.whole_commands  # make test-whole-commands, not make test (its time)
def test_the_conventions_hook_judges_the_commit_not_the_untracked_files(tmp_path):
    clone = clean_clone(tmp_path / "clone")
    home = tmp_path / "pre-commit-home"
    others = "ruff-check,ruff-format,sqlfluff-lint,check-yaml"
    git_commit(clone, "1")
    hook = "dbt-bouncer and dbt-score (make conventions)"
    # An untracked scratch mart that breaks a convention (not in a domain folder), and a
    # commit of another model: the commit passes.
    (clone / "models" / "marts" / "misc").mkdir()
    (clone / "models" / "marts" / "misc" / "mart_x.sql").write_text("select 1 as one\n")
    (model,) = clone.glob("models/**/mart_lock_in.sql")
    model.write_text(model.read_text(encoding="utf-8") + "-- a comment\n", encoding="utf-8")
    subprocess.run(["git", "add", str(model.relative_to(clone))], cwd=clone, check=True)
    run = pre_commit(clone, home, "--verbose", skip=others)  # its output also when it passes
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert hook_line(run.stdout, hook).endswith("Passed")
    assert "left out of the check: models/marts/misc/" in run.stdout, run.stdout[-3000:]
    # A model removed from git but not from the disk, which other models refer to: fails.
    git_commit(clone, "2")
    (model,) = clone.glob("models/**/int_reporting_params.sql")
    subprocess.run(["git", "rm", "-q", "--cached", str(model.relative_to(clone))], cwd=clone)
    run = pre_commit(clone, home, skip=others)
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    assert hook_line(run.stdout, hook).endswith("Failed"), run.stdout[-3000:]
    assert "int_reporting_params" in run.stdout, run.stdout[-3000:]


@pytest.mark.whole_commands  # make test-whole-commands, not make test (its time)
def test_a_convention_that_fails_says_why_without_a_terminal(tmp_path):
    # Under pre-commit and in CI (no terminal) dbt-bouncer's table of failures was 80
    # columns wide: each failure's message, the reason and what to change, was cut to "…".
    clone = clean_clone(tmp_path / "clone")
    (clone / "models" / "marts" / "misc").mkdir()
    (clone / "models" / "marts" / "misc" / "mart_x.sql").write_text("select 1 as one\n")
    run = make(clone, "--no-print-directory", "conventions", drop=("DBT_", "MAKE", "COLUMNS"))
    assert run.returncode == 2, run.stdout[-3000:] + run.stderr[-3000:]
    out = " ".join(re.sub("[│╭╮╰╯─┬┴┼├┤]", " ", run.stdout + run.stderr).split())
    # dbt-bouncer.yml's description of the check, then dbt-bouncer's own words: whole
    assert (
        "Marts live in a domain folder. - `mart_x` is located in the `misc` sub-directory, "
        "this is not a valid sub-directory" in out
    ), out[-3000:]
