{#- The customer-period fact: one row per customer, basis, period grain and period
    from the customer's first active period on the basis through A's, with the start state
    (on the period's first day − 1), the end state (on min(period end, A)), activity in the
    period, contract value at start and end, purchases and revenue, the lifecycle and the
    MRR movement. Written once, here; two models select from it:

        int_customer_periods_closed  the periods before A's (incremental: they change only
                                     when a customer's data changes)
        int_customer_periods_open    the periods containing A (rebuilt every run)

    Every grain is computed from the spells directly (a quarter's start state is the state
    on its first day − 1, its end state the state on min(quarter end, A)), so no grain is
    aggregated from another.

    part: 'closed' or 'open'. scope (closed part, incremental run): a dict with
    `changed_customers` (a select of customer_id whose every row is rebuilt),
    `previous_as_of` (the A of the run before: the periods starting in or after its period
    are written for every customer) and `as_of_date` (this run's A), or none for every row
    of the part. -#}
{% macro customer_period_rows(part, scope=none) -%}
{%- set grains = customer_period_grains() -%}
{#- A slice: which customers (all, or the changed ones) for which periods (the new ones:
    all periods of the part in a full build; or the periods before them). A run whose A is
    in the previous A's month closes no period: it has no new periods, and no slice for
    every customer. -#}
{%- set every_customer = scope is none or closes_periods(scope.previous_as_of, scope.as_of_date) -%}
{%- set slices = ([('all', 'new_periods')] if every_customer else []) + ([('changed', 'old_periods')] if scope is not none else []) -%}

{#- The inputs are scans, never materialised: an incremental run reads each twice (once per
    slice), and writing out 9M purchases (at 1M customers) to read them back costs more. #}
with spells as {{ not_materialized() }} (

    select * from {{ ref('int_activity_spells') }}

),

segments as {{ not_materialized() }} (

    select * from {{ ref('int_contract_arr_segments') }}

),

purchases as {{ not_materialized() }} (

    select * from {{ ref('int_purchases') }}

),

calendar as (

    select * from {{ ref('int_calendar_months') }}

),

params as (

    select * from {{ ref('int_reporting_params') }}

),

changed_customers as (

    {%- if scope is not none %}
    {{ scope.changed_customers }}
    {%- else %}
    select cast(null as {{ dbt.type_string() }}) as customer_id
    where false
    {%- endif %}

),

periods as (

    {#- The periods of the part, with the start state's day (the period's first day − 1)
        and the end state's day (min(period end, A)). New: written for every customer. #}
    {%- for grain in grains %}
    {%- set start = 'calendar.month_start' if grain == 'month' else 'calendar.' ~ grain ~ '_start' %}
    select
        '{{ grain }}' as period_grain,
        {{ start }} as period_start,
        max(calendar.month_end_date) as period_end_date,
        {{ period_end("'" ~ grain ~ "'", start) }} <= max(params.as_of_date) as is_complete_period,
        {{ add_days(start, -1) }} as start_state_date,
        {%- if scope is not none %}
        {{ closed_since(grain, start, scope.previous_as_of) }} as is_new
        {%- else %}
        true as is_new
        {%- endif %}
    from calendar
    cross join params
    where {{ start }} {{ '<' if part == 'closed' else '=' }} {{ period_start(grain, 'params.as_of_month') }}
    group by {{ start }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

new_periods as (

    select * from periods
    where is_new

),

old_periods as (

    select * from periods
    where not is_new

),

spell_bounds as (

    {#- Each spell with its neighbours on the basis and the customer's first active day.
        Spells are maximal runs of active days, so they never overlap or touch. #}
    select
        customer_id,
        basis,
        spell_start_date,
        spell_end_date,
        lag(spell_start_date) over (
            partition by customer_id, basis order by spell_start_date
        ) as previous_spell_start_date,
        lag(spell_end_date) over (
            partition by customer_id, basis order by spell_start_date
        ) as previous_spell_end_date,
        lead(spell_start_date) over (
            partition by customer_id, basis order by spell_start_date
        ) as next_spell_start_date,
        min(spell_start_date) over (partition by customer_id, basis) as first_active_date
    from spells
    {%- if not every_customer %}
    {#- Only the changed customers' rows are written: only their spells are needed (the
        windows are per customer). #}
    where customer_id in (select customer_id from changed_customers)
    {%- endif %}

),

{%- for slice, slice_periods in slices %}
{#- The slice's inputs: every row, or the changed customers' rows, computed first (the
    planner would otherwise filter after the range joins, which make 26M rows at 1M
    customers from every customer's spells, and hold them in memory). #}
{%- set inputs = {'spell_bounds': 'spell_bounds', 'segments': 'segments', 'purchases': 'purchases'} %}
{%- if slice == 'changed' %}
{%- for name in ['spell_bounds', 'segments', 'purchases'] %}
{%- do inputs.update({name: 'changed_' ~ name}) %}

changed_{{ name }} as {{ materialized() }} (

    select * from {{ name }}
    where customer_id in (select customer_id from changed_customers)

),
{%- endfor %}
{%- endif %}

{{ slice }}_owned_periods as {{ not_materialized() }} (

    {#- Every period from the customer's first active period on, with its activity: a
        period belongs to the last spell that starts on or before its end-state day, so
        each period comes from exactly one spell and nothing is aggregated. Before the
        first active period nobody is active (the first period's start state is inactive
        with no MRR). Against that spell (later spells start after the period):
          end state     the spell still runs on the end-state day;
          in period     the spell runs on or after the period's first day (an earlier
                        spell ended before this one started);
          start state   on the day before the period: this spell when it started by
                        then, else the previous spell when that started by then; null
                        when two spells or more start in the period (left to the next
                        step). #}
    select
        spell_bounds.customer_id,
        spell_bounds.basis,
        spell_bounds.first_active_date,
        periods.period_grain,
        periods.period_start,
        periods.period_end_date,
        periods.is_complete_period,
        periods.start_state_date,
        case
            when spell_bounds.spell_start_date <= periods.start_state_date
                then spell_bounds.spell_end_date >= periods.start_state_date
            when coalesce(spell_bounds.previous_spell_start_date <= periods.start_state_date, true)
                then coalesce(spell_bounds.previous_spell_end_date >= periods.start_state_date, false)
        end as is_active_start,
        spell_bounds.spell_end_date >= periods.period_end_date as is_active_end,
        spell_bounds.spell_end_date >= periods.period_start as is_active_in_period
    from {{ inputs.spell_bounds }} as spell_bounds
    inner join {{ slice_periods }} as periods
        on
            periods.period_end_date >= spell_bounds.spell_start_date
            and (
                spell_bounds.next_spell_start_date is null
                or periods.period_end_date < spell_bounds.next_spell_start_date
            )

),

{{ slice }}_grid as {{ not_materialized() }} (

    {%- set grid_columns = [
        'customer_id', 'basis', 'first_active_date', 'period_grain', 'period_start',
        'period_end_date', 'is_complete_period',
    ] %}
    select
        {%- for column in grid_columns %}
        {{ column }},
        {%- endfor %}
        is_active_start,
        is_active_end,
        is_active_in_period
    from {{ slice }}_owned_periods
    where is_active_start is not null
    union all
    {#- Two spells or more start in the period: the start state is whether any spell
        runs on the day before it (at most one does). #}
    select
        {%- for column in grid_columns %}
        owned.{{ column }},
        {%- endfor %}
        spells.customer_id is not null as is_active_start,
        owned.is_active_end,
        owned.is_active_in_period
    from {{ slice }}_owned_periods as owned
    left join spells
        on
            owned.customer_id = spells.customer_id
            and owned.basis = spells.basis
            and owned.start_state_date between spells.spell_start_date and spells.spell_end_date
    where owned.is_active_start is null

),

{{ slice }}_segment_periods as (

    {#- Likewise the contract value segments: the carried value on the start and end
        state's days is the MRR state; covered value × covered days in the period (a
        segment that only touches the day before adds 0 days). #}
    select
        {{ customer_join_key('segments.customer_id') }} as customer_key,
        periods.period_grain,
        periods.period_start,
        sum(
            segments.covered_arr * greatest(
                {{ days_between(
                    'greatest(segments.segment_start_date, periods.period_start)',
                    'least(segments.segment_end_date, periods.period_end_date)'
                ) }} + 1,
                0
            )
        ) as covered_arr_days,
        max(
            case
                when periods.start_state_date between segments.segment_start_date and segments.segment_end_date
                    then segments.carried_arr
            end
        ) as arr_start,
        max(
            case
                when periods.period_end_date between segments.segment_start_date and segments.segment_end_date
                    then segments.carried_arr
            end
        ) as arr_end
    from {{ inputs.segments }} as segments
    inner join {{ slice_periods }} as periods
        on
            segments.segment_end_date >= periods.start_state_date
            and segments.segment_start_date <= periods.period_end_date
    group by {{ customer_join_key('segments.customer_id') }}, periods.period_grain, periods.period_start

),

{{ slice }}_purchase_periods as (

    {%- for grain in grains %}
    select
        {{ customer_join_key('purchases.customer_id') }} as customer_key,
        periods.period_grain,
        periods.period_start,
        count(*) as purchases,
        sum(purchases.net_revenue) as net_revenue
    from {{ inputs.purchases }} as purchases
    inner join {{ slice_periods }} as periods
        on
            periods.period_grain = '{{ grain }}'
            and periods.period_start = {{ period_start(grain, 'purchases.order_month') }}
    group by {{ customer_join_key('purchases.customer_id') }}, periods.period_grain, periods.period_start
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

{{ slice }}_rows as (

    {#- The grid with each basis' facts: the contract rows joined to the contract value
        segments only, the order rows to the purchases only. The grid is not materialised,
        so each branch computes only its basis' rows (at 1M customers, cheaper than one
        grid probed by both joins). A measure of the other basis is null. The facts are
        grouped and joined on customer_join_key (on DuckDB a hash of the id, which
        assert_customer_join_keys_distinct checks is unique). #}
    {%- set row_columns = [
        'customer_id', 'basis', 'period_grain', 'period_start', 'period_end_date',
        'is_complete_period', 'first_active_date', 'is_active_start', 'is_active_end',
        'is_active_in_period',
    ] %}
    {%- set bases = [
        ('contract', slice ~ '_segment_periods', {
            'arr_start': 'coalesce(facts.arr_start, 0)',
            'arr_end': 'coalesce(facts.arr_end, 0)',
            'recognised_contract_revenue':
                'coalesce(' ~ daily_recognised_revenue('facts.covered_arr_days') ~ ', 0)',
        }),
        ('order', slice ~ '_purchase_periods', {
            'purchases': 'coalesce(facts.purchases, 0)',
            'net_revenue': 'coalesce(facts.net_revenue, 0)',
        }),
    ] %}
    {%- for basis, facts, measures in bases %}
    select
        {%- for column in row_columns %}
        grid.{{ column }},
        {%- endfor %}
        {%- for column in ['arr_start', 'arr_end', 'purchases', 'net_revenue', 'recognised_contract_revenue'] %}
        {{ measures.get(column, 'null') }} as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ slice }}_grid as grid
    left join {{ facts }} as facts
        on
            {{ customer_join_key('grid.customer_id') }} = facts.customer_key
            and grid.period_grain = facts.period_grain
            and grid.period_start = facts.period_start
    where grid.basis = '{{ basis }}'
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),
{%- endfor %}

periods_with_states as (

    {%- for slice, slice_periods in slices %}
    select * from {{ slice }}_rows
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

final as (

    {#- The stored columns (customer_period_columns); what follows from them alone is
        derived where the fact is read (customer_periods_with_measures). #}
    select
        customer_id,
        basis,
        period_grain,
        period_start,
        period_end_date,
        first_active_date,
        is_active_start,
        is_active_end,
        is_active_in_period,
        purchases,
        net_revenue,
        recognised_contract_revenue,
        arr_start,
        arr_end
    from periods_with_states

)

select * from final

{%- endmacro %}

{% macro closed_customer_periods_plan() -%}
    {#- The plan of int_customer_periods_closed (shared_changed_customers_plan), its
        `changed_customers` narrowed to the customers whose changes reach a period the run
        does not write for every customer: one that closed before the previous A's month.
        Such a period ended before that month's first day, so a change from that day on
        (int_changed_customers.changed_from_date) alters only the periods closed since,
        which the run writes for every customer, and the open part. Then one customer more
        (with_anchor_customer: the smallest id with a closed row), so that a run whose
        changes reach no closed period still stamps the table. -#}
    {%- set plan = shared_changed_customers_plan(anchored=false) -%}
    {%- if not plan.full -%}
        {%- set written_for_all_from = period_start('month', date_literal(plan.previous_as_of)) -%}
        {%- do plan.update({'changed_customers':
            'select customer_id from ' ~ ref('int_changed_customers')
            ~ ' where customer_id is not null and (changed_from_date is null or changed_from_date < '
            ~ written_for_all_from ~ ')'
        }) -%}
    {%- endif -%}
    {{ return(with_anchor_customer(plan)) }}
{%- endmacro %}

{% macro customer_periods_pre_hook() -%}
    {#- Before an incremental run of int_customer_periods_closed, which appends: delete every
        row the run writes (every row in a full rebuild; else the rows of the customers
        closed_customer_periods_plan names, as a customer can lose periods, and the rows of
        the periods closed since the previous run, which no earlier run wrote: a run never
        adds a row twice). -#}
    {%- if is_incremental() -%}
        {%- set plan = closed_customer_periods_plan() -%}
        {%- set newly_closed = [] -%}
        {%- for grain in customer_period_grains() if not plan.full -%}
            {%- do newly_closed.append(
                "(period_grain = '" ~ grain ~ "' and " ~ closed_since(grain, 'period_start', plan.previous_as_of) ~ ")"
            ) -%}
        {%- endfor -%}
        {{ delete_changed_customers(plan, newly_closed | join(' or ')) }}
    {%- endif -%}
{%- endmacro %}

{% macro customer_period_grains() -%}
    {#- The period grains of the customer-period fact. -#}
    {{ return(['month', 'quarter', 'year']) }}
{%- endmacro %}

{% macro closes_periods(previous_as_of, as_of_date) -%}
    {#- Whether a run for as_of_date closes a period that the run for previous_as_of held
        open: A is in a later month (the finest grain; a quarter or year starts with a
        month). Dates known when the SQL is written. -#}
    {{ return((as_of_date.year, as_of_date.month) != (previous_as_of.year, previous_as_of.month)) }}
{%- endmacro %}

{% macro closed_since(grain, period_start_column, previous_as_of) -%}
    {#- A closed period of the grain that an incremental run writes for every customer: it
        starts in or after the period containing previous_as_of (the A of the run before),
        so that run held it open. -#}
    {{ period_start_column }} >= {{ period_start(grain, date_literal(previous_as_of)) }}
{%- endmacro %}

{% macro customer_period_columns() -%}
    {#- The stored columns of the customer-period fact (both parts), in order. -#}
    {{ return([
        'customer_id', 'basis', 'period_grain', 'period_start', 'period_end_date',
        'first_active_date', 'is_active_start', 'is_active_end', 'is_active_in_period',
        'purchases', 'net_revenue', 'recognised_contract_revenue', 'arr_start', 'arr_end',
    ]) }}
{%- endmacro %}

{% macro customer_periods_with_measures(stored) -%}
    {#- A select of the customer-period fact's stored rows (`stored`: a relation with
        customer_period_columns) with the columns that follow from a row alone, derived
        where the fact is read (the view int_customer_periods) instead of stored:
        completeness, activity before the period, the lifecycle, MRR at start and end and
        the MRR movement with its amounts. -#}
    select
        classified.*,
        {{ lifecycle('is_active_start', 'is_active_end', 'is_active_in_period', 'is_active_before') }}
            as lifecycle,
        {{ arr_to_mrr('arr_start') }} as mrr_start,
        {{ arr_to_mrr('arr_end') }} as mrr_end,
        {%- for kind in ['new', 'reactivation', 'expansion', 'contraction', 'churned'] %}
        {{ arr_to_mrr(mrr_movement_amount('mrr_movement', 'arr_start', 'arr_end', kind)) }} as {{ kind }}_mrr{{ ',' if not loop.last }}
        {%- endfor %}
    from (
        select
            {{ stored }}.*,
            -- The end-state day is the period's last day exactly when it ended on or before A.
            {{ stored }}.period_end_date = {{ period_end(stored ~ '.period_grain', stored ~ '.period_start') }}
                as is_complete_period,
            {{ stored }}.first_active_date < {{ stored }}.period_start as is_active_before,
            case
                when {{ stored }}.basis = 'contract'
                    then {{ mrr_movement(
                        stored ~ '.arr_start', stored ~ '.arr_end',
                        stored ~ '.first_active_date < ' ~ stored ~ '.period_start'
                    ) }}
            end as mrr_movement
        from {{ stored }}
    ) as classified
{%- endmacro %}
