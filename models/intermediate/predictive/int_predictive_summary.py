"""Each customer's x / t_x / T summary, computed once for the fits and the predictions
(retention/predictive.py rfm_summary)."""

from retention import predictive_columns


def model(dbt, session):
    if dbt.config.get("meta").get("fit") == predictive_columns.OFF:  # RETENTION_PREDICTIVE=off
        return session.sql(predictive_columns.no_rows_sql(predictive_columns.SUMMARY))
    from retention import predictive

    purchases = dbt.ref("int_purchases").project(
        "customer_id, order_date as purchase_date, net_revenue"
    )
    ((as_of,),) = dbt.ref("int_reporting_params").project("as_of_date").fetchall()
    # A DuckDB relation: written as the table without a round trip through pandas.
    return predictive.rfm_relation(purchases, as_of)
