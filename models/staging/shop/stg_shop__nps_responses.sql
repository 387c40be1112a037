with responses as (

    select * from {{ ref('base_shop__nps_responses') }}
    where rejection_reason is null

),

final as (

    select
        response_id,
        customer_id,
        responded_at,
        {{ to_local_date('responded_at') }} as responded_date,
        score,
        case
            when score >= 9 then 'promoter'
            when score >= 7 then 'passive'
            else 'detractor'
        end as nps_category,
        _loaded_at,
        built_through_load_id
    from responses

)

select * from final
