"""Real data no one here wrote: the CDNOW purchase log through the whole warehouse.

CDNOW_master.txt (shipped in the `lifetimes` wheel on PyPI, read here straight from the zip;
the package is neither installed nor imported) is the purchase history, 1997-01-01 …
1998-06-30, of the 23,570 customers who made their first purchase at CDNOW in the first
quarter of 1997 (Fader & Hardie's cohort). One row per customer, day and *transaction*:
customer id, date (YYYYMMDD), number of CDs, dollar value.

How it becomes raw input (the raw input contract):
- every row is one completed order: ``order_id`` = the row's number in the file (1-based),
  ``ordered_at`` = its date at midnight UTC, ``amount`` = the dollar value;
- the values are US dollars, so the orders carry ``currency = USD`` and the build runs with
  ``reporting_currency: USD`` (converting to EUR would need exchange rates the warehouse does
  not have, and quarantining everything would test nothing);
- ``customers.csv`` holds each distinct id with ``created_at`` = its first purchase date;
- A = ``as_of_date`` = 1998-06-30, the last day of the log.

Every expected value is computed here with pandas from the raw file, independently of the
models, from the metric definitions. The pandas code is checked in turn: against the
published size of the cohort (23,570 customers), and its repeat purchase rate counting
customers with purchases on at least two *days* (11,516 / 23,570 = 0.48859) against the
same count taken by a plain DuckDB query of the file's lines. No publication found here
quotes that rate: it is two independent counts that agree, not a published figure.

Same-day rows. The log has rows that repeat a customer-day: 2,068 rows beyond the first on
1,774 customer-days (several transactions on one day, e.g. customer 00002 on 1997-01-12).
The published rate counts purchase days, the project counts distinct orders ("two on
one day count as two"), so the 146 customers whose purchases all fall on one day but span
several rows are repeat customers for the project and not in the published figure:
(11,516 + 146) / 23,570 = 0.49478 against 11,516 / 23,570 = 0.48859. The test asserts the
project's rate equals the pandas order-based rate, and the day-based pandas rate equals the
DuckDB count's; the counts quoted in this paragraph are the pandas results, re-derived by
the assertions below rather than trusted.

The wheel is downloaded once with pip into ``.cache/cdnow/`` (git-ignored; python_checks/
cdnow_wheel.py). The test is skipped only when the package registry cannot be reached; any
other download problem fails it.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from cdnow_wheel import read_member

from retention import dbt_runner
from retention.cli import main as retention_main
from retention.load import load_dir

REPO_ROOT = Path(__file__).resolve().parent.parent
MEMBER = "lifetimes/datasets/CDNOW_master.txt"
AS_OF = dt.date(1998, 6, 30)
VARS = {"as_of_date": AS_OF.isoformat(), "reporting_currency": "USD"}

# Published (Fader & Hardie 2001, "Forecasting repeat sales at CDNOW"): the cohort's size.
PUBLISHED_CUSTOMERS = 23_570


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """The purchase log, one row per line of the file, in file order."""
    text = read_member(MEMBER)
    df = pd.read_csv(io.BytesIO(text), sep=r"\s+", dtype=str)
    assert list(df.columns) == ["customer_id", "date", "number_of_cds", "dollar_value"]
    df["order_id"] = [str(i) for i in range(1, len(df) + 1)]
    df["purchase_date"] = pd.to_datetime(df["date"], format="%Y%m%d")
    # Money in integer cents, so sums are exact.
    df["cents"] = (df["dollar_value"].astype(float) * 100).round().astype("int64")
    return df


# --- the warehouse built from it -------------------------------------------------------------


@pytest.fixture(scope="module")
def warehouse(cdnow: pd.DataFrame, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("cdnow")
    raw = work / "raw"
    raw.mkdir()
    orders = pd.DataFrame(
        {
            "order_id": cdnow["order_id"],
            "customer_id": cdnow["customer_id"],
            "ordered_at": cdnow["purchase_date"].dt.strftime("%Y-%m-%dT00:00:00"),
            "status": "completed",
            "amount": cdnow["dollar_value"],
            "currency": "USD",
        }
    )
    orders.to_csv(raw / "orders.csv", index=False)
    first = cdnow.groupby("customer_id", as_index=False)["purchase_date"].min()
    customers = pd.DataFrame(
        {
            "customer_id": first["customer_id"],
            "created_at": first["purchase_date"].dt.strftime("%Y-%m-%dT00:00:00"),
        }
    )
    customers.to_csv(raw / "customers.csv", index=False)

    # Named like the shared builds' databases: dbt then reuses the parse this pytest process
    # keeps (retention.dbt_runner: the parse depends on the database's name).
    db = work / "warehouse.duckdb"
    load_dir(raw, db)
    started = time.perf_counter()
    completed = dbt_runner.run(
        [*dbt_runner.BUILD, "--no-use-colors"],
        db,
        target_path=work / "target",
        log_path=work / "logs",
        vars=VARS,
    )
    seconds = time.perf_counter() - started
    if not completed.ok:
        failing = [
            line
            for line in completed.output.splitlines()
            if any(m in line for m in ("ERROR", "FAIL", "Error", "Got "))
        ]
        detail = "\n".join(failing[:40]) + "\n…\n" + completed.output[-4000:]
        pytest.fail(f"dbt build on CDNOW failed after {seconds:.0f} s:\n{detail}")
    print(f"dbt build on CDNOW: {seconds:.1f} s")
    return db


def query(db: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(sql).df()


# --- the raw file itself: the published description ------------------------------------------


def test_raw_file_is_the_published_cohort(cdnow):
    assert cdnow["customer_id"].nunique() == PUBLISHED_CUSTOMERS
    assert cdnow["purchase_date"].min() == pd.Timestamp("1997-01-01")
    assert cdnow["purchase_date"].max() == pd.Timestamp("1998-06-30")
    # The cohort: first-ever purchase in the first quarter of 1997.
    first = cdnow.groupby("customer_id")["purchase_date"].min()
    assert first.max() < pd.Timestamp("1997-04-01")
    assert (cdnow["cents"] >= 0).all()


def test_day_based_repeat_rate_is_the_same_counted_by_a_plain_query(cdnow, tmp_path):
    # The pandas count against one that shares no code with it: DuckDB splitting each line
    # of the file after its header on runs of blanks (customer id, date, CDs, dollars).
    lines = tmp_path / "CDNOW_master.txt"
    lines.write_bytes(read_member(MEMBER))
    with duckdb.connect() as con:
        repeat, customers = con.execute(
            "with fields as (select string_split_regex(trim(line), '\\s+') as f "
            "from read_csv(?, columns = {'line': 'varchar'}, delim = '\x01', header = true)) "
            "select count(*) filter (where days >= 2), count(*) from "
            "(select f[1], count(distinct f[2]) as days from fields group by f[1])",
            [str(lines)],
        ).fetchone()
    days = cdnow.groupby("customer_id")["date"].nunique()
    assert ((days >= 2).sum(), len(days)) == (repeat, customers)
    assert round(repeat / customers, 5) == 0.48859  # 11,516 / 23,570 (module docstring)


def test_same_day_rows_explain_the_order_based_rate(cdnow):
    """The order-based rate differs from the day-based one exactly by the customers whose
    several rows all fall on one day (see the module docstring)."""
    per_day = cdnow.groupby(["customer_id", "date"]).size()
    assert (per_day - 1).sum() == 2_068  # rows that repeat a customer-day
    assert (per_day > 1).sum() == 1_774  # customer-days with more than one row
    rows = cdnow.groupby("customer_id").size()
    days = cdnow.groupby("customer_id")["date"].nunique()
    one_day_many_rows = ((days == 1) & (rows >= 2)).sum()
    assert one_day_many_rows == 146
    assert (rows >= 2).sum() == (days >= 2).sum() + one_day_many_rows  # 11,662 = 11,516 + 146


# --- the marts against pandas ----------------------------------------------------------------


def test_customer_count(cdnow, warehouse):
    dim = query(warehouse, "select count(*) as n, count(*) filter (is_inferred) as inferred "
                "from marts.dim_customers")  # fmt: skip
    assert dim.loc[0, "n"] == cdnow["customer_id"].nunique() == PUBLISHED_CUSTOMERS
    assert dim.loc[0, "inferred"] == 0
    repeat = query(warehouse, "select sum(customers) as n from marts.mart_repeat_purchase")
    assert repeat.loc[0, "n"] == PUBLISHED_CUSTOMERS


def test_net_revenue_per_customer_and_in_total(cdnow, warehouse):
    expected = cdnow.groupby("customer_id")["cents"].agg(["sum", "size"])
    dim = query(
        warehouse,
        "select customer_id, cast(round(lifetime_net_revenue * 100) as bigint) as cents, "
        "purchases from marts.dim_customers",
    ).set_index("customer_id")
    joined = expected.join(dim, how="outer")
    assert joined["sum"].eq(joined["cents"]).all(), joined[joined["sum"] != joined["cents"]]
    assert joined["size"].eq(joined["purchases"]).all()
    total = query(
        warehouse,
        "select cast(round(sum(lifetime_net_revenue) * 100) as bigint) as cents "
        "from marts.dim_customers",
    )
    assert total.loc[0, "cents"] == cdnow["cents"].sum()  # $2,500,315.63 in the pandas run


def test_monthly_purchases_and_revenue(cdnow, warehouse):
    month = cdnow["purchase_date"].dt.to_period("M").dt.start_time
    expected = (
        cdnow.assign(month=month)
        .groupby("month")
        .agg(purchases=("order_id", "size"), customers=("customer_id", "nunique"),
             cents=("cents", "sum"))
    )  # fmt: skip
    periods = query(
        warehouse,
        "select period_start, purchases, purchasing_customers, "
        "cast(round(net_revenue * 100) as bigint) as cents from marts.fct_periods "
        "where basis = 'order' and period_grain = 'month' order by period_start",
    )
    periods["period_start"] = pd.to_datetime(periods["period_start"])
    periods = periods.set_index("period_start")
    assert list(periods.index) == list(expected.index)  # 1997-01 … 1998-06, 18 months
    assert periods["purchases"].tolist() == expected["purchases"].tolist()
    assert periods["purchasing_customers"].tolist() == expected["customers"].tolist()
    assert periods["cents"].tolist() == expected["cents"].tolist()


def test_repeat_purchase_rate_counts_orders(cdnow, warehouse):
    rows = cdnow.groupby("customer_id").size()
    first_month = cdnow.groupby("customer_id")["purchase_date"].min().dt.to_period("M")
    expected = pd.DataFrame({"customers": rows.groupby(first_month).size(),
                             "repeat": (rows >= 2).groupby(first_month).sum()})  # fmt: skip
    mart = query(
        warehouse,
        "select first_purchase_month, customers, repeat_customers "
        "from marts.mart_repeat_purchase order by first_purchase_month",
    )
    assert pd.to_datetime(mart["first_purchase_month"]).dt.to_period("M").tolist() == list(
        expected.index
    )  # 1997-01, 1997-02, 1997-03
    assert mart["customers"].tolist() == expected["customers"].tolist()
    assert mart["repeat_customers"].tolist() == expected["repeat"].tolist()
    project_rate = mart["repeat_customers"].sum() / mart["customers"].sum()
    assert project_rate == (rows >= 2).sum() / len(rows)  # 11,662 / 23,570 = 0.49478
    days = cdnow.groupby("customer_id")["date"].nunique()
    assert round(project_rate, 5) != round((days >= 2).mean(), 5)  # not the day-based 0.48859


def test_repeat_windows_and_median_days(cdnow, warehouse):
    # The second purchase is the customer's second order in time (file order breaks ties on
    # a day; the day gap is the same either way): 0 days when it is on the first day.
    ordered = cdnow.sort_values(["customer_id", "purchase_date"], kind="stable")
    nth = ordered.groupby("customer_id").cumcount()
    first = ordered[nth == 0].set_index("customer_id")["purchase_date"]
    second = ordered[nth == 1].set_index("customer_id")["purchase_date"]
    gap = (second - first.reindex(second.index)).dt.days
    first_month = first.dt.to_period("M")
    mart = query(
        warehouse, "select * from marts.mart_repeat_purchase order by first_purchase_month"
    )
    months = pd.to_datetime(mart["first_purchase_month"]).dt.to_period("M")
    for w in (30, 90, 180, 365):
        # Eligible: first purchase on or before A − W; A − 365 = 1997-06-30 is after every
        # first purchase (Q1 1997), so the whole cohort is eligible for every window.
        eligible = (first <= pd.Timestamp(AS_OF - dt.timedelta(days=w))).groupby(first_month).sum()
        within = (gap <= w).groupby(first_month.reindex(gap.index)).sum()
        assert mart[f"eligible_{w}"].tolist() == eligible.reindex(months).tolist()
        assert mart[f"repeat_within_{w}"].tolist() == within.reindex(months).tolist()
    # pandas' median is the mean of the two middle values for an even count, as the definitions say.
    median = gap.groupby(first_month.reindex(gap.index)).median()
    assert mart["median_days_to_second_purchase"].astype(float).tolist() == (
        median.reindex(months).astype(float).tolist()
    )


def test_top_20_percent_revenue_share(cdnow, warehouse):
    def top_share(cents: pd.Series) -> float:
        # Ties at the cut do not matter: the sum of the k largest values is the same.
        k = len(cents) // 5  # 23,570 / 5 = 4,714 customers
        return cents.nlargest(k).sum() / cents.sum()

    expected = top_share(cdnow.groupby("customer_id")["cents"].sum())
    dim = query(
        warehouse,
        "select cast(round(lifetime_net_revenue * 100) as bigint) as cents "
        "from marts.dim_customers",
    )
    assert len(dim) == PUBLISHED_CUSTOMERS
    assert top_share(dim["cents"]) == pytest.approx(expected, abs=1e-12)
    assert 0.5 < expected < 0.8  # sanity of the pandas side: a Pareto-like concentration


def test_order_status_on_the_reporting_date(cdnow, warehouse):
    # Active on A when a purchase p has 0 ≤ A − p < 365, i.e. p ≥ A − 364 = 1997-07-01
    # (no 29 February in between); all others bought before and have churned.
    cutoff = pd.Timestamp(AS_OF - dt.timedelta(days=364))
    last = cdnow.groupby("customer_id")["purchase_date"].max()
    statuses = query(
        warehouse,
        "select order_status, count(*) as n from marts.dim_customers group by all",
    ).set_index("order_status")["n"]
    assert statuses.get("active", 0) == (last >= cutoff).sum()
    assert statuses.get("churned", 0) == (last < cutoff).sum()
    assert statuses.get("never_active", 0) == 0


def test_clv_all_segment(cdnow, warehouse):
    # Y = [A − 364, A] = [1997-07-01, 1998-06-30].
    y_start = pd.Timestamp(AS_OF - dt.timedelta(days=364))
    in_y = cdnow[cdnow["purchase_date"] >= y_start]
    purchases, cents = len(in_y), in_y["cents"].sum()
    purchasers = in_y["customer_id"].nunique()
    # Active on A − 365 = 1997-06-30: a purchase in [1996-07-01, 1997-06-30] — every
    # customer, as all first purchases are in Q1 1997. Churned: no purchase since 1997-07-01.
    first = cdnow.groupby("customer_id")["purchase_date"].min()
    last = cdnow.groupby("customer_id")["purchase_date"].max()
    start_active = (first <= pd.Timestamp("1997-06-30")).sum()
    churned = ((first <= pd.Timestamp("1997-06-30")) & (last < y_start)).sum()
    churn_rate = churned / start_active
    aov = cents / 100 / purchases
    frequency = purchases / purchasers
    lifespan = min(1 / churn_rate, 10)
    clv = aov * frequency * lifespan * 1.0  # gross_margin 1.0

    row = query(
        warehouse,
        "select * from marts.mart_clv where segment_type = 'all' and segment_value = 'all'",
    ).iloc[0]
    assert row["customers"] == PUBLISHED_CUSTOMERS
    assert row["purchases"] == purchases
    assert round(float(row["net_revenue"]) * 100) == cents
    assert row["purchasing_customers"] == purchasers
    assert row["order_active_start_customers"] == start_active == PUBLISHED_CUSTOMERS
    assert row["order_churned_customers"] == churned
    assert float(row["annual_churn_rate"]) == pytest.approx(churn_rate, rel=1e-12)
    assert float(row["average_order_value"]) == pytest.approx(aov, rel=1e-9)
    assert float(row["purchase_frequency"]) == pytest.approx(frequency, rel=1e-12)
    assert float(row["expected_lifespan_years"]) == pytest.approx(lifespan, rel=1e-12)
    assert float(row["clv"]) == pytest.approx(clv, rel=1e-9)


def test_great_expectations_suites_pass_on_cdnow(warehouse, capsys):
    code = retention_main(["validate", "--db", str(warehouse)])
    out = capsys.readouterr().out
    assert code == 0, out
