"""Win-back: churn events won back (the customer came back), within 30, 90, 180 and 365
days, by churn type (mart_winback)."""

import altair as alt
import pandas as pd
import streamlit as st
from warehouse import (
    chart,
    complete_period_starts,
    contract_grace_rule,
    money_columns,
    percent_columns,
    percent_tooltip,
    period_tooltip,
    period_x,
    query,
    reporting_param,
    table,
    value_words,
)

basis = st.radio("Basis", ["contract", "order"], horizontal=True, format_func=value_words)
# The grace the build used (its default, said as such, for a warehouse that did not record
# it): a gap that short is no churn, so a window that short has no win-back.
grace = f"On the contract basis {contract_grace_rule()}"
if reporting_param("contract_grace_days") != 0:
    grace += ", so such a gap is no churn at all: a window that short has no win-back by definition"
st.caption(
    "A churn event is won back within W days when the customer starts a new spell on the "
    "same basis within W days of churning. Only churn events at least W days old count for "
    "window W (eligible), so recent months are not understated. Order-basis churn is all "
    f"silent. Complete churn months only. {grace}."
)
winback = query(
    f"select * from marts.mart_winback where basis = '{basis}' order by churn_month, churn_type"
)
# The month of A is not over: its churn events and win-backs so far are partial.
winback = winback[winback["churn_month"].isin(complete_period_starts("month", basis))]
# The windows are the var repeat_windows_days (30, 90, 180, 365 by default): one set of
# columns each.
WINDOWS = sorted(int(c.removeprefix("eligible_")) for c in winback if c.startswith("eligible_"))

st.subheader("Won back within each window, by churn type")
st.caption(
    "Churn events of every month added up: those won back within each window, of the "
    "events old enough to count for it (eligible). A longer window counts fewer events, so "
    "its bar can be lower than a shorter window's."
)
totals = winback.groupby("churn_type")[
    [f"{kind}_{w}" for w in WINDOWS for kind in ("eligible", "won_back_within")]
].sum()
by_window = pd.DataFrame(
    [
        {
            "churn_type": churn_type,
            "window": f"{w} days",
            "eligible": row[f"eligible_{w}"],
            "won_back": row[f"won_back_within_{w}"],
        }
        for churn_type, row in totals.iterrows()
        for w in WINDOWS
    ]
)
order = [f"{w} days" for w in WINDOWS]
chart(
    alt.Chart(by_window)
    .mark_bar()
    .encode(
        x=alt.X("churn_type:N", title="churn type", axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("window:N", sort=order),
        y=alt.Y("won_back:Q", title="eligible churn events won back"),
        color=alt.Color("window:N", sort=order, title="within"),
        tooltip=["churn_type", "window", "won_back", "eligible"],
    ),
    "win-back by churn type",
)
table(by_window)

window = st.selectbox(
    "Window", WINDOWS, index=min(1, len(WINDOWS) - 1), format_func=lambda w: f"within {w} days"
)
st.subheader(f"Win-back rate within {window} days by churn month")
st.caption(
    "A dot per churn month and churn type, sized by its eligible churn events (a rate of "
    "100 % on one event is a small dot); no dot where the month has no eligible event of "
    "that type. Dots, not lines: a line would join two months across the months between "
    "them that have no rate."
)
rates = winback.dropna(subset=[f"winback_rate_{window}"])
chart(
    alt.Chart(rates)
    .mark_circle(opacity=0.8)
    .encode(
        x=period_x("churn_month", "month", title="churn month"),
        y=alt.Y(f"winback_rate_{window}:Q", title=f"won back within {window} days",
                axis=alt.Axis(format="%")),
        size=alt.Size(f"eligible_{window}:Q", title="eligible events"),
        color=alt.Color("churn_type:N", title="churn type"),
        tooltip=[period_tooltip("churn_month", "month", title="churn month"), "churn_type",
                 f"eligible_{window}", f"won_back_within_{window}",
                 percent_tooltip(f"winback_rate_{window}")],
    ),
    f"win-back rate within {window} days",
)  # fmt: skip

st.subheader("Churn events and win-backs by churn month")
table(
    winback.drop(columns=["basis"]),
    column_config={
        **percent_columns("winback_rate", *[f"winback_rate_{w}" for w in WINDOWS]),
        **money_columns("won_back_mrr"),
    },
)
