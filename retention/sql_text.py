"""SQL text built in Python: literals, identifiers, and file paths DuckDB reads literally.

Used by the loader (retention/load.py, load_files.py, load_rows.py) and by every module that
names a DuckDB object or file in SQL (bench, diff, publish, spark, validate, working_copy).
Values that can be bound as parameters (`?`) are bound; these are for the parts of a
statement that cannot be: a column's name, a file path given to a table function, a
constant in generated SQL.
"""

from __future__ import annotations

from pathlib import Path

# Characters DuckDB's file readers treat as a glob pattern in a path.
GLOB_CHARACTERS = "*?["


def path_literal(path: Path) -> str:
    """A file path as a SQL literal that DuckDB's readers take literally: its glob characters
    are escaped as one-character classes (`d*` -> `d[*]`), so a folder named `d*` or
    `data[12]` never reads other folders' files."""
    text = str(path.absolute())
    return sql_literal("".join(f"[{c}]" if c in GLOB_CHARACTERS else c for c in text))


def ident(name: str) -> str:
    """A name as a double-quoted SQL identifier (a column named `order` or `a"b`)."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: object) -> str:
    """A value's text as a single-quoted SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"
