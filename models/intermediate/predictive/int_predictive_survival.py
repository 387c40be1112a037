"""sBG-projected retention of the contract-basis cohorts (retention/predictive_marts.py)."""

from retention import predictive_columns


def model(dbt, session):
    if predictive_columns.fits_off(dbt.config.get("meta").get("fit")):  # RETENTION_PREDICTIVE
        return session.sql(predictive_columns.no_rows_sql(predictive_columns.SURVIVAL))
    from retention import predictive_marts

    cohorts = dbt.ref("fct_cohorts").filter("basis = 'contract'").df()
    parameters = dbt.ref("int_predictive_parameters").df()
    return predictive_marts.survival_projections(cohorts, parameters)
