{#- Purchases (completed orders) that exist on A: ordered on or before it. Incremental per
    order (macros/incremental.sql, docs/operations.md "Incremental builds"): a run writes
    the purchases among the orders it re-reads (purchases_plan); its pre-hook deletes those
    orders' rows first (an order re-read may no longer be a purchase), and the run appends. -#}
{{ incremental_config(none, "{{ purchases_pre_hook() }}") }}
{#- Order and customer ids written as they are (macros/column_compression.sql). -#}
{{ config(meta={'column_compression': {'order_id': 'uncompressed', 'customer_id': 'uncompressed'}}) }}
{%- set plan = purchases_plan() %}

with orders as (

    select * from {{ ref('stg_shop__orders') }}
    where
        is_purchase
    {%- if not plan.full %}
        and order_id in (
            {{ plan.changed_orders | indent(12) }}
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
        -- The run that wrote the row (its watermark: macros/incremental.sql).
        {{ run_stamp_columns('params') }}
    from orders
    inner join params
        on orders.order_date <= params.as_of_date

)

select * from final
