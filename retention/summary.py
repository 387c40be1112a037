"""`retention summary`: the headline metrics of a built warehouse, read from the marts."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import duckdb

from retention import console
from retention.marts import WarehouseError, open_built, tables
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


PREDICTIVE_PARAMETERS_SQL = """
select model, parameter, value, fit_status
from marts.mart_clv_model_parameters
where segment = 'all'
"""
SBG_FITS_SQL = """
select
    count(distinct segment) filter (where fit_status = 'ok') as fitted,
    count(distinct segment) as cohorts
from marts.mart_clv_model_parameters
where model = 'sbg'
"""
# The acquisition channel whose customers have the highest mean predicted CLV (ties: name).
TOP_SEGMENT_SQL = """
select
    coalesce(customers.acquisition_channel, 'unknown') as channel,
    avg(predictions.predicted_clv_365d) as mean_clv,
    count(*) as customers
from marts.mart_clv_predictions as predictions
inner join marts.dim_customers as customers using (customer_id)
where predictions.predicted_clv_365d is not null
group by all
order by mean_clv desc, channel
limit 1
"""


def _model_line(parameters: list[tuple], model: str, names: tuple[str, ...]) -> str:
    rows = {p: (v, status) for m, p, v, status in parameters if m == model}
    if not rows:
        return "n/a"
    statuses = {status for _, status in rows.values()}
    if statuses != {"ok"}:
        return "not fitted: " + ", ".join(sorted(statuses))
    return ", ".join(f"{rows[n][0]:.3f}" for n in names)


def predictive_rows(db_path: Path) -> list[tuple[str, str]]:
    """The fitted parameters and the top predicted-CLV channel; `n/a` lines when the
    warehouse has no predictive marts (built before them) or they are empty (built with
    RETENTION_PREDICTIVE=off)."""
    with open_built(db_path, ()) as con:
        present = tables(con)
        if not {"marts.mart_clv_model_parameters", "marts.mart_clv_predictions"} <= present:
            return [("predictive models", "n/a (not in this warehouse)")]
        parameters = con.execute(PREDICTIVE_PARAMETERS_SQL).fetchall()
        if not parameters:
            return [("predictive models", "n/a (built with RETENTION_PREDICTIVE=off)")]
        fitted, cohorts = con.execute(SBG_FITS_SQL).fetchone()
        top = con.execute(TOP_SEGMENT_SQL).fetchone()
    rows = [
        ("BG/NBD r, alpha, a, b", _model_line(parameters, "bg_nbd", ("r", "alpha", "a", "b"))),
        (
            "Gamma-Gamma p, q, gamma",
            _model_line(parameters, "gamma_gamma", ("p", "q", "gamma")),
        ),
        ("sBG contract cohorts fitted", f"{fitted} of {cohorts}"),
    ]
    if top is None:
        rows.append(("top predicted-CLV channel", "n/a"))
    else:
        channel, mean_clv, customers = top
        rows.append(
            (
                "top predicted-CLV channel",
                f"{channel}: {_fmt(mean_clv, 'money')} mean over {_fmt(customers, 'count')}",
            )
        )
    return rows


def run(args: argparse.Namespace) -> int:
    path = db_path(args)
    try:
        h = headline(path)
        predictive = predictive_rows(path)
    except WarehouseError as exc:
        console.error("summary", str(exc))
        return 2
    except duckdb.Error as exc:
        console.error("summary", f"cannot read the predictive marts of {path}: {exc}")
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
        *predictive,
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
