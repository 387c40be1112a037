{#- Purchases (completed orders) that exist on A: ordered on or before it. -#}
with orders as (

    select * from {{ ref('stg_shop__orders') }}
    where is_purchase

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
        orders.net_revenue
    from orders
    inner join params
        on orders.order_date <= params.as_of_date

)

select * from final
