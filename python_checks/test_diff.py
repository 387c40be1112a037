"""`retention diff`: the marts of two warehouses compared row by row on their keys.

No dbt here: the hand-made marts of test_validate.py (two customers, A = 2024-03-31) are
written twice, and the second copy is changed the way a pull request would change the
numbers. The counts below are those of that world (test_validate.py's docstring): 2
customers, 6 customer-months, 10 periods, 6 cohort rows, 1 repeat-purchase row, 3 CLV
segments, 1 churn row, and rows of the retention-operations marts.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
from test_validate import MARTS, build

from retention import marts as published
from retention.cli import main
from retention.compare import compare_marts

ROWS = {mart: len(rows) for mart, (_, rows) in MARTS.items()}


def diff(capsys, base: Path, pr: Path, *options: str) -> tuple[int, str, str]:
    code = main(["diff", "--base", str(base), "--db", str(pr), *options])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def summary_row(report: str, mart: str) -> list[str]:
    """The cells of `mart`'s row in the report's first table."""
    line = next(line for line in report.splitlines() if line.startswith(f"| {mart} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_an_unchanged_build_reports_no_differences(tmp_path, capsys):
    base, pr = build(tmp_path / "base.duckdb"), build(tmp_path / "pr.duckdb")
    code, out, err = diff(capsys, base, pr, "--exit-code")
    assert code == 0, err
    assert f"**No differences** in the {len(ROWS)} marts compared." in out
    for mart, rows in ROWS.items():
        assert summary_row(out, mart) == [mart, f"{rows} → {rows}", "0", "0", "0", ""], out
    assert "####" not in out  # no section for any mart


def test_a_changed_formula_names_the_mart_the_column_and_example_keys(tmp_path, capsys):
    base = build(tmp_path / "base.duckdb")
    # A changed retention formula: month 1 of both cohorts (rows 1 and 4) at 0.5 instead of 1.
    pr = build(
        tmp_path / "pr.duckdb",
        {("fct_cohorts", 1, "retention_rate"): 0.5, ("fct_cohorts", 4, "retention_rate"): 0.5},
    )
    code, out, err = diff(capsys, base, pr)
    assert code == 0, err  # differences are reported, not an error, without --exit-code
    assert f"**1 of {len(ROWS)} marts differ.**" in out
    assert summary_row(out, "fct_cohorts") == [
        "fct_cohorts",
        "6 → 6",
        "0",
        "0",
        "2",
        "`retention_rate`",
    ]
    for mart in set(ROWS) - {"fct_cohorts"}:
        assert summary_row(out, mart)[2:] == ["0", "0", "0", ""], mart
    section = out.split("#### fct_cohorts\n", 1)[1]
    assert "- Rows changed: 2" in section
    # Examples ordered by key: 'contract' sorts before 'order'.
    assert (
        "| `retention_rate` | 2 | `basis=contract, cohort_month=2024-01-01, "
        "months_since_cohort=1`: 1 → 0.5; `basis=order, cohort_month=2024-01-01, "
        "months_since_cohort=1`: 1 → 0.5 |"
    ) in section
    code, _, _ = diff(capsys, base, pr, "--exit-code")
    assert code == 1


def test_numbers_are_compared_with_the_tolerance(tmp_path, capsys):
    base = build(tmp_path / "base.duckdb")
    # fct_periods row 5 (contract, March): churn_rate 1.0; row 4 (contract, February): 0.0.
    # Within 1e-9 x max(1, |x|): 1.0 + 1e-12 and 0.0 + 1e-12 equal their base values.
    close = build(
        tmp_path / "close.duckdb",
        {("fct_periods", 5, "churn_rate"): 1.0 + 1e-12, ("fct_periods", 4, "churn_rate"): 1e-12},
    )
    code, out, _ = diff(capsys, base, close, "--exit-code")
    assert code == 0, out
    # 1.0 + 1e-6 is not within 1e-9 (|diff| 1e-6 > 1e-9 x 1), but is within --tolerance 1e-5.
    # A decimal counts too: lifetime_net_revenue of c1 50.00 -> 50.01.
    far = build(
        tmp_path / "far.duckdb",
        {
            ("fct_periods", 5, "churn_rate"): 1.0 + 1e-6,
            ("dim_customers", 0, "lifetime_net_revenue"): 50.01,
        },
    )
    code, out, _ = diff(capsys, base, far, "--exit-code")
    assert code == 1
    assert summary_row(out, "fct_periods")[4:] == ["1", "`churn_rate`"]
    assert summary_row(out, "dim_customers")[4:] == ["1", "`lifetime_net_revenue`"]
    assert "`customer_id=c1`: 50.00 → 50.01" in out
    code, out, _ = diff(capsys, base, far, "--tolerance", "1e-5", "--mart", "fct_periods")
    assert code == 0
    assert summary_row(out, "fct_periods")[4:] == ["0", ""]
    assert "| dim_customers |" not in out  # --mart: only the marts asked for


def test_rows_added_and_removed_and_columns_and_marts_that_changed(tmp_path, capsys):
    base = build(tmp_path / "base.duckdb")
    feb = dt.date(2024, 2, 1)
    pr = build(
        tmp_path / "pr.duckdb",
        drop_tables=("mart_churn",),
        extra_rows={
            "mart_repeat_purchase": [(feb, 1, 0, 0.0, None, *[None] * 12)],
        },
    )
    with duckdb.connect(str(pr)) as con:
        con.execute("delete from marts.fct_customer_months where customer_id = 'c2' and "
                    "month_start = date '2024-03-01'")  # fmt: skip
        con.execute("alter table marts.mart_clv add column ltv_band varchar")
        con.execute("alter table marts.mart_clv drop column cac")
    code, out, err = diff(capsys, base, pr)
    assert code == 0, err
    assert f"**4 of {len(ROWS)} marts differ.**" in out
    assert summary_row(out, "mart_repeat_purchase")[1:5] == ["1 → 2", "1", "0", "0"]
    assert summary_row(out, "fct_customer_months")[1:5] == ["6 → 5", "0", "1", "0"]
    # A mart on one side only has no rows to match: not "0 added, 0 removed".
    assert summary_row(out, "mart_churn")[1:5] == ["1 → —", "—", "—", "—"]
    # Columns added and removed are in the table too (the cell was empty, the counts 0).
    assert summary_row(out, "mart_clv")[1:] == ["3 → 3", "0", "0", "0", "+`ltv_band`, −`cac`"]
    assert "- Rows added: 1 (e.g. `first_purchase_month=2024-02-01`)" in out
    assert "- Rows removed: 1 (e.g. `customer_id=c2, month_start=2024-03-01`)" in out
    mart_clv = out.split("#### mart_clv\n", 1)[1].split("####", 1)[0]
    assert "- Columns added: `ltv_band`" in mart_clv
    assert "- Columns removed: `cac`" in mart_clv
    assert out.split("#### mart_churn\n", 1)[1].startswith(
        "\nOnly in the base warehouse: the change removed or renamed it, or the PR's build did "
        "not build it"
    )


def with_build_state(db: Path, state: str) -> Path:
    """`db` with meta.build_state `state`, as dbt's on-run-end hook records it."""
    with duckdb.connect(str(db)) as con:
        con.execute("create schema meta")
        con.execute("create table meta.build_state as select ? as state", [state])
    return db


def test_a_mart_a_failed_build_did_not_build_is_not_compared_on_either_side(tmp_path, capsys):
    # A PR whose unit test of mart_churn failed: dbt skipped the mart, and the report said
    # "Only in the base warehouse: the change removed or renamed it, or ..." under "1 of N
    # marts differ", as if the change might have removed it. The PR warehouse's
    # meta.build_state says that its build failed, and this checkout defines the mart.
    base = with_build_state(build(tmp_path / "base.duckdb"), "built")
    failed = build(tmp_path / "failed.duckdb", drop_tables=("mart_churn",))
    code, out, err = diff(capsys, base, with_build_state(failed, "failed"))
    assert code == 0, err  # a report, as for differences
    n = len(ROWS)
    lines = out.splitlines()
    assert lines[4] == (
        f"**1 of {n} marts not compared: the PR warehouse lacks them and its last dbt build "
        "did not complete** (meta.build_state `failed`): `mart_churn`."
    ), out
    assert lines[6] == f"**No differences** in the {n - 1} marts compared.", out
    assert summary_row(out, "mart_churn")[1:5] == ["1 → not built", "—", "—", "—"]
    assert out.split("#### mart_churn\n", 1)[1].startswith(
        "\nNot compared: not built by the PR's dbt build, which did not complete "
        "(meta.build_state `failed`)"
    ), out
    code, _, _ = diff(capsys, base, failed, "--exit-code")
    assert code == 1  # not compared is not "no differences"
    # A killed build (`building`) likewise, and a difference elsewhere is counted apart.
    changed = {("fct_cohorts", 1, "retention_rate"): 0.5}
    pr = build(tmp_path / "killed.duckdb", changed, drop_tables=("mart_churn",))
    _, out, _ = diff(capsys, base, with_build_state(pr, "building"))
    assert f"**1 of the {n - 1} marts compared differ.**" in out.splitlines(), out
    assert summary_row(out, "mart_churn")[1] == "1 → not built"
    # After a complete build the mart is one the change removed, and nothing else is said.
    pr = with_build_state(build(tmp_path / "built.duckdb", drop_tables=("mart_churn",)), "built")
    _, out, _ = diff(capsys, base, pr)
    assert f"**1 of {n} marts differ.**" in out.splitlines() and "not compared" not in out
    assert summary_row(out, "mart_churn")[1] == "1 → —"
    assert out.split("#### mart_churn\n", 1)[1].startswith(
        "\nOnly in the base warehouse: the change removed or renamed it.\n"
    ), out
    # The failed build as the base (BASE_DB: the base branch's CI warehouse): the report said
    # "Only in the PR warehouse: the change added or renamed it".
    _, out, _ = diff(capsys, failed, base)
    assert (
        f"**1 of {n} marts not compared: the base warehouse lacks them and its last dbt build "
        "did not complete** (meta.build_state `failed`): `mart_churn`."
    ) in out.splitlines(), out
    assert summary_row(out, "mart_churn")[1:5] == ["not built → 1", "—", "—", "—"]
    section = out.split("#### mart_churn\n", 1)[1]
    assert section.startswith("\nNot compared: not in the base warehouse, whose last dbt build")
    assert "Only in the PR warehouse" not in out


def test_a_pr_whose_tests_failed_after_its_models_were_built_lacks_no_skipped_mart(
    tmp_path, capsys
):
    # `make data-diff` builds the PR's models with the tests left out, then runs `dbt test`;
    # when that fails it records meta.build_state `failed` (retention.data_diff), the state
    # one dbt build whose tests fail leaves. The report then said of a mart the PR lacks
    # "not built by the PR's dbt build, which did not complete", though every model was
    # built. The base has two marts the PR lacks: mart_churn, which this checkout defines,
    # and mart_dropped, which it does not (the change removed it).
    from retention import data_diff, load

    def warehouses(name: str) -> tuple[Path, Path]:
        base = with_build_state(build(tmp_path / f"{name}-base.duckdb"), "built")
        with duckdb.connect(str(base)) as con:
            con.execute("create table marts.mart_dropped as select 1 as dropped_id")
        return base, build(tmp_path / f"{name}-pr.duckdb", drop_tables=("mart_churn",))

    n = len(ROWS) + 1  # every mart of this checkout, and mart_dropped
    # The tests failed after every model was built: failed_step `tests`.
    base, pr = warehouses("tests")
    data_diff.record_failed_tests(str(pr))
    code, out, err = diff(capsys, base, pr)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[4] == f"**2 of {n} marts differ.**", out  # mart_churn and mart_dropped
    assert "not compared" not in out and "did not complete" not in out
    assert summary_row(out, "mart_churn") == ["mart_churn", "1 → —", "—", "—", "—", ""]
    tests_failed = (
        "Only in the base warehouse: the change removed or renamed it; the PR's tests failed, "
        "but its models were all built (meta.build_state `failed`, failed_step `tests`)."
    )
    for mart in ("mart_churn", "mart_dropped"):
        assert out.split(f"#### {mart}\n", 1)[1].split("\n")[1] == tests_failed, out
    # As the base (a BASE_DB whose tests failed): the mart it lacks, the change added.
    _, out, _ = diff(capsys, pr, base)
    assert summary_row(out, "mart_churn")[1] == "— → 1"
    assert out.split("#### mart_churn\n", 1)[1].split("\n")[1] == (
        "Only in the PR warehouse: the change added or renamed it; the base's tests failed, "
        "but its models were all built (meta.build_state `failed`, failed_step `tests`)."
    )

    # A failed model: dbt's hook records `failed` and no step, as every warehouse built
    # before failed_step did; mark_build_state without a step writes it null.
    base, pr = warehouses("models")
    with duckdb.connect(str(pr)) as con:
        load.mark_build_state(con, "failed")
    code, out, err = diff(capsys, base, pr)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[4] == (
        f"**1 of {n} marts not compared: the PR warehouse lacks them and its last dbt build "
        "did not complete** (meta.build_state `failed`): `mart_churn`."
    ), out
    assert lines[6] == f"**1 of the {n - 1} marts compared differ.**", out  # mart_dropped
    assert summary_row(out, "mart_churn") == ["mart_churn", "1 → not built", "—", "—", "—", ""]
    assert out.split("#### mart_churn\n", 1)[1].split("\n")[1] == (
        "Not compared: not built by the PR's dbt build, which did not complete "
        "(meta.build_state `failed`); its model, a model before it or a test of one of them "
        "failed (a failed unit test or test skips the models after it). See the build's output."
    )
    assert out.split("#### mart_dropped\n", 1)[1].split("\n")[1] == (
        "Only in the base warehouse: the change removed or renamed it, or the PR's build did "
        "not build it (a failed build skips a mart whose unit test or parent failed)."
    )


def test_the_predictive_marts_are_compared_when_a_warehouse_has_them(tmp_path, capsys):
    base, pr = build(tmp_path / "base.duckdb"), build(tmp_path / "pr.duckdb")
    survival = (
        "cohort_month date, months_since_cohort integer, cohort_size integer, "
        "active_customers integer, observed_retention double, projected_retention double, "
        "is_projected boolean, alpha double, beta double, fit_status varchar"
    )
    jan = dt.date(2024, 1, 1)
    for db, alpha in ((base, 0.7), (pr, 0.71)):  # a refit moved alpha beyond the tolerance
        with duckdb.connect(str(db)) as con:
            con.execute(f"create table marts.mart_contract_survival ({survival})")
            con.executemany(
                "insert into marts.mart_contract_survival values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (jan, 0, 2, 2, 1.0, 1.0, False, alpha, 1.2, "ok"),
                    (jan, 1, 2, 1, 0.5, 0.5, False, alpha, 1.2, "ok"),
                ],
            )
    with duckdb.connect(str(base)) as con:  # only the base has the predictions
        con.execute("create table marts.mart_clv_predictions (customer_id varchar, p_alive double)")
        con.execute("insert into marts.mart_clv_predictions values ('c1', 0.9)")
    code, out, err = diff(capsys, base, pr)
    assert code == 0, err
    # Every published mart, and the two predictive marts that a warehouse has (the third is in
    # neither).
    assert f"**2 of {len(ROWS) + 2} marts differ.**" in out
    assert summary_row(out, "mart_contract_survival") == [
        "mart_contract_survival", "2 → 2", "0", "0", "2", "`alpha`",
    ]  # fmt: skip
    assert "`cohort_month=2024-01-01, months_since_cohort=0`: 0.7 → 0.71" in out
    assert summary_row(out, "mart_clv_predictions")[1] == "1 → —"
    assert "| mart_clv_model_parameters |" not in out
    code, out, _ = diff(capsys, base, pr, "--mart", "mart_contract_survival")
    assert code == 0
    assert "**1 of 1 marts differ.**" in out
    # Asked for by name, a mart that neither warehouse has is refused as unknown, naming the
    # marts they have: it was "1 of 1 marts differ" (exit 1 with --exit-code).
    for options in ([], ["--exit-code"]):
        code, out, err = diff(
            capsys, base, pr, "--mart", "mart_clv_model_parameters", "--mart", "fct_cohorts",
            *options,
        )  # fmt: skip
        assert (code, out) == (2, "")
        assert err == (
            "retention diff: error: unknown mart mart_clv_model_parameters: neither warehouse "
            # In the order of retention/marts.py's KEYS (test_validate's MARTS may differ).
            f"has it; the marts they have: {', '.join(published.KEYS)}, mart_clv_predictions, "
            "mart_contract_survival\n"
        )


def test_missing_or_unbuilt_databases_exit_2_with_a_message(tmp_path, capsys):
    base = build(tmp_path / "base.duckdb")
    code, out, err = diff(capsys, tmp_path / "missing.duckdb", base)
    assert (code, out) == (2, "")
    assert "retention diff: error: --base " in err and "missing.duckdb is not a file" in err
    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    code, _, err = diff(capsys, base, tmp_path / "empty.duckdb")
    assert code == 2
    assert re.search(r"empty\.duckdb has no marts: build it first", err), err
    code, _, err = diff(capsys, base, base)
    assert code == 2 and "are the same file" in err
    assert "Traceback" not in err


def test_duckdb_failing_while_comparing_is_one_line_and_exit_2(tmp_path, capsys):
    # An --examples past DuckDB's LIMIT range (a BIGINT) reached DuckDB only once a column
    # had changed, and stopped with a ParserException traceback (exit 1: "differs").
    base = build(tmp_path / "base.duckdb")
    pr = build(tmp_path / "pr.duckdb", {("fct_cohorts", 1, "retention_rate"): 0.5})
    code, out, err = diff(capsys, base, pr, "--mart", "fct_cohorts", "--examples", str(2**64))
    assert (code, out) == (2, "")
    assert err.startswith("retention diff: error: DuckDB failed while comparing the marts: ")
    assert len(err.splitlines()) == 1, err


def test_a_removed_mart_and_a_renamed_key_are_reported_not_fatal(tmp_path, capsys):
    # A mart the change removed (gone from retention/marts.py, so this checkout has no key
    # for it) was left out of the report in silence ("No differences"); a renamed key column
    # stopped the whole diff (exit 2, no mart compared).
    base, pr = build(tmp_path / "base.duckdb"), build(tmp_path / "pr.duckdb")
    for db in (base, pr):
        with duckdb.connect(str(db)) as con:  # a mart unknown here, in both
            con.execute("create table marts.mart_legacy as select 1 as legacy_id")
    with duckdb.connect(str(base)) as con:  # only the base has this one
        con.execute("create table marts.mart_dropped as select 1 as dropped_id union all select 2")
    with duckdb.connect(str(pr)) as con:
        con.execute("alter table marts.mart_clv rename column segment_value to segment_name")
    code, out, err = diff(capsys, base, pr, "--exit-code")
    assert code == 1, err
    assert f"**3 of {len(ROWS) + 2} marts differ.**" in out
    assert summary_row(out, "mart_dropped")[1] == "2 → —"
    assert "Only in the base warehouse: " in out.split("#### mart_dropped\n", 1)[1]
    rows = ROWS["mart_clv"]
    assert summary_row(out, "mart_clv") == [
        "mart_clv",
        f"{rows} → {rows}",
        "?",
        "?",
        "?",
        "+`segment_name`, −`segment_value`",
    ]
    mart_clv = out.split("#### mart_clv\n", 1)[1].split("####", 1)[0]
    assert "- Columns added: `segment_name`" in mart_clv
    assert "- Columns removed: `segment_value`" in mart_clv
    assert "- Rows not matched: its key column(s) segment_value not in both warehouses" in mart_clv
    assert summary_row(out, "mart_legacy") == ["mart_legacy", "1 → 1", "?", "?", "?", ""]
    assert "no key for it in retention/marts.py" in out.split("#### mart_legacy\n", 1)[1]
    for mart in set(ROWS) - {"mart_clv"}:
        assert summary_row(out, mart)[2:] == ["0", "0", "0", ""], mart
    # Named, the removed mart is compared alone (argparse refused a name this checkout's
    # marts lack); a name neither warehouse has lists the removed ones among theirs.
    code, out, err = diff(capsys, base, pr, "--mart", "mart_dropped", "--exit-code")
    assert code == 1, err
    assert "**1 of 1 marts differ.**" in out
    assert summary_row(out, "mart_dropped")[1] == "2 → —"
    code, out, err = diff(capsys, base, pr, "--mart", "mart_nothing")
    assert (code, out) == (2, "")
    assert err.endswith(", mart_dropped, mart_legacy\n"), err


def test_text_values_are_shown_as_typed_and_keep_the_tables_rows_whole(tmp_path, capsys):
    # A text value is the data's, not markdown: a carriage return in it ended the table's
    # row (the rest of the cell became a row of its own), "a\nb" and "a b" looked alike (a
    # line feed became a space), a backtick ended the code span, `*` became emphasis, and
    # the text 'null' read as null.
    base = build(tmp_path / "base.duckdb")
    pr = build(
        tmp_path / "pr.duckdb",
        {
            ("dim_customers", 0, "acquisition_channel"): "paid | social\r\nretargeting",
            ("dim_customers", 0, "segment"): "*b2b* `vip`",
            ("dim_customers", 1, "segment"): "null",
        },
    )
    code, out, err = diff(capsys, base, pr)
    assert code == 0, err
    lines = out.splitlines()
    table = lines[lines.index("| column | rows changed | examples (key: base → PR) |") :]
    # c1 organic → the text with its line break as \r\n and its pipe escaped for the table
    assert table[2] == (
        "| `acquisition_channel` | 1 | `customer_id=c1`: `organic` → "
        "`paid \\| social\\r\\nretargeting` |"
    ), table
    # c1 null → a code span fenced by two backticks, as it holds one; c2 null → the text
    # 'null' (a code span), not the word null
    assert table[3] == (
        "| `segment` | 2 | `customer_id=c1`: null → `` *b2b* `vip` ``; "
        "`customer_id=c2`: null → `null` |"
    ), table
    assert len(table) == 4 or not table[4].strip(), table  # no row broken in two


def test_the_labels_say_what_each_warehouse_was_built_from(tmp_path, capsys):
    # `make data-diff` names the base revision and the working tree the PR side was built
    # from (uncommitted changes included); the report named two file paths only.
    base, pr = build(tmp_path / "base.duckdb"), build(tmp_path / "pr.duckdb")
    labels = ("--base-label", "main at 0fefef0", "--label", "the working tree of HEAD 7655e18")
    code, out, err = diff(capsys, base, pr, *labels)
    assert code == 0, err
    assert out.splitlines()[2].startswith(
        f"Base `{base}` (main at 0fefef0), PR `{pr}` (the working tree of HEAD 7655e18); "
    )
    code, out, _ = diff(capsys, base, pr)
    assert out.splitlines()[2].startswith(f"Base `{base}`, PR `{pr}`; ")


# --- retention.compare.compare_marts: the oracle of the incremental and publish checks -------


def test_compare_marts_reports_each_kind_of_difference_and_only_those(tmp_path):
    # test_incremental, test_period_ends, test_corrections, test_faults and test_publish all
    # assert compare_marts(...) == []: a comparer that missed a difference would pass them
    # all. Here it must find exactly the rows changed, and nothing in an identical copy.
    base = build(tmp_path / "base.duckdb")
    same = build(tmp_path / "same.duckdb")
    pr = build(
        tmp_path / "pr.duckdb",
        {
            # a double off by a relative 1e-12, summed in another order: equal
            ("mart_clv", 0, "average_order_value"): 25.0 * (1 + 1e-12),
            # a double off by a relative 0.001 / 25 = 4e-5: differs (a matched row)
            ("mart_clv", 1, "average_order_value"): 25.001,
            # a null double that has a value: differs
            ("mart_clv", 2, "clv"): 90.0,
            # a decimal (matched exactly) 30.10 -> 30.11: the row is unmatched on both sides,
            # so 2 differing rows
            ("fct_cohorts", 1, "revenue"): 30.11,
        },
        # a row only in the PR, its one double null (nothing to tell it by but its absence)
        extra_rows={"mart_churn": [("contract", "month", dt.date(2024, 2, 1), "push", "price",
                                    True, 1, 10.0, 1, None)]},
    )  # fmt: skip
    with duckdb.connect(str(pr)) as con:  # March's row only in the base: with February's, 2
        con.execute("delete from marts.mart_churn where period_start = date '2024-03-01'")
    for db in (base, same):  # its double null too
        with duckdb.connect(str(db)) as con:
            con.execute("update marts.mart_churn set share_of_churn = null")
    for db, at in ((base, "2024-04-01 02:00"), (same, "2024-04-02 02:00"), (pr, "2024-04-03")):
        with duckdb.connect(str(db)) as con:  # the run stamps of three runs: not compared
            con.execute(f"alter table marts.fct_periods add column built_at timestamp "
                        f"default timestamp '{at}'")  # fmt: skip
    assert compare_marts(base, same) == []
    problems = compare_marts(base, pr)
    # In relation-name order: fct_cohorts 2, mart_churn 2, mart_clv 2 (rows 1 and 2; not 0).
    assert [p for p in problems if not p.startswith("  ")] == [
        "marts.fct_cohorts: 2 differing rows, e.g.",
        "marts.mart_churn: 2 differing rows, e.g.",
        "marts.mart_clv: 2 differing rows, e.g.",
    ], problems
    assert len(problems) == 3 * (1 + 2), problems  # each header and its 2 example rows


def test_compare_marts_reports_missing_extra_and_reshaped_marts(tmp_path):
    # Equal values in the columns both sides share are not enough: a mart the actual
    # warehouse lacks or has besides, a column dropped, added or retyped, all differ.
    base = build(tmp_path / "base.duckdb")
    pr = build(tmp_path / "pr.duckdb")
    with duckdb.connect(str(pr)) as con:
        con.execute("drop table marts.mart_churn")
        con.execute("create table marts.mart_extra as select 1 as n")
        con.execute("alter table marts.fct_cohorts add column note text")
        con.execute("alter table marts.mart_clv alter clv type decimal(18, 2)")
    problems = compare_marts(base, pr)
    assert problems[0] == "marts.mart_extra: only in the actual warehouse", problems
    assert "marts.mart_churn: not in the actual warehouse" in problems, problems
    reshaped = [p.split(":")[0] for p in problems if ": columns differ: " in p]
    assert reshaped == ["marts.fct_cohorts", "marts.mart_clv"], problems
    assert len(problems) == 4, problems
    # Relations named explicitly: only those are compared, whichever side lacks one.
    assert compare_marts(pr, base, relations=["marts.mart_extra"]) == [
        "marts.mart_extra: not in the actual warehouse"
    ]
    assert compare_marts(base, pr, relations=["marts.mart_extra"]) == [
        "marts.mart_extra: not in the expected warehouse"
    ]
