"""The marts as the Python tools see them, and opening a built warehouse to read them.

The names, documented columns (docs/marts.md) and keys of the marts live here, without
Great Expectations, so that a command can check a database file quickly, before it imports
anything slow: `retention.expectations` builds its suites from these lists, `retention
validate` and `retention summary` check that the marts exist with `open_built`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from retention import console
from retention.working_copy import EXIT_BUSY, is_busy

SCHEMA = "marts"

# The dbt vars validate checks formulas with (mart_clv, mart_retention_programmes), as the build
# that made the marts kept them: one row, a column per var (the marts read them there).
BUILD_VARS_RELATION = "intermediate.int_reporting_params"
BUILD_VARS = ("gross_margin", "clv_max_lifespan_years")

# The documented columns of each mart (docs/marts.md), and each mart's key (its grain).
COLUMNS: dict[str, list[str]] = {
    "dim_customers": [
        "customer_id", "is_inferred", "created_at", "created_date", "acquisition_channel",
        "country", "segment", "first_purchase_date", "last_purchase_date", "purchases",
        "lifetime_net_revenue", "average_order_value", "is_repeat_customer",
        "order_cohort_month", "contract_cohort_month", "order_status", "contract_status",
        "order_last_churn_date", "contract_last_churn_date", "contract_last_churn_type",
        "order_reactivation_count", "contract_reactivation_count", "current_mrr",
        "active_products", "lifetime_contract_revenue",
    ],
    "fct_customer_months": [
        "customer_id", "month_start", "month_end_date", "is_complete_month", "purchases",
        "net_revenue", "order_is_active_start", "order_is_active_end", "order_lifecycle",
        "contract_is_active_start", "contract_is_active_end", "contract_lifecycle",
        "mrr_start", "mrr_end", "mrr_movement", "new_mrr", "reactivation_mrr",
        "expansion_mrr", "contraction_mrr", "churned_mrr", "recognised_contract_revenue",
    ],
    "fct_periods": [
        "basis", "period_grain", "period_start", "period_end", "is_complete_period",
        "customers_start", "customers_end", "retained", "churned", "new", "reactivated",
        "transient", "churn_rate", "retention_rate", "purchases", "purchasing_customers",
        "returning_customers", "net_revenue", "mrr_start", "mrr_end", "new_mrr",
        "reactivation_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr",
        "gross_retained_mrr", "net_retained_mrr", "gross_revenue_retention",
        "net_revenue_retention", "recognised_contract_revenue",
    ],
    "fct_cohorts": [
        "basis", "cohort_month", "months_since_cohort", "activity_month", "cohort_size",
        "active_customers", "retention_rate", "revenue", "cumulative_revenue",
        "cumulative_revenue_per_customer", "is_complete",
    ],
    "mart_repeat_purchase": [
        "first_purchase_month", "customers", "repeat_customers", "repeat_purchase_rate",
        "median_days_to_second_purchase",
    ],
    "mart_clv": [
        "segment_type", "segment_value", "customers", "purchases", "net_revenue",
        "purchasing_customers", "average_order_value", "purchase_frequency",
        "order_active_start_customers", "order_churned_customers", "annual_churn_rate",
        "expected_lifespan_years", "clv", "contract_active_customers", "mrr", "arpa_monthly",
        "contract_active_start_customers", "contract_churned_customers",
        "annual_contract_churn_rate", "monthly_churn_rate", "contract_clv",
        "marketing_spend", "acquired_customers", "cac", "ltv_to_cac",
    ],
    "mart_churn": [
        "basis", "period_grain", "period_start", "churn_type", "reason_code", "is_retainable",
        "churned_customers", "churned_mrr", "period_churned_customers", "share_of_churn",
    ],
    "mart_cancellation_saves": [
        "period_grain", "period_start", "churn_type", "reason_code", "is_retainable",
        "cancellation_requests", "final_offers_made", "saves", "offer_rate", "save_rate",
        "saved_mrr", "eligible_saves_90d", "saves_active_90d", "save_durability_90d",
    ],
    "mart_winback": [
        "basis", "churn_month", "churn_type", "churn_events", "won_back", "winback_rate",
        "median_days_to_return", "won_back_mrr",
    ],
    "mart_nps": [
        "period_grain", "period_start", "segment_type", "segment_value", "responses",
        "promoters", "passives", "detractors", "nps",
    ],
    "mart_nps_churn": [
        "basis", "nps_class", "responses_active", "churned_within_180d", "churn_rate_180d",
    ],
    "mart_retention_programmes": [
        "campaign", "basis", "treatment_customers", "treatment_retained",
        "treatment_retention_rate", "treatment_revenue", "treatment_revenue_per_customer",
        "control_customers", "control_retained", "control_retention_rate", "control_revenue",
        "control_revenue_per_customer", "uplift", "uplift_ci_low", "uplift_ci_high",
        "is_significant", "incremental_customers_retained", "incremental_revenue",
        "programme_cost", "cost_per_incremental_customer", "return_on_cost",
    ],
    "mart_contract_renewals": [
        "product", "billing_period", "term_end_month", "terms_ending", "renewed",
        "renewal_rate", "renewals_signed", "median_renewal_lead_days",
    ],
    "mart_lock_in": [
        "period_grain", "period_start", "products_at_start", "customers_start", "churned",
        "churn_rate",
    ],
    "mart_revenue_concentration": [
        "revenue_decile", "customers", "revenue", "cumulative_revenue", "total_revenue",
        "revenue_share", "cumulative_revenue_share",
    ],
}  # fmt: skip

KEYS: dict[str, list[str]] = {
    "dim_customers": ["customer_id"],
    "fct_customer_months": ["customer_id", "month_start"],
    "fct_periods": ["basis", "period_grain", "period_start"],
    "fct_cohorts": ["basis", "cohort_month", "months_since_cohort"],
    "mart_repeat_purchase": ["first_purchase_month"],
    "mart_clv": ["segment_type", "segment_value"],
    "mart_churn": ["basis", "period_grain", "period_start", "churn_type", "reason_code"],
    "mart_cancellation_saves": ["period_grain", "period_start", "churn_type", "reason_code"],
    "mart_winback": ["basis", "churn_month", "churn_type"],
    "mart_nps": ["period_grain", "period_start", "segment_type", "segment_value"],
    "mart_nps_churn": ["basis", "nps_class"],
    "mart_retention_programmes": ["campaign", "basis"],
    "mart_contract_renewals": ["product", "billing_period", "term_end_month"],
    "mart_lock_in": ["period_grain", "period_start", "products_at_start"],
    "mart_revenue_concentration": ["revenue_decile"],
}

# Marts that are empty on valid data without the input they summarise: NPS responses,
# retention actions, contracts with an end date, cancellation requests, contracts at all (an
# order-only shop, such as the CDNOW purchase logs, has no saves and no stacked products),
# orders at all (a subscription-only shop has no repeat purchases).
MAY_BE_EMPTY = frozenset(
    {
        "mart_repeat_purchase",
        "mart_nps",
        "mart_retention_programmes",
        "mart_contract_renewals",
        "mart_cancellation_saves",
        "mart_lock_in",
    }
)

MARTS = tuple(COLUMNS)

# The predictive CLV marts (tag `predictive`): checked by their dbt tests, not by `validate`'s
# suites or the volume check, because a build with RETENTION_PREDICTIVE=off leaves them empty.
PREDICTIVE_COLUMNS: dict[str, list[str]] = {
    "mart_clv_model_parameters": [
        "model", "segment", "parameter", "value", "observations", "log_likelihood",
        "fit_status", "fit_message",
    ],
    "mart_clv_predictions": [
        "customer_id", "frequency", "recency_weeks", "age_weeks", "average_repeat_value",
        "p_alive", "expected_purchases_365d", "expected_average_order_value",
        "predicted_clv_365d", "fit_status",
    ],
    "mart_contract_survival": [
        "cohort_month", "months_since_cohort", "cohort_size", "active_customers",
        "observed_retention", "projected_retention", "is_projected", "alpha", "beta",
        "fit_status",
    ],
}  # fmt: skip
PREDICTIVE_KEYS: dict[str, list[str]] = {
    "mart_clv_model_parameters": ["model", "segment", "parameter"],
    "mart_clv_predictions": ["customer_id"],
    "mart_contract_survival": ["cohort_month", "months_since_cohort"],
}
PREDICTIVE_MARTS = tuple(PREDICTIVE_COLUMNS)


BUSY_MEANING = (
    "another process has the database open for writing (a `retention load`, a dbt run or a BI "
    "client writing to it): nothing was read; run the same command again when it is done"
)


class WarehouseError(Exception):
    """The database cannot be read as a built warehouse. The message says why and what to do.
    The command exits with `exit_code`."""

    exit_code = 2


class WarehouseBusy(WarehouseError):
    """Another process holds the database's write lock: reading it may work in a moment."""

    exit_code = EXIT_BUSY


def open_failed(db_path: Path | str, exc: duckdb.Error) -> WarehouseError:
    """The error for a database DuckDB would not open: busy when another process holds it."""
    return (WarehouseBusy if is_busy(str(exc)) else WarehouseError)(open_problem(db_path, exc))


def build_hint(db_path: Path, loaded: bool = False) -> str:
    """What to run to build the warehouse in `db_path` (it holds raw data when `loaded`)."""
    if loaded:
        return (
            f"build the marts with `dbt build` (RETENTION_DB_PATH={Path(db_path).resolve()}), "
            f"or load and build in one go with `retention build --data DIR --db {db_path}`"
        )
    return f"build one with `retention build --data DIR --db {db_path}`"


def open_read_only(db_path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to an existing DuckDB file; WarehouseError when there is no
    such file or it does not open (not a DuckDB file, another DuckDB version, locked)."""
    db_path = Path(db_path)
    if not db_path.is_file():
        what = "is a folder, not a DuckDB file" if db_path.is_dir() else "does not exist"
        raise WarehouseError(
            f"database {db_path} {what}: check --db PATH (or RETENTION_DB_PATH), or "
            + build_hint(db_path)
        )
    try:
        return duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error as exc:
        raise open_failed(db_path, exc) from exc


def open_problem(db_path: Path | str, exc: duckdb.Error) -> str:
    """Why DuckDB could not open the file at db_path read-only, in words an operator can act
    on. A file that is not a DuckDB database at all (its header lacks DuckDB's magic bytes
    after the 8-byte checksum) is named as such: for a delivery's CSV, Parquet or JSON file
    given as --db, DuckDB's own words are "Cannot launch in-memory database in read-only
    mode!"."""
    try:
        with Path(db_path).open("rb") as handle:
            header = handle.read(12)
    except OSError:
        header = b"DUCK" * 3  # unreadable: DuckDB's words say why
    if header[8:12] != b"DUCK":
        return (
            f"cannot open database {db_path}: it is not a DuckDB database (a data file?); "
            "check --db PATH (or RETENTION_DB_PATH)"
        )
    return f"cannot open database {db_path}: {console.first_line(exc)}"


def tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Every table and view in the database as ``schema.name``."""
    return {
        f"{schema}.{name}"
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    }


# meta.build_state.failed_step beside the state `failed`: `tests` when the models were all
# built and then their tests failed (`make data-diff` builds the models with the tests left
# out and runs `dbt test` after them: retention.data_diff records it). Null, or no such
# column (dbt's on-run-end hook, and warehouses written before 2026-12-07), when that is not
# known: in one `dbt build` a failed unit test or test skips the models after it, so a
# `failed` build may lack marts.
TESTS_FAILED = "tests"


@dataclass(frozen=True)
class BuildState:
    """What meta.build_state records: where the database is in load → build → publish
    (`state`: `loaded`, `building`, `built`, `failed`; None when nothing is recorded) and,
    for `failed`, what failed when that is known (`failed_step`)."""

    state: str | None = None
    failed_step: str | None = None
    changed_at: object = None  # when the row was written

    @property
    def identity(self) -> str | None:
        """Which build the database holds: the state and the time the row was written
        (`built at 2026-12-07 20:58:01.123456+00:00`); None without that time."""
        return None if self.changed_at is None else f"{self.state} at {self.changed_at}"

    @property
    def tests_failed(self) -> bool:
        """The last dbt build built every model, and its tests failed."""
        return self.state == "failed" and self.failed_step == TESTS_FAILED


def recorded_build_state(con: duckdb.DuckDBPyConnection) -> BuildState:
    """meta.build_state's row (a column it lacks is None)."""
    if "meta.build_state" not in tables(con):
        return BuildState()
    cursor = con.execute("select * from meta.build_state")
    row = cursor.fetchone()
    if row is None:
        return BuildState()
    values = dict(zip([column[0] for column in cursor.description], row, strict=True))
    return BuildState(values.get("state"), values.get("failed_step"), values.get("changed_at"))


def build_state(con: duckdb.DuckDBPyConnection) -> str | None:
    """Where the database is in load → build → publish (meta.build_state: `loaded`,
    `building`, `built`, `failed`), or None when nothing is recorded."""
    return recorded_build_state(con).state


def build_identity(con: duckdb.DuckDBPyConnection) -> str | None:
    """Which build the database holds: meta.build_state's state and the time it was written
    (`built at 2026-12-07 20:58:01.123456+00:00`). Every `retention load` and every dbt run
    that writes models (its start and end hooks, macros/record_build_state.sql) writes the
    row anew, so the identity changes whenever the data may have; None when nothing is
    recorded."""
    return recorded_build_state(con).identity


def check_built(con: duckdb.DuckDBPyConnection, db_path: Path, relations: Iterable[str]) -> None:
    """WarehouseError naming the missing ones when not every relation (``schema.name``) is
    in the database, with what to run; it says so when the database holds raw data only."""
    present = tables(con)
    missing = [r for r in relations if r not in present]
    if not missing:
        return
    names = ", ".join(missing)
    loaded = any(r.startswith("raw.") for r in present)
    if loaded and not any(r.startswith(f"{SCHEMA}.") for r in present):
        state = "holds raw data but no marts: it was loaded, not built"
    else:
        state = f"has no {names}"
    raise WarehouseError(f"database {db_path} {state}; {build_hint(db_path, loaded)}")


def open_built(db_path: Path, relations: Iterable[str]) -> duckdb.DuckDBPyConnection:
    """`open_read_only`, then `check_built`: a connection to a warehouse that has every one
    of `relations`, or WarehouseError (the connection closed)."""
    con = open_read_only(db_path)
    try:
        check_built(con, db_path, relations)
    except WarehouseError:
        con.close()
        raise
    return con


def build_state_warning(db_path: Path) -> str | None:
    """A warning when meta.build_state says the marts are not those of a complete build of
    what the database holds: rows loaded since (`loaded`), a dbt build that failed or was
    killed (`failed`, `building`), or one whose models were built and tests failed (`failed`,
    BuildState.tests_failed); None when `built` or not recorded. `retention summary`
    and `retention validate` print it after their figures."""
    with open_built(db_path, ()) as con:
        recorded = recorded_build_state(con)
    state = recorded.state
    if state in (None, "built"):
        return None
    if state == "loaded":
        why = "rows were loaded after its last build, and the marts leave them out"
    elif recorded.tests_failed:
        why = "its models were all built but its tests failed, so the marts may not be right"
    else:
        why = "its last dbt build did not complete, so the marts may mix two builds"
    return (
        f"warning: {db_path} is not as built (meta.build_state: {state}): {why}; build it "
        f"(`retention build --db {db_path}`, or `dbt build` with "
        f"RETENTION_DB_PATH={Path(db_path).resolve()})"
    )
