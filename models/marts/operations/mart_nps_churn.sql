{#- One row per basis and NPS class (promoter, passive, detractor; every combination, with
    counts 0 when nobody is in it): of the responses dated r ≤ A − 180 by customers
    active on r on the basis, how many had a customer no longer active on r + 180. Each
    response counts once (a customer who answered twice counts twice). -#}
with responses as (

    select * from {{ ref('stg_shop__nps_responses') }}

),

customers as (

    select * from {{ ref('int_customers') }}

),

spells as (

    select * from {{ ref('int_activity_spells') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

bases as (

    {{ bases() }}

),

classes as (

    select 'promoter' as nps_class
    union all
    select 'passive' as nps_class
    union all
    select 'detractor' as nps_class

),

buckets as (

    select
        bases.basis,
        classes.nps_class
    from bases
    cross join classes

),

eligible_responses as (

    select responses.*
    from responses
    inner join params
        on responses.responded_date <= {{ add_days('params.as_of_date', -180) }}
    inner join customers
        on responses.customer_id = customers.customer_id

),

active_responses as (

    {#- The spell containing r; then whether a spell of that basis contains r + 180. -#}
    select
        eligible_responses.response_id,
        spells_on_response.basis,
        eligible_responses.nps_category as nps_class,
        spells_later.customer_id is null as is_churned_within_180d
    from eligible_responses
    inner join spells as spells_on_response
        on
            eligible_responses.customer_id = spells_on_response.customer_id
            and {{ is_active_on('spells_on_response', 'eligible_responses.responded_date') }}
    left join spells as spells_later
        on
            eligible_responses.customer_id = spells_later.customer_id
            and spells_on_response.basis = spells_later.basis
            and {{ is_active_on('spells_later', add_days('eligible_responses.responded_date', 180)) }}

),

grouped as (

    select
        basis,
        nps_class,
        count(*) as responses_active,
        count(case when is_churned_within_180d then 1 end) as churned_within_180d
    from active_responses
    group by basis, nps_class

),

final as (

    select
        buckets.basis,
        buckets.nps_class,
        coalesce(grouped.responses_active, 0) as responses_active,
        coalesce(grouped.churned_within_180d, 0) as churned_within_180d,
        {{ safe_ratio('grouped.churned_within_180d', 'grouped.responses_active') }} as churn_rate_180d
    from buckets
    left join grouped
        on
            buckets.basis = grouped.basis
            and buckets.nps_class = grouped.nps_class

)

select * from final
