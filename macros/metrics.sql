{#- The formulas that more than one model needs, each written once. -#}

{% macro arr_to_mrr(arr) -%}
    {#- MRR from the exact annual value: price for monthly, price / 3 quarterly, price / 12
        yearly billing all equal annual / 12. -#}
    ({{ typed(arr, 'double') }} / 12.0)
{%- endmacro %}

{% macro daily_recognised_revenue(arr) -%}
    {#- Recognised revenue per covered day = MRR × 12 / 365 = annual / 365. -#}
    ({{ typed(arr, 'double') }} / 365.0)
{%- endmacro %}

{% macro safe_ratio(numerator, denominator) -%}
    {#- Every rate is null when its denominator is 0. -#}
    case
        when {{ denominator }} <> 0
            then cast({{ numerator }} as {{ type_double() }}) / {{ denominator }}
    end
{%- endmacro %}

{% macro mrr_movement(start_value, end_value, is_active_before) -%}
    {#- MRR movements of one customer between the start and end state. Returns the
        movement name; the amounts come from mrr_movement_amount. -#}
    case
        when {{ start_value }} = 0 and {{ end_value }} > 0 and {{ is_active_before }} then 'reactivation'
        when {{ start_value }} = 0 and {{ end_value }} > 0 then 'new'
        when {{ start_value }} > 0 and {{ end_value }} = 0 then 'churned'
        when {{ start_value }} > 0 and {{ end_value }} > {{ start_value }} then 'expansion'
        when {{ end_value }} > 0 and {{ end_value }} < {{ start_value }} then 'contraction'
        else 'unchanged'
    end
{%- endmacro %}

{% macro mrr_movement_amount(movement, start_value, end_value, kind) -%}
    {#- The (non-negative) amount of one movement kind, 0 for the others. -#}
    case
        when {{ movement }} <> '{{ kind }}' then 0
        {%- if kind in ('new', 'reactivation') %}
        else {{ end_value }}
        {%- elif kind == 'churned' %}
        else {{ start_value }}
        {%- elif kind == 'expansion' %}
        else {{ end_value }} - {{ start_value }}
        {%- elif kind == 'contraction' %}
        else {{ start_value }} - {{ end_value }}
        {%- endif %}
    end
{%- endmacro %}

{% macro value_at_first(value, order_by) -%}
    {#- The value on the row with the smallest order_by, in an aggregate. -#}
    {{ return(adapter.dispatch('value_at_first', 'retention')(value, order_by)) }}
{%- endmacro %}

{% macro default__value_at_first(value, order_by) -%}
    {#- The value on the row with the smallest order_by (Spark, Trino, Snowflake: min_by). -#}
    min_by({{ value }}, {{ order_by }})
{%- endmacro %}

{% macro duckdb__value_at_first(value, order_by) -%}
    arg_min({{ value }}, {{ order_by }})
{%- endmacro %}

{% macro value_at_last(value, order_by) -%}
    {#- The value on the row with the largest order_by, in an aggregate. -#}
    {{ return(adapter.dispatch('value_at_last', 'retention')(value, order_by)) }}
{%- endmacro %}

{% macro default__value_at_last(value, order_by) -%}
    {#- The value on the row with the largest order_by (Spark, Trino, Snowflake: max_by). -#}
    max_by({{ value }}, {{ order_by }})
{%- endmacro %}

{% macro duckdb__value_at_last(value, order_by) -%}
    arg_max({{ value }}, {{ order_by }})
{%- endmacro %}

{% macro type_double() -%}
    {#- dbt.type_float() is a 4-byte float on duckdb; rates and money derived by division
        need double precision (the checks compare to 1e-9). -#}
    double
{%- endmacro %}

{% macro sum_float(expression) -%}
    {#- A sum of doubles that does not drift with the row count or order. -#}
    {{ return(adapter.dispatch('sum_float', 'retention')(expression)) }}
{%- endmacro %}

{% macro default__sum_float(expression) -%}
    sum({{ expression }})
{%- endmacro %}

{% macro duckdb__sum_float(expression) -%}
    {#- A sum of doubles (MRR, recognised revenue) over up to millions of rows. A plain
        sum's rounding error grows with the row count (at a million customers the MRR
        identities of fct_periods drifted by more than 1e-6) and depends on the order in
        which a parallel aggregate meets the rows; compensated summation is accurate to the
        last digits whatever the order. -#}
    fsum({{ expression }})
{%- endmacro %}

{% macro ordered_list(column, delimiter) -%}
    {#- The values of column in an aggregate as one text, sorted, separated by delimiter
        (a SQL string literal). -#}
    {{ return(adapter.dispatch('ordered_list', 'retention')(column, delimiter)) }}
{%- endmacro %}

{% macro default__ordered_list(column, delimiter) -%}
    {{ dbt.listagg(column, delimiter, 'order by ' ~ column) }}
{%- endmacro %}

{% macro duckdb__ordered_list(column, delimiter) -%}
    {#- The group's list, sorted and joined: the same text as an ordered string_agg (nulls
        left out; a group of nulls only gives null) for about half its CPU, since the
        ordered aggregate sorts through a general sort (dim_customers' active products at
        1M customers: 0.44 against 0.78 CPU-s). -#}
    array_to_string(list_sort(list({{ column }}) filter (where {{ column }} is not null)), {{ delimiter }})
{%- endmacro %}

{% macro last_value_ignoring_nulls(expression) -%}
    {#- last_value skipping nulls, followed by its over (...) window. -#}
    {{ return(adapter.dispatch('last_value_ignoring_nulls', 'retention')(expression)) }}
{%- endmacro %}

{% macro default__last_value_ignoring_nulls(expression) -%}
    last_value({{ expression }} ignore nulls)
{%- endmacro %}

{% macro typed(expression, type) -%}
    {#- expression as `type`, which DuckDB already gives it (a decimal divided is a double,
        ntile() a bigint) and another engine may not (Spark: a decimal, an int). -#}
    {{ return(adapter.dispatch('typed', 'retention')(expression, type)) }}
{%- endmacro %}

{% macro default__typed(expression, type) -%}
    cast({{ expression }} as {{ type }})
{%- endmacro %}

{% macro duckdb__typed(expression, type) -%}
    {{ expression }}
{%- endmacro %}
