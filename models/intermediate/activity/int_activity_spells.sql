{#- Relationship spells on both bases, cut at A: int_activity_spells_uncut's spells with
    their last day at most A and, for those that ended before A, the churn and what caused
    it. A view: the cut changes with A for every spell still running, while the spells
    themselves change only with a customer's data (they are stored per customer). -#}
{{ config(materialized='view') }}

with spells as (

    select * from {{ ref('int_activity_spells_uncut') }}

),

reasons as (

    select * from {{ ref('cancellation_reasons') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

cut as (

    select
        spells.*,
        params.as_of_date,
        -- A spell that has not ended by A (or runs on) is cut at A.
        {{ cut_at('spells.uncut_end_date', 'params.as_of_date') }} as spell_end_date
    from spells
    cross join params

),

final as (

    select
        cut.customer_id,
        cut.basis,
        cut.spell_number,
        cut.spell_start_date,
        cut.spell_end_date,
        cut.spell_end_date = cut.as_of_date as is_active_on_as_of,
        -- The first inactive day after a spell that ended before A.
        case
            when cut.spell_end_date < cut.as_of_date
                then {{ add_days('cut.spell_end_date', 1) }}
        end as churn_date,
        case when cut.spell_end_date < cut.as_of_date then cut.ending_contract_id end
            as churn_contract_id,
        case
            when cut.spell_end_date >= cut.as_of_date then null
            when cut.ending_cancellation_id is null then 'silent'
            when reasons.churn_type is null then 'unknown'
            else reasons.churn_type
        end as churn_type,
        case
            when cut.spell_end_date >= cut.as_of_date then null
            when cut.ending_cancellation_id is null then 'none'
            else coalesce(cut.ending_reason_code, 'unspecified')
        end as churn_reason_code,
        case when cut.spell_end_date < cut.as_of_date then reasons.is_retainable end
            as churn_is_retainable
    from cut
    left join reasons
        on cut.ending_reason_code = reasons.reason_code

)

select * from final
