"""`retention generate`: same seed, same bytes; the raw contract; believable retention behaviour;
and `--dirty` = the clean data set plus exactly the defects listed in `_defects.json`."""

from __future__ import annotations

import csv
import hashlib
import json
import signal
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from retention import cli, signals
from retention.contract import TABLES
from retention.generate import DEFECTS_FILE, KEYS, REASON_CODES, Options, command, generate
from retention.load_files import check_dir

END = date(2024, 6, 30)
SMALL = {"customers": 3000, "seed": 7, "chunk_size": 1000, "progress": False}  # three chunks


def _generate(out: Path, **kwargs) -> Path:
    generate(Options(out=out, **{**SMALL, **kwargs}))
    return out


def _digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}


def _read(directory: Path, table: str) -> pd.DataFrame:
    """A raw table as text, nulls as None (the way the loader stores it)."""
    path = directory / f"{table}.csv"
    if path.exists():
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    else:
        frame = pq.read_table(directory / f"{table}.parquet").to_pandas()
    return frame.astype(object).where(frame.notna(), None)


def _instants(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, format="ISO8601")


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="%Y-%m-%d")


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    return _generate(tmp_path_factory.mktemp("clean"))


@pytest.fixture(scope="module")
def dirty(tmp_path_factory) -> Path:
    return _generate(tmp_path_factory.mktemp("dirty"), dirty=True)


@pytest.fixture(scope="module")
def raw(clean) -> dict[str, pd.DataFrame]:
    return {table: _read(clean, table) for table in TABLES}


# --- determinism and the contract ------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_and_arguments_give_the_same_bytes(tmp_path, fmt):
    first = _digests(_generate(tmp_path / "a", customers=1500, format=fmt, dirty=True))
    second = _digests(_generate(tmp_path / "b", customers=1500, format=fmt, dirty=True))
    assert first == second
    assert set(first) == {f"{t}.{fmt}" for t in TABLES} | {DEFECTS_FILE}


def test_another_seed_gives_other_data(tmp_path):
    one = _digests(_generate(tmp_path / "a", customers=500, seed=1))
    two = _digests(_generate(tmp_path / "b", customers=500, seed=2))
    assert one["orders.csv"] != two["orders.csv"]


def test_every_table_is_written_with_exactly_the_contract_columns(clean, tmp_path):
    for table, spec in TABLES.items():
        with (clean / f"{table}.csv").open(newline="") as f:
            assert tuple(next(csv.reader(f))) == spec.columns, table
    parquet = _generate(tmp_path / "p", customers=300, format="parquet")
    for table, spec in TABLES.items():
        schema = pq.read_schema(parquet / f"{table}.parquet")
        assert tuple(schema.names) == spec.columns, table
        assert {str(t) for t in schema.types} == {"string"}, table  # raw is text


def test_cli_writes_the_files_and_refuses_an_empty_window(tmp_path, capsys):
    out = tmp_path / "cli"
    assert cli.main(["generate", "--out", str(out), "--customers", "200", "--seed", "3"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.csv" for t in TABLES)
    assert "customers 200" in capsys.readouterr().err  # the summary on stderr
    code = cli.main(["generate", "--out", str(out), "--start", "2024-01-01", "--end", "2023-01-01"])
    assert code == 2


def test_a_new_run_replaces_the_files_of_an_earlier_one(tmp_path):
    out = _generate(tmp_path / "x", customers=200, dirty=True, format="parquet")
    _generate(out, customers=200)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.csv" for t in TABLES)


def test_a_required_table_without_rows_gets_no_file_so_the_data_set_loads(tmp_path):
    # One customer: no cancellation. The header-only cancellations.csv written for it was
    # refused by `retention load` (an empty file of a required table), the whole data set
    # with it. A table without rows now has a file only when it is optional, and a file
    # of an earlier run is removed.
    out = _generate(tmp_path / "one", customers=200)
    rows = generate(Options(out=out, customers=1, seed=42, progress=False))
    assert rows["cancellations"] == 0  # the case in point
    for name, table in TABLES.items():
        has_file = (out / f"{name}.csv").exists()
        assert has_file == (rows[name] > 0 or table.is_optional_table), name
    sources = check_dir(out, lambda _message: None)  # raises LoadError when refused
    assert {source.table.name for source in sources} == {
        name for name in TABLES if (out / f"{name}.csv").exists()
    }


@pytest.mark.parametrize(
    ("failure", "code", "message"),
    [
        (signals.Interrupted(signal.SIGINT), 130, "interrupted by SIGINT; nothing was written"),
        (signals.Interrupted(signal.SIGTERM), 143, "interrupted by SIGTERM; nothing was written"),
        (OSError(28, "No space left on device"), 2, "cannot write to"),
    ],
)
def test_a_run_stopped_midway_leaves_the_earlier_data_set_as_it_was(
    tmp_path, monkeypatch, capsys, failure, code, message
):
    # The earlier files were removed before the new ones were written: Ctrl-C (or a full
    # disk) halfway through lost the earlier data set and left nothing in its place.
    out = _generate(tmp_path / "x", customers=200, dirty=True)
    before = _digests(out)

    def fail(*_args, **_kwargs):
        raise failure

    monkeypatch.setattr(command, "marketing_spend_table", fail)  # after every chunk
    args = ["generate", "--out", str(out), "--customers", "300", "--format", "parquet"]
    assert cli.main(args) == code
    err = capsys.readouterr().err
    assert err.startswith("retention generate: error: ") and message in err, err
    assert _digests(out) == before  # no partial file left either


def test_a_window_the_warehouse_would_quarantine_or_that_cannot_be_written_is_refused(
    tmp_path, capsys
):
    # Before 1990-01-01 every row was quarantined as <column>_out_of_range (the default
    # earliest_plausible_date); near the year 9999 dates came out as "10000-01-0T 02:00:17Z".
    out = tmp_path / "d"
    for option, value, message in [
        ("--start", "1989-12-31", "--start must be on or after 1990-01-01: "),
        ("--end", "9998-01-01", "--end must be on or before 9997-12-31: "),
    ]:
        assert cli.main(["generate", "--out", str(out), "--customers", "5", option, value]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"retention generate: error: {message}"), err
        assert len(err.splitlines()) == 1
    assert not out.exists()
    # The bounds themselves are allowed, and every date is written as YYYY-MM-DD.
    _generate(out / "early", customers=20, start=date(1990, 1, 1), end=date(1991, 1, 1))
    late = _generate(out / "late", customers=20, start=date(9997, 1, 1), end=date(9997, 12, 31))
    iso = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:]{8}(Z|[+-][0-9]{2}:[0-9]{2})?)?$"
    for table in (path.stem for path in late.glob("*.csv")):
        for column, values in _read(late, table).items():
            if column.endswith(("_at", "_date", "_month")):
                assert values.dropna().str.match(iso).all(), (table, column)


def test_an_empty_out_is_refused_not_taken_for_the_current_folder(tmp_path, monkeypatch, capsys):
    # `--out "$DATA"` with DATA unset wrote the data set into the current folder, replacing
    # any raw files there.
    monkeypatch.chdir(tmp_path)
    for empty in ("", " "):
        with pytest.raises(SystemExit) as exit_:
            cli.main(["generate", "--out", empty, "--customers", "5"])
        assert exit_.value.code == 2
        assert "argument --out: an empty path" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_out_naming_a_file_is_refused_in_one_line(tmp_path, capsys):
    # It said "cannot write to x.csv: [Errno 17] File exists: 'x.csv'".
    file = tmp_path / "orders.csv"
    file.write_text("order_id\n")
    assert cli.main(["generate", "--out", str(file), "--customers", "5"]) == 2
    err = capsys.readouterr().err
    assert (
        err == f"retention generate: error: --out {file} is a file, not a folder: "
        "name the folder to write into\n"
    ), err
    assert file.read_text() == "order_id\n"


def test_too_many_customers_for_memory_is_one_line_and_loses_nothing(tmp_path, monkeypatch, capsys):
    # --customers 1000000000000 ended in numpy's traceback ("Unable to allocate 7.28 TiB")
    # and exit 1; a MemoryError while the chunks were written, likewise.
    out = _generate(tmp_path / "x", customers=200)
    before = _digests(out)

    def no_memory(*_args, **_kwargs):
        raise MemoryError

    monkeypatch.setattr(command, "orders_table", no_memory)
    assert cli.main(["generate", "--out", str(out), "--customers", "300"]) == 2
    assert capsys.readouterr().err == (
        f"retention generate: error: out of memory for 300 customers; nothing was written "
        f"(the files already in {out} are as they were): ask for fewer --customers\n"
    )
    assert _digests(out) == before


# --- clean data: valid rows only -------------------------------------------------------------


def test_keys_are_unique_and_present(raw):
    for table, key in KEYS.items():
        assert raw[table][key].notna().all(), table
        assert raw[table][key].is_unique, table


def test_orders_amounts_statuses_and_refunds(raw):
    orders = raw["orders"]
    amount = orders["amount"].astype(float)
    refunded = orders["refunded_amount"].astype(float).fillna(0)
    assert (amount >= 1).all()
    assert (refunded <= amount).all()
    assert set(orders["status"]) == {"completed", "cancelled", "refunded"}
    assert set(orders["currency"]) == {"EUR"}
    assert orders["amount"].str.fullmatch(r"\d+\.\d\d").all()
    share = orders["status"].value_counts(normalize=True)
    assert 0.03 < share["cancelled"] < 0.07 and 0.015 < share["refunded"] < 0.045
    partial = (orders["status"] == "completed") & (refunded > 0)
    assert 0.02 < partial.mean() < 0.06
    assert (refunded[partial] < amount[partial]).all()
    assert orders["refunded_amount"].isna().mean() > 0.5  # most refunds are null (= 0)


def test_nothing_happens_after_the_end_date(raw):
    last = pd.Timestamp(END, tz="UTC") + pd.Timedelta(days=1)
    for table, column in [
        ("customers", "created_at"),
        ("orders", "ordered_at"),
        ("contracts", "signed_at"),
        ("cancellations", "requested_at"),
        ("nps_responses", "responded_at"),
        ("retention_actions", "assigned_at"),
    ]:
        instants = _instants(raw[table][column].dropna())
        assert (instants < last).all(), f"{table}.{column}"
        if table != "retention_actions":  # the programmes run in waves
            assert instants.max() > last - pd.Timedelta(days=60), f"{table}.{column} ends early"
    assert (_dates(raw["contracts"]["start_date"]) <= pd.Timestamp(END)).all()
    assert (_dates(raw["marketing_spend"]["spend_month"]) <= pd.Timestamp(END)).all()
    # A load is the nightly batch after the event, the latest the night after the end date.
    loaded = pd.concat([_instants(raw[t]["_loaded_at"]) for t in TABLES])
    assert loaded.max() < last + pd.Timedelta(hours=3)


def test_timestamps_come_in_the_three_iso_forms_the_contract_allows(raw):
    created = raw["customers"]["created_at"]
    assert created.str.endswith("Z").mean() > 0.8
    assert created.str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d").any()  # no offset: UTC
    assert created.str.endswith("+02:00").any()


def test_contracts_are_valid_and_chained(raw):
    contracts = raw["contracts"]
    start, end = _dates(contracts["start_date"]), _dates(contracts["end_date"])
    assert (start <= end).where(end.notna(), True).all()
    assert set(contracts["billing_period"]) == {"month", "quarter", "year"}
    assert set(contracts["product"]) == {"basic", "plus", "pro", "storage", "support", "security"}
    assert (contracts["price"].astype(float) > 0).all()
    tiers = contracts["product"].isin(["basic", "plus", "pro"])
    assert 0.02 < end[tiers].isna().mean() < 0.15  # some open-ended tier contracts
    assert end[~tiers].isna().mean() > 0.5  # add-ons: mostly month to month without an end

    previous = contracts.dropna(subset=["previous_contract_id"])
    assert previous["previous_contract_id"].isin(contracts["contract_id"]).all()
    by_id = contracts.set_index("contract_id")
    before = by_id.loc[previous["previous_contract_id"]]
    assert (before["customer_id"].to_numpy() == previous["customer_id"].to_numpy()).all()
    gap = (
        _dates(previous["start_date"]).to_numpy() - _dates(before["end_date"]).to_numpy()
    ).astype("timedelta64[D]").astype(int) - 1
    assert (gap >= 0).all()
    assert (gap == 0).mean() > 0.6  # mostly renewed the next day ...
    assert ((gap > 0) & (gap <= 30)).any() and (gap > 30).any()  # ... some late, some very late
    assert (previous["product"].to_numpy() != before["product"].to_numpy()).any()  # up/downgrades
    open_now = contracts[end.isna() | (end >= pd.Timestamp(END))]
    assert open_now.groupby("customer_id")["product"].nunique().max() >= 2  # concurrent


def test_cancellations_reference_contracts_and_precede_their_effect(raw):
    cancellations, contracts = raw["cancellations"], raw["contracts"]
    assert cancellations["contract_id"].isin(contracts["contract_id"]).all()
    requested = _instants(cancellations["requested_at"]).dt.tz_localize(None).dt.normalize()
    assert (requested < _dates(cancellations["effective_date"])).all()
    codes = set(cancellations["reason_code"].dropna())
    assert codes <= set(REASON_CODES) and "other_misc" in REASON_CODES
    assert cancellations["reason_code"].isna().any()
    end = _dates(cancellations["contract_id"].map(contracts.set_index("contract_id")["end_date"]))
    effective = _dates(cancellations["effective_date"])
    assert (effective < end).any() and (effective == end).any() and (effective > end).any()
    made = cancellations["final_offer_made"] == "true"
    accepted = cancellations["final_offer_accepted"] == "true"
    assert made.any() and accepted.any() and not (accepted & ~made).any()


def test_a_plausible_share_of_contract_holders_repeat_buyers_and_returners(raw):
    customers = raw["customers"]["customer_id"]
    holders = raw["contracts"]["customer_id"]
    assert 0.38 <= customers.isin(holders).mean() <= 0.50  # about 45% (CONTRACT_SHARE)
    purchases = raw["orders"][raw["orders"]["status"] == "completed"]
    per_buyer = purchases.groupby("customer_id").size()
    assert 0.35 <= (per_buyer >= 2).mean() <= 0.7  # one-off buyers and repeaters
    assert per_buyer.max() > 20
    by_time = purchases.assign(at=_instants(purchases["ordered_at"])).sort_values("at")
    gap = by_time.groupby("customer_id")["at"].diff()
    returners = by_time.loc[gap > pd.Timedelta(days=365), "customer_id"].nunique() / len(per_buyer)
    assert 0.01 < returners < 0.15


def test_some_orders_and_contracts_belong_to_customers_absent_from_customers(raw):
    known = set(raw["customers"]["customer_id"])
    for table in ("orders", "contracts"):
        inferred = set(raw[table]["customer_id"]) - known
        assert 0 < len(inferred) < 0.01 * len(known), table


def test_acquisition_grows_through_all_channels(raw):
    customers = raw["customers"]
    year = _instants(customers["created_at"]).dt.year
    assert (year == 2023).sum() > 1.3 * (year == 2021).sum()
    channels = customers["acquisition_channel"].value_counts(normalize=True, dropna=False)
    assert set(channels.index.dropna()) == {"organic", "paid_search", "social", "referral", "email"}
    assert 0.01 < customers["acquisition_channel"].isna().mean() < 0.06


def test_marketing_spend_follows_acquisitions(raw):
    spend = raw["marketing_spend"]
    assert (spend["amount"].astype(float) >= 0).all()
    assert (_dates(spend["spend_month"]).dt.day == 1).all()
    customers = raw["customers"]
    month = _instants(customers["created_at"]).dt.strftime("%Y-%m-01")
    acquired = customers.groupby([customers["acquisition_channel"], month]).size()
    paid = spend[spend["acquisition_channel"] == "paid_search"]
    counts = [acquired.get(("paid_search", m), 0) for m in paid["spend_month"]]
    assert np.corrcoef(counts, paid["amount"].astype(float))[0, 1] > 0.5


def test_nps_detractors_churn_more_than_promoters(raw):
    nps = raw["nps_responses"]
    score = nps["score"].astype(int)
    assert score.between(0, 10).all()
    first_score = score.groupby(nps["customer_id"]).first()
    orders = raw["orders"][raw["orders"]["status"] == "completed"]
    last = _instants(orders["ordered_at"]).groupby(orders["customer_id"]).max()
    lapsed = (last < pd.Timestamp(END, tz="UTC") - pd.Timedelta(days=365)).reindex(
        first_score.index
    )
    lapsed = lapsed.dropna().astype(bool)
    detractors = lapsed[first_score.reindex(lapsed.index) <= 6].mean()
    promoters = lapsed[first_score.reindex(lapsed.index) >= 9].mean()
    assert detractors > promoters + 0.05


# --- dirty data: the clean rows plus exactly the listed defects ------------------------------


def _csv_rows(path: Path) -> list[tuple]:
    """Rows as written; an unquoted empty field is null, a quoted one would be ''."""
    with path.open(newline="") as f:
        reader = csv.reader(f)
        next(reader)
        return [tuple(v if v != "" else None for v in row) for row in reader]


def test_dirty_files_are_the_clean_files_plus_the_injected_rows(clean, dirty):
    report = json.loads((dirty / DEFECTS_FILE).read_text())
    for table in TABLES:
        clean_bytes = (clean / f"{table}.csv").read_bytes()
        dirty_bytes = (dirty / f"{table}.csv").read_bytes()
        assert dirty_bytes.startswith(clean_bytes), table  # clean rows untouched, in order
        clean_rows, dirty_rows = (
            _csv_rows(clean / f"{table}.csv"),
            _csv_rows(dirty / f"{table}.csv"),
        )
        injected = dirty_rows[len(clean_rows) :]
        assert report["clean_rows"][table] == len(clean_rows)
        assert report["injected_rows"][table] == len(injected)
        listed = [k for d in report["defects"] if d["table"] == table for k in d["keys"]]
        assert sum(d["count"] for d in report["defects"] if d["table"] == table) == len(injected)
        if table in KEYS:
            position = TABLES[table].columns.index(KEYS[table])
            assert Counter(row[position] for row in injected) == Counter(listed), table


def test_every_defect_class_is_injected(dirty):
    report = json.loads((dirty / DEFECTS_FILE).read_text())
    classes = {d["defect"] for d in report["defects"]}
    assert classes == {
        "duplicate_row",
        "conflicting_row",
        "null_key",
        "blank_key",
        "null_customer_id",
        "unparsable_timestamp",
        "unparsable_date",
        "unparsable_number",
        "negative_amount",
        "refund_above_amount",
        "unknown_status",
        "unknown_billing_period",
        "non_eur_currency",
        "end_before_start",
        "unknown_contract",
        "score_out_of_range",
        "too_many_decimals",
        "implausible_date",
    }
    assert report["valid_anomalies"][0]["customer_ids"]  # inferred customers, valid rows


def test_defect_rows_are_what_their_class_says(clean, dirty):
    report = json.loads((dirty / DEFECTS_FILE).read_text())
    clean_tables = {table: _read(clean, table) for table in KEYS}
    dirty_tables = {table: _read(dirty, table) for table in KEYS}
    for defect in report["defects"]:
        table, name = defect["table"], defect["defect"]
        key = KEYS[table]
        clean_rows = clean_tables[table]
        injected = dirty_tables[table].iloc[len(clean_rows) :]
        rows = injected[injected[key].isin(defect["keys"])] if defect["keys"][0] else None
        clean_keys = set(clean_rows[key])
        if name == "duplicate_row":
            merged = rows.merge(clean_rows, how="inner")
            assert len(merged) == defect["count"]
        elif name == "conflicting_row":
            original = clean_rows.set_index(key).loc[rows[key]]
            assert (
                _instants(rows["_loaded_at"]).to_numpy()
                < _instants(original["_loaded_at"]).to_numpy()
            ).all()
            assert len(rows.merge(clean_rows, how="inner")) == 0  # other values than the clean row
        elif name in ("null_key", "blank_key"):
            assert all(k is None or not k.strip() for k in defect["keys"])
        else:
            assert not set(defect["keys"]) & clean_keys, name  # a new key
    orders = dirty_tables["orders"].set_index("order_id", drop=False)
    keys = {(d["defect"], d["table"]): d["keys"] for d in report["defects"]}
    assert set(orders.loc[keys["unknown_status", "orders"], "status"]) == {"shipped"}
    assert set(orders.loc[keys["non_eur_currency", "orders"], "currency"]) == {"USD"}
    cancellations = dirty_tables["cancellations"].set_index("cancellation_id")
    contract_ids = set(dirty_tables["contracts"]["contract_id"])
    unknown = cancellations.loc[keys["unknown_contract", "cancellations"], "contract_id"]
    assert not set(unknown) & contract_ids


def test_dirty_parquet_starts_with_the_clean_rows(tmp_path):
    clean = pq.read_table(
        _generate(tmp_path / "c", customers=800, format="parquet") / "orders.parquet"
    )
    dirty = pq.read_table(
        _generate(tmp_path / "d", customers=800, format="parquet", dirty=True) / "orders.parquet"
    )
    assert dirty.slice(0, clean.num_rows).equals(clean)
    assert dirty.num_rows > clean.num_rows


def test_latest_loaded_at_per_key_gives_back_the_clean_rows(clean, dirty):
    """Deduplicating on the key, latest `_loaded_at` first, undoes duplicates and conflicts."""
    for table, key in KEYS.items():
        clean_rows = _read(clean, table).sort_values(key, ignore_index=True)
        rows = _read(dirty, table)
        rows = rows[rows[key].isin(clean_rows[key])]
        rows = rows.assign(_at=_instants(rows["_loaded_at"])).sort_values("_at", ascending=False)
        latest = rows.drop_duplicates(key).drop(columns="_at").sort_values(key, ignore_index=True)
        pd.testing.assert_frame_equal(latest, clean_rows, obj=table)


# --- retention operations: the raw material of the operations marts --------------------------
# Each test restates one mart's definition in plain SQL over the generated files (order basis:
# a purchase keeps a customer active 365 days; contract basis simplified to "a contract covers
# the day", cancellations that were not withdrawn cutting coverage short), so the marts find
# the behaviour the generator puts in. The data set is `clean` (3000 customers, seed 7).

A = "date '2024-06-30'"


@pytest.fixture(scope="module")
def ops(clean) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for table in TABLES:
        path = clean / f"{table}.csv"
        con.execute(f"create view {table} as select * from read_csv('{path}', all_varchar = true)")
    con.execute(
        f"create table seed_reasons as select * from read_csv('{SEED_REASONS}', all_varchar = true)"
    )
    day = "cast(cast({} as timestamptz) at time zone 'UTC' as date)"
    con.execute(f"""
        create table purchases as
        select customer_id, {day.format("ordered_at")} as d from orders where status = 'completed'
    """)
    # Coverage of each contract: to end_date, or to an earlier effective cancellation that was
    # not withdrawn (an accepted final offer withdraws it); open-ended: far away.
    con.execute("""
        create table coverage as
        select k.customer_id, k.product, cast(k.start_date as date) as s,
            least(
                coalesce(cast(any_value(k.end_date) as date), date '2100-01-01'),
                coalesce(min(cast(x.effective_date as date)), date '2100-01-01')
            ) as e
        from contracts as k
        left join cancellations as x
            on x.contract_id = k.contract_id and coalesce(x.final_offer_accepted, '') <> 'true'
        group by k.contract_id, k.customer_id, k.product, k.start_date
    """)
    con.execute(f"""
        create table actions as
        select *, {day.format("assigned_at")} as t,
            row_number() over (partition by campaign, customer_id order by assigned_at, action_id)
                as nth
        from retention_actions
    """)
    return con


SEED_REASONS = Path(__file__).resolve().parent.parent / "seeds" / "cancellation_reasons.csv"
ORDER_ACTIVE = "exists (select 1 from purchases as p where p.customer_id = {c} and p.d <= {d} and p.d > {d} - 365)"  # noqa: E501
COVERED = (
    "exists (select 1 from coverage as k where k.customer_id = {c} and {d} between k.s and k.e)"  # noqa: E501
)


def _rates(con, sql: str) -> dict[str, tuple[int, int]]:
    """{group: (numerator, denominator)} from rows (group, numerator, denominator)."""
    return {g: (int(num), int(den)) for g, num, den in con.execute(sql).fetchall()}


def _rate(pair: tuple[int, int]) -> float:
    return pair[0] / pair[1]


def _two_standard_errors(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Twice the standard error of the difference of two independent proportions."""
    pa_, pb = _rate(a), _rate(b)
    return 2 * np.sqrt(pa_ * (1 - pa_) / a[1] + pb * (1 - pb) / b[1])


def _pooled_two_standard_errors(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Twice the standard error of the difference under "no difference" (the z-test's)."""
    pooled = (a[0] + b[0]) / (a[1] + b[1])
    return 2 * np.sqrt(pooled * (1 - pooled) * (1 / a[1] + 1 / b[1]))


def test_the_generators_churn_types_are_the_seeds():
    from retention.generate.contracts import REASON_CHURN_TYPE

    seed = pd.read_csv(SEED_REASONS)
    assert dict(zip(seed["reason_code"], seed["churn_type"], strict=True)) == REASON_CHURN_TYPE


def test_nps_detractors_churn_within_180_days_more_than_promoters(ops):
    # mart_nps_churn on the order basis: responses r <= A - 180 of customers active on r;
    # churned = not active on r + 180.
    active = ORDER_ACTIVE.format(c="n.customer_id", d="n.r")
    active_later = ORDER_ACTIVE.format(c="n.customer_id", d="n.r + 180")
    rates = _rates(
        ops,
        f"""
        with n as (
            select customer_id, cast(score as int) as score,
                cast(cast(responded_at as timestamptz) at time zone 'UTC' as date) as r
            from nps_responses
        )
        select case when score >= 9 then 'promoter' when score >= 7 then 'passive'
                else 'detractor' end,
            count(*) filter (where not ({active_later})), count(*)
        from n where r <= {A} - 180 and {active}
        group by 1
    """,
    )
    assert min(den for _, den in rates.values()) >= 100, rates
    detractor, passive, promoter = (_rate(rates[k]) for k in ("detractor", "passive", "promoter"))
    assert detractor > promoter + 0.04, rates
    assert detractor > passive > promoter, rates


def _programme(con, campaign: str, active: str) -> dict[str, tuple[int, int]]:
    # mart_retention_programmes: a customer's earliest action in the campaign, t <= A - H
    # (H = 90), active on t; retained = active on t + 90.
    on_t = active.format(c="a.customer_id", d="a.t")
    later = active.format(c="a.customer_id", d="a.t + 90")
    return _rates(
        con,
        f"""
        select assigned_group, count(*) filter (where {later}), count(*)
        from actions as a
        where campaign = '{campaign}' and nth = 1 and t <= {A} - 90 and {on_t}
        group by 1
    """,
    )


def test_the_winback_programme_works_on_the_order_basis(ops):
    rates = _programme(ops, "winback_lapsed", ORDER_ACTIVE)
    treatment, control = rates["treatment"], rates["control"]
    assert min(treatment[1], control[1]) >= 150, rates
    uplift = _rate(treatment) - _rate(control)
    assert uplift > 0.10 and uplift > _two_standard_errors(treatment, control), rates


def test_the_renewal_call_works_on_the_contract_basis(ops):
    rates = _programme(ops, "renewal_call", COVERED)
    treatment, control = rates["treatment"], rates["control"]
    assert min(treatment[1], control[1]) >= 100, rates
    uplift = _rate(treatment) - _rate(control)
    assert uplift > 0.03 and uplift > _two_standard_errors(treatment, control), rates


@pytest.mark.parametrize("active", [ORDER_ACTIVE, COVERED], ids=["order", "contract"])
def test_the_newsletter_changes_nothing(ops, active):
    rates = _programme(ops, "loyalty_newsletter", active)
    treatment, control = rates["treatment"], rates["control"]
    assert min(treatment[1], control[1]) >= 50, rates
    uplift = _rate(treatment) - _rate(control)
    assert abs(uplift) < _pooled_two_standard_errors(treatment, control), rates


def test_programme_actions_costs_and_repeated_actions(ops):
    rows = ops.execute("""
        select campaign, assigned_group, count(*), count(cost), min(cast(cost as decimal(9, 2))),
            count(*) filter (where nth > 1)
        from actions group by 1, 2
    """).fetchall()
    by_group = {(c, g): (n, costed, low, later) for c, g, n, costed, low, later in rows}
    assert {c for c, _ in by_group} == {"renewal_call", "winback_lapsed", "loyalty_newsletter"}
    for campaign in ("renewal_call", "winback_lapsed"):
        n, costed, low, _ = by_group[campaign, "treatment"]
        assert costed == n and low > 0  # every treated customer costs something
        assert by_group[campaign, "control"][1] == 0  # control: no cost recorded (null = 0)
    assert by_group["loyalty_newsletter", "control"][2] == 0  # recorded as 0.00
    # A reminder: a second action of the same customer in the campaign (its cost counts).
    assert by_group["loyalty_newsletter", "treatment"][3] > 0
    # Each customer is in one group of a campaign.
    assert (
        ops.execute("""
        select count(*) from (select campaign, customer_id from actions
        group by all having count(distinct assigned_group) > 1)
    """).fetchone()[0]
        == 0
    )


def test_final_offers_save_some_requests_and_some_saves_do_not_last(ops):
    # mart_cancellation_saves: requests, offers and saves per churn type; durability = the
    # customer still covered on request date + 90, over saves requested by A - 90.
    rows = ops.execute("""
        select coalesce(s.churn_type, 'unknown'), count(*),
            count(*) filter (where final_offer_made = 'true'),
            count(*) filter (where final_offer_accepted = 'true')
        from cancellations as x left join seed_reasons as s using (reason_code)
        group by 1
    """).fetchall()
    requests = {kind: (n, offers, saves) for kind, n, offers, saves in rows}
    assert {"push", "pull", "unretainable", "unknown"} <= set(requests)
    for kind in ("push", "pull"):
        n, offers, saves = requests[kind]
        assert 0 < saves < offers < n, (kind, requests)
    assert requests["unretainable"][1] > 0  # offers made where they cannot help
    n, offers, saves = (sum(v[i] for v in requests.values()) for i in range(3))
    assert 0 < saves / offers < 1
    covered = COVERED.format(c="v.customer_id", d="v.r + 90")
    lasted, eligible = ops.execute(f"""
        with saves as (
            select k.customer_id,
                cast(cast(x.requested_at as timestamptz) at time zone 'UTC' as date) as r
            from cancellations as x join contracts as k using (contract_id)
            where x.final_offer_accepted = 'true'
        )
        select count(*) filter (where {covered}), count(*) from saves as v where r <= {A} - 90
    """).fetchone()
    assert eligible >= 20 and 0.5 < lasted / eligible < 1, (lasted, eligible)


def test_stacked_products_lower_churn(ops):
    # mart_lock_in: distinct products covering a day; churn = not covered a year later.
    rows = ops.execute(f"""
        with held as (
            select customer_id, count(distinct product) as products
            from coverage where date '2023-01-01' between s and e group by 1
        )
        select least(products, 3), count(*) filter (where not ({
        COVERED.format(c="held.customer_id", d="date '2024-01-01'")
    })), count(*), max(products)
        from held group by 1
    """).fetchall()
    churn = {products: (churned, n) for products, churned, n, _ in rows}
    assert set(churn) == {1, 2, 3} and max(row[3] for row in rows) == 4
    assert _rate(churn[1]) > _rate(churn[3]) + 0.05, churn


def test_renewals_are_signed_before_and_after_the_end_of_the_term(ops):
    # mart_contract_renewals: lead = end_date of the renewed term − the renewal's signed date.
    lead = (
        ops.execute("""
        select cast(p.end_date as date)
            - cast(cast(k.signed_at as timestamptz) at time zone 'UTC' as date)
        from contracts as k join contracts as p on k.previous_contract_id = p.contract_id
        where k.signed_at is not null
    """)
        .df()
        .iloc[:, 0]
    )
    assert len(lead) > 500
    assert 0.5 < (lead > 0).mean() < 0.95 and (lead <= 0).any()
    assert lead.max() > 30


def test_churned_contract_customers_come_back(ops):
    # mart_winback, contract basis: a contract that renews nothing, starting more than the
    # grace (30 days) after the customer's earlier coverage ended.
    back = ops.execute("""
        select count(distinct k.customer_id)
        from contracts as k join coverage as c on c.customer_id = k.customer_id
        where k.previous_contract_id is null and cast(k.start_date as date) > c.e + 31
            and not exists (select 1 from coverage as o where o.customer_id = k.customer_id
                and cast(k.start_date as date) - 31 between o.s and o.e)
    """).fetchone()[0]
    assert back >= 10
