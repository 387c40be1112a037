"""`retention summary`: the headline metrics of a built warehouse, read from the marts.

The category codes it names (a campaign, an acquisition channel, a fit status) are printed
in words, as the dashboard shows them (retention/words.py: `paid_search` is "Paid search").
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from pathlib import Path

import duckdb

from retention import console
from retention.marts import (
    BUSY_MEANING,
    EXIT_BUSY,
    WarehouseError,
    build_state_warning,
    open_built,
    tables,
)
from retention.paths import add_db_argument, db_path
from retention.words import value_words

EXIT_CODES = {
    0: "the headline metrics were printed (with a warning on stderr when rows were loaded "
    "after the last build, or the last dbt build did not complete)",
    2: "no built warehouse at --db: the file is missing, does not open, or has no marts "
    "(loaded but not built); the message says what to run",
    EXIT_BUSY: BUSY_MEANING,
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
),
saves as (
    select sum(saves) as saves, sum(final_offers_made) as final_offers_made
    from marts.mart_cancellation_saves
    where period_grain = 'year'
),
winback as (
    select sum(won_back) as won_back, sum(churn_events) as churn_events
    from marts.mart_winback
    where basis = 'contract'
),
last_complete_nps_month as (
    select period_start, nps
    from marts.mart_nps
    where
        period_grain = 'month' and segment_type = 'all'
        and last_day(period_start) <= (select as_of_date from params)
    qualify row_number() over (order by period_start desc) = 1
),
programmes as (
    select
        count(*) filter (where treatment_customers > 0 and control_customers > 0) as measured,
        count(*) filter (where is_significant) as significant,
        arg_max(campaign, uplift) filter (where is_significant) as best_campaign,
        max(uplift) filter (where is_significant) as best_uplift
    from marts.mart_retention_programmes
    where basis = 'contract'
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
    (select contract_clv from marts.mart_clv where segment_type = 'all') as contract_clv,
    (select saves / nullif(final_offers_made, 0) from saves) as save_rate,
    (select won_back / nullif(churn_events, 0) from winback) as winback_rate,
    (select period_start from last_complete_nps_month) as nps_month,
    (select nps from last_complete_nps_month) as nps,
    (select measured from programmes) as programmes_measured,
    (select significant from programmes) as programmes_significant,
    (select best_campaign from programmes) as best_campaign,
    (select best_uplift from programmes) as best_uplift
"""


# The relations the headline query reads, taken from it.
RELATIONS = tuple(dict.fromkeys(re.findall(r"\b((?:intermediate|marts)\.\w+)", HEADLINE_SQL)))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_db_argument(parser)


def _month(start: dt.date | None) -> str:
    """ " June 2024" for the month starting on `start`, as the dashboard names it; "" for
    none (a warehouse without a complete month)."""
    return f" {start:%B %Y}" if start else ""


def _fmt(value: object, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind == "rate":
        return f"{float(value):.1%}"
    if kind == "money":
        return f"{float(value):,.2f}"
    if kind == "count":
        return f"{int(value):,}"
    if kind == "score":
        return f"{float(value):.1f}"
    if kind == "points":
        return console.points(float(value), unit="pp")
    return str(value)


def headline(db_path: Path) -> dict[str, object]:
    """The headline metrics; WarehouseError when the warehouse is missing or not built."""
    with open_built(db_path, RELATIONS) as con:
        try:
            cursor = con.execute(HEADLINE_SQL)
        except duckdb.Error as exc:
            raise WarehouseError(
                f"cannot read the headline metrics from {db_path}: {console.first_line(exc)}"
            ) from exc
        names = [d[0] for d in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


PREDICTIVE_PARAMETERS_SQL = """
select model, parameter, value, fit_status
from marts.mart_clv_model_parameters
where segment = 'all'
"""
# A cohort at the sBG's geometric limit counts as fitted (it has a projection); the line
# says how many of them there are.
SBG_FITS_SQL = """
select
    count(distinct segment) filter (where fit_status in ('ok', 'geometric_limit')) as fitted,
    count(distinct segment) filter (where fit_status = 'geometric_limit') as at_limit,
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
        return "not fitted: " + ", ".join(value_words(s, "fit_status") for s in sorted(statuses))
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
        fitted, at_limit, cohorts = con.execute(SBG_FITS_SQL).fetchone()
        top = con.execute(TOP_SEGMENT_SQL).fetchone()
    rows = [
        ("BG/NBD r, alpha, a, b", _model_line(parameters, "bg_nbd", ("r", "alpha", "a", "b"))),
        (
            "Gamma-Gamma p, q, gamma",
            _model_line(parameters, "gamma_gamma", ("p", "q", "gamma")),
        ),
        (
            "sBG contract cohorts fitted",
            f"{fitted} of {cohorts}"
            + (f" ({at_limit} at the geometric limit)" if at_limit else ""),
        ),
    ]
    if top is None:
        rows.append(("top predicted-CLV channel", "n/a"))
    else:
        channel, mean_clv, customers = top
        rows.append(
            (
                "top predicted-CLV channel",
                f"{value_words(channel, 'acquisition_channel')}: {_fmt(mean_clv, 'money')} "
                f"mean over {_fmt(customers, 'count')}",
            )
        )
    return rows


def run(args: argparse.Namespace) -> int:
    path = db_path(args)
    try:
        h = headline(path)
        predictive = predictive_rows(path)
        stale = build_state_warning(path)
    except WarehouseError as exc:
        console.error("summary", str(exc))
        return exc.exit_code
    except duckdb.Error as exc:
        console.error("summary", f"cannot read the predictive marts of {path}: {exc}")
        return 2
    rows = [
        ("reporting date (A)", _fmt(h["as_of_date"], "text")),
        ("customers", _fmt(h["customers"], "count")),
        ("active customers, order basis", _fmt(h["order_active_customers"], "count")),
        ("active customers, contract basis", _fmt(h["contract_active_customers"], "count")),
        (f"churn rate{_month(h['churn_month'])}, order basis", _fmt(h["order_churn_rate"], "rate")),
        (
            f"churn rate{_month(h['churn_month'])}, contract basis",
            _fmt(h["contract_churn_rate"], "rate"),
        ),
        ("repeat purchase rate", _fmt(h["repeat_purchase_rate"], "rate")),
        ("CLV, all customers (order basis)", _fmt(h["clv"], "money")),
        ("CLV, all customers (contract basis)", _fmt(h["contract_clv"], "money")),
        ("final-offer save rate", _fmt(h["save_rate"], "rate")),
        ("win-back rate, contract basis", _fmt(h["winback_rate"], "rate")),
        (f"NPS{_month(h['nps_month'])}", _fmt(h["nps"], "score")),
        (
            "programmes with a significant effect",
            f"{h['programmes_significant'] or 0}/{h['programmes_measured'] or 0}",
        ),
        (
            "largest significant uplift, contract basis"
            + (f" ({value_words(h['best_campaign'], 'campaign')})" if h["best_campaign"] else ""),
            _fmt(h["best_uplift"], "points"),
        ),
        *predictive,
    ]
    title = "Retention warehouse — headline metrics"
    database = f"database: {path.resolve()}"
    width = max(len(label) for label, _ in rows)
    # The values' column is as wide as the widest (the fitted parameters are long), so that
    # every value ends at the rule's end.
    values = max(12, *(len(value) for _, value in rows))
    rule = "-" * (width + 2 + values)
    plain = "\n".join(
        ["", title, rule, *(f"{label:<{width}}  {value:>{values}}" for label, value in rows), rule]
        + [database]
    )
    console.show(
        plain,
        lambda: console.table(
            ["metric", "value"], rows, title=title, numeric={"value"}, caption=database
        ),
    )
    if stale:
        console.warn(stale)
    return 0
