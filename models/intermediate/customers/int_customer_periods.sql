{#- One row per customer, basis, period grain and period from the customer's first active
    period through A's: start state (on the period's first day − 1), end state (on
    min(period end, A)), the lifecycle and the MRR movement (SPEC 7). Built from the
    customer months: a month is its own period; a quarter's or year's start state is its
    first month's, its end state its last month's. This is the one place the lifecycle
    and MRR movements are derived. Incremental (macros/incremental.sql): a run rebuilds the
    rows of the customers in scope and of the periods containing the previous A's month or
    later (each from all of its months). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    rebuild_scope={'customer': 'customer_id', 'period_grain': 'period_grain', 'period_start': 'period_start'},
    on_schema_change='fail',
) }}
-- depends_on: {{ ref('int_incremental_scope') }}
-- depends_on: {{ ref('int_incremental_customers') }}

with customer_months as {{ not_materialized() }} (

    select * from {{ ref('int_customer_months') }}

),

month_periods as (

    {#- A month is its own period: no aggregation. -#}
    select
        customer_id,
        basis,
        'month' as period_grain,
        month_start as period_start,
        month_end_date as period_end_date,
        is_complete_month as is_complete_period,
        first_active_date,
        is_active_start,
        is_active_end,
        is_active_in_month as is_active_in_period,
        arr_start,
        arr_end,
        purchases,
        net_revenue,
        recognised_contract_revenue
    from customer_months
    {{- where_in_rebuild_scope({'customer': 'customer_id', 'month': 'month_start'}) }}

),

{% for grain in ['quarter', 'year'] %}
{{ grain }}_periods as (

    {#- A quarter's (year's) start state is its first month's, its end state its last
        month's: on the grid, which stops at A's month. -#}
    select
        customer_id,
        basis,
        '{{ grain }}' as period_grain,
        {{ period_start(grain, 'month_start') }} as period_start,
        max(month_end_date) as period_end_date,
        -- Complete when the period's own last day is reached.
        {{ period_end("'" ~ grain ~ "'", period_start(grain, 'month_start')) }} = max(month_end_date)
            as is_complete_period,
        min(first_active_date) as first_active_date,
        {{ value_at_first('is_active_start', 'month_start') }} as is_active_start,
        {{ value_at_last('is_active_end', 'month_start') }} as is_active_end,
        {{ dbt.bool_or('is_active_in_month') }} as is_active_in_period,
        {{ value_at_first('arr_start', 'month_start') }} as arr_start,
        {{ value_at_last('arr_end', 'month_start') }} as arr_end,
        sum(purchases) as purchases,
        sum(net_revenue) as net_revenue,
        {{ sum_float('recognised_contract_revenue') }} as recognised_contract_revenue
    from customer_months
    {{- where_in_rebuild_scope({
        'customer': 'customer_id', 'period_grain': "'" ~ grain ~ "'", 'period_start': 'month_start'
    }) }}
    group by customer_id, basis, {{ period_start(grain, 'month_start') }}

),
{% endfor %}
periods as (

    select * from month_periods
    union all
    select * from quarter_periods
    union all
    select * from year_periods

),

classified as (

    select
        *,
        first_active_date < period_start as is_active_before,
        {{ lifecycle(
            'is_active_start', 'is_active_end', 'is_active_in_period', 'first_active_date < period_start'
        ) }} as lifecycle,
        case
            when basis = 'contract'
                then {{ mrr_movement('arr_start', 'arr_end', 'first_active_date < period_start') }}
        end as mrr_movement
    from periods

),

final as (

    select
        customer_id,
        basis,
        period_grain,
        period_start,
        period_end_date,
        is_complete_period,
        first_active_date,
        is_active_start,
        is_active_end,
        is_active_in_period,
        is_active_before,
        lifecycle,
        purchases,
        net_revenue,
        recognised_contract_revenue,
        {{ arr_to_mrr('arr_start') }} as mrr_start,
        {{ arr_to_mrr('arr_end') }} as mrr_end,
        {%- for kind in ['new', 'reactivation', 'expansion', 'contraction', 'churned'] %}
        {{ arr_to_mrr(mrr_movement_amount('mrr_movement', 'arr_start', 'arr_end', kind)) }} as {{ kind }}_mrr,
        {%- endfor %}
        mrr_movement
    from classified

)

select * from final
