{#- Gaps and islands: numbers each interval of a partition with the spell it belongs to.
    Intervals are visited in start order; an interval starts a new spell when the uncovered
    gap since the furthest end seen so far (start − previous end − 1 days) is larger than
    grace_days. grace_days = 0 merges overlapping and touching intervals only.
    `intervals` is a CTE with columns customer_id, interval_start, interval_end and the
    column interval_key, unique within a customer: it breaks ties between intervals with
    the same start and end, so that both windows visit them in one order (with ties, two
    sorts may order them differently, and a spell came out twice, numbered 0 and 1). -#}
{% macro number_spells(intervals, grace_days, interval_key) -%}
{%- set visit_order = 'interval_start, interval_end, ' ~ interval_key %}

    select
        *,
        sum(case when is_spell_start then 1 else 0 end) over (
            partition by customer_id
            order by {{ visit_order }}
            rows between unbounded preceding and current row
        ) as spell_number
    from (
        select
            *,
            coalesce(
                {{ days_between('max(interval_end) over (
                    partition by customer_id
                    order by ' ~ visit_order ~ '
                    rows between unbounded preceding and 1 preceding
                )', 'interval_start') }} - 1 > {{ grace_days }},
                true
            ) as is_spell_start
        from {{ intervals }}
    ) as ordered_intervals

{%- endmacro %}
