{% test unique_combination_of_columns(model, combination_of_columns) %}
{#- Generic test, the grain test: no two rows share the combination of these columns; a
    null is a value like any other (macros/key_violations.sql). -#}
    {{ return(retention.key_violations(model, combination_of_columns, nulls_allowed=true)) }}
{% endtest %}
