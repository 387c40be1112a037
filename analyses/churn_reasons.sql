-- Why customers leave: churned customers and MRR per churn type and reason over the last
-- twelve complete months, with each reason's share of the period's churn. Push and pull
-- churn is retainable, unretainable is not, silent churn left without a signal (every
-- order-basis churn is silent). Semantic layer: saved query churn_by_reason.
with churn as (

    select * from {{ ref('mart_churn') }}
    where period_grain = 'month'

),

last_complete_month as (

    select max(period_start) as period_start
    from {{ ref('fct_periods') }}
    where period_grain = 'month' and is_complete_period

)

select
    churn.basis,
    churn.churn_type,
    churn.reason_code,
    churn.is_retainable,
    sum(churn.churned_customers) as churned_customers,
    sum(churn.churned_mrr) as churned_mrr,
    sum(churn.churned_customers)
    / sum(sum(churn.churned_customers)) over (partition by churn.basis) as share_of_churn
from churn
cross join last_complete_month
where
    churn.period_start > last_complete_month.period_start - interval 12 month
    and churn.period_start <= last_complete_month.period_start
group by churn.basis, churn.churn_type, churn.reason_code, churn.is_retainable
order by churn.basis asc, churned_customers desc
