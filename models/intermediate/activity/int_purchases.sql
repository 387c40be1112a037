{#- Purchases (completed orders) that exist on A: ordered on or before it. Incremental per
    customer (macros/incremental.sql, README "Incremental builds"): a run rewrites every
    purchase of the customers whose rows may have changed since the previous run (their
    purchase numbers are per customer); the pre-hook deletes those customers' rows first. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='order_id',
    on_schema_change='fail',
    pre_hook="{{ changed_customers_pre_hook() }}",
) }}
{%- set plan = changed_customers_plan() %}

with orders as (

    select * from {{ ref('stg_shop__orders') }}
    where
        is_purchase
    {% if not plan.full -%}
        and customer_id in (
            {{ plan.changed_customers }}
        )
    {%- endif %}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        orders.order_date,
        {{ month_start('orders.order_date') }} as order_month,
        orders.net_revenue,
        row_number() over (
            partition by orders.customer_id
            order by orders.ordered_at, orders.order_id
        ) as purchase_number,
        {{ built_columns('params') }}
    from orders
    inner join params
        on orders.order_date <= params.as_of_date

)

select * from final
