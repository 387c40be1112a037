"""Overview: the latest complete month on both bases, and active customers over time."""

import altair as alt
import streamlit as st
from warehouse import chart, complete_periods, query

periods = complete_periods("month")
latest = periods["period_start"].max()
built = query("select max(changed_at) as built_at from meta.build_state")["built_at"].iloc[0]

st.caption(
    f"Latest complete month: **{latest:%B %Y}** · warehouse built {built:%Y-%m-%d %H:%M %Z}. "
    "Deltas compare with the month before."
)


def month_pair(basis: str):
    rows = periods[periods["basis"] == basis].tail(2)
    return rows.iloc[-1], rows.iloc[0]


for basis, label in (("order", "Order basis"), ("contract", "Contract basis")):
    now, before = month_pair(basis)
    st.subheader(label)
    cols = st.columns(6 if basis == "contract" else 3)
    cols[0].metric(
        "Active customers",
        f"{now.customers_end:,}",
        f"{now.customers_end - before.customers_end:+,}",
        help="Customers active at the end of the month.",
    )
    cols[1].metric(
        "Churn rate",
        f"{now.churn_rate:.1%}",
        f"{(now.churn_rate - before.churn_rate) * 100:+.1f} pp",
        delta_color="inverse",
    )
    cols[2].metric(
        "Retention rate",
        f"{now.retention_rate:.1%}",
        f"{(now.retention_rate - before.retention_rate) * 100:+.1f} pp",
    )
    if basis == "contract":
        cols[3].metric(
            "MRR (month end)", f"{now.mrr_end:,.0f}", f"{now.mrr_end - before.mrr_end:+,.0f}"
        )
        cols[4].metric(
            "GRR",
            f"{now.gross_revenue_retention:.1%}",
            f"{(now.gross_revenue_retention - before.gross_revenue_retention) * 100:+.1f} pp",
        )
        cols[5].metric(
            "NRR",
            f"{now.net_revenue_retention:.1%}",
            f"{(now.net_revenue_retention - before.net_revenue_retention) * 100:+.1f} pp",
        )

st.subheader("Active customers at month end")
chart(
    alt.Chart(periods)
    .mark_line(point=True)
    .encode(
        x=alt.X("period_start:T", title="month"),
        y=alt.Y("customers_end:Q", title="active customers"),
        color=alt.Color("basis:N"),
        tooltip=["basis", alt.Tooltip("period_start:T", format="%Y-%m"), "customers_end"],
    ),
    "active customers",
)
