{#- Incremental (macros/base_model.sql, macros/incremental.sql). -#}
{{ base_model_incremental_config('contracts', 'contract_id') }}
{% set parsed_columns = [
    ['contract_id', clean_text('source.contract_id')],
    ['customer_id', clean_text('source.customer_id')],
    ['product', 'lower(' ~ clean_text('source.product') ~ ')'],
    ['signed_at', parse_timestamp('source.signed_at')],
    ['start_date', parse_date('source.start_date')],
    ['end_date', parse_date('source.end_date')],
    ['billing_period', 'lower(' ~ clean_text('source.billing_period') ~ ')'],
    ['price', parse_money('source.price')],
    ['currency', 'upper(' ~ clean_text('source.currency') ~ ')'],
    ['previous_contract_id', clean_text('source.previous_contract_id')],
] -%}

{%- set checks =
    [['customer_id is null', 'missing_customer_id']]
    + value_checks('product', parsed=false)
    + date_checks('signed_at', required=false)
    + date_checks('start_date', kind='date')
    + date_checks('end_date', kind='date', required=false, bounded_above=false)
    + [['end_date < start_date', 'end_before_start']]
    + value_checks('billing_period', parsed=false)
    + [["billing_period not in ('month', 'quarter', 'year')", 'unknown_billing_period']]
    + money_checks('price')
    + [['price < 0', 'negative_price']]
    + value_checks('currency', parsed=false)
    + [["currency <> '" ~ var('reporting_currency') ~ "'", 'non_reporting_currency']]
-%}

{{ base_model(
    source_table='contracts',
    raw_columns=['product', 'signed_at', 'start_date', 'end_date', 'billing_period', 'price', 'currency'],
    parsed_columns=parsed_columns,
    key_columns=['contract_id'],
    key_checks=[['contract_id is null', 'missing_contract_id']],
    checks=checks,
) }}
