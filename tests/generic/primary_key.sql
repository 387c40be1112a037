{% test primary_key(model, column_name=none, columns=none) %}
{#- Generic test, the key test: no null in the key and no key on two rows, one query where
    `not_null` and `unique` would be two. On a column, or on the model with `columns`
    (macros/key_violations.sql). -#}
    {{ return(retention.key_violations(model, columns or [column_name], nulls_allowed=false)) }}
{% endtest %}
