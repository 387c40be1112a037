{#- One row per basis, period grain and period from the period of the basis' earliest
    activity through the period containing A: the customer counts of each
    lifecycle, the rates with their numerators and denominators, order revenue (order
    basis) and MRR movements with GRR and NRR (contract basis). -#}
with customer_periods as (

    select * from {{ ref('int_customer_periods') }}

),

calendar as (

    select * from {{ ref('int_calendar_months') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

grains as (

    {{ period_grains() }}

),

basis_first_months as (

    select
        basis,
        {{ month_start('min(first_active_date)') }} as first_month
    from customer_periods
    group by basis

),

periods as (

    select
        basis_first_months.basis,
        grains.period_grain,
        case grains.period_grain
            when 'month' then calendar.month_start
            when 'quarter' then calendar.quarter_start
            else calendar.year_start
        end as period_start
    from basis_first_months
    inner join calendar
        on basis_first_months.first_month <= calendar.month_start
    cross join grains
    group by basis_first_months.basis, grains.period_grain, period_start

),

periods_with_end as (

    {#- The calendar stops at A's month; a period's end is its own last day (may be after A). -#}
    select
        periods.*,
        {{ period_end('periods.period_grain', 'periods.period_start') }} as period_end,
        -- is_complete_period = pe ≤ A.
        {{ period_end('periods.period_grain', 'periods.period_start') }} <= params.as_of_date
            as is_complete_period
    from periods
    cross join params

),

counts as (

    select
        basis,
        period_grain,
        period_start,
        count(case when is_active_start then 1 end) as customers_start,
        count(case when is_active_end then 1 end) as customers_end,
        {%- for state in ['retained', 'churned', 'new', 'reactivated', 'transient'] %}
        count(case when lifecycle = '{{ state }}' then 1 end) as {{ state }},
        {%- endfor %}
        cast(sum(purchases) as bigint) as purchases,
        count(case when purchases > 0 then 1 end) as purchasing_customers,
        count(case when purchases > 0 and is_active_before then 1 end) as returning_customers,
        sum(net_revenue) as net_revenue,
        {{ sum_float('mrr_start') }} as mrr_start,
        {{ sum_float('mrr_end') }} as mrr_end,
        {%- for kind in ['new', 'reactivation', 'expansion', 'contraction', 'churned'] %}
        {{ sum_float(kind ~ '_mrr') }} as {{ kind }}_mrr,
        {%- endfor %}
        {{ sum_float('recognised_contract_revenue') }} as recognised_contract_revenue
    from customer_periods
    group by basis, period_grain, period_start

),

joined as (

    select
        periods.basis,
        periods.period_grain,
        periods.period_start,
        periods.period_end,
        periods.is_complete_period,
        {%- for column in [
            'customers_start', 'customers_end', 'retained', 'churned', 'new', 'reactivated', 'transient'
        ] %}
        coalesce(counts.{{ column }}, 0) as {{ column }},
        {%- endfor %}
        {%- for column in ['purchases', 'purchasing_customers', 'returning_customers', 'net_revenue'] %}
        case when periods.basis = 'order' then coalesce(counts.{{ column }}, 0) end as {{ column }},
        {%- endfor %}
        {%- for column in [
            'mrr_start', 'mrr_end', 'new_mrr', 'reactivation_mrr', 'expansion_mrr',
            'contraction_mrr', 'churned_mrr'
        ] %}
        case when periods.basis = 'contract' then coalesce(counts.{{ column }}, 0) end as {{ column }},
        {%- endfor %}
        case
            when periods.basis = 'contract' then coalesce(counts.recognised_contract_revenue, 0)
        end as recognised_contract_revenue
    from periods_with_end as periods
    left join counts
        on
            periods.basis = counts.basis
            and periods.period_grain = counts.period_grain
            and periods.period_start = counts.period_start

),

final as (

    select
        basis,
        period_grain,
        period_start,
        period_end,
        is_complete_period,
        customers_start,
        customers_end,
        retained,
        churned,
        new,
        reactivated,
        transient,
        {{ safe_ratio('churned', 'customers_start') }} as churn_rate,
        {{ safe_ratio('retained', 'customers_start') }} as retention_rate,
        purchases,
        purchasing_customers,
        returning_customers,
        {{ to_money('net_revenue') }} as net_revenue,
        mrr_start,
        mrr_end,
        new_mrr,
        reactivation_mrr,
        expansion_mrr,
        contraction_mrr,
        churned_mrr,
        mrr_start - contraction_mrr - churned_mrr as gross_retained_mrr,
        mrr_start + expansion_mrr - contraction_mrr - churned_mrr as net_retained_mrr,
        {{ safe_ratio('mrr_start - contraction_mrr - churned_mrr', 'mrr_start') }} as gross_revenue_retention,
        {{ safe_ratio('mrr_start + expansion_mrr - contraction_mrr - churned_mrr', 'mrr_start') }}
            as net_revenue_retention,
        recognised_contract_revenue
    from joined

)

select * from final
