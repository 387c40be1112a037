{#- Runs at the start of every dbt invocation (on-run-start, after validate_vars): a raw table
    that is missing, or that lacks a column of the raw contract, stops the run before any
    model is built, with a message naming the table and the column. Without it the build
    would fail later with a binder error inside a base model. The contract is the columns the
    sources YAML lists (models/staging/shop/_shop__sources.yml): the base models read every
    one of them, optional ones included (`retention load` creates absent optional columns as
    nulls). Extra columns are harmless and not reported. -#}
{% macro check_raw_columns() %}
    {%- if execute -%}
    {%- set problems = [] -%}
    {%- for node in graph.sources.values() | sort(attribute='unique_id') -%}
        {%- if node.package_name == project_name -%}
            {%- set table_name = node.schema ~ '.' ~ node.identifier -%}
            {%- set relation = adapter.get_relation(
                database=node.database, schema=node.schema, identifier=node.identifier
            ) -%}
            {%- if relation is none -%}
                {%- do problems.append(table_name ~ ": the table does not exist (load it with `retention load`)") -%}
            {%- else -%}
                {%- set present = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
                {%- set missing = [] -%}
                {%- for column in node.columns.values() -%}
                    {%- if column.name | lower not in present -%}
                        {%- do missing.append(column.name) -%}
                    {%- endif -%}
                {%- endfor -%}
                {%- if missing -%}
                    {%- do problems.append(table_name ~ ": missing column" ~ ("s " if missing | length > 1 else " ") ~ missing | join(", ")) -%}
                {%- endif -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if problems -%}
        {{ exceptions.raise_compiler_error(
            "Raw tables do not match the raw input contract (the sources in "
            ~ "models/staging/shop/_shop__sources.yml), nothing was built:\n  - "
            ~ problems | join("\n  - ")
        ) }}
    {%- endif -%}
    {%- endif -%}
{% endmacro %}
