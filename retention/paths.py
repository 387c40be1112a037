"""Where things live: the repo root and the warehouse database file (and its `--db` option)."""

from __future__ import annotations

import argparse
import os
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
