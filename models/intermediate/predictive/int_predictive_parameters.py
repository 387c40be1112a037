"""Every fitted parameter of the predictive CLV models (retention/predictive_marts.py)."""

from retention import predictive_columns


def model(dbt, session):
    if dbt.config.get("meta").get("fit") == predictive_columns.OFF:  # RETENTION_PREDICTIVE=off
        return session.sql(predictive_columns.no_rows_sql(predictive_columns.PARAMETERS))
    from retention import predictive_marts

    summary = dbt.ref("int_predictive_summary").df()
    cohorts = dbt.ref("fct_cohorts").filter("basis = 'contract'").df()
    return predictive_marts.model_parameters(summary, cohorts)
