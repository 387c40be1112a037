-- The other alternative to the warehouse: one plain DuckDB SQL script over the delivery files.
--
-- Computes the four headline order-basis numbers of retention/pandas_baseline.py with the
-- same definitions (docs/reference.md, default vars: UTC dates, 365 days of order
-- inactivity, lifespan capped at 10 years), straight from the Parquet files of
-- `retention generate`, which it reads by relative name: run it with the data folder as
-- DuckDB's `file_search_path` (retention/duckdb_baseline.py does), or from that folder:
--
--     cd DATA_DIR && duckdb -c ".read path/to/duckdb_baseline.sql" \
--         -c "from monthly_churn" -c "from cohorts" -c "from repeat_purchase" -c "from clv"
--
-- It leaves five temporary tables: as_of, monthly_churn, cohorts, repeat_purchase, clv.
-- No quarantine, no contract basis, no tests, no incremental state: the numbers only.

set timezone = 'UTC';

-- The latest load of an order wins (the pandas script: sort by _loaded_at, keep the last;
-- a missing load time sorts last there).
create or replace temp table orders as
select
    order_id,
    customer_id,
    status,
    amount,
    refunded_amount,
    cast(timezone('UTC', cast(ordered_at as timestamptz)) as date) as order_date
from read_parquet('orders.parquet')
qualify row_number() over (
    partition by order_id order by _loaded_at desc nulls first
) = 1;

-- A = the latest date of any event (orders, sign-ups, contract signatures, cancellations).
create or replace temp table as_of as
select max(event_date) as as_of_date
from (
    select order_date as event_date from orders
    union all
    select cast(timezone('UTC', cast(created_at as timestamptz)) as date)
    from read_parquet('customers.parquet')
    union all
    select cast(timezone('UTC', cast(signed_at as timestamptz)) as date)
    from read_parquet('contracts.parquet')
    union all
    select cast(timezone('UTC', cast(requested_at as timestamptz)) as date)
    from read_parquet('cancellations.parquet')
) as events;

create or replace temp table purchases as
select
    o.order_id,
    o.customer_id,
    o.order_date,
    date_trunc('month', o.order_date) as order_month,
    cast(o.amount as double) - coalesce(cast(o.refunded_amount as double), 0) as net_revenue
from orders as o, as_of as a
where o.status = 'completed' and o.order_date <= a.as_of_date;

-- A customer is active on day x when they made a purchase in the 365 days up to x: from
-- each purchase day d until the day before the next purchase, or d + 364 if sooner. These
-- intervals do not overlap, so a customer is in at most one on any day.
create or replace temp table active_intervals as
with purchase_days as (
    select distinct
        customer_id,
        order_date
    from purchases
),

with_next as (
    select
        customer_id,
        order_date,
        lead(order_date) over (partition by customer_id order by order_date) as next_order_date
    from purchase_days
)

select
    customer_id,
    order_date as active_from,
    least(coalesce(next_order_date, order_date + 365), order_date + 365) - 1 as active_to
from with_next;

-- The months from the first purchase to A's month, with the two days each one compares:
-- the day before the month and its last day (A in A's month).
create or replace temp table months as
select
    cast(r.month_start as date) as month_start,
    cast(r.month_start as date) - 1 as start_day,
    least(cast(r.month_start + interval 1 month as date) - 1, a.as_of_date) as end_day
from
    as_of as a,
    range(
        (select min(order_month) from purchases),
        date_trunc('month', a.as_of_date) + interval 1 month,
        interval 1 month
    ) as r (month_start);

-- Who is active on each day that a number needs: the months' two days, A and A - 365.
create or replace temp table active_on as
with days as (
    select start_day as active_day from months
    union
    select end_day from months
    union
    select as_of_date from as_of
    union
    select as_of_date - 365 from as_of
)

select
    d.active_day,
    i.customer_id
from days as d
inner join active_intervals as i on d.active_day between i.active_from and i.active_to;

-- 1. Monthly churn: customers active the day before the month, and those of them no
-- longer active at its end.
create or replace temp table monthly_churn as
with per_month as (
    select
        m.month_start,
        count(s.customer_id) as customers_start,
        count(s.customer_id) - count(e.customer_id) as churned
    from months as m
    left join active_on as s on m.start_day = s.active_day
    left join active_on as e on m.end_day = e.active_day and s.customer_id = e.customer_id
    group by m.month_start
)

-- The columns are named as in the pandas script's output (month included).
select
    month_start as month,  -- noqa: RF04
    customers_start,
    churned,
    churned / nullif(customers_start, 0) as churn_rate
from per_month
order by month_start;

-- 2. The cohort retention matrix: cohort = month of the first purchase; active in month k =
-- a purchase in that month (the non-empty cells).
create or replace temp table cohorts as
with customer_months as (
    select distinct
        customer_id,
        order_month
    from purchases
),

cohort_of as (
    select
        customer_id,
        min(order_month) as cohort_month
    from customer_months
    group by customer_id
),

cells as (
    select
        c.cohort_month,
        date_diff('month', c.cohort_month, m.order_month) as months_since_cohort,
        count(*) as active_customers
    from customer_months as m
    inner join cohort_of as c on m.customer_id = c.customer_id
    group by all
),

sizes as (
    select
        cohort_month,
        count(*) as cohort_size
    from cohort_of
    group by cohort_month
)

select
    cast(cells.cohort_month as date) as cohort_month,
    cells.months_since_cohort,
    sizes.cohort_size,
    cells.active_customers,
    cells.active_customers / sizes.cohort_size as retention_rate
from cells
inner join sizes on cells.cohort_month = sizes.cohort_month
order by cells.cohort_month, cells.months_since_cohort;

-- 3. The repeat purchase rate per first-purchase month.
create or replace temp table repeat_purchase as
with per_customer as (
    select
        customer_id,
        min(order_month) as first_month,
        count(order_id) as purchases
    from purchases
    group by customer_id
)

select
    cast(first_month as date) as first_purchase_month,
    count(*) as customers,
    count(*) filter (where purchases >= 2) as repeat_customers,
    count(*) filter (where purchases >= 2) / count(*) as repeat_purchase_rate
from per_customer
group by first_month
order by first_month;

-- 4. The seed-formula CLV of all customers: average order value x purchase frequency x
-- expected lifespan (1 / annual churn rate, at most 10 years), over the year up to A.
create or replace temp table clv as
with last_year as (
    select
        sum(p.net_revenue) / count(*) as average_order_value,
        count(*) / count(distinct p.customer_id) as purchase_frequency
    from purchases as p, as_of as a
    where p.order_date >= a.as_of_date - 364
),

annual_churn as (
    select count(*) filter (where now_.customer_id is null) / count(*) as annual_churn_rate
    from as_of as a
    inner join active_on as before_ on a.as_of_date - 365 = before_.active_day
    left join active_on as now_
        on a.as_of_date = now_.active_day and before_.customer_id = now_.customer_id
),

rates as (
    select
        y.average_order_value,
        y.purchase_frequency,
        c.annual_churn_rate,
        case
            when c.annual_churn_rate = 0 then 10.0 else least(1 / c.annual_churn_rate, 10.0)
        end as expected_lifespan_years
    from last_year as y, annual_churn as c
)

select
    *,
    average_order_value * purchase_frequency * expected_lifespan_years as clv
from rates;
