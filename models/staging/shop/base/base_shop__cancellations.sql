{#- A cancellation must point at a staged contract: one for an unknown (or quarantined)
    contract cannot end anything and is quarantined as unknown_contract. -#}
{%- set parsed_columns = [
    ['cancellation_id', clean_text('source.cancellation_id')],
    ['contract_id', clean_text('source.contract_id')],
    ['requested_at', parse_timestamp('source.requested_at')],
    ['effective_date', parse_date('source.effective_date')],
    ['reason_code', 'lower(' ~ clean_text('source.reason_code') ~ ')'],
    ['final_offer_made', parse_boolean('source.final_offer_made')],
    ['final_offer_accepted', parse_boolean('source.final_offer_accepted')],
] -%}

{%- set staged_contracts -%}
(select contract_id from {{ ref('base_shop__contracts') }} where rejection_reason is null)
{%- endset -%}

{%- set checks =
    [['contract_id is null', 'missing_contract_id']]
    + date_checks('requested_at')
    + date_checks('effective_date', kind='date', bounded_above=false)
    + value_checks('final_offer_made', required=false)
    + value_checks('final_offer_accepted', required=false)
    + [['contract_id not in ' ~ staged_contracts, 'unknown_contract']]
-%}

{{ base_model(
    source_table='cancellations',
    raw_columns=['requested_at', 'effective_date', 'final_offer_made', 'final_offer_accepted'],
    parsed_columns=parsed_columns,
    key_columns=['cancellation_id'],
    key_checks=[['cancellation_id is null', 'missing_cancellation_id']],
    checks=checks,
) }}
