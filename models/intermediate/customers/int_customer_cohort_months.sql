{#- One row per customer, basis and month from the customer's cohort month (the month of
    their first active day on the basis) through A's month: the one place a cohort, its
    months since the cohort month and "active in month k" are defined. fct_cohorts adds
    these rows up per cohort cell; the semantic layer groups them by any customer
    attribute (segmented cohort retention). Order basis: active in month k = a purchase
    in it; contract basis: active at the month's end state. A view on the month rows of
    int_customer_periods: nothing is written twice. -#}
{{ config(materialized='view') }}

with customer_months as (

    select * from {{ ref('int_customer_periods') }}
    where period_grain = 'month'

),

cohort_months as (

    select
        customer_id,
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

final as (

    select
        customer_id,
        basis,
        cohort_month,
        cast(
            {{ dbt.datediff('cohort_month', 'activity_month', 'month') }} as integer  -- noqa: LT05
        ) as months_since_cohort,
        activity_month,
        is_complete_month,
        is_active,
        revenue
    from cohort_months

)

select * from final
