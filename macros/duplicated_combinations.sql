{#- The rows of `model` whose combination of columns occurs more than once, with the count:
    the query of the unique_combination_of_columns grain test. -#}
{% macro default__duplicated_combinations(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(', ') }},
    count(*) as row_count
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endmacro %}

{% macro duckdb__duplicated_combinations(model, combination_of_columns) %}
{#- The same result, cheaper on tables of tens of millions of rows: grouping by one 64-bit
    hash of the columns is much cheaper than grouping by the columns. Every duplicate has
    a hash shared by several rows, so only the rows of those hashes (in a clean table: none,
    or the odd hash collision) are grouped by the columns themselves. -#}
{%- set columns = combination_of_columns | join(', ') %}

with shared_hashes as (

    select hash({{ columns }}) as key_hash
    from {{ model }}
    group by hash({{ columns }})
    having count(*) > 1

)

select
    {{ columns }},
    count(*) as row_count
from {{ model }}
where hash({{ columns }}) in (select shared_hashes.key_hash from shared_hashes)
group by {{ columns }}
having count(*) > 1

{% endmacro %}
