{#- One row per customer, basis and month from the customer's first active month on that
    basis through A's month: the end state of the month (on min(month end, A)), the start
    state (the previous month's end state: the state on the month's first day − 1),
    whether active on any day of the month, and the month's revenue on that basis (net
    order revenue on the order basis, recognised contract revenue on the contract basis).
    Incremental (macros/incremental.sql): a run rebuilds the rows of the customers in scope
    and the rows of the months from the previous A's month on. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    rebuild_scope={'customer': 'customer_id', 'month': 'month_start'},
    on_schema_change='fail',
) }}
-- depends_on: {{ ref('int_incremental_scope') }}
-- depends_on: {{ ref('int_incremental_customers') }}

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

    select
        *,
        -- The start state's day: the month's first day − 1.
        {{ add_days('month_start', -1) }} as start_state_date
    from {{ ref('int_calendar_months') }}

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
    {{- where_in_rebuild_scope({'customer': 'first_active.customer_id', 'month': 'calendar.month_start'}) }}

),

spell_months as (

    {#- The spells that touch the month or the day before it (the start state's day). The
        start state is read here rather than from the previous month's row: a window over
        every customer-month costs far more than this join. -#}
    select
        spells.customer_id,
        spells.basis,
        calendar.month_start,
        {{ dbt.bool_or('calendar.start_state_date between spells.spell_start_date and spells.spell_end_date') }}
            as is_active_start,
        {{ dbt.bool_or('calendar.month_end_date between spells.spell_start_date and spells.spell_end_date') }}
            as is_active_end,
        {{ dbt.bool_or('spells.spell_end_date >= calendar.month_start') }} as is_active_in_month
    from spells
    inner join calendar
        on
            spells.spell_end_date >= calendar.start_state_date
            and spells.spell_start_date <= calendar.month_end_date
    {{- where_in_rebuild_scope({'customer': 'spells.customer_id', 'month': 'calendar.month_start'}) }}
    group by spells.customer_id, spells.basis, calendar.month_start

),

segment_months as (

    {#- Likewise the segments that touch the month or the day before it: the carried value
        on that day is the start MRR state (a segment that only touches the day before adds
        0 covered days). -#}
    select
        segments.customer_id,
        calendar.month_start,
        sum(
            segments.covered_arr * greatest(
                {{ days_between(
                    'greatest(segments.segment_start_date, calendar.month_start)',
                    'least(segments.segment_end_date, calendar.month_end_date)'
                ) }} + 1,
                0
            )
        ) as covered_arr_days,
        max(
            case
                when calendar.start_state_date between segments.segment_start_date and segments.segment_end_date
                    then segments.carried_arr
            end
        ) as arr_start,
        max(
            case
                when calendar.month_end_date between segments.segment_start_date and segments.segment_end_date
                    then segments.carried_arr
            end
        ) as arr_end
    from segments
    inner join calendar
        on
            segments.segment_end_date >= calendar.start_state_date
            and segments.segment_start_date <= calendar.month_end_date
    {{- where_in_rebuild_scope({'customer': 'segments.customer_id', 'month': 'calendar.month_start'}) }}
    group by segments.customer_id, calendar.month_start

),

purchase_months as (

    select
        customer_id,
        order_month as month_start,
        count(*) as purchases,
        sum(net_revenue) as net_revenue
    from purchases
    {{- where_in_rebuild_scope({'customer': 'customer_id', 'month': 'order_month'}) }}
    group by customer_id, order_month

),

final as (

    {#- The grid starts at the first active month, before which nobody is active: the
        first month's start state is inactive with no MRR. -#}
    select
        grid.customer_id,
        grid.basis,
        grid.month_start,
        grid.month_end_date,
        grid.is_complete_month,
        grid.first_active_date,
        coalesce(spell_months.is_active_end, false) as is_active_end,
        coalesce(spell_months.is_active_in_month, false) as is_active_in_month,
        case when grid.basis = 'contract' then coalesce(segment_months.arr_end, 0) end as arr_end,
        case when grid.basis = 'order' then coalesce(purchase_months.purchases, 0) end as purchases,
        case when grid.basis = 'order' then coalesce(purchase_months.net_revenue, 0) end as net_revenue,
        case
            when grid.basis = 'contract'
                then coalesce({{ daily_recognised_revenue('segment_months.covered_arr_days') }}, 0)
        end as recognised_contract_revenue,
        coalesce(spell_months.is_active_start, false) as is_active_start,
        case when grid.basis = 'contract' then coalesce(segment_months.arr_start, 0) end as arr_start
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

)

select * from final
