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
    `changed_customers` (a select of customer_id whose every row is rebuilt) and
    `new_from` (per grain: the first period start written for every customer), or none for
    every row of the part. -#}
{% macro customer_period_rows(part, scope=none) -%}
{%- set grains = ['month', 'quarter', 'year'] -%}
{#- A slice: which customers (all, or the changed ones) for which periods (the new ones:
    all periods of the part in a full build; or the periods before them). -#}
{%- set slices = [('all', 'new_periods')] + ([('changed', 'old_periods')] if scope is not none else []) -%}

with spells as (

    select * from {{ ref('int_activity_spells') }}

),

segments as (

    select * from {{ ref('int_contract_arr_segments') }}

),

purchases as (

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

    {#- The periods of the part, numbered (period_id: the key the large joins below use),
        with the start state's day (the period's first day − 1) and the end state's day
        (min(period end, A)). New: written for every customer. #}
    select
        *,
        row_number() over (order by period_grain, period_start) as period_id
    from (
        {%- for grain in grains %}
        {%- set start = 'calendar.month_start' if grain == 'month' else 'calendar.' ~ grain ~ '_start' %}
        select
            '{{ grain }}' as period_grain,
            {{ start }} as period_start,
            max(calendar.month_end_date) as period_end_date,
            {{ period_end("'" ~ grain ~ "'", start) }} <= max(params.as_of_date) as is_complete_period,
            {{ add_days(start, -1) }} as start_state_date,
            {%- if scope is not none %}
            {{ start }} >= {{ period_start(grain, date_literal(scope.previous_as_of)) }} as is_new
            {%- else %}
            true as is_new
            {%- endif %}
        from calendar
        cross join params
        where {{ start }} {{ '<' if part == 'closed' else '=' }} {{ period_start(grain, 'params.as_of_month') }}
        group by {{ start }}
        {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    ) as part_periods

),

new_periods as (

    select * from periods
    where is_new

),

old_periods as (

    select * from periods
    where not is_new

),

first_active as (

    select
        customer_id,
        basis,
        min(spell_start_date) as first_active_date
    from spells
    group by customer_id, basis

),

{#- Each basis apart (spells of one basis; contract value segments on the contract basis,
    purchases on the order basis), keyed by customer and period_id. #}
{%- set bases = [('order', 'purchases'), ('contract', 'segments')] %}
{%- for slice, slice_periods in slices %}
{%- set customer_filter = '{0}.customer_id in (select customer_id from changed_customers)' if slice == 'changed' else 'true' %}
{%- for basis, extra in bases %}

{{ slice }}_{{ basis }}_grid as (

    {#- From the first active period on: before it nobody is active, so the first
        period's start state is inactive with no MRR. #}
    select
        first_active.customer_id,
        first_active.first_active_date,
        periods.period_id
    from first_active
    inner join {{ slice_periods }} as periods
        on
            periods.period_start >= case periods.period_grain
                {%- for grain in grains %}
                when '{{ grain }}' then {{ period_start(grain, 'first_active.first_active_date') }}
                {%- endfor %}
            end
    where first_active.basis = '{{ basis }}' and {{ customer_filter.format('first_active') }}

),

{{ slice }}_{{ basis }}_spell_periods as (

    {#- The spells that touch the period or the day before it (the start state's day). #}
    select
        spells.customer_id,
        periods.period_id,
        {{ dbt.bool_or('periods.start_state_date between spells.spell_start_date and spells.spell_end_date') }}
            as is_active_start,
        {{ dbt.bool_or('periods.period_end_date between spells.spell_start_date and spells.spell_end_date') }}
            as is_active_end,
        {{ dbt.bool_or('spells.spell_end_date >= periods.period_start') }} as is_active_in_period
    from spells
    inner join {{ slice_periods }} as periods
        on
            spells.spell_end_date >= periods.start_state_date
            and spells.spell_start_date <= periods.period_end_date
    where spells.basis = '{{ basis }}' and {{ customer_filter.format('spells') }}
    group by spells.customer_id, periods.period_id

),
{%- if basis == 'contract' %}

{{ slice }}_contract_segment_periods as (

    {#- Likewise the contract value segments: the carried value on the start and end
        state's days is the MRR state; covered value × covered days in the period (a
        segment that only touches the day before adds 0 days). #}
    select
        segments.customer_id,
        periods.period_id,
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
    from segments
    inner join {{ slice_periods }} as periods
        on
            segments.segment_end_date >= periods.start_state_date
            and segments.segment_start_date <= periods.period_end_date
    where {{ customer_filter.format('segments') }}
    group by segments.customer_id, periods.period_id

),
{%- else %}

{{ slice }}_order_purchase_periods as (

    select
        customer_id,
        period_id,
        count(*) as purchases,
        sum(net_revenue) as net_revenue
    from (
        {%- for grain in grains %}
        select
            purchases.customer_id,
            periods.period_id,
            purchases.net_revenue
        from purchases
        inner join {{ slice_periods }} as periods
            on
                periods.period_grain = '{{ grain }}'
                and periods.period_start = {{ period_start(grain, 'purchases.order_month') }}
        where {{ customer_filter.format('purchases') }}
        {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    ) as purchase_periods
    group by customer_id, period_id

),
{%- endif %}

{{ slice }}_{{ basis }}_rows as (

    select
        grid.customer_id,
        '{{ basis }}' as basis,
        grid.period_id,
        grid.first_active_date,
        coalesce(spell_periods.is_active_start, false) as is_active_start,
        coalesce(spell_periods.is_active_end, false) as is_active_end,
        coalesce(spell_periods.is_active_in_period, false) as is_active_in_period,
        {%- if basis == 'contract' %}
        coalesce(extra_periods.arr_start, 0) as arr_start,
        coalesce(extra_periods.arr_end, 0) as arr_end,
        null as purchases,
        null as net_revenue,
        coalesce({{ daily_recognised_revenue('extra_periods.covered_arr_days') }}, 0)
            as recognised_contract_revenue
        {%- else %}
        null as arr_start,
        null as arr_end,
        coalesce(extra_periods.purchases, 0) as purchases,
        coalesce(extra_periods.net_revenue, 0) as net_revenue,
        null as recognised_contract_revenue
        {%- endif %}
    from {{ slice }}_{{ basis }}_grid as grid
    left join {{ slice }}_{{ basis }}_spell_periods as spell_periods
        on
            grid.customer_id = spell_periods.customer_id
            and grid.period_id = spell_periods.period_id
    left join {{ slice }}_{{ basis }}_{{ extra[:-1] }}_periods as extra_periods
        on
            grid.customer_id = extra_periods.customer_id
            and grid.period_id = extra_periods.period_id

),
{%- endfor %}
{%- endfor %}

periods_with_states as (

    select
        part_rows.customer_id,
        part_rows.basis,
        periods.period_grain,
        periods.period_start,
        periods.period_end_date,
        periods.is_complete_period,
        part_rows.first_active_date,
        part_rows.is_active_start,
        part_rows.is_active_end,
        part_rows.is_active_in_period,
        part_rows.first_active_date < periods.period_start as is_active_before,
        part_rows.arr_start,
        part_rows.arr_end,
        part_rows.purchases,
        part_rows.net_revenue,
        part_rows.recognised_contract_revenue
    from (
        {%- set row_ctes = [] %}
        {%- for slice, slice_periods in slices %}
        {%- for basis, extra in bases %}
        {%- do row_ctes.append(slice ~ '_' ~ basis ~ '_rows') %}
        {%- endfor %}
        {%- endfor %}
        {%- for cte in row_ctes %}
        select * from {{ cte }}
        {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    ) as part_rows
    inner join periods
        on part_rows.period_id = periods.period_id

),

classified as (

    select
        *,
        {{ lifecycle('is_active_start', 'is_active_end', 'is_active_in_period', 'is_active_before') }}
            as lifecycle,
        case
            when basis = 'contract' then {{ mrr_movement('arr_start', 'arr_end', 'is_active_before') }}
        end as mrr_movement
    from periods_with_states

)

select
    customer_id,
    basis,
    period_grain,
    period_start,
    period_end_date,
    is_complete_period,
    first_active_date,
    is_active_start,
    is_active_end,
    is_active_in_period,
    is_active_before,
    lifecycle,
    purchases,
    net_revenue,
    recognised_contract_revenue,
    arr_start,
    arr_end,
    {{ arr_to_mrr('arr_start') }} as mrr_start,
    {{ arr_to_mrr('arr_end') }} as mrr_end,
    {%- for kind in ['new', 'reactivation', 'expansion', 'contraction', 'churned'] %}
    {{ arr_to_mrr(mrr_movement_amount('mrr_movement', 'arr_start', 'arr_end', kind)) }} as {{ kind }}_mrr,
    {%- endfor %}
    mrr_movement
from classified

{%- endmacro %}

{% macro customer_periods_plan() -%}
    {#- What this run of int_customer_periods_closed writes (macros/incremental.sql): a
        full rebuild, or the rows of the changed customers and the periods closed since
        the previous run. Besides incremental_plan's reasons, a full rebuild when A moved
        back (periods already closed would open again). -#}
    {%- set plan = incremental_plan(
        'built_through_load_id', ['orders', 'contracts', 'cancellations'], 'built_as_of_date',
        [ref('base_shop__orders'), ref('base_shop__contracts'), ref('base_shop__cancellations')],
    ) -%}
    {%- if not plan.full -%}
        {%- do plan.update({'as_of_date': run_query('select as_of_date from ' ~ ref('int_reporting_params')).columns[0].values()[0]}) -%}
    {%- endif -%}
    {%- if not plan.full and (plan.previous_as_of is none or plan.as_of_date < plan.previous_as_of) -%}
        {%- do plan.update({'full': true, 'reason': 'as_of_date moved back'}) -%}
    {%- endif -%}
    {%- if not plan.full -%}
        {%- do plan.update({'changed_customers': changed_customers(plan)}) -%}
    {%- endif -%}
    {{ return(plan) }}
{%- endmacro %}

{% macro changed_customers(plan) -%}
    {#- A select of the customers whose closed periods may have changed since the table's
        previous run (plan: customer_periods_plan()): named by a row (any version) of an
        order or contract key with a raw row the run re-reads (is_recent), or owning
        a contract (any version) of such a cancellation key; or with an order, contract start
        or signature, or cancellation request dated after the previous A and on or before A
        (it did not exist on the previous A). -#}
    {%- set recent = is_recent(plan, 'loaded') -%}
    {%- set previous_as_of = date_literal(plan.previous_as_of) -%}
    {%- set as_of = date_literal(plan.as_of_date) -%}
    {%- set is_new = '({0} > ' ~ previous_as_of ~ ' and {0} <= ' ~ as_of ~ ')' -%}
    select customer_id
    from {{ ref('base_shop__orders') }}
    where order_id in (select order_id from {{ ref('base_shop__orders') }} as loaded where {{ recent }})
    union
    select customer_id
    from {{ ref('base_shop__contracts') }}
    where contract_id in (
        select contract_id from {{ ref('base_shop__contracts') }} as loaded where {{ recent }}
        union
        select contract_id
        from {{ ref('base_shop__cancellations') }}
        where cancellation_id in (
            select cancellation_id from {{ ref('base_shop__cancellations') }} as loaded where {{ recent }}
        )
    )
    union
    select customer_id
    from {{ ref('stg_shop__orders') }}
    where {{ is_new.format('order_date') }}
    union
    select customer_id
    from {{ ref('stg_shop__contracts') }}
    where {{ is_new.format('start_date') }} or {{ is_new.format('signed_date') }}
    union
    select contracts.customer_id
    from {{ ref('stg_shop__cancellations') }} as cancellations
    inner join {{ ref('stg_shop__contracts') }} as contracts
        on cancellations.contract_id = contracts.contract_id
    where {{ is_new.format('cancellations.requested_date') }}
{%- endmacro %}

{% macro customer_periods_pre_hook() -%}
    {#- Before an incremental run of int_customer_periods_closed: delete the rows it
        rebuilds that may not come back (every row in a full rebuild; else the changed
        customers' rows: a customer can lose periods, or all of them). -#}
    {%- if is_incremental() -%}
        {%- set plan = customer_periods_plan() -%}
        {%- if plan.full -%}
            delete from {{ this }}
        {%- else -%}
            delete from {{ this }} where customer_id in ({{ plan.changed_customers }})
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{% macro customer_period_columns() -%}
    {#- The columns of the customer-period fact, in order. -#}
    {{ return([
        'customer_id', 'basis', 'period_grain', 'period_start', 'period_end_date',
        'is_complete_period', 'first_active_date', 'is_active_start', 'is_active_end',
        'is_active_in_period', 'is_active_before', 'lifecycle', 'purchases', 'net_revenue',
        'recognised_contract_revenue', 'arr_start', 'arr_end', 'mrr_start', 'mrr_end', 'new_mrr', 'reactivation_mrr',
        'expansion_mrr', 'contraction_mrr', 'churned_mrr', 'mrr_movement',
    ]) }}
{%- endmacro %}
