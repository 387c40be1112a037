"""Corrections night after night (a slow check, `make test-corrections`; CI runs it after
`make test`): the daily job, `retention load` of one night's delivery then `dbt build`, run
on nights whose deliveries correct rows of closed months in place, and after every night
its warehouse equals a `--full-refresh` build of the same raw data, mart for mart and
incremental model for incremental model, row for row (pipeline.differences).

test_incremental.py covers the late rows of a look-back window, a moved order, a
back-dated and a withdrawn cancellation, a moved A and a `--replace` re-delivery. These are
the corrections it does not make, each delivered as a later version of a row first loaded
months before (the same key, a later `_loaded_at`), on top of the night's own rows:

1. 2024-03-11: a contract's start moved later by more than the grace days (45 > 30), so
   the months between the two starts lose their coverage;
2. 2024-03-12: an order moved from one closed month to another, three months later;
3. 2024-03-13: a cancellation moved to a contract of another customer;
4. 2024-03-14: a cancellation withdrawn (its final offer now accepted);
5. 2024-03-15: the same cancellation reinstated (the offer not accepted after all);
6. 2024-03-15 again: the same delivery loaded once more with `--force`, A unchanged;
7. 2024-03-16 and 2024-03-17: A held behind the data (`as_of_date: 2024-03-15`) while the
   deliveries go on; 2024-03-18: the var unset, A catches up with the data.

Each night checks that the run was incremental (it kept rows of an earlier run) and that
the corrected customers' closed rows were rewritten by it (the correction reached the
closed part by the incremental path, not by a full rebuild), and that staging holds the
corrected value.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pipeline import (
    CLOSED_PERIODS,
    DB_NAME,
    MODELS_ONLY,
    copy_db,
    dbt,
    deliver,
    differences,
    load,
    submit,
)

from retention import dbt_runner
from retention.generate import Options, generate
from retention.load import load_dir

pytestmark = pytest.mark.corrections

CUSTOMERS, SEED = 300, 31
HELD = {"as_of_date": "2024-03-15"}


def _cut(as_of: dt.date) -> dt.datetime:
    """The end of the delivery that gives A = as_of: noon UTC of the next day."""
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(12), dt.UTC)


def _stamp(as_of: dt.date) -> str:
    """A correction's `_loaded_at`: an hour before its night's cut, after every earlier row."""
    return (_cut(as_of) - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rows(data: Path, table: str, where: str) -> list[dict[str, Any]]:
    """The generated rows of `table` matching `where`, in key order (all text, as raw)."""
    with duckdb.connect() as con:
        relation = con.sql(f"select * from read_parquet('{data / table}.parquet') where {where}")
        columns = relation.columns
        return [dict(zip(columns, row, strict=True)) for row in relation.order("1").fetchall()]


def _later(row: dict[str, Any], as_of: dt.date, **changes: str) -> dict[str, Any]:
    """A later version of `row`: the same key, the `changes`, loaded on the night of as_of."""
    return row | changes | {"_loaded_at": _stamp(as_of)}


def _days(text: str, days: int) -> str:
    return (dt.date.fromisoformat(text[:10]) + dt.timedelta(days=days)).isoformat() + text[10:]


def _corrections(data: Path) -> dict[str, Any]:
    """The rows each night corrects, picked from the generated data by rule (the first in
    key order that qualifies), so the choice does not depend on the generator's details."""
    # 1. A contract that ran at least half a year from a start in early 2023, not a renewal:
    #    its start moves 45 days later, past the 30 grace days.
    contract = _rows(
        data,
        "contracts",
        "start_date between '2023-01-01' and '2023-06-30' and previous_contract_id is null "
        "and (end_date is null or end_date >= '2024-01-01')",
    )[0]
    # 2. A completed order of June 2023, moved to September.
    order = _rows(data, "orders", "ordered_at like '2023-06-%' and status = 'completed'")[0]
    # 3. A cancellation requested in 2023, moved to a contract of another customer that was
    #    running on the day it was requested and has no cancellation of its own.
    moved = _rows(data, "cancellations", "requested_at like '2023-%'")[0]
    owner = {c["contract_id"]: c["customer_id"] for c in _rows(data, "contracts", "true")}
    cancelled = {c["contract_id"] for c in _rows(data, "cancellations", "true")}
    requested = moved["requested_at"][:10]
    other = next(
        c
        for c in _rows(
            data,
            "contracts",
            f"start_date <= '{requested}' and (end_date is null or end_date > "
            f"'{moved['effective_date']}')",
        )
        if c["contract_id"] not in cancelled and c["customer_id"] != owner[moved["contract_id"]]
    )
    # 4. and 5. A cancellation effective before 2024 whose final offer was refused: withdrawn
    #    (accepted), then reinstated (refused again).
    withdrawn = _rows(
        data,
        "cancellations",
        "final_offer_made = 'true' and final_offer_accepted = 'false' "
        f"and effective_date < '2024-01-01' and cancellation_id <> '{moved['cancellation_id']}'",
    )[0]
    return {
        "contract": contract,
        "order": order,
        "moved": moved,
        "other": other,
        "owner": owner,
        "withdrawn": withdrawn,
    }


def _nights(data: Path) -> list[dict[str, Any]]:
    """Each night: A, the extra rows of its delivery, the load options, the dbt vars, the
    customers whose closed rows the correction must reach, and a query of staging that gives
    True once the correction is staged."""
    c = _corrections(data)
    contract, order, moved, withdrawn = c["contract"], c["order"], c["moved"], c["withdrawn"]
    new_start = _days(contract["start_date"], 45)
    new_ordered_at = _days(order["ordered_at"], 92)  # June 2023 + 92 days: September
    march = [dt.date(2024, 3, day) for day in range(10, 19)]
    return [
        {"as_of": march[0]},
        {
            "as_of": march[1],
            "extra": {"contracts": [_later(contract, march[1], start_date=new_start)]},
            "reaches": [contract["customer_id"]],
            "staged": "select start_date = date '{}' from staging.stg_shop__contracts "
            "where contract_id = '{}'".format(new_start, contract["contract_id"]),
        },
        {
            "as_of": march[2],
            "extra": {"orders": [_later(order, march[2], ordered_at=new_ordered_at)]},
            "reaches": [order["customer_id"]],
            "staged": "select ordered_at = timestamp '{}' from staging.stg_shop__orders "
            "where order_id = '{}'".format(
                new_ordered_at.replace("T", " ").rstrip("Z"), order["order_id"]
            ),
        },
        {
            "as_of": march[3],
            "extra": {
                "cancellations": [_later(moved, march[3], contract_id=c["other"]["contract_id"])]
            },
            "reaches": [c["owner"][moved["contract_id"]], c["other"]["customer_id"]],
            "staged": "select contract_id = '{}' from staging.stg_shop__cancellations "
            "where cancellation_id = '{}'".format(
                c["other"]["contract_id"], moved["cancellation_id"]
            ),
        },
        {
            "as_of": march[4],
            "extra": {"cancellations": [_later(withdrawn, march[4], final_offer_accepted="true")]},
            "reaches": [c["owner"][withdrawn["contract_id"]]],
            "staged": "select is_withdrawn from staging.stg_shop__cancellations "
            "where cancellation_id = '{}'".format(withdrawn["cancellation_id"]),
        },
        {
            "as_of": march[5],
            "extra": {"cancellations": [_later(withdrawn, march[5], final_offer_accepted="false")]},
            "reaches": [c["owner"][withdrawn["contract_id"]]],
            "staged": "select not is_withdrawn from staging.stg_shop__cancellations "
            "where cancellation_id = '{}'".format(withdrawn["cancellation_id"]),
        },
        {"as_of": march[5], "force": True},  # night 5's delivery once more
        {"as_of": march[6], "vars": HELD, "built": march[5]},
        {"as_of": march[7], "vars": HELD, "built": march[5]},
        {"as_of": march[8]},
    ]


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    root = tmp_path_factory.mktemp("corrections")
    data = root / "generated"
    generate(Options(out=data, customers=CUSTOMERS, seed=SEED, format="parquet", progress=False))
    daily = root / "daily" / DB_NAME
    compared: list[Future[list[str]]] = []
    results: list[dict[str, Any]] = []
    since = delivery = None
    for index, night in enumerate(_nights(data)):
        as_of = night["as_of"]
        if night.get("force"):
            load_dir(delivery, daily, force=True)
        else:
            delivery = deliver(
                data, root / f"delivery-{index}", since, _cut(as_of), night.get("extra")
            )
            since = _cut(as_of)
            load(delivery, daily, fresh=not results)
        run = dbt([*dbt_runner.BUILD], daily, root / "daily", vars=night.get("vars"))
        assert run.ok, f"night {index} ({as_of}): {run.failure_summary()}"
        with duckdb.connect(str(daily), read_only=True) as con:
            built, full, latest = con.execute(
                f"select max(built_as_of_date), count(distinct built_at) = 1, max(built_at) "
                f"from {CLOSED_PERIODS}"
            ).fetchone()
            reached = {
                customer: con.execute(
                    f"select count(*) > 0 from {CLOSED_PERIODS} "
                    "where customer_id = ? and built_at = ?",
                    [customer, latest],
                ).fetchone()[0]
                for customer in night.get("reaches", [])
            }
            staged = con.execute(night["staged"]).fetchone()[0] if "staged" in night else None
        folder = root / f"night-{index}"
        snapshot = copy_db(daily, folder / "incremental" / DB_NAME)
        fresh = copy_db(daily, folder / "fresh" / DB_NAME)
        results.append(
            night
            | {"index": index, "built": built, "expected": night.get("built", as_of)}
            | {"full": full, "reached": reached, "staged_value": staged}
        )
        vars_ = night.get("vars")
        compared.append(
            submit(
                lambda fresh=fresh, snapshot=snapshot, vars_=vars_: _compare(fresh, snapshot, vars_)
            )
        )
    for night, problems in zip(results, compared, strict=True):
        night["differences"] = problems.result()
    return results


def _compare(fresh: Path, incremental: Path, vars_: dict[str, Any] | None) -> list[str]:
    """The same raw data built with --full-refresh (and the same vars), compared."""
    run = dbt([*MODELS_ONLY, "--full-refresh"], fresh, fresh.parent, vars=vars_, manifest=False)
    assert run.ok, run.failure_summary()
    return differences(fresh, incremental)


NIGHT_IDS = [
    "first",
    "contract-start-moved",
    "order-moved-between-closed-months",
    "cancellation-moved-to-another-contract",
    "cancellation-withdrawn",
    "cancellation-reinstated",
    "force-reload",
    "a-held-1",
    "a-held-2",
    "a-released",
]


def test_every_night_builds_the_a_intended(nights: list[dict[str, Any]]) -> None:
    assert [night["built"] for night in nights] == [night["expected"] for night in nights]


def test_every_night_but_the_first_is_an_incremental_run(nights: list[dict[str, Any]]) -> None:
    assert [night["full"] for night in nights] == [True] + [False] * (len(nights) - 1)


def test_each_correction_is_staged_and_reaches_the_closed_rows_of_its_customers(
    nights: list[dict[str, Any]],
) -> None:
    corrected = [night for night in nights if "staged" in night]
    assert len(corrected) == 5
    for night in corrected:
        assert night["staged_value"] is True, NIGHT_IDS[night["index"]]
        assert night["reached"] and all(night["reached"].values()), (
            NIGHT_IDS[night["index"]],
            night["reached"],
        )


@pytest.mark.parametrize("index", range(len(NIGHT_IDS)), ids=NIGHT_IDS)
def test_the_nightly_build_equals_a_full_refresh(nights: list[dict[str, Any]], index: int) -> None:
    assert nights[index]["differences"] == []
