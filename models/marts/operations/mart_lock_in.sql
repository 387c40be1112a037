{#- One row per period grain, period and products_at_start (`0`, `1`, `2`, `3+`) on the
    contract basis, every bucket of every period of fct_periods (counts 0 when empty):
    the customers contract-active on the start-state day ps − 1, grouped by the distinct
    products of their contracts covering that day (`0` on a bridged gap day), and how
    many of them were not active on the end-state day min(pe, A). Summed over the buckets
    the counts equal fct_periods' customers_start and churned. -#}
with periods as (

    select * from {{ ref('fct_periods') }}
    where basis = 'contract'

),

spells as (

    select * from {{ ref('int_activity_spells') }}
    where basis = 'contract'

),

segments as (

    select * from {{ ref('int_contract_arr_segments') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

buckets as (

    select '0' as products_at_start
    union all
    select '1' as products_at_start
    union all
    select '2' as products_at_start
    union all
    select '3+' as products_at_start

),

period_days as (

    select
        periods.period_grain,
        periods.period_start,
        {{ add_days('periods.period_start', -1) }} as start_state_date,
        least(periods.period_end, params.as_of_date) as end_state_date
    from periods
    cross join params

),

active_at_start as (

    {#- The MRR segments tile the contract spells, and each carries the number of
        distinct products covering its days: the segment containing ps − 1 is the
        customer's state on it. -#}
    select
        period_days.period_grain,
        period_days.period_start,
        period_days.end_state_date,
        segments.customer_id,
        segments.covering_products
    from period_days
    inner join segments
        on period_days.start_state_date between segments.segment_start_date and segments.segment_end_date

),

customer_states as (

    select
        active_at_start.period_grain,
        active_at_start.period_start,
        case
            when active_at_start.covering_products >= 3 then '3+'
            else cast(active_at_start.covering_products as {{ dbt.type_string() }})
        end as products_at_start,
        spells_at_end.customer_id is null as is_churned
    from active_at_start
    left join spells as spells_at_end
        on
            active_at_start.customer_id = spells_at_end.customer_id
            and {{ is_active_on('spells_at_end', 'active_at_start.end_state_date') }}

),

grouped as (

    select
        period_grain,
        period_start,
        products_at_start,
        count(*) as customers_start,
        count(case when is_churned then 1 end) as churned
    from customer_states
    group by period_grain, period_start, products_at_start

),

final as (

    select
        periods.period_grain,
        periods.period_start,
        buckets.products_at_start,
        coalesce(grouped.customers_start, 0) as customers_start,
        coalesce(grouped.churned, 0) as churned,
        {{ safe_ratio('grouped.churned', 'grouped.customers_start') }} as churn_rate
    from periods
    cross join buckets
    left join grouped
        on
            periods.period_grain = grouped.period_grain
            and periods.period_start = grouped.period_start
            and buckets.products_at_start = grouped.products_at_start

)

select * from final
