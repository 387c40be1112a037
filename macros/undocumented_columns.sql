{#- House style: a model is not complete without documentation. Returns [model, column]
    pairs for every model without a description ('(model description)') and every built
    column without a described YAML entry. Introspects the built relations, so it runs at
    execution time (tests/assert_every_model_and_column_documented.sql). -#}
{% macro undocumented_columns() %}
{%- set problems = [] -%}
{%- if execute -%}
    {%- for node in graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') -%}
        {%- if not node.description | trim -%}
            {%- do problems.append([node.name, '(model description)']) -%}
        {%- endif -%}
        {%- set relation = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) -%}
        {%- if relation is not none -%}
            {%- set documented = [] -%}
            {%- for name, column in node.columns.items() if column.description | trim -%}
                {%- do documented.append(name | lower) -%}
            {%- endfor -%}
            {%- for column in adapter.get_columns_in_relation(relation) -%}
                {%- if column.name | lower not in documented -%}
                    {%- do problems.append([node.name, column.name]) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif -%}

{{ return(problems) }}
{% endmacro %}
