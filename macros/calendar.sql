{#- Calendar helpers. -#}

{% macro month_starts(first_month, last_month) -%}
    {#- A select-list expression: one row per first day of a month from first_month through
        last_month (both first days of a month); no row when either is null or first_month
        is later. -#}
    {{ return(adapter.dispatch('month_starts', 'retention')(first_month, last_month)) }}
{%- endmacro %}

{% macro default__month_starts(first_month, last_month) -%}
    {#- Spark: a generator in the select list. -#}
    explode(sequence(cast({{ first_month }} as date), cast({{ last_month }} as date), interval 1 month))
{%- endmacro %}

{% macro duckdb__month_starts(first_month, last_month) -%}
    cast(unnest(generate_series(
        cast({{ first_month }} as {{ dbt.type_timestamp() }}),
        cast({{ last_month }} as {{ dbt.type_timestamp() }}),
        interval 1 month
    )) as date)
{%- endmacro %}

{% macro day_series(first_day, last_day) -%}
    {#- A select-list expression: one row per day from first_day through last_day. -#}
    {{ return(adapter.dispatch('day_series', 'retention')(first_day, last_day)) }}
{%- endmacro %}

{% macro default__day_series(first_day, last_day) -%}
    {#- Spark: a generator in the select list. -#}
    explode(sequence(cast({{ first_day }} as date), cast({{ last_day }} as date), interval 1 day))
{%- endmacro %}

{% macro duckdb__day_series(first_day, last_day) -%}
    cast(unnest(generate_series(
            cast({{ first_day }} as {{ dbt.type_timestamp() }}),
            cast({{ last_day }} as {{ dbt.type_timestamp() }}),
            interval 1 day
        )) as date)
{%- endmacro %}
