"""Churn and retention rate over time, both bases side by side."""

import altair as alt
import streamlit as st
from warehouse import (
    chart,
    complete_periods,
    percent_columns,
    percent_tooltip,
    period_tooltip,
    period_x,
    table,
)

LATEST = 6  # periods in the table, each on both bases
# Two decimals, in the table and the tooltips: a monthly churn of 0.79 % and one of 0.7 %
# read apart.
DECIMALS = 2

grain = st.radio("Period", ["month", "quarter", "year"], horizontal=True)
periods = complete_periods(grain)
st.caption(
    "Churn rate = customers active at the start who are no longer active at the end ÷ "
    "customers active at the start; retention rate = retained ÷ active at the start. "
    "Complete periods only."
)

for column, title in (("churn_rate", "Churn rate"), ("retention_rate", "Retention rate")):
    st.subheader(f"{title} by {grain}")
    chart(
        alt.Chart(periods)
        .mark_line(point=True)
        .encode(
            x=period_x("period_start", grain),
            y=alt.Y(
                f"{column}:Q",
                title=title,
                axis=alt.Axis(format="%"),
                scale=alt.Scale(zero=False),
            ),
            color=alt.Color("basis:N"),
            tooltip=[
                "basis",
                period_tooltip("period_start", grain),
                "customers_start",
                "churned",
                "retained",
                percent_tooltip(column, DECIMALS),
            ],
        ),
        f"the {title.lower()}",
    )

st.subheader(f"The latest {LATEST} complete {grain}s")
# Latest first, each period's order basis before its contract basis (as on the overview).
latest = sorted(periods["period_start"].unique())[-LATEST:]
table(
    periods[periods["period_start"].isin(latest)].sort_values(
        ["period_start", "basis"], ascending=False
    )[
        ["period_start", "basis", "customers_start", "churned", "retained", "new", "reactivated"]
        + ["customers_end", "churn_rate", "retention_rate"]
    ],
    column_config=percent_columns("churn_rate", "retention_rate", decimals=DECIMALS),
)
