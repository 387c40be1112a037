"""Dashboard figures against their marts on small hand-made warehouses (`make
test-dashboard`): the pages run headless in Streamlit's test harness, on files holding only
the mart columns a page reads, shaped as the demo never shapes them (a month without churn);
and every page's tables on the published warehouse (the demo).
"""

import json
import os
import re
import sys
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from streamlit.proto.Metric_pb2 import Metric as MetricProto
from streamlit.testing.v1 import AppTest

DASHBOARD = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(DASHBOARD))
from registry import PAGES  # noqa: E402


def run_page(script: str, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("RETENTION_DB_PATH", str(db_path))
    monkeypatch.syspath_prepend(str(DASHBOARD))
    return AppTest.from_file(str(DASHBOARD / "views" / script), default_timeout=60)


def ran(script: str, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The page run once on the warehouse at db_path, which stopped on no exception."""
    app = run_page(script, db_path, monkeypatch).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def chart_data(app: AppTest, index: int) -> pd.DataFrame:
    """The rows the page sent to its `index`-th chart (in page order, warnings skipped)."""
    (dataset,) = app.get("vega_lite_chart")[index].proto.datasets
    return pa.ipc.open_stream(dataset.data.data).read_pandas()


def month(m: int) -> date:
    return date(2024, m, 1)


# The columns of fct_periods the pages read to tell complete periods.
FCT_PERIODS = "basis varchar, period_grain varchar, period_start date, is_complete_period boolean"
# mart_clv's and mart_nps's columns the CLV and NPS pages read.
MART_CLV = (
    "segment_type varchar, segment_value varchar, customers bigint, acquired_customers bigint, "
    "marketing_spend double, cac double, clv double, contract_clv double, ltv_to_cac double"
)
MART_NPS = (
    "period_grain varchar, period_start date, segment_type varchar, segment_value varchar, "
    "responses bigint, promoters bigint, passives bigint, detractors bigint, nps double"
)
# The tables the predictive page reads, with the columns it reads.
PREDICTIVE_MARTS = {
    "mart_clv_model_parameters": "model varchar, segment varchar, parameter varchar, "
    "value double, observations bigint, log_likelihood double, fit_status varchar, "
    "fit_message varchar",
    "mart_clv_predictions": "customer_id varchar, frequency double, recency_weeks double, "
    "age_weeks double, p_alive double, expected_purchases_365d double, "
    "expected_average_order_value double, predicted_clv_365d double",
    "dim_customers": "customer_id varchar, acquisition_channel varchar, country varchar, "
    "segment varchar",
    "mart_contract_survival": "cohort_month date, months_since_cohort bigint, "
    "cohort_size bigint, observed_retention double, projected_retention double, "
    "is_projected boolean, alpha double, beta double, fit_status varchar",
}
# mart_winback's columns the win-back page reads, with the 30-day window only.
MART_WINBACK = (
    "basis varchar, churn_month date, churn_type varchar, churn_events bigint, won_back bigint, "
    "winback_rate double, eligible_30 bigint, won_back_within_30 bigint, winback_rate_30 double"
)


def marts(con: duckdb.DuckDBPyConnection, **tables: str) -> None:
    """Schema marts with each table given (name=its columns' DDL)."""
    con.execute("create schema marts")
    for name, columns in tables.items():
        con.execute(f"create table marts.{name} ({columns})")


def reporting_params(con: duckdb.DuckDBPyConnection, **values: object) -> None:
    """int_reporting_params, one row of the columns given (name=value)."""
    con.execute("create schema if not exists intermediate")
    columns = ", ".join(f"? as {name}" for name in values)
    con.execute(
        f"create table intermediate.int_reporting_params as select {columns}", list(values.values())
    )


def reporting_date(con: duckdb.DuckDBPyConnection, day: date) -> None:
    """int_reporting_params with A = `day` only (the column every page reads)."""
    reporting_params(con, as_of_date=day)


def fct_months(con: duckdb.DuckDBPyConnection, basis: str, first: int) -> None:
    """fct_periods' month rows (FCT_PERIODS) of `basis` from month `first` of 2024 to July,
    the month of A: every month complete but July."""
    for m in range(first, 8):
        con.execute(
            "insert into marts.fct_periods values (?, 'month', ?, ?)", [basis, month(m), m < 7]
        )


@pytest.fixture
def churn_warehouse(tmp_path: Path) -> Path:
    """Contract-basis months January to July 2024, July not complete; churn in every month
    but May (so mart_churn has no May row)."""
    path = tmp_path / "churn.duckdb"
    with duckdb.connect(str(path)) as con:
        marts(
            con,
            fct_periods=FCT_PERIODS,
            mart_churn="basis varchar, period_grain varchar, period_start date, "
            "churn_type varchar, reason_code varchar, churned_customers bigint, "
            "churned_mrr double",
        )
        fct_months(con, "contract", first=1)
        for m in range(1, 8):
            if m != 5:
                con.execute(
                    "insert into marts.mart_churn values "
                    "('contract', 'month', ?, 'push', 'price', ?, 10.0 * ?)",
                    [month(m), m, m],
                )
    return path


def test_churn_by_reason_window_counts_complete_months_without_churn(
    churn_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_page("churn_reasons.py", churn_warehouse, monkeypatch).run()
    app = app.selectbox[0].set_value(3).run()  # the last 3 complete months: April to June
    assert not app.exception, [e.value for e in app.exception]
    reasons = app.dataframe[0].value
    assert reasons["churned_customers"].sum() == 4 + 0 + 6  # not February's 2, not July's 7


def test_churn_by_month_draws_a_month_without_churn_at_0(
    churn_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mart_churn has no May row: May was left out of the bars instead of drawn at 0."""
    app = run_page("churn_reasons.py", churn_warehouse, monkeypatch).run()
    app = app.selectbox[0].set_value(3).run()  # April to June
    assert not app.exception, [e.value for e in app.exception]
    bars = chart_data(app, 0)
    per_month = bars.groupby(bars["period_start"].dt.month)["churned_customers"].sum()
    # April: 4 churned (the fixture's m), May: none, June: 6.
    assert per_month.to_dict() == {4: 4, 5: 0, 6: 6}


def test_churn_by_month_draws_a_window_without_churn_at_0(
    churn_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No churn in any of the window's months: the bars gave way to a "No data for churn by
    type" warning, as if the months were not known."""
    with duckdb.connect(str(churn_warehouse)) as con:  # no churn from April to June either
        con.execute(
            "delete from marts.mart_churn where period_start in (?, ?)", [month(4), month(6)]
        )
    app = run_page("churn_reasons.py", churn_warehouse, monkeypatch).run()
    app = app.selectbox[0].set_value(3).run()  # April to June
    assert not app.exception, [e.value for e in app.exception]
    assert not app.warning, [w.value for w in app.warning]
    bars = chart_data(app, 0)
    per_month = bars.groupby(bars["period_start"].dt.month)["churned_customers"].sum()
    assert per_month.to_dict() == {4: 0, 5: 0, 6: 0}  # the fixture's May, and April and June
    assert [box.value for box in app.info] == [
        "No churned customer in the last 3 complete months: no reason to show."
    ]


def _churn_reasons_with(
    warehouse: Path,
    monkeypatch: pytest.MonkeyPatch,
    churn_type: str,
    reason_code: str,
    customers: int,
    mrr: float,
):
    """The churn-reasons page after one more contract row in June: the app, its table and
    the table's (churn type, reason) pairs as shown."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "insert into marts.mart_churn values ('contract', 'month', ?, ?, ?, ?, ?)",
            [month(6), churn_type, reason_code, customers, mrr],
        )
    app = ran("churn_reasons.py", warehouse, monkeypatch)
    reasons = app.dataframe[0].value
    return app, reasons, set(zip(reasons["churn_type"], reasons["reason_code"], strict=True))


def test_churn_by_reason_explains_an_unknown_churn_without_a_reason_code(
    churn_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancellation without a reason code is churn type unknown, reason unspecified (as
    a code missing from the reference list is unknown with its own code): the caption said
    unknown was only "a reason not in the reference list"."""
    app, _, cells = _churn_reasons_with(
        churn_warehouse, monkeypatch, "unknown", "unspecified", 1, 5.0
    )
    assert ("Unknown", "Unspecified") in cells  # in words, as every category value
    (legend,) = [c.value for c in app.caption if "Churn type:" in c.value]
    assert "unknown (a cancellation without a reason code, shown as unspecified, or " in legend


def test_churn_by_reason_names_the_months_a_short_basis_has(
    churn_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twelve months asked for, six complete (January to June): the note said "in the last
    12 complete months" of a window that held six."""
    with duckdb.connect(str(churn_warehouse)) as con:  # no churn in any complete month
        con.execute("delete from marts.mart_churn where period_start < ?", [month(7)])
    app = run_page("churn_reasons.py", churn_warehouse, monkeypatch).run()
    app = app.selectbox[0].set_value(12).run()
    assert not app.exception, [e.value for e in app.exception]
    bars = chart_data(app, 0)
    assert sorted(bars["period_start"].dt.month) == [1, 2, 3, 4, 5, 6]  # every month, at 0
    assert "The window asks for 12 months: it shows the only 6 complete months so far." in [
        c.value for c in app.caption
    ]
    assert [box.value for box in app.info] == [
        "No churned customer in the only 6 complete months so far: no reason to show."
    ]


def test_churn_by_reason_without_complete_months_warns(
    churn_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The order basis has no month at all here: a warning, not zero bars."""
    app = run_page("churn_reasons.py", churn_warehouse, monkeypatch).run()
    app = app.radio[0].set_value("order").run()
    assert not app.exception, [e.value for e in app.exception]
    assert [w.value for w in app.warning][:1] == ["No data for churn by type."]


def test_winback_leaves_out_the_incomplete_month_of_a(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A in July: July's churn events and win-backs so far were in the table as a month."""
    path = tmp_path / "winback.duckdb"
    with duckdb.connect(str(path)) as con:
        marts(
            con,
            fct_periods=FCT_PERIODS,
            mart_winback=MART_WINBACK,
        )
        fct_months(con, "contract", first=5)  # May, June complete; July (A's month) not
        # (month, churn events, won back, eligible for 30 days, won back within 30 days)
        for m, events, won_back, eligible, within in [(5, 4, 2, 4, 1), (6, 2, 1, 2, 1),
                                                      (7, 3, 0, 0, 0)]:  # fmt: skip
            con.execute(
                "insert into marts.mart_winback values ('contract', ?, 'push', ?, ?, ?, ?, ?, ?)",
                [month(m), events, won_back, won_back / events, eligible, within,
                 within / eligible if eligible else None],
            )  # fmt: skip
    app = ran("winback.py", path, monkeypatch)
    table = app.dataframe[1].value
    assert [d.month for d in table["churn_month"]] == [5, 6]
    assert table["churn_events"].sum() == 4 + 2  # not July's 3
    totals = app.dataframe[0].value  # unchanged: July's events are not 30 days old
    assert totals[["eligible", "won_back"]].values.tolist() == [[4 + 2, 1 + 1]]


def test_winback_names_the_eligible_events_its_bars_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five churn events in May, three won back within 30 days (all five are 30 days old),
    one of the two that are 365 days old won back within 365: the 365-day bar (1) is lower
    than the 30-day one (3), under an axis that called both "churn events won back", as if
    fewer had come back within a year than within a month."""
    path = tmp_path / "winback.duckdb"
    with duckdb.connect(str(path)) as con:
        marts(
            con,
            fct_periods=FCT_PERIODS,
            mart_winback=MART_WINBACK + ", eligible_365 bigint, won_back_within_365 bigint, "
            "winback_rate_365 double",
        )
        fct_months(con, "order", first=5)
        # 5 events, 3 won back: within 30 days 3 of 5 eligible, within 365 days 1 of 2.
        con.execute(
            "insert into marts.mart_winback values "
            "('order', ?, 'silent', 5, 3, 0.6, 5, 3, 0.6, 2, 1, 0.5)",
            [month(5)],
        )
    app = run_page("winback.py", path, monkeypatch).run()
    app = app.radio[0].set_value("order").run()
    assert not app.exception, [e.value for e in app.exception]
    bars = chart_data(app, 0)
    assert dict(zip(bars["window"], bars["won_back"], strict=True)) == {
        "30 days": 3,
        "365 days": 1,
    }
    spec = json.loads(app.get("vega_lite_chart")[0].proto.spec)
    assert spec["encoding"]["y"]["title"] == "Eligible churn events won back"
    assert any("its bar can be lower than a shorter window's" in c.value for c in app.caption)


@pytest.mark.parametrize(
    ("grace", "said"),
    [
        # A build with contract_grace_days 14: the page said "(30 by default)".
        (14, "On the contract basis a gap between contracts of up to 14 days is bridged "
         "(`contract_grace_days`), so such a gap is no churn at all: a window that short has "
         "no win-back by definition."),
        # No grace: no window is empty by definition.
        (0, "On the contract basis no gap between contracts is bridged (`contract_grace_days` "
         "is 0)."),
        # A warehouse built before the var was recorded: its default, as such.
        (None, "On the contract basis a gap between contracts of up to 30 days by default is "
         "bridged (the var `contract_grace_days`), so such a gap is no churn at all: a window "
         "that short has no win-back by definition."),
    ],
    ids=["14 days", "0 days", "not recorded"],
)  # fmt: skip
def test_winback_names_the_contract_grace_of_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, grace: int | None, said: str
) -> None:
    path = tmp_path / "winback.duckdb"
    with duckdb.connect(str(path)) as con:
        marts(
            con,
            fct_periods=FCT_PERIODS,
            mart_winback=MART_WINBACK,
        )
        fct_months(con, "contract", first=5)
        con.execute(
            "insert into marts.mart_winback values ('contract', ?, 'push', 2, 1, 0.5, 2, 1, 0.5)",
            [month(5)],
        )
        reporting_date(con, date(2024, 7, 15))
        if grace is not None:
            con.execute("alter table intermediate.int_reporting_params add column "
                        "contract_grace_days integer")  # fmt: skip
            con.execute("update intermediate.int_reporting_params set contract_grace_days = ?",
                        [grace])  # fmt: skip
    app = ran("winback.py", path, monkeypatch)
    (caption,) = [c.value for c in app.caption if c.value.startswith("A churn event is won")]
    assert caption.endswith(f"Complete churn months only. {said}")


@pytest.fixture
def overview_warehouse(tmp_path: Path) -> Path:
    """Order-basis months January to March 2024, March not complete: February against
    January, churn 9.96 % − 10 % = −0.04 points, retention 90.04 % − 90 % = +0.04 points,
    customers 104 − 100 = +4."""
    path = tmp_path / "overview.duckdb"
    with duckdb.connect(str(path)) as con:
        marts(
            con,
            fct_periods=f"{FCT_PERIODS}, customers_end bigint, churn_rate double, "
            "retention_rate double, mrr_end double, gross_revenue_retention double, "
            "net_revenue_retention double",
        )
        con.execute("create schema meta")
        con.execute("create table meta.build_state as select timestamp '2024-03-02' as changed_at")
        # (month, customers at the end, churn rate, retention rate)
        for m, customers, churn, retention in [(1, 100, 0.1, 0.9), (2, 104, 0.0996, 0.9004),
                                               (3, 50, 0.5, 0.5)]:  # fmt: skip
            con.execute(
                "insert into marts.fct_periods (basis, period_grain, period_start, "
                "is_complete_period, customers_end, churn_rate, retention_rate) "
                "values ('order', 'month', ?, ?, ?, ?, ?)",
                [month(m), m < 3, customers, churn, retention],
            )
    return path


def test_overview_shows_a_change_that_rounds_to_zero_as_0_0_pp(
    overview_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change of -0.04 points showed as "-0.0 pp" (and +0.04 as "+0.0 pp")."""
    app = ran("overview.py", overview_warehouse, monkeypatch)
    deltas = {metric.label: metric.delta for metric in app.metric}
    assert deltas == {"Active customers": "+4", "Churn rate": "0.0 pp", "Retention rate": "0.0 pp"}


def test_overview_draws_no_arrow_for_a_change_that_rounds_to_zero(
    overview_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streamlit takes a delta for a rise unless it starts with "-": "0.0 pp" had the green
    up arrow (red for the churn rate, whose colours are inverted)."""
    with duckdb.connect(str(overview_warehouse)) as con:
        # Contract basis, February against January: customers 50 − 50 = 0 (shown as "+0"
        # before); churn 2 % and retention 98 % unchanged (0.0 pp); MRR 999.7 − 1000 = −0.3,
        # shown as 0 (it was "-0"); GRR 95 % unchanged (0.0 pp); NRR 102 % − 100 % = +2.0 pp,
        # a rise.
        for m, mrr, nrr in [(1, 1000.0, 1.0), (2, 999.7, 1.02), (3, 10.0, 0.1)]:
            con.execute(
                "insert into marts.fct_periods values "
                "('contract', 'month', ?, ?, 50, 0.02, 0.98, ?, 0.95, ?)",
                [month(m), m < 3, mrr, nrr],
            )
    app = ran("overview.py", overview_warehouse, monkeypatch)
    up = (MetricProto.MetricDirection.UP, MetricProto.MetricColor.GREEN)  # green up arrow
    flat = (MetricProto.MetricDirection.NONE, MetricProto.MetricColor.GRAY)  # grey, no arrow
    shown = [(m.label, m.value, m.delta, (m.proto.direction, m.proto.color)) for m in app.metric]
    # The figures are February's (the latest complete month), not January's or March's:
    # order basis 104 customers, churn 9.96 % -> 10.0%, retention 90.04 % -> 90.0%; contract
    # basis 50 customers, 2.0%, 98.0%, MRR 999.7 -> 1,000, GRR 95.0%, NRR 1.02 -> 102.0%
    # (January's was 100.0%, March's 10.0%).
    assert shown == [
        # order basis
        ("Active customers", "104", "+4", up),
        ("Churn rate", "10.0%", "0.0 pp", flat),
        ("Retention rate", "90.0%", "0.0 pp", flat),
        # contract basis
        ("Active customers", "50", "0", flat),
        ("Churn rate", "2.0%", "0.0 pp", flat),
        ("Retention rate", "98.0%", "0.0 pp", flat),
        ("MRR", "1,000", "0", flat),  # no currency recorded in this warehouse
        ("GRR", "95.0%", "0.0 pp", flat),
        ("NRR", "102.0%", "+2.0 pp", up),
    ]


def _cohorts_by_channel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: str, customers: str, months: int
) -> AppTest:
    """The cohort page by acquisition channel on a warehouse of the dim_customers `rows`
    (customer_id, acquisition_channel, country, segment), the `customers` named (ids apart
    by spaces) in the contract cohort of January 2022, active in its months 0 to
    `months` - 1, all complete."""
    path = tmp_path / "cohorts.duckdb"
    members = ", ".join(f"('{c}')" for c in customers.split())
    with duckdb.connect(str(path)) as con:
        marts(con, dim_customers="customer_id varchar, acquisition_channel varchar, "
              "country varchar, segment varchar")  # fmt: skip
        con.execute(f"insert into marts.dim_customers values {rows}")
        con.execute("create schema intermediate")
        con.execute(
            "create table intermediate.int_customer_cohort_months as "
            "select c as customer_id, 'contract' as basis, date '2022-01-01' as cohort_month, "
            "k as months_since_cohort, true as is_active, true as is_complete_month "
            f"from range({months}) t(k), (values {members}) v(c)"
        )
    app = run_page("cohorts.py", path, monkeypatch).run()
    app = app.radio[0].set_value("by acquisition channel").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_cohort_retention_curve_of_the_first_24_months_has_24_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The curve of the "first 24 months" drew months 0 to 24: 25 points."""
    # c1's contract cohort is January 2022, active in each of its months 0 to 29 (all
    # complete): more months than the curve shows.
    app = _cohorts_by_channel(
        tmp_path, monkeypatch, "('c1', 'email', 'DE', 'smb')", customers="c1", months=30
    )
    assert app.selectbox[0].value == "email"
    # Charts: the contract heatmap, then the contract curve (the order basis has no rows).
    curve = chart_data(app, 1)
    assert curve["months_since_cohort"].tolist() == list(range(24))  # months 0..23
    assert "month 0 (the cohort month) to month 23" in app.caption[-1].value


def test_cohorts_of_a_channel_are_chosen_and_drawn_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The channel to choose read "paid_search (2 customers)", its heatmaps "acquisition
    channel paid_search" and its curve's legend "paid_search": each reads "Paid search",
    and the code still picks the channel's customers. A channel of one customer reads
    "Email (1 customer)" (it read "1 customers")."""
    # c1 and c2 in the contract cohort of January 2022, active in its months 0 to 2.
    rows = (
        "('c1', 'paid_search', 'NL', 'consumer'), ('c2', 'paid_search', 'NL', 'consumer'), "
        "('c3', 'email', 'NL', 'consumer')"
    )
    app = _cohorts_by_channel(tmp_path, monkeypatch, rows, customers="c1 c2", months=3)
    (channel,) = app.selectbox
    # Most customers first: paid_search 2, email 1.
    assert channel.options == ["Paid search (2 customers)", "Email (1 customer)"]
    assert channel.value == "paid_search"  # the code, for the query
    assert "Contract basis, acquisition channel Paid search" in [h.value for h in app.subheader]
    # The contract heatmap: months 0 to 2, each cell 2 active of 2.
    assert chart_data(app, 0)["active_customers"].tolist() == [2, 2, 2]
    curves = chart_data(app, 1)
    assert set(curves["segment_value"]) == {"Paid search"}


# The columns of fct_periods the MRR page reads beside FCT_PERIODS.
MRR_COLUMNS = (
    "mrr_start", "new_mrr", "reactivation_mrr", "expansion_mrr", "contraction_mrr",
    "churned_mrr", "mrr_end", "gross_revenue_retention", "net_revenue_retention",
)  # fmt: skip


def test_mrr_waterfall_movements_and_retention_of_the_complete_months(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The MRR page's own arithmetic: the waterfall's running levels, contraction and churn
    drawn as decreases, and only complete contract-basis months."""
    path = tmp_path / "mrr.duckdb"
    with duckdb.connect(str(path)) as con:
        marts(con, fct_periods=f"{FCT_PERIODS}, " + ", ".join(f"{c} double" for c in MRR_COLUMNS))
        # (month, complete, start, new, reactivation, expansion, contraction, churned, end,
        # GRR, NRR). January: 1000 + 200 + 50 + 30 − 20 − 100 = 1160; GRR (1000 − 20 − 100)
        # / 1000 = 0.88, NRR (1000 + 30 − 20 − 100) / 1000 = 0.91. February: 1160 + 40 − 60
        # = 1140; GRR 1100 / 1160, NRR 1140 / 1160. March: not complete.
        for row in [(1, True, 1000, 200, 50, 30, 20, 100, 1160, 0.88, 0.91),
                    (2, True, 1160, 0, 0, 40, 0, 60, 1140, 1100 / 1160, 1140 / 1160),
                    (3, False, 1140, 999, 0, 0, 0, 0, 2139, 1.0, 1.0)]:  # fmt: skip
            con.execute(
                "insert into marts.fct_periods values ('contract', 'month', ?, ?, "
                + ", ".join("?" * len(MRR_COLUMNS))
                + ")",
                [month(row[0]), *row[1:]],
            )
    app = ran("mrr.py", path, monkeypatch)
    assert app.selectbox[0].options == ["February 2024", "January 2024"]  # latest first
    app = app.selectbox[0].select_index(1).run()  # January
    waterfall = chart_data(app, 0)
    # Each step starts where the one before ended; the totals start at 0.
    assert waterfall[["step", "from", "to", "amount"]].values.tolist() == [
        ["MRR at start", 0, 1000, 1000],
        ["New MRR", 1000, 1200, 200],
        ["Reactivation MRR", 1200, 1250, 50],
        ["Expansion MRR", 1250, 1280, 30],
        ["Contraction MRR", 1280, 1260, -20],
        ["Churned MRR", 1260, 1160, -100],
        ["MRR at end", 0, 1160, 1160],
    ]
    # The movements' legend names each movement as the waterfall does: it read "new_mrr"
    # beside the waterfall's "New".
    movements = chart_data(app, 1)
    got = {(r.period_start.month, r.movement): r.mrr for r in movements.itertuples()}
    assert got == {
        (1, "New MRR"): 200, (1, "Reactivation MRR"): 50, (1, "Expansion MRR"): 30,
        (1, "Contraction MRR"): -20, (1, "Churned MRR"): -100,
        (2, "New MRR"): 0, (2, "Reactivation MRR"): 0, (2, "Expansion MRR"): 40,
        (2, "Contraction MRR"): 0, (2, "Churned MRR"): -60,
    }  # fmt: skip
    spec = json.loads(app.get("vega_lite_chart")[1].proto.spec)
    assert spec["encoding"]["color"]["scale"]["domain"] == waterfall["step"].tolist()[1:-1]
    rates = chart_data(app, 2)
    got = {(r.period_start.month, r.measure): r.rate for r in rates.itertuples()}
    assert got == pytest.approx({
        (1, "Gross revenue retention"): 0.88, (1, "Net revenue retention"): 0.91,
        (2, "Gross revenue retention"): 1100 / 1160, (2, "Net revenue retention"): 1140 / 1160,
    }, abs=1e-12)  # fmt: skip


def test_clv_page_shows_the_channel_rows_and_ratios_where_there_are_some(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "clv.duckdb"
    with duckdb.connect(str(path)) as con:
        marts(
            con,
            mart_clv=MART_CLV,
        )
        # Three channels beside two decoys (the `all` row and a cohort year): email without
        # contracts, organic without marketing spend (no ratio), paid with both.
        con.executemany(
            "insert into marts.mart_clv values (?, ?, 10, 4, ?, ?, ?, ?, ?)",
            [("all", "all", 700.0, 100.0, 100.0, 200.0, 1.0),
             ("acquisition_channel", "email", 300.0, 75.0, 300.0, None, 4.0),
             ("acquisition_channel", "organic", None, None, 120.0, 500.0, None),
             ("acquisition_channel", "paid", 400.0, 100.0, 50.0, 80.0, 0.5),
             ("cohort_year", "2024", 700.0, 100.0, 999.0, 999.0, 9.99)],
        )  # fmt: skip
    app = ran("clv.py", path, monkeypatch)
    assert not app.warning, [w.value for w in app.warning]
    values = chart_data(app, 0)
    # Both bases of each channel; email's missing contract CLV is no bar (not a 0).
    assert sorted(values[["channel", "basis", "value"]].values.tolist()) == [
        ["Email", "Order basis", 300.0],
        ["Organic", "Contract basis", 500.0],
        ["Organic", "Order basis", 120.0],
        ["Paid", "Contract basis", 80.0],
        ["Paid", "Order basis", 50.0],
    ]
    # The ratio bars with the 3:1 rule over them: a layered chart, whose bars hold the rows
    # (the rule's dataset has no columns).
    (ratios,) = [
        frame
        for dataset in app.get("vega_lite_chart")[1].proto.datasets
        if "channel" in (frame := pa.ipc.open_stream(dataset.data.data).read_pandas())
    ]
    # Only the channels with marketing spend: email 300 / 75 = 4.0, paid 50 / 100 = 0.5.
    assert dict(zip(ratios["channel"], ratios["ltv_to_cac"], strict=True)) == {
        "Email": 4.0,
        "Paid": 0.5,
    }
    # The table: the channels, highest CLV first.
    assert app.dataframe[0].value["channel"].tolist() == ["Email", "Organic", "Paid"]


@pytest.fixture
def nps_warehouse(tmp_path: Path) -> Path:
    """Order-basis months January to July 2024 (July not complete), contract-basis months
    from April only (the first contract); NPS responses in every month from February."""
    path = tmp_path / "nps.duckdb"
    with duckdb.connect(str(path)) as con:
        marts(
            con,
            fct_periods=FCT_PERIODS,
            mart_nps=MART_NPS,
        )
        fct_months(con, "order", first=1)
        fct_months(con, "contract", first=4)
        reporting_date(con, date(2024, 7, 15))
        for m in range(2, 8):
            con.execute(
                "insert into marts.mart_nps values ('month', ?, 'all', 'all', 2, 1, 0, 1, 0.0)",
                [month(m)],
            )
    return path


def test_nps_months_are_complete_on_either_basis(
    nps_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETENTION_DB_PATH", str(nps_warehouse))
    monkeypatch.syspath_prepend(str(DASHBOARD))
    from warehouse import complete_period_rows_of_either_basis

    rows = complete_period_rows_of_either_basis("mart_nps", "month")
    # February to June: not only the contract basis' months, not July (not complete).
    assert [d.month for d in rows["period_start"]] == [2, 3, 4, 5, 6]


def test_nps_months_before_the_first_activity_are_shown(
    nps_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first purchase in April (the order basis' months start there, as the contract
    basis' do): February's and March's NPS responses, older than any activity, have no
    fct_periods month to be complete in, and the page left them out without a word."""
    with duckdb.connect(str(nps_warehouse)) as con:
        con.execute("delete from marts.fct_periods where period_start < ?", [month(4)])
    app = ran("nps.py", nps_warehouse, monkeypatch)
    trend = chart_data(app, 0)
    # February to June: February and March end before April's first activity (so before A);
    # July, the month of A, is not complete.
    assert trend["period_start"].dt.month.tolist() == [2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("as_of", "months"),
    [
        # A in mid-July: July, the month of A, is not over, so not complete.
        (date(2024, 7, 15), [2, 3, 4, 5, 6]),
        # A on July 31st, its last day: July ended on A, so it is complete.
        (date(2024, 7, 31), [2, 3, 4, 5, 6, 7]),
    ],
)
def test_nps_months_of_a_shop_without_customer_periods_are_shown(
    nps_warehouse: Path, monkeypatch: pytest.MonkeyPatch, as_of: date, months: list[int]
) -> None:
    """Customers who answered surveys but never bought or held a contract: fct_periods has
    no row at all, and the page showed "No data for NPS trend" over six months of
    responses. A month is complete when it ended on or before A, as in fct_periods."""
    with duckdb.connect(str(nps_warehouse)) as con:
        con.execute("delete from marts.fct_periods")
        con.execute("update intermediate.int_reporting_params set as_of_date = ?", [as_of])
    app = ran("nps.py", nps_warehouse, monkeypatch)
    trend = chart_data(app, 0)
    # The fixture's responses: one row a month from February to July.
    assert trend["period_start"].dt.month.tolist() == months


def test_churn_by_reason_has_no_churned_mrr_on_the_order_basis(
    churn_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with duckdb.connect(str(churn_warehouse)) as con:  # the same months on the order basis
        con.execute(
            "insert into marts.fct_periods select 'order', * exclude (basis) from marts.fct_periods"
        )
        con.execute(
            "insert into marts.mart_churn select 'order', period_grain, period_start, 'silent', "
            "'none', churned_customers, null from marts.mart_churn"
        )
    app = run_page("churn_reasons.py", churn_warehouse, monkeypatch).run()
    app = app.radio[0].set_value("order").run()
    assert not app.exception, [e.value for e in app.exception]
    reasons = app.dataframe[0].value
    assert reasons["churned_customers"].sum() == 1 + 2 + 3 + 4 + 6
    assert reasons["churned_mrr"].isna().all()  # null in mart_churn, not 0


def test_churn_by_reason_names_a_churn_without_a_cancellation_in_words(
    churn_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Silent churn (no cancellation request: a contract ran out, or purchases stopped) has
    the reason code `none` in mart_churn, which the page showed as "None", as if the reason
    were missing: it is "No cancellation" in the table and on the chart's axis, and the
    caption says so."""
    app, reasons, cells = _churn_reasons_with(
        churn_warehouse, monkeypatch, "silent", "none", 7, 70.0
    )
    assert ("Silent", "No cancellation") in cells
    assert "None" not in set(reasons["reason_code"])
    by_reason = chart_data(app, 1)  # after the chart by month
    assert "No cancellation" in set(by_reason["reason_code"])
    (legend,) = [c.value for c in app.caption if "Churn type:" in c.value]
    assert "silent (no cancellation: activity or coverage just stopped; its reason is " in legend


@pytest.fixture
def saves_warehouse(tmp_path: Path) -> Path:
    """Contract-basis months January to July 2024 (A in July), saves requested every month;
    only those of January to March are 90 days old."""
    path = tmp_path / "saves.duckdb"
    with duckdb.connect(str(path)) as con:
        marts(
            con,
            fct_periods=FCT_PERIODS,
            mart_cancellation_saves="period_grain varchar, period_start date, "
            "churn_type varchar, reason_code varchar, is_retainable boolean, "
            "cancellation_requests bigint, final_offers_made bigint, saves bigint, "
            "offer_rate double, save_rate double, saved_mrr double, eligible_saves_90d bigint, "
            "saves_active_90d bigint, save_durability_90d double",
        )
        fct_months(con, "contract", first=1)
        reporting_date(con, date(2024, 7, 15))
        for m in range(1, 8):
            old = m <= 3
            con.execute(
                "insert into marts.mart_cancellation_saves values ('month', ?, 'push', 'price', "
                "true, 4, 2, 1, 0.5, 0.5, 9.0, ?, ?, ?)",
                [month(m), int(old), int(old), 1.0 if old else None],
            )
    return path


def test_saves_by_reason_offers_the_latest_complete_month(
    saves_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_page("saves.py", saves_warehouse, monkeypatch).run()
    app = app.radio[1].set_value("month").run()  # the breakdown's period
    assert not app.exception, [e.value for e in app.exception]
    period = app.selectbox[0]
    # Every complete month, latest first and chosen: June's saves are not 90 days old.
    assert period.options == ["June 2024", "May 2024", "April 2024", "March 2024",
                              "February 2024", "January 2024"]  # fmt: skip
    assert period.value.month == 6
    assert [d.month for d in app.dataframe[0].value["period_start"]] == [6]
    assert [box.value for box in app.info] == [
        "No save of this month is 90 days old yet: its survival is not measured."
    ]


def test_saves_say_why_the_breakdown_by_reason_is_by_year(
    saves_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The breakdown by reason is for a year unless one chooses otherwise, and the latest
    complete year can be 18 months old: nothing on the page said why."""
    breakdown = ran("saves.py", saves_warehouse, monkeypatch).radio[1]
    assert (breakdown.label, breakdown.value) == ("Breakdown by reason for one", "year")
    assert breakdown.help == (
        "A year by default: a quarter or a month has too few cancellation requests per "
        "reason for its rates to say much."
    )


def test_saves_draw_a_period_without_cancellation_requests_at_0(
    saves_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mart_cancellation_saves has no row for a month without a request: it was left out of
    the requests, offers and saves bars (and of saved MRR) instead of drawn at 0."""
    with duckdb.connect(str(saves_warehouse)) as con:
        con.execute("delete from marts.mart_cancellation_saves where period_start = ?", [month(5)])
    app = run_page("saves.py", saves_warehouse, monkeypatch).run()  # by month
    assert not app.exception, [e.value for e in app.exception]
    bars = chart_data(app, 0)
    per_month = bars.pivot_table(
        index=bars["period_start"].dt.month, columns="count", values="number", aggfunc="sum"
    )
    # January to June (July is not complete): each month's one mart row has 4 requests,
    # 2 final offers, 1 save; May has none.
    assert per_month.to_dict("index") == {
        m: {"Cancellation requests": 0, "Final offers made": 0, "Saves": 0}
        if m == 5
        else {"Cancellation requests": 4, "Final offers made": 2, "Saves": 1}
        for m in range(1, 7)
    }
    saved = chart_data(app, 1)
    # 9.0 saved MRR a month, 0 in May.
    assert dict(zip(saved["period_start"].dt.month, saved["saved_mrr"], strict=True)) == {
        m: 0.0 if m == 5 else 9.0 for m in range(1, 7)
    }
    spec = json.loads(app.get("vega_lite_chart")[0].proto.spec)
    # The first chart's bars count requests, offers and saves: its axis said "requests".
    assert spec["encoding"]["y"]["title"] == "Number"


def test_programmes_tell_a_significant_loss_from_a_significant_gain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A significant negative uplift was 'significant', in the same green as a gain."""
    path = tmp_path / "programmes.duckdb"
    columns = ", ".join(
        f"{name} double"
        for name in (
            "treatment_customers", "treatment_retained", "treatment_retention_rate",
            "treatment_revenue", "treatment_revenue_per_customer", "control_customers",
            "control_retained", "control_retention_rate", "control_revenue",
            "control_revenue_per_customer", "uplift", "uplift_ci_low", "uplift_ci_high",
            "incremental_customers_retained", "incremental_revenue", "programme_cost",
            "cost_per_incremental_customer", "return_on_cost",
        )
    )  # fmt: skip
    with duckdb.connect(str(path)) as con:
        marts(
            con,
            mart_retention_programmes=f"campaign varchar, basis varchar, {columns}, "
            "is_significant boolean",
        )
        # (campaign, uplift, interval, significant): a gain, a loss, neither, no customers.
        for campaign, uplift, low, high, significant in [
            ("a_gain", 0.2, 0.1, 0.3, True),
            ("b_loss", -0.2, -0.3, -0.1, True),
            ("c_unclear", 0.05, -0.05, 0.15, False),
            ("d_empty", None, None, None, None),
        ]:
            con.execute(
                "insert into marts.mart_retention_programmes (campaign, basis, uplift, "
                "uplift_ci_low, uplift_ci_high, is_significant) values (?, 'contract', ?, ?, ?, ?)",
                [campaign, uplift, low, high, significant],
            )
    app = ran("programmes.py", path, monkeypatch)
    # The horizon was "the programme horizon", its length and who counts unsaid.
    (caption,) = [c.value for c in app.caption]
    assert "active H days after their assignment (H = the var `programme_horizon_days`" in caption
    assert "counting the customers assigned at least H days before A" in caption
    table = app.dataframe[0].value
    assert dict(zip(table["campaign"], table["significance"], strict=True)) == {
        "A gain": "Significant gain",
        "B loss": "Significant loss",
        "C unclear": "Not significant",
        "D empty": "Not significant",
    }
    # The colours follow the words the legend shows: the page's domain names the page's own
    # words ("significant gain"), which the chart shows capitalised.
    spec = json.loads(app.get("vega_lite_chart")[0].proto.spec)  # the interval and the point
    domains = {tuple(e["color"]["scale"]["domain"]) for e in _encodings(spec) if "color" in e}
    assert domains == {("Significant gain", "Significant loss", "Not significant")}
    # The incremental customers retained are an estimate with decimals, not a whole count,
    # but as many as the customers: their thousands are separated too (it read 12345.67).
    configured = json.loads(app.dataframe[0].proto.columns)
    assert configured["incremental_customers_retained"]["type_config"]["format"] == "%,.2f"


def _midnight_timestamp_columns(frame: pd.DataFrame) -> list[str]:
    """The timestamp columns of `frame` whose every value is at midnight: dates that a table
    would show as 2024-06-01 00:00:00."""
    return [
        column
        for column, values in frame.items()
        if pd.api.types.is_datetime64_any_dtype(values)
        and len(values.dropna())
        and (values.dropna() == values.dropna().dt.normalize()).all()
    ]


# The pages that show no table, and the columns of the others' tables that hold dates (on
# the demo warehouse): the test below checks both, so that it cannot pass on a page whose
# table it never saw.
PAGES_WITHOUT_TABLES = {"overview.py", "cohorts.py", "mrr.py"}
DATE_COLUMNS = {"churn.py": ["period_start"], "saves.py": ["period_start"],
                "winback.py": ["churn_month"], "predictive.py": ["cohort_month"]}  # fmt: skip


@pytest.mark.parametrize("script", [page.script for page in PAGES])
def test_tables_show_dates_without_a_time(script: str, monkeypatch: pytest.MonkeyPatch):
    """Every table of every page, on the published warehouse (the demo): a mart's date (a
    churn month, a period start) is shown as a date, not as a timestamp at midnight. A page
    without a table is skipped by name; it passed this test without checking anything."""
    db_path = Path(os.environ.get("RETENTION_DB_PATH", DASHBOARD.parent / "warehouse.duckdb"))
    app = run_page(script, db_path.resolve(), monkeypatch).run()
    assert not app.exception, script
    shown = [frame.value for frame in app.dataframe]
    if script in PAGES_WITHOUT_TABLES:
        assert shown == [], f"{script} shows a table now: take it off PAGES_WITHOUT_TABLES"
        pytest.skip(f"{script} shows no table")
    assert shown, f"{script} showed no table on the demo warehouse"
    assert [_midnight_timestamp_columns(frame) for frame in shown] == [[]] * len(shown)
    dates = [
        column
        for frame in shown
        for column, values in frame.items()
        if len(values.dropna()) and all(type(v) is date for v in values.dropna())
    ]
    assert dates == DATE_COLUMNS.get(script, [])


def test_overview_labels_mrr_with_the_currency_the_build_recorded(
    overview_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Money is in the build's reporting currency (int_reporting_params); the MRR figure
    names it."""
    with duckdb.connect(str(overview_warehouse)) as con:
        con.execute(
            "insert into marts.fct_periods (basis, period_grain, period_start, "
            "is_complete_period, customers_end, churn_rate, retention_rate, mrr_end) "
            "values ('contract', 'month', ?, true, 10, 0.1, 0.9, 500.0)",
            [month(2)],
        )
        reporting_params(con, as_of_date=date(2024, 3, 2), reporting_currency="CHF")
    app = ran("overview.py", overview_warehouse, monkeypatch)
    assert [(m.label, m.value) for m in app.metric if "MRR" in m.label] == [("MRR (CHF)", "500")]


def _encodings(spec):
    """Every `encoding` of a Vega-Lite spec, in its layers and sub-charts too."""
    if isinstance(spec, dict):
        if "encoding" in spec:
            yield spec["encoding"]
        for value in spec.values():
            yield from _encodings(value)
    elif isinstance(spec, list):
        for value in spec:
            yield from _encodings(value)


@pytest.mark.parametrize("script", [page.script for page in PAGES])
def test_money_and_count_axes_start_at_0(script: str, monkeypatch: pytest.MonkeyPatch):
    """Every quantitative x or y axis of every chart on the published warehouse (the demo)
    that is not a rate (rates format their ticks with %) includes 0: the MRR waterfall's axis
    started at 95 % of the lowest level, so that a 2 % movement drew half a bar's height and
    the totals' bars were cut. Vega-Lite includes 0 unless a chart sets `zero: false` or a
    domain without 0."""
    db_path = Path(os.environ.get("RETENTION_DB_PATH", DASHBOARD.parent / "warehouse.duckdb"))
    app = run_page(script, db_path.resolve(), monkeypatch).run()
    assert not app.exception, script
    charts = [json.loads(chart.proto.spec) for chart in app.get("vega_lite_chart")]
    assert charts, f"{script} drew no chart on the demo warehouse"
    cut = [
        (encoding[channel].get("title"), scale)
        for spec in charts
        for encoding in _encodings(spec)
        for channel in ("x", "y")
        if isinstance(encoding.get(channel), dict)
        and encoding[channel].get("type") == "quantitative"
        and "%" not in (encoding[channel].get("axis") or {}).get("format", "")
        and (
            (scale := encoding[channel].get("scale") or {}).get("zero") is False
            or ("domain" in scale and not min(scale["domain"]) <= 0 <= max(scale["domain"]))
        )
    ]
    assert cut == []


def run_app(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The whole dashboard (app.py: the sidebar, then the first page), as `make dashboard`
    serves it."""
    monkeypatch.setenv("RETENTION_DB_PATH", str(db_path))
    monkeypatch.syspath_prepend(str(DASHBOARD))
    return AppTest.from_file(str(DASHBOARD / "app.py"), default_timeout=60).run()


def test_every_page_names_the_reporting_date_and_the_bases(
    overview_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No page said as of which day its figures were, nor what "order basis" and "contract
    basis" mean, though every page shows one or both."""
    with duckdb.connect(str(overview_warehouse)) as con:
        reporting_date(con, date(2024, 3, 2))
    app = run_app(overview_warehouse, monkeypatch)
    assert not app.exception, [e.value for e in app.exception]
    assert "**Reporting date (A): 2024-03-02**" in [m.value for m in app.sidebar.markdown]
    (bases,) = [c.value for c in app.sidebar.caption if "basis" in c.value]
    assert "**Order basis**: a customer is active for a while after each purchase" in bases
    assert "**Contract basis**: active while a subscription contract covers the day" in bases


def _sidebar_bases(app: AppTest) -> str:
    (bases,) = [c.value for c in app.sidebar.caption if "basis" in c.value]
    return bases


@pytest.mark.parametrize(
    ("inactivity", "grace", "order_rule", "contract_rule"),
    [
        # A shop that builds with --vars '{order_inactivity_days: 180, contract_grace_days:
        # 14}': the sidebar said "365 days by default" and "30 days by default".
        (180, 14, "a purchase keeps a customer active for 180 days (`order_inactivity_days`)",
         "a gap between contracts of up to 14 days is bridged (`contract_grace_days`)"),
        (1, 1, "a purchase keeps a customer active for 1 day (`order_inactivity_days`)",
         "a gap between contracts of up to 1 day is bridged (`contract_grace_days`)"),
        (365, 0, "a purchase keeps a customer active for 365 days (`order_inactivity_days`)",
         "no gap between contracts is bridged (`contract_grace_days` is 0)"),
    ],
    ids=["180 and 14 days", "1 day each", "no grace"],
)  # fmt: skip
def test_the_sidebar_states_the_bases_rules_with_the_vars_of_the_build(
    overview_warehouse: Path,
    monkeypatch: pytest.MonkeyPatch,
    inactivity: int,
    grace: int,
    order_rule: str,
    contract_rule: str,
) -> None:
    with duckdb.connect(str(overview_warehouse)) as con:
        reporting_params(
            con,
            as_of_date=date(2024, 3, 2),
            order_inactivity_days=inactivity,
            contract_grace_days=grace,
        )
    app = run_app(overview_warehouse, monkeypatch)
    assert not app.exception, [e.value for e in app.exception]
    bases = _sidebar_bases(app)
    assert f"**Order basis**: {order_rule}. " in bases
    assert f"covers the day; {contract_rule}." in bases
    assert "by default" not in bases


def test_a_warehouse_without_the_recorded_vars_names_their_defaults(
    overview_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warehouse built before int_reporting_params recorded order_inactivity_days and
    contract_grace_days: the sidebar names the defaults, as defaults."""
    with duckdb.connect(str(overview_warehouse)) as con:
        reporting_date(con, date(2024, 3, 2))  # int_reporting_params with as_of_date only
    app = run_app(overview_warehouse, monkeypatch)
    assert not app.exception, [e.value for e in app.exception]
    bases = _sidebar_bases(app)
    assert "after each purchase (365 days by default: the var `order_inactivity_days`)" in bases
    assert "up to 30 days by default is bridged (the var `contract_grace_days`)" in bases


def test_a_warehouse_without_a_reporting_date_shows_the_sidebar_without_it(
    overview_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file without int_reporting_params: the sidebar has no date, and no error of its
    own (the page below says what it lacks)."""
    app = run_app(overview_warehouse, monkeypatch)
    assert not app.exception, [e.value for e in app.exception]
    assert not [m.value for m in app.sidebar.markdown if "Reporting date" in m.value]
    assert [c.value for c in app.sidebar.caption if "basis" in c.value]


def test_the_sidebar_names_a_warehouse_in_the_checkout_by_its_path_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sidebar named the file whole: the README's picture of the dashboard showed a
    helper's `/tmp/helpers/.../warehouse.duckdb`. A file inside the checkout is named by
    its path there; one outside it, whole (the reader must be able to find it)."""
    monkeypatch.syspath_prepend(str(DASHBOARD))
    import warehouse

    repo = DASHBOARD.parent
    monkeypatch.delenv("RETENTION_DB_PATH", raising=False)
    assert warehouse.shown_db_path() == "warehouse.duckdb"  # `make demo`'s, the default
    monkeypatch.setenv("RETENTION_DB_PATH", str(repo / "target" / "test" / "warehouse.duckdb"))
    assert warehouse.shown_db_path() == "target/test/warehouse.duckdb"  # `make build-test`'s
    elsewhere = tmp_path / "shop.duckdb"
    monkeypatch.setenv("RETENTION_DB_PATH", str(elsewhere))
    assert warehouse.shown_db_path() == str(elsewhere.resolve())
    # The sidebar says it so (a file that is not there: the page below says so, not this).
    app = run_app(repo / "no-such-folder" / "shop.duckdb", monkeypatch)
    assert "Warehouse (read-only): `no-such-folder/shop.duckdb`" in [
        c.value for c in app.sidebar.caption
    ]


def test_every_overview_figure_says_what_it_measures(
    overview_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only "Active customers" had a help text: churn and retention rate, MRR, GRR and NRR
    were figures without a definition on the page."""
    with duckdb.connect(str(overview_warehouse)) as con:  # one complete contract month
        con.execute(
            "insert into marts.fct_periods values "
            "('contract', 'month', ?, true, 50, 0.02, 0.98, 1000.0, 0.95, 1.02)",
            [month(2)],
        )
    app = ran("overview.py", overview_warehouse, monkeypatch)
    helps = {(m.label, bool(m.proto.help)) for m in app.metric}
    assert helps == {
        (label, True)
        for label in ("Active customers", "Churn rate", "Retention rate", "MRR",
                      "GRR", "NRR")
    }  # fmt: skip
    grr = next(m.proto.help for m in app.metric if m.label == "GRR")
    assert grr.startswith("Gross revenue retention: (MRR at the start − contraction − churned")


# The money columns of each page's tables (on the demo warehouse) with their headers (the
# demo's currency is EUR, the var reporting_currency's default), and what marks a column as
# money by its name: the test below fails on a money column it does not know of.
MONEY_COLUMNS = {
    "churn_reasons.py": {"churned_mrr": "Churned MRR (EUR)"},
    "clv.py": {"marketing_spend": "Marketing spend (EUR)", "cac": "CAC (EUR)",
               "clv": "Order-basis CLV (EUR)", "contract_clv": "Contract-basis CLV (EUR)"},
    "predictive.py": {"expected_average_order_value": "Expected average order value (EUR)",
                      "predicted_clv_365d": "Predicted CLV, next 365 days (EUR)"},
    "saves.py": {"saved_mrr": "Saved MRR (EUR)"},
    "winback.py": {"won_back_mrr": "Won-back MRR (EUR)"},
    "programmes.py": {"incremental_revenue": "Incremental revenue (EUR)",
                      "programme_cost": "Programme cost (EUR)",
                      "cost_per_incremental_customer": "Cost per incremental customer (EUR)"},
}  # fmt: skip
MONEY_NAME = re.compile(r"mrr|revenue|cost|spend|cac|clv|order_value")
NOT_MONEY = {"ltv_to_cac", "return_on_cost"}  # ratios


@pytest.mark.parametrize("script", [page.script for page in PAGES])
def test_table_money_is_in_the_reporting_currency_to_the_cent(
    script: str, monkeypatch: pytest.MonkeyPatch
):
    """Every table's money column on the published warehouse (the demo) is headed with its
    label and the reporting currency and shown to the cent, thousands separated as in the
    tooltips: churned MRR read 931.4325 under "churned_mrr", won-back MRR 5.0917, CLV, CAC
    and costs named no currency, and 12,345.60 in a tooltip was 12345.60 in the table."""
    db_path = Path(os.environ.get("RETENTION_DB_PATH", DASHBOARD.parent / "warehouse.duckdb"))
    app = run_page(script, db_path.resolve(), monkeypatch).run()
    assert not app.exception, script
    shown, configured = set(), {}
    for frame in app.dataframe:
        shown |= {c for c in frame.value.columns if MONEY_NAME.search(c)} - NOT_MONEY
        configured |= {
            column: (config.get("label"), config.get("type_config", {}).get("format"))
            for column, config in json.loads(frame.proto.columns).items()
        }
    headers = MONEY_COLUMNS.get(script, {})
    assert shown == set(headers)
    # printf as Streamlit reads it: "," separates the thousands, ".2f" to the cent.
    assert {c: configured.get(c) for c in shown} == {c: (h, "%,.2f") for c, h in headers.items()}


def _chart_frames(chart) -> list[pd.DataFrame]:
    """Every dataset a chart was sent (a layered chart has one per layer's data)."""
    return [pa.ipc.open_stream(d.data.data).read_pandas() for d in chart.proto.datasets]


def test_clv_names_a_channel_in_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The channel `paid_search` read "paid_search" on the axes, in the tooltips and in the
    table: it reads "Paid search" in each, and the code is nowhere in the charts."""
    path = tmp_path / "clv.duckdb"
    with duckdb.connect(str(path)) as con:
        marts(con, mart_clv=MART_CLV)
        # email: CLV 300, LTV:CAC 4; paid_search: CLV 50, LTV:CAC 0.5.
        con.executemany(
            "insert into marts.mart_clv values ('acquisition_channel', ?, 10, 4, ?, ?, ?, ?, ?)",
            [("email", 300.0, 75.0, 300.0, None, 4.0),
             ("paid_search", 400.0, 100.0, 50.0, 80.0, 0.5)],
        )  # fmt: skip
    app = ran("clv.py", path, monkeypatch)
    clv, ratio = app.get("vega_lite_chart")
    for chart in (clv, ratio):
        assert "paid_search" not in chart.proto.spec
        assert [f for f in _chart_frames(chart) if f.isin(["paid_search"]).any().any()] == []
    # The CLV bars: the channels in the page's order (highest CLV first), now in words.
    assert json.loads(clv.proto.spec)["encoding"]["x"]["sort"] == ["Email", "Paid search"]
    assert set(chart_data(app, 0)["channel"]) == {"Email", "Paid search"}
    # The LTV:CAC bars, with each channel's CAC in their tooltip.
    (bars,) = [f for f in _chart_frames(ratio) if "channel" in f]
    assert dict(zip(bars["channel"], bars["cac"], strict=True)) == {
        "Email": 75.0,
        "Paid search": 100.0,
    }
    assert app.dataframe[0].value["channel"].tolist() == ["Email", "Paid search"]


def test_clv_names_its_bases_and_its_year(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The CLV bars' legend read "clv" and "contract_clv", and the page did not say that
    mart_clv's figures are those of the trailing year up to A, nor which CLV LTV:CAC uses."""
    path = tmp_path / "clv.duckdb"
    with duckdb.connect(str(path)) as con:
        marts(con, mart_clv=MART_CLV)
        # email: spend 300 on 2 acquired customers, CAC 150, CLV 600, LTV:CAC 4.
        con.execute(
            "insert into marts.mart_clv values "
            "('acquisition_channel', 'email', 5, 2, 300.0, 150.0, 600.0, 900.0, 4.0)"
        )
        # A = 2024-07-15, Y from A − 364 = 2023-07-17.
        reporting_params(
            con, as_of_date=date(2024, 7, 15), trailing_year_start_date=date(2023, 7, 17)
        )
    app = ran("clv.py", path, monkeypatch)
    bars = chart_data(app, 0)
    assert dict(zip(bars["basis"], bars["value"], strict=True)) == {
        "Order basis": 600.0,
        "Contract basis": 900.0,
    }
    (caption,) = [c.value for c in app.caption]
    assert caption.startswith("Over the trailing year 2023-07-17 to 2024-07-15. ")
    assert "LTV:CAC = order-basis CLV ÷ CAC" in caption


def test_predictive_page_says_why_a_contract_cohort_has_no_projection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sBG fits were bars per fit_status ("invalid_input", "not_converged", ...) and the
    survival chart offered only the converged cohorts: a cohort missing from it had no word
    of why, though the mart says so in fit_message."""
    path = tmp_path / "predictive.duckdb"
    with duckdb.connect(str(path)) as con:
        marts(con, **PREDICTIVE_MARTS)
        # Two cohorts, each with its alpha and beta rows: May 2024 too young, June 2023 fitted.
        rows = [("2024-05-01", None, 26, "insufficient_periods",
                 "1 periods after period 0, at least 3 needed"),
                ("2023-06-01", 0.5, 21, "ok", "converged")]  # fmt: skip
        for cohort, value, size, status, message in rows:
            for parameter in ("alpha", "beta"):
                con.execute(
                    "insert into marts.mart_clv_model_parameters values "
                    "('sbg', ?, ?, ?, ?, null, ?, ?)",
                    [cohort, parameter, value, size, status, message],
                )
    app = ran("predictive.py", path, monkeypatch)
    (fits,) = [
        f.value for f in app.dataframe if "fit_message" in f.value and "cohort_month" in f.value
    ]
    assert fits.values.tolist() == [
        [
            date(2024, 5, 1),
            26,
            "Insufficient periods",
            "1 periods after period 0, at least 3 needed",
        ],
        [date(2023, 6, 1), 21, "OK", "converged"],
    ]
    # Each status as the chart and the table name it, with the mart's code.
    assert any(
        "Insufficient periods (`insufficient_periods`): the cohort is too young" in c.value
        for c in app.caption
    )


def test_predictive_page_projects_a_cohort_at_the_geometric_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cohort whose sBG fit is at its geometric limit (fit_status geometric_limit: alpha
    and beta infinite, null) has a projection, (1 - churn probability)^k: the survival chart
    offers it beside the `ok` cohorts and says which model projects it."""
    path = tmp_path / "predictive.duckdb"
    with duckdb.connect(str(path)) as con:
        marts(con, **PREDICTIVE_MARTS)
        # June 2023 an sBG fit; September 2023 at the limit, churn probability 0.1 a month.
        rows = [("2023-06-01", "alpha", 0.5, "ok"), ("2023-06-01", "beta", 1.5, "ok"),
                ("2023-09-01", "alpha", None, "geometric_limit"),
                ("2023-09-01", "beta", None, "geometric_limit"),
                ("2023-09-01", "churn_probability", 0.1, "geometric_limit")]  # fmt: skip
        for cohort, parameter, value, status in rows:
            con.execute(
                "insert into marts.mart_clv_model_parameters values "
                "('sbg', ?, ?, ?, 1000, -1.0, ?, '')",
                [cohort, parameter, value, status],
            )
        # September: S(k) = 0.9^k = 1, 0.9, 0.81, 0.729; months 0 and 1 observed. June: the
        # sBG's S(1) = beta / (alpha + beta) = 1.5 / 2 = 0.75.
        survival = [("2023-09-01", 0, 1.0, 1.0), ("2023-09-01", 1, 0.91, 0.9),
                    ("2023-09-01", 2, None, 0.81), ("2023-09-01", 3, None, 0.729),
                    ("2023-06-01", 0, 1.0, 1.0), ("2023-06-01", 1, 0.7, 0.75)]  # fmt: skip
        for cohort, k, observed, projected in survival:
            june = cohort == "2023-06-01"
            con.execute(
                "insert into marts.mart_contract_survival values (?, ?, 1000, ?, ?, ?, ?, ?, ?)",
                [cohort, k, observed, projected, observed is None,
                 0.5 if june else None, 1.5 if june else None,
                 "ok" if june else "geometric_limit"],
            )  # fmt: skip
    app = ran("predictive.py", path, monkeypatch)
    (cohorts,) = [box for box in app.selectbox if box.label.startswith("Contract cohort")]
    assert cohorts.options == ["September 2023", "June 2023"]  # latest first
    assert cohorts.value == pd.Timestamp("2023-09-01")
    assert any(
        "the sBG's geometric limit, churn probability 10.00% a month" in c.value
        for c in app.caption
    )
    assert any(
        "Geometric limit (`geometric_limit`): the cohort loses customers" in c.value
        for c in app.caption
    )
    # The survival chart's layers: the lines and the "projection only" marker.
    frames = [
        pa.ipc.open_stream(d.data.data).read_pandas()
        for d in app.get("vega_lite_chart")[-1].proto.datasets
    ]
    (lines,) = [f for f in frames if "series" in f]
    projected = lines[lines["series"] == "Projected"].sort_values("months_since_cohort")
    assert projected["retention"].tolist() == [1.0, 0.9, 0.81, 0.729]


def test_churn_table_shows_each_period_on_both_bases_in_one_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table of the latest periods, latest first, had no order between a period's two
    rows: on the demo, June 2024 was order then contract and February contract then order.
    Fourteen months on both bases (more rows than a stable insertion sort covers), the
    latest 6 complete ones shown, each order basis first."""
    path = tmp_path / "churn.duckdb"
    columns = ("customers_start", "churned", "retained", "new", "reactivated",
               "customers_end", "churn_rate", "retention_rate")  # fmt: skip
    with duckdb.connect(str(path)) as con:
        marts(con, fct_periods=f"{FCT_PERIODS}, " + ", ".join(f"{c} double" for c in columns))
        for m in range(14):  # January 2023 to February 2024, February not complete
            for basis in ("contract", "order"):
                con.execute(
                    "insert into marts.fct_periods (basis, period_grain, period_start, "
                    "is_complete_period, churn_rate) values (?, 'month', ?, ?, 0.01)",
                    [basis, date(2023 + m // 12, m % 12 + 1, 1), m < 13],
                )
    app = ran("churn.py", path, monkeypatch)
    shown = app.dataframe[0].value
    # January 2024 back to August 2023.
    months = [date(2024, 1, 1)] + [date(2023, m, 1) for m in (12, 11, 10, 9, 8)]
    assert list(zip(shown["period_start"], shown["basis"], strict=True)) == [
        (m, basis) for m in months for basis in ("Order", "Contract")
    ]
    assert "The latest 6 complete months" in [h.value for h in app.subheader]


@pytest.mark.parametrize(("rows", "height"), [(12, "content"), (25, "content"), (26, "auto")])
def test_a_short_table_is_shown_whole(
    rows: int, height: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streamlit shows ten rows of a table and scrolls the rest inside the box: the churn
    reasons' 11th reason, the "top 20 customers" 11th to 20th and the saves table's last
    reasons were out of view with nothing to say so. Up to 25 rows are shown whole."""
    monkeypatch.syspath_prepend(str(DASHBOARD))
    import warehouse

    shown = []
    monkeypatch.setattr(warehouse.st, "dataframe", lambda frame, **kw: shown.append(kw))
    warehouse.table(pd.DataFrame({"n": range(rows)}))
    assert [kw["height"] for kw in shown] == [height]


def test_churn_by_reason_windows_are_in_order_with_12_months_chosen(
    churn_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The windows were listed 12, 6, 3, 24 months."""
    app = ran("churn_reasons.py", churn_warehouse, monkeypatch)
    window = app.selectbox[0]
    assert window.options == [f"last {n} complete months" for n in (3, 6, 12, 24)]
    assert window.value == 12


def test_winback_rate_joins_no_months_across_a_month_without_a_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Push churn in March (1 event, won back) and in June (4, none), none in April or May:
    a line from 100 % in March to 0 % in June read as a fall through April and May, which
    have no rate at all. Each month is its own dot, sized by its eligible events."""
    path = tmp_path / "winback.duckdb"
    with duckdb.connect(str(path)) as con:
        marts(
            con,
            fct_periods=FCT_PERIODS,
            mart_winback=MART_WINBACK,
        )
        fct_months(con, "contract", first=3)  # March to June complete
        for m, events, won in [(3, 1, 1), (6, 4, 0)]:
            con.execute(
                "insert into marts.mart_winback values ('contract', ?, 'push', ?, ?, ?, ?, ?, ?)",
                [month(m), events, won, won / events, events, won, won / events],
            )
    app = ran("winback.py", path, monkeypatch)
    spec = json.loads(app.get("vega_lite_chart")[1].proto.spec)
    assert spec["mark"]["type"] == "circle"  # no line between March and June
    assert spec["encoding"]["size"]["field"] == "eligible_30"
    rates = chart_data(app, 1)
    assert dict(zip(rates["churn_month"].dt.month, rates["winback_rate_30"], strict=True)) == {
        3: 1.0,
        6: 0.0,
    }


@pytest.mark.parametrize(
    ("grain", "names"),
    [
        ("year", ["2023"]),  # 2024, the year of A, is not complete
        ("quarter", ["2024 Q2", "2024 Q1"]),  # nor is 2024 Q3, A's quarter
    ],
)
def test_saves_name_a_period_as_people_do(
    saves_warehouse: Path, monkeypatch: pytest.MonkeyPatch, grain: str, names: list[str]
) -> None:
    """The periods to break down read "quarter starting 2024-04-01"."""
    with duckdb.connect(str(saves_warehouse)) as con:
        # A quarter row for each month of 2024 (January to July), and the year 2023.
        con.execute(
            "insert into marts.mart_cancellation_saves select 'quarter', "
            "date_trunc('quarter', period_start), * exclude (period_grain, period_start) "
            "from marts.mart_cancellation_saves where period_grain = 'month'"
        )
        con.execute(
            "insert into marts.mart_cancellation_saves select 'year', date '2023-01-01', "
            "* exclude (period_grain, period_start) from marts.mart_cancellation_saves "
            "where period_grain = 'month' and period_start = ?",
            [month(1)],
        )
    app = run_page("saves.py", saves_warehouse, monkeypatch).run()
    app = app.radio[1].set_value(grain).run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.selectbox[0].options == names


def _not_delivered(what: str, table: str, mart: str) -> str:
    return (
        f"No {what} in this warehouse: the optional table `{table}` was not delivered, or "
        f"none of its rows is valid (see the quarantine), so `{mart}` is empty. Load it with "
        "the next delivery to fill this page."
    )


@pytest.mark.parametrize(
    ("script", "warning"),
    [
        ("nps.py", _not_delivered("NPS response", "nps_responses", "mart_nps")),
        ("programmes.py", _not_delivered(
            "retention programme", "retention_actions", "mart_retention_programmes")),
        ("clv.py", "No LTV:CAC: no marketing spend in this warehouse (the optional table "
         "`marketing_spend` was not delivered, or none of its rows is valid), so no channel "
         "has a CAC."),
    ],
)  # fmt: skip
def test_a_page_of_an_optional_table_never_delivered_says_so_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str, warning: str
) -> None:
    """No nps_responses, retention_actions nor marketing_spend delivered (their marts are
    empty, or null where the spend would be): the NPS page showed three "No data for ..."
    boxes and a table of zeros, the programme page two boxes and an empty table, the CLV
    page "No data for LTV:CAC by channel", none saying why."""
    path = tmp_path / "optional.duckdb"
    with duckdb.connect(str(path)) as con:
        marts(
            con,
            fct_periods=FCT_PERIODS,
            mart_nps=MART_NPS,
            mart_nps_churn="basis varchar, nps_class varchar, responses_active bigint, "
            "churned_within_180d bigint, churn_rate_180d double",
            mart_retention_programmes="campaign varchar, basis varchar",
            mart_clv=MART_CLV,
        )
        fct_months(con, "order", first=1)
        reporting_date(con, date(2024, 7, 15))
        # mart_nps_churn has its six rows whatever the responses: 0 each, rate empty.
        for basis in ("contract", "order"):
            for nps_class in ("detractor", "passive", "promoter"):
                con.execute(
                    "insert into marts.mart_nps_churn values (?, ?, 0, 0, null)",
                    [basis, nps_class],
                )
        con.execute(
            "insert into marts.mart_clv values "
            "('acquisition_channel', 'email', 5, 2, null, null, 600.0, 900.0, null)"
        )
    app = ran(script, path, monkeypatch)
    assert [w.value for w in app.warning] == [warning]
    if script != "clv.py":  # nothing else: no empty chart, no table of zeros
        assert not app.get("vega_lite_chart") and not app.dataframe


def _published(script: str, monkeypatch: pytest.MonkeyPatch, view: str | None = None) -> AppTest:
    """`script` run on the published warehouse (the demo), in `view` of its first radio when
    given."""
    db_path = Path(os.environ.get("RETENTION_DB_PATH", DASHBOARD.parent / "warehouse.duckdb"))
    app = run_page(script, db_path.resolve(), monkeypatch).run()
    assert not app.exception, script
    if view:
        app = app.radio[0].set_value(view).run()
        assert not app.exception, [e.value for e in app.exception]
    return app


# Every page, and the cohort page by a customer attribute (a view of its own).
PAGE_VIEWS = [(page.script, None) for page in PAGES] + [("cohorts.py", "by acquisition channel")]


@pytest.mark.parametrize("script", [page.script for page in PAGES])
def test_table_headers_are_labels_with_the_column_in_their_help(
    script: str, monkeypatch: pytest.MonkeyPatch
):
    """Every table of every page on the demo: its headers were the marts' column names
    ("won_back_within_90", "gross_revenue_retention"); each is now a label (capitalised, no
    underscore), and the header's help names the column, which a BI user queries."""
    app = _published(script, monkeypatch)
    for frame in app.dataframe:
        configured = json.loads(frame.proto.columns)
        for column in frame.value.columns:
            header, help_text = configured[column].get("label"), configured[column].get("help")
            assert header and "_" not in header and not header[0].islower(), (column, header)
            assert help_text == f"Column `{column}`", column


def test_table_headers_read_as_worked_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """The label of each kind of column: abbreviations in capitals, `is_` dropped, a window
    of days spelt out, a column the list names as it names it, a label the page gives kept."""
    monkeypatch.syspath_prepend(str(DASHBOARD))
    import warehouse

    shown = []
    monkeypatch.setattr(warehouse.st, "dataframe", lambda frame, **kw: shown.append(kw))
    columns = ["new_mrr", "customer_id", "is_retainable", "won_back_within_90", "eligible_90",
               "winback_rate_90", "churn_rate_180d", "ltv_to_cac", "cac", "mine"]  # fmt: skip
    warehouse.table(
        pd.DataFrame({c: [1.0] for c in columns}),
        column_config={"mine": warehouse.st.column_config.NumberColumn("My own")},
    )
    ((kw),) = shown
    assert {c: config["label"] for c, config in kw["column_config"].items()} == {
        "new_mrr": "New MRR",
        "customer_id": "Customer ID",
        "is_retainable": "Retainable",
        "won_back_within_90": "Won back within 90 days",
        "eligible_90": "Eligible (90 days)",
        "winback_rate_90": "Win-back rate (90 days)",
        "churn_rate_180d": "Churn rate (180 days)",
        "ltv_to_cac": "LTV:CAC",
        "cac": "CAC",
        "mine": "My own",
    }


def _legends(spec: dict, datasets: list[pd.DataFrame]):
    """(title shown, entries) of each colour legend of a chart: the title is the field's
    name unless the chart gives one (None: no title)."""
    for encoding in _encodings(spec):
        color = encoding.get("color")
        if isinstance(color, dict) and "field" in color:
            title = color.get("title", color["field"])
            entries = {
                v for data in datasets if color["field"] in data for v in data[color["field"]]
            }
            yield title, entries


@pytest.mark.parametrize("script", [page.script for page in PAGES])
def test_legends_name_no_mart_column(script: str, monkeypatch: pytest.MonkeyPatch):
    """Every chart's colour legend on the demo: the MRR movements read "new_mrr" beside the
    waterfall's "New", GRR and NRR "gross_revenue_retention", the saves counts
    "cancellation_requests", the NPS classes "promoters". A legend names no mart column,
    and its title has no underscore."""
    from retention.marts import COLUMNS, PREDICTIVE_COLUMNS

    names = {c for columns in [*COLUMNS.values(), *PREDICTIVE_COLUMNS.values()] for c in columns}
    app = _published(script, monkeypatch)
    legends = [
        legend
        for chart in app.get("vega_lite_chart")
        for legend in _legends(
            json.loads(chart.proto.spec),
            [pa.ipc.open_stream(d.data.data).read_pandas() for d in chart.proto.datasets],
        )
    ]
    assert legends, f"{script}: no legend seen"
    wrong = [(title, sorted(entries & names)) for title, entries in legends if entries & names]
    assert wrong == []
    assert [title for title, _ in legends if title and "_" in title] == []


# The channels Vega-Lite draws with an axis (x, y) or a legend (the others).
LEGENDS = ("color", "fill", "stroke", "size", "shape", "strokeDash", "opacity")
GUIDES = {"x": "axis", "y": "axis", **dict.fromkeys(LEGENDS, "legend")}


def _guide_titles(spec: dict):
    """The title each axis and legend of a chart shows, as Vega-Lite chooses it: the axis's
    or legend's own title, else the channel's, else, when no layer titles that channel, the
    field's name ("basis"); None for a title the chart turns off, and nothing for a channel
    without an axis or a legend (`legend: null`) or without a field (a constant)."""
    encodings = list(_encodings(spec))
    titled = {name for e in encodings for name in GUIDES if "title" in (e.get(name) or {})}
    for encoding in encodings:
        for name, guide_name in GUIDES.items():
            channel = encoding.get(name)
            if not isinstance(channel, dict) or channel.get(guide_name, {}) is None:
                continue
            if "title" in channel.get(guide_name, {}):
                yield channel[guide_name]["title"]
            elif "title" in channel:
                yield channel["title"]
            elif name not in titled and "field" in channel:
                # Without a field: a constant, or "count()" ("Count of Records").
                yield channel["field"]


@pytest.mark.parametrize(("script", "view"), PAGE_VIEWS)
def test_axis_and_legend_titles_read_as_table_headers(
    script: str, view: str | None, monkeypatch: pytest.MonkeyPatch
):
    """Every chart's axes and legends on the demo read as the tables' headers: they read
    "active customers", "churn type", "month" and, left untitled, the field's name "basis"
    and "movement" beside the tables' "Active customers". No title starts with a small
    letter or has an underscore (warehouse.chart titles them with `label`)."""
    app = _published(script, monkeypatch, view)
    titles = [
        title
        for chart in app.get("vega_lite_chart")
        for title in _guide_titles(json.loads(chart.proto.spec))
        if title is not None
    ]
    assert titles, f"{script}: no axis or legend title seen"
    assert [t for t in titles if not isinstance(t, str) or t[:1].islower() or "_" in t] == []


# The text columns of the demo's tables that are not categories: an id, the fitted
# parameters written out, a fit's message (sentences). The test below fails on any other.
FREE_TEXT_COLUMNS = {"customer_id", "parameters", "fit_message"}
CODE = re.compile(r"[a-z0-9]+(_[a-z0-9]+)+")  # paid_search, geometric_limit


def _shown_nominal_fields(encoding: dict):
    """The nominal fields of an encoding whose values the chart writes out: on an axis, in a
    legend or in a tooltip (not an offset, a colour without a legend, nor a note's text)."""
    for channel, given in encoding.items():
        for field in given if isinstance(given, list) else [given]:
            if (
                not isinstance(field, dict)
                or field.get("type") != "nominal"
                or "field" not in field
            ):
                continue
            if channel in ("xOffset", "yOffset", "detail", "text") or any(
                key in field and field[key] is None for key in ("axis", "legend")
            ):
                continue
            yield field["field"]


@pytest.mark.parametrize(("script", "view"), PAGE_VIEWS)
def test_category_values_read_as_words(
    script: str, view: str | None, monkeypatch: pytest.MonkeyPatch
):
    """Every page on the demo, and the cohorts of an acquisition channel: the channels read
    `paid_search`, the bases `order`, the fit statuses `geometric_limit`, the reasons
    `price_too_high` on the axes, in the legends and tooltips and in the tables. Each value
    a chart writes out starts with no small letter and has no underscore; so does each
    value of a table's text column that is not free text; a filter's choices have no
    underscore."""
    app = _published(script, monkeypatch, view)

    def coded(values) -> list[str]:
        return sorted({v for v in values if isinstance(v, str) and (v[:1].islower() or "_" in v)})

    shown = {}
    for chart in app.get("vega_lite_chart"):
        frames = _chart_frames(chart)
        for encoding in _encodings(json.loads(chart.proto.spec)):
            for field in _shown_nominal_fields(encoding):
                shown[field] = coded(v for f in frames if field in f for v in f[field])
    # Every view shows a category but the cohort heatmaps of all customers.
    assert bool(shown) is ((script, view) != ("cohorts.py", None)), script
    for frame in app.dataframe:
        for column, values in frame.value.items():
            if values.dtype == object and column not in FREE_TEXT_COLUMNS:
                shown[column] = coded(values)
    assert {field: values for field, values in shown.items() if values} == {}
    choices = [o for box in [*app.selectbox, *app.radio] for o in box.options]
    assert [o for o in choices if "_" in o] == []


# The tooltips that show money on the demo (reporting currency EUR), by page: each titled
# as a table's money column is headed, with the currency.
MONEY_TOOLTIPS = {
    "mrr.py": {"Amount (EUR)", "MRR change (EUR)"},
    "clv.py": {"CLV (EUR)", "CAC (EUR)"},
    "predictive.py": {"Mean predicted CLV (EUR)", "Total predicted CLV (EUR)"},
    "saves.py": {"Saved MRR (EUR)"},
}
# How a period reads on an axis: "Jun 2024", "2024 Q2", "2024".
PERIOD_NAMES = {"%b %Y", "%Y Q%q", "%Y"}


def _percent_decimals(app: AppTest) -> dict:
    """The decimals each percent column of the page's tables shows (its step's)."""
    return {
        column: {0.001: 1, 0.0001: 2}[config["type_config"]["step"]]
        for frame in app.dataframe
        for column, config in json.loads(frame.proto.columns).items()
        if config.get("type_config", {}).get("format") == "percent"
    }


@pytest.mark.parametrize(("script", "view"), PAGE_VIEWS)
def test_tooltips_read_as_tables_and_legends(
    script: str, view: str | None, monkeypatch: pytest.MonkeyPatch
):
    """Every chart's tooltips on the demo: they showed the fields' names ("saved_mrr",
    "period_start", "won_back_within_90"), money without its currency, a period as "Oct 01,
    2022", save rates with no decimal beside the table's one, and the programme interval
    as 0.0569914626457 under "uplift_ci_high". Each tooltip is titled with a label (no
    underscore, capitalised), money with the currency to the cent, a period as its axis
    names it, a fraction that is not a whole number with a format, a percentage with the
    decimals of the page's table; a mark without a tooltip of its own (a rule, an interval,
    a note) shows none (Streamlit's theme listed its fields by name); a category's title is
    not one of its values (NPS for everyone read "All: all"). The cohort page by a customer
    attribute too (its curves' tooltips)."""
    app = _published(script, monkeypatch, view)
    decimals = _percent_decimals(app)
    tips, untipped, money = [], [], set()
    for chart in app.get("vega_lite_chart"):
        data = [pa.ipc.open_stream(d.data.data).read_pandas() for d in chart.proto.datasets]
        for encoding in _encodings(json.loads(chart.proto.spec)):
            if "tooltip" not in encoding:
                untipped.append(sorted(encoding))
                continue
            given = encoding["tooltip"]
            for tip in given if isinstance(given, list) else [given] if given else []:
                if "field" not in tip and "aggregate" not in tip:  # {"value": null}: none
                    continue
                tips.append(tip)
                title, field, form = tip.get("title"), tip.get("field"), tip.get("format")
                assert title and "_" not in title and not title[0].islower(), tip
                if tip["type"] == "temporal":
                    assert form in PERIOD_NAMES, tip
                if tip["type"] == "nominal":  # not "All: all" (NPS for everyone)
                    shown = {str(v).lower() for f in data if field in f for v in f[field]}
                    assert title.lower() not in shown, tip
                if "(EUR)" in title:
                    money.add(title)
                    assert form == ",.2f", tip
                if form and form.endswith("%") and field in decimals:
                    assert form == f".{decimals[field]}%", tip
                if tip["type"] == "quantitative" and tip.get("aggregate") in (None, "sum"):
                    values = [f[field].dropna().astype(float) for f in data if field in f]
                    assert form or all((v == v.round()).all() for v in values), tip
    assert tips, f"{script}: no tooltip seen"
    assert untipped == []
    assert money == MONEY_TOOLTIPS.get(script, set())


# The whole-number columns of the demo's tables and tooltips that count nothing, shown
# without a thousands separator (a month since the cohort "12"; a year would read "2,024").
# Every other whole-number column is a count (warehouse.COUNT_COLUMNS): the test below
# fails on one that is in neither list, so that a new column is classified.
NOT_COUNTS = {"months_since_cohort"}


@pytest.mark.parametrize(("script", "view"), PAGE_VIEWS)
def test_counts_have_their_thousands_separated(
    script: str, view: str | None, monkeypatch: pytest.MonkeyPatch
):
    """Every page on the demo: a count read 1000000 in a table and in a tooltip, where
    money read 1,234.50. Each whole-number column of a table (an integer column) is shown
    "%,d" (Streamlit's printf: 1,000,000), and each tooltip of whole numbers (an integer
    field as it is or summed, or the rows counted) ",d" (d3-format), unless it counts
    nothing (NOT_COUNTS), then without a format. The cohort page by a customer attribute
    too (its curves' tooltips)."""
    app = _published(script, monkeypatch, view)
    shown = {}  # (where, column) → its format
    for frame in app.dataframe:
        configured = json.loads(frame.proto.columns)
        for column, values in frame.value.items():
            if pd.api.types.is_integer_dtype(values):
                shown["table", column] = configured[column].get("type_config", {}).get("format")
    for chart in app.get("vega_lite_chart"):
        data = _chart_frames(chart)
        for encoding in _encodings(json.loads(chart.proto.spec)):
            given = encoding.get("tooltip")
            for tip in given if isinstance(given, list) else [given] if given else []:
                field, aggregate = tip.get("field"), tip.get("aggregate")
                values = [f[field] for f in data if field in f]
                if aggregate == "count" or (
                    aggregate in (None, "sum")
                    and values
                    and all(pd.api.types.is_integer_dtype(v) for v in values)
                ):
                    name = field if aggregate is None else f"{aggregate}({field or ''})"
                    shown["tooltip", name] = tip.get("format")
    separated = {"table": "%,d", "tooltip": ",d"}
    assert shown == {
        (where, column): None if column in NOT_COUNTS else separated[where]
        for where, column in shown
    }
    # Every page shows a count but the MRR page (money and rates only).
    assert bool(shown) is (script != "mrr.py"), script


@pytest.mark.parametrize("script", [page.script for page in PAGES])
def test_percent_columns_show_a_fixed_number_of_decimals(
    script: str, monkeypatch: pytest.MonkeyPatch
):
    """Every percent column of every table on the demo: Streamlit's "percent" showed up to
    two decimals, trailing zeros dropped (0.7% above 0.79% in one column). Each has a step
    now, which makes Streamlit show the step's decimals, and its values are rounded to the
    step (Streamlit cuts them to it)."""
    app = _published(script, monkeypatch)
    checked = 0
    for frame in app.dataframe:
        for column, config in json.loads(frame.proto.columns).items():
            number = config.get("type_config", {})
            if number.get("format") != "percent":
                continue
            step = number.get("step")
            assert step in (0.001, 0.0001), (column, step)  # 1 or 2 decimals
            places = 3 if step == 0.001 else 4
            values = frame.value[column].dropna()
            assert (values == values.map(lambda v, n=places: round(v, n))).all(), column
            checked += 1
    if script in PAGES_WITHOUT_TABLES or script == "clv.py":
        assert checked == 0
    else:
        assert checked, f"{script}: no percent column seen"


def test_a_percent_column_is_rounded_to_its_decimals(monkeypatch: pytest.MonkeyPatch) -> None:
    """0.007 and 0.0079 with one decimal: 0.7% and 0.8% (Streamlit alone cuts 0.0079 to
    the step, 0.7%); 0.0125, a float just above it, 1.3% (NumPy's round gives 1.2%); 0.01
    1.0%; null stays null. Two decimals: 0.0079 is 0.79%."""
    monkeypatch.syspath_prepend(str(DASHBOARD))
    import warehouse

    shown = []
    monkeypatch.setattr(
        warehouse.st, "dataframe", lambda frame, **kw: shown.append((frame, kw["column_config"]))
    )
    rates = [0.007, 0.0079, 0.0125, 0.01, None]
    warehouse.table(
        pd.DataFrame({"one": rates, "two": rates}),
        column_config={
            **warehouse.percent_columns("one"),
            **warehouse.percent_columns("two", decimals=2),
        },
    )
    ((frame, config),) = shown
    assert frame["one"].tolist()[:4] == [0.007, 0.008, 0.013, 0.01]
    assert frame["two"].tolist()[:4] == [0.007, 0.0079, 0.0125, 0.01]
    assert frame[["one", "two"]].iloc[4].isna().all()
    assert [config[c]["type_config"]["step"] for c in ("one", "two")] == [0.001, 0.0001]


@pytest.mark.parametrize(("grain", "name"), [("quarter", "%Y Q%q"), ("year", "%Y")])
@pytest.mark.parametrize("script", ["churn.py", "saves.py", "nps.py"])
def test_period_axes_by_quarter_and_year(
    script: str, grain: str, name: str, monkeypatch: pytest.MonkeyPatch
):
    """The pages by quarter and by year on the demo: each chart over period_start names a
    period of the grain on its axis ("2024 Q2", "2024"; the saves bars read "Apr 2024"), the
    browser test checks how it draws them."""
    app = _published(script, monkeypatch)
    app = app.radio[0].set_value(grain).run()
    assert not app.exception, [e.value for e in app.exception]
    specs = [json.loads(chart.proto.spec) for chart in app.get("vega_lite_chart")]
    axes = [
        spec["encoding"]["x"]["axis"]
        for spec in specs
        if spec.get("encoding", {}).get("x", {}).get("field") == "period_start"
    ]
    assert len(axes) == 2  # each page's two charts over time
    assert [axis.get("format") for axis in axes] == [name, name]
    # Their tooltips name the period as the axis does ("Oct 01, 2022" was a quarter).
    tips = [tip for spec in specs for tip in spec["encoding"].get("tooltip", [])]
    assert [tip.get("format") for tip in tips if tip.get("field") == "period_start"] == [name] * 2
