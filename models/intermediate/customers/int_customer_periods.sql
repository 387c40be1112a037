{#- The customer-period fact (macros/customer_periods.sql): the closed periods (an
    incremental table) and the periods containing A (rebuilt every run) together. A view:
    nothing is written twice. -#}
{{ config(materialized='view') }}

with closed as (

    select * from {{ ref('int_customer_periods_closed') }}

),

open_periods as (

    select * from {{ ref('int_customer_periods_open') }}

),

final as (

    select {{ customer_period_columns() | join(', ') }} from closed
    union all
    select {{ customer_period_columns() | join(', ') }} from open_periods

)

select * from final
