{#- The shape every base model shares: read one raw table, keep each raw column's cleaned
    text (clean_text: trimmed, null when blank) as raw_<column> (the checks compare it with
    its parsed value; cleaned once here, not again in every check), the parsed columns,
    the row's rejection_reason (null = the row is staged), for a rejected row the
    whole raw row as text, and built_through_load_id (which run wrote the row: the staging
    models' key tests check only the latest run's rows, macros/incremental.sql).

    parsed_columns: [[name, sql expression on the source columns], ...]
    checks: [[condition on raw_<column> and parsed names, reason], ...] in priority order;
            de-duplication on key_columns comes after the checks named before it
            (missing keys) and before the rest: the latest _loaded_at wins, then the
            latest load batch (_load_id, set by `retention load`; macros/quarantine.sql).

    Cost: the raw table is read twice (once to find the keys held by more than one row,
    with the key tests' query: a hash per key, sorted) and no row is sorted except the
    rows of those keys. Ranking every row by its text, and rendering every row as JSON,
    made this the slowest step of the build at scale; the row text is now rendered only
    for the rows that need it (duplicates, rejects).

    A base model configured with base_model_incremental_config() is incremental
    (macros/incremental.sql): a run re-reads every raw row of the keys that have a row in a
    batch after the table's watermark (or in its look-back), and replaces those keys' rows
    (`delete+insert` on the key; de-duplication and every check are per key, except the
    cross-table check of cancellations, which therefore stays a table). Rows without a key
    belong to no other row: those of new batches are added. -#}
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
    {%- set plan = incremental_plan('_load_id', [source_table]) if is_incremental() else none %}
    {%- if plan is not none and not plan.full %}
    {%- set raw_key = key_expressions[key_columns[0]] %}
    {%- set key_column = key_columns[0] %}
    where
        {{ raw_key }} in (
            select {{ raw_key }}
            from {{ source('shop', source_table) }} as source
            where source._load_id > {{ plan.watermark }}
        )
        or {{ raw_key }} in (
            select {{ key_column }} from {{ this }} as loaded where {{ is_recent(plan, 'loaded') }}
        )
        or ({{ raw_key }} is null and source._load_id > {{ plan.watermark }})
    {%- endif %}

),

source_keys as {{ not_materialized() }} (

    select
        {%- for column in key_columns %}
        {{ key_expressions[column] }} as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from source

),

duplicate_keys as (

    {#- The keys held by more than one raw row (in clean data: none), found as the key tests
        find them (macros/key_violations.sql). #}
    select {{ key_columns | join(', ') }}
    from ({{ key_violations('source_keys', key_columns, nulls_allowed=true) }}) as violations

),

parsed as {{ not_materialized() }} (

    select
        {%- for name, expression in parsed_columns %}
        {{ expression }} as {{ name }},
        {%- endfor %}
        {%- for column in raw_columns %}
        {{ clean_text('source.' ~ column) }} as raw_{{ column }},
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
        _load_id,
        case when rejection_reason is not null then {{ row_as_text('raw_record') }} end as raw_row,
        rejection_reason,
        {{ built_through_load_id_column() }}
    from checked

)

select * from final

{%- endmacro %}


{% macro base_model_incremental_config(source_table, key_column) -%}
    {#- An incremental base model (macros/incremental.sql): the rows of a key are replaced
        together; emptied first when its raw table was re-delivered. -#}
    {{ incremental_config(
        key_column, "{{ delete_all_when_rebuilt(incremental_plan('_load_id', ['" ~ source_table ~ "'])) }}"
    ) }}
{%- endmacro %}
