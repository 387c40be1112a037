"""The raw input contract (SPEC section 5): tables, their columns and DuckDB types.

This is the single Python-side statement of the raw contract; `load` enforces it and
`generate` writes it. The dbt sources (models/staging/_sources.yml) describe the same tables.
Every raw column is stored as text (VARCHAR), whatever the file format: the raw schema is the
data exactly as delivered, and staging casts with try_cast and quarantines what does not parse,
so nothing is lost or rejected at load time for its content.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    is_optional_table: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional + ("_loaded_at",)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "customers",
            ("customer_id", "created_at"),
            ("acquisition_channel", "country", "segment"),
        ),
        Table(
            "orders",
            ("order_id", "customer_id", "ordered_at", "status", "amount", "currency"),
            ("refunded_amount",),
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
        ),
        Table(
            "cancellations",
            ("cancellation_id", "contract_id", "requested_at", "effective_date"),
            ("reason_code", "final_offer_made", "final_offer_accepted"),
        ),
        Table(
            "nps_responses",
            ("response_id", "customer_id", "responded_at", "score"),
            is_optional_table=True,
        ),
        Table(
            "retention_actions",
            ("action_id", "customer_id", "campaign", "assigned_group", "assigned_at"),
            is_optional_table=True,
        ),
        Table(
            "marketing_spend",
            ("spend_month", "acquisition_channel", "amount", "currency"),
            is_optional_table=True,
        ),
    )
}
