{#- House style: a model is not complete without documentation. One row per model
    without a description and per built column without a described YAML entry. -#}
{%- set problems = undocumented_columns() %}

{%- if problems %}
{%- for model_name, column_name in problems %}
select
    '{{ model_name }}' as model_name,
    '{{ column_name }}' as column_name
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
{%- else %}
select
    cast(null as {{ dbt.type_string() }}) as model_name,
    cast(null as {{ dbt.type_string() }}) as column_name
where false
{%- endif %}
