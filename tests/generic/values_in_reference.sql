{#- The values of a column that a reference table (a seed) does not list: one row per such
    value with the number of rows holding it; nulls pass. Meant for severity warn, where an
    unlisted value is legitimate but loses meaning (a cancellation reason code missing from
    the cancellation_reasons seed gets churn type `unknown`): the build passes, dbt reports
    the test as a warning with one result per value, and the values and their row counts
    are printed in dbt's output (a test's own message holds only the number of results).
    `hint` ends that line: what to do about it. -#}
{% test values_in_reference(model, column_name, to, field, hint='') %}

{%- set unlisted_values -%}
select
    {{ column_name }} as unlisted_value,
    count(*) as rows_with_value
from {{ model }}
where
    {{ column_name }} is not null
    and {{ column_name }} not in (
        select reference.{{ field }} from {{ to }} as reference
        where reference.{{ field }} is not null
    )
group by {{ column_name }}
{%- endset -%}

{%- if execute and flags.WHICH in ['build', 'test'] -%}
    {%- set found = run_query(unlisted_values ~ ' order by unlisted_value') -%}
    {%- if found.rows | length > 0 -%}
        {%- set listed = [] -%}
        {%- for row in found.rows -%}
            {%- do listed.append(row[0] ~ ' (' ~ row[1] ~ (' row' if row[1] == 1 else ' rows') ~ ')') -%}
        {%- endfor -%}
        {%- do log(
            'Warning: ' ~ model.identifier ~ '.' ~ column_name ~ ' values not in '
            ~ to.identifier ~ ': ' ~ listed | join(', ') ~ ('. ' ~ hint if hint else ''),
            info=true
        ) -%}
    {%- endif -%}
{%- endif -%}

{{ unlisted_values }}

{% endtest %}
