"""Every fitted parameter of the predictive CLV models (retention/predictive_marts.py)."""

from retention import predictive_columns


def model(dbt, session):
    if dbt.config.get("meta").get("fit") == predictive_columns.OFF:  # RETENTION_PREDICTIVE=off
        return session.sql(predictive_columns.no_rows_sql(predictive_columns.PARAMETERS))
    from retention import predictive_marts

    purchases = dbt.ref("int_purchases").project(
        "customer_id, order_date as purchase_date, net_revenue"
    )
    # A: the end-state day of the month containing it, min(month end, A), is A.
    (as_of,) = dbt.ref("fct_customer_months").aggregate("max(month_end_date)").fetchall()[0]
    cohorts = dbt.ref("fct_cohorts").filter("basis = 'contract'").df()
    return predictive_marts.model_parameters(purchases, as_of, cohorts)
