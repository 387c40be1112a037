{#- One row per contract that exists on A (it started and was signed on or before A) and
    covers at least one day: the days it covers as the data known on A has them, not cut
    at A (contract basis), and the cancellation that ends it. The view
    int_contract_coverage cuts the coverage at A.

    Only the data known on A makes a row (contracts started and signed on or before A,
    cancellations requested by then), so a contract's row changes only when its customer's
    data does, never because A moves on: incremental per customer like
    int_activity_spells_uncut (shared_changed_customers_plan): its pre-hook deletes the
    changed customers' rows first (a contract can stop existing or change customer), and
    the run appends. -#}
{{ per_customer_incremental_config() }}
{%- set plan = shared_changed_customers_plan() %}

with
{{ changed_customers_cte(plan) }}

contracts as (

    select * from {{ ref('stg_shop__contracts') }}
    {{- only_changed_customers(plan) }}

),

cancellations as (

    select * from {{ ref('stg_shop__cancellations') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

effective_cancellations as (

    {#- Withdrawn cancellations (accepted final offer) end nothing, and a request made
        after A does not exist yet. Of several, the earliest effective date ends the
        contract (ties: the latest request). -#}
    select
        cancellations.*,
        row_number() over (
            partition by cancellations.contract_id
            order by
                cancellations.effective_date asc,
                cancellations.requested_at desc,
                cancellations.cancellation_id asc
        ) as cancellation_rank
    from cancellations
    inner join params
        on cancellations.requested_date <= params.as_of_date
    where not cancellations.is_withdrawn

),

existing_contracts as (

    select contracts.*
    from contracts
    inner join params
        on
            contracts.start_date <= params.as_of_date
            and coalesce(contracts.signed_date, contracts.start_date) <= params.as_of_date

),

coverage as (

    select
        existing_contracts.contract_id,
        existing_contracts.customer_id,
        existing_contracts.product,
        existing_contracts.billing_period,
        existing_contracts.arr,
        existing_contracts.mrr,
        existing_contracts.start_date,
        existing_contracts.end_date,
        effective_cancellations.cancellation_id,
        effective_cancellations.requested_at as cancellation_requested_at,
        effective_cancellations.effective_date as cancellation_effective_date,
        effective_cancellations.reason_code,
        -- the earlier of end_date and the effective date; null = runs on.
        case
            when effective_cancellations.effective_date is null then existing_contracts.end_date
            when existing_contracts.end_date is null then effective_cancellations.effective_date
            when effective_cancellations.effective_date < existing_contracts.end_date
                then effective_cancellations.effective_date
            else existing_contracts.end_date
        end as coverage_end_date
    from existing_contracts
    left join effective_cancellations
        on
            existing_contracts.contract_id = effective_cancellations.contract_id
            and effective_cancellations.cancellation_rank = 1

),

final as (

    select
        coverage.*,
        {{ run_stamp_columns('params') }}
    from coverage
    cross join params
    -- A cancellation effective before the start leaves nothing covered.
    where coverage.coverage_end_date is null or coverage.coverage_end_date >= coverage.start_date

)

select * from final
