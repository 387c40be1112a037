"""The columns of the predictive models (models/intermediate/predictive/), without imports.

With RETENTION_PREDICTIVE=off a predictive model returns no rows with these columns (all
text, which the marts cast to their contract types) without importing pandas or scipy.
"""

from __future__ import annotations

PARAMETERS = [
    "model", "segment", "parameter", "value", "observations", "log_likelihood",
    "fit_status", "fit_message",
]  # fmt: skip
# int_predictive_parameters is incremental (its rows are merged into the table of the run
# before, whose fits start the next ones): its columns keep these types whatever a run fits.
PARAMETER_TYPES = {
    "model": "varchar", "segment": "varchar", "parameter": "varchar", "value": "double",
    "observations": "bigint", "log_likelihood": "double", "fit_status": "varchar",
    "fit_message": "varchar",
}  # fmt: skip
SUMMARY = ["customer_id", "x", "t_x", "T", "monetary_value"]
CUSTOMERS = [
    "customer_id", "frequency", "recency_weeks", "age_weeks", "average_repeat_value",
    "p_alive", "expected_purchases_365d", "expected_average_order_value", "fit_status",
]  # fmt: skip
SURVIVAL = [
    "cohort_month", "months_since_cohort", "cohort_size", "projected_retention", "alpha",
    "beta", "fit_status",
]  # fmt: skip

# Each column's type (the marts cast to their contract types; these keep a column typed when
# every value is missing, as when every fit is refused on tiny data: pandas would otherwise
# hand DuckDB a column of type NULL, which no cast or unit-test fixture accepts).
TYPES = {
    **dict.fromkeys(
        ["model", "segment", "parameter", "fit_status", "fit_message", "customer_id"], "text"
    ),
    **dict.fromkeys(
        ["value", "log_likelihood", "t_x", "T", "monetary_value", "recency_weeks", "age_weeks",
         "average_repeat_value", "p_alive", "expected_purchases_365d",
         "expected_average_order_value", "projected_retention", "alpha", "beta"],
        "double",
    ),
    **dict.fromkeys(
        ["observations", "x", "frequency", "months_since_cohort", "cohort_size"], "bigint"
    ),
    "cohort_month": "date",
}  # fmt: skip

# The environment variable and its two values: the fits on (also when it is unset) or off.
SWITCH = "RETENTION_PREDICTIVE"
ON, OFF = "on", "off"


def switch_problem(value: str | None) -> str | None:
    """Why RETENTION_PREDICTIVE cannot be `value` (None when it is unset, on or off). Any
    other value (`false`, `0`, `OFF`, set but empty) used to mean on: the fits ran while the
    operator had meant to switch them off."""
    if value is None or value in (ON, OFF):
        return None
    return (
        f"{SWITCH}={value!r} is neither {ON} nor {OFF}: set it to {OFF} to build the "
        f"predictive marts empty, or to {ON} (or unset it) to fit them"
    )


def fits_off(value: str | None) -> bool:
    """Whether a predictive model's `meta.fit` (RETENTION_PREDICTIVE, default on) turns its
    fit off; raises ValueError with :func:`switch_problem`'s reason for any other value."""
    if problem := switch_problem(value):
        raise ValueError(problem)
    return value == OFF


def no_rows_sql(columns: list[str], types: dict[str, str] | None = None) -> str:
    """A query with the columns and no rows (what an off model returns): of the given types,
    text by default."""
    typed = ", ".join(f"cast(null as {(types or {}).get(c, 'varchar')}) as {c}" for c in columns)
    return f"select {typed} where false"


def typed_sql(relation: str, types: dict[str, str]) -> str:
    """The columns of ``relation`` cast to ``types`` (in their order)."""
    return (
        "select "
        + ", ".join(f'cast("{c}" as {t}) as "{c}"' for c, t in types.items())
        + (f" from {relation}")
    )
