{#- The keys of the raw customers, orders, contracts and cancellations with a row loaded on
    or after the start of the previous run's look-back window (meta.incremental_state, the
    same day as int_incremental_raw_scope.rebuild_loaded_from_day; read from the state so
    that this model and int_incremental_raw_scope run side by side): an incremental run
    re-reads, re-checks and rebuilds every raw row of these keys (macros/incremental.sql).
    The key is the trimmed text, as the base models parse it. Empty without a previous
    state. -#}
{%- set previous = adapter.get_relation(
    database=this.database, schema='meta', identifier='incremental_state'
) if execute else none %}
{#- The raw tables whose meta says `incremental: true`, with their key (macros/raw_tables.sql). #}
{%- set keyed_tables = raw_tables('incremental') %}

with previous_state as (

    {%- if previous is not none %}
    select settled_before_day from {{ previous }}
    {%- else %}
    select cast(null as date) as settled_before_day
    {%- endif %}

),

{% for table in keyed_tables %}
recent_{{ table.name }} as (

    select distinct
        '{{ table.name }}' as source_table,
        {{ clean_text(raw_key_expression(table, 'raw_rows')) }} as key_value
    from {{ source('shop', table.name) }} as raw_rows
    inner join previous_state
        on {{ load_day('raw_rows._loaded_at') }} >= previous_state.settled_before_day
    where {{ clean_text(raw_key_expression(table, 'raw_rows')) }} is not null

),
{% endfor %}

final as (

    {% for table in keyed_tables -%}
    select * from recent_{{ table.name }}
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}

)

select * from final
