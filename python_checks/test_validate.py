"""`retention validate`: the GE suites pass on correct marts and name what is wrong otherwise.

No dbt here: each test writes hand-made mart tables into a tiny DuckDB file. The world is two
customers, reporting date A = 2024-03-31, the periods January–March 2024, Q1 2024 and 2024:

- c1 buys on the order basis: 19.90 on 2024-01-10 and 30.10 on 2024-02-05 (26 days later),
  so it is active on the order basis from 2024-01-10 on (365-day window) and never churns.
- c2 holds one monthly contract at 10.00 from 2024-01-01, cancelled (reason `price`, a push
  reason) with effective date 2024-02-29: contract-active in January and February, churned in
  March (churn date 2024-03-01). The cancellation was requested on 2024-02-10, without a final
  offer. There are no NPS responses, no retention actions and no contract with an end date,
  so mart_nps, mart_retention_programmes and mart_contract_renewals are empty (allowed).

Every number below is worked out from those facts and the metric definitions; the arithmetic is
written beside it, and the marts agree with each other (the identities across marts hold).
Each failing scenario changes one or two values of the correct world.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from pathlib import Path

import duckdb
import pytest

import retention.validate as validate_module
from retention import consistency
from retention import marts as published
from retention.cli import main
from retention.marts import MAY_BE_EMPTY

D = dt.date
JAN, FEB, MAR = D(2024, 1, 1), D(2024, 2, 1), D(2024, 3, 1)
# Recognised contract revenue of c2: MRR × 12 / 365 per covered day (the metric definitions).
REC_JAN = round(31 * 10 * 12 / 365, 2)  # 31 covered days -> 10.19
REC_FEB = round(29 * 10 * 12 / 365, 2)  # 29 covered days (leap year) -> 9.53
REC_ALL = REC_JAN + REC_FEB  # 19.72
REC_EXACT = 60 * 10 * 12 / 365  # the same, unrounded: 19.7260...
# mart_lock_in: (grain, period start, products at start) -> customers_start, churned, rate.
LOCK_IN = {("month", D(2024, 2, 1), "1"): (1, 0, 0.0), ("month", D(2024, 3, 1), "1"): (1, 1, 1.0)}

# mart -> (columns with DuckDB types, rows as tuples in column order): every mart of
# retention/marts.py MARTS, each with correct rows for the world above.
MARTS: dict[str, tuple[str, list[tuple]]] = {
    "dim_customers": (
        "customer_id varchar, is_inferred boolean, created_at timestamp, created_date date,"
        " acquisition_channel varchar, country varchar, segment varchar,"
        " first_purchase_date date, last_purchase_date date, purchases integer,"
        " lifetime_net_revenue decimal(18,2), average_order_value decimal(18,2),"
        " is_repeat_customer boolean, order_cohort_month date, contract_cohort_month date,"
        " order_status varchar, contract_status varchar, order_last_churn_date date,"
        " contract_last_churn_date date, contract_last_churn_type varchar,"
        " order_reactivation_count integer, contract_reactivation_count integer,"
        " current_mrr decimal(18,2), active_products varchar,"
        " lifetime_contract_revenue decimal(18,2)",
        [
            # c1: 2 purchases, 19.90 + 30.10 = 50.00, AOV 50.00 / 2 = 25.00, still active.
            ("c1", False, dt.datetime(2024, 1, 10, 9), D(2024, 1, 10), "organic", "NL", None,
             D(2024, 1, 10), D(2024, 2, 5), 2, 50.00, 25.00, True, JAN, None,
             "active", "never_active", None, None, None, 0, 0, 0.00, None, 0.00),
            # c2: no purchases; contract churned on 2024-03-01 (push), revenue 10.19 + 9.53.
            ("c2", False, dt.datetime(2024, 1, 1), D(2024, 1, 1), "organic", "DE", None,
             None, None, 0, 0.00, None, False, None, JAN,
             "never_active", "churned", None, MAR, "push", 0, 0, 0.00, None, REC_ALL),
        ],
    ),
    "fct_customer_months": (
        "customer_id varchar, month_start date, month_end_date date, is_complete_month boolean,"
        " purchases integer, net_revenue decimal(18,2), order_is_active_start boolean,"
        " order_is_active_end boolean, order_lifecycle varchar,"
        " contract_is_active_start boolean, contract_is_active_end boolean,"
        " contract_lifecycle varchar, mrr_start decimal(18,2), mrr_end decimal(18,2),"
        " mrr_movement varchar, new_mrr decimal(18,2), reactivation_mrr decimal(18,2),"
        " expansion_mrr decimal(18,2), contraction_mrr decimal(18,2),"
        " churned_mrr decimal(18,2), recognised_contract_revenue decimal(18,2)",
        [
            ("c1", JAN, D(2024, 1, 31), True, 1, 19.90, False, True, "new",
             False, False, "inactive", 0, 0, "unchanged", 0, 0, 0, 0, 0, 0),
            ("c1", FEB, D(2024, 2, 29), True, 1, 30.10, True, True, "retained",
             False, False, "inactive", 0, 0, "unchanged", 0, 0, 0, 0, 0, 0),
            ("c1", MAR, D(2024, 3, 31), True, 0, 0.00, True, True, "retained",
             False, False, "inactive", 0, 0, "unchanged", 0, 0, 0, 0, 0, 0),
            # c2: 0 + new 10 = 10; 10 unchanged; 10 − churned 10 = 0.
            ("c2", JAN, D(2024, 1, 31), True, 0, 0.00, False, False, "inactive",
             False, True, "new", 0, 10, "new", 10, 0, 0, 0, 0, REC_JAN),
            ("c2", FEB, D(2024, 2, 29), True, 0, 0.00, False, False, "inactive",
             True, True, "retained", 10, 10, "unchanged", 0, 0, 0, 0, 0, REC_FEB),
            ("c2", MAR, D(2024, 3, 31), True, 0, 0.00, False, False, "inactive",
             True, False, "churned", 10, 0, "churned", 0, 0, 0, 0, 10, 0),
        ],
    ),
    "fct_periods": (
        "basis varchar, period_grain varchar, period_start date, period_end date,"
        " is_complete_period boolean, customers_start integer, customers_end integer,"
        " retained integer, churned integer, new integer, reactivated integer,"
        " transient integer, churn_rate double, retention_rate double, purchases integer,"
        " purchasing_customers integer, returning_customers integer,"
        " net_revenue decimal(18,2), mrr_start decimal(18,2), mrr_end decimal(18,2),"
        " new_mrr decimal(18,2), reactivation_mrr decimal(18,2), expansion_mrr decimal(18,2),"
        " contraction_mrr decimal(18,2), churned_mrr decimal(18,2),"
        " gross_retained_mrr decimal(18,2), net_retained_mrr decimal(18,2),"
        " gross_revenue_retention double, net_revenue_retention double,"
        " recognised_contract_revenue decimal(18,2)",
        [
            # order basis (c1): Jan 0 -> 1 new (rates null: customers_start 0);
            # Feb 1 -> 1 retained (churn 0/1 = 0, retention 1/1 = 1); Mar the same.
            ("order", "month", JAN, D(2024, 1, 31), True, 0, 1, 0, 0, 1, 0, 0, None, None,
             1, 1, 0, 19.90, *[None] * 12),
            ("order", "month", FEB, D(2024, 2, 29), True, 1, 1, 1, 0, 0, 0, 0, 0.0, 1.0,
             1, 1, 1, 30.10, *[None] * 12),
            ("order", "month", MAR, D(2024, 3, 31), True, 1, 1, 1, 0, 0, 0, 0, 0.0, 1.0,
             0, 0, 0, 0.00, *[None] * 12),
            # contract basis (c2): Jan new (MRR 0 + 10 = 10; GRR/NRR null: mrr_start 0);
            # Feb retained (gross = net = 10 − 0 − 0 = 10, GRR = NRR = 10/10 = 1);
            # Mar churned: 1 − 1 + 0 + 0 = 0 customers, churn 1/1 = 1, MRR 10 − 10 = 0,
            # gross = net = 10 − 0 − 10 = 0, GRR = NRR = 0/10 = 0.
            ("contract", "month", JAN, D(2024, 1, 31), True, 0, 1, 0, 0, 1, 0, 0, None, None,
             None, None, None, None, 0, 10, 10, 0, 0, 0, 0, 0, 0, None, None, REC_JAN),
            ("contract", "month", FEB, D(2024, 2, 29), True, 1, 1, 1, 0, 0, 0, 0, 0.0, 1.0,
             None, None, None, None, 10, 10, 0, 0, 0, 0, 0, 10, 10, 1.0, 1.0, REC_FEB),
            ("contract", "month", MAR, D(2024, 3, 31), True, 1, 0, 0, 1, 0, 0, 0, 1.0, 0.0,
             None, None, None, None, 10, 0, 0, 0, 0, 0, 10, 0, 0, 0.0, 0.0, 0),
            # Q1 and the year 2024 (not complete on A): start state 2023-12-31, end state A.
            # Order: c1 inactive -> active, new; purchases 1 + 1 = 2, 19.90 + 30.10 = 50.00,
            # none before 2024-01-01 (returning 0). Contract: c2 inactive -> inactive but
            # active within: transient; MRR 0 -> 0; recognised 10.19 + 9.53 = 19.72.
            *(
                row
                for end, complete in [(D(2024, 3, 31), True), (D(2024, 12, 31), False)]
                for row in [
                    ("order", "quarter" if complete else "year", JAN, end, complete, 0, 1, 0,
                     0, 1, 0, 0, None, None, 2, 1, 0, 50.00, *[None] * 12),
                    ("contract", "quarter" if complete else "year", JAN, end, complete, 0, 0,
                     0, 0, 0, 0, 1, None, None, None, None, None, None, *[0] * 9, None, None,
                     REC_ALL),
                ]
            ),
        ],
    ),
    "fct_cohorts": (
        "basis varchar, cohort_month date, months_since_cohort integer, activity_month date,"
        " cohort_size integer, active_customers integer, retention_rate double,"
        " revenue decimal(18,2), cumulative_revenue decimal(18,2),"
        " cumulative_revenue_per_customer decimal(18,2), is_complete boolean",
        [
            # order cohort 2024-01 = {c1}: purchases in Jan and Feb, none in March;
            # cumulative 19.90, 19.90 + 30.10 = 50.00, 50.00.
            ("order", JAN, 0, JAN, 1, 1, 1.0, 19.90, 19.90, 19.90, True),
            ("order", JAN, 1, FEB, 1, 1, 1.0, 30.10, 50.00, 50.00, True),
            ("order", JAN, 2, MAR, 1, 0, 0.0, 0.00, 50.00, 50.00, True),
            # contract cohort 2024-01 = {c2}: active on 01-31 and 02-29, not on 03-31.
            ("contract", JAN, 0, JAN, 1, 1, 1.0, REC_JAN, REC_JAN, REC_JAN, True),
            ("contract", JAN, 1, FEB, 1, 1, 1.0, REC_FEB, REC_ALL, REC_ALL, True),
            ("contract", JAN, 2, MAR, 1, 0, 0.0, 0.00, REC_ALL, REC_ALL, True),
        ],
    ),
    "mart_repeat_purchase": (
        "first_purchase_month date, customers integer, repeat_customers integer,"
        " repeat_purchase_rate double, median_days_to_second_purchase double,"
        " eligible_30 integer, repeat_within_30 integer, repeat_rate_30 double,"
        " eligible_90 integer, repeat_within_90 integer, repeat_rate_90 double,"
        " eligible_180 integer, repeat_within_180 integer, repeat_rate_180 double,"
        " eligible_365 integer, repeat_within_365 integer, repeat_rate_365 double",
        [
            # c1: second purchase 26 days after the first (2024-02-05 − 2024-01-10).
            # Eligible for W when the first purchase is on or before A − W:
            # A − 30 = 2024-03-01 (yes, 26 ≤ 30: repeat); A − 90 = 2024-01-01 (no), so
            # 90, 180 and 365 have no eligible customer and a null rate.
            (JAN, 1, 1, 1.0, 26.0, 1, 1, 1.0, 0, 0, None, 0, 0, None, 0, 0, None),
        ],
    ),
    "mart_clv": (
        "segment_type varchar, segment_value varchar, customers integer, purchases integer,"
        " net_revenue decimal(18,2), purchasing_customers integer,"
        " average_order_value double, purchase_frequency double,"
        " order_active_start_customers integer, order_churned_customers integer,"
        " annual_churn_rate double, expected_lifespan_years double, clv double,"
        " contract_active_customers integer, mrr decimal(18,2), arpa_monthly double,"
        " contract_active_start_customers integer, contract_churned_customers integer,"
        " annual_contract_churn_rate double, monthly_churn_rate double, contract_clv double,"
        " marketing_spend decimal(18,2), acquired_customers integer, cac double,"
        " ltv_to_cac double",
        [
            # Y = [2023-04-02, 2024-03-31]: 2 purchases, 50.00, 1 purchasing customer,
            # AOV 50.00 / 2 = 25.00, frequency 2 / 1 = 2. Nobody active on A − 365
            # (2023-04-01) on either basis: churn rates, lifespans and CLVs are null.
            # Nobody contract-active on A. No marketing spend: CAC null.
            (segment_type, segment_value, 2, 2, 50.00, 1, 25.0, 2.0, 0, 0, None, None,
             None, 0, 0.00, None, 0, 0, None, None, None, None, 2, None, None)
            for segment_type, segment_value in [
                ("all", "all"),
                ("acquisition_channel", "organic"),
                ("cohort_year", "2024"),
            ]
        ],
    ),
    "mart_churn": (
        "basis varchar, period_grain varchar, period_start date, churn_type varchar,"
        " reason_code varchar, is_retainable boolean, churned_customers integer,"
        " churned_mrr decimal(18,2), period_churned_customers integer, share_of_churn double",
        [
            # c2 churned in March 2024 (contract basis), reason `price` (push): 1 / 1 = 1.
            ("contract", "month", MAR, "push", "price", True, 1, 10.00, 1, 1.0),
        ],
    ),
    "mart_cancellation_saves": (
        "period_grain varchar, period_start date, churn_type varchar, reason_code varchar,"
        " is_retainable boolean, cancellation_requests bigint, final_offers_made bigint,"
        " saves bigint, offer_rate double, save_rate double, saved_mrr double,"
        " eligible_saves_90d bigint, saves_active_90d bigint, save_durability_90d double",
        [
            # c2's request of 2024-02-10: no offer (0 / 1), no save (save_rate 0 / 0 null),
            # requested after A − 90 = 2024-01-01: not eligible for durability.
            (grain, start, "push", "price", True, 1, 0, 0, 0.0, None, 0.0, 0, 0, None)
            for grain, start in [("month", FEB), ("quarter", JAN), ("year", JAN)]
        ],
    ),
    "mart_winback": (
        "basis varchar, churn_month date, churn_type varchar, churn_events bigint,"
        " won_back bigint, winback_rate double, median_days_to_return double,"
        " won_back_mrr double, eligible_30 bigint, won_back_within_30 bigint,"
        " winback_rate_30 double, eligible_90 bigint, won_back_within_90 bigint,"
        " winback_rate_90 double, eligible_180 bigint, won_back_within_180 bigint,"
        " winback_rate_180 double, eligible_365 bigint, won_back_within_365 bigint,"
        " winback_rate_365 double",
        [
            # c2 churned 2024-03-01 (push), not back: 0 / 1; won_back_mrr 0. Only W = 30 is
            # eligible (2024-03-01 <= A - 30 = 2024-03-01).
            ("contract", MAR, "push", 1, 0, 0.0, None, 0.0, 1, 0, 0.0, 0, 0, None,
             0, 0, None, 0, 0, None),
        ],
    ),
    "mart_nps": (
        "period_grain varchar, period_start date, segment_type varchar, segment_value varchar,"
        " responses bigint, promoters bigint, passives bigint, detractors bigint, nps double",
        [],
    ),
    "mart_nps_churn": (
        "basis varchar, nps_class varchar, responses_active bigint,"
        " churned_within_180d bigint, churn_rate_180d double",
        # No responses: every basis x class row with counts 0 and a null rate.
        [(basis, nps_class, 0, 0, None)
         for basis in ("order", "contract") for nps_class in ("promoter", "passive", "detractor")],
    ),
    "mart_retention_programmes": (
        "campaign varchar, basis varchar, treatment_customers bigint,"
        " treatment_retained bigint, treatment_retention_rate double, treatment_revenue double,"
        " treatment_revenue_per_customer double, control_customers bigint,"
        " control_retained bigint, control_retention_rate double, control_revenue double,"
        " control_revenue_per_customer double, uplift double, uplift_ci_low double,"
        " uplift_ci_high double, is_significant boolean,"
        " incremental_customers_retained double, incremental_revenue double,"
        " programme_cost double, cost_per_incremental_customer double, return_on_cost double",
        [],
    ),
    "mart_contract_renewals": (
        "product varchar, billing_period varchar, term_end_month date, terms_ending bigint,"
        " renewed bigint, renewal_rate double, renewals_signed bigint,"
        " median_renewal_lead_days double",
        [],
    ),
    "mart_lock_in": (
        "period_grain varchar, period_start date, products_at_start varchar,"
        " customers_start bigint, churned bigint, churn_rate double",
        # Contract periods January-March, Q1, 2024, each with the four buckets. c2 has one
        # product on 31 January (start of February: still active on 29 February) and on
        # 29 February (start of March: churned by 31 March).
        [
            (grain, start, bucket, *LOCK_IN.get((grain, start, bucket), (0, 0, None)))
            for grain, start in [("month", JAN), ("month", FEB), ("month", MAR),
                                 ("quarter", JAN), ("year", JAN)]
            for bucket in ("0", "1", "2", "3+")
        ],
    ),
    "mart_revenue_concentration": (
        "revenue_decile bigint, customers bigint, revenue double, cumulative_revenue double,"
        " total_revenue double, revenue_share double, cumulative_revenue_share double",
        # Y = [2023-04-02, 2024-03-31]: c1 19.90 + 30.10 = 50; c2 60 covered days x 120 / 365
        # (unrounded). Two customers: deciles 1 and 2.
        [
            (1, 1, 50.0, 50.0, 50.0 + REC_EXACT, 50.0 / (50.0 + REC_EXACT),
             50.0 / (50.0 + REC_EXACT)),
            (2, 1, REC_EXACT, 50.0 + REC_EXACT, 50.0 + REC_EXACT,
             REC_EXACT / (50.0 + REC_EXACT), 1.0),
        ],
    ),
}  # fmt: skip

# Column names from the DDL (commas inside "decimal(18,2)" do not separate columns).
COLUMN_NAMES = {
    mart: [c.split()[0] for c in re.split(r",(?![^(]*\))", ddl)] for mart, (ddl, _) in MARTS.items()
}


# The vars the marts were built with, as the build keeps them (int_reporting_params): the
# defaults. The world above uses only the margin, in PROGRAMME below.
DEFAULT_BUILD_VARS = {"gross_margin": 1.0, "clv_max_lifespan_years": 10.0}


def build(
    db: Path,
    changes: dict[tuple[str, int, str], object] | None = None,
    drop_tables: tuple[str, ...] = (),
    drop_columns: dict[str, str] | None = None,
    extra_rows: dict[str, list[tuple]] | None = None,
    build_vars: dict[str, float] | None = DEFAULT_BUILD_VARS,
) -> Path:
    """Write the marts to ``db``; ``changes[(mart, row index, column)] = new value``; the
    vars of the build in intermediate.int_reporting_params (None: a warehouse built before
    the build kept them, without the columns)."""
    changes = changes or {}
    with duckdb.connect(str(db)) as con:
        con.execute("create schema intermediate")
        con.execute(
            "create table intermediate.int_reporting_params as"
            " select date '2024-03-31' as as_of_date"
        )
        for name, value in (build_vars or {}).items():
            con.execute(f"alter table intermediate.int_reporting_params add column {name} double")
            con.execute(f"update intermediate.int_reporting_params set {name} = ?", [value])
        con.execute("create schema marts")
        for mart, (ddl, rows) in MARTS.items():
            if mart in drop_tables:
                continue
            names = COLUMN_NAMES[mart]
            rows = [list(r) for r in rows] + [list(r) for r in (extra_rows or {}).get(mart, [])]
            for (m, i, column), value in changes.items():
                if m == mart:
                    rows[i][names.index(column)] = value
            con.execute(f"create table marts.{mart} ({ddl})")
            marks = ", ".join("?" * len(names))
            if rows:
                con.executemany(f"insert into marts.{mart} values ({marks})", rows)
            if drop_columns and mart in drop_columns:
                con.execute(f"alter table marts.{mart} drop column {drop_columns[mart]}")
    return db


def validate(db: Path, capsys, *marts: str) -> tuple[int, str]:
    """Run `retention validate` on ``db`` (only ``marts`` when given: GE takes ~30 ms an
    expectation, so the single-defect scenarios validate just the mart they break)."""
    code = main(["validate", "--db", str(db), *(f"--mart={m}" for m in marts)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def mart_line(output: str, mart: str) -> str:
    return next(line for line in output.splitlines() if f" {mart}: " in line)


def test_every_published_mart_has_hand_made_rows_here():
    # A new mart (retention/marts.py) needs its table and correct rows in MARTS above.
    missing = sorted(set(published.MARTS) - set(MARTS))
    assert not missing, f"marts of retention/marts.py without their rows in MARTS here: {missing}"
    assert sorted(MARTS) == sorted(published.MARTS), "MARTS here holds a mart marts.py lacks"


def test_a_mart_without_hand_made_rows_is_named(monkeypatch):
    monkeypatch.setattr(published, "MARTS", (*published.MARTS, "mart_referrals"))
    with pytest.raises(AssertionError, match=r"without their rows in MARTS here: \['mart_ref"):
        test_every_published_mart_has_hand_made_rows_here()


def test_every_published_mart_has_a_suite_and_every_identity_its_residual():
    # A mart without a suite made `retention validate` stop with KeyError: 'mart_<name>'; an
    # identity without its check__ residual in DERIVED failed on the demo build as a column
    # that "does not exist", as if the mart were wrong.
    from retention import expectations, identities

    no_suite = [mart for mart in published.MARTS if mart not in expectations.SUITES]
    assert not no_suite, (
        f"marts without a validate suite: {no_suite}; add one to SUITES in "
        "retention/expectations.py (an operations mart: its entry in OPERATIONS)"
    )
    underived = {}
    for mart in published.MARTS:
        with warnings.catch_warnings():  # GE's deprecations, as retention.validate hides them
            warnings.simplefilter("ignore")
            suite = expectations.SUITES[mart]()
        residuals = {
            e.column
            for e in suite.expectations
            if (getattr(e, "column", None) or "").startswith("check__")
        }
        if missing := sorted(residuals - set(identities.derivations(mart))):
            underived[mart] = missing
    assert not underived, (
        f"identities without their residual in DERIVED (retention/identities.py): {underived}"
    )


def test_the_scratch_space_takes_a_temporary_folder_whose_path_has_a_quote(tmp_path, monkeypatch):
    # The spill folder went into `set temp_directory = '<folder>'` as it was: with TMPDIR
    # under a folder named like `Bob's files`, every validate stopped on a parser error.
    import tempfile

    quoted = tmp_path / "Bob's files"
    quoted.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(quoted))
    with duckdb.connect() as con, validate_module.scratch_space(con) as folder:
        assert folder.parent == quoted
        setting = con.execute("select current_setting('temp_directory')").fetchone()
        assert setting == (str(folder),)


def test_correct_marts_pass(tmp_path, capsys):
    code, out = validate(build(tmp_path / "w.duckdb"), capsys)
    assert code == 0, out
    for mart in MARTS:
        assert mart_line(out, mart).startswith("ok"), out
    assert f"all marts pass ({len(MARTS)}/{len(MARTS)} marts" in out
    # The hand-made marts agree with each other: every identity across marts holds.
    measures = sum(len(identity.measures) for identity in consistency.IDENTITIES)
    assert mart_line(out, "across marts").startswith("ok"), out
    assert f"{measures}/{measures} identities across marts" in out
    assert "failed:" not in out
    assert "not checked" not in out  # the warehouse records the vars of its build
    assert "Calculating Metrics" not in out  # GE progress bars are silenced


@pytest.mark.parametrize("state", ["loaded", "failed", "building", "built"])
def test_marts_that_pass_on_a_warehouse_not_as_built_pass_with_a_warning(tmp_path, capsys, state):
    # A load after the last build, or a dbt build that failed or was killed, leaves marts
    # that are not the data's; validate said "all marts pass" without a word (summary warns).
    db = build(tmp_path / "w.duckdb")
    with duckdb.connect(str(db)) as con:
        con.execute("create schema if not exists meta")
        con.execute("create or replace table meta.build_state as select ? as state", [state])
    code, out = validate(db, capsys, "fct_periods")
    assert code == 0, out
    warning = f"warning: {db} is not as built (meta.build_state: {state}): "
    assert (warning in out) == (state != "built"), out


def test_broken_customer_identity_fails_and_is_named(tmp_path, capsys):
    # Contract basis, March: 1 − 1 + 0 + 0 = 0 customers at the end; claim 1 instead.
    db = build(tmp_path / "w.duckdb", {("fct_periods", 5, "customers_end"): 1})
    code, out = validate(db, capsys)
    assert code == 1, out
    assert mart_line(out, "fct_periods").startswith("FAIL"), out
    assert "customers_end = customers_start − churned + new + reactivated" in out
    # The failing row is named by its key, with the residual 1 − (1 − 1 + 0 + 0) = 1.
    assert "check__customers_identity=1.0, basis=contract, period_grain=month" in out
    assert "1 mart(s) fail" in out
    for mart in set(MARTS) - {"fct_periods"}:
        assert mart_line(out, mart).startswith("ok"), out


def test_rate_above_one_fails_and_is_named(tmp_path, capsys):
    db = build(tmp_path / "w.duckdb", {("fct_cohorts", 1, "retention_rate"): 1.2})
    code, out = validate(db, capsys, "fct_cohorts")
    assert code == 1, out
    assert mart_line(out, "fct_cohorts").startswith("FAIL"), out
    assert "expect_column_values_to_be_between(column=retention_rate, min_value=0" in out
    assert "retention_rate=1.2" in out
    # 1.2 is also not active_customers / cohort_size = 1 / 1: residual 0.2.
    assert "retention_rate = active_customers / cohort_size" in out


def test_broken_mrr_identity_fails(tmp_path, capsys):
    # c2, March: mrr_end 0 = 10 − churned 10; a churned_mrr of 9.99 leaves 0.01 unexplained.
    db = build(tmp_path / "w.duckdb", {("fct_customer_months", 5, "churned_mrr"): 9.99})
    code, out = validate(db, capsys, "fct_customer_months")
    assert code == 1, out
    assert mart_line(out, "fct_customer_months").startswith("FAIL"), out
    assert "mrr_end = mrr_start + new_mrr + reactivation_mrr + expansion_mrr" in out


def test_null_mrr_in_customer_months_fails(tmp_path, capsys):
    # c2, March: mrr_end 0 and churned_mrr 10 nulled. The view fills every column, and a null
    # term made the MRR identity's residual null, which the identity skipped: it passed.
    db = build(
        tmp_path / "w.duckdb",
        {
            ("fct_customer_months", 5, "mrr_end"): None,
            ("fct_customer_months", 5, "churned_mrr"): None,
        },
    )
    code, out = validate(db, capsys, "fct_customer_months")
    assert code == 1, out
    assert "2 failed" in mart_line(out, "fct_customer_months"), out
    for column in ("mrr_end", "churned_mrr"):
        assert f"expect_column_values_to_not_be_null(column={column})" in out
    assert "1 of 6 rows unexpected, e.g. mrr_end=nan, customer_id=c2, month_start=2024-03-01" in out


def test_every_rate_and_average_beside_its_parts_is_checked_against_them(tmp_path, capsys):
    # One value per mart off its definition; each passed, being in range (or unbounded).
    off = {
        # contract, February: GRR = gross_retained_mrr / mrr_start = 10 / 10 = 1; NRR alike.
        ("fct_periods", 4, "gross_revenue_retention"): (
            0.5,
            "gross_revenue_retention = gross_retained_mrr / mrr_start",
        ),
        ("fct_periods", 4, "net_revenue_retention"): (
            2.0,
            "net_revenue_retention = net_retained_mrr / mrr_start",
        ),
        # order cohort, month 1: 50.00 / 1 customer = 50.00.
        ("fct_cohorts", 1, "cumulative_revenue_per_customer"): (
            25.0,
            "cumulative_revenue_per_customer = cumulative_revenue / cohort_size",
        ),
        # c1: 50.00 / 2 purchases = 25.00.
        ("dim_customers", 0, "average_order_value"): (
            30.0,
            "average_order_value = lifetime_net_revenue / purchases",
        ),
        # repeat_within_30 / eligible_30 = 1 / 1 = 1.
        ("mart_repeat_purchase", 0, "repeat_rate_30"): (
            0.5,
            "repeat_rate_30 = repeat_within_30 / eligible_30",
        ),
        # won_back_within_30 / eligible_30 = 0 / 1 = 0.
        ("mart_winback", 0, "winback_rate_30"): (
            0.5,
            "winback_rate_30 = won_back_within_30 / eligible_30",
        ),
        # segment all: 50.00 / 2 purchases = 25; 2 purchases / 1 purchasing customer = 2.
        ("mart_clv", 0, "average_order_value"): (
            30.0,
            "average_order_value = net_revenue / purchases",
        ),
        ("mart_clv", 0, "purchase_frequency"): (
            3.0,
            "purchase_frequency = purchases / purchasing_customers",
        ),
    }
    db = build(tmp_path / "w.duckdb", {cell: value for cell, (value, _) in off.items()})
    marts = {mart for mart, _, _ in off}
    code, out = validate(db, capsys, *marts)
    assert code == 1, out
    for mart in marts:
        failed = sum(1 for m, _, _ in off if m == mart)
        assert f"{failed} failed" in mart_line(out, mart), out
    for _, text in off.values():
        assert text in out


# A stand-alone mart_retention_programmes row (the world above has no retention actions):
# 2 of 4 retained in each group, revenue 40.00 and 20.00, cost 8.00, gross_margin 1 (the var's
# default). Rates 2 / 4 = 0.5 each, uplift 0.5 − 0.5 = 0; revenue per customer 40 / 4 = 10
# and 20 / 4 = 5. Wilson interval of 2 of 4 (z² = 3.841459): centre 0.5, half-width
# z·√(0.25 / 4 + z² / 64) / (1 + z² / 4) = 1.959964 × √0.122523 / 1.960365 = 0.349961;
# Newcombe: 0 ∓ √(0.349961² + 0.349961²) = ∓0.494920, which holds 0: not significant.
# Incremental customers 0 × 4 = 0 (so no cost per incremental customer), incremental revenue
# (10 − 5) × 4 = 20, return on cost (20 × 1 − 8) / 8 = 1.5.
PROGRAMME = (
    "newsletter", "order", 4, 2, 0.5, 40.0, 10.0, 4, 2, 0.5, 20.0, 5.0, 0.0, -0.494920,
    0.494920, False, 0.0, 20.0, 8.0, None, 1.5,
)  # fmt: skip


def test_programme_effects_are_checked_against_their_definitions(tmp_path, capsys):
    # The same row on the contract basis, with is_significant claimed, the incremental
    # revenue doubled and the uplift dropped: each passed (the uplift's identity, and the
    # incremental customers' that uses it, skipped a null uplift). The return on cost kept
    # beside the doubled revenue is off it too: (40 × 1 − 8) / 8 = 4, not 1.5.
    wrong = list(PROGRAMME)
    names = COLUMN_NAMES["mart_retention_programmes"]
    for column, value in [
        ("basis", "contract"), ("is_significant", True), ("incremental_revenue", 40.0),
        ("uplift", None),
    ]:  # fmt: skip
        wrong[names.index(column)] = value
    db = build(
        tmp_path / "w.duckdb", extra_rows={"mart_retention_programmes": [PROGRAMME, tuple(wrong)]}
    )
    code, out = validate(db, capsys, "mart_retention_programmes")
    assert code == 1, out
    assert "5 failed" in mart_line(out, "mart_retention_programmes"), out
    for check, residual in [
        ("is_significant", "1.0"),  # claimed 1, the interval gives 0
        ("incremental_revenue", "0.5"),  # (40 − 20) / 40, relative to the value
        ("uplift", "inf"),  # null where both rates are set
        ("incremental_customers", "inf"),  # set (0) where the null uplift gives none
        ("return_on_cost", "-1.66666"),  # (1.5 − 4) / 1.5, relative to the value
    ]:
        assert f"1 of 2 rows unexpected, e.g. check__{check}_formula={residual}" in out, out
    assert out.count("campaign=newsletter, basis=contract") == 5, out


# The CLV formulas that use vars, on every mart_clv row (all, organic, 2024: the segments
# then still add up), in a build with gross_margin 0.5 and clv_max_lifespan_years 1.4:
# order basis: 2 active on A − 365, 1 churned → 1 / 2 = 0.5; lifespan min(1 / 0.5 = 2, 1.4)
# = 1.4 (the cap binds); clv 25 (AOV) × 2 (frequency) × 1.4 × 0.5 = 35. Contract basis: 1
# contract-active on A at 10.00 → ARPA 10; 2 active on A − 365, 1 churned → 0.5; monthly
# 1 − 0.5^(1/12) = 0.05612568731830647; uncapped 10 × 0.5 / 0.05612568731830647 =
# 89.0857687255289, cap 10 × 12 × 1.4 × 0.5 = 84 → contract_clv 84 (the cap binds).
CLV_BUILD_VARS = {"gross_margin": 0.5, "clv_max_lifespan_years": 1.4}
CLV = {
    "order_active_start_customers": 2, "order_churned_customers": 1, "annual_churn_rate": 0.5,
    "expected_lifespan_years": 1.4, "clv": 35.0, "contract_active_customers": 1,
    "mrr": 10.00, "arpa_monthly": 10.0, "contract_active_start_customers": 2,
    "contract_churned_customers": 1, "annual_contract_churn_rate": 0.5,
    "monthly_churn_rate": 0.05612568731830647, "contract_clv": 84.0,
}  # fmt: skip
# PROGRAMME's return on cost with gross_margin 0.5: (20 × 0.5 − 8) / 8 = 0.25.
PROGRAMME_HALF_MARGIN = (*PROGRAMME[:-1], 0.25)


def _clv_world(tmp_path: Path, wrong: dict[str, object] | None = None, **kwargs) -> Path:
    """The world with CLV on every mart_clv row (``wrong`` overriding some of it) and the
    PROGRAMME row at margin 0.5; the build's vars CLV_BUILD_VARS unless given."""
    values = {**CLV, **(wrong or {})}
    changes = {("mart_clv", i, c): v for i in range(3) for c, v in values.items()}
    kwargs.setdefault("build_vars", CLV_BUILD_VARS)
    kwargs.setdefault("extra_rows", {"mart_retention_programmes": [PROGRAMME_HALF_MARGIN]})
    return build(tmp_path / "w.duckdb", changes, **kwargs)


def test_formulas_with_vars_pass_with_the_vars_the_marts_were_built_with(tmp_path, capsys):
    # Neither the default margin 1 nor the default cap 10: with those, every row would fail.
    code, out = validate(_clv_world(tmp_path), capsys, "mart_clv", "mart_retention_programmes")
    assert code == 0, out
    assert "not checked" not in out


@pytest.mark.parametrize(
    ("wrong", "check", "residual"),
    [
        # A cent off: (35.01 − 35) / 35.01.
        ({"clv": 35.01}, "clv", "0.00028563267637"),
        # The margin 1 instead of 0.5: 25 × 2 × 1.4 × 1 = 70, (70 − 35) / 70 = 0.5.
        ({"clv": 70.0}, "clv", "0.5"),
        # The lifespan ignoring the cap: 1 / 0.5 = 2 (and clv 25 × 2 × 2 × 0.5 = 50 with it):
        # (2 − 1.4) / 2 = 0.3.
        ({"expected_lifespan_years": 2.0, "clv": 50.0}, "lifespan", "0.3"),
        # contract_clv ignoring its cap: (89.0857687255289 − 84) / 89.0857687255289 =
        # 5.0857687255289 / 89.0857687255289 = 0.0570884…
        ({"contract_clv": 89.0857687255289}, "contract_clv", "0.057088"),
        # contract_clv at margin 1: cap 10 × 12 × 1.4 × 1 = 168, and 10 / 0.0561… = 178.17…
        # above it → 168; (168 − 84) / 168 = 0.5.
        ({"contract_clv": 168.0}, "contract_clv", "0.5"),
    ],
    ids=["clv_a_cent_off", "clv_wrong_margin", "lifespan_without_cap", "contract_clv_uncapped",
         "contract_clv_wrong_margin"],
)  # fmt: skip
def test_a_clv_formula_off_its_vars_fails(tmp_path, capsys, wrong, check, residual):
    code, out = validate(_clv_world(tmp_path, wrong), capsys, "mart_clv")
    assert code == 1, out
    assert "1 failed" in mart_line(out, "mart_clv"), out
    assert f"3 of 3 rows unexpected, e.g. check__{check}_formula={residual}" in out, out


def test_return_on_cost_with_another_margin_fails(tmp_path, capsys):
    # PROGRAMME's 1.5 is (20 × 1 − 8) / 8, the margin 1; the marts were built with 0.5, which
    # gives 0.25: (1.5 − 0.25) / 1.5 = 0.8333….
    db = _clv_world(tmp_path, extra_rows={"mart_retention_programmes": [PROGRAMME]})
    code, out = validate(db, capsys, "mart_retention_programmes")
    assert code == 1, out
    assert "1 failed" in mart_line(out, "mart_retention_programmes"), out
    assert "return_on_cost = (incremental_revenue × gross_margin − programme_cost)" in out
    assert "1 of 1 rows unexpected, e.g. check__return_on_cost_formula=0.8333" in out, out


def test_formulas_with_vars_a_warehouse_does_not_record_are_not_checked(tmp_path, capsys):
    # A warehouse built before the build kept its vars: the four formulas are said to be
    # not checked, neither failed (a clv a cent off goes unseen) nor counted as passed.
    db = _clv_world(tmp_path, {"clv": 35.01}, build_vars=None)
    code, out = validate(db, capsys, "mart_clv", "mart_retention_programmes")
    assert code == 0, out
    assert out.count("     not checked: ") == 4, out
    for formula in ("expected_lifespan_years = ", "clv = ", "contract_clv = ", "return_on_cost = "):
        assert f"not checked: {formula}" in out, out
    assert "does not record the gross_margin and clv_max_lifespan_years its marts" in out
    assert "4 formula(s) not checked" in out
    # One of the two recorded: only what needs the other is not checked; the lifespan
    # (the cap alone) is checked and passes.
    (tmp_path / "cap").mkdir()
    db = _clv_world(tmp_path / "cap", build_vars={"clv_max_lifespan_years": 1.4})
    code, out = validate(db, capsys, "mart_clv")
    assert code == 0, out
    assert out.count("     not checked: ") == 2, out
    assert "not checked: expected_lifespan_years" not in out


def test_formulas_not_checked_are_listed_in_the_summary_and_on_a_terminal():
    from rich.console import Console

    why = "the warehouse does not record the gross_margin its marts were built with"
    result = validate_module.MartResult(
        "mart_clv",
        rows=3,
        evaluated=56,
        passed=56,
        not_checked=[validate_module.Failure("clv = average_order_value × …", why)],
    )
    plain = validate_module.summary([result], Path("w.duckdb"), 1.0)
    assert "ok   mart_clv: 56/56 expectations passed, 0 failed (3 rows)" in plain
    assert f"     not checked: clv = average_order_value × …\n             {why}" in plain
    assert "all marts pass (1/1 marts, 1 formula(s) not checked, 1.0 s)" in plain
    console = Console(record=True, width=200, force_terminal=True)
    console.print(*validate_module.summary_view([result], Path("w.duckdb"), 1.0))
    shown = console.export_text()
    assert "mart_clv: not checked: clv = average_order_value × …" in shown
    assert why in shown
    assert "1 formula(s) not checked" in shown


def test_lifecycle_and_mrr_movement_must_agree_with_the_states(tmp_path, capsys):
    # c1, January, order basis: inactive at the start, active at the end, so `new`; claim
    # `retained` (active → active). c2, March: MRR 10 → 0, so `churned`; claim
    # `contraction` (down, not to 0). Both are accepted values: the view passed.
    db = build(
        tmp_path / "w.duckdb",
        {
            ("fct_customer_months", 0, "order_lifecycle"): "retained",
            ("fct_customer_months", 5, "mrr_movement"): "contraction",
        },
    )
    code, out = validate(db, capsys, "fct_customer_months")
    assert code == 1, out
    assert "2 failed" in mart_line(out, "fct_customer_months"), out
    assert (
        "1 of 6 rows unexpected, e.g. check__order_lifecycle_states=1.0, customer_id=c1, "
        "month_start=2024-01-01"
    ) in out
    assert (
        "1 of 6 rows unexpected, e.g. check__mrr_movement=1.0, customer_id=c2, "
        "month_start=2024-03-01"
    ) in out


def test_a_median_is_null_exactly_when_there_is_nothing_to_take_it_of(tmp_path, capsys):
    # c1's second purchase came 26 days after the first: 1 repeat customer, median 26; claim
    # none. c2 was not won back (won_back 0): no days to return; claim 5. Both passed.
    db = build(
        tmp_path / "w.duckdb",
        {
            ("mart_repeat_purchase", 0, "median_days_to_second_purchase"): None,
            ("mart_winback", 0, "median_days_to_return"): 5.0,
        },
    )
    code, out = validate(db, capsys, "mart_repeat_purchase", "mart_winback")
    assert code == 1, out
    assert "median_days_to_second_purchase is set when repeat_customers > 0" in out
    assert "median_days_to_return is null when won_back is 0" in out
    assert "1 failed" in mart_line(out, "mart_repeat_purchase"), out
    assert "1 failed" in mart_line(out, "mart_winback"), out


def test_totals_across_rows_must_add_up(tmp_path, capsys):
    # Each total below changed together with the rate or average over it, so only the sum
    # across rows is off; each passed.
    changes = {
        # order cohort, month 2: 19.90 + 30.10 + 0.00 = 50.00; claim 60 (and 60 / 1 customer).
        ("fct_cohorts", 2, "cumulative_revenue"): 60.0,
        ("fct_cohorts", 2, "cumulative_revenue_per_customer"): 60.0,
        # March's contract churn: 1 customer in its one row; claim 2 (share 1 / 2).
        ("mart_churn", 0, "period_churned_customers"): 2,
        ("mart_churn", 0, "share_of_churn"): 0.5,
        # deciles 1 and 2 sum to 50 + 19.73 = 69.73; claim twice that, shares halved.
        **{
            ("mart_revenue_concentration", i, column): value
            for i, row in enumerate(MARTS["mart_revenue_concentration"][1])
            for column, value in [
                ("total_revenue", 2 * row[4]),
                ("revenue_share", row[5] / 2),
                ("cumulative_revenue_share", row[6] / 2),
            ]
        },
    }
    db = build(tmp_path / "w.duckdb", changes)
    code, out = validate(db, capsys, "fct_cohorts", "mart_churn", "mart_revenue_concentration")
    assert code == 1, out
    assert "1 failed" in mart_line(out, "fct_cohorts"), out
    # (60 − 50) / 60 = 0.1666…
    assert "1 of 6 rows unexpected, e.g. check__cumulative_revenue_formula=0.16666" in out
    assert "1 failed" in mart_line(out, "mart_churn"), out
    assert "check__period_churn_formula=0.5, basis=contract" in out  # (2 − 1) / 2
    assert "1 failed" in mart_line(out, "mart_revenue_concentration"), out
    # (2 × 69.73 − 69.73) / (2 × 69.73) = 0.5
    assert "2 of 2 rows unexpected, e.g. check__total_revenue_formula=0.5, revenue_decile=1" in out


def test_retention_and_churn_rates_must_sum_to_one(tmp_path, capsys):
    # Order basis, February: retained 1 of 1, so retention 1 and churn 0; claim churn 0.5.
    db = build(tmp_path / "w.duckdb", {("fct_periods", 1, "churn_rate"): 0.5})
    code, out = validate(db, capsys, "fct_periods")
    assert code == 1, out
    assert "retention_rate + churn_rate = 1 where customers_start > 0" in out


def test_a_null_rate_beside_a_positive_denominator_fails(tmp_path, capsys):
    # Each rate below has a denominator of 1 (cohort_size, customers, churn_events, and
    # total_revenue 50 + 19.73), so it must be set. The rate's identity skipped the row
    # (its residual is null too) and these marts had no other check: all four passed.
    nulled = {
        ("fct_cohorts", 0, "retention_rate"): "cohort_size",
        ("mart_repeat_purchase", 0, "repeat_purchase_rate"): "customers",
        ("mart_winback", 0, "winback_rate"): "churn_events",
        ("mart_revenue_concentration", 0, "revenue_share"): "total_revenue",
    }
    db = build(tmp_path / "w.duckdb", dict.fromkeys(nulled))
    code, out = validate(db, capsys, *{mart for mart, _, _ in nulled})
    assert code == 1, out
    for (mart, _, rate), denominator in nulled.items():
        assert "1 failed" in mart_line(out, mart), out
        assert f"{rate} is set when {denominator} > 0" in out


def test_rate_with_zero_denominator_must_be_null(tmp_path, capsys):
    # Order basis, January: customers_start 0, so churn_rate must be null, not 0.
    db = build(tmp_path / "w.duckdb", {("fct_periods", 0, "churn_rate"): 0.0})
    code, out = validate(db, capsys, "fct_periods")
    assert code == 1, out
    assert "churn_rate is null when customers_start is 0" in out


def test_unknown_lifecycle_and_duplicate_key_fail(tmp_path, capsys):
    db = build(
        tmp_path / "w.duckdb",
        {("fct_customer_months", 0, "order_lifecycle"): "lost"},
        extra_rows={"mart_churn": [MARTS["mart_churn"][1][0]]},
    )
    code, out = validate(db, capsys, "fct_customer_months", "mart_churn")
    assert code == 1, out
    assert "expect_column_values_to_be_in_set(column=order_lifecycle" in out
    assert "order_lifecycle=lost, customer_id=c1" in out
    assert "expect_compound_columns_to_be_unique(column_list=['basis', 'period_grain'," in out


# PROGRAMME with 1 of 4 treatment customers retained: rate 1 / 4 = 0.25, uplift 0.25 − 0.5 =
# −0.25 (inside the interval kept from PROGRAMME: its identity checks only is_significant),
# incremental customers −0.25 × 4 = −1: the programme lost a customer, and the cost per
# incremental customer must be null; claim 8 / −1 = −8 (its Ratio skips a denominator < 0).
PROGRAMME_LOST_ONE = (
    *PROGRAMME[:3], 1, 0.25, *PROGRAMME[5:12], -0.25, *PROGRAMME[13:16], -1.0, 20.0, 8.0,
    -8.0, 1.5,
)  # fmt: skip


def test_each_kind_of_expectation_not_failed_elsewhere_fails_alone(tmp_path, capsys):
    # One value per kind of expectation that no other scenario here breaks, each in a cell no
    # other expectation reads, so that each mart fails exactly that one (dim_customers: two).
    # (A column null on the other basis' rows is an expectation of the kind "a rate is null
    # when its denominator is 0", which test_rate_with_zero_denominator_must_be_null breaks.)
    changes = {
        # c1's last purchase before its first (2024-01-10): first ≤ last fails.
        ("dim_customers", 0, "last_purchase_date"): D(2024, 1, 5),
        # Decile 2 with no revenue (and the totals and shares that then hold: total 50,
        # shares 50 / 50 = 1 and 0 / 50 = 0): only revenue above 0 is a decile.
        **{
            ("mart_revenue_concentration", i, column): value
            for i, row in enumerate([(50.0, 50.0, 1.0, 1.0), (0.0, 50.0, 0.0, 1.0)])
            for column, value in zip(
                ["revenue", "total_revenue", "revenue_share", "cumulative_revenue_share"],
                row,
                strict=True,
            )
        },
        ("mart_revenue_concentration", 1, "cumulative_revenue"): 50.0,
        # A null in the key (the compound key of mart_lock_in).
        ("mart_lock_in", 0, "products_at_start"): None,
    }
    # An order-basis churn that is not silent (its reason `none`, as on the order basis): its
    # own row of March, 1 of 1 churned.
    churn = ("order", "month", MAR, "push", "none", True, 1, None, 1, 1.0)
    db = build(
        tmp_path / "w.duckdb",
        changes,
        extra_rows={
            "mart_churn": [churn],
            # c2 twice (no purchases: first ≤ last does not apply): a one-column key.
            "dim_customers": [MARTS["dim_customers"][1][1]],
            "mart_retention_programmes": [PROGRAMME_LOST_ONE],
        },
    )
    with duckdb.connect(str(db)) as con:  # 5 of the 2 bases × 3 classes
        con.execute(
            "delete from marts.mart_nps_churn where basis = 'order' and nps_class = 'passive'"
        )
    expected = {
        "dim_customers": "first_purchase_date ≤ last_purchase_date\n"
        "             1 of 3 rows unexpected, e.g. last_purchase_date=2024-01-05, customer_id=c1",
        "mart_revenue_concentration": "only revenue above 0\n"
        "             1 of 2 rows unexpected, e.g. revenue=0.0, revenue_decile=2",
        # 1 of 5 periods × 4 buckets.
        "mart_lock_in": "expect_column_values_to_not_be_null(column=products_at_start)\n"
        "             1 of 20 rows unexpected",
        "mart_churn": "every order-basis churn is silent\n"
        "             1 of 1 rows unexpected, e.g. churn_type=push, basis=order",
        "mart_retention_programmes": "cost_per_incremental_customer is null unless "
        "incremental_customers_retained > 0\n"
        "             1 of 1 rows unexpected, e.g. cost_per_incremental_customer=-8.0",
        "mart_nps_churn": "2 bases × 3 NPS classes\n             observed 5",
    }
    code, out = validate(db, capsys, *expected)
    assert code == 1, out
    for mart, text in expected.items():
        failed = 2 if mart == "dim_customers" else 1
        assert f"{failed} failed" in mart_line(out, mart), (mart, out)
        assert text in out, out
    assert (
        "expect_column_values_to_be_unique(column=customer_id)\n"
        "             2 of 3 rows unexpected, e.g. customer_id=c2"
    ) in out


def test_missing_documented_column_fails_without_crashing(tmp_path, capsys):
    db = build(tmp_path / "w.duckdb", drop_columns={"fct_customer_months": "churned_mrr"})
    code, out = validate(db, capsys, "fct_customer_months")
    assert code == 1, out
    assert "missing columns: churned_mrr" in out
    assert "cannot derive check__mrr_identity: missing column 'churned_mrr'" in out


def test_a_column_of_the_wrong_type_fails_without_crashing(tmp_path, capsys):
    # retention_rate as text, one value not a number: deriving the identity's residual
    # raised pandas' ValueError out of validate (a traceback, exit 1 by accident).
    db = build(tmp_path / "w.duckdb")
    with duckdb.connect(str(db)) as con:
        con.execute("alter table marts.fct_cohorts alter retention_rate type varchar")
        con.execute("update marts.fct_cohorts set retention_rate = 'n/a' where basis = 'order'")
    code, out = validate(db, capsys, "fct_cohorts")
    assert code == 1, out
    assert "Traceback" not in out
    assert mart_line(out, "fct_cohorts").startswith("FAIL"), out
    assert (
        "cannot derive check__retention_rate_formula: column retention_rate is not numeric"
        " (could not convert string to float: 'n/a')"
    ) in out


def test_a_missing_value_a_column_must_contain_is_named(tmp_path, capsys):
    # mart_clv without its `all` segment: the detail said "observed None".
    db = build(tmp_path / "w.duckdb")
    with duckdb.connect(str(db)) as con:
        con.execute("delete from marts.mart_clv where segment_type = 'all'")
    code, out = validate(db, capsys, "mart_clv")
    assert code == 1, out
    assert "there is an `all` segment\n             missing values: all\n" in out, out


def test_missing_database_exits_2(tmp_path, capsys):
    code, out = validate(tmp_path / "nowhere.duckdb", capsys)
    assert code == 2
    assert "nowhere.duckdb does not exist" in out


def test_missing_mart_exits_2(tmp_path, capsys):
    db = build(tmp_path / "w.duckdb", drop_tables=("mart_clv",))
    code, out = validate(db, capsys)
    assert code == 2
    assert "marts.mart_clv" in out


def test_unknown_mart_exits_2(tmp_path, capsys):
    code, out = validate(build(tmp_path / "w.duckdb"), capsys, "fct_nothing")
    assert code == 2
    assert "unknown mart fct_nothing" in out


def test_empty_marts_fail_row_count(tmp_path, capsys):
    db = build(tmp_path / "w.duckdb")
    with duckdb.connect(str(db)) as con:
        for mart in MARTS:
            con.execute(f"delete from marts.{mart}")
    code, out = validate(db, capsys)
    assert code == 1, out
    must_have_rows = [mart for mart in MARTS if mart not in MAY_BE_EMPTY]
    for mart in MARTS:
        assert mart_line(out, mart).startswith("ok" if mart in MAY_BE_EMPTY else "FAIL"), out
    assert out.count("expect_table_row_count_to_be_between(min_value=1)") == len(must_have_rows)


def test_a_large_mart_validated_in_parts_of_whole_customers_passes(tmp_path, capsys, monkeypatch):
    # Parts of at most one row: fct_customer_months (c1 and c2 × January–March = 6 rows) and
    # dim_customers (2 rows) are split by a hash of customer_id into 6 and 2 parts, of which
    # the empty ones are skipped; each mart still passes and reports its whole row count.
    monkeypatch.setattr("retention.validate.PART_ROWS", 1)
    db = build(tmp_path / "w.duckdb")
    code, out = validate(db, capsys, "fct_customer_months", "dim_customers")
    assert code == 0, out
    assert mart_line(out, "fct_customer_months").startswith("ok"), out
    assert "(6 rows)" in mart_line(out, "fct_customer_months"), out
    assert "(2 rows)" in mart_line(out, "dim_customers"), out


def test_a_large_mart_validated_in_parts_still_fails_and_says_where(tmp_path, capsys, monkeypatch):
    # A duplicate of c1's January row lands in c1's part, so the key is still seen twice.
    monkeypatch.setattr("retention.validate.PART_ROWS", 1)
    db = build(
        tmp_path / "w.duckdb",
        {("fct_customer_months", 0, "order_lifecycle"): "lost"},
        extra_rows={"fct_customer_months": [MARTS["fct_customer_months"][1][0]]},
    )
    code, out = validate(db, capsys, "fct_customer_months")
    assert code == 1, out
    line = mart_line(out, "fct_customer_months")
    assert line.startswith("FAIL") and "2 failed" in line and "(7 rows)" in line, out
    assert "expect_column_values_to_be_in_set(column=order_lifecycle" in out
    assert "expect_compound_columns_to_be_unique(column_list=['customer_id', 'month_start']" in out
    assert re.search(r"in part \d of 7 \(whole customers\): .*customer_id=c1", out), out


def test_validate_caps_duckdb_like_the_dbt_profile() -> None:
    # One variable and one default for DuckDB's cap, in the build (profiles.yml) and here.
    profile = (Path(__file__).parents[1] / "profiles.yml").read_text(encoding="utf-8")
    name, default = validate_module.MEMORY_LIMIT_ENV, validate_module.DEFAULT_MEMORY_LIMIT
    assert f"memory_limit: \"{{{{ env_var('{name}', '{default}') }}}}\"" in profile


@pytest.mark.parametrize("limit", ["junk", "", "1GB'; select 1; --"])
def test_a_memory_limit_duckdb_does_not_take_exits_2_with_one_line(
    limit, tmp_path, capsys, monkeypatch
):
    # It was set on validate's connection after the marts were opened: a ParserException
    # traceback and exit 1, the code of a failed expectation. Now it is checked with the
    # other inputs, before Great Expectations, and named; set but empty is refused as dbt's
    # profile (env_var) would pass it to DuckDB as it is.
    monkeypatch.setenv(validate_module.MEMORY_LIMIT_ENV, limit)
    code, out = validate(build(tmp_path / "w.duckdb"), capsys, "dim_customers")
    assert code == 2, out
    assert out.startswith(f"retention validate: error: RETENTION_MEMORY_LIMIT={limit!r} is not")
    assert "Traceback" not in out and len(out.strip().splitlines()) == 1, out


def test_duckdb_running_out_of_memory_while_validating_exits_2_with_one_line(
    tmp_path, capsys, monkeypatch
):
    # 1KB is a size DuckDB takes, but it cannot even set it on a connection holding a
    # database: an Out of Memory Error, reported as one line (exit 2, nothing validated).
    monkeypatch.setenv(validate_module.MEMORY_LIMIT_ENV, "1KB")
    code, out = validate(build(tmp_path / "w.duckdb"), capsys, "dim_customers")
    assert code == 2, out
    assert "retention validate: error: DuckDB failed while reading the marts of" in out
    assert "Out of Memory" in out and "Traceback" not in out


def test_parts_are_read_from_a_scratch_copy_that_is_removed(tmp_path, capsys, monkeypatch):
    # A mart read in parts is copied once into a scratch database in a temporary folder
    # (DuckDB spills there too): nothing is written beside the warehouse, and the folder is
    # gone when validate ends, even though the copy was made.
    monkeypatch.setattr("retention.validate.PART_ROWS", 1)
    made: list[Path] = []
    original = validate_module.mart_parts

    def watching(con, mart, scratch):
        rows, parts, readers = original(con, mart, scratch)

        def watched():
            for read in readers:
                made.extend(scratch.iterdir())
                yield read

        return rows, parts, watched()

    monkeypatch.setattr("retention.validate.mart_parts", watching)
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    (tmp_path / "warehouse").mkdir()
    db = build(tmp_path / "warehouse" / "w.duckdb")
    before = sorted(p.name for p in db.parent.iterdir())
    code, out = validate(db, capsys, "fct_customer_months")
    assert code == 0, out
    assert "parts.duckdb" in {p.name for p in made}, made
    assert sorted(p.name for p in db.parent.iterdir()) == before
    assert list(temp.iterdir()) == []


def test_a_validation_record_that_cannot_be_written_is_a_warning(tmp_path, capsys):
    # `retention validate` keeps its outcome beside the database for `retention publish`
    # (retention/validated.py). Where that file cannot be written, the validation's own
    # outcome stands (exit 0), with a warning that publish will take it for unvalidated.
    db = build(tmp_path / "w.duckdb")
    with duckdb.connect(str(db)) as con:
        con.execute("create schema meta")
        con.execute(
            "create table meta.build_state as select 'built' as state, "
            "current_timestamp as changed_at"
        )
    record = tmp_path / "w.duckdb.validation"
    record.mkdir()  # in the record's place: no file can be renamed there
    code, out = validate(db, capsys)
    assert code == 0, out
    assert (
        f"warning: cannot record the outcome of this validation in {record}: Is a directory; "
        "`retention publish` will take the database for unvalidated\n"
    ) in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb", "w.duckdb.validation"]


# --- volume check against the published warehouse (--baseline) -------------------------------


def validate_against(db: Path, baseline: Path, capsys, *options: str) -> tuple[int, str]:
    code = main(
        ["validate", "--db", str(db), "--baseline", str(baseline), "--mart=dim_customers"]
        + list(options)
    )
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_shrink_problem_allows_exactly_the_share():
    from retention.validate import shrink_problem

    # 100 -> 90 rows: 10 / 100 = 10 % fewer, exactly the 10 % allowed.
    assert shrink_problem(100, 90, 0.10) is None
    # 100 -> 89 rows: 11 / 100 = 11 % fewer, more than 10 %.
    assert "11.0% fewer" in shrink_problem(100, 89, 0.10)
    # Growing, an equal count, or an empty baseline never fail.
    assert shrink_problem(100, 150, 0.10) is None
    assert shrink_problem(0, 0, 0.10) is None
    # max_shrink 1: even losing every row is allowed; 0: one row less fails.
    assert shrink_problem(100, 0, 1.0) is None
    assert shrink_problem(100, 99, 0.0) is not None


def test_a_mart_that_lost_more_rows_than_allowed_fails_against_the_baseline(tmp_path, capsys):
    published = build(tmp_path / "published.duckdb")
    work = build(tmp_path / "work.duckdb")
    with duckdb.connect(str(work)) as con:
        con.execute("delete from marts.dim_customers where customer_id = 'c2'")  # 2 -> 1 row
    code, out = validate_against(work, published, capsys)
    assert code == 1, out
    # 1 of 2 rows lost: 50 % fewer, more than the default 10 %.
    assert "row count against the published warehouse" in out
    assert "1 rows, 2 in the published warehouse: 50.0% fewer" in out
    # A larger allowance, or --allow-shrink, accepts it.
    code, out = validate_against(work, published, capsys, "--max-shrink", "0.5")
    assert code == 0, out
    code, out = validate_against(work, published, capsys, "--allow-shrink")
    assert code == 0, out


def test_an_unchanged_baseline_passes_the_volume_check(tmp_path, capsys):
    work = build(tmp_path / "work.duckdb")
    code, out = validate_against(work, work, capsys)
    assert code == 0, out
    # The volume check counts as one more expectation evaluated for the mart.
    plain, plain_out = validate(work, capsys, "dim_customers")
    evaluated = int(re.search(r"/(\d+) expectations", mart_line(out, "dim_customers")).group(1))
    evaluated_plain = int(
        re.search(r"/(\d+) expectations", mart_line(plain_out, "dim_customers")).group(1)
    )
    assert evaluated == evaluated_plain + 1
    # A baseline that is not there is an error: a mistyped path would turn the check off
    # without a word. (`retention build` passes none before its first publish.)
    code, out = validate_against(work, tmp_path / "not-yet-published.duckdb", capsys)
    assert code == 2, out
    assert f"no baseline warehouse at {tmp_path / 'not-yet-published.duckdb'}" in out


def _loaded_only(path: Path) -> Path:
    """A warehouse file that was loaded, never built: raw tables, no marts schema."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        con.execute("create table raw.orders (order_id varchar)")
    return path


def test_a_baseline_without_marts_is_refused_not_skipped(tmp_path, capsys):
    # Such a baseline turned the volume check off without a word: validate passed (exit 0).
    work = build(tmp_path / "work.duckdb")
    loaded = _loaded_only(tmp_path / "loaded.duckdb")
    code, out = validate_against(work, loaded, capsys)
    assert code == 2, out
    assert out == (
        f"retention validate: error: the baseline {loaded} holds no marts (loaded but never "
        "built?): the volume check would compare nothing; give the published warehouse, or "
        "leave --baseline out when no built warehouse is published yet\n"
    )


def test_build_validates_without_a_baseline_when_the_published_file_has_no_marts(
    tmp_path, capsys, monkeypatch
):
    # `retention load --db P`, then `retention build --db P`: P holds raw data only, so the
    # first build of its marts has nothing to compare with, as when nothing is published.
    # It says so, and validate is not handed a baseline it would refuse.
    import argparse

    from retention import build as build_module
    from retention import console

    monkeypatch.setattr(console, "_state", {"quiet": False})
    published = _loaded_only(tmp_path / "w.duckdb")
    work = build(tmp_path / "w.duckdb.work")
    handed = []
    monkeypatch.setattr(validate_module, "run", lambda checks: handed.append(checks) or 1)
    args = argparse.Namespace(
        no_validate=False, max_shrink=0.1, allow_shrink=False, storage_version="current"
    )
    stage = build_module.Stage("validating")
    code = build_module._validate_and_publish(args, published, work, stage)
    assert code == build_module.EXIT_VALIDATE  # the stand-in validate failed: not published
    assert [checks.baseline for checks in handed] == [None]
    assert (
        f"retention build: the published warehouse {published} has no marts yet: no volume check\n"
    ) in capsys.readouterr().err


def test_build_says_there_is_no_volume_check_when_nothing_is_published_yet(
    tmp_path, capsys, monkeypatch
):
    # The first `retention build --data` of a new warehouse: no published file to compare
    # with. docs/operations.md ("Volume check") says the build says so; it said nothing.
    import argparse

    from retention import build as build_module
    from retention import console

    monkeypatch.setattr(console, "_state", {"quiet": False})
    published = tmp_path / "w.duckdb"
    work = build(tmp_path / "w.duckdb.work")
    handed = []
    monkeypatch.setattr(validate_module, "run", lambda checks: handed.append(checks) or 1)
    args = argparse.Namespace(
        no_validate=False, max_shrink=0.1, allow_shrink=False, storage_version="current"
    )
    code = build_module._validate_and_publish(args, published, work, build_module.Stage("v"))
    assert code == build_module.EXIT_VALIDATE  # the stand-in validate failed: not published
    assert [checks.baseline for checks in handed] == [None]
    assert (
        f"retention build: no published warehouse at {published} yet: no volume check\n"
    ) in capsys.readouterr().err


def test_an_unreadable_baseline_or_a_bad_share_exits_2(tmp_path, capsys):
    work = build(tmp_path / "work.duckdb")
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_bytes(b"not a database" * 100)
    code, out = validate_against(work, garbage, capsys)
    assert code == 2, out
    assert "cannot read the baseline" in out
    with pytest.raises(SystemExit) as exited:
        validate_against(work, work, capsys, "--max-shrink", "1.5")
    assert exited.value.code == 2
    assert "expected a share between 0 and 1, got '1.5'" in capsys.readouterr().err


# --- identities across marts (retention/consistency.py) ---------------------------------------

# Each change below keeps its mart's own suite passing (rates, averages and totals changed
# with it), so only an identity across marts catches it: (changes, extra rows, the marts to
# validate, how many identities fail, the identity's name, its detail).
ACROSS_MARTS = {
    # c2 is March's one contract churn (fct_periods: churned 1); claim 2 (share 2 / 2 = 1).
    "churn by reason vs periods": (
        {
            ("mart_churn", 0, "churned_customers"): 2,
            ("mart_churn", 0, "period_churned_customers"): 2,
        },
        {},
        ("mart_churn", "fct_periods"),
        1,
        "mart_churn against fct_periods: churned_customers summed over churn types and reasons"
        " = churned, per period",
        # 10 periods of fct_periods (6 months, 2 quarters, 2 years)
        "1 of 10 keys differ, e.g. basis=contract, period_grain=month, period_start=2024-03-01:"
        " mart_churn 2, fct_periods 1",
    ),
    # February's bucket `1` holds c2, the one contract customer at its start; claim 2
    # (churn 0 / 2 = 0).
    "lock-in customers vs periods": (
        {("mart_lock_in", 5, "customers_start"): 2},
        {},
        ("mart_lock_in", "fct_periods"),
        1,
        "mart_lock_in against fct_periods: customers_start summed over products_at_start = the"
        " contract basis' customers_start, per period",
        # 5 contract periods: January-March, Q1, 2024
        "1 of 5 keys differ, e.g. period_grain=month, period_start=2024-02-01: mart_lock_in 2,"
        " fct_periods 1",
    ),
    # March's bucket `1`: c2 churned (1 of 1); claim it stayed (0 / 1 = 0).
    "lock-in churned vs periods": (
        {("mart_lock_in", 9, "churned"): 0, ("mart_lock_in", 9, "churn_rate"): 0.0},
        {},
        ("mart_lock_in", "fct_periods"),
        1,
        "mart_lock_in against fct_periods: churned summed over products_at_start",
        "1 of 5 keys differ, e.g. period_grain=month, period_start=2024-03-01: mart_lock_in 0,"
        " fct_periods 1",
    ),
    # The contract cohort 2024-01 is c2 alone; month 2 claims 2 customers (0 / 2 = 0 active,
    # 19.72 / 2 = 9.86 per customer).
    "cohort size vs customers": (
        {
            ("fct_cohorts", 5, "cohort_size"): 2,
            ("fct_cohorts", 5, "cumulative_revenue_per_customer"): REC_ALL / 2,
        },
        {},
        ("fct_cohorts", "dim_customers"),
        1,
        "fct_cohorts against dim_customers: cohort_size (highest over the cohort's months) = the"
        " customers whose order_cohort_month (order) or contract_cohort_month (contract) it is",
        # 2 cohorts: order 2024-01 (c1) and contract 2024-01 (c2)
        "1 of 2 keys differ, e.g. basis=contract, cohort_month=2024-01-01: fct_cohorts 2,"
        " dim_customers 1",
    ),
    # c2 is not contract-active at March's end (fct_periods customers_end 0); claim active.
    "cohort activity vs periods": (
        {("fct_cohorts", 5, "active_customers"): 1, ("fct_cohorts", 5, "retention_rate"): 1.0},
        {},
        ("fct_cohorts", "fct_periods"),
        1,
        "fct_cohorts against fct_periods: active_customers summed over the cohorts, per month",
        # 3 months on each basis
        "1 of 6 keys differ, e.g. basis=contract, period_start=2024-03-01: fct_cohorts 1,"
        " fct_periods 0",
    ),
    # c1 bought nothing in March (fct_periods net_revenue 0); claim 5.00 (cumulative
    # 19.90 + 30.10 + 5.00 = 55.00, per customer 55.00 / 1).
    "cohort revenue vs periods": (
        {
            ("fct_cohorts", 2, "revenue"): 5.0,
            ("fct_cohorts", 2, "cumulative_revenue"): 55.0,
            ("fct_cohorts", 2, "cumulative_revenue_per_customer"): 55.0,
        },
        {},
        ("fct_cohorts", "fct_periods"),
        1,
        "fct_cohorts against fct_periods: revenue summed over the cohorts, per month",
        "1 of 6 keys differ, e.g. basis=order, period_start=2024-03-01: fct_cohorts 5,"
        " fct_periods 0",
    ),
    # c1 is the one customer whose first purchase is in January; claim 2 (1 / 2 repeat).
    "repeat customers vs customers": (
        {
            ("mart_repeat_purchase", 0, "customers"): 2,
            ("mart_repeat_purchase", 0, "repeat_purchase_rate"): 0.5,
        },
        {},
        ("mart_repeat_purchase", "dim_customers"),
        1,
        "mart_repeat_purchase against dim_customers: customers per first_purchase_month",
        "1 of 1 keys differ, e.g. first_purchase_month=2024-01-01: mart_repeat_purchase 2,"
        " dim_customers 1",
    ),
    # c1 is a repeat customer (2 purchases); claim none repeated (rates 0 / 1, no median).
    "repeaters vs repeat customers": (
        {
            ("mart_repeat_purchase", 0, "repeat_customers"): 0,
            ("mart_repeat_purchase", 0, "repeat_purchase_rate"): 0.0,
            ("mart_repeat_purchase", 0, "median_days_to_second_purchase"): None,
            ("mart_repeat_purchase", 0, "repeat_within_30"): 0,
            ("mart_repeat_purchase", 0, "repeat_rate_30"): 0.0,
        },
        {},
        ("mart_repeat_purchase", "dim_customers"),
        1,
        "mart_repeat_purchase against dim_customers: repeat_customers per first_purchase_month",
        "first_purchase_month=2024-01-01: mart_repeat_purchase 0, dim_customers 1",
    ),
    # Both customers were first active in 2024; claim 3 in that cohort year.
    "CLV segment customers vs customers": (
        {("mart_clv", 2, "customers"): 3},
        {},
        ("mart_clv", "dim_customers"),
        1,
        "mart_clv against dim_customers: customers per segment",
        # segments all/all, acquisition_channel/organic, cohort_year/2024
        "1 of 3 keys differ, e.g. segment_type=cohort_year, segment_value=2024: mart_clv 3,"
        " dim_customers 2",
    ),
    # Both customers came through `organic` and were first active in Y: claim 1 acquired
    # in the channel's row (the all row says 2).
    "CLV channels vs all": (
        {("mart_clv", 1, "acquired_customers"): 1},
        {},
        ("mart_clv",),
        1,
        "mart_clv: acquired_customers of the acquisition_channel segments summed = the all"
        " segment's",
        "1 of 1 keys differ, e.g. the acquisition_channel segments 1, the all segment 2",
    ),
    # The same in the cohort year's row.
    "CLV cohort years vs all": (
        {("mart_clv", 2, "acquired_customers"): 1},
        {},
        ("mart_clv",),
        1,
        "mart_clv: acquired_customers of the cohort_year segments summed = the all segment's",
        "1 of 1 keys differ, e.g. the cohort_year segments 1, the all segment 2",
    ),
    # Two promoters in March overall, one in the only channel: responses and promoters
    # (1 + 0 + 0 = 1 against 2 + 0 + 0 = 2) disagree.
    "NPS channels vs all": (
        {},
        {
            "mart_nps": [
                ("month", MAR, "all", "all", 2, 2, 0, 0, 100.0),
                ("month", MAR, "acquisition_channel", "organic", 1, 1, 0, 0, 100.0),
            ]
        },
        ("mart_nps",),
        2,
        "mart_nps: promoters of the acquisition_channel segments summed = the all segment's,"
        " per period",
        "1 of 1 keys differ, e.g. period_grain=month, period_start=2024-03-01: the"
        " acquisition_channel segments 1, the all segment 2",
    ),
    # c2's one contract churn (0 reactivations + 1 churned on A = 1 event); claim 2 (0 / 2).
    "win-back events vs customers": (
        {("mart_winback", 0, "churn_events"): 2, ("mart_winback", 0, "winback_rate"): 0.0},
        {},
        ("mart_winback", "dim_customers"),
        1,
        "mart_winback against dim_customers: churn_events summed per basis",
        "1 of 2 keys differ, e.g. basis=contract: mart_winback 2, dim_customers 1",
    ),
    # c2 never came back (0 reactivations); claim won back after 5 days (1 / 1).
    "win-backs vs reactivations": (
        {
            ("mart_winback", 0, "won_back"): 1,
            ("mart_winback", 0, "winback_rate"): 1.0,
            ("mart_winback", 0, "median_days_to_return"): 5.0,
        },
        {},
        ("mart_winback", "dim_customers"),
        1,
        "mart_winback against dim_customers: won_back summed per basis",
        "1 of 2 keys differ, e.g. basis=contract: mart_winback 1, dim_customers 0",
    ),
    # c1 is order-active on A (fct_periods: 1 customer at the end of March, Q1 and 2024);
    # dim_customers claims churned.
    "customers at A vs statuses": (
        {("dim_customers", 0, "order_status"): "churned"},
        {},
        ("fct_periods", "dim_customers"),
        1,
        "fct_periods against dim_customers: customers_end of the period containing A",
        "3 of 6 keys differ, e.g. basis=order, period_grain=month: fct_periods 1, dim_customers 0",
    ),
    # c1 bought twice (fct_periods: 1 + 1 + 0 purchases); dim_customers claims 4 (AOV
    # 50.00 / 4 = 12.50).
    "purchases vs customers": (
        {
            ("dim_customers", 0, "purchases"): 4,
            ("dim_customers", 0, "average_order_value"): 12.50,
        },
        {},
        ("fct_periods", "dim_customers"),
        1,
        "fct_periods against dim_customers: purchases summed over the periods of each grain",
        "3 of 3 keys differ, e.g. period_grain=month: fct_periods 2, dim_customers 4",
    ),
    # c1 was never active before January, so new in January (fct_customer_months' lifecycle);
    # fct_periods claims reactivated (its end is still 0 + 1 customers: its own identities
    # hold), and both counts disagree.
    "period lifecycles vs customer months": (
        {("fct_periods", 0, "new"): 0, ("fct_periods", 0, "reactivated"): 1},
        {},
        ("fct_periods", "fct_customer_months"),
        2,
        "fct_periods against fct_customer_months: new of each month",
        "1 of 6 keys differ, e.g. basis=order, period_start=2024-01-01: fct_periods 0,"
        " fct_customer_months 1",
    ),
    # c1's February row claims 2 purchases (fct_periods: 1).
    "periods vs customer months": (
        {("fct_customer_months", 1, "purchases"): 2},
        {},
        ("fct_periods", "fct_customer_months"),
        1,
        "fct_periods against fct_customer_months: purchases of each month",
        # fct_periods' 6 month rows
        "1 of 6 keys differ, e.g. basis=order, period_start=2024-02-01: fct_periods 1,"
        " fct_customer_months 2",
    ),
}


@pytest.mark.parametrize("case", ACROSS_MARTS)
def test_marts_that_disagree_fail_across_marts(case, tmp_path, capsys):
    changes, extra, marts, failing, name, detail = ACROSS_MARTS[case]
    code, out = validate(build(tmp_path / "w.duckdb", changes, extra_rows=extra), capsys, *marts)
    assert code == 1, out
    for mart in marts:  # each mart's own suite still passes: only the identity across fails
        assert mart_line(out, mart).startswith("ok"), out
    assert mart_line(out, "across marts").startswith("FAIL"), out
    assert f", {failing} failed" in mart_line(out, "across marts"), out
    assert f"failed: {name}" in out, out
    assert detail in out, out
    assert f"{failing} identities across marts do not hold" in out, out


def test_an_identity_across_marts_that_cannot_be_computed_fails_without_crashing(tmp_path, capsys):
    # mart_lock_in without its churned column: its suite says the column is missing, and
    # the identity that sums it fails with DuckDB's words instead of ending validate (exit 2).
    db = build(tmp_path / "w.duckdb", drop_columns={"mart_lock_in": "churned"})
    code, out = validate(db, capsys, "mart_lock_in", "fct_periods")
    assert code == 1, out
    assert "missing columns: churned" in out
    assert ", 2 failed" in mart_line(out, "across marts"), out  # customers_start and churned
    assert "error: Binder Error" in out and "Traceback" not in out, out


def test_an_identity_across_marts_over_a_column_of_text_fails_without_crashing(tmp_path, capsys):
    # cohort_size as text, one value not a number: DuckDB's conversion error ended validate
    # (exit 2, as if the warehouse could not be read); it is the identity's failure instead.
    db = build(tmp_path / "w.duckdb")
    with duckdb.connect(str(db)) as con:
        con.execute("alter table marts.fct_cohorts alter cohort_size type varchar")
        con.execute("update marts.fct_cohorts set cohort_size = 'n/a' where basis = 'order'")
    code, out = validate(db, capsys, "fct_cohorts", "dim_customers")
    assert code == 1, out
    assert "error: Conversion Error" in out and "Traceback" not in out, out


def test_an_identity_across_marts_is_checked_only_with_all_its_marts(tmp_path, capsys):
    # mart_churn alone: its identity with fct_periods is not computed (no line for it).
    db = build(tmp_path / "w.duckdb", {("mart_churn", 0, "churned_customers"): 2})
    code, out = validate(db, capsys, "mart_churn")
    assert code == 1, out  # its own suite: 2 churned customers of a period of 1
    assert "across marts" not in out


def test_the_summary_counts_identities_across_marts_apart_from_the_marts():
    # Two marts that pass and one identity of three that does not hold: no mart fails (which
    # of the two marts is wrong cannot be told), yet the verdict and the exit status do.
    from rich.console import Console

    from retention.validate import ACROSS, Failure, MartResult, summary, summary_view

    failure = Failure("mart_churn against fct_periods: churned", "1 of 2 keys differ")
    results = [
        MartResult("mart_churn", rows=1, evaluated=20, passed=20),
        MartResult("fct_periods", rows=10, evaluated=93, passed=93),
        MartResult(ACROSS, rows=0, evaluated=3, passed=2, failures=[failure]),
    ]
    verdict = (
        "all marts pass, 1 identities across marts do not hold "
        "(2/2 marts, 2/3 identities across marts, 1.2 s)"
    )
    plain = summary(results, Path("w.duckdb"), 1.25)
    assert "FAIL across marts: 2/3 identities hold, 1 failed\n" in plain, plain
    assert plain.endswith(verdict), plain
    console = Console(record=True, width=300, force_terminal=True)
    console.print(*summary_view(results, Path("w.duckdb"), 1.25))
    shown = console.export_text()
    assert re.search(r"FAIL\s+│\s+across marts\s+│\s+│\s+2/3\s+│\s+1", shown), shown
    assert "across marts: mart_churn against fct_periods: churned" in shown, shown
    assert verdict in shown, shown
