"""sBG-projected retention of the contract-basis cohorts (retention/predictive_marts.py)."""

from retention import predictive_marts


def model(dbt, session):
    cohorts = dbt.ref("fct_cohorts").filter("basis = 'contract'").df()
    parameters = dbt.ref("int_predictive_parameters").df()
    return predictive_marts.survival_projections(cohorts, parameters)
