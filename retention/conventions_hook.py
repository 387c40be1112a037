"""The pre-commit hook `conventions` (.pre-commit-config.yaml): `make conventions` when the
commit changes a file dbt reads, deleted files included.

pre-commit hands a hook the staged files that match its `files` pattern, but never a deleted
one: a commit that only removed a model (and so broke every model that refers to it) passed
unchecked. The hook therefore runs on every commit (`always_run`) with the matching files
pre-commit gives it, and this module adds the staged deletions that match the same pattern,
read from the hook's own entry in the config (the one list of the files dbt reads). With
neither, it does nothing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

CONFIG = Path(".pre-commit-config.yaml")  # pre-commit runs a hook at the repository's root
HOOK_ID = "conventions"


def files_pattern() -> re.Pattern[str]:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    (hook,) = [hook for hook in hooks if hook["id"] == HOOK_ID]
    return re.compile(hook["files"])


def staged_deletions() -> list[str]:
    listed = subprocess.run(
        ["git", "diff", "--cached", "--name-only", "--diff-filter=D", "-z"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name]


def main(files: list[str]) -> int:
    pattern = files_pattern()
    deleted = [name for name in staged_deletions() if pattern.search(name)]
    if not files and not deleted:
        return 0
    if deleted:
        print(f"deleted: {', '.join(deleted)}", flush=True)
    return subprocess.run(["make", "--no-print-directory", "conventions"], check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
