{#- One row per period grain, period and segment with at least one response: NPS
    responses of customers that exist on A, dated (local date) on or before A, each
    response counted once, split into promoters (9–10), passives (7–8) and detractors
    (0–6); nps = 100 × (promoters − detractors) / responses. Segments as for CLV
    (int_customer_segments). -#}
with responses as (

    select * from {{ ref('stg_shop__nps_responses') }}

),

customers as (

    select * from {{ ref('int_customers') }}

),

segments as (

    select * from {{ ref('int_customer_segments') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

grains as (

    {{ period_grains() }}

),

existing_responses as (

    select responses.*
    from responses
    inner join params
        on responses.responded_date <= params.as_of_date
    inner join customers
        on responses.customer_id = customers.customer_id

),

grouped as (

    select
        grains.period_grain,
        {{ period_start_for_grain('grains.period_grain', 'existing_responses.responded_date') }} as period_start,
        segments.segment_type,
        segments.segment_value,
        count(*) as responses,
        count(case when existing_responses.nps_category = 'promoter' then 1 end) as promoters,
        count(case when existing_responses.nps_category = 'passive' then 1 end) as passives,
        count(case when existing_responses.nps_category = 'detractor' then 1 end) as detractors
    from existing_responses
    inner join segments
        on existing_responses.customer_id = segments.customer_id
    cross join grains
    group by 1, 2, 3, 4

),

final as (

    select
        period_grain,
        period_start,
        segment_type,
        segment_value,
        responses,
        promoters,
        passives,
        detractors,
        100 * {{ safe_ratio('promoters - detractors', 'responses') }} as nps
    from grouped

)

select * from final
