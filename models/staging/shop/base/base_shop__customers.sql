{#- Incremental (macros/base_model.sql, macros/incremental.sql). -#}
{{ base_model_incremental_config('customers', 'customer_id') }}
{% set parsed_columns = [
    ['customer_id', clean_text('source.customer_id')],
    ['created_at', parse_timestamp('source.created_at')],
    ['acquisition_channel', 'lower(' ~ clean_text('source.acquisition_channel') ~ ')'],
    ['country', 'upper(' ~ clean_text('source.country') ~ ')'],
    ['segment', 'lower(' ~ clean_text('source.segment') ~ ')'],
] -%}

{{ base_model(
    source_table='customers',
    raw_columns=['customer_id', 'created_at'],
    parsed_columns=parsed_columns,
    key_columns=['customer_id'],
    key_checks=[['customer_id is null', 'missing_customer_id']],
    checks=date_checks('created_at'),
) }}
