"""Customers: acquisition over the window through channels; marketing spend that follows it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from retention.generate.common import DAY, Window, categorical, time_of_day
from retention.generate.text import (
    iso_dates,
    labels,
    loaded_at,
    money,
    numbered_ids,
    raw_table,
    timestamps,
)

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
ORPHANS_PER_CUSTOMER = 0.001  # customers with orders/contracts but absent from `customers`
# Share of customers who hold subscription contracts, per segment.
CONTRACT_SHARE = {"consumer": 0.43, "business": 0.75}

# --- marketing spend -------------------------------------------------------------------------
CAC_EUR = {"paid_search": 55.0, "social": 40.0, "referral": 20.0, "email": 12.0}
MONTHLY_BASE_SPEND_EUR = {"paid_search": 400.0, "social": 250.0, "referral": 0.0, "email": 150.0}


# === customers ===============================================================================


def acquisition_cdf(w: Window) -> np.ndarray:
    """Cumulative share of acquisitions per day of the window: growth times seasonality."""
    day = np.arange(w.n_days)
    dates = (w.start_day + day).astype("datetime64[D]")
    day_of_year = (dates - dates.astype("datetime64[Y]").astype("datetime64[D]")).astype(int)
    trend = 1 + ACQUISITION_GROWTH * day / max(w.n_days - 1, 1)
    season = 1 + SEASONAL_AMPLITUDE * np.cos(2 * np.pi * (day_of_year - SEASONAL_PEAK_DOY) / 365.25)
    weights = trend * season
    return np.cumsum(weights) / weights.sum()


def acquisition_times(rng: np.random.Generator, n: int, cdf: np.ndarray, w: Window):
    day = np.searchsorted(cdf, rng.random(n), side="right")
    return w.start_s + np.minimum(day, w.n_days - 1) * DAY + time_of_day(rng, n)


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


def chunk_customers(
    rng: np.random.Generator,
    created_s: np.ndarray,
    first_number: int,
    orphan_first_number: int,
    n_orphans: int,
    cdf: np.ndarray,
    w: Window,
) -> Customers:
    created = np.concatenate([created_s, np.sort(acquisition_times(rng, n_orphans, cdf, w))])
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
        ids=numbered_ids("C", numbers, 8),
        created_s=created,
        orphan=np.arange(n) >= n_known,
        channel=categorical(rng, channel_probs),
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


def customers_table(rng: np.random.Generator, c: Customers, w: Window) -> pa.Table:
    keep = ~c.orphan
    created = c.created_s[keep]
    return raw_table(
        "customers",
        {
            "customer_id": c.ids.filter(pa.array(keep)),
            "created_at": timestamps(rng, created),
            "acquisition_channel": labels(c.channel[keep], CHANNELS),
            "country": labels(c.country[keep], COUNTRIES),
            "segment": labels(c.segment[keep], SEGMENTS),
            "_loaded_at": loaded_at(rng, created, w),
        },
    )


# === marketing spend =========================================================================


def _month_index(secs: np.ndarray, w: Window) -> np.ndarray:
    month = np.asarray(secs, dtype=np.int64).astype("datetime64[s]").astype("datetime64[M]")
    first = np.int64(w.start_day).astype("datetime64[D]").astype("datetime64[M]")
    return (month - first).astype(np.int64)


def n_months(w: Window) -> int:
    return int(_month_index(np.array([w.end_s]), w)[0]) + 1


def acquisitions_per_month(c: Customers, w: Window) -> np.ndarray:
    """New customers per channel (rows, CHANNELS order) and month of the window (columns)."""
    counts = np.zeros((len(CHANNELS), n_months(w)), dtype=np.int64)
    known = ~c.orphan & (c.channel < len(CHANNELS))
    np.add.at(counts, (c.channel[known], _month_index(c.created_s[known], w)), 1)
    return counts


def marketing_spend_table(rng: np.random.Generator, acquisitions: np.ndarray, w: Window):
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
    return raw_table(
        "marketing_spend",
        {
            "spend_month": iso_dates(month),
            "acquisition_channel": labels(channel, CHANNELS),
            "amount": money(cents),
            "currency": pa.array(np.full(cents.size, "EUR")),
            "_loaded_at": loaded_at(rng, loaded, w, days=0),
        },
    )
