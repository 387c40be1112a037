"""Predictive CLV models, fitted by maximum likelihood: BG/NBD, Gamma-Gamma, shifted-beta-geometric.

- BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way"): repeat purchases
  of a non-contractual customer, from frequency ``x`` (repeat purchase days), recency ``t_x``
  and age ``T``. Gives P(alive) and the expected number of purchases in the next ``t`` weeks.
- Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"): the spend per transaction of
  customers with ``x > 0``, from ``x`` and their mean repeat transaction value. Gives the
  conditional expected average transaction value.
- shifted-beta-geometric (Fader & Hardie 2007, "How to Project Customer Retention"): the
  survivor curve of a contractual cohort. Gives S(t) = B(alpha, beta + t) / B(alpha, beta).
  When its likelihood has no finite maximum but rises as alpha and beta grow together, its
  limit, the geometric model S(t) = (1 - p)^t, is fitted in closed form instead
  (``geometric_limit``).

Every fit maximises the analytic log-likelihood (``scipy.special``) over the logarithms of the
parameters with Nelder-Mead (``scipy.optimize``), on unique observation rows weighted by their
counts, so a million customers with a few thousand distinct (x, t_x, T) rows fit in seconds.
A fit never raises on degenerate data: its :class:`FitResult` says why (``fit_status``).
Time is in weeks (days / 7) throughout, as in the papers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import optimize, special

# fit_status values (the later marts carry them so a BI user sees why a fit is missing).
OK = "ok"
NOT_CONVERGED = "not_converged"
# The sBG only: no finite maximum, the likelihood rising toward the geometric model (alpha and
# beta to infinity), which is fitted instead (see _at_the_geometric_limit).
GEOMETRIC_LIMIT = "geometric_limit"
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
    """One model fit: the parameters (empty when no fit was attempted) and how it went.
    ``converged`` is True for an ``ok`` fit alone: a ``geometric_limit`` is the sBG's
    search not converging, with the limit's one parameter in ``params``."""

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
    gradient: Callable[[np.ndarray], np.ndarray],
    warm: Mapping[str, float] | None = None,
) -> FitResult:
    """Minimise ``negative_ll`` over log-parameters; the result carries the parameters.

    ``gradient`` is the gradient of ``negative_ll`` over the parameters. A cold fit searches
    with L-BFGS-B on that gradient from ``start`` (:func:`_quasi_newton`) and, when that does
    not end at a strict maximum inside the bounds, with Nelder-Mead, which needs no gradient
    and tells why a fit fails; then Newton's method (:func:`_newton`) takes the optimum found
    to where the gradient vanishes, to about 1e-12 in the log-parameters. A
    warm fit (``warm``: the parameters of an earlier fit, e.g. the day before's) tries Newton's
    method from them alone and falls back to the cold fit unless it converges: both end at the
    same maximum, which a warm start reaches in a few steps instead of hundreds."""

    def objective(log_params: np.ndarray) -> float:
        if np.any(np.abs(log_params) > LOG_BOUND):
            return math.inf
        value = negative_ll(np.exp(log_params))
        return value if np.isfinite(value) else math.inf

    def log_gradient(log_params: np.ndarray) -> np.ndarray:
        params = np.exp(log_params)
        return gradient(params) * params  # d/d log p = p d/dp

    with np.errstate(all="ignore"):
        if warm is not None and all(name in warm for name in names):
            guess = np.array([warm[name] for name in names], dtype=float)
            if np.all(np.isfinite(guess)) and np.all(guess > 0):
                polished = _newton(objective, log_gradient, np.log(guess), WARM_NEWTON_STEPS)
                if polished is not None and not np.any(np.abs(polished[0]) > LOG_BOUND - 1.0):
                    x, fun, steps = polished
                    return _result(model, names, x, fun, observations, OK, "converged", steps)
        quick = _quasi_newton(objective, log_gradient, start)
        if quick is not None:
            x, fun, steps = quick
            return _result(model, names, x, fun, observations, OK, "converged", steps)
        found = optimize.minimize(
            objective,
            start,
            method="Nelder-Mead",
            options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20_000, "maxfev": 40_000},
        )
        x, fun, iterations = found.x, float(found.fun), int(found.nit)
        at_bound = bool(np.any(np.abs(x) > LOG_BOUND - 1.0))
        finite = bool(np.isfinite(fun))
        converged = bool(found.success) and finite and not at_bound
        if converged:
            polished = _newton(objective, log_gradient, x, COLD_NEWTON_STEPS)
            if polished is not None and not np.any(np.abs(polished[0]) > LOG_BOUND - 1.0):
                x, fun, steps = polished
                iterations += steps
    if converged:
        status, message = OK, "converged"
    else:
        status, message = NOT_CONVERGED, _no_maximum(model, names, x, at_bound, found)
    return _result(model, names, x, fun, observations, status, message, iterations)


# A log-parameter beyond this when the search gave up: the parameter was running to 0 or
# infinity (LOG_BOUND is where the search stops it).
RUNNING_AWAY = LOG_BOUND / 2
# The sBG's limit as alpha and beta grow with alpha / (alpha + beta) fixed: the geometric
# model, which fit_sbg fits in their place when its search runs there (_at_the_geometric_limit).
_SBG_GEOMETRIC = ({"alpha", "beta"}, set(), "one churn probability for every customer")
# The limits the models reach only as parameters run to infinity or 0, per model: (growing,
# shrinking, what the limit means), larger sets first; a search's runaway parameters are
# described by the limits that together account for all of them (the fit_status docs).
_LIMITS: dict[str, list[tuple[set[str], set[str], str]]] = {
    "bg_nbd": [
        ({"a", "b"}, set(), "one dropout probability for every customer"),
        ({"b"}, {"a"}, "no dropout at all (a / (a + b) goes to 0)"),
        (set(), {"a", "b"}, "customers who drop out after a first purchase or never"),
        ({"alpha", "r"}, set(), "one purchase rate for every customer"),
        ({"b"}, set(), "no dropout at all (a / (a + b) goes to 0)"),
        (set(), {"a"}, "no dropout at all (a / (a + b) goes to 0)"),
        ({"a"}, set(), "a dropout after every purchase (a / (a + b) goes to 1)"),
    ],
    "gamma_gamma": [
        ({"p"}, {"gamma"}, "every transaction equal to the customer's mean"),
        ({"gamma", "q"}, set(), "one spend level for every customer"),
        ({"p"}, set(), "every transaction equal to the customer's mean"),
    ],
    "sbg": [
        _SBG_GEOMETRIC,
        (set(), {"alpha", "beta"}, "customers who leave in the first period or never"),
    ],
}


def _running_away(params: Mapping[str, float]) -> tuple[list[str], list[str]]:
    """The parameters a search that found no maximum was sending to infinity and to 0 (its
    end point beyond e^RUNNING_AWAY, below e^-RUNNING_AWAY), in the order of ``params``."""
    grown = [n for n, v in params.items() if math.log(v) > RUNNING_AWAY]
    shrunk = [n for n, v in params.items() if math.log(v) < -RUNNING_AWAY]
    return grown, shrunk


def _limit_meaning(model: str, grown: Sequence[str], shrunk: Sequence[str]) -> str | None:
    """What the parameters running away mean: the limits of _LIMITS that account for all of
    them, joined; None when some are left that no limit explains."""
    grown_left, shrunk_left, meanings = set(grown), set(shrunk), []
    for up, down, meaning in _LIMITS.get(model, []):
        if up <= grown_left and down <= shrunk_left and (up or down):
            grown_left -= up
            shrunk_left -= down
            if meaning not in meanings:
                meanings.append(meaning)
    return " and ".join(meanings) if meanings and not grown_left | shrunk_left else None


def _no_maximum(
    model: str,
    names: Sequence[str],
    log_params: np.ndarray,
    at_bound: bool,
    found: optimize.OptimizeResult,
) -> str:
    """Why a search found no maximum, in the data's terms: the parameters it was sending to
    0 or infinity and what that limit means, or scipy's reason when none was (scipy's words
    alone, "Maximum number of function evaluations has been exceeded.", told a user nothing)."""
    values = dict(zip(names, np.exp(log_params), strict=True))
    grown, shrunk = _running_away(values)
    unidentified = "the data do not identify the model, and the predictions that need it are null"
    if not grown and not shrunk:
        return f"no maximum found (scipy: {found.message}): {unidentified}"
    running = [f"{n} to infinity ({values[n]:.3g})" for n in grown]
    running += [f"{n} to 0 ({values[n]:.3g})" for n in shrunk]
    how = "stopped at its bound" if at_bound else "gave up"
    limit = _limit_meaning(model, grown, shrunk)
    meaning = f": the likelihood rises toward a model with {limit}" if limit else ""
    return f"no maximum: the search {how} with {' and '.join(running)}{meaning}; {unidentified}"


def _result(
    model: str,
    names: Sequence[str],
    log_params: np.ndarray,
    fun: float,
    observations: int,
    status: str,
    message: str,
    iterations: int,
) -> FitResult:
    params = {name: float(v) for name, v in zip(names, np.exp(log_params), strict=True)}
    finite = bool(np.isfinite(fun))
    return FitResult(
        model,
        params,
        float(-fun) if finite else math.nan,
        observations,
        status == OK,
        status,
        message,
        iterations,
    )


# Newton's method: at most this many steps from a warm start (an earlier day's optimum is a
# step or three away) and after Nelder-Mead; it has converged when a step moves no
# log-parameter by more than NEWTON_TOLERANCE.
WARM_NEWTON_STEPS = 12
COLD_NEWTON_STEPS = 20
NEWTON_TOLERANCE = 1e-10
# Forward-difference step for the Hessian (from the analytic gradient): its error, about
# this relative, slows Newton's convergence a little but does not move the point it reaches.
HESSIAN_STEP = 1e-6


def _quasi_newton(
    objective: Callable[[np.ndarray], float],
    gradient: Callable[[np.ndarray], np.ndarray],
    start: np.ndarray,
) -> tuple[np.ndarray, float, int] | None:
    """The cold search's fast path: L-BFGS-B on the analytic gradient, inside the bounds,
    then Newton's method (:func:`_newton`) to where the gradient vanishes. A few dozen
    likelihood evaluations where Nelder-Mead takes about a thousand (at 1M customers 17 of the
    build's CPU seconds). (point, value, steps) only when both succeed away from the bounds
    with a positive definite Hessian, i.e. at a strict maximum of the likelihood; otherwise
    None and the caller runs the Nelder-Mead search, which also reports why a fit fails."""
    inner = LOG_BOUND - 1.0

    def finite_gradient(log_params: np.ndarray) -> np.ndarray:
        g = gradient(log_params)
        return g if np.all(np.isfinite(g)) else np.full_like(log_params, np.nan)

    found = optimize.minimize(
        objective,
        start,
        jac=finite_gradient,
        method="L-BFGS-B",
        bounds=[(-inner, inner)] * len(start),
        options={"maxiter": 1_000},
    )
    x = found.x
    if not (found.success and np.isfinite(found.fun) and np.all(np.abs(x) < inner - 1e-6)):
        return None
    polished = _newton(objective, gradient, x, COLD_NEWTON_STEPS)
    if polished is None or np.any(np.abs(polished[0]) > inner):
        return None
    x, fun, steps = polished
    return x, fun, int(found.nit) + steps


def _newton(
    objective: Callable[[np.ndarray], float],
    gradient: Callable[[np.ndarray], np.ndarray],
    start: np.ndarray,
    max_steps: int,
) -> tuple[np.ndarray, float, int] | None:
    """Newton's method for a minimum of ``objective`` from ``start``: (point, value, steps),
    or None when it does not converge within ``max_steps`` (the Hessian is not positive
    definite on the way, a step does not lower the objective even when halved, a value is
    not finite). The gradient is analytic, the Hessian its forward differences; the point
    returned is where the gradient vanishes, whatever the start."""
    x = np.array(start, dtype=float)
    fun = objective(x)
    if not np.isfinite(fun):
        return None
    n = len(x)
    for step_number in range(1, max_steps + 1):
        g = gradient(x)
        if not np.all(np.isfinite(g)):
            return None
        hessian = np.empty((n, n))
        for j in range(n):
            shifted = x.copy()
            shifted[j] += HESSIAN_STEP
            hessian[:, j] = (gradient(shifted) - g) / HESSIAN_STEP
        hessian = (hessian + hessian.T) / 2.0
        if not np.all(np.isfinite(hessian)) or np.linalg.eigvalsh(hessian).min() <= 0:
            return None
        step = -np.linalg.solve(hessian, g)
        # Near the minimum the objective changes below its rounding: a step that raises it
        # by no more than that is taken (the gradient, not the value, decides there).
        slack = 1e-13 * max(abs(fun), 1.0)
        for _ in range(30):
            candidate = x + step
            value = objective(candidate)
            if np.isfinite(value) and value <= fun + slack:
                break
            step = step / 2.0
        else:
            return None
        x, fun = candidate, value
        if np.max(np.abs(step)) < NEWTON_TOLERANCE:
            return x, float(fun), step_number
    return None


def _unique_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of the columns (in lexicographic order, as ``np.unique(axis=0)``
    gives them) and how often each occurs. A sort of the numeric keys: np.unique's row sort
    compares rows as records: 0.9 against 0.15 CPU-s for 665k rows of three columns."""
    order = np.lexsort(columns[::-1])  # the last key is lexsort's primary one
    ordered = [np.asarray(column)[order] for column in columns]
    starts = np.ones(len(order), dtype=bool)
    if len(order):
        starts[1:] = np.any([column[1:] != column[:-1] for column in ordered], axis=0)
    first = np.flatnonzero(starts)
    counts = np.diff(np.append(first, len(order)))
    return [column[first] for column in ordered], counts.astype(float)


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
    warm: Mapping[str, float] | None = None,
) -> FitResult:
    """Fit r, alpha, a, b on customers' frequency, recency and age (weeks); ``warm``: the
    parameters of an earlier fit to start from (the result is the same, see _maximise)."""
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
    log_likelihood, gradient = _bgnbd_rows(ux, ut, uT, weight)

    def negative_ll(p: np.ndarray) -> float:
        return -log_likelihood(p[0], p[1], p[2], p[3]) / total

    def negative_gradient(p: np.ndarray) -> np.ndarray:
        return -gradient(p[0], p[1], p[2], p[3]) / total

    # Start: r = 1 and alpha = mean age (one purchase per T on average), a = b = 1.
    start = np.log([1.0, max(float(np.mean(T)), 1e-3), 1.0, 1.0])
    names = ("r", "alpha", "a", "b")
    fit = _scaled(_maximise(model, names, negative_ll, start, n, negative_gradient, warm), total)
    return _unless_a_limit_is_as_likely(
        fit,
        "a and b",
        lambda: (
            _bgnbd_one_dropout_log_likelihood(ux, ut, uT, weight, fit.params),
            "one dropout probability for every customer",
        ),
    )


def _unless_a_limit_is_as_likely(
    fit: FitResult, growing: str, limit: Callable[[], tuple[float, str]]
) -> FitResult:
    """An ok `fit` as not_converged when a limit the model reaches only as `growing` grow
    without bound is at least as likely: `limit()` gives its highest log-likelihood and
    what it means. The finite fit is then no maximum (the likelihood is flat far out along
    such a ridge, where a search can stop with a vanishing gradient)."""
    if not fit.ok:
        return fit
    value, meaning = limit()
    if value < fit.log_likelihood:
        return fit
    return replace(
        fit,
        converged=False,
        fit_status=NOT_CONVERGED,
        message=(
            f"the likelihood is higher as {growing} grow without bound ({meaning}: "
            f"log-likelihood {value:.6f} against {fit.log_likelihood:.6f}): the data do not "
            "identify the model"
        ),
    )


def _bgnbd_one_dropout_log_likelihood(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weight: np.ndarray, near: Mapping[str, float]
) -> float:
    """The highest log-likelihood of the BG/NBD's limit as a and b grow with a/(a+b) = p
    fixed: every customer drops out after a purchase with the same probability p (the beta
    mixing becomes a point mass, B(a, b+x)/B(a, b) -> (1-p)^x and B(a+1, b+x-1)/B(a, b) ->
    p (1-p)^(x-1)). The BG/NBD reaches it only in the limit, so a finite fit whose
    likelihood is not above it is no maximum (the likelihood still rises toward the limit).
    Searched over (log r, log alpha, logit p) from ``near``, the BG/NBD fit, by BFGS: the
    limit's likelihood is smooth in these, and a search that stops short only makes the
    fit look better than it is, never worse."""
    # As in _bgnbd_rows: the x = 0 rows summed per distinct T, the special functions and
    # logs evaluated on the distinct values of x, t_x and T only.
    repeat = x > 0
    T0, T0_index = np.unique(T[~repeat], return_inverse=True)
    w0 = np.bincount(T0_index, weights=weight[~repeat], minlength=len(T0))
    xr, wr = x[repeat], weight[repeat]
    xv, xi = np.unique(xr, return_inverse=True)
    tv, ti = np.unique(t_x[repeat], return_inverse=True)
    Tv, Ti = np.unique(T[repeat], return_inverse=True)
    wx = np.bincount(xi, weights=wr, minlength=len(xv))
    total = float(weight.sum())

    def negative_ll(v: np.ndarray) -> tuple[float, np.ndarray]:
        """The mean negative log-likelihood and its gradient over (log r, log alpha,
        logit p)."""
        if np.any(np.abs(v) > 2 * LOG_BOUND):
            return math.inf, np.zeros(3)
        r, alpha = math.exp(v[0]), math.exp(v[1])
        p, q = special.expit(v[2]), special.expit(-v[2])
        log_p, log_q = -np.logaddexp(0.0, -v[2]), -np.logaddexp(0.0, v[2])
        log_alpha = math.log(alpha)
        log_aT0 = np.log(alpha + T0)
        per_x = special.gammaln(r + xv) - special.gammaln(r) + r * log_alpha + (xv - 1.0) * log_q
        rx = r + xr
        log_aT, log_at = np.log(alpha + Tv)[Ti], np.log(alpha + tv)[ti]
        alive, dropped = log_q - rx * log_aT, log_p - rx * log_at
        last = np.logaddexp(alive, dropped)
        value = (
            float((w0 * r * (log_alpha - log_aT0)).sum())
            + float((wx * per_x).sum())
            + float((wr * last).sum())
        )
        s_alive, s_dropped = np.exp(alive - last), np.exp(dropped - last)
        d_r = (
            float((w0 * (log_alpha - log_aT0)).sum())
            + float((wx * (special.digamma(r + xv) - special.digamma(r) + log_alpha)).sum())
            - float((wr * (s_alive * log_aT + s_dropped * log_at)).sum())
        )
        d_alpha = (
            float((w0 * r * (1.0 / alpha - 1.0 / (alpha + T0))).sum())
            + r / alpha * float(wx.sum())
            - float((wr * rx * (s_alive / (alpha + Tv)[Ti] + s_dropped / (alpha + tv)[ti])).sum())
        )
        d_logit = -p * float((wx * (xv - 1.0)).sum()) + float(
            (wr * (q * s_dropped - p * s_alive)).sum()
        )
        gradient = np.array([d_r * r, d_alpha * alpha, d_logit])
        if not (np.isfinite(value) and np.all(np.isfinite(gradient))):
            return math.inf, np.zeros(3)
        return -value / total, -gradient / total

    p = near["a"] / (near["a"] + near["b"])
    start = np.array([math.log(near["r"]), math.log(near["alpha"]), math.log(p / (1.0 - p))])
    with np.errstate(all="ignore"):
        found = optimize.minimize(
            negative_ll, start, jac=True, method="BFGS", options={"gtol": 1e-9}
        )
    return -float(found.fun) * total


def _bgnbd_rows_log_likelihood(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weight: np.ndarray
) -> Callable[[float, float, float, float], float]:
    """The weighted sum of :func:`bgnbd_log_likelihood` over the rows (see _bgnbd_rows)."""
    return _bgnbd_rows(x, t_x, T, weight)[0]


def _bgnbd_rows(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weight: np.ndarray
) -> tuple[
    Callable[[float, float, float, float], float],
    Callable[[float, float, float, float], np.ndarray],
]:
    """The weighted sum of :func:`bgnbd_log_likelihood` over the rows and its gradient over
    (r, alpha, a, b), as functions of the parameters, for the optimiser: the special
    functions are evaluated on the distinct values of x, t_x and T only (a few hundred,
    against up to a million rows), and the customers without a repeat purchase, whose
    likelihood depends on T alone, are summed per T. Equal to the plain sum and to its
    finite differences (test_predictive.py checks both on the CDNOW sample)."""
    repeat = x > 0
    # x = 0: log L = r log α - r log(α + T) (the Γ and B ratios are 1): weights per distinct T.
    T0, T0_index = np.unique(T[~repeat], return_inverse=True)
    w0 = np.bincount(T0_index, weights=weight[~repeat], minlength=len(T0))
    xr, tr, Tr, wr = x[repeat], t_x[repeat], T[repeat], weight[repeat]
    xv, xi = np.unique(xr, return_inverse=True)
    tv, ti = np.unique(tr, return_inverse=True)
    Tv, Ti = np.unique(Tr, return_inverse=True)
    wx = np.bincount(xi, weights=wr, minlength=len(xv))  # the repeat rows' weight per x
    w_repeat, w_zero = float(wr.sum()), float(w0.sum())

    def parts(r: float, alpha: float, a: float, b: float):
        rx = r + xr
        alive = -rx * np.log(alpha + Tv)[Ti]
        dropped = (np.log(a) - np.log(b + xv - 1.0))[xi] - rx * np.log(alpha + tv)[ti]
        return alive, dropped, np.logaddexp(alive, dropped)

    def log_likelihood(r: float, alpha: float, a: float, b: float) -> float:
        log_alpha = r * np.log(alpha)
        zero = float((w0 * (log_alpha - r * np.log(alpha + T0))).sum())
        base = log_alpha - special.betaln(a, b)
        common = special.gammaln(r + xv) - special.gammaln(r) + special.betaln(a, b + xv)
        rows = common[xi] + parts(r, alpha, a, b)[2]
        return zero + float((wr * rows).sum()) + base * w_repeat

    def gradient(r: float, alpha: float, a: float, b: float) -> np.ndarray:
        # Per repeat row, log L = common(x) + r log α - B(a, b) + log(e^alive + e^dropped);
        # the last term's derivative is the derivatives of alive and dropped weighted by
        # their shares s_alive = e^(alive - lse), s_dropped = e^(dropped - lse).
        alive, dropped, lse = parts(r, alpha, a, b)
        s_alive, s_dropped = np.exp(alive - lse), np.exp(dropped - lse)
        rx = r + xr
        log_aT, log_at = np.log(alpha + Tv)[Ti], np.log(alpha + tv)[ti]
        psi_ab = special.digamma(a + b)
        psi_abx = special.digamma(a + b + xv)
        d_r = (
            float((w0 * (np.log(alpha) - np.log(alpha + T0))).sum())
            + float((wx * (special.digamma(r + xv) - special.digamma(r))).sum())
            + w_repeat * np.log(alpha)
            - float((wr * (s_alive * log_aT + s_dropped * log_at)).sum())
        )
        d_alpha = (
            r * (w_zero + w_repeat) / alpha
            - float((w0 * r / (alpha + T0)).sum())
            - float((wr * rx * (s_alive / (alpha + Tv)[Ti] + s_dropped / (alpha + tv)[ti])).sum())
        )
        d_a = float((wx * (psi_ab - psi_abx)).sum()) + float((wr * s_dropped).sum()) / a
        d_b = (
            float((wx * (special.digamma(b + xv) - psi_abx)).sum())
            - w_repeat * (special.digamma(b) - psi_ab)
            - float((wr * s_dropped / (b + xv - 1.0)[xi]).sum())
        )
        return np.array([d_r, d_alpha, d_a, d_b])

    return log_likelihood, gradient


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
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_ratio = (
            np.log(a)
            - np.log(np.where(x > 0, b + x - 1, 1.0))
            + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
        # A ratio past e^709 overflows to inf, and 1 / (1 + inf) is the right 0: no warning.
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

    NaN where scipy's ``hyp2f1`` cannot evaluate it: z = t / (α+T+t) near 1 with a large
    b + x, as for a customer whose first purchase is on or a day before A (T = 0 or 1/7)
    under a fit with a small α (well under a week: customers who buy most days) and a
    large b (rare dropout), e.g. r 0.44, α 0.15, a 1.99, b 2241. scipy returns NaN or an
    infinity there (also for the exact integer c − a − b = a − 1 − r − x it cannot take
    near z = 1); the caller reports such a value as missing, never as a number.
    """
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    x, t_x, T = _as_float(x), _as_float(t_x), _as_float(T)
    z = t / (alpha + T + t)
    with np.errstate(all="ignore"):
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1.0, z)
        bracket = 1.0 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * hyp
        value = (a + b + x - 1.0) / (a - 1.0) * bracket * bgnbd_p_alive(params, x, t_x, T)
    return np.where(np.isfinite(value) & (value >= 0), value, np.nan)


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
    warm: Mapping[str, float] | None = None,
) -> FitResult:
    """Fit p, q, gamma on the customers with x > 0 and a positive mean repeat value
    (``warm``: the parameters of an earlier fit to start from, as in :func:`fit_bgnbd`).

    Customers with x = 0 (no repeat purchase) or a mean value <= 0 (refunds) carry no
    information for the model and are left out; ``observations`` counts those fitted on.
    """
    x, m = _as_float(x), _as_float(monetary_value)
    model = "gamma_gamma"
    if len(x) != len(m):
        return _refused(model, len(x), INVALID_INPUT, "x and monetary_value differ in length")
    usable = (x > 0) & np.isfinite(m) & (m > 0)
    repeat_buyers = int(np.sum(x > 0))
    x, m = x[usable], m[usable]
    n = len(x)
    if n == 0 and repeat_buyers:
        # Not "no repeat buyers", which the status alone says: their spend is what is missing.
        message = (
            f"{repeat_buyers} repeat buyers, none with a positive mean repeat value (their "
            "repeat purchase days' net revenue is zero or refunded)"
        )
        return _refused(model, 0, NO_REPEAT_BUYERS, message)
    if n == 0:
        return _refused(model, 0, NO_REPEAT_BUYERS, "no customer with a positive repeat value")
    if n < MIN_CUSTOMERS:
        return _refused(
            model, n, INSUFFICIENT_CUSTOMERS, f"{n} repeat buyers, at least {MIN_CUSTOMERS} needed"
        )
    (ux, um), weight = _unique_rows(x, m)
    total = weight.sum()
    log_likelihood, gradient = _gamma_gamma_rows(ux, um, weight)

    def negative_ll(p: np.ndarray) -> float:
        return -log_likelihood(p[0], p[1], p[2]) / total

    def negative_gradient(p: np.ndarray) -> np.ndarray:
        return -gradient(p[0], p[1], p[2]) / total

    # Start: p = q = 1 and gamma = the mean value (a prior mean spend of p * gamma / (q - 1)).
    start = np.log([1.0, 1.0, float(np.mean(m))])
    names = ("p", "q", "gamma")
    fit = _scaled(_maximise(model, names, negative_ll, start, n, negative_gradient, warm), total)
    if not fit.ok and len(um) and np.all(um == um[0]):
        # The search's words ("p to infinity ...") do not say the cause, which is plain.
        same = f"every repeat buyer fitted on has mean repeat value {um[0]:.2f}: no spread to fit"
        return replace(fit, message=f"{same}; {fit.message}")
    return _unless_a_limit_is_as_likely(
        fit, "parameters", lambda: _gamma_gamma_limit_log_likelihood(ux, um, weight)
    )


def _gamma_gamma_limit_log_likelihood(
    x: np.ndarray, m: np.ndarray, weight: np.ndarray
) -> tuple[float, str]:
    """The higher of the highest log-likelihoods of the Gamma-Gamma's two limits, and which.

    - q and gamma grow with gamma / q = 1 / nu fixed: every customer has the same nu (no
      spread in spend across customers), and a mean of x values is Gamma(p x, nu x); for a
      given p the best nu is p sum(x) / sum(x m).
    - p grows with p gamma = theta fixed: a customer's transactions all equal the
      customer's mean (no spread within a customer), and m = p / nu is inverse gamma with
      shape q and scale theta; for a given q the best theta is q n / sum(1 / m).

    The Gamma-Gamma reaches either only in the limit, so a finite fit whose likelihood is
    not above it is no maximum: the likelihood is flat along such a ridge far out, where a
    search can stop with a vanishing gradient (a review found `ok` fits at p ~ 3e5 whose
    likelihood was 50 units below the first limit's). Each is profiled over its one shape
    parameter (log-concave), on the distinct (x, m) rows weighted by their counts."""
    # Sums over the rows, once; each evaluation then costs the Γ terms of the distinct x.
    xv, xi = np.unique(x, return_inverse=True)
    w_xv = np.bincount(xi, weights=weight, minlength=len(xv))
    log_m = np.log(m)
    w_total, w_log_m = float(weight.sum()), float((weight * log_m).sum())
    w_x, w_xm = float((weight * x).sum()), float((weight * x * m).sum())
    w_x_log_xm = float((weight * x * (np.log(x) + log_m)).sum())
    w_inv_m = float((weight / m).sum())

    def same_nu(log_p: float) -> float:
        # sum of p x log(nu x) + (p x - 1) log m - nu x m - lnΓ(p x), with nu sum(x m) = p sum(x)
        p = math.exp(log_p)
        nu = p * w_x / w_xm
        value = p * (w_x * math.log(nu) + w_x_log_xm) - w_log_m - p * w_x
        return -(value - float((w_xv * special.gammaln(p * xv)).sum()))

    def same_value(log_q: float) -> float:
        # sum of q log theta - (q + 1) log m - theta / m - lnΓ(q), theta sum(1/m) = q n
        q = math.exp(log_q)
        theta = q * w_total / w_inv_m
        value = w_total * (q * math.log(theta) - special.gammaln(q) - q) - (q + 1.0) * w_log_m
        return -value

    bound = 2 * LOG_BOUND
    limits = []
    with np.errstate(all="ignore"):
        for name, negative in (
            ("one spend level nu for every customer", same_nu),
            ("every transaction equal to the customer's mean", same_value),
        ):
            found = optimize.minimize_scalar(
                negative, bounds=(-bound, bound), method="bounded", options={"xatol": 1e-10}
            )
            value = -float(found.fun)
            limits.append((value if math.isfinite(value) else -math.inf, name))
    return max(limits)


def _gamma_gamma_rows_log_likelihood(
    x: np.ndarray, m: np.ndarray, weight: np.ndarray
) -> Callable[[float, float, float], float]:
    """The weighted sum of :func:`gamma_gamma_log_likelihood` over the rows (_gamma_gamma_rows)."""
    return _gamma_gamma_rows(x, m, weight)[0]


def _gamma_gamma_rows(
    x: np.ndarray, m: np.ndarray, weight: np.ndarray
) -> tuple[Callable[[float, float, float], float], Callable[[float, float, float], np.ndarray]]:
    """The weighted sum of :func:`gamma_gamma_log_likelihood` over the rows and its gradient
    over (p, q, gamma), as functions of the parameters, for the optimiser: the Γ terms on the
    distinct x only, the logarithms of x and m once. Equal to the plain sum and to its finite
    differences (test_predictive.py checks both on the CDNOW sample)."""
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

    def gradient(p: float, q: float, g: float) -> np.ndarray:
        psi_pq = special.digamma(p * xv + q)
        log_gmx = np.log(g + m * x)
        d_p = (
            float((w_x * xv * (psi_pq - special.digamma(p * xv))).sum())
            + weighted_x_log_mx
            - float((weight * x * log_gmx).sum())
        )
        d_q = (
            float((w_x * psi_pq).sum())
            + total * (np.log(g) - special.digamma(q))
            - float((weight * log_gmx).sum())
        )
        d_g = total * q / g - float((weight * (p * x + q) / (g + m * x)).sum())
        return np.array([d_p, d_q, d_g])

    return log_likelihood, gradient


def gamma_gamma_expected_value(
    params: Mapping[str, float], x: np.ndarray, monetary_value: np.ndarray
) -> np.ndarray:
    """E[M | x, m] = p (γ + m x) / (p x + q - 1): a weighted mean of the population mean
    p γ / (q - 1) and the customer's own mean m. For x = 0 (m undefined) the population mean.
    NaN for x > 0 with m < 0: the model's spend is positive and the formula would give a
    negative expected spend (p 6, q 4, γ 15, x 1, m −50: −23.33). m = 0 (free or fully
    refunded repeat days) keeps the formula, its limit as m → 0: p γ / (p x + q − 1).
    """
    p, q, g = params["p"], params["q"], params["gamma"]
    x, m = _as_float(x), _as_float(monetary_value)
    outside = (x > 0) & (m < 0)
    m = np.where(x > 0, np.nan_to_num(m), 0.0)
    # p x + q - 1 is 0 for x = 0 when q = 1: an infinite mean, which the caller reports as
    # infinite_mean_spend; numpy's warning would only clutter the build's log.
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(outside, np.nan, p * (g + m * x) / (p * x + q - 1.0))


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

    By the recursion Fader & Hardie give beside it (periods are whole numbers): S(j + 1) / S(j)
    = (beta + j) / (alpha + beta + j), so ln S(t) = -sum_{j < t} ln(1 + alpha / (beta + j)),
    and P(T = t) = S(t - 1) alpha / (alpha + beta + t - 1). Each term is a log1p or a ratio of
    positive numbers, without the differences of nearly equal ln B (or digamma) values that
    the closed form takes: a cohort whose likelihood is nearly flat along a ridge (three
    customers, one lost) had its optimum moved by ~1e-8 by their rounding, so that a fit
    started from another point ended elsewhere (python_checks/test_period_ends.py found it).
    """
    n = np.asarray(survivors, dtype=float)
    j = np.arange(len(n) - 1, dtype=float)
    log_s = np.concatenate([[0.0], np.cumsum(-np.log1p(alpha / (beta + j)))])  # ln S(0 .. k)
    log_p = np.log(alpha / (alpha + beta + j)) + log_s[:-1]  # ln P(T = 1 .. k)
    lost = n[:-1] - n[1:]
    return float((lost * log_p).sum() + n[-1] * log_s[-1])


def sbg_log_likelihood_gradient(alpha: float, beta: float, survivors: np.ndarray) -> np.ndarray:
    """The gradient of :func:`sbg_log_likelihood` over (alpha, beta), term by term of the same
    recursion: d ln S(j + 1) / S(j) is -1 / (alpha + beta + j) over alpha and
    alpha / ((beta + j)(alpha + beta + j)) over beta; d ln(alpha / (alpha + beta + j)) is
    (beta + j) / (alpha (alpha + beta + j)) over alpha and -1 / (alpha + beta + j) over beta."""
    n = np.asarray(survivors, dtype=float)
    j = np.arange(len(n) - 1, dtype=float)
    total = alpha + beta + j
    ds_a = np.concatenate([[0.0], np.cumsum(-1.0 / total)])  # d ln S(0 .. k) / d alpha
    ds_b = np.concatenate([[0.0], np.cumsum(alpha / ((beta + j) * total))])  # ... / d beta
    dp_a = (beta + j) / (alpha * total) + ds_a[:-1]  # d ln P(T = 1 .. k) / d alpha
    dp_b = -1.0 / total + ds_b[:-1]
    lost = n[:-1] - n[1:]
    return np.array(
        [
            float((lost * dp_a).sum() + n[-1] * ds_a[-1]),
            float((lost * dp_b).sum() + n[-1] * ds_b[-1]),
        ]
    )


def fit_sbg(
    survivors: Sequence[float] | np.ndarray | pd.Series,
    warm: Mapping[str, float] | None = None,
) -> FitResult:
    """Fit alpha, beta on a cohort's survivors per period, period 0 first (``warm``: the
    parameters of an earlier fit to start from, as in :func:`fit_bgnbd`).

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

    def negative_gradient(p: np.ndarray) -> np.ndarray:
        return -sbg_log_likelihood_gradient(p[0], p[1], share)

    start = np.log([1.0, 1.0])
    fit = _maximise(model, ("alpha", "beta"), negative_ll, start, size, negative_gradient, warm)
    return _at_the_geometric_limit(_scaled(fit, n[0]), n)


# The sBG's parameter at its geometric limit (alpha and beta are infinite there).
CHURN_PROBABILITY = "churn_probability"
# The geometric limit is reported when its log-likelihood is not below that of the search's
# end point by more than this, relative (at least 1): rounding in the sums, not a better point.
LIMIT_TOLERANCE = 1e-9


def geometric_churn_probability(
    survivors: Sequence[float] | np.ndarray,
) -> tuple[float, float, float]:
    """(p, churned, periods at risk): the maximum-likelihood churn probability per period of
    the geometric model, in which every customer churns in each period with the same
    probability p, for a survivor curve n_0 >= n_1 >= ... >= n_k (0 < n_k < n_0, n_1 > 0).

    p = churned / periods at risk, churned = n_0 - n_k = sum_t (n_{t-1} - n_t) and periods at
    risk = n_0 + ... + n_{k-1}, each customer counted in every period it began as one. The
    log-likelihood (:func:`geometric_log_likelihood`) is churned ln p + (at risk - churned)
    ln(1 - p): a customer lost in period t adds ln p + (t - 1) ln(1 - p), one left after k
    periods k ln(1 - p), and the (t - 1) and k add up to the periods at risk less one per
    customer lost. Its derivative churned / p - (at risk - churned) / (1 - p) vanishes at
    that p alone, and the second derivative is negative: the one maximum."""
    n = _as_float(survivors)
    churned, at_risk = float(n[0] - n[-1]), float(n[:-1].sum())
    return churned / at_risk, churned, at_risk


def geometric_log_likelihood(churn_probability: float, survivors: np.ndarray) -> float:
    """LL of a survivor curve under the geometric model, period by period as for the sBG
    (:func:`sbg_log_likelihood`): sum_t (n_{t-1} - n_t) ln P(T = t) + n_k ln S(k), with
    P(T = t) = p (1 - p)^(t - 1) and S(k) = (1 - p)^k. It is the sBG's as alpha and beta grow
    with alpha / (alpha + beta) = p: the churn probability of every customer is then p."""
    n = _as_float(survivors)
    p = churn_probability
    t = np.arange(1, len(n), dtype=float)
    lost = n[:-1] - n[1:]
    log_p = math.log(p) + (t - 1.0) * math.log1p(-p)
    return float((lost * log_p).sum() + n[-1] * (len(n) - 1) * math.log1p(-p))


def geometric_project(churn_probability: float, periods: int) -> np.ndarray:
    """Projected retention S(0 .. periods) = (1 - p)^k of the geometric model."""
    return (1.0 - churn_probability) ** np.arange(periods + 1, dtype=float)


def _at_the_geometric_limit(fit: FitResult, survivors: np.ndarray) -> FitResult:
    """The sBG's limit, the geometric model (fitted in closed form,
    :func:`geometric_churn_probability`), in place of a fit it beats: status GEOMETRIC_LIMIT,
    the churn probability the one parameter (alpha and beta are infinite), the limit's
    log-likelihood, which the sBG's rises toward along the way alpha and beta grow together.

    - A search that found no maximum because alpha and beta ran to infinity together
      (:data:`_SBG_GEOMETRIC`): the limit unless its log-likelihood is below the search's end
      point's (by more than LIMIT_TOLERANCE), when the likelihood would not be rising toward
      it and the fit stays not_converged; any other runaway stays not_converged too.
    - An ``ok`` fit whose log-likelihood is not above the limit's: the point the search
      stopped at is no maximum (every finite alpha and beta is less likely than the limit
      when the limit is the supremum; a stop on the flat ridge far out, or at a lower local
      maximum), and the limit is the more likely answer. The check changes a status and its
      parameters only where the fit is beaten; every other ``ok`` fit is as it was."""
    if not fit.params or fit.fit_status not in (OK, NOT_CONVERGED):
        return fit
    p, churned, at_risk = geometric_churn_probability(survivors)
    value = geometric_log_likelihood(p, survivors)
    end = fit.log_likelihood
    if fit.ok:
        if value < end:
            return fit
        why = (
            f"the search stopped at alpha {fit.params['alpha']:.6g}, beta "
            f"{fit.params['beta']:.6g} (log-likelihood {end:.6f}), less likely than the limit "
            f"as alpha and beta grow together without bound ({value:.6f}): no maximum there; "
            f"the geometric model with {_SBG_GEOMETRIC[2]}, fitted in their place"
        )
    else:
        grown, shrunk = _running_away(fit.params)
        growing, shrinking, meaning = _SBG_GEOMETRIC
        if (set(grown), set(shrunk)) != (growing, shrinking):
            return fit
        if not (math.isfinite(end) and value >= end - LIMIT_TOLERANCE * max(1.0, abs(end))):
            return fit
        why = (
            "no finite maximum: the likelihood rises as alpha and beta grow together without "
            f"bound, toward the geometric model with {meaning}, fitted in their place"
        )
    message = (
        f"{why}: churn probability {p:.6g} per period ({churned:g} churned in {at_risk:g} "
        "periods at risk); alpha and beta are infinite, and the projection is "
        "(1 - churn probability)^k"
    )
    return FitResult(
        fit.model,
        {CHURN_PROBABILITY: p},
        value,
        fit.observations,
        False,
        GEOMETRIC_LIMIT,
        message,
        fit.iterations,
    )


def sbg_project(alpha: float, beta: float, periods: int) -> np.ndarray:
    """Projected retention S(0 .. periods): 1 at period 0, non-increasing after."""
    return sbg_survival(alpha, beta, np.arange(periods + 1))
