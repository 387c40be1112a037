{#- Planner hints that only some engines understand; elsewhere they render as nothing. -#}

{% macro not_materialized() -%}
    {{ return(adapter.dispatch('not_materialized', 'retention')()) }}
{%- endmacro %}

{% macro default__not_materialized() -%}
{%- endmacro %}

{% macro duckdb__not_materialized() -%}
    {#- DuckDB materialises a CTE that is read more than once. For a CTE that is a cheap
        scan (or a scan and a projection) of a large table, reading it twice costs less
        than writing it out and reading it back. -#}
    not materialized
{%- endmacro %}
