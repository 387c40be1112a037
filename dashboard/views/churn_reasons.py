"""Churn by churn type and cancellation reason over a recent window."""

import altair as alt
import pandas as pd
import streamlit as st
from warehouse import (
    by_reason_chart,
    chart,
    complete_period_rows,
    complete_period_starts,
    money_columns,
    percent_columns,
    percent_tooltip,
    period_tooltip,
    table,
    value_words,
)

basis = st.radio("Basis", ["contract", "order"], horizontal=True, format_func=value_words)
# Shortest first, as a list of windows reads; the last 12 months by default.
window = st.selectbox(
    "Window", [3, 6, 12, 24], index=2, format_func=lambda n: f"last {n} complete months"
)
st.caption(
    "Churn type: push (the product drove them away), pull (a competitor drew them), "
    "unretainable (bankruptcy, death, emigration), silent (no cancellation: activity or "
    "coverage just stopped; its reason is shown as no cancellation), unknown (a "
    "cancellation without a reason code, shown as "
    "unspecified, or with a code not in the reference list). Order-basis "
    "churn has no cancellation, so it is all silent."
)
churn = complete_period_rows("mart_churn", "month", basis)
# The window's months are the basis' last complete months in fct_periods: mart_churn has no
# row for a month without churn, so its own months would reach back past the window.
months = pd.Index(complete_period_starts("month", basis).tail(window), name="period_start")
recent = churn[churn["period_start"].isin(months)]
# A basis with fewer complete months than the window shows all it has, and says so.
span = f"the last {window} complete months"
if 0 < len(months) < window:
    span = f"the only {len(months)} complete month{'s' if len(months) > 1 else ''} so far"
    st.caption(f"The window asks for {window} months: it shows {span}.")
# Every month of the window has a bar, at 0 for a month without churn (no mart_churn row);
# a window without any churn has its months at 0 too, as churn type "no churn". Only a basis
# without complete months has no bars (a warning).
by_type = (
    recent.groupby(["period_start", "churn_type"])["churned_customers"]
    .sum()
    .unstack(fill_value=0)
    .reindex(months, fill_value=0)
)
if by_type.columns.empty:
    by_type = by_type.assign(**{"no churn": 0})
by_month = by_type.stack().rename("churned_customers").reset_index()

st.subheader("Churned customers by month and churn type")
chart(
    alt.Chart(by_month)
    .mark_bar()
    .encode(
        x=alt.X("yearmonth(period_start):O", title="month"),
        y=alt.Y("sum(churned_customers):Q", title="churned customers"),
        color=alt.Color("churn_type:N", title="churn type"),
        tooltip=[period_tooltip("period_start", "month"), "churn_type", "sum(churned_customers):Q"],
    ),
    "churn by type",
)

reasons = (
    recent.groupby(["churn_type", "reason_code"], dropna=False)[
        ["churned_customers", "churned_mrr"]
    ]
    .sum(min_count=1)  # churned_mrr stays empty on the order basis (none in the mart)
    .reset_index()
)
reasons["share_of_churn"] = reasons["churned_customers"] / reasons["churned_customers"].sum()
st.subheader("Churned customers by reason")
st.caption(
    f"Each month's churned customers, summed over {span}: a customer who churned in two of "
    "those months counts in both."
)
if reasons.empty and not months.empty:
    st.info(f"No churned customer in {span}: no reason to show.")
    st.stop()
by_reason_chart(
    reasons,
    alt.X("churned_customers:Q", title="churned customers"),
    [
        "reason_code",
        "churn_type",
        "churned_customers",
        percent_tooltip("share_of_churn"),
    ],
    "churn by reason",
)
table(
    reasons.sort_values("churned_customers", ascending=False),
    column_config={
        **percent_columns("share_of_churn"),
        **money_columns("churned_mrr"),
    },
)
