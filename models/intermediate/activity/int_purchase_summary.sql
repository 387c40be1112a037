{#- Each customer's purchases up to A, summarised once for every reader: the first, the
    second and the last purchase date, the number of purchases and their net revenue
    (dim_customers, mart_repeat_purchase), and the purchase days as the BG/NBD and
    Gamma-Gamma fits count them — the number of distinct days and the mean net revenue of
    the days after the first (purchases on one day are one transaction, their net revenue
    summed; the first day left out, as in the Gamma-Gamma paper). The view
    int_predictive_summary derives x, t_x and T (which grows with A) from it.

    Only the purchases on or before A make a row, so a customer's row changes only when
    the customer's purchases do, never because A moves on: incremental per customer like
    int_activity_spells_uncut (shared_changed_customers_plan): its pre-hook deletes the
    changed customers' rows first (a customer can lose every purchase), and the run
    appends. -#}
{{ per_customer_incremental_config() }}
{%- set plan = shared_changed_customers_plan() %}

with
{{ changed_customers_cte(plan) }}

purchases as (

    select * from {{ ref('int_purchases') }}
    {{- only_changed_customers(plan) }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

purchase_days as (

    select
        purchases.customer_id,
        purchases.order_date as purchase_date,
        count(*) as purchases,
        sum(purchases.net_revenue) as net_revenue
    from purchases
    cross join params
    where purchases.order_date <= params.as_of_date
    group by purchases.customer_id, purchases.order_date

),

first_days as (

    select
        customer_id,
        min(purchase_date) as first_purchase_date
    from purchase_days
    group by customer_id

),

final as (

    {#- The second purchase counts repeats: with two purchases on the first day it is that
        day (0 days after the first), else the next purchase day. #}
    select
        purchase_days.customer_id,
        min(first_days.first_purchase_date) as first_purchase_date,
        min(
            case
                when purchase_days.purchase_date > first_days.first_purchase_date or purchase_days.purchases >= 2
                    then purchase_days.purchase_date
            end
        ) as second_purchase_date,
        max(purchase_days.purchase_date) as last_purchase_date,
        cast(sum(purchase_days.purchases) as {{ dbt.type_bigint() }}) as purchases,
        sum(purchase_days.net_revenue) as net_revenue,
        count(*) as purchase_days,
        avg(purchase_days.net_revenue) filter (
            where purchase_days.purchase_date > first_days.first_purchase_date
        ) as repeat_day_mean_revenue,
        {{ run_stamp_columns('params') }}
    from purchase_days
    inner join first_days on purchase_days.customer_id = first_days.customer_id
    cross join params
    group by purchase_days.customer_id, params.as_of_date

)

select * from final
