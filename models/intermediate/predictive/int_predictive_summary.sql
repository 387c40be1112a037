{#- The x / t_x / T summary of every customer with a purchase up to A, in weeks (days / 7,
    as in the papers), from int_purchase_summary: x = distinct purchase days − 1,
    t_x = (last − first purchase day) / 7, T = (A − first purchase day) / 7, and the
    monetary value (the mean of the repeat days; null when x = 0). A view: T grows with A
    for every customer. -#}
{{ config(materialized='view') }}
{%- set days_per_week = 7.0 %}

with summary as (

    select * from {{ ref('int_purchase_summary') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

final as (

    select
        summary.customer_id,
        summary.purchase_days - 1 as x,
        {{ days_between('summary.first_purchase_date', 'summary.last_purchase_date') }}
        / {{ days_per_week }} as t_x,
        -- "T": the papers' name, by which the fits read it.
        {{ days_between('summary.first_purchase_date', 'params.as_of_date') }}
        / {{ days_per_week }} as "T",  -- noqa: RF06
        cast(summary.repeat_day_mean_revenue as double) as monetary_value
    from summary
    cross join params

)

select * from final
