"""MRR waterfall for a month, monthly MRR movements, and gross and net revenue retention."""

import altair as alt
import pandas as pd
import streamlit as st
from warehouse import (
    chart,
    complete_periods,
    label,
    money,
    money_tooltip,
    percent_tooltip,
    period_tooltip,
    period_x,
)

st.caption(
    "Contract basis (MRR comes from subscription contracts). GRR = (MRR at the start − "
    "contraction − churned MRR) ÷ MRR at the start; NRR adds expansion. New and reactivation "
    "MRR are in the waterfall but not in GRR or NRR."
)
periods = complete_periods("month")
mrr = periods[(periods["basis"] == "contract") & periods["mrr_start"].notna()]
if mrr.empty:
    st.warning("No data for MRR: no complete month on the contract basis (no contracts yet).")
    st.stop()
months = list(mrr["period_start"].sort_values(ascending=False))
month = st.selectbox("Month", months, format_func=lambda m: f"{m:%B %Y}")
row = mrr[mrr["period_start"] == month].iloc[0]

# Each step named as the movements' legend below names it (warehouse.label).
steps = [
    ("mrr_start", row.mrr_start, "total"),
    ("new_mrr", row.new_mrr, "increase"),
    ("reactivation_mrr", row.reactivation_mrr, "increase"),
    ("expansion_mrr", row.expansion_mrr, "increase"),
    ("contraction_mrr", -row.contraction_mrr, "decrease"),
    ("churned_mrr", -row.churned_mrr, "decrease"),
]
bars, level = [], 0.0
for column, amount, kind in steps:
    start = 0.0 if kind == "total" else level
    level = start + amount
    bars.append({"step": label(column), "from": start, "to": level, "amount": amount, "kind": kind})
bars.append(
    {"step": label("mrr_end"), "from": 0.0, "to": row.mrr_end, "amount": row.mrr_end,
     "kind": "total"}
)  # fmt: skip
waterfall = pd.DataFrame(bars)

# The axis starts at 0 (Vega-Lite's default for bars), so that each total's bar is as long
# as its MRR: an axis cut near the lowest level made a 2 % movement look like half the MRR.
# The movements at their own scale are the next chart.
st.subheader(f"MRR waterfall, {month:%B %Y}")
chart(
    alt.Chart(waterfall)
    .mark_bar()
    .encode(
        x=alt.X("step:N", sort=list(waterfall["step"]), title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("from:Q", title=money("MRR")),
        y2="to:Q",
        color=alt.Color(
            "kind:N",
            scale=alt.Scale(
                domain=["total", "increase", "decrease"], range=["#4c78a8", "#54a24b", "#e45756"]
            ),
            legend=None,
        ),
        tooltip=["step", money_tooltip("amount")],
    ),
    "the MRR waterfall",
)

st.subheader("MRR movements by month")
MOVEMENT_COLOURS = {
    "new_mrr": "#54a24b",
    "reactivation_mrr": "#88d27a",
    "expansion_mrr": "#72b7b2",
    "contraction_mrr": "#f58518",
    "churned_mrr": "#e45756",
}
movements = mrr.melt(
    id_vars="period_start",
    value_vars=list(MOVEMENT_COLOURS),
    var_name="movement",
    value_name="mrr",
)
movements.loc[movements["movement"].isin(["contraction_mrr", "churned_mrr"]), "mrr"] *= -1
movements["movement"] = movements["movement"].map(label)
MOVEMENTS = [label(c) for c in MOVEMENT_COLOURS]
chart(
    alt.Chart(movements)
    .mark_bar()
    .encode(
        x=alt.X("yearmonth(period_start):O", title="month"),
        y=alt.Y("sum(mrr):Q", title=money("MRR change")),
        color=alt.Color(
            "movement:N",
            sort=MOVEMENTS,
            scale=alt.Scale(domain=MOVEMENTS, range=list(MOVEMENT_COLOURS.values())),
        ),
        tooltip=[
            period_tooltip("period_start", "month"),
            "movement",
            money_tooltip("mrr", "MRR change"),
        ],
    ),
    "the MRR movements",
)

st.subheader("Gross and net revenue retention by month")
retention = mrr.melt(
    id_vars="period_start",
    value_vars=["gross_revenue_retention", "net_revenue_retention"],
    var_name="measure",
    value_name="rate",
).dropna()
retention["measure"] = retention["measure"].map(label)
chart(
    alt.Chart(retention)
    .mark_line(point=True)
    .encode(
        x=period_x("period_start", "month"),
        y=alt.Y("rate:Q", title=None, axis=alt.Axis(format="%"), scale=alt.Scale(zero=False)),
        color=alt.Color("measure:N", title=None),
        # Two decimals, as the churn page's monthly rates: GRR and NRR stay near 100 %.
        tooltip=["measure", period_tooltip("period_start", "month"), percent_tooltip("rate", 2)],
    ),
    "GRR and NRR",
)
