with spend as (

    select * from {{ ref('base_shop__marketing_spend') }}
    where rejection_reason is null

),

final as (

    select
        spend_month,
        acquisition_channel,
        amount,
        currency,
        _loaded_at
    from spend

)

select * from final
