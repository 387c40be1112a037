"""BG/NBD and Gamma-Gamma predictions per customer (retention/predictive_marts.py)."""

from retention import predictive_columns


def model(dbt, session):
    if dbt.config.get("meta").get("fit") == predictive_columns.OFF:  # RETENTION_PREDICTIVE=off
        return session.sql(predictive_columns.no_rows_sql(predictive_columns.CUSTOMERS))
    from retention import predictive_marts

    purchases = dbt.ref("int_purchases").project(
        "customer_id, order_date as purchase_date, net_revenue"
    )
    # A: the end-state day of the month containing it, min(month end, A), is A.
    (as_of,) = dbt.ref("fct_customer_months").aggregate("max(month_end_date)").fetchall()[0]
    parameters = dbt.ref("int_predictive_parameters").df()
    return predictive_marts.customer_predictions(purchases, as_of, parameters)
