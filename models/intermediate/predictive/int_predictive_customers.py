"""BG/NBD and Gamma-Gamma predictions per customer (retention/predictive_marts.py)."""

from retention import predictive_columns


def model(dbt, session):
    if predictive_columns.fits_off(dbt.config.get("meta").get("fit")):  # RETENTION_PREDICTIVE
        return session.sql(predictive_columns.no_rows_sql(predictive_columns.CUSTOMERS))
    from retention import predictive_marts

    # In customer order, as the fits have always read it (the view has no order).
    summary = dbt.ref("int_predictive_summary").order("customer_id").df()
    parameters = dbt.ref("int_predictive_parameters").df()
    return predictive_marts.customer_predictions(summary, parameters)
