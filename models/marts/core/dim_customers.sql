{#- One row per customer that exists on A, known or inferred: attributes, purchase
    history (int_purchase_summary), cohort month, status on A, last churn and
    reactivations on each basis (int_customer_status), MRR and products on A, and
    recognised contract revenue up to A. -#}
with customers as (

    select * from {{ ref('int_customers') }}

),

purchase_summary as (

    select * from {{ ref('int_purchase_summary') }}

),

statuses as (

    select * from {{ ref('int_customer_status') }}

),

coverage as (

    select * from {{ ref('int_contract_coverage') }}

),

arr_segments as (

    select * from {{ ref('int_contract_arr_segments') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

order_summary as (

    select * from statuses
    where basis = 'order'

),

contract_summary as (

    select * from statuses
    where basis = 'contract'

),

current_mrr as (

    {#- MRR on A: the segment containing A (on a bridged gap day the carried value). -#}
    select
        arr_segments.customer_id,
        {{ sum_float(arr_to_mrr('arr_segments.carried_arr')) }} as current_mrr
    from arr_segments
    inner join params
        on params.as_of_date between arr_segments.segment_start_date and arr_segments.segment_end_date
    group by arr_segments.customer_id

),

products_on_as_of as (

    select distinct
        coverage.customer_id,
        coverage.product
    from coverage
    inner join params
        on params.as_of_date between coverage.start_date and coverage.covered_until_date

),

active_products as (

    select
        customer_id,
        {{ ordered_list('product', "', '") }} as active_products
    from products_on_as_of
    group by customer_id

),

contract_revenue as (

    {#- Recognised up to A: covered value × days of every MRR segment (segments end on or
        before A; a bridged gap's covered value is 0), summed exactly, then per day. -#}
    select
        customer_id,
        {{ daily_recognised_revenue(
            'sum(covered_arr * (' ~ days_between('segment_start_date', 'segment_end_date') ~ ' + 1))'
        ) }} as lifetime_contract_revenue
    from arr_segments
    group by customer_id

),

final as (

    select
        customers.customer_id,
        customers.is_inferred,
        customers.created_at,
        customers.created_date,
        customers.acquisition_channel,
        customers.country,
        customers.segment,
        purchase_summary.first_purchase_date,
        purchase_summary.last_purchase_date,
        coalesce(purchase_summary.purchases, 0) as purchases,
        {{ to_money('coalesce(purchase_summary.net_revenue, 0)') }} as lifetime_net_revenue,
        {{ safe_ratio('purchase_summary.net_revenue', 'purchase_summary.purchases') }}
            as average_order_value,
        coalesce(purchase_summary.purchases, 0) >= 2 as is_repeat_customer,
        {{ month_start('order_summary.first_active_date') }} as order_cohort_month,
        {{ month_start('contract_summary.first_active_date') }} as contract_cohort_month,
        -- Status on A (int_customer_status); no activity on the basis: never active.
        {{ customer_status('order_summary.is_active_on_as_of', 'order_summary.customer_id is not null') }}
            as order_status,
        {{ customer_status('contract_summary.is_active_on_as_of', 'contract_summary.customer_id is not null') }}
            as contract_status,
        order_summary.last_churn_date as order_last_churn_date,
        contract_summary.last_churn_date as contract_last_churn_date,
        contract_summary.last_churn_type as contract_last_churn_type,
        coalesce(order_summary.reactivation_count, 0) as order_reactivation_count,
        coalesce(contract_summary.reactivation_count, 0) as contract_reactivation_count,
        coalesce(current_mrr.current_mrr, 0) as current_mrr,
        active_products.active_products,
        coalesce(contract_revenue.lifetime_contract_revenue, 0) as lifetime_contract_revenue
    from customers
    left join purchase_summary
        on customers.customer_id = purchase_summary.customer_id
    left join order_summary
        on customers.customer_id = order_summary.customer_id
    left join contract_summary
        on customers.customer_id = contract_summary.customer_id
    left join current_mrr
        on customers.customer_id = current_mrr.customer_id
    left join active_products
        on customers.customer_id = active_products.customer_id
    left join contract_revenue
        on customers.customer_id = contract_revenue.customer_id

)

select * from final
