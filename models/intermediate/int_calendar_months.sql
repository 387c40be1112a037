{#- The calendar months from the month of the earliest activity (either basis) through the
    month containing A, with each month's end-state day min(month end, A). The only
    calendar the project needs: states are derived from spells, never from a day spine. -#}
with numbers as (

    {#- 2,400 months = 200 years from 1900: far more than any data set needs. -#}
    {{ dbt.generate_series(2400) }}

),

spells as (

    select * from {{ ref('int_activity_spells') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

months as (

    select
        cast({{ dbt.dateadd('month', 'generated_number - 1', "cast('1900-01-01' as date)") }} as date)
            as month_start
    from numbers

),

bounds as (

    select {{ month_start('min(spell_start_date)') }} as first_month
    from spells

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
    cross join bounds
    where months.month_start between bounds.first_month and params.as_of_month

)

select * from final
