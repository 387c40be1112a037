{#- One row: what this run rebuilds of the incremental models (macros/incremental.sql)
    and the state the next run compares with. int_incremental_raw_scope decides from the raw
    data and the previous state; in addition a run is a full rebuild when A moved backwards.
    Otherwise it rebuilds the rows of the customers in int_incremental_customers and of the
    periods from the previous A's month on. -#}
with raw_scope as (

    select * from {{ ref('int_incremental_raw_scope') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

decided as (

    select
        raw_scope.*,
        params.as_of_date,
        coalesce(
            raw_scope.full_rebuild_reason,
            case when params.as_of_date < raw_scope.previous_as_of_date then 'as_of_date moved back' end
        ) as rebuild_reason
    from raw_scope
    cross join params

),

final as (

    select
        rebuild_reason is not null as is_full_rebuild,
        rebuild_reason as full_rebuild_reason,
        previous_as_of_date,
        -- Rows of periods from the previous A's month on are rebuilt for every customer
        -- (a full rebuild: every period).
        case
            when rebuild_reason is null then {{ month_start('previous_as_of_date') }}
            else cast('0001-01-01' as date)
        end as rebuild_from_month,
        case
            when rebuild_reason is null then {{ period_start('quarter', 'previous_as_of_date') }}
            else cast('0001-01-01' as date)
        end as rebuild_from_quarter,
        case
            when rebuild_reason is null then {{ period_start('year', 'previous_as_of_date') }}
            else cast('0001-01-01' as date)
        end as rebuild_from_year,
        rebuild_loaded_from_day,
        -- The state recorded for the next run (macros/incremental.sql).
        {{ incremental_state_columns() | join(',\n        ') }}
    from decided

)

select * from final
