{#- One row per campaign, basis and customer in a retention programme's measured
    population: the customer's assignment is their earliest action in the campaign
    (earliest assigned_at, then lowest action_id; later actions are ignored), dated t on or
    before A − H (H = programme_horizon_days), and the customer is active on t on the
    basis. Retained = active on t + H; revenue = net order revenue plus recognised contract
    revenue in the days t + 1 … t + H (on either basis: what the customer brought in). -#}
{%- set horizon = var('programme_horizon_days') %}

with actions as (

    select * from {{ ref('stg_shop__retention_actions') }}

),

customers as (

    select * from {{ ref('int_customers') }}

),

spells as (

    select * from {{ ref('int_activity_spells') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

assignments as (

    select
        actions.campaign,
        actions.customer_id,
        actions.assigned_group,
        actions.assigned_date
    from actions
    inner join params
        on actions.assigned_date <= params.as_of_date
    inner join customers
        on actions.customer_id = customers.customer_id
    qualify row_number() over (
        partition by actions.campaign, actions.customer_id
        order by actions.assigned_at, actions.action_id
    ) = 1

),

population as (

    {#- Active on t on the basis: the spell containing t; retained: a spell of the same
        basis contains t + H. -#}
    select
        assignments.campaign,
        spells_on_assignment.basis,
        assignments.customer_id,
        assignments.assigned_group,
        assignments.assigned_date,
        spells_later.customer_id is not null as is_retained
    from assignments
    inner join params
        on assignments.assigned_date <= {{ add_days('params.as_of_date', -horizon) }}
    inner join spells as spells_on_assignment
        on
            assignments.customer_id = spells_on_assignment.customer_id
            and {{ is_active_on('spells_on_assignment', 'assignments.assigned_date') }}
    left join spells as spells_later
        on
            assignments.customer_id = spells_later.customer_id
            and spells_on_assignment.basis = spells_later.basis
            and {{ is_active_on('spells_later', add_days('assignments.assigned_date', horizon)) }}

),

revenue_windows as (

    {#- One window per campaign and customer (the same on both bases); the campaign's
        fixed-length hash keeps the id unambiguous. -#}
    select distinct
        {{ dbt.hash('campaign') }} || customer_id as window_id,
        customer_id,
        {{ add_days('assigned_date', 1) }} as window_start,
        {{ add_days('assigned_date', horizon) }} as window_end
    from population

),

window_revenue as (

    {{ revenue_in_windows('revenue_windows') }}

),

final as (

    select
        population.campaign,
        population.basis,
        population.customer_id,
        population.assigned_group,
        population.assigned_date,
        population.is_retained,
        window_revenue.net_order_revenue,
        window_revenue.recognised_contract_revenue,
        window_revenue.net_order_revenue + window_revenue.recognised_contract_revenue as revenue
    from population
    inner join window_revenue
        on {{ dbt.hash('population.campaign') }} || population.customer_id = window_revenue.window_id

)

select * from final
