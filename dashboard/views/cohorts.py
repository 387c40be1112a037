"""Cohort retention heatmaps: share of each acquisition cohort active k months later."""

import altair as alt
import streamlit as st
from warehouse import chart, query

st.caption(
    "Each row is a cohort (the month its customers first became active on that basis), each "
    "column the months since; a cell is active customers ÷ cohort size. Complete months only."
)
cohorts = query(
    "select basis, cohort_month, months_since_cohort, cohort_size, active_customers, "
    "retention_rate from marts.fct_cohorts where is_complete order by cohort_month"
)

for basis, label in (("order", "Order basis"), ("contract", "Contract basis")):
    st.subheader(label)
    chart(
        alt.Chart(cohorts[cohorts["basis"] == basis])
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
                alt.Tooltip("yearmonth(cohort_month):T", title="cohort", format="%Y-%m"),
                "months_since_cohort",
                "cohort_size",
                "active_customers",
                alt.Tooltip("retention_rate:Q", format=".1%"),
            ],
        )
        .properties(height=alt.Step(12)),
        f"the {basis}-basis cohorts",
    )
