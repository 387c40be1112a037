-- Monthly churn and retention trend on both bases (semantic layer: saved query
-- monthly_churn_trend). The rates come with their numerators and denominators, so a
-- quarter or a year is re-aggregated as sum(churned) / sum(customers_start) — or read from
-- the quarter and year rows of the same mart.
select
    period_start,
    basis,
    customers_start,
    churned,
    retained,
    new,
    reactivated,
    customers_end,
    churn_rate,
    retention_rate,
    is_complete_period
from {{ ref('fct_periods') }}
where period_grain = 'month'
order by period_start, basis
