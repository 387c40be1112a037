{#- The closed part of the customer-period fact (macros/customer_periods.sql): the periods
    before A's. Incremental (macros/incremental.sql, README "Incremental builds"): a run
    writes the rows of the customers whose data changed since the previous run and of the
    periods that closed since (delete+insert on the grain; the pre-hook deletes the changed
    customers' rows first). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['customer_id', 'basis', 'period_grain', 'period_start'],
    on_schema_change='fail',
    pre_hook="{{ changed_customers_pre_hook() }}",
) }}
{%- set plan = changed_customers_plan() %}
{%- set scope = none if plan.full else {
    'changed_customers': plan.changed_customers, 'previous_as_of': plan.previous_as_of
} %}

with fact as (

    {{ customer_period_rows('closed', scope) }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

final as (

    select
        fact.*,
        {{ built_columns('params') }}
    from fact
    cross join params

)

select * from final
