{#- Incremental builds with dbt's own machinery (docs/operations.md "Incremental builds").

    `retention load` numbers every delivery: its load batch (`_load_id` on each raw row,
    one row per table in meta.load_batches). An incremental model keeps in its rows the
    latest batch it has read, its watermark (`_load_id` in a base model,
    `built_through_load_id` in the others). A run re-reads the raw rows of the batches after
    the watermark and, as a margin for rows stamped late, the rows whose own `_loaded_at`
    falls in the look-back: on or after the latest load day already read minus
    `incremental_lookback_days` days. The rows of every key (or customer) those raw rows
    name are rebuilt and written with `delete+insert` on the model's unique key (a base
    model) or deleted by the model's pre-hook and appended (the others).

    A run rebuilds a model in full (its pre-hook empties it, and it selects every row) when
    its table is empty, the loader's batch list is missing, or a `retention load --replace`
    re-delivered one of the raw tables it reads after its watermark (a re-delivery can drop
    rows of any batch). A changed model or var needs `dbt build --full-refresh`
    (docs/operations.md). -#}

{% macro load_batches_relation() -%}
    {#- meta.load_batches, written by `retention load` (none when absent or while parsing). -#}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_relation(database=target.database, schema='meta', identifier='load_batches')) }}
{%- endmacro %}

{% macro incremental_plan(watermark_column, source_tables, as_of_column=none, loaded_from=none) -%}
    {#- What this run of the current incremental model re-reads, decided from its own table
        and meta.load_batches before anything is written (the model's SQL and its pre-hook
        ask the same question and get the same answer). Returns a dict:
            full            rebuild every row
            reason          why a full rebuild (none otherwise)
            watermark       the latest load batch the table has read
            lookback_from   raw rows loaded (_loaded_at) on or after this day are re-read
            read_through_at the load time of the latest batch the table has read: a row
                            stamped (_loaded_at) later than that was judged by the date
                            checks with a build's start in place of its stamp, and is
                            re-read until its stamp has passed (macros/parsing.sql)
            previous_as_of  (with as_of_column) the latest A the table was built for
        source_tables: the raw tables whose re-delivery makes the model rebuild in full;
        loaded_from: the relations (with _load_id and _loaded_at) whose latest load day
        starts the look-back (default: the model itself). -#}
    {%- set plan = {'full': true, 'reason': none, 'watermark': none, 'lookback_from': none, 'read_through_at': none, 'previous_as_of': none} -%}
    {%- if not execute or not is_incremental() -%}
        {%- do plan.update({'reason': 'full build'}) -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- set batches = load_batches_relation() -%}
    {%- if batches is none -%}
        {%- do plan.update({'reason': 'no meta.load_batches'}) -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- set state = run_query(
        'select max(' ~ watermark_column ~ ') as watermark'
        ~ (', max(' ~ as_of_column ~ ') as previous_as_of' if as_of_column else '')
        ~ ' from ' ~ this
    ).rows[0] -%}
    {%- if state['watermark'] is none -%}
        {%- do plan.update({'reason': 'empty table'}) -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- set watermark = state['watermark'] | int -%}
    {%- set loaded = [] -%}
    {%- for relation in loaded_from or [this] -%}
        {%- do loaded.append('select _loaded_at from ' ~ relation ~ ' where _load_id <= ' ~ watermark) -%}
    {%- endfor -%}
    {%- set latest_load_day = run_query(
        'select cast(max(_loaded_at) as date) from (' ~ loaded | join(' union all ') ~ ') as loaded'
    ).columns[0].values()[0] -%}
    {%- set read_through_at = run_query(
        'select max(loaded_at) from ' ~ batches ~ ' where load_id <= ' ~ watermark
    ).columns[0].values()[0] -%}
    {%- set replaced = run_query(
        'select count(*) from ' ~ batches ~ " where mode = 'replace' and load_id > " ~ watermark
        ~ " and table_name in ('" ~ source_tables | join("', '") ~ "')"
    ).columns[0].values()[0] -%}
    {%- do plan.update({
        'watermark': watermark,
        'lookback_from': (latest_load_day - modules.datetime.timedelta(days=var('incremental_lookback_days') | int))
            if latest_load_day is not none else none,
        'previous_as_of': state['previous_as_of'] if as_of_column else none,
        'read_through_at': read_through_at,
    }) -%}
    {%- if replaced > 0 -%}
        {%- do plan.update({'reason': 'raw tables re-delivered with retention load --replace'}) -%}
    {%- else -%}
        {%- do plan.update({'full': false}) -%}
    {%- endif -%}
    {{ return(plan) }}
{%- endmacro %}

{% macro is_recent(plan, relation_alias) -%}
    {#- A row (of a relation with _load_id and _loaded_at) that an incremental run re-reads:
        of a batch after the watermark, or loaded within the look-back, or one whose date
        checks depended on when it was built: stamped after the load of the latest batch
        the table has read (so after the previous build started), or not stamped. -#}
    ({{ relation_alias }}._load_id > {{ plan.watermark }}
    {%- if plan.lookback_from is not none %}
        or {{ relation_alias }}._loaded_at >= {{ date_literal(plan.lookback_from) }}
    {%- endif %}
    {%- if plan.read_through_at is not none %}
        or {{ relation_alias }}._loaded_at > cast('{{ plan.read_through_at }}' as {{ dbt.type_timestamp() }})
    {%- endif %}
        or {{ relation_alias }}._loaded_at is null)
{%- endmacro %}

{% macro delete_all_when_rebuilt(plan) -%}
    {#- The pre-hook of an incremental model: empty the table before a full rebuild. -#}
    {%- if is_incremental() and plan.full -%}
        {{ log_full_rebuild(plan) }}delete from {{ this }}
    {%- endif -%}
{%- endmacro %}

{% macro log_full_rebuild(plan) -%}
    {#- In the pre-hook of an incremental model whose table exists: when the run rebuilds it
        in full, say so in dbt's output with the plan's reason (at a million customers a
        full rebuild of a large model takes minutes where a daily run takes seconds). -#}
    {%- if execute and is_incremental() and plan.full -%}
        {%- do log(this.identifier ~ ': rebuilt in full (' ~ plan.reason ~ ')', info=true) -%}
    {%- endif -%}
{%- endmacro %}

{% macro date_literal(value) -%}
    {#- A date value known when the SQL is written, as a SQL date. -#}
    cast('{{ value }}' as date)
{%- endmacro %}

{% macro incremental_config(unique_key, pre_hook) -%}
    {#- The config of an incremental model: `delete+insert` on unique_key, or with unique_key
        none `append` (its pre_hook deletes every row the run writes first); on_schema_change
        fail; pre_hook (a Jinja string run before the model). -#}
    {{ return(adapter.dispatch('incremental_config', 'retention')(unique_key, pre_hook)) }}
{%- endmacro %}

{% macro default__incremental_config(unique_key, pre_hook) -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='delete+insert' if unique_key is not none else 'append',
        unique_key=unique_key,
        on_schema_change='fail',
        pre_hook=pre_hook,
    ) }}
{%- endmacro %}

{% macro as_of_incremental_plan(source_tables, loaded_from) -%}
    {#- incremental_plan for a model whose rows depend on A and carry run_stamp_columns()
        (the watermark `built_through_load_id`, the A `built_as_of_date`): also a full
        rebuild when A moved back (rows kept for the previous A would have to go), and
        `as_of_date`, this run's A, when not a full rebuild. Used by int_purchases and,
        through changed_customers_plan, int_changed_customers. -#}
    {%- set plan = incremental_plan('built_through_load_id', source_tables, 'built_as_of_date', loaded_from) -%}
    {%- if not plan.full -%}
        {%- do plan.update({'as_of_date': run_query('select as_of_date from ' ~ ref('int_reporting_params')).columns[0].values()[0]}) -%}
    {%- endif -%}
    {%- if not plan.full and (plan.previous_as_of is none or plan.as_of_date < plan.previous_as_of) -%}
        {%- do plan.update({'full': true, 'reason': 'as_of_date moved back'}) -%}
    {%- endif -%}
    {{ return(plan) }}
{%- endmacro %}

{% macro run_stamp_columns(params_alias) -%}
    {#- The columns that say which run wrote a row of a model planned by
        as_of_incremental_plan: `built_at` (dbt's run start), `built_as_of_date`
        (params_alias: a relation of int_reporting_params) and `built_through_load_id` (the
        watermark: the latest load batch every base model it reads has read). -#}
    cast('{{ run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') }}' as {{ dbt.type_timestamp() }}) as built_at,
    {{ params_alias }}.as_of_date as built_as_of_date,
    {{ built_through_load_id_column(read_base_models()) }}
{%- endmacro %}

{% macro read_base_models() -%}
    {#- The base models (staging/shop/base) the current model reads, directly or through
        other models: the relations through which load batches reach it. From dbt's graph;
        an empty list while parsing. -#}
    {%- set found = [] -%}
    {%- if execute -%}
        {%- set pending = [model.unique_id] -%}
        {%- set seen = [] -%}
        {#- Jinja has no while: at most one step per node of the graph. #}
        {%- for _ in range(graph.nodes | length) -%}
            {%- if pending -%}
                {%- set node_id = pending.pop() -%}
                {%- for parent in graph.nodes[node_id].depends_on.nodes -%}
                    {%- if parent in graph.nodes and parent not in seen -%}
                        {%- do seen.append(parent) -%}
                        {%- set node = graph.nodes[parent] -%}
                        {%- if node.resource_type == 'model' and node.name.startswith('base_') -%}
                            {%- do found.append(node.relation_name) -%}
                        {%- else -%}
                            {%- do pending.append(parent) -%}
                        {%- endif -%}
                    {%- endif -%}
                {%- endfor -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(found | sort) }}
{%- endmacro %}

{% macro built_through_load_id_column(inputs=[]) -%}
    {#- The column `built_through_load_id`: the latest load batch when the row is written
        (null without meta.load_batches), or, with `inputs` (the base models a model reads,
        read_base_models), the latest batch every one of them has read: a model built with
        --select while a base model it reads has not read the latest batch must not count
        that batch as read, or its next run would never re-read the rows it brings (an
        empty base model counts as having read every batch). Every
        row a run writes has the same value and no earlier run's row a larger one, so a data
        test scoped with `where: "built_through_load_id >= (select max(load_id) from
        meta.load_batches)"` checks the rows of the latest complete run (all of them after a
        full rebuild). Carried by the base models (and the incremental staging views) and by
        run_stamp_columns. -#}
    {%- set batches = load_batches_relation() -%}
    {%- if batches is not none and inputs -%}
    least(
        (select max(load_id) from {{ batches }}),
        {%- for relation in inputs %}
        coalesce(
            (select max(built_through_load_id) from {{ relation }}),
            (select max(load_id) from {{ batches }})
        ){{ ',' if not loop.last }}
        {%- endfor %}
    ) as built_through_load_id
    {%- elif batches is not none -%}
    (select max(load_id) from {{ batches }}) as built_through_load_id
    {%- else -%}
    cast(null as {{ dbt.type_bigint() }}) as built_through_load_id
    {%- endif -%}
{%- endmacro %}

{% macro new_on_as_of(column, plan) -%}
    {#- A date column's value lies after the previous run's A and on or before this run's
        (plan: as_of_incremental_plan): the row did not exist on the previous A. -#}
    ({{ column }} > {{ date_literal(plan.previous_as_of) }} and {{ column }} <= {{ date_literal(plan.as_of_date) }})
{%- endmacro %}

{% macro changed_customers_plan() -%}
    {#- as_of_incremental_plan of int_changed_customers, the customers whose rows the models
        written per customer from the orders, contracts and cancellations rewrite
        (shared_changed_customers_plan): when not a full rebuild, also `changed_customers`,
        their select (changed_customers). Called while dbt parses the model too, so that
        the inputs the select reads are the model's parents. -#}
    {%- set _ = [
        ref('base_shop__orders'), ref('base_shop__contracts'), ref('base_shop__cancellations'),
        ref('stg_shop__orders'), ref('stg_shop__contracts'), ref('stg_shop__cancellations'),
    ] -%}
    {%- set plan = as_of_incremental_plan(
        ['orders', 'contracts', 'cancellations'],
        [ref('base_shop__orders'), ref('base_shop__contracts'), ref('base_shop__cancellations')],
    ) -%}
    {%- if not plan.full -%}
        {%- do plan.update({'changed_customers': changed_customers(plan)}) -%}
    {%- endif -%}
    {{ return(plan) }}
{%- endmacro %}

{% macro shared_changed_customers_plan(anchored=true) -%}
    {#- The plan of a model written per customer (int_contract_coverage_uncut,
        int_activity_spells_uncut, int_contract_arr_segments_uncut,
        int_customer_periods_closed, int_purchase_summary): the changed customers found
        once for the run by int_changed_customers, when that model planned this run as the
        model's own table would (the set changed since the model's watermark and
        previous A, on this run's A and latest load batch); else a full rebuild (the first
        run, a model built without int_changed_customers, A moved back, a re-delivery).
        Returns a dict: full, reason, previous_as_of, as_of_date (this run's A; none in a
        full rebuild), changed_customers (a select of customer_id). With `anchored`, the
        select names one customer more (with_anchor_customer), so that a run whose changed
        customers have no rows in the model's table (a day of orders only, for the contract
        models) still stamps it. Called while dbt parses the model too, so that
        int_changed_customers is its parent. -#}
    {%- set shared = ref('int_changed_customers') -%}
    {%- set plan = {'full': true, 'reason': 'full build', 'previous_as_of': none, 'as_of_date': none, 'changed_customers': none} -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- set batches = load_batches_relation() -%}
    {%- if batches is none or load_relation(shared) is none -%}
        {%- do plan.update({'reason': 'no meta.load_batches or int_changed_customers'}) -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- set state = run_query(
        'select count(*) as all_rows, count(shared.changed_since_load_id) as planned_rows, count(case when'
        ~ ' shared.changed_since_load_id = own.watermark'
        ~ ' and shared.previous_as_of_date = own.previous_as_of'
        ~ ' and shared.built_as_of_date = params.as_of_date'
        ~ ' and shared.built_through_load_id = batches.latest'
        ~ ' then 1 end) as alike_rows, max(own.previous_as_of) as previous_as_of,'
        ~ ' max(params.as_of_date) as as_of_date'
        ~ ' from ' ~ shared ~ ' as shared'
        ~ ' cross join (select max(built_through_load_id) as watermark, max(built_as_of_date) as previous_as_of from ' ~ this ~ ') as own'
        ~ ' cross join ' ~ ref('int_reporting_params') ~ ' as params'
        ~ ' cross join (select max(load_id) as latest from ' ~ batches ~ ') as batches'
    ).rows[0] -%}
    {%- if state['all_rows'] == 0 or state['planned_rows'] == 0 -%}
        {%- do plan.update({'reason': 'int_changed_customers was rebuilt in full: a first or --full-refresh run, A moved back or a re-delivery'}) -%}
        {{ return(plan) }}
    {%- elif state['alike_rows'] != state['all_rows'] -%}
        {%- do plan.update({'reason': "int_changed_customers was not planned from this table's previous run"}) -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- do plan.update({
        'full': false,
        'reason': none,
        'previous_as_of': state['previous_as_of'],
        'as_of_date': state['as_of_date'],
        'changed_customers': 'select customer_id from ' ~ shared ~ ' where customer_id is not null',
    }) -%}
    {{ return(with_anchor_customer(plan) if anchored else plan) }}
{%- endmacro %}

{% macro with_anchor_customer(plan) -%}
    {#- The plan of a model written per customer (shared_changed_customers_plan), its
        `changed_customers` naming one customer more when not a full rebuild: the smallest
        id the model's table holds, so that a run whose changed customers have no rows in it
        still writes rows, and the table carries this run's stamps (rewriting a customer
        whose data did not change gives the same rows); without them the next run would
        find the table a run behind and rebuild it in full. The id is read when the SQL is
        written, before the pre-hook deletes its rows: a subquery on the table would name
        the next customer in the model's body. -#}
    {%- if not plan.full -%}
        {%- set anchor = run_query('select min(customer_id) from ' ~ this).columns[0].values()[0] -%}
        {%- if anchor is not none -%}
            {%- do plan.update({'changed_customers': plan.changed_customers
                ~ " union select '" ~ (anchor | replace("'", "''")) ~ "'"}) -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(plan) }}
{%- endmacro %}

{% macro changed_customers(plan) -%}
    {#- A select of the customers whose data may have changed since the table's previous run
        (plan: changed_customers_plan()), with `changed_from_date`: the first day whose
        activity, contract value or purchases the change can alter (null: unknown, every day).
        A customer is named by a row (any version) of an order or contract key with a raw
        row the run re-reads (is_recent), or owning a contract (any version) of such a
        cancellation key; or with an order, contract start or signature, or cancellation
        request dated after the previous A and on or before A (it did not exist on the
        previous A). An order alters its own day on; a contract, and a cancellation of it,
        alter the days from its start less contract_grace_days on (a contract starting
        within the grace days after a gap bridges the gap into a spell); of every version,
        the earliest. -#}
    {%- set recent = is_recent(plan, 'loaded') -%}
    {%- set before_grace = '-' ~ var('contract_grace_days') -%}
    select
        customer_id,
        {#- min() leaves nulls out: a version without its date makes the whole set's null. #}
        case when count(*) = count(changed_from_date) then min(changed_from_date) end as changed_from_date
    from (
        select customer_id, {{ to_local_date('ordered_at') }} as changed_from_date
        from {{ ref('base_shop__orders') }}
        where order_id in (select order_id from {{ ref('base_shop__orders') }} as loaded where {{ recent }})
        union all
        select customer_id, {{ add_days('start_date', before_grace) }} as changed_from_date
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
        union all
        select customer_id, order_date as changed_from_date
        from {{ ref('stg_shop__orders') }}
        where {{ new_on_as_of('order_date', plan) }}
        union all
        select customer_id, {{ add_days('start_date', before_grace) }} as changed_from_date
        from {{ ref('stg_shop__contracts') }}
        where {{ new_on_as_of('start_date', plan) }} or {{ new_on_as_of('signed_date', plan) }}
        union all
        select contracts.customer_id, {{ add_days('contracts.start_date', before_grace) }} as changed_from_date
        from {{ ref('stg_shop__cancellations') }} as cancellations
        inner join {{ ref('stg_shop__contracts') }} as contracts
            on cancellations.contract_id = contracts.contract_id
        where {{ new_on_as_of('cancellations.requested_date', plan) }}
    ) as changes
    where customer_id is not null
    group by customer_id
{%- endmacro %}

{% macro per_customer_incremental_config() -%}
    {#- The config of a model written per customer (shared_changed_customers_plan):
        `append`, its pre-hook deleting first every row the run writes (the changed
        customers' rows; every row in a full rebuild). -#}
    {{ incremental_config(none, "{{ delete_changed_customers(shared_changed_customers_plan()) if is_incremental() }}") }}
{%- endmacro %}

{% macro delete_changed_customers(plan, also=none) -%}
    {#- The pre-hook statement of a model planned by shared_changed_customers_plan, which
        appends: delete every row (a full rebuild), else the changed customers' rows (a
        customer can lose rows) and, with `also` (a SQL condition), the rows it matches. -#}
    {{ log_full_rebuild(plan) }}delete from {{ this }}
    {%- if not plan.full %}
    where customer_id in ({{ plan.changed_customers }}){{ ' or ' ~ also if also }}
    {%- endif -%}
{%- endmacro %}

{% macro changed_customers_cte(plan) -%}
    {#- In an incremental run (plan: shared_changed_customers_plan), the CTE
        `changed_customers` followed by a comma; nothing in a full rebuild. -#}
    {%- if not plan.full %}
changed_customers as (

    {{ plan.changed_customers }}

),
    {%- endif %}
{%- endmacro %}

{% macro only_changed_customers(plan, keyword='where') -%}
    {#- In an incremental run (plan: shared_changed_customers_plan), `keyword` and the
        condition that keeps the rows of the customers in the CTE changed_customers
        (changed_customers_cte); nothing in a full rebuild. -#}
    {%- if not plan.full %}
    {{ keyword }} customer_id in (select customer_id from changed_customers)
    {%- endif %}
{%- endmacro %}
