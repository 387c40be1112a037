"""retention/predictive_marts.py without dbt: what the predictive marts get from a warehouse's
summary and cohorts when the data are thin (the fixture 14_predictive_sbg shows the rest
through the warehouse). Hand-made frames, no build: fast."""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import pandas as pd
import pytest
from rfm_reference import rfm_summary
from scipy import integrate, special

from retention import predictive as pr
from retention import predictive_marts as pm

A = dt.date(2024, 6, 30)


def summary(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    """The x / t_x / T summary (int_predictive_summary) of the purchases up to A."""
    bought = pd.DataFrame(rows, columns=["customer_id", "purchase_date", "net_revenue"]).assign(
        purchase_date=lambda df: pd.to_datetime(df["purchase_date"]),
        net_revenue=lambda df: df["net_revenue"].astype(float),
    )
    return rfm_summary(bought, A)


def cohorts(rows: list[tuple[str, int, int, int, bool]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows,
        columns=["cohort_month", "months_since_cohort", "cohort_size", "active_customers",
                 "is_complete"],
    ).assign(cohort_month=lambda df: pd.to_datetime(df["cohort_month"]))  # fmt: skip


NO_COHORTS = cohorts([])


def test_too_few_customers_are_reported_and_predictions_say_why():
    # 3 customers, 2 of them with a repeat day: fewer than MIN_CUSTOMERS = 10.
    bought = summary([("a", "2024-01-05", 10.0), ("a", "2024-02-05", 20.0),
                        ("b", "2024-03-01", 5.0), ("b", "2024-03-08", 7.0),
                        ("c", "2024-06-30", 1.0)])  # fmt: skip
    params = pm.model_parameters(bought, NO_COHORTS)
    by_model = params.groupby("model")
    assert set(by_model.groups) == {"bg_nbd", "gamma_gamma"}
    bg = params[params["model"] == "bg_nbd"]
    assert list(bg["parameter"]) == ["r", "alpha", "a", "b"]
    assert set(bg["fit_status"]) == {pr.INSUFFICIENT_CUSTOMERS}
    assert set(bg["fit_message"]) == {"3 customers, at least 10 needed"}
    assert bg["value"].isna().all() and set(bg["observations"]) == {3}
    gg = params[params["model"] == "gamma_gamma"]
    assert set(gg["fit_status"]) == {pr.INSUFFICIENT_CUSTOMERS}
    assert set(gg["observations"]) == {2}  # a and b repeat

    predictions = pm.customer_predictions(bought, params)
    assert list(predictions["customer_id"]) == ["a", "b", "c"]
    assert set(predictions["fit_status"]) == {"bg_nbd: insufficient_customers"}
    assert predictions["p_alive"].isna().all()
    assert predictions["expected_average_order_value"].isna().all()
    # a: days 01-05 and 02-05: x = 1, t_x = 31 / 7, T = (06-30 − 01-05) = 177 / 7
    a = predictions.iloc[0]
    assert (a["frequency"], a["recency_weeks"], a["age_weeks"]) == (1, 31 / 7, 177 / 7)
    assert a["average_repeat_value"] == 20.0


def ok_parameters(**values: float) -> pd.DataFrame:
    """mart_clv_model_parameters' rows of two `ok` fits of segment `all`, as given."""
    return pd.DataFrame(
        [
            {"model": model, "segment": "all", "parameter": name, "value": values[name],
             "fit_status": pr.OK}
            for model, names in pm.PARAMETERS.items() if model != pm.SBG
            for name in names
        ]
    )  # fmt: skip


def test_a_gamma_gamma_fit_with_q_at_most_1_leaves_one_time_buyers_without_a_value():
    # q = 0.9: the population mean spend p gamma / (q - 1) is not finite, so a customer
    # without a repeat purchase (x = 0) has no expected spend; a repeat buyer has one.
    params = ok_parameters(r=0.5, alpha=10.0, a=0.8, b=2.5, p=2.0, q=0.9, gamma=10.0)
    bought = summary([("once", "2024-05-01", 30.0),
                      ("twice", "2024-03-01", 5.0), ("twice", "2024-04-01", 20.0)])  # fmt: skip
    predictions = pm.customer_predictions(bought, params).set_index("customer_id")
    once, twice = predictions.loc["once"], predictions.loc["twice"]
    assert once["fit_status"] == "gamma_gamma: infinite_mean_spend"
    assert math.isnan(once["expected_average_order_value"])
    assert once["p_alive"] == 1.0  # the BG/NBD's own predictions stay
    # twice: x = 1, m = 20: p (gamma + m x) / (p x + q - 1) = 2 (10 + 20) / (2 + 0.9 - 1)
    #        = 60 / 1.9 = 31.578947...
    assert twice["fit_status"] == pr.OK
    assert math.isclose(twice["expected_average_order_value"], 60 / 1.9, rel_tol=1e-12)


def test_a_gamma_gamma_fit_with_q_exactly_1_leaves_one_time_buyers_without_a_value():
    # q = 1: for x = 0, p x + q - 1 = 0 + 1 - 1 = 0, the population mean p gamma / (q - 1)
    # = 2 * 10 / 0 is infinite: no value and the reason, not an infinite spend under `ok`.
    params = ok_parameters(r=0.5, alpha=10.0, a=0.8, b=2.5, p=2.0, q=1.0, gamma=10.0)
    once = pm.customer_predictions(summary([("once", "2024-05-01", 30.0)]), params).iloc[0]
    assert once["fit_status"] == "gamma_gamma: infinite_mean_spend"
    assert math.isnan(once["expected_average_order_value"])


def bgnbd_by_integration(r, alpha, a, b, t, x, t_x, T):
    """(P(alive), E[Y(t)]) of the BG/NBD from its definition, not from FHL 2005 eq. 10:
    a customer alive at T after x repeat purchases has lambda ~ Gamma(r + x, alpha + T) and
    p ~ Beta(a, b + x) (independent); given them, the purchases in the next t weeks have mean
    (1 - e^(-lambda p t)) / p (FHL 2005 eq. 7), whose mean over lambda is
    (1 - ((alpha + T) / (alpha + T + p t))^(r + x)) / p; the mean over p is integrated
    numerically (scipy's quad with the Beta density's algebraic weight), and times P(alive)
    = 1 / (1 + 1{x > 0} a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))."""
    alive = 1.0 if x == 0 else 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))

    def given_p(p: float) -> float:
        if p == 0:
            return (r + x) * t / (alpha + T)  # the limit as p -> 0
        return -math.expm1((r + x) * math.log1p(-p * t / (alpha + T + p * t))) / p

    mean, _ = integrate.quad(given_p, 0, 1, weight="alg", wvar=(a - 1, b + x - 1), epsrel=1e-12)
    return alive, alive * mean / special.beta(a, b + x)


def test_expected_purchases_365d_by_numerical_integration():
    # The published CDNOW estimates (r 0.243, alpha 4.414, a 0.793, b 2.426) applied to three
    # customers; A = 2024-06-30 (2024 is a leap year):
    # new: one purchase day 05-01: x = 0, t_x = 0, T = 30 + 30 = 60 days.
    # two: 01-05 and 02-05: x = 1, t_x = 31 days, T = 177 days.
    # five: the 1st of January … May: x = 4, t_x = 31 + 29 + 31 + 30 = 121 days,
    #       T = 121 + 31 + 29 = 181 days. Weeks = days / 7; the horizon is 365 days.
    params = ok_parameters(r=0.243, alpha=4.414, a=0.793, b=2.426, p=6.0, q=4.0, gamma=15.0)
    firsts = [("five", f"2024-{month:02d}-01", 5.0) for month in range(1, 6)]
    bought = summary([("new", "2024-05-01", 5.0),
                      ("two", "2024-01-05", 5.0), ("two", "2024-02-05", 5.0), *firsts])  # fmt: skip
    predictions = pm.customer_predictions(bought, params).set_index("customer_id")
    for customer, x, t_x, T in [("new", 0, 0, 60), ("two", 1, 31, 177), ("five", 4, 121, 181)]:
        row = predictions.loc[customer]
        assert (row["frequency"], row["recency_weeks"], row["age_weeks"]) == (x, t_x / 7, T / 7)
        alive, purchases = bgnbd_by_integration(0.243, 4.414, 0.793, 2.426, 365 / 7,
                                                x, t_x / 7, T / 7)  # fmt: skip
        assert math.isclose(row["p_alive"], alive, rel_tol=1e-12), customer
        assert math.isclose(row["expected_purchases_365d"], purchases, rel_tol=1e-9), customer


def test_a_gamma_gamma_fit_with_p_plus_q_at_most_1_leaves_one_repeat_day_without_a_value():
    # p = 0.3, q = 0.6 (heavy-tailed spend): p x + q - 1 = 0.3 x - 0.4, so the expected spend
    # p (gamma + m x) / (p x + q - 1) is infinite for x = 0 and x = 1 as well, finite from
    # x = 2 on. The docs said every repeat buyer keeps a value.
    params = ok_parameters(r=0.5, alpha=10.0, a=0.8, b=2.5, p=0.3, q=0.6, gamma=10.0)
    bought = summary([("once", "2024-05-01", 30.0),
                      ("twice", "2024-03-01", 5.0), ("twice", "2024-04-01", 20.0),
                      ("thrice", "2024-03-01", 5.0), ("thrice", "2024-04-01", 10.0),
                      ("thrice", "2024-05-01", 20.0)])  # fmt: skip
    predictions = pm.customer_predictions(bought, params).set_index("customer_id")
    for customer in ("once", "twice"):  # x = 0: -0.4; x = 1: 0.3 - 0.4 = -0.1
        row = predictions.loc[customer]
        assert row["fit_status"] == "gamma_gamma: infinite_mean_spend"
        assert math.isnan(row["expected_average_order_value"])
        assert not math.isnan(row["p_alive"])  # the BG/NBD's own predictions stay
    # thrice: x = 2, m = (10 + 20) / 2 = 15: 0.3 (10 + 15 * 2) / (0.6 - 0.4) = 12 / 0.2 = 60
    thrice = predictions.loc["thrice"]
    assert thrice["fit_status"] == pr.OK
    assert math.isclose(thrice["expected_average_order_value"], 60.0, rel_tol=1e-12)


def test_a_repeat_buyer_whose_repeat_days_net_less_than_zero_has_no_expected_spend():
    # The Gamma-Gamma's spend is positive; its formula gave "refund" (x = 1, m = -50)
    # p (gamma + m x) / (p x + q - 1) = 6 (15 - 50) / (6 + 4 - 1) = -210 / 9 = -23.33 under
    # fit_status ok, and a negative predicted CLV. (Staging quarantines the orders that would
    # give m < 0; this summary is hand-made.) m = 0 keeps the formula's value.
    params = ok_parameters(r=0.5, alpha=10.0, a=0.8, b=2.5, p=6.0, q=4.0, gamma=15.0)
    bought = summary([("refund", "2024-03-01", 20.0), ("refund", "2024-04-01", -50.0),
                      ("free", "2024-03-01", 20.0), ("free", "2024-04-01", 0.0),
                      ("paid", "2024-03-01", 20.0), ("paid", "2024-04-01", 30.0)])  # fmt: skip
    predictions = pm.customer_predictions(bought, params).set_index("customer_id")
    refund = predictions.loc["refund"]
    assert refund["fit_status"] == "gamma_gamma: negative_spend"
    assert math.isnan(refund["expected_average_order_value"])
    assert refund["expected_purchases_365d"] > 0  # the BG/NBD's own predictions stay
    # free: x = 1, m = 0: 6 (15 + 0) / 9 = 90 / 9 = 10
    free = predictions.loc["free"]
    assert free["fit_status"] == pr.OK
    assert math.isclose(free["expected_average_order_value"], 10.0, rel_tol=1e-12)
    # paid: x = 1, m = 30: 6 (15 + 30) / (6 + 4 - 1) = 270 / 9 = 30
    paid = predictions.loc["paid"]
    assert paid["fit_status"] == pr.OK
    assert math.isclose(paid["expected_average_order_value"], 30.0, rel_tol=1e-12)


def test_expected_purchases_scipy_cannot_evaluate_are_missing_with_the_reason():
    # An `ok` BG/NBD fit of simulated everyday buyers (a review's: 1,500 customers, r 0.4355,
    # alpha 0.1526 weeks, a 1.9932, b 2241.2). For a customer whose only purchase day is A
    # (T = 0) the formula needs 2F1(r, b; a + b - 1; z) at z = t / (alpha + t) = 52.14 /
    # 52.30 = 0.997 with b = 2241, where scipy's hyp2f1 gives NaN: the mart showed a null
    # expected_purchases_365d and predicted CLV under fit_status `ok`.
    params = ok_parameters(r=0.4355, alpha=0.1526, a=1.9932, b=2241.2, p=6.0, q=4.0, gamma=15.0)
    bought = summary([("new", "2024-06-30", 5.0),
                      ("old", "2024-01-05", 5.0), ("old", "2024-06-01", 5.0)])  # fmt: skip
    predictions = pm.customer_predictions(bought, params).set_index("customer_id")
    new, old = predictions.loc["new"], predictions.loc["old"]
    assert new["fit_status"] == "bg_nbd: expected_purchases_not_computable"
    assert math.isnan(new["expected_purchases_365d"])
    assert new["p_alive"] == 1.0  # x = 0, and the Gamma-Gamma's value stays
    # x = 0: the population mean p gamma / (q - 1) = 6 * 15 / 3 = 30
    assert math.isclose(new["expected_average_order_value"], 30.0, rel_tol=1e-12)
    # old: x = 1, T = 177 / 7 weeks, far from the corner: a finite value and `ok`.
    assert old["fit_status"] == pr.OK
    assert math.isfinite(old["expected_purchases_365d"]) and old["expected_purchases_365d"] > 0


def test_no_purchases_at_all():
    params = pm.model_parameters(summary([]), NO_COHORTS)
    assert set(params["fit_status"]) == {pr.INSUFFICIENT_CUSTOMERS, pr.NO_REPEAT_BUYERS}
    assert len(pm.customer_predictions(summary([]), params)) == 0


def test_cohort_survivors_stop_at_the_first_incomplete_month():
    rows = cohorts([("2024-01-01", 0, 10, 9, True), ("2024-01-01", 1, 10, 8, True),
                    ("2024-01-01", 2, 10, 8, True), ("2024-01-01", 3, 10, 7, False)])  # fmt: skip
    survivors = pm.cohort_survivors(rows)
    # n_0 = the cohort size (10, not month 0's 9 active), then months 1 and 2
    assert {k: list(v) for k, v in survivors.items()} == {dt.date(2024, 1, 1): [10, 8, 8]}


def test_cohort_survivors_do_not_depend_on_the_order_of_fct_cohorts_rows():
    # fct_cohorts is read without an order: the rows of the test above, shuffled, give the
    # same survivors, 10 (the cohort size), then months 1 and 2: 8, 8.
    rows = cohorts([("2024-01-01", 2, 10, 8, True), ("2024-01-01", 0, 10, 9, True),
                    ("2024-01-01", 3, 10, 7, False), ("2024-01-01", 1, 10, 8, True)])  # fmt: skip
    survivors = pm.cohort_survivors(rows)
    assert {k: list(v) for k, v in survivors.items()} == {dt.date(2024, 1, 1): [10, 8, 8]}


def test_a_cohort_with_a_month_without_churn_is_fitted():
    # Survivors 1000, 631, 468, 468, 382, 326: nobody left in month 3, nobody came back. The
    # sBG allows a month without a loss (its likelihood has a 0 ln P(T = 3) term), so the
    # curve is fitted, not refused as rising.
    rows = cohorts([("2023-01-01", k, 1000, n, True)
                    for k, n in enumerate([1000, 631, 468, 468, 382, 326])])  # fmt: skip
    params = pm.model_parameters(summary([]), rows)
    assert set(params.loc[params["model"] == pm.SBG, "fit_status"]) == {pr.OK}


def test_survival_rows_carry_the_cohort_size_not_month_0_active():
    # 10 customers, 9 of them still active at the end of month 0 (one contract ended within
    # it): every projected row's cohort_size is 10, and n_0 of the fit is 10.
    rows = cohorts([("2023-01-01", k, 10, n, True) for k, n in enumerate([9, 8, 6, 5, 5])])
    params = pm.model_parameters(summary([]), rows)
    assert set(params.loc[params["model"] == pm.SBG, "observations"]) == {10}
    projections = pm.survival_projections(rows, params)
    assert set(projections["cohort_size"]) == {10}


def test_a_cohort_whose_customers_came_back_is_refused_with_the_month():
    rows = cohorts([("2023-01-01", k, 10, n, True) for k, n in enumerate([10, 8, 6, 7, 5])])
    params = pm.model_parameters(summary([]), rows)
    sbg = params[params["model"] == "sbg"]
    assert list(sbg["segment"]) == ["2023-01-01", "2023-01-01"]
    assert set(sbg["fit_status"]) == {pr.INVALID_INPUT}
    assert "rise in month 3" in sbg["fit_message"].iloc[0]  # 6 at month 2, 7 at month 3
    projections = pm.survival_projections(rows, params)
    assert len(projections) == 25  # months 0 … 24
    assert projections["projected_retention"].isna().all()
    assert set(projections["fit_status"]) == {pr.INVALID_INPUT}


def test_every_fit_refused_still_gives_every_column_its_type():
    """On tiny data every fit can be refused: the columns are then all missing, and DuckDB
    must still store them as double (a column of type NULL takes no cast in a dbt unit test
    fixture)."""
    rows = cohorts([("2023-01-01", k, 10, n, True) for k, n in enumerate([10, 8, 6, 7, 5])])
    params = pm.model_parameters(summary([]), rows)  # no customer, the cohort rises: refused
    projections = pm.survival_projections(rows, params)
    predictions = pm.customer_predictions(summary([]), params)
    typed = {
        name: dict(zip(rel.columns, map(str, rel.types), strict=True))
        for name, rel in [
            ("params", duckdb.sql("select * from params")),
            ("projections", duckdb.sql("select * from projections")),
            ("predictions", duckdb.sql("select * from predictions")),
        ]
    }
    assert params["value"].isna().all() and params["log_likelihood"].isna().all()
    assert typed["params"]["value"] == typed["params"]["log_likelihood"] == "DOUBLE"
    assert projections[["projected_retention", "alpha", "beta"]].isna().all().all()
    assert {typed["projections"][c] for c in ["projected_retention", "alpha", "beta"]} == {"DOUBLE"}
    assert typed["projections"]["cohort_month"] == "DATE"
    # No customer at all: no row, and still a type per column.
    assert len(predictions) == 0 and "NULL" not in typed["predictions"].values()
    assert typed["predictions"]["customer_id"] == "VARCHAR"


def test_fitted_uses_only_ok_fits():
    rows = cohorts([("2023-01-01", k, 1000, n, True)
                    for k, n in enumerate([1000, 631, 468, 382, 326, 289, 262, 241])])  # fmt: skip
    params = pm.model_parameters(summary([]), rows)
    status, sbg = pm.fitted(params, pm.SBG, "2023-01-01")
    assert status == pr.OK and round(sbg["alpha"], 3) == 0.704 and round(sbg["beta"], 3) == 1.182
    # The rows publish the fit's log-likelihood: at the fitted alpha and beta, S(t) =
    # B(alpha, beta + t) / B(alpha, beta) (scipy's Beta function) and LL = sum_t
    # (n_{t-1} - n_t) ln(S(t-1) - S(t)) + n_7 ln S(7) (Fader & Hardie 2007 eq. 5).
    n = [1000, 631, 468, 382, 326, 289, 262, 241]
    s = [special.beta(sbg["alpha"], sbg["beta"] + k) / special.beta(sbg["alpha"], sbg["beta"])
         for k in range(8)]  # fmt: skip
    ll = sum((n[k - 1] - n[k]) * math.log(s[k - 1] - s[k]) for k in range(1, 8))
    ll += n[7] * math.log(s[7])
    published = params.loc[params["model"] == pm.SBG, "log_likelihood"]
    assert all(math.isclose(value, ll, rel_tol=1e-10) for value in published)
    projections = pm.survival_projections(rows, params)
    # S(1) = beta / (alpha + beta)
    assert math.isclose(
        projections["projected_retention"].iloc[1], sbg["beta"] / (sbg["alpha"] + sbg["beta"])
    )
    params.loc[params["model"] == pm.SBG, "fit_status"] = pr.NOT_CONVERGED
    assert pm.fitted(params, pm.SBG, "2023-01-01") == (pr.NOT_CONVERGED, {})


def test_a_cohort_at_the_geometric_limit_is_projected_with_its_churn_probability():
    # 1000, 900, 810, 729: 10 % lost every month. The sBG runs to its geometric limit, with
    # churn probability (100 + 90 + 81) / (1000 + 900 + 810) = 271 / 2710 = 0.1 per month.
    rows = cohorts([("2023-01-01", k, 1000, n, True) for k, n in enumerate([1000, 900, 810, 729])])
    params = pm.model_parameters(summary([]), rows)
    sbg = params[params["model"] == pm.SBG].set_index("parameter")
    # alpha and beta are infinite: their rows stay, without a value; the churn probability
    # is the one estimate. LL = 271 ln 0.1 + 2439 ln 0.9 (test_predictive.py has the sum).
    assert list(sbg.index) == ["alpha", "beta", "churn_probability"]
    assert set(sbg["fit_status"]) == {pr.GEOMETRIC_LIMIT}
    assert sbg.loc[["alpha", "beta"], "value"].isna().all()
    assert math.isclose(sbg.loc["churn_probability", "value"], 0.1, rel_tol=1e-15)
    ll = 271 * math.log(0.1) + 2439 * math.log(0.9)
    assert all(math.isclose(v, ll, rel_tol=1e-12) for v in sbg["log_likelihood"])
    assert set(sbg["observations"]) == {1000}
    assert pm.fitted(params, pm.SBG, "2023-01-01") == (
        pr.GEOMETRIC_LIMIT,
        {"churn_probability": 0.1},
    )
    # Nothing to start the next run's search from: it fits cold (alpha and beta are infinite).
    assert pm.warm_start(params, pm.SBG, "2023-01-01") is None
    projections = pm.survival_projections(rows, params)
    # S(k) = 0.9^k: 1, 0.9, 0.81, 0.729, and S(24) = 0.9^24 = 0.0797664430768725
    # (0.9^8 = 0.43046721, 0.9^24 = 0.43046721^3)
    assert projections["projected_retention"].iloc[:4].tolist() == pytest.approx(
        [1.0, 0.9, 0.81, 0.729], rel=1e-14
    )
    assert math.isclose(
        projections["projected_retention"].iloc[24], 0.0797664430768725, rel_tol=1e-12
    )
    assert projections[["alpha", "beta"]].isna().all().all()
    assert set(projections["fit_status"]) == {pr.GEOMETRIC_LIMIT}


def test_each_cohort_is_projected_with_its_own_fit():
    # Two cohorts: the published "regular" survivors (fit ok) and one whose active customers
    # rise in month 3 (refused). Each cohort's rows carry its own fit: the regular cohort
    # alpha 0.704, beta 1.182; the other no projection and invalid_input.
    regular = [1000, 631, 468, 382, 326, 289, 262, 241]
    rising = [10, 8, 6, 7, 5]
    rows = cohorts([("2023-01-01", k, 1000, n, True) for k, n in enumerate(regular)]
                   + [("2023-02-01", k, 10, n, True) for k, n in enumerate(rising)])  # fmt: skip
    params = pm.model_parameters(summary([]), rows)
    projections = pm.survival_projections(rows, params).set_index("cohort_month")
    first, second = projections.loc[dt.date(2023, 1, 1)], projections.loc[dt.date(2023, 2, 1)]
    assert set(first["fit_status"]) == {pr.OK} and set(first["alpha"].round(3)) == {0.704}
    assert set(first["beta"].round(3)) == {1.182}
    assert set(second["fit_status"]) == {pr.INVALID_INPUT}
    assert second[["projected_retention", "alpha", "beta"]].isna().all().all()


def test_holdout_leaves_customers_without_a_prediction_out_of_both_sides():
    # A NaN prediction (expected purchases the formula cannot evaluate) was skipped by the
    # sum while the customer's actual purchases were counted: the total under-predicted.
    from retention import holdout

    customers = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3"],
            "bucket": ["0", "1", "1"],
            "actual": [1, 2, 4],
            "predicted": [0.5, math.nan, 1.5],
        }
    )
    result = holdout.table(customers)
    # Left: c1 and c3. all: 2 customers, actual 1 + 4 = 5, predicted 0.5 + 1.5 = 2.0.
    assert result.loc["all", ["customers", "actual", "predicted"]].tolist() == [2, 5, 2.0]
    assert result.loc["1", ["customers", "actual", "predicted"]].tolist() == [1, 4, 1.5]
    period = {"as_of": dt.date(2024, 6, 30), "last": dt.date(2024, 9, 29), "weeks": 13.0,
              "params": {"r": 1.0}}  # fmt: skip
    text = holdout.render(result, period, unpredicted=1)
    assert "1 customer(s) left out" in text and pm.PURCHASES_NOT_COMPUTABLE in text
    assert "left out" not in holdout.render(result, period)
