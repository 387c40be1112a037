{#- One row per customer, basis and month from the customer's first active month on that
    basis through A's month: the end state of the month (on min(month end, A)), the start
    state (the previous month's end state: the state on the month's first day − 1),
    whether active on any day of the month, and the month's revenue on that basis (net
    order revenue on the order basis, recognised contract revenue on the contract basis). -#}
with spells as (

    select * from {{ ref('int_activity_spells') }}

),

segments as (

    select * from {{ ref('int_contract_arr_segments') }}

),

purchases as (

    select * from {{ ref('int_purchases') }}

),

calendar as (

    select * from {{ ref('int_calendar_months') }}

),

first_active as (

    select
        customer_id,
        basis,
        min(spell_start_date) as first_active_date
    from spells
    group by customer_id, basis

),

grid as (

    select
        first_active.customer_id,
        first_active.basis,
        first_active.first_active_date,
        calendar.month_start,
        calendar.month_end_date,
        calendar.is_complete_month
    from first_active
    inner join calendar
        on calendar.month_start >= {{ month_start('first_active.first_active_date') }}

),

spell_months as (

    select
        spells.customer_id,
        spells.basis,
        calendar.month_start,
        {{ dbt.bool_or('calendar.month_end_date between spells.spell_start_date and spells.spell_end_date') }}
            as is_active_end
    from spells
    inner join calendar
        on
            spells.spell_end_date >= calendar.month_start
            and spells.spell_start_date <= calendar.month_end_date
    group by spells.customer_id, spells.basis, calendar.month_start

),

segment_months as (

    select
        segments.customer_id,
        calendar.month_start,
        sum(
            segments.covered_arr * (
                {{ days_between(
                    'greatest(segments.segment_start_date, calendar.month_start)',
                    'least(segments.segment_end_date, calendar.month_end_date)'
                ) }} + 1
            )
        ) as covered_arr_days,
        max(
            case
                when calendar.month_end_date between segments.segment_start_date and segments.segment_end_date
                    then segments.carried_arr
            end
        ) as arr_end
    from segments
    inner join calendar
        on
            segments.segment_end_date >= calendar.month_start
            and segments.segment_start_date <= calendar.month_end_date
    group by segments.customer_id, calendar.month_start

),

purchase_months as (

    select
        customer_id,
        order_month as month_start,
        count(*) as purchases,
        sum(net_revenue) as net_revenue
    from purchases
    group by customer_id, order_month

),

joined as (

    select
        grid.customer_id,
        grid.basis,
        grid.month_start,
        grid.month_end_date,
        grid.is_complete_month,
        grid.first_active_date,
        spell_months.customer_id is not null as is_active_in_month,
        coalesce(spell_months.is_active_end, false) as is_active_end,
        case when grid.basis = 'contract' then coalesce(segment_months.arr_end, 0) end as arr_end,
        case when grid.basis = 'order' then coalesce(purchase_months.purchases, 0) end as purchases,
        case when grid.basis = 'order' then coalesce(purchase_months.net_revenue, 0) end as net_revenue,
        case
            when grid.basis = 'contract'
                then coalesce({{ daily_recognised_revenue('segment_months.covered_arr_days') }}, 0)
        end as recognised_contract_revenue
    from grid
    left join spell_months
        on
            grid.customer_id = spell_months.customer_id
            and grid.basis = spell_months.basis
            and grid.month_start = spell_months.month_start
    left join segment_months
        on
            grid.customer_id = segment_months.customer_id
            and grid.month_start = segment_months.month_start
            and grid.basis = 'contract'
    left join purchase_months
        on
            grid.customer_id = purchase_months.customer_id
            and grid.month_start = purchase_months.month_start
            and grid.basis = 'order'

),

final as (

    select
        customer_id,
        basis,
        month_start,
        month_end_date,
        is_complete_month,
        first_active_date,
        is_active_end,
        is_active_in_month,
        arr_end,
        purchases,
        net_revenue,
        recognised_contract_revenue,
        -- The state on the month's first day − 1 is the previous month's end state; the
        -- grid starts at the first active month, before which nobody is active.
        coalesce(
            lag(is_active_end) over (partition by customer_id, basis order by month_start),
            false
        ) as is_active_start,
        case
            when basis = 'contract'
                then coalesce(lag(arr_end) over (partition by customer_id, basis order by month_start), 0)
        end as arr_start
    from joined

)

select * from final
