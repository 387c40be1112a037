"""Where things live: the repo root and the warehouse database file (and its `--db` option)."""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

DB_HELP = (
    "the warehouse's DuckDB file (default: $RETENTION_DB_PATH, else warehouse.duckdb at the "
    "repo root)"
)


def default_db_path() -> Path:
    """The DuckDB file: ``RETENTION_DB_PATH`` or ``warehouse.duckdb`` at the repo root."""
    return Path(os.environ.get("RETENTION_DB_PATH", REPO_ROOT / "warehouse.duckdb"))


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    """``--db PATH``, the same in every command that reads or writes the warehouse."""
    parser.add_argument("--db", type=Path, default=None, metavar="PATH", help=DB_HELP)


def db_path(args: argparse.Namespace) -> Path:
    """The ``--db`` of `args`, or the default when it was not given (or `args` has none)."""
    given = getattr(args, "db", None)
    return Path(given) if given is not None else default_db_path()


def db_path_problem(args: argparse.Namespace, *, creates: bool = True) -> str | None:
    """Why the --db of `args` (or its default) cannot be a warehouse file, or None: a
    RETENTION_DB_PATH set but empty (an orchestrator's template whose variable was missing:
    Python reads it as the current folder), or a folder (`--db .`, `--db /srv/retention/`).
    `retention build` stopped on either with a ValueError traceback and exit 1. A file in a
    folder that does not exist is refused too: `load` and `build` created the folders and a
    new warehouse there, so a mistyped folder started again at batch 1 without a word (the
    history looked lost); DuckDB, like sqlite3 or a shell's `>`, creates no folders. Only
    a command that can start a warehouse (`creates`) suggests creating the folder: for one
    that only reads a warehouse, the missing folder means a wrong path."""
    if getattr(args, "db", None) is None and os.environ.get("RETENTION_DB_PATH") == "":
        return (
            "RETENTION_DB_PATH is set but empty: set it to the warehouse's DuckDB file, or "
            "unset it (warehouse.duckdb at the repo root); nothing was changed"
        )
    path = db_path(args)
    if problem := backslash_problem(path):
        return problem
    if path.is_dir() or path.name in ("", ".", ".."):
        return (
            f"database {path} is a folder, not a DuckDB file: check --db PATH (or "
            "RETENTION_DB_PATH), e.g. --db /srv/retention/warehouse.duckdb; nothing was changed"
        )
    folder = path.parent
    if folder.exists() and not folder.is_dir():
        return (
            f"database {path} is in {folder}, which is a file, not a folder: check --db PATH "
            "(or RETENTION_DB_PATH); nothing was changed"
        )
    if not folder.exists() and not creates:
        return (
            f"the folder {folder} of database {path} does not exist, so neither does the "
            "warehouse: check --db PATH (or RETENTION_DB_PATH); nothing was changed"
        )
    if not folder.exists():
        return (
            f"the folder {folder} of database {path} does not exist: check --db PATH (or "
            "RETENTION_DB_PATH); to start a new warehouse there, create the folder first "
            f"(mkdir -p {shlex.quote(str(folder))}); nothing was changed"
        )
    return None


def backslash_problem(path: Path | str) -> str | None:
    """Why a warehouse file's path with a backslash cannot be used here, or None. DuckDB
    (2.0) reads a backslash as a folder separator on every system, Python's checks (the
    file's name, whether it exists, the working copy beside it, its lock) only on Windows:
    `--db 'w\\x.duckdb'` opened w/x.duckdb while the checks looked at a file w\\x.duckdb
    in the current folder (a name check passed for `w\\raw.duckdb`)."""
    if os.sep == "\\" or "\\" not in str(path):
        return None
    opened = str(path).replace("\\", "/")
    return (
        f"the warehouse file {path} has a backslash in its path, which DuckDB reads as a "
        f"folder separator (it would open {opened}): write its folders with / and keep "
        "backslashes out of its name; nothing was changed"
    )


def database_name(path: Path | str) -> str:
    """DuckDB's name for the database in the file at path: the file's name up to its first
    dot (``warehouse.duckdb`` and ``warehouse.duckdb.work`` are both ``warehouse``)."""
    return Path(path).name.split(".", 1)[0]


def dbt_project() -> dict:
    """dbt_project.yml, read as YAML."""
    import yaml  # only when needed: `retention --help` stays fast

    return yaml.safe_load((REPO_ROOT / "dbt_project.yml").read_text(encoding="utf-8"))


def schema_names() -> list[str]:
    """The warehouse's schemas, sorted: every ``+schema`` of dbt_project.yml, the sources'
    schemas (``raw``), ``meta`` (the loader's and the build's records) and ``main`` (DuckDB's
    default, the target's). The dbt macro check_database_name derives the same list from
    dbt's graph."""
    import yaml  # only when a --db is checked: `retention --help` stays fast

    def schemas_in(config: object) -> set[str]:
        if isinstance(config, dict):
            found = {value for key, value in config.items() if key == "+schema"}
            return found.union(*(schemas_in(value) for value in config.values()))
        return set()

    names = schemas_in(dbt_project()) | {"meta", "main"}
    for sources_file in (REPO_ROOT / "models").rglob("_*__sources.yml"):
        for source in yaml.safe_load(sources_file.read_text(encoding="utf-8"))["sources"]:
            names.add(source["schema"])
    return sorted(name.lower() for name in names)


def db_name_problem(path: Path | str) -> str | None:
    """Why the warehouse cannot live in the file at path, or None. DuckDB names a database
    after its file, and a database named like one of its schemas (``raw.duckdb``,
    ``marts.duckdb``) makes ``schema.table`` ambiguous: loading fails with a binder error,
    dbt finds no raw table, BI tools cannot read ``marts.<mart>``."""
    name = database_name(path)
    taken = schema_names()
    if name.lower() not in taken:
        return None
    return (
        f"the warehouse file {path} makes a database named '{name}', the name of one of its "
        f"schemas, so names like {name.lower()}.<table> would be ambiguous to DuckDB (it names "
        "a database after its file, up to the first dot). Name the file otherwise, e.g. "
        "warehouse.duckdb. The names a warehouse file may not have (up to its first dot, in "
        f"any case): {', '.join(taken)}"
    )
