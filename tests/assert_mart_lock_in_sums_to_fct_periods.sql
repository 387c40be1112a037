{#- The products-at-start buckets of mart_lock_in split fct_periods' contract-basis
    customers_start and churned exactly. Returns the periods where they differ. -#}
with periods as (

    select * from {{ ref('fct_periods') }}
    where basis = 'contract'

),

lock_in as (

    select
        period_grain,
        period_start,
        sum(customers_start) as customers_start,
        sum(churned) as churned
    from {{ ref('mart_lock_in') }}
    group by period_grain, period_start

),

final as (

    select
        periods.period_grain,
        periods.period_start,
        periods.customers_start,
        periods.churned,
        lock_in.customers_start as lock_in_customers_start,
        lock_in.churned as lock_in_churned
    from periods
    left join lock_in
        on
            periods.period_grain = lock_in.period_grain
            and periods.period_start = lock_in.period_start
    where
        lock_in.period_start is null
        or periods.customers_start <> lock_in.customers_start
        or periods.churned <> lock_in.churned

)

select * from final
