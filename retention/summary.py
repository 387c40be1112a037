"""`retention summary`: the headline metrics of a built warehouse, read from the marts."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import duckdb

from retention import console
from retention.marts import WarehouseError, open_built
from retention.paths import add_db_argument, db_path

EXIT_CODES = {
    0: "the headline metrics were printed",
    2: "no built warehouse at --db: the file is missing, does not open, or has no marts "
    "(loaded but not built); the message says what to run",
}

HEADLINE_SQL = """
with params as (
    select max(as_of_date) as as_of_date from intermediate.int_reporting_params
),
last_complete_month as (
    select basis, churn_rate, churned, customers_start, period_start
    from marts.fct_periods
    where period_grain = 'month' and is_complete_period
    qualify row_number() over (partition by basis order by period_start desc) = 1
),
repeat_purchase as (
    select sum(repeat_customers) as repeat_customers, sum(customers) as customers
    from marts.mart_repeat_purchase
)
select
    (select as_of_date from params) as as_of_date,
    (select count(*) from marts.dim_customers) as customers,
    (select count(*) from marts.dim_customers where order_status = 'active')
        as order_active_customers,
    (select count(*) from marts.dim_customers where contract_status = 'active')
        as contract_active_customers,
    (select period_start from last_complete_month where basis = 'order') as churn_month,
    (select churn_rate from last_complete_month where basis = 'order') as order_churn_rate,
    (select churn_rate from last_complete_month where basis = 'contract')
        as contract_churn_rate,
    (select repeat_customers / nullif(customers, 0) from repeat_purchase)
        as repeat_purchase_rate,
    (select clv from marts.mart_clv where segment_type = 'all') as clv,
    (select contract_clv from marts.mart_clv where segment_type = 'all') as contract_clv
"""


# The relations the headline query reads, taken from it.
RELATIONS = tuple(dict.fromkeys(re.findall(r"\b((?:intermediate|marts)\.\w+)", HEADLINE_SQL)))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_db_argument(parser)


def _fmt(value: object, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind == "rate":
        return f"{float(value):.1%}"
    if kind == "money":
        return f"{float(value):,.2f}"
    if kind == "count":
        return f"{int(value):,}"
    return str(value)


def headline(db_path: Path) -> dict[str, object]:
    """The headline metrics; WarehouseError when the warehouse is missing or not built."""
    with open_built(db_path, RELATIONS) as con:
        try:
            cursor = con.execute(HEADLINE_SQL)
        except duckdb.Error as exc:
            raise WarehouseError(
                f"cannot read the headline metrics from {db_path}: {str(exc).splitlines()[0]}"
            ) from exc
        names = [d[0] for d in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


def run(args: argparse.Namespace) -> int:
    path = db_path(args)
    try:
        h = headline(path)
    except WarehouseError as exc:
        console.error("summary", str(exc))
        return 2
    rows = [
        ("reporting date (A)", _fmt(h["as_of_date"], "text")),
        ("customers", _fmt(h["customers"], "count")),
        ("active customers, order basis", _fmt(h["order_active_customers"], "count")),
        ("active customers, contract basis", _fmt(h["contract_active_customers"], "count")),
        (f"churn rate {h['churn_month']}, order basis", _fmt(h["order_churn_rate"], "rate")),
        (f"churn rate {h['churn_month']}, contract basis", _fmt(h["contract_churn_rate"], "rate")),
        ("repeat purchase rate", _fmt(h["repeat_purchase_rate"], "rate")),
        ("CLV, all customers (order basis)", _fmt(h["clv"], "money")),
        ("CLV, all customers (contract basis)", _fmt(h["contract_clv"], "money")),
    ]
    title = "Retention warehouse — headline metrics"
    database = f"database: {path.resolve()}"
    width = max(len(label) for label, _ in rows)
    rule = "-" * (width + 16)
    plain = "\n".join(
        ["", title, rule, *(f"{label:<{width}}  {value:>12}" for label, value in rows), rule]
        + [database]
    )
    console.show(
        plain,
        lambda: console.table(
            ["metric", "value"], rows, title=title, numeric={"value"}, caption=database
        ),
    )
    return 0
