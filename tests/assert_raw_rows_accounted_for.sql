{#- SPEC 8: every raw row is either staged or quarantined, never both, never neither.
    Returns the tables whose counts do not add up. -#}
{%- set tables = ['customers', 'orders', 'contracts', 'cancellations', 'nps_responses', 'retention_actions', 'marketing_spend'] -%}

with

{% for table in tables %}
{{ table }} as (

    select
        '{{ table }}' as source_table,
        (select count(*) from {{ source('shop', table) }}) as raw_rows,
        (select count(*) from {{ ref('stg_shop__' ~ table) }}) as staged_rows,
        (
            select count(*) from {{ ref('quarantined_rows') }}
            where source_table = '{{ table }}'
        ) as quarantined_rows

),
{% endfor %}

counts as (

    {% for table in tables -%}
    select * from {{ table }}
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}

)

select * from counts
where raw_rows <> staged_rows + quarantined_rows
