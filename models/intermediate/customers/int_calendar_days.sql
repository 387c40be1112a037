{#- One row per day of the calendar months (int_calendar_months): the time spine of the
    semantic layer (MetricFlow), nothing else. Its range follows the warehouse's months. -#}
with months as (

    select * from {{ ref('int_calendar_months') }}

),

final as (

    select
        cast(unnest(generate_series(
            cast(min(month_start) as {{ dbt.type_timestamp() }}),
            cast(max(month_end) as {{ dbt.type_timestamp() }}),
            interval 1 day
        )) as date) as date_day
    from months

)

select * from final
