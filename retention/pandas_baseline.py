"""The alternative an analyst would pick instead of the warehouse: a pandas notebook.

Reads the raw Parquet files of `retention generate` and computes the headline order-basis
numbers the way one would in a notebook, cell by cell:

- monthly churn (customers active at the start of the month, churned, churn rate);
- the cohort retention matrix (cohort = month of the first purchase; active in month k =
  a purchase in that month);
- the repeat purchase rate per first-purchase month;
- the seed-formula CLV over all customers (average order value x purchase frequency x
  expected lifespan, margin 1.0).

Definitions as in docs/reference.md, with the default vars (UTC dates, 365 days of order
inactivity, lifespan capped at 10 years). `retention bench` times this script and checks
that its numbers equal the marts of the same data set.

    python -m retention.pandas_baseline DATA_DIR --out numbers.json
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from retention.compare import baseline_command

INACTIVITY_DAYS = 365
MAX_LIFESPAN_YEARS = 10


def local_dates(values: pd.Series) -> pd.Series:
    """ISO 8601 text (with or without an offset, naive = UTC) -> the UTC calendar date."""
    return pd.to_datetime(values, utc=True, format="ISO8601").dt.tz_localize(None).dt.normalize()


def main(data_dir: Path) -> dict:
    # --- load -----------------------------------------------------------------------------
    orders = pd.read_parquet(
        data_dir / "orders.parquet",
        columns=["order_id", "customer_id", "ordered_at", "status", "amount", "refunded_amount"]
        + ["_loaded_at"],
    )
    # The latest load of an order wins.
    orders = orders.sort_values("_loaded_at").drop_duplicates("order_id", keep="last")
    orders["order_date"] = local_dates(orders["ordered_at"])

    # A = the latest date of any event (orders, sign-ups, contract signatures, cancellations).
    as_of = orders["order_date"].max()
    for table, column in [
        ("customers", "created_at"),
        ("contracts", "signed_at"),
        ("cancellations", "requested_at"),
    ]:
        events = pd.read_parquet(data_dir / f"{table}.parquet", columns=[column])[column]
        as_of = max(as_of, local_dates(events.dropna()).max())

    purchases = orders[(orders["status"] == "completed") & (orders["order_date"] <= as_of)].copy()
    purchases["net_revenue"] = purchases["amount"].astype(float) - purchases[
        "refunded_amount"
    ].astype(float).fillna(0)
    purchases["order_month"] = purchases["order_date"].dt.to_period("M")

    def active_on(day: pd.Timestamp) -> set:
        """Customers with a purchase in the 365 days up to and including `day`."""
        window = purchases["order_date"].between(day - pd.Timedelta(days=INACTIVITY_DAYS - 1), day)
        return set(purchases.loc[window, "customer_id"].unique())

    # --- monthly churn --------------------------------------------------------------------
    churn = []
    for month in pd.period_range(purchases["order_month"].min(), as_of.to_period("M"), freq="M"):
        start = active_on(month.start_time - pd.Timedelta(days=1))
        end = active_on(min(month.end_time.normalize(), as_of))
        churned = len(start - end)
        churn.append(
            {
                "month": str(month.start_time.date()),
                "customers_start": len(start),
                "churned": churned,
                "churn_rate": churned / len(start) if start else None,
            }
        )

    # --- cohort retention matrix ----------------------------------------------------------
    first = purchases.groupby("customer_id")["order_month"].min().rename("cohort_month")
    cohort_size = first.value_counts().rename("cohort_size")
    active = (
        purchases[["customer_id", "order_month"]].drop_duplicates().join(first, on="customer_id")
    )
    active["months_since_cohort"] = (active["order_month"] - active["cohort_month"]).apply(
        lambda offset: offset.n
    )
    matrix = (
        active.groupby(["cohort_month", "months_since_cohort"])
        .size()
        .rename("active_customers")
        .reset_index()
        .join(cohort_size, on="cohort_month")
    )
    matrix["retention_rate"] = matrix["active_customers"] / matrix["cohort_size"]
    cohorts = [
        {
            "cohort_month": str(row.cohort_month.start_time.date()),
            "months_since_cohort": int(row.months_since_cohort),
            "cohort_size": int(row.cohort_size),
            "active_customers": int(row.active_customers),
            "retention_rate": float(row.retention_rate),
        }
        for row in matrix.itertuples()
    ]

    # --- repeat purchase rate -------------------------------------------------------------
    per_customer = purchases.groupby("customer_id").agg(
        first_month=("order_month", "min"), purchases=("order_id", "count")
    )
    repeat = per_customer.groupby("first_month").agg(
        customers=("purchases", "size"),
        repeat_customers=("purchases", lambda n: int((n >= 2).sum())),
    )
    repeat["repeat_purchase_rate"] = repeat["repeat_customers"] / repeat["customers"]
    repeat_rows = [
        {
            "first_purchase_month": str(month.start_time.date()),
            "customers": int(row.customers),
            "repeat_customers": int(row.repeat_customers),
            "repeat_purchase_rate": float(row.repeat_purchase_rate),
        }
        for month, row in repeat.iterrows()
    ]

    # --- seed-formula CLV, all customers --------------------------------------------------
    year = purchases[purchases["order_date"] >= as_of - pd.Timedelta(days=364)]
    average_order_value = year["net_revenue"].sum() / len(year)
    purchase_frequency = len(year) / year["customer_id"].nunique()
    active_year_before = active_on(as_of - pd.Timedelta(days=365))
    annual_churn_rate = len(active_year_before - active_on(as_of)) / len(active_year_before)
    lifespan = (
        MAX_LIFESPAN_YEARS
        if annual_churn_rate == 0
        else min(1 / annual_churn_rate, MAX_LIFESPAN_YEARS)
    )
    clv = {
        "average_order_value": average_order_value,
        "purchase_frequency": purchase_frequency,
        "annual_churn_rate": annual_churn_rate,
        "expected_lifespan_years": lifespan,
        "clv": average_order_value * purchase_frequency * lifespan,
    }

    return {
        "as_of_date": str(as_of.date()),
        "monthly_churn": churn,
        "cohorts": cohorts,
        "repeat_purchase": repeat_rows,
        "clv": clv,
    }


if __name__ == "__main__":
    baseline_command(main, __doc__)
