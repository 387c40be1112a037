"""Customer lifetime value and LTV:CAC by acquisition channel."""

import altair as alt
import streamlit as st
from warehouse import chart, money, money_columns, money_tooltip, query, reporting_param, table

# mart_clv's figures are those of the trailing year Y = [A − 364, A].
first, last = reporting_param("trailing_year_start_date"), reporting_param("as_of_date")
year = "the trailing year" if first is None or last is None else (
    f"the trailing year {first:%Y-%m-%d} to {last:%Y-%m-%d}"
)  # fmt: skip
st.caption(
    f"Over {year}. CLV (order basis) = average order value × purchase frequency × expected "
    "lifespan × gross margin; contract CLV = monthly revenue per account × margin ÷ monthly "
    "churn rate (capped). LTV:CAC = order-basis CLV ÷ CAC, the acquisition cost: marketing "
    "spend in the year ÷ the customers acquired in it (`acquired_customers`: first active in "
    "the year); none for channels without marketing spend. The dashed line is the 3:1 ratio "
    "usually taken as healthy."
)
clv = query(
    "select segment_value as channel, customers, acquired_customers, marketing_spend, cac, "
    "clv, contract_clv, ltv_to_cac from marts.mart_clv "
    "where segment_type = 'acquisition_channel' order by clv desc"
)

st.subheader("CLV by channel, both bases")
values = clv.rename(columns={"clv": "order basis", "contract_clv": "contract basis"}).melt(
    id_vars="channel", value_vars=["order basis", "contract basis"], var_name="basis"
)
chart(
    alt.Chart(values.dropna())
    .mark_bar()
    .encode(
        x=alt.X("channel:N", sort=list(clv["channel"]), title=None, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("basis:N", sort=["order basis", "contract basis"]),
        y=alt.Y("value:Q", title=money("lifetime value")),
        color=alt.Color("basis:N", sort=["order basis", "contract basis"]),
        tooltip=["channel", "basis", money_tooltip("value", "CLV")],
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
            money_tooltip("cac"),
        ],
    )
)
healthy = alt.Chart().mark_rule(strokeDash=[4, 4]).encode(y=alt.datum(3))
if ratio.empty and not clv.empty and clv["marketing_spend"].isna().all():
    # mart_clv's marketing_spend is null only when the marketing_spend table has no row.
    st.warning(
        "No LTV:CAC: no marketing spend in this warehouse (the optional table "
        "`marketing_spend` was not delivered, or none of its rows is valid), so no channel "
        "has a CAC."
    )
elif ratio.empty:
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
