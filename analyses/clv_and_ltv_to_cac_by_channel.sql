-- Order-basis and contract-basis CLV, CAC and LTV:CAC per acquisition channel over the
-- trailing year ending on the reporting date. LTV:CAC of 3 or more is healthy; it is null
-- where the channel has no marketing spend. Semantic layer: saved query clv_by_channel.
select
    segment_value as acquisition_channel,
    customers,
    average_order_value,
    purchase_frequency,
    annual_churn_rate,
    expected_lifespan_years,
    clv,
    contract_clv,
    marketing_spend,
    acquired_customers,
    cac,
    ltv_to_cac
from {{ ref('mart_clv') }}
where segment_type = 'acquisition_channel'
order by clv desc nulls last
