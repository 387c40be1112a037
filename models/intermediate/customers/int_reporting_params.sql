{#- One row: the reporting date A and the dates derived from it, and the CLV vars the
    marts that use them read from here, so that the warehouse keeps the values its marts
    were built with (`retention validate` checks those marts' formulas with them); and the
    vars that define activity on each basis, for BI to state the rule its figures follow. -#}
with customers as (

    select created_date as event_date from {{ ref('stg_shop__customers') }}

),

orders as (

    select order_date as event_date from {{ ref('stg_shop__orders') }}

),

contracts as (

    select signed_date as event_date from {{ ref('stg_shop__contracts') }}

),

cancellations as (

    select requested_date as event_date from {{ ref('stg_shop__cancellations') }}

),

event_dates as (

    select * from customers
    union all
    select * from orders
    union all
    select * from contracts
    union all
    select * from cancellations

),

as_of as (

    {#- The var when set; default: the latest local date of any event timestamp. -#}
    {%- set as_of_literal = "'" ~ var('as_of_date') ~ "'" if var('as_of_date') else 'null' %}
    select coalesce(cast({{ as_of_literal }} as date), max(event_date)) as as_of_date
    from event_dates

),

final as (

    select
        as_of_date,
        {{ month_start('as_of_date') }} as as_of_month,
        -- The trailing year Y = [A − 364, A] and the day a year before A (CLV).
        {{ add_days('as_of_date', -364) }} as trailing_year_start_date,
        {{ add_days('as_of_date', -365) }} as year_before_as_of_date,
        cast({{ var('gross_margin') }} as {{ type_double() }}) as gross_margin,
        cast({{ var('clv_max_lifespan_years') }} as {{ type_double() }}) as clv_max_lifespan_years,
        -- Every amount staged is in this currency (others are quarantined): BI labels money.
        cast('{{ var("reporting_currency") }}' as {{ dbt.type_string() }}) as reporting_currency,
        -- The activity rules of the two bases (the spells): BI says what active means.
        cast({{ var('order_inactivity_days') }} as {{ dbt.type_int() }}) as order_inactivity_days,
        cast({{ var('contract_grace_days') }} as {{ dbt.type_int() }}) as contract_grace_days
    from as_of

)

select * from final
