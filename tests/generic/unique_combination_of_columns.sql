{#- The grain test: no two rows share the combination of these columns
    (macros/duplicated_combinations.sql). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {{ return(adapter.dispatch('duplicated_combinations', 'retention')(model, combination_of_columns)) }}
{% endtest %}
