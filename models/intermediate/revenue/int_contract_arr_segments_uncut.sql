{#- A customer's contract value over time as piecewise-constant segments, as the data
    known on A has them, not cut at A: between two consecutive change days the covered
    annual value (sum over the contracts covering the day) is constant, and so is the
    number of distinct products covering it. Segments lie within contract spells
    (int_activity_spells_uncut) and cover every day of them; on a bridged gap day the
    covered value is 0 and the carried value is the last covered day's. The last segment of
    a contract that runs on has no end. The view int_contract_arr_segments cuts them at A.
    MRR is arr / 12; recognised revenue accrues on covered days only.

    Incremental per customer like int_activity_spells_uncut (macros/incremental.sql): a run
    writes the segments of the changed customers; its pre-hook deletes their rows first. -#}
{{ per_customer_incremental_config() }}
{%- set plan = shared_changed_customers_plan() %}

with
{{ changed_customers_cte(plan) }}

coverage as (

    select * from {{ ref('int_contract_coverage_uncut') }}
    {{- only_changed_customers(plan) }}

),

spells as (

    select * from {{ ref('int_activity_spells_uncut') }}
    where
        basis = 'contract'
    {{- only_changed_customers(plan, 'and') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

changes as (

    select
        customer_id,
        product,
        start_date as change_date,
        arr as arr_change,
        1 as contracts_change
    from coverage
    union all
    select
        customer_id,
        product,
        {{ add_days('coverage_end_date', 1) }} as change_date,
        -arr as arr_change,
        -1 as contracts_change
    from coverage
    -- A contract that runs on never changes the value again (a change without a date
    -- would also drop out below, as its segment lies in no spell).
    where coverage_end_date is not null

),

product_coverage as (

    {#- How many contracts of the product cover the customer after each change (the
        changes of one day in any order: only the day's net change counts below). -#}
    select
        *,
        sum(contracts_change) over (
            partition by customer_id, product
            order by change_date
            rows between unbounded preceding and current row
        ) as product_contracts
    from changes

),

daily_changes as (

    {#- A product counts from the day it goes from no covering contract to some, until
        the day it goes back to none; summed over a day's changes the steps telescope to
        the day's net step. -#}
    select
        customer_id,
        change_date,
        sum(arr_change) as arr_change,
        sum(contracts_change) as contracts_change,
        sum(
            case
                when product is null then 0
                when product_contracts > 0 and product_contracts - contracts_change <= 0 then 1
                when product_contracts <= 0 and product_contracts - contracts_change > 0 then -1
                else 0
            end
        ) as products_change
    from product_coverage
    group by customer_id, change_date

),

segments as (

    select
        customer_id,
        change_date as segment_start_date,
        {{ add_days(
            'lead(change_date) over (partition by customer_id order by change_date)', -1
        ) }} as segment_end_date,
        sum(arr_change) over (
            partition by customer_id
            order by change_date
            rows between unbounded preceding and current row
        ) as covered_arr,
        sum(contracts_change) over (
            partition by customer_id
            order by change_date
            rows between unbounded preceding and current row
        ) as covering_contracts,
        sum(products_change) over (
            partition by customer_id
            order by change_date
            rows between unbounded preceding and current row
        ) as covering_products
    from daily_changes

),

segments_in_spells as (

    {#- The segment after a spell's last covered day (value 0) is not in any spell and
        drops out here; a gap segment inside a spell is a bridged gap. -#}
    select
        segments.customer_id,
        spells.spell_number,
        segments.segment_start_date,
        segments.segment_end_date,
        segments.covered_arr,
        segments.covering_contracts,
        segments.covering_products
    from segments
    inner join spells
        on
            segments.customer_id = spells.customer_id
            and segments.segment_start_date >= spells.spell_start_date
            and (spells.uncut_end_date is null or segments.segment_start_date <= spells.uncut_end_date)

),

carried as (

    select
        customer_id,
        spell_number,
        segment_start_date,
        segment_end_date,
        covered_arr,
        covering_contracts = 0 as is_bridged_gap,
        covering_products,
        -- On a bridged gap day the last covered day's value carries forward.
        case
            when covering_contracts = 0
                then {{ last_value_ignoring_nulls('case when covering_contracts > 0 then covered_arr end') }} over (
                    partition by customer_id, spell_number
                    order by segment_start_date
                    rows between unbounded preceding and current row
                )
            else covered_arr
        end as carried_arr
    from segments_in_spells

),

final as (

    select
        carried.*,
        -- The run that wrote the row (its watermark: macros/incremental.sql).
        {{ run_stamp_columns('params') }}
    from carried
    cross join params

)

select * from final
