{#- The shape every base model shares: read one raw table, keep each raw column as
    raw_<column> (the checks compare raw text with its parsed value), the whole row as text,
    the parsed columns, and the row's rejection_reason (null = the row is staged).

    parsed_columns: [[name, sql expression on the source columns], ...]
    checks: [[condition on raw_<column> and parsed names, reason], ...] in priority order;
            de-duplication on key_columns comes after the checks named before it
            (missing keys) and before the rest. -#}
{% macro base_model(source_table, raw_columns, parsed_columns, key_columns, key_checks, checks) -%}

with source as (

    select * from {{ source('shop', source_table) }}

),

parsed as (

    select
        {%- for name, expression in parsed_columns %}
        {{ expression }} as {{ name }},
        {%- endfor %}
        {%- for column in raw_columns %}
        source.{{ column }} as raw_{{ column }},
        {%- endfor %}
        {{ parse_timestamp('source._loaded_at') }} as _loaded_at,
        {{ row_as_text('source') }} as raw_row
    from source

),

deduplicated as (

    select
        *,
        {{ duplicate_reason(key_columns) }} as duplicate_reason
    from parsed

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
        raw_row,
        rejection_reason
    from checked

)

select * from final

{%- endmacro %}
