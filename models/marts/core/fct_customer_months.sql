{#- One row per customer and month from the customer's first active month on either basis
    through A's month: the month's purchases and revenue, and the start/end state and
    lifecycle on each basis. The two bases are the month rows of
    int_customer_periods side by side; a month before a basis' first active month is
    `inactive` on that basis. A view: a projection of the customer-period fact, nothing
    is written twice. -#}
{{ config(materialized='view') }}

with customer_periods as (

    select * from {{ ref('int_customer_periods') }}
    where period_grain = 'month'

),

order_months as (

    select * from customer_periods
    where basis = 'order'

),

contract_months as (

    select * from customer_periods
    where basis = 'contract'

),

final as (

    select
        coalesce(order_months.customer_id, contract_months.customer_id) as customer_id,
        coalesce(order_months.period_start, contract_months.period_start) as month_start,
        coalesce(order_months.period_end_date, contract_months.period_end_date) as month_end_date,
        coalesce(order_months.is_complete_period, contract_months.is_complete_period) as is_complete_month,
        cast(coalesce(order_months.purchases, 0) as bigint) as purchases,
        {{ to_money('coalesce(order_months.net_revenue, 0)') }} as net_revenue,
        coalesce(order_months.is_active_start, false) as order_is_active_start,
        coalesce(order_months.is_active_end, false) as order_is_active_end,
        coalesce(order_months.lifecycle, 'inactive') as order_lifecycle,
        coalesce(contract_months.is_active_start, false) as contract_is_active_start,
        coalesce(contract_months.is_active_end, false) as contract_is_active_end,
        coalesce(contract_months.lifecycle, 'inactive') as contract_lifecycle,
        coalesce(contract_months.mrr_start, 0) as mrr_start,
        coalesce(contract_months.mrr_end, 0) as mrr_end,
        coalesce(contract_months.mrr_movement, 'unchanged') as mrr_movement,
        coalesce(contract_months.new_mrr, 0) as new_mrr,
        coalesce(contract_months.reactivation_mrr, 0) as reactivation_mrr,
        coalesce(contract_months.expansion_mrr, 0) as expansion_mrr,
        coalesce(contract_months.contraction_mrr, 0) as contraction_mrr,
        coalesce(contract_months.churned_mrr, 0) as churned_mrr,
        coalesce(contract_months.recognised_contract_revenue, 0) as recognised_contract_revenue
    from order_months
    full outer join contract_months
        on
            order_months.customer_id = contract_months.customer_id
            and order_months.period_start = contract_months.period_start

)

select * from final
