"""Where things live: the repo root and the warehouse database file."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def default_db_path() -> Path:
    """The DuckDB file: ``RETENTION_DB_PATH`` or ``warehouse.duckdb`` at the repo root."""
    return Path(os.environ.get("RETENTION_DB_PATH", REPO_ROOT / "warehouse.duckdb"))
