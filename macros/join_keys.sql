{#- Join keys: what a large join compares instead of a text id, where an engine compares
    something else faster. -#}

{% macro customer_join_key(customer_id) -%}
    {#- The key the customer-period fact joins its grid to its facts on (macros/
        customer_periods.sql): the customer id itself, or on DuckDB a 64-bit hash of it.
        A hash is exact only while no two customers share one; the test
        assert_customer_join_keys_distinct checks that on every build. -#}
    {{ return(adapter.dispatch('customer_join_key', 'retention')(customer_id)) }}
{%- endmacro %}

{% macro default__customer_join_key(customer_id) -%}
    {{ customer_id }}
{%- endmacro %}

{% macro duckdb__customer_join_key(customer_id) -%}
    {#- DuckDB hashes and compares a 64-bit integer faster than a text such as `C00000027`:
        the closed part's two fact joins (10M and 16M grid rows at 1M customers, about 5.7M
        fact rows) and their groupings cost less on it. The hash is computed where it is
        compared, not stored or carried (carrying it through the grid cost more). -#}
    hash({{ customer_id }})
{%- endmacro %}
