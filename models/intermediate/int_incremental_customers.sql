{#- The customers whose rows an incremental run rebuilds in full (macros/incremental.sql):
    - a raw order, contract or cancellation row loaded on or after the previous run's
      look-back window names them, or shares its key with a row that names them (a later
      load can move an order or contract to another customer: both are rebuilt; a new
      cancellation rebuilds the customers of its contract);
    - or they have an order, contract start or signature, or cancellation request dated
      after the previous A and on or before A (rows that did not exist on the previous A).
    Empty when the run is a full rebuild (every row is rebuilt then). -#}
with scope as (

    select * from {{ ref('int_incremental_scope') }}

),

orders as (

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

    {#- Events after the previous A, on or before A. #}
    select staged_orders.customer_id
    from staged_orders
    inner join scope
        on staged_orders.order_date > scope.previous_as_of_date
    inner join {{ ref('int_reporting_params') }} as params
        on staged_orders.order_date <= params.as_of_date
    where not scope.is_full_rebuild
    union
    select staged_contracts.customer_id
    from staged_contracts
    inner join scope
        on
            staged_contracts.start_date > scope.previous_as_of_date
            or staged_contracts.signed_date > scope.previous_as_of_date
    where not scope.is_full_rebuild
    union
    select staged_contracts.customer_id
    from staged_cancellations
    inner join staged_contracts
        on staged_cancellations.contract_id = staged_contracts.contract_id
    inner join scope
        on staged_cancellations.requested_date > scope.previous_as_of_date
    where not scope.is_full_rebuild

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
