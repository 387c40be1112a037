"""Customer lifetime value and LTV:CAC by acquisition channel."""

import altair as alt
import streamlit as st
from warehouse import chart, money, money_columns, query, table

st.caption(
    "CLV (order basis) = average order value × purchase frequency × expected lifespan × gross "
    "margin; contract CLV = monthly revenue per account × margin ÷ monthly churn rate (capped). "
    "LTV:CAC = CLV ÷ acquisition cost; none for channels without marketing spend. "
    "The dashed line is the 3:1 ratio usually taken as healthy."
)
clv = query(
    "select segment_value as channel, customers, acquired_customers, marketing_spend, cac, "
    "clv, contract_clv, ltv_to_cac from marts.mart_clv "
    "where segment_type = 'acquisition_channel' order by clv desc"
)

st.subheader("CLV by channel, both bases")
values = clv.melt(id_vars="channel", value_vars=["clv", "contract_clv"], var_name="measure")
chart(
    alt.Chart(values.dropna())
    .mark_bar()
    .encode(
        x=alt.X("channel:N", sort=list(clv["channel"]), title=None, axis=alt.Axis(labelAngle=0)),
        xOffset="measure:N",
        y=alt.Y("value:Q", title=money("lifetime value")),
        color=alt.Color("measure:N"),
        tooltip=["channel", "measure", alt.Tooltip("value:Q", format=",.2f")],
    ),
    "CLV by channel",
)

st.subheader("LTV:CAC by channel")
ratio = clv.dropna(subset=["ltv_to_cac"])
bars = (
    alt.Chart(ratio)
    .mark_bar()
    .encode(
        x=alt.X("channel:N", sort="-y", title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("ltv_to_cac:Q", title="LTV:CAC"),
        tooltip=[
            "channel",
            alt.Tooltip("ltv_to_cac:Q", format=".1f"),
            alt.Tooltip("cac:Q", format=",.2f"),
        ],
    )
)
healthy = alt.Chart().mark_rule(strokeDash=[4, 4]).encode(y=alt.datum(3))
if ratio.empty:
    st.warning("No data for LTV:CAC by channel.")
else:
    chart(bars + healthy, "LTV:CAC by channel")
table(
    clv,
    column_config={
        **money_columns("marketing_spend", "cac", "clv", "contract_clv"),
        "ltv_to_cac": st.column_config.NumberColumn(format="%.1f"),
    },
)
