{#- One row per first-purchase month: customers, repeat
    customers and their rate, the median days from first to second purchase, and for
    each window W in the `repeat_windows_days` var the eligible customers, those who
    repeated within W days and the rate. A customer is eligible for W only when their
    first purchase is at least W days before A, so a window is never cut short by A. -#}
{%- set windows = var('repeat_windows_days') %}
{#- The contract in the YAML lists the columns of the default windows; other windows make
    other columns, so the contract is enforced only for the default. -#}
{{ config(contract={'enforced': windows | list == [30, 90, 180, 365]}) }}

with purchase_summary as (

    select * from {{ ref('int_purchase_summary') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

customer_repeats as (

    {#- Two purchases on one day are two distinct purchases: the second is 0 days after
        the first (int_purchase_summary). #}
    select
        purchase_summary.customer_id,
        {{ month_start('purchase_summary.first_purchase_date') }} as first_purchase_month,
        {%- for window_days in windows %}
        purchase_summary.first_purchase_date <= {{ add_days('params.as_of_date', -window_days) }}
            as is_eligible_{{ window_days }},
        {%- endfor %}
        purchase_summary.second_purchase_date is not null as is_repeat_customer,
        {{ days_between(
            'purchase_summary.first_purchase_date', 'purchase_summary.second_purchase_date'
        ) }} as days_to_second_purchase
    from purchase_summary
    cross join params

),

monthly as (

    select
        first_purchase_month,
        {%- for window_days in windows %}
        count(case when is_eligible_{{ window_days }} then 1 end) as eligible_{{ window_days }},
        count(
            case when is_eligible_{{ window_days }} and days_to_second_purchase <= {{ window_days }} then 1 end
        ) as repeat_within_{{ window_days }},
        {%- endfor %}
        count(*) as customers,
        count(case when is_repeat_customer then 1 end) as repeat_customers,
        percentile_cont(0.5) within group (
            order by cast(days_to_second_purchase as {{ type_double() }})
        ) as median_days_to_second_purchase
    from customer_repeats
    group by first_purchase_month

),

final as (

    {#- The window columns come last, in the order of the var. -#}
    {%- set window_columns = [] %}
    {%- for window_days in windows %}
        {%- do window_columns.extend([
            'eligible_' ~ window_days,
            'repeat_within_' ~ window_days,
            safe_ratio('repeat_within_' ~ window_days, 'eligible_' ~ window_days) ~ ' as repeat_rate_' ~ window_days,
        ]) %}
    {%- endfor %}
    select
        first_purchase_month,
        customers,
        repeat_customers,
        {{ safe_ratio('repeat_customers', 'customers') }} as repeat_purchase_rate,
        median_days_to_second_purchase,
        {{ window_columns | join(',\n        ') }}
    from monthly

)

select * from final
