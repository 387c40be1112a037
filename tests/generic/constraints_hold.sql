{#- The model's contract constraints (not_null and check, on its columns and on the model),
    checked as a query. DuckDB enforces them when it writes the table, so there the test is
    disabled; an engine that does not (Spark on Parquet) runs it instead, so the rules are
    declared once, in the contract, and hold on every engine. Like the constraint, a check
    whose expression is null passes. -#}
{% test constraints_hold(model) %}
{{ config(enabled=(target.type != 'duckdb')) }}
{%- set rules = [] %}
{%- if execute %}
    {%- set node = graph.nodes.values()
        | selectattr('resource_type', 'equalto', 'model')
        | selectattr('name', 'equalto', model.identifier)
        | first %}
    {%- for column_name, column in node.columns.items() %}
        {%- for constraint in column.constraints %}
            {%- if constraint.type == 'not_null' %}
                {%- do rules.append(column_name ~ ' is not null') %}
            {%- elif constraint.type == 'check' %}
                {%- do rules.append(constraint.expression) %}
            {%- endif %}
        {%- endfor %}
    {%- endfor %}
    {%- for constraint in node.constraints if constraint.type == 'check' %}
        {%- do rules.append(constraint.expression) %}
    {%- endfor %}
{%- endif %}

select *
from {{ model }}
where false
{%- for rule in rules %}
    or not coalesce(({{ rule }}), true)
{%- endfor %}

{% endtest %}
