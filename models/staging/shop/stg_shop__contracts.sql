with contracts as (

    select * from {{ ref('base_shop__contracts') }}
    where rejection_reason is null

),

final as (

    select
        contract_id,
        customer_id,
        product,
        signed_at,
        {{ to_local_date('signed_at') }} as signed_date,
        start_date,
        end_date,
        billing_period,
        price,
        currency,
        -- SPEC 7: monthly recurring revenue of one contract.
        case billing_period
            when 'month' then price
            when 'quarter' then price / 3.0
            when 'year' then price / 12.0
        end as mrr,
        previous_contract_id,
        _loaded_at
    from contracts

)

select * from final
