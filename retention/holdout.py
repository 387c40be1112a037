"""`retention holdout`: the BG/NBD's predictions against what customers did after A.

On a warehouse built with an ``as_of_date`` A before the end of its data, the purchases
staged after A are a holdout period the models never saw. For each customer with a purchase
up to A: predicted = the fitted BG/NBD's expected purchase days in the holdout period
(mart_clv_model_parameters, mart_clv_predictions' x / t_x / T; FHL 2005 eq. 10), actual =
distinct purchase days after A (staging.stg_shop__orders). Printed in total and per
frequency bucket (x = 0 … 6, 7+), mean per customer — as in Fader, Hardie & Lee (2005).

``--cdnow`` first builds the CDNOW 1/10 sample (retention/cdnow.py: the lifetimes wheel from
PyPI, A = 1997-09-30) into ``--work``; its holdout is weeks 40–78 (1997-10-01 … 1998-06-30).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from retention import console
from retention.marts import BUSY_MEANING, EXIT_BUSY, WarehouseError, open_built
from retention.paths import REPO_ROOT, add_db_argument, db_path
from retention.predictive_marts import PURCHASES_NOT_COMPUTABLE

EXIT_CODES = {
    0: "the table was printed",
    2: "no built warehouse at --db, no predictive marts or no fitted BG/NBD in it, or no "
    "purchase after A; or --cdnow with --db, or --work without --cdnow",
    3: "--cdnow: the CDNOW data could not be downloaded or built (the message says why)",
    EXIT_BUSY: BUSY_MEANING,
}

RELATIONS = (
    "marts.fct_customer_months",
    "marts.mart_clv_model_parameters",
    "marts.mart_clv_predictions",
    "staging.stg_shop__orders",
)
BUCKETS = ["0", "1", "2", "3", "4", "5", "6", "7+"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_db_argument(parser)
    parser.add_argument(
        "--cdnow",
        action="store_true",
        help="build the CDNOW 1/10 sample warehouse first (downloads the lifetimes wheel)",
    )
    parser.add_argument(
        "--work",
        type=Path,
        metavar="DIR",
        default=None,
        help="--cdnow: the folder to build in (default target/cdnow)",
    )


def holdout(db: Path) -> tuple[pd.DataFrame, dict[str, object]]:
    """Per customer: frequency bucket, predicted and actual purchase days after A; and the
    holdout period. WarehouseError when the warehouse cannot say."""
    from retention import predictive as pr
    from retention import predictive_marts as pm

    with open_built(db, RELATIONS) as con:
        parameters = con.execute("select * from marts.mart_clv_model_parameters").df()
        status, bg = pm.fitted(parameters, pm.BG_NBD, pm.ALL)
        if not bg:
            raise WarehouseError(f"no fitted BG/NBD model in {db} (fit_status {status})")
        customers = con.execute(
            """
            with predictions as (select * from marts.mart_clv_predictions),
            as_of as (
                select max(month_end_date) as as_of_date from marts.fct_customer_months
            ),
            later as (
                select orders.customer_id, count(distinct orders.order_date) as actual
                from staging.stg_shop__orders as orders, as_of
                where orders.is_purchase and orders.order_date > as_of.as_of_date
                group by orders.customer_id
            )
            select
                predictions.customer_id, frequency, recency_weeks, age_weeks,
                coalesce(later.actual, 0) as actual
            from predictions left join later using (customer_id)
            order by predictions.customer_id
            """
        ).df()
        as_of, last = con.execute(
            """
            select
                (select max(month_end_date) from marts.fct_customer_months),
                max(order_date)
            from staging.stg_shop__orders where is_purchase
            """
        ).fetchone()
    if last is None or last <= as_of:
        raise WarehouseError(f"no purchase after A = {as_of} in {db}: no holdout period")
    weeks = (last - as_of).days / pr.DAYS_PER_WEEK
    customers["predicted"] = pr.bgnbd_expected_purchases(
        bg,
        weeks,
        customers["frequency"].to_numpy(float),
        customers["recency_weeks"].to_numpy(float),
        customers["age_weeks"].to_numpy(float),
    )
    customers["bucket"] = [BUCKETS[min(int(x), 7)] for x in customers["frequency"]]
    period = {"as_of": as_of, "last": last, "weeks": weeks, "params": bg}
    return customers, period


def table(customers: pd.DataFrame) -> pd.DataFrame:
    """Customers, actual and predicted purchase days after A per frequency bucket (means per
    customer) and in total. A customer without a prediction (NaN: the formula cannot be
    evaluated for them, docs/decisions.md) is left out of both sides: summing the predictions
    without them while counting their purchases would under-predict in silence."""
    customers = customers[customers["predicted"].notna()]
    grouped = customers.groupby("bucket").agg(
        customers=("customer_id", "size"), actual=("actual", "sum"), predicted=("predicted", "sum")
    )
    grouped = grouped.reindex([b for b in BUCKETS if b in grouped.index])
    grouped.loc["all"] = grouped.sum()
    grouped["actual_per_customer"] = grouped["actual"] / grouped["customers"]
    grouped["predicted_per_customer"] = grouped["predicted"] / grouped["customers"]
    grouped.index.name = "frequency"
    return grouped


def render(result: pd.DataFrame, period: dict[str, object], unpredicted: int = 0) -> str:
    params = ", ".join(f"{k} {v:.3f}" for k, v in period["params"].items())
    lines = [
        f"BG/NBD ({params}) fitted on purchases up to A = {period['as_of']}; holdout "
        f"{period['weeks']:.0f} weeks to {period['last']}",
        "repeat purchase days after A, per customer (frequency = repeat purchase days up to A)",
        "",
        "| frequency | customers | actual | predicted | actual / customer | predicted / customer |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for bucket, row in result.iterrows():
        lines.append(
            f"| {bucket} | {int(row['customers']):,} | {int(row['actual']):,} | "
            f"{row['predicted']:,.1f} | {row['actual_per_customer']:.3f} | "
            f"{row['predicted_per_customer']:.3f} |"
        )
    if unpredicted:
        lines += [
            "",
            f"{unpredicted:,} customer(s) left out: the BG/NBD's expected purchases cannot be "
            f"evaluated for them (mart_clv_predictions: bg_nbd: {PURCHASES_NOT_COMPUTABLE})",
        ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    db = db_path(args)
    # Each names a warehouse the other replaces: one of them would be ignored without a word.
    if args.cdnow and args.db is not None:
        console.error("holdout", "--cdnow builds its own warehouse (in --work): leave out --db")
        return 2
    if not args.cdnow and args.work is not None:
        console.error("holdout", "--work is where --cdnow builds, and no --cdnow was given")
        return 2
    if args.cdnow:
        from retention import cdnow

        work = args.work if args.work is not None else REPO_ROOT / "target" / "cdnow"
        console.say(f"building the CDNOW 1/10 sample warehouse in {work} …")
        try:
            db = cdnow.build_sample_warehouse(work)
        except cdnow.CdnowError as exc:
            console.error("holdout", str(exc))
            return 3
    try:
        customers, period = holdout(db)
    except WarehouseError as exc:
        console.error("holdout", str(exc))
        return exc.exit_code
    unpredicted = int(customers["predicted"].isna().sum())
    print(render(table(customers), period, unpredicted))
    return 0
