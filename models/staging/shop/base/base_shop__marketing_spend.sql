{#- The key is (spend_month, acquisition_channel); a month that is not the first of a
    month is rejected rather than silently moved. -#}
{%- set parsed_columns = [
    ['spend_month', parse_date('source.spend_month')],
    ['acquisition_channel', 'lower(' ~ clean_text('source.acquisition_channel') ~ ')'],
    ['amount', parse_money('source.amount')],
    ['currency', 'upper(' ~ clean_text('source.currency') ~ ')'],
] -%}

{%- set checks =
    [['spend_month <> ' ~ dbt.date_trunc('month', 'spend_month'), 'spend_month_not_first_of_month']]
    + [date_range_check('spend_month', kind='date')]
    + money_checks('amount')
    + [['amount < 0', 'negative_amount']]
    + value_checks('currency', parsed=false)
    + [["currency <> '" ~ var('reporting_currency') ~ "'", 'non_reporting_currency']]
-%}

{{ base_model(
    source_table='marketing_spend',
    raw_columns=['spend_month', 'acquisition_channel', 'amount', 'currency'],
    parsed_columns=parsed_columns,
    key_columns=['spend_month', 'acquisition_channel'],
    key_checks=value_checks('spend_month') + value_checks('acquisition_channel', parsed=false),
    checks=checks,
) }}
