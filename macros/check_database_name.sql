{#- Runs first at the start of every dbt invocation (on-run-start): a warehouse file named
    like one of the warehouse's schemas (raw.duckdb, marts.duckdb, main.duckdb...) stops the
    run before anything is built, with a message saying why and what to do. DuckDB names a
    database after its file (the name up to the first dot, in any case), and a database named
    like a schema makes `schema.table` ambiguous: the build would fail later with a binder
    error, or find no raw table at all. The schemas are those of the project's nodes and
    sources, `meta` (the loader's and the build's records) and the target's own schema;
    retention.paths refuses the same names for `--db`. DuckDB only: Spark has no file. -#}
{% macro check_database_name() %}
    {%- if execute and target.type == 'duckdb' -%}
    {%- set schemas = ['meta', target.schema] -%}
    {%- for node in (graph.nodes.values() | list) + (graph.sources.values() | list)
        if node.resource_type in ('model', 'seed', 'snapshot', 'source') -%}
        {%- do schemas.append(node.schema) -%}
    {%- endfor -%}
    {%- set taken = schemas | map('lower') | unique | sort | list -%}
    {%- if target.database | lower in taken -%}
        {{ exceptions.raise_compiler_error(
            "The warehouse file " ~ target.path ~ " makes a database named '" ~ target.database
            ~ "', the name of one of its schemas, so names like " ~ target.database | lower
            ~ ".<table> would be ambiguous to DuckDB (it names a database after its file, "
            ~ "up to the first dot); nothing was built. Name the file otherwise, e.g. "
            ~ "warehouse.duckdb (RETENTION_DB_PATH or `--db`). The names a warehouse file may not have "
            ~ "(up to its first dot, in any case): " ~ taken | join(", ") ~ "."
        ) }}
    {%- endif -%}
    {%- endif -%}
{% endmacro %}
