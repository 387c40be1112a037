"""Checks across marts: identities that tie one mart's numbers to another's (or a mart's
segment rows to its `all` row), which hold by their definitions in every build, whatever
the vars or the data (docs/decisions.md, "Checks across marts"). `retention validate` runs
them after the suites of the marts and reports them under "across marts".

Each identity compares two aggregates with one row per key, each computed by DuckDB on
validate's read-only connection (the marts are never read into Python whole; the joined
aggregates have one row per period, cohort or segment). A key without a row on a side whose
measures are sums over rows (`Side.missing_is_zero`) counts 0 there; on the other sides a
missing row is a missing value. The two values are compared as the suites compare an
identity's sides (`identities.difference`, within `identities.TOLERANCE`): counts exactly,
money relative to its size, a value on one side only never.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from retention.expectations import BASES as BASES_NAMES
from retention.expectations import SCHEMA
from retention.identities import LIFECYCLES, TOLERANCE, difference


@dataclass(frozen=True)
class Side:
    """One side of an identity: the ``mart`` it reads and a query (``{m}`` stands for the
    schema) giving the key columns and the measures, one row per key."""

    mart: str
    query: str
    missing_is_zero: bool = False
    label: str = ""  # how the summary names this side (default: the mart)

    @property
    def named(self) -> str:
        return self.label or self.mart


@dataclass(frozen=True)
class Identity:
    """``left.<column> = right.<column>`` for every key, for each measure column; ``text``
    says what must agree."""

    text: str
    left: Side
    right: Side
    key: tuple[str, ...]
    measures: tuple[str, ...]

    @property
    def marts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.left.mart, self.right.mart)))

    def name(self, measure: str) -> str:
        return f"{' against '.join(self.marts)}: {self.text.format(measure=measure)}"


@dataclass
class Disagreement:
    """The keys where an identity's two sides differ (at most ``examples`` of them)."""

    keys: int  # keys compared
    differing: int
    examples: list[tuple[dict[str, object], object, object]]  # key, left, right


GRAINS = "(values ('month'), ('quarter'), ('year')) as grains (period_grain)"
BASES = "(values ('order'), ('contract')) as bases (basis)"
# The additive measures of a CLV segment (not marketing_spend: the `all` row holds the spend of
# every channel delivered, also of a channel no customer came through).
CLV_SUMS = (
    "customers", "purchases", "net_revenue", "purchasing_customers",
    "order_active_start_customers", "order_churned_customers", "contract_active_customers",
    "mrr", "contract_active_start_customers", "contract_churned_customers",
    "acquired_customers",
)  # fmt: skip
NPS_COUNTS = ("responses", "promoters", "passives", "detractors")


# fct_periods' counts and sums of a month against fct_customer_months' rows of the month.
MONTH_COUNTS = ("customers_start", "customers_end", *(s for s in LIFECYCLES if s != "inactive"))
MONTH_SUMS = {
    "purchases": "order", "net_revenue": "order", "mrr_start": "contract", "mrr_end": "contract",
    "recognised_contract_revenue": "contract",
}  # fmt: skip


def _customer_months_by_basis() -> str:
    """fct_customer_months per month and basis, in one scan of the view: the customers
    active at the start and end, each lifecycle's count, and the basis' sums (0 for the
    other basis' columns)."""
    columns = []
    for basis in BASES_NAMES:
        columns += [
            f"count(*) filter (where {basis}_is_active_start) as {basis}_customers_start",
            f"count(*) filter (where {basis}_is_active_end) as {basis}_customers_end",
            *(
                f"count(*) filter (where {basis}_lifecycle = '{state}') as {basis}_{state}"
                for state in MONTH_COUNTS[2:]
            ),
        ]
    columns += [f"sum({c}) as {c}" for c in MONTH_SUMS]
    rows = [
        f"select '{basis}' as basis, month_start as period_start, "
        + ", ".join(f"{basis}_{c} as {c}" for c in MONTH_COUNTS)
        + ", "
        + ", ".join(f"{c if owner == basis else 0} as {c}" for c, owner in MONTH_SUMS.items())
        + " from months"
        for basis in BASES_NAMES
    ]
    return (
        f"with months as materialized (select month_start, {', '.join(columns)}"
        " from {m}.fct_customer_months group by month_start) " + " union all ".join(rows)
    )


def _sums(columns: Sequence[str]) -> str:
    return ", ".join(f"sum({c}) as {c}" for c in columns)


def _clv_segments_add_up(segment_type: str, measures: Sequence[str]) -> Identity:
    return Identity(
        text=f"{{measure}} of the {segment_type} segments summed = the all segment's",
        left=Side(
            "mart_clv",
            f"select {_sums(measures)} from {{m}}.mart_clv where segment_type = '{segment_type}'"
            " having count(*) > 0",
            missing_is_zero=True,
            label=f"the {segment_type} segments",
        ),
        right=Side(
            "mart_clv",
            f"select {', '.join(measures)} from {{m}}.mart_clv where segment_type = 'all'",
            label="the all segment",
        ),
        key=(),
        measures=tuple(measures),
    )


# A customer's cohort year: the year of their first active day on either basis.
COHORT_YEAR = "cast(extract(year from least(order_cohort_month, contract_cohort_month)) as varchar)"

IDENTITIES: tuple[Identity, ...] = (
    Identity(
        text="churned_customers summed over churn types and reasons = churned, per period",
        left=Side(
            "mart_churn",
            "select basis, period_grain, period_start, sum(churned_customers) as churned"
            " from {m}.mart_churn group by basis, period_grain, period_start",
            missing_is_zero=True,
        ),
        right=Side(
            "fct_periods", "select basis, period_grain, period_start, churned from {m}.fct_periods"
        ),
        key=("basis", "period_grain", "period_start"),
        measures=("churned",),
    ),
    Identity(
        text="{measure} summed over products_at_start = the contract basis' {measure}, per period",
        left=Side(
            "mart_lock_in",
            "select period_grain, period_start, sum(customers_start) as customers_start,"
            " sum(churned) as churned from {m}.mart_lock_in group by period_grain, period_start",
        ),
        right=Side(
            "fct_periods",
            "select period_grain, period_start, customers_start, churned from {m}.fct_periods"
            " where basis = 'contract'",
        ),
        key=("period_grain", "period_start"),
        measures=("customers_start", "churned"),
    ),
    Identity(
        text="cohort_size ({measure} over the cohort's months) = the customers whose "
        "order_cohort_month (order) or contract_cohort_month (contract) it is",
        left=Side(
            "fct_cohorts",
            "select basis, cohort_month, min(cohort_size) as lowest,"
            " max(cohort_size) as highest from {m}.fct_cohorts"
            " group by basis, cohort_month",
        ),
        right=Side(
            "dim_customers",
            "select basis, cohort_month, count(*) as lowest,"
            " count(*) as highest from (select 'order' as basis,"
            " order_cohort_month as cohort_month from {m}.dim_customers union all"
            " select 'contract', contract_cohort_month from {m}.dim_customers)"
            " where cohort_month is not null group by basis, cohort_month",
        ),
        key=("basis", "cohort_month"),
        measures=("lowest", "highest"),
    ),
    Identity(
        text="{measure} summed over the cohorts, per month = the month's (active_customers: "
        "purchasing_customers on the order basis, customers_end on the contract basis; "
        "revenue: net_revenue, recognised_contract_revenue)",
        left=Side(
            "fct_cohorts",
            "select basis, activity_month as period_start, sum(active_customers) as"
            " active_customers, sum(revenue) as revenue from {m}.fct_cohorts"
            " group by basis, activity_month",
        ),
        right=Side(
            "fct_periods",
            "select basis, period_start, case basis when 'order' then purchasing_customers"
            " else customers_end end as active_customers, case basis when 'order' then"
            " cast(net_revenue as double) else recognised_contract_revenue end as revenue"
            " from {m}.fct_periods where period_grain = 'month'",
        ),
        key=("basis", "period_start"),
        measures=("active_customers", "revenue"),
    ),
    Identity(
        text="{measure} per first_purchase_month = the customers whose first_purchase_date "
        "is in it (repeat: is_repeat_customer)",
        left=Side(
            "mart_repeat_purchase",
            "select first_purchase_month, customers, repeat_customers"
            " from {m}.mart_repeat_purchase",
        ),
        right=Side(
            "dim_customers",
            "select cast(date_trunc('month', first_purchase_date) as date) as first_purchase_month,"
            " count(*) as customers, count(*) filter (where is_repeat_customer) as"
            " repeat_customers from {m}.dim_customers where first_purchase_date is not null"
            " group by date_trunc('month', first_purchase_date)",
        ),
        key=("first_purchase_month",),
        measures=("customers", "repeat_customers"),
    ),
    Identity(
        text="{measure} per segment = dim_customers' (count, contract_status active, "
        "current_mrr) of the segment's customers",
        left=Side(
            "mart_clv",
            "select segment_type, segment_value, customers, contract_active_customers, mrr"
            " from {m}.mart_clv",
        ),
        right=Side(
            "dim_customers",
            "select segment_type, segment_value, count(*) as customers, count(*) filter"
            " (where contract_status = 'active') as contract_active_customers,"
            " sum(current_mrr) as mrr from (select 'all' as segment_type, 'all' as"
            " segment_value, * from {m}.dim_customers union all select 'acquisition_channel',"
            " acquisition_channel, * from {m}.dim_customers union all select 'cohort_year',"
            f" {COHORT_YEAR}, * from {{m}}.dim_customers"
            " where coalesce(order_cohort_month, contract_cohort_month) is not null)"
            " group by segment_type, segment_value",
        ),
        key=("segment_type", "segment_value"),
        measures=("customers", "contract_active_customers", "mrr"),
    ),
    _clv_segments_add_up("acquisition_channel", CLV_SUMS),
    # Customers without any activity have no cohort year.
    _clv_segments_add_up("cohort_year", CLV_SUMS[1:]),
    Identity(
        text="{measure} of the acquisition_channel segments summed = the all segment's, per period",
        left=Side(
            "mart_nps",
            f"select period_grain, period_start, {_sums(NPS_COUNTS)} from {{m}}.mart_nps"
            " where segment_type = 'acquisition_channel' group by period_grain, period_start",
            label="the acquisition_channel segments",
        ),
        right=Side(
            "mart_nps",
            f"select period_grain, period_start, {', '.join(NPS_COUNTS)} from {{m}}.mart_nps"
            " where segment_type = 'all'",
            label="the all segment",
        ),
        key=("period_grain", "period_start"),
        measures=NPS_COUNTS,
    ),
    Identity(
        text="{measure} summed per basis = dim_customers' reactivation counts (+ customers "
        "churned on A, for churn_events)",
        left=Side(
            "mart_winback",
            "select basis, sum(churn_events) as churn_events, sum(won_back) as won_back"
            " from {m}.mart_winback group by basis",
            missing_is_zero=True,
        ),
        right=Side(
            "dim_customers",
            "select basis, sum(case basis when 'order' then order_reactivation_count else"
            " contract_reactivation_count end) + count(*) filter (where case basis when 'order'"
            " then order_status else contract_status end = 'churned') as churn_events,"
            " sum(case basis when 'order' then order_reactivation_count else"
            f" contract_reactivation_count end) as won_back from {{m}}.dim_customers, {BASES}"
            " group by basis",
        ),
        key=("basis",),
        measures=("churn_events", "won_back"),
    ),
    Identity(
        text="{measure} of the period containing A = the customers active on A on the basis "
        "(order_status, contract_status)",
        left=Side(
            "fct_periods",
            "select basis, period_grain, customers_end from {m}.fct_periods"
            " qualify period_start = max(period_start) over (partition by basis, period_grain)",
            missing_is_zero=True,
        ),
        right=Side(
            "dim_customers",
            "select basis, period_grain, count(*) filter (where case basis when 'order' then"
            " order_status else contract_status end = 'active') as customers_end"
            f" from {{m}}.dim_customers, {BASES}, {GRAINS} group by basis, period_grain",
        ),
        key=("basis", "period_grain"),
        measures=("customers_end",),
    ),
    Identity(
        text="{measure} summed over the periods of each grain = dim_customers' total "
        "(purchases, lifetime_net_revenue, lifetime_contract_revenue)",
        left=Side(
            "fct_periods",
            # 0 for a basis without periods (an order-only or contract-only shop).
            "select period_grain, coalesce(sum(purchases), 0) as purchases,"
            " coalesce(sum(net_revenue), 0) as net_revenue,"
            " coalesce(sum(recognised_contract_revenue), 0) as recognised_contract_revenue"
            " from {m}.fct_periods group by period_grain",
            missing_is_zero=True,
        ),
        right=Side(
            "dim_customers",
            "select period_grain, sum(purchases) as purchases, sum(lifetime_net_revenue) as"
            " net_revenue, sum(lifetime_contract_revenue) as recognised_contract_revenue"
            f" from {{m}}.dim_customers, {GRAINS} group by period_grain",
        ),
        key=("period_grain",),
        measures=("purchases", "net_revenue", "recognised_contract_revenue"),
    ),
    Identity(
        text="{measure} of each month = fct_customer_months' rows of the month (a count of "
        "the basis' flags or lifecycles, or a sum)",
        left=Side(
            "fct_periods",
            # The other basis' columns (null) are 0, as on a basis' missing row.
            f"select basis, period_start, {', '.join(MONTH_COUNTS)}, "
            + ", ".join(f"coalesce({c}, 0) as {c}" for c in MONTH_SUMS)
            + " from {m}.fct_periods where period_grain = 'month'",
            missing_is_zero=True,
        ),
        right=Side("fct_customer_months", _customer_months_by_basis()),
        key=("basis", "period_start"),
        measures=(*MONTH_COUNTS, *MONTH_SUMS),
    ),
)


def applicable(marts: Sequence[str]) -> list[Identity]:
    """The identities whose marts are all among ``marts`` (those being validated)."""
    return [i for i in IDENTITIES if set(i.marts) <= set(marts)]


def compare(
    con: duckdb.DuckDBPyConnection, identity: Identity, examples: int
) -> dict[str, Disagreement]:
    """Each measure of the identity: its disagreement (the keys where the two sides differ
    beyond TOLERANCE; none differing when it holds). Raises duckdb.Error when a side cannot
    be computed (a column missing)."""
    left, right = (
        f"(select *, true as _present from ({side.query.format(m=SCHEMA)}))"
        for side in (identity.left, identity.right)
    )
    on = " and ".join(f"l.{k} is not distinct from r.{k}" for k in identity.key) or "true"
    columns = [
        *(f"coalesce(l.{k}, r.{k}) as {k}" for k in identity.key),
        "l._present is not null as left_present",
        "r._present is not null as right_present",
        *(f"cast(l.{c} as double) as left_{c}" for c in identity.measures),
        *(f"cast(r.{c} as double) as right_{c}" for c in identity.measures),
    ]
    order = f" order by {', '.join(identity.key)}" if identity.key else ""
    joined = con.execute(
        f"select {', '.join(columns)} from {left} as l full outer join {right} as r on {on}{order}"
    ).df()
    found = {}
    for measure in identity.measures:
        values = {}
        for side, name in ((identity.left, "left"), (identity.right, "right")):
            value = joined[f"{name}_{measure}"].astype("float64")
            if side.missing_is_zero:
                value = value.where(joined[f"{name}_present"], 0.0)
            values[name] = value
        residual = difference(values["left"], values["right"])
        off = joined[residual.abs() > TOLERANCE]
        found[measure] = Disagreement(
            keys=len(joined),
            differing=len(off),
            examples=[
                (
                    {k: row[k] for k in identity.key},
                    values["left"][index],
                    values["right"][index],
                )
                for index, row in off.head(examples).iterrows()
            ],
        )
    return found
