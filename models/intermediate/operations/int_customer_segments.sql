{#- The segments a customer belongs to (docs/glossary.md): `all`, their acquisition channel
    (`unknown` when missing) and their cohort year (the year of their first active day on
    either basis, int_customer_status; none without any activity up to A). One row per
    customer and segment type; read by mart_clv and mart_nps. -#}
with customers as (

    select * from {{ ref('int_customers') }}

),

statuses as (

    select * from {{ ref('int_customer_status') }}

),

first_active as (

    {{ first_active_on_either_basis('statuses') }}

),

final as (

    select
        customer_id,
        'all' as segment_type,
        'all' as segment_value
    from customers
    union all
    select
        customer_id,
        'acquisition_channel' as segment_type,
        acquisition_channel as segment_value
    from customers
    union all
    select
        customers.customer_id,
        'cohort_year' as segment_type,
        cast(extract(year from first_active.first_active_date) as {{ dbt.type_string() }}) as segment_value
    from customers
    inner join first_active
        on customers.customer_id = first_active.customer_id

)

select * from final
