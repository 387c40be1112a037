{#- Fails on every row where the expression is false (null counts as a failure only
    when the expression itself handles it). Optional `where` limits the rows checked. -#}
{% test expression_is_true(model, expression, where_clause=none, column_name=none) %}

select *
from {{ model }}
where not ({{ expression }})
{%- if where_clause %}
    and ({{ where_clause }})
{%- endif %}

{% endtest %}
