"""The raw input contract: tables, their columns and DuckDB types.

This is the single Python-side statement of the raw contract; `load` enforces it and
`generate` writes it. The dbt sources (models/staging/shop/_shop__sources.yml) declare the
same tables, columns and keys for dbt, and python_checks/test_project_lists.py checks that
the two agree. Every delivered column is stored as text (VARCHAR), whatever the file
format: the raw schema is the data exactly as delivered, and staging casts with try_cast and
quarantines what does not parse, so nothing is lost or rejected at load time for its content.
The one column a file never delivers is `_load_id` (BIGINT), the batch that `retention load`
appended the row in.
"""

from __future__ import annotations

from dataclasses import dataclass

# The schema of the raw tables, one per table of the contract (`retention load` writes it).
SCHEMA = "raw"
# When the row was loaded: a file may deliver it; the loader stamps it where it is missing.
LOADED_AT = "_loaded_at"
# The load batch (meta.load_batches.load_id) that added the row: set by the loader only.
LOAD_ID = "_load_id"
# The form of an ISO 8601 timestamp that staging reads (macros/parsing.sql, the macro
# text_patterns, key 'timestamp'; python_checks/test_load.py checks that the two are the
# same): a date, optionally a time after a T or a space (hours 00-23, minutes and seconds
# 00-59), optionally an offset (hours 00-14, minutes 00-59). The loader
# refuses a delivered _loaded_at in another form, since staging could not order the row.
TIMESTAMP_FORM = (
    "[0-9]{4}-[0-9]{2}-[0-9]{2}"
    "([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]+)?)?"
    "(Z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)?)?"
)


@dataclass(frozen=True)
class Table:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    # The columns that identify a row: the latest load of a key wins in staging.
    key: tuple[str, ...] = ()
    is_optional_table: bool = False
    # A core table holds the customers and their activity: a full re-delivery (`load
    # --replace`) may not shrink it by more than a threshold unless told to, and `load`
    # warns when one is still empty after a batch (cancellations may well be: none yet).
    is_core: bool = False
    # The columns staging parses into a value (a timestamp, a date, an amount, the score, a
    # flag; macros/parsing.sql); the others are text (ids, names, codes). In a CSV, `NA`,
    # `N/A` and `None` are nulls in these columns only: no value of them is spelt so, while
    # `NA` is a country's code and `none` may be a real segment (load_rows.TYPED_NULL_WORDS).
    typed: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns a delivered file may hold, in contract order."""
        return self.required + self.optional + (LOADED_AT,)

    @property
    def raw_columns(self) -> tuple[str, ...]:
        """The columns of the raw table: the file's columns and the load id."""
        return self.columns + (LOAD_ID,)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "customers",
            ("customer_id", "created_at"),
            ("acquisition_channel", "country", "segment"),
            is_core=True,
            key=("customer_id",),
            typed=("created_at",),
        ),
        Table(
            "orders",
            ("order_id", "customer_id", "ordered_at", "status", "amount", "currency"),
            ("refunded_amount",),
            is_core=True,
            key=("order_id",),
            typed=("ordered_at", "amount", "refunded_amount"),
        ),
        Table(
            "contracts",
            (
                "contract_id",
                "customer_id",
                "product",
                "start_date",
                "billing_period",
                "price",
                "currency",
            ),
            ("signed_at", "end_date", "previous_contract_id"),
            is_core=True,
            key=("contract_id",),
            typed=("start_date", "price", "signed_at", "end_date"),
        ),
        Table(
            "cancellations",
            ("cancellation_id", "contract_id", "requested_at", "effective_date"),
            ("reason_code", "final_offer_made", "final_offer_accepted"),
            key=("cancellation_id",),
            typed=("requested_at", "effective_date", "final_offer_made", "final_offer_accepted"),
        ),
        Table(
            "nps_responses",
            ("response_id", "customer_id", "responded_at", "score"),
            is_optional_table=True,
            key=("response_id",),
            typed=("responded_at", "score"),
        ),
        Table(
            "retention_actions",
            ("action_id", "customer_id", "campaign", "assigned_group", "assigned_at"),
            ("cost",),
            is_optional_table=True,
            key=("action_id",),
            typed=("assigned_at", "cost"),
        ),
        Table(
            "marketing_spend",
            ("spend_month", "acquisition_channel", "amount", "currency"),
            is_optional_table=True,
            key=("spend_month", "acquisition_channel"),
            typed=("spend_month", "amount"),
        ),
    )
}
