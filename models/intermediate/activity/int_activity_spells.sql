{#- Relationship spells on both bases: the maximal runs of days on which a
    customer is active, cut at A, with what ended each spell that ended before A. -#}
with purchases as (

    select * from {{ ref('int_purchases') }}

),

coverage as (

    select * from {{ ref('int_contract_coverage') }}

),

reasons as (

    select * from {{ ref('cancellation_reasons') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

order_intervals as (

    {#- A purchase on day p makes the customer active on p … p + N − 1. -#}
    select distinct
        purchases.customer_id,
        purchases.order_date as interval_start,
        least(
            {{ add_days('purchases.order_date', var('order_inactivity_days') ~ ' - 1') }},
            params.as_of_date
        ) as interval_end
    from purchases
    cross join params

),

order_intervals_numbered as (

    {{ number_spells('order_intervals', 0) }}

),

order_spells as (

    select
        customer_id,
        'order' as basis,
        spell_number,
        min(interval_start) as spell_start_date,
        max(interval_end) as spell_end_date,
        cast(null as {{ dbt.type_string() }}) as ending_contract_id,
        cast(null as {{ dbt.type_string() }}) as ending_cancellation_id,
        cast(null as {{ dbt.type_string() }}) as ending_reason_code
    from order_intervals_numbered
    group by customer_id, spell_number

),

contract_intervals as (

    select
        customer_id,
        contract_id,
        cancellation_id,
        cancellation_requested_at,
        reason_code,
        start_date as interval_start,
        covered_until_date as interval_end
    from coverage

),

contract_intervals_numbered as (

    {{ number_spells('contract_intervals', var('contract_grace_days')) }}

),

contract_spell_bounds as (

    select
        *,
        max(interval_end) over (partition by customer_id, spell_number) as spell_end_date,
        min(interval_start) over (partition by customer_id, spell_number) as spell_start_date
    from contract_intervals_numbered

),

contract_spell_endings as (

    {#- The contract whose coverage ended the spell; several ending that day: the one
        with the latest cancellation request, then the highest contract_id. -#}
    select
        *,
        row_number() over (
            partition by customer_id, spell_number
            order by cancellation_requested_at desc nulls last, contract_id desc
        ) as ending_rank
    from contract_spell_bounds
    where interval_end = spell_end_date

),

contract_spells as (

    select
        customer_id,
        'contract' as basis,
        spell_number,
        spell_start_date,
        spell_end_date,
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
        spells.customer_id,
        spells.basis,
        spells.spell_number,
        spells.spell_start_date,
        spells.spell_end_date,
        spells.spell_end_date = params.as_of_date as is_active_on_as_of,
        -- The first inactive day after a spell that ended before A.
        case
            when spells.spell_end_date < params.as_of_date
                then {{ add_days('spells.spell_end_date', 1) }}
        end as churn_date,
        case when spells.spell_end_date < params.as_of_date then spells.ending_contract_id end
            as churn_contract_id,
        case
            when spells.spell_end_date >= params.as_of_date then null
            when spells.ending_cancellation_id is null then 'silent'
            when reasons.churn_type is null then 'unknown'
            else reasons.churn_type
        end as churn_type,
        case
            when spells.spell_end_date >= params.as_of_date then null
            when spells.ending_cancellation_id is null then 'none'
            else coalesce(spells.ending_reason_code, 'unspecified')
        end as churn_reason_code,
        case when spells.spell_end_date < params.as_of_date then reasons.is_retainable end
            as churn_is_retainable
    from spells
    cross join params
    left join reasons
        on spells.ending_reason_code = reasons.reason_code

)

select * from final
