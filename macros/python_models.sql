{% macro drop_python_result_tables() -%}
    {#- A post-hook of an incremental Python model: drop the tables its runs wrote their
        result to before merging it (`<model>__dbt_tmp<timestamp>`, in the database's default
        schema). dbt-duckdb 1.11 asks for a temporary table there, but a Python model's
        result is written as a lasting table that nothing drops, so every incremental run
        left one behind. Dropping all of them also clears those of earlier runs. -#}
    {%- if execute -%}
        {%- set found = run_query(
            "select schema_name, table_name from duckdb_tables() where database_name = '"
            ~ this.database ~ "' and not temporary and starts_with(table_name, '"
            ~ this.identifier ~ "__dbt_tmp')"
        ) -%}
        {%- for row in found.rows -%}
            {%- do run_query('drop table ' ~ adapter.quote(this.database) ~ '.'
                ~ adapter.quote(row[0]) ~ '.' ~ adapter.quote(row[1])) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
