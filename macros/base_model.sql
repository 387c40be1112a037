{#- The shape every base model shares: read one raw table, keep each raw column as
    raw_<column> (the checks compare raw text with its parsed value), the parsed columns,
    the row's rejection_reason (null = the row is staged) and, for a rejected row, the
    whole raw row as text.

    parsed_columns: [[name, sql expression on the source columns], ...]
    checks: [[condition on raw_<column> and parsed names, reason], ...] in priority order;
            de-duplication on key_columns comes after the checks named before it
            (missing keys) and before the rest: the latest _loaded_at wins, then the
            latest load batch (_load_id, set by `retention load`; macros/quarantine.sql).

    Cost: the raw table is read twice (once to find the keys held by more than one row)
    and nothing is sorted except the rows of those keys. Ranking every row by its text,
    and rendering every row as JSON, made this the slowest step of the build at scale;
    the row text is now rendered only for the rows that need it (duplicates, rejects).

    A base model configured with base_model_incremental_config() is incremental: a run
    reads and rewrites only the keys with a raw row loaded in the previous run's look-back
    window (de-duplication and every check are per key, except the cross-table check of
    cancellations, which therefore stays a table). -#}
{% macro base_model(source_table, raw_columns, parsed_columns, key_columns, key_checks, checks) -%}
{%- set key_expressions = {} -%}
{%- for name, expression in parsed_columns if name in key_columns -%}
    {%- do key_expressions.update({name: expression}) -%}
{%- endfor -%}
{%- set carried_columns = parsed_columns | map('first') | list -%}
{%- for column in raw_columns -%}
    {%- do carried_columns.append('raw_' ~ column) -%}
{%- endfor -%}
{%- do carried_columns.extend(['_loaded_at', '_load_id', 'raw_record']) -%}

with source as {{ not_materialized() }} (

    select * from {{ source('shop', source_table) }} as source
    {%- if is_incremental() %}
    {%- set scope = config.get('rebuild_scope') %}
    {#- The raw rows of the keys with a recent raw row (macros/incremental.sql). #}
    where {{ rebuild_scope_predicate({
        'key': scope['raw_key'],
        'raw_key': scope['raw_key'],
        'source_table': source_table,
        'loaded_at': parse_timestamp('source._loaded_at'),
    }) }}
    {%- endif %}

),

duplicate_keys as (

    {#- The keys held by more than one raw row (in clean data: none). #}
    select
        {%- for column in key_columns %}
        {{ key_expressions[column] }} as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from source
    group by
        {%- for column in key_columns %}
        {{ key_expressions[column] }}{{ ',' if not loop.last }}
        {%- endfor %}
    having count(*) > 1

),

parsed as {{ not_materialized() }} (

    select
        {%- for name, expression in parsed_columns %}
        {{ expression }} as {{ name }},
        {%- endfor %}
        {%- for column in raw_columns %}
        source.{{ column }} as raw_{{ column }},
        {%- endfor %}
        {{ parse_timestamp('source._loaded_at') }} as _loaded_at,
        source._load_id,
        {{ row_record('source') }} as raw_record,
        duplicate_keys.{{ key_columns[0] }} is not null as has_duplicate_key
    from source
    left join duplicate_keys
        on
            {%- for column in key_columns %}
            {{ 'and ' if not loop.first }}{{ key_expressions[column] }} = duplicate_keys.{{ column }}
            {%- endfor %}

),

deduplicated as (

    select
        {%- for column in carried_columns %}
        {{ column }},
        {%- endfor %}
        cast(null as {{ dbt.type_string() }}) as duplicate_reason
    from parsed
    where not has_duplicate_key
    union all
    select
        {%- for column in carried_columns %}
        {{ column }},
        {%- endfor %}
        {{ duplicate_reason(key_columns, row_as_text('raw_record')) }} as duplicate_reason
    from parsed
    where has_duplicate_key

),

checked as (

    select
        *,
        coalesce(
            {{ rejection_reason(key_checks) }},
            duplicate_reason,
            {{ rejection_reason(checks) }}
        ) as rejection_reason
    from deduplicated

),

final as (

    select
        {%- for name, expression in parsed_columns %}
        {{ name }},
        {%- endfor %}
        _loaded_at,
        case when rejection_reason is not null then {{ row_as_text('raw_record') }} end as raw_row,
        rejection_reason
    from checked

)

select * from final

{%- endmacro %}


{% macro base_model_incremental_config(source_table, key_column, raw_key) -%}
    {{ return(adapter.dispatch('base_model_incremental_config', 'retention')(source_table, key_column, raw_key)) }}
{%- endmacro %}

{% macro default__base_model_incremental_config(source_table, key_column, raw_key) -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='replace_scope',
        rebuild_scope={
            'key': key_column, 'raw_key': raw_key, 'source_table': source_table, 'loaded_at': '_loaded_at'
        },
        on_schema_change='fail',
    ) }}
{%- endmacro %}
