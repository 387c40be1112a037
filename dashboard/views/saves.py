"""Final-offer saves: cancellation requests, offers, saves, saved MRR and whether the saves
lasted 90 days, by reason and churn type (mart_cancellation_saves)."""

import altair as alt
import pandas as pd
import streamlit as st
from warehouse import (
    by_reason_chart,
    chart,
    complete_period_rows_of_either_basis,
    complete_period_starts,
    label,
    money,
    money_columns,
    money_tooltip,
    percent_columns,
    percent_tooltip,
    period_band_x,
    period_tooltip,
    table,
)


def period_name(start, grain: str) -> str:
    """A period as people name it: 2023, 2024 Q2, June 2024."""
    if grain == "year":
        return f"{start:%Y}"
    if grain == "quarter":
        return f"{start:%Y} Q{(start.month - 1) // 3 + 1}"
    return f"{start:%B %Y}"


grain = st.radio("Period", ["month", "quarter", "year"], horizontal=True)
st.caption(
    "A save is a cancellation request withdrawn after a final offer. Offers on unretainable "
    "churn (bankruptcy, death, emigration) are wasted. A save lasted 90 days when its "
    "customer is still contract-active 90 days after the request; only requests at least "
    "90 days old count."
)
saves = complete_period_rows_of_either_basis("mart_cancellation_saves", grain)

counts = ["cancellation_requests", "final_offers_made", "saves"]
count_labels = [label(c) for c in counts]
# Every complete period of the contract basis (requests are on contracts) has bars, at 0 for
# one without a cancellation request: mart_cancellation_saves has no row for it. A period of
# the mart's own is kept too (a request before the contract basis' first month).
starts = pd.Index(
    sorted({*complete_period_starts(grain, "contract"), *saves["period_start"]}),
    name="period_start",
)
per_period = (
    saves.groupby("period_start")[[*counts, "saved_mrr"]]
    .sum()
    .reindex(starts, fill_value=0)
    .reset_index()
)
st.subheader("Requests, final offers and saves")
bars = per_period.melt(
    id_vars="period_start", value_vars=counts, var_name="count", value_name="number"
)
bars["count"] = bars["count"].map(label)
chart(
    alt.Chart(bars)
    .mark_bar()
    .encode(
        x=period_band_x("period_start", grain),
        xOffset=alt.XOffset("count:N", sort=count_labels),
        y=alt.Y("number:Q", title="number"),
        color=alt.Color("count:N", sort=count_labels, title=None),
        tooltip=[period_tooltip("period_start", grain), "count", "number"],
    ),
    "requests, offers and saves",
)

st.subheader("Saved MRR")
chart(
    alt.Chart(per_period)
    .mark_bar()
    .encode(
        x=period_band_x("period_start", grain),
        y=alt.Y("saved_mrr:Q", title=money("saved MRR")),
        tooltip=[period_tooltip("period_start", grain), money_tooltip("saved_mrr")],
    ),
    "saved MRR",
)

# By reason: the mart's own rates, at its grain (one period × churn type × reason).
st.divider()
breakdown = st.radio(
    "Breakdown by reason for one",
    ["year", "quarter", "month"],
    horizontal=True,
    help="A year by default: a quarter or a month has too few cancellation requests per "
    "reason for its rates to say much.",
)
by_reason = complete_period_rows_of_either_basis("mart_cancellation_saves", breakdown)
periods = sorted(by_reason["period_start"].unique())
if not periods:
    st.warning("No data for saves by reason: no cancellation request in a complete period.")
    st.stop()
period = st.selectbox(
    f"{breakdown.capitalize()}",
    list(reversed(periods)),
    format_func=lambda d: period_name(d, breakdown),
)
cells = by_reason[by_reason["period_start"] == period]
st.subheader("90-day survival of saves by reason and churn type")
# A recent period's save rates are shown even before any of its saves is 90 days old.
if cells["eligible_saves_90d"].sum() == 0:
    st.info(f"No save of this {breakdown} is 90 days old yet: its survival is not measured.")
else:
    by_reason_chart(
        cells.dropna(subset=["save_durability_90d"]),
        alt.X("save_durability_90d:Q", title="saves still active after 90 days",
              axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        ["reason_code", "churn_type", "saves_active_90d", "eligible_saves_90d",
         percent_tooltip("save_durability_90d")],
        "90-day survival of saves",
    )  # fmt: skip
st.subheader("Saves by reason and churn type")
by_reason_chart(
    cells.dropna(subset=["save_rate"]),
    alt.X("save_rate:Q", title="save rate (saves / final offers)", axis=alt.Axis(format="%")),
    ["reason_code", "churn_type", "final_offers_made", "saves",
     percent_tooltip("save_rate"), money_tooltip("saved_mrr")],
    "save rate by reason",
)  # fmt: skip
table(
    cells.drop(columns=["period_grain"]).sort_values("cancellation_requests", ascending=False),
    column_config={
        **percent_columns("offer_rate", "save_rate", "save_durability_90d"),
        **money_columns("saved_mrr"),
    },
)
