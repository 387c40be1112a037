{#- Every raw row is either staged or quarantined, never both, never neither.
    Returns the tables whose counts do not add up. -#}
{#- Every raw table of the sources YAML (macros/raw_tables.sql). -#}
{%- set tables = raw_tables() | map(attribute='name') | list -%}

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
