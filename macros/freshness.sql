{% macro source_loaded_at(source_node) -%}
{#- The freshness of a raw table (dbt source freshness): when `retention load` last appended
    rows to it, from the loader's own record meta.load_batches (its batch time, UTC), not
    the rows' `_loaded_at`, which keeps a file's own value and may be the source system's.
    An optional table (meta optional_table) may be left out of any delivery: it is as fresh
    as the feed, the latest batch of any table, so an optional table that was never
    delivered is not stale while deliveries arrive (docs/decisions.md). -#}
{%- set optional = source_node.meta.get('optional_table', false) -%}
select max(loaded_at) as max_loaded_at
from meta.load_batches
{%- if not optional %}
where table_name = '{{ source_node.name }}' and rows > 0
{%- endif %}
{%- endmacro %}
