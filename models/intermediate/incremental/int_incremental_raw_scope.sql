{#- One row, from the raw tables and the previous run's state alone (no model; the base
    models read it): whether this run must rebuild the incremental models in full, and
    which raw rows are recent. Compared with the previous run's state
    (meta.incremental_state, written at the end of a run in which every incremental model
    was built), the run is a full rebuild when there is no previous state, a var or a model
    changed, or raw customers, orders, contracts or cancellations that the previous run counted as
    settled (loaded before its look-back window, or without a load time) changed, appeared
    or disappeared, or `retention load --replace` re-delivered raw tables since the previous
    run (meta.load_batches: a re-delivery may drop rows of any load day, which only a full
    rebuild removes everywhere). Otherwise raw rows loaded on or after the previous run's
    look-back window are recent.

    The load day of a raw row is the UTC date of its `_loaded_at`; the look-back window of
    a run is its latest load day and the `incremental_lookback_days` days before it.
    int_incremental_scope adds what depends on A. -#}
{%- set lookback_days = var('incremental_lookback_days') | int %}
{%- set fingerprints = incremental_fingerprints() %}
{%- set previous = adapter.get_relation(
    database=this.database, schema='meta', identifier='incremental_state'
) if execute else none %}
{%- set batches = adapter.get_relation(
    database=this.database, schema='meta', identifier='load_batches'
) if execute else none %}
{#- The raw tables whose meta says `incremental: true` (macros/raw_tables.sql). #}
{%- set tracked_tables = raw_tables('incremental') | map(attribute='name') | list %}
{#- A state recorded before load ids were tracked has no latest_load_id (null: any
    re-delivery counts as new). #}
{%- set previous_columns = adapter.get_columns_in_relation(previous) | map(attribute='name') | list
    if previous is not none else [] %}

with previous_state as (

    {%- if previous is not none %}
    select
        {%- for column in incremental_state_columns() %}
        {%- if column in previous_columns %}
        {{ column }}
        {%- else %}
        cast(null as {{ dbt.type_bigint() }}) as {{ column }}
        {%- endif %}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ previous }}
    {%- else %}
    select
        cast(null as date) as latest_load_day,
        cast(null as date) as settled_before_day,
        cast(null as {{ dbt.type_bigint() }}) as settled_rows,
        cast(null as {{ dbt.type_string() }}) as settled_checksum,
        cast(null as date) as as_of_date,
        cast(null as {{ dbt.type_string() }}) as vars_fingerprint,
        cast(null as {{ dbt.type_string() }}) as code_fingerprint,
        cast(null as {{ dbt.type_bigint() }}) as latest_load_id
    where false
    {%- endif %}

),

load_batches as (

    {#- The batches `retention load` recorded: the latest, and the latest re-delivery. #}
    {%- if batches is not none %}
    select
        max(load_id) as latest_load_id,
        max(case when mode = 'replace' then load_id end) as latest_replace_load_id
    from {{ batches }}
    {%- else %}
    select
        cast(null as {{ dbt.type_bigint() }}) as latest_load_id,
        cast(null as {{ dbt.type_bigint() }}) as latest_replace_load_id
    {%- endif %}

),

{% for table in tracked_tables %}
{{ table }}_load_days as (

    select
        {{ load_day('rows_._loaded_at') }} as load_day,
        count(*) as loaded_rows,
        sum({{ row_hash('rows_') }}) as row_checksum
    from {{ source('shop', table) }} as rows_
    group by {{ load_day('rows_._loaded_at') }}

),
{% endfor %}

load_days as (

    {#- Rows and a checksum of the rows of the tables the incremental models read, per load
        day (null: no or no readable _loaded_at). #}
    select
        load_day,
        sum(loaded_rows) as loaded_rows,
        sum(row_checksum) as row_checksum
    from (
        {%- for table in tracked_tables %}
        select * from {{ table }}_load_days
        {%- if not loop.last %}
        union all
        {%- endif %}
        {%- endfor %}
    ) as per_table
    group by load_day

),

current_state as (

    select
        max(load_day) as latest_load_day,
        {{ add_days('max(load_day)', -lookback_days) }} as settled_before_day
    from load_days

),

settled as (

    {#- Rows loaded before a look-back window, or without a load time: the previous run's
        (to check that they did not change) and this run's (for the next run). #}
    {%- set settled_before = 'load_days.load_day is null or load_days.load_day < ' %}
    {%- set previously_settled = settled_before ~ 'previous_state.settled_before_day' %}
    {%- set settled_now = settled_before ~ 'current_state.settled_before_day' %}
    select
        coalesce(sum(case when {{ previously_settled }} then load_days.loaded_rows end), 0)
            as previously_settled_rows,
        cast(
            coalesce(sum(case when {{ previously_settled }} then load_days.row_checksum end), 0)
            as {{ dbt.type_string() }}
        ) as previously_settled_checksum,
        coalesce(sum(case when {{ settled_now }} then load_days.loaded_rows end), 0)
            as settled_rows,
        cast(
            coalesce(sum(case when {{ settled_now }} then load_days.row_checksum end), 0)
            as {{ dbt.type_string() }}
        ) as settled_checksum
    from load_days
    cross join current_state
    left join previous_state
        on true

),

decided as (

    select
        case
            when previous_state.as_of_date is null
                then 'no previous incremental state'
            when previous_state.vars_fingerprint <> '{{ fingerprints.vars }}'
                then 'vars changed'
            when previous_state.code_fingerprint <> '{{ fingerprints.code }}'
                then 'code changed'
            {#- Before the settled rows: a re-delivery also changes them, and is the cause. #}
            when load_batches.latest_replace_load_id > coalesce(previous_state.latest_load_id, -1)
                then 'raw tables re-delivered (retention load --replace)'
            when
                settled.previously_settled_rows <> previous_state.settled_rows
                or settled.previously_settled_checksum <> previous_state.settled_checksum
                then 'raw rows loaded before the look-back window changed'
        end as full_rebuild_reason,
        previous_state.as_of_date as previous_as_of_date,
        -- Raw rows loaded on or after this day are recent (the previous run's look-back window).
        previous_state.settled_before_day as rebuild_loaded_from_day,
        -- The state recorded for the next run.
        current_state.latest_load_day,
        current_state.settled_before_day,
        settled.settled_rows,
        settled.settled_checksum,
        '{{ fingerprints.vars }}' as vars_fingerprint,
        '{{ fingerprints.code }}' as code_fingerprint,
        load_batches.latest_load_id
    from settled
    cross join current_state
    cross join load_batches
    left join previous_state
        on true

),

final as (

    select
        full_rebuild_reason,
        previous_as_of_date,
        rebuild_loaded_from_day,
        latest_load_day,
        settled_before_day,
        settled_rows,
        settled_checksum,
        vars_fingerprint,
        code_fingerprint,
        latest_load_id,
        full_rebuild_reason is not null as is_full_rebuild
    from decided

)

select * from final
