"""parse_timestamp and the other parses of macros/parsing.sql on DuckDB, value by value.

The timestamp form (text_patterns, key 'timestamp') decides what staging reads; DuckDB's
cast reads more: an offset +99:00 as 99 hours, +05:99 as 5 hours 99 minutes, a time 24:00
as the next midnight, each a shifted instant instead of a quarantined row. The form refuses
them (hours 00-23, minutes and seconds 00-59; offsets with hours 00-14 and minutes 00-59),
so the parse is null and the base model quarantines the row. The expected instants are
worked out by hand (UTC = local time minus the offset). The same values are staged on
Spark by python_checks_spark/test_parsing_parity.py.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from pipeline import compile_expression

T = dt.datetime

# text -> the UTC instant staging reads (the form accepts the text).
READ = {
    "2024-03-31T10:00:00+14:00": T(2024, 3, 30, 20, 0),
    "2024-03-31T10:00:00-12:00": T(2024, 3, 31, 22, 0),
    "2024-03-31T10:00:00-14:00": T(2024, 4, 1, 0, 0),
    "2024-03-31T10:00:00+14:59": T(2024, 3, 30, 19, 1),
    "2024-03-31T23:59:59+05:30": T(2024, 3, 31, 18, 29, 59),
    "2024-03-31T00:00:00+00:59": T(2024, 3, 30, 23, 1),
    "2024-03-31T10:00Z": T(2024, 3, 31, 10, 0),
    "2024-03-31T10:00+02:00": T(2024, 3, 31, 8, 0),
    "2024-03-31 10:00+0530": T(2024, 3, 31, 4, 30),
    "2024-03-31T10:00-03": T(2024, 3, 31, 13, 0),
    "2024-03-31T23:59": T(2024, 3, 31, 23, 59),
    "2024-03-31T00:00:00": T(2024, 3, 31, 0, 0),
}

# Texts outside the form: null, whatever the cast would make of them.
REFUSED = [
    "2024-03-31T10:00:00+99:00",  # DuckDB's cast: 2024-03-27 07:00
    "2024-03-31T10:00:00+05:99",  # 2024-03-31 03:21
    "2024-03-31T10:00:00+24:00",  # a day earlier
    "2024-03-31T10:00:00+15:00",  # Spark's cast reads up to +18:00
    "2024-03-31T10:00:00+18:00",
    "2024-03-31T10:00:00-15:00",
    "2024-03-31T10:00:00+1500",
    "2024-03-31T10:00:00+0560",
    "2024-03-31T10:00:00+15",
    "2024-03-31T24:00:00",  # DuckDB's cast: the next midnight
    "2024-03-31T24:00",
    "2024-03-31T25:00:00",
    "2024-03-31T10:60:00",
    "2024-03-31T10:00:60",  # no leap second
    "2024-03-31T10:00:00\n",  # a line terminator is not trimmed
]


@pytest.fixture(scope="module")
def parse_sql(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("parsing")
    return {
        kind: compile_expression(f"parse_{kind}('x')", folder / kind)
        for kind in ("timestamp", "integer", "money", "date", "boolean")
    }


def parse(sql: str, value: str) -> object:
    con = duckdb.connect()
    con.execute("set timezone = 'UTC'")
    return con.execute(f"select {sql} from (select ?::varchar as x)", [value]).fetchone()[0]


@pytest.mark.parametrize("value", READ)
def test_a_timestamp_in_the_form_is_read_as_its_utc_instant(parse_sql, value):
    assert parse(parse_sql["timestamp"], value) == READ[value]


@pytest.mark.parametrize("value", REFUSED)
def test_an_impossible_time_or_offset_is_not_read(parse_sql, value):
    assert parse(parse_sql["timestamp"], value) is None


@pytest.mark.parametrize(
    ("kind", "value"), [("integer", "7\n"), ("money", "5.00\n"), ("date", "2024-03-31\n")]
)
def test_a_value_with_a_trailing_newline_is_not_read(parse_sql, kind, value):
    assert parse(parse_sql[kind], value.removesuffix("\n")) is not None  # the value itself is
    assert parse(parse_sql[kind], value) is None


# A flag's text -> the boolean staging reads (None: not a boolean, the row is quarantined).
# The forms: true/false, t/f, yes/no, y/n, 1/0 (also 1.0, 0.00), in any case, trimmed of
# spaces (Unicode ones too); a tab or a line break is not trimmed, and Spark's cast, which
# would read "true\t", only sees text that has the form.
BOOLEANS = {
    "TRUE": True,
    "False": False,
    "t": True,
    "F": False,
    "Yes": True,
    "no": False,
    "Y": True,
    "n": False,
    "1": True,
    "0": False,
    "1.0": True,
    "0.00": False,
    " true\u00a0": True,
    "true\t": None,
    "\ttrue": None,
    "yes\n": None,
    "on": None,
    "2": None,
    "1.5": None,
    "01": None,
}


@pytest.mark.parametrize("value", BOOLEANS)
def test_a_flag_is_read_only_in_a_boolean_form(parse_sql, value):
    assert parse(parse_sql["boolean"], value) is BOOLEANS[value]
