"""The `retention generate` command: simulate chunk by chunk, write, optionally add defects."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from retention import console, signals
from retention.generate.common import (
    EARLIEST_START,
    FORMATS,
    LATEST_END,
    Counters,
    Options,
    Window,
)
from retention.generate.contracts import cancellations_table, contracts_table, simulate_contracts
from retention.generate.customers import (
    CHANNELS,
    ORPHANS_PER_CUSTOMER,
    acquisition_cdf,
    acquisition_times,
    acquisitions_per_month,
    chunk_customers,
    customers_table,
    marketing_spend_table,
    n_months,
)
from retention.generate.dirty import DEFECTS_FILE, collect_samples, defects_report, pick_defects
from retention.generate.operations import (
    newsletter_campaign,
    nps_table,
    retention_actions_table,
    winback_campaign,
)
from retention.generate.orders import Purchases, buyer_traits, order_events, orders_table
from retention.generate.output import Output
from retention.generate.text import raw_schema

# === one chunk ===============================================================================


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
    c = chunk_customers(
        rng, created_s, first_customer, n_customers + counters.orphans + 1, n_orphans, cdf, w
    )
    counters.orphans += n_orphans
    rows = counters.rows
    traits = buyer_traits(rng, c)
    purchases = order_events(rng, c, traits, w)
    actions, extra = winback_campaign(rng, c, traits, purchases, w)
    purchases = Purchases.concat([purchases, extra])
    contracts, cancellations, calls = simulate_contracts(rng, c, w)
    actions.extend(calls)
    actions.extend(newsletter_campaign(rng, c, purchases, contracts, cancellations, w))
    tables = {
        "customers": customers_table(rng, c, w),
        "orders": orders_table(rng, c, traits, purchases, rows["orders"] + 1, w),
        "contracts": contracts_table(rng, c, contracts, rows["contracts"] + 1, w),
        "cancellations": cancellations_table(
            rng, c, cancellations, rows["cancellations"] + 1, rows["contracts"] + 1, w
        ),
        "nps_responses": nps_table(
            rng, c, purchases, contracts, cancellations, rows["nps_responses"] + 1, w
        ),
        "retention_actions": retention_actions_table(
            rng, c, actions, rows["retention_actions"] + 1, w
        ),
    }
    for name, table in tables.items():
        rows[name] += table.num_rows
    return tables, acquisitions_per_month(c, w)


# === the command =============================================================================


def generate(opts: Options) -> dict[str, int]:
    """Write the data set; return the rows per table (clean rows plus injected ones)."""
    if opts.customers < 1:
        raise ValueError("--customers must be at least 1")
    if opts.seed < 0:  # numpy's own words, "expected non-negative integer", name no option
        raise ValueError("--seed must be 0 or more")
    if opts.end <= opts.start:
        raise ValueError("--end must be after --start")
    if opts.start < EARLIEST_START:
        raise ValueError(
            f"--start must be on or after {EARLIEST_START}: the warehouse quarantines earlier "
            "dates as implausible (dbt var earliest_plausible_date)"
        )
    if opts.end > LATEST_END:
        raise ValueError(
            f"--end must be on or before {LATEST_END}: contracts end up to two years later, "
            "and dates are written with four-digit years"
        )
    if opts.format not in FORMATS:
        raise ValueError(f"--format must be one of {FORMATS}")
    if opts.out.exists() and not opts.out.is_dir():
        # mkdir's own words were "[Errno 17] File exists", which reads as a clash of folders.
        raise ValueError(f"--out {opts.out} is a file, not a folder: name the folder to write into")
    began = time.perf_counter()
    w = Window.of(opts)
    acquisition_seq, spend_seq, defects_seq, chunks_seq = np.random.SeedSequence(opts.seed).spawn(4)
    cdf = acquisition_cdf(w)
    created = np.sort(
        acquisition_times(np.random.default_rng(acquisition_seq), opts.customers, cdf, w)
    )
    bounds = list(range(0, opts.customers, opts.chunk_size)) + [opts.customers]
    chunk_seqs = chunks_seq.spawn(len(bounds) - 1)

    opts.out.mkdir(parents=True, exist_ok=True)
    output = Output(opts.out, opts.format)
    writers = output.writers
    counters = Counters()
    acquisitions = np.zeros((len(CHANNELS), n_months(w)), dtype=np.int64)
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
                    collect_samples(samples, tables, inferred, i == 0)
                bar.update(
                    f"generating: customers {hi:,}, orders {counters.rows['orders']:,}, "
                    f"contracts {counters.rows['contracts']:,}"
                )
                bar.advance(hi - lo)
        writers["marketing_spend"].write(
            marketing_spend_table(np.random.default_rng(spend_seq), acquisitions, w)
        )
        clean_rows = {name: writer.rows for name, writer in writers.items()}
        if opts.dirty:
            defects = pick_defects(np.random.default_rng(defects_seq), samples, counters)
            for defect in defects:
                table = pa.Table.from_pylist(defect.rows, schema=raw_schema(defect.table))
                writers[defect.table].write(table)
            report = defects_report(defects, clean_rows, inferred)
            output.add_text(DEFECTS_FILE, json.dumps(report, indent=2, sort_keys=True) + "\n")
        output.commit()
    except BaseException:
        output.abort()
        raise
    rows = {name: writer.rows for name, writer in writers.items()}
    unwritten = output.unwritten()
    summary = ", ".join(
        f"{name} {count:,}" + (" (no file)" if name in unwritten else "")
        for name, count in rows.items()
    )
    if opts.progress:
        console.say(
            f"wrote {opts.format} to {opts.out} in {time.perf_counter() - began:.1f}s: "
            f"{summary}" + (" (clean + injected defects)" if opts.dirty else "")
        )
    return rows


EXIT_CODES = {
    0: "the data set was written",
    2: "nothing written: invalid options (fewer than 1 customer, a negative --seed, --end "
    f"not after --start, a window outside {EARLIEST_START} to {LATEST_END}, an empty --out or one "
    "naming a file), "
    "the folder cannot be written, or memory ran out; the files already in the folder are "
    "as they were",
}
# By SIGINT, SIGTERM or SIGHUP (cli.SIGNAL_CODES).
STOPPED = "nothing was written, the files already in the folder are as they were"


def _folder(text: str) -> Path:
    # Path("") is the current folder: an unset variable (`--out "$DATA"`) wrote there.
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; name the folder to write into")
    return Path(text)


def _date(text: str) -> date:
    # argparse named the parser, not the form: "invalid fromisoformat value: '2024/01/01'".
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"expected a date as YYYY-MM-DD, got {text!r} ({exc})"
        ) from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", required=True, type=_folder, metavar="DIR", help="directory to write into"
    )
    parser.add_argument(
        "--customers", type=int, default=2000, metavar="N", help="customers (default 2000)"
    )
    parser.add_argument(
        "--seed", type=int, default=42, metavar="S", help="random seed (default 42)"
    )
    parser.add_argument(
        "--start",
        type=_date,
        default=date(2021, 1, 1),
        metavar="DATE",
        help="first day of the simulated period (default 2021-01-01)",
    )
    parser.add_argument(
        "--end",
        type=_date,
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
    with signals.stoppable() as received:
        try:
            generate(opts)
        except ValueError as exc:
            console.error("generate", str(exc))
            return 2
        except OSError as exc:
            console.error("generate", f"cannot write to {opts.out}: {exc}")
            return 2
        except MemoryError:
            console.error(
                "generate",
                f"out of memory for {opts.customers:,} customers; nothing was written (the "
                f"files already in {opts.out} are as they were): ask for fewer --customers",
            )
            return 2
        except BaseException as exc:
            signum = signals.signal_of(exc, received)
            if signum is None:
                raise
            console.error(
                "generate",
                f"interrupted by {signal.Signals(signum).name}; nothing was written "
                f"(the files already in {opts.out} are as they were)",
            )
            return 128 + signum
    return 0
