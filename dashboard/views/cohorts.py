"""Cohort retention heatmaps: share of each acquisition cohort active k months later, for all
customers (fct_cohorts) or the customers of one acquisition channel, country or segment
(int_customer_cohort_months, the cohort members' months fct_cohorts adds up, joined to
dim_customers: what the semantic layer's segment_cohort_retention_rate groups)."""

import altair as alt
import pandas as pd
import streamlit as st
from warehouse import chart, label, percent_tooltip, period_tooltip, query, value_words

from retention.console import counted

# The customer attributes a cohort can be segmented by (dim_customers columns); a customer
# without one is `unknown`, as in the semantic layer.
SEGMENTS = {
    "acquisition channel": "acquisition_channel",
    "country": "country",
    "segment": "segment",
}
BASES = (("order", "Order basis"), ("contract", "Contract basis"))
# The retention curves' first months: month 0 (the cohort month itself) to month 23.
CURVE_MONTHS = 24


def segmented_cohorts(column: str, value: str | None) -> pd.DataFrame:
    """fct_cohorts' cells for the customers whose `column` is `value` (every value when
    None, one row per value), complete months only."""
    attribute = f"coalesce(d.{column}, 'unknown')"
    chosen = "" if value is None else "and " + attribute + " = '" + value.replace("'", "''") + "'"
    return query(
        f"select m.basis, {attribute} as segment_value, m.cohort_month, m.months_since_cohort, "
        "count(*) as cohort_size, count(*) filter (where m.is_active) as active_customers, "
        "count(*) filter (where m.is_active) / count(*) as retention_rate "
        "from intermediate.int_customer_cohort_months m "
        "join marts.dim_customers d using (customer_id) "
        f"where m.is_complete_month {chosen} "
        "group by all order by m.cohort_month, m.months_since_cohort"
    )


def heatmap(cells: pd.DataFrame, what: str) -> None:
    chart(
        alt.Chart(cells)
        .mark_rect()
        .encode(
            x=alt.X("months_since_cohort:O", title="months since cohort"),
            y=alt.Y("yearmonth(cohort_month):O", title="cohort", sort="ascending"),
            color=alt.Color(
                "retention_rate:Q",
                title="retention",
                scale=alt.Scale(scheme="blues", domain=[0, 1]),
                legend=alt.Legend(format=".0%"),
            ),
            tooltip=[
                period_tooltip("cohort_month", "month", title="cohort"),
                "months_since_cohort",
                "cohort_size",
                "active_customers",
                percent_tooltip("retention_rate"),
            ],
        )
        .properties(height=alt.Step(12)),
        what,
    )


st.caption(
    "Each row is a cohort (the month its customers first became active on that basis), each "
    "column the months since; a cell is active customers ÷ cohort size (order basis: a "
    "purchase in the month; contract basis: active at the month's end). Complete months only."
)
customers = st.radio("Customers", ["all", *(f"by {name}" for name in SEGMENTS)], horizontal=True)
if customers == "all":
    cohorts = query(
        "select basis, cohort_month, months_since_cohort, cohort_size, active_customers, "
        "retention_rate from marts.fct_cohorts where is_complete order by cohort_month"
    )
    for basis, heading in BASES:
        st.subheader(heading)
        heatmap(cohorts[cohorts["basis"] == basis], f"the {basis}-basis cohorts")
    st.stop()

name = customers.removeprefix("by ")
column = SEGMENTS[name]
values = query(
    f"select coalesce({column}, 'unknown') as value, count(*) as customers "
    "from marts.dim_customers group by all order by customers desc, value"
)
value = st.selectbox(
    name.capitalize(),
    list(values["value"]),
    format_func=lambda v: (
        f"{value_words(v)} ({counted(values.set_index('value').at[v, 'customers'], 'customer')})"
    ),
)
cohorts = segmented_cohorts(column, value)
for basis, heading in BASES:
    st.subheader(f"{heading}, {name} {value_words(value)}")
    heatmap(
        cohorts[cohorts["basis"] == basis], f"the {basis}-basis cohorts of {value_words(value)}"
    )

# Every value side by side: the cohorts pooled (active ÷ size summed over the cohorts with
# month k complete), so a value's curve weighs each cohort by its size.
st.subheader(f"Retention curve by {name}")
st.caption(
    "All cohorts together: customers active k months after their cohort month ÷ the "
    "customers of the cohorts that have reached month k. The first "
    f"{CURVE_MONTHS} months: month 0 (the cohort month) to month {CURVE_MONTHS - 1}."
)
pooled = (
    segmented_cohorts(column, None)
    .query(f"months_since_cohort < {CURVE_MONTHS}")
    .groupby(["basis", "segment_value", "months_since_cohort"])[["cohort_size", "active_customers"]]
    .sum()
    .reset_index()
)
pooled["retention_rate"] = pooled["active_customers"] / pooled["cohort_size"]
for (basis, heading), column_slot in zip(BASES, st.columns(2), strict=True):
    with column_slot:
        st.markdown(f"**{heading}**")
        chart(
            alt.Chart(pooled[pooled["basis"] == basis])
            .mark_line(point=True)
            .encode(
                x=alt.X("months_since_cohort:Q", title="months since cohort"),
                y=alt.Y("retention_rate:Q", title="retention", axis=alt.Axis(format="%")),
                color=alt.Color("segment_value:N", title=name),
                tooltip=[
                    alt.Tooltip("segment_value:N", title=label(name)),
                    "months_since_cohort",
                    "cohort_size",
                    "active_customers",
                    percent_tooltip("retention_rate"),
                ],
            ),
            f"the {basis}-basis retention curves by {name}",
        )
