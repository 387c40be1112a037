"""Retention operations: NPS surveys and the retention programmes (`retention_actions`).

Three programmes, each assigning customers at random to treatment or control:

- `renewal_call` (decided in `contracts`): customers whose contract is up for renewal get a
  call; it works (treatment customers leave far less often at that term's end);
- `winback_lapsed`: a customer whose last order is LAPSE_DAYS old gets a voucher; it works
  (treatment customers come back to buy more often within weeks);
- `loyalty_newsletter`: active customers get a discount newsletter on one day, some a
  reminder a week later (a second action, its cost counts); it changes nothing.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from retention.generate.common import DAY, Actions, Window, time_of_day
from retention.generate.contracts import RENEWAL_CALL, ContractRows
from retention.generate.customers import Customers
from retention.generate.orders import DROPOUT_A, DROPOUT_B, BuyerTraits, Purchases, purchase_process
from retention.generate.text import labels, loaded_at, money, numbered_ids, raw_table, timestamps

# --- retention programmes --------------------------------------------------------------------
WINBACK = "winback_lapsed"
NEWSLETTER = "loyalty_newsletter"
CAMPAIGNS = (RENEWAL_CALL, WINBACK, NEWSLETTER)  # the codes of Actions.campaign

WINBACK_FROM = 0.35  # the win-back trigger runs from this fraction of the window on
LAPSE_DAYS = 300  # days since the last order that trigger the win-back voucher
# Who buys again within weeks of the assignment (beyond those who come back by themselves).
WINBACK_PURCHASE_SHARE = {"treatment": 0.30, "control": 0.08}
WINBACK_COST_CENTS = 500  # the voucher; control customers get none (cost null)

NEWSLETTER_AT = 0.45  # the day, as a fraction of the window, the newsletter goes out
NEWSLETTER_SHARE = 0.40  # of the customers active that day
NEWSLETTER_REMINDER_SHARE = 0.20  # of the treatment group, a reminder a week later
NEWSLETTER_COST_CENTS = 30  # per mail sent; control customers are recorded at 0.00

# --- NPS -------------------------------------------------------------------------------------
NPS_SURVEY_SHARE = 0.45  # customers asked a few weeks after their first activity
# Of those, asked again on a random day of their relationship (once, and a second time).
NPS_RELATIONSHIP_SHARES = (0.60, 0.30)
NPS_AFTER_LAST_ACTIVITY_DAYS = 240  # a relationship survey can reach a customer this late
# Customers who are on their way out (their last activity, before the end, is at most this
# many days ahead, or already past) score this many points lower.
NPS_LEAVING_DAYS, NPS_LEAVING_PENALTY = 120, 2.5


def _day_s(w: Window, fraction: float) -> int:
    return (w.start_day + int(fraction * (w.n_days - 1))) * DAY


def winback_campaign(
    rng: np.random.Generator, c: Customers, t: BuyerTraits, purchases: Purchases, w: Window
) -> tuple[Actions, Purchases]:
    """The first lapse (LAPSE_DAYS without an order) of each buyer after the trigger starts;
    treatment brings more of them back to buy."""
    order = np.lexsort((purchases.at_s, purchases.customer))
    who, at = purchases.customer[order], purchases.at_s[order]
    same_next = np.r_[who[1:] == who[:-1], False]
    next_at = np.where(same_next, np.r_[at[1:], np.inf], np.inf)
    lapse_s = at + LAPSE_DAYS * DAY
    lapsed = (next_at > lapse_s) & (lapse_s >= _day_s(w, WINBACK_FROM)) & (lapse_s <= w.end_s)
    lapsed &= ~c.orphan[who]
    customers, first = np.unique(who[lapsed], return_index=True)
    assigned_s = np.floor(lapse_s[lapsed][first]).astype(np.int64)
    assigned_s = np.minimum(assigned_s + rng.integers(0, DAY, customers.size), w.end_s)
    treatment = rng.random(customers.size) < 0.5
    share = np.where(
        treatment, WINBACK_PURCHASE_SHARE["treatment"], WINBACK_PURCHASE_SHARE["control"]
    )
    back = rng.random(customers.size) < share
    first_at = assigned_s[back] + (1 + rng.exponential(20, back.sum())) * DAY
    fresh_dropout = rng.beta(DROPOUT_A, DROPOUT_B, c.n)
    extra, _, _ = purchase_process(rng, customers[back], first_at, t.rate, fresh_dropout, w)
    actions = Actions()
    cost = np.where(treatment, WINBACK_COST_CENTS, -1)
    actions.add(CAMPAIGNS.index(WINBACK), customers, assigned_s, treatment, cost)
    return actions, extra


def _coverage_end_day(contracts: ContractRows, cancellations: ContractRows) -> np.ndarray:
    """Per contract row: the last covered day (end_date, or an earlier effective cancellation
    that was not withdrawn)."""
    end = contracts.column("end").copy()
    live = ~cancellations.column("withdrawn", bool)
    np.minimum.at(
        end, cancellations.column("contract")[live], cancellations.column("effective")[live]
    )
    return end


def newsletter_campaign(
    rng: np.random.Generator,
    c: Customers,
    purchases: Purchases,
    contracts: ContractRows,
    cancellations: ContractRows,
    w: Window,
) -> Actions:
    """Customers active on the day (an order in the past year or a covering contract), a
    share of them assigned 50/50; nobody behaves differently for it."""
    day_s = _day_s(w, NEWSLETTER_AT)
    active = np.zeros(c.n, dtype=bool)
    recent = (purchases.at_s <= day_s) & (purchases.at_s > day_s - 365 * DAY)
    active[purchases.customer[recent]] = True
    day = day_s // DAY
    covering = (contracts.column("start") <= day) & (
        _coverage_end_day(contracts, cancellations) >= day
    )
    active[contracts.column("customer")[covering]] = True
    who = np.flatnonzero(active & ~c.orphan & (rng.random(c.n) < NEWSLETTER_SHARE))
    treatment = rng.random(who.size) < 0.5
    at_s = day_s + time_of_day(rng, who.size)
    cost = np.where(treatment, NEWSLETTER_COST_CENTS, 0)
    reminded = treatment & (rng.random(who.size) < NEWSLETTER_REMINDER_SHARE)
    actions = Actions()
    code = CAMPAIGNS.index(NEWSLETTER)
    actions.add(code, who, at_s, treatment, cost)
    actions.add(code, who[reminded], at_s[reminded] + 7 * DAY, treatment[reminded], cost[reminded])
    return actions


def retention_actions_table(
    rng: np.random.Generator, c: Customers, actions: Actions, first_number: int, w: Window
) -> pa.Table:
    """Every programme's actions in the order they happened (nothing after the end date)."""
    at_s = actions.column("at_s")
    keep = at_s <= w.end_s
    order = np.flatnonzero(keep)[np.argsort(at_s[keep], kind="stable")]
    at_s = at_s[order]
    customer = actions.column("customer")[order]
    treatment = actions.column("treatment").astype(bool)[order]
    cost = actions.column("cost_cents")[order]
    n = order.size
    return raw_table(
        "retention_actions",
        {
            "action_id": numbered_ids("A", first_number + np.arange(n), 8),
            "customer_id": c.ids.take(pa.array(customer)),
            "campaign": labels(actions.column("campaign")[order], CAMPAIGNS),
            "assigned_group": labels(np.where(treatment, 0, 1), ("treatment", "control")),
            "assigned_at": timestamps(rng, at_s),
            "cost": money(np.maximum(cost, 0), cost < 0),
            "_loaded_at": loaded_at(rng, at_s, w),
        },
    )


# === NPS =====================================================================================


def nps_table(
    rng: np.random.Generator,
    c: Customers,
    purchases: Purchases,
    contracts: ContractRows,
    cancellations: ContractRows,
    first_number: int,
    w: Window,
) -> pa.Table:
    """An onboarding survey some weeks after the first activity; for some, relationship
    surveys on random days between then and some months after their last activity (so some
    reach customers who are about to lapse). The score follows the latent satisfaction that
    also drives churn, and drops in a customer's last months: detractors churn more."""
    first = np.full(c.n, np.inf)
    np.minimum.at(first, purchases.customer, purchases.at_s)
    np.minimum.at(first, contracts.column("customer"), contracts.column("start") * DAY)
    last = np.full(c.n, -np.inf)
    np.maximum.at(last, purchases.customer, purchases.at_s)
    covered_until = np.minimum(_coverage_end_day(contracts, cancellations), w.end_day) * DAY
    np.maximum.at(last, contracts.column("customer"), covered_until.astype(float))
    surveyed = np.flatnonzero(~c.orphan & np.isfinite(first) & (rng.random(c.n) < NPS_SURVEY_SHARE))
    parts_who = [surveyed]
    parts_at = [first[surveyed] + rng.uniform(14, 120, surveyed.size) * DAY]
    span_from = first[surveyed] + 120 * DAY
    span_to = np.maximum(last[surveyed] + NPS_AFTER_LAST_ACTIVITY_DAYS * DAY, span_from + DAY)
    for share in NPS_RELATIONSHIP_SHARES:
        again = rng.random(surveyed.size) < share
        parts_who.append(surveyed[again])
        parts_at.append(rng.uniform(span_from[again], span_to[again]))
    who, at_s = np.concatenate(parts_who), np.concatenate(parts_at)
    inside = at_s <= w.end_s
    who, at_s = who[inside], np.floor(at_s[inside]).astype(np.int64)
    order = np.argsort(at_s, kind="stable")
    who, at_s = who[order], at_s[order]
    n = who.size
    gone = last[who] < w.end_s - 30 * DAY  # left before the end of the window
    leaving = gone & (at_s >= last[who] - NPS_LEAVING_DAYS * DAY)
    score = 7.0 + 2.2 * c.satisfaction[who] + 1.3 * rng.standard_normal(n)
    score = np.clip(np.round(score - NPS_LEAVING_PENALTY * leaving), 0, 10)
    return raw_table(
        "nps_responses",
        {
            "response_id": numbered_ids("R", first_number + np.arange(n), 8),
            "customer_id": c.ids.take(pa.array(who)),
            "responded_at": timestamps(rng, at_s),
            "score": pa.array(score.astype(np.int64)).cast(pa.string()),
            "_loaded_at": loaded_at(rng, at_s, w),
        },
    )
