{#- One row per customer that exists on A: staged customers created on or before A, plus
    inferred customers (docs/decisions.md) referenced by an order of any status or a
    contract that exists on A but without a staged customer row created on or before A.
    An inferred customer has null attributes and channel `unknown`. -#}
with customers as (

    select * from {{ ref('stg_shop__customers') }}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

contracts as (

    select * from {{ ref('stg_shop__contracts') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

known_customers as (

    select customers.*
    from customers
    inner join params
        on customers.created_date <= params.as_of_date

),

referenced_customers as (

    {#- Nothing after A exists: orders dated after A, and contracts starting or signed
        after A (the same rule as int_contract_coverage), reference nobody yet. -#}
    select orders.customer_id
    from orders
    inner join params
        on orders.order_date <= params.as_of_date
    union all
    select contracts.customer_id
    from contracts
    inner join params
        on
            contracts.start_date <= params.as_of_date
            and coalesce(contracts.signed_date, contracts.start_date) <= params.as_of_date

),

inferred_customers as (

    {#- The references without a known customer first, then de-duplicated: probing the
        known customers is cheaper than de-duplicating every order's reference. -#}
    select distinct referenced_customers.customer_id
    from referenced_customers
    left join known_customers
        on referenced_customers.customer_id = known_customers.customer_id
    where known_customers.customer_id is null

),

final as (

    select
        customer_id,
        false as is_inferred,
        created_at,
        created_date,
        coalesce(acquisition_channel, 'unknown') as acquisition_channel,
        country,
        segment
    from known_customers
    union all
    select
        customer_id,
        true as is_inferred,
        cast(null as {{ dbt.type_timestamp() }}) as created_at,
        cast(null as date) as created_date,
        'unknown' as acquisition_channel,
        cast(null as {{ dbt.type_string() }}) as country,
        cast(null as {{ dbt.type_string() }}) as segment
    from inferred_customers

)

select * from final
