{#- Every churned customer of fct_periods is attributed to exactly one churn type and
    reason in mart_churn. Returns the periods where the counts differ. -#}
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
        periods.basis,
        periods.period_grain,
        periods.period_start,
        periods.churned,
        coalesce(churn.churned_customers, 0) as mart_churn_churned
    from periods
    left join churn
        on
            periods.basis = churn.basis
            and periods.period_grain = churn.period_grain
            and periods.period_start = churn.period_start
    where periods.churned <> coalesce(churn.churned_customers, 0)

)

select * from final
