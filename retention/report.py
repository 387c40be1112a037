"""What a build leaves out or maps to `unknown` without failing: the lines `retention build`
prints at its end.

- `quarantine_report`: the raw rows that were not staged (``quarantine.quarantined_rows``),
  counted per raw table and reason;
- `unknown_reason_codes` (and `unknown_reason_codes_report`): cancellation reason codes that
  the ``cancellation_reasons`` seed does not list, which the marts count as churn type
  ``unknown``, with their rows.

Both read a built database (after `dbt build`) read-only and return plain text or data, so
the caller decides where to print it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

QUARANTINE = "quarantine.quarantined_rows"
CANCELLATIONS = "staging.stg_shop__cancellations"
REASONS_SEED = "reference.cancellation_reasons"
SEED_FILE = "seeds/cancellation_reasons.csv"


def quarantine_counts(
    db_path: Path, since: dt.datetime | None = None
) -> list[tuple[str, str, int]]:
    """(source_table, reason, rows) of the quarantined rows, by table then most rows first.

    ``quarantine.quarantined_rows`` is rebuilt from every raw row on each build, so without
    `since` these are all the rows the warehouse leaves out now. With `since`, only rows
    whose ``_loaded_at`` is at or after it (a naive `since` is UTC, like ``_loaded_at``;
    rows without a ``_loaded_at`` then do not count)."""
    if since is not None and since.tzinfo is not None:
        since = since.astimezone(dt.UTC).replace(tzinfo=None)
    where, params = ("where _loaded_at >= ?", [since]) if since is not None else ("", [])
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(
            f"""
            select source_table, reason, count(*) as quarantined_rows
            from {QUARANTINE}
            {where}
            group by source_table, reason
            order by source_table, quarantined_rows desc, reason
            """,
            params,
        ).fetchall()


def quarantine_report(db_path: Path, since: dt.datetime | None = None) -> str:
    """The quarantined rows per raw table and reason as text, for the end of a build (one
    line when there are none)."""
    counts = quarantine_counts(db_path, since)
    scope = f" loaded since {since.isoformat()}" if since is not None else ""
    if not counts:
        return f"quarantined rows{scope}: none"
    total = sum(rows for _, _, rows in counts)
    tables = len({table for table, _, _ in counts})
    table_width = max(len(table) for table, _, _ in counts)
    reason_width = max(len(reason) for _, reason, _ in counts)
    lines = [
        f"quarantined rows{scope}: {total:,} in {tables} raw table{'s' * (tables != 1)} "
        f"(kept with the reason in {QUARANTINE})"
    ]
    lines += [
        f"  {table:<{table_width}}  {reason:<{reason_width}}  {rows:>10,}"
        for table, reason, rows in counts
    ]
    return "\n".join(lines)


def unknown_reason_codes(db_path: Path) -> list[tuple[str, int]]:
    """(reason_code, rows) of the staged cancellations whose reason code is not in the
    cancellation_reasons seed, most rows first. Cancellations without a reason code are
    not listed: there is no code to add."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(
            f"""
            select cancellations.reason_code, count(*) as cancellations
            from {CANCELLATIONS} as cancellations
            left join {REASONS_SEED} as reasons
                on cancellations.reason_code = reasons.reason_code
            where cancellations.reason_code is not null and reasons.reason_code is null
            group by cancellations.reason_code
            order by cancellations desc, cancellations.reason_code
            """
        ).fetchall()


def unknown_reason_codes_report(codes: list[tuple[str, int]]) -> str | None:
    """A warning naming the unknown codes and their rows (None when there are none)."""
    if not codes:
        return None
    listed = ", ".join(f"{code} ({rows:,} row{'s' * (rows != 1)})" for code, rows in codes)
    return (
        f"warning: {len(codes)} cancellation reason code{'s' * (len(codes) != 1)} not in the "
        f"cancellation_reasons seed, counted as churn type unknown: {listed}; add them to "
        f"{SEED_FILE} (reason_code, description, churn_type push/pull/unretainable, "
        "is_retainable) and build again"
    )
