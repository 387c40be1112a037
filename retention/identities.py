"""The identities of the metric definitions, as columns a suite can check
(retention/expectations.py builds the suites, retention/validate.py runs them).

An identity is checked on a derived column, ``check__<name>``, that `add_derived_columns`
adds to the mart's DataFrame before validation: the residual ``left side − right side``, which
must lie within ``TOLERANCE`` of 0. Counts are exact integers, so their residual is exactly 0
when the identity holds. Money residuals are divided by the sum of the absolute values of the
terms (at least 1), so a float rounding error on large sums does not fail, while a missing
cent on a 10,000 MRR (1e-6 relative) still does; a rate's or a total's is relative to its
own size above 1. A residual that is null is skipped, so a null where the definition gives a
value is checked apart (`Ratio`: null exactly when the denominator is 0; `difference`:
infinite where only one side is null).

A few identities also use dbt vars (`WithVars`: the margin and the CLV lifespan cap). They
are checked with the values the marts were built with, which the build keeps in
``int_reporting_params`` (`retention validate` reads them: marts.BUILD_VARS); when the warehouse
does not record a value (built before it kept them), such an identity is left out of the
suite and reported as not checked (`unchecked`), neither passed nor failed.

The lists the identities read (LIFECYCLE_STATES, MRR_MOVEMENT_COLUMNS, MRR_COLUMNS, the
repeat windows) are here too, and the suites read them as well. This module needs pandas,
not Great Expectations. The checks across marts (retention/consistency.py) compare their
two sides with `difference` and TOLERANCE too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

TOLERANCE = 1e-9

# Each lifecycle's (active at start, active at end) (SPEC §7; `inactive`: not active at all).
LIFECYCLE_STATES = {
    "new": (False, True), "retained": (True, True), "churned": (True, False),
    "reactivated": (False, True), "transient": (False, False), "inactive": (False, False),
}  # fmt: skip
LIFECYCLES = list(LIFECYCLE_STATES)
# Each MRR movement's own column (the others are 0 on its rows; `unchanged` has none).
MRR_MOVEMENT_COLUMNS = {
    "new": "new_mrr", "reactivation": "reactivation_mrr", "expansion": "expansion_mrr",
    "contraction": "contraction_mrr", "churned": "churned_mrr", "unchanged": None,
}  # fmt: skip
MRR_MOVEMENTS = list(MRR_MOVEMENT_COLUMNS)
DEFAULT_REPEAT_WINDOWS = (30, 90, 180, 365)
MRR_COLUMNS = [
    "mrr_start", "mrr_end", "new_mrr", "reactivation_mrr", "expansion_mrr",
    "contraction_mrr", "churned_mrr",
]  # fmt: skip


# --- derived columns: the residual of each identity ------------------------------------------

Derivation = Callable[[pd.DataFrame], pd.Series]


class NotNumeric(ValueError):
    """A column an identity needs holds values that are not numbers (a wrong type)."""


def _num(df: pd.DataFrame, column: str) -> pd.Series:
    try:
        return df[column].astype("float64")
    except (TypeError, ValueError) as exc:
        raise NotNumeric(f"column {column} is not numeric ({exc})") from exc


def count_residual(lhs: str, plus: Sequence[str] = (), minus: Sequence[str] = ()) -> Derivation:
    """``lhs − (Σ plus − Σ minus)``: exactly 0 when an identity between counts holds."""

    def derive(df: pd.DataFrame) -> pd.Series:
        right = sum((_num(df, c) for c in plus), start=pd.Series(0.0, index=df.index))
        right = right - sum((_num(df, c) for c in minus), start=pd.Series(0.0, index=df.index))
        return _num(df, lhs) - right

    return derive


def money_residual(lhs: str, plus: Sequence[str] = (), minus: Sequence[str] = ()) -> Derivation:
    """The residual of a money identity relative to the size of its terms (at least 1)."""

    def derive(df: pd.DataFrame) -> pd.Series:
        terms = [lhs, *plus, *minus]
        scale = pd.concat([_num(df, c).abs() for c in terms], axis=1).sum(axis=1, skipna=False)
        return count_residual(lhs, plus, minus)(df) / scale.clip(lower=1.0)

    return derive


@dataclass(frozen=True)
class Ratio:
    """``rate = numerator / denominator``, a rate (or an average) beside its numerator and
    denominator. Called, the residual ``rate − numerator / denominator`` where the
    denominator is positive (else null), divided by ``|rate|`` when that is above 1 (an
    average order value, a CAC: a float rounding error on a large value does not fail). The
    residual of a null rate is null too, and the identity skips it: so every suite also
    checks, from this one definition (`expectations._finish`), that the rate is null
    exactly when the denominator is 0 (every rate over nothing is null, SPEC §7);
    ``optional`` when the numerator may be null, the rate then too (CAC where there is no
    marketing spend)."""

    rate: str
    numerator: str
    denominator: str
    optional: bool = False

    def __call__(self, df: pd.DataFrame) -> pd.Series:
        den = _num(df, self.denominator)
        rate = _num(df, self.rate)
        residual = (rate - _num(df, self.numerator) / den) / rate.abs().clip(lower=1.0)
        return residual.where(den > 0)


def rate_residual(rate: str, numerator: str, denominator: str) -> Ratio:
    """``rate − numerator / denominator`` where the denominator is positive (else null)."""
    return Ratio(rate, numerator, denominator)


@dataclass(frozen=True)
class RunningTotal:
    """``total = Σ column`` over the rows of the same ``partition`` up to this one in
    ``order`` (over all of them without an order): a sum across rows, so only for a mart
    that is never read in parts (not keyed by customer; `expectations._finish` refuses one
    that is). Called, the residual relative to ``|total|`` above 1."""

    column: str
    total: str
    partition: tuple[str, ...] = ()
    order: str | None = None

    def __call__(self, df: pd.DataFrame) -> pd.Series:
        rows = df.sort_values([*self.partition, self.order]) if self.order else df
        values = _num(rows, self.column)
        groups = [rows[c] for c in self.partition] or [pd.Series(0, index=rows.index)]
        by_group = values.groupby(groups)
        summed = by_group.cumsum() if self.order else by_group.transform("sum")
        total = _num(df, self.total)
        return (total - summed.reindex(df.index)) / total.abs().clip(lower=1.0)


def difference(left: pd.Series, right: pd.Series) -> pd.Series:
    """``left − right``, relative to ``|left|`` above 1, for an identity whose right side is
    null exactly when its left side must be: infinite where only one side is null (a value
    set where its definition gives none, or missing where it gives one), null where both are."""
    residual = (left - right) / left.abs().clip(lower=1.0)
    return residual.mask(left.isna() != right.isna(), float("inf"))


def rates_sum_to_one(first: str, second: str, denominator: str) -> Derivation:
    """``first + second − 1`` where the denominator is positive (else null)."""

    def derive(df: pd.DataFrame) -> pd.Series:
        return (_num(df, first) + _num(df, second) - 1.0).where(_num(df, denominator) > 0)

    return derive


def lifecycle_states(basis: str) -> Derivation:
    """0 where the basis' lifecycle has the row's start and end states (LIFECYCLE_STATES),
    else 1; null for a lifecycle that is not one, or a null flag (their own checks fail)."""

    def derive(df: pd.DataFrame) -> pd.Series:
        lifecycle = df[f"{basis}_lifecycle"]
        agrees = pd.Series(True, index=df.index)
        for i, moment in enumerate(("start", "end")):
            active = [name for name, states in LIFECYCLE_STATES.items() if states[i]]
            agrees &= lifecycle.isin(active) == df[f"{basis}_is_active_{moment}"]
        flags = df[[f"{basis}_is_active_start", f"{basis}_is_active_end"]]
        known = lifecycle.isin(LIFECYCLE_STATES) & flags.notna().all(axis=1)
        return (1.0 - agrees.astype("float64")).where(known)

    return derive


def mrr_movement_columns(df: pd.DataFrame) -> pd.Series:
    """0 where mrr_movement is the one SPEC §7 gives for mrr_start → mrr_end (new and
    reactivation: from 0 to more; churned: to 0; expansion: up; contraction: down, not to 0;
    unchanged: equal) and only its own movement column is not 0; else 1; null for a movement
    that is not one, or a null MRR (their own checks fail)."""
    start, end, movement = _num(df, "mrr_start"), _num(df, "mrr_end"), df["mrr_movement"]
    from_zero = (start == 0) & (end > 0)
    states = {
        "new": from_zero, "reactivation": from_zero, "churned": (start > 0) & (end == 0),
        "expansion": (start > 0) & (end > start), "contraction": (end > 0) & (end < start),
        "unchanged": start == end,
    }  # fmt: skip
    agrees = pd.Series(False, index=df.index)
    for name, own in MRR_MOVEMENT_COLUMNS.items():
        others = [c for c in MRR_MOVEMENT_COLUMNS.values() if c not in (None, own)]
        only_own = sum((_num(df, c) for c in others), start=pd.Series(0.0, index=df.index)) == 0
        agrees |= (movement == name) & states[name] & only_own
    known = movement.isin(MRR_MOVEMENT_COLUMNS) & df[MRR_COLUMNS].notna().all(axis=1)
    return (1.0 - agrees.astype("float64")).where(known)


@dataclass(frozen=True)
class WithVars:
    """An identity that uses dbt vars besides the mart's columns: ``derive(df, values)``,
    with ``values`` the vars the mart was built with (BUILD_VARS, by name). It is checked
    only when every var of ``needs`` is known (`add_derived_columns`,
    `expectations.suite_for`)."""

    needs: tuple[str, ...]
    derive: Callable[[pd.DataFrame, Mapping[str, float]], pd.Series]


def _lifespan(df: pd.DataFrame, values: Mapping[str, float]) -> pd.Series:
    """expected_lifespan_years = min(1 / annual_churn_rate, clv_max_lifespan_years): the cap
    at churn 0 (1 / 0 is infinite), null without a churn rate."""
    churn = _num(df, "annual_churn_rate")
    expected = (1.0 / churn).clip(upper=values["clv_max_lifespan_years"])
    return difference(_num(df, "expected_lifespan_years"), expected)


def _clv(df: pd.DataFrame, values: Mapping[str, float]) -> pd.Series:
    """clv = average_order_value × purchase_frequency × expected_lifespan_years × margin."""
    expected = (
        _num(df, "average_order_value")
        * _num(df, "purchase_frequency")
        * _num(df, "expected_lifespan_years")
        * values["gross_margin"]
    )
    return difference(_num(df, "clv"), expected)


def _contract_clv(df: pd.DataFrame, values: Mapping[str, float]) -> pd.Series:
    """contract_clv = arpa_monthly × margin / monthly_churn_rate, capped at arpa_monthly × 12
    × clv_max_lifespan_years × margin; the cap when the annual contract churn is 0; null
    without that churn rate or without ARPA."""
    margin = values["gross_margin"]
    annual, arpa = _num(df, "annual_contract_churn_rate"), _num(df, "arpa_monthly")
    cap = arpa * 12 * values["clv_max_lifespan_years"] * margin
    uncapped = (arpa * margin / _num(df, "monthly_churn_rate")).where(annual > 0, cap)
    return difference(_num(df, "contract_clv"), uncapped.clip(upper=cap).where(annual.notna()))


def _return_on_cost(df: pd.DataFrame, values: Mapping[str, float]) -> pd.Series:
    """return_on_cost = (incremental_revenue × margin − programme_cost) / programme_cost;
    null when the cost is 0."""
    cost = _num(df, "programme_cost")
    expected = (_num(df, "incremental_revenue") * values["gross_margin"] - cost) / cost
    return difference(_num(df, "return_on_cost"), expected.where(cost != 0))


MRR_IDENTITY = money_residual(
    "mrr_end",
    plus=["mrr_start", "new_mrr", "reactivation_mrr", "expansion_mrr"],
    minus=["contraction_mrr", "churned_mrr"],
)

DERIVED: dict[str, dict[str, Derivation | WithVars]] = {
    "dim_customers": {
        "check__aov_formula": Ratio("average_order_value", "lifetime_net_revenue", "purchases"),
    },
    "fct_customer_months": {
        "check__mrr_identity": MRR_IDENTITY,
        "check__order_lifecycle_states": lifecycle_states("order"),
        "check__contract_lifecycle_states": lifecycle_states("contract"),
        "check__mrr_movement": mrr_movement_columns,
    },
    "fct_periods": {
        "check__customers_identity": count_residual(
            "customers_end", plus=["customers_start", "new", "reactivated"], minus=["churned"]
        ),
        "check__start_split": count_residual("customers_start", plus=["retained", "churned"]),
        "check__end_split": count_residual(
            "customers_end", plus=["retained", "new", "reactivated"]
        ),
        "check__retention_plus_churn_rate": rates_sum_to_one(
            "retention_rate", "churn_rate", "customers_start"
        ),
        "check__churn_rate_formula": rate_residual("churn_rate", "churned", "customers_start"),
        "check__mrr_identity": MRR_IDENTITY,
        "check__gross_retained_mrr": money_residual(
            "gross_retained_mrr", plus=["mrr_start"], minus=["contraction_mrr", "churned_mrr"]
        ),
        "check__net_retained_mrr": money_residual(
            "net_retained_mrr",
            plus=["mrr_start", "expansion_mrr"],
            minus=["contraction_mrr", "churned_mrr"],
        ),
        "check__grr_formula": Ratio("gross_revenue_retention", "gross_retained_mrr", "mrr_start"),
        "check__nrr_formula": Ratio("net_revenue_retention", "net_retained_mrr", "mrr_start"),
    },
    "fct_cohorts": {
        "check__retention_rate_formula": rate_residual(
            "retention_rate", "active_customers", "cohort_size"
        ),
        "check__revenue_per_customer_formula": Ratio(
            "cumulative_revenue_per_customer", "cumulative_revenue", "cohort_size"
        ),
        "check__cumulative_revenue_formula": RunningTotal(
            "revenue", "cumulative_revenue", ("basis", "cohort_month"), "months_since_cohort"
        ),
    },
    "mart_repeat_purchase": {
        "check__repeat_purchase_rate_formula": rate_residual(
            "repeat_purchase_rate", "repeat_customers", "customers"
        ),
    },
    "mart_clv": {
        "check__aov_formula": Ratio("average_order_value", "net_revenue", "purchases"),
        "check__frequency_formula": Ratio(
            "purchase_frequency", "purchases", "purchasing_customers"
        ),
        "check__annual_churn_rate_formula": Ratio(
            "annual_churn_rate", "order_churned_customers", "order_active_start_customers"
        ),
        "check__annual_contract_churn_rate_formula": Ratio(
            "annual_contract_churn_rate",
            "contract_churned_customers",
            "contract_active_start_customers",
        ),
        "check__monthly_churn_rate_formula": lambda df: difference(
            _num(df, "monthly_churn_rate"),
            1 - (1 - _num(df, "annual_contract_churn_rate")) ** (1 / 12),
        ),
        "check__arpa_formula": Ratio("arpa_monthly", "mrr", "contract_active_customers"),
        "check__cac_formula": Ratio("cac", "marketing_spend", "acquired_customers", optional=True),
        "check__ltv_to_cac_formula": Ratio("ltv_to_cac", "clv", "cac", optional=True),
        "check__lifespan_formula": WithVars(("clv_max_lifespan_years",), _lifespan),
        "check__clv_formula": WithVars(("gross_margin",), _clv),
        "check__contract_clv_formula": WithVars(
            ("gross_margin", "clv_max_lifespan_years"), _contract_clv
        ),
    },
    "mart_churn": {
        "check__share_of_churn_formula": rate_residual(
            "share_of_churn", "churned_customers", "period_churned_customers"
        ),
        "check__period_churn_formula": RunningTotal(
            "churned_customers",
            "period_churned_customers",
            ("basis", "period_grain", "period_start"),
        ),
    },
    "mart_cancellation_saves": {
        "check__offer_rate_formula": rate_residual(
            "offer_rate", "final_offers_made", "cancellation_requests"
        ),
        "check__save_rate_formula": rate_residual("save_rate", "saves", "final_offers_made"),
        "check__save_durability_formula": rate_residual(
            "save_durability_90d", "saves_active_90d", "eligible_saves_90d"
        ),
    },
    "mart_winback": {
        "check__winback_rate_formula": rate_residual("winback_rate", "won_back", "churn_events"),
    },
    "mart_nps": {
        "check__classes_add_up": count_residual(
            "responses", plus=["promoters", "passives", "detractors"]
        ),
        "check__nps_formula": lambda df: (
            _num(df, "nps")
            - 100 * (_num(df, "promoters") - _num(df, "detractors")) / _num(df, "responses")
        ).where(_num(df, "responses") > 0),
    },
    "mart_nps_churn": {
        "check__churn_rate_formula": rate_residual(
            "churn_rate_180d", "churned_within_180d", "responses_active"
        ),
    },
    "mart_retention_programmes": {
        "check__treatment_rate_formula": rate_residual(
            "treatment_retention_rate", "treatment_retained", "treatment_customers"
        ),
        "check__control_rate_formula": rate_residual(
            "control_retention_rate", "control_retained", "control_customers"
        ),
        "check__treatment_revenue_formula": Ratio(
            "treatment_revenue_per_customer", "treatment_revenue", "treatment_customers"
        ),
        "check__control_revenue_formula": Ratio(
            "control_revenue_per_customer", "control_revenue", "control_customers"
        ),
        "check__uplift_formula": lambda df: difference(
            _num(df, "uplift"),
            _num(df, "treatment_retention_rate") - _num(df, "control_retention_rate"),
        ),
        "check__incremental_customers_formula": lambda df: difference(
            _num(df, "incremental_customers_retained"),
            _num(df, "uplift") * _num(df, "treatment_customers"),
        ),
        "check__incremental_revenue_formula": lambda df: difference(
            _num(df, "incremental_revenue"),
            (_num(df, "treatment_revenue_per_customer") - _num(df, "control_revenue_per_customer"))
            * _num(df, "treatment_customers"),
        ),
        "check__is_significant_formula": lambda df: difference(
            _num(df, "is_significant"),
            ((_num(df, "uplift_ci_low") > 0) | (_num(df, "uplift_ci_high") < 0))
            .astype("float64")
            .where(_num(df, "uplift_ci_low").notna() & _num(df, "uplift_ci_high").notna()),
        ),
        "check__cost_per_incremental_formula": Ratio(
            "cost_per_incremental_customer", "programme_cost", "incremental_customers_retained"
        ),
        "check__return_on_cost_formula": WithVars(("gross_margin",), _return_on_cost),
    },
    "mart_contract_renewals": {
        "check__renewal_rate_formula": rate_residual("renewal_rate", "renewed", "terms_ending"),
    },
    "mart_lock_in": {
        "check__churn_rate_formula": rate_residual("churn_rate", "churned", "customers_start"),
    },
    "mart_revenue_concentration": {
        "check__revenue_share_formula": rate_residual("revenue_share", "revenue", "total_revenue"),
        "check__cumulative_share_formula": rate_residual(
            "cumulative_revenue_share", "cumulative_revenue", "total_revenue"
        ),
        "check__cumulative_revenue_formula": RunningTotal(
            "revenue", "cumulative_revenue", order="revenue_decile"
        ),
        "check__total_revenue_formula": RunningTotal("revenue", "total_revenue"),
    },
}


# The rate of each window W (the `repeat_windows_days` var): (rate, numerator, denominator).
WINDOW_RATES: dict[str, tuple[str, str, str]] = {
    "mart_repeat_purchase": ("repeat_rate_{w}", "repeat_within_{w}", "eligible_{w}"),
    "mart_winback": ("winback_rate_{w}", "won_back_within_{w}", "eligible_{w}"),
}


def window_check(mart: str, w: int) -> str:
    """The ``check__`` column of the rate of window ``w``."""
    return f"check__{WINDOW_RATES[mart][0].format(w=w)}_formula"


def derivations(
    mart: str, windows: Sequence[int] = DEFAULT_REPEAT_WINDOWS
) -> dict[str, Derivation | WithVars]:
    """The mart's ``check__`` columns: DERIVED, and the rate of each window."""
    found = dict(DERIVED.get(mart, {}))
    if mart in WINDOW_RATES:
        for w in windows:
            rate, numerator, denominator = (c.format(w=w) for c in WINDOW_RATES[mart])
            found[window_check(mart, w)] = Ratio(rate, numerator, denominator)
    return found


def unchecked(mart: str, build_vars: Mapping[str, float]) -> dict[str, tuple[str, ...]]:
    """The mart's ``check__`` columns of identities (`WithVars`) that cannot be checked, as
    ``build_vars`` (the vars the mart was built with) lacks a var they use: the missing
    vars by column."""
    return {
        name: missing
        for name, derive in DERIVED.get(mart, {}).items()
        if isinstance(derive, WithVars)
        and (missing := tuple(v for v in derive.needs if v not in build_vars))
    }


def add_derived_columns(
    mart: str, df: pd.DataFrame, build_vars: Mapping[str, float] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """The mart's DataFrame with its ``check__`` columns, and a note per column not derivable
    (a column missing, or holding values that are not numbers). ``build_vars``: the vars the
    mart was built with; an identity that needs one it lacks gets no column (`unchecked`)."""
    df = df.copy()
    build_vars = build_vars or {}
    problems = []
    skipped = unchecked(mart, build_vars)
    for name, derive in derivations(mart, repeat_windows(df.columns)).items():
        if name in skipped:
            continue
        try:
            if isinstance(derive, WithVars):
                df[name] = derive.derive(df, build_vars)
            else:
                df[name] = derive(df)
        except KeyError as exc:
            problems.append(f"cannot derive {name}: missing column {exc}")
        except NotNumeric as exc:
            problems.append(f"cannot derive {name}: {exc}")
    return df, problems


def repeat_windows(columns: Sequence[str]) -> list[int]:
    """The windows W present as ``eligible_W`` columns (the `repeat_windows_days` var)."""
    found = sorted(int(m[1]) for c in columns if (m := re.fullmatch(r"eligible_(\d+)", c)))
    return found or list(DEFAULT_REPEAT_WINDOWS)
