{#- Incremental (macros/base_model.sql, macros/incremental.sql). -#}
{{ base_model_incremental_config('retention_actions', 'action_id') }}
{% set parsed_columns = [
    ['action_id', clean_text('source.action_id')],
    ['customer_id', clean_text('source.customer_id')],
    ['campaign', 'lower(' ~ clean_text('source.campaign') ~ ')'],
    ['assigned_group', 'lower(' ~ clean_text('source.assigned_group') ~ ')'],
    ['assigned_at', parse_timestamp('source.assigned_at')],
    ['cost', parse_money('source.cost')],
] -%}

{%- set checks =
    [['customer_id is null', 'missing_customer_id']]
    + value_checks('campaign', parsed=false)
    + value_checks('assigned_group', parsed=false)
    + [["assigned_group not in ('treatment', 'control')", 'unknown_assigned_group']]
    + date_checks('assigned_at')
    + money_checks('cost', required=false)
    + [['cost < 0', 'negative_cost']]
-%}

{{ base_model(
    source_table='retention_actions',
    raw_columns=['campaign', 'assigned_group', 'assigned_at', 'cost'],
    parsed_columns=parsed_columns,
    key_columns=['action_id'],
    key_checks=[['action_id is null', 'missing_action_id']],
    checks=checks,
) }}
