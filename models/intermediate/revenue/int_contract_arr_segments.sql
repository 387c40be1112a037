{#- A customer's contract value over time as piecewise-constant segments inside contract
    spells, cut at A: int_contract_arr_segments_uncut's segments that start on or before A,
    each ending at A at the latest. A view: the cut moves with A, the segments change only
    with a customer's data. -#}
{{ config(materialized='view') }}

with segments as (

    select * from {{ ref('int_contract_arr_segments_uncut') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

final as (

    select
        segments.customer_id,
        segments.spell_number,
        segments.segment_start_date,
        segments.covered_arr,
        segments.is_bridged_gap,
        segments.covering_products,
        segments.carried_arr,
        -- A segment running past A (or without end) is cut at A.
        {{ cut_at('segments.segment_end_date', 'params.as_of_date') }} as segment_end_date
    from segments
    inner join params
        on segments.segment_start_date <= params.as_of_date

)

select * from final
