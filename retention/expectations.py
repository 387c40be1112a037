"""Great Expectations suites for the marts (docs/marts.md): one function per core mart, one
table (OPERATIONS) and one builder for the retention operations marts.

Every suite checks what a BI tool relies on: the mart's key is not null and unique, the
documented columns exist, enumerations hold only their accepted values, counts and money are
non-negative, rates lie in [0, 1] (and are null exactly when their denominator is 0), the
identities of the metric definitions hold row by row (every rate and average against the
numerator and denominator beside it, a lifecycle or MRR movement against its states), and
a total or running total against the rows it sums (on marts never read in parts).

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
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd

from retention.marts import (  # noqa: F401 (MARTS, SCHEMA: re-exported)
    COLUMNS,
    KEYS,
    MARTS,
    MAY_BE_EMPTY,
    SCHEMA,
)

TOLERANCE = 1e-9

BASES = ["order", "contract"]
PERIOD_GRAINS = ["month", "quarter", "year"]
# Each lifecycle's (active at start, active at end) (SPEC §7; `inactive`: not active at all).
LIFECYCLE_STATES = {
    "new": (False, True), "retained": (True, True), "churned": (True, False),
    "reactivated": (False, True), "transient": (False, False), "inactive": (False, False),
}  # fmt: skip
LIFECYCLES = list(LIFECYCLE_STATES)
STATUSES = ["active", "churned", "never_active"]
CHURN_TYPES = ["push", "pull", "unretainable", "silent", "unknown"]
# Each MRR movement's own column (the others are 0 on its rows; `unchanged` has none).
MRR_MOVEMENT_COLUMNS = {
    "new": "new_mrr", "reactivation": "reactivation_mrr", "expansion": "expansion_mrr",
    "contraction": "contraction_mrr", "churned": "churned_mrr", "unchanged": None,
}  # fmt: skip
MRR_MOVEMENTS = list(MRR_MOVEMENT_COLUMNS)
SEGMENT_TYPES = ["all", "acquisition_channel", "cohort_year"]
REQUEST_CHURN_TYPES = ["push", "pull", "unretainable", "unknown"]
NPS_CLASSES = ["promoter", "passive", "detractor"]
PRODUCT_BUCKETS = ["0", "1", "2", "3+"]
BILLING_PERIODS = ["month", "quarter", "year"]
DEFAULT_REPEAT_WINDOWS = (30, 90, 180, 365)

CONTRACT_ROWS = 'basis == "contract"'
ORDER_ROWS = 'basis == "order"'


# --- derived columns: the residual of each identity ------------------------------------------

Derivation = Callable[[pd.DataFrame], pd.Series]
Expectations = list[gxe.Expectation]


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
    checks, from this one definition (`_finish`), that the rate is null exactly when the
    denominator is 0 (every rate over nothing is null, SPEC §7); ``optional`` when the
    numerator may be null, the rate then too (CAC where there is no marketing spend)."""

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
    that is never read in parts (not keyed by customer; `_finish` refuses one that is).
    Called, the residual relative to ``|total|`` above 1."""

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
    only when every var of ``needs`` is known (`add_derived_columns`, `suite_for`)."""

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


# --- building blocks -------------------------------------------------------------------------


def _suite(mart: str) -> Expectations:
    """The expectations every mart has: rows (unless it summarises optional input, see
    MAY_BE_EMPTY), documented columns, a not-null unique key."""
    suite: Expectations = []
    if mart not in MAY_BE_EMPTY:
        suite.append(gxe.ExpectTableRowCountToBeBetween(min_value=1))
    suite.append(
        gxe.ExpectTableColumnsToMatchSet(
            column_set=COLUMNS[mart],
            exact_match=False,
            description="every documented column exists (docs/marts.md)",
        )
    )
    key = KEYS[mart]
    for column in key:
        suite.append(gxe.ExpectColumnValuesToNotBeNull(column=column))
    if len(key) == 1:
        suite.append(gxe.ExpectColumnValuesToBeUnique(column=key[0]))
    else:
        suite.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=key))
    return suite


def _finish(
    mart: str, suite: Expectations, windows: Sequence[int] = DEFAULT_REPEAT_WINDOWS
) -> gx.ExpectationSuite:
    """The suite, with every rate of the mart's identities (`Ratio`, with the windows' rates)
    null exactly when its denominator is 0. A derived column no expectation checks, or a sum
    across the rows of a mart that may be read in parts, is an error in this module
    (ValueError)."""
    derived = derivations(mart, windows)
    checked = {e.column for e in suite if isinstance(e, gxe.ExpectColumnValuesToBeBetween)}
    if unchecked := sorted(set(derived) - checked):
        raise ValueError(f"{mart}: no identity checks {', '.join(unchecked)}")
    if KEYS[mart][0] == "customer_id" and any(
        isinstance(d, RunningTotal) for d in derived.values()
    ):
        raise ValueError(f"{mart} may be read in parts: no sum across its rows")
    for ratio in derived.values():
        if isinstance(ratio, Ratio):
            given = ratio.numerator if ratio.optional else None
            _null_when_zero(suite, [ratio.rate], ratio.denominator, given=given)
    # Built in one go: add_expectation compares each new expectation with all earlier ones.
    return gx.ExpectationSuite(name=mart, expectations=suite)


def _not_null(suite: Expectations, columns: Sequence[str], **condition: str) -> None:
    for column in columns:
        suite.append(gxe.ExpectColumnValuesToNotBeNull(column=column, **condition))


def _in_set(
    suite: Expectations, column: str, values: Sequence[str], *, not_null: bool = True
) -> None:
    suite.append(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(values)))
    if not_null:
        suite.append(gxe.ExpectColumnValuesToNotBeNull(column=column))


def _non_negative(suite: Expectations, columns: Sequence[str], minimum: float = 0) -> None:
    for column in columns:
        suite.append(gxe.ExpectColumnValuesToBeBetween(column=column, min_value=minimum))


def _rates(suite: Expectations, columns: Sequence[str]) -> None:
    for column in columns:
        suite.append(
            gxe.ExpectColumnValuesToBeBetween(
                column=column, min_value=0, max_value=1, description="a rate is a fraction 0–1"
            )
        )


def _at_most(suite: Expectations, smaller: str, larger: str) -> None:
    suite.append(
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=larger,
            column_B=smaller,
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            description=f"{smaller} ≤ {larger}",
        )
    )


def _identity(suite: Expectations, check_column: str, text: str, **condition: str) -> None:
    suite.append(
        gxe.ExpectColumnValuesToBeBetween(
            column=check_column,
            min_value=-TOLERANCE,
            max_value=TOLERANCE,
            description=text,
            **condition,
        )
    )


def _null_when_zero(
    suite: Expectations, rates: Sequence[str], denominator: str, given: str | None = None
) -> None:
    """Every rate is null when its denominator is 0 (and only then; with ``given``, a
    numerator that may be null, only where that is set)."""
    is_set = f"{denominator} > 0"
    if given is not None:  # `x == x` is false exactly when x is null (NaN)
        is_set = f"{denominator} > 0 and {given} == {given}"
    for rate in rates:
        suite.append(
            gxe.ExpectColumnValuesToBeNull(
                column=rate,
                row_condition=f"{denominator} == 0",
                condition_parser="pandas",
                description=f"{rate} is null when {denominator} is 0",
            )
        )
        suite.append(
            gxe.ExpectColumnValuesToNotBeNull(
                column=rate,
                row_condition=is_set,
                condition_parser="pandas",
                description=f"{rate} is set when {denominator} > 0"
                + (f" and {given} is set" if given else ""),
            )
        )


def _contract(**kwargs: str) -> dict[str, str]:
    return {"row_condition": CONTRACT_ROWS, "condition_parser": "pandas", **kwargs}


def _order(**kwargs: str) -> dict[str, str]:
    return {"row_condition": ORDER_ROWS, "condition_parser": "pandas", **kwargs}


RELATIVE = " (residual relative to the sum of the terms' sizes)"
RELATIVE_TOTAL = " (residual relative to the total)"
MRR_IDENTITY_TEXT = (
    "mrr_end = mrr_start + new_mrr + reactivation_mrr + expansion_mrr − contraction_mrr "
    "− churned_mrr" + RELATIVE
)
MRR_COLUMNS = [
    "mrr_start", "mrr_end", "new_mrr", "reactivation_mrr", "expansion_mrr",
    "contraction_mrr", "churned_mrr",
]  # fmt: skip


# --- one suite per mart ----------------------------------------------------------------------


def dim_customers() -> gx.ExpectationSuite:
    suite = _suite("dim_customers")
    _not_null(suite, ["is_inferred", "acquisition_channel"])
    _in_set(suite, "order_status", STATUSES)
    _in_set(suite, "contract_status", STATUSES)
    _in_set(suite, "contract_last_churn_type", CHURN_TYPES, not_null=False)
    _non_negative(
        suite,
        [
            "purchases", "lifetime_net_revenue", "average_order_value",
            "order_reactivation_count", "contract_reactivation_count", "current_mrr",
            "lifetime_contract_revenue",
        ],
    )  # fmt: skip
    _at_most(suite, "first_purchase_date", "last_purchase_date")
    _identity(suite, "check__aov_formula", "average_order_value = lifetime_net_revenue / purchases")
    return _finish("dim_customers", suite)


def fct_customer_months() -> gx.ExpectationSuite:
    suite = _suite("fct_customer_months")
    # The view fills every column (a month without a basis' row is inactive, at 0 MRR): a
    # null is a broken join, and a null term would take the row out of the MRR identity.
    _not_null(
        suite,
        [
            "month_end_date", "is_complete_month", "purchases", "net_revenue",
            "order_is_active_start", "order_is_active_end", "contract_is_active_start",
            "contract_is_active_end", *MRR_COLUMNS, "recognised_contract_revenue",
        ],
    )  # fmt: skip
    _in_set(suite, "order_lifecycle", LIFECYCLES)
    _in_set(suite, "contract_lifecycle", LIFECYCLES)
    _in_set(suite, "mrr_movement", MRR_MOVEMENTS)
    _non_negative(suite, ["purchases", "net_revenue", *MRR_COLUMNS, "recognised_contract_revenue"])
    _at_most(suite, "month_start", "month_end_date")
    _identity(suite, "check__mrr_identity", MRR_IDENTITY_TEXT)
    for basis in BASES:
        _identity(
            suite,
            f"check__{basis}_lifecycle_states",
            f"{basis}_lifecycle agrees with {basis}_is_active_start and _end (new, reactivated: "
            "inactive → active; retained: active → active; churned: active → inactive; "
            "transient, inactive: inactive → inactive)",
        )
    _identity(
        suite,
        "check__mrr_movement",
        "mrr_movement agrees with mrr_start → mrr_end, and only its own movement column is "
        "not 0 (unchanged: none)",
    )
    return _finish("fct_customer_months", suite)


def fct_periods() -> gx.ExpectationSuite:
    suite = _suite("fct_periods")
    _in_set(suite, "basis", BASES)
    _in_set(suite, "period_grain", PERIOD_GRAINS)
    counts = ["customers_start", "customers_end", "retained", "churned", "new", "reactivated"]
    counts.append("transient")
    _not_null(suite, ["period_end", "is_complete_period", *counts])
    _non_negative(suite, counts)
    _at_most(suite, "period_start", "period_end")
    _rates(suite, ["churn_rate", "retention_rate", "gross_revenue_retention"])
    _non_negative(suite, ["net_revenue_retention"])
    _null_when_zero(suite, ["retention_rate"], "customers_start")  # churn_rate: its Ratio
    _identity(
        suite,
        "check__customers_identity",
        "customers_end = customers_start − churned + new + reactivated",
    )
    _identity(suite, "check__start_split", "customers_start = retained + churned")
    _identity(suite, "check__end_split", "customers_end = retained + new + reactivated")
    _identity(
        suite,
        "check__retention_plus_churn_rate",
        "retention_rate + churn_rate = 1 where customers_start > 0",
    )
    _identity(suite, "check__churn_rate_formula", "churn_rate = churned / customers_start")
    # Order basis: purchases and revenue; contract basis: MRR and its movements.
    order_columns = ["purchases", "purchasing_customers", "returning_customers", "net_revenue"]
    _not_null(suite, order_columns, **_order())
    _non_negative(suite, order_columns)
    _at_most(suite, "returning_customers", "purchasing_customers")
    _at_most(suite, "purchasing_customers", "purchases")
    contract_columns = [
        *MRR_COLUMNS, "gross_retained_mrr", "net_retained_mrr", "recognised_contract_revenue",
    ]  # fmt: skip
    _not_null(suite, contract_columns, **_contract())
    for column in [*order_columns, *contract_columns]:
        owner = "order" if column in order_columns else "contract"
        other = _contract() if owner == "order" else _order()
        suite.append(
            gxe.ExpectColumnValuesToBeNull(
                column=column, description=f"{column} is for {owner} rows only", **other
            )
        )
    _non_negative(suite, contract_columns)
    _identity(suite, "check__mrr_identity", MRR_IDENTITY_TEXT + " (contract rows)", **_contract())
    _identity(
        suite,
        "check__gross_retained_mrr",
        "gross_retained_mrr = mrr_start − contraction_mrr − churned_mrr" + RELATIVE,
        **_contract(),
    )
    _identity(
        suite,
        "check__net_retained_mrr",
        "net_retained_mrr = mrr_start + expansion_mrr − contraction_mrr − churned_mrr" + RELATIVE,
        **_contract(),
    )
    _identity(
        suite,
        "check__grr_formula",
        "gross_revenue_retention = gross_retained_mrr / mrr_start",
        **_contract(),
    )
    _identity(
        suite,
        "check__nrr_formula",
        "net_revenue_retention = net_retained_mrr / mrr_start",
        **_contract(),
    )
    return _finish("fct_periods", suite)


def fct_cohorts() -> gx.ExpectationSuite:
    suite = _suite("fct_cohorts")
    _in_set(suite, "basis", BASES)
    _not_null(suite, ["activity_month", "cohort_size", "active_customers", "is_complete"])
    _non_negative(suite, ["cohort_size"], minimum=1)
    _non_negative(
        suite,
        [
            "months_since_cohort", "active_customers", "revenue", "cumulative_revenue",
            "cumulative_revenue_per_customer",
        ],
    )  # fmt: skip
    _at_most(suite, "active_customers", "cohort_size")
    _at_most(suite, "revenue", "cumulative_revenue")
    _rates(suite, ["retention_rate"])
    _identity(
        suite, "check__retention_rate_formula", "retention_rate = active_customers / cohort_size"
    )
    _identity(
        suite,
        "check__revenue_per_customer_formula",
        "cumulative_revenue_per_customer = cumulative_revenue / cohort_size",
    )
    _identity(
        suite,
        "check__cumulative_revenue_formula",
        "cumulative_revenue = the cohort's revenue of months 0 … k" + RELATIVE_TOTAL,
    )
    return _finish("fct_cohorts", suite)


def repeat_windows(columns: Sequence[str]) -> list[int]:
    """The windows W present as ``eligible_W`` columns (the `repeat_windows_days` var)."""
    found = sorted(int(m[1]) for c in columns if (m := re.fullmatch(r"eligible_(\d+)", c)))
    return found or list(DEFAULT_REPEAT_WINDOWS)


def mart_repeat_purchase(windows: Sequence[int] = DEFAULT_REPEAT_WINDOWS) -> gx.ExpectationSuite:
    suite = _suite("mart_repeat_purchase")
    suite.append(
        gxe.ExpectTableColumnsToMatchSet(
            column_set=[f"{p}_{w}" for w in windows for p in ("eligible", "repeat_within")]
            + [f"repeat_rate_{w}" for w in windows],
            exact_match=False,
            description="eligible_W, repeat_within_W, repeat_rate_W for each window W",
        )
    )
    _not_null(suite, ["customers", "repeat_customers"])
    _non_negative(suite, ["customers"], minimum=1)
    _non_negative(suite, ["repeat_customers", "median_days_to_second_purchase"])
    _null_when_zero(suite, ["median_days_to_second_purchase"], "repeat_customers")
    _at_most(suite, "repeat_customers", "customers")
    _rates(suite, ["repeat_purchase_rate"])
    _identity(
        suite,
        "check__repeat_purchase_rate_formula",
        "repeat_purchase_rate = repeat_customers / customers",
    )
    for w in windows:
        _non_negative(suite, [f"eligible_{w}", f"repeat_within_{w}"])
        _at_most(suite, f"eligible_{w}", "customers")
        _at_most(suite, f"repeat_within_{w}", f"eligible_{w}")
        _at_most(suite, f"repeat_within_{w}", "repeat_customers")
        _rates(suite, [f"repeat_rate_{w}"])
        _identity(
            suite,
            window_check("mart_repeat_purchase", w),
            f"repeat_rate_{w} = repeat_within_{w} / eligible_{w}",
        )
    return _finish("mart_repeat_purchase", suite, windows)


def mart_clv() -> gx.ExpectationSuite:
    suite = _suite("mart_clv")
    _in_set(suite, "segment_type", SEGMENT_TYPES)
    suite.append(
        gxe.ExpectColumnDistinctValuesToContainSet(
            column="segment_type", value_set=["all"], description="there is an `all` segment"
        )
    )
    _rates(suite, ["annual_churn_rate", "annual_contract_churn_rate", "monthly_churn_rate"])
    _non_negative(
        suite,
        [
            "customers", "purchases", "net_revenue", "purchasing_customers",
            "average_order_value", "purchase_frequency", "order_active_start_customers",
            "order_churned_customers", "expected_lifespan_years", "clv",
            "contract_active_customers", "mrr", "arpa_monthly", "contract_active_start_customers",
            "contract_churned_customers", "contract_clv", "marketing_spend",
            "acquired_customers", "cac", "ltv_to_cac",
        ],
    )  # fmt: skip
    _at_most(suite, "purchasing_customers", "customers")
    _at_most(suite, "order_churned_customers", "order_active_start_customers")
    _at_most(suite, "contract_churned_customers", "contract_active_start_customers")
    for check_column, text in [
        ("check__aov_formula", "average_order_value = net_revenue / purchases"),
        ("check__frequency_formula", "purchase_frequency = purchases / purchasing_customers"),
        (
            "check__annual_churn_rate_formula",
            "annual_churn_rate = order_churned_customers / order_active_start_customers",
        ),
        (
            "check__annual_contract_churn_rate_formula",
            "annual_contract_churn_rate = contract_churned_customers"
            " / contract_active_start_customers",
        ),
        (
            "check__monthly_churn_rate_formula",
            "monthly_churn_rate = 1 − (1 − annual_contract_churn_rate)^(1/12)",
        ),
        ("check__arpa_formula", "arpa_monthly = mrr / contract_active_customers"),
        ("check__cac_formula", "cac = marketing_spend / acquired_customers"),
        ("check__ltv_to_cac_formula", "ltv_to_cac = clv / cac"),
        (
            "check__lifespan_formula",
            "expected_lifespan_years = min(1 / annual_churn_rate, clv_max_lifespan_years)",
        ),
        (
            "check__clv_formula",
            "clv = average_order_value × purchase_frequency × expected_lifespan_years"
            " × gross_margin",
        ),
        (
            "check__contract_clv_formula",
            "contract_clv = min(arpa_monthly × gross_margin / monthly_churn_rate,"
            " arpa_monthly × 12 × clv_max_lifespan_years × gross_margin)",
        ),
    ]:
        _identity(suite, check_column, text)
    return _finish("mart_clv", suite)


def mart_churn() -> gx.ExpectationSuite:
    suite = _suite("mart_churn")
    _in_set(suite, "basis", BASES)
    _in_set(suite, "period_grain", PERIOD_GRAINS)
    _in_set(suite, "churn_type", CHURN_TYPES)
    suite.append(
        gxe.ExpectColumnValuesToBeInSet(
            column="churn_type",
            value_set=["silent"],
            description="every order-basis churn is silent",
            **_order(),
        )
    )
    suite.append(
        gxe.ExpectColumnValuesToBeInSet(
            column="reason_code",
            value_set=["none"],
            description="every order-basis churn has reason_code none",
            **_order(),
        )
    )
    _not_null(suite, ["churned_customers", "period_churned_customers", "share_of_churn"])
    _non_negative(suite, ["churned_customers"], minimum=1)
    _non_negative(suite, ["churned_mrr"])
    _at_most(suite, "churned_customers", "period_churned_customers")
    _rates(suite, ["share_of_churn"])
    _identity(
        suite,
        "check__share_of_churn_formula",
        "share_of_churn = churned_customers / period_churned_customers",
    )
    _identity(
        suite,
        "check__period_churn_formula",
        "period_churned_customers = the churned_customers of the period's rows" + RELATIVE_TOTAL,
    )
    return _finish("mart_churn", suite)


# --- the retention operations marts: one table, one builder ---------------------------------


@dataclass(frozen=True)
class OperationsSuite:
    """The expectations of one operations mart, by kind (see the building blocks above);
    ``extra`` adds what only that mart has."""

    in_sets: tuple[tuple[str, Sequence[str]], ...] = ()
    not_null: tuple[str, ...] = ()
    at_least_one: tuple[str, ...] = ()  # counts of the row's own population: never 0
    non_negative: tuple[str, ...] = ()
    at_most: tuple[tuple[str, str], ...] = ()  # (smaller, larger)
    rates: tuple[str, ...] = ()
    null_when_zero: tuple[tuple[tuple[str, ...], str], ...] = ()  # (rates, denominator)
    identities: tuple[tuple[str, str], ...] = ()  # (check__ column, the identity in words)
    extra: Callable[[Expectations], None] | None = None


def _winback_extra(windows: Sequence[int]) -> Callable[[Expectations], None]:
    def extra(suite: Expectations) -> None:
        suite.append(
            gxe.ExpectTableColumnsToMatchSet(
                column_set=[f"{p}_{w}" for w in windows for p in ("eligible", "won_back_within")]
                + [f"winback_rate_{w}" for w in windows],
                exact_match=False,
                description="eligible_W, won_back_within_W, winback_rate_W for each window W",
            )
        )
        _not_null(suite, ["won_back_mrr"], **_contract())
        suite.append(
            gxe.ExpectColumnValuesToBeNull(
                column="won_back_mrr",
                description="won_back_mrr is for contract rows only",
                **_order(),
            )
        )
        for w in windows:
            _non_negative(suite, [f"eligible_{w}", f"won_back_within_{w}"])
            _at_most(suite, f"eligible_{w}", "churn_events")
            _at_most(suite, f"won_back_within_{w}", f"eligible_{w}")
            _at_most(suite, f"won_back_within_{w}", "won_back")
            _rates(suite, [f"winback_rate_{w}"])
            _identity(
                suite,
                window_check("mart_winback", w),
                f"winback_rate_{w} = won_back_within_{w} / eligible_{w}",
            )

    return extra


def _nps_extra(suite: Expectations) -> None:
    suite.append(
        gxe.ExpectColumnValuesToBeBetween(
            column="nps", min_value=-100, max_value=100, description="NPS is a score −100…100"
        )
    )


def _nps_churn_extra(suite: Expectations) -> None:
    suite.append(gxe.ExpectTableRowCountToEqual(value=6, description="2 bases × 3 NPS classes"))


def _programmes_extra(suite: Expectations) -> None:
    for column in ("uplift", "uplift_ci_low", "uplift_ci_high"):
        suite.append(gxe.ExpectColumnValuesToBeBetween(column=column, min_value=-1, max_value=1))
    # Its Ratio makes it null at 0 incremental customers; the definition, at 0 or fewer.
    suite.append(
        gxe.ExpectColumnValuesToBeNull(
            column="cost_per_incremental_customer",
            row_condition="incremental_customers_retained < 0",
            condition_parser="pandas",
            description="cost_per_incremental_customer is null unless "
            "incremental_customers_retained > 0",
        )
    )


def _concentration_extra(suite: Expectations) -> None:
    suite.append(
        gxe.ExpectColumnValuesToBeBetween(column="revenue_decile", min_value=1, max_value=10)
    )
    suite.append(
        gxe.ExpectColumnValuesToBeBetween(
            column="revenue", min_value=0, strict_min=True, description="only revenue above 0"
        )
    )


SAVES_COUNTS = (
    "cancellation_requests", "final_offers_made", "saves", "eligible_saves_90d",
    "saves_active_90d",
)  # fmt: skip
PROGRAMME_COUNTS = (
    "treatment_customers", "treatment_retained", "control_customers", "control_retained",
)  # fmt: skip
PROGRAMME_MONEY = ("treatment_revenue", "control_revenue", "programme_cost")

OPERATIONS: dict[str, OperationsSuite] = {
    "mart_cancellation_saves": OperationsSuite(
        in_sets=(("period_grain", PERIOD_GRAINS), ("churn_type", REQUEST_CHURN_TYPES)),
        not_null=("reason_code", *SAVES_COUNTS, "saved_mrr"),
        at_least_one=("cancellation_requests",),
        non_negative=(*SAVES_COUNTS, "saved_mrr", "save_rate"),
        at_most=(
            ("final_offers_made", "cancellation_requests"),
            ("saves", "cancellation_requests"),
            ("eligible_saves_90d", "saves"),
            ("saves_active_90d", "eligible_saves_90d"),
        ),
        # save_rate may exceed 1 when accepted offers are not flagged as made
        # (docs/decisions.md).
        rates=("offer_rate", "save_durability_90d"),
        identities=(
            ("check__offer_rate_formula", "offer_rate = final_offers_made / requests"),
            ("check__save_rate_formula", "save_rate = saves / final_offers_made"),
            (
                "check__save_durability_formula",
                "save_durability_90d = saves_active_90d / eligible_saves_90d",
            ),
        ),
    ),
    "mart_winback": OperationsSuite(
        in_sets=(("basis", BASES), ("churn_type", CHURN_TYPES)),
        not_null=("churn_events", "won_back"),
        at_least_one=("churn_events",),
        non_negative=("won_back", "median_days_to_return", "won_back_mrr"),
        at_most=(("won_back", "churn_events"),),
        rates=("winback_rate",),
        null_when_zero=((("median_days_to_return",), "won_back"),),
        identities=(("check__winback_rate_formula", "winback_rate = won_back / churn_events"),),
        extra=_winback_extra(DEFAULT_REPEAT_WINDOWS),
    ),
    "mart_nps": OperationsSuite(
        in_sets=(("period_grain", PERIOD_GRAINS), ("segment_type", SEGMENT_TYPES)),
        not_null=("segment_value", "responses", "promoters", "passives", "detractors", "nps"),
        at_least_one=("responses",),
        non_negative=("promoters", "passives", "detractors"),
        identities=(
            ("check__classes_add_up", "promoters + passives + detractors = responses"),
            ("check__nps_formula", "nps = 100 × (promoters − detractors) / responses"),
        ),
        extra=_nps_extra,
    ),
    "mart_nps_churn": OperationsSuite(
        in_sets=(("basis", BASES), ("nps_class", NPS_CLASSES)),
        not_null=("responses_active", "churned_within_180d"),
        non_negative=("responses_active", "churned_within_180d"),
        at_most=(("churned_within_180d", "responses_active"),),
        rates=("churn_rate_180d",),
        identities=(
            (
                "check__churn_rate_formula",
                "churn_rate_180d = churned_within_180d / responses_active",
            ),
        ),
        extra=_nps_churn_extra,
    ),
    "mart_retention_programmes": OperationsSuite(
        in_sets=(("basis", BASES),),
        not_null=(*PROGRAMME_COUNTS, *PROGRAMME_MONEY),
        non_negative=(*PROGRAMME_COUNTS, *PROGRAMME_MONEY),
        at_most=(
            ("treatment_retained", "treatment_customers"),
            ("control_retained", "control_customers"),
            ("uplift_ci_low", "uplift"),
            ("uplift", "uplift_ci_high"),
        ),
        rates=("treatment_retention_rate", "control_retention_rate"),
        identities=(
            ("check__treatment_rate_formula", "treatment_retention_rate = retained / customers"),
            ("check__control_rate_formula", "control_retention_rate = retained / customers"),
            (
                "check__treatment_revenue_formula",
                "treatment_revenue_per_customer = treatment_revenue / treatment_customers",
            ),
            (
                "check__control_revenue_formula",
                "control_revenue_per_customer = control_revenue / control_customers",
            ),
            ("check__uplift_formula", "uplift = treatment_retention_rate − control_retention_rate"),
            (
                "check__incremental_customers_formula",
                "incremental_customers_retained = uplift × treatment_customers",
            ),
            (
                "check__incremental_revenue_formula",
                "incremental_revenue = (treatment_revenue_per_customer − "
                "control_revenue_per_customer) × treatment_customers",
            ),
            (
                "check__is_significant_formula",
                "is_significant = the interval excludes 0: uplift_ci_low > 0 or uplift_ci_high < 0",
            ),
            (
                "check__cost_per_incremental_formula",
                "cost_per_incremental_customer = programme_cost / incremental_customers_retained",
            ),
            (
                "check__return_on_cost_formula",
                "return_on_cost = (incremental_revenue × gross_margin − programme_cost)"
                " / programme_cost",
            ),
        ),
        extra=_programmes_extra,
    ),
    "mart_contract_renewals": OperationsSuite(
        in_sets=(("billing_period", BILLING_PERIODS),),
        not_null=("product", "terms_ending", "renewed", "renewals_signed"),
        at_least_one=("terms_ending",),
        non_negative=("renewed", "renewals_signed"),
        at_most=(("renewed", "terms_ending"), ("renewals_signed", "renewed")),
        rates=("renewal_rate",),
        null_when_zero=((("median_renewal_lead_days",), "renewals_signed"),),
        identities=(("check__renewal_rate_formula", "renewal_rate = renewed / terms_ending"),),
    ),
    "mart_lock_in": OperationsSuite(
        in_sets=(("period_grain", PERIOD_GRAINS), ("products_at_start", PRODUCT_BUCKETS)),
        not_null=("customers_start", "churned"),
        non_negative=("customers_start", "churned"),
        at_most=(("churned", "customers_start"),),
        rates=("churn_rate",),
        identities=(("check__churn_rate_formula", "churn_rate = churned / customers_start"),),
    ),
    "mart_revenue_concentration": OperationsSuite(
        not_null=("customers", "revenue", "cumulative_revenue", "total_revenue"),
        at_least_one=("customers",),
        at_most=(("revenue", "cumulative_revenue"), ("cumulative_revenue", "total_revenue")),
        rates=("revenue_share",),
        identities=(
            ("check__revenue_share_formula", "revenue_share = revenue / total_revenue"),
            (
                "check__cumulative_share_formula",
                "cumulative_revenue_share = cumulative_revenue / total_revenue",
            ),
            (
                "check__cumulative_revenue_formula",
                "cumulative_revenue = the revenue of deciles 1 … this one" + RELATIVE_TOTAL,
            ),
            (
                "check__total_revenue_formula",
                "total_revenue = the revenue of every decile" + RELATIVE_TOTAL,
            ),
        ),
        extra=_concentration_extra,
    ),
}


def operations_suite(
    mart: str,
    spec: OperationsSuite | None = None,
    windows: Sequence[int] = DEFAULT_REPEAT_WINDOWS,
) -> gx.ExpectationSuite:
    """The suite of an operations mart from its entry in OPERATIONS (or ``spec``); the
    repeat windows of mart_winback."""
    spec = spec or OPERATIONS[mart]
    suite = _suite(mart)
    for column, values in spec.in_sets:
        _in_set(suite, column, values)
    _not_null(suite, spec.not_null)
    _non_negative(suite, spec.at_least_one, minimum=1)
    _non_negative(suite, spec.non_negative)
    for smaller, larger in spec.at_most:
        _at_most(suite, smaller, larger)
    _rates(suite, spec.rates)
    for rates, denominator in spec.null_when_zero:
        _null_when_zero(suite, rates, denominator)
    for check_column, text in spec.identities:
        _identity(suite, check_column, text)
    if spec.extra is not None:
        spec.extra(suite)
    return _finish(mart, suite, windows)


def mart_winback(windows: Sequence[int] = DEFAULT_REPEAT_WINDOWS) -> gx.ExpectationSuite:
    spec = dataclasses.replace(OPERATIONS["mart_winback"], extra=_winback_extra(windows))
    return operations_suite("mart_winback", spec, windows)


def _full_suite(mart: str, columns: Sequence[str]) -> gx.ExpectationSuite:
    if mart == "mart_repeat_purchase":
        return mart_repeat_purchase(repeat_windows(columns))
    if mart == "mart_winback":
        return mart_winback(repeat_windows(columns))
    return SUITES[mart]()


def suite_for(
    mart: str, columns: Sequence[str], build_vars: Mapping[str, float] | None = None
) -> gx.ExpectationSuite:
    """The suite of one mart; ``columns`` are the mart's actual columns (repeat windows);
    ``build_vars`` the vars it was built with: without the identities that need a var it
    lacks (`unchecked`; `not_checked` says which)."""
    suite = _full_suite(mart, columns)
    skipped = unchecked(mart, build_vars or {})
    if not skipped:
        return suite
    kept = [e for e in suite.expectations if getattr(e, "column", None) not in skipped]
    return gx.ExpectationSuite(name=mart, expectations=kept)


def not_checked(
    mart: str, columns: Sequence[str], build_vars: Mapping[str, float] | None = None
) -> list[tuple[str, tuple[str, ...]]]:
    """The identities `suite_for` leaves out, each in words with the vars it lacks."""
    skipped = unchecked(mart, build_vars or {})
    return (
        [
            (e.description or e.column, skipped[e.column])
            for e in _full_suite(mart, columns).expectations
            if getattr(e, "column", None) in skipped
        ]
        if skipped
        else []
    )


SUITES: dict[str, Callable[[], gx.ExpectationSuite]] = {
    "dim_customers": dim_customers,
    "fct_customer_months": fct_customer_months,
    "fct_periods": fct_periods,
    "fct_cohorts": fct_cohorts,
    "mart_repeat_purchase": mart_repeat_purchase,
    "mart_clv": mart_clv,
    "mart_churn": mart_churn,
    **{mart: functools.partial(operations_suite, mart) for mart in OPERATIONS},
    "mart_winback": mart_winback,
}
