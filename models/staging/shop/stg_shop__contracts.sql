with contracts as (

    select * from {{ ref('base_shop__contracts') }}
    where rejection_reason is null

),

valued as (

    select
        *,
        -- The exact annual value (price × billing periods per year): sums of it stay exact,
        -- and MRR is derived from it (price, price / 3, price / 12 = annual / 12).
        price * case billing_period
            when 'month' then 12
            when 'quarter' then 4
            when 'year' then 1
        end as arr
    from contracts

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
        arr,
        {{ arr_to_mrr('arr') }} as mrr,
        previous_contract_id,
        _loaded_at,
        built_through_load_id
    from valued

)

select * from final
