with actions as (

    select * from {{ ref('base_shop__retention_actions') }}
    where rejection_reason is null

),

final as (

    select
        action_id,
        customer_id,
        campaign,
        assigned_group,
        assigned_at,
        {{ to_local_date('assigned_at') }} as assigned_date,
        -- The raw contract: a missing cost is 0.
        coalesce(cost, 0) as cost,
        _loaded_at,
        built_through_load_id
    from actions

)

select * from final
