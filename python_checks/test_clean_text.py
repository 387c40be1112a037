"""clean_text, the trim every raw text value goes through, against its definition.

Its DuckDB implementation (macros/parsing.sql) skips trim() for a value that starts and ends
with a printable ASCII character other than a space, because trim would return it
unchanged. That holds only if trim never removes such a character, which depends on DuckDB's
trim: it removes spaces, Unicode ones too (U+00A0, U+2000..U+200A, U+3000, ...). This module
compiles the macro with dbt and compares it with nullif(trim(x), '') for every Unicode code
point at the start, at the end, at both ends and alone, so that a DuckDB whose trim removes
more (or a change to the shortcut) fails here instead of staging a different value.
"""

from __future__ import annotations

import duckdb
import pytest
from pipeline import compile_expression

DEFINITION = "nullif(trim(x), '')"

# Every Unicode scalar value (the surrogates U+D800..U+DFFF are not characters).
CODE_POINTS = "select i::int as i from range(1, 1114112) t(i) where i not between 55296 and 57343"

PLACES = {
    "alone": "chr(i)",
    "first": "chr(i) || 'a1'",
    "last": "'a1' || chr(i)",
    "both ends": "chr(i) || 'a1' || chr(i)",
    "inside": "'a' || chr(i) || '1'",
}


@pytest.fixture(scope="module")
def clean_text_sql(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The macro compiled for the default (DuckDB) target, applied to a column x."""
    return compile_expression("clean_text('x')", tmp_path_factory.mktemp("clean_text"))


def test_compiled_clean_text_is_the_shortcut(clean_text_sql: str) -> None:
    # Else the comparisons below would compare trim with itself.
    assert "ascii(" in clean_text_sql and "trim(" in clean_text_sql


@pytest.mark.parametrize("place", PLACES)
def test_clean_text_equals_trim_for_every_code_point(clean_text_sql: str, place: str) -> None:
    con = duckdb.connect()
    differences = con.execute(
        f"""
        select i, x, {clean_text_sql} as clean_text, {DEFINITION} as definition
        from (select i, {PLACES[place]} as x from ({CODE_POINTS}))
        where ({clean_text_sql}) is distinct from ({DEFINITION})
        limit 5
        """
    ).fetchall()
    assert differences == []


def test_clean_text_of_blank_and_null(clean_text_sql: str) -> None:
    con = duckdb.connect()
    values = ["", " ", "\u00a0", " \u3000 ", None, " a1 ", "\u00a0a1", "a 1"]
    got = [
        con.execute(f"select {clean_text_sql} from (select ?::varchar as x)", [v]).fetchone()[0]
        for v in values
    ]
    # Blank (any mix of spaces, Unicode ones too) and null are null; the ends are trimmed,
    # an inner space is kept.
    assert got == [None, None, None, None, None, "a1", "a1", "a 1"]
