"""`make data-diff`'s helpers (README "CI").

`python -m retention.data_diff label REF` prints what the report calls the base revision
REF (a git revision of the working directory's repository): a branch, tag or expression
with the commit it resolves to ("origin/main at 521f0b0", "HEAD~1 at 0fefef0"), a commit
hash as that commit's short hash alone ("521f0b0"; it read "521f0b0 at 521f0b0").
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXIT_USAGE = 2


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


def main(argv: list[str]) -> int:
    match argv:
        case ["label", ref]:
            print(base_label(ref))
        case _:
            print("usage: python -m retention.data_diff label REF", file=sys.stderr)
            return EXIT_USAGE
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
