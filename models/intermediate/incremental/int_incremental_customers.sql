{#- The customers whose rows an incremental run rebuilds in full (macros/incremental.sql):
    - a raw order, contract or cancellation row loaded on or after the previous run's
      look-back window names them, or shares its key with a row that names them (a later
      load can move an order or contract to another customer: both are rebuilt; a new
      cancellation rebuilds the customers of its contract);
    - or they have an order, contract start or signature, or cancellation request dated
      after the previous A and on or before A (rows that did not exist on the previous A).
    Empty when the run is a full rebuild (every row is rebuilt then). -#}
with orders as (

    select * from {{ ref('base_shop__orders') }}

),

contracts as (

    select * from {{ ref('base_shop__contracts') }}

),

cancellations as (

    select * from {{ ref('base_shop__cancellations') }}

),

staged_orders as (

    select * from {{ ref('stg_shop__orders') }}

),

staged_contracts as (

    select * from {{ ref('stg_shop__contracts') }}

),

staged_cancellations as (

    select * from {{ ref('stg_shop__cancellations') }}

),

recent_keys as (

    select * from {{ ref('int_incremental_recent_keys') }}

),

recent_contract_ids as (

    select key_value as contract_id
    from recent_keys
    where source_table = 'contracts'
    union
    select cancellations.contract_id
    from cancellations
    inner join recent_keys
        on
            recent_keys.source_table = 'cancellations'
            and cancellations.cancellation_id = recent_keys.key_value

),

new_on_as_of as (

    {#- Events dated after the previous A and on or before A (the two dates are written into
        the SQL as literals so that the tables are filtered as they are read; a timestamp a
        day earlier bounds every time zone). #}
    {%- set scope_values = incremental_scope_values(ref('int_incremental_scope')) %}
    {%- set is_full_rebuild = scope_values is none or scope_values['is_full_rebuild'] %}
    {#- In a full rebuild (and while parsing): dates no event follows, so the union is empty
        and the scans are skipped on their zone maps. #}
    {%- set previous_as_of = date_literal('9999-12-30' if is_full_rebuild else scope_values['previous_as_of_date']) %}
    {%- set as_of = date_literal('9999-12-31' if is_full_rebuild else scope_values['as_of_date']) %}
    {%- set is_new = '({0} > ' ~ previous_as_of ~ ' and {0} <= ' ~ as_of ~ ')' %}
    {%- set day_before = "cast(" ~ add_days(previous_as_of, -1) ~ " as " ~ dbt.type_timestamp() ~ ")" %}
    select staged_orders.customer_id
    from staged_orders
    where
        staged_orders.ordered_at >= {{ day_before }}
        and {{ is_new.format('staged_orders.order_date') }}
    union
    select staged_contracts.customer_id
    from staged_contracts
    where
        {{ is_new.format('staged_contracts.start_date') }}
        or {{ is_new.format('staged_contracts.signed_date') }}
    union
    select staged_contracts.customer_id
    from staged_cancellations
    inner join staged_contracts
        on staged_cancellations.contract_id = staged_contracts.contract_id
    where
        staged_cancellations.requested_at >= {{ day_before }}
        and {{ is_new.format('staged_cancellations.requested_date') }}

),

final as (

    select orders.customer_id
    from orders
    inner join recent_keys
        on
            recent_keys.source_table = 'orders'
            and orders.order_id = recent_keys.key_value
    union
    select contracts.customer_id
    from contracts
    inner join recent_contract_ids
        on contracts.contract_id = recent_contract_ids.contract_id
    union
    select customer_id
    from new_on_as_of

)

select customer_id
from final
where customer_id is not null
