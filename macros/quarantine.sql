{#- Row checks shared by the base models. A base model lists its checks as
    [condition, reason] pairs; the first that holds is the row's rejection_reason, and a
    row with no failing check has a null reason and goes on to staging. -#}

{% macro rejection_reason(checks) -%}
    case
    {%- for condition, reason in checks %}
        when {{ condition }} then '{{ reason }}'
    {%- endfor %}
    end
{%- endmacro %}

{% macro is_missing(raw_column) -%}
    {#- The raw value is missing (null or blank). raw_column is its cleaned text
        (clean_text: the base model's raw_<column>), null when blank. -#}
    ({{ raw_column }} is null)
{%- endmacro %}

{% macro is_unparsable(raw_column, typed_column) -%}
    {#- The raw value is present but did not parse (raw_column: its cleaned text). -#}
    ({{ raw_column }} is not null and {{ typed_column }} is null)
{%- endmacro %}

{#- The checks a column needs: a required column must be present, and a present value must
    parse. `column` names both the parsed column and its raw text (raw_<column>); parsed=false
    for text columns that are only checked for presence. Returns [condition, reason] pairs to
    splice into a base model's check list. -#}
{% macro value_checks(column, parsed=true, required=true) -%}
    {%- set checks = [] -%}
    {%- if required -%}
        {%- do checks.append([is_missing('raw_' ~ column), 'missing_' ~ column]) -%}
    {%- endif -%}
    {%- if parsed -%}
        {%- do checks.append([is_unparsable('raw_' ~ column, column), 'invalid_' ~ column]) -%}
    {%- endif -%}
    {{ return(checks) }}
{%- endmacro %}

{#- De-duplication: among rows sharing a key the latest _loaded_at wins; ties go to the
    later load batch (the higher _load_id), then to the first by row text, so the choice is
    deterministic. The losers are quarantined as an exact duplicate of the winner (the row
    text includes _load_id: a copy within one batch), as a conflicting row (other values
    with the winner's _loaded_at in the winner's batch: nothing later superseded it, the
    tie went to the row text) or as superseded by a later load.
    `row_text` is the SQL expression of the row's text. -#}
{% macro duplicate_reason(key_columns, row_text) -%}
    {%- set latest_first -%}
        partition by {{ key_columns | join(', ') }}
        order by _loaded_at desc nulls last, _load_id desc nulls last, {{ row_text }}
    {%- endset -%}
    case
        when row_number() over ({{ latest_first }}) = 1 then null
        when {{ row_text }} = first_value({{ row_text }}) over ({{ latest_first }})
            then 'duplicate_row'
        {%- for column in ['_loaded_at', '_load_id'] %}
        {%- set winner = 'first_value(' ~ column ~ ') over (' ~ latest_first ~ ')' %}
        {{ 'when' if loop.first else 'and' }} ({{ column }} = {{ winner }} or ({{ column }} is null and {{ winner }} is null))
        {%- endfor %}
            then 'conflicting_row_in_batch'
        else 'superseded_by_later_load'
    end
{%- endmacro %}
