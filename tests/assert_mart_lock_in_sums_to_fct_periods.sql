{#- The products-at-start buckets of mart_lock_in split fct_periods' contract-basis
    customers_start and churned exactly, in the same periods. Returns the periods where
    they differ or that only one of them has. -#}
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
        periods.customers_start,
        periods.churned,
        lock_in.customers_start as lock_in_customers_start,
        lock_in.churned as lock_in_churned,
        coalesce(periods.period_grain, lock_in.period_grain) as period_grain,
        coalesce(periods.period_start, lock_in.period_start) as period_start
    from periods
    full outer join lock_in
        on
            periods.period_grain = lock_in.period_grain
            and periods.period_start = lock_in.period_start
    where
        periods.period_start is null
        or lock_in.period_start is null
        or periods.customers_start <> lock_in.customers_start
        or periods.churned <> lock_in.churned

)

select * from final
