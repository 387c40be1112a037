"""Incremental and idempotent builds (issue 5): the base models (but the cancellations' and
the marketing spend's), the purchases and the closed part of the customer-period fact are
incremental (dbt's delete+insert on load batches, or an append after a pre-hook delete;
macros/incremental.sql, docs/operations.md "Incremental builds"), and whatever path a run takes, its
marts equal those of a build from scratch on the same raw data, row for row.

One generated data set (CUSTOMERS customers, Parquet) is delivered day by day, as nightly
loads: a delivery holds the raw rows loaded since the previous one (`_loaded_at`), plus the
hand-made late rows below, and `retention load` appends it as one batch. One warehouse is
built day after day (the daily job: `retention load` then `dbt build`, no --full-refresh; the
data tests run on the DAY_2 build, the other builds build the models only, to keep this
module quick); each step is compared with a fresh build of the same raw data (the same
deliveries loaded into a new database, `--full-refresh`):

1. DAY_1 built twice: the second build is an incremental run and changes nothing.
2. DAY_2 adds four load days and, within the look-back window, late rows: an order stamped
   as loaded before the previous run's latest load day but missing from it, a re-delivered
   order that is now refunded, an order moved to another customer, an order corrected in
   place (same key and `_loaded_at`, new amount: the later batch wins), a back-dated
   cancellation of a running contract, a cancellation withdrawn (final offer accepted), and
   a contract starting within the grace days after a gap in May (the May it bridges
   changes). An incremental run (not a full rebuild) picks them up the same day.
3. DAY_3 adds an order stamped as loaded before the previous run's look-back window: it comes
   in a new load batch, so an incremental run picks it up all the same.
4. as_of_date set back to AS_OF_BACK: a full rebuild ('as_of_date moved back').
5. as_of_date unset again (A jumps forward by more than a month): incremental again (a
   cancellation loaded in May but requested after AS_OF_BACK, which takes away a contract
   bridging April, rewrites the closed April from the contract's start less the grace days,
   as does a contract signed after AS_OF_BACK that bridges April); built once more with
   nothing new: incremental, nothing changes. Then, without look-back, two batches of one
   June order each, which reach no closed period, and a run with nothing new: all
   incremental. Then two batches of one order each of a customer without contracts, each
   dated after A (A moves): in the second run the contract models have no changed customer,
   yet write the run's stamps (one customer more), so a run with nothing new after it stays
   incremental.
6. A late April order of a customer no look-back reads (DAY_4), built with
   int_changed_customers left out (`--exclude`): the set it holds is the previous run's, so
   the five models written per customer rebuild in full and the order counts.
7. The orders re-delivered in full without one order (`retention load --replace`): the run
   rebuilds in full ('raw tables re-delivered') and the order is gone everywhere.
8. Beside the chain, on a copy of the DAY_3 build: a contract that started in June, within
   the grace days after another ended in May, delivered late in a batch of its own. The
   incremental run of the models up to the closed customer periods rewrites the May it
   bridges, as a --full-refresh of the same raw data writes it.

Which rows a run wrote is read from int_customer_periods_closed.built_at (dbt's run start):
a full rebuild writes every row, an incremental run the rows of the customers whose changes
reach a closed period (plus one customer that carries the run's stamps) and of the periods
closed since the previous run. (A changed model or macro is deployed with
--full-refresh: docs/operations.md "Incremental builds".)

Rows are compared by retention.compare.compare_marts: every non-float value equal, doubles
within a relative 1e-9 (a sum of doubles taken in another order differs in its last digits).
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Future
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pipeline import (
    CLOSED_PERIODS,
    DB_NAME,
    MODELS_ONLY,
    DbtRun,
    copy_db,
    dbt,
    deliver,
    differences,
    load,
    submit,
)

from retention import dbt_runner, load_rows
from retention.compare import compare_marts
from retention.generate import Options, generate
from retention.load import load_dir

CUSTOMERS, SEED = 400, 23
DAY_1 = dt.date(2024, 6, 20)  # rows loaded before this day; the last load day is 06-19
DAY_2 = dt.date(2024, 6, 24)
DAY_3 = DAY_2
AS_OF_BACK = "2024-05-15"
LOOKBACK_DAYS = 3  # the default of `incremental_lookback_days` (dbt_project.yml)
BUILD = [*dbt_runner.BUILD]


# --- data: nightly deliveries ----------------------------------------------------------------


def _at(day: dt.date) -> dt.datetime:
    """Midnight UTC at the start of `day`."""
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any]:
    cursor = con.execute(sql)
    row = cursor.fetchone()
    assert row is not None, sql
    return dict(zip([c[0] for c in cursor.description], row, strict=True))


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("incremental-data")
    full = root / "generated"
    generate(Options(out=full, customers=CUSTOMERS, seed=SEED, format="parquet", progress=False))
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        orders = f"read_parquet('{full / 'orders.parquet'}')"
        contracts = f"read_parquet('{full / 'contracts.parquet'}')"
        cancellations = f"read_parquet('{full / 'cancellations.parquet'}')"
        # Completed orders loaded well before DAY_1, of four different customers.
        picked = con.execute(
            f"""
            select * from {orders}
            where status = 'completed' and try_cast(_loaded_at as timestamptz) < '2024-03-01'
            qualify row_number() over (partition by customer_id order by order_id) = 1
            order by order_id
            limit 4
            """
        ).fetchall()
        order_columns = [c[0] for c in con.execute(f"describe select * from {orders}").fetchall()]
        picked = [dict(zip(order_columns, row, strict=True)) for row in picked]
        # A contract running from before March to past DAY_2, never cancelled.
        contract = _one(
            con,
            f"""
            select * from {contracts}
            where try_cast(start_date as date) < '2024-03-01'
                and (end_date is null or try_cast(end_date as date) > '2024-07-31')
                and contract_id not in (select contract_id from {cancellations})
            order by contract_id
            limit 1
            """,
        )
        # A cancellation loaded long before DAY_1 that ended its contract early (effective in
        # spring, before the contract's end): withdrawn on DAY_2, so the contract runs on.
        withdrawn = _one(
            con,
            f"""
            select cancellations.*, contracts.customer_id as contract_customer_id
            from {cancellations} as cancellations
            inner join {contracts} as contracts
                on cancellations.contract_id = contracts.contract_id
            where try_cast(cancellations._loaded_at as timestamptz) < '2024-05-01'
                and coalesce(cancellations.final_offer_accepted, 'false') <> 'true'
                and try_cast(cancellations.effective_date as date)
                    between '2024-02-01' and '2024-04-30'
                and (
                    contracts.end_date is null
                    or try_cast(contracts.end_date as date) > '2024-07-31'
                )
            order by cancellations.cancellation_id
            limit 1
            """,
        )
        # A completed order loaded inside the look-back window of DAY_1's run (06-16 … 06-19),
        # corrected on DAY_2 under the same _loaded_at: the later batch wins the tie.
        corrected = _one(
            con,
            f"""
            select * from {orders}
            where status = 'completed'
                and try_cast(_loaded_at as timestamptz) >= '2024-06-16'
                and try_cast(_loaded_at as timestamptz) < '2024-06-20'
            order by order_id
            limit 1
            """,
        )

        # An order of a customer without contracts, ordered before March, whose orders were
        # all loaded before June: no look-back re-reads the customer. A new April order of
        # theirs arrives alone on DAY_4 (A does not move).
        quiet = _one(
            con,
            f"""
            select * from {orders}
            where status = 'completed' and try_cast(ordered_at as timestamptz) < '2024-03-01'
                and customer_id not in (
                    select customer_id from {orders}
                    where try_cast(_loaded_at as timestamptz) >= '2024-06-01'
                )
                and customer_id not in (select customer_id from {contracts})
            order by customer_id desc, order_id
            limit 1
            """,
        )

        # Five customers without contracts whose orders were all loaded before June (not the
        # quiet one, nor one of the four picked). The first, for two contracts of ours: the
        # first ends in May, the second starts in the DAY_2 delivery within the grace days.
        # The second, for an order stamped exactly at midnight of DAY_1's look-back day
        # (06-16): "loaded on or after" that day includes it. The third, for two contracts
        # like the first's, the second of which started in June but is delivered late. The
        # fourth, for two contracts the second of which bridges April until a cancellation
        # requested after AS_OF_BACK takes it away. The fifth, for two contracts the second
        # of which, signed after AS_OF_BACK, bridges April once A has passed its signature.
        taken = ", ".join(f"'{row['customer_id']}'" for row in [*picked, quiet])
        bridged, midnight, late_bridged, cancel_bridged, sign_bridged = (
            customer_id
            for (customer_id,) in con.execute(
                f"""
                select distinct customer_id from {orders}
                where customer_id not in (select customer_id from {contracts})
                    and customer_id not in (
                        select customer_id from {orders}
                        where try_cast(_loaded_at as timestamptz) >= '2024-06-01'
                    )
                    and customer_id not in ({taken})
                order by customer_id
                limit 5
                """
            ).fetchall()
        )
        template = _one(con, f"select * from {contracts} order by contract_id limit 1")

        # The days of two orders of a customer without contracts, each alone in a batch, that
        # move A (after every staged event, in June): the second is the latest day of June on
        # which no contract starts or is signed and no cancellation is requested, so that
        # moving A from the first (its day before) to it names no contract customer.
        (second_day,) = _one(
            con,
            f"""
            select max(cast(day as date)) as day
            from generate_series(date '2024-06-25', date '2024-06-30', interval 1 day) as days(day)
            where cast(day as date) not in (
                select try_cast(start_date as date) from {contracts} where start_date is not null
                union
                select cast(try_cast(signed_at as timestamptz) as date) from {contracts}
                where signed_at is not null
                union
                select cast(try_cast(requested_at as timestamptz) as date) from {cancellations}
                where requested_at is not null
            )
            """,
        ).values()
        orders_only_days = (second_day - dt.timedelta(days=1), second_day)

    late_in_window, refunded, moved, receiver = picked
    bridge = {**template, "customer_id": bridged, "previous_contract_id": None}
    late_bridge = {**template, "customer_id": late_bridged, "previous_contract_id": None}
    cancel_bridge = {**template, "customer_id": cancel_bridged, "previous_contract_id": None}
    sign_bridge = {**template, "customer_id": sign_bridged, "previous_contract_id": None}
    day_1_extra = {
        "orders": [
            # Loaded at 00:00 of 06-16, the first instant of the look-back DAY_1's second run
            # (and DAY_2's) re-reads: its customer is rewritten (an order of May reaches a
            # closed month). One microsecond's "after" instead of "on or after" would miss it.
            {
                **quiet,
                "customer_id": midnight,
                "order_id": "LOOKBACK-MIDNIGHT",
                "ordered_at": "2024-05-10T10:00:00Z",
                "amount": "15.00",
                "refunded_amount": None,
                "_loaded_at": "2024-06-16T00:00:00Z",
            },
        ],
        "contracts": [
            # Covers 01-15 … 05-25 (end_date is the last covered day).
            {
                **bridge,
                "contract_id": "BRIDGE-1",
                "start_date": "2024-01-15",
                "end_date": "2024-05-25",
                "signed_at": "2024-01-10T09:00:00Z",
                "_loaded_at": "2024-01-11T02:00:00Z",
            },
            # Covers 02-01 … 05-20.
            {
                **late_bridge,
                "contract_id": "LATE-BRIDGE-1",
                "start_date": "2024-02-01",
                "end_date": "2024-05-20",
                "signed_at": "2024-01-25T09:00:00Z",
                "_loaded_at": "2024-01-26T02:00:00Z",
            },
            # Covers 01-15 … 04-10.
            {
                **cancel_bridge,
                "contract_id": "CANCEL-BRIDGE-1",
                "start_date": "2024-01-15",
                "end_date": "2024-04-10",
                "signed_at": "2024-01-10T09:00:00Z",
                "_loaded_at": "2024-01-11T02:00:00Z",
            },
            # Starts 05-05 (signed 04-28), on or before AS_OF_BACK (05-15): the gap
            # 04-11 … 05-04 is 24 days, at most contract_grace_days (30), so on AS_OF_BACK
            # one spell runs through it and April ends active.
            {
                **cancel_bridge,
                "contract_id": "CANCEL-BRIDGE-2",
                "start_date": "2024-05-05",
                "end_date": "2025-05-04",
                "signed_at": "2024-04-28T09:00:00Z",
                "previous_contract_id": "CANCEL-BRIDGE-1",
                "_loaded_at": "2024-04-29T02:00:00Z",
            },
            # Covers 01-15 … 04-10.
            {
                **sign_bridge,
                "contract_id": "SIGN-BRIDGE-1",
                "start_date": "2024-01-15",
                "end_date": "2024-04-10",
                "signed_at": "2024-01-10T09:00:00Z",
                "_loaded_at": "2024-01-11T02:00:00Z",
            },
            # Starts 05-05, on or before AS_OF_BACK (05-15), but signed 05-20, after it: it
            # does not exist on AS_OF_BACK. Once it does, the gap 04-11 … 05-04 is 24 days,
            # at most contract_grace_days (30): one spell, and April ends active. Loaded in
            # May, long before any look-back of the chain.
            {
                **sign_bridge,
                "contract_id": "SIGN-BRIDGE-2",
                "start_date": "2024-05-05",
                "end_date": "2025-05-04",
                "signed_at": "2024-05-20T09:00:00Z",
                "previous_contract_id": "SIGN-BRIDGE-1",
                "_loaded_at": "2024-05-21T02:00:00Z",
            },
        ],
        "cancellations": [
            # Requested 05-20, after AS_OF_BACK, effective 05-04, before CANCEL-BRIDGE-2's
            # start: it leaves nothing covered, so April ends inactive once A has passed the
            # request. Loaded in May, long before any look-back of the chain.
            {
                "cancellation_id": "CANCEL-BRIDGE-CXL",
                "contract_id": "CANCEL-BRIDGE-2",
                "requested_at": "2024-05-20T09:00:00Z",
                "effective_date": "2024-05-04",
                "reason_code": "price_too_high",
                "final_offer_made": "false",
                "final_offer_accepted": None,
                "_loaded_at": "2024-05-21T02:00:00Z",
            },
        ],
    }
    day_2_extra = {
        "orders": [
            # A new order of March, stamped as loaded on 06-18: before the previous run's
            # latest load day (06-19) but inside its look-back window (06-16 on).
            {
                **late_in_window,
                "order_id": "LATE-IN-WINDOW",
                "ordered_at": "2024-03-10T10:00:00Z",
                "amount": "25.00",
                "refunded_amount": None,
                "_loaded_at": "2024-06-18T02:30:00Z",
            },
            # Re-delivered: the order was refunded in full (no longer a purchase).
            {**refunded, "status": "refunded", "_loaded_at": "2024-06-22T02:10:00Z"},
            # Re-delivered under another customer: both customers change.
            {
                **moved,
                "customer_id": receiver["customer_id"],
                "_loaded_at": "2024-06-22T02:20:00Z",
            },
            # Corrected in place: same key, a new amount, the same _loaded_at as the row it
            # corrects (a source that stamps rows by their event, not by their delivery).
            {**corrected, "amount": "987.65", "refunded_amount": None},
        ],
        "contracts": [
            # Starts 06-21: the gap 05-26 … 06-20 is 26 days, at most contract_grace_days (30),
            # so BRIDGE-1's spell runs on through it and May ends active after all.
            {
                **bridge,
                "contract_id": "BRIDGE-2",
                "start_date": "2024-06-21",
                "end_date": "2025-06-20",
                "signed_at": "2024-06-20T09:00:00Z",
                "previous_contract_id": "BRIDGE-1",
                "_loaded_at": "2024-06-21T02:00:00Z",
            },
        ],
        "cancellations": [
            # Requested (back-dated) in April, effective at the end of April: the contract's
            # coverage ends two months before the previous A.
            {
                "cancellation_id": "LATE-CANCEL",
                "contract_id": contract["contract_id"],
                "requested_at": "2024-04-01T09:00:00Z",
                "effective_date": "2024-04-30",
                "reason_code": "price_too_high",
                "final_offer_made": "false",
                "final_offer_accepted": None,
                "_loaded_at": "2024-06-23T02:40:00Z",
            },
            # Withdrawn: the customer accepted a final offer after all (the cancellation no
            # longer ends the contract).
            {
                **{k: v for k, v in withdrawn.items() if k != "contract_customer_id"},
                "final_offer_made": "true",
                "final_offer_accepted": "true",
                "_loaded_at": "2024-06-22T03:00:00Z",
            },
        ],
    }
    day_3_extra = {
        "orders": [
            # Stamped as loaded on 06-10: before the previous run's look-back window.
            {
                **receiver,
                "order_id": "LATE-BEFORE-WINDOW",
                "ordered_at": "2024-02-02T08:00:00Z",
                "amount": "40.00",
                "refunded_amount": None,
                "_loaded_at": "2024-06-10T02:30:00Z",
            },
        ],
    }

    # Two orders of June (A's month) of a customer with closed months, each alone in a batch
    # after "settled", both stamped as loaded on 06-25, a day after every other row.
    def june_order(order_id: str, day: int, hour: int) -> dict[str, Any]:
        return {
            **late_in_window,
            "order_id": order_id,
            "ordered_at": f"2024-06-{day}T10:00:00Z",
            "amount": "30.00",
            "refunded_amount": None,
            "_loaded_at": f"2024-06-25T0{hour}:00:00Z",
        }

    # Both loaded on 06-30, after every other row: without look-back, the second batch's run
    # re-reads the first batch's order and nothing else.
    orders_only = {
        **quiet,
        "customer_id": midnight,
        "amount": "20.00",
        "refunded_amount": None,
        "_loaded_at": "2024-06-30T02:00:00Z",
    }

    # Signed 05-30 and starting 06-05, both before the A of every run since DAY_2, but
    # delivered only after DAY_3: its raw row's batch alone names its customer. The gap
    # 05-21 … 06-04 is 15 days, at most contract_grace_days (30): May ends active after all.
    late_contract = {
        **late_bridge,
        "contract_id": "LATE-BRIDGE-2",
        "start_date": "2024-06-05",
        "end_date": "2025-06-04",
        "signed_at": "2024-05-30T09:00:00Z",
        "previous_contract_id": "LATE-BRIDGE-1",
        "_loaded_at": "2024-06-24T03:00:00Z",
    }
    day_4_extra = {
        "orders": [
            {
                **quiet,
                "order_id": "QUIET-APRIL",
                "ordered_at": "2024-04-10T10:00:00Z",
                "amount": "55.00",
                "refunded_amount": None,
                "_loaded_at": "2024-06-24T02:00:00Z",
            },
        ],
    }
    return {
        "day_1": deliver(full, root / "day-1", None, _at(DAY_1), day_1_extra),
        "day_2": deliver(full, root / "day-2", _at(DAY_1), _at(DAY_2), day_2_extra),
        "day_3": deliver(full, root / "day-3", _at(DAY_2), _at(DAY_3), day_3_extra),
        "june_orders": [
            deliver(full, root / f"june-{n}", _at(DAY_3), _at(DAY_3), {"orders": [order]})
            for n, order in enumerate(
                [june_order("JUNE-1", 21, 1), june_order("JUNE-2", 22, 2)], start=1
            )
        ],
        "june_customer": late_in_window["customer_id"],
        # Two batches of one order each of a customer without contracts (the midnight one).
        "orders_only": [
            deliver(
                full,
                root / f"orders-only-{day.day}",
                _at(DAY_3),
                _at(DAY_3),
                {
                    "orders": [
                        {
                            **orders_only,
                            "order_id": f"ORDERS-ONLY-{day.day}",
                            "ordered_at": f"{day}T10:00:00Z",
                        }
                    ]
                },
            )
            for day in orders_only_days
        ],
        "orders_only_days": orders_only_days,
        "day_4": deliver(full, root / "day-4", _at(DAY_3), _at(DAY_3), day_4_extra),
        "late_contract": deliver(
            full, root / "late-contract", _at(DAY_3), _at(DAY_3), {"contracts": [late_contract]}
        ),
        "late_bridged_customer": late_bridged,
        "cancel_bridged_customer": cancel_bridged,
        "sign_bridged_customer": sign_bridged,
        "quiet_customer": quiet["customer_id"],
        # The customers whose DAY_2 changes reach a closed month (before June): orders of
        # March and earlier, a cancellation or withdrawal of a contract that started before
        # March, the bridging contract. (The corrected order is one of June's.)
        "customers_touched": {
            late_in_window["customer_id"],
            refunded["customer_id"],
            moved["customer_id"],
            receiver["customer_id"],
            contract["customer_id"],
            withdrawn["contract_customer_id"],
            bridged,
        },
        "bridged_customer": bridged,
        "midnight_customer": midnight,
        "removed_order_id": refunded["order_id"],
        "late_customer": receiver["customer_id"],
        "corrected_order_id": corrected["order_id"],
        "withdrawn_cancellation_id": withdrawn["cancellation_id"],
    }


def _changed_from_days(data: Path, day: dt.date) -> dict[str, dt.date | None]:
    """The customers named by any version of an order or contract key with a row loaded on
    or after `day`, or of the contract of a cancellation loaded then, each with the first
    day their changes can alter: an order's date; a contract's start less
    contract_grace_days (30), since a contract starting within the grace days after a gap
    bridges the gap; the earliest over the versions, None when a version lacks its date."""
    since = dt.datetime.combine(day, dt.time(), dt.UTC)
    loaded = "try_cast(_loaded_at as timestamptz) >= ?"
    orders = f"read_parquet('{data / 'orders.parquet'}')"
    contracts = f"read_parquet('{data / 'contracts.parquet'}')"
    cancellations = f"read_parquet('{data / 'cancellations.parquet'}')"
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        rows = con.execute(
            f"""
            with changed_from as (
                select customer_id, cast(try_cast(ordered_at as timestamptz) as date) as day
                from {orders}
                where order_id in (select order_id from {orders} where {loaded})
                union all
                select customer_id, try_cast(start_date as date) - 30 as day
                from {contracts}
                where contract_id in (
                    select contract_id from {contracts} where {loaded}
                    union
                    select contract_id from {cancellations} where {loaded}
                )
            )
            select customer_id, case when count(*) = count(day) then min(day) end
            from changed_from
            group by customer_id
            """,
            [since, since, since],
        ).fetchall()
    return dict(rows)


# --- builds ----------------------------------------------------------------------------------


def _fresh(
    deliveries: list[Path], db_path: Path, workdir: Path, vars: dict[str, Any] | None = None
) -> Path:
    """A warehouse built from scratch on the deliveries, loaded one after the other into a
    new database (its models: the data tests run in the daily builds)."""
    load(deliveries[0], db_path)
    for data in deliveries[1:]:
        load(data, db_path, fresh=False)
    run = dbt([*MODELS_ONLY, "--full-refresh"], db_path, workdir, vars=vars, manifest=False)
    assert run.ok, run.failure_summary()
    return db_path


def _closed_month_on_contracts(
    before_db: Path, after_db: Path, customer: str, month: str
) -> tuple[Any, Any, Any]:
    """A customer's closed month (its first day, e.g. '2024-05-01') on the contract basis,
    its start and end state, in two warehouses, and the customer's changed_from_date in the
    second."""
    states = (
        f"select is_active_start, is_active_end from {CLOSED_PERIODS} where customer_id = ? "
        "and basis = 'contract' and period_grain = 'month' and period_start = ?"
    )
    with duckdb.connect(str(before_db), read_only=True) as con:
        before = con.execute(states, [customer, month]).fetchone()
    with duckdb.connect(str(after_db), read_only=True) as con:
        after = con.execute(states, [customer, month]).fetchone()
        changed_from = con.execute(
            "select changed_from_date from intermediate.int_changed_customers "
            "where customer_id = ?",
            [customer],
        ).fetchone()
    return before, after, changed_from


def _scope(db_path: Path) -> dict[str, Any]:
    """What the latest run wrote of the closed customer periods: every row (a full rebuild)
    or some, the customers and month rows it wrote, and the A it was built for."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        scope = _one(
            con,
            f"""
            select
                count(*) filter (where built_at = latest) = count(*) as is_full_rebuild,
                max(built_as_of_date) as as_of_date
            from {CLOSED_PERIODS}, (select max(built_at) as latest from {CLOSED_PERIODS})
            """,
        )
        written = (
            f"from {CLOSED_PERIODS} where built_at = (select max(built_at) from {CLOSED_PERIODS})"
        )
        scope["customers"] = {
            row[0] for row in con.execute(f"select distinct customer_id {written}").fetchall()
        }
        scope["months"] = {
            row[0]
            for row in con.execute(
                f"select distinct period_start {written} and period_grain = 'month'"
            ).fetchall()
        }
        scope["unwritten_months"] = {
            row[0]
            for row in con.execute(
                f"select distinct period_start from {CLOSED_PERIODS} where period_grain = 'month' "
                f"and built_at < (select max(built_at) from {CLOSED_PERIODS})"
            ).fetchall()
        }
        scope["all_customers"] = {
            row[0]
            for row in con.execute(f"select distinct customer_id from {CLOSED_PERIODS}").fetchall()
        }
    return scope


@pytest.fixture(scope="module")
def daily(deliveries: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The warehouse built day after day, a snapshot after every step, and the fresh builds
    to compare with (those run on the pool beside the daily chain)."""
    root = tmp_path_factory.mktemp("incremental-builds")

    def fresh_builds() -> dict[str, Path]:
        # One after the other in one folder: dbt parses the project once for all of them.
        work = root / "fresh"
        up_to = {
            day: [deliveries[d] for d in ("day_1", "day_2", "day_3")[:n]]
            for n, day in enumerate(("day_1", "day_2", "day_3"), start=1)
        }
        return {
            name: _fresh(up_to[day], root / f"fresh-{name}" / DB_NAME, work, vars)
            # No fresh build of day 1: the first daily build has no state, so it is one.
            for name, day, vars in [
                ("day_2", "day_2", None),
                ("day_3", "day_3", None),
                ("as_of_back", "day_3", {"as_of_date": AS_OF_BACK}),
            ]
        }

    fresh: Future[dict[str, Path]] = submit(fresh_builds)
    chain = root / "daily"
    db_path = chain / DB_NAME
    steps: dict[str, dict[str, Any]] = {}

    def step(
        name: str,
        data: Path | None,
        vars: dict[str, Any] | None = None,
        tests: bool = False,
        exclude: tuple[str, ...] = (),
    ) -> None:
        if data is not None:
            load(data, db_path, fresh=False)  # appended: the daily load
        args = [*(BUILD if tests else MODELS_ONLY), *(["--exclude", *exclude] if exclude else [])]
        run = dbt(args, db_path, chain, vars=vars, manifest=False)
        assert run.ok, f"{name}: {run.failure_summary()}"
        steps[name] = {
            "db": copy_db(db_path, root / "snapshots" / name / DB_NAME),
            "scope": _scope(db_path),
            "output": run.output,
        }

    step("first", deliveries["day_1"])
    step("again", None)
    step("day_2", deliveries["day_2"], tests=True)  # the data tests pass on it too
    step("day_3", deliveries["day_3"])
    step("as_of_back", None, {"as_of_date": AS_OF_BACK})
    step("as_of_forward", None)
    step("settled", None)
    # Without look-back a run still re-reads the rows loaded on the latest load day: the
    # second June order's run re-reads the first (06-25) and nothing else. Then a run with
    # nothing new.
    no_lookback = {"incremental_lookback_days": 0}
    step("june_order", deliveries["june_orders"][0], no_lookback)
    step("june_order_again", deliveries["june_orders"][1], no_lookback)
    step("after_june_orders", None, no_lookback)
    step("orders_only", deliveries["orders_only"][0], no_lookback)
    step("orders_only_again", deliveries["orders_only"][1], no_lookback)
    step("after_orders_only", None, no_lookback)
    # int_changed_customers left out of the run: it holds the set of the run before.
    step("without_changed_customers", deliveries["day_4"], exclude=("int_changed_customers",))

    # A full re-delivery of the orders without one of them (`retention load --replace`): the
    # next run rebuilds in full, and equals a --full-refresh build of the same raw data.
    redelivery = root / "redelivery"
    redelivery.mkdir()
    with duckdb.connect(str(db_path)) as con:
        con.execute(
            "copy (select * exclude (_load_id) from raw.orders where order_id <> ?) "
            f"to '{redelivery / 'orders.parquet'}' (format parquet)",
            [deliveries["removed_order_id"]],
        )
    load_dir(redelivery, db_path, replace=True)
    same_raw = copy_db(db_path, root / "fresh-redelivered" / DB_NAME)
    step("redelivered", None)
    run = dbt(
        [*MODELS_ONLY, "--full-refresh"], same_raw, root / "fresh-redelivered", manifest=False
    )
    assert run.ok, run.failure_summary()
    return {"steps": steps, "fresh": {**fresh.result(), "redelivered": same_raw}}


# --- tests -----------------------------------------------------------------------------------


def test_the_first_build_is_a_full_rebuild(daily: dict[str, Any]) -> None:
    first = daily["steps"]["first"]
    assert first["scope"]["is_full_rebuild"]


def test_building_twice_changes_nothing(daily: dict[str, Any], deliveries: dict[str, Any]) -> None:
    again = daily["steps"]["again"]
    # An incremental run: no new batch and A did not move (still in June), so no period
    # closed since, and it rebuilds the customers with raw rows loaded in the look-back
    # (06-16 … 06-19) whose changes reach a month before June (of them, those with a closed
    # period: a customer first active in June has open periods only), and one customer
    # more: the smallest id with a closed row, rewritten so that the run's stamps are
    # written even when no change reaches a closed period.
    assert not again["scope"]["is_full_rebuild"]
    lookback_from = dt.date(2024, 6, 19) - dt.timedelta(days=LOOKBACK_DAYS)
    changed_from = _changed_from_days(deliveries["day_1"], lookback_from)
    loaded = set(changed_from)
    reaching = {c for c, day in changed_from.items() if day is None or day < dt.date(2024, 6, 1)}
    everyone = again["scope"]["all_customers"]
    assert again["scope"]["customers"] == (reaching & everyone) | {min(everyone)}
    assert deliveries["midnight_customer"] in again["scope"]["customers"]
    # Most look-back customers changed only June, which the open part holds: not rewritten.
    assert len(loaded & everyone) > 2 * len(reaching & everyone)
    assert differences(daily["steps"]["first"]["db"], again["db"]) == []


def test_incremental_runs_leave_no_table_behind(daily: dict[str, Any]) -> None:
    # dbt-duckdb writes an incremental Python model's result (int_predictive_parameters) to
    # a lasting table `<model>__dbt_tmp<timestamp>` in the default schema and never drops
    # it; the model's post-hook does (macros/python_models.sql). After the chain's fourteen
    # runs (all but the first incremental), the warehouse holds only the project's relations.
    db = daily["steps"]["without_changed_customers"]["db"]
    with duckdb.connect(str(db), read_only=True) as con:
        left = con.execute(
            "select schema_name || '.' || table_name from duckdb_tables() "
            "where schema_name = 'main' or table_name like '%dbt_tmp%' order by all"
        ).fetchall()
    assert left == []


def test_new_days_with_late_rows_build_incrementally_to_the_full_refresh_marts(
    daily: dict[str, Any], deliveries: dict[str, Any]
) -> None:
    scope = daily["steps"]["day_2"]["scope"]
    assert not scope["is_full_rebuild"]
    assert "rebuilt in full" not in daily["steps"]["day_2"]["output"]
    assert deliveries["customers_touched"] & scope["all_customers"] <= scope["customers"]
    # A partial rebuild: customers without new or late rows keep their rows.
    assert scope["customers"] < scope["all_customers"]
    assert differences(daily["fresh"]["day_2"], daily["steps"]["day_2"]["db"]) == []


def test_corrections_in_the_look_back_window_take_effect_the_same_day(
    daily: dict[str, Any], deliveries: dict[str, Any]
) -> None:
    # The corrections are in the incremental build itself (not only equal to a fresh one).
    with duckdb.connect(str(daily["steps"]["day_2"]["db"]), read_only=True) as con:
        corrected = con.execute(
            "select net_revenue from intermediate.int_purchases where order_id = ?",
            [deliveries["corrected_order_id"]],
        ).fetchall()
        withdrawn = con.execute(
            "select count(*) from intermediate.int_contract_coverage where cancellation_id = ?",
            [deliveries["withdrawn_cancellation_id"]],
        ).fetchone()[0]
        refunded = con.execute(
            "select count(*) from intermediate.int_purchases where order_id = ?",
            [deliveries["removed_order_id"]],
        ).fetchone()[0]
    # The corrected amount 987.65 with no refund: net revenue 987.65 − 0 = 987.65, once.
    assert [float(row[0]) for row in corrected] == [987.65]
    # A withdrawn cancellation (final offer accepted) ends no contract any more.
    assert withdrawn == 0
    # Refunded in full: no longer a purchase.
    assert refunded == 0


def test_a_contract_starting_within_the_grace_days_rewrites_the_closed_month_it_bridges(
    daily: dict[str, Any], deliveries: dict[str, Any]
) -> None:
    customer = deliveries["bridged_customer"]
    before, after, changed_from = _closed_month_on_contracts(
        daily["steps"]["first"]["db"], daily["steps"]["day_2"]["db"], customer, "2024-05-01"
    )
    # DAY_1: BRIDGE-1 covers 01-15 … 05-25; on 04-30 (May's start state) active, on 05-31
    # (its end state) not: the spell ended on 05-25.
    assert before == (True, False)
    # DAY_2: BRIDGE-2 starts 06-21, 06-21 − 05-25 − 1 = 26 gap days ≤ 30: one spell, and
    # May ends active. Its changed_from_date is 06-21 − 30 days = 05-22, before June, so the
    # incremental run rewrote the customer's closed rows.
    assert after == (True, True)
    assert changed_from == (dt.date(2024, 5, 22),)
    assert customer in daily["steps"]["day_2"]["scope"]["customers"]


def test_a_late_contract_bridging_a_closed_month_rewrites_it_from_its_start_less_the_grace_days(
    daily: dict[str, Any], deliveries: dict[str, Any], tmp_path: Path
) -> None:
    # The models up to the closed customer periods only: a stale closed month (a churn in
    # May that the spells no longer have) would stop the build at mart_churn's not-null
    # churn_type before anything could be compared.
    select = [*MODELS_ONLY, "--select", "+int_customer_periods_closed"]
    previous = daily["steps"]["day_3"]
    db_path = copy_db(previous["db"], tmp_path / "incremental" / DB_NAME)
    load(deliveries["late_contract"], db_path, fresh=False)
    fresh_db = copy_db(db_path, tmp_path / "fresh" / DB_NAME)
    run = dbt(select, db_path, tmp_path / "incremental", manifest=False)
    assert run.ok, run.failure_summary()
    assert "rebuilt in full" not in run.output
    run = dbt([*select, "--full-refresh"], fresh_db, tmp_path / "fresh", manifest=False)
    assert run.ok, run.failure_summary()

    # Row for row as a full rebuild of the same raw data (the run stamps left out).
    assert compare_marts(fresh_db, db_path, relations=[CLOSED_PERIODS]) == []

    customer = deliveries["late_bridged_customer"]
    before, after, changed_from = _closed_month_on_contracts(
        previous["db"], db_path, customer, "2024-05-01"
    )
    # LATE-BRIDGE-1 covers 02-01 … 05-20: on 04-30 (May's start state) active, on 05-31
    # (its end state) not.
    assert before == (True, False)
    # LATE-BRIDGE-2 starts 06-05, signed 05-30, both on or before the previous A: not new on
    # A, so only its batch names the customer.
    assert previous["scope"]["as_of_date"] >= dt.date(2024, 6, 5)
    # 06-05 − 05-20 − 1 = 15 gap days ≤ 30: one spell, and May ends active. The batch names
    # the customer from 06-05 − 30 days = 05-06, before June (the previous A's month), so
    # the run rewrote its closed rows (from 06-05 on, it would have kept them).
    assert changed_from == (dt.date(2024, 5, 6),)
    assert after == (True, True)
    scope = _scope(db_path)
    assert not scope["is_full_rebuild"]
    assert customer in scope["customers"]
    # Not rewritten merely as the one customer more (the smallest id with a closed row).
    assert customer != min(scope["all_customers"])


def test_a_row_stamped_before_the_look_back_window_comes_with_its_batch(
    daily: dict[str, Any], deliveries: dict[str, Any]
) -> None:
    # Its _loaded_at (06-10) is older than the look-back, but it arrives in a new load batch:
    # an incremental run rebuilds its customer.
    scope = daily["steps"]["day_3"]["scope"]
    assert not scope["is_full_rebuild"]
    assert deliveries["late_customer"] in scope["customers"]
    assert differences(daily["fresh"]["day_3"], daily["steps"]["day_3"]["db"]) == []


def test_as_of_date_set_back_gives_the_marts_of_a_fresh_build_at_that_date(
    daily: dict[str, Any],
) -> None:
    step = daily["steps"]["as_of_back"]
    assert step["scope"]["as_of_date"] == dt.date.fromisoformat(AS_OF_BACK)
    # Periods closed on the previous A would open again: a full rebuild.
    assert step["scope"]["is_full_rebuild"]
    assert "int_purchases: rebuilt in full (as_of_date moved back)" in step["output"]
    assert differences(daily["fresh"]["as_of_back"], step["db"]) == []


def test_as_of_date_moving_forward_again_is_incremental(daily: dict[str, Any]) -> None:
    step = daily["steps"]["as_of_forward"]
    assert not step["scope"]["is_full_rebuild"]
    # The months that closed since the previous A (May 2024) are written for every customer;
    # the months before May are kept for the customers whose data did not change.
    assert dt.date(2024, 5, 1) in step["scope"]["months"]
    assert step["scope"]["unwritten_months"]
    assert max(step["scope"]["unwritten_months"]) < dt.date(2024, 5, 1)
    assert differences(daily["fresh"]["day_3"], step["db"]) == []


def test_a_request_new_on_a_rewrites_a_closed_month_from_its_contracts_start_less_the_grace_days(
    daily: dict[str, Any], deliveries: dict[str, Any]
) -> None:
    # CANCEL-BRIDGE-CXL was loaded in May, in DAY_1's batch: no batch after the watermark
    # and no look-back re-reads it when A moves forward from AS_OF_BACK. It names its
    # contract's customer only as a request dated after the previous A (05-15) and on or
    # before A (changed_customers' third branch).
    customer = deliveries["cancel_bridged_customer"]
    step = daily["steps"]["as_of_forward"]
    before, after, changed_from = _closed_month_on_contracts(
        daily["steps"]["as_of_back"]["db"], step["db"], customer, "2024-04-01"
    )
    # On AS_OF_BACK (05-15) the request does not exist: CANCEL-BRIDGE-2 (from 05-05) bridges
    # the 24-day gap after CANCEL-BRIDGE-1 (to 04-10), so on 04-30 (April's end state) active.
    assert before == (True, True)
    # On A the cancellation (effective 05-04, before the start) leaves CANCEL-BRIDGE-2 nothing
    # covered: the spell ended on 04-10 and April ends inactive. The request names the
    # customer from the contract's start less the grace days, 05-05 − 30 days = 04-05: before
    # May (the previous A's month), so the run rewrote the closed April (from 05-05 on, a
    # day of May, it would have kept the stale row).
    assert changed_from == (dt.date(2024, 4, 5),)
    assert after == (True, False)
    assert customer in step["scope"]["customers"]
    assert customer != min(step["scope"]["all_customers"])


def test_a_signature_new_on_a_rewrites_a_closed_month_from_the_start_less_the_grace_days(
    daily: dict[str, Any], deliveries: dict[str, Any]
) -> None:
    # SIGN-BRIDGE-2 was loaded in May, in DAY_1's batch, and started (05-05) before
    # AS_OF_BACK: it names its customer, when A moves forward from AS_OF_BACK, only by its
    # signature dated after the previous A (05-15) and on or before A.
    customer = deliveries["sign_bridged_customer"]
    step = daily["steps"]["as_of_forward"]
    before, after, changed_from = _closed_month_on_contracts(
        daily["steps"]["as_of_back"]["db"], step["db"], customer, "2024-04-01"
    )
    # On AS_OF_BACK only SIGN-BRIDGE-1 (to 04-10) exists: on 04-30 (April's end state) the
    # spell has ended.
    assert before == (True, False)
    # On A, SIGN-BRIDGE-2 (from 05-05) bridges the 24-day gap: April ends active. The
    # signature names the customer from the start less the grace days, 05-05 − 30 days =
    # 04-05: before May (the previous A's month), so the run rewrote the closed April.
    assert changed_from == (dt.date(2024, 4, 5),)
    assert after == (True, True)
    assert customer in step["scope"]["customers"]
    assert customer != min(step["scope"]["all_customers"])


def test_a_run_with_nothing_new_after_a_move_of_a_is_incremental(daily: dict[str, Any]) -> None:
    step = daily["steps"]["settled"]
    assert not step["scope"]["is_full_rebuild"]
    assert differences(daily["steps"]["as_of_forward"]["db"], step["db"]) == []


def test_a_run_whose_changes_reach_no_closed_period_still_stamps_the_closed_part(
    daily: dict[str, Any], deliveries: dict[str, Any]
) -> None:
    step = daily["steps"]["june_order_again"]
    assert not step["scope"]["is_full_rebuild"]
    with duckdb.connect(str(step["db"]), read_only=True) as con:
        changed = con.execute(
            "select customer_id, changed_from_date from intermediate.int_changed_customers"
        ).fetchall()
    # The new batch's order (06-22) and the re-read one (06-21) name one customer, from the
    # earlier day on: 06-21, in A's month.
    assert changed == [(deliveries["june_customer"], dt.date(2024, 6, 21))]
    # So the closed part rewrites only the smallest id with a closed row, whose rows carry
    # this run's stamps (its watermark, the new batch) ...
    assert step["scope"]["customers"] == {min(step["scope"]["all_customers"])}
    # ... and the next run, with nothing new, finds its own table built by the run before
    # and stays incremental. (Without those stamps it would find the table's watermark a
    # batch behind, and rebuild it in full.)
    after = daily["steps"]["after_june_orders"]
    assert not after["scope"]["is_full_rebuild"]
    assert "rebuilt in full" not in after["output"]
    assert differences(step["db"], after["db"]) == []


def test_a_run_whose_changes_have_no_contract_still_stamps_the_contract_models(
    daily: dict[str, Any], deliveries: dict[str, Any]
) -> None:
    step = daily["steps"]["orders_only_again"]
    # Each batch's order day is A in its run: a new A, on which every table must be stamped.
    first_day, second_day = deliveries["orders_only_days"]
    assert daily["steps"]["orders_only"]["scope"]["as_of_date"] == first_day
    assert step["scope"]["as_of_date"] == second_day
    assert not step["scope"]["is_full_rebuild"]
    assert "rebuilt in full" not in step["output"]
    with duckdb.connect(str(step["db"]), read_only=True) as con:
        changed = con.execute(
            "select customer_id from intermediate.int_changed_customers"
        ).fetchall()
        # The two batches name their customer alone, who has no contract ...
        assert changed == [(deliveries["midnight_customer"],)]
        for table in ("int_contract_coverage_uncut", "int_contract_arr_segments_uncut"):
            written = con.execute(
                f"select distinct customer_id, built_as_of_date from intermediate.{table} "
                f"where built_at = (select max(built_at) from intermediate.{table})"
            ).fetchall()
            smallest = con.execute(f"select min(customer_id) from intermediate.{table}")
            # ... so each contract model rewrote only the smallest id it holds, with this
            # run's A.
            assert written == [(smallest.fetchone()[0], step["scope"]["as_of_date"])], table
    # The contract models' rows are those of the run before (the customer has no contract):
    # the rewrite changed none.
    contract_tables = [
        "intermediate.int_contract_coverage_uncut",
        "intermediate.int_contract_arr_segments_uncut",
    ]
    before = daily["steps"]["orders_only"]["db"]
    assert compare_marts(before, step["db"], relations=contract_tables) == []
    # The next run, with nothing new, finds every per-customer table built by the run before
    # and stays incremental. (Without this run's stamps it would find the contract models a
    # run behind and rebuild them in full.)
    after = daily["steps"]["after_orders_only"]
    assert not after["scope"]["is_full_rebuild"]
    assert "rebuilt in full" not in after["output"]
    assert differences(step["db"], after["db"]) == []


def test_a_run_without_int_changed_customers_rebuilds_the_per_customer_models_in_full(
    daily: dict[str, Any], deliveries: dict[str, Any]
) -> None:
    # The set int_changed_customers holds was found by the run before ("after_orders_only"), on the
    # same A and since the same watermark as the five models' own tables, but before the
    # DAY_4 batch: they must not use it (it lacks the quiet customer's new order).
    step = daily["steps"]["without_changed_customers"]
    assert step["scope"]["is_full_rebuild"]
    # dbt's output says so, with the reason (log_full_rebuild).
    for model in (
        "int_contract_coverage_uncut",
        "int_activity_spells_uncut",
        "int_contract_arr_segments_uncut",
        "int_customer_periods_closed",
        "int_purchase_summary",
    ):
        reason = "int_changed_customers was not planned from this table's previous run"
        assert f"{model}: rebuilt in full ({reason})" in step["output"], model
    april = (
        f"select purchases, net_revenue from {CLOSED_PERIODS} where customer_id = ? "
        "and basis = 'order' and period_grain = 'month' and period_start = '2024-04-01'"
    )
    customer = deliveries["quiet_customer"]
    with duckdb.connect(str(daily["steps"]["settled"]["db"]), read_only=True) as con:
        before = con.execute(april, [customer]).fetchone()
    with duckdb.connect(str(step["db"]), read_only=True) as con:
        after = con.execute(april, [customer]).fetchone()
        for table in (
            "int_contract_coverage_uncut",
            "int_activity_spells_uncut",
            "int_contract_arr_segments_uncut",
        ):
            runs = con.execute(f"select count(distinct built_at) from intermediate.{table}")
            assert runs.fetchone()[0] == 1, f"{table} was not rebuilt in full"
    # The customer was active in April before (first order before March, rows from the first
    # active month on); QUIET-APRIL adds one purchase of 55.00 − 0 refunded = 55.00.
    assert before is not None and after is not None
    assert after[0] == before[0] + 1
    assert after[1] == before[1] + Decimal("55.00")


def test_a_re_delivery_that_drops_an_order_rebuilds_in_full(
    daily: dict[str, Any], deliveries: dict[str, Any]
) -> None:
    step = daily["steps"]["redelivered"]
    assert step["scope"]["is_full_rebuild"]
    with duckdb.connect(str(step["db"]), read_only=True) as con:
        left = con.execute(
            "select count(*) from staging.base_shop__orders where order_id = ?",
            [deliveries["removed_order_id"]],
        ).fetchone()[0]
    assert left == 0  # gone from the incremental base model too, not only from raw
    assert differences(daily["fresh"]["redelivered"], step["db"]) == []


# The text ids that macros/column_compression.sql writes as they are (each model's meta
# column_compression), by table.
UNCOMPRESSED_IDS = {
    "staging.base_shop__orders": {"order_id", "customer_id"},
    "intermediate.int_purchases": {"order_id", "customer_id"},
    "intermediate.int_customer_periods_closed": {"customer_id"},
}


def test_the_uncompressed_text_ids_stay_so_through_incremental_runs(
    daily: dict[str, Any],
) -> None:
    # day_3 has had a full build and three incremental runs append to these tables; every
    # stored segment of the named columns is uncompressed, and the table's other text
    # columns are left to DuckDB (basis and period_grain, two values each, get its
    # dictionary method).
    with duckdb.connect(str(daily["steps"]["day_3"]["db"]), read_only=True) as con:
        for table, columns in UNCOMPRESSED_IDS.items():
            stored = con.execute(
                "select column_name, list(distinct compression) "
                f"from pragma_storage_info('{table}') "
                "where segment_type = 'VARCHAR' group by column_name"
            ).fetchall()
            methods = dict(stored)
            for column in columns:
                assert methods[column] == ["Uncompressed"], (table, column, methods[column])
            if table.endswith("int_customer_periods_closed"):
                assert "Uncompressed" not in methods["basis"], methods["basis"]


def _copy_of_the_clean_build(clean_build: DbtRun, workdir: Path) -> tuple[Path, Path]:
    """A copy of the shared clean build to load and build on: (workdir, its database)."""
    assert clean_build.ok, clean_build.failure_summary()
    return workdir, copy_db(clean_build.db_path, workdir / DB_NAME)


def test_a_row_stamped_in_the_future_is_re_read_until_its_stamp_has_passed(
    clean_build: DbtRun, shared_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its date checks took the build's start in place of its stamp (macros/parsing.sql), so
    # a later run must judge it again; a look-back from the latest stamp, three years ahead
    # here, does not reach it. Which run wrote a row: its built_through_load_id. The loader
    # refuses a stamp more than a day ahead of its batch (retention.load_rows.LOADED_AT_LEAD); a
    # row an hour ahead is re-read the same way, but two stamps a day apart would make the
    # look-back's reach depend on the time of day the test runs, so the allowance is widened
    # here to place them years apart.
    monkeypatch.setattr(load_rows, "LOADED_AT_LEAD", dt.timedelta(days=4 * 366))
    workdir, db_path = _copy_of_the_clean_build(clean_build, shared_dir / "future-stamp")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    in_two_years, in_three_years = (
        (now + dt.timedelta(days=days)).isoformat() + "Z" for days in (731, 1096)
    )
    header = "order_id,customer_id,ordered_at,status,amount,currency,_loaded_at\n"
    stamped = workdir / "stamped"
    stamped.mkdir()
    (stamped / "orders.csv").write_text(
        header
        + f"FUT-A,C00000003,2024-06-20T10:00:00Z,completed,10.00,EUR,{in_two_years}\n"
        + f"FUT-B,C00000004,2024-06-21T10:00:00Z,completed,12.00,EUR,{in_three_years}\n"
    )
    later = workdir / "later"
    later.mkdir()
    (later / "orders.csv").write_text(
        header + "NEXT-1,C00000005,2024-06-22T10:00:00Z,completed,9.00,EUR,\n"
    )
    stamps = {}
    for delivery in (stamped, later):
        batch = load_dir(delivery, db_path).load_id
        run = dbt(["run", "--select", "base_shop__orders"], db_path, workdir, manifest=False)
        assert run.ok, run.failure_summary()
        with duckdb.connect(str(db_path), read_only=True) as con:
            stamps[batch] = dict(
                con.execute(
                    "select order_id, built_through_load_id from staging.base_shop__orders "
                    "where order_id in ('FUT-A', 'FUT-B', 'NEXT-1', 'O000000001')"
                ).fetchall()
            )
    first, second = sorted(stamps)
    assert stamps[first] == {"FUT-A": first, "FUT-B": first, "O000000001": 1}
    # The later run re-read both future rows (and its own batch), not the old order.
    assert stamps[second] == {"FUT-A": second, "FUT-B": second, "NEXT-1": second, "O000000001": 1}


def test_a_model_built_before_the_base_model_it_reads_re_reads_the_batch_later(
    clean_build: DbtRun, shared_dir: Path
) -> None:
    # `--select int_purchases` after a load runs it while base_shop__orders has not read the
    # new batch: int_purchases must not count that batch as read (its watermark), so that
    # the next complete run, after base_shop__orders has read it, re-reads its rows.
    workdir, db_path = _copy_of_the_clean_build(clean_build, shared_dir / "partial-select")
    with duckdb.connect(str(db_path), read_only=True) as con:
        columns = [c for c, in con.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' "
            "and table_name = 'orders' and column_name <> '_load_id' order by ordinal_position"
        ).fetchall()]  # fmt: skip
        order = con.execute(
            f"select {', '.join(columns)} from raw.orders where status = 'completed' "
            "order by _loaded_at, order_id limit 1"
        ).fetchone()
        assert con.execute(
            "select count(*) from intermediate.int_purchases where order_id = ?", [order[0]]
        ).fetchone() == (1,)
    # The same order, refunded, stamped as first loaded: outside any look-back.
    refunded = dict(zip(columns, order, strict=True)) | {"status": "refunded"}
    delivery = workdir / "correction"
    delivery.mkdir()
    (delivery / "orders.csv").write_text(
        ",".join(columns)
        + "\n"
        + ",".join("" if v is None else str(v) for v in refunded.values())
        + "\n"
    )
    load_dir(delivery, db_path)
    for args in (["run", "--select", "int_purchases"], ["run"]):
        run = dbt(args, db_path, workdir, manifest=False)
        assert run.ok, run.failure_summary()
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute(
            "select status from staging.base_shop__orders where order_id = ?", [order[0]]
        ).fetchone() == ("refunded",)
        assert con.execute(
            "select count(*) from intermediate.int_purchases where order_id = ?", [order[0]]
        ).fetchone() == (0,)


def test_a_row_without_a_key_is_added_once_with_its_batch(
    clean_build: DbtRun, shared_dir: Path
) -> None:
    # A row without a key belongs to no other row: an incremental run of the base model adds
    # the keyless rows of the batches after its watermark (macros/base_model.sql), and a
    # later run, whose watermark is that batch, does not add them again (delete+insert on
    # the key deletes no row without one).
    workdir, db_path = _copy_of_the_clean_build(clean_build, shared_dir / "keyless")
    header = "order_id,customer_id,ordered_at,status,amount,currency,_loaded_at\n"
    keyless = workdir / "keyless"
    keyless.mkdir()
    (keyless / "orders.csv").write_text(
        header + ",C00000003,2024-06-20T10:00:00Z,completed,10.00,EUR,2024-06-21T02:00:00Z\n"
    )
    batch = load_dir(keyless, db_path).load_id
    rows = (
        "select _load_id, rejection_reason from staging.base_shop__orders "
        "where order_id is null and customer_id = 'C00000003'"
    )
    with duckdb.connect(str(db_path), read_only=True) as con:
        before = con.execute(rows).fetchall()
    for _ in range(2):  # the batch's run, then one with nothing new
        run = dbt(["run", "--select", "base_shop__orders"], db_path, workdir, manifest=False)
        assert run.ok, run.failure_summary()
        with duckdb.connect(str(db_path), read_only=True) as con:
            # The rows the clean data had, and the new one once, quarantined for its key.
            assert sorted(con.execute(rows).fetchall()) == sorted(
                [*before, (batch, "missing_order_id")]
            )
