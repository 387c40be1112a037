"""`make data-diff`'s helpers (docs/ci.md).

`python -m retention.data_diff label REF` prints what the report calls the base revision
REF (a git revision of the working directory's repository): a branch, tag or expression
with the commit it resolves to ("origin/main at 521f0b0", "HEAD~1 at 0fefef0"), a commit
hash as that commit's short hash alone ("521f0b0"; it read "521f0b0 at 521f0b0").

`python -m retention.data_diff base-db FILE` checks a BASE_DB before anything is built: a
warehouse holding marts whose last dbt build completed (meta.build_state neither `failed`
nor `building`): a build that failed a unit test, a test or a model skipped the marts after
it, which the report could not compare. It says why in one line on stderr and exits 2
otherwise (a missing file too, found before the pull request's build rather than after).

`python -m retention.data_diff tests-failed FILE` records in the pull request's warehouse
that its tests failed: meta.build_state `failed`, the state one `dbt build` whose tests fail
leaves, with `failed_step` `tests` (its models were all built, which one such `dbt build`
does not promise). The data diff builds the models first with the tests left out, which
records `built`, and then runs `dbt test`, which records no state: without this step a
warehouse whose tests failed would read as a good build to whatever reads it next
(`retention diff`, `retention summary`, `retention publish`, a BASE_DB check).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from retention.diff import UNFINISHED_STATES, marts_and_state
from retention.load import mark_build_state
from retention.marts import TESTS_FAILED, WarehouseError

EXIT_USAGE = 2
EXIT_REFUSED = 2


def _git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


def base_label(ref: str, cwd: Path | None = None) -> str:
    """The report's name for the base revision `ref`: "REF at SHORT" for a branch, tag or
    other expression, SHORT alone for a commit hash (full or abbreviated, in either case).

    `ref` is taken as a hash when git names no ref by it (`rev-parse --symbolic-full-name`
    prints nothing, so a branch named like hex stays a name) and the commit it resolves to
    starts with it (`HEAD~1` names no ref either, but no hash starts with it)."""
    commit = f"{ref}^{{commit}}"
    full = _git("rev-parse", "--verify", "--quiet", commit, cwd=cwd)
    short = _git("rev-parse", "--short", commit, cwd=cwd)
    names_a_ref = _git("rev-parse", "--symbolic-full-name", ref, cwd=cwd)
    if not names_a_ref and full.startswith(ref.lower()):
        return short
    return f"{ref} at {short}"


def check_base_db(path: str) -> None:
    """WarehouseError saying why the warehouse at `path` cannot be the data diff's base."""
    _, recorded = marts_and_state(Path(path), "BASE_DB")
    state = recorded.state
    if state in UNFINISHED_STATES:
        raise WarehouseError(
            f"BASE_DB {path}: its last dbt build did not complete or its tests failed "
            f"(meta.build_state: {state}), so its marts may be missing or not those of its "
            "data: rebuild it, or leave BASE_DB out to build BASE_REF"
        )


def record_failed_tests(path: str) -> None:
    """meta.build_state `failed`, failed_step `tests`, in the warehouse at `path`, whose
    models were built and whose tests then failed (the stored vars stay those of the
    models' build)."""
    with duckdb.connect(path) as con:
        mark_build_state(con, "failed", TESTS_FAILED)


def main(argv: list[str]) -> int:
    match argv:
        case ["label", ref]:
            print(base_label(ref))
        case ["base-db", path]:
            try:
                check_base_db(path)
            except WarehouseError as exc:
                print(f"make data-diff: {exc}", file=sys.stderr)
                return EXIT_REFUSED
        case ["tests-failed", path]:
            record_failed_tests(path)
        case _:
            print(
                "usage: python -m retention.data_diff label REF | base-db FILE | tests-failed FILE",
                file=sys.stderr,
            )
            return EXIT_USAGE
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
