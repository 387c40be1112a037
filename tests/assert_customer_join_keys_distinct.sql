{#- The customer-period fact joins its grid to its facts on customer_join_key
    (macros/join_keys.sql), on DuckDB a 64-bit hash of the customer id: exact only while no
    two customers share a key. Every customer id the fact reads is here: its grid comes
    from the spells and its facts from the purchases (both tested to name only customers of
    dim_customers, which int_customers holds) and from the contract value segments, whose
    customers are listed too (a contract that starts after A has none in int_customers).
    One row per key two customer ids share; at 1M customers the chance of any is about
    3 in 100 million. -#}

with customer_ids as (

    select customer_id from {{ ref('int_customers') }}
    union
    select customer_id from {{ ref('int_contract_arr_segments_uncut') }}

),

keys as (

    select
        customer_id,
        {{ customer_join_key('customer_id') }} as join_key
    from customer_ids

),

final as (

    select
        join_key,
        count(*) as customer_ids
    from keys
    group by join_key
    having count(*) > 1

)

select * from final
