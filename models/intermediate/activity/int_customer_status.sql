{#- One row per customer and basis with activity on or before A: the customer's status on A
    and on A − 365 (macro customer_status: active / churned / never_active), first active
    day, reactivations and last churn. The one home of a customer's status on a date:
    dim_customers reads it, mart_clv through int_clv_customers, and int_customer_segments
    the first active day (the cohort year); the churn date itself is the spell's
    (int_activity_spells.churn_date). -#}
with spells as (

    select * from {{ ref('int_activity_spells') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

summary as (

    {#- churn_date is set only for spells that ended before A, so the latest one is the
        last churn on or before A. -#}
    select
        spells.customer_id,
        spells.basis,
        min(spells.spell_start_date) as first_active_date,
        {{ dbt.bool_or('spells.is_active_on_as_of') }} as is_active_on_as_of,
        {{ dbt.bool_or(is_active_on('spells', 'params.year_before_as_of_date')) }} as is_active_year_before,
        min(spells.spell_start_date) <= min(params.year_before_as_of_date) as is_active_before_year_before,
        count(*) - 1 as reactivation_count,
        max(spells.churn_date) as last_churn_date,
        {{ value_at_last('spells.churn_type', 'spells.churn_date') }} as last_churn_type
    from spells
    cross join params
    group by spells.customer_id, spells.basis

),

final as (

    select
        customer_id,
        basis,
        first_active_date,
        is_active_on_as_of,
        {{ customer_status('is_active_on_as_of', 'true') }} as status_on_as_of,
        is_active_year_before,
        {{ customer_status('is_active_year_before', 'is_active_before_year_before') }} as status_year_before,
        reactivation_count,
        last_churn_date,
        last_churn_type
    from summary

)

select * from final
