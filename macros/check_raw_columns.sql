{#- Runs at the start of every dbt invocation (on-run-start, after validate_vars): a raw table
    that is missing, or that lacks a column of the raw contract, stops the run before any
    model is built, with a message naming the table and the column. Without it the build
    would fail later with a binder error inside a base model.

    The same rule as `retention load` (docs/loading.md "Raw input contract"): what is missing
    fails, what is extra is ignored. The columns checked are those the sources YAML lists
    (models/staging/shop/_shop__sources.yml): the base models read every one of them. A file
    needs only the required ones, but `retention load` always creates the whole set in the
    raw table (an optional column a file lacks is stored as nulls; `_loaded_at` and
    `_load_id` are the loader's), so a raw table it wrote never fails here for a file's
    sake. Columns the sources do not list (the loader never stores them; a hand-made table
    may have them) are ignored and not reported. -#}
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
            ~ "\nLoad the data with `retention load` (it creates every raw table with all of "
            ~ "the contract's columns, and adds those a table of an older version lacks)."
        ) }}
    {%- endif -%}
    {%- endif -%}
{% endmacro %}
