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
        -- What the action cost (reporting currency; null = 0). Placeholder until the raw
        -- column `cost` is delivered through the base model: every action costs 0.
        cast(0 as {{ money_type() }}) as cost,  -- noqa: RF04
        _loaded_at
    from actions

)

select * from final
