{#- Relationship spells on both bases as the data known on A has them, not cut at A: the
    maximal runs of days on which a customer is active, each with its last day (null: a
    contract that runs on) and what ends it. The view int_activity_spells cuts them at A.

    Only the data known on A makes a spell (purchases and contracts on or before A,
    cancellations requested by then), so a customer's spells change only when the
    customer's data does or A passes one of its dates, never because A moves on
    (docs/decisions.md). Incremental per customer (macros/incremental.sql, docs/operations.md
    "Incremental builds"): a run writes the spells of the changed customers
    (shared_changed_customers_plan); its pre-hook deletes their rows first (a customer can
    lose a spell), and the run appends. -#}
{{ per_customer_incremental_config() }}
{%- set plan = shared_changed_customers_plan() %}
{#- A contract that runs on (no end) stands for one ending on the last day a date can have,
    so that the windows below order it after every other; its spell gets no end again. -#}
{%- set runs_on = date_literal('9999-12-31') %}

with
{{ changed_customers_cte(plan) }}

purchases as (

    select * from {{ ref('int_purchases') }}
    {{- only_changed_customers(plan) }}

),

coverage as (

    select * from {{ ref('int_contract_coverage_uncut') }}
    {{- only_changed_customers(plan) }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

purchase_days as (

    {#- A purchase on day p makes the customer active on p … p + N − 1, so two purchase
        days p < q are in one spell when q − p ≤ N: a purchase starts a spell when the
        previous purchase is more than N days before it, and ends one when the next is
        more than N days after it. One sort of the purchases, no merging of intervals;
        purchases on the same day need no de-duplicating (0 days apart). -#}
    select
        customer_id,
        order_date,
        coalesce(
            {{ days_between(
                'lag(order_date) over (partition by customer_id order by order_date)', 'order_date'
            ) }} > {{ var('order_inactivity_days') }},
            true
        ) as is_spell_start,
        coalesce(
            {{ days_between(
                'order_date', 'lead(order_date) over (partition by customer_id order by order_date)'
            ) }} > {{ var('order_inactivity_days') }},
            true
        ) as is_spell_end
    from purchases

),

order_spell_bounds as (

    {#- The first and last purchases of each spell (one row when they are the same
        purchase), in order: a spell's last purchase is its first when that is also an end,
        else the next row (a start sorts before an end on the same day). -#}
    select
        customer_id,
        order_date,
        is_spell_start,
        is_spell_end,
        sum(case when is_spell_start then 1 else 0 end) over (
            partition by customer_id
            order by order_date, is_spell_end
            rows between unbounded preceding and current row
        ) as spell_number,
        lead(order_date) over (
            partition by customer_id
            order by order_date, is_spell_end
        ) as next_bound_date
    from purchase_days
    where is_spell_start or is_spell_end

),

order_spells as (

    select
        order_spell_bounds.customer_id,
        'order' as basis,
        order_spell_bounds.spell_number,
        order_spell_bounds.order_date as spell_start_date,
        {{ add_days(
            'case when order_spell_bounds.is_spell_end then order_spell_bounds.order_date'
            ~ ' else order_spell_bounds.next_bound_date end',
            var('order_inactivity_days') ~ ' - 1'
        ) }} as uncut_end_date,
        cast(null as {{ dbt.type_string() }}) as ending_contract_id,
        cast(null as {{ dbt.type_string() }}) as ending_cancellation_id,
        cast(null as {{ dbt.type_string() }}) as ending_reason_code
    from order_spell_bounds
    where order_spell_bounds.is_spell_start

),

contract_intervals as (

    select
        customer_id,
        contract_id,
        cancellation_id,
        cancellation_requested_at,
        reason_code,
        start_date as interval_start,
        coalesce(coverage_end_date, {{ runs_on }}) as interval_end
    from coverage

),

contract_intervals_numbered as (

    {{ number_spells('contract_intervals', var('contract_grace_days'), 'contract_id') }}

),

contract_spell_endings as (

    {#- The contract whose coverage ended the spell: the latest covered day; several
        ending that day: the one with the latest cancellation request, then the highest
        contract_id. -#}
    select
        *,
        min(interval_start) over (partition by customer_id, spell_number) as spell_start_date,
        row_number() over (
            partition by customer_id, spell_number
            order by interval_end desc, cancellation_requested_at desc nulls last, contract_id desc
        ) as ending_rank
    from contract_intervals_numbered

),

contract_spells as (

    select
        customer_id,
        'contract' as basis,
        spell_number,
        spell_start_date,
        nullif(interval_end, {{ runs_on }}) as uncut_end_date,
        contract_id as ending_contract_id,
        cancellation_id as ending_cancellation_id,
        reason_code as ending_reason_code
    from contract_spell_endings
    where ending_rank = 1

),

spells as (

    select * from order_spells
    union all
    select * from contract_spells

),

final as (

    select
        spells.*,
        -- The run that wrote the row (its watermark: macros/incremental.sql).
        {{ run_stamp_columns('params') }}
    from spells
    cross join params

)

select * from final
