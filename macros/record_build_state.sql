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
    it releases the connection. -#}

{% macro writes_models() %}
    {#- This dbt command builds models (build, run, seed, snapshot). -#}
    {{- return(flags.WHICH in ['build', 'run', 'seed', 'snapshot']) -}}
{% endmacro %}

{% macro write_build_state(sql) %}
    {#- Run a statement on meta.build_state and commit it at once. -#}
    {%- call statement('write_build_state', auto_begin=True) -%}
        create schema if not exists meta;
        {{ sql }}
    {%- endcall -%}
    {%- do adapter.commit() -%}
{% endmacro %}

{% macro mark_build_started() %}
    {#- on-run-start: the database says `building` until the build ends. -#}
    {%- if execute and writes_models() -%}
        {%- do write_build_state("
            create table if not exists meta.build_state (state varchar, changed_at timestamptz);
            create or replace table meta.build_state as
            select
                'building' as state,
                current_timestamp as changed_at,
                (select max(state) from meta.build_state) as previous_state;
        ") -%}
    {%- endif -%}
{% endmacro %}

{% macro record_build_state(results) %}
    {#- on-run-end: `built` after a complete, successful build, `failed` after a failure,
        else the state before the run. -#}
    {%- if execute and writes_models() -%}
        {%- set args = invocation_args_dict -%}
        {%- set is_partial = args.get('select') or args.get('exclude') or args.get('selector') -%}
        {%- set statuses = results | map(attribute='status') | map('string') | list -%}
        {%- set failed = statuses | select('in', ['error', 'fail', 'runtime error', 'skipped']) | list -%}
        {%- if failed or (flags.WHICH == 'build' and not is_partial) -%}
            {%- do write_build_state(
                "create or replace table meta.build_state as select '"
                ~ ("failed" if failed else "built")
                ~ "' as state, current_timestamp as changed_at;"
            ) -%}
        {%- else -%}
            {%- do write_build_state("
                create or replace table meta.build_state as
                select coalesce(previous_state, 'incomplete') as state, current_timestamp as changed_at
                from meta.build_state;
            ") -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
