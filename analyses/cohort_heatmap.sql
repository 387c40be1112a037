-- Cohort retention heatmap: one row per cohort month, one column per month since the
-- cohort month (0 to 12), on the basis chosen below (`order` or `contract`). Semantic
-- layer: saved query cohort_retention_heatmap (long form, both bases).
{% set basis = 'order' %}
select
    cohort_month,
    max(cohort_size) as cohort_size,
    {% for k in range(13) -%}
    max(case when months_since_cohort = {{ k }} then retention_rate end) as month_{{ k }}
    {%- if not loop.last %},{% endif %}
    {% endfor %}
from {{ ref('fct_cohorts') }}
where basis = '{{ basis }}'
group by cohort_month
order by cohort_month
