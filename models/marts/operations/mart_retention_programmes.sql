{#- One row per campaign and basis: treatment against control after H =
    programme_horizon_days days (int_programme_outcomes holds the measured population).
    Retention rate and revenue per customer of each group; the uplift in retention with
    its 95 % Newcombe hybrid score interval (macros/operations.sql) and whether it
    excludes 0; incremental customers and revenue; the programme's cost (every
    treatment-group action of the campaign dated on or before A, inside the population
    or not), cost per incremental customer and return on cost. Everything derived from a
    group is null when the group has no population. The margin (var gross_margin) comes
    from int_reporting_params, which keeps the value the mart was built with. -#}

with outcomes as (

    select * from {{ ref('int_programme_outcomes') }}

),

actions as (

    select * from {{ ref('stg_shop__retention_actions') }}

),

customers as (

    select * from {{ ref('int_customers') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

campaign_actions as (

    select
        actions.campaign,
        coalesce(
            {{ sum_float("case when actions.assigned_group = 'treatment' then coalesce(actions.cost, 0) end") }},
            0
        ) as programme_cost
    from actions
    inner join params
        on actions.assigned_date <= params.as_of_date
    inner join customers
        on actions.customer_id = customers.customer_id
    group by actions.campaign

),

bases as (

    {{ bases() }}

),

campaign_bases as (

    select
        campaign_actions.campaign,
        campaign_actions.programme_cost,
        bases.basis
    from campaign_actions
    cross join bases

),

groups as (

    select
        campaign,
        basis,
        count(case when assigned_group = 'treatment' then 1 end) as treatment_customers,
        count(case when assigned_group = 'treatment' and is_retained then 1 end) as treatment_retained,
        coalesce({{ sum_float("case when assigned_group = 'treatment' then revenue end") }}, 0)
            as treatment_revenue,
        count(case when assigned_group = 'control' then 1 end) as control_customers,
        count(case when assigned_group = 'control' and is_retained then 1 end) as control_retained,
        coalesce({{ sum_float("case when assigned_group = 'control' then revenue end") }}, 0)
            as control_revenue
    from outcomes
    group by campaign, basis

),

counts as (

    select
        campaign_bases.campaign,
        campaign_bases.basis,
        coalesce(groups.treatment_customers, 0) as treatment_customers,
        coalesce(groups.treatment_retained, 0) as treatment_retained,
        cast(coalesce(groups.treatment_revenue, 0) as {{ type_double() }}) as treatment_revenue,
        coalesce(groups.control_customers, 0) as control_customers,
        coalesce(groups.control_retained, 0) as control_retained,
        cast(coalesce(groups.control_revenue, 0) as {{ type_double() }}) as control_revenue,
        cast(campaign_bases.programme_cost as {{ type_double() }}) as programme_cost,
        params.gross_margin
    from campaign_bases
    cross join params
    left join groups
        on
            campaign_bases.campaign = groups.campaign
            and campaign_bases.basis = groups.basis

),

rates as (

    select
        *,
        {{ safe_ratio('treatment_retained', 'treatment_customers') }} as treatment_retention_rate,
        {{ safe_ratio('treatment_revenue', 'treatment_customers') }} as treatment_revenue_per_customer,
        {{ safe_ratio('control_retained', 'control_customers') }} as control_retention_rate,
        {{ safe_ratio('control_revenue', 'control_customers') }} as control_revenue_per_customer,
        {{ newcombe_bound(
            'treatment_retained', 'treatment_customers', 'control_retained', 'control_customers', 'low'
        ) }} as uplift_ci_low,
        {{ newcombe_bound(
            'treatment_retained', 'treatment_customers', 'control_retained', 'control_customers', 'high'
        ) }} as uplift_ci_high
    from counts

),

effects as (

    select
        *,
        treatment_retention_rate - control_retention_rate as uplift,
        uplift_ci_low > 0 or uplift_ci_high < 0 as is_significant,
        (treatment_retention_rate - control_retention_rate) * treatment_customers as incremental_customers_retained,
        (treatment_revenue_per_customer - control_revenue_per_customer) * treatment_customers as incremental_revenue
    from rates

),

final as (

    select
        campaign,
        basis,
        treatment_customers,
        treatment_retained,
        treatment_retention_rate,
        treatment_revenue,
        treatment_revenue_per_customer,
        control_customers,
        control_retained,
        control_retention_rate,
        control_revenue,
        control_revenue_per_customer,
        uplift,
        uplift_ci_low,
        uplift_ci_high,
        is_significant,
        incremental_customers_retained,
        incremental_revenue,
        programme_cost,
        case
            when incremental_customers_retained > 0 then programme_cost / incremental_customers_retained
        end as cost_per_incremental_customer,
        {{ safe_ratio('incremental_revenue * gross_margin - programme_cost', 'programme_cost') }}
            as return_on_cost
    from effects

)

select * from final
