{#- The marketing spend over the trailing year Y = [A − 364, A] for the CLV segments that
    have one (docs/decisions.md): `all`, and each acquisition channel of a customer. Null
    when no marketing spend is delivered at all; with spend delivered, a channel without
    spend rows in Y spent 0. Cohort years have none. -#}
with customers as (

    select * from {{ ref('int_customers') }}

),

marketing_spend as (

    select * from {{ ref('stg_shop__marketing_spend') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

segments as (

    select
        'all' as segment_type,
        'all' as segment_value
    union
    select distinct
        'acquisition_channel' as segment_type,
        acquisition_channel as segment_value
    from customers

),

has_marketing_spend as (

    {#- CAC exists only where marketing spend is delivered at all. -#}
    select count(*) > 0 as has_marketing_spend
    from marketing_spend

),

trailing_year_spend as (

    select
        marketing_spend.acquisition_channel,
        sum(marketing_spend.amount) as marketing_spend
    from marketing_spend
    inner join params
        on marketing_spend.spend_month between params.trailing_year_start_date and params.as_of_date
    group by marketing_spend.acquisition_channel

),

total_trailing_year_spend as (

    select sum(marketing_spend) as marketing_spend
    from trailing_year_spend

),

final as (

    select
        segments.segment_type,
        segments.segment_value,
        case
            when has_marketing_spend.has_marketing_spend and segments.segment_type = 'all'
                then {{ to_money('coalesce(total_trailing_year_spend.marketing_spend, 0)') }}
            when has_marketing_spend.has_marketing_spend
                then {{ to_money('coalesce(trailing_year_spend.marketing_spend, 0)') }}
        end as marketing_spend
    from segments
    cross join has_marketing_spend
    cross join total_trailing_year_spend
    left join trailing_year_spend
        on
            segments.segment_type = 'acquisition_channel'
            and segments.segment_value = trailing_year_spend.acquisition_channel

)

select * from final
