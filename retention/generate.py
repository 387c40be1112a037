"""`retention generate`: write a synthetic raw data set with realistic retention behaviour.

One file per raw table (SPEC section 5, columns in the order of `retention.contract.TABLES`),
every value written as text exactly like the raw schema stores it. The data set is built per
chunk of customers with vectorised numpy; every chunk has its own random stream spawned from
the seed, so the same arguments always give the same bytes, whatever the machine.

The behaviour it simulates, and which the warehouse should find back:

- acquisition grows over the window with a seasonal peak around November, through channels
  whose mix shifts over time (a few customers have no channel);
- orders follow a BG/NBD-like process: every buyer has a purchase rate (gamma distributed)
  and, after each purchase, a chance to drop out for good (beta distributed), so one-off
  buyers and loyal repeaters arise naturally; a few customers come back after more than a
  year; order values are lognormal; some orders are cancelled, refunded or partly refunded;
- about 45% of customers hold subscription contracts: fixed terms renewed into chains linked
  by `previous_contract_id` (on time, after a short gap, or after a long one), with upgrades,
  downgrades and yearly price increases; some open-ended contracts; a few customers run two
  contracts at once; cancellations with reason codes and final offers (an accepted offer
  withdraws the cancellation); silent churn where a contract simply runs out;
- a latent satisfaction per customer drives both the NPS score and the chance to churn, so
  detractors churn more;
- a win-back campaign assigns lapsing customers 50/50 to treatment and control; treatment
  customers come back to buy more often;
- marketing spend per channel and month follows that channel's acquisitions;
- a few orders and contracts belong to customers missing from `customers` (valid rows: the
  warehouse keeps them as inferred customers).

Nothing happens after `--end`: every event timestamp (created_at, ordered_at, signed_at,
requested_at, responded_at, assigned_at) and every start_date is on or before the end date.
Planned dates may lie beyond it (a contract's end_date, a cancellation's effective_date).
`_loaded_at` is the batch load of the night after the event (02:00-03:00 UTC), so it can be
the day after `--end`.

`--dirty` appends a known mix of defective rows after the clean rows of each file (the clean
rows stay byte-identical) and lists them in `_defects.json`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from retention import console
from retention.contract import TABLES

DAY = 86_400
YEAR = 365.25 * DAY
CHUNK_SIZE = 50_000  # customers per chunk; part of the output's identity (do not tune per run)
FORMATS = ("csv", "parquet")
DEFECTS_FILE = "_defects.json"

# --- customers -------------------------------------------------------------------------------
CHANNELS = ("organic", "paid_search", "social", "referral", "email")
# Channel mix at the start and at the end of the window; the last share is a missing channel.
CHANNEL_MIX_START = (0.42, 0.24, 0.11, 0.10, 0.10, 0.03)
CHANNEL_MIX_END = (0.30, 0.31, 0.20, 0.10, 0.06, 0.03)
COUNTRIES = ("NL", "BE", "DE", "FR", "LU")
COUNTRY_MIX = (0.44, 0.20, 0.20, 0.10, 0.03, 0.03)
SEGMENTS = ("consumer", "business")
SEGMENT_MIX = (0.85, 0.13, 0.02)
ACQUISITION_GROWTH = 2.0  # the daily acquisition rate triples from start to end
SEASONAL_AMPLITUDE = 0.25
SEASONAL_PEAK_DOY = 330  # late November
# Share of customer creations, orders, ... per hour of the day (UTC): quiet nights, busy evenings.
HOUR_WEIGHTS = np.array(
    [2, 1, 1, 1, 1, 2, 3, 5, 6, 7, 7, 7, 8, 7, 7, 7, 7, 8, 9, 10, 10, 9, 6, 4], dtype=float
)
ORPHANS_PER_CUSTOMER = 0.001  # customers with orders/contracts but absent from `customers`

# --- orders ----------------------------------------------------------------------------------
ONE_OFF_SHARE = 0.30  # buyers who never mean to come back (drop out after the first purchase)
PURCHASE_RATE_SHAPE, PURCHASE_RATE_SCALE = 1.5, 25.0  # gamma: purchases per year (mean 37.5)
DROPOUT_A, DROPOUT_B = 0.35, 1.8  # beta, U-shaped: chance to drop out after each purchase
FIRST_PURCHASE_DELAY_DAYS = 2.0  # mean delay between sign-up and first purchase
REACTIVATION_SHARE = 0.06  # of dropped-out buyers, come back after more than a year
ORDER_VALUE_EUR, CUSTOMER_VALUE_SIGMA, ORDER_VALUE_SIGMA = 38.0, 0.45, 0.55
CANCELLED_SHARE, REFUNDED_SHARE, PARTIAL_REFUND_SHARE = 0.05, 0.03, 0.04

# --- contracts -------------------------------------------------------------------------------
PRODUCTS = ("basic", "plus", "pro")
MONTHLY_PRICE_CENTS = np.array([999, 1999, 3999])
PRODUCT_MIX = {"consumer": (0.50, 0.35, 0.15), "business": (0.20, 0.40, 0.40)}
BILLING_PERIODS = ("month", "quarter", "year")
BILLING_MIX = (0.60, 0.15, 0.25)
BILLING_MONTHS = np.array([1, 3, 12])
BILLING_DISCOUNT = np.array([1.0, 0.95, 0.85])
YEARLY_PRICE_INCREASE = 0.04
CONTRACT_SHARE = {"consumer": 0.43, "business": 0.75}
OPEN_ENDED_SHARE = 0.12
CONCURRENT_SHARE = 0.07
CHURN_A, CHURN_B = 2.0, 7.0  # beta: chance to leave within a year of contract (mean 0.22)
# How a leaver leaves: silently at the end / cancels for the end / cancels early /
# cancels so late that the cancellation takes effect after end_date.
LEAVE_MIX = (0.35, 0.48, 0.12, 0.05)
OFFER_MADE_SHARE, OFFER_ACCEPTED_SHARE = 0.40, 0.30
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
    "no_longer_needed": (0.17, 0.09),  # push or unretainable: the seed decides
    "other_misc": (0.01, 0.01),  # not in the cancellation_reasons seed
    None: (0.03, 0.03),  # no reason recorded
}
REASON_CODES = tuple(code for code in REASON_WEIGHTS if code is not None)

# --- NPS and the retention campaign ----------------------------------------------------------
NPS_SURVEY_SHARE, NPS_SECOND_SURVEY_SHARE = 0.35, 0.30
CAMPAIGN_AT = 0.7  # the campaign runs at this fraction of the window
AT_RISK_DAYS = (120, 365)  # days since the last order that make a customer "at risk"
WINBACK_PURCHASE_SHARE = {"treatment": 0.25, "control": 0.10}

# --- marketing spend -------------------------------------------------------------------------
CAC_EUR = {"paid_search": 55.0, "social": 40.0, "referral": 20.0, "email": 12.0}
MONTHLY_BASE_SPEND_EUR = {"paid_search": 400.0, "social": 250.0, "referral": 0.0, "email": 150.0}


# === options and the time window =============================================================


@dataclass(frozen=True)
class Options:
    out: Path
    customers: int = 2000
    seed: int = 42
    start: date = date(2021, 1, 1)
    end: date = date(2024, 6, 30)
    format: str = "csv"
    dirty: bool = False
    chunk_size: int = CHUNK_SIZE
    progress: bool = True


@dataclass(frozen=True)
class Window:
    """The simulated period in epoch seconds and epoch days (both ends inclusive)."""

    start_day: int
    end_day: int

    @classmethod
    def of(cls, opts: Options) -> Window:
        epoch = date(1970, 1, 1)
        return cls((opts.start - epoch).days, (opts.end - epoch).days)

    @property
    def start_s(self) -> int:
        return self.start_day * DAY

    @property
    def end_s(self) -> int:
        """The last second of the end date."""
        return (self.end_day + 1) * DAY - 1

    @property
    def n_days(self) -> int:
        return self.end_day - self.start_day + 1

    @property
    def load_cap_s(self) -> int:
        """The latest load: the batch of the night after the end date."""
        return (self.end_day + 1) * DAY + 3 * 3600 - 1

    @property
    def campaign_s(self) -> int:
        day = self.start_day + int(CAMPAIGN_AT * (self.n_days - 1))
        return day * DAY + 9 * 3600


# === text rendering (every raw column is text) ===============================================


def _iso(secs: np.ndarray) -> pa.Array:
    text = pa.array(np.asarray(secs, dtype=np.int64).astype("datetime64[s]")).cast(pa.string())
    return pc.utf8_replace_slice(text, start=10, stop=11, replacement="T")


def _timestamps(
    rng: np.random.Generator, secs: np.ndarray, null: np.ndarray | None = None
) -> pa.Array:
    """ISO 8601: mostly `...Z`; 9% without offset (UTC by contract); 3% as `+02:00` local time."""
    secs = np.asarray(secs, dtype=np.int64)
    u = rng.random(secs.size)
    text = pc.binary_join_element_wise(_iso(secs), "Z", "")
    naive = u < 0.09
    text = pc.replace_with_mask(text, pa.array(naive), _iso(secs[naive]))
    local = u > 0.97
    shifted = pc.binary_join_element_wise(_iso(secs[local] + 7200), "+02:00", "")
    text = pc.replace_with_mask(text, pa.array(local), shifted)
    return _nulled(text, null)


def _loaded_at(rng: np.random.Generator, event_s: np.ndarray, w: Window, days: int = 1):
    """The nightly batch (02:00-03:00 UTC) `days` after the event, at the latest after `end`."""
    day = np.asarray(event_s, dtype=np.int64) // DAY + days
    secs = day * DAY + 2 * 3600 + rng.integers(0, 3600, day.size)
    secs = np.minimum(secs, w.load_cap_s)
    return pc.binary_join_element_wise(_iso(secs), "Z", "")


def _dates(days: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    values = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    return pa.array(values, mask=null).cast(pa.string())


def _money(cents: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    cents = np.asarray(cents, dtype=np.int64)
    units = pa.array(cents // 100).cast(pa.string())
    hundredths = pc.utf8_lpad(pa.array(cents % 100).cast(pa.string()), 2, "0")
    return _nulled(pc.binary_join_element_wise(units, hundredths, "."), null)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(
        pa.array(np.asarray(numbers, dtype=np.int64)).cast(pa.string()), width, "0"
    )
    return pc.binary_join_element_wise(prefix, digits, "")


def _labels(codes: np.ndarray, values: tuple[str, ...]) -> pa.Array:
    """Category codes to text; code len(values) (one past the last) is null."""
    codes = np.asarray(codes, dtype=np.int32)
    indices = pa.array(codes, mask=codes >= len(values))
    return pa.DictionaryArray.from_arrays(indices, pa.array(values)).cast(pa.string())


def _booleans(values: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    codes = np.where(values, 1, 0)
    if null is not None:
        codes = np.where(null, 2, codes)
    return _labels(codes, ("false", "true"))


def _nulled(values: pa.Array, null: np.ndarray | None) -> pa.Array:
    if null is None or not null.any():
        return values
    return pc.if_else(pa.array(null), pa.scalar(None, pa.string()), values)


def _table(name: str, columns: dict[str, pa.Array]) -> pa.Table:
    """A raw table with exactly the contract's columns, in the contract's order."""
    expected = TABLES[name].columns
    if set(columns) != set(expected):
        raise ValueError(f"{name}: columns {sorted(columns)} differ from contract {expected}")
    arrays = [
        columns[c] if columns[c].type == pa.string() else columns[c].cast(pa.string())
        for c in expected
    ]
    return pa.Table.from_arrays(arrays, schema=_schema(name))


def _schema(name: str) -> pa.Schema:
    return pa.schema([(c, pa.string()) for c in TABLES[name].columns])


# === random helpers ==========================================================================


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of `probs` (rows sum to 1): the index of the chosen column."""
    u = rng.random(probs.shape[0])
    return (u[:, None] > np.cumsum(probs, axis=1)[:, :-1]).sum(axis=1)


def _ranked_like(rng: np.random.Generator, values: np.ndarray, driver: np.ndarray, rho: float):
    """`values` reordered so that their rank follows `driver` with correlation about `rho`."""
    key = rho * driver + np.sqrt(1 - rho**2) * rng.standard_normal(driver.size)
    out = np.empty_like(values)
    out[np.argsort(key, kind="stable")] = np.sort(values, kind="stable")
    return out


def _time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    hour = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    return hour * 3600 + rng.integers(0, 3600, n)


def _add_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Epoch days plus whole months, the day of month clipped to the target month's length."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    day_of_month = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(months, dtype=np.int64).astype("timedelta64[M]")
    first = target.astype("datetime64[D]")
    month_length = ((target + 1).astype("datetime64[D]") - first).astype(np.int64)
    return first.astype(np.int64) + np.minimum(day_of_month, month_length - 1)


# === customers ===============================================================================


def _acquisition_cdf(w: Window) -> np.ndarray:
    """Cumulative share of acquisitions per day of the window: growth times seasonality."""
    day = np.arange(w.n_days)
    dates = (w.start_day + day).astype("datetime64[D]")
    day_of_year = (dates - dates.astype("datetime64[Y]").astype("datetime64[D]")).astype(int)
    trend = 1 + ACQUISITION_GROWTH * day / max(w.n_days - 1, 1)
    season = 1 + SEASONAL_AMPLITUDE * np.cos(2 * np.pi * (day_of_year - SEASONAL_PEAK_DOY) / 365.25)
    weights = trend * season
    return np.cumsum(weights) / weights.sum()


def _acquisition_times(rng: np.random.Generator, n: int, cdf: np.ndarray, w: Window):
    day = np.searchsorted(cdf, rng.random(n), side="right")
    return w.start_s + np.minimum(day, w.n_days - 1) * DAY + _time_of_day(rng, n)


@dataclass
class Customers:
    """The customers of one chunk (orphans last: they have orders/contracts, no customer row)."""

    ids: pa.Array
    created_s: np.ndarray
    orphan: np.ndarray
    channel: np.ndarray  # code into CHANNELS, len(CHANNELS) = missing
    country: np.ndarray
    segment: np.ndarray
    business: np.ndarray
    satisfaction: np.ndarray  # latent, standard normal: drives NPS and churn
    has_contract: np.ndarray = field(init=False)
    is_buyer: np.ndarray = field(init=False)

    @property
    def n(self) -> int:
        return self.created_s.size


def _chunk_customers(
    rng: np.random.Generator,
    created_s: np.ndarray,
    first_number: int,
    orphan_first_number: int,
    n_orphans: int,
    cdf: np.ndarray,
    w: Window,
) -> Customers:
    created = np.concatenate([created_s, np.sort(_acquisition_times(rng, n_orphans, cdf, w))])
    n_known = created_s.size
    numbers = np.concatenate(
        [first_number + np.arange(n_known), orphan_first_number + np.arange(n_orphans)]
    )
    n = created.size
    progress = (created - w.start_s) / max(w.end_s - w.start_s, 1)
    mix_start, mix_end = np.array(CHANNEL_MIX_START), np.array(CHANNEL_MIX_END)
    channel_probs = mix_start + (mix_end - mix_start) * progress[:, None]
    segment = rng.choice(len(SEGMENT_MIX), size=n, p=SEGMENT_MIX)
    c = Customers(
        ids=_ids("C", numbers, 8),
        created_s=created,
        orphan=np.arange(n) >= n_known,
        channel=_categorical(rng, channel_probs),
        country=rng.choice(len(COUNTRY_MIX), size=n, p=COUNTRY_MIX),
        segment=segment,
        business=segment == SEGMENTS.index("business"),
        satisfaction=rng.standard_normal(n),
    )
    contract_share = np.where(c.business, CONTRACT_SHARE["business"], CONTRACT_SHARE["consumer"])
    c.has_contract = rng.random(n) < contract_share
    c.is_buyer = rng.random(n) < np.where(c.has_contract, 0.45, 0.90)
    # Make sure every chunk has an inferred customer with orders and one with a contract.
    orphan_idx = np.flatnonzero(c.orphan)
    c.has_contract[orphan_idx] = rng.random(orphan_idx.size) < 0.3
    c.is_buyer[orphan_idx] = ~c.has_contract[orphan_idx] | (rng.random(orphan_idx.size) < 0.5)
    c.is_buyer[orphan_idx[:1]] = True
    c.has_contract[orphan_idx[1:2]] = True
    return c


def _customers_table(rng: np.random.Generator, c: Customers, w: Window) -> pa.Table:
    keep = ~c.orphan
    created = c.created_s[keep]
    return _table(
        "customers",
        {
            "customer_id": c.ids.filter(pa.array(keep)),
            "created_at": _timestamps(rng, created),
            "acquisition_channel": _labels(c.channel[keep], CHANNELS),
            "country": _labels(c.country[keep], COUNTRIES),
            "segment": _labels(c.segment[keep], SEGMENTS),
            "_loaded_at": _loaded_at(rng, created, w),
        },
    )


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


def _purchase_process(
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


def _buyer_traits(rng: np.random.Generator, c: Customers) -> BuyerTraits:
    rate = rng.gamma(PURCHASE_RATE_SHAPE, PURCHASE_RATE_SCALE, c.n) * np.where(c.business, 1.4, 1.0)
    dropout = rng.beta(DROPOUT_A, DROPOUT_B, c.n)
    dropout = _ranked_like(
        rng, np.where(rng.random(c.n) < ONE_OFF_SHARE, 1.0, dropout), -c.satisfaction, 0.6
    )
    value = np.log(ORDER_VALUE_EUR) + np.where(c.business, 0.9, 0.0)
    value = value + CUSTOMER_VALUE_SIGMA * rng.standard_normal(c.n)
    return BuyerTraits(np.clip(rate, 0.5, 60.0), dropout, value)


def _order_events(rng: np.random.Generator, c: Customers, t: BuyerTraits, w: Window) -> Purchases:
    """The buying life of every buyer, plus a return after a long absence for a few."""
    buyers = np.flatnonzero(c.is_buyer)
    delay = rng.standard_exponential(buyers.size) * FIRST_PURCHASE_DELAY_DAYS * DAY
    first, dropped, last = _purchase_process(
        rng, buyers, c.created_s[buyers] + delay, t.rate, t.dropout, w
    )
    back = dropped & (rng.random(buyers.size) < REACTIVATION_SHARE)
    who = buyers[back]
    away = (366 + rng.exponential(150, who.size)) * DAY
    fresh_dropout = rng.beta(DROPOUT_A, DROPOUT_B, c.n)
    again, _, _ = _purchase_process(rng, who, last[back] + away, t.rate, fresh_dropout, w)
    return Purchases.concat([first, again])


def _orders_table(
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
    return _table(
        "orders",
        {
            "order_id": _ids("O", first_number + np.arange(n), 9),
            "customer_id": c.ids.take(pa.array(who)),
            "ordered_at": _timestamps(rng, at_s),
            "status": _labels(status, ("completed", "cancelled", "refunded")),
            "amount": _money(cents),
            "currency": pa.array(np.full(n, "EUR")),
            "refunded_amount": _money(refund, refund_null),
            "_loaded_at": _loaded_at(rng, at_s + (later - 1) * DAY, w),
        },
    )


# === the win-back campaign (retention_actions) ===============================================


def _campaign_name(w: Window) -> str:
    year = np.datetime64(w.campaign_s, "s").astype("datetime64[Y]").astype(int) + 1970
    return f"winback_{year}"


def _retention_campaign(
    rng: np.random.Generator,
    c: Customers,
    t: BuyerTraits,
    purchases: Purchases,
    first_number: int,
    w: Window,
) -> tuple[pa.Table, Purchases]:
    """Lapsing customers, assigned 50/50; treatment brings more of them back to buy."""
    at = w.campaign_s
    before = purchases.at_s < at
    last = np.full(c.n, -np.inf)
    np.maximum.at(last, purchases.customer[before], purchases.at_s[before])
    since = (at - last) / DAY
    at_risk = np.flatnonzero(~c.orphan & (since >= AT_RISK_DAYS[0]) & (since <= AT_RISK_DAYS[1]))
    treatment = rng.random(at_risk.size) < 0.5
    assigned_s = at + rng.integers(0, 7 * DAY, at_risk.size)
    assigned_s = np.minimum(assigned_s, w.end_s)
    share = np.where(
        treatment, WINBACK_PURCHASE_SHARE["treatment"], WINBACK_PURCHASE_SHARE["control"]
    )
    back = rng.random(at_risk.size) < share
    first_at = assigned_s[back] + (1 + rng.exponential(20, back.sum())) * DAY
    fresh_dropout = rng.beta(DROPOUT_A, DROPOUT_B, c.n)
    extra, _, _ = _purchase_process(rng, at_risk[back], first_at, t.rate, fresh_dropout, w)
    n = at_risk.size
    table = _table(
        "retention_actions",
        {
            "action_id": _ids("A", first_number + np.arange(n), 8),
            "customer_id": c.ids.take(pa.array(at_risk)),
            "campaign": pa.array(np.full(n, _campaign_name(w))),
            "assigned_group": _labels(np.where(treatment, 0, 1), ("treatment", "control")),
            "assigned_at": _timestamps(rng, assigned_s),
            "_loaded_at": _loaded_at(rng, assigned_s, w),
        },
    )
    return table, extra


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


def _first_chains(rng: np.random.Generator, c: Customers) -> Chains:
    """Every contract customer's first contract, plus a concurrent second one for a few."""
    holders = np.flatnonzero(c.has_contract)
    n = holders.size
    created_day = c.created_s[holders] // DAY
    soon = rng.random(n) < 0.7
    start = created_day + np.where(soon, rng.integers(0, 15, n), rng.integers(30, 366, n))
    mix = np.where(c.business[holders, None], PRODUCT_MIX["business"], PRODUCT_MIX["consumer"])
    product = _categorical(rng, mix)
    open_ended = rng.random(n) < OPEN_ENDED_SHARE
    billing = np.where(open_ended, 0, rng.choice(3, size=n, p=BILLING_MIX))
    first = Chains(
        holders, product, billing, start, open_ended, np.full(n, -1), c.created_s[holders]
    )
    second = first.select(rng.random(n) < CONCURRENT_SHARE)
    k = second.customer.size
    second.product = (second.product + rng.integers(1, 3, k)) % 3  # a different product
    second.start_day = second.start_day + rng.integers(20, 400, k)
    second.billing = rng.choice(3, size=k, p=BILLING_MIX)
    second.open_ended = np.zeros(k, dtype=bool)
    return Chains.concat([first, second])


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
    leaves: np.ndarray  # leaves at the end of this contract (not withdrawn)


# How a contract ends for a customer who leaves (LEAVE_MIX gives the first four their shares).
SILENT, FOR_END, EARLY, AFTER_END, OPEN_ENDED_CANCEL = range(5)


def _term_outcome(
    rng: np.random.Generator,
    churn: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    open_ended: np.ndarray,
    w: Window,
) -> TermOutcome:
    """Whether the customer leaves after this contract, and how (silently or cancelling).

    `churn` is the chance to leave within this term; for open-ended contracts, within a year."""
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
    requested_s = (request_day * DAY + _time_of_day(rng, n)).astype(float)
    requested_s = np.where(requests & (requested_s <= w.end_s), requested_s, np.nan)
    offer_made = rng.random(n) < OFFER_MADE_SHARE
    withdrawn = ~np.isnan(requested_s) & offer_made & (rng.random(n) < OFFER_ACCEPTED_SHARE)
    leaves = np.where(open_ended, ~np.isnan(requested_s), leave) & ~withdrawn
    return TermOutcome(requested_s, effective_day, withdrawn, offer_made, leaves)


def _simulate_contracts(
    rng: np.random.Generator, c: Customers, w: Window
) -> tuple[ContractRows, ContractRows]:
    """Contracts term by term: renewals (on time or after a gap), up/downgrades, churn."""
    churn = _ranked_like(rng, rng.beta(CHURN_A, CHURN_B, c.n), -c.satisfaction, 0.6)
    churn = churn * np.where(c.business, 0.8, 1.0)
    contracts, cancellations = ContractRows(), ContractRows()
    chains = _first_chains(rng, c)
    while chains.customer.size:
        chains = chains.select(chains.start_day <= w.end_day)
        k = chains.customer.size
        if not k:
            break
        row = contracts.n + np.arange(k)
        start = chains.start_day
        term = _term_months(rng, chains.billing)
        end = _add_months(start, term) - 1
        end = np.where(chains.open_ended, start + 100 * 365, end)  # far away; written as null
        lead = rng.integers(0, 21, k)
        signed = (start - lead) * DAY + _time_of_day(rng, k)
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
        outcome = _term_outcome(rng, term_churn, start, end, chains.open_ended, w)
        cancelled = ~np.isnan(outcome.requested_s)
        cancellations.add(
            contract=row[cancelled],
            customer=chains.customer[cancelled],
            requested=outcome.requested_s[cancelled].astype(np.int64),
            effective=outcome.effective_day[cancelled],
            offer_made=outcome.offer_made[cancelled],
            withdrawn=outcome.withdrawn[cancelled],
        )
        cancellations.n += int(cancelled.sum())
        chains = Chains.concat(
            [
                _renewals(rng, chains, row, end, ~outcome.leaves & ~chains.open_ended),
                _contract_winbacks(rng, chains, end, outcome, churn),
            ]
        )
    return contracts, cancellations


def _renewals(
    rng: np.random.Generator, chains: Chains, row: np.ndarray, end: np.ndarray, renew: np.ndarray
) -> Chains:
    nxt = chains.select(renew)
    k = nxt.customer.size
    gap_kind = rng.choice(3, size=k, p=RENEWAL_GAP_MIX)
    gap = np.select(
        [gap_kind == 1, gap_kind == 2], [rng.integers(1, 31, k), rng.integers(31, 151, k)], 0
    )
    nxt.start_day = end[renew] + 1 + gap
    u = rng.random(k)
    step = np.where(u < 0.09, 1, np.where(u < 0.16, -1, 0))  # upgrade / downgrade / same
    nxt.product = np.clip(nxt.product + step, 0, len(PRODUCTS) - 1)
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
    back = outcome.leaves & (rng.random(end.size) < CONTRACT_WINBACK_SHARE)
    nxt = chains.select(back)
    k = nxt.customer.size
    nxt.start_day = coverage_end[back] + rng.integers(60, 500, k)
    nxt.product = rng.integers(0, len(PRODUCTS), k)
    nxt.open_ended = np.zeros(k, dtype=bool)
    nxt.previous = np.full(k, -1)
    nxt.not_before_s = np.zeros(k, dtype=np.int64)
    return nxt


def _contracts_table(
    rng: np.random.Generator, c: Customers, rows: ContractRows, first_number: int, w: Window
) -> pa.Table:
    n = rows.n
    previous = rows.column("previous")
    open_ended = rows.column("open_ended", bool)
    signed = rows.column("signed")
    signed_null = rng.random(n) < 0.05
    start = rows.column("start")
    return _table(
        "contracts",
        {
            "contract_id": _ids("S", first_number + np.arange(n), 8),
            "customer_id": c.ids.take(pa.array(rows.column("customer"))),
            "product": _labels(rows.column("product"), PRODUCTS),
            "start_date": _dates(start),
            "billing_period": _labels(rows.column("billing"), BILLING_PERIODS),
            "price": _money(rows.column("price")),
            "currency": pa.array(np.full(n, "EUR")),
            "signed_at": _timestamps(rng, signed, signed_null),
            "end_date": _dates(rows.column("end"), open_ended),
            "previous_contract_id": _nulled(
                _ids("S", first_number + np.maximum(previous, 0), 8), previous < 0
            ),
            "_loaded_at": _loaded_at(rng, np.where(signed_null, start * DAY, signed), w),
        },
    )


def _cancellations_table(
    rng: np.random.Generator,
    c: Customers,
    rows: ContractRows,
    first_number: int,
    first_contract_number: int,
    w: Window,
) -> pa.Table:
    n = rows.n
    customer = rows.column("customer")
    detractor = c.satisfaction[customer] < -0.5
    weights = np.array(list(REASON_WEIGHTS.values()))  # the null reason last
    mix = np.where(detractor[:, None], weights[:, 1], weights[:, 0])
    mix = mix / mix.sum(axis=1, keepdims=True)
    offer_made = rows.column("offer_made", bool)
    withdrawn = rows.column("withdrawn", bool)
    # Optional flags: sometimes not recorded (null), more often when no offer was made.
    made_null = (rng.random(n) < 0.03) & ~withdrawn
    accepted_null = ~offer_made & (rng.random(n) < 0.5) | made_null
    requested = rows.column("requested")
    return _table(
        "cancellations",
        {
            "cancellation_id": _ids("X", first_number + np.arange(n), 8),
            "contract_id": _ids("S", first_contract_number + rows.column("contract"), 8),
            "requested_at": _timestamps(rng, requested),
            "effective_date": _dates(rows.column("effective")),
            "reason_code": _labels(_categorical(rng, mix), REASON_CODES),
            "final_offer_made": _booleans(offer_made, made_null),
            "final_offer_accepted": _booleans(withdrawn, accepted_null & ~withdrawn),
            "_loaded_at": _loaded_at(rng, requested, w),
        },
    )


# === NPS =====================================================================================


def _nps_table(
    rng: np.random.Generator,
    c: Customers,
    purchases: Purchases,
    contracts: ContractRows,
    first_number: int,
    w: Window,
) -> pa.Table:
    """Surveys some weeks after the first activity, a second one for some a year later.
    The score follows the latent satisfaction that also drives churn."""
    first = np.full(c.n, np.inf)
    np.minimum.at(first, purchases.customer, purchases.at_s)
    np.minimum.at(first, contracts.column("customer"), contracts.column("start") * DAY)
    surveyed = np.flatnonzero(~c.orphan & np.isfinite(first) & (rng.random(c.n) < NPS_SURVEY_SHARE))
    at_first = first[surveyed] + rng.uniform(14, 120, surveyed.size) * DAY
    again = rng.random(surveyed.size) < NPS_SECOND_SURVEY_SHARE
    at_second = at_first[again] + rng.uniform(180, 540, again.sum()) * DAY
    who = np.concatenate([surveyed, surveyed[again]])
    at_s = np.concatenate([at_first, at_second])
    inside = at_s <= w.end_s
    who, at_s = who[inside], np.floor(at_s[inside]).astype(np.int64)
    order = np.argsort(at_s, kind="stable")
    who, at_s = who[order], at_s[order]
    n = who.size
    score = np.clip(np.round(7.0 + 2.2 * c.satisfaction[who] + 1.3 * rng.standard_normal(n)), 0, 10)
    return _table(
        "nps_responses",
        {
            "response_id": _ids("R", first_number + np.arange(n), 8),
            "customer_id": c.ids.take(pa.array(who)),
            "responded_at": _timestamps(rng, at_s),
            "score": pa.array(score.astype(np.int64)).cast(pa.string()),
            "_loaded_at": _loaded_at(rng, at_s, w),
        },
    )


# === marketing spend =========================================================================


def _month_index(secs: np.ndarray, w: Window) -> np.ndarray:
    month = np.asarray(secs, dtype=np.int64).astype("datetime64[s]").astype("datetime64[M]")
    first = np.int64(w.start_day).astype("datetime64[D]").astype("datetime64[M]")
    return (month - first).astype(np.int64)


def _n_months(w: Window) -> int:
    return int(_month_index(np.array([w.end_s]), w)[0]) + 1


def _acquisitions(c: Customers, w: Window) -> np.ndarray:
    """New customers per channel (rows, CHANNELS order) and month of the window (columns)."""
    counts = np.zeros((len(CHANNELS), _n_months(w)), dtype=np.int64)
    known = ~c.orphan & (c.channel < len(CHANNELS))
    np.add.at(counts, (c.channel[known], _month_index(c.created_s[known], w)), 1)
    return counts


def _marketing_spend_table(rng: np.random.Generator, acquisitions: np.ndarray, w: Window):
    """Spend per paid channel and month: a fixed base plus a cost per acquired customer."""
    first_month = np.int64(w.start_day).astype("datetime64[D]").astype("datetime64[M]")
    months = first_month + np.arange(acquisitions.shape[1])
    channel, month, cents = [], [], []
    for name, cac in CAC_EUR.items():
        count = acquisitions[CHANNELS.index(name)]
        noise = rng.lognormal(0.0, 0.15, count.size)
        spend = (MONTHLY_BASE_SPEND_EUR[name] + count * cac) * noise
        channel.append(np.full(count.size, CHANNELS.index(name)))
        month.append(months.astype("datetime64[D]").astype(np.int64))
        cents.append(np.round(spend * 100).astype(np.int64))
    channel, month, cents = np.concatenate(channel), np.concatenate(month), np.concatenate(cents)
    next_month = (months + 1).astype("datetime64[D]").astype(np.int64)
    loaded = np.tile(next_month, len(CAC_EUR)) * DAY + 2 * DAY  # booked in the first days
    return _table(
        "marketing_spend",
        {
            "spend_month": _dates(month),
            "acquisition_channel": _labels(channel, CHANNELS),
            "amount": _money(cents),
            "currency": pa.array(np.full(cents.size, "EUR")),
            "_loaded_at": _loaded_at(rng, loaded, w, days=0),
        },
    )


# === one chunk ===============================================================================


@dataclass
class Counters:
    """Rows written so far per table: the next chunk's ids continue from here."""

    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    orphans: int = 0


def _simulate_chunk(
    rng: np.random.Generator,
    created_s: np.ndarray,
    first_customer: int,
    n_customers: int,
    counters: Counters,
    cdf: np.ndarray,
    w: Window,
) -> tuple[dict[str, pa.Table], np.ndarray]:
    n_orphans = max(2, round(created_s.size * ORPHANS_PER_CUSTOMER))
    c = _chunk_customers(
        rng, created_s, first_customer, n_customers + counters.orphans + 1, n_orphans, cdf, w
    )
    counters.orphans += n_orphans
    rows = counters.rows
    traits = _buyer_traits(rng, c)
    purchases = _order_events(rng, c, traits, w)
    actions, extra = _retention_campaign(
        rng, c, traits, purchases, rows["retention_actions"] + 1, w
    )
    purchases = Purchases.concat([purchases, extra])
    contracts, cancellations = _simulate_contracts(rng, c, w)
    tables = {
        "customers": _customers_table(rng, c, w),
        "orders": _orders_table(rng, c, traits, purchases, rows["orders"] + 1, w),
        "contracts": _contracts_table(rng, c, contracts, rows["contracts"] + 1, w),
        "cancellations": _cancellations_table(
            rng, c, cancellations, rows["cancellations"] + 1, rows["contracts"] + 1, w
        ),
        "nps_responses": _nps_table(rng, c, purchases, contracts, rows["nps_responses"] + 1, w),
        "retention_actions": actions,
    }
    for name, table in tables.items():
        rows[name] += table.num_rows
    return tables, _acquisitions(c, w)


# === writing =================================================================================


class TableWriter:
    """Appends chunks to `<table>.<format>` (via a partial file renamed on success)."""

    def __init__(self, out: Path, name: str, fmt: str):
        self.path = out / f"{name}.{fmt}"
        self.partial = out / f".{name}.{fmt}.partial"
        self.schema = _schema(name)
        self.rows = 0
        if fmt == "parquet":
            self._writer = pq.ParquetWriter(self.partial, self.schema, compression="zstd")
        else:
            self._writer = pacsv.CSVWriter(self.partial, self.schema)

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()
        self.partial.replace(self.path)

    def abort(self) -> None:
        try:
            self._writer.close()
        finally:
            self.partial.unlink(missing_ok=True)


def _clear_outputs(out: Path) -> None:
    """Remove raw files of an earlier run, so that DIR holds exactly this data set."""
    for name in TABLES:
        for fmt in FORMATS:
            (out / f"{name}.{fmt}").unlink(missing_ok=True)
    (out / DEFECTS_FILE).unlink(missing_ok=True)


# === dirty data ==============================================================================

KEYS = {
    "customers": "customer_id",
    "orders": "order_id",
    "contracts": "contract_id",
    "cancellations": "cancellation_id",
    "nps_responses": "response_id",
    "retention_actions": "action_id",
}
ID_FORMAT = {
    "customers": ("C", 8),
    "orders": ("O", 9),
    "contracts": ("S", 8),
    "cancellations": ("X", 8),
    "nps_responses": ("R", 8),
    "retention_actions": ("A", 8),
}
EVENT_COLUMNS = {  # what a row's load follows, for a believable stale _loaded_at
    "customers": ("created_at",),
    "orders": ("ordered_at",),
    "contracts": ("signed_at", "start_date"),
    "cancellations": ("requested_at",),
}
SAMPLE_ROWS = 2000  # leading clean rows of the first chunk that defects are copied from
UNKNOWN_CONTRACT_ID = "S00000000"  # numbering starts at 1: no contract has this id

# Defect class -> (how the warehouse should handle it, what it is).
DEFECT_CLASSES = {
    "duplicate_row": ("deduplicate", "exact copy of a clean row"),
    "conflicting_row": (
        "latest_loaded_at_wins",
        "same key as a clean row, other values, earlier _loaded_at (the clean row is the latest)",
    ),
    "null_key": ("quarantine", "primary key is null"),
    "blank_key": ("quarantine", "primary key is blank (a space)"),
    "null_customer_id": ("quarantine", "order without customer_id"),
    "unparsable_timestamp": ("quarantine", "a timestamp column that does not parse"),
    "unparsable_date": ("quarantine", "a date column that does not parse"),
    "unparsable_number": ("quarantine", "a numeric column that does not parse"),
    "negative_amount": ("quarantine", "amount or price below 0"),
    "refund_above_amount": ("quarantine", "refunded_amount greater than amount"),
    "unknown_status": ("quarantine", "status not in completed/cancelled/refunded"),
    "unknown_billing_period": ("quarantine", "billing_period not in month/quarter/year"),
    "non_eur_currency": ("quarantine", "currency other than EUR (no FX conversion yet)"),
    "end_before_start": ("quarantine", "end_date before start_date"),
    "unknown_contract": ("quarantine", "cancellation of a contract_id absent from contracts"),
    "score_out_of_range": ("quarantine", "NPS score outside 0-10"),
    "too_many_decimals": ("quarantine", "amount or price with more than two decimals"),
    "implausible_date": (
        "quarantine",
        "a date before 1990-01-01 or more than a year after the row's _loaded_at",
    ),
}

# (defect class, table, rows, column values of the injected rows; None is null). Each row is a
# copy of a clean row: duplicates keep everything, conflicts keep the key, the rest get a new key.
DEFECTS: tuple[tuple[str, str, int, dict[str, str | None]], ...] = (
    ("duplicate_row", "customers", 3, {}),
    ("duplicate_row", "orders", 5, {}),
    ("duplicate_row", "contracts", 3, {}),
    ("duplicate_row", "cancellations", 2, {}),
    ("duplicate_row", "nps_responses", 2, {}),
    ("conflicting_row", "customers", 3, {"country": "DE", "segment": "consumer"}),
    ("conflicting_row", "orders", 3, {"status": "completed", "amount": "99.99",
                                      "refunded_amount": None}),
    ("conflicting_row", "contracts", 3, {"price": "1.00", "end_date": None}),
    ("conflicting_row", "cancellations", 2, {"reason_code": "no_longer_needed",
                                             "final_offer_made": "false",
                                             "final_offer_accepted": "false"}),
    ("null_key", "customers", 1, {"customer_id": None}),
    ("blank_key", "customers", 1, {"customer_id": " "}),
    ("null_key", "orders", 1, {"order_id": None}),
    ("blank_key", "orders", 1, {"order_id": " "}),
    ("null_key", "contracts", 1, {"contract_id": None}),
    ("blank_key", "contracts", 1, {"contract_id": " "}),
    ("null_key", "cancellations", 1, {"cancellation_id": None}),
    ("null_key", "nps_responses", 1, {"response_id": None}),
    ("null_customer_id", "orders", 2, {"customer_id": None}),
    ("unparsable_timestamp", "customers", 1, {"created_at": "not-a-date"}),
    ("unparsable_timestamp", "orders", 1, {"ordered_at": "not-a-date"}),
    ("unparsable_timestamp", "orders", 1, {"ordered_at": "2023-02-30T10:00:00Z"}),
    ("unparsable_timestamp", "cancellations", 1, {"requested_at": "yesterday"}),
    # what DuckDB's own cast would read as 1970-01-01, 9999-12-31 and the year 24
    ("unparsable_timestamp", "customers", 1, {"created_at": "epoch"}),
    ("unparsable_timestamp", "orders", 1, {"ordered_at": "infinity"}),
    ("unparsable_timestamp", "contracts", 1, {"signed_at": "24-12-31"}),
    ("unparsable_date", "contracts", 1, {"start_date": "31-12-2023"}),
    ("unparsable_date", "contracts", 1, {"end_date": "not-a-date"}),
    ("unparsable_date", "cancellations", 1, {"effective_date": "2023-13-01"}),
    ("unparsable_date", "contracts", 1, {"end_date": "infinity"}),
    ("unparsable_number", "orders", 1, {"amount": "12,50"}),
    ("unparsable_number", "orders", 1, {"refunded_amount": "1.2.3"}),
    ("unparsable_number", "contracts", 1, {"price": "n/a"}),
    ("unparsable_number", "nps_responses", 1, {"score": "ten"}),
    # not plain decimal notation (a cast would read 100 and 1000)
    ("unparsable_number", "orders", 1, {"amount": "1e2"}),
    ("unparsable_number", "contracts", 1, {"price": "1_000"}),
    ("negative_amount", "orders", 2, {"amount": "-19.95", "refunded_amount": None}),
    ("negative_amount", "contracts", 1, {"price": "-9.99"}),
    ("refund_above_amount", "orders", 2, {"status": "completed", "amount": "10.00",
                                          "refunded_amount": "25.00"}),
    ("unknown_status", "orders", 2, {"status": "shipped"}),
    ("unknown_billing_period", "contracts", 2, {"billing_period": "week"}),
    ("non_eur_currency", "orders", 2, {"currency": "USD"}),
    ("non_eur_currency", "contracts", 1, {"currency": "USD"}),
    # end_date: the day before the row's own start_date (set in _defects)
    ("end_before_start", "contracts", 2, {"previous_contract_id": None}),
    ("unknown_contract", "cancellations", 2, {"contract_id": UNKNOWN_CONTRACT_ID}),
    ("score_out_of_range", "nps_responses", 2, {"score": "11"}),
    ("too_many_decimals", "orders", 2, {"amount": "19.995", "refunded_amount": None}),
    ("too_many_decimals", "contracts", 1, {"price": "9.999"}),
    # before 1990-01-01 (the boundary's last second; the year 24), long after the load
    ("implausible_date", "customers", 1, {"created_at": "1989-12-31T23:59:59Z"}),
    ("implausible_date", "contracts", 1, {"start_date": "0024-06-01"}),
    ("implausible_date", "orders", 1, {"ordered_at": "2150-01-01T10:00:00Z"}),
    ("implausible_date", "nps_responses", 1, {"responded_at": "2150-06-01T00:00:00Z"}),
)  # fmt: skip


@dataclass
class Defect:
    name: str
    table: str
    rows: list[dict] = field(default_factory=list)


def _defects(
    rng: np.random.Generator, samples: dict[str, list[dict]], counters: Counters
) -> list[Defect]:
    """The defective rows to append: copies of distinct clean sample rows, never edits of them.

    New keys continue the clean numbering, so they look like any other id."""
    next_number = {name: counters.rows[name] + 1 for name in KEYS}
    next_number["customers"] += counters.orphans  # inferred customers took the ids after the rest
    unused = {name: list(range(len(rows))) for name, rows in samples.items()}
    defects: dict[tuple[str, str], Defect] = {}
    for name, table, count, values in DEFECTS:
        pool = unused[table]
        picked = sorted(rng.choice(len(pool), size=min(count, len(pool)), replace=False))
        rows = [dict(samples[table][pool[i]]) for i in picked]
        unused[table] = [r for i, r in enumerate(pool) if i not in set(picked)]
        for row in rows:
            if name == "conflicting_row":
                row["_loaded_at"] = _stale_loaded_at(table, row)
            elif name != "duplicate_row":
                prefix, width = ID_FORMAT[table]
                row[KEYS[table]] = f"{prefix}{next_number[table]:0{width}d}"
                next_number[table] += 1
            row.update(values)
            if name == "end_before_start":
                start = date.fromisoformat(row["start_date"])
                row["end_date"] = (start - timedelta(days=1)).isoformat()
        if rows:
            defects.setdefault((name, table), Defect(name, table)).rows.extend(rows)
    return list(defects.values())


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _stale_loaded_at(table: str, row: dict) -> str:
    """A load between the event and the clean row's load: an earlier version of the row."""
    event = next(_utc(row[c]) for c in EVENT_COLUMNS[table] if row[c] is not None)
    loaded = _utc(row["_loaded_at"])
    stale = event + max((loaded - event) / 2, timedelta(seconds=1))
    stale = min(stale.replace(microsecond=0), loaded - timedelta(seconds=1))
    return stale.strftime("%Y-%m-%dT%H:%M:%SZ")


def _defects_report(defects: list[Defect], clean_rows: dict[str, int], inferred: list[str]):
    injected = dict.fromkeys(TABLES, 0)
    for defect in defects:
        injected[defect.table] += len(defect.rows)
    return {
        "note": (
            "Injected rows are appended after the clean rows of each file; dropping them gives "
            "back the clean data set. keys: the injected rows' primary keys (null: missing)."
        ),
        "clean_rows": clean_rows,
        "injected_rows": injected,
        "defects": [
            {
                "defect": d.name,
                "table": d.table,
                "count": len(d.rows),
                "keys": [row[KEYS[d.table]] for row in d.rows],
                "handling": DEFECT_CLASSES[d.name][0],
                "description": DEFECT_CLASSES[d.name][1],
            }
            for d in defects
        ],
        "valid_anomalies": [
            {
                "anomaly": "customer_absent_from_customers",
                "tables": ["orders", "contracts"],
                "handling": "keep: the warehouse infers the customer (is_inferred)",
                "customer_ids": inferred,
            }
        ],
    }


# === the command =============================================================================


def generate(opts: Options) -> dict[str, int]:
    """Write the data set; return the rows per table (clean rows plus injected ones)."""
    if opts.customers < 1:
        raise ValueError("--customers must be at least 1")
    if opts.end <= opts.start:
        raise ValueError("--end must be after --start")
    if opts.format not in FORMATS:
        raise ValueError(f"--format must be one of {FORMATS}")
    began = time.perf_counter()
    w = Window.of(opts)
    acquisition_seq, spend_seq, defects_seq, chunks_seq = np.random.SeedSequence(opts.seed).spawn(4)
    cdf = _acquisition_cdf(w)
    created = np.sort(
        _acquisition_times(np.random.default_rng(acquisition_seq), opts.customers, cdf, w)
    )
    bounds = list(range(0, opts.customers, opts.chunk_size)) + [opts.customers]
    chunk_seqs = chunks_seq.spawn(len(bounds) - 1)

    opts.out.mkdir(parents=True, exist_ok=True)
    _clear_outputs(opts.out)
    writers = {name: TableWriter(opts.out, name, opts.format) for name in TABLES}
    counters = Counters()
    acquisitions = np.zeros((len(CHANNELS), _n_months(w)), dtype=np.int64)
    samples: dict[str, list[dict]] = {}
    inferred: list[str] = []
    # On a terminal, a bar counts the customers simulated (every table grows chunk by chunk).
    tracking = (
        console.progress("generating", total=opts.customers)
        if opts.progress
        else contextlib.nullcontext(console.Bar())
    )
    try:
        with tracking as bar:
            for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
                rng = np.random.default_rng(chunk_seqs[i])
                tables, acquired = _simulate_chunk(
                    rng, created[lo:hi], lo + 1, opts.customers, counters, cdf, w
                )
                acquisitions += acquired
                for name, table in tables.items():
                    writers[name].write(table)
                if opts.dirty:
                    _collect_samples(samples, tables, inferred, i == 0)
                bar.update(
                    f"generating: customers {hi:,}, orders {counters.rows['orders']:,}, "
                    f"contracts {counters.rows['contracts']:,}"
                )
                bar.advance(hi - lo)
        writers["marketing_spend"].write(
            _marketing_spend_table(np.random.default_rng(spend_seq), acquisitions, w)
        )
        clean_rows = {name: writer.rows for name, writer in writers.items()}
        if opts.dirty:
            defects = _defects(np.random.default_rng(defects_seq), samples, counters)
            for defect in defects:
                table = pa.Table.from_pylist(defect.rows, schema=_schema(defect.table))
                writers[defect.table].write(table)
            report = _defects_report(defects, clean_rows, inferred)
            text = json.dumps(report, indent=2, sort_keys=True) + "\n"
            (opts.out / DEFECTS_FILE).write_text(text, encoding="utf-8")
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    for writer in writers.values():
        writer.close()
    rows = {name: writer.rows for name, writer in writers.items()}
    summary = ", ".join(f"{name} {count:,}" for name, count in rows.items())
    if opts.progress:
        console.say(
            f"wrote {opts.format} to {opts.out} in {time.perf_counter() - began:.1f}s: "
            f"{summary}" + (" (clean + injected defects)" if opts.dirty else "")
        )
    return rows


def _collect_samples(
    samples: dict[str, list[dict]], tables: dict[str, pa.Table], inferred: list[str], first: bool
) -> None:
    """Keep the first chunk's leading rows to copy defects from; list inferred customers."""
    if first:
        for name in KEYS:
            samples[name] = tables[name].slice(0, SAMPLE_ROWS).to_pylist()
    known = tables["customers"].column("customer_id")
    for name in ("orders", "contracts"):
        ids = pc.unique(tables[name].column("customer_id"))
        missing = ids.filter(pc.invert(pc.is_in(ids, value_set=known)))
        inferred.extend(missing.to_pylist())
    inferred[:] = sorted(set(inferred))


EXIT_CODES = {
    0: "the data set was written",
    2: "nothing usable written: invalid options (fewer than 1 customer, --end not after "
    "--start) or the folder cannot be written",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", required=True, type=Path, metavar="DIR", help="directory to write into"
    )
    parser.add_argument(
        "--customers", type=int, default=2000, metavar="N", help="customers (default 2000)"
    )
    parser.add_argument(
        "--seed", type=int, default=42, metavar="S", help="random seed (default 42)"
    )
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        default=date(2021, 1, 1),
        metavar="DATE",
        help="first day of the simulated period (default 2021-01-01)",
    )
    parser.add_argument(
        "--end",
        type=date.fromisoformat,
        default=date(2024, 6, 30),
        metavar="DATE",
        help="last day; nothing happens after it (default 2024-06-30)",
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="csv", help="file format (default csv)"
    )
    parser.add_argument(
        "--dirty",
        action="store_true",
        help=f"append a known mix of defective rows, listed in {DEFECTS_FILE}",
    )


def run(args: argparse.Namespace) -> int:
    opts = Options(
        out=args.out,
        customers=args.customers,
        seed=args.seed,
        start=args.start,
        end=args.end,
        format=args.format,
        dirty=args.dirty,
    )
    try:
        generate(opts)
    except ValueError as exc:
        console.error("generate", str(exc))
        return 2
    except OSError as exc:
        console.error("generate", f"cannot write to {opts.out}: {exc}")
        return 2
    return 0
