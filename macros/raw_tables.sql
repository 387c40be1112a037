{#- The raw tables, from the sources YAML (models/staging/shop/_shop__sources.yml): the one
    list that the SQL looping over raw tables reads. -#}

{% macro raw_tables(flag=none) -%}
    {#- The shop sources in the order the YAML lists them, each as a dict: `name`, `key` (the
        columns that identify a row), `core`, `optional_table` (their meta); only those whose
        meta `flag` is true when `flag` is given.

        dbt renders every model once while parsing, before it has read the YAML (`graph` is
        empty then, `execute` false), and records the ref() and source() calls it sees as
        the model's dependencies. While parsing, this returns every name of
        `raw_table_names_for_parsing()` without their meta, so each model that loops over the
        raw tables depends on all of them; when it runs, the names must equal the YAML's, or
        the run stops with a message saying what to change. -#}
    {%- if not execute -%}
        {%- set tables = [] -%}
        {%- for name in raw_table_names_for_parsing() -%}
            {%- do tables.append({'name': name, 'key': [], 'core': false, 'optional_table': false}) -%}
        {%- endfor -%}
        {{- return(tables) -}}
    {%- endif -%}
    {%- set tables = [] -%}
    {%- for node in graph.sources.values() -%}
        {%- if node.package_name == project_name and node.source_name == 'shop' -%}
            {%- set meta = node.config.meta or node.meta or {} -%}
            {%- if flag is none or meta.get(flag) -%}
                {%- do tables.append({
                    'name': node.name,
                    'key': meta.get('key', []),
                    'core': meta.get('core', false),
                    'optional_table': meta.get('optional_table', false),
                }) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set declared = graph.sources.values() | selectattr('source_name', 'equalto', 'shop') | map(attribute='name') | sort | list -%}
    {%- set for_parsing = raw_table_names_for_parsing() | sort | list -%}
    {%- if declared != for_parsing -%}
        {{ exceptions.raise_compiler_error(
            "The raw tables in models/staging/shop/_shop__sources.yml (" ~ declared | join(", ")
            ~ ") differ from raw_table_names_for_parsing() in macros/raw_tables.sql ("
            ~ for_parsing | join(", ") ~ "): add or remove the name there too, so that the "
            ~ "models looping over the raw tables depend on every one of them."
        ) }}
    {%- endif -%}
    {{- return(tables) -}}
{%- endmacro %}

{% macro raw_table_names_for_parsing() -%}
    {#- Only for the parse-time dependencies (see raw_tables): the YAML is the definition,
        and raw_tables() stops a run when this differs from it. -#}
    {{- return(['customers', 'orders', 'contracts', 'cancellations', 'nps_responses', 'retention_actions', 'marketing_spend']) -}}
{%- endmacro %}

{% macro raw_key_expression(table, relation_alias=none) -%}
    {#- One text value that identifies a row of a raw table: its key column, or its key
        columns as text joined with '|'. -#}
    {%- set prefix = relation_alias ~ '.' if relation_alias else '' -%}
    {%- if table.key | length == 1 -%}
        {{ prefix ~ table.key[0] }}
    {%- else -%}
        {%- set parts = [] -%}
        {%- for column in table.key -%}
            {%- do parts.append('cast(' ~ prefix ~ column ~ ' as ' ~ dbt.type_string() ~ ')') -%}
        {%- endfor -%}
        {{ parts | join(" || '|' || ") }}
    {%- endif -%}
{%- endmacro %}
