{#- The customers whose data may have changed since the previous run (changed_customers in
    macros/incremental.sql), found once per run for the models written per customer
    (int_contract_coverage_uncut, int_activity_spells_uncut,
    int_contract_arr_segments_uncut, int_customer_periods_closed, int_purchase_summary),
    which would otherwise each find them twice (in their pre-hook and their body). Each row
    says how the set was planned; a model uses the set only when its own table would plan
    the run alike, else it rebuilds in full (shared_changed_customers_plan). Rebuilt every
    run: its pre-hook empties it once its plan has read the previous run's stamps. -#}
{{ incremental_config(none, "{{ 'delete from ' ~ this if is_incremental() }}") }}
{%- set plan = changed_customers_plan() %}

with params as (

    select * from {{ ref('int_reporting_params') }}

),

changed_customers as (

    {%- if plan.full %}
    select
        cast(null as {{ dbt.type_string() }}) as customer_id,
        cast(null as date) as changed_from_date
    where false
    {%- else %}
    {{ plan.changed_customers }}
    {%- endif %}

),

final as (

    {#- At least one row, so that the next run finds this one's stamps: the customer is
        null when the run names none (a full rebuild, or no change). #}
    select
        changed_customers.customer_id,
        changed_customers.changed_from_date,
        {%- if plan.full %}
        cast(null as {{ dbt.type_bigint() }}) as changed_since_load_id,
        cast(null as date) as lookback_from,
        cast(null as date) as previous_as_of_date,
        {%- else %}
        cast({{ plan.watermark }} as {{ dbt.type_bigint() }}) as changed_since_load_id,
        {{ date_literal(plan.lookback_from) if plan.lookback_from is not none else 'cast(null as date)' }} as lookback_from,
        {{ date_literal(plan.previous_as_of) }} as previous_as_of_date,
        {%- endif %}
        {{ run_stamp_columns('params') }}
    from params
    left join changed_customers on true

)

select * from final
