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


def test_one_sided_outcomes_stay_within_the_bounds_the_mart_enforces():
    # Every treatment customer retained and no control customer (and the mirror case), for
    # groups of 1 to 200. The Wilson end at n of n is 1 and at 0 of n is 0
    # ((p + z²/2n ± z·√(z²/4n²)) / (1 + z²/n) with p = 1 is (1 + z²/n) / (1 + z²/n); with
    # p = 0 it is 0), so the uplift's upper end for n1 of n1 against 0 of n2 is
    # 1 − 0 + √((1 − 1)² + (0 − 0)²) = 1, and the lower end of the mirror case −1. Computed
    # in doubles they miss by a unit in the last place either way; unclamped, rounding put
    # 1.0000000000000002 there for many sizes (11, 13, …), which mart_retention_programmes'
    # check constraint (uplift_ci_high <= 1) refused, failing the build.
    module = macros()
    sizes = pd.DataFrame({"n": range(1, 201)})
    pairs = pd.DataFrame(itertools.product(range(1, 201), repeat=2), columns=["n1", "n2"])
    with duckdb.connect() as con:
        con.register("sizes", sizes)
        con.register("pairs", pairs)
        high, low = (
            con.execute(
                f"select {module.wilson_bound('n', 'n', 'high')},"
                f" {module.wilson_bound('0', 'n', 'low')} from sizes"
            )
            .fetchnumpy()
            .values()
        )
        upper, lower = (
            con.execute(
                f"select {module.newcombe_bound('n1', 'n1', '0', 'n2', 'high')},"
                f" {module.newcombe_bound('0', 'n1', 'n2', 'n2', 'low')} from pairs"
            )
            .fetchnumpy()
            .values()
        )
    assert len(high) == 200 and len(upper) == 40_000
    assert high.max() <= 1.0 and low.min() >= 0.0 and upper.max() <= 1.0 and lower.min() >= -1.0
    assert high.min() == pytest.approx(1.0, abs=1e-15) and low.max() == pytest.approx(0, abs=1e-15)
    assert upper.min() == pytest.approx(1.0, abs=1e-15)
    assert lower.max() == pytest.approx(-1.0, abs=1e-15)
