{#- The two parts of the customer-period fact do not overlap: every row of
    int_customer_periods_closed lies before the period of its grain in
    int_customer_periods_open, which holds one period per grain. With each part's grain
    test this makes int_customer_periods unique on (customer, basis, grain, period), and so
    fct_customer_months (its order and contract month rows side by side) unique on
    (customer, month) — the mart's key, also checked by `retention validate` before a
    publish — without recomputing the view. Returns the offending grains. -#}
with open_periods as (

    select
        period_grain,
        min(period_start) as period_start,
        count(distinct period_start) as periods
    from {{ ref('int_customer_periods_open') }}
    group by period_grain

),

closed_periods as (

    select
        period_grain,
        max(period_start) as last_period_start
    from {{ ref('int_customer_periods_closed') }}
    group by period_grain

),

final as (

    select
        open_periods.period_start as open_period_start,
        open_periods.periods as open_periods,
        closed_periods.last_period_start as last_closed_period_start,
        coalesce(open_periods.period_grain, closed_periods.period_grain) as period_grain
    from open_periods
    full outer join closed_periods
        on open_periods.period_grain = closed_periods.period_grain

)

select * from final
where
    open_periods > 1
    or last_closed_period_start >= open_period_start
    {#- Closed rows without an open period of their grain (nobody active on A's periods
        is impossible when closed periods exist: the open part has a row for every
        customer ever active). #}
    or (last_closed_period_start is not null and open_period_start is null)
