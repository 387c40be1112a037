{#- Purchases (completed orders, SPEC 7) that exist on A: ordered on or before it.
    Incremental (macros/incremental.sql): a run rebuilds the purchases of the customers in
    scope (a customer's purchase numbers depend on all their purchases). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    rebuild_scope={'customer': 'customer_id'},
    on_schema_change='fail',
) }}
-- depends_on: {{ ref('int_incremental_scope') }}
-- depends_on: {{ ref('int_incremental_customers') }}

with completed_orders as (

    select * from {{ ref('stg_shop__orders') }}
    where is_purchase

),

orders as (

    select * from completed_orders
    {{- where_in_rebuild_scope({'customer': 'customer_id'}) }}

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
        ) as purchase_number
    from orders
    inner join params
        on orders.order_date <= params.as_of_date

)

select * from final
