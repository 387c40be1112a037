{#- The calendar months from the month of the earliest activity (either basis) through the
    month containing A, with each month's end-state day min(month end, A). The only
    calendar the project needs: states are derived from spells, never from a day spine.
    Its range comes from the data and A alone (no fixed span of years), so any A, however
    far from today, has its month. -#}
with spells as (

    select * from {{ ref('int_activity_spells') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

bounds as (

    select {{ month_start('min(spell_start_date)') }} as first_month
    from spells

),

months as (

    select {{ date_series('bounds.first_month', 'params.as_of_month', 'month') }} as month_start
    from bounds
    cross join params

),

final as (

    select
        months.month_start,
        {{ month_end('months.month_start') }} as month_end,
        least({{ month_end('months.month_start') }}, params.as_of_date) as month_end_date,
        {{ month_end('months.month_start') }} <= params.as_of_date as is_complete_month,
        {{ period_start('quarter', 'months.month_start') }} as quarter_start,
        {{ period_start('year', 'months.month_start') }} as year_start
    from months
    cross join params

)

select * from final
