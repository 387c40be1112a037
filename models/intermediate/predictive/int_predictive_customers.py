"""BG/NBD and Gamma-Gamma predictions per customer (retention/predictive_marts.py)."""

from retention import predictive_marts


def model(dbt, session):
    purchases = dbt.ref("int_purchases").project("customer_id, order_date, net_revenue").df()
    # A: the end-state day of the month containing it, min(month end, A), is A.
    (as_of,) = dbt.ref("fct_customer_months").aggregate("max(month_end_date)").fetchall()[0]
    parameters = dbt.ref("int_predictive_parameters").df()
    return predictive_marts.customer_predictions(purchases, as_of, parameters)
