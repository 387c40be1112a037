"""Great Expectations suites for the marts (docs/marts.md): one function per core mart, one
table (OPERATIONS) and one builder for the retention operations marts.

Every suite checks what a BI tool relies on: the mart's key is not null and unique, the
documented columns exist, enumerations hold only their accepted values, counts and money are
non-negative, rates lie in [0, 1] (and are null exactly when their denominator is 0), the
identities of the metric definitions hold row by row (every rate and average against the
numerator and denominator beside it, a lifecycle or MRR movement against its states), and
a total or running total against the rows it sums (on marts never read in parts).

An identity is checked on a derived column, ``check__<name>``, whose residual must lie
within ``TOLERANCE`` of 0 (`_identity`); retention/identities.py derives those columns
(`add_derived_columns`, DERIVED) and says how each residual is scaled. `retention validate`
(retention/validate.py) runs the suites.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import great_expectations as gx
import great_expectations.expectations as gxe

from retention.identities import (
    DEFAULT_REPEAT_WINDOWS,
    LIFECYCLES,
    MRR_COLUMNS,
    MRR_MOVEMENTS,
    TOLERANCE,
    Ratio,
    RunningTotal,
    derivations,
    repeat_windows,
    unchecked,
    window_check,
)
from retention.marts import (  # noqa: F401 (MARTS, SCHEMA: re-exported)
    COLUMNS,
    KEYS,
    MARTS,
    MAY_BE_EMPTY,
    SCHEMA,
)

BASES = ["order", "contract"]
PERIOD_GRAINS = ["month", "quarter", "year"]
STATUSES = ["active", "churned", "never_active"]
CHURN_TYPES = ["push", "pull", "unretainable", "silent", "unknown"]
SEGMENT_TYPES = ["all", "acquisition_channel", "cohort_year"]
REQUEST_CHURN_TYPES = ["push", "pull", "unretainable", "unknown"]
NPS_CLASSES = ["promoter", "passive", "detractor"]
PRODUCT_BUCKETS = ["0", "1", "2", "3+"]
BILLING_PERIODS = ["month", "quarter", "year"]

CONTRACT_ROWS = 'basis == "contract"'
ORDER_ROWS = 'basis == "order"'


Expectations = list[gxe.Expectation]


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
