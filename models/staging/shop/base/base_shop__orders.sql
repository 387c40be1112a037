{#- Incremental (macros/base_model.sql, macros/incremental.sql). -#}
{{ base_model_incremental_config('orders', 'order_id') }}
{#- Order and customer ids written as they are (macros/column_compression.sql). -#}
{{ config(meta={'column_compression': {'order_id': 'uncompressed', 'customer_id': 'uncompressed'}}) }}
{% set parsed_columns = [
    ['order_id', clean_text('source.order_id')],
    ['customer_id', clean_text('source.customer_id')],
    ['ordered_at', parse_timestamp('source.ordered_at')],
    ['status', 'lower(' ~ clean_text('source.status') ~ ')'],
    ['amount', parse_money('source.amount')],
    ['refunded_amount', parse_money('source.refunded_amount')],
    ['currency', 'upper(' ~ clean_text('source.currency') ~ ')'],
] -%}

{%- set checks =
    [['customer_id is null', 'missing_customer_id']]
    + date_checks('ordered_at')
    + value_checks('status', parsed=false)
    + [["status not in ('completed', 'cancelled', 'refunded')", 'unknown_status']]
    + money_checks('amount')
    + money_checks('refunded_amount', required=false)
    + [
        ['amount < 0', 'negative_amount'],
        ['refunded_amount < 0', 'negative_refunded_amount'],
        ['refunded_amount > amount', 'refund_exceeds_amount'],
    ]
    + value_checks('currency', parsed=false)
    + [["currency <> '" ~ var('reporting_currency') ~ "'", 'non_reporting_currency']]
-%}

{{ base_model(
    source_table='orders',
    raw_columns=['ordered_at', 'status', 'amount', 'refunded_amount', 'currency'],
    parsed_columns=parsed_columns,
    key_columns=['order_id'],
    key_checks=[['order_id is null', 'missing_order_id']],
    checks=checks,
) }}
