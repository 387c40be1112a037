{#- One row per segment (CLV, docs/decisions.md): `all`, each acquisition channel
    and each cohort year. Over the trailing year Y = [A − 364, A]: the seed formula on the
    order basis (average order value × purchase frequency × expected lifespan × margin),
    the contract CLV from ARPA and the monthly churn rate, and CAC where marketing spend
    exists. What each customer adds to a segment comes from int_clv_customers (statuses
    from int_customer_status), their segments from int_customer_segments, their MRR on A
    from dim_customers, the marketing spend per segment from int_marketing_spend_segments,
    the margin and the lifespan cap (vars gross_margin, clv_max_lifespan_years) from
    int_reporting_params, which keeps the values the mart was built with: each is defined
    once. -#}

with params as (

    select * from {{ ref('int_reporting_params') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

clv_customers as (

    select * from {{ ref('int_clv_customers') }}

),

segments as (

    select * from {{ ref('int_customer_segments') }}

),

segment_spend as (

    select * from {{ ref('int_marketing_spend_segments') }}

),

customer_metrics as (

    select
        clv_customers.*,
        customers.current_mrr
    from clv_customers
    inner join customers
        on clv_customers.customer_id = customers.customer_id

),

customer_segments as (

    {#- Each customer in each of their segments (int_customer_segments: all, acquisition
        channel, cohort year; no cohort year without any activity up to A). -#}
    select
        customer_metrics.*,
        segments.segment_type,
        segments.segment_value
    from customer_metrics
    inner join segments
        on customer_metrics.customer_id = segments.customer_id

),

segment_counts as (

    select
        segment_type,
        segment_value,
        count(*) as customers,
        cast(sum(purchases) as {{ dbt.type_bigint() }}) as purchases,
        {{ to_money('sum(net_revenue)') }} as net_revenue,
        count(case when purchases > 0 then 1 end) as purchasing_customers,
        count(case when is_order_active_year_before then 1 end) as order_active_start_customers,
        count(case when is_order_active_year_before and not is_order_active_on_as_of then 1 end)
            as order_churned_customers,
        count(case when is_contract_active_on_as_of then 1 end) as contract_active_customers,
        {{ sum_float('current_mrr') }} as mrr,
        count(case when is_contract_active_year_before then 1 end) as contract_active_start_customers,
        count(case when is_contract_active_year_before and not is_contract_active_on_as_of then 1 end)
            as contract_churned_customers,
        count(case when is_acquired_in_trailing_year then 1 end) as acquired_customers
    from customer_segments
    group by segment_type, segment_value

),

order_rates as (

    select
        segment_counts.*,
        segment_spend.marketing_spend,
        {{ safe_ratio('segment_counts.net_revenue', 'segment_counts.purchases') }} as average_order_value,
        {{ safe_ratio('segment_counts.purchases', 'segment_counts.purchasing_customers') }} as purchase_frequency,
        {{ safe_ratio('segment_counts.order_churned_customers', 'segment_counts.order_active_start_customers') }}
            as annual_churn_rate,
        {{ safe_ratio('segment_counts.mrr', 'segment_counts.contract_active_customers') }} as arpa_monthly,
        {{ safe_ratio(
            'segment_counts.contract_churned_customers', 'segment_counts.contract_active_start_customers'
        ) }} as annual_contract_churn_rate,
        params.gross_margin,
        params.clv_max_lifespan_years
    from segment_counts
    cross join params
    left join segment_spend
        on
            segment_counts.segment_type = segment_spend.segment_type
            and segment_counts.segment_value = segment_spend.segment_value

),

lifespans as (

    select
        *,
        {#- 1 / churn, capped; the cap when nobody churned; null when nobody was active
            a year before A (there is no churn rate). -#}
        case
            when annual_churn_rate is null then null
            when annual_churn_rate = 0 then clv_max_lifespan_years
            else least(1.0 / annual_churn_rate, clv_max_lifespan_years)
        end as expected_lifespan_years,
        1 - power(1 - annual_contract_churn_rate, {{ typed('1.0', type_double()) }} / 12) as monthly_churn_rate,
        arpa_monthly * 12 * clv_max_lifespan_years * gross_margin as contract_clv_cap
    from order_rates

),

clv as (

    select
        *,
        average_order_value * purchase_frequency * expected_lifespan_years * gross_margin as clv,
        {#- Like the lifespan: the cap when nobody churned, null without a churn rate or
            without ARPA (nobody contract-active on A). -#}
        case
            when annual_contract_churn_rate is null or arpa_monthly is null then null
            when annual_contract_churn_rate = 0 then contract_clv_cap
            else least(arpa_monthly * gross_margin / monthly_churn_rate, contract_clv_cap)
        end as contract_clv,
        {{ safe_ratio('marketing_spend', 'acquired_customers') }} as cac
    from lifespans

),

final as (

    select
        segment_type,
        segment_value,
        customers,
        purchases,
        net_revenue,
        purchasing_customers,
        average_order_value,
        purchase_frequency,
        order_active_start_customers,
        order_churned_customers,
        annual_churn_rate,
        expected_lifespan_years,
        clv,
        contract_active_customers,
        mrr,
        arpa_monthly,
        contract_active_start_customers,
        contract_churned_customers,
        annual_contract_churn_rate,
        monthly_churn_rate,
        contract_clv,
        marketing_spend,
        acquired_customers,
        cac,
        {{ safe_ratio('clv', 'cac') }} as ltv_to_cac
    from clv

)

select * from final
