"""dbt's partial parse, never reused once a YAML file changed: one check before every dbt run
of the Makefile and of this package (docs/decisions.md, "A partial parse is reused only...").

dbt keeps its last parse in `<target>/partial_parse.msgpack` and parses again only the files
that changed since. dbt 1.11 gets some YAML changes wrong there, with no error:

- one edit of a `_<folder>__models.yml` that changes a model's entry and removes one of its
  unit tests keeps the unit test (`make lint` passed a mart left without one; putting it
  back then stops with "dbt found two unit_tests with the name ...");
- after a switch to a branch without a model that has unit tests (or a semantic model) they
  stay, and dbt stops with "Unable to find model 'retention.<model>' for unit test ...".

So before a dbt run, `fresh` removes the parse file unless the key beside it
(`partial_parse.key`) names both the YAML dbt reads as it is now (the paths and contents of
the YAML files under the project's folders, and of the project's own YAML files) and this
very parse file (its SHA-256); after the run it writes the key for the file the run left,
unless a YAML file changed meanwhile. A dbt run outside these commands that rewrote the file
(a plain `dbt build` while working on one model) may have applied a YAML change itself: its
file has no key, and the next run here parses in full. A change of SQL alone keeps the
parse (dbt parses it right).

`python -m retention.partial_parse COMMAND...` runs COMMAND (a dbt command, or sqlfluff
with the dbt templater) between the two steps and exits with its code: the Makefile's way;
retention/dbt_runner.py, `retention build` and `retention bench` use `fresh`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

PARSE_FILE = "partial_parse.msgpack"
KEY_FILE = "partial_parse.key"
# The folders dbt reads and the project's own files (dbt_project.yml: dbt checks it itself,
# and it is YAML like the rest; this project sets no `target-path` in it).
PROJECT_FOLDERS = ("analyses", "dbt_packages", "macros", "models", "seeds", "snapshots", "tests")
PROJECT_FILES = ("dbt_project.yml", "packages.yml", "profiles.yml")
YAML_SUFFIXES = (".yml", ".yaml")


def yaml_key(project: Path) -> str:
    """SHA-256 of the YAML dbt reads: each file's path (relative to project) and contents."""
    digest = hashlib.sha256()
    paths = [project / name for name in PROJECT_FILES]
    for folder in PROJECT_FOLDERS:
        for root, dirs, files in os.walk(project / folder):
            dirs.sort()
            paths += [Path(root) / f for f in sorted(files) if f.endswith(YAML_SUFFIXES)]
    for path in paths:
        if path.is_file():
            digest.update(f"{path.relative_to(project).as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _file_key(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def forget_stale(target: Path, project: Path) -> str:
    """Remove target's parse file unless its key names the project's YAML as it is and this
    file; the YAML's key, for `vouch` after the run."""
    yaml = yaml_key(project)
    parse_file = target / PARSE_FILE
    if parse_file.exists():
        try:
            kept = json.loads((target / KEY_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            kept = None
        if kept != {"yaml": yaml, "parse_file": _file_key(parse_file)}:
            parse_file.unlink(missing_ok=True)
    return yaml


def vouch(target: Path, project: Path, yaml: str) -> None:
    """After a run that began with `forget_stale` (which returned `yaml`): the key for the
    parse file the run left, when the YAML is still what it was (else no key)."""
    key_file, parse_file = target / KEY_FILE, target / PARSE_FILE
    if not parse_file.exists() or yaml_key(project) != yaml:
        key_file.unlink(missing_ok=True)
        return
    text = json.dumps({"yaml": yaml, "parse_file": _file_key(parse_file)})
    partial = key_file.with_name(f".{KEY_FILE}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(key_file)


def paths(
    command: Sequence[str], env: Mapping[str, str], cwd: Path | None = None
) -> tuple[Path, Path]:
    """(target, project) of the dbt command line COMMAND run with ENV in CWD, as dbt takes
    them: --project-dir, else DBT_PROJECT_DIR, else CWD; --target-path, else DBT_TARGET_PATH,
    else `target`, relative to the project."""
    project = Path(cwd or Path.cwd()) / (
        _option(command, "--project-dir") or env.get("DBT_PROJECT_DIR") or "."
    )
    target = project / (_option(command, "--target-path") or env.get("DBT_TARGET_PATH") or "target")
    return target, project


def _option(command: Sequence[str], name: str) -> str | None:
    for index, arg in enumerate(command):
        if arg == name and index + 1 < len(command):
            return command[index + 1]
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
    return None


@contextmanager
def fresh(
    command: Sequence[str], env: Mapping[str, str], cwd: Path | None = None
) -> Iterator[None]:
    """Around a run of COMMAND (with ENV, in CWD): a parse file reused only when no YAML
    changed since a run here left it; the key written for the file this run leaves (not
    when the run raised: then the next run parses in full)."""
    target, project = paths(command, env, cwd)
    yaml = forget_stale(target, project)
    yield
    vouch(target, project, yaml)


def main(argv: Sequence[str] | None = None) -> int:
    command = list(sys.argv[1:] if argv is None else argv)
    if not command:
        print("usage: python -m retention.partial_parse COMMAND [ARG...]", file=sys.stderr)
        return 2
    try:
        with fresh(command, os.environ):
            process = subprocess.Popen(command)
            try:
                code = process.wait()
            except KeyboardInterrupt:  # the terminal sent the command the same Ctrl-C
                process.wait()
                raise
    except KeyboardInterrupt:
        return 130
    return code if code >= 0 else 128 - code  # killed by a signal: as a shell says it


if __name__ == "__main__":
    sys.exit(main())
