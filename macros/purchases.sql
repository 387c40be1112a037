{% macro purchases_plan() -%}
    {#- What this run of int_purchases writes (as_of_incremental_plan): a full rebuild, or
        the purchases among `changed_orders`, a select of the orders named by a raw row the
        run re-reads (any version of the key, from base_shop__orders: it may have become a
        refund or been quarantined) or dated after the previous A and on or before A.
        Called while dbt parses the model too, so that base_shop__orders is its parent. -#}
    {%- set plan = as_of_incremental_plan(['orders'], [ref('base_shop__orders')]) -%}
    {%- if not plan.full -%}
        {%- set changed_orders -%}
select loaded.order_id
from {{ ref('base_shop__orders') }} as loaded
where {{ is_recent(plan, 'loaded') }}
union
select order_id
from {{ ref('stg_shop__orders') }}
where {{ new_on_as_of('order_date', plan) }}
        {%- endset -%}
        {%- do plan.update({'changed_orders': changed_orders}) -%}
    {%- endif -%}
    {{ return(plan) }}
{%- endmacro %}

{% macro purchases_pre_hook() -%}
    {#- Before an incremental run of int_purchases, which appends: delete every row the run
        may write (all of them in a full rebuild; else the changed orders'). -#}
    {%- if is_incremental() -%}
        {%- set plan = purchases_plan() -%}
        {{ log_full_rebuild(plan) }}delete from {{ this }}
        {%- if not plan.full %}
        where order_id in ({{ plan.changed_orders }})
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
