{#- One row per period grain, period (of the request's local date), churn type and reason
    code with at least one cancellation request: requests, final offers made, saves (an
    accepted final offer, whether or not the offer is flagged as made), the MRR of the
    saved contracts, and whether the saves lasted (their customer still contract-active
    90 days after the request). Every count is of requests. Only requests on or before A
    of contracts that exist on A (started and signed on or before A). A missing reason
    code is `unspecified`; a code missing from the cancellation_reasons seed has churn
    type `unknown`. -#}
with cancellations as (

    select * from {{ ref('stg_shop__cancellations') }}

),

contracts as (

    select * from {{ ref('stg_shop__contracts') }}

),

reasons as (

    select * from {{ ref('cancellation_reasons') }}

),

spells as (

    select * from {{ ref('int_activity_spells') }}
    where basis = 'contract'

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

grains as (

    {{ period_grains() }}

),

requests as (

    select
        cancellations.cancellation_id,
        cancellations.requested_date,
        coalesce(cancellations.reason_code, 'unspecified') as reason_code,
        coalesce(reasons.churn_type, 'unknown') as churn_type,
        reasons.is_retainable,
        coalesce(cancellations.final_offer_made, false) as is_offer_made,
        coalesce(cancellations.final_offer_accepted, false) as is_saved,
        contracts.mrr,
        cancellations.requested_date <= {{ add_days('params.as_of_date', -90) }} as is_eligible_90d,
        spells.customer_id is not null as is_active_90d
    from cancellations
    inner join params
        on cancellations.requested_date <= params.as_of_date
    inner join contracts
        on cancellations.contract_id = contracts.contract_id
    left join reasons
        on cancellations.reason_code = reasons.reason_code
    -- Contract-active on request date + 90 (only asked where that day is on or before A).
    left join spells
        on
            contracts.customer_id = spells.customer_id
            and cancellations.requested_date <= {{ add_days('params.as_of_date', -90) }}
            and {{ is_active_on('spells', add_days('cancellations.requested_date', 90)) }}
    -- The contract exists on A: started and signed on or before it.
    where
        contracts.start_date <= params.as_of_date
        and coalesce(contracts.signed_date, contracts.start_date) <= params.as_of_date

),

grouped as (

    select
        grains.period_grain,
        {{ period_start_for_grain('grains.period_grain', 'requests.requested_date') }} as period_start,
        requests.churn_type,
        requests.reason_code,
        requests.is_retainable,
        count(*) as cancellation_requests,
        count(case when requests.is_offer_made then 1 end) as final_offers_made,
        count(case when requests.is_saved then 1 end) as saves,
        coalesce({{ sum_float('case when requests.is_saved then requests.mrr end') }}, 0) as saved_mrr,
        count(case when requests.is_saved and requests.is_eligible_90d then 1 end) as eligible_saves_90d,
        count(case when requests.is_saved and requests.is_eligible_90d and requests.is_active_90d then 1 end)
            as saves_active_90d
    from requests
    cross join grains
    group by 1, 2, 3, 4, 5

),

final as (

    select
        period_grain,
        period_start,
        churn_type,
        reason_code,
        is_retainable,
        cancellation_requests,
        final_offers_made,
        saves,
        {{ safe_ratio('final_offers_made', 'cancellation_requests') }} as offer_rate,
        {{ safe_ratio('saves', 'final_offers_made') }} as save_rate,
        saved_mrr,
        eligible_saves_90d,
        saves_active_90d,
        {{ safe_ratio('saves_active_90d', 'eligible_saves_90d') }} as save_durability_90d
    from grouped

)

select * from final
