{#- A customer's activity states, each defined once (docs/glossary.md). Active on a date is
    a spell containing it (is_active_on, on int_activity_spells rows); from that:

    - customer_status: the status on one date, `active`, `churned` or `never_active`;
      applied on A and on A − 365 in int_customer_status (read by dim_customers and
      mart_clv);
    - lifecycle: the state over a period, from the status on its first day − 1 and on its
      end-state day; applied in macros/customer_periods.sql. A customer `churned` in a
      period is active at its start and churned (by customer_status) at its end;
    - first_active_on_either_basis: the first active day on either basis, from the
      statuses.

    The churn date itself is the spell's: int_activity_spells.churn_date. -#}

{% macro is_active_on(spell, day) -%}
    {#- A customer is active on `day` on a basis when a spell of that basis contains it
        (int_activity_spells; the spells of one basis never overlap). `spell` is the alias
        of an int_activity_spells row. The one test of activity on a date: the statuses of
        int_customer_status and the operations marts apply it. -#}
    ({{ day }} between {{ spell }}.spell_start_date and {{ spell }}.spell_end_date)
{%- endmacro %}

{% macro customer_status(is_active, has_been_active) -%}
    {#- Status on a date: active on it; else churned when active on some day before
        it; else never active. -#}
    case
        when {{ is_active }} then 'active'
        when {{ has_been_active }} then 'churned'
        else 'never_active'
    end
{%- endmacro %}

{% macro lifecycle(is_active_start, is_active_end, is_active_in_period, is_active_before) -%}
    {#- Period states of one customer. -#}
    case
        when {{ is_active_start }} and {{ is_active_end }} then 'retained'
        when {{ is_churned_in_period(is_active_start, is_active_end) }} then 'churned'
        when {{ is_active_end }} and {{ is_active_before }} then 'reactivated'
        when {{ is_active_end }} then 'new'
        when {{ is_active_in_period }} then 'transient'
        else 'inactive'
    end
{%- endmacro %}

{% macro is_churned_in_period(is_active_start, is_active_end) -%}
    {#- The rows lifecycle() calls `churned`: active at the period's start, not at its end.
        A reader that wants only those rows filters on this condition of the two stored
        states rather than on the derived word: the filter then reaches the scans of the
        stored fact, and lifecycle is not derived for every row (mart_churn). -#}
    ({{ is_active_start }} and not {{ is_active_end }})
{%- endmacro %}

{% macro first_active_on_either_basis(statuses) -%}
    {#- One row per customer active on some day up to A with their first active day on
        either basis, the earlier of the two (`statuses`: int_customer_status rows). It
        names a customer's cohort year (int_customer_segments) and their acquisition in the
        trailing year (int_clv_customers). -#}
    select
        customer_id,
        min(first_active_date) as first_active_date
    from {{ statuses }}
    group by customer_id
{%- endmacro %}
