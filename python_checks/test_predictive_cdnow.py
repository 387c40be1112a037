"""The predictive marts on real data: the CDNOW 1/10 sample through `retention load` and
`dbt build` reproduces the published BG/NBD and Gamma-Gamma estimates.

Published (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way", Marketing
Science 24(2); "RFM and CLV", JMR 42(4), with Fader & Hardie's 2013 note on the Gamma-Gamma
model): on the 2,357 customers of the sample, 39-week calibration period (A = 1997-09-30),
BG/NBD r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4; on its 946 customers with
a repeat purchase, Gamma-Gamma p = 6.25, q = 3.74, gamma = 15.44.

The warehouse is built by retention/cdnow.py (the same code as `retention holdout --cdnow`):
every line of CDNOW_sample.txt one completed USD order, vars as_of_date 1997-09-30 and
reporting_currency USD, the predictive models on. test_cdnow.py's build cannot be reused: it
loads the full master file (23,570 customers, not the sample the estimates were published
on) with A = 1998-06-30. The expected summaries below are computed with pandas from the raw
file (python_checks/rfm_reference.py, itself checked by hand in test_predictive.py).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from cdnow_wheel import read_member
from rfm_reference import rfm_summary

from retention import cdnow
from retention.cli import main as retention_main

PUBLISHED = {
    "bg_nbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    "gamma_gamma": {"p": 6.25, "q": 3.74, "gamma": 15.44},
}


@pytest.fixture(scope="module")
def purchases() -> pd.DataFrame:
    return cdnow.sample_purchases(read_member(cdnow.SAMPLE_MEMBER))


@pytest.fixture(scope="module")
def warehouse(purchases: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        return cdnow.build_sample_warehouse(tmp_path_factory.mktemp("cdnow-sample"))
    except cdnow.CdnowError as exc:
        pytest.fail(str(exc))


def query(db: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(sql).df()


@pytest.mark.parametrize("model", ["bg_nbd", "gamma_gamma"])
def test_published_estimates_from_the_parameters_mart(warehouse, model):
    rows = query(
        warehouse,
        f"select * from marts.mart_clv_model_parameters where model = '{model}'",
    ).set_index("parameter")
    assert set(rows["segment"]) == {"all"}
    assert set(rows["fit_status"]) == {"ok"}
    for name, published in PUBLISHED[model].items():
        assert rows.at[name, "value"] == pytest.approx(published, rel=0.01), name
    expected_observations = {"bg_nbd": 2357, "gamma_gamma": 946}[model]
    assert set(rows["observations"]) == {expected_observations}
    if model == "bg_nbd":
        assert rows["log_likelihood"].iloc[0] == pytest.approx(-9582.4, abs=0.05)


def test_the_summary_is_the_papers_data(warehouse, purchases):
    # x, t_x, T and the mean repeat value from the raw file (pandas) equal the mart's.
    expected = rfm_summary(purchases, cdnow.CALIBRATION_END).set_index("customer_id")
    mart = query(warehouse, "select * from marts.mart_clv_predictions").set_index("customer_id")
    assert len(mart) == len(expected) == 2357
    mart = mart.loc[expected.index]
    assert (mart["frequency"] == expected["x"]).all()
    np.testing.assert_allclose(mart["recency_weeks"], expected["t_x"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(mart["age_weeks"], expected["T"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        mart["average_repeat_value"], expected["monetary_value"], rtol=1e-12, equal_nan=True
    )


def test_predictions_properties(warehouse):
    mart = query(warehouse, "select * from marts.mart_clv_predictions")
    assert set(mart["fit_status"]) == {"ok"}
    # x = 0: alive by the model's formula (a customer drops out only after a repeat purchase).
    assert (mart.loc[mart["frequency"] == 0, "p_alive"] == 1.0).all()
    assert ((mart["p_alive"] > 0) & (mart["p_alive"] <= 1)).all()
    # gross_margin 1.0: the CLV is purchases × value.
    np.testing.assert_allclose(
        mart["predicted_clv_365d"],
        mart["expected_purchases_365d"] * mart["expected_average_order_value"],
        rtol=1e-12,
    )


def test_holdout_command_counts_the_actual_purchases(warehouse, purchases, capsys):
    # Actual repeat purchase days in weeks 40-78 (1997-10-01 … 1998-06-30), from the raw file.
    later = purchases[purchases["purchase_date"] > pd.Timestamp(cdnow.CALIBRATION_END)]
    actual = later.groupby("customer_id")["purchase_date"].nunique().sum()
    assert retention_main(["holdout", "--db", str(warehouse)]) == 0
    out = capsys.readouterr().out
    assert "holdout 39 weeks to 1998-06-30" in out  # 273 days = 39 weeks
    assert f"| all | 2,357 | {actual:,} |" in out


def test_an_incremental_run_starts_from_the_fits_before_and_ends_where_they_end(warehouse):
    # int_predictive_parameters is incremental: a run reads the table of the run before,
    # starts each `ok` fit from its estimates and merges its rows in (deleting the rows of
    # fits it no longer makes). Moved estimates (BG/NBD r and Gamma-Gamma p × 1.05) and a row
    # of a cohort that does not exist: the run must fit from there to the cold fit's estimates
    # of the build (to a relative 1e-9) and delete that row.
    table = "intermediate.int_predictive_parameters"
    cold = query(warehouse, f"select * from {table} order by model, segment, parameter")
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            f"update {table} set value = value * 1.05 "
            "where (model, parameter) in (('bg_nbd', 'r'), ('gamma_gamma', 'p'))"
        )
        con.execute(
            f"insert into {table} values "
            "('sbg', '1900-01-01', 'alpha', 1.0, 5, -1.0, 'ok', 'converged')"
        )
    completed = cdnow.rebuild_parameters(warehouse)
    assert completed.returncode == 0, completed.output[-2000:]
    warm = query(warehouse, f"select * from {table} order by model, segment, parameter")
    assert list(warm["segment"]) == list(cold["segment"])  # the 1900-01-01 row is gone
    assert list(warm["parameter"]) == list(cold["parameter"])
    np.testing.assert_allclose(warm["value"], cold["value"], rtol=1e-9)
    np.testing.assert_allclose(warm["log_likelihood"], cold["log_likelihood"], rtol=1e-12)
    assert set(warm["fit_status"]) == {"ok"}
