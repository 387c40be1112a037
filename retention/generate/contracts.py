"""Contracts and cancellations: renewal chains, up/downgrades, churn, final offers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from retention.generate.common import (
    DAY,
    Actions,
    Window,
    add_months,
    categorical,
    ranked_like,
    time_of_day,
)
from retention.generate.customers import Customers
from retention.generate.text import (
    booleans,
    iso_dates,
    labels,
    loaded_at,
    money,
    nulled,
    numbered_ids,
    raw_table,
    timestamps,
)

# --- contracts -------------------------------------------------------------------------------
# Three tiers (one per customer's main chain, up/downgrades move between them), then add-ons
# that stack on top: a customer holds 1 to 4 distinct products at once.
PRODUCTS = ("basic", "plus", "pro", "storage", "support", "security")
TIERS = 3
MONTHLY_PRICE_CENTS = np.array([999, 1999, 3999, 399, 599, 799])
ADDON_COUNT_MIX = (0.62, 0.22, 0.11, 0.05)  # contract customers with 0, 1, 2, 3 add-ons
ADDON_OPEN_ENDED_SHARE = 0.75
ADDON_LOCK_IN = 0.75  # each add-on multiplies the customer's chance to leave by this
PRODUCT_MIX = {"consumer": (0.50, 0.35, 0.15), "business": (0.20, 0.40, 0.40)}
BILLING_PERIODS = ("month", "quarter", "year")
BILLING_MIX = (0.60, 0.15, 0.25)
BILLING_MONTHS = np.array([1, 3, 12])
BILLING_DISCOUNT = np.array([1.0, 0.95, 0.85])
YEARLY_PRICE_INCREASE = 0.04
OPEN_ENDED_SHARE = 0.12
CONCURRENT_SHARE = 0.07
CHURN_A, CHURN_B = 2.0, 7.0  # beta: chance to leave within a year of contract (mean 0.22)
# How a leaver leaves: silently at the end / cancels for the end / cancels early /
# cancels so late that the cancellation takes effect after end_date.
LEAVE_MIX = (0.25, 0.55, 0.14, 0.06)
OFFER_MADE_SHARE = 0.55  # on every kind of request, unretainable ones too (wasted there)
# The chance that a final offer is accepted, per churn type of the request's reason.
OFFER_ACCEPTED_SHARE = {"push": 0.35, "pull": 0.45, "unretainable": 0.10, "unknown": 0.30}
SAVE_RELAPSE_SHARE = 0.45  # saved customers who leave all the same within about 90 days
RENEWAL_GAP_MIX = (0.80, 0.12, 0.08)  # next day / within 30 days / 31-150 days later
CONTRACT_WINBACK_SHARE = 0.06
# Reason code: (share among cancellations, share among cancellations of detractors). Churn
# types belong to the `cancellation_reasons` seed; the comments only group the codes.
REASON_WEIGHTS = {
    "service_quality": (0.12, 0.22),  # push
    "price_too_high": (0.14, 0.12),
    "bill_shock": (0.07, 0.08),
    "unmet_expectations": (0.09, 0.16),
    "product_missing_feature": (0.08, 0.08),
    "competitor_offer": (0.12, 0.09),  # pull
    "competitor_better_product": (0.08, 0.06),
    "deceased": (0.02, 0.01),  # unretainable
    "bankruptcy": (0.03, 0.02),
    "emigration": (0.04, 0.03),
    "no_longer_needed": (0.17, 0.09),  # push in the seed
    "other_misc": (0.01, 0.01),  # not in the cancellation_reasons seed
    None: (0.03, 0.03),  # no reason recorded
}
REASON_CODES = tuple(code for code in REASON_WEIGHTS if code is not None)
# The churn type of each code as the `cancellation_reasons` seed has it (a test compares the
# two); a code the seed lacks and a missing code are `unknown`.
PUSH = ("service_quality", "price_too_high", "bill_shock", "unmet_expectations")
PUSH += ("product_missing_feature", "no_longer_needed")
REASON_CHURN_TYPE = {
    **dict.fromkeys(PUSH, "push"),
    "competitor_offer": "pull",
    "competitor_better_product": "pull",
    **dict.fromkeys(("deceased", "bankruptcy", "emigration"), "unretainable"),
}

# --- the renewal call: a retention programme that works (contract basis) ----------------------
RENEWAL_CALL = "renewal_call"
# Every RENEWAL_CALL_EVERY days from RENEWAL_CALL_FROM (a fraction of the window) on, a call
# wave picks the customers whose tier contract ends 7-36 days later; each customer once.
RENEWAL_CALL_FROM, RENEWAL_CALL_EVERY, RENEWAL_CALL_DAYS = 0.40, 30, (7, 36)
RENEWAL_CALL_RISK = 0.18  # only customers whose yearly chance to leave is at least this
RENEWAL_CALL_EFFECT = 0.20  # a called (treatment) customer's chance to leave is multiplied by this
RENEWAL_CALL_COST_CENTS = 1200  # an agent's call; control customers get none (cost null)


# === contracts and cancellations =============================================================


@dataclass
class Chains:
    """Contracts about to start: one per live chain of renewals."""

    customer: np.ndarray
    product: np.ndarray
    billing: np.ndarray
    start_day: np.ndarray
    open_ended: np.ndarray
    previous: np.ndarray  # row number of the contract this one renews, -1: none
    not_before_s: np.ndarray  # signed_at is not earlier than this (the customer's creation)

    def select(self, mask: np.ndarray) -> Chains:
        return Chains(*(getattr(self, f)[mask] for f in self.__dataclass_fields__))

    @staticmethod
    def concat(parts: list[Chains]) -> Chains:
        fields = Chains.__dataclass_fields__
        return Chains(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))


@dataclass
class ContractRows:
    parts: dict[str, list[np.ndarray]] = field(default_factory=dict)
    n: int = 0

    def add(self, **columns: np.ndarray) -> None:
        for name, values in columns.items():
            self.parts.setdefault(name, []).append(values)

    def column(self, name: str, dtype=np.int64) -> np.ndarray:
        return np.concatenate(self.parts[name]) if name in self.parts else np.zeros(0, dtype)


def _first_chains(rng: np.random.Generator, c: Customers, addons: np.ndarray) -> Chains:
    """Every contract customer's first contract, a concurrent second tier for a few, and the
    add-ons (`addons` per customer) that stack on top, each a chain of its own."""
    holders = np.flatnonzero(c.has_contract)
    n = holders.size
    created_day = c.created_s[holders] // DAY
    soon = rng.random(n) < 0.7
    start = created_day + np.where(soon, rng.integers(0, 15, n), rng.integers(30, 366, n))
    mix = np.where(c.business[holders, None], PRODUCT_MIX["business"], PRODUCT_MIX["consumer"])
    product = categorical(rng, mix)
    open_ended = rng.random(n) < OPEN_ENDED_SHARE
    billing = np.where(open_ended, 0, rng.choice(3, size=n, p=BILLING_MIX))
    first = Chains(
        holders, product, billing, start, open_ended, np.full(n, -1), c.created_s[holders]
    )
    second_of_holder = rng.random(n) < CONCURRENT_SHARE
    second = first.select(second_of_holder)
    k = second.customer.size
    second.product = (second.product + rng.integers(1, 3, k)) % 3  # a different product
    second.start_day = second.start_day + rng.integers(20, 400, k)
    second.billing = rng.choice(3, size=k, p=BILLING_MIX)
    second.open_ended = np.zeros(k, dtype=bool)
    # Add-ons: distinct products, signed up for some weeks or months after the first tier.
    order = np.argsort(rng.random((n, TIERS)), axis=1)  # a random order of the add-ons
    extra = []
    for j in range(len(PRODUCTS) - TIERS):
        # At most 4 products at once: a customer with a second tier takes at most 2 add-ons.
        has = (addons[holders] > j) & ~((j >= 2) & second_of_holder)
        addon = first.select(has)
        m = addon.customer.size
        addon.product = TIERS + order[has, j]
        addon.start_day = addon.start_day + rng.integers(0, 400, m)
        # Mostly month to month without an end (no renewal rows), else yearly terms.
        addon.open_ended = rng.random(m) < ADDON_OPEN_ENDED_SHARE
        addon.billing = np.where(addon.open_ended, 0, 2)
        extra.append(addon)
    return Chains.concat([first, second, *extra])


def _term_months(rng: np.random.Generator, billing: np.ndarray) -> np.ndarray:
    u = rng.random(billing.size)
    monthly = np.select([u < 0.3, u < 0.7], [3, 6], 12)
    quarterly = np.where(u < 0.5, 6, 12)
    yearly = np.where(u < 0.85, 12, 24)
    return np.select([billing == 0, billing == 1], [monthly, quarterly], yearly)


def _price_cents(product: np.ndarray, billing: np.ndarray, start_day: np.ndarray, w: Window):
    years = np.maximum(start_day - w.start_day, 0) // 365
    base = MONTHLY_PRICE_CENTS[product] * BILLING_MONTHS[billing] * BILLING_DISCOUNT[billing]
    return np.round(base * (1 + YEARLY_PRICE_INCREASE) ** years).astype(np.int64)


@dataclass
class TermOutcome:
    requested_s: np.ndarray  # nan: no cancellation request (yet)
    effective_day: np.ndarray
    withdrawn: np.ndarray  # a final offer was accepted
    offer_made: np.ndarray
    reason: np.ndarray  # code into REASON_CODES; len(REASON_CODES): none recorded
    leaves: np.ndarray  # leaves at the end of this contract (not withdrawn, or relapsed)
    relapse_s: np.ndarray  # a saved customer's second request (nan: none)
    relapse_effective_day: np.ndarray


# How a contract ends for a customer who leaves (LEAVE_MIX gives the first four their shares).
SILENT, FOR_END, EARLY, AFTER_END, OPEN_ENDED_CANCEL = range(5)


def _reasons(rng: np.random.Generator, detractor: np.ndarray) -> np.ndarray:
    """A reason code per request (index into REASON_CODES; one past the last: none)."""
    weights = np.array(list(REASON_WEIGHTS.values()))  # the null reason last
    mix = np.where(detractor[:, None], weights[:, 1], weights[:, 0])
    return categorical(rng, mix / mix.sum(axis=1, keepdims=True))


def _acceptance(reason: np.ndarray) -> np.ndarray:
    """The chance that a final offer on a request with this reason is accepted."""
    codes = (*REASON_CODES, None)
    kinds = [REASON_CHURN_TYPE.get(code, "unknown") for code in codes]
    return np.array([OFFER_ACCEPTED_SHARE[kind] for kind in kinds])[reason]


def _term_outcome(
    rng: np.random.Generator,
    churn: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    open_ended: np.ndarray,
    detractor: np.ndarray,
    w: Window,
) -> TermOutcome:
    """Whether the customer leaves after this contract, and how (silently or cancelling).

    `churn` is the chance to leave within this term; for open-ended contracts, within a year.
    A request's reason decides how likely a final offer saves the customer (hardly ever on
    unretainable churn); some saved customers ask again a few weeks later, without an offer,
    and leave all the same."""
    n = start.size
    leave = rng.random(n) < churn
    how = np.where(open_ended, OPEN_ENDED_CANCEL, rng.choice(4, size=n, p=LEAVE_MIX))
    term_days = end - start + 1
    request_day = np.select(
        [how == FOR_END, how == EARLY, how == AFTER_END, how == OPEN_ENDED_CANCEL],
        [
            end - rng.integers(10, 61, n),  # notice before the end of the term
            start + np.floor(rng.random(n) * np.maximum(term_days - 45, 1)).astype(np.int64),
            end - rng.integers(0, 8, n),  # too late to stop it in time
            start + np.floor(rng.exponential(365 / np.maximum(churn, 0.01))).astype(np.int64),
        ],
        -1,
    )
    request_day = np.maximum(request_day, start)
    effective_day = np.select(
        [how == FOR_END, how == AFTER_END], [end, end + rng.integers(1, 31, n)], request_day + 30
    )
    # Open-ended contracts: the churn hazard is in the waiting time for the request.
    requests = np.where(open_ended, True, leave & (how != SILENT))
    requested_s = (request_day * DAY + time_of_day(rng, n)).astype(float)
    requested_s = np.where(requests & (requested_s <= w.end_s), requested_s, np.nan)
    reason = _reasons(rng, detractor)
    offer_made = rng.random(n) < OFFER_MADE_SHARE
    accepted = rng.random(n) < _acceptance(reason)
    withdrawn = ~np.isnan(requested_s) & offer_made & accepted
    relapse = withdrawn & (rng.random(n) < SAVE_RELAPSE_SHARE)
    leaves = np.where(open_ended, ~np.isnan(requested_s), leave) & ~withdrawn | relapse
    # The relapse: a second request 5-25 days after the save, effective 14-30 days later
    # (at the latest at the end of the term); none when the term ends before it (the
    # customer simply does not renew).
    relapse_day = request_day + rng.integers(5, 26, n)
    relapse_effective = np.minimum(relapse_day + rng.integers(14, 31, n), end)
    relapse_s = (relapse_day * DAY + time_of_day(rng, n)).astype(float)
    asks_again = relapse & (relapse_day < end) & (relapse_s <= w.end_s)
    relapse_s = np.where(asks_again, relapse_s, np.nan)
    return TermOutcome(
        requested_s, effective_day, withdrawn, offer_made, reason, leaves, relapse_s,
        relapse_effective,
    )  # fmt: skip


def simulate_contracts(
    rng: np.random.Generator, c: Customers, w: Window
) -> tuple[ContractRows, ContractRows, Actions]:
    """Contracts term by term: renewals (on time or after a gap), up/downgrades, add-ons,
    churn, cancellations with final offers, and the renewal call (a programme with an effect).
    """
    churn = ranked_like(rng, rng.beta(CHURN_A, CHURN_B, c.n), -c.satisfaction, 0.6)
    addons = rng.choice(len(ADDON_COUNT_MIX), size=c.n, p=ADDON_COUNT_MIX)
    churn = churn * np.where(c.business, 0.8, 1.0) * ADDON_LOCK_IN**addons
    detractor = c.satisfaction < -0.5
    contracts, cancellations = ContractRows(), ContractRows()
    call = _RenewalCall(c.n, w)
    chains = _first_chains(rng, c, addons)
    while chains.customer.size:
        chains = chains.select(chains.start_day <= w.end_day)
        k = chains.customer.size
        if not k:
            break
        row = contracts.n + np.arange(k)
        start = chains.start_day
        term = _term_months(rng, chains.billing)
        end = add_months(start, term) - 1
        end = np.where(chains.open_ended, start + 100 * 365, end)  # far away; written as null
        # Days signed before the start: a renewal is signed up to 45 days ahead, or up to a
        # week after it started (back-office delays); a first contract 0-20 days ahead.
        lead = np.where(chains.previous >= 0, rng.integers(-7, 46, k), rng.integers(0, 21, k))
        signed = (start - lead) * DAY + time_of_day(rng, k)
        signed = np.clip(signed, chains.not_before_s, w.end_s)
        contracts.add(
            customer=chains.customer,
            product=chains.product,
            billing=chains.billing,
            start=start,
            end=end,
            open_ended=chains.open_ended,
            signed=signed,
            previous=chains.previous,
            price=_price_cents(chains.product, chains.billing, start, w),
        )
        contracts.n += k
        term_churn = 1 - (1 - churn[chains.customer]) ** (
            np.where(chains.open_ended, 12, term) / 12
        )
        called = call.assign(rng, c, chains, start, end, churn)
        term_churn = np.where(called, term_churn * RENEWAL_CALL_EFFECT, term_churn)
        outcome = _term_outcome(
            rng, term_churn, start, end, chains.open_ended, detractor[chains.customer], w
        )
        cancelled = ~np.isnan(outcome.requested_s)
        cancellations.add(
            contract=row[cancelled],
            customer=chains.customer[cancelled],
            requested=outcome.requested_s[cancelled].astype(np.int64),
            effective=outcome.effective_day[cancelled],
            offer_made=outcome.offer_made[cancelled],
            withdrawn=outcome.withdrawn[cancelled],
            reason=outcome.reason[cancelled],
        )
        again = ~np.isnan(outcome.relapse_s)
        cancellations.add(
            contract=row[again],
            customer=chains.customer[again],
            requested=outcome.relapse_s[again].astype(np.int64),
            effective=outcome.relapse_effective_day[again],
            offer_made=np.zeros(int(again.sum()), dtype=bool),
            withdrawn=np.zeros(int(again.sum()), dtype=bool),
            reason=outcome.reason[again],
        )
        cancellations.n += int(cancelled.sum() + again.sum())
        chains = Chains.concat(
            [
                _renewals(rng, chains, row, end, ~outcome.leaves & ~chains.open_ended, called),
                _contract_winbacks(rng, chains, end, outcome, churn),
            ]
        )
    return contracts, cancellations, call.actions


class _RenewalCall:
    """Call waves: at-risk customers whose tier contract ends 7-36 days after a wave day,
    assigned once, 50/50, on that day (while covered). A called (treatment) customer is much less
    likely to leave at the end of any of their contracts ending before the next wave."""

    def __init__(self, n_customers: int, w: Window):
        self.first = w.start_day + int(RENEWAL_CALL_FROM * (w.n_days - 1))
        self.last = w.end_day
        self.assigned = np.zeros(n_customers, dtype=bool)
        self.treatment = np.zeros(n_customers, dtype=bool)
        self.wave = np.zeros(n_customers, dtype=np.int64)
        self.actions = Actions()

    def _wave_day(self, end: np.ndarray) -> np.ndarray:
        """The wave that calls about a term ending on `end`."""
        lo = RENEWAL_CALL_DAYS[0]
        k = np.floor_divide(end - lo - self.first, RENEWAL_CALL_EVERY)
        return self.first + k * RENEWAL_CALL_EVERY

    def assign(self, rng, c: Customers, chains: Chains, start, end, churn) -> np.ndarray:
        """Whether each term belongs to a called (treatment) customer and ends in the
        weeks after the call."""
        wave = self._wave_day(end)
        in_reach = (wave >= self.first) & (wave <= self.last) & (start < wave)
        in_reach &= ~chains.open_ended
        due = in_reach & (chains.product < TIERS) & ~c.orphan[chains.customer]
        due &= churn[chains.customer] >= RENEWAL_CALL_RISK  # the at-risk list
        who, first = np.unique(chains.customer[due], return_index=True)
        fresh = ~self.assigned[who]
        who, day = who[fresh], wave[due][first][fresh]
        treated = rng.random(who.size) < 0.5
        self.assigned[who] = True
        self.treatment[who] = treated
        self.wave[who] = day
        at_s = day * DAY + 9 * 3600 + rng.integers(0, 8 * 3600, who.size)
        cost = np.where(treated, RENEWAL_CALL_COST_CENTS, -1)
        self.actions.add(0, who, at_s, treated, cost)
        called = self.treatment[chains.customer] & (wave == self.wave[chains.customer])
        return in_reach & called


def _renewals(
    rng: np.random.Generator,
    chains: Chains,
    row: np.ndarray,
    end: np.ndarray,
    renew: np.ndarray,
    called: np.ndarray,
) -> Chains:
    """The next term of each renewing chain; a called customer renews on time (no gap)."""
    nxt = chains.select(renew)
    k = nxt.customer.size
    gap_kind = rng.choice(3, size=k, p=RENEWAL_GAP_MIX)
    gap = np.select(
        [gap_kind == 1, gap_kind == 2], [rng.integers(1, 31, k), rng.integers(31, 151, k)], 0
    )
    gap = np.where(called[renew], 0, gap)
    nxt.start_day = end[renew] + 1 + gap
    u = rng.random(k)
    step = np.where(u < 0.09, 1, np.where(u < 0.16, -1, 0))  # upgrade / downgrade / same
    tier = nxt.product < TIERS  # add-ons keep their product
    nxt.product = np.where(tier, np.clip(nxt.product + step, 0, TIERS - 1), nxt.product)
    switch = rng.random(k) < 0.05
    nxt.billing = np.where(switch, rng.integers(0, 3, k), nxt.billing)
    nxt.previous = row[renew]
    nxt.not_before_s = np.zeros(k, dtype=np.int64)
    return nxt


def _contract_winbacks(
    rng: np.random.Generator,
    chains: Chains,
    end: np.ndarray,
    outcome: TermOutcome,
    churn: np.ndarray,
) -> Chains:
    """A few churned contract customers sign a new, unlinked contract months later."""
    coverage_end = np.where(
        np.isnan(outcome.requested_s), end, np.minimum(end, outcome.effective_day)
    )
    back = outcome.leaves & (chains.product < TIERS)
    back &= rng.random(end.size) < CONTRACT_WINBACK_SHARE
    nxt = chains.select(back)
    k = nxt.customer.size
    nxt.start_day = coverage_end[back] + rng.integers(40, 500, k)
    nxt.product = rng.integers(0, TIERS, k)
    nxt.open_ended = np.zeros(k, dtype=bool)
    nxt.previous = np.full(k, -1)
    nxt.not_before_s = np.zeros(k, dtype=np.int64)
    return nxt


def contracts_table(
    rng: np.random.Generator, c: Customers, rows: ContractRows, first_number: int, w: Window
) -> pa.Table:
    n = rows.n
    previous = rows.column("previous")
    open_ended = rows.column("open_ended", bool)
    signed = rows.column("signed")
    signed_null = rng.random(n) < 0.05
    start = rows.column("start")
    return raw_table(
        "contracts",
        {
            "contract_id": numbered_ids("S", first_number + np.arange(n), 8),
            "customer_id": c.ids.take(pa.array(rows.column("customer"))),
            "product": labels(rows.column("product"), PRODUCTS),
            "start_date": iso_dates(start),
            "billing_period": labels(rows.column("billing"), BILLING_PERIODS),
            "price": money(rows.column("price")),
            "currency": pa.array(np.full(n, "EUR")),
            "signed_at": timestamps(rng, signed, signed_null),
            "end_date": iso_dates(rows.column("end"), open_ended),
            "previous_contract_id": nulled(
                numbered_ids("S", first_number + np.maximum(previous, 0), 8), previous < 0
            ),
            "_loaded_at": loaded_at(rng, np.where(signed_null, start * DAY, signed), w),
        },
    )


def cancellations_table(
    rng: np.random.Generator,
    c: Customers,
    rows: ContractRows,
    first_number: int,
    first_contract_number: int,
    w: Window,
) -> pa.Table:
    n = rows.n
    offer_made = rows.column("offer_made", bool)
    withdrawn = rows.column("withdrawn", bool)
    # Optional flags: sometimes not recorded (null), more often when no offer was made.
    made_null = (rng.random(n) < 0.03) & ~withdrawn
    accepted_null = ~offer_made & (rng.random(n) < 0.5) | made_null
    requested = rows.column("requested")
    return raw_table(
        "cancellations",
        {
            "cancellation_id": numbered_ids("X", first_number + np.arange(n), 8),
            "contract_id": numbered_ids("S", first_contract_number + rows.column("contract"), 8),
            "requested_at": timestamps(rng, requested),
            "effective_date": iso_dates(rows.column("effective")),
            "reason_code": labels(rows.column("reason"), REASON_CODES),
            "final_offer_made": booleans(offer_made, made_null),
            "final_offer_accepted": booleans(withdrawn, accepted_null & ~withdrawn),
            "_loaded_at": loaded_at(rng, requested, w),
        },
    )
