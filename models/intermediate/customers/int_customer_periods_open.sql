{#- The open part of the customer-period fact (macros/customer_periods.sql): the month,
    quarter and year containing A, for every customer. Rebuilt every run: these rows change
    whenever A moves. -#}
{{ customer_period_rows('open') }}
