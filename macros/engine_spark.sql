{#- Apache Spark's implementations of the dispatched macros (README "Scaling out",
    docs/spark.md). Each default__ (DuckDB's SQL) lives beside its macro in the file named
    above the implementation; these are the same definitions in Spark SQL, gathered in one
    file while the port is under way. -#}

{#- parsing.sql -#}
{% macro spark__matches_pattern(expression, pattern) -%}
    {#- rlike finds the pattern anywhere: anchored, it must match the whole text. -#}
    ({{ expression }} rlike '^(?:{{ pattern }})$')
{%- endmacro %}

{% macro spark__parse_timestamp(column) -%}
    {#- Spark reads the offset of an ISO 8601 text and, without one, the session time zone
        (UTC, profiles.yml): the instant, shown in UTC. -#}
    try_cast({{ text_if_form(column, 'timestamp') }} as timestamp)
{%- endmacro %}

{% macro spark__to_local_date(utc_timestamp) -%}
    to_date(from_utc_timestamp({{ utc_timestamp }}, '{{ var("reporting_timezone") }}'))
{%- endmacro %}

{% macro spark__row_record(relation_alias) -%}
    struct({{ relation_alias }}.*)
{%- endmacro %}

{% macro spark__row_as_text(relation_alias) -%}
    to_json({{ relation_alias }})
{%- endmacro %}

{#- calendar.sql -#}
{% macro spark__month_starts(first_month, last_month) -%}
    {#- sequence() fails when the bounds are in the wrong order: no row then, as on DuckDB. -#}
    explode(case when cast({{ first_month }} as date) <= cast({{ last_month }} as date) then sequence(
        cast({{ first_month }} as date), cast({{ last_month }} as date), interval 1 month
    ) end)
{%- endmacro %}

{#- metrics.sql -#}
{% macro spark__value_at_first(value, order_by) -%}
    min_by({{ value }}, {{ order_by }})
{%- endmacro %}

{% macro spark__value_at_last(value, order_by) -%}
    max_by({{ value }}, {{ order_by }})
{%- endmacro %}

{% macro spark__last_non_null(value) -%}
    {#- last(expr, ignoreNull), a window function with OVER in every Spark version. -#}
    last({{ value }}, true)
{%- endmacro %}

{#- base_model.sql. The project's incremental strategy (replace the rows of the customers in
    scope) has no Spark implementation yet: until it lands (docs/spark.md, "Decisions")
    a base model is rebuilt in full on Spark, which gives the same rows. -#}
{% macro spark__base_model_incremental_config(source_table, key_column) -%}
    {{ config(materialized='table') }}
{%- endmacro %}
