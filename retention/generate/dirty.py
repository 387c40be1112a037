"""`--dirty`: defective rows copied from clean ones, appended after them, listed in a report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from retention.contract import TABLES
from retention.generate.common import Counters

DEFECTS_FILE = "_defects.json"

# === dirty data ==============================================================================

# The tables defects are appended to, each with the column that identifies a row (the raw
# contract's key). marketing_spend, keyed by month and channel, gets no defects.
KEYS = {name: table.key[0] for name, table in TABLES.items() if len(table.key) == 1}
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
    "negative_amount": ("quarantine", "amount, price or cost below 0"),
    "refund_above_amount": ("quarantine", "refunded_amount greater than amount"),
    "unknown_status": ("quarantine", "status not in completed/cancelled/refunded"),
    "unknown_billing_period": ("quarantine", "billing_period not in month/quarter/year"),
    "non_eur_currency": ("quarantine", "currency other than EUR (no FX conversion yet)"),
    "end_before_start": ("quarantine", "end_date before start_date"),
    "unknown_contract": ("quarantine", "cancellation of a contract_id absent from contracts"),
    "score_out_of_range": ("quarantine", "NPS score outside 0-10"),
    "too_many_decimals": ("quarantine", "amount, price or cost with more than two decimals"),
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
    ("unparsable_number", "contracts", 1, {"price": "tbd"}),  # n/a is a null word (missing)
    ("unparsable_number", "nps_responses", 1, {"score": "ten"}),
    ("unparsable_number", "retention_actions", 1, {"cost": "5,00"}),
    # not plain decimal notation (a cast would read 100 and 1000)
    ("unparsable_number", "orders", 1, {"amount": "1e2"}),
    ("unparsable_number", "contracts", 1, {"price": "1_000"}),
    ("negative_amount", "orders", 2, {"amount": "-19.95", "refunded_amount": None}),
    ("negative_amount", "contracts", 1, {"price": "-9.99"}),
    ("negative_amount", "retention_actions", 1, {"cost": "-5.00"}),
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
    ("too_many_decimals", "retention_actions", 1, {"cost": "4.995"}),
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


def pick_defects(
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


def defects_report(defects: list[Defect], clean_rows: dict[str, int], inferred: list[str]):
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


def collect_samples(
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
