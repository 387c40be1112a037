"""Overview: the latest complete month on both bases, and active customers over time."""

import altair as alt
import pandas as pd
import streamlit as st
from warehouse import chart, complete_periods, money, period_tooltip, period_x, query

from retention.console import points as percentage_points

periods = complete_periods("month")
if periods.empty:
    st.warning("No data for the overview: no month is complete yet.")
    st.stop()
latest = periods["period_start"].max()
built = query("select max(changed_at) as built_at from meta.build_state")["built_at"].iloc[0]

st.caption(
    f"Latest complete month: **{latest:%B %Y}** · warehouse built {built:%Y-%m-%d %H:%M %Z}. "
    "Deltas compare with the month before."
)


def month_pair(basis: str):
    """The basis' latest complete month and the one before it (none when there is none)."""
    rows = periods[periods["basis"] == basis].tail(2)
    if rows.empty:
        return None, None
    return rows.iloc[-1], rows.iloc[0] if len(rows) == 2 else None


def delta(now, before, column: str, points: bool = False, fmt: str = "+,"):
    """The change since the month before (percentage points for a rate), or none."""
    if before is None or pd.isna(now[column]) or pd.isna(before[column]):
        return None
    change = now[column] - before[column]
    if points:
        return percentage_points(change)
    text = f"{change:{fmt}}"
    return "0" if float(text.replace(",", "")) == 0 else text  # never "+0" or "-0"


def metric(column, label: str, value: str, change: str | None, **kwargs) -> None:
    """st.metric in `column`; a change shown as zero (0.0 pp, 0) gets no arrow and no
    colour: Streamlit would take it for a rise (it only sees a leading "-")."""
    if change is not None and float(change.split()[0].replace(",", "")) == 0:
        kwargs |= {"delta_color": "off", "delta_arrow": "off"}
    column.metric(label, value, change, **kwargs)


def rate(value) -> str:
    return "–" if pd.isna(value) else f"{value:.1%}"


for basis, label in (("order", "Order basis"), ("contract", "Contract basis")):
    now, before = month_pair(basis)
    st.subheader(label)
    if now is None:
        st.warning(f"No data for the {basis} basis: it has no complete month.")
        continue
    cols = st.columns(6 if basis == "contract" else 3)
    metric(
        cols[0],
        "Active customers",
        f"{now.customers_end:,}",
        delta(now, before, "customers_end"),
        help="Customers active at the end of the month.",
    )
    metric(
        cols[1],
        "Churn rate",
        rate(now.churn_rate),
        delta(now, before, "churn_rate", points=True),
        delta_color="inverse",
        help="Customers active at the start of the month and not at its end ÷ customers "
        "active at the start.",
    )
    metric(
        cols[2],
        "Retention rate",
        rate(now.retention_rate),
        delta(now, before, "retention_rate", points=True),
        help="Customers active at the start of the month and still at its end ÷ customers "
        "active at the start: 100 % − the churn rate.",
    )
    if basis == "contract":
        metric(
            cols[3],
            money("MRR"),  # "MRR at month end (EUR)" was cut short beside its help icon
            f"{now.mrr_end:,.0f}",
            delta(now, before, "mrr_end", fmt="+,.0f"),
            help="Monthly recurring revenue at the end of the month: that of the contracts "
            "on its last day.",
        )
        metric(
            cols[4],
            "GRR",
            rate(now.gross_revenue_retention),
            delta(now, before, "gross_revenue_retention", points=True),
            help="Gross revenue retention: (MRR at the start − contraction − churned MRR) ÷ "
            "MRR at the start. At most 100 %: new, reactivated and expanded MRR do not count.",
        )
        metric(
            cols[5],
            "NRR",
            rate(now.net_revenue_retention),
            delta(now, before, "net_revenue_retention", points=True),
            help="Net revenue retention: GRR with expansion added, (MRR at the start + "
            "expansion − contraction − churned MRR) ÷ MRR at the start; above 100 % when "
            "existing customers' growth outweighs their losses.",
        )

st.subheader("Active customers at month end")
chart(
    alt.Chart(periods)
    .mark_line(point=True)
    .encode(
        x=period_x("period_start", "month"),
        y=alt.Y("customers_end:Q", title="active customers"),
        color=alt.Color("basis:N"),
        tooltip=["basis", period_tooltip("period_start", "month"), "customers_end"],
    ),
    "active customers",
)
