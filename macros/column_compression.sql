{% macro duckdb__create_table_as(temporary, relation, compiled_code, language='sql', partitioned_by=none, sorted_by=none) -%}
    {#- dbt-duckdb's create_table_as, except for a model whose meta names
        `column_compression` ({column: DuckDB compression method}): its table is created
        with those columns' methods fixed (`using compression`), then filled. DuckDB
        otherwise tries every string method on every column it writes, and for a text id
        with nearly as many values as rows (an order id, a customer id on 26M rows) choosing
        and applying its dictionary method costs two to three times writing the text as it
        is (docs/decisions.md, "Text ids stored uncompressed"). The method stays with the
        column, so incremental runs' appended rows keep it. Every other model, and temporary
        tables, go to dbt-duckdb unchanged. -#}
    {%- set column_compression = (config.get('meta') or {}).get('column_compression') -%}
    {%- set contract = config.get('contract') -%}
    {%- if language != 'sql' or temporary or not column_compression
        or (contract and contract.enforced) or partitioned_by or sorted_by -%}
        {{ return(dbt.duckdb__create_table_as(
            temporary, relation, compiled_code, language,
            partitioned_by=partitioned_by, sorted_by=sorted_by
        )) }}
    {%- endif -%}
    {%- set columns = get_column_schema_from_query(compiled_code) -%}
    {%- set names = columns | map(attribute='name') | list -%}
    {%- for name in column_compression if name not in names -%}
        {%- do exceptions.raise_compiler_error(
            "meta column_compression names " ~ name ~ ", which " ~ relation ~ " does not have"
        ) -%}
    {%- endfor -%}
    {%- set sql_header = config.get('sql_header', none) -%}
    {{ sql_header if sql_header is not none }}
    create table {{ relation }} (
        {%- for column in columns %}
        {{ adapter.quote(column.name) }} {{ column.data_type }}
            {%- if column.name in column_compression %} using compression {{ column_compression[column.name] }}{% endif %}
            {{- ',' if not loop.last }}
        {%- endfor %}
    );
    insert into {{ relation }}
    select * from (
        {{ compiled_code }}
    ) as model_subq;
{%- endmacro %}
