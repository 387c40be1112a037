{#- One row per basis, cohort month and months since the cohort month, from 0 through
    A's month: the cohort members' months (int_customer_cohort_months, where a cohort
    and "active in month k" are defined) added up per cell. Revenue: net order revenue
    (order basis) or recognised contract revenue (contract basis). -#}
with cohort_members as (

    select * from {{ ref('int_customer_cohort_months') }}

),

cohort_months as (

    {#- Every customer has a row for every month from their cohort month through A's, so
        the row count of any month is the cohort size. -#}
    select
        basis,
        cohort_month,
        activity_month,
        months_since_cohort,
        min(cast(is_complete_month as integer)) = 1 as is_complete,
        count(*) as cohort_size,
        count(case when is_active then 1 end) as active_customers,
        {{ sum_float('revenue') }} as revenue
    from cohort_members
    group by basis, cohort_month, activity_month, months_since_cohort

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
