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

{% macro materialized() -%}
    {{ return(adapter.dispatch('materialized', 'retention')()) }}
{%- endmacro %}

{% macro default__materialized() -%}
{%- endmacro %}

{% macro duckdb__materialized() -%}
    {#- Computes the CTE first and keeps its rows: the planner cannot move a filter inside it
        above a join, nor a join below it. For a small filtered slice of a large table that
        the rest of the query joins on a range. -#}
    materialized
{%- endmacro %}
