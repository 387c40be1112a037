{#- One row per basis, cohort month and months since the cohort month, from 0 through
    A's month. Order basis: active in month k = a purchase in that month;
    contract basis: active at the month's end state. Revenue: net order revenue (order
    basis) or recognised contract revenue (contract basis). -#}
with customer_months as (

    select * from {{ ref('int_customer_periods') }}
    where period_grain = 'month'

),

cohort_members as (

    select
        basis,
        {{ month_start('first_active_date') }} as cohort_month,
        period_start as activity_month,
        is_complete_period as is_complete_month,
        case
            when basis = 'order' then purchases > 0
            else is_active_end
        end as is_active,
        case
            when basis = 'order' then cast(net_revenue as {{ type_double() }})
            else recognised_contract_revenue
        end as revenue
    from customer_months

),

cohort_months as (

    {#- Every customer has a row for every month from their cohort month through A's, so
        the row count of any month is the cohort size. -#}
    select
        basis,
        cohort_month,
        activity_month,
        cast(
            {{ dbt.datediff('cohort_month', 'activity_month', 'month') }} as integer  -- noqa: LT05
        ) as months_since_cohort,
        min(cast(is_complete_month as integer)) = 1 as is_complete,
        count(*) as cohort_size,
        count(case when is_active then 1 end) as active_customers,
        {{ sum_float('revenue') }} as revenue
    from cohort_members
    group by basis, cohort_month, activity_month

),

final as (

    select
        basis,
        cohort_month,
        months_since_cohort,
        activity_month,
        cohort_size,
        active_customers,
        {{ safe_ratio('active_customers', 'cohort_size') }} as retention_rate,
        revenue,
        sum(revenue) over (
            partition by basis, cohort_month
            order by months_since_cohort
            rows between unbounded preceding and current row
        ) as cumulative_revenue,
        {{ safe_ratio(
            'sum(revenue) over (
                partition by basis, cohort_month
                order by months_since_cohort
                rows between unbounded preceding and current row
            )',
            'cohort_size'
        ) }} as cumulative_revenue_per_customer,
        is_complete
    from cohort_months

)

select * from final
