{#- A customer's contract value over time as piecewise-constant segments:
    between two consecutive change days the covered annual value (sum over the contracts
    covering the day) is constant. Segments lie within contract spells; on a bridged gap
    day the covered value is 0 and the carried value is the last covered day's. MRR is
    arr / 12; recognised revenue accrues on covered days only. -#}
with coverage as (

    select * from {{ ref('int_contract_coverage') }}

),

spells as (

    select * from {{ ref('int_activity_spells') }}
    where basis = 'contract'

),

changes as (

    select
        customer_id,
        start_date as change_date,
        arr as arr_change,
        1 as contracts_change
    from coverage
    union all
    select
        customer_id,
        {{ add_days('covered_until_date', 1) }} as change_date,
        -arr as arr_change,
        -1 as contracts_change
    from coverage

),

daily_changes as (

    select
        customer_id,
        change_date,
        sum(arr_change) as arr_change,
        sum(contracts_change) as contracts_change
    from changes
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
        ) as covering_contracts
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
        segments.covering_contracts
    from segments
    inner join spells
        on
            segments.customer_id = spells.customer_id
            and segments.segment_start_date between spells.spell_start_date and spells.spell_end_date

),

final as (

    select
        customer_id,
        spell_number,
        segment_start_date,
        segment_end_date,
        covered_arr,
        covering_contracts = 0 as is_bridged_gap,
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

)

select * from final
