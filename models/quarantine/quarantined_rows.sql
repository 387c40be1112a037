{#- Every raw row that did not make it into staging, with the reason. Together with the
    staging models this accounts for every raw row: raw = staged + quarantined
    (tests/assert_raw_rows_accounted_for.sql). One part per raw table of the sources YAML
    (macros/raw_tables.sql), keyed by its meta key. -#}
{%- set tables = raw_tables() -%}

with

{% for table in tables %}
{{ table.name }} as (

    select
        '{{ table.name }}' as source_table,
        {{ raw_key_expression(table) }} as row_key,
        rejection_reason as reason,
        raw_row,
        _loaded_at
    from {{ ref('base_shop__' ~ table.name) }}
    where rejection_reason is not null

),
{% endfor %}

final as (

    {% for table in tables -%}
    select * from {{ table.name }}
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}

)

select * from final
