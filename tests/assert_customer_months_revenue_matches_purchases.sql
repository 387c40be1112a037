{#- The net revenue in fct_customer_months adds up to the staged purchases' net revenue up
    to A: nothing is lost or counted twice between staging and the marts. -#}
with params as (

    select * from {{ ref('int_reporting_params') }}

),

staged as (

    select coalesce(sum(orders.net_revenue), 0) as net_revenue
    from {{ ref('stg_shop__orders') }} as orders
    inner join params
        on orders.order_date <= params.as_of_date
    where orders.is_purchase

),

customer_months as (

    select coalesce(sum(net_revenue), 0) as net_revenue
    from {{ ref('fct_customer_months') }}

)

select
    staged.net_revenue as staged_net_revenue,
    customer_months.net_revenue as customer_months_net_revenue
from staged
cross join customer_months
where staged.net_revenue <> customer_months.net_revenue
