{#- The keys of the raw customers, orders, contracts and cancellations with a row loaded on
    or after int_incremental_raw_scope.rebuild_loaded_from_day (the previous run's
    look-back window): an incremental run re-reads, re-checks and rebuilds every raw row of
    these keys (macros/incremental.sql). The key is the trimmed text, as the base models
    parse it. Empty in a full rebuild. -#}
{%- set keyed_tables = [
    ['customers', 'customer_id'],
    ['orders', 'order_id'],
    ['contracts', 'contract_id'],
    ['cancellations', 'cancellation_id'],
] %}

with raw_scope as (

    select * from {{ ref('int_incremental_raw_scope') }}

),

{% for table, key in keyed_tables %}
recent_{{ table }} as (

    select distinct
        '{{ table }}' as source_table,
        {{ clean_text('raw_rows.' ~ key) }} as key_value
    from {{ source('shop', table) }} as raw_rows
    inner join raw_scope
        on {{ load_day('raw_rows._loaded_at') }} >= raw_scope.rebuild_loaded_from_day
    where
        not raw_scope.is_full_rebuild
        and {{ clean_text('raw_rows.' ~ key) }} is not null

),
{% endfor %}

final as (

    {% for table, _ in keyed_tables -%}
    select * from recent_{{ table }}
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}

)

select * from final
