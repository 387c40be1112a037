{#- Parsing raw text into typed values. Raw columns are text exactly as delivered; every
    parse is a try-cast so that a bad value becomes null (and its row is quarantined by the
    base model's checks) instead of failing the build. -#}

{% macro clean_text(column) -%}
    nullif(trim(cast({{ column }} as {{ dbt.type_string() }})), '')
{%- endmacro %}

{% macro parse_timestamp(column) -%}
    {{ return(adapter.dispatch('parse_timestamp', 'retention')(column)) }}
{%- endmacro %}

{% macro default__parse_timestamp(column) -%}
    {#- ISO 8601 with or without an offset; without one it is UTC (the session time zone is
        UTC, see profiles.yml). The result is a naive timestamp in UTC. -#}
    timezone('UTC', try_cast({{ clean_text(column) }} as timestamptz))
{%- endmacro %}

{% macro parse_date(column) -%}
    {{ try_cast(clean_text(column), 'date') }}
{%- endmacro %}

{% macro parse_money(column) -%}
    {{ try_cast(clean_text(column), money_type()) }}
{%- endmacro %}

{% macro parse_integer(column) -%}
    {{ try_cast(clean_text(column), dbt.type_int()) }}
{%- endmacro %}

{% macro parse_boolean(column) -%}
    {{ try_cast('lower(' ~ clean_text(column) ~ ')', dbt.type_boolean()) }}
{%- endmacro %}

{% macro money_type() -%}
    decimal(18, 2)
{%- endmacro %}

{% macro to_local_date(utc_timestamp) -%}
    {{ return(adapter.dispatch('to_local_date', 'retention')(utc_timestamp)) }}
{%- endmacro %}

{% macro default__to_local_date(utc_timestamp) -%}
    {#- The calendar date of a UTC timestamp in the reporting time zone. -#}
    cast(timezone('{{ var("reporting_timezone") }}', timezone('UTC', {{ utc_timestamp }})) as date)
{%- endmacro %}

{% macro row_as_text(relation_alias) -%}
    {{ return(adapter.dispatch('row_as_text', 'retention')(relation_alias)) }}
{%- endmacro %}

{% macro default__row_as_text(relation_alias) -%}
    cast(to_json({{ relation_alias }}) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro try_cast(expression, type) -%}
    {{ return(adapter.dispatch('try_cast', 'retention')(expression, type)) }}
{%- endmacro %}

{% macro default__try_cast(expression, type) -%}
    {#- A cast that yields null instead of failing (dbt.safe_cast is a plain cast on duckdb). -#}
    try_cast({{ expression }} as {{ type }})
{%- endmacro %}

{% macro row_record(relation_alias) -%}
    {{ return(adapter.dispatch('row_record', 'retention')(relation_alias)) }}
{%- endmacro %}

{% macro default__row_record(relation_alias) -%}
    {#- The whole row of a relation as one (struct) value, rendered as text by row_as_text
        only where it is needed. -#}
    {{ relation_alias }}
{%- endmacro %}

{% macro row_hash(relation_alias) -%}
    {{ return(adapter.dispatch('row_hash', 'retention')(relation_alias)) }}
{%- endmacro %}

{% macro default__row_hash(relation_alias) -%}
    {#- A 64-bit hash of the whole row: summed over rows, a checksum that notices a changed,
        added or removed row. -#}
    hash({{ relation_alias }})
{%- endmacro %}
