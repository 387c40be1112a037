{#- One row per segment (SPEC 7 CLV, docs/decisions.md): `all`, each acquisition channel
    and each cohort year. Over the trailing year Y = [A − 364, A]: the seed formula on the
    order basis (average order value × purchase frequency × expected lifespan × margin),
    the contract CLV from ARPA and the monthly churn rate, and CAC where marketing spend
    exists. A customer's state on A (channel, activity, MRR) is read from dim_customers so
    that it is defined once. -#}
{%- set max_years = var('clv_max_lifespan_years') %}
{%- set gross_margin = var('gross_margin') %}

with customers as (

    select * from {{ ref('dim_customers') }}

),

purchases as (

    select * from {{ ref('int_purchases') }}

),

spells as (

    select * from {{ ref('int_activity_spells') }}

),

segments as (

    {#- all, acquisition channel, cohort year: defined once. -#}
    select * from {{ ref('int_customer_segments') }}

),

marketing_spend as (

    select * from {{ ref('stg_shop__marketing_spend') }}

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

spell_states as (

    {#- Active on A − 365 on each basis (a spell containing that day), and the first
        active day on either basis. -#}
    select
        spells.customer_id,
        {{ dbt.bool_or(
            "spells.basis = 'order' and params.year_before_as_of_date "
            ~ "between spells.spell_start_date and spells.spell_end_date"
        ) }} as is_order_active_year_before,
        {{ dbt.bool_or(
            "spells.basis = 'contract' and params.year_before_as_of_date "
            ~ "between spells.spell_start_date and spells.spell_end_date"
        ) }} as is_contract_active_year_before,
        min(spells.spell_start_date) as first_active_date
    from spells
    cross join params
    group by spells.customer_id

),

customer_metrics as (

    select
        customers.customer_id,
        customers.acquisition_channel,
        customers.current_mrr,
        coalesce(trailing_year_purchases.purchases, 0) as purchases,
        coalesce(trailing_year_purchases.net_revenue, 0) as net_revenue,
        coalesce(spell_states.is_order_active_year_before, false) as is_order_active_year_before,
        customers.order_status = 'active' as is_order_active_on_as_of,
        coalesce(spell_states.is_contract_active_year_before, false) as is_contract_active_year_before,
        customers.contract_status = 'active' as is_contract_active_on_as_of,
        coalesce(
            spell_states.first_active_date between params.trailing_year_start_date and params.as_of_date,
            false
        ) as is_acquired_in_trailing_year
    from customers
    cross join params
    left join trailing_year_purchases
        on customers.customer_id = trailing_year_purchases.customer_id
    left join spell_states
        on customers.customer_id = spell_states.customer_id

),

customer_segments as (

    {#- Customers without any activity up to A have no cohort year: they are only in
        `all` and their channel. -#}
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
        cast(sum(net_revenue) as {{ money_type() }}) as net_revenue,
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

has_marketing_spend as (

    {#- CAC exists only where marketing spend is delivered at all. -#}
    select count(*) > 0 as has_marketing_spend
    from marketing_spend

),

trailing_year_spend as (

    select
        marketing_spend.acquisition_channel,
        sum(marketing_spend.amount) as marketing_spend
    from marketing_spend
    inner join params
        on marketing_spend.spend_month between params.trailing_year_start_date and params.as_of_date
    group by marketing_spend.acquisition_channel

),

total_trailing_year_spend as (

    select sum(marketing_spend) as marketing_spend
    from trailing_year_spend

),

segment_spend as (

    {#- Spend per channel segment and in total; cohort years have none. With spend
        delivered, a channel without spend rows in Y spent 0. -#}
    select
        segment_counts.segment_type,
        segment_counts.segment_value,
        case
            when has_marketing_spend.has_marketing_spend and segment_counts.segment_type = 'all'
                then cast(coalesce(total_trailing_year_spend.marketing_spend, 0) as {{ money_type() }})
            when has_marketing_spend.has_marketing_spend and segment_counts.segment_type = 'acquisition_channel'
                then cast(coalesce(trailing_year_spend.marketing_spend, 0) as {{ money_type() }})
        end as marketing_spend
    from segment_counts
    cross join has_marketing_spend
    cross join total_trailing_year_spend
    left join trailing_year_spend
        on
            segment_counts.segment_type = 'acquisition_channel'
            and segment_counts.segment_value = trailing_year_spend.acquisition_channel

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
        ) }} as annual_contract_churn_rate
    from segment_counts
    inner join segment_spend
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
            when annual_churn_rate = 0 then cast({{ max_years }} as {{ type_double() }})
            else least(1.0 / annual_churn_rate, {{ max_years }})
        end as expected_lifespan_years,
        1 - power(1 - annual_contract_churn_rate, 1.0 / 12) as monthly_churn_rate,
        arpa_monthly * 12 * {{ max_years }} * {{ gross_margin }} as contract_clv_cap
    from order_rates

),

clv as (

    select
        *,
        average_order_value * purchase_frequency * expected_lifespan_years * {{ gross_margin }} as clv,
        {#- Like the lifespan: the cap when nobody churned, null without a churn rate or
            without ARPA (nobody contract-active on A). -#}
        case
            when annual_contract_churn_rate is null or arpa_monthly is null then null
            when annual_contract_churn_rate = 0 then contract_clv_cap
            else least(arpa_monthly * {{ gross_margin }} / monthly_churn_rate, contract_clv_cap)
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
