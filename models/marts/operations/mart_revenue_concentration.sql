{#- One row per revenue decile (1 = the top) over the trailing year Y = [A − 364, A]: the
    customers with revenue in Y (net order revenue plus recognised contract revenue)
    above 0, ranked by it descending (ties: customer_id ascending) and cut with
    ntile(10), so fewer than 10 customers give fewer rows. Each decile's revenue, its
    share of the total and the cumulative share from the top: the 80/20 rule, measured. -#}
with customers as (

    select * from {{ ref('int_customers') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

revenue_windows as (

    select
        customers.customer_id as window_id,
        customers.customer_id,
        params.trailing_year_start_date as window_start,
        params.as_of_date as window_end
    from customers
    cross join params

),

window_revenue as (

    {{ revenue_in_windows('revenue_windows') }}

),

ranked as (

    select
        window_id as customer_id,
        net_order_revenue + recognised_contract_revenue as revenue,
        {{ typed(
            'ntile(10) over (order by net_order_revenue + recognised_contract_revenue desc, window_id asc)',
            dbt.type_bigint(),
        ) }} as revenue_decile
    from window_revenue
    where net_order_revenue + recognised_contract_revenue > 0

),

deciles as (

    select
        revenue_decile,
        count(*) as customers,
        cast({{ sum_float('revenue') }} as {{ type_double() }}) as revenue
    from ranked
    group by revenue_decile

),

final as (

    select
        revenue_decile,
        customers,
        revenue,
        sum(revenue) over (order by revenue_decile rows between unbounded preceding and current row)
            as cumulative_revenue,
        sum(revenue) over () as total_revenue,
        {{ safe_ratio('revenue', 'sum(revenue) over ()') }} as revenue_share,
        {{ safe_ratio(
            'sum(revenue) over (order by revenue_decile rows between unbounded preceding and current row)',
            'sum(revenue) over ()'
        ) }} as cumulative_revenue_share
    from deciles

)

select * from final
