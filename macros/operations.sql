{#- Building blocks of the retention operations marts (models/marts/operations), each
    written once. -#}

{% macro overlap_days(start_a, end_a, start_b, end_b) -%}
    {#- Days the closed date ranges [start_a, end_a] and [start_b, end_b] share (0 when
        they do not meet). -#}
    greatest(
        {{ days_between('greatest(' ~ start_a ~ ', ' ~ start_b ~ ')', 'least(' ~ end_a ~ ', ' ~ end_b ~ ')') }} + 1,
        0
    )
{%- endmacro %}

{% macro revenue_in_windows(windows) -%}
    {#- One row per row of `windows` (a CTE with window_id, customer_id, window_start,
        window_end): the customer's net order revenue (purchases dated in the window) and
        recognised contract revenue (covered days in the window × annual value / 365; none
        on bridged gap days) in the window. -#}
    select
        {{ windows }}.window_id,
        coalesce(order_revenue.net_order_revenue, 0) as net_order_revenue,
        coalesce(contract_revenue.recognised_contract_revenue, 0) as recognised_contract_revenue
    from {{ windows }}
    left join (
        select
            {{ windows }}.window_id,
            sum(purchases.net_revenue) as net_order_revenue
        from {{ windows }}
        inner join {{ ref('int_purchases') }} as purchases
            on
                {{ windows }}.customer_id = purchases.customer_id
                and purchases.order_date between {{ windows }}.window_start and {{ windows }}.window_end
        group by {{ windows }}.window_id
    ) as order_revenue
        on {{ windows }}.window_id = order_revenue.window_id
    left join (
        select
            {{ windows }}.window_id,
            {{ sum_float(daily_recognised_revenue(
                'arr_segments.covered_arr * ' ~ overlap_days(
                    'arr_segments.segment_start_date', 'arr_segments.segment_end_date',
                    windows ~ '.window_start', windows ~ '.window_end'
                )
            )) }} as recognised_contract_revenue
        from {{ windows }}
        inner join {{ ref('int_contract_arr_segments') }} as arr_segments
            on
                {{ windows }}.customer_id = arr_segments.customer_id
                and arr_segments.segment_start_date <= {{ windows }}.window_end
                and arr_segments.segment_end_date >= {{ windows }}.window_start
        group by {{ windows }}.window_id
    ) as contract_revenue
        on {{ windows }}.window_id = contract_revenue.window_id
{%- endmacro %}

{% macro wilson_bound(successes, trials, side, z=1.959963984540054) -%}
    {#- One end (`side` 'low' or 'high') of the Wilson score interval of the proportion
        successes / trials, without continuity correction:
        (p + z²/2n ∓ z √(p(1 − p)/n + z²/4n²)) / (1 + z²/n), kept within [0, 1] (at 0 or n
        successes an end is exactly 0 or 1, which rounding can miss by one unit in the last
        place). Null when trials is 0. -#}
    {%- set n = 'cast(' ~ trials ~ ' as ' ~ type_double() ~ ')' %}
    {%- set p = '(' ~ successes ~ ' / ' ~ n ~ ')' %}
    {%- set z2 = z ~ ' * ' ~ z %}
    case
        when {{ trials }} > 0 then least(1.0, greatest(0.0, (
            {{ p }} + {{ z2 }} / (2 * {{ n }})
            {{ '-' if side == 'low' else '+' }} {{ z }} * sqrt(
                {{ p }} * (1 - {{ p }}) / {{ n }} + {{ z2 }} / (4 * {{ n }} * {{ n }})
            )
        ) / (1 + {{ z2 }} / {{ n }})))
    end
{%- endmacro %}

{% macro newcombe_bound(successes_1, trials_1, successes_2, trials_2, side, z=1.959963984540054) -%}
    {#- One end (`side` 'low' or 'high') of the Newcombe hybrid score interval for the
        difference p1 − p2 of two independent proportions (Newcombe 1998, method 10): with
        the Wilson intervals [l1, u1] and [l2, u2] (no continuity correction),
        low = p1 − p2 − √((p1 − l1)² + (u2 − p2)²),
        high = p1 − p2 + √((u1 − p1)² + (p2 − l2)²).
        z = 1.959963984540054 gives the 95 % interval, kept within [−1, 1]. Null when either
        trials is 0. -#}
    {%- set p1 = '(' ~ successes_1 ~ ' / cast(' ~ trials_1 ~ ' as ' ~ type_double() ~ '))' %}
    {%- set p2 = '(' ~ successes_2 ~ ' / cast(' ~ trials_2 ~ ' as ' ~ type_double() ~ '))' %}
    case
        when {{ trials_1 }} > 0 and {{ trials_2 }} > 0 then
        {%- if side == 'low' %}
            greatest(-1.0, {{ p1 }} - {{ p2 }} - sqrt(
                power({{ p1 }} - {{ wilson_bound(successes_1, trials_1, 'low', z) }}, 2)
                + power({{ wilson_bound(successes_2, trials_2, 'high', z) }} - {{ p2 }}, 2)
            ))
        {%- else %}
            least(1.0, {{ p1 }} - {{ p2 }} + sqrt(
                power({{ wilson_bound(successes_1, trials_1, 'high', z) }} - {{ p1 }}, 2)
                + power({{ p2 }} - {{ wilson_bound(successes_2, trials_2, 'low', z) }}, 2)
            ))
        {%- endif %}
    end
{%- endmacro %}

{% macro period_start_for_grain(grain_column, date_expression) -%}
    {#- The first day of the month, quarter or year (named by the column grain_column)
        that contains date_expression. -#}
    case {{ grain_column }}
        when 'month' then {{ period_start('month', date_expression) }}
        when 'quarter' then {{ period_start('quarter', date_expression) }}
        else {{ period_start('year', date_expression) }}
    end
{%- endmacro %}

{% macro period_grains() -%}
    {#- The period grains (month, quarter, year) as rows of one column, period_grain. -#}
    select 'month' as period_grain
    union all
    select 'quarter' as period_grain
    union all
    select 'year' as period_grain
{%- endmacro %}

{% macro bases() -%}
    {#- The two bases (order, contract) as rows of one column, basis. -#}
    select 'order' as basis
    union all
    select 'contract' as basis
{%- endmacro %}
