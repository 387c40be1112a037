"""Orders: a BG/NBD-like purchase process per buyer, order values, cancellations, refunds."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from retention.generate.common import DAY, YEAR, Window, ranked_like
from retention.generate.customers import Customers
from retention.generate.text import labels, loaded_at, money, numbered_ids, raw_table, timestamps

# --- orders ----------------------------------------------------------------------------------
ONE_OFF_SHARE = 0.30  # buyers who never mean to come back (drop out after the first purchase)
PURCHASE_RATE_SHAPE, PURCHASE_RATE_SCALE = 1.5, 25.0  # gamma: purchases per year (mean 37.5)
DROPOUT_A, DROPOUT_B = 0.35, 1.8  # beta, U-shaped: chance to drop out after each purchase
FIRST_PURCHASE_DELAY_DAYS = 2.0  # mean delay between sign-up and first purchase
REACTIVATION_SHARE = 0.06  # of dropped-out buyers, come back after more than a year
ORDER_VALUE_EUR, CUSTOMER_VALUE_SIGMA, ORDER_VALUE_SIGMA = 38.0, 0.45, 0.55
CANCELLED_SHARE, REFUNDED_SHARE, PARTIAL_REFUND_SHARE = 0.05, 0.03, 0.04


# === orders ==================================================================================


@dataclass
class Purchases:
    customer: np.ndarray  # index into the chunk's customers
    at_s: np.ndarray  # epoch seconds (float)

    @staticmethod
    def concat(parts: Iterable[Purchases]) -> Purchases:
        parts = list(parts)
        return Purchases(
            np.concatenate([p.customer for p in parts]), np.concatenate([p.at_s for p in parts])
        )


def purchase_process(
    rng: np.random.Generator,
    who: np.ndarray,
    first_at: np.ndarray,
    rate: np.ndarray,
    dropout: np.ndarray,
    w: Window,
) -> tuple[Purchases, np.ndarray, np.ndarray]:
    """BG/NBD-like: a purchase at `first_at`; after each purchase the customer drops out for good
    with probability `dropout`, else buys again after an exponential gap (`rate` per year).

    Returns the purchases up to the end of the window, and per `who` whether the customer
    dropped out before the end and the time of their last purchase (nan: none).
    """
    customers, times = [], []
    dropped = np.zeros(who.size, dtype=bool)
    last = np.full(who.size, np.nan)
    pos, t = np.arange(who.size), np.asarray(first_at, dtype=float)
    while pos.size:
        inside = t <= w.end_s
        pos, t = pos[inside], t[inside]
        customers.append(who[pos])
        times.append(t)
        last[pos] = t
        drop = rng.random(pos.size) < dropout[who[pos]]
        dropped[pos[drop]] = True
        pos, t = pos[~drop], t[~drop]
        t = t + rng.standard_exponential(pos.size) / rate[who[pos]] * YEAR
    purchases = Purchases(
        np.concatenate(customers) if customers else np.zeros(0, dtype=np.int64),
        np.concatenate(times) if times else np.zeros(0),
    )
    return purchases, dropped, last


@dataclass
class BuyerTraits:
    rate: np.ndarray  # purchases per year
    dropout: np.ndarray  # chance to drop out after a purchase
    value_log_mean: np.ndarray  # log of the customer's typical order value


def buyer_traits(rng: np.random.Generator, c: Customers) -> BuyerTraits:
    rate = rng.gamma(PURCHASE_RATE_SHAPE, PURCHASE_RATE_SCALE, c.n) * np.where(c.business, 1.4, 1.0)
    dropout = rng.beta(DROPOUT_A, DROPOUT_B, c.n)
    dropout = ranked_like(
        rng, np.where(rng.random(c.n) < ONE_OFF_SHARE, 1.0, dropout), -c.satisfaction, 0.6
    )
    value = np.log(ORDER_VALUE_EUR) + np.where(c.business, 0.9, 0.0)
    value = value + CUSTOMER_VALUE_SIGMA * rng.standard_normal(c.n)
    return BuyerTraits(np.clip(rate, 0.5, 60.0), dropout, value)


def order_events(rng: np.random.Generator, c: Customers, t: BuyerTraits, w: Window) -> Purchases:
    """The buying life of every buyer, plus a return after a long absence for a few."""
    buyers = np.flatnonzero(c.is_buyer)
    delay = rng.standard_exponential(buyers.size) * FIRST_PURCHASE_DELAY_DAYS * DAY
    first, dropped, last = purchase_process(
        rng, buyers, c.created_s[buyers] + delay, t.rate, t.dropout, w
    )
    back = dropped & (rng.random(buyers.size) < REACTIVATION_SHARE)
    who = buyers[back]
    away = (366 + rng.exponential(150, who.size)) * DAY
    fresh_dropout = rng.beta(DROPOUT_A, DROPOUT_B, c.n)
    again, _, _ = purchase_process(rng, who, last[back] + away, t.rate, fresh_dropout, w)
    return Purchases.concat([first, again])


def orders_table(
    rng: np.random.Generator,
    c: Customers,
    t: BuyerTraits,
    purchases: Purchases,
    first_number: int,
    w: Window,
) -> pa.Table:
    order = np.argsort(purchases.at_s, kind="stable")
    who, at_s = purchases.customer[order], np.floor(purchases.at_s[order]).astype(np.int64)
    n = who.size
    value = np.exp(t.value_log_mean[who] + ORDER_VALUE_SIGMA * rng.standard_normal(n))
    cents = np.round(np.clip(value, 1.0, 5000.0) * 100).astype(np.int64)
    u = rng.random(n)
    cancelled = u < CANCELLED_SHARE
    refunded = (u >= CANCELLED_SHARE) & (u < CANCELLED_SHARE + REFUNDED_SHARE)
    partial = u >= 1 - PARTIAL_REFUND_SHARE
    refund = np.where(partial, np.floor(cents * rng.uniform(0.05, 0.95, n)), 0).astype(np.int64)
    refund = np.where(refunded, cents, np.clip(refund, 0, cents - 1))
    v = rng.random(n)
    # Refunds are null for most rows, explicitly 0.00 for some; a full refund may be left null.
    refund_null = np.where(partial, False, np.where(refunded, v < 0.3, v < 0.85))
    status = np.where(cancelled, 1, np.where(refunded, 2, 0))
    later = np.where(partial | refunded, rng.integers(2, 30, n), 1)  # the row updated by a refund
    return raw_table(
        "orders",
        {
            "order_id": numbered_ids("O", first_number + np.arange(n), 9),
            "customer_id": c.ids.take(pa.array(who)),
            "ordered_at": timestamps(rng, at_s),
            "status": labels(status, ("completed", "cancelled", "refunded")),
            "amount": money(cents),
            "currency": pa.array(np.full(n, "EUR")),
            "refunded_amount": money(refund, refund_null),
            "_loaded_at": loaded_at(rng, at_s + (later - 1) * DAY, w),
        },
    )
