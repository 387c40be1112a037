"""A sum that overflows the money type fails the build on both engines (`make test-spark`).

Money is decimal(18,2) (macros/parsing.sql, money_type): at most 9,999,999,999,999,999.99.
Two customers each buy once for that amount on 2024-03-01. Each customer's lifetime net
revenue (dim_customers) and month (fct_customer_months) holds it exactly. The sums across
customers do not: 9,999,999,999,999,999.99 × 2 = 19,999,999,999,999,999.98, exact in the
sums' own wider types (decimal(38,2) on DuckDB, decimal(29,2) or wider on Spark), then cast
back to money by to_money in fct_periods (the period's net revenue) and mart_clv (the
segment's). DuckDB's cast fails the model. Spark's cast gave null (dbt-spark runs the
session with spark.sql.ansi.enabled false, whatever the profile says), so both marts were
built with a null net revenue and the build passed; spark__to_money fails the model
instead (docs/spark.md "Engine differences").
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from small_builds import build_on_duckdb, build_on_spark, build_results, tail, write_raw

LOADED = "2024-04-01T00:00:00Z"
MOST = "9999999999999999.99"  # the largest money value
RAW = {
    "customers.csv": (
        "customer_id,created_at,_loaded_at\n"
        f"c1,2024-01-01T00:00:00Z,{LOADED}\n"
        f"c2,2024-01-01T00:00:00Z,{LOADED}\n"
    ),
    "orders.csv": (
        "order_id,customer_id,ordered_at,status,amount,currency,_loaded_at\n"
        f"o1,c1,2024-03-01T10:00:00Z,completed,{MOST},EUR,{LOADED}\n"
        f"o2,c2,2024-03-01T10:00:00Z,completed,{MOST},EUR,{LOADED}\n"
    ),
}
MARTS = ["dim_customers", "fct_customer_months", "fct_periods", "mart_clv"]
OVERFLOWING = {"fct_periods", "mart_clv"}
# How each engine's failure reads (the sum in both).
MESSAGE = {
    "duckdb": 'Casting value "19999999999999999.98" to type DECIMAL(18,2) failed',
    "spark": "19999999999999999.98 does not fit the money type decimal(18, 2)",
}


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each engine's build folder (a build that stopped before dbt's build step fails here)."""
    root = tmp_path_factory.mktemp("money-overflow")
    raw = write_raw(root, RAW)
    done = {
        "duckdb": build_on_duckdb(raw, root / "duckdb", MARTS),
        "spark": build_on_spark(raw, root / "spark", MARTS, export=["marts.dim_customers"]),
    }
    for engine, result in done.items():
        built = (root / engine / "dbt" / "build_results.json").exists()
        assert built, f"no {engine} build:\n{tail(result)}"
    return {engine: root / engine for engine in done}


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_the_marts_summing_past_the_money_type_fail_and_nothing_else(builds, engine):
    results = build_results(builds[engine])
    assert {name: status for name, (status, _) in results.items() if name in MARTS} == {
        "dim_customers": "success",
        "fct_customer_months": "success",
        "fct_periods": "error",
        "mart_clv": "error",
    }
    assert {name for name, (status, _) in results.items() if status != "success"} == OVERFLOWING
    for name in OVERFLOWING:
        assert MESSAGE[engine] in results[name][1], results[name][1]


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_the_largest_money_value_itself_fits(builds, engine):
    if engine == "duckdb":
        relation = "marts.dim_customers"
        db = builds[engine] / "warehouse.duckdb"
    else:
        files = builds[engine] / "export" / "marts" / "dim_customers" / "*.parquet"
        relation = f"read_parquet('{files}')"
        db = ":memory:"
    with duckdb.connect(str(db), read_only=db != ":memory:") as con:
        rows = con.execute(f"select customer_id, lifetime_net_revenue from {relation}").fetchall()
    assert sorted((c, str(v)) for c, v in rows) == [("c1", MOST), ("c2", MOST)]
