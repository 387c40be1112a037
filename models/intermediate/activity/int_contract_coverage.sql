{#- One row per contract that covers at least one day on or before A:
    int_contract_coverage_uncut's coverage with its last covered day that exists
    (covered_until_date: coverage cut at A). A view: the cut changes with A for every
    contract still running, while the coverage itself changes only with a customer's data
    (it is stored per customer). -#}
{{ config(materialized='view') }}

with coverage as (

    select * from {{ ref('int_contract_coverage_uncut') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

final as (

    select
        coverage.contract_id,
        coverage.customer_id,
        coverage.product,
        coverage.billing_period,
        coverage.arr,
        coverage.mrr,
        coverage.start_date,
        coverage.end_date,
        coverage.cancellation_id,
        coverage.cancellation_requested_at,
        coverage.cancellation_effective_date,
        coverage.reason_code,
        coverage.coverage_end_date,
        -- The last covered day that exists: coverage is cut at A.
        {{ cut_at('coverage.coverage_end_date', 'params.as_of_date') }} as covered_until_date
    from coverage
    cross join params

)

select * from final
