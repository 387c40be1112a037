{#- Every raw row that did not make it into staging, with the reason. Together with the
    staging models this accounts for every raw row: raw = staged + quarantined
    (tests/assert_raw_rows_accounted_for.sql). -#}
{%- set tables = [
    ['customers', "customer_id"],
    ['orders', "order_id"],
    ['contracts', "contract_id"],
    ['cancellations', "cancellation_id"],
    ['nps_responses', "response_id"],
    ['retention_actions', "action_id"],
    ['marketing_spend', "cast(spend_month as " ~ dbt.type_string() ~ ") || '|' || acquisition_channel"],
] -%}

with

{% for table, key_expression in tables %}
{{ table }} as (

    select
        '{{ table }}' as source_table,
        {{ key_expression }} as row_key,
        rejection_reason as reason,
        raw_row,
        _loaded_at
    from {{ ref('base_shop__' ~ table) }}
    where rejection_reason is not null

),
{% endfor %}

final as (

    {% for table, _ in tables -%}
    select * from {{ table }}
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}

)

select * from final
