{#- On the order basis every customer purchases in their cohort month (it is the month of
    their first purchase), so month-0 retention is 1. -#}
select *
from {{ ref('fct_cohorts') }}
where
    basis = 'order'
    and months_since_cohort = 0
    and retention_rate <> 1
