{#- One row per basis, period grain, period, churn type and reason code with at least one
    churned customer (churn types). A customer churned in a period is
    attributed to the departure that left them inactive at the period's end: the latest
    spell that started on or before the end-state day (docs/decisions.md). -#}
with customer_periods as (

    {#- The churned rows by the stored states (the filter reaches the scans of the closed
        and open parts, so lifecycle is not derived for every row first). #}
    select * from {{ ref('int_customer_periods') }}
    where {{ is_churned_in_period('is_active_start', 'is_active_end') }}

),

spells as (

    select * from {{ ref('int_activity_spells') }}

),

candidate_spells as (

    {#- The spells that started on or before the period's end-state day, latest first. -#}
    select
        customer_periods.customer_id,
        customer_periods.basis,
        customer_periods.period_grain,
        customer_periods.period_start,
        customer_periods.churned_mrr,
        spells.churn_type,
        spells.churn_reason_code as reason_code,
        spells.churn_is_retainable as is_retainable,
        row_number() over (
            partition by
                customer_periods.customer_id,
                customer_periods.basis,
                customer_periods.period_grain,
                customer_periods.period_start
            order by spells.spell_start_date desc
        ) as spell_rank
    from customer_periods
    inner join spells
        on
            customer_periods.customer_id = spells.customer_id
            and customer_periods.basis = spells.basis
            and customer_periods.period_end_date >= spells.spell_start_date

),

attributed as (

    select * from candidate_spells
    where spell_rank = 1

),

grouped as (

    select
        basis,
        period_grain,
        period_start,
        churn_type,
        reason_code,
        is_retainable,
        count(*) as churned_customers,
        {{ sum_float('churned_mrr') }} as churned_mrr
    from attributed
    group by basis, period_grain, period_start, churn_type, reason_code, is_retainable

),

final as (

    select
        basis,
        period_grain,
        period_start,
        churn_type,
        reason_code,
        is_retainable,
        churned_customers,
        churned_mrr,
        cast(sum(churned_customers) over (partition by basis, period_grain, period_start) as bigint)
            as period_churned_customers,
        {{ safe_ratio(
            'churned_customers',
            'sum(churned_customers) over (partition by basis, period_grain, period_start)'
        ) }} as share_of_churn
    from grouped

)

select * from final
