{#- The net revenue of the customer-period fact adds up, on each grain (month, quarter,
    year), to the staged purchases' net revenue up to A: nothing is lost or counted twice
    between staging and the marts. fct_customer_months and fct_periods project these rows
    (fct_customer_months one for one: its join of the two bases' month rows is on a key
    unique on each side, see assert_customer_periods_closed_before_open), so the fact is
    reconciled rather than the view over it: one scan of the order rows instead of
    recomputing the view's join. Returns the grains whose total differs. -#}
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

fact as (

    select
        period_grain,
        coalesce(sum(net_revenue), 0) as net_revenue
    from {{ ref('int_customer_periods') }}
    where basis = 'order'
    group by period_grain

),

grains as (

    {{ period_grains() }}

),

final as (

    select
        grains.period_grain,
        staged.net_revenue as staged_net_revenue,
        coalesce(fact.net_revenue, 0) as fact_net_revenue
    from grains
    cross join staged
    left join fact
        on grains.period_grain = fact.period_grain

)

select * from final
where staged_net_revenue <> fact_net_revenue
