with orders as (

    select * from {{ ref('base_shop__orders') }}
    where rejection_reason is null

),

final as (

    select
        order_id,
        customer_id,
        ordered_at,
        {{ to_local_date('ordered_at') }} as order_date,
        status,
        amount,
        coalesce(refunded_amount, 0) as refunded_amount,
        currency,
        -- only completed orders are purchases, and only purchases carry revenue.
        status = 'completed' as is_purchase,
        -- The type is stated: DuckDB 2 types the difference of two decimal(18,2) as
        -- decimal(19,2), DuckDB 1.0-1.3 as decimal(18,2), and a view whose column types
        -- differ from those stored with it fails in such a client (docs/bi.md).
        cast(
            case
                when status = 'completed' then amount - coalesce(refunded_amount, 0)
                else 0
            end as decimal(19, 2)
        ) as net_revenue,
        _loaded_at,
        built_through_load_id
    from orders

)

select * from final
