"""The predictive CLV marts from the warehouse's own tables (the dbt Python models call these).

- The customers' x / t_x / T summary is SQL, computed once by the models
  int_purchase_summary (the purchase days, incremental per customer) and
  int_predictive_summary (a view adding T); the fits and the predictions read it.
- :func:`model_parameters` fits every model once: BG/NBD and Gamma-Gamma on all customers
  with a purchase (segment ``all``), the shifted-beta-geometric per contract-basis cohort
  (segment = the cohort month, ``YYYY-MM-DD``). One row per model, segment and parameter;
  a fit that was refused or did not converge says why in ``fit_status`` / ``fit_message``
  and the build goes on.
- :func:`customer_predictions` applies the fitted BG/NBD and Gamma-Gamma parameters to each
  customer's summary.
- :func:`survival_projections` projects each contract-basis cohort's retention with its sBG
  fit, or the geometric model at the sBG's limit (``geometric_limit``), for months
  0 … ``SURVIVAL_MONTHS``.

The dbt Python models (models/intermediate/predictive/) only read their refs into pandas and
hand them here; SQL marts in models/marts/clv/ give them their contracts (a dbt Python model
cannot enforce one) and lay fct_cohorts' observed retention beside the projection.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa

from retention import predictive as pr
from retention import predictive_columns

ALL = "all"
BG_NBD, GAMMA_GAMMA, SBG = "bg_nbd", "gamma_gamma", "sbg"
PARAMETERS = {
    BG_NBD: ("r", "alpha", "a", "b"),
    GAMMA_GAMMA: ("p", "q", "gamma"),
    SBG: ("alpha", "beta"),
}
# The fit_status values whose parameters the predictions and projections use: an sBG at its
# geometric limit projects with its churn probability (alpha and beta are infinite there).
USABLE = (pr.OK, pr.GEOMETRIC_LIMIT)
# A prediction's fit_status when both fits are ok but the customer's Gamma-Gamma expected
# spend is infinite (p x + q <= 1: x = 0 with q <= 1, or a low x with p + q <= 1).
INFINITE_MEAN_SPEND = "infinite_mean_spend"
# A prediction's fit_status when the BG/NBD fit is ok but scipy cannot evaluate the customer's
# expected purchases (retention/predictive.py bgnbd_expected_purchases: T near 0 under a fit
# with a small alpha and a large b).
PURCHASES_NOT_COMPUTABLE = "expected_purchases_not_computable"
# ... when the customer's mean repeat value is < 0 (retention/predictive.py
# gamma_gamma_expected_value): outside the model. Staging quarantines the orders that would
# give one (a negative amount, a refund above the amount); a summary from elsewhere may not.
NEGATIVE_SPEND = "negative_spend"
# expected_purchases_365d: the next 365 days, 52 1/7 weeks.
HORIZON_WEEKS = 365 / pr.DAYS_PER_WEEK
SURVIVAL_MONTHS = 24

PARAMETER_COLUMNS = predictive_columns.PARAMETERS
PREDICTION_COLUMNS = predictive_columns.CUSTOMERS
SURVIVAL_COLUMNS = predictive_columns.SURVIVAL


# --- fitting --------------------------------------------------------------------------------


def cohort_survivors(cohorts: pd.DataFrame) -> dict[dt.date, np.ndarray]:
    """Per contract-basis cohort: n_0 = cohort size, then the active customers at the end of
    each complete month k = 1, 2, … (fct_cohorts' rows; months from the first incomplete one
    on are left out). ``cohorts`` holds fct_cohorts' contract rows."""
    out: dict[dt.date, np.ndarray] = {}
    for month, rows in cohorts.sort_values("months_since_cohort").groupby("cohort_month"):
        complete = rows[rows["is_complete"].astype(bool)]
        # Consecutive complete months from 0 (a month is complete when it ended by A, so the
        # complete ones are always the first ones).
        ks = complete["months_since_cohort"].to_numpy()
        run = int(np.argmin(np.append(ks == np.arange(len(ks)), False)))
        active = complete["active_customers"].to_numpy(dtype=float)[1:run]
        size = float(rows["cohort_size"].iloc[0])
        out[pd.Timestamp(month).date()] = np.concatenate([[size], active])
    return out


def _fit_cohort(survivors: np.ndarray, warm: dict[str, float] | None = None) -> pr.FitResult:
    """The sBG fit of one cohort; a curve that rises (customers came back) is refused with
    the month it rises in: the model has no return from churn."""
    rises = np.flatnonzero(np.diff(survivors) > 0)
    if len(rises):
        k = int(rises[0]) + 1
        message = (
            f"active customers rise in month {k} (customers came back): the sBG models "
            "survival without return"
        )
        size = int(survivors[0])
        return pr.FitResult(SBG, {}, math.nan, size, False, pr.INVALID_INPUT, message)
    return pr.fit_sbg(survivors, warm)


def fit_customer_models(
    summary: pd.DataFrame, previous: pd.DataFrame | None = None
) -> tuple[pr.FitResult, pr.FitResult]:
    """BG/NBD and Gamma-Gamma on the customers' summary (no customer: refused, not raised);
    ``previous``: an earlier run's parameters, whose ``ok`` fits start these (warm_start)."""
    if summary.empty:
        message = "no customer has a purchase on or before the reporting date"
        return (
            pr.FitResult(BG_NBD, {}, math.nan, 0, False, pr.INSUFFICIENT_CUSTOMERS, message),
            pr.FitResult(GAMMA_GAMMA, {}, math.nan, 0, False, pr.NO_REPEAT_BUYERS, message),
        )
    return (
        pr.fit_bgnbd(
            summary["x"], summary["t_x"], summary["T"], warm=warm_start(previous, BG_NBD, ALL)
        ),
        pr.fit_gamma_gamma(
            summary["x"], summary["monetary_value"], warm=warm_start(previous, GAMMA_GAMMA, ALL)
        ),
    )


def warm_start(previous: pd.DataFrame | None, model: str, segment: str) -> dict[str, float] | None:
    """The parameters of the fit of ``model`` and ``segment`` in an earlier run's
    int_predictive_parameters when it was ``ok`` (the next fit starts from them: Newton's
    method reaches the same maximum as a cold fit in a few steps, retention/predictive.py
    _maximise), else None."""
    if previous is None or previous.empty:
        return None
    status, params = fitted(previous, model, segment)
    return params if status == pr.OK else None


def _parameter_rows(model: str, segment: str, fit: pr.FitResult) -> list[dict[str, object]]:
    """One row per parameter of the model, value null when the fit has none (no fit was
    attempted; alpha and beta at the sBG's geometric limit), then one per other parameter
    the fit has (the churn probability at that limit)."""
    ll = None if math.isnan(fit.log_likelihood) else fit.log_likelihood
    names = PARAMETERS[model] + tuple(n for n in fit.params if n not in PARAMETERS[model])
    return [
        {
            "model": model,
            "segment": segment,
            "parameter": name,
            "value": fit.params.get(name),
            "observations": fit.observations,
            "log_likelihood": ll,
            "fit_status": fit.fit_status,
            "fit_message": fit.message,
        }
        for name in names
    ]


def model_parameters(
    summary: pd.DataFrame, contract_cohorts: pd.DataFrame, previous: pd.DataFrame | None = None
) -> pd.DataFrame:
    """mart_clv_model_parameters: the customers' summary (int_predictive_summary,
    :func:`retention.predictive.rfm_summary`) and fct_cohorts' contract-basis rows;
    ``previous``: the rows of an earlier run (the table before an incremental run), whose
    ``ok`` fits start the same fits of this run (the estimates are those of a cold fit)."""
    bgnbd, gamma_gamma = fit_customer_models(summary, previous)
    rows = _parameter_rows(BG_NBD, ALL, bgnbd) + _parameter_rows(GAMMA_GAMMA, ALL, gamma_gamma)
    for month, survivors in sorted(cohort_survivors(contract_cohorts).items()):
        segment = month.isoformat()
        fit = _fit_cohort(survivors, warm_start(previous, SBG, segment))
        rows += _parameter_rows(SBG, segment, fit)
    return _frame(rows, PARAMETER_COLUMNS)


# predictive_columns.TYPES as pandas types that DuckDB reads as text, double, bigint and date
# (nullable: a missing value stays null).
_PANDAS_TYPES = {
    "text": "str",
    "double": "float64",
    "bigint": "Int64",
    "date": pd.ArrowDtype(pa.date32()),
}


def _frame(rows: Iterable[dict[str, object]] | pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The rows with exactly these columns, each of its type in predictive_columns.TYPES
    (typed even when every value is missing or there is no row)."""
    types = {c: _PANDAS_TYPES[predictive_columns.TYPES[c]] for c in columns}
    frame = pd.DataFrame(list(rows) if not isinstance(rows, pd.DataFrame) else rows)
    if frame.empty:
        return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in types.items()})
    return frame.reindex(columns=columns).astype(types)


# --- reading the fits back ------------------------------------------------------------------


def fitted(parameters: pd.DataFrame, model: str, segment: str) -> tuple[str, dict[str, float]]:
    """(fit_status, parameters) of one fit in mart_clv_model_parameters; parameters only
    when the fit is ``ok`` or an sBG at its geometric limit (USABLE; then the churn
    probability alone, alpha and beta being null): a fit that did not converge is reported,
    never used."""
    rows = parameters[(parameters["model"] == model) & (parameters["segment"] == segment)]
    if rows.empty:
        return "not_fitted", {}
    status = str(rows["fit_status"].iloc[0])
    if status not in USABLE:
        return status, {}
    values = zip(rows["parameter"], rows["value"], strict=True)
    return status, {str(p): float(v) for p, v in values if pd.notna(v)}


# --- int_predictive_customers (mart_clv_predictions) ----------------------------------------


def customer_predictions(summary: pd.DataFrame, parameters: pd.DataFrame) -> pd.DataFrame:
    """One row per customer with a purchase up to A: the summary (int_predictive_summary) and
    the predictions (mart_clv_predictions multiplies in the gross margin)."""
    s = summary
    out = pd.DataFrame(
        {
            "customer_id": s["customer_id"].astype(str),
            "frequency": s["x"].astype("int64"),
            "recency_weeks": s["t_x"].astype(float),
            "age_weeks": s["T"].astype(float),
            "average_repeat_value": s["monetary_value"].astype(float),
        }
    )
    missing = np.full(len(s), np.nan)
    bg_status, bg = fitted(parameters, BG_NBD, ALL)
    gg_status, gg = fitted(parameters, GAMMA_GAMMA, ALL)
    x, t_x, T = s["x"].to_numpy(float), s["t_x"].to_numpy(float), s["T"].to_numpy(float)
    if bg:
        out["p_alive"] = pr.bgnbd_p_alive(bg, x, t_x, T)
        out["expected_purchases_365d"] = pr.bgnbd_expected_purchases(bg, HORIZON_WEEKS, x, t_x, T)
    else:
        out["p_alive"] = out["expected_purchases_365d"] = missing
    # p (γ + m x) / (p x + q − 1) is infinite for p x + q <= 1: the population mean p γ / (q − 1)
    # of x = 0 for q <= 1, and a low x too for p + q <= 1: no value then, and the row says why.
    defined = np.full(len(s), True)
    if gg:
        value = pr.gamma_gamma_expected_value(gg, x, s["monetary_value"].to_numpy(float))
        defined = gg["p"] * x + gg["q"] - 1.0 > 0
        out["expected_average_order_value"] = np.where(defined, value, np.nan)
    else:
        out["expected_average_order_value"] = missing
    if bg_status != pr.OK:
        out["fit_status"] = f"{BG_NBD}: {bg_status}"
    elif gg_status != pr.OK:
        out["fit_status"] = f"{GAMMA_GAMMA}: {gg_status}"
    else:
        spend = out["expected_average_order_value"].notna().to_numpy()
        out["fit_status"] = np.select(
            [~defined, ~spend],
            [f"{GAMMA_GAMMA}: {INFINITE_MEAN_SPEND}", f"{GAMMA_GAMMA}: {NEGATIVE_SPEND}"],
            pr.OK,
        )
    if bg:  # the BG/NBD's own row-level reason goes first, as its model-level one does
        computable = out["expected_purchases_365d"].notna().to_numpy()
        status = f"{BG_NBD}: {PURCHASES_NOT_COMPUTABLE}"
        out["fit_status"] = np.where(computable, out["fit_status"], status)
    return _frame(out, PREDICTION_COLUMNS)


# --- int_predictive_survival (mart_contract_survival) ---------------------------------------


def survival_projections(contract_cohorts: pd.DataFrame, parameters: pd.DataFrame) -> pd.DataFrame:
    """One row per contract-basis cohort and month k = 0 … SURVIVAL_MONTHS: the cohort's sBG
    projection S(k) where its fit is ``ok``, (1 - p)^k where it is at its geometric limit
    (alpha and beta null), none otherwise (mart_contract_survival adds fct_cohorts'
    observed retention beside it)."""
    rows: list[dict[str, object]] = []
    for month, cohort in contract_cohorts.groupby("cohort_month"):
        month = pd.Timestamp(month).date()
        status, sbg = fitted(parameters, SBG, month.isoformat())
        if status == pr.OK:
            projected = pr.sbg_project(sbg["alpha"], sbg["beta"], SURVIVAL_MONTHS)
        elif status == pr.GEOMETRIC_LIMIT:
            projected = pr.geometric_project(sbg[pr.CHURN_PROBABILITY], SURVIVAL_MONTHS)
        else:
            projected = [None] * (SURVIVAL_MONTHS + 1)
        for k in range(SURVIVAL_MONTHS + 1):
            rows.append(
                {
                    "cohort_month": month,
                    "months_since_cohort": k,
                    "cohort_size": int(cohort["cohort_size"].iloc[0]),
                    "projected_retention": projected[k],
                    "alpha": sbg.get("alpha"),
                    "beta": sbg.get("beta"),
                    "fit_status": status,
                }
            )
    return _frame(rows, SURVIVAL_COLUMNS)
