{#- The closed part of the customer-period fact (macros/customer_periods.sql): the periods
    before A's. Incremental (macros/incremental.sql, docs/operations.md "Incremental builds"): a run
    writes the rows of the customers whose changes since the previous run reach a closed
    period (closed_customer_periods_plan) and of the periods that closed since; its
    pre-hook deletes those rows first (customer_periods_pre_hook), and the run appends
    them. -#}
{{ incremental_config(none, "{{ customer_periods_pre_hook() }}") }}
{#- Its 26M customer ids (at 1M customers) are written as they are: cheaper than DuckDB's
    dictionary compression (macros/column_compression.sql). -#}
{{ config(meta={'column_compression': {'customer_id': 'uncompressed'}}) }}
{%- set plan = closed_customer_periods_plan() %}
{%- set scope = none if plan.full else {
    'changed_customers': plan.changed_customers, 'previous_as_of': plan.previous_as_of,
    'as_of_date': plan.as_of_date,
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
        -- The run that wrote the row (its watermark: macros/incremental.sql).
        {{ run_stamp_columns('params') }}
    from fact
    cross join params

)

select * from final
