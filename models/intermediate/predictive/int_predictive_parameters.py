"""Every fitted parameter of the predictive CLV models (retention/predictive_marts.py).

Incremental (config in _int_predictive__models.yml): a run merges its rows into the table of
the run before (rows of fits that are gone are deleted), and each fit that was `ok` there
starts this run's from its estimates; the estimates are those of a cold fit (Newton's method
to where the gradient vanishes), in a few steps instead of hundreds. --full-refresh fits cold.
"""

from retention import predictive_columns

TYPES = predictive_columns.PARAMETER_TYPES


def model(dbt, session):
    if predictive_columns.fits_off(dbt.config.get("meta").get("fit")):  # RETENTION_PREDICTIVE
        return session.sql(predictive_columns.no_rows_sql(predictive_columns.PARAMETERS, TYPES))
    from retention import predictive_marts

    # In customer order, as the fits have always read it (the view has no order).
    summary = dbt.ref("int_predictive_summary").order("customer_id").df()
    cohorts = dbt.ref("fct_cohorts").filter("basis = 'contract'").df()
    previous = session.sql(f"select * from {dbt.this}").df() if dbt.is_incremental else None
    fitted = predictive_marts.model_parameters(summary, cohorts, previous)
    # Fixed column types: the rows are merged into the existing table.
    return session.from_df(fitted).query("fitted", predictive_columns.typed_sql("fitted", TYPES))
