{#- Incremental (macros/base_model.sql, macros/incremental.sql). -#}
{{ base_model_incremental_config('nps_responses', 'response_id') }}
{% set parsed_columns = [
    ['response_id', clean_text('source.response_id')],
    ['customer_id', clean_text('source.customer_id')],
    ['responded_at', parse_timestamp('source.responded_at')],
    ['score', parse_integer('source.score')],
] -%}

{%- set checks =
    [['customer_id is null', 'missing_customer_id']]
    + date_checks('responded_at')
    + value_checks('score')
    + [['score not between 0 and 10', 'score_out_of_range']]
-%}

{{ base_model(
    source_table='nps_responses',
    raw_columns=['responded_at', 'score'],
    parsed_columns=parsed_columns,
    key_columns=['response_id'],
    key_checks=[['response_id is null', 'missing_response_id']],
    checks=checks,
) }}
