{#- The customer-period fact (macros/customer_periods.sql): the closed periods (an
    incremental table) and the periods containing A (rebuilt every run) together, with the
    columns that follow from a stored row alone (lifecycle, MRR and its movement,
    completeness) derived here rather than stored. A view: nothing is written twice. -#}
{{ config(materialized='view') }}

with closed as (

    select * from {{ ref('int_customer_periods_closed') }}

),

open_periods as (

    select * from {{ ref('int_customer_periods_open') }}

),

stored as (

    select {{ customer_period_columns() | join(', ') }} from closed
    union all
    select {{ customer_period_columns() | join(', ') }} from open_periods

),

final as (

    {{ customer_periods_with_measures('stored') }}

)

select * from final
