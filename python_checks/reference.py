"""An independent, deliberately naive reference implementation of SPEC section 7.

It shares no code with the dbt models or the `retention` package: it reads the raw CSV files
with the csv module and walks every customer day by day, from their first day to the
reporting date A, asking of each day "is this customer active?" straight from the
definitions in SPEC section 7 and docs/decisions.md. It is meant to be obviously correct, not
fast: a few customers over a few years take well under a second.

Money is kept exact (fractions.Fraction) until the output; only the monthly contract churn
rate, which needs a twelfth root, is a float.

Scope: valid raw data. Rows the warehouse would quarantine for their content are not
modelled, except rows in another currency than `reporting_currency` (dropped, as staging
quarantines them) and cancellations of such contracts (unknown contract). Anything else the
reference does not understand raises ValueError rather than being guessed at.

Output: `compute(raw, params)` returns, per mart (`fct_periods`, `fct_cohorts`,
`mart_repeat_purchase`, `mart_clv`), a list of dicts with the columns of docs/marts.md.
"""

from __future__ import annotations

import csv
import datetime as dt
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
    """The dbt vars of SPEC section 6 (None for as_of_date = the default)."""

    as_of_date: dt.date | None = None
    reporting_timezone: str = "UTC"
    reporting_currency: str = "EUR"
    order_inactivity_days: int = 365
    contract_grace_days: int = 30
    gross_margin: str = "1.0"
    clv_max_lifespan_years: int = 10
    repeat_windows_days: tuple[int, ...] = (30, 90, 180, 365)

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
    """ISO 8601 timestamp; without an offset it is UTC (SPEC section 5)."""
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
    purchases: list[tuple[dt.date, Fraction]] = field(default_factory=list)
    contracts: list[Contract] = field(default_factory=list)
    # Filled by the day walk (only days <= A; absent day = inactive / 0):
    order_active: set[dt.date] = field(default_factory=set)
    contract_active: set[dt.date] = field(default_factory=set)
    mrr: dict[dt.date, Fraction] = field(default_factory=dict)
    recognised: dict[dt.date, Fraction] = field(default_factory=dict)

    def active(self, basis: str, day: dt.date) -> bool:
        return day in (self.order_active if basis == "order" else self.contract_active)

    def first_active(self, basis: str) -> dt.date | None:
        days = self.order_active if basis == "order" else self.contract_active
        return min(days) if days else None

    def first_active_any(self) -> dt.date | None:
        days = self.order_active | self.contract_active
        return min(days) if days else None


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
            customers[row["customer_id"]] = (_local(created, zone), channel)

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
            candidates = [created for created, _ in customers.values()]
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
                if customer_id in customers:
                    created, channel = customers[customer_id]
                    self.customers[customer_id] = Customer(customer_id, channel, created <= A)
                else:  # inferred: referenced by an order or a contract on or before A
                    self.customers[customer_id] = Customer(customer_id, "unknown", False)
            return self.customers[customer_id]

        for customer_id in customers:
            customer(customer_id)
        for customer_id, ordered, status, net in orders:
            if ordered > A:
                continue
            c = customer(customer_id)
            c.exists = True if customer_id not in customers else c.exists
            if status == "completed":
                c.purchases.append((ordered, net))
        for contract in live_contracts:
            c = customer(contract.customer_id)
            c.exists = True if contract.customer_id not in customers else c.exists
            c.contracts.append(contract)

        for c in self.customers.values():
            self._walk(c)

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
        "fct_periods": fct_periods(world),
        "fct_cohorts": fct_cohorts(world),
        "mart_repeat_purchase": mart_repeat_purchase(world),
        "mart_clv": mart_clv(world),
    }
    return {name: [_plain(row) for row in rows] for name, rows in marts.items()}


def compute_dir(folder: Path, params: Params) -> dict[str, list[dict]]:
    return compute(read_raw_dir(folder), params)


def _plain(row: dict) -> dict:
    """Fractions become floats at the very end."""
    return {k: float(v) if isinstance(v, Fraction) else v for k, v in row.items()}


def fct_periods(world: World) -> list[dict]:
    A = world.as_of
    customers = list(world.customers.values())
    rows = []
    for basis in BASES:
        firsts = [c.first_active(basis) for c in customers if c.first_active(basis)]
        if not firsts:
            continue
        earliest = min(firsts)
        for grain in GRAINS:
            ps = period_start(earliest, grain)
            while ps <= A:
                pe = next_period_start(ps, grain) - DAY
                rows.append(_period_row(world, basis, grain, ps, pe))
                ps = pe + DAY
    return rows


def _period_row(world: World, basis: str, grain: str, ps: dt.date, pe: dt.date) -> dict:
    A = world.as_of
    start_day, end_day = ps - DAY, min(pe, A)
    counts = defaultdict(int)
    money = defaultdict(Fraction)
    for c in world.customers.values():
        at_start, at_end = c.active(basis, start_day), c.active(basis, end_day)
        first = c.first_active(basis)
        before = first is not None and first < ps
        counts["customers_start"] += at_start
        counts["customers_end"] += at_end
        counts["retained"] += at_start and at_end
        counts["churned"] += at_start and not at_end
        counts["reactivated"] += (not at_start) and at_end and before
        counts["new"] += (not at_start) and at_end and not before
        counts["transient"] += (
            (not at_start) and (not at_end) and any(c.active(basis, d) for d in _days(ps, end_day))
        )
        if basis == "order":
            bought = [(d, net) for d, net in c.purchases if ps <= d <= end_day]
            counts["purchases"] += len(bought)
            counts["purchasing_customers"] += bool(bought)
            counts["returning_customers"] += bool(bought) and any(d < ps for d, _ in c.purchases)
            money["net_revenue"] += sum((net for _, net in bought), Fraction(0))
        else:
            s = c.mrr.get(start_day, Fraction(0))
            t = c.mrr.get(end_day, Fraction(0))
            money["mrr_start"] += s
            money["mrr_end"] += t
            if s == 0 and t > 0:
                money["reactivation_mrr" if before else "new_mrr"] += t
            elif s > 0 and t > s:
                money["expansion_mrr"] += t - s
            elif 0 < t < s:
                money["contraction_mrr"] += s - t
            elif s > 0 and t == 0:
                money["churned_mrr"] += s
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
