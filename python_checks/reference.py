"""An independent, deliberately naive reference implementation of the metric definitions.

It shares no code with the dbt models or the `retention` package: it reads the raw CSV files
with the csv module and walks every customer day by day, from their first day to the
reporting date A, asking of each day "is this customer active?" straight from the
definitions (docs/glossary.md, docs/decisions.md). It is meant to be obviously correct, not
fast: a few customers over a few years take well under a second.

Money is kept exact (fractions.Fraction) until the output; only the monthly contract churn
rate, which needs a twelfth root, is a float.

Scope: valid raw data. Rows the warehouse would quarantine for their content are not
modelled, except rows in another currency than `reporting_currency` (dropped, as staging
quarantines them) and cancellations of such contracts (unknown contract). Anything else the
reference does not understand raises ValueError rather than being guessed at.

Customers: those created on or before A, and inferred ones (referenced by an order of any
status or a contract that exists on A, without a customer row created on or before A: no
such row, or one created after A; no attributes, channel `unknown`), as docs/decisions.md
has them.

Output: `compute(raw, params)` returns, per mart (`dim_customers`, `fct_customer_months`,
`fct_periods`, `fct_cohorts`, `mart_churn`, `mart_repeat_purchase`, `mart_clv`, and the
retention operations marts: `mart_cancellation_saves`, `mart_winback`,
`mart_nps`, `mart_nps_churn`, `mart_retention_programmes`, `mart_contract_renewals`,
`mart_lock_in`, `mart_revenue_concentration`), a list of dicts with every column of
docs/marts.md; none is left out (test_reference.py checks it, and names there, with the
reason, any column or mart it does not compare). `dim_customers.created_at` is the
registration instant in UTC without an offset, as the timestamp column holds it. The three
predictive marts are not computed: they are model fits, checked against the published
estimates elsewhere (test_reference.LEFT_OUT says where).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

RAW_TABLES = (
    "customers",
    "orders",
    "contracts",
    "cancellations",
    "nps_responses",
    "retention_actions",
    "marketing_spend",
)
GRAINS = ("month", "quarter", "year")
BASES = ("order", "contract")
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Params:
    """The dbt vars (README; None for as_of_date = the default)."""

    as_of_date: dt.date | None = None
    reporting_timezone: str = "UTC"
    reporting_currency: str = "EUR"
    order_inactivity_days: int = 365
    contract_grace_days: int = 30
    gross_margin: str = "1.0"
    clv_max_lifespan_years: int = 10
    repeat_windows_days: tuple[int, ...] = (30, 90, 180, 365)
    programme_horizon_days: int = 90

    def dbt_vars(self) -> dict[str, object]:
        return {
            "as_of_date": None if self.as_of_date is None else self.as_of_date.isoformat(),
            "reporting_timezone": self.reporting_timezone,
            "reporting_currency": self.reporting_currency,
            "order_inactivity_days": self.order_inactivity_days,
            "contract_grace_days": self.contract_grace_days,
            "gross_margin": float(self.gross_margin),
            "clv_max_lifespan_years": self.clv_max_lifespan_years,
            "repeat_windows_days": list(self.repeat_windows_days),
            "programme_horizon_days": self.programme_horizon_days,
        }


# --- reading raw text ------------------------------------------------------------------------


def read_raw_dir(folder: Path) -> dict[str, list[dict[str, str | None]]]:
    """Every `<table>.csv` in folder as a list of rows; empty fields are None."""
    raw: dict[str, list[dict[str, str | None]]] = {}
    for table in RAW_TABLES:
        path = Path(folder) / f"{table}.csv"
        rows: list[dict[str, str | None]] = []
        if path.exists():
            with path.open(encoding="utf-8", newline="") as handle:
                for row in csv.DictReader(handle):
                    rows.append({k: _text(v) for k, v in row.items()})
        raw[table] = rows
    return raw


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _instant(value: str | None) -> dt.datetime | None:
    """ISO 8601 timestamp; without an offset, UTC (the raw input contract, docs/loading.md)."""
    if value is None:
        return None
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def _date(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def _money(value: str | None) -> Fraction | None:
    return None if value is None else Fraction(Decimal(value))


def _bool(value: str | None) -> bool | None:
    if value is None:
        return None
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise ValueError(f"not a boolean the reference understands: {value!r}")
    return lowered == "true"


# --- the customer's world, day by day --------------------------------------------------------


@dataclass
class Contract:
    contract_id: str
    customer_id: str
    start: dt.date
    end: dt.date | None
    annual: Fraction  # price × billing periods per year
    signed: dt.date | None
    cancellations: list[tuple[dt.date, dt.date, bool]] = field(default_factory=list)
    # (requested local date, effective date, withdrawn)
    product: str = ""
    billing_period: str = "month"
    previous: str | None = None

    def coverage_end(self, as_of: dt.date) -> dt.date:
        """Last covered day: earlier of end_date and the earliest not-withdrawn effective
        date; open-ended and uncancelled contracts run on, but never beyond A."""
        candidates = [as_of]
        if self.end is not None:
            candidates.append(self.end)
        for requested, effective, withdrawn in self.cancellations:
            if requested <= as_of and not withdrawn:
                candidates.append(effective)
        return min(candidates)


@dataclass
class Customer:
    customer_id: str
    channel: str
    exists: bool
    # Inferred: referenced by an order or a contract that exists on A, without a customer row
    # created on or before A; then no attributes and channel `unknown`.
    inferred: bool = False
    created_at: dt.datetime | None = None  # UTC, naive (a timestamp column)
    created_date: dt.date | None = None  # local
    country: str | None = None
    segment: str | None = None
    purchases: list[tuple[dt.date, Fraction]] = field(default_factory=list)
    contracts: list[Contract] = field(default_factory=list)
    # Filled by the day walk (only days <= A; absent day = inactive / 0):
    order_active: set[dt.date] = field(default_factory=set)
    contract_active: set[dt.date] = field(default_factory=set)
    mrr: dict[dt.date, Fraction] = field(default_factory=dict)
    recognised: dict[dt.date, Fraction] = field(default_factory=dict)

    def active_days(self, basis: str) -> set[dt.date]:
        return self.order_active if basis == "order" else self.contract_active

    def active(self, basis: str, day: dt.date) -> bool:
        return day in self.active_days(basis)

    def first_active(self, basis: str) -> dt.date | None:
        days = self.active_days(basis)
        return min(days) if days else None

    def first_active_any(self) -> dt.date | None:
        days = self.order_active | self.contract_active
        return min(days) if days else None

    def spells(self, basis: str) -> list[tuple[dt.date, dt.date]]:
        """The basis' spells (maximal runs of active days up to A), first to last."""
        return _spells(self.active_days(basis))


def _local(instant: dt.datetime, zone: ZoneInfo) -> dt.date:
    return instant.astimezone(zone).date()


def _days(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    day = first
    while day <= last:
        yield day
        day += DAY


PERIODS_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}


class World:
    """The staged data as the reference understands it, and every customer's day walk."""

    def __init__(self, raw: dict[str, list[dict[str, str | None]]], params: Params):
        self.params = params
        zone = ZoneInfo(params.reporting_timezone)
        currency = params.reporting_currency

        # Staged rows (other currencies are quarantined; cancellations of a contract that
        # is not staged are quarantined as unknown_contract).
        customers = {}
        for row in raw.get("customers", []):
            created = _instant(row["created_at"])
            if row["customer_id"] is None or created is None:
                raise ValueError(f"invalid customer row {row}")
            channel = (row.get("acquisition_channel") or "unknown").lower()
            country, segment = row.get("country"), row.get("segment")
            customers[row["customer_id"]] = (
                _local(created, zone),
                channel,
                {
                    "created_at": created.astimezone(dt.UTC).replace(tzinfo=None),
                    "created_date": _local(created, zone),
                    "country": None if country is None else country.upper(),
                    "segment": None if segment is None else segment.lower(),
                },
            )

        orders = []
        for row in raw.get("orders", []):
            status = (row["status"] or "").lower()
            if status not in ("completed", "cancelled", "refunded"):
                raise ValueError(f"status the reference does not know: {row}")
            if (row["currency"] or "").upper() != currency:
                continue
            amount = _money(row["amount"])
            refunded = _money(row.get("refunded_amount")) or Fraction(0)
            if amount is None or not 0 <= refunded <= amount:
                raise ValueError(f"invalid order amounts {row}")
            orders.append(
                (
                    row["customer_id"],
                    _local(_instant(row["ordered_at"]), zone),
                    status,
                    amount - refunded,
                )
            )

        contracts: dict[str, Contract] = {}
        for row in raw.get("contracts", []):
            if (row["currency"] or "").upper() != currency:
                continue
            period = (row["billing_period"] or "").lower()
            if period not in PERIODS_PER_YEAR:
                raise ValueError(f"billing period the reference does not know: {row}")
            signed = _instant(row.get("signed_at"))
            contracts[row["contract_id"]] = Contract(
                contract_id=row["contract_id"],
                customer_id=row["customer_id"],
                start=_date(row["start_date"]),
                end=_date(row.get("end_date")),
                annual=_money(row["price"]) * PERIODS_PER_YEAR[period],
                signed=None if signed is None else _local(signed, zone),
                product=row["product"].lower(),  # lower-cased in staging, as reason codes
                billing_period=period,
                previous=row.get("previous_contract_id"),
            )

        cancellations = []
        for row in raw.get("cancellations", []):
            if row["contract_id"] not in contracts:
                continue
            requested = _local(_instant(row["requested_at"]), zone)
            cancellations.append(
                (
                    row["contract_id"],
                    requested,
                    _date(row["effective_date"]),
                    _bool(row.get("final_offer_accepted")) is True,
                )
            )

        spend = []
        for row in raw.get("marketing_spend", []):
            if (row["currency"] or "").upper() != currency:
                continue
            spend.append(
                (
                    _date(row["spend_month"]),
                    row["acquisition_channel"].lower(),
                    _money(row["amount"]),
                )
            )
        self.has_spend = bool(spend)

        # A: the var, or the latest local date of any staged ordered_at, created_at,
        # signed_at, requested_at (any order status).
        if params.as_of_date is not None:
            self.as_of = params.as_of_date
        else:
            candidates = [created for created, _, _ in customers.values()]
            candidates += [ordered for _, ordered, _, _ in orders]
            candidates += [c.signed for c in contracts.values() if c.signed is not None]
            candidates += [requested for _, requested, _, _ in cancellations]
            self.as_of = max(candidates)
        A = self.as_of

        # Nothing after A exists.
        for contract_id, requested, effective, withdrawn in cancellations:
            if requested <= A:
                contracts[contract_id].cancellations.append((requested, effective, withdrawn))
        live_contracts = [
            c for c in contracts.values() if c.start <= A and (c.signed is None or c.signed <= A)
        ]
        self.spend = [(month, channel, amount) for month, channel, amount in spend]

        self.customers: dict[str, Customer] = {}

        def customer(customer_id: str) -> Customer:
            if customer_id not in self.customers:
                created, channel, attributes = customers.get(customer_id, (None, None, None))
                if created is not None and created <= A:
                    self.customers[customer_id] = Customer(
                        customer_id, channel, exists=True, **attributes
                    )
                else:
                    # Inferred once an order or a contract on or before A refers to them: no
                    # customer row, or one created after A (docs/decisions.md).
                    self.customers[customer_id] = Customer(
                        customer_id, "unknown", exists=False, inferred=True
                    )
            return self.customers[customer_id]

        for customer_id in customers:
            customer(customer_id)
        for customer_id, ordered, status, net in orders:
            if ordered > A:
                continue
            c = customer(customer_id)
            c.exists = True
            if status == "completed":
                c.purchases.append((ordered, net))
        for contract in live_contracts:
            c = customer(contract.customer_id)
            c.exists = True
            c.contracts.append(contract)

        for c in self.customers.values():
            self._walk(c)

        # Retention operations inputs: every staged contract and cancellation, NPS responses,
        # retention actions.
        self.zone = zone
        self.contracts = contracts
        self.live_contracts = {k.contract_id: k for k in live_contracts}
        self.cancellation_rows = [
            {
                "cancellation_id": row["cancellation_id"],
                "contract_id": row["contract_id"],
                "requested_at": _instant(row["requested_at"]),
                "requested": _local(_instant(row["requested_at"]), zone),
                "effective": _date(row["effective_date"]),
                # staging lower-cases category texts (docs/decisions.md): `Price_Too_High`
                # is the seed's `price_too_high`
                "reason_code": (row.get("reason_code") or "").lower() or None,
                "made": _bool(row.get("final_offer_made")),
                "accepted": _bool(row.get("final_offer_accepted")),
            }
            for row in raw.get("cancellations", [])
            if row["contract_id"] in contracts
        ]
        self.nps = [
            (row["customer_id"], _local(_instant(row["responded_at"]), zone), int(row["score"]))
            for row in raw.get("nps_responses", [])
        ]
        self.actions = [
            {
                "action_id": row["action_id"],
                "customer_id": row["customer_id"],
                "campaign": row["campaign"].lower(),
                "group": row["assigned_group"].lower(),
                "assigned_at": _instant(row["assigned_at"]),
                "assigned": _local(_instant(row["assigned_at"]), zone),
                "cost": _money(row.get("cost")) or Fraction(0),
            }
            for row in raw.get("retention_actions", [])
        ]

    def _walk(self, c: Customer) -> None:
        A = self.as_of
        n = self.params.order_inactivity_days
        grace = self.params.contract_grace_days

        # Order basis: active on d when a purchase p has 0 <= d - p < N (and d <= A).
        purchase_days = [day for day, _ in c.purchases]
        if purchase_days:
            for day in _days(min(purchase_days), A):
                if any(0 <= (day - p).days < n for p in purchase_days):
                    c.order_active.add(day)

        # Contract basis: covered days, then uncovered runs of at most `grace` days that lie
        # between two covered days are bridged.
        if not c.contracts:
            return
        first = min(contract.start for contract in c.contracts)
        covered: dict[dt.date, list[Contract]] = {}
        for day in _days(first, A):
            covering = [k for k in c.contracts if k.start <= day <= k.coverage_end(A)]
            if covering:
                covered[day] = covering
        last_covered_mrr: Fraction | None = None
        gap: list[dt.date] = []
        for day in _days(first, A):
            if day in covered:
                if gap and last_covered_mrr is not None and len(gap) <= grace:
                    for gap_day in gap:  # bridged: active, MRR carried, no revenue
                        c.contract_active.add(gap_day)
                        c.mrr[gap_day] = last_covered_mrr
                gap = []
                mrr = sum((k.annual / 12 for k in covered[day]), Fraction(0))
                c.contract_active.add(day)
                c.mrr[day] = mrr
                c.recognised[day] = sum((k.annual / 365 for k in covered[day]), Fraction(0))
                last_covered_mrr = mrr
            else:
                gap.append(day)

    # --- helpers over all customers ----------------------------------------------------------

    def existing(self) -> list[Customer]:
        return [c for c in self.customers.values() if c.exists]


# --- calendar --------------------------------------------------------------------------------


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def period_start(day: dt.date, grain: str) -> dt.date:
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return dt.date(day.year, 1, 1)


def next_period_start(start: dt.date, grain: str) -> dt.date:
    return _add_months(start, {"month": 1, "quarter": 3, "year": 12}[grain])


def _months_between(first_month: dt.date, last_month: dt.date) -> int:
    return (last_month.year - first_month.year) * 12 + last_month.month - first_month.month


def _ratio(numerator, denominator):
    """Every rate is null when its denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return Fraction(numerator) / Fraction(denominator)


# --- the marts -------------------------------------------------------------------------------


def compute(raw: dict[str, list[dict[str, str | None]]], params: Params) -> dict[str, list[dict]]:
    world = World(raw, params)
    marts = {
        "dim_customers": dim_customers(world),
        "fct_customer_months": fct_customer_months(world),
        "fct_periods": fct_periods(world),
        "fct_cohorts": fct_cohorts(world),
        "mart_churn": mart_churn(world),
        "mart_repeat_purchase": mart_repeat_purchase(world),
        "mart_clv": mart_clv(world),
        **operations_marts(world),
    }
    return {name: [_plain(row) for row in rows] for name, rows in marts.items()}


def compute_dir(folder: Path, params: Params) -> dict[str, list[dict]]:
    return compute(read_raw_dir(folder), params)


def _plain(row: dict) -> dict:
    """Fractions become floats at the very end."""
    return {k: float(v) if isinstance(v, Fraction) else v for k, v in row.items()}


def periods(world: World, basis: str) -> list[tuple[str, dt.date, dt.date]]:
    """(grain, first day, last day) of every period of the basis: from the period of its
    earliest activity (any customer) through the period containing A."""
    firsts = [f for c in world.customers.values() if (f := c.first_active(basis))]
    if not firsts:
        return []
    return [p for grain in GRAINS for p in _calendar(min(firsts), grain, world.as_of)]


def _calendar(first: dt.date, grain: str, as_of: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """(grain, first day, last day) of the periods from the one containing `first` through
    the one containing A."""
    found = []
    ps = period_start(first, grain)
    while ps <= as_of:
        pe = next_period_start(ps, grain) - DAY
        found.append((grain, ps, pe))
        ps = pe + DAY
    return found


def lifecycle(c: Customer, basis: str, ps: dt.date, end_day: dt.date) -> str:
    """The customer's lifecycle in the period ps … end_day (its end-state day) on the basis."""
    at_start, at_end = c.active(basis, ps - DAY), c.active(basis, end_day)
    if at_start:
        return "retained" if at_end else "churned"
    if at_end:
        return "reactivated" if c.first_active(basis) < ps else "new"
    if any(c.active(basis, d) for d in _days(ps, end_day)):
        return "transient"
    return "inactive"


MRR_MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churned")


def mrr_movement(
    c: Customer, ps: dt.date, end_day: dt.date
) -> tuple[Fraction, Fraction, str, Fraction]:
    """(MRR at start, MRR at end, the movement, its amount) of the period ps … end_day:
    one of MRR_MOVEMENTS, or `unchanged` (amount 0)."""
    s = c.mrr.get(ps - DAY, Fraction(0))
    t = c.mrr.get(end_day, Fraction(0))
    if s == 0 and t > 0:
        return s, t, "reactivation" if c.first_active("contract") < ps else "new", t
    if s > 0 and t > s:
        return s, t, "expansion", t - s
    if 0 < t < s:
        return s, t, "contraction", s - t
    if s > 0 and t == 0:
        return s, t, "churned", s
    return s, t, "unchanged", Fraction(0)


def fct_periods(world: World) -> list[dict]:
    return [
        _period_row(world, basis, grain, ps, pe)
        for basis in BASES
        for grain, ps, pe in periods(world, basis)
    ]


def _period_row(world: World, basis: str, grain: str, ps: dt.date, pe: dt.date) -> dict:
    A = world.as_of
    end_day = min(pe, A)
    counts = defaultdict(int)
    money = defaultdict(Fraction)
    for c in world.customers.values():
        state = lifecycle(c, basis, ps, end_day)
        counts[state] += 1
        counts["customers_start"] += state in ("retained", "churned")
        counts["customers_end"] += state in ("retained", "new", "reactivated")
        if basis == "order":
            bought = [(d, net) for d, net in c.purchases if ps <= d <= end_day]
            counts["purchases"] += len(bought)
            counts["purchasing_customers"] += bool(bought)
            counts["returning_customers"] += bool(bought) and any(d < ps for d, _ in c.purchases)
            money["net_revenue"] += sum((net for _, net in bought), Fraction(0))
        else:
            s, t, movement, amount = mrr_movement(c, ps, end_day)
            money["mrr_start"] += s
            money["mrr_end"] += t
            if movement != "unchanged":
                money[f"{movement}_mrr"] += amount
            money["recognised_contract_revenue"] += sum(
                (c.recognised.get(d, Fraction(0)) for d in _days(ps, end_day)), Fraction(0)
            )
    row = {
        "basis": basis,
        "period_grain": grain,
        "period_start": ps,
        "period_end": pe,
        "is_complete_period": pe <= A,
        **{
            k: counts[k]
            for k in (
                "customers_start",
                "customers_end",
                "retained",
                "churned",
                "new",
                "reactivated",
                "transient",
            )
        },
        "churn_rate": _ratio(counts["churned"], counts["customers_start"]),
        "retention_rate": _ratio(counts["retained"], counts["customers_start"]),
    }
    order_columns = ("purchases", "purchasing_customers", "returning_customers")
    for k in order_columns:
        row[k] = counts[k] if basis == "order" else None
    row["net_revenue"] = money["net_revenue"] if basis == "order" else None
    contract = {}
    if basis == "contract":
        gross = money["mrr_start"] - money["contraction_mrr"] - money["churned_mrr"]
        net = gross + money["expansion_mrr"]
        contract = {
            "mrr_start": money["mrr_start"],
            "mrr_end": money["mrr_end"],
            "new_mrr": money["new_mrr"],
            "reactivation_mrr": money["reactivation_mrr"],
            "expansion_mrr": money["expansion_mrr"],
            "contraction_mrr": money["contraction_mrr"],
            "churned_mrr": money["churned_mrr"],
            "gross_retained_mrr": gross,
            "net_retained_mrr": net,
            "gross_revenue_retention": _ratio(gross, money["mrr_start"]),
            "net_revenue_retention": _ratio(net, money["mrr_start"]),
            "recognised_contract_revenue": money["recognised_contract_revenue"],
        }
    for k in (
        "mrr_start",
        "mrr_end",
        "new_mrr",
        "reactivation_mrr",
        "expansion_mrr",
        "contraction_mrr",
        "churned_mrr",
        "gross_retained_mrr",
        "net_retained_mrr",
        "gross_revenue_retention",
        "net_revenue_retention",
        "recognised_contract_revenue",
    ):
        row[k] = contract.get(k)
    return row


def fct_cohorts(world: World) -> list[dict]:
    A = world.as_of
    a_month = A.replace(day=1)
    rows = []
    for basis in BASES:
        cohorts: dict[dt.date, list[Customer]] = defaultdict(list)
        for c in world.customers.values():
            first = c.first_active(basis)
            if first is not None:
                cohorts[first.replace(day=1)].append(c)
        for cohort_month in sorted(cohorts):
            members = cohorts[cohort_month]
            size = len(members)
            cumulative = Fraction(0)
            for k in range(_months_between(cohort_month, a_month) + 1):
                month = _add_months(cohort_month, k)
                month_end = _add_months(month, 1) - DAY
                last_day = min(month_end, A)
                if basis == "order":
                    active = sum(
                        any(month <= d <= last_day for d, _ in c.purchases) for c in members
                    )
                    revenue = sum(
                        (net for c in members for d, net in c.purchases if month <= d <= last_day),
                        Fraction(0),
                    )
                else:
                    active = sum(c.active("contract", last_day) for c in members)
                    revenue = sum(
                        (
                            c.recognised.get(d, Fraction(0))
                            for c in members
                            for d in _days(month, last_day)
                        ),
                        Fraction(0),
                    )
                cumulative += revenue
                rows.append(
                    {
                        "basis": basis,
                        "cohort_month": cohort_month,
                        "months_since_cohort": k,
                        "activity_month": month,
                        "cohort_size": size,
                        "active_customers": active,
                        "retention_rate": _ratio(active, size),
                        "revenue": revenue,
                        "cumulative_revenue": cumulative,
                        "cumulative_revenue_per_customer": _ratio(cumulative, size),
                        "is_complete": month_end <= A,
                    }
                )
    return rows


def mart_repeat_purchase(world: World) -> list[dict]:
    A = world.as_of
    windows = world.params.repeat_windows_days
    by_month: dict[dt.date, list[list[dt.date]]] = defaultdict(list)
    for c in world.customers.values():
        days = sorted(d for d, _ in c.purchases)
        if days:
            by_month[days[0].replace(day=1)].append(days)
    rows = []
    for month in sorted(by_month):
        histories = by_month[month]
        repeaters = [h for h in histories if len(h) >= 2]
        gaps = sorted((h[1] - h[0]).days for h in repeaters)
        if not gaps:
            median = None
        elif len(gaps) % 2:
            median = Fraction(gaps[len(gaps) // 2])
        else:
            median = Fraction(gaps[len(gaps) // 2 - 1] + gaps[len(gaps) // 2], 2)
        row = {
            "first_purchase_month": month,
            "customers": len(histories),
            "repeat_customers": len(repeaters),
            "repeat_purchase_rate": _ratio(len(repeaters), len(histories)),
            "median_days_to_second_purchase": median,
        }
        for w in windows:
            eligible = [h for h in histories if h[0] <= A - dt.timedelta(days=w)]
            within = [h for h in eligible if len(h) >= 2 and (h[1] - h[0]).days <= w]
            row[f"eligible_{w}"] = len(eligible)
            row[f"repeat_within_{w}"] = len(within)
            row[f"repeat_rate_{w}"] = _ratio(len(within), len(eligible))
        rows.append(row)
    return rows


def mart_clv(world: World) -> list[dict]:
    A = world.as_of
    y_start = A - dt.timedelta(days=364)
    year_ago = A - dt.timedelta(days=365)
    gm = Fraction(world.params.gross_margin)
    cap = world.params.clv_max_lifespan_years
    existing = world.existing()

    segments: dict[tuple[str, str], list[Customer]] = defaultdict(list)
    for c in existing:
        segments[("all", "all")].append(c)
        segments[("acquisition_channel", c.channel)].append(c)
        first = c.first_active_any()
        if first is not None:
            segments[("cohort_year", str(first.year))].append(c)

    rows = []
    for (segment_type, segment_value), members in sorted(segments.items()):
        in_y = [(c, net) for c in members for d, net in c.purchases if y_start <= d <= A]
        purchases = len(in_y)
        net_revenue = sum((net for _, net in in_y), Fraction(0))
        purchasing = len({c.customer_id for c, _ in in_y})
        aov = _ratio(net_revenue, purchases)
        frequency = _ratio(purchases, purchasing)

        order_start = [c for c in members if c.active("order", year_ago)]
        order_churned = [c for c in order_start if not c.active("order", A)]
        annual_churn = _ratio(len(order_churned), len(order_start))
        if annual_churn is None:
            lifespan = None
        elif annual_churn == 0:
            lifespan = Fraction(cap)
        else:
            lifespan = min(1 / annual_churn, Fraction(cap))
        clv = None
        if aov is not None and frequency is not None and lifespan is not None:
            clv = aov * frequency * lifespan * gm

        contract_active = [c for c in members if c.active("contract", A)]
        mrr = sum((c.mrr.get(A, Fraction(0)) for c in members), Fraction(0))
        arpa = _ratio(mrr, len(contract_active))
        contract_start = [c for c in members if c.active("contract", year_ago)]
        contract_churned = [c for c in contract_start if not c.active("contract", A)]
        annual_contract_churn = _ratio(len(contract_churned), len(contract_start))
        monthly = None
        if annual_contract_churn is not None:
            monthly = 1 - (1 - float(annual_contract_churn)) ** (1 / 12)
        contract_clv = None
        if arpa is not None and annual_contract_churn is not None:
            ceiling = arpa * 12 * cap * gm
            if annual_contract_churn == 0:
                contract_clv = ceiling
            else:
                contract_clv = min(float(arpa * gm) / monthly, float(ceiling))

        acquired = [c for c in members if (f := c.first_active_any()) and y_start <= f <= A]
        spend = None
        if world.has_spend and segment_type != "cohort_year":
            spend = sum(
                (
                    amount
                    for month, channel, amount in world.spend
                    if y_start <= month <= A and (segment_type == "all" or channel == segment_value)
                ),
                Fraction(0),
            )
        cac = _ratio(spend, len(acquired))
        rows.append(
            {
                "segment_type": segment_type,
                "segment_value": segment_value,
                "customers": len(members),
                "purchases": purchases,
                "net_revenue": net_revenue,
                "purchasing_customers": purchasing,
                "average_order_value": aov,
                "purchase_frequency": frequency,
                "order_active_start_customers": len(order_start),
                "order_churned_customers": len(order_churned),
                "annual_churn_rate": annual_churn,
                "expected_lifespan_years": lifespan,
                "clv": clv,
                "contract_active_customers": len(contract_active),
                "mrr": mrr,
                "arpa_monthly": arpa,
                "contract_active_start_customers": len(contract_start),
                "contract_churned_customers": len(contract_churned),
                "annual_contract_churn_rate": annual_contract_churn,
                "monthly_churn_rate": monthly,
                "contract_clv": contract_clv,
                "marketing_spend": spend,
                "acquired_customers": len(acquired),
                "cac": cac,
                "ltv_to_cac": _ratio(clv, cac) if clv is not None else None,
            }
        )
    return rows


# --- customers, customer-months, churn by reason -------------------------------------------


def dim_customers(world: World) -> list[dict]:
    """One row per customer that exists on A (known, or inferred)."""
    A = world.as_of
    rows = []
    for c in world.existing():
        days = sorted(d for d, _ in c.purchases)
        net = sum((n for _, n in c.purchases), Fraction(0))
        row = {
            "customer_id": c.customer_id,
            "is_inferred": c.inferred,
            "created_at": c.created_at,
            "created_date": c.created_date,
            "acquisition_channel": c.channel,
            "country": c.country,
            "segment": c.segment,
            "first_purchase_date": days[0] if days else None,
            "last_purchase_date": days[-1] if days else None,
            "purchases": len(days),
            "lifetime_net_revenue": net,
            "average_order_value": _ratio(net, len(days)),
            "is_repeat_customer": len(days) >= 2,
        }
        for basis in BASES:
            spells = c.spells(basis)
            ended = [last for _, last in spells if last < A]  # churned the day after
            row[f"{basis}_cohort_month"] = spells[0][0].replace(day=1) if spells else None
            row[f"{basis}_status"] = (
                "active" if c.active(basis, A) else "churned" if spells else "never_active"
            )
            row[f"{basis}_last_churn_date"] = ended[-1] + DAY if ended else None
            row[f"{basis}_reactivation_count"] = max(len(spells) - 1, 0)
            if basis == "contract":
                row["contract_last_churn_type"] = (
                    _contract_churn(world, c, ended[-1])[0] if ended else None
                )
        products = sorted({k.product for k in c.contracts if k.start <= A <= k.coverage_end(A)})
        row["current_mrr"] = c.mrr.get(A, Fraction(0))
        row["active_products"] = ", ".join(products) if products else None
        row["lifetime_contract_revenue"] = sum(c.recognised.values(), Fraction(0))
        rows.append(row)
    return rows


def fct_customer_months(world: World) -> list[dict]:
    """Customer × month from the month of the first active day (either basis) through A's."""
    A = world.as_of
    rows = []
    for c in world.customers.values():
        first = c.first_active_any()
        if first is None:
            continue
        for _, ps, pe in _calendar(first, "month", A):
            end_day = min(pe, A)
            bought = [net for d, net in c.purchases if ps <= d <= end_day]
            s, t, movement, amount = mrr_movement(c, ps, end_day)
            row = {
                "customer_id": c.customer_id,
                "month_start": ps,
                "month_end_date": end_day,
                "is_complete_month": pe <= A,
                "purchases": len(bought),
                "net_revenue": sum(bought, Fraction(0)),
            }
            for basis in BASES:
                row[f"{basis}_is_active_start"] = c.active(basis, ps - DAY)
                row[f"{basis}_is_active_end"] = c.active(basis, end_day)
                row[f"{basis}_lifecycle"] = lifecycle(c, basis, ps, end_day)
            row["mrr_start"], row["mrr_end"], row["mrr_movement"] = s, t, movement
            for name in MRR_MOVEMENTS:
                row[f"{name}_mrr"] = amount if movement == name else Fraction(0)
            row["recognised_contract_revenue"] = sum(
                (c.recognised.get(d, Fraction(0)) for d in _days(ps, end_day)), Fraction(0)
            )
            rows.append(row)
    return rows


def mart_churn(world: World) -> list[dict]:
    """The customers churned in each period (active at its start, not at its end), by the
    churn type and reason of their departure. On the contract basis the departure is the
    end of the latest spell that started on or before the end-state day."""
    A = world.as_of
    groups: dict[tuple, dict] = {}
    period_churned: dict[tuple, int] = defaultdict(int)
    for basis in BASES:
        for grain, ps, pe in periods(world, basis):
            end_day = min(pe, A)
            for c in world.customers.values():
                if lifecycle(c, basis, ps, end_day) != "churned":
                    continue
                mrr = None
                attribution = SILENT
                if basis == "contract":
                    last = [end for start, end in c.spells("contract") if start <= end_day][-1]
                    attribution = _contract_churn(world, c, last)
                    mrr = c.mrr.get(ps - DAY, Fraction(0))
                churn_type, code, retainable = attribution
                g = groups.setdefault(
                    (basis, grain, ps, churn_type, code),
                    {"is_retainable": retainable, "n": 0, "mrr": None},
                )
                g["n"] += 1
                if mrr is not None:
                    g["mrr"] = (g["mrr"] or Fraction(0)) + mrr
                period_churned[(basis, grain, ps)] += 1
    return [
        {
            "basis": basis,
            "period_grain": grain,
            "period_start": ps,
            "churn_type": churn_type,
            "reason_code": code,
            "is_retainable": g["is_retainable"],
            "churned_customers": g["n"],
            "churned_mrr": g["mrr"],
            "period_churned_customers": period_churned[(basis, grain, ps)],
            "share_of_churn": _ratio(g["n"], period_churned[(basis, grain, ps)]),
        }
        for (basis, grain, ps, churn_type, code), g in groups.items()
    ]


# --- retention operations ------------------------------------------------------------------------

SEED_REASONS = Path(__file__).resolve().parents[1] / "seeds" / "cancellation_reasons.csv"
Z_95 = 1.959963984540054


@functools.cache
def reasons() -> dict[str, tuple[str, bool]]:
    """The cancellation_reasons seed: reason_code -> (churn_type, is_retainable)."""
    with SEED_REASONS.open(encoding="utf-8", newline="") as handle:
        return {
            row["reason_code"]: (row["churn_type"], row["is_retainable"] == "true")
            for row in csv.DictReader(handle)
        }


def _median(values: list[int]) -> Fraction | None:
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return Fraction(ordered[middle])
    return Fraction(ordered[middle - 1] + ordered[middle], 2)


def _spells(days: set[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Maximal runs of consecutive days, in order."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] + DAY == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _grain_starts(day: dt.date) -> list[tuple[str, dt.date]]:
    return [(grain, period_start(day, grain)) for grain in GRAINS]


def _ending_cancellation(world: World, contract: Contract) -> dict | None:
    """The cancellation that ends a contract: not withdrawn, requested on or before A; of
    several the earliest effective date, then the latest request, then the lowest id."""
    A = world.as_of
    candidates = [
        row
        for row in world.cancellation_rows
        if row["contract_id"] == contract.contract_id
        and row["requested"] <= A
        and row["accepted"] is not True
    ]
    if not candidates:
        return None
    latest_first = sorted(candidates, key=lambda r: r["cancellation_id"])
    latest_first.sort(key=lambda r: r["requested_at"], reverse=True)
    return min(latest_first, key=lambda r: r["effective"])


def _uncut_coverage_end(world: World, contract: Contract) -> dt.date | None:
    """min(end_date, the ending cancellation's effective date); None = runs on."""
    ending = _ending_cancellation(world, contract)
    candidates = [d for d in (contract.end, ending and ending["effective"]) if d is not None]
    return min(candidates) if candidates else None


def _contract_churn(world: World, c: Customer, last_day: dt.date) -> tuple[str, str, bool | None]:
    """Section 7 churn attribution of the contract spell that ended on last_day:
    (churn_type, reason_code, is_retainable). The contract whose coverage ended the spell
    (of several, the latest request of their ending cancellations, then the highest
    contract_id; one without such a cancellation ranks last) and its ending cancellation's
    reason: `silent` / `none` without one, `unknown` / `unspecified` without a code, a code
    missing from the seed `unknown` with its code; is_retainable from the seed, else null."""
    ending = []
    for k in c.contracts:
        covered_until = k.coverage_end(world.as_of)
        if covered_until == last_day and k.start <= last_day:
            cancellation = _ending_cancellation(world, k)
            ending.append((k, cancellation))
    if not ending:
        raise ValueError(f"no contract ends {c.customer_id}'s spell on {last_day}")
    ending.sort(key=lambda pair: pair[0].contract_id, reverse=True)
    ending.sort(
        key=lambda pair: (pair[1] is not None, pair[1]["requested_at"] if pair[1] else 0),
        reverse=True,
    )
    _, cancellation = ending[0]
    if cancellation is None:
        return "silent", "none", None
    code = cancellation["reason_code"]
    if code is None:
        return "unknown", "unspecified", None
    churn_type, retainable = reasons().get(code, ("unknown", None))
    return churn_type, code, retainable


SILENT = ("silent", "none", None)  # every order-basis churn


def _revenue_between(c: Customer, first: dt.date, last: dt.date) -> Fraction:
    """Net order revenue of purchases dated first … last plus recognised contract revenue."""
    orders = sum((net for day, net in c.purchases if first <= day <= last), Fraction(0))
    contract = sum((c.recognised.get(day, Fraction(0)) for day in _days(first, last)), Fraction(0))
    return orders + contract


def _wilson(successes: int, trials: int) -> tuple[float, float]:
    p, n, z2 = successes / trials, trials, Z_95 * Z_95
    centre = p + z2 / (2 * n)
    spread = Z_95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return (centre - spread) / (1 + z2 / n), (centre + spread) / (1 + z2 / n)


def newcombe(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """Newcombe (1998) method 10 for p1 − p2: the Wilson intervals combined."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = _wilson(x1, n1)
    l2, u2 = _wilson(x2, n2)
    return (
        p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


def operations_marts(world: World) -> dict[str, list[dict]]:
    return {
        "mart_cancellation_saves": mart_cancellation_saves(world),
        "mart_winback": mart_winback(world),
        "mart_nps": mart_nps(world),
        "mart_nps_churn": mart_nps_churn(world),
        "mart_retention_programmes": mart_retention_programmes(world),
        "mart_contract_renewals": mart_contract_renewals(world),
        "mart_lock_in": mart_lock_in(world),
        "mart_revenue_concentration": mart_revenue_concentration(world),
    }


def mart_cancellation_saves(world: World) -> list[dict]:
    A = world.as_of
    seed = reasons()
    groups: dict[tuple, dict] = {}
    for row in world.cancellation_rows:
        contract = world.live_contracts.get(row["contract_id"])
        if row["requested"] > A or contract is None:
            continue
        code = row["reason_code"] or "unspecified"
        churn_type, retainable = seed.get(row["reason_code"] or "", ("unknown", None))
        saved = row["accepted"] is True
        eligible = saved and row["requested"] <= A - dt.timedelta(days=90)
        customer = world.customers[contract.customer_id]
        active = eligible and customer.active("contract", row["requested"] + dt.timedelta(days=90))
        for grain, start in _grain_starts(row["requested"]):
            g = groups.setdefault(
                (grain, start, churn_type, code),
                {"is_retainable": retainable, "n": 0, "offers": 0, "saves": 0,
                 "mrr": Fraction(0), "eligible": 0, "active": 0},
            )  # fmt: skip
            g["n"] += 1
            g["offers"] += row["made"] is True
            g["saves"] += saved
            g["mrr"] += contract.annual / 12 if saved else 0
            g["eligible"] += eligible
            g["active"] += active
    return [
        {
            "period_grain": grain,
            "period_start": start,
            "churn_type": churn_type,
            "reason_code": code,
            "is_retainable": g["is_retainable"],
            "cancellation_requests": g["n"],
            "final_offers_made": g["offers"],
            "saves": g["saves"],
            "offer_rate": _ratio(g["offers"], g["n"]),
            "save_rate": _ratio(g["saves"], g["offers"]),
            "saved_mrr": g["mrr"],
            "eligible_saves_90d": g["eligible"],
            "saves_active_90d": g["active"],
            "save_durability_90d": _ratio(g["active"], g["eligible"]),
        }
        for (grain, start, churn_type, code), g in groups.items()
    ]


def mart_winback(world: World) -> list[dict]:
    A = world.as_of
    windows = world.params.repeat_windows_days
    events: dict[tuple, list[tuple[dt.date, dt.date | None, Fraction | None]]] = defaultdict(list)
    for c in world.customers.values():
        for basis in BASES:
            runs = c.spells(basis)
            for index, (_, last) in enumerate(runs):
                if last >= A:
                    continue
                churn = last + DAY
                back = runs[index + 1][0] if index + 1 < len(runs) else None
                churn_type = "silent" if basis == "order" else _contract_churn(world, c, last)[0]
                mrr = None
                if basis == "contract":
                    mrr = c.mrr[back] if back is not None else Fraction(0)
                events[(basis, churn.replace(day=1), churn_type)].append((churn, back, mrr))
    rows = []
    for (basis, month, churn_type), group in events.items():
        returns = [(back - churn).days for churn, back, _ in group if back is not None]
        row = {
            "basis": basis,
            "churn_month": month,
            "churn_type": churn_type,
            "churn_events": len(group),
            "won_back": len(returns),
            "winback_rate": _ratio(len(returns), len(group)),
            "median_days_to_return": _median(returns),
            "won_back_mrr": (
                sum((mrr for _, _, mrr in group), Fraction(0)) if basis == "contract" else None
            ),
        }
        for w in windows:
            eligible = [(c, b) for c, b, _ in group if c <= A - dt.timedelta(days=w)]
            within = [1 for c, b in eligible if b is not None and (b - c).days <= w]
            row[f"eligible_{w}"] = len(eligible)
            row[f"won_back_within_{w}"] = len(within)
            row[f"winback_rate_{w}"] = _ratio(len(within), len(eligible))
        rows.append(row)
    return rows


def _nps_class(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def _existing(world: World, customer_id: str) -> Customer | None:
    c = world.customers.get(customer_id)
    return c if c is not None and c.exists else None


def mart_nps(world: World) -> list[dict]:
    A = world.as_of
    counts: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for customer_id, day, score in world.nps:
        c = _existing(world, customer_id)
        if c is None or day > A:
            continue
        segments = [("all", "all"), ("acquisition_channel", c.channel)]
        if (first := c.first_active_any()) is not None:
            segments.append(("cohort_year", str(first.year)))
        for grain, start in _grain_starts(day):
            for segment in segments:
                counts[(grain, start, *segment)][_nps_class(score)] += 1
    rows = []
    for (grain, start, segment_type, segment_value), n in counts.items():
        responses = n["promoter"] + n["passive"] + n["detractor"]
        rows.append(
            {
                "period_grain": grain,
                "period_start": start,
                "segment_type": segment_type,
                "segment_value": segment_value,
                "responses": responses,
                "promoters": n["promoter"],
                "passives": n["passive"],
                "detractors": n["detractor"],
                "nps": 100 * Fraction(n["promoter"] - n["detractor"], responses),
            }
        )
    return rows


def mart_nps_churn(world: World) -> list[dict]:
    A = world.as_of
    counts = {(b, k): [0, 0] for b in BASES for k in ("promoter", "passive", "detractor")}
    for customer_id, day, score in world.nps:
        c = _existing(world, customer_id)
        if c is None or day > A - dt.timedelta(days=180):
            continue
        for basis in BASES:
            if c.active(basis, day):
                counts[(basis, _nps_class(score))][0] += 1
                counts[(basis, _nps_class(score))][1] += not c.active(
                    basis, day + dt.timedelta(days=180)
                )
    return [
        {
            "basis": basis,
            "nps_class": nps_class,
            "responses_active": n,
            "churned_within_180d": churned,
            "churn_rate_180d": _ratio(churned, n),
        }
        for (basis, nps_class), (n, churned) in counts.items()
    ]


def mart_retention_programmes(world: World) -> list[dict]:
    A = world.as_of
    H = world.params.programme_horizon_days
    margin = Fraction(world.params.gross_margin)
    actions = [
        a for a in world.actions if a["assigned"] <= A and _existing(world, a["customer_id"])
    ]
    assignments: dict[tuple[str, str], dict] = {}
    for a in sorted(actions, key=lambda a: (a["assigned_at"], a["action_id"])):
        assignments.setdefault((a["campaign"], a["customer_id"]), a)
    rows = []
    for campaign in sorted({a["campaign"] for a in actions}):
        cost = sum(
            (a["cost"] for a in actions if a["campaign"] == campaign and a["group"] == "treatment"),
            Fraction(0),
        )
        for basis in BASES:
            stats = {
                g: {"n": 0, "kept": 0, "revenue": Fraction(0)} for g in ("treatment", "control")
            }
            for (camp, customer_id), a in assignments.items():
                t = a["assigned"]
                c = world.customers[customer_id]
                if camp != campaign or t > A - dt.timedelta(days=H) or not c.active(basis, t):
                    continue
                s = stats[a["group"]]
                s["n"] += 1
                s["kept"] += c.active(basis, t + dt.timedelta(days=H))
                s["revenue"] += _revenue_between(c, t + DAY, t + dt.timedelta(days=H))
            t_, c_ = stats["treatment"], stats["control"]
            t_rate, c_rate = _ratio(t_["kept"], t_["n"]), _ratio(c_["kept"], c_["n"])
            t_rpc, c_rpc = _ratio(t_["revenue"], t_["n"]), _ratio(c_["revenue"], c_["n"])
            both = t_["n"] > 0 and c_["n"] > 0
            uplift = t_rate - c_rate if both else None
            low, high = newcombe(t_["kept"], t_["n"], c_["kept"], c_["n"]) if both else (None, None)
            incremental = uplift * t_["n"] if both else None
            incremental_revenue = (t_rpc - c_rpc) * t_["n"] if both else None
            rows.append(
                {
                    "campaign": campaign,
                    "basis": basis,
                    "treatment_customers": t_["n"],
                    "treatment_retained": t_["kept"],
                    "treatment_retention_rate": t_rate,
                    "treatment_revenue": t_["revenue"],
                    "treatment_revenue_per_customer": t_rpc,
                    "control_customers": c_["n"],
                    "control_retained": c_["kept"],
                    "control_retention_rate": c_rate,
                    "control_revenue": c_["revenue"],
                    "control_revenue_per_customer": c_rpc,
                    "uplift": uplift,
                    "uplift_ci_low": low,
                    "uplift_ci_high": high,
                    "is_significant": None if low is None else bool(low > 0 or high < 0),
                    "incremental_customers_retained": incremental,
                    "incremental_revenue": incremental_revenue,
                    "programme_cost": cost,
                    "cost_per_incremental_customer": (
                        cost / incremental if incremental is not None and incremental > 0 else None
                    ),
                    "return_on_cost": (
                        _ratio(incremental_revenue * margin - cost, cost)
                        if incremental_revenue is not None
                        else None
                    ),
                }
            )
    return rows


def mart_contract_renewals(world: World) -> list[dict]:
    A = world.as_of
    grace = world.params.contract_grace_days
    groups: dict[tuple, list] = defaultdict(list)
    for k in world.live_contracts.values():
        if k.end is None or k.end > A - dt.timedelta(days=grace):
            continue
        if _uncut_coverage_end(world, k) != k.end or k.end < k.start:
            continue
        renewals = sorted(
            (
                r
                for r in world.live_contracts.values()
                if r.previous == k.contract_id and r.start <= k.end + dt.timedelta(days=grace + 1)
            ),
            key=lambda r: (r.start, r.contract_id),
        )
        lead = None
        if renewals and renewals[0].signed is not None:
            lead = (k.end - renewals[0].signed).days
        groups[(k.product, k.billing_period, k.end.replace(day=1))].append((bool(renewals), lead))
    rows = []
    for (product, billing_period, month), terms in groups.items():
        leads = [lead for _, lead in terms if lead is not None]
        renewed = sum(r for r, _ in terms)
        rows.append(
            {
                "product": product,
                "billing_period": billing_period,
                "term_end_month": month,
                "terms_ending": len(terms),
                "renewed": renewed,
                "renewal_rate": _ratio(renewed, len(terms)),
                "renewals_signed": len(leads),
                "median_renewal_lead_days": _median(leads),
            }
        )
    return rows


def mart_lock_in(world: World) -> list[dict]:
    A = world.as_of
    rows = []
    for grain, ps, pe in periods(world, "contract"):
        start_day = ps - DAY
        end_day = min(pe, A)
        counts = {bucket: [0, 0] for bucket in ("0", "1", "2", "3+")}
        for c in world.customers.values():
            if not c.active("contract", start_day):
                continue
            products = {k.product for k in c.contracts if k.start <= start_day <= k.coverage_end(A)}
            bucket = "3+" if len(products) >= 3 else str(len(products))
            counts[bucket][0] += 1
            counts[bucket][1] += not c.active("contract", end_day)
        for bucket, (n, churned) in counts.items():
            rows.append(
                {
                    "period_grain": grain,
                    "period_start": ps,
                    "products_at_start": bucket,
                    "customers_start": n,
                    "churned": churned,
                    "churn_rate": _ratio(churned, n),
                }
            )
    return rows


def mart_revenue_concentration(world: World) -> list[dict]:
    A = world.as_of
    first = A - dt.timedelta(days=364)
    revenue = {c.customer_id: _revenue_between(c, first, A) for c in world.existing()}
    ranked = sorted(
        ((r, customer_id) for customer_id, r in revenue.items() if r > 0),
        key=lambda pair: (-pair[0], pair[1]),
    )
    n = len(ranked)
    size, extra = divmod(n, 10)
    deciles: list[list[Fraction]] = []
    position = 0
    for decile in range(10):
        take = size + (1 if decile < extra else 0)
        if take:
            deciles.append([r for r, _ in ranked[position : position + take]])
        position += take
    total = sum((r for r, _ in ranked), Fraction(0))
    rows, cumulative = [], Fraction(0)
    for index, members in enumerate(deciles, start=1):
        amount = sum(members, Fraction(0))
        cumulative += amount
        rows.append(
            {
                "revenue_decile": index,
                "customers": len(members),
                "revenue": amount,
                "cumulative_revenue": cumulative,
                "total_revenue": total,
                "revenue_share": _ratio(amount, total),
                "cumulative_revenue_share": _ratio(cumulative, total),
            }
        )
    return rows
