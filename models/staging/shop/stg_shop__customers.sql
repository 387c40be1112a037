with customers as (

    select * from {{ ref('base_shop__customers') }}
    where rejection_reason is null

),

final as (

    select
        customer_id,
        created_at,
        {{ to_local_date('created_at') }} as created_date,
        acquisition_channel,
        country,
        segment,
        _loaded_at,
        built_through_load_id
    from customers

)

select * from final
