"""Predictive CLV models, fitted by maximum likelihood: BG/NBD, Gamma-Gamma, shifted-beta-geometric.

- BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way"): repeat purchases
  of a non-contractual customer, from frequency ``x`` (repeat purchase days), recency ``t_x``
  and age ``T``. Gives P(alive) and the expected number of purchases in the next ``t`` weeks.
- Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"): the spend per transaction of
  customers with ``x > 0``, from ``x`` and their mean repeat transaction value. Gives the
  conditional expected average transaction value.
- shifted-beta-geometric (Fader & Hardie 2007, "How to Project Customer Retention"): the
  survivor curve of a contractual cohort. Gives S(t) = B(alpha, beta + t) / B(alpha, beta).

Every fit maximises the analytic log-likelihood (``scipy.special``) over the logarithms of the
parameters with Nelder-Mead (``scipy.optimize``), on unique observation rows weighted by their
counts, so a million customers with a few thousand distinct (x, t_x, T) rows fit in seconds.
A fit never raises on degenerate data: its :class:`FitResult` says why (``fit_status``).
Time is in weeks (days / 7) throughout, as in the papers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from scipy import optimize, special

# fit_status values (the later marts carry them so a BI user sees why a fit is missing).
OK = "ok"
NOT_CONVERGED = "not_converged"
INSUFFICIENT_CUSTOMERS = "insufficient_customers"
NO_REPEAT_BUYERS = "no_repeat_buyers"
INSUFFICIENT_PERIODS = "insufficient_periods"
NO_CHURN = "no_churn"
INVALID_INPUT = "invalid_input"

# Fewest customers (BG/NBD; repeat buyers for Gamma-Gamma) a fit is attempted on: with fewer
# the four (three) parameters are not identified by the data, whatever the optimiser reports.
MIN_CUSTOMERS = 10
# Fewest periods after period 0 an sBG curve is fitted on (a cohort's complete months).
MIN_SBG_PERIODS = 3
# log-parameters are kept within +-LOG_BOUND: beyond it the likelihood is flat (a parameter
# heading to 0 or infinity), which is reported as not converged rather than returned.
LOG_BOUND = 15.0
DAYS_PER_WEEK = 7.0


@dataclass(frozen=True)
class FitResult:
    """One model fit: the parameters (empty when no fit was attempted) and how it went."""

    model: str
    params: dict[str, float]
    log_likelihood: float
    observations: int
    converged: bool
    fit_status: str
    message: str
    iterations: int = 0

    @property
    def ok(self) -> bool:
        return self.fit_status == OK


def _refused(model: str, observations: int, status: str, message: str) -> FitResult:
    return FitResult(model, {}, math.nan, observations, False, status, message)


def _maximise(
    model: str,
    names: Sequence[str],
    negative_ll: Callable[[np.ndarray], float],
    start: np.ndarray,
    observations: int,
) -> FitResult:
    """Minimise ``negative_ll`` over log-parameters; the result carries the parameters."""

    def objective(log_params: np.ndarray) -> float:
        if np.any(np.abs(log_params) > LOG_BOUND):
            return math.inf
        value = negative_ll(np.exp(log_params))
        return value if np.isfinite(value) else math.inf

    with np.errstate(all="ignore"):
        found = optimize.minimize(
            objective,
            start,
            method="Nelder-Mead",
            options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20_000, "maxfev": 40_000},
        )
    params = {name: float(v) for name, v in zip(names, np.exp(found.x), strict=True)}
    at_bound = bool(np.any(np.abs(found.x) > LOG_BOUND - 1.0))
    finite = bool(np.isfinite(found.fun))
    converged = bool(found.success) and finite and not at_bound
    if converged:
        status, message = OK, "converged"
    elif at_bound:
        status = NOT_CONVERGED
        message = "a parameter ran to 0 or infinity: the data do not identify the model"
    else:
        status, message = NOT_CONVERGED, f"optimiser stopped: {found.message}"
    return FitResult(
        model,
        params,
        float(-found.fun) if finite else math.nan,
        observations,
        converged,
        status,
        message,
        int(found.nit),
    )


def _unique_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of the columns and how often each occurs."""
    stacked = np.column_stack(columns)
    rows, counts = np.unique(stacked, axis=0, return_counts=True)
    return [rows[:, i] for i in range(rows.shape[1])], counts.astype(float)


def _as_float(values: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    return np.asarray(values, dtype=float).reshape(-1)


# --- BG/NBD ---------------------------------------------------------------------------------


def bgnbd_log_likelihood(
    params: Mapping[str, float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Each customer's log-likelihood (FHL 2005 eq. 6, written in logs)."""
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    x, t_x, T = _as_float(x), _as_float(t_x), _as_float(T)
    common = (
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * np.log(alpha)
        + special.betaln(a, b + x)
        - special.betaln(a, b)
    )
    # L = B(a, b+x)/B(a, b) * Γ(r+x) α^r / Γ(r) * [ (α+T)^-(r+x)
    #       + 1{x>0} * a / (b+x-1) * (α+t_x)^-(r+x) ]   (the B(a+1, b+x-1)/B(a, b+x) ratio)
    alive = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        dropped = np.where(
            x > 0,
            np.log(a) - np.log(np.where(x > 0, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return common + np.logaddexp(alive, dropped)


def fit_bgnbd(
    x: Sequence[float] | np.ndarray | pd.Series,
    t_x: Sequence[float] | np.ndarray | pd.Series,
    T: Sequence[float] | np.ndarray | pd.Series,
) -> FitResult:
    """Fit r, alpha, a, b on customers' frequency, recency and age (weeks)."""
    x, t_x, T = _as_float(x), _as_float(t_x), _as_float(T)
    n = len(x)
    model = "bg_nbd"
    if not (len(t_x) == n == len(T)):
        return _refused(model, n, INVALID_INPUT, "x, t_x and T differ in length")
    if n == 0 or not np.all(np.isfinite(np.concatenate([x, t_x, T]))):
        return _refused(model, n, INVALID_INPUT, "no customers, or a missing x, t_x or T")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > T) or np.any((x == 0) & (t_x != 0)):
        return _refused(model, n, INVALID_INPUT, "needs x >= 0, 0 <= t_x <= T, t_x = 0 when x = 0")
    if n < MIN_CUSTOMERS:
        return _refused(
            model, n, INSUFFICIENT_CUSTOMERS, f"{n} customers, at least {MIN_CUSTOMERS} needed"
        )
    if not np.any(x > 0):
        return _refused(model, n, NO_REPEAT_BUYERS, "no customer has a repeat purchase")
    (ux, ut, uT), weight = _unique_rows(x, t_x, T)
    total = weight.sum()
    log_likelihood = _bgnbd_rows_log_likelihood(ux, ut, uT, weight)

    def negative_ll(p: np.ndarray) -> float:
        return -log_likelihood(p[0], p[1], p[2], p[3]) / total

    # Start: r = 1 and alpha = mean age (one purchase per T on average), a = b = 1.
    start = np.log([1.0, max(float(np.mean(T)), 1e-3), 1.0, 1.0])
    fit = _maximise(model, ("r", "alpha", "a", "b"), negative_ll, start, n)
    return _scaled(fit, total)


def _bgnbd_rows_log_likelihood(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weight: np.ndarray
) -> Callable[[float, float, float, float], float]:
    """The weighted sum of :func:`bgnbd_log_likelihood` over the rows, as a function of
    (r, alpha, a, b), for the optimiser: the special functions are evaluated on the distinct
    values of x, t_x and T only (a few hundred, against up to a million rows), and the
    customers without a repeat purchase, whose likelihood depends on T alone, are summed
    per T. Equal to the plain sum (test_predictive.py checks it on the CDNOW sample)."""
    repeat = x > 0
    # x = 0: log L = r log α - r log(α + T) (the Γ and B ratios are 1): weights per distinct T.
    T0, T0_index = np.unique(T[~repeat], return_inverse=True)
    w0 = np.bincount(T0_index, weights=weight[~repeat], minlength=len(T0))
    xr, tr, Tr, wr = x[repeat], t_x[repeat], T[repeat], weight[repeat]
    xv, xi = np.unique(xr, return_inverse=True)
    tv, ti = np.unique(tr, return_inverse=True)
    Tv, Ti = np.unique(Tr, return_inverse=True)

    def log_likelihood(r: float, alpha: float, a: float, b: float) -> float:
        log_alpha = r * np.log(alpha)
        zero = float((w0 * (log_alpha - r * np.log(alpha + T0))).sum())
        base = log_alpha - special.betaln(a, b)
        common = special.gammaln(r + xv) - special.gammaln(r) + special.betaln(a, b + xv)
        rx = r + xr
        alive = -rx * np.log(alpha + Tv)[Ti]
        dropped = (np.log(a) - np.log(b + xv - 1.0))[xi] - rx * np.log(alpha + tv)[ti]
        rows = common[xi] + np.logaddexp(alive, dropped)
        return zero + float((wr * rows).sum()) + base * float(wr.sum())

    return log_likelihood


def _scaled(fit: FitResult, total: float) -> FitResult:
    """The optimiser sees the mean log-likelihood; the result carries the sum."""
    if math.isnan(fit.log_likelihood):
        return fit
    return FitResult(
        fit.model,
        fit.params,
        float(fit.log_likelihood * total),
        fit.observations,
        fit.converged,
        fit.fit_status,
        fit.message,
        fit.iterations,
    )


def bgnbd_p_alive(
    params: Mapping[str, float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """P(alive | x, t_x, T) (FHL 2005 eq. 11); exactly 1 when x = 0 (no chance to drop yet)."""
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    x, t_x, T = _as_float(x), _as_float(t_x), _as_float(T)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = (
            np.log(a)
            - np.log(np.where(x > 0, b + x - 1, 1.0))
            + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
    return np.where(x > 0, 1.0 / (1.0 + np.exp(log_ratio)), 1.0)


def bgnbd_expected_purchases(
    params: Mapping[str, float],
    t: float,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchases in the next ``t`` weeks (FHL 2005 eq. 10).

    (a+b+x-1)/(a-1) * [1 - ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(α+T+t))]
        / (1 + 1{x>0} a/(b+x-1) ((α+T)/(α+t_x))^(r+x)),
    whose denominator is 1 / P(alive). Defined for a != 1 (the fitted a is never exactly 1).
    """
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    x, t_x, T = _as_float(x), _as_float(t_x), _as_float(T)
    z = t / (alpha + T + t)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1.0, z)
    bracket = 1.0 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * hyp
    return (a + b + x - 1.0) / (a - 1.0) * bracket * bgnbd_p_alive(params, x, t_x, T)


# --- Gamma-Gamma ----------------------------------------------------------------------------


def gamma_gamma_log_likelihood(
    params: Mapping[str, float], x: np.ndarray, m: np.ndarray
) -> np.ndarray:
    """Each repeat buyer's log-likelihood of x transactions with mean value m (FHL "RFM and CLV").

    The mean of x Gamma(p, nu) values is Gamma(px, nu x); integrating nu ~ Gamma(q, gamma):
    Γ(px+q) / (Γ(px) Γ(q)) * γ^q m^(px-1) x^(px) / (γ + m x)^(px+q).
    """
    p, q, g = params["p"], params["q"], params["gamma"]
    x, m = _as_float(x), _as_float(m)
    return (
        special.gammaln(p * x + q)
        - special.gammaln(p * x)
        - special.gammaln(q)
        + q * np.log(g)
        + (p * x - 1.0) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(g + m * x)
    )


def fit_gamma_gamma(
    x: Sequence[float] | np.ndarray | pd.Series,
    monetary_value: Sequence[float] | np.ndarray | pd.Series,
) -> FitResult:
    """Fit p, q, gamma on the customers with x > 0 and a positive mean repeat value.

    Customers with x = 0 (no repeat purchase) or a mean value <= 0 (refunds) carry no
    information for the model and are left out; ``observations`` counts those fitted on.
    """
    x, m = _as_float(x), _as_float(monetary_value)
    model = "gamma_gamma"
    if len(x) != len(m):
        return _refused(model, len(x), INVALID_INPUT, "x and monetary_value differ in length")
    usable = (x > 0) & np.isfinite(m) & (m > 0)
    x, m = x[usable], m[usable]
    n = len(x)
    if n == 0:
        return _refused(model, 0, NO_REPEAT_BUYERS, "no customer with a positive repeat value")
    if n < MIN_CUSTOMERS:
        return _refused(
            model, n, INSUFFICIENT_CUSTOMERS, f"{n} repeat buyers, at least {MIN_CUSTOMERS} needed"
        )
    (ux, um), weight = _unique_rows(x, m)
    total = weight.sum()
    log_likelihood = _gamma_gamma_rows_log_likelihood(ux, um, weight)

    def negative_ll(p: np.ndarray) -> float:
        return -log_likelihood(p[0], p[1], p[2]) / total

    # Start: p = q = 1 and gamma = the mean value (a prior mean spend of p * gamma / (q - 1)).
    start = np.log([1.0, 1.0, float(np.mean(m))])
    return _scaled(_maximise(model, ("p", "q", "gamma"), negative_ll, start, n), total)


def _gamma_gamma_rows_log_likelihood(
    x: np.ndarray, m: np.ndarray, weight: np.ndarray
) -> Callable[[float, float, float], float]:
    """The weighted sum of :func:`gamma_gamma_log_likelihood` over the rows, as a function of
    (p, q, gamma), for the optimiser: the Γ terms on the distinct x only, the logarithms of x
    and m once. Equal to the plain sum (test_predictive.py checks it on the CDNOW sample)."""
    xv, xi = np.unique(x, return_inverse=True)
    w_x = np.bincount(xi, weights=weight, minlength=len(xv))
    log_m, log_x = np.log(m), np.log(x)
    total = float(weight.sum())
    weighted_log_m = float((weight * log_m).sum())
    weighted_x_log_mx = float((weight * x * (log_m + log_x)).sum())

    def log_likelihood(p: float, q: float, g: float) -> float:
        gammas = special.gammaln(p * xv + q) - special.gammaln(p * xv)
        rows = -(p * x + q) * np.log(g + m * x)
        return (
            float((w_x * gammas).sum())
            + total * (q * np.log(g) - special.gammaln(q))
            - weighted_log_m
            + p * weighted_x_log_mx
            + float((weight * rows).sum())
        )

    return log_likelihood


def gamma_gamma_expected_value(
    params: Mapping[str, float], x: np.ndarray, monetary_value: np.ndarray
) -> np.ndarray:
    """E[M | x, m] = p (γ + m x) / (p x + q - 1): a weighted mean of the population mean
    p γ / (q - 1) and the customer's own mean m. For x = 0 (m undefined) the population mean.
    """
    p, q, g = params["p"], params["q"], params["gamma"]
    x, m = _as_float(x), _as_float(monetary_value)
    m = np.where(x > 0, np.nan_to_num(m), 0.0)
    return p * (g + m * x) / (p * x + q - 1.0)


# --- shifted-beta-geometric -----------------------------------------------------------------


def sbg_survival(alpha: float, beta: float, t: np.ndarray | Sequence[float] | float) -> np.ndarray:
    """S(t) = B(alpha, beta + t) / B(alpha, beta): the share still a customer after t periods."""
    t = np.asarray(t, dtype=float)
    return np.exp(special.betaln(alpha, beta + t) - special.betaln(alpha, beta))


def sbg_retention_rate(alpha: float, beta: float, t: np.ndarray | Sequence[float]) -> np.ndarray:
    """r(t) = S(t) / S(t-1) = (beta + t - 1) / (alpha + beta + t - 1), for t >= 1: rises with t."""
    t = np.asarray(t, dtype=float)
    return (beta + t - 1.0) / (alpha + beta + t - 1.0)


def sbg_log_likelihood(alpha: float, beta: float, survivors: np.ndarray) -> float:
    """LL of a survivor curve n_0 >= n_1 >= ... >= n_k (Fader & Hardie 2007 eq. 5):
    sum_t (n_{t-1} - n_t) ln P(T = t) + n_k ln S(k), P(T = t) = S(t-1) - S(t).
    """
    n = np.asarray(survivors, dtype=float)
    k = len(n) - 1
    t = np.arange(1, k + 1, dtype=float)
    # P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)
    log_p = special.betaln(alpha + 1.0, beta + t - 1.0) - special.betaln(alpha, beta)
    lost = n[:-1] - n[1:]
    log_s = special.betaln(alpha, beta + k) - special.betaln(alpha, beta)
    return float((lost * log_p).sum() + n[-1] * log_s)


def fit_sbg(survivors: Sequence[float] | np.ndarray | pd.Series) -> FitResult:
    """Fit alpha, beta on a cohort's survivors per period, period 0 first.

    Counts, or shares of the cohort (then ``log_likelihood`` is per member of the cohort, and
    ``observations`` is 0): the estimates depend only on the proportions.
    """
    n = _as_float(survivors)
    model = "sbg"
    size = int(round(n[0])) if len(n) and np.isfinite(n[0]) else 0
    if len(n) == 0 or not np.all(np.isfinite(n)) or np.any(n < 0) or n[0] <= 0:
        return _refused(model, size, INVALID_INPUT, "survivors must be finite, >= 0, n_0 > 0")
    if np.any(np.diff(n) > 0):
        return _refused(model, size, INVALID_INPUT, "survivors must not increase")
    periods = len(n) - 1
    if periods < MIN_SBG_PERIODS:
        return _refused(
            model,
            size,
            INSUFFICIENT_PERIODS,
            f"{periods} periods after period 0, at least {MIN_SBG_PERIODS} needed",
        )
    if n[-1] == n[0]:
        return _refused(model, size, NO_CHURN, "nobody churned: the churn rate is not identified")
    if n[1] == 0:
        return _refused(model, size, NO_CHURN, "everybody churned in period 1")
    share = n / n[0]

    def negative_ll(p: np.ndarray) -> float:
        return -sbg_log_likelihood(p[0], p[1], share)

    fit = _maximise(model, ("alpha", "beta"), negative_ll, np.log([1.0, 1.0]), size)
    return _scaled(fit, n[0])


def sbg_project(alpha: float, beta: float, periods: int) -> np.ndarray:
    """Projected retention S(0 .. periods): 1 at period 0, non-increasing after."""
    return sbg_survival(alpha, beta, np.arange(periods + 1))


# --- the customer summary the BG/NBD and Gamma-Gamma models are fitted on -------------------


# Same-day purchases summed into one transaction, then per customer (DuckDB: a million
# customers' purchases take a fraction of the time of a pandas groupby).
RFM_SQL = """
with days as (
    select
        customer_id,
        cast(purchase_date as date) as purchase_day,
        sum(net_revenue) as revenue
    from purchases
    where cast(purchase_date as date) <= {as_of}
    group by customer_id, purchase_day
),

firsts as (
    select *, min(purchase_day) over (partition by customer_id) as first_day from days
)

select
    customer_id,
    count(*) - 1 as x,
    date_diff('day', min(first_day), max(purchase_day)) / {week} as t_x,
    date_diff('day', min(first_day), {as_of}) / {week} as "T",
    avg(revenue) filter (where purchase_day > first_day) as monetary_value
from firsts
group by customer_id
order by customer_id
"""


def _rfm_sql(as_of: dt.date | str | pd.Timestamp | None) -> str:
    """RFM_SQL for the reporting date; no date (an empty warehouse) selects no purchase."""
    day = "cast(null as date)" if as_of is None else f"date '{pd.Timestamp(as_of).date()}'"
    return RFM_SQL.format(as_of=day, week=DAYS_PER_WEEK)


def rfm_relation(
    purchases: duckdb.DuckDBPyRelation, as_of: dt.date | str | pd.Timestamp | None
) -> duckdb.DuckDBPyRelation:
    """:func:`rfm_summary` as a DuckDB relation on the purchases' connection, not run yet (the
    dbt model int_predictive_summary writes it as a table without a pandas round trip).
    ``as_of`` None (no reporting date: nothing loaded) gives no rows."""
    return purchases.query("purchases", _rfm_sql(as_of))


def rfm_summary(
    purchases: pd.DataFrame | duckdb.DuckDBPyRelation, as_of: dt.date | str | pd.Timestamp
) -> pd.DataFrame:
    """x, t_x, T and monetary value per customer from purchases up to and including ``as_of``.

    ``purchases`` (a DataFrame or a DuckDB relation) has ``customer_id``, ``purchase_date``
    and ``net_revenue``. Purchases on the same day are one transaction (their net revenue
    summed). Per customer:
    - ``x`` = distinct purchase days - 1 (repeat transactions);
    - ``t_x`` = (last - first purchase day) / 7 and ``T`` = (as_of - first purchase day) / 7,
      weeks; a customer whose only day is ``as_of`` has T = 0;
    - ``monetary_value`` = mean net revenue of the repeat purchase days (first day left
      out, as in the Gamma-Gamma paper); NaN when x = 0.
    Purchases after ``as_of`` are ignored. One row per customer with a purchase, ordered by id.
    """
    if isinstance(purchases, duckdb.DuckDBPyRelation):
        out = rfm_relation(purchases, as_of).df()
    else:
        with duckdb.connect() as con:
            con.register("purchases", purchases[["customer_id", "purchase_date", "net_revenue"]])
            out = con.sql(_rfm_sql(as_of)).df()
    out["x"] = out["x"].astype("int64")
    out["monetary_value"] = out["monetary_value"].astype(float)
    return out
