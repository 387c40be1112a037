"""Night after night across the ends of periods (a slow check, `make test-period-ends`; CI
runs it after `make test`): the daily job, `retention load` of one night's delivery then
`dbt build` (data tests included, the predictive fits on), is run for every night of four
short stretches of the calendar and after a missed night, and after every night its
warehouse equals a `--full-refresh` build of the same raw data, mart for mart and
incremental model for incremental model, row for row (pipeline.differences).

test_incremental.py moves A by days inside June 2024, then by a jump of more than a month.
What it does not do is a nightly build whose A crosses the end of a period by one day: the
night the month, the quarter or the year just before A closes, and the closed part of the
customer-period fact gains those periods for every customer while the incremental base
models, spells, coverage and purchase summary take only the night's keys. The stretches:

- 2023-12-30 … 2024-01-02: December, the fourth quarter and the year 2023 close on one night;
- 2024-01-31 … 2024-02-01: a month end that closes no quarter;
- 2024-02-28 … 2024-03-01: the leap day, then February closes;
- 2024-03-31 … 2024-04-01: the first quarter closes;
- 2024-04-29, then 2024-05-01: a missed night, after which A moves by two days, across the
  end of April.

The data: the `--dirty` generated data set (duplicates, superseded and rejected rows among
the clean ones). Its rows are loaded the night after their day (between 00:00 and 03:00 UTC),
so the delivery of the night that gives A = D holds the rows stamped up to D + 1 at 12:00 UTC
and after the previous night's delivery; the first delivery also holds every row whose
`_loaded_at` does not parse, and between two stretches (and after the missed night) one
delivery catches up. Each night checks that A is D (the delivery moved A as intended) and
that the run was incremental (it kept rows of an earlier run), so the comparison is of the
incremental path.
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
from retention.predictive_columns import SWITCH

pytestmark = pytest.mark.period_ends

CUSTOMERS, SEED = 300, 31
NIGHTS = (
    # The year end: December, the fourth quarter and 2023 close when A becomes 2024-01-01.
    dt.date(2023, 12, 30),
    dt.date(2023, 12, 31),
    dt.date(2024, 1, 1),
    dt.date(2024, 1, 2),
    # A month end that closes no quarter.
    dt.date(2024, 1, 31),
    dt.date(2024, 2, 1),
    # The leap day.
    dt.date(2024, 2, 28),
    dt.date(2024, 2, 29),
    dt.date(2024, 3, 1),
    # The first quarter closes.
    dt.date(2024, 3, 31),
    dt.date(2024, 4, 1),
    # A missed night: A moves by two days, across a month end.
    dt.date(2024, 4, 29),
    dt.date(2024, 5, 1),
)
PREDICTIVE_ON = {SWITCH: "on"}


def _cut(as_of: dt.date) -> dt.datetime:
    """The end of the delivery that gives A = as_of: noon UTC of the next day."""
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(12), dt.UTC)


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Every night of NIGHTS: its A, whether the run rebuilt the closed fact in full, and the
    differences from a --full-refresh build of the same raw data."""
    root = tmp_path_factory.mktemp("period-ends")
    from retention.generate import Options, generate

    data = root / "generated"
    generate(
        Options(
            out=data, customers=CUSTOMERS, seed=SEED, format="parquet", dirty=True, progress=False
        )
    )
    daily = root / "daily" / DB_NAME
    compared: list[Future[list[str]]] = []
    results: list[dict[str, Any]] = []
    since = None
    for as_of in NIGHTS:
        delivery = deliver(data, root / f"delivery-{as_of}", since, _cut(as_of))
        since = _cut(as_of)
        load(delivery, daily, fresh=not results)  # then appended: the nightly load
        run = dbt([*dbt_runner.BUILD], daily, root / "daily", manifest=False, env=PREDICTIVE_ON)
        assert run.ok, f"{as_of}: {run.failure_summary()}"
        with duckdb.connect(str(daily), read_only=True) as con:
            as_of_built, rebuilt_in_full = con.execute(
                f"select max(built_as_of_date), count(distinct built_at) = 1 from {CLOSED_PERIODS}"
            ).fetchone()
        night = root / f"night-{as_of}"
        snapshot = copy_db(daily, night / "incremental" / DB_NAME)
        fresh = copy_db(daily, night / "fresh" / DB_NAME)
        results.append({"as_of": as_of, "built": as_of_built, "full": rebuilt_in_full})
        compared.append(submit(lambda fresh=fresh, snapshot=snapshot: _compare(fresh, snapshot)))
    for night, problems in zip(results, compared, strict=True):
        night["differences"] = problems.result()
    return results


def _compare(fresh: Path, incremental: Path) -> list[str]:
    """The same raw data built with --full-refresh, compared with the nightly build."""
    run = dbt(
        [*MODELS_ONLY, "--full-refresh"], fresh, fresh.parent, manifest=False, env=PREDICTIVE_ON
    )
    assert run.ok, run.failure_summary()
    return differences(fresh, incremental)


def test_every_night_moves_a_by_the_day_intended(nights: list[dict[str, Any]]) -> None:
    assert [night["built"] for night in nights] == list(NIGHTS)


def test_every_night_but_the_first_is_an_incremental_run(nights: list[dict[str, Any]]) -> None:
    assert nights[0]["full"]
    assert [night["as_of"] for night in nights[1:] if night["full"]] == []


@pytest.mark.parametrize("index", range(len(NIGHTS)), ids=[str(night) for night in NIGHTS])
def test_the_nightly_build_equals_a_full_refresh(nights: list[dict[str, Any]], index: int) -> None:
    assert nights[index]["differences"] == []
