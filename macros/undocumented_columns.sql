{#- House style: a model is not complete without documentation. Returns [model, column]
    pairs for every model without a description ('(model description)') and every built
    column without a described YAML entry. Introspects the built relations, so it runs at
    execution time (tests/assert_every_model_and_column_documented.sql). A window column
    `<stem>_W`, W in the var repeat_windows_days, is documented by the YAML entry of the same
    stem and another window (`eligible_30` documents `eligible_7`): the YAML lists the
    default windows' columns. -#}
{% macro undocumented_columns() %}
{%- set problems = [] -%}
{%- set windows = var('repeat_windows_days') | map('string') | list -%}
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
                {%- set name = column.name | lower -%}
                {%- set parts = name.rsplit('_', 1) -%}
                {%- set window = namespace(documented=false) -%}
                {%- if parts | length == 2 and parts[1] in windows -%}
                    {%- for other in documented
                        if other.startswith(parts[0] ~ '_') and other[parts[0] | length + 1:].isdigit() -%}
                        {%- set window.documented = true -%}
                    {%- endfor -%}
                {%- endif -%}
                {%- if name not in documented and not window.documented -%}
                    {%- do problems.append([node.name, column.name]) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif -%}

{{ return(problems) }}
{% endmacro %}
