{#- Calendar helpers. -#}

{% macro date_series(first_date, last_date, step) -%}
    {#- A select-list expression: one row per date from first_date through last_date, one
        step apart (step: an interval unit, `day` or `month`); no row when either is null
        or first_date is later. -#}
    {{ return(adapter.dispatch('date_series', 'retention')(first_date, last_date, step)) }}
{%- endmacro %}

{% macro default__date_series(first_date, last_date, step) -%}
    {#- Spark: a generator in the select list. sequence() fails when the bounds are in the
        wrong order: no row then, as on DuckDB. -#}
    explode(case when cast({{ first_date }} as date) <= cast({{ last_date }} as date) then sequence(
        cast({{ first_date }} as date), cast({{ last_date }} as date), interval 1 {{ step }}
    ) end)
{%- endmacro %}

{% macro duckdb__date_series(first_date, last_date, step) -%}
    cast(unnest(generate_series(
        cast({{ first_date }} as {{ dbt.type_timestamp() }}),
        cast({{ last_date }} as {{ dbt.type_timestamp() }}),
        interval 1 {{ step }}
    )) as date)
{%- endmacro %}
