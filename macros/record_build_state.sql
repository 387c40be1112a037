{#- on-run-end: records in meta.build_state whether this invocation was a complete,
    successful `dbt build` (state `built`) or a failed one (`failed`). `retention load`
    sets `loaded`; `retention publish` publishes only a `built` database, so a working
    copy whose last build failed, was partial or never ran is never published. A run with
    --select/--exclude, or another command than build, leaves the state as it was. -#}
{% macro record_build_state(results) %}
    {%- if execute and flags.WHICH == 'build' -%}
        {%- set args = invocation_args_dict -%}
        {%- set is_partial = args.get('select') or args.get('exclude') or args.get('selector') -%}
        {%- set statuses = results | map(attribute='status') | map('string') | list -%}
        {%- set failed = statuses | select('in', ['error', 'fail', 'runtime error', 'skipped']) | list -%}
        {%- if failed or not is_partial -%}
            create schema if not exists meta;
            create or replace table meta.build_state as
            select
                '{{ "failed" if failed else "built" }}' as state,
                current_timestamp as changed_at;
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
