"""The pre-commit hook `conventions` (.pre-commit-config.yaml): `make conventions` when the
commit changes a file dbt reads, deleted files included, on the files the commit holds.

pre-commit hands a hook the staged files that match its `files` pattern, but never a deleted
one: a commit that only removed a model (and so broke every model that refers to it) passed
unchecked. The hook therefore runs on every commit (`always_run`) with the matching files
pre-commit gives it, and this module adds the staged deletions that match the same pattern,
read from the hook's own entry in the config (the one list of the files dbt reads). With
neither, it does nothing.

What it checks is the project git tracks, not the working tree. At a commit pre-commit sets
the unstaged changes of tracked files aside before the hooks run, so those files read as
staged; it leaves untracked (and ignored) files where they are, and `make conventions` in the
working tree parsed them too: an untracked scratch model failed a commit that did not hold
it, and a commit that removed a model from git but not from the disk (`git rm --cached`), or
that refers to a model not yet added, passed. When such a file matches the pattern, the
checks run on a copy of the tracked files instead (in a temporary folder: a full dbt parse,
about 8 CPU s more than the partial parse the working tree's target/lint keeps), and the
hook names the files it left out. With `--all-files` or `--files` pre-commit sets nothing
aside, and the tracked files are checked as the working tree has them, as every hook does.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

CONFIG = Path(".pre-commit-config.yaml")  # pre-commit runs a hook at the repository's root
HOOK_ID = "conventions"


def files_pattern() -> re.Pattern[str]:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    (hook,) = [hook for hook in hooks if hook["id"] == HOOK_ID]
    return re.compile(hook["files"])


def _git_files(*options: str) -> list[str]:
    listed = subprocess.run(
        ["git", *options, "-z"], capture_output=True, check=True
    ).stdout.decode()
    return [name for name in listed.split("\0") if name]


def staged_deletions() -> list[str]:
    return _git_files("diff", "--cached", "--name-only", "--diff-filter=D")


def not_tracked() -> list[str]:
    """The working tree's files (ignored ones too) that git does not track; a folder holding
    only such files is named once, with a trailing slash."""
    return _git_files("ls-files", "--others", "--directory")


def tracked_copy(folder: Path) -> Path:
    """The tracked files, as the working tree has them, copied into folder, with this
    checkout's .venv linked in (the Makefile then takes it as set up)."""
    for name in _git_files("ls-files"):
        source = Path(name)
        if source.is_file() or source.is_symlink():  # not a deleted file, nor a submodule
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name, follow_symlinks=False)
    (folder / ".venv").symlink_to(Path(".venv").resolve())
    return folder


def conventions(checkout: Path) -> int:
    return subprocess.run(
        ["make", "--no-print-directory", "conventions"], cwd=checkout, check=False
    ).returncode


def main(files: list[str]) -> int:
    pattern = files_pattern()
    deleted = [name for name in staged_deletions() if pattern.search(name)]
    if not files and not deleted:
        return 0
    if deleted:
        print(f"deleted: {', '.join(deleted)}", flush=True)
    left_out = [name for name in not_tracked() if pattern.search(name)]
    if not left_out:
        return conventions(Path.cwd())
    print(f"not tracked, so left out of the check: {', '.join(left_out)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="conventions-") as folder:
        return conventions(tracked_copy(Path(folder)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
