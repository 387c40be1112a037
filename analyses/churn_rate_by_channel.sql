-- Monthly churn rate on both bases by acquisition channel: the customer-month fact joined
-- to the customer dimension, counting starts and churns (the same numbers as the semantic
-- layer's order_churn_rate and contract_churn_rate grouped by
-- customer__acquisition_channel; saved query churn_by_channel). Replace
-- acquisition_channel with country or segment for the other breakdowns.
select
    months.month_start,
    coalesce(customers.acquisition_channel, 'unknown') as acquisition_channel,
    count(case when months.order_is_active_start then 1 end) as order_customers_start,
    count(case when months.order_lifecycle = 'churned' then 1 end) as order_churned,
    count(case when months.order_lifecycle = 'churned' then 1 end)
    / nullif(count(case when months.order_is_active_start then 1 end), 0) as order_churn_rate,
    count(case when months.contract_is_active_start then 1 end) as contract_customers_start,
    count(case when months.contract_lifecycle = 'churned' then 1 end) as contract_churned,
    count(case when months.contract_lifecycle = 'churned' then 1 end)
    / nullif(count(case when months.contract_is_active_start then 1 end), 0)
        as contract_churn_rate
from {{ ref('fct_customer_months') }} as months
inner join {{ ref('dim_customers') }} as customers
    on months.customer_id = customers.customer_id
group by months.month_start, coalesce(customers.acquisition_channel, 'unknown')
order by months.month_start, acquisition_channel
