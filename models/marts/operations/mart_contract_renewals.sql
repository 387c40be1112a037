{#- One row per product, billing period and term-end month (month of end_date) with at
    least one term ending: contracts with an end_date on or before A − contract_grace_days
    whose coverage ran to end_date (not cancelled earlier; a cancellation effective on
    end_date itself ran to it), how many were renewed (named as previous_contract_id by a
    contract that exists on A and starts on or before end_date + contract_grace_days + 1),
    and the median days between the renewal's signature and the term's end. With several
    renewals the earliest start (then lowest contract_id) is the renewal. -#}
{%- set grace = var('contract_grace_days') %}

with coverage as (

    select * from {{ ref('int_contract_coverage') }}

),

contracts as (

    select * from {{ ref('stg_shop__contracts') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

terms as (

    select
        coverage.contract_id,
        coverage.product,
        coverage.billing_period,
        coverage.end_date,
        {{ month_start('coverage.end_date') }} as term_end_month
    from coverage
    inner join params
        on coverage.end_date <= {{ add_days('params.as_of_date', -grace) }}
    where coverage.coverage_end_date = coverage.end_date

),

renewals as (

    select
        terms.contract_id,
        {{ days_between(
            'contracts.signed_date', 'terms.end_date'
        ) }} as renewal_lead_days
    from terms
    inner join contracts
        on
            terms.contract_id = contracts.previous_contract_id
            and contracts.start_date <= {{ add_days('terms.end_date', grace + 1) }}
    inner join params
        on
            contracts.start_date <= params.as_of_date
            and coalesce(contracts.signed_date, contracts.start_date) <= params.as_of_date
    qualify row_number() over (
        partition by terms.contract_id
        order by contracts.start_date, contracts.contract_id
    ) = 1

),

grouped as (

    select
        terms.product,
        terms.billing_period,
        terms.term_end_month,
        count(*) as terms_ending,
        count(renewals.contract_id) as renewed,
        count(renewals.renewal_lead_days) as renewals_signed,
        percentile_cont(0.5) within group (
            order by cast(renewals.renewal_lead_days as {{ type_double() }})
        ) as median_renewal_lead_days
    from terms
    left join renewals
        on terms.contract_id = renewals.contract_id
    group by terms.product, terms.billing_period, terms.term_end_month

),

final as (

    select
        product,
        billing_period,
        term_end_month,
        terms_ending,
        renewed,
        {{ safe_ratio('renewed', 'terms_ending') }} as renewal_rate,
        renewals_signed,
        median_renewal_lead_days
    from grouped

)

select * from final
