{#- meta.build_state says where the database is in load → build → publish. `retention load`
    sets `loaded`; `retention publish` publishes only a `built` database, so a working copy
    whose last build failed, was killed, was partial or never ran is never published.

    A dbt invocation that writes models (build, run, seed, snapshot) goes through two hooks:
    - on-run-start (mark_build_started, after the checks of the vars and raw tables, before
      any model): `building`, keeping the state it replaces in `previous_state`. A build
      killed from here on (kill -9, an orchestrator's timeout, a power cut) leaves
      `building`: dbt runs no on-run-end hook when it is interrupted.
    - on-run-end (record_build_state): `built` after a complete, successful `dbt build`;
      `failed` when any node failed or was skipped; otherwise (a --select/--exclude run, or
      run/seed/snapshot, that succeeded) the previous state again, so such a run leaves the
      state as it was.
    Each write is committed before the hook ends: a hook runs inside whatever transaction an
    earlier hook's query opened (a relation-cache lookup does), and dbt rolls that back when
    it releases the connection.

    `make data-diff` builds a pull request's models with the tests left out (`built`) and runs
    `dbt test` after them, which runs no hook here; when that fails it writes `failed` itself
    (retention/data_diff.py, load.mark_build_state) with a fifth column, `failed_step`
    `tests`: every model was built. The hooks below write no `failed_step` (the row is
    replaced whole, so a later run drops it): their `failed` may come from a model, or from a
    unit test or test that skipped the models after it, and readers take a missing or null
    `failed_step` as "not known" (retention.marts.BuildState).

    The row also keeps `stored_vars`: the vars the incremental tables' rows were built with
    (stored_var_values), as of the last complete, successful `dbt build` or `dbt run`. A later
    run that writes models with other values, and is not a --full-refresh, stops in
    on-run-start (check_stored_vars): its incremental tables would mix rows of both. A
    --full-refresh run with other values that selects incremental models records, when it
    starts, that it rebuilds them with those values (`partly_rebuilt_with`); until a complete
    run succeeds, the tables may hold rows of both, and every run that is not a
    --full-refresh stops, whatever its values. -#}

{% macro writes_models() %}
    {#- This dbt command builds models (build, run, seed, snapshot). -#}
    {{- return(flags.WHICH in ['build', 'run', 'seed', 'snapshot']) -}}
{% endmacro %}

{% macro stored_var_values() %}
    {#- The vars that shape rows the incremental models keep (staging's local dates and
        checks, the spells), as text by name. The others (as_of_date, the marts' windows,
        margin and horizon, the look-back) only shape tables rebuilt every run. -#}
    {%- set values = {} -%}
    {%- for name in ['reporting_timezone', 'reporting_currency', 'order_inactivity_days',
                     'contract_grace_days', 'earliest_plausible_date',
                     'plausible_years_after_load'] -%}
        {%- do values.update({name: var(name) | string}) -%}
    {%- endfor -%}
    {{- return(values) -}}
{% endmacro %}

{% macro changed_stored_vars(stored) %}
    {#- The vars of stored_var_values whose value in this run differs from `stored` (the
        JSON text of meta.build_state.stored_vars), each as a phrase. -#}
    {%- set before = fromjson(stored) -%}
    {%- set changed = [] -%}
    {%- for name, value in retention.stored_var_values().items() -%}
        {%- if name in before and before[name] != value -%}
            {%- do changed.append(name ~ " is " ~ value ~ " in this run, " ~ before[name] ~ " in the last build") -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(changed) -}}
{% endmacro %}

{% macro check_stored_vars() %}
    {#- on-run-start: a run that writes models, not as --full-refresh, stops before any model
        when a var of stored_var_values differs from the last complete build's, or when a
        --full-refresh run with other vars has not completed since. -#}
    {%- if execute and writes_models() and not flags.FULL_REFRESH -%}
        {%- set stored = retention.build_state_column('stored_vars') -%}
        {%- if stored and 'partly_rebuilt_with' in fromjson(stored) -%}
            {{ exceptions.raise_compiler_error(
                "A --full-refresh run with other vars (" ~ tojson(fromjson(stored)['partly_rebuilt_with'], sort_keys=true)
                ~ ") rebuilt some incremental tables and no complete run has followed: they may hold"
                ~ " rows of both values. Rebuild them all: dbt build --full-refresh"
                ~ " (retention build --full-refresh)."
            ) }}
        {%- endif -%}
        {%- set changed = retention.changed_stored_vars(stored) if stored else [] -%}
        {%- if changed -%}
            {{ exceptions.raise_compiler_error(
                "The incremental tables were built with other vars: " ~ changed | join("; ")
                ~ ". An incremental run would keep their rows and add rows of the new values."
                ~ " Rebuild them: dbt build --full-refresh (retention build --full-refresh),"
                ~ " or run with the values of the last build."
            ) }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}

{% macro selects_incremental_models() %}
    {#- This invocation selected an incremental model (`selected_resources`, in a hook). -#}
    {%- for unique_id in selected_resources -%}
        {%- set node = graph.nodes.get(unique_id) -%}
        {%- if node and node.resource_type == 'model' and node.config.materialized == 'incremental' -%}
            {{- return(true) -}}
        {%- endif -%}
    {%- endfor -%}
    {{- return(false) -}}
{% endmacro %}

{#- The row of meta.build_state: `state` now, the state it replaces (mark_build_started
    only) and the stored vars (JSON text). The values are read first and written as
    literals, so that the write is one statement on every engine; the write itself is
    dispatched. -#}
{% macro build_state_column(column) %}
    {%- set relation = adapter.get_relation(database=target.database, schema='meta', identifier='build_state') -%}
    {%- if relation is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set present = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- if column not in present -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return(run_query('select max(' ~ column ~ ') from meta.build_state').columns[0].values()[0]) -}}
{% endmacro %}

{% macro write_build_state(state, previous_state=none, stored_vars=none) %}
    {%- set select_sql -%}
        select
            '{{ state }}' as state,
            current_timestamp as changed_at,
            cast({{ "'" ~ previous_state ~ "'" if previous_state else 'null' }} as {{ dbt.type_string() }}) as previous_state,
            cast({{ "'" ~ stored_vars | replace("'", "''") ~ "'" if stored_vars else 'null' }} as {{ dbt.type_string() }}) as stored_vars
    {%- endset -%}
    {%- do adapter.dispatch('write_build_state', 'retention')(select_sql) -%}
{% endmacro %}

{% macro default__write_build_state(select_sql) %}
    {%- call statement('write_build_state', auto_begin=True) -%}
        create schema if not exists meta;
        create or replace table meta.build_state as {{ select_sql }};
    {%- endcall -%}
    {%- do adapter.commit() -%}
{% endmacro %}

{% macro spark__write_build_state(select_sql) %}
    {#- One statement per call, and no `create or replace` for a Parquet table. -#}
    {%- do run_query('create schema if not exists meta') -%}
    {%- do run_query('drop table if exists meta.build_state') -%}
    {%- do run_query('create table meta.build_state as ' ~ select_sql) -%}
{% endmacro %}

{% macro mark_build_started() %}
    {#- on-run-start: the database says `building` until the build ends; a --full-refresh
        run with other vars than the stored ones that selects incremental models stores
        `partly_rebuilt_with` (its values) until a complete run succeeds. -#}
    {%- if execute and writes_models() -%}
        {%- set stored = retention.build_state_column('stored_vars') -%}
        {%- if stored and flags.FULL_REFRESH and 'partly_rebuilt_with' not in fromjson(stored)
              and retention.changed_stored_vars(stored) and retention.selects_incremental_models() -%}
            {%- set stored = tojson({'partly_rebuilt_with': retention.stored_var_values()}, sort_keys=true) -%}
        {%- endif -%}
        {%- do write_build_state('building', retention.build_state_column('state'), stored) -%}
    {%- endif -%}
{% endmacro %}

{% macro record_build_state(results) %}
    {#- on-run-end: `built` after a complete, successful build, `failed` after a failure,
        else the state before the run; this run's stored vars after a complete, successful
        build or run (it rebuilt or re-read every incremental table), else the stored ones. -#}
    {%- if execute and writes_models() -%}
        {%- set args = invocation_args_dict -%}
        {%- set is_partial = args.get('select') or args.get('exclude') or args.get('selector') -%}
        {%- set statuses = results | map(attribute='status') | map('string') | list -%}
        {%- set failed = statuses | select('in', ['error', 'fail', 'runtime error', 'skipped']) | list -%}
        {%- set complete = not is_partial and flags.WHICH in ['build', 'run'] -%}
        {%- set stored = tojson(retention.stored_var_values(), sort_keys=true) if complete and not failed
            else retention.build_state_column('stored_vars') -%}
        {%- if failed -%}
            {%- do write_build_state("failed", none, stored) -%}
        {%- elif complete and flags.WHICH == 'build' -%}
            {%- do write_build_state("built", none, stored) -%}
        {%- else -%}
            {%- do write_build_state(retention.build_state_column('previous_state') or 'incomplete', none, stored) -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
