{#- `dbt run-operation register_raw_tables --target spark --args '{location: DIR}'` (run by
    `retention load --target spark`, retention/spark.py): the raw tables, and the load
    batches, that the loader exported as Parquet under DIR (DIR/raw/<table>,
    DIR/meta/load_batches) become tables of the Spark catalog, `raw.<table>` and
    `meta.load_batches`, read by the sources as on DuckDB. Each export replaces the files, so
    the tables are dropped and made again over them and their metadata (file list, columns)
    is never stale. The same macro registers files on a cluster's storage (an s3://, abfss://
    or dbfs:/ DIR). -#}
{% macro register_raw_tables(location, tables) %}
    {%- for qualified in tables -%}
        {%- set schema, name = qualified.split('.') -%}
        {%- do run_query('create schema if not exists ' ~ schema) -%}
        {%- do run_query('drop table if exists ' ~ schema ~ '.' ~ name) -%}
        {%- do run_query(
            'create table ' ~ schema ~ '.' ~ name ~ " using parquet location '"
            ~ location ~ '/' ~ schema ~ '/' ~ name ~ "'"
        ) -%}
        {%- do log('registered ' ~ schema ~ '.' ~ name ~ ' over ' ~ location ~ '/' ~ schema ~ '/' ~ name, info=true) -%}
    {%- endfor -%}
{% endmacro %}

{#- `dbt run-operation export_relations --target spark --args '{location: DIR, relations:
    [marts.mart_churn, ...]}'`: each relation (a table or a view) written as Parquet files to
    DIR/<schema>/<name>, for reading outside Spark (the parity test compares the marts with
    DuckDB's this way: a view has no files of its own). -#}
{% macro export_relations(location, relations) %}
    {%- for qualified in relations -%}
        {%- set schema, name = qualified.split('.') -%}
        {%- do run_query(
            "insert overwrite directory '" ~ location ~ '/' ~ schema ~ '/' ~ name
            ~ "' using parquet select * from " ~ schema ~ '.' ~ name
        ) -%}
    {%- endfor -%}
{% endmacro %}
