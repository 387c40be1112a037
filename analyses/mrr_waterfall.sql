-- MRR waterfall per month (contract basis): start, the five movements, end, and gross and
-- net revenue retention. mrr_end = mrr_start + new + reactivation + expansion − contraction
-- − churned holds on every row. Semantic layer: saved query mrr_waterfall.
select
    period_start,
    mrr_start,
    new_mrr,
    reactivation_mrr,
    expansion_mrr,
    mrr_end,
    gross_revenue_retention,
    net_revenue_retention,
    is_complete_period,
    -contraction_mrr as contraction_mrr,
    -churned_mrr as churned_mrr
from {{ ref('fct_periods') }}
where basis = 'contract' and period_grain = 'month'
order by period_start
