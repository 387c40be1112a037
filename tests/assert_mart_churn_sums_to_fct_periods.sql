{#- Every churned customer of fct_periods is attributed to exactly one churn type and
    reason in mart_churn, and mart_churn has no churn in a period fct_periods lacks.
    Returns the periods where the counts differ. -#}
with periods as (

    select * from {{ ref('fct_periods') }}

),

churn as (

    select
        basis,
        period_grain,
        period_start,
        sum(churned_customers) as churned_customers
    from {{ ref('mart_churn') }}
    group by basis, period_grain, period_start

),

final as (

    select
        periods.churned,
        coalesce(periods.basis, churn.basis) as basis,
        coalesce(periods.period_grain, churn.period_grain) as period_grain,
        coalesce(periods.period_start, churn.period_start) as period_start,
        coalesce(churn.churned_customers, 0) as mart_churn_churned
    from periods
    full outer join churn
        on
            periods.basis = churn.basis
            and periods.period_grain = churn.period_grain
            and periods.period_start = churn.period_start
    where
        periods.period_start is null
        or periods.churned <> coalesce(churn.churned_customers, 0)

)

select * from final
