{#- Date arithmetic used across the intermediate models, in one place. -#}

{% macro add_days(date_expression, days) -%}
    {#- The date plus a number of days (negative: minus). -#}
    {{ return(adapter.dispatch('add_days', 'retention')(date_expression, days)) }}
{%- endmacro %}

{% macro default__add_days(date_expression, days) -%}
    cast({{ dbt.dateadd('day', days, date_expression) }} as date)
{%- endmacro %}

{% macro duckdb__add_days(date_expression, days) -%}
    ({{ date_expression }} + {{ days }})
{%- endmacro %}

{% macro days_between(start_date, end_date) -%}
    {#- end_date − start_date in days. -#}
    {{ dbt.datediff(start_date, end_date, 'day') }}
{%- endmacro %}

{% macro month_start(date_expression) -%}
    {#- The first day of the date's month. -#}
    cast({{ dbt.date_trunc('month', date_expression) }} as date)
{%- endmacro %}

{% macro period_start(grain, date_expression) -%}
    {#- The first day of the date's month, quarter or year (grain: a literal). -#}
    cast({{ dbt.date_trunc(grain, date_expression) }} as date)
{%- endmacro %}

{% macro month_end(date_expression) -%}
    {#- The last day of the date's month. -#}
    {{ add_days('cast(' ~ dbt.dateadd('month', 1, month_start(date_expression)) ~ ' as date)', -1) }}
{%- endmacro %}

{% macro period_end(grain, period_start) -%}
    {#- Last calendar day of the month, quarter or year starting on period_start (a
        column holding the grain name, or a quoted literal). -#}
    {{ add_days(
        'cast(case ' ~ grain
        ~ " when 'month' then " ~ dbt.dateadd('month', 1, period_start)
        ~ " when 'quarter' then " ~ dbt.dateadd('month', 3, period_start)
        ~ ' else ' ~ dbt.dateadd('year', 1, period_start)
        ~ ' end as date)',
        -1
    ) }}
{%- endmacro %}

{% macro cut_at(end_date, cut_date) -%}
    {#- A last day cut at cut_date: end_date when it lies before cut_date, else cut_date (an
        end_date that is null, no end yet, too). The views int_activity_spells,
        int_contract_arr_segments and int_contract_coverage cut the uncut models' last days
        at A with it. -#}
    case when {{ end_date }} < {{ cut_date }} then {{ end_date }} else {{ cut_date }} end
{%- endmacro %}
