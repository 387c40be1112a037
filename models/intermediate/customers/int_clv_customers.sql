{#- One row per customer that exists on A (int_customers): what the CLV segments of
    mart_clv count over the trailing year Y = [A − 364, A] — purchases and net revenue in
    Y, the status on A − 365 and on A on both bases (int_customer_status), and whether the
    customer was acquired (first active on either basis) in Y. -#}
with customers as (

    select * from {{ ref('int_customers') }}

),

purchases as (

    select * from {{ ref('int_purchases') }}

),

statuses as (

    select * from {{ ref('int_customer_status') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

trailing_year_purchases as (

    select
        purchases.customer_id,
        count(*) as purchases,
        sum(purchases.net_revenue) as net_revenue
    from purchases
    inner join params
        on purchases.order_date between params.trailing_year_start_date and params.as_of_date
    group by purchases.customer_id

),

first_active as (

    {{ first_active_on_either_basis('statuses') }}

),

final as (

    {#- Churned over the year: active on A − 365, not active on A. #}
    select
        customers.customer_id,
        customers.acquisition_channel,
        coalesce(trailing_year_purchases.purchases, 0) as purchases,
        coalesce(trailing_year_purchases.net_revenue, 0) as net_revenue,
        coalesce(order_status.is_active_year_before, false) as is_order_active_year_before,
        coalesce(order_status.status_on_as_of = 'active', false) as is_order_active_on_as_of,
        coalesce(contract_status.is_active_year_before, false) as is_contract_active_year_before,
        coalesce(contract_status.status_on_as_of = 'active', false) as is_contract_active_on_as_of,
        coalesce(
            first_active.first_active_date between params.trailing_year_start_date and params.as_of_date,
            false
        ) as is_acquired_in_trailing_year
    from customers
    cross join params
    left join trailing_year_purchases
        on customers.customer_id = trailing_year_purchases.customer_id
    left join first_active
        on customers.customer_id = first_active.customer_id
    left join statuses as order_status
        on customers.customer_id = order_status.customer_id and order_status.basis = 'order'
    left join statuses as contract_status
        on customers.customer_id = contract_status.customer_id and contract_status.basis = 'contract'

)

select * from final
