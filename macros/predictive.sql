{#- The predictive CLV models (models/intermediate/predictive/, dbt Python models tagged
    `predictive`) are built unless the environment says RETENTION_PREDICTIVE=off. Off, they
    are disabled (no Python, pandas or scipy in the run: the test builds of small fixtures
    set it) and the marts that publish them are built empty, with their contracts, so every
    build stays complete (docs/decisions.md "Where the predictive models are built"). -#}

{% macro predictive_enabled() -%}
    {{- return(env_var('RETENTION_PREDICTIVE', 'on') != 'off') -}}
{%- endmacro %}

{#- `select * from` the predictive model, or no rows with its columns when it is disabled. -#}
{% macro predictive_rows(model_name, columns) -%}
    {%- if predictive_enabled() -%}
        select * from {{ ref(model_name) }}
    {%- else -%}
        select {% for column in columns %}null as {{ column }}{{ ", " if not loop.last }}{% endfor %}
        where false
    {%- endif -%}
{%- endmacro %}
