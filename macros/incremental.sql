{#- Incremental builds of the large fact models (docs: README "Incremental builds").

    int_incremental_scope decides, at the start of every run, whether the incremental
    models are rebuilt in full or only in part, and which part: every row of the customers
    in int_incremental_customers (raw rows loaded since the previous run's look-back
    window, or an event dated after the previous A), and every row of a period that
    contains or follows the previous A's month (A moves every day, and with it every
    customer's current month). An incremental model declares how its rows map onto that
    scope with the `rebuild_scope` config:

        customer        the customer column
        key, raw_key, source_table, loaded_at
                        a base model: its key column, the key's expression on the raw
                        table, the raw table, and the load time column
        month           a month column: rows of months >= the previous A's month
        period_grain, period_start
                        a period: rows of periods containing the previous A's month or later
        covered_until   a coverage end: rows covering the previous A (coverage is cut at A)

    and is built with incremental_strategy='replace_scope': the rows in scope are deleted
    from the table and the model's rows in scope inserted, in one transaction. The model's
    SQL selects the same scope with rebuild_scope_predicate(), so that the rows it deletes
    and the rows it inserts are the same set. -#}

{% macro rebuild_scope_predicate(scope=none) -%}
    {%- set scope = scope or config.get('rebuild_scope') -%}
    {#- A base model is read before A exists: it takes the raw-level scope. #}
    {%- set params = ref('int_incremental_raw_scope') if scope.get('raw_key') else ref('int_incremental_scope') -%}
    {#- Each model declares (-- depends_on) the scope models its own scope reads. #}
    {%- set recent_keys = ref('int_incremental_recent_keys') if scope.get('raw_key') else none -%}
    {%- set customers = ref('int_incremental_customers') if scope.get('customer') else none -%}
    {#- The scope row was built earlier in this run: its values are written into the SQL as
        literals, which lets the engine filter the inputs early (a scalar subquery inside an
        OR does not). #}
    {%- set values = incremental_scope_values(params) -%}
    {%- if values is none or values['is_full_rebuild'] -%}
    (true)
    {%- else -%}
    (
        false
        {%- if scope.get('raw_key') %}
        {#- A base model: every row of a key with a raw row loaded within the previous run's
            look-back window, and the recent rows without a key. #}
        or {{ scope['key'] }} in (
            select recent_keys.key_value
            from {{ recent_keys }} as recent_keys
            where recent_keys.source_table = '{{ scope['source_table'] }}'
        )
        or (
            {{ scope['key'] }} is null
            and cast({{ scope['loaded_at'] }} as date) >= {{ date_literal(values['rebuild_loaded_from_day']) }}
        )
        {%- endif %}
        {%- if scope.get('customer') %}
        or {{ scope['customer'] }} in (select customer_id from {{ customers }})
        {%- endif %}
        {%- if scope.get('month') %}
        or {{ scope['month'] }} >= {{ date_literal(values['rebuild_from_month']) }}
        {%- endif %}
        {%- if scope.get('period_start') %}
        or {{ scope['period_start'] }} >= case {{ scope['period_grain'] }}
            when 'month' then {{ date_literal(values['rebuild_from_month']) }}
            when 'quarter' then {{ date_literal(values['rebuild_from_quarter']) }}
            else {{ date_literal(values['rebuild_from_year']) }}
        end
        {%- endif %}
        {%- if scope.get('covered_until') %}
        or {{ scope['covered_until'] }} >= {{ date_literal(values['previous_as_of_date']) }}
        {%- endif %}
    )
    {%- endif -%}
{%- endmacro %}

{% macro incremental_scope_values(relation) -%}
    {#- The one row of a scope model as a dict (none while parsing, or when it is not built). -#}
    {%- if not execute or adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier
    ) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set table = run_query('select * from ' ~ relation) -%}
    {%- set row = {} -%}
    {%- for name in table.column_names -%}
        {%- do row.update({name: table.rows[0][name]}) -%}
    {%- endfor -%}
    {{ return(row) }}
{%- endmacro %}

{% macro date_literal(value) -%}
    cast('{{ value }}' as date)
{%- endmacro %}

{% macro load_day(raw_loaded_at) -%}
    {#- The load day of a raw row: the UTC date of its _loaded_at (null when absent or
        unreadable). -#}
    cast({{ parse_timestamp(raw_loaded_at) }} as date)
{%- endmacro %}

{% macro get_incremental_replace_scope_sql(arg_dict) -%}
    {#- Delete the rows in scope, insert the model's rows (which are the rows in scope). -#}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
    delete from {{ target }}
    where {{ rebuild_scope_predicate() }};

    insert into {{ target }} ({{ columns }})
    select {{ columns }}
    from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

{% macro incremental_fingerprints() -%}
    {#- What the incremental models' rows depend on besides the raw data and A (compared on
        its own): the vars, and the project's models and seeds (their file checksums) and
        macros (their text). A change to any makes the next run a full rebuild. dbt's graph
        does not hold the macros: their text is read from the project's macro namespace
        (a dbt internal; should it ever be unreadable, the text counts as empty and a macro
        change needs --full-refresh, README "Incremental builds"). -#}
    {%- set vars_text = [] -%}
    {%- for name in [
        'reporting_timezone', 'reporting_currency', 'order_inactivity_days',
        'contract_grace_days', 'gross_margin', 'clv_max_lifespan_years', 'repeat_windows_days',
        'incremental_lookback_days', 'earliest_plausible_date', 'plausible_years_after_load'
    ] -%}
        {%- do vars_text.append(name ~ '=' ~ (var(name, none) | string)) -%}
    {%- endfor -%}
    {%- set code_text = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() | sort(attribute='unique_id') -%}
            {%- if node.package_name == project_name and node.resource_type in ['model', 'seed'] -%}
                {%- do code_text.append(node.unique_id ~ ':' ~ node.checksum.checksum) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set project_macros = context.get(project_name) or {} -%}
        {%- for name in project_macros | sort -%}
            {%- do code_text.append('macro.' ~ name ~ ':' ~ local_md5(project_macros[name].macro.macro_sql | default('', true))) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return({
        'vars': local_md5(vars_text | join('|')),
        'code': local_md5(code_text | join('|')),
    }) }}
{%- endmacro %}

{% macro record_incremental_state(results) -%}
    {#- on-run-end: after a run in which every incremental model (and every model deciding
        their scope) was built successfully, the scope row of this run becomes the state the
        next run compares with. A run that built some of them but not all (a failure, a
        skip, a --select) drops the state, so that the next run rebuilds them in full; a
        run that built none of them leaves the state as it was. -#}
    {%- if execute -%}
        {#- The incremental models and the models that decide their scope. #}
        {%- set incremental = [] -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'model' and node.package_name == project_name and (
                node.config.materialized == 'incremental' or node.name.startswith('int_incremental_')
            ) -%}
                {%- do incremental.append(node.unique_id) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set succeeded = [] -%}
        {%- set touched = [] -%}
        {%- for result in results if result.node.unique_id in incremental -%}
            {%- do touched.append(result.node.unique_id) -%}
            {%- if result.status | string == 'success' -%}
                {%- do succeeded.append(result.node.unique_id) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set scope_node = graph.nodes['model.' ~ project_name ~ '.int_incremental_scope'] -%}
        {%- set scope = api.Relation.create(
            database=scope_node.database, schema=scope_node.schema, identifier=scope_node.alias
        ) -%}
        {%- if incremental and succeeded | length == incremental | length -%}
            create schema if not exists meta;
            create or replace table meta.incremental_state as
            select
                {{ incremental_state_columns() | join(', ') }},
                current_timestamp as recorded_at
            from {{ scope }};
        {%- elif touched -%}
            drop table if exists meta.incremental_state;
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{% macro incremental_state_columns() -%}
    {#- The columns of int_incremental_scope that meta.incremental_state keeps for the next
        run. -#}
    {{ return([
        'latest_load_day', 'settled_before_day', 'settled_rows', 'settled_checksum',
        'as_of_date', 'vars_fingerprint', 'code_fingerprint', 'latest_load_id',
    ]) }}
{%- endmacro %}

{% macro where_in_rebuild_scope(scope) -%}
    {#- In an incremental run, a WHERE clause keeping the rows in scope (a model reads only
        the part of its inputs that the run rebuilds); nothing in a full build. -#}
    {%- if is_incremental() %}
    where {{ rebuild_scope_predicate(scope) }}
    {%- endif %}
{%- endmacro %}
