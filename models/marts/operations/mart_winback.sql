{#- One row per basis, churn month and churn type with at least one churn event: a churn
    event is the end of a spell before A (churn date c = spell end + 1); it is won back
    when the customer's next spell on the same basis starts on day s ≤ A, after
    days_to_return = s − c days. For each window W in `repeat_windows_days` only events
    with c ≤ A − W are eligible, so a window is never cut short by A. On the contract
    basis won_back_mrr is the MRR on the day the customer came back. -#}
{%- set windows = var('repeat_windows_days') %}
{#- Like mart_repeat_purchase: the YAML contract lists the default windows' columns. -#}
{{ config(contract={'enforced': windows | list == [30, 90, 180, 365]}) }}

with spells as (

    select * from {{ ref('int_activity_spells') }}

),

arr_segments as (

    select * from {{ ref('int_contract_arr_segments') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

spells_with_next as (

    select
        customer_id,
        basis,
        churn_date,
        churn_type,
        lead(spell_start_date) over (
            partition by customer_id, basis
            order by spell_start_date
        ) as return_date
    from spells

),

events as (

    select
        spells_with_next.customer_id,
        spells_with_next.basis,
        spells_with_next.churn_date,
        {{ month_start('spells_with_next.churn_date') }} as churn_month,
        spells_with_next.churn_type,
        spells_with_next.return_date,
        {{ days_between(
            'spells_with_next.churn_date', 'spells_with_next.return_date'
        ) }} as days_to_return,
        {%- for window_days in windows %}
        spells_with_next.churn_date <= {{ add_days('params.as_of_date', -window_days) }}
            as is_eligible_{{ window_days }},
        {%- endfor %}
        -- MRR on the return day: the first day of a spell is a covered day.
        case
            when spells_with_next.basis = 'contract' and spells_with_next.return_date is not null
                then coalesce({{ arr_to_mrr('arr_segments.carried_arr') }}, 0)
        end as return_mrr
    from spells_with_next
    cross join params
    left join arr_segments
        on
            spells_with_next.basis = 'contract'
            and spells_with_next.customer_id = arr_segments.customer_id
            and spells_with_next.return_date between arr_segments.segment_start_date and arr_segments.segment_end_date
    where spells_with_next.churn_date is not null

),

grouped as (

    select
        {%- for window_days in windows %}
        count(case when is_eligible_{{ window_days }} then 1 end) as eligible_{{ window_days }},
        count(case when is_eligible_{{ window_days }} and days_to_return <= {{ window_days }} then 1 end)
            as won_back_within_{{ window_days }},
        {%- endfor %}
        basis,
        churn_month,
        churn_type,
        count(*) as churn_events,
        count(return_date) as won_back,
        percentile_cont(0.5) within group (
            order by cast(days_to_return as {{ type_double() }})
        ) as median_days_to_return,
        case
            when basis = 'contract' then coalesce({{ sum_float('return_mrr') }}, 0)
        end as won_back_mrr
    from events
    group by basis, churn_month, churn_type

),

final as (

    {%- set window_columns = [] %}
    {%- for window_days in windows %}
        {%- do window_columns.extend([
            'eligible_' ~ window_days,
            'won_back_within_' ~ window_days,
            safe_ratio('won_back_within_' ~ window_days, 'eligible_' ~ window_days) ~ ' as winback_rate_' ~ window_days,
        ]) %}
    {%- endfor %}
    select
        basis,
        churn_month,
        churn_type,
        churn_events,
        won_back,
        {{ safe_ratio('won_back', 'churn_events') }} as winback_rate,
        median_days_to_return,
        won_back_mrr,
        {{ window_columns | join(',\n        ') }}
    from grouped

)

select * from final
