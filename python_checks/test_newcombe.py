"""The Newcombe interval macro (macros/operations.sql) against statsmodels.

`newcombe_bound` is the 95 % hybrid score interval for a difference of two independent
proportions (Newcombe 1998, method 10) that mart_retention_programmes reports as
uplift_ci_low / uplift_ci_high. statsmodels' `confint_proportions_2indep(...,
method="newcomb", compare="diff")` is an independent implementation of the same interval.

The macro is rendered with plain Jinja (its text, exactly as dbt renders it: it needs no
dbt context beyond `type_double`) into one DuckDB query over a grid of counts — including 0
and n successes, and groups of 1 — so the whole grid costs one query, not a dbt build.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import duckdb
import jinja2
import pandas as pd
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep

ROOT = Path(__file__).resolve().parents[1]
GROUP_SIZES = (1, 2, 5, 10, 37)


def macros() -> object:
    """The macros of macros/operations.sql and `type_double` of macros/metrics.sql."""
    operations = (ROOT / "macros" / "operations.sql").read_text(encoding="utf-8")
    metrics = (ROOT / "macros" / "metrics.sql").read_text(encoding="utf-8")
    (type_double,) = re.findall(
        r"{% macro type_double\(\) -%}.*?{%- endmacro %}", metrics, flags=re.DOTALL
    )
    # The revenue and activity macros need dbt (ref, adapter): only the statistics are used.
    return jinja2.Environment().from_string(type_double + operations).module


def grid() -> pd.DataFrame:
    rows = [
        (x1, n1, x2, n2)
        for n1, n2 in itertools.product(GROUP_SIZES, repeat=2)
        for x1 in range(n1 + 1)
        for x2 in range(n2 + 1)
    ]
    return pd.DataFrame(rows, columns=["x1", "n1", "x2", "n2"])


def test_newcombe_macro_equals_statsmodels_on_a_grid_including_0_and_n():
    module = macros()
    low = module.newcombe_bound("x1", "n1", "x2", "n2", "low")
    high = module.newcombe_bound("x1", "n1", "x2", "n2", "high")
    points = grid()
    with duckdb.connect() as con:
        con.register("grid", points)
        got = con.execute(
            f"select x1, n1, x2, n2, {low} as low, {high} as high from grid order by n1, n2, x1, x2"
        ).fetchdf()
    assert len(got) == len(points) == 3600  # (2 + 3 + 6 + 11 + 38)² count pairs

    for row in got.itertuples(index=False):
        want_low, want_high = confint_proportions_2indep(
            row.x1, row.n1, row.x2, row.n2, method="newcomb", compare="diff", alpha=0.05
        )
        where = f"x1={row.x1} n1={row.n1} x2={row.x2} n2={row.n2}"
        assert row.low == pytest.approx(want_low, abs=1e-12), where
        assert row.high == pytest.approx(want_high, abs=1e-12), where


def test_a_hand_computed_newcombe_interval():
    # Newcombe (1998), table II, example (a): 56/70 against 48/80 — his published method 10
    # interval is 0.0524 to 0.3339.
    module = macros()
    low = module.newcombe_bound("56", "70", "48", "80", "low")
    high = module.newcombe_bound("56", "70", "48", "80", "high")
    with duckdb.connect() as con:
        got_low, got_high = con.execute(f"select {low}, {high}").fetchone()
    assert (round(got_low, 4), round(got_high, 4)) == (0.0524, 0.3339)


def test_an_empty_group_gives_no_interval():
    module = macros()
    for side in ("low", "high"):
        sql = module.newcombe_bound("0", "0", "3", "10", side)
        with duckdb.connect() as con:
            assert con.execute(f"select {sql}").fetchone() == (None,)
        wilson = module.wilson_bound("0", "0", side)
        with duckdb.connect() as con:
            assert con.execute(f"select {wilson}").fetchone() == (None,)
