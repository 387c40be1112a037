"""BI-ready (issue 14): the published warehouse as a BI user meets it.

One shared clean build (pipeline.py, 300 customers), its predictive models fitted on a copy,
is published with `retention publish` in its default storage version; every check here reads
that one published file:

- DuckDB 1.x clients, the oldest (1.0.0) and the newest (1.5.6) on PyPI, each in a
  throw-away virtual environment made once under ~/.cache, open it and read every relation
  in it (the marts, and the views a client browsing the schemas meets), with the row
  counts DuckDB 2 reads and the marts' column types as built, while they refuse the
  working copy that DuckDB 2 wrote;
- every mart and every mart column carries its YAML description as a database comment;
- `mf query` (the MetricFlow CLI, run in this process) answers the saved queries with the
  marts' own numbers (core, operations and predictive marts), and the segmented churn and
  cohort retention add up to the unsegmented;
- the analyses compile and run;
- `dbt source freshness` reads the loader's batch times: a late core table is stale, an
  optional table that was never delivered is not.
"""

from __future__ import annotations

import ast
import contextlib
import csv
import datetime as dt
import fcntl
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import project_yaml
import pytest
from click.testing import Result
from pipeline import DB_NAME, MARTS, REPO_ROOT, DbtRun, copy_db, dbt, retention, shared_build

from retention.marts import PREDICTIVE_MARTS
from retention.predictive_columns import SWITCH

# The newest DuckDB 1.x on PyPI, what the 1.x CLI, Node and JDBC drivers of BI tools read with,
# and the oldest, which the default storage version (v1.0.0) promises to serve as well.
DUCKDB_1X = "1.5.6"
DUCKDB_1X_OLDEST = "1.0.0"
CLIENT_CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "retention-warehouse"
)

# The row count of every table and view (a view is bound, so its stored column types are
# checked against what this DuckDB makes of its SQL) and the marts' column types.
READ_RELATIONS = """
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
relations = con.execute(
    "select table_schema, table_name from information_schema.tables "
    "where table_catalog = current_database() order by all"
).fetchall()
counts = {}
for schema, name in relations:
    sql = f'select count(*) from "{schema}"."{name}"'
    try:
        counts[f"{schema}.{name}"] = con.execute(sql).fetchone()[0]
    except duckdb.Error as exc:
        counts[f"{schema}.{name}"] = str(exc).splitlines()[0]
print(json.dumps({
    "version": duckdb.__version__,
    "counts": counts,
    "types": con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' order by all"
    ).fetchall(),
}))
"""


@dataclass(frozen=True)
class Published:
    build: DbtRun  # the shared clean build (its working copy is never modified)
    work: Path  # a copy of the build, published from
    db: Path  # the published warehouse, named warehouse.duckdb like the build


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    build = shared_build(tmp_path_factory).result()
    assert build.ok, build.failure_summary()
    folder = tmp_path_factory.mktemp("bi")
    work = copy_db(build.db_path, folder / "build" / DB_NAME)
    # The shared build leaves the predictive marts empty (python_checks/conftest.py): fit
    # them on the copy, so that the published file holds every mart with rows.
    fit = dbt(
        ["build", "--select", "tag:predictive", "--exclude-resource-type", "unit_test"],
        work,
        folder / "predictive",
        manifest=False,
        env={SWITCH: "on"},
    )
    assert fit.ok, fit.failure_summary()
    db = folder / "published" / DB_NAME
    db.parent.mkdir()
    # Published as the file BI reads, not validated (the checks here are of the published file).
    run = retention(
        ["publish", "--db", str(db), "--from", str(work), "--unvalidated"], folder / "run"
    )
    assert run.ok, run.output
    return Published(build, work, db)


def _uv() -> str:
    found = shutil.which("uv") or str(REPO_ROOT / ".tools" / "bin" / "uv")
    if not Path(found).exists():
        pytest.fail("uv is needed to make the DuckDB 1.x client's environment (make setup)")
    return found


def duckdb_1x_python(version: str) -> Path:
    """A virtual environment with duckdb `version` only, made once and kept under ~/.cache."""
    venv = CLIENT_CACHE / f"duckdb-{version}"
    python = venv / "bin" / "python"
    CLIENT_CACHE.mkdir(parents=True, exist_ok=True)
    with open(CLIENT_CACHE / f"duckdb-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one pytest worker makes it, the others wait
        if not (venv / ".complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            uv = _uv()
            subprocess.run(
                [uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True
            )
            subprocess.run(
                [uv, "pip", "install", "--quiet", "--python", str(python), f"duckdb=={version}"],
                check=True,
            )
            (venv / ".complete").touch()
    return python


def _read_with_duckdb_1x(db: Path, version: str = DUCKDB_1X) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(duckdb_1x_python(version)), "-c", READ_RELATIONS, str(db)],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))},
    )


def _mart_types(db: Path) -> list[list[str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        types = con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' order by all"
        ).fetchall()
    return [list(row) for row in types]


def _relation_counts(db: Path) -> dict[str, int]:
    """What DuckDB 2 reads from the file: every table's and view's row count."""
    with duckdb.connect(str(db), read_only=True) as con:
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database() order by all"
        ).fetchall()
        count = 'select count(*) from "{}"."{}"'
        return {
            f"{schema}.{name}": con.execute(count.format(schema, name)).fetchone()[0]
            for schema, name in relations
        }


# --- 1. a DuckDB 1.x client reads the published file ------------------------------------------


@pytest.mark.parametrize("version", [DUCKDB_1X_OLDEST, DUCKDB_1X])
def test_a_duckdb_1x_client_reads_every_relation_of_the_published_file(
    published: Published, version: str
) -> None:
    read = _read_with_duckdb_1x(published.db, version)
    assert read.returncode == 0, read.stderr
    seen = json.loads(read.stdout)
    assert seen["version"] == version
    counts = _relation_counts(published.db)
    assert {f"marts.{mart}" for mart in MARTS} <= set(counts)
    assert all(counts[f"marts.{mart}"] > 0 for mart in MARTS), counts
    # Every relation reads, with DuckDB 2's row count (a failing view shows its error here).
    assert seen["counts"] == counts
    assert seen["types"] == _mart_types(published.work)  # the storage version kept each type


def test_the_duckdb_1x_client_cannot_read_what_duckdb_2_writes(published: Published) -> None:
    """The control: the build's own file (DuckDB 2's storage) is refused by 1.x, so the check
    above passes because of the storage version the publish step chose."""
    read = _read_with_duckdb_1x(published.work)
    assert read.returncode != 0
    assert "version number" in read.stderr, read.stderr


def test_a_storage_version_duckdb_does_not_know_is_refused(
    published: Published, tmp_path_factory: pytest.TempPathFactory
) -> None:
    before = hashlib.sha256(published.db.read_bytes()).hexdigest()
    folder = tmp_path_factory.mktemp("bad-version")
    for version, says in (("1.4", "not of the form v1.4.0"), ("v9.9.0", "not a known DuckDB")):
        args = ["publish", "--db", str(published.db), "--from", str(published.work)]
        run = retention([*args, "--storage-version", version], folder)
        assert run.returncode == 2, run.output
        assert says in run.output and "Traceback" not in run.output, run.output
    assert hashlib.sha256(published.db.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in published.db.parent.iterdir()) == [DB_NAME]


# --- 2. descriptions reach the database ---------------------------------------------------------


def _manifest_marts(build: DbtRun) -> dict[str, dict]:
    manifest = json.loads((build.target_path / "manifest.json").read_text(encoding="utf-8"))
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["name"] in (*MARTS, *PREDICTIVE_MARTS)
    }


def test_every_mart_and_mart_column_carries_its_description(published: Published) -> None:
    marts = _manifest_marts(published.build)
    assert sorted(marts) == sorted((*MARTS, *PREDICTIVE_MARTS))
    with duckdb.connect(str(published.db), read_only=True) as con:
        tables = dict(
            con.execute(
                # Tables and views (fct_customer_months is a view).
                "select table_name, comment from duckdb_tables() where schema_name = 'marts' "
                "union all select view_name, comment from duckdb_views() "
                "where schema_name = 'marts'"
            ).fetchall()
        )
        columns = {
            (table, column): comment
            for table, column, comment in con.execute(
                "select table_name, column_name, comment from duckdb_columns() "
                "where schema_name = 'marts'"
            ).fetchall()
        }
    checked = 0
    for name, node in marts.items():
        assert node["description"].strip(), name
        assert (tables[name] or "").strip() == node["description"].strip(), name
        for column, spec in node["columns"].items():
            assert spec["description"].strip(), f"{name}.{column}"
            assert (columns[(name, column)] or "").strip() == spec["description"].strip(), (
                f"{name}.{column}"
            )
            checked += 1
    # Every column of every mart is in the YAML (contracts are enforced), so all were checked.
    assert checked == len(columns)


# --- 3. the semantic layer: mf query equals the marts ------------------------------------------


# Queries a BI user would write beside the saved ones, for what those leave out: metrics
# pooled over cells (their answers are named adhoc_*).
AD_HOC_QUERIES = {
    "adhoc_share_of_churn_retainable": [
        "--metrics", "share_of_churn",
        "--group-by", "metric_time__month,churn_cell__basis,churn_cell__is_retainable",
    ],
    # share_of_churn over a quarter, which its description says is no share.
    "adhoc_share_of_churn_by_quarter": [
        "--metrics", "churned_customers_by_reason,period_churned_customers,share_of_churn",
        "--group-by", "metric_time__quarter,churn_cell__basis,churn_cell__churn_type",
    ],
    "adhoc_contract_survival_pooled": [
        "--metrics", "observed_contract_retention,projected_contract_retention",
        "--group-by", "survival_cell__months_since_cohort",
    ],
    "adhoc_cohort_sizes": [
        "--metrics", "cohort_size",
        "--group-by", "cohort_cell__basis,metric_time__month",
        "--where", "{{ Dimension('cohort_cell__months_since_cohort') }} = 0",
    ],
    # Balances and rates over a quarter and a year (the month rows grouped).
    "adhoc_customer_balances_by_quarter": [
        "--metrics", "customers_start,customers_end,churn_rate,retention_rate",
        "--group-by", "metric_time__quarter,period__basis",
    ],
    "adhoc_customer_balances_by_year": [
        "--metrics", "customers_start,customers_end,churn_rate,retention_rate",
        "--group-by", "metric_time__year,period__basis",
    ],
    "adhoc_mrr_balances_by_quarter": [
        "--metrics", "mrr_start,mrr_end,gross_revenue_retention,net_revenue_retention",
        "--group-by", "metric_time__quarter",
    ],
    "adhoc_mrr_balances_by_year": [
        "--metrics", "mrr_start,mrr_end,gross_revenue_retention,net_revenue_retention",
        "--group-by", "metric_time__year",
    ],
    "adhoc_at_risk_by_quarter": [
        "--metrics", "customers_at_risk,mrr_at_risk",
        "--group-by", "metric_time__quarter,period__basis",
    ],
    "adhoc_segment_balances_by_quarter": [
        "--metrics", "order_customers_start,contract_customers_start,segment_mrr_start,"
        "order_churn_rate,contract_churn_rate,segment_gross_revenue_retention",
        "--group-by", "metric_time__quarter,customer__acquisition_channel",
    ],
    "adhoc_lock_in_by_year": [
        "--metrics", "lock_in_customers_start,lock_in_churn_rate",
        "--group-by", "metric_time__year,lock_in_cell__products_at_start",
    ],
    # Grouped by the period's own date at a quarter, not by metric_time.
    "adhoc_periods_by_period_start_quarter": [
        "--metrics", "customers_start,customers_end,churned_customers,purchases,"
        "recognised_contract_revenue",
        "--group-by", "period__period_start__quarter,period__basis",
    ],
    "adhoc_customer_segments_by_quarter": [
        "--metrics", "purchasing_customers,first_time_purchasers,returning_customers,"
        "order_customers_end,contract_customers_end,segment_net_revenue",
        "--group-by", "metric_time__quarter,customer__acquisition_channel",
    ],
    "adhoc_customer_totals_by_channel": [
        "--metrics", "customers,current_mrr,lifetime_net_revenue",
        "--group-by", "customer__acquisition_channel",
    ],
    "adhoc_cohort_revenue_pooled": [
        "--metrics", "cohort_revenue",
        "--group-by", "cohort_cell__basis,cohort_cell__months_since_cohort",
    ],
    # The retention curves pooled over the cohorts, complete months only (the dashboard's
    # curves), as the cohort retention rates' descriptions say to ask for them.
    "adhoc_cohort_retention_pooled_complete": [
        "--metrics", "cohort_retention_rate",
        "--group-by", "cohort_cell__basis,cohort_cell__months_since_cohort",
        "--where", "{{ Dimension('cohort_cell__is_complete') }}",
    ],
    "adhoc_segment_cohort_retention_pooled_complete": [
        "--metrics", "segment_cohort_retention_rate",
        "--group-by", "cohort_member_month__basis,cohort_member_month__months_since_cohort,"
        "customer__acquisition_channel",
        "--where", "{{ Dimension('cohort_member_month__is_complete_month') }}",
    ],
}  # fmt: skip


@contextlib.contextmanager
def _mf_cli(db: Path, build: DbtRun, project: Path) -> Iterator[Callable[[list[str]], Result]]:
    """`mf` (the MetricFlow CLI, run in this process by click's runner) on a copy of db in
    project, with the build's semantic manifest: yields a function of the CLI's arguments
    giving its result. MetricFlow and dbt are imported once for all the queries; the dbt
    adapter keeps its connection open, hence the copy, which the other checks' read-only
    connections do not share."""
    from click.testing import CliRunner
    from dbt.adapters.factory import reset_adapters
    from dbt_metricflow.cli.main import cli

    # The semantic manifest names the database by the file's name: keep warehouse.duckdb.
    copy = copy_db(db, project / "db" / DB_NAME)
    shutil.copyfile(REPO_ROOT / "dbt_project.yml", project / "dbt_project.yml")
    (project / "target").mkdir()
    shutil.copyfile(
        build.target_path / "semantic_manifest.json",
        project / "target" / "semantic_manifest.json",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        patch.setenv("DBT_PROFILES_DIR", str(REPO_ROOT))
        patch.setenv("RETENTION_DB_PATH", str(copy))
        try:
            yield lambda args: CliRunner().invoke(cli, args)
        finally:
            reset_adapters()


@pytest.fixture(scope="module")
def mf_answers(
    published: Published, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[dict]]:
    """Every saved query answered by `mf query --saved-query NAME --csv FILE`, and the
    AD_HOC_QUERIES, on (a copy of) the published warehouse."""
    project = tmp_path_factory.mktemp("mf-project")
    manifest = json.loads((published.build.target_path / "semantic_manifest.json").read_text())
    queries = {
        query["name"]: ["--saved-query", query["name"]] for query in manifest["saved_queries"]
    }
    answers: dict[str, list[dict]] = {}
    with _mf_cli(published.db, published.build, project) as mf:
        for name, query in sorted({**queries, **AD_HOC_QUERIES}.items()):
            out = project / f"{name}.csv"
            result = mf(["query", *query, "--csv", str(out)])
            assert result.exit_code == 0 and out.exists(), f"{name}: {result.output[-2000:]}"
            with out.open(newline="") as handle:
                answers[name] = list(csv.DictReader(handle))
    return answers


def test_mf_on_an_optional_table_not_delivered_answers_as_the_docs_say(
    published: Published, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Without NPS responses mart_nps is empty, and mf answers its saved query with
    MetricFlow's empty-result message, exit status 0 and no --csv file: a file of an
    earlier run stays as it was. docs/bi.md and the saved query's description say so."""
    folder = tmp_path_factory.mktemp("mf-empty")
    db = copy_db(published.db, folder / "emptied" / DB_NAME)
    with duckdb.connect(str(db)) as con:
        assert con.execute("select count(*) from marts.mart_nps").fetchall()[0][0] > 0
        con.execute("delete from marts.mart_nps")
    earlier = folder / "nps_trend.csv"
    earlier.write_text("an earlier run's answer\n")
    with _mf_cli(db, published.build, folder / "project") as mf:
        result = mf(["query", "--saved-query", "nps_trend", "--csv", str(earlier)])
    message = "Query returned an empty result set"
    assert result.exit_code == 0 and message in result.output, result.output[-2000:]
    assert earlier.read_text() == "an earlier run's answer\n"
    saved = {q["name"]: q["description"] for q in SEMANTIC["saved_queries"]}
    bi_doc = " ".join((REPO_ROOT / "docs" / "bi.md").read_text(encoding="utf-8").split())
    assert message in saved["nps_trend"] and "no --csv file" in saved["nps_trend"]
    assert message in bi_doc and "writes no file" in bi_doc


def _rows(db: Path, sql: str) -> list[dict]:
    with duckdb.connect(str(db), read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _num(text: str) -> float | None:
    return None if text == "" else float(text)


def _same(answer: str, expected) -> bool:
    value = _num(answer)
    if value is None or expected is None:
        return value is None and expected is None
    return math.isclose(value, float(expected), rel_tol=1e-9, abs_tol=1e-9)


def _month(text: str) -> str:
    return text[:10]  # "2024-05-01 00:00:00" -> "2024-05-01"


GRAINS = ("day", "week", "month", "quarter", "year")


def _check(
    answers: list[dict], expected: list[dict], key: dict[str, str], columns: dict[str, str]
) -> None:
    """Every answer row matches the mart row of the same cell on every column (metric ->
    mart column), and both have the same cells, each once. key names the cell: the answer's
    group-by columns -> the mart's columns of the same meaning (metric_time's month is
    compared as YYYY-MM-DD, as is any time dimension at a grain, every mart value as text,
    null as the empty text mf writes)."""

    def answer_cell(row: dict) -> tuple:
        return tuple(_month(row[a]) if a.rsplit("__", 1)[-1] in GRAINS else row[a] for a in key)

    def mart_cell(row: dict) -> tuple:
        return tuple("" if row[m] is None else str(row[m]) for m in key.values())

    by_key = {mart_cell(row): row for row in expected}
    got = {answer_cell(row): row for row in answers}
    assert len(by_key) == len(expected) and len(got) == len(answers)
    assert sorted(got) == sorted(by_key)
    for k, row in got.items():
        for metric, column in columns.items():
            assert _same(row[metric], by_key[k][column]), (k, metric, row[metric], by_key[k])


def test_mf_monthly_churn_trend_equals_fct_periods(mf_answers, published: Published) -> None:
    marts = _rows(
        published.db,
        "select cast(period_start as varchar) as month, basis, churned, customers_start, "
        "customers_end, churn_rate, retention_rate from marts.fct_periods "
        "where period_grain = 'month'",
    )
    _check(
        mf_answers["monthly_churn_trend"],
        marts,
        {"metric_time__month": "month", "period__basis": "basis"},
        {
            "churn_rate": "churn_rate",
            "retention_rate": "retention_rate",
            "churned_customers": "churned",
            "customers_start": "customers_start",
            "customers_end": "customers_end",
        },
    )


def test_mf_mrr_waterfall_equals_fct_periods(mf_answers, published: Published) -> None:
    columns = [
        "mrr_start", "new_mrr", "reactivation_mrr", "expansion_mrr", "contraction_mrr",
        "churned_mrr", "mrr_end", "gross_revenue_retention", "net_revenue_retention",
    ]  # fmt: skip
    marts = _rows(
        published.db,
        f"select cast(period_start as varchar) as month, {', '.join(columns)} "
        "from marts.fct_periods where period_grain = 'month' and basis = 'contract'",
    )
    _check(
        mf_answers["mrr_waterfall"],
        marts,
        {"metric_time__month": "month"},
        {c: c for c in columns},
    )


# fct_periods' month rows grouped by quarter or year, by hand: a balance is the first month's
# start or the last month's end (arg_min / arg_max over the months), a rate divides the
# months' summed events by the months' summed start balances (customer-months at risk).
MONTHS_GROUPED = """
select cast(cast(date_trunc('{grain}', period_start) as date) as varchar) as period, basis,
    count(*) as months,
    arg_min(customers_start, period_start) as customers_start,
    arg_max(customers_end, period_start) as customers_end,
    arg_min(mrr_start, period_start) as mrr_start,
    arg_max(mrr_end, period_start) as mrr_end,
    sum(mrr_end) as mrr_end_summed,
    sum(customers_end) as customers_end_summed,
    sum(customers_start) as customers_at_risk,
    sum(mrr_start) as mrr_at_risk,
    sum(churned) as churned,
    sum(purchases) as purchases,
    sum(recognised_contract_revenue) as recognised_contract_revenue,
    sum(churned) / nullif(sum(customers_start), 0) as churn_rate,
    sum(retained) / nullif(sum(customers_start), 0) as retention_rate,
    sum(gross_retained_mrr) / nullif(sum(mrr_start), 0) as grr,
    sum(net_retained_mrr) / nullif(sum(mrr_start), 0) as nrr
from marts.fct_periods where period_grain = 'month' group by all
"""


def test_mf_balances_over_a_quarter_or_year_are_its_first_start_and_last_end(
    mf_answers, published: Published
) -> None:
    """customers_start/_end and mrr_start/_end grouped by metric_time__quarter or __year are
    the group's first month's start and last month's end (summed over the months, MRR by
    quarter read about three times the MRR), which are fct_periods' own quarter and year
    rows (the period containing A ends on A, as its last month does); the rates keep
    dividing by the months' summed starts."""
    for grain in ("quarter", "year"):
        grouped = _rows(published.db, MONTHS_GROUPED.format(grain=grain))
        contract = [row for row in grouped if row["basis"] == "contract"]
        assert any(r["months"] > 1 and r["mrr_end"] != r["mrr_end_summed"] for r in contract)
        _check(
            mf_answers[f"adhoc_customer_balances_by_{grain}"],
            grouped,
            {f"metric_time__{grain}": "period", "period__basis": "basis"},
            {"customers_start": "customers_start", "customers_end": "customers_end",
             "churn_rate": "churn_rate", "retention_rate": "retention_rate"},
        )  # fmt: skip
        _check(
            mf_answers[f"adhoc_mrr_balances_by_{grain}"],
            contract,
            {f"metric_time__{grain}": "period"},
            {"mrr_start": "mrr_start", "mrr_end": "mrr_end",
             "gross_revenue_retention": "grr", "net_revenue_retention": "nrr"},
        )  # fmt: skip
        own = _rows(
            published.db,
            "select cast(period_start as varchar) as period, basis, is_complete_period, "
            "customers_start, customers_end, mrr_start, mrr_end "
            f"from marts.fct_periods where period_grain = '{grain}'",
        )
        by_period = {(row["period"], row["basis"]): row for row in grouped}
        assert sorted(by_period) == sorted((row["period"], row["basis"]) for row in own)
        for row in own:
            mine = by_period[(row["period"], row["basis"])]
            for column in ("customers_start", "customers_end", "mrr_start", "mrr_end"):
                text = "" if row[column] is None else str(row[column])
                assert _same(text, mine[column]), (grain, row, column, mine[column])
        if grain == "year":
            assert not all(row["is_complete_period"] for row in own)  # the year of A
    quarters = _rows(published.db, MONTHS_GROUPED.format(grain="quarter"))
    at_risk = mf_answers["adhoc_at_risk_by_quarter"]
    key = {"metric_time__quarter": "period", "period__basis": "basis"}
    _check(at_risk, quarters, key, {"customers_at_risk": "customers_at_risk"})
    _check(
        [row for row in at_risk if row["period__basis"] == "contract"],
        [row for row in quarters if row["basis"] == "contract"],
        key,
        {"mrr_at_risk": "mrr_at_risk"},
    )


def test_mf_grouped_by_the_period_start_quarter_as_by_metric_time(
    mf_answers, published: Published
) -> None:
    """Grouped by period__period_start__quarter, the model's own time dimension, instead of
    metric_time: the balances are still the quarter's first month's start and last month's
    end (the months' sums differ), and the flows (churned, purchases, recognised contract
    revenue) add up the months."""
    quarters = _rows(published.db, MONTHS_GROUPED.format(grain="quarter"))
    assert any(row["customers_at_risk"] != row["customers_start"] for row in quarters)
    assert any(row["customers_end_summed"] != row["customers_end"] for row in quarters)
    assert any(row["purchases"] for row in quarters if row["basis"] == "order")
    assert any(row["recognised_contract_revenue"] for row in quarters)
    _check(
        mf_answers["adhoc_periods_by_period_start_quarter"],
        quarters,
        {"period__period_start__quarter": "period", "period__basis": "basis"},
        {"customers_start": "customers_start", "customers_end": "customers_end",
         "churned_customers": "churned", "purchases": "purchases",
         "recognised_contract_revenue": "recognised_contract_revenue"},
    )  # fmt: skip


# A BI user's own quarter-by-channel figures on the customer rows: distinct purchasing
# customers, those whose first purchase month (the first month with a purchase) is in the
# quarter or before it, the balances at the end of the quarter's last month, net revenue.
CUSTOMER_QUARTERS_BY_HAND = """
with months as (
    select m.*, coalesce(c.acquisition_channel, 'unknown') as channel,
        cast(date_trunc('quarter', m.month_start) as date) as quarter,
        min(m.month_start) filter (where m.purchases > 0)
            over (partition by m.customer_id) as first_purchase_month
    from marts.fct_customer_months as m
    inner join marts.dim_customers as c using (customer_id)
),
lasts as (select quarter, max(month_start) as last_month from months group by all)
select cast(quarter as varchar) as quarter, channel,
    count(distinct customer_id) filter (where purchases > 0) as purchasing,
    count(*) filter (where purchases > 0) as purchasing_months,
    count(*) filter (where month_start = first_purchase_month) as first_time,
    count(distinct customer_id) filter (where purchases > 0 and first_purchase_month < quarter)
        as returning,
    count(*) filter (where month_start = last_month and order_is_active_end) as order_end,
    count(*) filter (where month_start = last_month and contract_is_active_end) as contract_end,
    sum(net_revenue) as net_revenue
from months inner join lasts using (quarter) group by all
"""


def test_mf_purchasing_customers_and_end_balances_by_channel_and_quarter(
    mf_answers, published: Published
) -> None:
    """Per quarter and channel: purchasing and returning customers are distinct over the
    quarter (a customer purchasing in two of its months is one; summed over the months the
    demo quarters read more), returning = purchasing − first-time purchasers, and the end
    balances are the quarter's last month's, against a hand-written query on the customer
    rows; summed over the channels they are fct_periods' own quarter rows."""
    by_hand = _rows(published.db, CUSTOMER_QUARTERS_BY_HAND)
    assert any(row["purchasing_months"] > row["purchasing"] for row in by_hand)
    assert any(row["returning"] and row["first_time"] for row in by_hand)
    answers = mf_answers["adhoc_customer_segments_by_quarter"]
    _check(
        answers,
        by_hand,
        {"metric_time__quarter": "quarter", "customer__acquisition_channel": "channel"},
        {"purchasing_customers": "purchasing", "first_time_purchasers": "first_time",
         "returning_customers": "returning", "order_customers_end": "order_end",
         "contract_customers_end": "contract_end", "segment_net_revenue": "net_revenue"},
    )  # fmt: skip
    metrics = ("purchasing_customers", "returning_customers", "order_customers_end",
               "contract_customers_end", "segment_net_revenue")  # fmt: skip
    totals: dict[str, list[float]] = {}
    for row in answers:
        total = totals.setdefault(_month(row["metric_time__quarter"]), [0.0] * len(metrics))
        for i, metric in enumerate(metrics):
            total[i] += _num(row[metric]) or 0
    quarters = _rows(
        published.db,
        "select cast(period_start as varchar) as quarter, basis, purchasing_customers, "
        "returning_customers, customers_end, net_revenue "
        "from marts.fct_periods where period_grain = 'quarter'",
    )
    assert sorted(totals) == sorted({row["quarter"] for row in quarters})
    for row in quarters:
        purchasing, returning, order_end, contract_end, revenue = totals[row["quarter"]]
        if row["basis"] == "order":
            assert [purchasing, returning, order_end] == [
                row["purchasing_customers"],
                row["returning_customers"],
                row["customers_end"],
            ], row
            assert math.isclose(revenue, row["net_revenue"], abs_tol=1e-6), row
        else:
            assert contract_end == row["customers_end"], row


def test_mf_current_mrr_and_lifetime_revenue_by_channel(mf_answers, published: Published) -> None:
    """MRR on A and lifetime net revenue per channel (dim_customers' columns summed) against
    the customer rows: the MRR at the end of A's month, the months' net revenue; customers
    without rows count in `customers` with 0. The channels' MRR adds up to fct_periods' MRR
    at the end of A's month."""
    by_hand = _rows(
        published.db,
        """
        with a_month as (
            select cast(date_trunc('month', as_of_date) as date) as month
            from intermediate.int_reporting_params
        ),
        per_customer as (
            select customer_id, sum(net_revenue) as revenue,
                sum(mrr_end) filter (where month_start = (select month from a_month)) as mrr
            from marts.fct_customer_months group by all
        )
        select coalesce(c.acquisition_channel, 'unknown') as channel, count(*) as customers,
            coalesce(sum(p.mrr), 0) as mrr, coalesce(sum(p.revenue), 0) as revenue
        from marts.dim_customers as c left join per_customer as p using (customer_id)
        group by all
        """,
    )
    answers = mf_answers["adhoc_customer_totals_by_channel"]
    assert len(by_hand) > 1 and all(row["revenue"] > 0 for row in by_hand)
    _check(
        answers,
        by_hand,
        {"customer__acquisition_channel": "channel"},
        {"customers": "customers", "current_mrr": "mrr", "lifetime_net_revenue": "revenue"},
    )
    [mrr_on_a] = _rows(
        published.db,
        "select mrr_end from marts.fct_periods where period_grain = 'month' "
        "and basis = 'contract' and period_start = "
        "(select date_trunc('month', as_of_date) from intermediate.int_reporting_params)",
    )
    total = sum(_num(row["current_mrr"]) for row in answers)
    assert total > 0 and math.isclose(total, mrr_on_a["mrr_end"], rel_tol=1e-9)


def test_mf_segmented_balances_over_a_quarter_are_its_first_start(
    mf_answers, published: Published
) -> None:
    """The customer-month and lock-in balances at start, grouped by quarter or year, are the
    customers active at the start of its first month (summed, they read about three times
    as many), their channels add up to fct_periods' quarter rows, and the rates keep
    dividing by the months' summed starts."""
    by_hand = _rows(
        published.db,
        """
        with months as (
            select m.*, coalesce(c.acquisition_channel, 'unknown') as channel,
                cast(date_trunc('quarter', m.month_start) as date) as quarter
            from marts.fct_customer_months as m
            inner join marts.dim_customers as c using (customer_id)
        ),
        firsts as (select quarter, min(month_start) as first_month from months group by all)
        select cast(quarter as varchar) as quarter, channel,
            count(*) filter (where month_start = first_month and order_is_active_start)
                as order_start,
            count(*) filter (where month_start = first_month and contract_is_active_start)
                as contract_start,
            coalesce(sum(mrr_start) filter (where month_start = first_month), 0) as mrr_start,
            count(*) filter (where order_is_active_start) as order_at_risk,
            count(*) filter (where order_lifecycle = 'churned') / nullif(order_at_risk, 0)
                as order_churn_rate,
            count(*) filter (where contract_lifecycle = 'churned')
                / nullif(count(*) filter (where contract_is_active_start), 0)
                as contract_churn_rate,
            sum(mrr_start - contraction_mrr - churned_mrr) / nullif(sum(mrr_start), 0) as grr
        from months inner join firsts using (quarter) group by all
        """,
    )
    assert any(row["order_at_risk"] > row["order_start"] > 0 for row in by_hand)
    answers = mf_answers["adhoc_segment_balances_by_quarter"]
    _check(
        answers,
        by_hand,
        {"metric_time__quarter": "quarter", "customer__acquisition_channel": "channel"},
        {"order_customers_start": "order_start", "contract_customers_start": "contract_start",
         "segment_mrr_start": "mrr_start", "order_churn_rate": "order_churn_rate",
         "contract_churn_rate": "contract_churn_rate",
         "segment_gross_revenue_retention": "grr"},
    )  # fmt: skip
    quarters = _rows(
        published.db,
        "select cast(period_start as varchar) as quarter, basis, customers_start, mrr_start "
        "from marts.fct_periods where period_grain = 'quarter'",
    )
    totals: dict[str, list[float]] = {}
    for row in answers:
        total = totals.setdefault(_month(row["metric_time__quarter"]), [0, 0, 0])
        for i, metric in enumerate(
            ("order_customers_start", "contract_customers_start", "segment_mrr_start")
        ):
            total[i] += _num(row[metric]) or 0
    assert sorted(totals) == sorted({row["quarter"] for row in quarters})
    for row in quarters:
        order, contract, mrr = totals[row["quarter"]]
        if row["basis"] == "order":
            assert order == row["customers_start"], row
        else:
            assert contract == row["customers_start"], row
            assert math.isclose(mrr, row["mrr_start"], abs_tol=1e-6), row
    lock_in = _rows(
        published.db,
        """
        with months as (
            select *, cast(date_trunc('year', period_start) as date) as year
            from marts.mart_lock_in where period_grain = 'month'
        ),
        firsts as (select year, min(period_start) as first_month from months group by all)
        select cast(year as varchar) as year, products_at_start,
            sum(customers_start) filter (where period_start = first_month) as customers_start,
            sum(churned) / nullif(sum(customers_start), 0) as churn_rate
        from months inner join firsts using (year) group by all
        """,
    )
    _check(
        mf_answers["adhoc_lock_in_by_year"],
        lock_in,
        {"metric_time__year": "year", "lock_in_cell__products_at_start": "products_at_start"},
        {"lock_in_customers_start": "customers_start", "lock_in_churn_rate": "churn_rate"},
    )


def test_mf_cohort_heatmap_equals_fct_cohorts(mf_answers, published: Published) -> None:
    marts = _rows(
        published.db,
        "select basis, cast(cohort_month as varchar) as cohort, "
        "cast(months_since_cohort as varchar) as k, cohort_size, active_customers, "
        "retention_rate from marts.fct_cohorts",
    )
    _check(
        mf_answers["cohort_retention_heatmap"],
        marts,
        {"cohort_cell__basis": "basis", "metric_time__month": "cohort",
         "cohort_cell__months_since_cohort": "k"},
        {
            "cohort_size": "cohort_size",
            "cohort_active_customers": "active_customers",
            "cohort_retention_rate": "retention_rate",
        },
    )  # fmt: skip


# A BI user's own segmented cohort query, without the semantic layer: each customer's cohort
# month from dim_customers, their months from fct_customer_months, k = months between them.
COHORTS_BY_CHANNEL_BY_HAND = """
with members as (
    select
        basis,
        case basis when 'order' then d.order_cohort_month else d.contract_cohort_month end
            as cohort_month,
        coalesce(d.acquisition_channel, 'unknown') as channel,
        m.month_start,
        case basis when 'order' then m.purchases > 0 else m.contract_is_active_end end
            as is_active,
        case basis when 'order' then m.net_revenue else m.recognised_contract_revenue end
            as revenue
    from marts.fct_customer_months m
    join marts.dim_customers d using (customer_id)
    cross join (values ('order'), ('contract')) bases (basis)
)
select
    basis, cast(cohort_month as varchar) as cohort, channel,
    cast(datediff('month', cohort_month, month_start) as varchar) as k,
    count(*) as cohort_size, count(*) filter (where is_active) as active_customers,
    sum(revenue) as revenue
from members
where month_start >= cohort_month
group by all
"""


def test_mf_cohort_retention_by_channel_adds_up_to_fct_cohorts(
    mf_answers, published: Published
) -> None:
    """The segmented cohort heatmap (int_customer_cohort_months × the customer's channel):
    (a) channel by channel it equals a BI user's hand-written query on the public marts
    (cohort months of dim_customers, months of fct_customer_months), and (b) summed over the
    channels its cohort sizes and active customers are fct_cohorts', for every basis,
    cohort month and k."""
    answers = mf_answers["cohort_retention_by_channel"]
    assert len({r["customer__acquisition_channel"] for r in answers}) > 1
    for row in answers:  # the ratio re-aggregated from its additive parts
        size, active = (
            float(row["segment_cohort_size"]),
            float(row["segment_cohort_active_customers"]),
        )
        assert _same(row["segment_cohort_retention_rate"], active / size), row
    _check(
        answers,
        _rows(published.db, COHORTS_BY_CHANNEL_BY_HAND),
        {"cohort_member_month__basis": "basis", "metric_time__month": "cohort",
         "cohort_member_month__months_since_cohort": "k",
         "customer__acquisition_channel": "channel"},
        {
            "segment_cohort_size": "cohort_size",
            "segment_cohort_active_customers": "active_customers",
        },
    )  # fmt: skip
    totals: dict[tuple[str, str, str], list[float]] = {}
    for row in answers:
        key = (
            row["cohort_member_month__basis"],
            _month(row["metric_time__month"]),
            row["cohort_member_month__months_since_cohort"],
        )
        total = totals.setdefault(key, [0, 0])
        total[0] += float(row["segment_cohort_size"])
        total[1] += float(row["segment_cohort_active_customers"])
    cohorts = _rows(
        published.db,
        "select basis, cast(cohort_month as varchar) as cohort, "
        "cast(months_since_cohort as varchar) as k, cohort_size, active_customers "
        "from marts.fct_cohorts",
    )
    assert sorted(totals) == sorted((r["basis"], r["cohort"], r["k"]) for r in cohorts)
    for row in cohorts:
        key = (row["basis"], row["cohort"], row["k"])
        assert totals[key] == [row["cohort_size"], row["active_customers"]], key


def test_mf_cohort_revenue_pooled_over_the_cohorts(mf_answers, published: Published) -> None:
    """cohort_revenue per basis and month k, over all cohorts: the cohort customers' net
    order revenue (order basis) or recognised contract revenue (contract basis) in their
    month k, added up by hand from the customer rows."""
    by_hand = _rows(
        published.db,
        f"select basis, k, sum(revenue) as revenue from ({COHORTS_BY_CHANNEL_BY_HAND}) "
        "group by all",
    )
    assert {row["basis"] for row in by_hand if row["revenue"]} == {"order", "contract"}
    _check(
        mf_answers["adhoc_cohort_revenue_pooled"],
        by_hand,
        {"cohort_cell__basis": "basis", "cohort_cell__months_since_cohort": "k"},
        {"cohort_revenue": "revenue"},
    )


# The month k of each (basis, cohort, k, channel) of COHORTS_BY_CHANNEL_BY_HAND is complete
# when it ends on or before A.
COHORT_MONTHS_COMPLETE = """
select *, last_day(cast(cohort as date) + to_months(cast(k as integer)))
    <= (select as_of_date from intermediate.int_reporting_params) as complete
from ({cohorts})
"""


def test_mf_pooled_cohort_retention_says_how_to_leave_out_months_not_over(
    mf_answers, published: Published
) -> None:
    """Pooled over the cohorts (metric_time left out), month k of the cohort whose month k is
    A's month is not over yet (on the order basis its customers had fewer days to purchase),
    and the dashboard's retention curves leave such months out. Both cohort retention
    rates' descriptions name the completeness dimension to filter, and the recipe runs: with
    it the pooled rate per basis and k (per channel too) is the complete months' active
    customers over their cohort sizes, added up by hand from the customer rows (a month
    complete when it ends on or before A). The shared build's A is a month end, so there
    every month is complete; docs/decisions.md has the worked case of an A mid-month."""
    metrics = {metric["name"]: metric for metric in SEMANTIC["metrics"]}
    completeness = {
        "cohort_retention_rate": "cohort_cell__is_complete",
        "segment_cohort_retention_rate": "cohort_member_month__is_complete_month",
    }
    assert [n for n, dim in completeness.items() if dim not in metrics[n]["description"]] == []
    months = COHORT_MONTHS_COMPLETE.format(cohorts=COHORTS_BY_CHANNEL_BY_HAND)
    pooled = "sum(active_customers) / sum(cohort_size) as rate"
    complete = f"from ({months}) where complete group by all"
    _check(
        mf_answers["adhoc_cohort_retention_pooled_complete"],
        _rows(published.db, f"select basis, k, {pooled} {complete}"),
        {"cohort_cell__basis": "basis", "cohort_cell__months_since_cohort": "k"},
        {"cohort_retention_rate": "rate"},
    )
    _check(
        mf_answers["adhoc_segment_cohort_retention_pooled_complete"],
        _rows(published.db, f"select basis, k, channel, {pooled} {complete}"),
        {"cohort_member_month__basis": "basis",
         "cohort_member_month__months_since_cohort": "k",
         "customer__acquisition_channel": "channel"},
        {"segment_cohort_retention_rate": "rate"},
    )  # fmt: skip


def test_mf_churn_by_reason_equals_mart_churn(mf_answers, published: Published) -> None:
    marts = _rows(
        published.db,
        "select cast(period_start as varchar) as month, basis, churn_type, reason_code, "
        "churned_customers, churned_mrr, share_of_churn from marts.mart_churn "
        "where period_grain = 'month'",
    )
    _check(
        mf_answers["churn_by_reason"],
        marts,
        {"metric_time__month": "month", "churn_cell__basis": "basis",
         "churn_cell__churn_type": "churn_type", "churn_cell__reason_code": "reason_code"},
        {
            "churned_customers_by_reason": "churned_customers",
            "churned_mrr_by_reason": "churned_mrr",
            "share_of_churn": "share_of_churn",
        },
    )  # fmt: skip


def test_mf_share_of_churn_re_aggregates_over_the_reasons(mf_answers, published: Published) -> None:
    """Grouped by retainability instead of reason, the share's numerator adds up the reasons
    and its denominator stays the month's churned customers of the basis (fct_periods)."""
    by_hand = _rows(
        published.db,
        "select cast(c.period_start as varchar) as month, c.basis, c.is_retainable, "
        "sum(c.churned_customers) / any_value(p.churned) as share "
        "from marts.mart_churn as c join marts.fct_periods as p "
        "using (basis, period_grain, period_start) where c.period_grain = 'month' group by all",
    )
    assert any(0 < row["share"] < 1 for row in by_hand)
    _check(
        mf_answers["adhoc_share_of_churn_retainable"],
        by_hand,
        {"metric_time__month": "month", "churn_cell__basis": "basis",
         "churn_cell__is_retainable": "is_retainable"},
        {"share_of_churn": "share"},
    )  # fmt: skip


def test_mf_share_of_churn_over_a_quarter_is_what_its_description_says(
    mf_answers, published: Published
) -> None:
    """MetricFlow cannot hold share_of_churn's denominator at the month (docs/decisions.md,
    "Share of churn by reason"): by quarter the numerator adds up the months while the
    denominator is the largest monthly total among the months in which the churn type
    occurs. The descriptions say so; this holds them to what mf answers."""
    by_hand = _rows(
        published.db,
        """
        with months as (
            select basis, churn_type, period_start,
                cast(date_trunc('quarter', period_start) as date) as quarter,
                sum(churned_customers) as churned,
                any_value(period_churned_customers) as month_total
            from marts.mart_churn where period_grain = 'month' group by all
        )
        select cast(quarter as varchar) as quarter, basis, churn_type,
            sum(churned) as churned, max(month_total) as largest_month,
            sum(month_total) as months_total, sum(churned) / max(month_total) as ratio
        from months group by all
        """,
    )
    # Quarters whose months' totals differ from their largest: max and sum tell apart.
    assert any(row["months_total"] > row["largest_month"] for row in by_hand)
    _check(
        mf_answers["adhoc_share_of_churn_by_quarter"],
        by_hand,
        {"metric_time__quarter": "quarter", "churn_cell__basis": "basis",
         "churn_cell__churn_type": "churn_type"},
        {"churned_customers_by_reason": "churned",
         "period_churned_customers": "largest_month", "share_of_churn": "ratio"},
    )  # fmt: skip
    descriptions = {m["name"]: m["description"] for m in SEMANTIC["metrics"]}
    assert "largest of their monthly totals" in descriptions["period_churned_customers"]
    assert "largest monthly total" in descriptions["share_of_churn"]


def test_mf_repeat_purchase_windows_equal_mart_repeat_purchase(
    mf_answers, published: Published
) -> None:
    windows = [f"repeat_rate_{w}" for w in (30, 90, 180, 365)]
    marts = _rows(
        published.db,
        "select cast(first_purchase_month as varchar) as month, customers, "
        f"repeat_purchase_rate, {', '.join(windows)}, eligible_90, repeat_within_90 "
        "from marts.mart_repeat_purchase",
    )
    # A month of the last 90 days has no eligible customer: its rate is null on both sides.
    assert any(row["repeat_rate_90"] is None for row in marts)
    assert any(row["repeat_rate_90"] is not None for row in marts)
    _check(
        mf_answers["repeat_purchase_windows"],
        marts,
        {"metric_time__month": "month"},
        {
            "first_purchase_customers": "customers",
            "repeat_purchase_rate": "repeat_purchase_rate",
            **{window: window for window in windows},
            "repeat_eligible_90": "eligible_90",
            "repeat_within_90": "repeat_within_90",
        },
    )


def test_mf_clv_by_channel_equals_mart_clv(mf_answers, published: Published) -> None:
    columns = [
        "clv", "contract_clv", "average_order_value", "purchase_frequency",
        "annual_churn_rate", "arpa_monthly", "annual_contract_churn_rate",
        "monthly_churn_rate", "cac", "ltv_to_cac",
    ]  # fmt: skip
    marts = _rows(
        published.db,
        f"select segment_value, {', '.join(columns)} from marts.mart_clv "
        "where segment_type = 'acquisition_channel'",
    )
    assert any(row["ltv_to_cac"] is not None for row in marts)  # a channel with spend
    assert all(row["arpa_monthly"] is not None for row in marts)  # contracts in every channel
    assert any(row["monthly_churn_rate"] for row in marts)
    _check(
        mf_answers["clv_by_channel"],
        marts,
        {"clv_segment__segment_value": "segment_value"},
        {c: c for c in columns},
    )


def test_mf_saves_by_reason_equals_mart_cancellation_saves(
    mf_answers, published: Published
) -> None:
    """The save rate and 90-day survival re-aggregated by MetricFlow from the additive
    counts equal the mart's own rates, cell by cell (month, churn type, reason)."""
    columns = [
        "cancellation_requests", "final_offers_made", "saves", "saved_mrr", "save_rate",
        "save_durability_90d",
    ]  # fmt: skip
    marts = _rows(
        published.db,
        f"select cast(period_start as varchar) as month, churn_type, reason_code, "
        f"{', '.join(columns)} from marts.mart_cancellation_saves where period_grain = 'month'",
    )
    assert any(row["saves"] > 0 for row in marts)  # not only empty cells
    assert any(row["save_durability_90d"] is not None for row in marts)
    _check(
        mf_answers["saves_by_reason"],
        marts,
        {"metric_time__month": "month", "save_cell__churn_type": "churn_type",
         "save_cell__reason_code": "reason_code"},
        {c: c for c in columns},
    )  # fmt: skip


def test_mf_programme_uplift_equals_mart_retention_programmes(
    mf_answers, published: Published
) -> None:
    """Treatment and control retention as ratios of the additive counts, their difference
    (derived metric) and the interval per campaign equal the mart's columns."""
    marts = _rows(
        published.db,
        "select campaign, basis, treatment_customers, control_customers, "
        "treatment_retention_rate, control_retention_rate, uplift, uplift_ci_low, "
        "uplift_ci_high, treatment_revenue_per_customer, control_revenue_per_customer, "
        "programme_cost, cost_per_incremental_customer, return_on_cost "
        "from marts.mart_retention_programmes",
    )
    assert any(row["uplift"] is not None for row in marts)
    assert any(row["return_on_cost"] is not None for row in marts)
    _check(
        mf_answers["programme_uplift_by_campaign"],
        marts,
        {"programme__campaign": "campaign", "programme__basis": "basis"},
        {
            "treatment_customers": "treatment_customers",
            "control_customers": "control_customers",
            "programme_treatment_retention_rate": "treatment_retention_rate",
            "programme_control_retention_rate": "control_retention_rate",
            "programme_uplift": "uplift",
            "programme_uplift_ci_low": "uplift_ci_low",
            "programme_uplift_ci_high": "uplift_ci_high",
            "programme_treatment_revenue_per_customer": "treatment_revenue_per_customer",
            "programme_control_revenue_per_customer": "control_revenue_per_customer",
            "programme_cost": "programme_cost",
            "cost_per_incremental_customer": "cost_per_incremental_customer",
            "return_on_cost": "return_on_cost",
        },
    )


def test_mf_winback_by_churn_type_equals_mart_winback(mf_answers, published: Published) -> None:
    """The win-back rates, overall and per window, as ratios of the additive counts equal
    the mart's own rates, cell by cell (churn month, basis, churn type)."""
    windows = [30, 90, 180, 365]
    rates = ", ".join(f"winback_rate_{w}" for w in windows)
    marts = _rows(
        published.db,
        "select cast(churn_month as varchar) as month, basis, churn_type, churn_events, "
        f"won_back, winback_rate, {rates} from marts.mart_winback",
    )
    assert any(row["won_back"] > 0 for row in marts)  # not only empty cells
    assert any(row["winback_rate_365"] is None for row in marts)  # recent months: censored
    _check(
        mf_answers["winback_by_churn_type"],
        marts,
        {"metric_time__month": "month", "winback_cell__basis": "basis",
         "winback_cell__churn_type": "churn_type"},
        {c: c for c in ["churn_events", "won_back", "winback_rate",
                        *(f"winback_rate_{w}" for w in windows)]},
    )  # fmt: skip


def test_mf_churn_events_fall_in_the_month_of_the_churn_date(
    mf_answers, published: Published
) -> None:
    """A churn event belongs to the month of its churn date, the day after the spell's last
    active day (spell end + 1), not to the month the spell's last day is in (what the
    metric's description said): by hand from the spells that ended before A, per basis and
    month, against the saved query summed over the churn types."""
    by_hand = _rows(
        published.db,
        "select s.basis, cast(date_trunc('month', s.spell_end_date + 1) as date)::varchar "
        "as month, count(*) as events, count(*) filter (where date_trunc('month', "
        "s.spell_end_date) < date_trunc('month', s.spell_end_date + 1)) as on_a_month_end "
        "from intermediate.int_activity_spells as s, intermediate.int_reporting_params as p "
        "where s.spell_end_date < p.as_of_date group by all",
    )
    assert sum(row["on_a_month_end"] for row in by_hand) > 0  # the wording makes a difference
    totals: dict[tuple[str, str], float] = {}
    for row in mf_answers["winback_by_churn_type"]:
        key = (row["winback_cell__basis"], _month(row["metric_time__month"]))
        totals[key] = totals.get(key, 0) + float(row["churn_events"])
    assert totals == {(row["basis"], row["month"]): row["events"] for row in by_hand}
    metric = next(m for m in SEMANTIC["metrics"] if m["name"] == "churn_events")
    assert "the day after the spell's last active day" in metric["description"]


def test_mf_nps_trend_equals_mart_nps_month_rows(mf_answers, published: Published) -> None:
    """NPS (derived from the additive class counts) per month and segment equals the
    mart's month rows; the quarter and year rows do not leak into the months."""
    marts = _rows(
        published.db,
        "select cast(period_start as varchar) as month, segment_type, segment_value, nps, "
        "responses, promoters, passives, detractors from marts.mart_nps "
        "where period_grain = 'month'",
    )
    assert len({row["segment_type"] for row in marts}) > 1 and any(r["nps"] for r in marts)
    _check(
        mf_answers["nps_trend"],
        marts,
        {"metric_time__month": "month", "nps_cell__segment_type": "segment_type",
         "nps_cell__segment_value": "segment_value"},
        {"nps": "nps", "nps_responses": "responses", "nps_promoters": "promoters",
         "nps_passives": "passives", "nps_detractors": "detractors"},
    )  # fmt: skip


def test_mf_nps_churn_by_class_equals_mart_nps_churn(mf_answers, published: Published) -> None:
    marts = _rows(
        published.db,
        "select basis, nps_class, responses_active, churned_within_180d, churn_rate_180d "
        "from marts.mart_nps_churn",
    )
    assert len(marts) == 6 and any(row["churned_within_180d"] > 0 for row in marts)
    _check(
        mf_answers["nps_churn_by_class"],
        marts,
        {"nps_churn_cell__basis": "basis", "nps_churn_cell__nps_class": "nps_class"},
        {"nps_responses_active": "responses_active",
         "nps_churned_within_180d": "churned_within_180d",
         "nps_churn_rate_180d": "churn_rate_180d"},
    )  # fmt: skip


def test_mf_churn_by_channel_adds_up_to_the_unsegmented_churn(
    mf_answers, published: Published, analyses: dict[str, list[dict]]
) -> None:
    """Segmented churn (customer months × customer channel) against (a) the analysis a BI
    user would write by hand, channel by channel, and (b) fct_periods: the channels' starts
    and churns add up to the month's, on both bases."""
    answers = mf_answers["churn_by_channel"]
    by_hand = analyses["churn_rate_by_channel"]
    _check(
        answers,
        by_hand,
        {"metric_time__month": "month_start",
         "customer__acquisition_channel": "acquisition_channel"},
        {
            "order_churn_rate": "order_churn_rate",
            "contract_churn_rate": "contract_churn_rate",
            "order_customers_start": "order_customers_start",
            "contract_customers_start": "contract_customers_start",
        },
    )  # fmt: skip
    assert len({r["customer__acquisition_channel"] for r in answers}) > 1
    totals: dict[tuple[str, str], list[float]] = {}
    for row in by_hand:
        for basis in ("order", "contract"):
            total = totals.setdefault((str(row["month_start"]), basis), [0, 0])
            total[0] += row[f"{basis}_customers_start"]
            total[1] += row[f"{basis}_churned"]
    periods = _rows(
        published.db,
        "select cast(period_start as varchar) as month, basis, customers_start, churned "
        "from marts.fct_periods where period_grain = 'month'",
    )
    for row in periods:
        assert totals[(row["month"], row["basis"])] == [row["customers_start"], row["churned"]]


def test_mf_renewals_by_product_equal_mart_contract_renewals(
    mf_answers, published: Published
) -> None:
    marts = _rows(
        published.db,
        "select cast(term_end_month as varchar) as month, product, billing_period, "
        "terms_ending, renewed, renewal_rate from marts.mart_contract_renewals",
    )
    assert any(row["renewed"] > 0 for row in marts)
    assert any(row["renewed"] < row["terms_ending"] for row in marts)  # not every rate 1
    _check(
        mf_answers["renewals_by_product"],
        marts,
        {"metric_time__month": "month", "renewal_cell__product": "product",
         "renewal_cell__billing_period": "billing_period"},
        {"terms_ending": "terms_ending", "contracts_renewed": "renewed",
         "renewal_rate": "renewal_rate"},
    )  # fmt: skip


def test_mf_lock_in_by_products_equals_mart_lock_in_month_rows(
    mf_answers, published: Published
) -> None:
    marts = _rows(
        published.db,
        "select cast(period_start as varchar) as month, products_at_start, customers_start, "
        "churned, churn_rate from marts.mart_lock_in where period_grain = 'month'",
    )
    assert len({row["products_at_start"] for row in marts}) > 1
    assert any(row["churned"] > 0 for row in marts)
    _check(
        mf_answers["lock_in_by_products"],
        marts,
        {"metric_time__month": "month", "lock_in_cell__products_at_start": "products_at_start"},
        {"lock_in_customers_start": "customers_start", "lock_in_churned": "churned",
         "lock_in_churn_rate": "churn_rate"},
    )  # fmt: skip


def test_mf_revenue_deciles_and_shares_equal_mart_revenue_concentration(
    mf_answers, published: Published
) -> None:
    """Per decile the customers and revenue; the two shares (ratios whose numerator is
    filtered to the top deciles) equal the mart's revenue share of decile 1 and cumulative
    share of decile 2."""
    marts = _rows(
        published.db,
        "select revenue_decile, customers, revenue, total_revenue, revenue_share, "
        "cumulative_revenue_share from marts.mart_revenue_concentration",
    )
    assert len(marts) == 10
    _check(
        mf_answers["revenue_by_decile"],
        marts,
        {"revenue_decile__decile": "revenue_decile"},
        {"decile_customers": "customers", "decile_revenue": "revenue"},
    )
    [answer] = mf_answers["revenue_concentration"]
    by_decile = {row["revenue_decile"]: row for row in marts}
    assert _same(answer["decile_revenue"], by_decile[1]["total_revenue"])
    assert _same(answer["top_decile_revenue_share"], by_decile[1]["revenue_share"])
    assert _same(answer["top_two_deciles_revenue_share"], by_decile[2]["cumulative_revenue_share"])
    assert (
        0.1
        < _num(answer["top_decile_revenue_share"])
        < _num(answer["top_two_deciles_revenue_share"])
        < 1
    )


def test_mf_predicted_clv_by_channel_equals_the_predictions_grouped_by_hand(
    mf_answers, published: Published
) -> None:
    """The predictive page's figures per channel: counts and sums of the non-null
    predictions, and their means, computed by hand from mart_clv_predictions and
    dim_customers."""
    by_hand = _rows(
        published.db,
        "select d.acquisition_channel, count(p.predicted_clv_365d) as valued, "
        "sum(p.predicted_clv_365d) as total_clv, avg(p.predicted_clv_365d) as mean_clv, "
        "sum(p.expected_purchases_365d) as purchases, count(p.p_alive) as with_p_alive, "
        "sum(p.p_alive) as alive, avg(p.p_alive) as mean_p_alive "
        "from marts.mart_clv_predictions as p join marts.dim_customers as d using (customer_id) "
        "group by d.acquisition_channel",
    )
    assert len(by_hand) > 1 and all(row["valued"] > 0 for row in by_hand)
    _check(
        mf_answers["predicted_clv_by_channel"],
        by_hand,
        {"customer__acquisition_channel": "acquisition_channel"},
        {"predicted_clv_customers": "valued", "predicted_clv_365d": "total_clv",
         "mean_predicted_clv_365d": "mean_clv", "expected_purchases_365d": "purchases",
         "p_alive_customers": "with_p_alive", "expected_alive_customers": "alive",
         "mean_p_alive": "mean_p_alive"},
    )  # fmt: skip


def test_mf_contract_survival_curve_equals_mart_contract_survival(
    mf_answers, published: Published
) -> None:
    """Per cohort and month k, the observed and projected retention re-aggregated from
    their additive parts equal the mart's own; null where the mart's is."""
    marts = _rows(
        published.db,
        "select cast(cohort_month as varchar) as month, months_since_cohort, active_customers, "
        "observed_retention, projected_retention * cohort_size as projected_active, "
        "projected_retention from marts.mart_contract_survival",
    )
    both = [r for r in marts if r["observed_retention"] is not None]
    assert any(r["projected_retention"] is not None for r in both)  # fitted cohorts
    assert any(r["observed_retention"] is None for r in marts)  # months beyond A
    _check(
        mf_answers["contract_survival_curve"],
        marts,
        {"metric_time__month": "month",
         "survival_cell__months_since_cohort": "months_since_cohort"},
        {"observed_contract_active": "active_customers",
         "observed_contract_retention": "observed_retention",
         "projected_contract_active": "projected_active",
         "projected_contract_retention": "projected_retention"},
    )  # fmt: skip
    # Pooled over the cohorts, per k: the observed retention counts the cohorts whose month
    # k is complete only, in both parts; the projection weighs each fitted cohort by size.
    pooled = _rows(
        published.db,
        "select cast(months_since_cohort as varchar) as k, "
        "sum(active_customers) / sum(cohort_size) filter (where observed_retention is not null)"
        " as observed, sum(projected_retention * cohort_size) / sum(cohort_size) filter "
        "(where projected_retention is not null) as projected "
        "from marts.mart_contract_survival group by months_since_cohort",
    )
    mixed = _rows(
        published.db,
        "select months_since_cohort from marts.mart_contract_survival group by all "
        "having count(observed_retention) between 1 and count(*) - 1",
    )
    assert mixed  # some k complete for older cohorts only: the filter matters there
    _check(
        mf_answers["adhoc_contract_survival_pooled"],
        pooled,
        {"survival_cell__months_since_cohort": "k"},
        {"observed_contract_retention": "observed", "projected_contract_retention": "projected"},
    )


def test_every_saved_query_is_compared_with_the_marts_here(mf_answers) -> None:
    """A saved query added to the semantic layer gets a check in this file."""
    source = Path(__file__).read_text(encoding="utf-8")
    names = [name for name in mf_answers if not name.startswith("adhoc_")]
    assert len(names) >= 19
    assert [name for name in names if f'mf_answers["{name}"]' not in source] == []


# --- 4. the semantic layer's own words ------------------------------------------------------

SEMANTIC = project_yaml.read_yaml(REPO_ROOT / "models" / "marts" / "_marts__semantic.yml")
# Dimensions whose values overlap or repeat: summed over them a metric adds one customer (one
# cost, one purchase) up once per value. The query must group by them or filter them.
OVERLAPPING = ("basis", "segment_type")


def _semantic_names() -> set[str]:
    """What `mf query --group-by` takes: every entity, every dimension as
    <primary entity>__<dimension>, metric_time at each grain."""
    names = {f"metric_time__{grain}" for grain in ("day", "week", "month", "quarter", "year")}
    for model in SEMANTIC["semantic_models"]:
        primary = [e["name"] for e in model["entities"] if e["type"] == "primary"]
        names |= {e["name"] for e in model["entities"]}
        names |= {f"{p}__{d['name']}" for p in primary for d in model["dimensions"]}
    return names


def _semantic_parts() -> list[tuple[str, str, dict]]:
    """Every entity, dimension and measure of the semantic models: (semantic model, kind,
    its YAML)."""
    return [
        (model["name"], kind, part)
        for model in SEMANTIC["semantic_models"]
        for kind in ("entities", "dimensions", "measures")
        for part in model.get(kind) or []
    ]


def _summed_measure(metric: dict) -> str:
    """The measure a simple metric sums, named alone or as {name, fill_nulls_with}."""
    measure = metric["type_params"]["measure"]
    return measure["name"] if isinstance(measure, dict) else measure


def _metric_models(metric: dict, metrics: dict[str, dict]) -> list[tuple[dict, str]]:
    """The semantic models a metric sums over, each with the filters on its way there."""
    measures = {
        m["name"]: model for model in SEMANTIC["semantic_models"] for m in model["measures"]
    }
    params, found = metric["type_params"], []
    if metric["type"] == "simple":
        found = [(measures[_summed_measure(metric)], "")]
    else:
        inputs = (
            [params["numerator"], params["denominator"]]
            if metric["type"] == "ratio"
            else params["metrics"]
        )
        for item in inputs:
            name, where = (
                (item["name"], item.get("filter") or "") if isinstance(item, dict) else (item, "")
            )
            found += [(m, f + where) for m, f in _metric_models(metrics[name], metrics)]
    return [(model, where + (metric.get("filter") or "")) for model, where in found]


def test_every_measure_is_read_by_a_metric() -> None:
    """A measure no metric reads is a figure a BI user cannot ask for, or dead weight: twelve
    were, among them purchasing_customers summed over fct_periods' months (a customer once
    per month) and end balances summed like flows."""
    read = {_summed_measure(metric) for metric in SEMANTIC["metrics"] if metric["type"] == "simple"}
    unread = [
        measure["name"]
        for model in SEMANTIC["semantic_models"]
        for measure in model["measures"]
        if measure["name"] not in read
    ]
    assert unread == []


def test_semantic_descriptions_name_real_dimensions_and_say_which_to_group_by() -> None:
    """Every entity__dimension a description names exists (cohort_retention_rate sent users
    to cohort__basis, which mf refuses), and every metric over a mart whose rows overlap on
    basis or segment type, unless its filter picks one, tells the user to group by (or
    filter) that dimension by its name: summed over both bases, programme_cost counted each
    campaign's cost twice and churned_customers_by_reason a customer once on each basis, in
    silence."""
    names = _semantic_names()
    texts = [
        item.get("description") or ""
        for kind in ("semantic_models", "metrics", "saved_queries")
        for item in SEMANTIC[kind]
    ] + [part.get("description") or "" for _, _, part in _semantic_parts()]
    named = {n for text in texts for n in re.findall(r"\b[a-z][a-z_]*__[a-z_]+\b", text)}
    assert "churn_cell__basis" in named and named - names == set()
    metrics = {metric["name"]: metric for metric in SEMANTIC["metrics"]}
    silent = []
    for name, metric in metrics.items():
        for model, where in _metric_models(metric, metrics):
            primary = next(e["name"] for e in model["entities"] if e["type"] == "primary")
            for dimension in OVERLAPPING:
                qualified = f"{primary}__{dimension}"
                has = any(d["name"] == dimension for d in model["dimensions"])
                if has and qualified not in where and qualified not in metric["description"]:
                    silent.append((name, qualified))
    assert silent == []


def _dashboard_labels() -> dict[str, str]:
    """The dashboard's column labels written by hand (`LABELS` in dashboard/warehouse.py),
    read from the source: the checks' environment has no Streamlit to import it with."""
    tree = ast.parse((REPO_ROOT / "dashboard" / "warehouse.py").read_text(encoding="utf-8"))
    return next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["LABELS"]
    )


def test_every_metric_has_a_label_in_the_dashboards_words() -> None:
    """A BI tool lists metrics by their label: every metric has one, written in words (not
    the name again), no two alike, and a metric named like a column the dashboard labels by
    hand reads as the dashboard's header does: `clv` was "CLV (seed formula)" in the
    metric list and "Order-basis CLV" on the CLV page, `contract_clv` "Contract CLV"
    beside "Contract-basis CLV"."""
    labels = {metric["name"]: metric.get("label") or "" for metric in SEMANTIC["metrics"]}
    assert [n for n, text in labels.items() if not text or "_" in text or text == n] == []
    assert sorted(t for t in labels.values() if list(labels.values()).count(t) > 1) == []
    dashboard = _dashboard_labels()
    assert {"clv", "mrr_start", "won_back_mrr"} <= set(dashboard) & set(labels)
    assert {n: labels[n] for n in dashboard if n in labels and labels[n] != dashboard[n]} == {}


# A description's opening, up to its first full stop, semicolon or colon (or a dash between
# spaces), and the words in it that are not names.
OPENING = re.compile(r"(?<=[.;:])\s|\s—\s")
PLAIN_WORD = re.compile(r"\b[A-Za-z][A-Za-z'’-]*\b")
# An opening that reads on from the metric above it in the YAML, which a BI tool's list
# does not show: "Of those, renewed by a following contract."
READS_ON = re.compile(r"(Of (those|them|the eligible)|Their|Its|They|Those|These)\b")
# An opening that starts with a formula, a name or a bracket ("churned_customers /
# customers_at_risk (null when …"): its words come after the names, if at all.
OPENS_WITH_A_FORMULA = re.compile(r"\(|\w*_")


def _unclear_opening(description: str | None, label: str) -> str | None:
    """The opening of a description that does not say in words what it counts, divides or
    groups by (None when it does): fewer than four words that are not names before its
    first full stop, semicolon or colon, or a start with a formula, a name, a bracket or a
    reading on from the item above it, or the label again."""
    text = " ".join((description or "").split())
    opening = OPENING.split(text)[0]
    if (
        len(PLAIN_WORD.findall(opening)) < 4
        or OPENS_WITH_A_FORMULA.match(text)
        or READS_ON.match(text)
        or opening.rstrip(".").lower() == label.lower()
    ):
        return opening
    return None


def test_every_metric_description_opens_with_what_it_counts_in_words() -> None:
    """A BI user reads one metric's description at a time, beside its label. Each opens
    with what the metric counts or divides, in at least four words that are not names (the
    formula may follow), and does not start with the formula or a name: `renewal_rate` said
    only "contracts_renewed / terms_ending.", `churn_rate` "churned_customers /
    customers_at_risk (null when …", `cac` "marketing_spend / acquired_customers.", and
    eighteen opened "Of those, …", those being the metric above it in the YAML, which the
    list does not show."""
    unclear = {
        metric["name"]: opening
        for metric in SEMANTIC["metrics"]
        if (opening := _unclear_opening(metric["description"], metric["label"])) is not None
    }
    assert unclear == {}


def test_every_dimension_entity_and_measure_has_a_label_in_words() -> None:
    """A BI tool lists a semantic model's entities, dimensions and measures by label, as it
    does the metrics: none had one. Each has a label in words (not the name again), no two
    alike within a semantic model, and a measure labelled as the simple metric that sums it
    (one figure, one name in a BI tool's lists), so that measure labels, like metric labels,
    are unique across the semantic layer."""
    parts = _semantic_parts()
    labels = [(model, part["name"], part.get("label") or "") for model, _, part in parts]
    assert [(m, n) for m, n, text in labels if not text or "_" in text or text == n] == []
    in_model = [(m, text) for m, _, text in labels]
    assert sorted({key for key in in_model if in_model.count(key) > 1}) == []
    summing = {
        _summed_measure(metric): metric["label"]
        for metric in SEMANTIC["metrics"]
        if metric["type"] == "simple"
    }
    assert [(m, n) for m, n, text in labels if n in summing and summing[n] != text] == []


# Metrics named alike that BI users query by name, so kept: each says in its label the window
# that tells it from the other of its pair, and names that other in its description.
NEAR_NAMES = {
    "order_churned": ("in the month", "order_churned_customers"),
    "order_churned_customers": ("in the trailing year to A", "order_churned"),
    "order_customers_start": ("at the period's start", "order_active_start_customers"),
    "order_active_start_customers": ("a year before A", "order_customers_start"),
    "net_revenue": ("in the period", "clv_net_revenue"),
    "clv_net_revenue": ("in the trailing year to A", "net_revenue"),
}


def test_metrics_named_alike_are_told_apart_by_label_and_description() -> None:
    """order_churned (churned in a month) and order_churned_customers (over the trailing year
    to A), order_customers_start (a period's start balance) and order_active_start_customers
    (a year before A), net_revenue (a period's) and clv_net_revenue (the trailing year's)
    read "Order-basis churned customers" beside "Churned within the year (order basis)",
    "Order-active customers at start" beside "Order-active a year before A", "Net order
    revenue" beside "Net order revenue (trailing year)", and no description named the
    other. The metric and the measure it sums (period_net_revenue for net_revenue) each say
    their window in the label and name the other of the pair in the description."""
    metrics = {metric["name"]: metric for metric in SEMANTIC["metrics"]}
    measures = {part["name"]: part for _, kind, part in _semantic_parts() if kind == "measures"}

    def measure(name: str) -> dict:
        return measures[_summed_measure(metrics[name])]

    unclear = [
        (name, item["name"])
        for name, (window, other) in NEAR_NAMES.items()
        for item, neighbour in ((metrics[name], other), (measure(name), measure(other)["name"]))
        if window not in (item.get("label") or "")
        or not re.search(rf"\b{neighbour}\b", item.get("description") or "")
    ]
    assert unclear == []


def test_labels_name_the_trailing_year_in_one_wording() -> None:
    """Eight labels said "Purchases (trailing year)" and seven "Net order revenue in the
    trailing year to A" for the same window, in one BI list: every label of a metric,
    entity, dimension or measure that names the trailing year says "in the trailing year to A"."""
    labels = [(metric["name"], metric.get("label") or "") for metric in SEMANTIC["metrics"]]
    labels += [(part["name"], part.get("label") or "") for _, _, part in _semantic_parts()]
    trailing = [(name, text) for name, text in labels if "trailing" in text.lower()]
    assert len(trailing) >= 15
    assert [
        (n, text) for n, text in trailing if not text.endswith(" in the trailing year to A")
    ] == []


def test_semantic_labels_of_a_dashboard_column_read_as_the_dashboards_header() -> None:
    """An entity, dimension or measure named like a column the dashboard labels by hand
    (LABELS in dashboard/warehouse.py) reads as the dashboard's header: the measure
    mrr_start is "MRR at start" in a BI tool's list as on the dashboard's MRR page."""
    dashboard = _dashboard_labels()
    named = [
        (model, part["name"], part.get("label"))
        for model, _, part in _semantic_parts()
        if part["name"] in dashboard
    ]
    assert {"customers_start", "mrr_start", "won_back_mrr"} <= {name for _, name, _ in named}
    assert [(m, n, text) for m, n, text in named if text != dashboard[n]] == []


def test_every_dimension_entity_and_measure_description_opens_in_words() -> None:
    """A BI tool shows an entity's, a dimension's or a measure's description beside its
    label, one at a time, as it does a metric's: each has one, opening in words as a
    metric's does (_unclear_opening). Of the 125 measures nineteen opened "Of those, …" and
    six "Their …" (the measure above them, which the list does not show), five with a
    formula ("mrr_start − contraction − churned."), and `customer_count` said only
    "Customers."; 60 of the 74 dimensions and 21 of the 22 entities had no description."""
    unclear = {
        (model, part["name"]): opening
        for model, _, part in _semantic_parts()
        if (opening := _unclear_opening(part.get("description"), part.get("label") or ""))
        is not None
    }
    assert unclear == {}


# Measures whose value a cohort repeats on the row of every month k since its cohort month.
REPEATED_PER_K = (
    "cohort_size", "cohort_members", "cohort_cumulative_revenue",
    "survival_observed_cohort_size", "survival_projected_cohort_size",
)  # fmt: skip


def test_mf_cohort_size_is_per_month_k_and_says_so(mf_answers, published: Published) -> None:
    """fct_cohorts repeats a cohort's size on every month k's row, so cohort_size grouped by
    the cohort month alone is the size times the months since it (a 19-customer demo
    cohort read 456). Each metric summing such a measure tells the user to group by (or
    filter) months_since_cohort, and the recipe it gives, k = 0, is the cohort's customers:
    per basis, the customers of dim_customers whose cohort month on that basis it is."""
    silent = [
        metric["name"]
        for metric in SEMANTIC["metrics"]
        if metric["type"] == "simple"
        and metric["type_params"]["measure"] in REPEATED_PER_K
        and not re.search(r"\b[a-z_]+__months_since_cohort\b", metric["description"])
    ]
    assert silent == []
    by_hand = _rows(
        published.db,
        "select 'order' as basis, cast(order_cohort_month as varchar) as cohort, count(*) as n "
        "from marts.dim_customers where order_cohort_month is not null group by all "
        "union all select 'contract', cast(contract_cohort_month as varchar), count(*) "
        "from marts.dim_customers where contract_cohort_month is not null group by all",
    )
    assert len({row["basis"] for row in by_hand}) == 2
    _check(
        mf_answers["adhoc_cohort_sizes"],
        by_hand,
        {"cohort_cell__basis": "basis", "metric_time__month": "cohort"},
        {"cohort_size": "n"},
    )


# --- 5. the analyses compile and run ------------------------------------------------------------


@pytest.fixture(scope="module")
def analyses(published: Published, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list]:
    """`dbt compile` of analyses/ (on a copy of the build), each compiled query run on the
    published warehouse."""
    folder = tmp_path_factory.mktemp("analyses")
    db = copy_db(published.work, folder / DB_NAME)
    run = dbt(["compile", "--select", "resource_type:analysis"], db, folder)
    assert run.ok, run.failure_summary()
    compiled = run.target_path / "compiled" / "retention" / "analyses"
    sources = sorted(p.stem for p in (REPO_ROOT / "analyses").glob("*.sql"))
    assert sorted(p.stem for p in compiled.glob("*.sql")) == sources
    return {name: _rows(published.db, (compiled / f"{name}.sql").read_text()) for name in sources}


def test_every_analysis_compiles_and_returns_rows(analyses: dict[str, list[dict]]) -> None:
    expected = {
        "churn_rate_by_channel", "churn_reasons", "clv_and_ltv_to_cac_by_channel",
        "cohort_heatmap", "monthly_churn_trend", "mrr_waterfall",
    }  # fmt: skip
    assert expected <= set(analyses)
    assert all(analyses[name] for name in analyses), {n: len(r) for n, r in analyses.items()}


def test_analyses_answer_what_they_say(analyses: dict[str, list[dict]]) -> None:
    # Order basis, month 0: every cohort member purchased in their cohort month.
    assert {row["month_0"] for row in analyses["cohort_heatmap"]} == {1.0}
    for row in analyses["mrr_waterfall"]:  # contraction and churn are shown negative
        moved = (
            row["mrr_start"] + row["new_mrr"] + row["reactivation_mrr"] + row["expansion_mrr"]
            + row["contraction_mrr"] + row["churned_mrr"]
        )  # fmt: skip
        assert math.isclose(moved, row["mrr_end"], rel_tol=1e-9, abs_tol=1e-6), row
    for basis in ("order", "contract"):
        shares = [r["share_of_churn"] for r in analyses["churn_reasons"] if r["basis"] == basis]
        assert math.isclose(sum(shares), 1.0), (basis, shares)
    # LTV:CAC is clv / cac where the channel has one: the check needs a channel with spend,
    # acquired customers and a CLV (the checks' data has paid channels), else it checks
    # nothing; a channel without spend (organic) has CAC 0 and no LTV:CAC.
    channels = analyses["clv_and_ltv_to_cac_by_channel"]
    priced = [row for row in channels if row["cac"] and row["clv"] is not None]
    assert priced, channels
    for row in channels:
        if row in priced:
            assert math.isclose(row["ltv_to_cac"], row["clv"] / row["cac"]), row
        else:
            assert row["ltv_to_cac"] is None, row


# --- 7. source freshness on the loader's batch times --------------------------------------------


def test_source_freshness_reads_the_loaders_batches(
    published: Published, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Orders last loaded 8 days ago (error after 7 days), customers 2 days ago (warn after
    36 hours), contracts and cancellations now; the optional tables emptied and never
    delivered: they are as fresh as the feed (now), not ERROR STALE."""
    folder = tmp_path_factory.mktemp("freshness")
    db = copy_db(published.work, folder / DB_NAME)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    optional = ("nps_responses", "retention_actions", "marketing_spend")
    with duckdb.connect(str(db)) as con:
        con.execute("update meta.load_batches set loaded_at = ?", [now])
        for table, days in (("orders", 8), ("customers", 2)):
            con.execute(
                "update meta.load_batches set loaded_at = ? where table_name = ?",
                [now - dt.timedelta(days=days), table],
            )
        for table in optional:
            con.execute(f"delete from raw.{table}")
            con.execute("delete from meta.load_batches where table_name = ?", [table])
    run = dbt(["source", "freshness"], db, folder)
    assert run.returncode == 1, run.tail()  # an ERROR STALE source fails the command
    results = json.loads((run.target_path / "sources.json").read_text())["results"]
    status = {r["unique_id"].rsplit(".", 1)[-1]: r["status"] for r in results}
    assert status == {
        "orders": "error",
        "customers": "warn",
        "contracts": "pass",
        "cancellations": "pass",
        **dict.fromkeys(optional, "pass"),
    }
