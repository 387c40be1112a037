{#- One row per day of the calendar months (int_calendar_months): the time spine of the
    semantic layer (MetricFlow), nothing else. Its range follows the warehouse's months. -#}
with months as (

    select * from {{ ref('int_calendar_months') }}

),

final as (

    select
        {{ date_series('min(month_start)', 'max(month_end)', 'day') }} as date_day
    from months

)

select * from final
