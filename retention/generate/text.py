"""Rendering values as raw text: every raw column is text, exactly as the raw schema stores it."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from retention.contract import TABLES
from retention.generate.common import DAY, Window

# === text rendering (every raw column is text) ===============================================


def _iso(secs: np.ndarray) -> pa.Array:
    text = pa.array(np.asarray(secs, dtype=np.int64).astype("datetime64[s]")).cast(pa.string())
    return pc.utf8_replace_slice(text, start=10, stop=11, replacement="T")


def timestamps(
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
    return nulled(text, null)


def loaded_at(rng: np.random.Generator, event_s: np.ndarray, w: Window, days: int = 1):
    """The nightly batch (02:00-03:00 UTC) `days` after the event, at the latest after `end`."""
    day = np.asarray(event_s, dtype=np.int64) // DAY + days
    secs = day * DAY + 2 * 3600 + rng.integers(0, 3600, day.size)
    secs = np.minimum(secs, w.load_cap_s)
    return pc.binary_join_element_wise(_iso(secs), "Z", "")


def iso_dates(days: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    values = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    return pa.array(values, mask=null).cast(pa.string())


def money(cents: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    cents = np.asarray(cents, dtype=np.int64)
    units = pa.array(cents // 100).cast(pa.string())
    hundredths = pc.utf8_lpad(pa.array(cents % 100).cast(pa.string()), 2, "0")
    return nulled(pc.binary_join_element_wise(units, hundredths, "."), null)


def numbered_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(
        pa.array(np.asarray(numbers, dtype=np.int64)).cast(pa.string()), width, "0"
    )
    return pc.binary_join_element_wise(prefix, digits, "")


def labels(codes: np.ndarray, values: tuple[str, ...]) -> pa.Array:
    """Category codes to text; code len(values) (one past the last) is null."""
    codes = np.asarray(codes, dtype=np.int32)
    indices = pa.array(codes, mask=codes >= len(values))
    return pa.DictionaryArray.from_arrays(indices, pa.array(values)).cast(pa.string())


def booleans(values: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    codes = np.where(values, 1, 0)
    if null is not None:
        codes = np.where(null, 2, codes)
    return labels(codes, ("false", "true"))


def nulled(values: pa.Array, null: np.ndarray | None) -> pa.Array:
    if null is None or not null.any():
        return values
    return pc.if_else(pa.array(null), pa.scalar(None, pa.string()), values)


def raw_table(name: str, columns: dict[str, pa.Array]) -> pa.Table:
    """A raw table with exactly the contract's columns, in the contract's order."""
    expected = TABLES[name].columns
    if set(columns) != set(expected):
        raise ValueError(f"{name}: columns {sorted(columns)} differ from contract {expected}")
    arrays = [
        columns[c] if columns[c].type == pa.string() else columns[c].cast(pa.string())
        for c in expected
    ]
    return pa.Table.from_arrays(arrays, schema=raw_schema(name))


def raw_schema(name: str) -> pa.Schema:
    return pa.schema([(c, pa.string()) for c in TABLES[name].columns])
