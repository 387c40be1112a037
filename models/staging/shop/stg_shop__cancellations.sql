with cancellations as (

    select * from {{ ref('base_shop__cancellations') }}
    where rejection_reason is null

),

final as (

    select
        cancellation_id,
        contract_id,
        requested_at,
        {{ to_local_date('requested_at') }} as requested_date,
        effective_date,
        reason_code,
        final_offer_made,
        final_offer_accepted,
        -- an accepted final offer saved the customer; the cancellation is withdrawn.
        coalesce(final_offer_accepted, false) as is_withdrawn,
        _loaded_at
    from cancellations

)

select * from final
