"""The marts against an independent reference implementation of the metric definitions.

`reference.py` walks every customer day by day straight from the definitions. Here:

0. fast checks that every mart of retention/marts.py is compared (MARTS) or left out with
   the reason and where it is checked instead (LEFT_OUT: the predictive marts, model fits),
   and that the reference computes every documented column of the marts it compares;
1. unit tests of the reference itself on tiny hand-computed cases (arithmetic beside the
   expected values), so the reference is checked before it checks anything else;
2. a property test: hypothesis draws small random raw data sets (a handful of customers over
   about two years, with the edge cases of the definitions and docs/decisions.md drawn on purpose),
   each is written as raw CSV, loaded with `retention.load.load_dir` into a fresh DuckDB
   file, built with `dbt build`, and every mart of MARTS (dim_customers,
   fct_customer_months, fct_periods, fct_cohorts, mart_churn, mart_repeat_purchase,
   mart_clv and the retention operations marts: saves, win-back, NPS, NPS
   churn, programmes, renewals, lock-in, revenue deciles) must equal the reference, row by
   row on its key and column by column: counts, dates, texts and flags exactly, money and
   rates within 1e-9. The random data sets draw NPS responses,
   retention actions (with costs) and renewals (previous_contract_id) for them, stacked
   products, category texts in mixed case, countries and segments, a customer who never
   exists, customers with no row and with a row created after their first order (inferred
   on an earlier A), and vars from
   their edges (N = 1, grace 0 and 1, H = 1, a 1-day window, half-hour time zones).

Periods, cohorts and CLV aggregate over all customers, so every example needs its own build
(about 10-20 s). The number of random examples is small in `make test` (2, beside the three
explicit edge-case examples, to keep it within 10 minutes); `make test-reference`, which CI
runs after it, draws 20. Both are derandomized (reproducible in CI); set
REFERENCE_EXAMPLES=<n> to explore more locally. A failing example's raw folder and the full
list of differences are kept under $REFERENCE_FAILURES_DIR (default
/tmp/reference_failures).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import shutil
import tempfile
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from reference import GRAINS, Params, World, compute, compute_dir, read_raw_dir
from warehouse import load_scenario

from retention import dbt_runner
from retention import marts as marts_module
from retention.contract import TABLES
from retention.load import load_dir

ROOT = Path(__file__).resolve().parents[1]
MARTS = (
    "dim_customers",
    "fct_customer_months",
    "fct_periods",
    "fct_cohorts",
    "mart_churn",
    "mart_repeat_purchase",
    "mart_clv",
    "mart_cancellation_saves",
    "mart_winback",
    "mart_nps",
    "mart_nps_churn",
    "mart_retention_programmes",
    "mart_contract_renewals",
    "mart_lock_in",
    "mart_revenue_concentration",
)
KEYS = {
    "dim_customers": ("customer_id",),
    "fct_customer_months": ("customer_id", "month_start"),
    "fct_periods": ("basis", "period_grain", "period_start"),
    "fct_cohorts": ("basis", "cohort_month", "months_since_cohort"),
    "mart_churn": ("basis", "period_grain", "period_start", "churn_type", "reason_code"),
    "mart_repeat_purchase": ("first_purchase_month",),
    "mart_clv": ("segment_type", "segment_value"),
    "mart_cancellation_saves": ("period_grain", "period_start", "churn_type", "reason_code"),
    "mart_winback": ("basis", "churn_month", "churn_type"),
    "mart_nps": ("period_grain", "period_start", "segment_type", "segment_value"),
    "mart_nps_churn": ("basis", "nps_class"),
    "mart_retention_programmes": ("campaign", "basis"),
    "mart_contract_renewals": ("product", "billing_period", "term_end_month"),
    "mart_lock_in": ("period_grain", "period_start", "products_at_start"),
    "mart_revenue_concentration": ("revenue_decile",),
}
# The marts of retention/marts.py the reference does not recompute, each with the reason and
# where it is checked instead. Every mart must be in MARTS or here (a test below fails when
# one is in neither), so a new mart cannot be left out by oversight.
LEFT_OUT = {
    "mart_clv_model_parameters": (
        "maximum-likelihood fits (BG/NBD, Gamma-Gamma, sBG), not a definition to walk day by "
        "day: the published estimates are reproduced in test_predictive.py (sBG, and BG/NBD "
        "and Gamma-Gamma on the CDNOW sample) and test_predictive_cdnow.py (through the "
        "warehouse), and the fixture 14_predictive_sbg checks the mart's rows"
    ),
    "mart_clv_predictions": (
        "predictions of the fitted BG/NBD and Gamma-Gamma models: the x / t_x / T summary "
        "against python_checks/rfm_reference.py and the predictions' properties in "
        "test_predictive_cdnow.py, the rows of the fixture 14_predictive_sbg"
    ),
    "mart_contract_survival": (
        "the sBG projection fitted per contract cohort: the published survivors in "
        "test_predictive.py and the fixture 14_predictive_sbg; its observed part is "
        "fct_cohorts' contract rows, compared here"
    ),
}
# Documented columns (retention/marts.py COLUMNS) of a compared mart that the reference does
# not recompute, per mart, with the reason. None: every column is compared (a test below
# fails when the reference leaves one out without an entry here).
UNCOMPARED_COLUMNS: dict[str, dict[str, str]] = {}
D = dt.date.fromisoformat


# --- helpers ---------------------------------------------------------------------------------


def write_raw(folder: Path, tables: dict[str, list[dict[str, str | None]]]) -> None:
    """One CSV per raw table that has rows, with the contract's columns in contract order
    (a table without rows has no file: the loader refuses an empty required table)."""

    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        if not rows:
            continue
        columns = [c for c in TABLES[name].columns if c != "_loaded_at"]
        with (folder / f"{name}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in rows:
                writer.writerow(["" if row.get(c) is None else row[c] for c in columns])


def by_key(rows: list[dict], mart: str) -> dict[tuple, dict]:
    return {tuple(row[k] for k in KEYS[mart]): row for row in rows}


def same(expected: object, actual: object) -> bool:
    """Counts, dates, text and booleans exactly; money and rates within 1e-9."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual or expected == actual and type(expected) is type(actual)
    if isinstance(expected, float):
        try:
            return math.isclose(float(actual), expected, rel_tol=1e-9, abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    if isinstance(expected, int):
        return not isinstance(actual, float) and actual == expected
    if isinstance(expected, dt.datetime):  # before dt.date: a datetime is a date
        return type(actual) is dt.datetime and actual == expected
    if isinstance(expected, dt.date):
        return type(actual) is dt.date and actual == expected
    return actual == expected


def differences(expected: dict[str, list[dict]], actual: dict[str, list[dict] | None]) -> list:
    found = []
    for mart in MARTS:
        if actual.get(mart) is None:
            found.append(f"{mart}: not built")
            continue
        want, got = by_key(expected[mart], mart), by_key(actual[mart], mart)
        for key in sorted(set(want) - set(got), key=str):
            found.append(f"{mart} {key}: row missing from the mart")
        for key in sorted(set(got) - set(want), key=str):
            found.append(f"{mart} {key}: unexpected row in the mart: {got[key]}")
        for key in sorted(set(want) & set(got), key=str):
            for column, value in want[key].items():
                if column not in got[key]:
                    found.append(f"{mart} {key} {column}: column missing from the mart")
                elif not same(value, got[key][column]):
                    found.append(
                        f"{mart} {key} {column}: reference {value!r}, mart {got[key][column]!r}"
                    )
    return found


def read_marts(db: Path) -> dict[str, list[dict] | None]:
    marts: dict[str, list[dict] | None] = {}
    with duckdb.connect(str(db), read_only=True) as con:
        for mart in MARTS:
            try:
                cursor = con.execute(f"select * from marts.{mart}")
            except duckdb.CatalogException:
                marts[mart] = None
                continue
            names = [d[0] for d in cursor.description]
            marts[mart] = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return marts


def dbt_build(raw_dir: Path, params: Params, work: Path, dbt_dir: Path) -> tuple[Path, str]:
    """Load raw_dir into a fresh DuckDB file and dbt-build the marts of MARTS and their parents.
    Returns the database path and dbt's error lines ('' when the build passed)."""
    db = work / "warehouse.duckdb"
    load_dir(raw_dir, db)
    dbt_vars = {k: v for k, v in params.dbt_vars().items() if v is not None}
    # The reference models valid raw data only. A generated chain of contracts can reach
    # years past its origin, and a timestamp more than plausible_years_after_load (1) after
    # today's load is quarantined as implausible (docs/operations.md "Plausible dates"): which
    # rows that hits would depend on the day the test runs. A wide plausible range keeps every
    # generated row valid, whatever the date.
    dbt_vars["plausible_years_after_load"] = 100
    done = dbt_runner.run(
        [
            *dbt_runner.BUILD,
            "--select",
            " ".join(f"+{mart}" for mart in MARTS),
            # Only the data tests of what is built (not e.g. the quarantine accounting test).
            "--indirect-selection",
            "cautious",
        ],
        db,
        target_path=dbt_dir / "target",
        log_path=dbt_dir / "logs",
        vars=dbt_vars,
        manifest=False,  # only the marts are read: no manifest.json (~2 s CPU a build)
    )
    if done.returncode == 0:
        return db, ""
    lines = [
        line
        for line in done.output.splitlines()
        if any(word in line for word in ("ERROR", "FAIL", "Error", "error", "Compilation"))
    ]
    return db, f"dbt build exited {done.returncode}:\n" + "\n".join(lines[:40])


# --- 0. every mart compared or left out with a reason -----------------------------------------


def test_every_mart_is_compared_or_left_out_with_a_reason():
    every = set(marts_module.MARTS) | set(marts_module.PREDICTIVE_MARTS)
    neither = sorted(every - set(MARTS) - set(LEFT_OUT))
    assert not neither, (
        f"{neither}: compute them in python_checks/reference.py and list them in MARTS and "
        "KEYS here, or name them in LEFT_OUT with the reason and where they are checked"
    )
    assert not set(MARTS) & set(LEFT_OUT)
    assert set(MARTS) | set(LEFT_OUT) <= every, "a name here is no mart of retention/marts.py"
    assert all(reason.strip() for reason in LEFT_OUT.values())
    # the reference computes exactly the compared marts, each on the mart's own key
    assert set(compute(CASE_ONE, CASE_ONE_PARAMS)) == set(MARTS)
    assert {m: list(KEYS[m]) for m in MARTS} == {m: marts_module.KEYS[m] for m in MARTS}


def test_every_documented_column_is_compared():
    # The fixture scenario 13 gives every compared mart rows, so every column shows.
    folder = ROOT / "python_checks" / "fixtures" / "13_retention_operations" / "raw"
    computed = compute_dir(folder, Params(as_of_date=D("2024-06-30")))
    for mart in MARTS:
        assert computed[mart], f"{mart}: no rows to see the reference's columns on"
        left_out = set(UNCOMPARED_COLUMNS.get(mart, {}))
        missing = set(marts_module.COLUMNS[mart]) - set(computed[mart][0]) - left_out
        assert not missing, f"{mart}: the reference does not compute {sorted(missing)}"
        assert not left_out & set(computed[mart][0]), f"{mart}: computed, yet left out"


# --- 1. the reference itself, on hand-computed cases -----------------------------------------

CASE_ONE = {
    "customers": [
        {"customer_id": "c1", "created_at": "2024-01-01 08:00:00", "acquisition_channel": "web"},
        {"customer_id": "c2", "created_at": "2023-12-20 08:00:00"},
    ],
    "orders": [
        # c1: two purchases on 10 Jan (one partly refunded), one on 5 Mar; c2 a cancelled one.
        {"order_id": "o1", "customer_id": "c1", "ordered_at": "2024-01-10 09:00:00",
         "status": "completed", "amount": "100.00", "refunded_amount": "20.00",
         "currency": "EUR"},
        {"order_id": "o2", "customer_id": "c1", "ordered_at": "2024-01-10 18:00:00",
         "status": "completed", "amount": "50.00", "currency": "EUR"},
        {"order_id": "o3", "customer_id": "c1", "ordered_at": "2024-03-05 12:00:00",
         "status": "completed", "amount": "30.00", "currency": "EUR"},
        {"order_id": "o4", "customer_id": "c2", "ordered_at": "2024-02-01 12:00:00",
         "status": "cancelled", "amount": "999.00", "currency": "EUR"},
    ],
    "contracts": [
        # c2: k1 Jan (month, 30.00 -> MRR 30); gap 1-5 Feb (5 days <= grace 5, bridged);
        # k2 from 6 Feb (quarter, 120.00 -> MRR 40), open-ended, cancelled effective 15 Mar.
        {"contract_id": "k1", "customer_id": "c2", "product": "basic",
         "start_date": "2024-01-01", "end_date": "2024-01-31", "billing_period": "month",
         "price": "30.00", "currency": "EUR"},
        {"contract_id": "k2", "customer_id": "c2", "product": "plus",
         "start_date": "2024-02-06", "billing_period": "quarter", "price": "120.00",
         "currency": "EUR"},
    ],
    "cancellations": [
        {"cancellation_id": "x1", "contract_id": "k2", "requested_at": "2024-03-01 10:00:00",
         "effective_date": "2024-03-15", "reason_code": "price_too_high",
         "final_offer_accepted": "false"},
        # withdrawn (final offer accepted): changes nothing
        {"cancellation_id": "x2", "contract_id": "k2", "requested_at": "2024-02-10 10:00:00",
         "effective_date": "2024-02-20", "final_offer_accepted": "true"},
    ],
}  # fmt: skip
CASE_ONE_PARAMS = Params(
    as_of_date=D("2024-03-31"),
    order_inactivity_days=30,
    contract_grace_days=5,
    repeat_windows_days=(30, 90),
)


def test_reference_day_walk_on_a_hand_computed_case():
    world = World(CASE_ONE, CASE_ONE_PARAMS)
    c1, c2 = world.customers["c1"], world.customers["c2"]
    # N = 30: purchases on 10 Jan and 5 Mar make c1 active 10 Jan .. 8 Feb (30 days) and
    # 5 Mar .. 31 Mar = A (27 days; 5 Mar + 29 = 3 Apr is cut at A).
    assert (min(c1.order_active), max(c1.order_active)) == (D("2024-01-10"), D("2024-03-31"))
    assert len(c1.order_active) == 30 + 27
    assert D("2024-02-08") in c1.order_active and D("2024-02-09") not in c1.order_active
    # c2 covered 1-31 Jan and 6 Feb .. 15 Mar; the gap 1-5 Feb is 5 days <= grace 5: active
    # 1 Jan .. 15 Mar = 31 + 29 + 15 = 75 days.
    assert len(c2.contract_active) == 75
    # MRR 30 on 31 Jan, carried over the bridged 3 Feb, 120 / 3 = 40 from 6 Feb
    mrr = c2.mrr
    assert [mrr[D("2024-01-31")], mrr[D("2024-02-03")], mrr[D("2024-02-06")]] == [30, 30, 40]
    assert D("2024-02-03") not in c2.recognised  # no revenue on bridged days
    assert c2.recognised[D("2024-02-06")] == Fraction(480, 365)  # 120 x 4 / 365
    # With grace 4 the 5-day gap is not bridged: 75 - 5 = 70 active days.
    narrow = World(CASE_ONE, replace(CASE_ONE_PARAMS, contract_grace_days=4))
    assert len(narrow.customers["c2"].contract_active) == 70
    assert D("2024-02-03") not in narrow.customers["c2"].mrr


def test_reference_periods_cohorts_repeat_on_a_hand_computed_case():
    marts = compute(CASE_ONE, CASE_ONE_PARAMS)
    periods = by_key(marts["fct_periods"], "fct_periods")

    # Order basis. c1 is active 10 Jan .. 8 Feb (10 Jan + 30 - 1) and 5 Mar .. 31 Mar (A).
    # Earliest order activity 10 Jan 2024, so months run Jan .. Mar 2024.
    assert [k[2] for k in periods if k[:2] == ("order", "month")] == [
        D("2024-01-01"), D("2024-02-01"), D("2024-03-01")
    ]  # fmt: skip
    jan = periods[("order", "month", D("2024-01-01"))]
    # start state 31 Dec: inactive; end state 31 Jan: active; never active before -> new
    assert (jan["customers_start"], jan["customers_end"], jan["new"]) == (0, 1, 1)
    assert jan["churn_rate"] is None  # 0 customers at start: null
    # purchases o1 + o2 (same day, two purchases); net 100 - 20 + 50 = 130
    assert (jan["purchases"], jan["purchasing_customers"], jan["returning_customers"]) == (2, 1, 0)
    assert jan["net_revenue"] == 130.0
    assert jan["mrr_start"] is None  # contract columns are null on order rows
    feb = periods[("order", "month", D("2024-02-01"))]
    # active on 31 Jan, not on 29 Feb (activity ended 8 Feb): churned; rate 1 / 1
    assert (feb["customers_start"], feb["churned"], feb["customers_end"]) == (1, 1, 0)
    assert (feb["churn_rate"], feb["retention_rate"]) == (1.0, 0.0)
    assert (feb["purchases"], feb["net_revenue"]) == (0, 0.0)
    mar = periods[("order", "month", D("2024-03-01"))]
    # inactive on 29 Feb, active on 31 Mar, active before 1 Mar -> reactivated
    assert (mar["reactivated"], mar["new"], mar["customers_end"]) == (1, 0, 1)
    # o3 in March; c1 also bought before 1 Mar -> returning
    assert (mar["purchases"], mar["returning_customers"], mar["net_revenue"]) == (1, 1, 30.0)
    q1 = periods[("order", "quarter", D("2024-01-01"))]
    # 31 Dec inactive, 31 Mar active, first active 10 Jan >= 1 Jan -> new; 3 purchases, 160
    assert (q1["new"], q1["purchases"], q1["net_revenue"], q1["is_complete_period"]) == (
        1, 3, 160.0, True
    )  # fmt: skip

    # Contract basis. c2 covered 1-31 Jan (k1) and 6 Feb .. 15 Mar (k2 cut by x1; x2 is
    # withdrawn); the 5-day gap 1-5 Feb is bridged (5 <= grace 5). MRR 30 in Jan and on
    # the bridged days (carried), 120 / 3 = 40 from 6 Feb.
    jan = periods[("contract", "month", D("2024-01-01"))]
    assert (jan["new"], jan["mrr_start"], jan["mrr_end"], jan["new_mrr"]) == (1, 0.0, 30.0, 30.0)
    # recognised: 31 days x 360 / 365 (annual value of k1 = 30 x 12 = 360)
    assert jan["recognised_contract_revenue"] == pytest.approx(31 * 360 / 365, abs=1e-9)
    assert jan["gross_revenue_retention"] is None  # mrr_start 0: null
    assert jan["purchases"] is None  # order columns are null on contract rows
    feb = periods[("contract", "month", D("2024-02-01"))]
    # 31 Jan MRR 30 -> 29 Feb MRR 40: retained, expansion 10; GRR 30 / 30, NRR 40 / 30
    assert (feb["retained"], feb["expansion_mrr"], feb["gross_revenue_retention"]) == (
        1, 10.0, 1.0
    )  # fmt: skip
    assert feb["net_revenue_retention"] == pytest.approx(40 / 30, abs=1e-12)
    # recognised: 6..29 Feb = 24 covered days x 480 / 365; nothing on the bridged days
    assert feb["recognised_contract_revenue"] == pytest.approx(24 * 480 / 365, abs=1e-9)
    mar = periods[("contract", "month", D("2024-03-01"))]
    # active 29 Feb (MRR 40), inactive 31 Mar: churned 40; GRR = NRR = (40 - 40) / 40 = 0
    assert (mar["churned"], mar["churned_mrr"], mar["mrr_end"]) == (1, 40.0, 0.0)
    assert (mar["gross_revenue_retention"], mar["net_revenue_retention"]) == (0.0, 0.0)
    q1 = periods[("contract", "quarter", D("2024-01-01"))]
    # inactive on 31 Dec and on 31 Mar, active in between: transient
    assert (q1["transient"], q1["customers_start"], q1["customers_end"]) == (1, 0, 0)
    assert q1["recognised_contract_revenue"] == pytest.approx(
        (31 * 360 + 24 * 480 + 15 * 480) / 365, abs=1e-9
    )

    cohorts = by_key(marts["fct_cohorts"], "fct_cohorts")
    # order cohort Jan 2024 = {c1}; purchases in Jan (130), none in Feb, Mar (30)
    # (active, revenue, cumulative): Jan 130; Feb no purchase -> not active, 0; Mar 30
    assert [
        (r["active_customers"], r["revenue"], r["cumulative_revenue"])
        for k, r in sorted(cohorts.items(), key=str)
        if k[0] == "order"
    ] == [(1, 130.0, 130.0), (0, 0.0, 130.0), (1, 30.0, 160.0)]
    # contract cohort Jan 2024 = {c2}: active at end of Jan and Feb, not on 31 Mar
    assert [cohorts[("contract", D("2024-01-01"), k)]["active_customers"] for k in range(3)] == [
        1, 1, 0
    ]  # fmt: skip
    assert cohorts[("contract", D("2024-01-01"), 2)]["is_complete"] is True  # 31 Mar <= A

    repeat = by_key(marts["mart_repeat_purchase"], "mart_repeat_purchase")
    jan = repeat[(D("2024-01-01"),)]
    # c1: 2 purchases on 10 Jan -> repeat customer, 0 days to the second purchase
    assert (jan["customers"], jan["repeat_customers"], jan["median_days_to_second_purchase"]) == (
        1, 1, 0.0
    )  # fmt: skip
    # W = 30: first purchase 10 Jan <= A - 30 = 1 Mar -> eligible; 0 <= 30 -> within
    assert (jan["eligible_30"], jan["repeat_within_30"], jan["repeat_rate_30"]) == (1, 1, 1.0)
    # W = 90: A - 90 = 1 Jan < 10 Jan -> not eligible; rate null
    assert (jan["eligible_90"], jan["repeat_within_90"], jan["repeat_rate_90"]) == (0, 0, None)


def test_reference_customers_months_churn_on_a_hand_computed_case():
    marts = compute(CASE_ONE, CASE_ONE_PARAMS)
    # c1: order spells 10 Jan .. 8 Feb and 5 Mar .. 31 Mar (N = 30), no contract.
    # c2: contract spell 1 Jan .. 15 Mar (k1, the bridged 1-5 Feb, k2 cut by x1), no purchase
    # (o4 is cancelled).
    customers = by_key(marts["dim_customers"], "dim_customers")
    assert set(customers) == {("c1",), ("c2",)}
    c1, c2 = customers[("c1",)], customers[("c2",)]
    assert (c1["is_inferred"], c1["created_at"], c1["created_date"]) == (
        False, dt.datetime(2024, 1, 1, 8), D("2024-01-01")
    )  # fmt: skip
    assert (c1["acquisition_channel"], c1["country"], c1["segment"]) == ("web", None, None)
    # purchases o1, o2 (10 Jan), o3 (5 Mar): 3, net 80 + 50 + 30 = 160, AOV 160 / 3
    assert (c1["first_purchase_date"], c1["last_purchase_date"], c1["purchases"]) == (
        D("2024-01-10"), D("2024-03-05"), 3
    )  # fmt: skip
    assert (c1["lifetime_net_revenue"], c1["is_repeat_customer"]) == (160.0, True)
    assert c1["average_order_value"] == pytest.approx(160 / 3, abs=1e-12)
    # order: cohort Jan; active on A (31 Mar in the second spell); churned 8 Feb + 1 = 9 Feb;
    # two spells -> 1 reactivation. contract: never active, nothing else.
    assert (c1["order_cohort_month"], c1["order_status"], c1["order_last_churn_date"]) == (
        D("2024-01-01"), "active", D("2024-02-09")
    )  # fmt: skip
    assert c1["order_reactivation_count"] == 1
    assert (c1["contract_cohort_month"], c1["contract_status"]) == (None, "never_active")
    assert (c1["contract_last_churn_date"], c1["contract_last_churn_type"]) == (None, None)
    assert (c1["current_mrr"], c1["active_products"], c1["lifetime_contract_revenue"]) == (
        0.0, None, 0.0
    )  # fmt: skip
    # c2: no channel -> unknown; no purchase: 0, 0, AOV null, first/last null
    assert (c2["acquisition_channel"], c2["created_at"]) == (
        "unknown", dt.datetime(2023, 12, 20, 8)
    )  # fmt: skip
    assert (c2["purchases"], c2["lifetime_net_revenue"], c2["average_order_value"]) == (
        0, 0.0, None
    )  # fmt: skip
    assert (c2["first_purchase_date"], c2["is_repeat_customer"]) == (None, False)
    assert (c2["order_status"], c2["order_cohort_month"], c2["order_last_churn_date"]) == (
        "never_active", None, None
    )  # fmt: skip
    # contract: cohort Jan; not active on 31 Mar (spell ended 15 Mar): churned 16 Mar, ended
    # by k2 whose not-withdrawn cancellation x1 is price_too_high -> push; one spell: 0
    assert (c2["contract_cohort_month"], c2["contract_status"]) == (D("2024-01-01"), "churned")
    assert (c2["contract_last_churn_date"], c2["contract_last_churn_type"]) == (
        D("2024-03-16"), "push"
    )  # fmt: skip
    assert c2["contract_reactivation_count"] == 0
    # nothing covers A: MRR 0, no products; revenue 31 x 360 / 365 (k1) + (24 + 15) x 480 / 365
    # (k2, 6-29 Feb and 1-15 Mar) = (11160 + 18720) / 365
    assert (c2["current_mrr"], c2["active_products"]) == (0.0, None)
    assert c2["lifetime_contract_revenue"] == pytest.approx(29880 / 365, abs=1e-9)

    months = by_key(marts["fct_customer_months"], "fct_customer_months")
    # both first active in January (c1 10 Jan, c2 1 Jan): Jan, Feb, Mar 2024 each
    assert sorted(months) == [
        (c, D(m)) for c in ("c1", "c2") for m in ("2024-01-01", "2024-02-01", "2024-03-01")
    ]
    jan, feb, mar = (months[("c1", D(m))] for m in ("2024-01-01", "2024-02-01", "2024-03-01"))
    # c1 order basis: Jan new (2 purchases, 130), Feb churned (0, 0), Mar reactivated (1, 30)
    assert [(r["purchases"], r["net_revenue"], r["order_lifecycle"]) for r in (jan, feb, mar)] == [
        (2, 130.0, "new"), (0, 0.0, "churned"), (1, 30.0, "reactivated")
    ]  # fmt: skip
    # start states 31 Dec, 31 Jan, 29 Feb; end states 31 Jan, 29 Feb, 31 Mar (= A: complete)
    assert [(r["order_is_active_start"], r["order_is_active_end"]) for r in (jan, feb, mar)] == [
        (False, True), (True, False), (False, True)
    ]  # fmt: skip
    assert (feb["month_end_date"], mar["month_end_date"], mar["is_complete_month"]) == (
        D("2024-02-29"), D("2024-03-31"), True
    )  # fmt: skip
    # no contract: inactive, MRR 0 -> 0 unchanged, no recognised revenue
    assert (jan["contract_lifecycle"], jan["mrr_start"], jan["mrr_end"], jan["mrr_movement"]) == (
        "inactive", 0.0, 0.0, "unchanged"
    )  # fmt: skip
    assert (jan["new_mrr"], jan["recognised_contract_revenue"]) == (0.0, 0.0)
    jan, feb, mar = (months[("c2", D(m))] for m in ("2024-01-01", "2024-02-01", "2024-03-01"))
    # c2 contract basis: Jan new (0 -> 30, new 30), Feb retained (30 -> 40, expansion 10),
    # Mar churned (40 -> 0, churned 40); order basis inactive throughout, no purchase
    assert [
        (r["contract_lifecycle"], r["mrr_start"], r["mrr_end"], r["mrr_movement"])
        for r in (jan, feb, mar)
    ] == [
        ("new", 0.0, 30.0, "new"), ("retained", 30.0, 40.0, "expansion"),
        ("churned", 40.0, 0.0, "churned"),
    ]  # fmt: skip
    assert (jan["new_mrr"], jan["reactivation_mrr"], feb["expansion_mrr"], mar["churned_mrr"]) == (
        30.0, 0.0, 10.0, 40.0
    )  # fmt: skip
    assert (feb["new_mrr"], feb["churned_mrr"], mar["contraction_mrr"]) == (0.0, 0.0, 0.0)
    assert [r["order_lifecycle"] for r in (jan, feb, mar)] == ["inactive"] * 3
    assert [r["purchases"] for r in (jan, feb, mar)] == [0, 0, 0]
    # recognised: 31 x 360 / 365; 24 x 480 / 365 (none on the bridged 1-5 Feb); 15 x 480 / 365
    assert [r["recognised_contract_revenue"] for r in (jan, feb, mar)] == pytest.approx(
        [11160 / 365, 11520 / 365, 7200 / 365], abs=1e-9
    )

    churn = by_key(marts["mart_churn"], "mart_churn")
    # Churned = active at the start state, not at the end state. Order: only c1 in February
    # (active 31 Jan, not 29 Feb); in Q1 and 2024 nobody was active on 31 Dec. Contract: only
    # c2 in March (29 Feb, not 31 Mar), the spell ended by k2 (x1, price_too_high: push,
    # retainable) with MRR 40 on 29 Feb; Q1 and 2024 start with nobody active.
    assert churn == {
        ("order", "month", D("2024-02-01"), "silent", "none"): {
            "basis": "order", "period_grain": "month", "period_start": D("2024-02-01"),
            "churn_type": "silent", "reason_code": "none", "is_retainable": None,
            "churned_customers": 1, "churned_mrr": None, "period_churned_customers": 1,
            "share_of_churn": 1.0,
        },
        ("contract", "month", D("2024-03-01"), "push", "price_too_high"): {
            "basis": "contract", "period_grain": "month", "period_start": D("2024-03-01"),
            "churn_type": "push", "reason_code": "price_too_high", "is_retainable": True,
            "churned_customers": 1, "churned_mrr": 40.0, "period_churned_customers": 1,
            "share_of_churn": 1.0,
        },
    }  # fmt: skip


CASE_TWO = {
    "customers": [
        {"customer_id": "c1", "created_at": "2024-01-01 08:00:00", "acquisition_channel": "web"},
        {"customer_id": "c3", "created_at": "2023-03-01 08:00:00", "acquisition_channel": "ads"},
        {"customer_id": "c4", "created_at": "2022-12-01 08:00:00", "acquisition_channel": "ads"},
        {"customer_id": "c5", "created_at": "2023-01-15 08:00:00"},
    ],
    "orders": [
        {"order_id": "o1", "customer_id": "c1", "ordered_at": "2024-01-10 09:00:00",
         "status": "completed", "amount": "100.00", "refunded_amount": "20.00",
         "currency": "EUR"},
        {"order_id": "o2", "customer_id": "c1", "ordered_at": "2024-01-10 18:00:00",
         "status": "completed", "amount": "50.00", "currency": "EUR"},
        {"order_id": "o3", "customer_id": "c1", "ordered_at": "2024-03-05 12:00:00",
         "status": "completed", "amount": "30.00", "currency": "EUR"},
        {"order_id": "o5", "customer_id": "c3", "ordered_at": "2023-03-20 12:00:00",
         "status": "completed", "amount": "40.00", "currency": "EUR"},
        # another currency: quarantined, not a purchase
        {"order_id": "o6", "customer_id": "c3", "ordered_at": "2024-03-20 12:00:00",
         "status": "completed", "amount": "40.00", "currency": "USD"},
    ],
    "contracts": [
        {"contract_id": "k4", "customer_id": "c4", "product": "basic",
         "start_date": "2023-01-01", "billing_period": "year", "price": "1200.00",
         "currency": "EUR"},
        {"contract_id": "k5", "customer_id": "c5", "product": "basic",
         "start_date": "2023-02-01", "end_date": "2023-12-31", "billing_period": "month",
         "price": "50.00", "currency": "EUR"},
    ],
    "marketing_spend": [
        {"spend_month": "2024-01-01", "acquisition_channel": "web", "amount": "300.00",
         "currency": "EUR"},
        # before Y = [2023-04-02, 2024-03-31]: not counted
        {"spend_month": "2023-03-01", "acquisition_channel": "ads", "amount": "50.00",
         "currency": "EUR"},
    ],
}  # fmt: skip


def test_reference_clv_on_a_hand_computed_case():
    params = Params(as_of_date=D("2024-03-31"), order_inactivity_days=30)
    # A = 2024-03-31; A - 365 = 2023-04-01 (2024 is a leap year); Y = [2023-04-02, A].
    clv = by_key(compute(CASE_TWO, params)["mart_clv"], "mart_clv")
    assert set(clv) == {
        ("all", "all"),
        ("acquisition_channel", "web"),
        ("acquisition_channel", "ads"),
        ("acquisition_channel", "unknown"),  # c5 has no channel
        # first active day: c1 10 Jan 2024; c3 20 Mar 2023; c4 1 Jan 2023; c5 1 Feb 2023
        ("cohort_year", "2023"),
        ("cohort_year", "2024"),
    }
    everyone = clv[("all", "all")]
    assert everyone["customers"] == 4
    # purchases in Y: o1, o2, o3 of c1 (o5 is before Y, o6 quarantined): 3, net 80+50+30
    assert (everyone["purchases"], everyone["net_revenue"], everyone["purchasing_customers"]) == (
        3, 160.0, 1
    )  # fmt: skip
    assert everyone["average_order_value"] == pytest.approx(160 / 3, abs=1e-12)
    assert everyone["purchase_frequency"] == 3.0  # 3 purchases / 1 customer
    # order-active on 2023-04-01: c3 (20 Mar .. 18 Apr 2023); not on A -> churn 1 / 1
    assert (everyone["order_active_start_customers"], everyone["order_churned_customers"]) == (
        1, 1
    )  # fmt: skip
    assert (everyone["annual_churn_rate"], everyone["expected_lifespan_years"]) == (1.0, 1.0)
    assert everyone["clv"] == pytest.approx(160 / 3 * 3 * 1 * 1.0, abs=1e-9)  # = 160
    # contract: on A only c4 (k4, 1200 / 12 = MRR 100); on 2023-04-01 c4 and c5 (k5 until
    # 31 Dec 2023) -> churn 1 / 2; monthly 1 - (1 - 0.5)^(1/12)
    assert (everyone["contract_active_customers"], everyone["mrr"]) == (1, 100.0)
    assert everyone["arpa_monthly"] == 100.0
    assert everyone["annual_contract_churn_rate"] == 0.5
    monthly = 1 - 0.5 ** (1 / 12)  # 0.0561...
    assert everyone["monthly_churn_rate"] == pytest.approx(monthly, abs=1e-12)
    # 100 / 0.0561 = 1781.7 < cap 100 x 12 x 10 = 12000
    assert everyone["contract_clv"] == pytest.approx(100 / monthly, abs=1e-9)
    # spend in Y: 300 (web, Jan 2024); acquired in Y: c1 only (others first active in 2023)
    assert (everyone["marketing_spend"], everyone["acquired_customers"], everyone["cac"]) == (
        300.0, 1, 300.0
    )  # fmt: skip
    assert everyone["ltv_to_cac"] == pytest.approx(160 / 300, abs=1e-12)

    ads = clv[("acquisition_channel", "ads")]
    # c3 and c4: no purchases in Y -> AOV and CLV null; c4 never churns -> contract CLV cap
    assert (ads["customers"], ads["purchases"], ads["average_order_value"], ads["clv"]) == (
        2, 0, None, None
    )  # fmt: skip
    assert (ads["annual_contract_churn_rate"], ads["monthly_churn_rate"]) == (0.0, 0.0)
    assert ads["contract_clv"] == 100 * 12 * 10 * 1.0  # the cap when churn is 0
    # the 50.00 ads spend of March 2023 is before Y: spend 0, nobody acquired in Y -> null
    assert (ads["marketing_spend"], ads["acquired_customers"], ads["cac"]) == (0.0, 0, None)

    year_2023 = clv[("cohort_year", "2023")]
    assert year_2023["customers"] == 3  # c3, c4, c5
    assert (year_2023["marketing_spend"], year_2023["cac"]) == (None, None)


def test_reference_customers_months_churn_on_the_clv_case():
    marts = compute(CASE_TWO, Params(as_of_date=D("2024-03-31"), order_inactivity_days=30))
    # A = 2024-03-31, N = 30, grace 30. c1 as in CASE_ONE (orders only); c3 one purchase on
    # 20 Mar 2023 (o6 is in USD: quarantined); c4 k4 from 1 Jan 2023, open (1200 a year:
    # MRR 100); c5 k5 1 Feb .. 31 Dec 2023 (MRR 50), no cancellation.
    customers = by_key(marts["dim_customers"], "dim_customers")
    assert set(customers) == {("c1",), ("c3",), ("c4",), ("c5",)}
    c3, c4, c5 = (customers[(c,)] for c in ("c3", "c4", "c5"))
    # c3: 1 purchase of 40 -> AOV 40, no repeat; active 20 Mar .. 18 Apr 2023 (20 Mar + 29):
    # churned on 19 Apr 2023, no spell since
    assert (c3["purchases"], c3["lifetime_net_revenue"], c3["average_order_value"]) == (
        1, 40.0, 40.0
    )  # fmt: skip
    assert (c3["first_purchase_date"], c3["last_purchase_date"], c3["is_repeat_customer"]) == (
        D("2023-03-20"), D("2023-03-20"), False
    )  # fmt: skip
    assert (c3["order_cohort_month"], c3["order_status"], c3["order_last_churn_date"]) == (
        D("2023-03-01"), "churned", D("2023-04-19")
    )  # fmt: skip
    assert (c3["acquisition_channel"], c3["contract_status"]) == ("ads", "never_active")
    # c4: contract-active 1 Jan 2023 .. A, never churned; MRR on A 100, product basic;
    # revenue over 365 (2023) + 31 + 29 + 31 = 456 days x 1200 / 365
    assert (c4["contract_cohort_month"], c4["contract_status"], c4["contract_last_churn_date"]) == (
        D("2023-01-01"), "active", None
    )  # fmt: skip
    assert (c4["contract_last_churn_type"], c4["contract_reactivation_count"]) == (None, 0)
    assert (c4["current_mrr"], c4["active_products"]) == (100.0, "basic")
    assert c4["lifetime_contract_revenue"] == pytest.approx(456 * 1200 / 365, abs=1e-9)
    # c5: 1 Feb .. 31 Dec 2023 ran out without a cancellation: churned 1 Jan 2024, silent;
    # revenue over 28 + 31 + 30 + 31 + 30 + 31 + 31 + 30 + 31 + 30 + 31 = 334 days x 600 / 365
    assert (c5["contract_cohort_month"], c5["contract_status"], c5["contract_last_churn_date"]) == (
        D("2023-02-01"), "churned", D("2024-01-01")
    )  # fmt: skip
    assert (c5["contract_last_churn_type"], c5["current_mrr"], c5["active_products"]) == (
        "silent", 0.0, None
    )  # fmt: skip
    assert c5["lifetime_contract_revenue"] == pytest.approx(334 * 600 / 365, abs=1e-9)
    assert (c5["acquisition_channel"], c5["order_status"]) == ("unknown", "never_active")

    months = by_key(marts["fct_customer_months"], "fct_customer_months")
    # months from the first active month through March 2024: c1 Jan 2024 (3), c3 Mar 2023
    # (13), c4 Jan 2023 (15), c5 Feb 2023 (14)
    assert len(months) == 3 + 13 + 15 + 14
    assert min(m for c, m in months if c == "c4") == D("2023-01-01")
    dec, jan = months[("c5", D("2023-12-01"))], months[("c5", D("2024-01-01"))]
    # c5 December: retained at MRR 50, 31 days x 600 / 365; January: churned, 50 -> 0
    assert (dec["contract_lifecycle"], dec["mrr_movement"], dec["churned_mrr"]) == (
        "retained", "unchanged", 0.0
    )  # fmt: skip
    assert dec["recognised_contract_revenue"] == pytest.approx(31 * 600 / 365, abs=1e-9)
    assert (jan["contract_lifecycle"], jan["mrr_movement"], jan["churned_mrr"]) == (
        "churned", "churned", 50.0
    )  # fmt: skip
    assert (jan["contract_is_active_start"], jan["contract_is_active_end"]) == (True, False)
    # c3 April 2023 on the order basis: active 31 Mar, not 30 Apr -> churned; May inactive
    assert months[("c3", D("2023-04-01"))]["order_lifecycle"] == "churned"
    assert months[("c3", D("2023-05-01"))]["order_lifecycle"] == "inactive"

    churn = by_key(marts["mart_churn"], "mart_churn")
    churn = {key: row["churned_customers"] for key, row in churn.items()}
    # order: c3 leaves in April 2023 (and Q2 2023: active 31 Mar, not 30 Jun; not in 2023,
    # inactive on 31 Dec 2022), c1 in February 2024; contract: c5 leaves in January 2024, Q1
    # 2024 and 2024 (active 31 Dec 2023, not on A), silently. One customer each.
    assert churn == {
        ("order", "month", D("2023-04-01"), "silent", "none"): 1,
        ("order", "quarter", D("2023-04-01"), "silent", "none"): 1,
        ("order", "month", D("2024-02-01"), "silent", "none"): 1,
        ("contract", "month", D("2024-01-01"), "silent", "none"): 1,
        ("contract", "quarter", D("2024-01-01"), "silent", "none"): 1,
        ("contract", "year", D("2024-01-01"), "silent", "none"): 1,
    }
    # c5's MRR at the start state (31 Dec 2023): 50, on each contract row
    assert {
        r["churned_mrr"] for r in marts["mart_churn"] if r["basis"] == "contract"
    } == {50.0}  # fmt: skip


def test_reference_lower_cases_category_texts_as_staging_does():
    # Staging lower-cases reason codes and products (docs/decisions.md, "Category texts"):
    # `Price_Too_High` is the seed's price_too_high (push), `Plus` and `plus` one product.
    raw = {
        "customers": [{"customer_id": "c1", "created_at": "2023-12-01 08:00:00"}],
        "contracts": [
            {"contract_id": "k1", "customer_id": "c1", "product": "Plus",
             "start_date": "2024-01-01", "end_date": "2024-01-31", "billing_period": "month",
             "price": "10.00", "currency": "EUR"},
            {"contract_id": "k2", "customer_id": "c1", "product": "plus",
             "start_date": "2024-02-01", "end_date": "2024-02-29", "billing_period": "month",
             "price": "10.00", "currency": "EUR", "previous_contract_id": "k1"},
        ],
        "cancellations": [
            {"cancellation_id": "x1", "contract_id": "k2", "requested_at": "2024-02-10 10:00:00",
             "effective_date": "2024-02-29", "reason_code": "Price_Too_High",
             "final_offer_made": "true", "final_offer_accepted": "false"},
        ],
    }  # fmt: skip
    marts = compute(raw, Params(as_of_date=D("2024-03-31"), contract_grace_days=0))
    saves = marts["mart_cancellation_saves"]
    # x1 requested 10 Feb 2024: one request, one offer, no save, in the push rows
    assert {(r["period_grain"], r["churn_type"], r["reason_code"]) for r in saves} == {
        (grain, "push", "price_too_high") for grain in GRAINS
    }
    # spell 1 Jan .. 29 Feb ended by k2, whose cancellation (price_too_high) is not
    # withdrawn: the churn on 1 Mar is push
    winback = [r for r in marts["mart_winback"] if r["basis"] == "contract"]
    assert [(r["churn_month"], r["churn_type"]) for r in winback] == [(D("2024-03-01"), "push")]
    # k1 (Jan, renewed by k2 starting 1 Feb <= 31 Jan + 0 + 1) and k2 (Feb, cancelled
    # effective on its end_date: ran to end_date, not renewed): one product "plus"
    renewals = by_key(marts["mart_contract_renewals"], "mart_contract_renewals")
    assert {k: (r["terms_ending"], r["renewed"]) for k, r in renewals.items()} == {
        ("plus", "month", D("2024-01-01")): (1, 1),
        ("plus", "month", D("2024-02-01")): (1, 0),
    }


def test_reference_customer_created_after_a_is_inferred():
    # docs/decisions.md: a customer row created after A does not exist yet on A; an order on
    # or before A makes that customer inferred (no attributes, channel unknown), like c9,
    # who has no row at all. c2, created after A with nothing on or before A, does not exist.
    raw = {
        "customers": [
            {"customer_id": "c1", "created_at": "2024-04-10 08:00:00",
             "acquisition_channel": "web", "country": "nl", "segment": "Consumer"},
            {"customer_id": "c2", "created_at": "2024-04-10 08:00:00"},
        ],
        "orders": [
            {"order_id": "o1", "customer_id": "c1", "ordered_at": "2024-03-01 10:00:00",
             "status": "completed", "amount": "10.00", "currency": "EUR"},
            {"order_id": "o2", "customer_id": "c9", "ordered_at": "2024-03-02 10:00:00",
             "status": "cancelled", "amount": "10.00", "currency": "EUR"},
        ],
    }  # fmt: skip
    marts = compute(raw, Params(as_of_date=D("2024-03-31")))
    customers = by_key(marts["dim_customers"], "dim_customers")
    assert set(customers) == {("c1",), ("c9",)}
    c1 = customers[("c1",)]
    assert (c1["is_inferred"], c1["created_at"], c1["created_date"]) == (True, None, None)
    assert (c1["acquisition_channel"], c1["country"], c1["segment"]) == ("unknown", None, None)
    assert (c1["purchases"], c1["order_status"]) == (1, "active")
    # c9: a cancelled order only: inferred, never active
    assert (customers[("c9",)]["is_inferred"], customers[("c9",)]["order_status"]) == (
        True, "never_active"
    )  # fmt: skip
    # both count in CLV's `unknown` channel, none in `web`
    clv = by_key(marts["mart_clv"], "mart_clv")
    assert clv[("acquisition_channel", "unknown")]["customers"] == 2
    assert ("acquisition_channel", "web") not in clv


def test_reference_default_as_of_date_is_the_latest_local_date():
    # 2024-05-31 23:30 UTC is 1 June 01:30 in Amsterdam (CEST, +02:00): A = 2024-06-01, so
    # the purchase's month is June and its periods run through June.
    raw = {
        "customers": [{"customer_id": "c1", "created_at": "2024-05-01T10:00:00Z"}],
        "orders": [
            {"order_id": "o1", "customer_id": "c1", "ordered_at": "2024-05-31T23:30:00Z",
             "status": "completed", "amount": "10.00", "currency": "EUR"},
        ],
    }  # fmt: skip
    marts = compute(raw, Params(reporting_timezone="Europe/Amsterdam"))
    months = [r for r in marts["fct_periods"] if r["period_grain"] == "month"]
    assert [(r["period_start"], r["new"], r["purchases"]) for r in months] == [
        (D("2024-06-01"), 1, 1)
    ]
    utc = compute(raw, Params())  # in UTC the purchase is on 31 May, and so is A
    assert [r["period_start"] for r in utc["fct_periods"] if r["period_grain"] == "month"] == [
        D("2024-05-01")
    ]


# --- 2. random raw data sets -----------------------------------------------------------------

# half-hour offsets, +14 and -11 hours, a 30-minute daylight saving shift
TIME_ZONES = (
    "UTC",
    "Europe/Amsterdam",
    "America/New_York",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "America/St_Johns",
    "Australia/Lord_Howe",
)
CHANNELS = ("web", "ads", "referral", None, "Web", " ads ")  # staging trims and lower-cases


def stamp(draw, day: dt.date) -> str:
    """A timestamp on `day` (UTC wall clock), often near midnight, in one of the ISO forms."""
    hour, minute = draw(st.sampled_from([(0, 15), (3, 0), (12, 0), (22, 45), (23, 50)]))
    moment = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)
    form = draw(st.sampled_from(["naive", "z", "offset"]))
    if form == "naive":
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if form == "z":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat()


def cents(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}"


@st.composite
def data_sets(draw):
    origin = D("2022-01-01") + dt.timedelta(days=draw(st.integers(0, 365)))
    span = 730

    def day(low: int = 0, high: int = span) -> dt.date:
        return origin + dt.timedelta(days=draw(st.integers(low, high)))

    grace = draw(st.sampled_from([0, 1, 7, 30, 45]))
    as_of = None
    if draw(st.booleans()):
        month = day(240, span).replace(day=1)
        as_of = month + dt.timedelta(days=draw(st.integers(0, 27)))  # mid-month as often
    params = Params(
        as_of_date=as_of,
        reporting_timezone=draw(st.sampled_from(TIME_ZONES)),
        order_inactivity_days=draw(st.sampled_from([1, 2, 30, 45, 60, 365])),
        contract_grace_days=grace,
        gross_margin=draw(st.sampled_from(["1.0", "0.6", "0.35"])),
        clv_max_lifespan_years=draw(st.sampled_from([10, 3, 1, 2.5])),
        repeat_windows_days=draw(st.sampled_from([(30, 90, 180, 365), (7, 45), (1,), (365, 30)])),
        programme_horizon_days=draw(st.sampled_from([1, 30, 90, 365])),
    )

    tables: dict[str, list[dict[str, str | None]]] = {
        "customers": [],
        "orders": [],
        "contracts": [],
        "cancellations": [],
        "marketing_spend": [],
        "nps_responses": [],
        "retention_actions": [],
    }
    n_customers = draw(st.integers(1, 6))
    for i in range(1, n_customers + 1):
        customer_id = f"c{i}"
        activity: list[dt.date] = []

        # Orders: same-day pairs, cancelled / refunded ones, partial and full refunds.
        previous = None
        for j in range(draw(st.integers(0, 5))):
            how = draw(st.sampled_from(["random", "random", "same_day", "soon"]))
            if previous is None or how == "random":
                ordered = day()
            elif how == "same_day":
                ordered = previous
            else:
                ordered = previous + dt.timedelta(days=draw(st.integers(1, 70)))
            previous = ordered
            activity.append(ordered)
            status = draw(st.sampled_from(["completed"] * 5 + ["cancelled", "refunded"]))
            amount = draw(st.integers(0, 20000))
            refund = draw(st.sampled_from(["none", "none", "zero", "partial", "full"]))
            refunded = {
                "none": None,
                "zero": "0.00",
                "partial": cents(amount // 3),
                "full": cents(amount),
            }[refund]
            tables["orders"].append(
                {
                    "order_id": f"{customer_id}-o{j}",
                    "customer_id": customer_id,
                    "ordered_at": stamp(draw, ordered),
                    "status": status,
                    "amount": cents(amount),
                    "refunded_amount": refunded,
                    "currency": draw(st.sampled_from(["EUR"] * 9 + ["USD"])),
                }
            )

        # Contracts: a chain whose gaps sit around the grace limit, overlaps, open ends.
        planned_end = None
        previous_id = None
        for j in range(draw(st.integers(0, 4))):
            contract_id = f"{customer_id}-k{j}"
            if planned_end is None:
                start = day(0, span - 60)
            else:
                gap = draw(
                    st.sampled_from(
                        [
                            grace - 1,
                            grace,
                            grace + 1,
                            0,
                            -10,
                            draw(st.integers(0, 120)),
                            draw(st.integers(31, 200)),  # a break: reactivation later
                        ]
                    )
                )
                start = planned_end + dt.timedelta(days=gap + 1)  # gap uncovered days
            length = draw(st.integers(20, 400))
            planned_end = start + dt.timedelta(days=length - 1)
            ending = draw(st.sampled_from(["end_date", "cancelled", "open", "cancel_at_end"]))
            end_date = planned_end if ending in ("end_date", "cancel_at_end") else None
            if ending == "cancelled" and draw(st.booleans()):
                end_date = planned_end + dt.timedelta(days=draw(st.integers(1, 200)))
            # signed before the start as a rule, sometimes after it (possibly after A)
            signed = start + dt.timedelta(days=draw(st.integers(-20, 10)))
            activity += [start, signed]
            tables["contracts"].append(
                {
                    "contract_id": contract_id,
                    "customer_id": customer_id,
                    "product": draw(st.sampled_from(["basic", "plus", "Plus"])),
                    "signed_at": stamp(draw, signed) if draw(st.booleans()) else None,
                    "start_date": start.isoformat(),
                    "end_date": None if end_date is None else end_date.isoformat(),
                    "billing_period": draw(st.sampled_from(["month", "quarter", "year"])),
                    "price": cents(draw(st.sampled_from([0, 1, 999, 2500, 3333, 10000, 12345]))),
                    # another currency: quarantined, and so are its cancellations
                    "currency": draw(st.sampled_from(["EUR"] * 12 + ["USD"])),
                    # a renewal of the customer's previous contract, often
                    "previous_contract_id": previous_id if draw(st.booleans()) else None,
                }
            )
            previous_id = contract_id
            for twin in range(draw(st.sampled_from([0, 0, 1, 2]))):
                # a stacked product over the same days (lock-in buckets, churn-type ties)
                twin_row = dict(tables["contracts"][-1])
                twin_row["contract_id"] = f"{contract_id}-s{twin}"
                twin_row["product"] = draw(st.sampled_from(["basic", "plus", "extra", "tv"]))
                twin_row["previous_contract_id"] = None
                if draw(st.booleans()):
                    twin_row["end_date"] = planned_end.isoformat()
                tables["contracts"].append(twin_row)
                if draw(st.booleans()):
                    requested = planned_end - dt.timedelta(days=draw(st.integers(0, 40)))
                    tables["cancellations"].append(
                        {
                            "cancellation_id": f"{twin_row['contract_id']}-x",
                            "contract_id": twin_row["contract_id"],
                            "requested_at": stamp(draw, requested),
                            "effective_date": planned_end.isoformat(),
                            "reason_code": draw(
                                st.sampled_from(["price_too_high", "deceased", None])
                            ),
                            "final_offer_made": draw(st.sampled_from([None, "true"])),
                            "final_offer_accepted": draw(st.sampled_from([None, "false", "true"])),
                        }
                    )
            cancellations = []
            if ending in ("cancelled", "cancel_at_end"):
                cancellations.append((planned_end, draw(st.sampled_from([None, "false"]))))
            extra = draw(
                st.sampled_from(["none", "none", "withdrawn", "before_start", "after_end"])
            )
            if extra == "withdrawn":
                cancellations.append((start + dt.timedelta(days=length // 2), "true"))
            elif extra == "before_start":
                cancellations.append((start - dt.timedelta(days=5), "false"))
            elif extra == "after_end":
                cancellations.append((planned_end + dt.timedelta(days=30), "false"))
            for m, (effective, accepted) in enumerate(cancellations):
                # requested ahead of the effective date, sometimes after it (retroactive)
                requested = effective + dt.timedelta(days=draw(st.integers(-60, 15)))
                tables["cancellations"].append(
                    {
                        "cancellation_id": f"{contract_id}-x{m}",
                        "contract_id": contract_id,
                        "requested_at": stamp(draw, requested),
                        "effective_date": effective.isoformat(),
                        "reason_code": draw(
                            st.sampled_from(
                                ["price_too_high", "Price_Too_High", "deceased", "made_up", None]
                            )
                        ),
                        "final_offer_made": draw(
                            st.sampled_from(
                                [None, "false", "true"] if accepted is None else [None, "true"]
                            )
                        ),
                        "final_offer_accepted": accepted,
                    }
                )
            if ending == "open":
                planned_end = start + dt.timedelta(days=length - 1)  # a later one overlaps

        # NPS responses and retention actions around the customer's activity.
        for j in range(draw(st.integers(0, 3))):
            near = activity[draw(st.integers(0, len(activity) - 1))] if activity else day()
            answered = near + dt.timedelta(days=draw(st.integers(-10, 200)))
            tables["nps_responses"].append(
                {
                    "response_id": f"{customer_id}-n{j}",
                    "customer_id": customer_id,
                    "responded_at": stamp(draw, answered),
                    "score": str(draw(st.integers(0, 10))),
                }
            )
        for j in range(draw(st.integers(0, 2))):
            near = activity[draw(st.integers(0, len(activity) - 1))] if activity else day()
            assigned = near + dt.timedelta(days=draw(st.integers(0, 120)))
            tables["retention_actions"].append(
                {
                    "action_id": f"{customer_id}-a{j}",
                    "customer_id": customer_id,
                    "campaign": draw(st.sampled_from(["Call", "CALL", "mail"])),
                    "assigned_group": draw(st.sampled_from(["treatment", "control", "Treatment"])),
                    "cost": draw(st.sampled_from([None, "0.00", "5.00", "12.34", "250.00"])),
                    "assigned_at": stamp(draw, assigned),
                }
            )

        # Known customer (created on or before their first activity) or inferred.
        if not activity or draw(st.integers(0, 5)) > 0:
            first = min(activity) if activity else day()
            # a UTC day before the first activity: on or before it in any time zone
            created = first - dt.timedelta(days=draw(st.integers(1, 30)))
            if activity and draw(st.integers(0, 5)) == 0:
                # created after their first order or contract: inferred on an A before it
                created = first + dt.timedelta(days=draw(st.integers(1, 400)))
            tables["customers"].append(
                {
                    "customer_id": customer_id,
                    "created_at": stamp(draw, created),
                    "acquisition_channel": draw(st.sampled_from(CHANNELS)),
                    "country": draw(st.sampled_from([None, "nl", "NL", "be"])),
                    "segment": draw(st.sampled_from([None, "consumer", "Business"])),
                }
            )

    if draw(st.booleans()):  # a customer who never exists: their response and action do not count
        ghost_day = day()
        tables["nps_responses"].append(
            {"response_id": "g-n0", "customer_id": "ghost",
             "responded_at": stamp(draw, ghost_day), "score": "10"}
        )  # fmt: skip
        tables["retention_actions"].append(
            {"action_id": "g-a0", "customer_id": "ghost", "campaign": "call",
             "assigned_group": "treatment", "assigned_at": stamp(draw, ghost_day),
             "cost": "7.00"}
        )  # fmt: skip
    if draw(st.booleans()):
        months = sorted({day().replace(day=1) for _ in range(draw(st.integers(1, 6)))})
        for month in months:
            for channel in ("web", "ads"):
                if draw(st.booleans()):
                    tables["marketing_spend"].append(
                        {
                            "spend_month": month.isoformat(),
                            "acquisition_channel": channel,
                            "amount": cents(draw(st.integers(0, 500000))),
                            "currency": "EUR",
                        }
                    )
    return tables, params


# Hand-picked edge cases, run before the random ones.
GRACE_EDGES = {
    # One customer, three contracts with gaps of grace - 1, grace + 1 and grace uncovered days
    # (grace = 7): bridged, not bridged, bridged.
    "customers": [{"customer_id": "c1", "created_at": "2023-01-01 00:00:00",
                   "acquisition_channel": "web"},
                  {"customer_id": "c2", "created_at": "2023-01-01 00:00:00"}],
    "contracts": [
        {"contract_id": "k1", "customer_id": "c1", "product": "basic",
         "start_date": "2023-01-05", "end_date": "2023-03-31", "billing_period": "month",
         "price": "10.00", "currency": "EUR"},
        {"contract_id": "k2", "customer_id": "c1", "product": "basic",  # gap 6 days
         "start_date": "2023-04-07", "end_date": "2023-06-30", "billing_period": "quarter",
         "price": "45.00", "currency": "EUR"},
        {"contract_id": "k3", "customer_id": "c1", "product": "plus",  # gap 8 days
         "start_date": "2023-07-09", "end_date": "2023-09-30", "billing_period": "year",
         "price": "240.00", "currency": "EUR"},
        {"contract_id": "k4", "customer_id": "c1", "product": "plus",  # gap 7 days
         "start_date": "2023-10-08", "billing_period": "month", "price": "5.00",
         "currency": "EUR"},
        # c2: cancelled before its start (covers nothing), then one cancelled after end_date
        {"contract_id": "k5", "customer_id": "c2", "product": "basic",
         "start_date": "2023-02-01", "end_date": "2023-12-31", "billing_period": "month",
         "price": "20.00", "currency": "EUR"},
        {"contract_id": "k6", "customer_id": "c2", "product": "basic",
         "start_date": "2023-03-01", "end_date": "2023-05-31", "billing_period": "month",
         "price": "20.00", "currency": "EUR"},
        # signed after A: does not exist
        {"contract_id": "k7", "customer_id": "c2", "product": "plus",
         "signed_at": "2024-03-20 09:00:00", "start_date": "2024-03-01",
         "billing_period": "month", "price": "20.00", "currency": "EUR"},
    ],
    "cancellations": [
        {"cancellation_id": "x1", "contract_id": "k4", "requested_at": "2024-01-20 12:00:00",
         "effective_date": "2024-02-29", "final_offer_accepted": "true"},
        {"cancellation_id": "x2", "contract_id": "k5", "requested_at": "2023-01-10 12:00:00",
         "effective_date": "2023-01-25", "reason_code": "deceased"},
        {"cancellation_id": "x3", "contract_id": "k6", "requested_at": "2023-05-01 12:00:00",
         "effective_date": "2023-07-31", "reason_code": "price_too_high"},
        # requested after A (2024-03-14): does not exist yet, k4 runs on to A
        {"cancellation_id": "x4", "contract_id": "k4", "requested_at": "2024-03-20 12:00:00",
         "effective_date": "2024-03-01", "reason_code": "price_too_high"},
    ],
    "orders": [
        {"order_id": "o1", "customer_id": "c2", "ordered_at": "2023-03-31 23:30:00",
         "status": "completed", "amount": "10.00", "refunded_amount": "10.00",
         "currency": "EUR"},
        {"order_id": "o2", "customer_id": "c2", "ordered_at": "2023-04-30 23:30:00",
         "status": "refunded", "amount": "10.00", "refunded_amount": "10.00",
         "currency": "EUR"},
        {"order_id": "o3", "customer_id": "c1", "ordered_at": "2023-05-15 10:00:00",
         "status": "completed", "amount": "25.50", "currency": "EUR"},
        {"order_id": "o4", "customer_id": "c9", "ordered_at": "2023-06-15 10:00:00",
         "status": "completed", "amount": "12.00", "currency": "EUR"},  # c9 inferred
    ],
    "marketing_spend": [
        {"spend_month": "2023-06-01", "acquisition_channel": "web", "amount": "100.00",
         "currency": "EUR"},
    ],
}  # fmt: skip
GRACE_EDGES_PARAMS = Params(
    as_of_date=D("2024-03-14"),
    reporting_timezone="Asia/Tokyo",
    order_inactivity_days=30,
    contract_grace_days=7,
)


def examples_wanted() -> int:
    return int(os.environ.get("REFERENCE_EXAMPLES", "2"))


@pytest.fixture(scope="module")
def dbt_dir():
    with tempfile.TemporaryDirectory(prefix="reference_dbt_") as folder:
        yield Path(folder)


@settings(
    max_examples=examples_wanted(),
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: every step is a dbt build
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=data_sets())
@example(case=(GRACE_EDGES, GRACE_EDGES_PARAMS))
@example(case=(CASE_ONE, CASE_ONE_PARAMS))
@example(case=(CASE_TWO, Params(as_of_date=D("2024-03-31"), order_inactivity_days=30)))
def test_marts_equal_the_reference(case, dbt_dir):
    tables, params = case
    with tempfile.TemporaryDirectory(prefix="reference_case_") as folder:
        work = Path(folder)
        raw_dir = work / "raw"
        write_raw(raw_dir, tables)
        expected = compute_dir(raw_dir, params)
        db, build_errors = dbt_build(raw_dir, params, work, dbt_dir)
        found = differences(expected, read_marts(db))
        if build_errors or found:
            kept = keep_failure(raw_dir, params, build_errors, found)
            pytest.fail(
                f"marts differ from the reference (raw data and full report in {kept}); "
                f"params {params}\n{build_errors}\n" + "\n".join(found[:60]),
                pytrace=False,
            )


def keep_failure(raw_dir: Path, params: Params, build_errors: str, found: list[str]) -> Path:
    root = Path(os.environ.get("REFERENCE_FAILURES_DIR", "/tmp/reference_failures"))
    root.mkdir(parents=True, exist_ok=True)
    kept = Path(tempfile.mkdtemp(prefix="case_", dir=root))
    shutil.copytree(raw_dir, kept / "raw")
    (kept / "params.json").write_text(json.dumps(params.dbt_vars(), indent=2) + "\n")
    (kept / "report.txt").write_text(build_errors + "\n" + "\n".join(found) + "\n")
    return kept


def test_reference_reads_back_what_the_test_writes(tmp_path):
    """The CSV round trip the property test relies on: written tables read back unchanged
    (None <-> empty field), so the reference and the warehouse see the same rows."""
    write_raw(tmp_path, CASE_ONE)
    raw = read_raw_dir(tmp_path)
    assert raw["orders"][0]["refunded_amount"] == "20.00"
    assert raw["orders"][1]["refunded_amount"] is None
    assert compute(raw, CASE_ONE_PARAMS) == compute(CASE_ONE, CASE_ONE_PARAMS)


def test_reference_reproduces_the_hand_computed_operations_scenario():
    """The retention operations part of the reference against the hand-computed values of the
    fixture scenario 13_retention_operations (scenario.yml, arithmetic beside each value), so
    the reference is itself checked before it checks the marts."""
    folder = ROOT / "python_checks" / "fixtures" / "13_retention_operations"
    spec = load_scenario(folder)
    params = Params(
        as_of_date=D(spec.vars["as_of_date"]),
        order_inactivity_days=spec.vars["order_inactivity_days"],
        programme_horizon_days=spec.vars["programme_horizon_days"],
        gross_margin=str(spec.vars.get("gross_margin", Params.gross_margin)),
    )
    marts = compute_dir(folder / "raw", params)
    problems = []
    for mart, entries in spec.expected.items():
        if mart == "row_counts":
            for entry in entries:
                rows = marts[entry["model"]]
                if "where" in entry:  # only "<column> = '<text>'" is used there
                    column, text = (part.strip() for part in entry["where"].split("="))
                    rows = [r for r in rows if r[column] == text.strip("'")]
                if len(rows) != entry["count"]:
                    problems.append(f"{entry}: {len(rows)} rows")
            continue
        for entry in entries:
            found = [
                r
                for r in marts[mart]
                if all(
                    (r[k].isoformat() if isinstance(r[k], dt.date) else r[k]) == v
                    for k, v in entry["match"].items()
                )
            ]
            if len(found) != 1:
                problems.append(f"{mart} {entry['match']}: {len(found)} rows")
                continue
            for column, want in entry["values"].items():
                got = found[0][column]
                if isinstance(got, dt.date):
                    got = got.isoformat()
                if not same(want, got):
                    problems.append(f"{mart} {entry['match']} {column}: {got!r}, expected {want!r}")
    assert not problems, "\n".join(problems)
