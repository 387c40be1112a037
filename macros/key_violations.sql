{% macro key_violations(model, columns, nulls_allowed) %}
{#- The rows of a model that break a key on some columns, one per offending combination
    with its row count: a combination found on more than one row and, unless
    `nulls_allowed`, one with a null in any of the columns. The query of the `primary_key`
    and `unique_combination_of_columns` tests (adapter.dispatch). -#}
    {{ return(adapter.dispatch('key_violations', 'retention')(model, columns, nulls_allowed)) }}
{% endmacro %}

{% macro _null_in_key(columns) %}
{#- `<column> is null or …` over the key's columns: the null half of `key_violations`'
    condition. -#}
    {%- for column in columns %}{{ column }} is null{% if not loop.last %} or {% endif %}{% endfor -%}
{% endmacro %}

{% macro default__key_violations(model, columns, nulls_allowed) %}
{#- One grouping by the columns. -#}

select
    {{ columns | join(', ') }},
    count(*) as row_count
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1{% if not nulls_allowed %} or {{ retention._null_in_key(columns) }}{% endif %}

{% endmacro %}

{% macro duckdb__key_violations(model, columns, nulls_allowed) %}
{#- The same result, cheaper on tables of tens of millions of rows: one 64-bit hash of the
    columns per row, sorted, marks a duplicate where a hash equals the one before it, which
    costs far less than grouping the rows by the columns or by the hash. Only the rows of
    those hashes (in a clean table: none, or the odd hash collision) and, unless
    `nulls_allowed`, the rows with a null in the key are grouped by the columns themselves. -#}
{%- set key = columns | join(', ') %}

with key_hashes as (

    select hash({{ key }}) as key_hash
    from {{ model }}

),

sorted_hashes as (

    select
        key_hash,
        lag(key_hash) over (order by key_hash) as previous_key_hash
    from key_hashes

),

repeated_hashes as (

    select key_hash
    from sorted_hashes
    where key_hash = previous_key_hash

)

select
    {{ key }},
    count(*) as row_count
from {{ model }}
where
    hash({{ key }}) in (select repeated_hashes.key_hash from repeated_hashes)
    {%- if not nulls_allowed %}
    or {{ retention._null_in_key(columns) }}
    {%- endif %}
group by {{ key }}
having count(*) > 1{% if not nulls_allowed %} or {{ retention._null_in_key(columns) }}{% endif %}

{% endmacro %}
