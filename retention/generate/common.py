"""What every part of the generator shares: the options, the time window, random helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from retention.contract import TABLES

DAY = 86_400
YEAR = 365.25 * DAY
CHUNK_SIZE = 50_000  # customers per chunk; part of the output's identity (do not tune per run)
FORMATS = ("csv", "parquet")
# The window the data set may span. Earlier dates are quarantined as <column>_out_of_range by
# the warehouse (the dbt var earliest_plausible_date, default 1990-01-01); dates are written
# with four-digit years, and a contract's planned end runs up to 24 months after --end.
EARLIEST_START = date(1990, 1, 1)
LATEST_END = date(9997, 12, 31)

# Share of customer creations, orders, ... per hour of the day (UTC): quiet nights, busy evenings.
HOUR_WEIGHTS = np.array(
    [2, 1, 1, 1, 1, 2, 3, 5, 6, 7, 7, 7, 8, 7, 7, 7, 7, 8, 9, 10, 10, 9, 6, 4], dtype=float
)


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


@dataclass
class Counters:
    """Rows written so far per table: the next chunk's ids continue from here."""

    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    orphans: int = 0


@dataclass
class Actions:
    """Rows of `retention_actions` decided during the simulation (one campaign's or more)."""

    campaign: list[np.ndarray] = field(default_factory=list)  # code into the campaign names
    customer: list[np.ndarray] = field(default_factory=list)
    at_s: list[np.ndarray] = field(default_factory=list)
    treatment: list[np.ndarray] = field(default_factory=list)
    cost_cents: list[np.ndarray] = field(default_factory=list)  # -1: not recorded (null)

    def add(self, campaign: int, customer, at_s, treatment, cost_cents) -> None:
        self.campaign.append(np.full(np.size(customer), campaign))
        self.customer.append(np.asarray(customer, dtype=np.int64))
        self.at_s.append(np.asarray(at_s, dtype=np.int64))
        self.treatment.append(np.asarray(treatment, dtype=bool))
        self.cost_cents.append(np.asarray(cost_cents, dtype=np.int64))

    def extend(self, other: Actions) -> None:
        for name in ("campaign", "customer", "at_s", "treatment", "cost_cents"):
            getattr(self, name).extend(getattr(other, name))

    def column(self, name: str) -> np.ndarray:
        parts = getattr(self, name)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


# === random helpers ==========================================================================


def categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of `probs` (rows sum to 1): the index of the chosen column."""
    u = rng.random(probs.shape[0])
    return (u[:, None] > np.cumsum(probs, axis=1)[:, :-1]).sum(axis=1)


def ranked_like(rng: np.random.Generator, values: np.ndarray, driver: np.ndarray, rho: float):
    """`values` reordered so that their rank follows `driver` with correlation about `rho`."""
    key = rho * driver + np.sqrt(1 - rho**2) * rng.standard_normal(driver.size)
    out = np.empty_like(values)
    out[np.argsort(key, kind="stable")] = np.sort(values, kind="stable")
    return out


def time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    hour = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    return hour * 3600 + rng.integers(0, 3600, n)


def add_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Epoch days plus whole months, the day of month clipped to the target month's length."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    day_of_month = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(months, dtype=np.int64).astype("timedelta64[M]")
    first = target.astype("datetime64[D]")
    month_length = ((target + 1).astype("datetime64[D]") - first).astype(np.int64)
    return first.astype(np.int64) + np.minimum(day_of_month, month_length - 1)
